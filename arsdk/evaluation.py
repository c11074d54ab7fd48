"""Depth accuracy metrics and a reader for RGB-D evaluation data described by a manifest.json
(the layout of the project's shared/data: pairs with rgb, depth, unit, encoding, intrinsics; pose sequences)."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .camera import read_image
from .errors import InputError
from .geometry import Intrinsics

METRIC_NAMES = ("abs_rel", "rmse", "log10", "delta1", "delta2", "delta3", "si_rmse")


def depth_metrics(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> dict[str, float]:
    """AbsRel, RMSE (m), log10, delta1/2/3 (max(d/gt, gt/d) < 1.25^k) and si-RMSE (RMSE of log depth after
    removing the mean log ratio; the MAI 2021 metric) over pixels where both are positive and `valid`."""
    if pred.shape != gt.shape:
        raise InputError(f"pred: shape {pred.shape} does not match gt {gt.shape}")
    ok = (gt > 0) & (pred > 0) & np.isfinite(pred) & np.isfinite(gt)
    if valid is not None:
        ok &= valid
    if not ok.any():
        raise InputError("depth_metrics: no pixel with valid prediction and ground truth")
    p, g = pred[ok].astype(np.float64), gt[ok].astype(np.float64)
    ratio = np.maximum(p / g, g / p)
    log_diff = np.log(p) - np.log(g)
    return {
        "abs_rel": float(np.mean(np.abs(p - g) / g)),
        "rmse": float(np.sqrt(np.mean((p - g) ** 2))),
        "log10": float(np.mean(np.abs(np.log10(p) - np.log10(g)))),
        "delta1": float(np.mean(ratio < 1.25)),
        "delta2": float(np.mean(ratio < 1.25 ** 2)),
        "delta3": float(np.mean(ratio < 1.25 ** 3)),
        "si_rmse": float(np.sqrt(max(np.mean(log_diff ** 2) - np.mean(log_diff) ** 2, 0.0))),
    }


def median_scaled(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """pred scaled so its median over valid pixels equals gt's (the usual alignment for relative depth)."""
    ok = (gt > 0) & (pred > 0) & (valid if valid is not None else True)
    return pred * np.float32(np.median(gt[ok]) / np.median(pred[ok]))


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


@dataclass
class RGBDPair:
    name: str
    set: str
    image: np.ndarray       # HxWx3 uint8 RGB
    depth: np.ndarray       # HxW float32 metres, 0 = invalid
    intrinsics: Intrinsics
    eval_mask: np.ndarray   # HxW bool: where to score (the evaluation crop, if the set has one)


@dataclass
class PosedFrame:
    name: str
    image: np.ndarray
    depth: np.ndarray
    intrinsics: Intrinsics  # of the depth image
    camera_to_world: np.ndarray


def shared_data_dir() -> Path | None:
    """$ARSDK_SHARED_DATA, else ../shared/data beside the repository; None when absent."""
    env = os.environ.get("ARSDK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents[1:4]]
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c
    return None


def _decode_depth(path: Path, unit: float, encoding: str) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(f"depth image {path}: missing or unreadable")
    if encoding == "uint16_sunrgbd_bitshift":
        v = raw.astype(np.uint16)
        raw = (v >> 3) | (v << 13)
    elif encoding != "uint16":
        raise InputError(f"depth image {path}: unknown encoding {encoding!r}")
    return raw.astype(np.float32) * np.float32(unit)


def _crop_mask(note: str, shape) -> np.ndarray:
    mask = np.ones(shape, bool)
    m = re.search(r"rows (\d+):(\d+), cols (\d+):(\d+)", note or "")
    if m:
        r0, r1, c0, c1 = map(int, m.groups())
        mask[:] = False
        mask[r0:r1, c0:c1] = True
    return mask


def load_pairs(root: Path, sets=None) -> list[RGBDPair]:
    """The RGB-D pairs of a manifest, optionally only the given sets (e.g. {"nyu"})."""
    manifest = json.loads((root / "manifest.json").read_text())
    pairs = []
    for p in manifest.get("pairs", []):
        if sets and p["set"] not in sets:
            continue
        depth = _decode_depth(root / p["depth"], p["depth_unit_m"], p.get("depth_encoding", "uint16"))
        image = read_image(root / p["rgb"])
        intr = Intrinsics(**p["intrinsics"])
        if image.shape[:2] != depth.shape:
            raise InputError(f"{p['rgb']}: image {image.shape[:2]} and depth {depth.shape} differ in size")
        pairs.append(RGBDPair(Path(p["rgb"]).stem, p["set"], image, depth, intr.matching(depth.shape[1],
                              depth.shape[0]), _crop_mask(p.get("note", ""), depth.shape)))
    return pairs


def load_sequences(root: Path) -> list[list[PosedFrame]]:
    """Posed depth sequences of a manifest (7-Scenes style: .color.jpg, .depth.png, .pose.txt per frame)."""
    manifest = json.loads((root / "manifest.json").read_text())
    out = []
    for seq in manifest.get("sequences", []):
        intr = Intrinsics(**seq["depth_intrinsics"])
        frames = []
        for stem in seq["frames"]:
            depth = _decode_depth(root / f"{stem}.depth.png", seq["depth_unit_m"], "uint16")
            depth[depth == seq.get("depth_invalid", 0)] = 0
            pose = np.loadtxt(root / f"{stem}.pose.txt").reshape(4, 4)
            frames.append(PosedFrame(Path(stem).name, read_image(root / f"{stem}.color.jpg"), depth, intr, pose))
        out.append(frames)
    return out
