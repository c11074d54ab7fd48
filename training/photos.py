"""Real photographs for distillation, gathered from packages this project may use (never from ../shared/data).

Sources, each optional (a missing one is reported and skipped):
- scikit-image's and matplotlib's sample photos (installed with the training extra);
- the OpenCV sample and tutorial images in Debian's `opencv-doc` package (fetched with `apt-get download`
  into training/cache, unpacked there; never shipped), including frames of its indoor `vtest.avi` video.

Drawings, screenshots, charts and near-duplicates are dropped by simple image statistics, so the set stays
photographs of the world; FastDepth labels them (training/data.py).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

CACHE = Path(__file__).resolve().parent / "cache"
OPENCV_DOC = CACHE / "opencv-doc"
MIN_SIDE = 160


def is_photograph(img: np.ndarray) -> bool:
    """True for natural photographs: few flat runs of pixels (drawings, screenshots, charts have many), many
    distinct colours or grey levels, and a shape a camera makes."""
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE or max(h, w) / min(h, w) > 2.2:
        return False
    small = cv2.resize(img, (160, 128), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    flat = (np.abs(np.diff(gray, axis=1)) < 0.5).mean()
    colourful = np.ptp(small.astype(np.int16), axis=2).mean() > 4
    levels = len(np.unique((small // 8).reshape(-1, 3), axis=0)) if colourful else len(np.unique(gray // 2))
    return flat < 0.35 and levels >= (300 if colourful else 60)


def _fingerprint(img: np.ndarray) -> np.ndarray:
    g = cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (16, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (g - g.mean()) / (g.std() + 1e-3)


def deduplicate(photos: list[np.ndarray], max_corr: float = 0.95) -> list[np.ndarray]:
    """Drop photos whose 16x12 thumbnail correlates above max_corr with one already kept (the same image
    shipped twice, or a tutorial's result next to its input)."""
    kept, prints = [], []
    for img in photos:
        fp = _fingerprint(img).ravel()
        if prints and (np.stack(prints) @ fp / fp.size).max() > max_corr:
            continue
        kept.append(img)
        prints.append(fp)
    return kept


def package_sample_photos(log=print) -> list[np.ndarray]:
    out = []
    try:
        import skimage.data as sd

        for name in ("astronaut", "coffee", "chelsea", "rocket"):
            out.append(np.ascontiguousarray(getattr(sd, name)()[..., :3]))
        left, right, _ = sd.stereo_motorcycle()
        out += [left, right]
    except Exception as exc:  # noqa: BLE001 - an optional source
        log(f"  scikit-image sample photos unavailable ({exc})")
    try:
        from matplotlib import cbook

        from arsdk.camera import read_image

        out.append(read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    except Exception as exc:  # noqa: BLE001
        log(f"  matplotlib's sample portrait unavailable ({exc})")
    return out


def fetch_debian_package(package: str, dest: Path, log=print) -> bool:
    """Download Debian's `package` with apt-get and unpack it into dest (under training/cache) once; False if apt
    cannot (the caller trains without it)."""
    if dest.is_dir():
        return True
    CACHE.mkdir(parents=True, exist_ok=True)
    log(f"fetching Debian's {package} with apt-get download")
    try:
        subprocess.run(["apt-get", "download", package], cwd=CACHE, check=True, capture_output=True)
        deb = sorted(CACHE.glob(f"{package}_*.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True, capture_output=True)
        deb.unlink()
    except (OSError, subprocess.CalledProcessError, IndexError) as exc:
        log(f"  {package} unavailable ({exc})")
        return False
    return True


def fetch_opencv_doc(log=print) -> Path | None:
    """Debian's opencv-doc (about 95 MB, OpenCV's sample images) unpacked in training/cache; None if apt cannot."""
    if not fetch_debian_package("opencv-doc", OPENCV_DOC, log):
        log("  training on the other photo sources only")
        return None
    return OPENCV_DOC / "usr/share/doc/opencv-doc"


def opencv_doc_photos(log=print, video_frames: int = 6) -> list[np.ndarray]:
    root = fetch_opencv_doc(log)
    if root is None:
        return []
    out = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is not None:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    video = root / "examples/data/vtest.avi"  # a lobby filmed from above, people walking through
    cap = cv2.VideoCapture(str(video))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    for i in np.linspace(0, max(count - 1, 0), video_frames if count else 0).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, frame = cap.read()
        if ok:
            out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def collect_photos(log=print) -> list[np.ndarray]:
    """All real photographs available here, filtered and de-duplicated (RGB uint8, various sizes)."""
    candidates = package_sample_photos(log) + opencv_doc_photos(log)
    photos = deduplicate([p for p in candidates if is_photograph(p)])
    log(f"{len(photos)} real photographs kept of {len(candidates)} candidate images")
    return photos


if __name__ == "__main__":
    import sys

    photos = collect_photos()
    if len(sys.argv) > 1:  # write a contact sheet to look at
        tiles = [cv2.resize(p, (128, 96), interpolation=cv2.INTER_AREA) for p in photos]
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 16)
        sheet = np.vstack([np.hstack(tiles[i:i + 16]) for i in range(0, len(tiles), 16)])
        cv2.imwrite(sys.argv[1], cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
