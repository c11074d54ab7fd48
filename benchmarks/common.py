"""Shared helpers for the benchmarks: timing statistics, machine description, result files."""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def stats_ms(samples_s) -> dict:
    a = np.asarray(samples_s, dtype=np.float64) * 1e3
    return {"median_ms": round(float(np.median(a)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "n": int(len(a))}


# the runtimes whose versions move the figures: the same commit gave the HoloLens walk's flood IoU 0.617 and 0.593
# on two installs of the unpinned requirements (OpenCV's alone: 0.618 with 4.14, 0.609 with 5.1); constraints.txt
# pins them
PACKAGES = ("numpy", "opencv-python", "onnxruntime", "ai-edge-litert", "moderngl")


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def pinned_versions(path: Path = ROOT / "constraints.txt") -> dict:
    """The versions constraints.txt pins (scripts/setup.sh installs with them), by lower-case package name."""
    pins = {}
    for line in path.read_text().splitlines():
        spec = line.split("#")[0].split(";")[0].strip()
        if "==" in spec:
            name, version = spec.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def cpu() -> dict:
    """The processor's model and the widest vector instructions it has (from /proc/cpuinfo, where there is one).
    The streams' figures move with them at the same pins: the same commit scored the HoloLens walk's flood IoU 0.669
    on the machine of the committed figures and 0.658 on an AVX2-only AMD EPYC (single frames alike; a stream carries
    each frame's rounding into the next)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in (platform.processor(), platform.machine()):
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    widest = next((name for name in ("avx512f", "avx2", "avx", "sse4_2", "asimd", "neon") if name in flags), None)
    return {"model": model, "widest_simd": widest}


def machine() -> dict:
    versions = package_versions()
    pins = pinned_versions()
    # a figure measured off the pins is not the committed one's reproduction; say which differ
    off_pins = {k: {"installed": v, "pinned": pins.get(k)} for k, v in versions.items() if v != pins.get(k)}
    return {"cpu_count": os.cpu_count(), "cpu": cpu(), "platform": platform.platform(),
            "python": platform.python_version(), "packages": versions, "packages_off_pins": off_pins,
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    print(f"wrote {path}")
    return path


def shared_data_or_exit(benchmark: str):
    """../shared/data (or $ARSDK_SHARED_DATA), or exit naming what is missing."""
    from arsdk.evaluation import shared_data_dir

    root = shared_data_dir()
    if root is None:
        raise SystemExit(f"{benchmark}: ../shared/data not found (set ARSDK_SHARED_DATA)")
    return root


VIDEO_STEPS = 100  # real HoloLens frames (40 s of hand-held motion) rendered at 30 frame/s: 1189 frames
VIDEO_PER_STEP = 12  # the HoloLens frames are about 0.4 s apart: 12 frames of a 30 frame/s camera
HOLOLENS_SPACING_S = 0.4  # between HoloLens frames: about 8 cm and 4 degrees of hand-held motion (no time stamps)
SEVEN_SCENES_PER_STEP = 20  # the shared 7-Scenes frames are every 20th of a 30 frame/s recording
SEVEN_SCENES_SPACING_S = SEVEN_SCENES_PER_STEP / 30


def hololens_at_30fps(root, steps: int = VIDEO_STEPS) -> list:
    """The first `steps` HoloLens frames with the views between each pair rendered from the real pictures and
    depth (`evaluation.video_rate_frames`): PosedFrames as a 30 frame/s camera would give them, with progress."""
    from arsdk.evaluation import load_training_sequences

    return _rendered_at_30fps(load_training_sequences(root)[0][:steps], VIDEO_PER_STEP, "HoloLens")


def kitchen_at_30fps(root) -> list:
    """The 50 7-Scenes kitchen frames (every 20th of a 30 frame/s recording, 0.67 s, 14 cm and 6.6 degrees apart;
    the depth carried into the colour camera) with the 19 views between each pair rendered as `hololens_at_30fps`
    renders its: a second room at a live camera's rate, 981 PosedFrames, with progress. Its poses are the depth
    camera's (`kitchen_frames`), as `tracking.py` scores the sparse frames."""
    return _rendered_at_30fps(kitchen_frames(root)[0], SEVEN_SCENES_PER_STEP, "7-Scenes")


def kitchen_frames(root) -> list[list]:
    """Each 7-Scenes sequence of the data folder (the shared one: the kitchen's 50 frames) as PosedFrames in the
    colour camera (`evaluation.seven_scenes_in_colour`); the poses stay the depth camera's, 3 cm beside it."""
    from arsdk.evaluation import load_sequences, seven_scenes_in_colour

    return [[seven_scenes_in_colour(f) for f in seq] for seq in load_sequences(root)]


def _rendered_at_30fps(seq: list, per_step: int, label: str) -> list:
    from arsdk.evaluation import video_rate_frames

    total = (len(seq) - 1) * per_step + 1
    frames = []
    for i, f in enumerate(video_rate_frames(seq, per_step)):
        frames.append(f)
        if i % 100 == 0 or i + 1 == total:
            print(f"\r  rendering the 30 frame/s {label} views {i + 1}/{total}", end="", flush=True)
    print()
    return frames


def with_auto_exposure(images, seed: int = 0, wander: float = 0.015, step: float = 0.2,
                       steps_per_frame: float = 1 / 90, limits=(0.6, 1.6)) -> list:
    """HxWx3 uint8 pictures as a webcam's auto-exposure would deliver them: each scaled by a gain that wanders
    (log-normal steps of `wander` a frame) and jumps by `step` (up or down) with a chance of steps_per_frame (at
    30 frame/s about every 3 s), held within `limits`; clipped to 0-255 as a camera clips."""
    rng = np.random.default_rng(seed)
    gain, out = 1.0, []
    for image in images:
        gain *= math.exp(rng.normal(0.0, wander))
        if rng.random() < steps_per_frame:
            gain *= math.exp(step * rng.choice([-1.0, 1.0]))
        gain = min(limits[1], max(limits[0], gain))
        out.append(cv2.convertScaleAbs(image, alpha=gain))
    return out


def frame_motion(frames, i: int) -> np.ndarray:
    """Posed frame i's image motion over one frame time (HxWx2, px): for each pixel, where its point (by the frame's
    depth, gaps filled from the nearest known pixel) lay in the frame before, minus where it lies now; the first
    frame takes the motion to the second, reversed. frames: PosedFrames of one stream, in order."""
    from arsdk.evaluation import fill_nearest
    from arsdk.geometry import project, unproject

    f, other = frames[i], frames[i - 1] if i else frames[1]
    pts = unproject(fill_nearest(f.depth), f.intrinsics).reshape(-1, 3).astype(np.float64)
    to_other = np.linalg.inv(other.camera_to_world) @ f.camera_to_world
    there = project(pts @ to_other[:3, :3].T + to_other[:3, 3], f.intrinsics)
    h, w = f.depth.shape
    here = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).reshape(-1, 2)
    flow = (there - here).reshape(h, w, 2).astype(np.float32)
    return flow if i else -flow


def with_motion_blur(frames, exposure: float = 1.0, max_samples: int = 24) -> tuple[list, list[float]]:
    """The pictures of posed frames (PosedFrames of one stream at a camera's rate, in order) as a camera whose
    shutter stays open `exposure` of the frame time would take them: each pixel the mean of the picture along its
    own motion (`frame_motion`), centred on the frame's time, sampled every pixel or so of the path (at most
    `max_samples` samples). Occlusions are not modelled. Returns (pictures, the median blur length of each, px)."""
    if not 0.0 <= exposure <= 1.0:
        raise ValueError(f"exposure: expected a share of the frame time in [0, 1], got {exposure}")
    out, lengths, grid = [], [], None
    for i, f in enumerate(frames):
        if i % 100 == 0 or i + 1 == len(frames):
            print(f"\r  blurring the views {i + 1}/{len(frames)}", end="", flush=True)
        streak = frame_motion(frames, i) * np.float32(exposure)
        length = np.hypot(streak[..., 0], streak[..., 1])
        lengths.append(float(np.median(length)))
        samples = min(max_samples, int(math.ceil(float(np.percentile(length, 95)))) + 1)
        if samples < 2:
            out.append(f.image)
            continue
        h, w = length.shape
        if grid is None or grid[0].shape != (h, w):  # one stream: one size, made once
            grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        gx, gy = grid
        acc = np.zeros(f.image.shape, np.float32)
        for s in np.linspace(-0.5, 0.5, samples, dtype=np.float32):
            acc += cv2.remap(f.image, gx + s * streak[..., 0], gy + s * streak[..., 1], cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        out.append(np.clip(acc / samples + 0.5, 0, 255).astype(np.uint8))
    print()
    return out, lengths
