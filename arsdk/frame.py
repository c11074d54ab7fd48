"""The data every stage shares: a camera `Frame` in, a `FrameState` out. Bottom of the import graph: it imports
only geometry (pure functions), so sources, the pipeline, the renderer and the effects can all import it."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .geometry import FloorPlane, Intrinsics, normals_from_points, transform_points, unproject

if TYPE_CHECKING:  # annotations only: the modules that fill these in import this one
    from .gravity import Gravity
    from .tracking import AnchorSet, TrackingState


@dataclass
class Frame:
    """One camera frame. Ground truth (depth m, person mask, intrinsics, camera-to-world) only from the demo.
    timestamp: the capture time in seconds; gravity, the floor height and the scale follow new readings per second
    (`temporal.share_over`), so frames from a video need their real times (index / fps)."""

    image: np.ndarray
    timestamp: float
    index: int
    depth: np.ndarray | None = None
    mask: np.ndarray | None = None
    intrinsics: Intrinsics | None = None
    camera_to_world: np.ndarray | None = None


@dataclass
class FrameState:
    """Everything the effects need for one frame. Depth is HxW float32 metres (0 = unknown), levelled and scaled
    to agree with the floor and gravity; depth_raw the model's own. mask HxW float32 in [0, 1] or None;
    camera_to_world 4x4 (world y up, floor y = 0); floor the floor plane in the camera frame, whose `visible` is
    False when no floor is in view (then it lies at the remembered or default camera height below the camera);
    gravity the up direction in the camera frame and its confidence; tracking the camera tracker's state
    (initialising / tracking / lost) and the pose's confidence in [0, 1]."""

    image: np.ndarray
    depth: np.ndarray
    depth_raw: np.ndarray
    mask: np.ndarray | None
    intrinsics: Intrinsics
    camera_to_world: np.ndarray | None
    floor: FloorPlane | None
    timestamp: float
    index: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    # index of the frame the depth was computed on (differs in asynchronous mode; with tracking the depth is then
    # carried to this frame's camera, without it it is that frame's as it was)
    depth_index: int = 0
    gravity: Gravity | None = None
    tracking: TrackingState | None = None  # None when the pipeline does not track (tracking=False, source poses)
    tracking_confidence: float = 0.0
    anchors: AnchorSet | None = None       # points fixed in the room: `state.anchors.add(world_point, (x, y))`

    @cached_property
    def points(self) -> np.ndarray:
        """HxWx3 camera-frame points (m), NaN where depth is unknown."""
        return unproject(self.depth, self.intrinsics)

    @cached_property
    def normals(self) -> np.ndarray:
        """HxWx3 camera-frame unit normals facing the camera."""
        return normals_from_points(self.points)

    @cached_property
    def world_points(self) -> np.ndarray | None:
        """HxWx3 world points (m), or None without a world frame."""
        return None if self.camera_to_world is None else transform_points(self.camera_to_world, self.points)
