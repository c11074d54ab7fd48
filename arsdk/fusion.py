"""Depth that agrees with itself over time: the previous fused depth, carried into the current frame with the
tracked camera motion, is averaged with the new prediction where the two agree.

A per-frame depth model re-guesses the room from scratch every frame, so surfaces breathe and the waterline
shimmers. Here the fused estimate is kept at `work_width` pixels wide (a reduced resolution, or the depth's own),
carried into the new frame by a splat (each history pixel pushed to where it lands, the nearest surface winning)
or a gather (each new pixel looks the history up where it was: no z-buffer, so cheap at full size), averaged in
log depth and
weighted by how many frames have seen each place (capped, so the room can still change); where the carried and
the new depth disagree by more than `tolerance` (something moved, an occlusion edge) the new one is taken as it
is. The result is applied to the full-resolution prediction as a smooth multiplicative correction, so edges stay
exactly where the current frame puts them.
"""
from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError, check_depth
from .geometry import Intrinsics, pixel_rays, warp_pixels


class DepthFusion:
    """`fuse(depth, intrinsics, motion)` -> fused HxW float32 metres. motion: the 4x4 transform from the previous
    frame's camera to this one's (metres), or None when unknown (tracking lost, a cut): the history is dropped.

    work_width 160 rather than 80: a depth model's flicker is not only smooth. On the HoloLens walk's views at 30
    frame/s the fused depth's TAE went 3.46 -> 3.10 (frames 250-349) and 1.84 -> 1.61 (frames 150-249); 320 wide
    gave 2.94 at several times the cost. A longer memory (max_weight 36) gave 3.70 at 80 wide, 3.25 at 160: the
    carried history brings the tracked pose's errors with it. The pipeline fuses the depth it looks for the floor
    in at 80 wide (its floor decisions were better so: `Pipeline.fusion`) and the depth it shows at 160
    (`Pipeline.shown_fusion`). Fusing the shown depth whole by gather took its TAE on frames 250-349 from 3.31 to
    2.54, but lowered the flood's IoU (`Pipeline.__init__` has the figures).

    work_width: None fuses at the depth's own size. carry: "splat" or "gather" (`CARRIES`)."""

    def __init__(self, work_width: int | None = 160, tolerance: float = 0.5, max_weight: float = 12.0,
                 carry: str = "splat"):
        if work_width is not None and work_width < 8:
            raise InputError(f"DepthFusion.work_width: expected at least 8 pixels or None (the depth's own), "
                             f"got {work_width}")
        if carry not in CARRIES:
            raise InputError(f"DepthFusion.carry: expected one of {sorted(CARRIES)}, got {carry!r}")
        if not 0.0 < tolerance < 1.0:
            raise InputError(f"DepthFusion.tolerance: expected a relative difference in (0, 1), got {tolerance}")
        if max_weight < 1.0:
            raise InputError(f"DepthFusion.max_weight: expected >= 1, got {max_weight}")
        self.work_width, self.tolerance, self.max_weight = work_width, tolerance, max_weight
        self.carry = carry
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
        f = 1.0 if self.work_width is None else min(1.0, self.work_width / w)
        small_size = (max(1, round(w * f)), max(1, round(h * f)))
        small_intr = intr.scaled(*small_size)
        known = np.isfinite(depth) & (depth > 0)
        new = cv2.resize(np.where(known, depth, 0).astype(np.float32), small_size, interpolation=cv2.INTER_NEAREST)
        self._before = (self._depth, self._weight, self._intr)
        if motion is None or self._depth is None or self._intr != small_intr:
            self._depth, self._weight, self._intr = new, (new > 0).astype(np.float32), small_intr
            return depth
        carried, weight = CARRIES[self.carry](self._depth, self._weight, small_intr, motion, new)
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


def _carry(depth: np.ndarray, weight: np.ndarray, intr: Intrinsics, motion: np.ndarray,
           new: np.ndarray | None = None):
    """warp_depth for a depth map and a per-pixel weight riding with it (the nearest surface wins both). new: the
    new depth, which a splat does not need (`CARRIES` share one signature)."""
    dst, src, z = warp_pixels(depth, intr, motion)
    out_d = np.zeros(intr.height * intr.width, np.float32)
    out_w = np.zeros(intr.height * intr.width, np.float32)
    out_d[dst] = z
    out_w[dst] = weight.reshape(-1)[src]
    return out_d.reshape(intr.height, intr.width), out_w.reshape(intr.height, intr.width)


def _gather(depth: np.ndarray, weight: np.ndarray, intr: Intrinsics, motion: np.ndarray, new: np.ndarray):
    """The history each pixel of the new depth saw in the previous camera: the pixel's point (by the new depth)
    moved back by `motion` and looked up there (bilinear for the depth, nearest for the weight), its depth then
    moved to this camera as the new point's own depth moved. A gather needs no z-buffer: where the history there is
    another surface (an occlusion), the fusion's tolerance turns it away. 0 where unknown or out of view."""
    back = np.linalg.inv(np.asarray(motion, np.float64)).astype(np.float32)
    x, y = pixel_rays(intr)
    r, t = back[:3, :3], back[:3, 3]
    was = [(r[k, 0] * x[None, :] + (r[k, 1] * y[:, None] + r[k, 2])) * new + t[k] for k in range(3)]
    z_was = np.maximum(was[2], np.float32(1e-3))
    map_x = (np.float32(intr.fx) * was[0] / z_was + np.float32(intr.cx)).astype(np.float32)
    map_y = (np.float32(intr.fy) * was[1] / z_was + np.float32(intr.cy)).astype(np.float32)
    seen = cv2.remap(depth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    seen_weight = cv2.remap(weight, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # bilinear next to an unknown pixel mixes in its 0: only lookups whose four neighbours are all known count
    known = cv2.remap((depth > 0).astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0) > np.float32(0.999)
    ok = known & (was[2] > np.float32(1e-3)) & (new > 0)
    carried = np.where(ok, seen * (new / z_was), np.float32(0)).astype(np.float32)
    return carried, np.where(ok, seen_weight, np.float32(0)).astype(np.float32)


# how the history reaches the new frame: "splat" pushes each history pixel to where it lands (a z-buffer sort, 28 ms
# at 540x360), "gather" looks each new pixel up where it was (2 ms there): what makes a full-resolution fusion cheap
CARRIES = {"splat": _carry, "gather": _gather}
