"""The floor remembered where it lies: the colour of each patch of the tracked floor plane, learned from the views
that laid it on the floor, so the next views know it wherever their depth draws it.

FastDepth draws the same carpet runner on the floor in one view and 0.6-1.3 m above it two steps on (the HoloLens
walk, BENCHMARKS.md "Where the flood IoU goes"); the floor's colours alone cannot tell it there from a sofa of the
same colour, nor the depth alone from a table. The tracked camera can: a picture cell whose ray meets the floor plane
on a patch seen as floor moments ago, in the colour seen there, shows that floor. Something standing on the patch
hides it with its own colour, and is not taken. The memory is short (`FloorMapSettings.forget`): the tracked world
drifts over a walk, and patches learned a minute before lay up to tens of centimetres from where a view now puts them.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InputError, check_fields
from .geometry import Intrinsics, pixel_rays
from .temporal import REFERENCE_S, share_over


@dataclass(frozen=True)
class FloorMapSettings:
    """cell: the side of a patch (world metres); size: patches per side of the map, centred where the first floor
    was learned; reach: how far along the floor (camera heights) a ray may meet it and count (a far patch is a
    sliver of a picture cell); min_seen: how much a patch must have been seen to be recognised: one for each picture
    cell that laid it on the floor, per temporal.REFERENCE_S of frames, as it fades (a near patch fills several cells
    of a view, a far one a part of one); tolerance: how far (CIELAB, lightness counted
    at `lightness_weight`: shading moves along a floor) a cell's colour may lie from its patch's; forget: the share
    of what is learned let go per temporal.REFERENCE_S of the frames that teach it (`learn`; a stretch of frames
    with no floor in view lets nothing go). Kept for longer (0.02), patches learned on the walk's way out
    no longer matched the views coming back past them (with the recognised cells teaching the map too, flood IoU at
    0.15 m 0.658 -> 0.670, against 0.678 at 0.3)."""

    cell: float = 0.1
    size: int = 400
    reach: float = 4.0
    min_seen: float = 1.5
    tolerance: float = 12.0
    lightness_weight: float = 0.5
    forget: float = 0.3

    def __post_init__(self):
        checks = [
            ("cell", self.cell > 0.0, "metres > 0"),
            ("size", self.size >= 2, "patches >= 2"),
            ("reach", self.reach > 0.0, "camera heights > 0"),
            ("min_seen", self.min_seen > 0.0, "> 0"),
            ("tolerance", self.tolerance > 0.0, "a CIELAB distance > 0"),
            ("lightness_weight", self.lightness_weight >= 0.0, "a weight >= 0"),
            ("forget", 0.0 <= self.forget < 1.0, "a share in [0, 1)"),
        ]
        check_fields(self, checks)


def floor_hits(intr: Intrinsics, camera_to_world: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's ray meets the world's floor (y = 0; camera_to_world: y up, the camera
    `camera_to_world[1, 3]` above it): world (x, z) of each pixel (HxWx2 float64), and whether its ray meets the floor
    in front of the camera within `reach` camera heights of the point below it (HxW bool)."""
    rx, ry = pixel_rays(intr)
    R, t = camera_to_world[:3, :3], camera_to_world[:3, 3]
    # each ray's direction in the world, per metre along the camera's z
    world = (R[:, 0][None, None, :] * rx[None, :, None] + R[:, 1][None, None, :] * ry[:, None, None]
             + R[:, 2][None, None, :])
    height = float(t[1])
    descent = -world[..., 1]
    ahead = descent > 1e-6
    z = height / np.where(ahead, descent, 1.0)
    along = z[..., None] * world[..., [0, 2]]
    met = ahead & (np.hypot(along[..., 0], along[..., 1]) < reach * height) & (height > 0)
    return t[[0, 2]] + along, met


class FloorMap:
    """The tracked floor's colours, patch by patch. `learn` the cells of a view that lie on the floor; `recognised`
    gives the cells of a view that show a patch learned before, in its colour. One per stream, in its tracked world:
    reset() on a new scene, and where the world moves (a map lost or begun anew)."""

    def __init__(self, settings: FloorMapSettings | None = None):
        self.settings = settings or FloorMapSettings()
        self.reset()

    def reset(self):
        n = self.settings.size
        # weights and weighted CIELAB sums of each patch, stored over `_fade` (what is let go is let go of all
        # patches at once, without touching each every frame)
        self._weight = np.zeros(n * n, np.float64)
        self._colour = np.zeros((n * n, 3), np.float64)
        self._fade = 1.0
        self._origin: np.ndarray | None = None  # world x, z of the map's centre

    def _patches(self, xz: np.ndarray, met: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The flat index of each floor point's patch (HxW int64, 0 off the map) and whether it is on the map."""
        s = self.settings
        ij = np.floor((xz - self._origin) / s.cell).astype(np.int64) + s.size // 2
        inside = met & (ij >= 0).all(axis=-1) & (ij < s.size).all(axis=-1)
        return np.where(inside, ij[..., 0] * s.size + ij[..., 1], 0), inside

    def _lab(self, colours: np.ndarray, intr: Intrinsics) -> np.ndarray:
        if colours.dtype != np.uint8 or colours.shape != (intr.height, intr.width, 3):
            raise InputError(f"colours: expected {intr.height}x{intr.width}x3 uint8 RGB (the intrinsics' size), got "
                             f"{colours.dtype} {colours.shape}")
        lab = cv2.cvtColor(colours, cv2.COLOR_RGB2LAB).astype(np.float64)
        lab[..., 0] *= self.settings.lightness_weight
        return lab

    def learn(self, floor: np.ndarray, colours: np.ndarray, intr: Intrinsics, camera_to_world: np.ndarray,
              dt: float):
        """Learn the cells `floor` (HxW bool) of a view as floor of their colour: `colours`, the view's cells (HxWx3
        RGB uint8), seen by the camera of `intr` at `camera_to_world` (world metres, y up, the floor at y = 0).
        dt: seconds since the last frame (what is learned and let go is per second)."""
        s = self.settings
        lab = self._lab(colours, intr)
        if floor.shape != lab.shape[:2]:
            raise InputError(f"floor: shape {floor.shape} does not match colours {lab.shape[:2]}")
        if dt > 0:
            self._fade *= 1.0 - share_over(s.forget, dt)
            if self._fade < 1e-9:  # brought back to scale before the stored sums grow too large
                self._weight *= self._fade
                self._colour *= self._fade
                self._fade = 1.0
        xz, met = floor_hits(intr, camera_to_world, s.reach)
        met &= floor
        if not met.any():
            return
        if self._origin is None:
            self._origin = xz[met].mean(axis=0)
        patch, inside = self._patches(xz, met)
        weight = (min(dt, REFERENCE_S) / REFERENCE_S if dt > 0 else 1.0) / self._fade
        idx = patch[inside]
        np.add.at(self._weight, idx, weight)
        np.add.at(self._colour, idx, weight * lab[inside])

    def recognised(self, colours: np.ndarray, intr: Intrinsics, camera_to_world: np.ndarray) -> np.ndarray | None:
        """The cells of a view (`colours`, HxWx3 RGB uint8, seen by the camera of `intr` at `camera_to_world`) whose
        ray meets a patch learned as floor, in that patch's colour (HxW bool); None before anything is learned."""
        s = self.settings
        lab = self._lab(colours, intr)
        if self._origin is None:
            return None
        xz, met = floor_hits(intr, camera_to_world, s.reach)
        patch, inside = self._patches(xz, met)
        weight = np.where(inside, self._weight[patch], 0.0)
        known = weight * self._fade >= s.min_seen
        if not known.any():
            return None
        gap = lab - self._colour[patch] / np.maximum(weight, 1e-300)[..., None]
        return known & ((gap * gap).sum(axis=-1) < s.tolerance ** 2)
