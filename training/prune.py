"""FastDepth thinned: run at 192x192 instead of its 224x224, channels pruned, the rest refitted to reproduce it.

Scale distillation (training/scale_distill.py) showed that FastDepth's filters need about the grid they were
trained on: at 128x96 they must relearn real rooms, and the pictures here cannot teach that. Pruning keeps the
filters meeting objects at nearly the size they were trained on and removes channels instead. FastDepth itself
loses little at 192x192 (NYU median-scaled delta1 0.777 against 0.790; 0.719 at 160x160), and 27 % fewer pixels
pay for a quarter more channels within the same budget (68 % kept instead of 55 %), which is the better trade
(`--input`). What is left is refitted layer by layer, in graph order, by least squares: each convolution's weights
are solved so that, fed the pruned network's own activations, it gives the teacher's (FastDepth's at the same input)
pre-activation output on the kept channels (He et al. 2017, "Channel pruning for accelerating very deep neural
networks"). That is a linear fit per layer, a few hundred unknowns per output channel against millions of pixels,
so a few hundred pictures pin it down; no training loop has to learn rooms from the pictures, only to pass on what
the teacher already does. Last, the depth is scaled by one factor to FastDepth's at 224x224 on the same views.

Steps: BatchNorm folded into the convolutions; channels grouped into "spaces" (a tensor's channels and every
tensor that shares them through depthwise convolutions, activations, upsampling and the decoder's additive skips);
in each space the channels carrying the least energy into the next pointwise convolution are dropped; then the
least-squares refit, whose later passes fit only what each convolution's ReLU6 or ReLU lets through; the output
scale matched to FastDepth's at 224x224 (match_output_scale). Fitting every layer to FastDepth's 224x224
activations averaged onto the smaller grid instead was worse (NYU 0.696 and 0.701 for seeds 1 and 7): those
targets ask small filters for what larger ones saw.

    python -m training.prune --run pruned                   # the shipped model (training/runs/pruned.pt), ~20 min
    python -m training.prune --keep 0.5 --run pruned50      # writes training/runs/pruned50.pt
    python -m training.evaluate --checkpoint training/runs/pruned50.pt
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from training.fastdepth_torch import FastDepthStudent, OnnxConvNet
from training.surgery import PrunedFastDepth, is_depthwise, readers_of, channel_spaces, folded_fastdepth
from training.train import input_size

FASTDEPTH_INPUT = (224, 224)  # the teacher's grid: what the output scale is matched to


def _pointwise_inputs(net: OnnxConvNet, space: dict[str, str], sizes: dict[str, int]):
    """(conv module, input space) of every full convolution whose input is prunable (channel_spaces' two maps)."""
    for op, idx, ins, _ in net.steps:
        if op == "Conv" and not is_depthwise(net.layers[idx]) and space[ins[0]] in sizes:
            yield net.layers[idx], space[ins[0]]


@torch.no_grad()
def channel_energy(net: OnnxConvNet, images: torch.Tensor, batch: int = 32) -> dict[str, np.ndarray]:
    """Per prunable space, what each channel carries forward: for every full convolution reading the space, the
    channel's mean square activation times the squared norm of the weights that read it, summed."""
    space, sizes = channel_spaces(net)
    energy = {s: np.zeros(n) for s, n in sizes.items()}
    hooks = []
    for conv, s in _pointwise_inputs(net, space, sizes):
        col = conv.weight.square().sum(dim=(0, 2, 3)).double().numpy()

        def hook(mod, inp, out, s=s, col=col):
            energy[s] += inp[0].double().square().mean(dim=(0, 2, 3)).numpy() * col
        hooks.append(conv.register_forward_hook(hook))
    for i in range(0, len(images), batch):
        net(images[i:i + batch])
    for h in hooks:
        h.remove()
    return energy


def unknown_spaces(names, sizes: dict[str, int]) -> str:
    """'' when every name is a prunable channel space, else what is wrong, naming the spaces there are."""
    unknown = [n for n in names if n not in sizes]
    if not unknown:
        return ""
    return f"{', '.join(unknown)} is not a prunable channel space (expected some of {', '.join(sorted(sizes))})"


def choose_channels(energy: dict[str, np.ndarray], keep_ratio: float, whole=(), multiple: int = 8,
                    whole_below: int = 16, space_ratios: dict[str, float] | None = None) -> dict[str, list[int]]:
    """The highest-energy channels of each space: keep_ratio of them (or the space's own ratio in `space_ratios`),
    rounded to a multiple of `multiple` (what XNNPACK's kernels like), kept in their original order. The spaces named
    in `whole` are left out (kept whole), and so in effect are those of at most `whole_below` channels (FastDepth's
    two 16-channel bottlenecks at 112x112, which every pixel passes through)."""
    space_ratios = space_ratios or {}
    for name, ratio in [("keep_ratio", keep_ratio)] + [(f"space_ratios[{k}]", v) for k, v in space_ratios.items()]:
        if not 0 < ratio <= 1:
            raise ValueError(f"{name} {ratio}: expected a fraction in (0, 1]")
    for name, spaces in (("whole", whole), ("space_ratios", space_ratios)):
        wrong = unknown_spaces(spaces, energy)
        if wrong:
            raise ValueError(f"{name}: {wrong}")
    keep = {}
    for s, e in energy.items():
        if s in whole:
            continue
        ratio = space_ratios.get(s, keep_ratio)
        n = len(e) if len(e) <= whole_below else max(multiple, int(round(ratio * len(e) / multiple)) * multiple)
        keep[s] = sorted(int(c) for c in np.argsort(-e, kind="stable")[:min(n, len(e))])
    return keep


class _Stop(Exception):
    pass


def _capture(net, images, module, what):
    """Run `net` on images until `module` runs; return its input ('in') or output ('out')."""
    box = {}

    def hook(mod, inp, out):
        box["v"] = inp[0] if what == "in" else out
        raise _Stop
    h = module.register_forward_hook(hook)
    try:
        net(images)
    except _Stop:
        pass
    finally:
        h.remove()
    return box["v"]


def _patches(x: torch.Tensor, conv: nn.Conv2d, positions: torch.Tensor) -> torch.Tensor:
    """conv's receptive field at the sampled output positions: [B, C, k*k, P]."""
    cols = F.unfold(x, conv.kernel_size, padding=conv.padding, stride=conv.stride)
    b, _, _ = cols.shape
    cols = cols.view(b, x.shape[1], -1, cols.shape[-1])
    return cols[..., positions]


def activation_ranges(net: OnnxConvNet) -> dict[str, tuple[float, float]]:
    """For each convolution whose output reaches the rest of the network only through a ReLU6 or ReLU (possibly
    via a folded BatchNorm, now Identity), the range that activation passes: conv output name -> (low, high); a
    Clip's bounds are its module's (OnnxConvNet builds it as nn.ReLU6)."""
    readers = readers_of(net)
    ranges = {}
    for op, idx, _, out in net.steps:
        if op != "Conv":
            continue
        nxt = readers.get(out, [])
        if len(nxt) == 1 and nxt[0][0] == "BatchNormalization" and isinstance(net.layers[nxt[0][1]], nn.Identity):
            nxt = readers.get(nxt[0][2], [])
        if len(nxt) == 1 and nxt[0][0] == "Clip":
            clip = net.layers[nxt[0][1]]
            ranges[out] = (float(clip.min_val), float(clip.max_val))
        elif len(nxt) == 1 and nxt[0][0] == "Relu":
            ranges[out] = (0.0, float("inf"))
    return ranges


def passed_target(target: torch.Tensor, pred: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """The target a least-squares step should aim at when only what the activation clamp(., low, high) passes
    matters: the teacher's value where it is inside the range; where the teacher's value is clamped, the prediction
    itself while it is clamped too (no error), else the bound it crossed. One step of majorize-minimize on
    sum(active (pred - t)^2) + sum(t <= low: relu(pred - low)^2) + sum(t >= high: relu(high - pred)^2)."""
    below, above = target <= low, target >= high
    out = torch.where(below, pred.clamp(max=low), target)
    return torch.where(above, pred.clamp(min=high), out)


def _layer_samples(student, teacher, images, batch, s_conv, t_conv, k_out, chunks, positions, rng):
    """For one convolution, per chunk of images: (its inputs in the student as [groups, samples, taps + 1], a ones
    column for the bias; the teacher's outputs on the kept channels as [groups, samples, outputs]), float64.
    `chunks` lists (first image, sampled output positions or None); None is drawn here once and stored, so every
    pass over the layer sees the same pixels."""
    depthwise = is_depthwise(s_conv)
    kk = s_conv.kernel_size[0] * s_conv.kernel_size[1]
    for c, (i, pos) in enumerate(chunks):
        chunk = images[i:i + batch]
        x = _capture(student, chunk, s_conv, "in")
        y = _capture(teacher, chunk, t_conv, "out")
        if k_out is not None:
            y = y[:, k_out]
        if pos is None:
            pos = torch.randperm(y.shape[-2] * y.shape[-1], generator=rng)[:positions]
            chunks[c] = (i, pos)
        p = _patches(x, s_conv, pos)  # [B, C, kk, P]
        y = y.flatten(2)[..., pos]  # [B, Cout, P]
        if depthwise:  # per channel: kk taps + bias
            groups = s_conv.out_channels
            a = torch.cat([p, torch.ones_like(p[:, :, :1])], 2).permute(1, 0, 3, 2).reshape(groups, -1, kk + 1)
            t = y.permute(1, 0, 2).reshape(groups, -1, 1)
        else:
            a = p.reshape(p.shape[0], -1, p.shape[-1]).permute(0, 2, 1).reshape(-1, s_conv.in_channels * kk)
            a = torch.cat([a, torch.ones_like(a[:, :1])], 1)[None]
            t = y.permute(0, 2, 1).reshape(-1, y.shape[1])[None]
        yield a.double(), t.double()


@torch.no_grad()
def refit(student: OnnxConvNet, teacher: OnnxConvNet, images: torch.Tensor, keep: dict[str, list[int]],
          batch: int = 16, positions: int = 3136, ridge: float = 1e-3, seed: int = 0, passes: int = 1,
          log=print) -> None:
    """Least-squares refit of every convolution of `student` (pruned, BN folded), in graph order, to give the
    teacher's (BN folded, unpruned) output on its kept channels from the student's own input: full convolutions
    as one linear map with bias, depthwise ones channel by channel. `positions` output pixels are sampled per image;
    `ridge` is relative to the mean diagonal of the normal equations (so an idle channel stays put, not blown up).
    With passes > 1, each convolution followed by a ReLU6 or ReLU gets passes - 1 further steps that stop fitting
    the values the activation clamps away (passed_target): that freedom goes to the values that reach the output."""
    if passes < 1:
        raise ValueError(f"passes {passes}: expected at least 1")
    space, _ = channel_spaces(teacher)
    ranges = activation_ranges(teacher)
    rng = torch.Generator().manual_seed(seed)
    convs = [(idx, ins, out) for op, idx, ins, out in student.steps if op == "Conv"]
    t0 = time.time()
    for n, (idx, ins, out) in enumerate(convs):
        s_conv, t_conv = student.layers[idx], teacher.layers[idx]
        k_out = keep.get(space[out])
        chunks: list = [(i, None) for i in range(0, len(images), batch)]  # positions drawn on the first pass
        layer = (student, teacher, images, batch, s_conv, t_conv, k_out, chunks, positions, rng)

        gram = cross = 0  # normal equations, [G, inputs + 1, inputs + 1] and [G, inputs + 1, outputs]
        for a, t in _layer_samples(*layer):
            gram = gram + a.transpose(1, 2) @ a
            cross = cross + a.transpose(1, 2) @ t
        diag = torch.diagonal(gram, dim1=1, dim2=2)
        lam = ridge * diag[:, :-1].mean(dim=1).clamp_min(1e-12)
        eye = torch.eye(gram.shape[-1], dtype=torch.float64)
        eye[-1, -1] = 0  # the bias is not shrunk
        # one factorisation for every pass: only the right-hand side changes
        chol = torch.linalg.cholesky(gram + lam[:, None, None] * eye)
        sol = torch.cholesky_solve(cross, chol)  # [G, cin+1, out]
        for _ in range(passes - 1 if out in ranges else 0):
            cross = sum(a.transpose(1, 2) @ passed_target(t, a @ sol, *ranges[out]) for a, t in _layer_samples(*layer))
            sol = torch.cholesky_solve(cross, chol)
        if is_depthwise(s_conv):
            s_conv.weight.copy_(sol[:, :-1, 0].reshape(s_conv.weight.shape).float())
            s_conv.bias.copy_(sol[:, -1, 0].float())
        else:
            s_conv.weight.copy_(sol[0, :-1].T.reshape(s_conv.weight.shape).float())
            s_conv.bias.copy_(sol[0, -1].float())
        log(f"  refit {n + 1}/{len(convs)} {tuple(s_conv.weight.shape)} ({time.time() - t0:.0f} s)")


def on_grid(y: torch.Tensor, size) -> torch.Tensor:
    """A map y [B, C, H, W] on a smaller (h, w) grid, area-averaged (each small pixel the mean of the large ones it
    covers); unchanged when the grids agree."""
    return y if tuple(y.shape[-2:]) == tuple(size) else F.adaptive_avg_pool2d(y, tuple(size))


SCALE_FREE_OPS = ("BatchNormalization", "Relu", "Upsample")  # after folding: Identity, ReLU, nearest x2


def output_conv(net: OnnxConvNet) -> nn.Conv2d:
    """The last convolution, checked to reach the output through a ReLU and nothing that a positive factor does
    not pass through (a folded BatchNorm, nearest upsampling), so scaling its weights and bias scales the depth."""
    convs = [(i, idx, out) for i, (op, idx, _, out) in enumerate(net.steps) if op == "Conv"]
    if not convs:
        raise ValueError("the network has no convolution to scale")
    i, idx, out = convs[-1]
    after = [op for op, *_ in net.steps[i + 1:]]
    if activation_ranges(net).get(out) != (0.0, float("inf")) or any(op not in SCALE_FREE_OPS for op in after):
        raise ValueError(f"the last convolution {out} is followed by {', '.join(after) or 'nothing'}; expected a ReLU "
                         f"and only {', '.join(SCALE_FREE_OPS)}, which a positive factor passes through")
    return net.layers[idx]


@torch.no_grad()
def match_output_scale(student: OnnxConvNet, teacher: OnnxConvNet, images: torch.Tensor,
                       teacher_images: torch.Tensor, batch: int = 32, min_depth: float = 0.05) -> float:
    """Scale the student's depth (its output_conv, which a positive factor passes through) so that its mean log
    depth on `images` is the teacher's on the same views at the teacher's own input, `teacher_images`, averaged onto
    the student's grid: a network refitted to FastDepth run at a smaller input copies that run's scale, which is not
    quite FastDepth's own (a 5 % gap at 192x192). Returns the factor applied."""
    if len(teacher_images) != len(images):
        raise ValueError(f"teacher_images: {len(teacher_images)} views, expected one per student view ({len(images)})")
    last = output_conv(student)
    total, count = 0.0, 0
    for i in range(0, len(images), batch):
        s = student(images[i:i + batch]).clamp_min(min_depth)
        t = on_grid(teacher(teacher_images[i:i + batch]), s.shape[-2:]).clamp_min(min_depth)
        total += float((torch.log(t) - torch.log(s)).double().sum())
        count += s.numel()
    factor = float(np.exp(total / count))
    last.weight.mul_(factor)
    last.bias.mul_(factor)
    return factor


SIZE = (192, 192)  # the pruned network's input: FastDepth loses little there (NYU 0.777 against 0.790 at 224x224)
# and 27 % fewer pixels leave room for more channels: NYU 0.758 / si-RMSE 0.228 over seeds 1, 7 and 99, against
# 0.717 / 0.242 at 224x224 with 0.55 kept, better for each seed; 160x160 with 0.85 kept: 0.730 (seed 1)
KEEP = 0.68  # with WHOLE: 0.143 GMACs at 192x192, within issue 4's 0.15
# The settings below were compared at 224x224 with 0.55 kept, and kept as they were:
WHOLE = ("313", "307")  # the decoder's first space (200 channels at 7x7): halving it alone costs 0.06 log depth on
# NYU frames after the refit, for 1 % of FastDepth's MACs; the encoder's eight deep spaces together cost 0.11 for
# 29 %, and the last of them (512 channels at 7x7, 307) kept whole as well: NYU 0.697 -> 0.704 for 0.005 GMACs
# (one run each, within the 0.025 that the calibration seed alone moves a score)
SPACE_KEEP: dict[str, float] = {}  # none: 0.45 of the 112-28 px spaces and 0.7 of the deeper ones scored the same
RENDER_SHARE = 0.75  # of the calibration views rendered: NYU 0.717 / si-RMSE 0.242 over seeds 1, 7, 99, against
# 0.704 / 0.249 at 0.5, better on both for each seed; one seed's score moves by 0.025, so no single run settles it
FURNISHED = False  # furnished rooms (share 0.75, seed 1): 0.709 / 0.253 against 0.725 / 0.238 with box rooms
PASSES = 3  # plain least squares, then two steps that stop fitting what ReLU6/ReLU clamp away: NYU 0.676 -> 0.697


def calibration_images(n: int, renders: int, seed: int, photos_dir: Path | None = None,
                       render_share: float = RENDER_SHARE, furnished: bool = FURNISHED, size=SIZE,
                       log=print) -> tuple[torch.Tensor, torch.Tensor]:
    """n random views of the real photographs and the rendered rooms (furnished ones with `furnished`),
    render_share of them rendered (training/scale_distill.py's PictureSource), each at the student's input `size`
    (width, height) and at FastDepth's 224x224, resized as the SDK resizes a frame: (student views, teacher views),
    the same tensor when the sizes agree."""
    from training.scale_distill import PictureSource, load_pictures, render_share_problem

    wrong = render_share_problem(render_share)  # before the pictures load
    if wrong:
        raise ValueError(f"render_share {wrong}")
    source = PictureSource(*load_pictures(renders, seed, photos_dir, log, furnished), size, seed,
                           render_share if renders else 0.0)
    batches = [source.batch(min(32, n - i)) for i in range(0, n, 32)]
    teacher = torch.cat([b[1] for b in batches])
    return (teacher if tuple(size) == FASTDEPTH_INPUT else torch.cat([b[0] for b in batches])), teacher


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=input_size, default=list(SIZE),
                    help="the pruned network's WIDTHxHEIGHT, at most FastDepth's 224x224: FastDepth is cut and "
                         "refitted at this size, then its depth scaled to FastDepth's at 224x224")
    ap.add_argument("--keep", type=float, default=KEEP, help="fraction of each channel space kept")
    ap.add_argument("--whole", default=",".join(WHOLE),
                    help="channel spaces (FastDepth's tensor names) kept whole, comma-separated; '' for none")
    ap.add_argument("--space-keep", default=",".join(f"{k}={v}" for k, v in SPACE_KEEP.items()),
                    help="per-space fractions overriding --keep, as SPACE=FRACTION,...; '' for none")
    ap.add_argument("--images", type=int, default=768, help="calibration views for choosing and refitting")
    ap.add_argument("--renders", type=int, default=3000, help="rendered room views among the pictures (0: photos only)")
    ap.add_argument("--photos", type=Path, default=None, help="also calibrate on the images in this folder")
    ap.add_argument("--furnished", action=argparse.BooleanOptionalAction, default=FURNISHED,
                    help="render rooms furnished with modelled furniture (training/furniture.py), not boxes")
    ap.add_argument("--render-share", type=float, default=RENDER_SHARE,
                    help="fraction of the calibration views taken from the rendered rooms (the rest: photos)")
    ap.add_argument("--no-refit", action="store_true", help="prune only (to measure what the refit adds)")
    ap.add_argument("--passes", type=int, default=PASSES,
                    help="least-squares passes per convolution; after the first, values an activation clamps away "
                         "are no longer fitted")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--run", default="pruned")
    args = ap.parse_args(argv)
    from training.scale_distill import render_share_problem

    size, (fw, fh) = tuple(args.input), FASTDEPTH_INPUT
    if size[0] > fw or size[1] > fh:
        raise SystemExit(f"--input {size[0]}x{size[1]}: at most FastDepth's {fw}x{fh} "
                         f"(its depth there is what sets the output scale)")
    wrong = render_share_problem(args.render_share)
    if wrong:
        raise SystemExit(f"--render-share {wrong}")
    torch.set_num_threads(args.threads)
    from training.model import count_macs
    from training.train import RUNS

    teacher = folded_fastdepth()
    _, sizes = channel_spaces(teacher)
    whole = [w for w in args.whole.split(",") if w]
    wrong = unknown_spaces(whole, sizes)  # before the pictures load
    if wrong:
        raise SystemExit(f"--whole {args.whole}: {wrong}")
    try:
        space_keep = {k: float(v) for k, v in (item.split("=") for item in args.space_keep.split(",") if item)}
    except ValueError:
        raise SystemExit(f"--space-keep {args.space_keep!r}: expected SPACE=FRACTION pairs, comma-separated")
    wrong = unknown_spaces(space_keep, sizes)
    if wrong:
        raise SystemExit(f"--space-keep {args.space_keep}: {wrong}")
    images, teacher_images = calibration_images(args.images, args.renders, args.seed, args.photos,
                                                args.render_share, args.furnished, size)
    print(f"{len(images)} calibration views at {size[0]}x{size[1]}")
    keep = choose_channels(channel_energy(teacher, images), args.keep, whole, space_ratios=space_keep)
    model = PrunedFastDepth(keep).eval()
    if not args.no_refit:
        refit(model.net, teacher, images, keep, passes=args.passes)
        factor = match_output_scale(model.net, teacher, images, teacher_images)
        print(f"depth scaled by {factor:.4f} to FastDepth's at {fw}x{fh}")
    macs = count_macs(model, size[::-1])
    print(f"{args.keep:.2f} of the channels kept (whole: {', '.join(whole) or 'none'}; own fractions: "
          f"{args.space_keep or 'none'}): {macs / 1e9:.3f} GMACs at {size[0]}x{size[1]} "
          f"(FastDepth {count_macs(FastDepthStudent(), (fh, fw)) / 1e9:.3f} at {fw}x{fh})")
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / f"{args.run}.pt"
    torch.save({"model": model.state_dict(), "step": 0,
                "args": {"arch": "pruned", "input": list(size), "keep": keep,
                         "prune": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}}, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
