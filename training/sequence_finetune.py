"""Fine-tune FastDepth on a real RGB-D training sequence (the HoloLens one in ../shared/data) and write the result
as an ONNX file with FastDepth's graph, which the SDK runs like FastDepth itself.

FastDepth's weights at its own 224x224 input, BatchNorm statistics frozen (one room's small batches would
rewrite them); each step sees random crops of the sequence's frames (4:3 shape, 60-100 % of the frame, mirrored
half the time, a colour cast) with their sensor depth as the target, carried into FastDepth's reference camera (a
crop's focal ratio, as arsdk.depth rescales the output), and a loss on log depth over the sensor's valid pixels
(`--floor-only`: over the floor's, with FastDepth's own depth held on the rest of the frame):
scale-invariant (`--scale-term` 1: the scale is left to the SDK's floor and height prior; less: taught as well)
plus gradient matching. Beside them, FastDepth's own depth on real photographs (training/photos.py) holds the
network near what it was, weighted by `--photo-weight`. The first `--frames` frames are trained on, so the rest of
the sequence stays unseen.

    python -m training.sequence_finetune --frames 250 --out training/runs/sequence_ft.onnx
    python benchmarks/realroom.py --depth-model fastdepth=training/runs/sequence_ft.onnx

What it gave, and why it is not shipped: BENCHMARKS.md ("Real rooms") and docs/depth_model_story.md.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import cv2
import numpy as np
import torch

from arsdk.depth import FASTDEPTH, focal_correction
from arsdk.evaluation import PosedFrame, load_training_sequences, pose_up, shared_data_dir, true_floor
from arsdk.geometry import unproject
from arsdk.imaging import downscale
from training.fastdepth_torch import FastDepthStudent, max_difference_to_onnxruntime
from training.losses import gradient_matching_loss, si_log_loss
from training.scale_distill import colour_cast, random_window
from training.train import RUNS, set_cosine_lr

SIZE = (224, 224)  # FastDepth's input
MIN_DEPTH_M = 0.1  # sensor readings nearer than this are treated as missing


def floor_masks(frames: list[PosedFrame], tolerance_m: float = 0.05) -> list[np.ndarray]:
    """Each frame's floor pixels in its sensor depth: within tolerance_m of the floor found with the pose's up
    (`evaluation.true_floor`; gravity-aligned poses); all False on a frame with no floor."""
    out = []
    for f in frames:
        floor, _ = true_floor(f.depth, f.intrinsics, pose_up(f.camera_to_world))
        if floor is None:
            out.append(np.zeros(f.depth.shape, bool))
            continue
        height = floor.height_of(unproject(f.depth, f.intrinsics))
        out.append(np.isfinite(height) & (np.abs(height) < tolerance_m))
    return out


class SequenceViews:
    """Random training views of posed RGB-D frames: (image HxWx3 float in [0, 1], depth HxW in the reference
    camera's metres, 0 where the sensor gave none, and a HxW float mask of the pixels the depth is taught on:
    `masks`' crop, or ones), all at FastDepth's input size."""

    def __init__(self, frames: list[PosedFrame], photos: list[np.ndarray], seed: int,
                 masks: list[np.ndarray] | None = None):
        if not frames:
            raise ValueError("sequence_finetune: no training frames")
        if masks is not None and [m.shape for m in masks] != [f.depth.shape for f in frames]:
            raise ValueError("sequence_finetune: one mask per frame, of its depth's shape")
        self.frames, self.photos, self.masks = frames, photos, masks
        self.rng = np.random.default_rng(seed)

    def _crop(self, h: int, w: int) -> tuple[int, int, int, int]:
        return random_window(self.rng, h, w, aspect_jitter=0.15, smallest=0.6)

    def _picture(self, crop: np.ndarray) -> np.ndarray:
        cast = colour_cast(self.rng)
        return np.clip(downscale(np.ascontiguousarray(crop), SIZE) * cast, 0, 255).astype(np.float32) / 255

    def frame_view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = int(self.rng.integers(len(self.frames)))
        f = self.frames[k]
        h, w = f.image.shape[:2]
        y0, x0, ch, cw = self._crop(h, w)
        window = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        mask = np.ones((h, w), np.float32) if self.masks is None else self.masks[k].astype(np.float32)
        image, depth, mask = f.image[window], f.depth[window], mask[window]
        if self.rng.random() < 0.5:
            image, depth, mask = image[:, ::-1], depth[:, ::-1], mask[:, ::-1]
        # the SDK multiplies the model's output by this for a camera of the crop's focal ratios (arsdk.depth)
        scale = focal_correction(FASTDEPTH, f.intrinsics.fx, f.intrinsics.fy, cw, ch)
        target = cv2.resize(np.ascontiguousarray(depth, np.float32), SIZE, interpolation=cv2.INTER_NEAREST) / scale
        mask = cv2.resize(np.ascontiguousarray(mask), SIZE, interpolation=cv2.INTER_NEAREST)
        return self._picture(image), target.astype(np.float32), mask

    def photo_view(self) -> np.ndarray:
        img = self.photos[int(self.rng.integers(len(self.photos)))]
        y0, x0, ch, cw = self._crop(*img.shape[:2])
        crop = img[y0:y0 + ch, x0:x0 + cw]
        return self._picture(crop[:, ::-1] if self.rng.random() < 0.5 else crop)


def _nchw(images) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


def finetune(frames: list[PosedFrame], photos: list[np.ndarray], steps: int, lr: float = 3e-5,
             photo_weight: float = 2.0, scale_term: float = 1.0, batch: int = 8, seed: int = 0,
             floor_only: bool = False, progress: bool = True) -> FastDepthStudent:
    """FastDepth fine-tuned on `frames` for `steps` steps (AdamW, cosine); returns the network in eval mode.
    floor_only: the sensor's depth is taught on the floor's pixels only (`floor_masks`), and FastDepth's own
    depth is held on the rest of each frame (weight 1)."""
    torch.manual_seed(seed)
    views = SequenceViews(frames, photos, seed, floor_masks(frames) if floor_only else None)
    net = FastDepthStudent()
    teacher = copy.deepcopy(net).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    net.eval()  # BatchNorm keeps FastDepth's statistics; its scale and shift still learn
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    from tqdm import tqdm

    bar = tqdm(range(steps), desc="fine-tune", disable=not progress)
    for step in bar:
        set_cosine_lr(opt, lr, step, steps)
        images, targets, masks = zip(*(views.frame_view() for _ in range(batch)))
        target = torch.from_numpy(np.stack(targets))[:, None]
        taught = torch.from_numpy(np.stack(masks))[:, None]
        valid = (target > MIN_DEPTH_M).float() * taught
        x = _nchw(images)
        log_pred, log_true = torch.log(net(x)), torch.log(target.clamp_min(MIN_DEPTH_M))
        loss = si_log_loss(log_pred, log_true, valid, scale_term) + 0.5 * gradient_matching_loss(
            log_pred, log_true, valid)
        if floor_only:
            with torch.no_grad():
                held = torch.log(teacher(x))
            rest = 1.0 - taught
            loss = loss + ((log_pred - held).abs() * rest).sum() / rest.sum().clamp_min(1.0)
        if photo_weight > 0 and photos:
            shown = _nchw([views.photo_view() for _ in range(max(1, batch // 2))])
            with torch.no_grad():
                held = torch.log(teacher(shown))
            loss = loss + photo_weight * (torch.log(net(shown)) - held).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return net


def write_onnx(net: FastDepthStudent, out: Path, source: Path | None = None) -> float:
    """Write `net`'s weights (in eval mode, as `finetune` returns it) into the ONNX graph it was built from
    (FastDepth's unless `source`), each into the initializer its layer was read from (`OnnxConvNet.sources`), at
    `out`; returns the largest |PyTorch - onnxruntime| on a random input."""
    import onnx
    from onnx import numpy_helper

    from arsdk import models

    source = Path(source or models.model_path("fastdepth"))
    model = onnx.load(str(source))
    inits = {t.name: t for t in model.graph.initializer}
    missing = sorted(set(net.net.sources) - set(inits))
    if missing:
        raise ValueError(f"{source}: no initializers {', '.join(missing[:3])}: not the graph the network came from")
    for name, (index, field_name) in net.net.sources.items():
        value = getattr(net.net.layers[index], field_name).detach().numpy().astype(np.float32)
        inits[name].CopyFrom(numpy_helper.from_array(value, name))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return max_difference_to_onnxruntime(net.net, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=shared_data_dir(),
                    help="the folder with manifest.json and its training_sequences (default: $ARSDK_SHARED_DATA, "
                         "else ../shared/data)")
    ap.add_argument("--frames", type=int, default=250, help="train on the first N frames of each sequence")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--photo-weight", type=float, default=2.0)
    ap.add_argument("--scale-term", type=float, default=1.0, help="1: scale-invariant; less: teach the scale too")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--floor-only", action="store_true",
                    help="teach the sensor's depth on the floor's pixels only (poses must be gravity-aligned), "
                         "hold FastDepth's own elsewhere")
    ap.add_argument("--out", type=Path, default=RUNS / "sequence_ft.onnx")
    args = ap.parse_args(argv)
    if args.data is None or not (args.data / "manifest.json").exists():
        ap.error(f"--data {args.data}: no manifest.json there (expected ../shared/data with training_sequences)")
    if args.frames < 1 or args.steps < 1:
        ap.error(f"--frames and --steps: expected at least 1, got {args.frames} and {args.steps}")
    frames = [f for seq in load_training_sequences(args.data) for f in seq[:args.frames]]
    if not frames:
        ap.error(f"--data {args.data}: its manifest.json lists no training_sequences")
    from training.photos import collect_photos

    photos = collect_photos() if args.photo_weight > 0 else []
    print(f"{len(frames)} training frames, {len(photos)} photos held to FastDepth's depth")
    net = finetune(frames, photos, args.steps, args.lr, args.photo_weight, args.scale_term, seed=args.seed,
                   floor_only=args.floor_only)
    worst = write_onnx(net, args.out)
    print(f"wrote {args.out} (max |ONNX Runtime - PyTorch| {worst:.1e} m)")


if __name__ == "__main__":
    main()
