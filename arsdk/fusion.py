"""Depth that agrees with itself over time: the previous fused depth, carried into the current frame with the
tracked camera motion, is averaged with the new prediction where the two agree.

A per-frame depth model re-guesses the room from scratch every frame, so surfaces breathe and the waterline
shimmers. Here the fused estimate is kept at a reduced resolution (`work_width` pixels wide: the correction it
makes is smooth, and some ten thousand points carry it in a few milliseconds), averaged in log depth and
weighted by how many frames have seen each place (capped, so the room can still change); where the carried and
the new depth disagree by more than `tolerance` (something moved, an occlusion edge) the new one is taken as it
is. The result is applied to the full-resolution prediction as a smooth multiplicative correction, so edges stay
exactly where the current frame puts them.
"""
from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError, check_depth
from .geometry import Intrinsics, warp_pixels


class DepthFusion:
    """`fuse(depth, intrinsics, motion)` -> fused HxW float32 metres. motion: the 4x4 transform from the previous
    frame's camera to this one's (metres), or None when unknown (tracking lost, a cut): the history is dropped.

    work_width 160 rather than 80: a depth model's flicker is not only smooth. On the HoloLens walk's views at 30
    frame/s the fused depth's TAE went 3.46 -> 3.10 (frames 250-349) and 1.84 -> 1.61 (frames 150-249); 320 wide
    gave 2.94 at several times the cost. A longer memory (max_weight 36) gave 3.70 at 80 wide, 3.25 at 160: the
    carried history brings the tracked pose's errors with it. The pipeline fuses the depth it looks for the floor
    in at 80 wide (its floor decisions were better so: `Pipeline.fusion`) and the depth it shows at 160
    (`Pipeline.shown_fusion`)."""

    def __init__(self, work_width: int = 160, tolerance: float = 0.5, max_weight: float = 12.0):
        if work_width < 8:
            raise InputError(f"DepthFusion.work_width: expected at least 8 pixels, got {work_width}")
        if not 0.0 < tolerance < 1.0:
            raise InputError(f"DepthFusion.tolerance: expected a relative difference in (0, 1), got {tolerance}")
        if max_weight < 1.0:
            raise InputError(f"DepthFusion.max_weight: expected >= 1, got {max_weight}")
        self.work_width, self.tolerance, self.max_weight = work_width, tolerance, max_weight
        self.reset()

    def reset(self):
        self._depth: np.ndarray | None = None   # fused, reduced resolution
        self._weight: np.ndarray | None = None
        self._intr: Intrinsics | None = None
        self._before: tuple = (None, None, None)  # the history before the last depth fused (`replaces_last`)

    def fuse(self, depth: np.ndarray, intrinsics: Intrinsics, motion: np.ndarray | None,
             replaces_last: bool = False) -> np.ndarray:
        """replaces_last: this depth is the last one fused, again (a depth result shown on a later frame, carried
        to where the camera is then): it is fused with the history before the last one and takes its place, so
        one measurement is counted once however often it is shown. motion is then from the camera of the frame
        before the last one."""
        check_depth(depth, "depth")
        if replaces_last:
            self._depth, self._weight, self._intr = self._before
        h, w = depth.shape
        intr = intrinsics.matching(w, h)
        f = min(1.0, self.work_width / w)
        small_size = (max(1, round(w * f)), max(1, round(h * f)))
        small_intr = intr.scaled(*small_size)
        known = np.isfinite(depth) & (depth > 0)
        new = cv2.resize(np.where(known, depth, 0).astype(np.float32), small_size, interpolation=cv2.INTER_NEAREST)
        self._before = (self._depth, self._weight, self._intr)
        if motion is None or self._depth is None or self._intr != small_intr:
            self._depth, self._weight, self._intr = new, (new > 0).astype(np.float32), small_intr
            return depth
        carried, weight = _carry(self._depth, self._weight, small_intr, motion)
        both = (carried > 0) & (new > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.log(np.where(both, carried, 1.0)) - np.log(np.where(both, new, 1.0))
        agree = both & (np.abs(diff) < np.log1p(self.tolerance))
        weight = np.where(agree, np.clip(weight, 0.0, self.max_weight), 0.0)
        log_fused = np.log(np.where(new > 0, new, 1.0)) + diff * weight / (weight + 1.0)
        fused = np.where(new > 0, np.exp(log_fused), 0.0).astype(np.float32)
        self._depth = fused
        self._weight = np.where(new > 0, np.minimum(weight + 1.0, self.max_weight), 0.0).astype(np.float32)
        correction = np.where(new > 0, fused / np.where(new > 0, new, 1.0), 1.0).astype(np.float32)
        correction = cv2.resize(correction, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.where(known, depth * correction, depth).astype(np.float32)


def _carry(depth: np.ndarray, weight: np.ndarray, intr: Intrinsics, motion: np.ndarray):
    """warp_depth for a depth map and a per-pixel weight riding with it (the nearest surface wins both)."""
    dst, src, z = warp_pixels(depth, intr, motion)
    out_d = np.zeros(intr.height * intr.width, np.float32)
    out_w = np.zeros(intr.height * intr.width, np.float32)
    out_d[dst] = z
    out_w[dst] = weight.reshape(-1)[src]
    return out_d.reshape(intr.height, intr.width), out_w.reshape(intr.height, intr.width)
