"""FastDepth's ONNX graph as a trainable PyTorch network, so a student can start from the teacher's weights.

The ONNX file (the NetAdapt-pruned FastDepth, MobileNet encoder + NNConv5 decoder) is a plain chain of Conv,
BatchNormalization, Clip (ReLU6), Relu, nearest x2 Upsample and Add (the decoder's skips). `OnnxConvNet` rebuilds
it node by node with nn.Conv2d / nn.BatchNorm2d holding the ONNX weights; it runs at any input size that is a
multiple of 32 in each dimension, and gives the same output as onnxruntime at 224x224.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SUPPORTED = ("Conv", "BatchNormalization", "Clip", "Relu", "Upsample", "Add")
TAPPED_OPS = ("Clip", "Relu", "Add")  # the nodes that end a block: forward(taps=...) collects their outputs


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def upsample_nearest2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest x2 upsampling of an NCHW tensor, the same values as F.interpolate(x, scale_factor=2, mode="nearest"),
    written as channel-last concatenations and reshapes. Why: litert-torch turns F.interpolate into
    RESIZE_NEAREST_NEIGHBOR, which LiteRT's XNNPACK delegate does not take, so the graph fell into five delegate
    partitions with the resizes run in between; this form converts to CONCATENATION + RESHAPE on NHWC tensors (the
    permutes cancel against the converter's own layout transposes) and the whole graph runs in one partition."""
    n, c, h, w = x.shape
    y = x.permute(0, 2, 3, 1)
    y = torch.cat([y, y], dim=3).reshape(n, h, 2 * w, c)  # each pixel's channels twice = each pixel twice along x
    y = torch.cat([y, y], dim=2).reshape(n, 2 * h, 2 * w, c)  # each row twice along y
    return y.permute(0, 3, 1, 2)


class OnnxConvNet(nn.Module):
    """A chain of convolutions read from an ONNX graph. `steps` lists (op, module index or None, inputs, output)."""

    def __init__(self, onnx_path):
        super().__init__()
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(onnx_path)).graph
        weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.input_name = next(i.name for i in graph.input if i.name not in weights)
        self.output_name = graph.output[0].name
        self.layers = nn.ModuleList()
        self.steps: list[tuple[str, int | None, tuple[str, ...], str]] = []
        # each ONNX initializer a layer was built from -> (layer index, its parameter or buffer), so weights learnt
        # here can be written back into the graph (training/sequence_finetune.write_onnx)
        self.sources: dict[str, tuple[int, str]] = {}
        for node in graph.node:
            if node.op_type not in SUPPORTED:
                raise ValueError(f"{onnx_path}: node {node.name or node.output[0]} is {node.op_type}; "
                                 f"expected one of {', '.join(SUPPORTED)}")
            a = _attrs(node)
            module = None
            if node.op_type == "Conv":
                w = weights[node.input[1]]
                groups = int(a.get("group", 1))
                pad = a.get("pads", [0, 0, 0, 0])
                if pad[0] != pad[2] or pad[1] != pad[3]:
                    raise ValueError(f"{onnx_path}: asymmetric padding {pad} in {node.output[0]}")
                module = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), tuple(a.get("strides", [1, 1])),
                                   tuple(pad[:2]), groups=groups, bias=len(node.input) > 2)
                module.weight.data = torch.from_numpy(w.copy())
                if module.bias is not None:
                    module.bias.data = torch.from_numpy(weights[node.input[2]].copy())
            elif node.op_type == "BatchNormalization":
                scale, bias, mean, var = (weights[n] for n in node.input[1:5])
                module = nn.BatchNorm2d(len(scale), eps=float(a.get("epsilon", 1e-5)))
                module.weight.data = torch.from_numpy(scale.copy())
                module.bias.data = torch.from_numpy(bias.copy())
                module.running_mean.data = torch.from_numpy(mean.copy())
                module.running_var.data = torch.from_numpy(var.copy())
            elif node.op_type == "Clip":
                if (a.get("min", 0.0), a.get("max", 6.0)) != (0.0, 6.0):
                    raise ValueError(f"{onnx_path}: Clip {node.output[0]} is not ReLU6 ({a})")
                module = nn.ReLU6()
            elif node.op_type == "Upsample":  # forward() does nearest x2; anything else is refused, not guessed
                mode = a.get("mode", b"nearest")
                scales = a["scales"] if "scales" in a else weights.get(node.input[1]) if len(node.input) > 1 else None
                if mode not in (b"nearest", "nearest") or scales is None or list(scales) != [1.0, 1.0, 2.0, 2.0]:
                    raise ValueError(f"{onnx_path}: Upsample {node.output[0]} (mode {mode}, scales {scales}); "
                                     f"expected nearest x2")
            index = None
            if module is not None:
                index = len(self.layers)
                self.layers.append(module)
                fields = {"Conv": ("weight", "bias"), "BatchNormalization": ("weight", "bias", "running_mean",
                                                                            "running_var")}.get(node.op_type, ())
                self.sources.update({name: (index, f) for name, f in zip(node.input[1:], fields)})
            data_inputs = tuple(n for n in node.input if n not in weights and n)
            self.steps.append((node.op_type, index, data_inputs, node.output[0]))

    def forward(self, x, taps: list | None = None):
        """Depth for x; with `taps`, every block's output (Clip, Relu and Add nodes, in graph order, the final output
        excluded) is appended to it, for feature-level distillation (training/scale_distill.py)."""
        values = {self.input_name: x}
        for op, index, inputs, output in self.steps:
            if index is not None:
                y = self.layers[index](values[inputs[0]])
            elif op == "Relu":
                y = F.relu(values[inputs[0]])
            elif op == "Add":
                y = values[inputs[0]] + values[inputs[1]]
            else:
                y = upsample_nearest2x(values[inputs[0]])
            values[output] = y
            if taps is not None and op in TAPPED_OPS and output != self.output_name:
                taps.append(y)
        return values[self.output_name]


def max_difference_to_onnxruntime(net: OnnxConvNet, onnx_path, seed: int = 0) -> float:
    """Largest |PyTorch - onnxruntime| on a random 224x224 input."""
    import onnxruntime as ort

    x = np.random.default_rng(seed).random((1, 3, 224, 224), dtype=np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ref = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        out = net(torch.from_numpy(x)).numpy()
    return float(np.max(np.abs(out - ref)))


class FastDepthStudent(nn.Module):
    """A student with FastDepth's architecture that starts from FastDepth's weights (ImageNet-pretrained encoder,
    NYU-trained decoder) and is fine-tuned here at a smaller input, where it is cheap enough. Same interface as
    ArsdkDepthNet: RGB in [0, 1] (no normalisation, as FastDepth), `features` gives log depth and no hint maps."""

    min_depth = 0.05  # the last ReLU can output 0; log depth is taken of at least this

    def __init__(self, onnx_path=None):
        super().__init__()
        if onnx_path is None:
            from arsdk import models

            onnx_path = models.model_path("fastdepth")
        self.net = OnnxConvNet(onnx_path)

    def features(self, x):
        return torch.log(self.net(x).clamp_min(self.min_depth)), []

    def forward(self, x):
        return self.net(x).clamp_min(self.min_depth)
