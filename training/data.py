"""Training data: random synthetic rooms (the demo scene's generator) with exact metric depth, plus the
FastDepth teacher's prediction on every image. Cached to one .npz so training can restart quickly.

Depth targets are expressed for the reference camera (FastDepth's: the NYU crop it was trained on): a camera
with focal f sees a scene at depth z the way the reference camera sees it at z * f_ref / f, so targets are divided
by f / f_ref and the SDK multiplies by it at run time (DepthModelSpec.reference_hfov_deg). This makes one model
serve FOVs 50-90.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from arsdk.depth import ARSDK_DEPTH, NYU_HFOV_DEG, focal_correction, focal_over_width
from arsdk.geometry import Intrinsics
from arsdk.scene import SceneRenderer, random_camera_pose, random_room

CACHE = Path(__file__).resolve().parent / "cache"
RENDER_SIZE = (320, 256)  # rendered at 2x, then area-downsampled: anti-aliased like a real camera
MODEL_SIZE = (160, 128)


def photo_textures(size: int = 256) -> np.ndarray:
    """Photographs shipped with scikit-image (and matplotlib's sample portrait) as texture layers."""
    import skimage.data as sd

    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle_left", "hubble_deep_field",
             "retina", "colorwheel"]
    out = []
    for name in names:
        try:
            img = getattr(sd, name)()
        except Exception:  # some sample images need pooch downloads in older versions
            continue
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        out.append(cv2.resize(np.ascontiguousarray(img[..., :3]), (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(out).astype(np.uint8)


REFERENCE_HFOV_DEG = ARSDK_DEPTH.reference_hfov_deg
LEGACY_REFERENCE_HFOV_DEG = NYU_HFOV_DEG  # what caches made before 2026-11-23 divided by (they carry no record)


def reference_factor(intr: Intrinsics) -> float:
    """What the SDK multiplies our model's output by for this camera (`arsdk.depth.focal_correction`)."""
    return focal_correction(ARSDK_DEPTH, intr.fx, intr.fy, intr.width, intr.height)


def in_reference_camera(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A cached synthetic set with its depths for REFERENCE_HFOV_DEG, whatever reference they were divided by when
    it was made (recorded as reference_hfov_deg, LEGACY_REFERENCE_HFOV_DEG when absent; the record is dropped, as
    every other entry is one row per view): the conversion is one factor, f_ref_new / f_ref_old, whatever each
    view's own focal length."""
    data = dict(data)
    made_for = float(data.pop("reference_hfov_deg", LEGACY_REFERENCE_HFOV_DEG))  # per set, not per view: dropped
    if made_for != REFERENCE_HFOV_DEG:
        factor = focal_over_width(REFERENCE_HFOV_DEG) / focal_over_width(made_for)
        data["depths"] = (data["depths"] * factor).astype(np.float32)
    return data


def generate(n: int, seed: int = 0, views_per_room: int = 6, log=print,
             furnished: bool = False) -> dict[str, np.ndarray]:
    """n views of random rooms; `furnished`: most furniture is modelled (training/furniture.py), not boxes."""
    rng = np.random.default_rng(seed)
    renderer = SceneRenderer(*RENDER_SIZE)
    photos = photo_textures()
    pieces = None
    if furnished:
        from training.furniture import furniture_library

        pieces = furniture_library(log) or None
    images = np.zeros((n, MODEL_SIZE[1], MODEL_SIZE[0], 3), np.uint8)
    depths = np.zeros((n, MODEL_SIZE[1], MODEL_SIZE[0]), np.float32)
    t0 = time.perf_counter()
    i = 0
    while i < n:
        room = random_room(rng, photos, pieces)
        renderer.set_room(room)
        for _ in range(views_per_room):
            if i >= n:
                break
            intr = Intrinsics.from_fov(*RENDER_SIZE, hfov_deg=float(rng.uniform(50, 90)))
            view = renderer.render(random_camera_pose(room, rng), intr)
            if (view.depth <= 0).mean() > 0.01:  # the camera looked out of the room
                continue
            images[i] = cv2.resize(view.image, MODEL_SIZE, interpolation=cv2.INTER_AREA)
            depths[i] = cv2.resize(view.depth, MODEL_SIZE, interpolation=cv2.INTER_AREA) / reference_factor(intr)
            i += 1
        if i % 200 < views_per_room:
            rate = i / (time.perf_counter() - t0)
            log(f"  rendered {i}/{n} ({rate:.0f}/s, {(n - i) / max(rate, 1e-6):.0f} s left)")
    renderer.release()
    return {"images": images, "depths": depths, "reference_hfov_deg": np.float64(REFERENCE_HFOV_DEG)}


def teacher_predictions(images: np.ndarray, log=print) -> np.ndarray:
    """FastDepth's metric depth for each image (at the model resolution), as distillation targets."""
    from arsdk.depth import DepthEstimator

    teacher = DepthEstimator("fastdepth", temporal=None)
    out = np.zeros(images.shape[:3], np.float32)
    for i, img in enumerate(images):
        pred = teacher.predict(img)
        out[i] = cv2.resize(pred, (images.shape[2], images.shape[1]), interpolation=cv2.INTER_LINEAR)
        if (i + 1) % 500 == 0:
            log(f"  teacher {i + 1}/{len(images)}")
    return out


def real_photo_crops(n: int, seed: int = 0, log=print) -> dict[str, np.ndarray]:
    """Random 5:4 crops of real photographs (training/photos.py), with FastDepth's depth on each: real image
    statistics (noise, clutter, lighting) for the student, with the teacher as the only label."""
    from training.photos import collect_photos

    photos = collect_photos(log=log)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, MODEL_SIZE[1], MODEL_SIZE[0], 3), np.uint8)
    for i in range(n):
        img = photos[int(rng.integers(0, len(photos)))]
        h, w = img.shape[:2]
        ch = int(rng.uniform(0.5, 1.0) * min(h, w * 4 / 5))
        cw = int(ch * 5 / 4)
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        images[i] = cv2.resize(img[y0:y0 + ch, x0:x0 + cw], MODEL_SIZE, interpolation=cv2.INTER_AREA)
    log(f"running the FastDepth teacher on {n} real photo crops")
    return {"real_images": images, "real_teacher": teacher_predictions(images, log=log)}


def _cached(path: Path, make, log=print) -> dict[str, np.ndarray]:
    if path.is_file():
        return dict(np.load(path))
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"making {path.name} (cached for later runs)")
    data = make()
    np.savez(path, **data)
    return data


def load_or_make(n: int, seed: int = 0, log=print, real: int = 0, hints: bool = False,
                 furnished: bool = False) -> dict[str, np.ndarray]:
    """n synthetic views with their teacher depth, plus `real` teacher-labelled real photo crops; with `hints`,
    also the teacher's decoder features for each (hint_<level>, real_hint_<level>: training/hints.py);
    `furnished`: rooms furnished with modelled furniture (generate)."""
    from training.hints import teacher_features

    def synthetic():
        data = generate(n, seed, log=log, furnished=furnished)
        log("running the FastDepth teacher")
        data["teacher"] = teacher_predictions(data["images"], log=log)
        return data

    tag = f"{n}_{seed}" + ("_furnished" if furnished else "")
    data = in_reference_camera(_cached(CACHE / f"synthetic_{tag}.npz", synthetic, log))
    if real:
        data.update(_cached(CACHE / f"real_{real}_{seed}.npz", lambda: real_photo_crops(real, seed, log=log), log))
    if hints:
        data.update(_cached(CACHE / f"hints_synthetic_{tag}.npz",
                            lambda: teacher_features(data["images"], log=log), log))
        if real:
            data.update({f"real_{k}": v for k, v in _cached(
                CACHE / f"hints_real_{real}_{seed}.npz", lambda: teacher_features(data["real_images"], log=log),
                log).items()})
    return data


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--real", type=int, default=4000, help="also this many teacher-labelled real photo crops")
    ap.add_argument("--hints", action=argparse.BooleanOptionalAction, default=True,
                    help="also the teacher's decoder features, for feature-level distillation (default: yes)")
    ap.add_argument("--furnished", action=argparse.BooleanOptionalAction, default=False,
                    help="furnish the rooms with Sweet Home 3D's modelled furniture (training/furniture.py)")
    args = ap.parse_args()
    d = load_or_make(args.n, args.seed, real=args.real, hints=args.hints, furnished=args.furnished)
    print({k: v.shape for k, v in d.items()})
