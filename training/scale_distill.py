"""Scale distillation: FastDepth's own network taught to see at a small input what FastDepth sees at 224x224.

FastDepth's architecture fits the latency budget only at 128x96, where, run unchanged, its filters meet every
object at 0.57 times the size they were trained on (NYU median-scaled delta1 0.31-0.32, against 0.78 for FastDepth
fed the same 128x96 frames blown back up to 224x224). The student here starts from FastDepth's weights and is trained
to give, at the small input, what the teacher gives at 224x224 on the same picture: its depth and its activations
after every block (area-pooled onto the student's grid). Teacher and student always see the same augmented image,
made on the fly (the teacher runs in the loop, in PyTorch), so there is no label to get out of step with its image,
and BatchNorm keeps FastDepth's statistics: the student starts as FastDepth exactly and only has to adapt to scale.

    python -m training.scale_distill --steps 1500 --run scale     # resumable: run the same command again
    python -m training.scale_distill --photos ~/room_photos       # also distil on your own photos of rooms
    python -m training.scale_distill --init training/runs/pruned.pt --run tuned ...  # fine-tune the pruned model
    python -m training.evaluate --checkpoint training/runs/scale.pt
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from arsdk.imaging import downscale
from training.fastdepth_torch import FastDepthStudent
from training.train import RUNS, check_same_network, end_run, input_size, set_cosine_lr

TEACHER_INPUT = (224, 224)


def random_window(rng: np.random.Generator, h: int, w: int, aspect_jitter: float, smallest: float
                  ) -> tuple[int, int, int, int]:
    """A random crop (y0, x0, height, width) of an h x w picture: 4:3 shape with its log aspect jittered by up to
    aspect_jitter, between `smallest` and all of the largest such window's size."""
    aspect = 4 / 3 * math.exp(rng.uniform(-aspect_jitter, aspect_jitter))
    ch = int(min(h, w / aspect) * rng.uniform(smallest, 1.0))
    cw = min(w, int(round(ch * aspect)))
    return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw


def colour_cast(rng: np.random.Generator) -> np.ndarray:
    """Per-channel gains: a brightness of 0.75-1.25 times a colour tint of 0.9-1.1."""
    return rng.uniform(0.75, 1.25) * rng.uniform(0.9, 1.1, 3)


class PictureSource:
    """Random views of the source pictures: a crop of 4:3 shape (aspect jittered), 35-100 % of the picture's size,
    mirrored half the time, with a brightness and colour cast; returned at the student's and the teacher's input
    size, each resized the way the SDK resizes a camera frame (arsdk.imaging.downscale)."""

    def __init__(self, photos: list[np.ndarray], renders, student_size, seed: int, render_share: float = 0.5):
        self.pools = [p for p in (photos, renders) if len(p)]
        self.shares = [1 - render_share, render_share] if len(self.pools) == 2 else [1.0]
        self.student_size = tuple(student_size)
        self.rng = np.random.default_rng(seed)

    def view(self):
        rng = self.rng
        pool = self.pools[int(rng.choice(len(self.pools), p=self.shares))]
        img = pool[int(rng.integers(len(pool)))]
        y0, x0, ch, cw = random_window(rng, *img.shape[:2], aspect_jitter=0.1, smallest=0.35)
        crop = img[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crop = np.ascontiguousarray(crop)
        cast = colour_cast(rng)
        small = np.clip(downscale(crop, self.student_size) * cast, 0, 255).astype(np.float32) / 255
        big = np.clip(downscale(crop, TEACHER_INPUT) * cast, 0, 255).astype(np.float32) / 255
        return small, big

    def batch(self, n: int):
        views = [self.view() for _ in range(n)]
        as_tensor = lambda arrs: torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
        return as_tensor([v[0] for v in views]), as_tensor([v[1] for v in views])


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def folder_photos(folder: Path, log=print) -> list[np.ndarray]:
    """Every image under `folder` (photos of rooms you took, say), RGB. Refuses ../shared/data: it is for measuring,
    never for training."""
    from arsdk.camera import read_image
    from arsdk.evaluation import shared_data_dir

    folder = Path(folder).resolve()
    shared = shared_data_dir()
    shared = shared.resolve() if shared is not None else None
    if shared is not None and (folder == shared or shared in folder.parents or folder in shared.parents):
        raise SystemExit(f"--photos {folder}: holds the evaluation data ({shared}); never train on it")
    if not folder.is_dir():
        raise SystemExit(f"--photos {folder}: not a folder of images")
    paths = sorted(q for q in folder.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SystemExit(f"--photos {folder}: no images in it (looked for {', '.join(IMAGE_SUFFIXES)})")
    photos = [read_image(q) for q in paths]
    log(f"  + {len(photos)} photos from {folder}")
    return photos


def render_share_problem(share: float) -> str:
    """'' when `share` can be the fraction of views drawn from the renders, else what is wrong with it."""
    return "" if 0 <= share <= 1 else f"{share}: expected a fraction in [0, 1]"


def load_pictures(renders: int, seed: int, photos_dir: Path | None = None, log=print, furnished: bool = False):
    """The real photographs (training/photos.py, and those in `photos_dir`) and `renders` views of random rooms
    (training/data.py's cached set, of furnished rooms with `furnished`; none when 0); never anything from
    ../shared/data."""
    from training.photos import collect_photos

    photos = collect_photos(log=log)
    if photos_dir is not None:
        photos += folder_photos(photos_dir, log)
    views = np.zeros((0,))
    if renders:
        from training.data import load_or_make

        views = load_or_make(renders, seed, log=log, furnished=furnished)["images"]
        log(f"  + {len(views)} rendered room views")
    return photos, views


def distillation_loss(student_depth, student_taps, teacher_depth, teacher_taps, feature_weight: float):
    """L1 of log depth against the teacher's (area-pooled to the student's grid; metric: the scale is learnt too) +
    feature_weight x the mean over blocks of the squared activation difference, each block's divided by the
    teacher's mean square there (so every block counts alike)."""
    size = student_depth.shape[-2:]
    floor = FastDepthStudent.min_depth  # the last ReLU can output 0
    log_s = torch.log(student_depth.clamp_min(floor))
    log_t = torch.log(F.adaptive_avg_pool2d(teacher_depth, size).clamp_min(floor))
    depth_loss = (log_s - log_t).abs().mean()
    feat = student_depth.new_zeros(())
    if feature_weight:
        for s, t in zip(student_taps, teacher_taps):
            t = F.adaptive_avg_pool2d(t, s.shape[-2:])
            feat = feat + F.mse_loss(s, t) / t.square().mean().clamp_min(1e-6)
        feat = feat / len(student_taps)
    return depth_loss + feature_weight * feat, depth_loss.detach(), feat.detach()


def initial_student(args) -> tuple[FastDepthStudent, dict]:
    """The network to teach and the arguments its checkpoint records: FastDepth's weights at --input, or the
    checkpoint --init names (its architecture, channels and input size; --input is set to that size)."""
    run = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    if args.init is None:
        if args.half_output:
            raise SystemExit("--half-output: needs --init with a pruned checkpoint (training/prune.py)")
        return FastDepthStudent(), {"arch": "fastdepth", "input": list(args.input), "scale_distill": run}
    from training.model import load_checkpoint

    if not args.init.is_file():
        raise SystemExit(f"--init {args.init}: no such checkpoint")
    student = load_checkpoint(args.init)
    if not isinstance(student, FastDepthStudent):
        raise SystemExit(f"--init {args.init}: a {type(student).__name__}; expected FastDepth's architecture, "
                         f"pruned or whole (training/prune.py, --arch fastdepth)")
    if args.feature_weight and getattr(student, "keep", None):
        raise SystemExit(f"--init {args.init}: its channels are pruned, so FastDepth's activations do not match "
                         f"them; use --feature-weight 0")
    args.input = list(student.input_size)
    init_args = torch.load(args.init, weights_only=False, map_location="cpu")["args"]
    if args.half_output and not getattr(student, "half_output", True):
        from training.surgery import drop_last_skip

        drop_last_skip(student.net)
        student.half_output = True
        init_args = {**init_args, "half_output": True}
    elif args.half_output:
        raise SystemExit(f"--init {args.init}: --half-output needs a pruned checkpoint whose last decoder stage still "
                         "runs at full size")
    return student, {**{k: v for k, v in init_args.items() if k != "scale_distill"}, "scale_distill": run}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=input_size, default=[128, 96],
                    help="the student's WIDTHxHEIGHT (with --init: the checkpoint's, and this is ignored)")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this checkpoint (training/prune.py's, say) instead of FastDepth's weights; its "
                         "architecture and input size are kept, and the result can be exported like it")
    ap.add_argument("--half-output", action="store_true",
                    help="with --init of a pruned checkpoint: run its last decoder stage at half size (no last "
                         "upsampling and skip; a quarter less time, half the output width) and fine-tune it so")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--feature-weight", type=float, default=0.5)
    ap.add_argument("--renders", type=int, default=0,
                    help="also distil on this many rendered room views (training/data.py's cached set)")
    ap.add_argument("--photos", type=Path, default=None,
                    help="also distil on the images in this folder (unlabelled photos of rooms: what would help most)")
    ap.add_argument("--render-share", type=float, default=0.5, help="share of each batch drawn from the renders")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long (run again to resume)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--run", default="scale")
    args = ap.parse_args(argv)
    wrong = render_share_problem(args.render_share)  # before the pictures load
    if wrong:
        raise SystemExit(f"--render-share {wrong}")
    torch.set_num_threads(args.threads)
    from tqdm import tqdm

    teacher = FastDepthStudent().net.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student, ck_args = initial_student(args)
    pictures = load_pictures(args.renders, args.seed, args.photos)
    source = PictureSource(*pictures, args.input, args.seed, args.render_share)
    opt = torch.optim.Adam(student.parameters(), lr=args.lr)
    RUNS.mkdir(parents=True, exist_ok=True)
    ckpt_path = RUNS / f"{args.run}.pt"
    step = 0
    if ckpt_path.is_file():
        ck = torch.load(ckpt_path, weights_only=False)
        check_same_network(ckpt_path, ck["args"], ck_args)
        student.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        source.rng = np.random.default_rng([args.seed, step])
        print(f"resumed from {ckpt_path} at step {step}")
    # BatchNorm keeps FastDepth's statistics (eval mode); its scale and shift still train
    student.eval()

    def save():
        torch.save({"model": student.state_dict(), "opt": opt.state_dict(), "step": step, "args": ck_args}, ckpt_path)

    t_end = time.time() + 60 * args.minutes if args.minutes else math.inf
    bar = tqdm(total=args.steps, initial=step, desc="scale distillation", unit="step", mininterval=5)
    avg = None
    while step < args.steps and time.time() < t_end:
        set_cosine_lr(opt, args.lr, step, args.steps)
        small, big = source.batch(args.batch)
        t_taps, s_taps = [], []
        with torch.no_grad():
            t_depth = teacher(big, t_taps)
        s_depth = student.net(small, s_taps)
        loss, d_loss, f_loss = distillation_loss(s_depth, s_taps, t_depth, t_taps, args.feature_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        cur = np.array([loss.item(), d_loss.item(), f_loss.item()])
        avg = cur if avg is None else 0.98 * avg + 0.02 * cur
        bar.update(1)
        bar.set_postfix(loss=f"{avg[0]:.4f}", depth=f"{avg[1]:.4f}", feat=f"{avg[2]:.4f}", refresh=False)
        if step % 250 == 0:
            save()
    end_run(bar, save, step, args.steps, ckpt_path)


if __name__ == "__main__":
    main()
