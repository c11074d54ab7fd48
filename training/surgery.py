"""FastDepth's network surgery, shared by pruning (training/prune.py), scale distillation
(training/scale_distill.py) and model building (training/model.py): BatchNorm folding, channel spaces and pruning,
dropping the last upsampling stages, and the pruned network itself. It imports only the architecture
(training/fastdepth_torch.py), so every training module can import it without a cycle."""
from __future__ import annotations

import torch
import torch.nn as nn

from training.fastdepth_torch import FastDepthStudent, OnnxConvNet


def readers_of(net: OnnxConvNet) -> dict[str, list[tuple[str, int | None, str]]]:
    """Tensor name -> the steps that read it, as (op, layer index, output name), in graph order."""
    readers: dict[str, list[tuple[str, int | None, str]]] = {}
    for op, idx, ins, out in net.steps:
        for name in ins:
            readers.setdefault(name, []).append((op, idx, out))
    return readers


def fold_batchnorm(net: OnnxConvNet) -> None:
    """Fold every BatchNormalization into the convolution before it (which gets a bias); the BN becomes Identity."""
    producer = {out: idx for op, idx, ins, out in net.steps if op == "Conv"}
    readers = readers_of(net)
    for op, idx, ins, out in net.steps:
        if op != "BatchNormalization":
            continue
        if ins[0] not in producer or len(readers[ins[0]]) != 1:
            raise ValueError(f"BatchNormalization {out} does not follow a convolution read by it alone")
        conv, bn = net.layers[producer[ins[0]]], net.layers[idx]
        with torch.no_grad():
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(s)
            folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                               groups=conv.groups, bias=True)
            folded.weight.copy_(conv.weight * s[:, None, None, None])
            folded.bias.copy_((bias - bn.running_mean) * s + bn.bias)
        net.layers[producer[ins[0]]] = folded
        net.layers[idx] = nn.Identity()


def is_depthwise(conv: nn.Conv2d) -> bool:
    return conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels


def channel_spaces(net: OnnxConvNet) -> tuple[dict[str, str], dict[str, int]]:
    """Which channel space each tensor lives in, and each prunable space's size. A full convolution starts a new
    space; a depthwise one, an activation, BatchNorm or upsampling stays in its input's; an Add joins its two inputs'
    spaces (the pruned channels must be the same on both sides of a skip). The network's input and output spaces are
    not prunable and are left out of the sizes. Space names are the first tensor of each, in graph order."""
    parent: dict[str, str] = {}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    order: dict[str, int] = {net.input_name: -1}
    parent[net.input_name] = net.input_name
    size: dict[str, int] = {}
    for i, (op, idx, ins, out) in enumerate(net.steps):
        order[out] = i
        module = net.layers[idx] if idx is not None else None
        if op == "Conv" and not is_depthwise(module):
            parent[out] = out
            size[out] = module.out_channels
        else:
            parent[out] = find(ins[0])
        if op == "Add":
            a, b = find(ins[0]), find(ins[1])
            if a != b:  # the earlier tensor names the joint space
                a, b = sorted((a, b), key=order.__getitem__)
                parent[b] = a
    space = {name: find(name) for name in parent}
    fixed = {space[net.input_name], space[net.output_name]}
    sizes = {s: size[s] for s in set(space.values()) if s not in fixed}
    return space, sizes


def prune_channels(net: OnnxConvNet, keep: dict[str, list[int]]) -> None:
    """Cut every convolution down to the kept channels of its input and output spaces (in place; BN folded first)."""
    space, sizes = channel_spaces(net)
    unknown = set(keep) - set(sizes)
    if unknown:
        raise ValueError(f"keep names spaces this network does not have: {sorted(unknown)}")
    for op, idx, ins, out in net.steps:
        if op == "BatchNormalization" and not isinstance(net.layers[idx], nn.Identity):
            raise ValueError("fold_batchnorm before prune_channels")
        if op != "Conv":
            continue
        conv = net.layers[idx]
        k_in, k_out = keep.get(space[ins[0]]), keep.get(space[out])
        w = conv.weight.data
        b = conv.bias.data if conv.bias is not None else None
        if k_out is not None:
            w = w[k_out]
            b = b[k_out] if b is not None else None
        depthwise = is_depthwise(conv)
        if k_in is not None and not depthwise:
            w = w[:, k_in]
        cout = w.shape[0]
        cin = cout if depthwise else w.shape[1]
        new = nn.Conv2d(cin, cout, conv.kernel_size, conv.stride, conv.padding, groups=cout if depthwise else 1,
                        bias=b is not None)
        new.weight.data = w.clone()
        if b is not None:
            new.bias.data = b.clone()
        net.layers[idx] = new


POINTWISE_OPS = ("BatchNormalization", "Clip", "Relu")


def drop_final_upsample(net: OnnxConvNet) -> None:
    """Remove the last nearest x2 upsampling when only per-pixel operations (1x1 convolutions, BatchNorm,
    activations) follow it: the output is then the same map at every other pixel, half the size, and the SDK's
    bilinear resize to the frame does the enlarging. FastDepth spends a third of its time at that last 224x224."""
    last = max((i for i, step in enumerate(net.steps) if step[0] == "Upsample"), default=None)
    if last is None:
        raise ValueError("the network has no upsampling to drop")
    for op, idx, _, out in net.steps[last + 1:]:
        pointwise = op in POINTWISE_OPS or (op == "Conv" and net.layers[idx].kernel_size == (1, 1))
        if not pointwise:
            raise ValueError(f"{op} {out} follows the last upsampling: dropping it would change the output")
    source, upsampled = net.steps[last][2][0], net.steps[last][3]
    del net.steps[last]
    net.steps = [(op, idx, tuple(source if n == upsampled else n for n in ins), out)
                 for op, idx, ins, out in net.steps]


def drop_last_skip(net: OnnxConvNet) -> None:
    """Run the decoder's last stage at the size before its upsampling (in place): that upsampling and the additive
    skip after it go, and the output is half as wide again. The full-size stage took a quarter of the pruned
    model's time; a changed function, so the network must be fine-tuned after (training/scale_distill.py
    --half-output)."""
    last = max((i for i, step in enumerate(net.steps) if step[0] == "Upsample"), default=None)
    if last is None or last + 1 >= len(net.steps) or net.steps[last + 1][0] != "Add":
        raise ValueError("the network's last upsampling is not followed by an additive skip")
    source, added = net.steps[last][2][0], net.steps[last + 1][3]
    del net.steps[last:last + 2]
    net.steps = [(op, idx, tuple(source if n == added else n for n in ins), out) for op, idx, ins, out in net.steps]


def fold_and_halve(net: OnnxConvNet) -> OnnxConvNet:
    """BatchNorm folded and the final upsampling dropped (in place): the same function at half the size, in eval."""
    fold_batchnorm(net)
    drop_final_upsample(net)
    return net.eval()


def folded_fastdepth(onnx_path=None) -> OnnxConvNet:
    """FastDepth (training/fastdepth_torch.py) with its BatchNorm folded and its final upsampling dropped: the same
    function at 112x112, fewer layers."""
    return fold_and_halve(FastDepthStudent(onnx_path).net)


class PrunedFastDepth(FastDepthStudent):
    """FastDepth with BatchNorm folded, its final upsampling dropped and each channel space cut to `keep` (space
    name -> kept channel indices); with half_output its last decoder stage run at half size too (drop_last_skip).
    FastDepthStudent's interface (RGB in [0, 1], metric depth out)."""

    def __init__(self, keep: dict[str, list[int]], onnx_path=None, half_output: bool = False):
        super().__init__(onnx_path)
        self.keep = {k: list(v) for k, v in keep.items()}
        fold_and_halve(self.net)
        prune_channels(self.net, self.keep)
        self.half_output = half_output
        if half_output:
            drop_last_skip(self.net)
