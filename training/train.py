"""Train arsdk's depth model on synthetic rooms with FastDepth distillation; resumable, with a progress bar.

    python -m training.train                 # the shipped model's settings; resumes from training/runs/last.pt
    python -m training.train --minutes 30    # stop after 30 minutes; run again to continue
    python -m training.train --seed 1,2,3 --device cuda --fit-minutes 10   # three data sets, on a GPU, in 10 minutes
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.data import load_or_make
from training.hints import HINT_LEVELS, HintHeads
from training.losses import gradient_matching_loss, si_log_loss
from training.model import (ARCHITECTURES, DEFAULT_INPUT, DEFAULT_WIDTHS, build_model, checkpoint_weights,
                            count_macs, network_args)

RUNS = Path(__file__).resolve().parent / "runs"
FIT_CALIBRATION_STEPS = 200
PROVISIONAL_STEPS = 10**9  # --fit-minutes' step count until the speed is measured: the cosine stays at its peak


def augment(img, depth, teacher, gen: torch.Generator, features=()):
    """Colour jitter, blur, noise, horizontal flip and the depth-compensated random crop (zoom k: depth / k).
    `features` (teacher feature maps) get the same crop. Returns img, depth, teacher, features, flipped."""
    n, dev = img.shape[0], gen.device
    r = lambda *s: torch.rand(*s, generator=gen, device=dev)  # noqa: E731
    # zoom: crop a window 1/k of the size and enlarge it; things look k times nearer, so divide depth by k
    k = 1.0 + 0.6 * r(n) * (r(n) < 0.6)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = 1 / k, 1 / k
    theta[:, 0, 2] = (r(n) * 2 - 1) * (1 - 1 / k)
    theta[:, 1, 2] = (r(n) * 2 - 1) * (1 - 1 / k)
    flip = r(n) < 0.5
    theta[flip, 0, 0] *= -1
    grid = F.affine_grid(theta, img.shape, align_corners=False)
    # border padding: at a flipped or edge-touching window, rounding puts the outermost samples a hair outside the
    # frame, and zero padding would darken that column of the image and the teacher's depth
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
    depth = F.grid_sample(depth, grid, mode="nearest", align_corners=False) / k.view(n, 1, 1, 1)
    teacher = F.grid_sample(teacher, grid, mode="bilinear", padding_mode="border",
                            align_corners=False) / k.view(n, 1, 1, 1)
    features = [F.grid_sample(f, F.affine_grid(theta, f.shape, align_corners=False), mode="bilinear",
                              padding_mode="border", align_corners=False) for f in features]
    gain = 0.6 + 0.8 * r(n, 1, 1, 1)
    tint = 0.85 + 0.3 * r(n, 3, 1, 1)
    gray = img.mean(1, keepdim=True)
    sat = 0.5 + r(n, 1, 1, 1)
    img = (gray + (img - gray) * sat) * gain * tint
    contrast = 0.7 + 0.6 * r(n, 1, 1, 1)
    img = (img - 0.5) * contrast + 0.5
    blur = r(n) < 0.3
    if blur.any():
        img[blur] = F.avg_pool2d(F.pad(img[blur], (1, 1, 1, 1), mode="replicate"), 3, 1)
    img = img + 0.02 * r(1).item() * torch.randn(img.shape, generator=gen, device=dev)
    return img.clamp(0, 1), depth, teacher, features, flip


def seed_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def load_seeds(args) -> dict:
    """The data sets of every seed in args.seed (training/data.py), concatenated."""
    sets = [load_or_make(args.samples, seed, real=args.real, hints=args.hint_weight > 0, furnished=args.furnished)
            for seed in args.seed]
    return sets[0] if len(sets) == 1 else {k: np.concatenate([d[k] for d in sets]) for k in sets[0]}


def input_size(text: str) -> list[int]:
    """'WxH' -> [W, H]; both multiples of 32 (the networks halve the image five times)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"input size {text!r}: expected WIDTHxHEIGHT, e.g. 128x96") from None
    if w <= 0 or h <= 0 or w % 32 or h % 32:
        raise argparse.ArgumentTypeError(f"input size {text!r}: width and height must be positive multiples of 32")
    return [w, h]


def predict_log_depth(model, img, size):
    """The model's log depth for a batch at the data's resolution: the batch is area-resized to the network's
    input `size` (W, H) and the output bilinearly resized back, as the SDK does with a camera frame."""
    h, w = img.shape[-2:]
    if (w, h) != tuple(size):
        img = F.interpolate(img, size=(size[1], size[0]), mode="area")
    log_pred, maps = model.features(img)
    if log_pred.shape[-2:] != (h, w):
        log_pred = F.interpolate(log_pred, size=(h, w), mode="bilinear", align_corners=False)
    return log_pred, maps


def check_same_network(path, trained: dict, asked: dict) -> None:
    """Resuming builds the network from the command line: stop, naming the options, when it is not the one the
    checkpoint at `path` was trained as (its architecture, widths or input size)."""
    was, now = network_args(trained), network_args(asked)
    if was["arch"] == now["arch"] == "fastdepth":
        del was["widths"], now["widths"]  # --widths shapes ArsdkDepthNet only
    differ = [f"--{k} {was[k]} (asked: {now[k]})" for k in was if was[k] != now[k]]
    if differ:
        raise SystemExit(f"{path} was trained with {', '.join(differ)}: resume it with the same options, "
                         f"or start a new --run")


def fitted_steps(step: int, steps_per_second: float, minutes: float) -> int:
    """The run's total step count for --fit-minutes: as many as `minutes` hold at the measured speed, and at least
    one more than `step` (already done), so a run whose calibration outlasted its minutes still ends cleanly."""
    return max(step + 1, int(steps_per_second * 60 * minutes))


def weight_average(model, decay: float, state=None, steps: int = 0):
    """Exponential moving average of model's weights and BatchNorm statistics; resumed from `state` after `steps`
    updates (with no updates counted, the next one would overwrite the average with the current weights)."""
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    if state is not None:
        ema.module.load_state_dict(state)
        ema.n_averaged.fill_(steps)
    return ema


def set_cosine_lr(opt, base_lr: float, step: int, steps: int) -> float:
    """Cosine decay from base_lr at step 0 to 0 at `steps`; sets it on every parameter group and returns it."""
    lr = base_lr * 0.5 * (1 + math.cos(math.pi * step / steps))
    for g in opt.param_groups:
        g["lr"] = lr
    return lr


def end_run(bar, save, step: int, steps: int, ckpt_path) -> None:
    """Save the last checkpoint, close the progress bar and say where the run stopped (done, or to resume)."""
    save()
    bar.close()
    print(f"stopped at step {step}/{steps}; checkpoint {ckpt_path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long (resume later)")
    ap.add_argument("--fit-minutes", type=float, default=None,
                    help="overrides --steps: as many steps as fit in about this many minutes on this machine, "
                         f"measured over the first {FIT_CALIBRATION_STEPS} (the count is kept in the checkpoint)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--teacher-weight", type=float, default=0.6,
                    help="weight of the teacher loss (scale-invariant log error) on the synthetic views")
    ap.add_argument("--synthetic-weight", type=float, default=1.0,
                    help="weight of the rendered-depth losses on the synthetic views (0: teacher only)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=seed_list, default=[1],
                    help="which synthetic data set (training/data.py); several, comma-separated, train on their union")
    ap.add_argument("--furnished", action=argparse.BooleanOptionalAction, default=False,
                    help="synthetic rooms furnished with modelled furniture (training/furniture.py)")
    ap.add_argument("--real", type=int, default=4000, help="teacher-labelled real photo crops in the data set")
    ap.add_argument("--real-per-batch", type=int, default=8)
    ap.add_argument("--real-weight", type=float, default=1.0, help="weight of the teacher loss on real crops")
    ap.add_argument("--hint-weight", type=float, default=None,
                    help="weight of feature-level distillation on the teacher's decoder maps (0: off; default 0.2 "
                         "for --arch arsdk, 0 for --arch fastdepth, whose decoder is the teacher's own)")
    ap.add_argument("--arch", choices=ARCHITECTURES, default="arsdk",
                    help="arsdk: ArsdkDepthNet from scratch (training/model.py); fastdepth: FastDepth's architecture "
                         "starting from FastDepth's weights, fine-tuned at --input (training/fastdepth_torch.py)")
    ap.add_argument("--input", type=input_size, default=list(DEFAULT_INPUT),
                    help="WIDTHxHEIGHT the network sees; the training images are resized to it (default %(default)s)")
    ap.add_argument("--widths", type=lambda t: [int(v) for v in t.split(",")], default=list(DEFAULT_WIDTHS),
                    help="encoder channels per resolution, e.g. 16,32,56,112,192")
    ap.add_argument("--ema-decay", type=float, default=0.0,
                    help="keep an exponential moving average of the weights (BatchNorm statistics included) with "
                         "this decay and export it instead of the last weights (0: off)")
    ap.add_argument("--init", type=Path, default=None,
                    help="start a new run from this checkpoint's weights (fine-tuning), with a fresh optimiser; a "
                         "--run that already has a checkpoint resumes from it instead, so the same command resumes")
    ap.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when PyTorch sees a GPU)")
    ap.add_argument("--run", default="last")
    args = ap.parse_args(argv)
    if args.hint_weight is None:
        args.hint_weight = 0.2 if args.arch == "arsdk" else 0.0
    if args.arch == "fastdepth" and args.hint_weight:
        ap.error("--hint-weight: --arch fastdepth has the teacher's own decoder, so there are no hints to match; "
                 "leave it at 0")
    torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: this PyTorch ({torch.__version__}) sees no CUDA GPU; "
                         "use --device cpu")
    from tqdm import tqdm

    data = load_seeds(args)
    # the whole data set lives on the training device (uint8 images: a few GB for tens of thousands of views)
    on = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
    images = on(data["images"]).permute(0, 3, 1, 2)  # uint8, converted per batch
    depths = on(data["depths"])[:, None]
    teacher = on(data["teacher"])[:, None]
    real_images = on(data["real_images"]).permute(0, 3, 1, 2) if "real_images" in data else None
    real_teacher = on(data["real_teacher"])[:, None] if "real_teacher" in data else None
    hint_maps = [on(data[f"hint_{lv}"]) for lv in HINT_LEVELS] if args.hint_weight else []
    real_hint_maps = [on(data[f"real_hint_{lv}"]) for lv in HINT_LEVELS] \
        if args.hint_weight and real_images is not None else []
    model = build_model(vars(args)).to(device)
    hints = HintHeads(args.widths, {lv: data[f"hint_{lv}"] for lv in HINT_LEVELS}).to(device) \
        if args.hint_weight else None
    del data
    gmacs = count_macs(model, args.input[::-1]) / 1e9
    print(f"model: {args.arch}, {gmacs:.3f} GMACs at {args.input[0]}x{args.input[1]}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; {len(images)} training views"
          + (f" + {len(real_images)} real crops" if real_images is not None else "") + f"; training on {device}")
    params = list(model.parameters()) + (list(hints.parameters()) if hints else [])
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    RUNS.mkdir(parents=True, exist_ok=True)
    ckpt_path = RUNS / f"{args.run}.pt"
    step, ema_state = 0, None
    gen = torch.Generator(device).manual_seed(0)
    if ckpt_path.is_file():
        ck = torch.load(ckpt_path, weights_only=False, map_location=device)
        check_same_network(ckpt_path, ck.get("args", {}), vars(args))
        model.load_state_dict(ck["model"])
        if hints:
            hints.load_state_dict(ck["hints"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        gen.set_state(ck["gen"].cpu())
        if (ck.get("ema") is None) != (args.ema_decay == 0):
            raise SystemExit(f"{ckpt_path} was trained {'with' if ck.get('ema') is not None else 'without'} "
                             f"--ema-decay: resume it the same way, or start a new --run")
        ema_state = ck.get("ema")
        if args.fit_minutes and ck["args"].get("fit_minutes"):  # fitted when the run began (or still provisional)
            args.steps = ck["args"]["steps"]
        print(f"resumed from {ckpt_path} at step {step}")
    elif args.init is not None:
        ck = torch.load(args.init, weights_only=False, map_location=device)
        model.load_state_dict(checkpoint_weights(ck))
        if hints and ck.get("hints") is not None:
            hints.load_state_dict(ck["hints"])
        print(f"starting from the weights of {args.init}")
    ema = weight_average(model, args.ema_decay, ema_state, step) if args.ema_decay else None

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "gen": gen.get_state(),
                    "args": vars(args), "hints": hints.state_dict() if hints else None,
                    "ema": ema.module.state_dict() if ema is not None else None}, ckpt_path)

    t_end = time.time() + 60 * args.minutes if args.minutes else math.inf
    if args.fit_minutes and step == 0:
        args.steps = PROVISIONAL_STEPS
    fit_at = step + FIT_CALIBRATION_STEPS if args.steps == PROVISIONAL_STEPS else None
    t_start, step_start = time.time(), step
    model.train()
    bar = tqdm(total=args.steps, initial=step, desc="train", unit="step", mininterval=5)
    avg = None
    while step < args.steps and time.time() < t_end:
        lr = set_cosine_lr(opt, args.lr, step, args.steps)
        idx = torch.randint(0, len(images), (args.batch,), generator=gen, device=gen.device)
        img, dep, tea, feats, flipped = augment(images[idx].float() / 255, depths[idx], teacher[idx], gen,
                                                [m[idx].float() for m in hint_maps])
        valid = (dep > 0.05).float()
        log_gt = torch.log(dep.clamp_min(0.05))
        log_pred, decoder_maps = predict_log_depth(model, img, args.input)
        loss = args.synthetic_weight * (si_log_loss(log_pred, log_gt, valid)
                                        + 0.5 * gradient_matching_loss(log_pred, log_gt, valid))
        if hints:
            loss = loss + args.hint_weight * hints.loss(decoder_maps, feats, ~flipped)
        if args.teacher_weight:
            tv = (tea > 0.05).float()
            loss = loss + args.teacher_weight * si_log_loss(log_pred, torch.log(tea.clamp_min(0.05)), tv, lam=1.0)
        if real_images is not None and args.real_per_batch:
            # real photos: the teacher's depth is the only label, and only its shape (scale-invariant) is trusted
            ridx = torch.randint(0, len(real_images), (args.real_per_batch,), generator=gen, device=gen.device)
            rimg, rtea, _, rfeats, rflipped = augment(real_images[ridx].float() / 255, real_teacher[ridx],
                                                      real_teacher[ridx], gen,
                                                      [m[ridx].float() for m in real_hint_maps])
            rlog, rdecoder_maps = predict_log_depth(model, rimg, args.input)
            if hints:
                loss = loss + args.hint_weight * hints.loss(rdecoder_maps, rfeats, ~rflipped)
            rv = (rtea > 0.05).float()
            rlog_t = torch.log(rtea.clamp_min(0.05))
            loss = loss + args.real_weight * (si_log_loss(rlog, rlog_t, rv, lam=1.0)
                                              + 0.5 * gradient_matching_loss(rlog, rlog_t, rv))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        step += 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        bar.update(1)
        if step == fit_at:
            rate = (step - step_start) / (time.time() - t_start)
            args.steps = bar.total = fitted_steps(step, rate, args.fit_minutes)
            print(f"\n{rate:.1f} steps/s here: {args.steps} steps fit in {args.fit_minutes:g} minutes", flush=True)
        bar.set_postfix(loss=f"{avg:.4f}", lr=f"{lr:.2e}", refresh=False)
        if step % 250 == 0:
            save()
    end_run(bar, save, step, args.steps, ckpt_path)


if __name__ == "__main__":
    main()
