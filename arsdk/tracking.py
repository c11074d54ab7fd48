"""Camera tracking from colour frames and predicted metric depth: a 6-DoF pose for every frame.

Corners are followed from frame to frame with pyramidal optical flow (checked forward and backward), lifted to
3D with the depth the first time they are seen (the map), and the pose is solved with PnP + RANSAC against
those 3D points, then refined on the inliers. New corners are added where the map thins out. When a corner has
been seen from two places far enough apart, its position is triangulated from the two rays, which replaces the
depth model's guess (often off by tens of centimetres) with geometry. A step too long for the flow (a fast turn,
frames far apart) is bridged by finding the map's corners again by appearance (ORB descriptors, PnP). A frame that
cannot be solved either way coasts on the motion model; after `max_coast` such frames the tracker says LOST and
starts a new map at the coasted pose, so content does not jump. The lost map is then looked for in the new map's
views (`relocalise_frames`); found, the new map moves into its frame and content placed before the loss returns to
its place (`TrackedPose.relocalised`). Past views, kept every few degrees of turn, are found again by keypoints
when the camera comes back to them, and the map is moved to agree with them where the frames since were tracked
weakly (`TrackerSettings.past_views`, `TrackedPose.corrected`): the drift a chain of long steps gathers is taken
out, and anchors placed before it grew return to their place. The map's frame is the first camera's;
`arsdk.pipeline` aligns it with gravity and the floor. Anchors (`AnchorSet`) are points picked in the room: each
one's own pixel is followed the same way and its distance triangulated once the camera has moved enough, so content
placed where the depth model was wrong settles where the room is.

Conventions as everywhere in arsdk: camera x right, y down, z forward; poses are 4x4 camera-to-world, metres.
"""
from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from .adjust import Window, adjust
from .errors import InputError, check_depth, check_image
from .geometry import Intrinsics, project, unproject_pixels, warp_depth
from .imaging import downscale


class TrackingState(str, enum.Enum):
    INITIALISING = "initialising"  # no map yet (first frame, or no texture to track)
    TRACKING = "tracking"
    LOST = "lost"                  # the map was lost on this frame; a new one starts at the coasted pose


@dataclass(frozen=True)
class TrackerSettings:
    """work_width: tracking runs on a grey image this wide (px; corners and flow cost scale with its area).
    view_width: past views' keypoints (below) are found on the grey picture brought down to at most this wide: their
    search costs as the picture's area (18 ms a view at 1620x1080 against 5 at 640x480), and it was measured and
    tuned at 540-640 px; a picture no wider is used as it is.
    max_corners: map points kept; new corners are added when fewer than refill_share of them remain, and, after a
    search that left the map still short (a scene with little texture), once refill_step more of them are lost.
    flow_window_px: the optical flow's window (work-image px); near_flow_window_px where the last frame's corners
    landed within a median near_flow_px of where the motion model put them. At a camera's rate (30 frame/s) they
    land within 0.3-1.7 px and the flow needs less reach: 17 px costs 0.8 of 21's tracker time (the tracker
    1.04 -> 0.88 of the bare loop's), its anchors at 1 / 3 / 8 s 2.9 / 7.6 / 23.8 -> 2.8 / 7.6 / 23.5 px on the
    HoloLens views. Frames far apart (0.4-0.67 s: a median 7.5 px off) keep 21, where 17 put 7-Scenes' anchors at
    1 s 10.6 px from 9.3.
    forward_backward_px, reprojection_px: in work-image pixels. min_inliers: fewer and the frame is not solved.
    max_coast: frames the motion model carries before the map is declared lost.
    relocalise_frames: after a loss, the frames on which the lost map is looked for (by appearance) in the view
    the new map tracks; found, the new map is moved into the old one's frame and content returns to its place.
    0: not looked for.
    min_parallax_deg: the angle between two rays of a corner at which it is triangulated.
    wide_reprojection: when PnP finds too few corners within reprojection_px, it tries again within this many
    times it; that answer needs half the corners and must stay within wide_max_turn_deg of the motion model.
    past_views: views kept for correcting drift (0: none). A solved frame that has turned view_deg from the last
    kept view, or moved view_move of its distance to the room, is kept; before that, the views_tried kept views
    nearest to it, of those before the last skip_views, are found in it by keypoints, and, on past_view_inliers
    agreeing matches spread over min_spread_deg (standard deviation, across or down the picture) and within
    max_fix_deg and max_fix_move of the tracked pose, the map is moved so the two agree (`TrackedPose.corrected`;
    the answer with the most such matches). Only where the frames since that view were tracked with a mean
    confidence of at most max_chain_confidence: a map the flow follows confidently drifts less than such a check
    measures. views_beside: the check (a keypoint search on the view picture, matching against two views, PnP: 6 ms
    of the tracker's 12 a frame on 7-Scenes' long steps, where nearly every frame is kept; about once a second at 30
    frame/s) runs on a thread beside the caller, who goes on with the frame (its depth fusion, the effects, the next
    frame's depth model), and its correction lands when the next frame is tracked (`TrackedPose.corrected` of that
    frame). The correction is the same either way: the next frame starts from the corrected map; the frame checked
    is handed out before it. False: checked and corrected on the frame itself.
    adjust_views: views in the window of bundle adjustment (0: none). A frame solved by the flow that has turned
    adjust_deg from the window's last view, or moved adjust_move of its distance to the room, joins the window,
    and the window's poses (all but its oldest) and the corners seen in two or more of its views are refined
    together (`arsdk.adjust`, adjust_iterations steps), each corner's distance from the camera that lifted it held
    to the depth's within adjust_prior of it (at one pixel's weight). Only at a camera's rate: a step of more than
    adjust_step_deg or adjust_step_move of the distance to the room, or one the flow did not follow, empties the
    window. adjust_beside: the adjustment (about 10 ms, once every 9 frames at 30 frame/s: the tracker's slowest
    frames) runs on a thread beside the caller, and lands when the next frame is tracked: the window's poses and
    corners as adjusted, the corners lifted on the frame since moved with its pose, so the next frame starts from
    the map an adjustment on the frame leaves; the frame adjusted is handed out before it. Not on a frame that keeps
    a past view (that check is made at the adjusted pose). False: adjusted on the frame itself."""

    work_width: int = 320
    view_width: int = 640
    max_corners: int = 250
    refill_share: float = 0.7
    refill_step: float = 0.1  # of max_corners
    corner_quality: float = 0.01
    corner_spacing_px: int = 8
    flow_window_px: int = 21
    near_flow_window_px: int = 17
    near_flow_px: float = 2.0
    flow_levels: int = 3
    forward_backward_px: float = 1.0
    reprojection_px: float = 2.0
    min_inliers: int = 20
    max_coast: int = 2
    relocalise_frames: int = 90
    max_depth_step: float = 1.15   # a corner whose 5x5 depth neighbourhood spans more than this ratio is an edge
    min_parallax_deg: float = 2.0
    wide_reprojection: float = 3.0
    wide_max_turn_deg: float = 10.0
    past_views: int = 40
    view_deg: float = 8.0
    view_move: float = 0.1
    skip_views: int = 2
    past_view_inliers: int = 40
    max_fix_deg: float = 10.0
    max_fix_move: float = 0.3
    min_spread_deg: float = 8.0
    views_tried: int = 2
    max_chain_confidence: float = 0.7
    views_beside: bool = True
    adjust_views: int = 6
    adjust_beside: bool = True
    adjust_deg: float = 2.0
    adjust_move: float = 0.03
    adjust_iterations: int = 5
    adjust_prior: float = 0.3
    adjust_step_deg: float = 1.5
    adjust_step_move: float = 0.03

    def __post_init__(self):
        if not 3 <= self.near_flow_window_px <= self.flow_window_px:  # so the full window is 3 px or more too
            raise InputError(f"TrackerSettings.flow_window_px, near_flow_window_px: expected 3 <= near <= flow px, "
                             f"got {self.flow_window_px}, {self.near_flow_window_px}")
        if self.near_flow_px < 0:
            raise InputError(f"TrackerSettings.near_flow_px: expected px >= 0, got {self.near_flow_px}")
        if self.work_width < 64 or self.view_width < self.work_width:
            raise InputError(f"TrackerSettings.work_width, view_width: expected 64 <= work_width <= view_width px, "
                             f"got {self.work_width}, {self.view_width}")
        if not 0.0 < self.refill_share <= 1.0:
            raise InputError(f"TrackerSettings.refill_share: expected (0, 1], got {self.refill_share}")
        if not 0.0 <= self.refill_step < 1.0:
            raise InputError(f"TrackerSettings.refill_step: expected [0, 1), got {self.refill_step}")
        if self.relocalise_frames < 0:
            raise InputError(f"TrackerSettings.relocalise_frames: expected 0 (off) or more, got "
                             f"{self.relocalise_frames}")
        if self.min_inliers < 6:
            raise InputError(f"TrackerSettings.min_inliers: PnP needs at least 6, got {self.min_inliers}")
        if self.past_views < 0 or self.skip_views < 0:
            raise InputError(f"TrackerSettings.past_views, skip_views: expected 0 or more, got {self.past_views}, "
                             f"{self.skip_views}")
        if self.view_deg <= 0 or self.view_move <= 0:
            raise InputError(f"TrackerSettings.view_deg, view_move: expected more than 0, got {self.view_deg}, "
                             f"{self.view_move}")
        if not 0.0 <= self.max_chain_confidence <= 1.0:
            raise InputError(f"TrackerSettings.max_chain_confidence: expected [0, 1], got {self.max_chain_confidence}")
        if self.views_tried < 1:
            raise InputError(f"TrackerSettings.views_tried: expected 1 or more, got {self.views_tried}")
        if self.past_view_inliers < 6:
            raise InputError(f"TrackerSettings.past_view_inliers: PnP needs at least 6, got {self.past_view_inliers}")
        if self.wide_reprojection < 1.0:
            raise InputError(f"TrackerSettings.wide_reprojection: expected a factor of at least 1, got "
                             f"{self.wide_reprojection}")
        if self.adjust_views and self.adjust_views < 3:
            raise InputError(f"TrackerSettings.adjust_views: expected 0 (off) or 3 or more (the oldest view holds the "
                             f"window, two more make a baseline), got {self.adjust_views}")
        if self.adjust_iterations < 1 or self.adjust_prior <= 0:
            raise InputError(f"TrackerSettings.adjust_iterations, adjust_prior: expected at least 1 and more than 0, "
                             f"got {self.adjust_iterations}, {self.adjust_prior}")
        if min(self.adjust_deg, self.adjust_move, self.adjust_step_deg, self.adjust_step_move) <= 0:
            raise InputError(f"TrackerSettings.adjust_deg, adjust_move, adjust_step_deg, adjust_step_move: expected "
                             f"more than 0, got {self.adjust_deg}, {self.adjust_move}, {self.adjust_step_deg}, "
                             f"{self.adjust_step_move}")


@dataclass(frozen=True)
class TrackedPose:
    """One frame's result. camera_to_world is in the tracker's map frame; depth_scale the factor that brings this
    frame's depth to the map's scale (1 = they agree); confidence in [0, 1]."""

    camera_to_world: np.ndarray
    state: TrackingState
    confidence: float
    inliers: int
    depth_scale: float = 1.0
    keyframe: bool = False
    relocalised: bool = False  # the lost map was found again: the pose jumped back into the old map's frame
    # the drift corrected on this frame (a past view found again): the 4x4 that moved the map, camera_to_world
    # included, into agreement with that view; None when nothing was corrected. Not a move of the camera
    corrected: np.ndarray | None = None


def pose_to_rt(camera_to_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """camera-to-world 4x4 -> (rvec, tvec) of world-to-camera, as OpenCV's PnP wants them."""
    w2c = np.linalg.inv(camera_to_world)
    return cv2.Rodrigues(w2c[:3, :3])[0], w2c[:3, 3].reshape(3, 1).copy()


def rt_to_pose(rvec, tvec) -> np.ndarray:
    """(rvec, tvec) of world-to-camera -> camera-to-world 4x4."""
    w2c = np.eye(4)
    w2c[:3, :3] = cv2.Rodrigues(np.asarray(rvec, np.float64))[0]
    w2c[:3, 3] = np.asarray(tvec, np.float64).ravel()
    return np.linalg.inv(w2c)


def rotation_deg(R: np.ndarray) -> float:
    """The angle of a 3x3 rotation in degrees."""
    return math.degrees(math.acos(min(1.0, max(-1.0, (float(np.trace(R)) - 1.0) / 2.0))))


def rotation_between(a, b, share: float = 1.0) -> np.ndarray:
    """The 3x3 rotation that turns direction a toward direction b by `share` of the angle between them."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a)
    b = np.asarray(b, np.float64) / np.linalg.norm(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return np.eye(3)
    angle = math.atan2(s, float(a @ b)) * share
    return cv2.Rodrigues(axis / s * angle)[0]


def _apart(a: np.ndarray, b: np.ndarray, deg: float, move: float) -> bool:
    """Whether camera pose `b` has turned at least `deg` degrees or moved at least `move` from pose `a`."""
    step = np.linalg.inv(a) @ b
    return rotation_deg(step[:3, :3]) >= deg or np.linalg.norm(step[:3, 3]) >= move


def partial_transform(T: np.ndarray, share: float) -> np.ndarray:
    """`share` (0-1) of a rigid 4x4 transform: its rotation's angle and its translation scaled by it."""
    out = np.eye(4)
    out[:3, :3] = cv2.Rodrigues(cv2.Rodrigues(np.asarray(T[:3, :3], np.float64))[0] * share)[0]
    out[:3, 3] = T[:3, 3] * share
    return out


def drift_share(fix: np.ndarray, tick: int, since: int, now: int) -> np.ndarray:
    """The part of a drift correction `fix` (measured at frame count `now` against a view seen at `since`) that
    something placed at frame count `tick` carries: none before the view, all of it from `now` on, in between by
    its share of the time (the drift grew along the way)."""
    return partial_transform(fix, min(1.0, max(0.0, (tick - since) / max(1, now - since))))


def _at(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The values of an HxW image at Nx2 pixel positions (nearest pixel, clamped to the image)."""
    iu = np.clip(np.round(uv[:, 0]).astype(int), 0, image.shape[1] - 1)
    iv = np.clip(np.round(uv[:, 1]).astype(int), 0, image.shape[0] - 1)
    return image[iv, iu]


def _world_rays(uv: np.ndarray, intr: Intrinsics, camera_to_world: np.ndarray) -> np.ndarray:
    """Unit world directions of the rays through Nx2 pixels of a camera at `camera_to_world`."""
    rays = unproject_pixels(uv, np.ones(len(uv)), intr) @ camera_to_world[:3, :3].T
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def triangulate_midpoints(c0: np.ndarray, r0: np.ndarray, c1: np.ndarray, r1: np.ndarray) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
    """Closest points of ray pairs (centres Nx3 or 3, unit directions Nx3) -> (Nx3 midpoints, N distances along
    r0; negative or NaN where the rays are parallel or meet behind the first camera)."""
    w = c0 - c1
    b = np.einsum("ij,ij->i", r0, r1)
    d, e = np.einsum("ij,ij->i", r0, w), np.einsum("ij,ij->i", r1, w)
    den = 1.0 - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (b * e - d) / den
        t1 = (e - b * d) / den
    mid = 0.5 * ((c0 + t0[:, None] * r0) + (c1 + t1[:, None] * r1))
    return mid, np.where(den > 1e-9, t0, np.nan)


def _meet(origin: np.ndarray, ray: np.ndarray, centre: np.ndarray, rays: np.ndarray, guess: np.ndarray,
          min_parallax_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Points seen first along (origin, ray) and now along `rays` from `centre` (Nx3 each, unit rays): where the
    two rays meet, for those at least min_parallax_deg apart -> (Nx3 midpoints, N distances along the first ray).
    The distance is NaN where the rays are narrower than that, meet behind the first camera, or meet outside a
    factor 2 of `guess` (the distance the depth gave): a flow slip far from the guess is more likely than a depth
    model that wrong."""
    mid = np.full((len(ray), 3), np.nan)
    t = np.full(len(ray), np.nan)
    wide = np.einsum("ij,ij->i", rays, ray) < math.cos(math.radians(min_parallax_deg))
    if wide.any():
        mid[wide], t[wide] = triangulate_midpoints(origin[wide], ray[wide], centre, rays[wide])
    with np.errstate(invalid="ignore"):
        t[~((t > 0.5 * guess) & (t < 2.0 * guess))] = np.nan
    return mid, t


def brightness_gain(last: np.ndarray, gray: np.ndarray, p0: np.ndarray, p1: np.ndarray, radius: int = 3,
                    min_points: int = 20, min_change: float = 0.03) -> float | None:
    """The factor by which the grey image `gray` is brighter than `last` around points followed from p0 (Nx2, in
    `last`) to p1 (Nx2, in `gray`): the median brightness ratio of their patches' pixels (3x3 pixels `radius`
    apart), clipped in neither. None where fewer than min_points' patches tell, or the change is under
    min_change: a camera's auto-exposure steps its gain by tens of per cent, a steady exposure moves it by a per
    cent or two."""
    if len(p0) < min_points:
        return None
    h, w = gray.shape[:2]
    offsets = np.array([-radius, 0, radius])

    def patches(img, uv):  # read at their pixels only (blurring the whole image cost more)
        x = np.clip(np.rint(uv[:, 0]).astype(int)[:, None, None] + offsets[None, None, :], 0, w - 1)
        y = np.clip(np.rint(uv[:, 1]).astype(int)[:, None, None] + offsets[None, :, None], 0, h - 1)
        return img[y, x].reshape(-1).astype(np.float32)

    a, b = patches(last, p0), patches(gray, p1)
    lit = (a > 16) & (b > 16) & (a < 240) & (b < 240)  # a clipped pixel says nothing of the gain
    if np.count_nonzero(lit) < 9 * min_points:
        return None
    gain = float(np.median(b[lit] / a[lit]))
    return gain if abs(gain - 1.0) >= min_change else None


def _follow_points(last: np.ndarray, gray: np.ndarray, p0: np.ndarray, settings: TrackerSettings,
                   guess: np.ndarray | None = None, window_px: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nx2 float32 pixels of the grey image `last` followed into `gray` by pyramidal optical flow (from `guess`,
    Nx2, when given; in a window of window_px, default settings.flow_window_px) -> (Nx2 positions, N bool: followed
    both ways within settings.forward_backward_px and still inside the picture).

    The flow assumes a point keeps its brightness. Where the points followed say the picture's brightness changed
    (`brightness_gain`: a camera's auto-exposure), `last` is brought to `gray`'s brightness and they are followed
    again."""
    uv, ok = _flow(last, gray, p0, settings, guess, window_px)
    gain = brightness_gain(last, gray, p0.reshape(-1, 2)[ok], uv[ok])
    if gain is None:
        return uv, ok
    return _flow(cv2.convertScaleAbs(last, alpha=gain), gray, p0, settings, guess, window_px)


def _flow(last: np.ndarray, gray: np.ndarray, p0: np.ndarray, settings: TrackerSettings,
          guess: np.ndarray | None, window_px: int | None) -> tuple[np.ndarray, np.ndarray]:
    """`_follow_points` at one brightness."""
    s = settings
    win = window_px or s.flow_window_px
    lk = dict(winSize=(win, win), maxLevel=s.flow_levels,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
    p0 = p0.reshape(-1, 1, 2)
    if guess is None:
        p1, st, _ = cv2.calcOpticalFlowPyrLK(last, gray, p0, None, **lk)
    else:
        p1, st, _ = cv2.calcOpticalFlowPyrLK(last, gray, p0, guess.reshape(-1, 1, 2).astype(np.float32),
                                             flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **lk)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, last, p1, None, **lk)
    uv = p1.reshape(-1, 2)
    h, w = gray.shape
    ok = ((st.ravel() == 1) & (st2.ravel() == 1)
          & (np.linalg.norm((p0 - back).reshape(-1, 2), axis=1) < s.forward_backward_px)
          & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h))
    return uv, ok


def _seen_from(xyz: np.ndarray, pose: np.ndarray, intr: Intrinsics,
               fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where world points xyz (Nx3) appear to a camera at `pose` (camera_to_world) -> (Nx2 pixels, `fallback`'s
    for the points not in front of it; which are in front, 5 cm or more)."""
    w2c = np.linalg.inv(pose)
    cam = xyz @ w2c[:3, :3].T + w2c[:3, 3]
    front = cam[:, 2] > 0.05
    uv = fallback.copy()
    uv[front] = project(cam[front], intr)
    return uv, front


def _ratio_matches(des0: np.ndarray, des1: np.ndarray, ratio: float) -> list:
    """Binary descriptors des0 matched to their nearest in des1, kept where the nearest is closer than `ratio`
    times the second nearest (Lowe's test)."""
    return [m[0] for m in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des0, des1, k=2)
            if len(m) == 2 and m[0].distance < ratio * m[1].distance]


_TRUSTED = 0.5  # a frame's tracking confidence from which its map counts as one that tracked


def _pose_from(xyz: np.ndarray, uv: np.ndarray, K: np.ndarray, threshold_px: float,
               enough: int) -> tuple[np.ndarray, np.ndarray] | None:
    """camera_to_world from Nx3 world points and their Nx2 pixels: EPnP + RANSAC within threshold_px, refined on
    the inliers -> (pose, inlier indices), or None when fewer than `enough` agree."""
    uv = uv.astype(np.float64)
    found, rvec, tvec, inl = cv2.solvePnPRansac(xyz, uv, K, None, iterationsCount=100, reprojectionError=threshold_px,
                                                confidence=0.99, flags=cv2.SOLVEPNP_EPNP)
    if not found or inl is None or len(inl) < enough:
        return None
    inl = inl.ravel()
    rvec, tvec = cv2.solvePnPRefineLM(xyz[inl], uv[inl], K, None, rvec, tvec)
    return rt_to_pose(rvec, tvec), inl


@dataclass
class _Map:
    """The tracked corners: world positions and where each was last seen; the first sighting for triangulation."""

    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    origin: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # camera centre at first sighting
    ray: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))      # unit world ray at first sighting
    lifted: np.ndarray = field(default_factory=lambda: np.zeros(0))       # distance the depth gave, first sighting
    triangulated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    adjusted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # placed by bundle adjustment
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    next_id: int = 0

    _FIELDS = ("xyz", "uv", "origin", "ray", "lifted", "triangulated", "adjusted", "ids")

    def __len__(self):
        return len(self.xyz)

    def copy(self) -> "_Map":
        out = _Map(next_id=self.next_id)
        for name in self._FIELDS:
            setattr(out, name, getattr(self, name).copy())
        return out

    def move(self, fix: np.ndarray, which: np.ndarray | None = None):
        """The corners (those of the bool mask `which`, or all) moved by the rigid 4x4 `fix` (the map found again in
        another map's frame, or corrected)."""
        R, t = fix[:3, :3], fix[:3, 3]
        if which is None:
            self.xyz, self.origin, self.ray = self.xyz @ R.T + t, self.origin @ R.T + t, self.ray @ R.T
        elif which.any():
            self.xyz[which], self.origin[which], self.ray[which] = (self.xyz[which] @ R.T + t,
                                                                    self.origin[which] @ R.T + t, self.ray[which] @ R.T)

    def keep(self, sel):
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name)[sel])

    def add(self, xyz, uv, origin, ray):
        n = len(xyz)
        new = dict(xyz=xyz, uv=uv.astype(np.float32), origin=np.broadcast_to(origin, xyz.shape), ray=ray,
                   lifted=np.linalg.norm(xyz - origin, axis=1), triangulated=np.zeros(n, bool),
                   adjusted=np.zeros(n, bool),
                   ids=np.arange(self.next_id, self.next_id + n))
        for name in self._FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), new[name]]))
        self.next_id += n


@dataclass
class _View:
    """A past view kept for correcting drift: its own ORB keypoints, lifted into the map with its depth."""

    tick: int                # the tracker's frame count when it was seen
    pose: np.ndarray
    xyz: np.ndarray          # Nx3 map points of its keypoints that have a depth
    descriptors: np.ndarray  # theirs
    reach: float             # median distance from its camera to them (map units)
    confidence_sum: float = 0.0  # the tracker's when it was seen

    def move(self, fix: np.ndarray):
        self.pose = fix @ self.pose
        self.xyz = self.xyz @ fix[:3, :3].T + fix[:3, 3]


@dataclass
class _Begun:
    """A frame's tracking as far as its picture takes it (`CameraTracker.turn_into`), waiting for its depth."""

    index: int | None
    gray: np.ndarray
    wintr: Intrinsics
    view: np.ndarray
    corrected: np.ndarray | None
    predicted: np.ndarray | None = None  # None: the map starts on this frame
    solved: tuple | None = None          # (pose, inliers, confidence), or None: not solved
    relocalised: bool = False
    before: np.ndarray | None = None     # the last frame's pose, where it was solved


class _Beside:
    """Work started on a thread beside the caller (or done at once), its answer picked up later: `result()` waits
    for it and raises what went wrong on the thread (handed to the caller, not lost there); `wait()` waits only."""

    def __init__(self, fn, args: tuple, beside: bool, name: str):
        self._out: dict = {}

        def run():
            try:
                self._out["found"] = fn(*args)
            except BaseException as exc:
                self._out["error"] = exc

        self.thread: threading.Thread | None = None
        if not beside:
            run()
            return
        # not a daemon: the interpreter waits for it at exit (a few ms) instead of aborting in OpenCV mid-work
        self.thread = threading.Thread(target=run, name=name)
        self.thread.start()

    def wait(self):
        if self.thread is not None:
            self.thread.join()

    def result(self):
        self.wait()
        if "error" in self._out:
            raise self._out["error"]
        return self._out["found"]


class CameraTracker:
    """Frames (RGB + metric depth) in, camera poses out: `track(image, depth, intrinsics) -> TrackedPose`.

    Not thread-safe: one tracker follows one camera. `reset()` forgets the map (a new scene)."""

    def __init__(self, settings: TrackerSettings | None = None):
        self.settings = settings or TrackerSettings()
        # upright (no orientation: a hand-held camera barely rolls between frames) and a small patch: the work
        # image is 320 px wide, and a 31 px patch would leave out the corners near its edges
        self._orb = cv2.ORB_create(patchSize=19, edgeThreshold=19)
        self._orb_free = cv2.ORB_create(1000)  # its own keypoints, oriented and in 8 scales (`_by_features`)
        # past views are described on a larger picture (`view_width`): on the 320 px work image, views of the same
        # part of the room 8 s apart shared too few keypoints to correct the drift between them more often than by
        # chance
        self._orb_views = cv2.ORB_create(1000)
        # the last relocalisation: (how many so far, the lost map's epoch, the 4x4 that moved the maps since into
        # its frame); kept across reset() so an AnchorSet never mistakes a new one for one it has applied
        self.moved: tuple[int, int, np.ndarray] | None = None
        # the last drift correction: (how many so far, the frame count of the past view, that of the frame it was
        # made on, the 4x4 that moved the map); anchors placed between the two move by their share of it
        self.corrected: tuple[int, int, int, np.ndarray] | None = None
        self.tick = 0  # frames given to track(), across reset()
        self._view_check: _Beside | None = None  # a past-view check under way
        self._adjustment: tuple | None = None  # a bundle adjustment under way, and what it started from
        self.confidence_sum = 0.0  # the confidences of all frames given to track() (coasted ones count 0)
        self.reset()

    def reset(self):
        self._begun: _Begun | None = None  # a frame begun by `turn_into`
        self._drop_view_check()
        self._drop_adjustment()
        self._map = _Map()
        self._gray: np.ndarray | None = None
        self._solved: tuple[np.ndarray, _Map] | None = None  # the last solved frame's work image and map, as it saw it
        self._solved_view: tuple[np.ndarray, np.ndarray] | None = None  # its depth (map units) and pose
        self._solved_keypoints: tuple | None = None  # its own ORB keypoints and descriptors, once looked for
        self._lost: tuple[np.ndarray, _Map] | None = None    # the same of a lost map, while it is looked for
        self._lost_frames_left = 0
        self._lost_index: int | None = None  # the frame the map was lost on: poses from it on are on the new map
        self._trusted = 0  # frames solved on the current map with confidence of at least _TRUSTED
        self._epoch = 0  # which map: each new one counts up; a relocalised one takes the lost one's number back
        self._lost_epoch = 0
        self._pose = np.eye(4)
        self._velocity = np.eye(4)   # last frame-to-frame motion (camera_to_world delta), for prediction
        self._coast = 0
        self._scale = 1.0
        self._size: tuple[int, int] | None = None
        self._work_scale = 1.0
        self._work_intr: Intrinsics | None = None
        self._history: dict[int, np.ndarray] = {}
        self._size_after_lift = 0  # map size after the last corner search
        self._views: list[_View] = []  # past views of the current map, oldest first
        self._flowed = False  # whether the last frame was solved on corners the flow followed
        self._flow_off_px: float | None = None  # how far from the motion model the flow put them (median, px)
        self._window: list[list] = []  # [pose, corner ids, their pixels] of bundle adjustment's views, oldest first

    @property
    def pose(self) -> np.ndarray:
        return self._pose.copy()

    # --- image preparation

    def _work(self, image, intr) -> tuple[np.ndarray, Intrinsics, np.ndarray]:
        """(work grey image, its intrinsics, the grey image past views are found on: at most view_width wide)."""
        h, w = image.shape[:2]
        wh, ww = self._work_shape(image)
        self._work_scale = ww / w
        self._work_intr = intr.scaled(ww, wh)
        view = gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if w > self.settings.view_width:
            # a large picture is brought down once, by halvings first (`imaging.downscale`: INTER_AREA at a
            # non-integer factor took 4 ms at 1620x1080), for the views and the work image alike
            vw = self.settings.view_width
            view = gray = downscale(gray, (vw, max(1, round(h * vw / w))))
        if gray.shape != (wh, ww):
            gray = cv2.resize(gray, (ww, wh), interpolation=cv2.INTER_AREA)
        return gray, intr.scaled(ww, wh), view

    @staticmethod
    def _work_depth(depth, shape: tuple[int, int]) -> np.ndarray:
        """The depth at the work image's size."""
        if depth.shape != shape:
            depth = cv2.resize(depth, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        return depth

    # --- the map

    def _lift(self, gray, depth, intr, pose, scale):
        """New corners away from the tracked ones, lifted into the world with this frame's depth."""
        s = self.settings
        want = s.max_corners - len(self._map)
        if want < s.max_corners * (1.0 - s.refill_share) and len(self._map):
            return False
        # a search that found too few corners is not repeated on every frame: at 30 frame/s few corners are lost
        # between frames, and the corner search cost a quarter of the tracker's time for a handful of corners
        if len(self._map) and len(self._map) > self._size_after_lift - s.refill_step * s.max_corners:
            return False
        self._size_after_lift = len(self._map)
        mask = np.full(gray.shape, 255, np.uint8)
        for u, v in self._map.uv:
            cv2.circle(mask, (int(u), int(v)), s.corner_spacing_px, 0, -1)
        corners = cv2.goodFeaturesToTrack(gray, want, s.corner_quality, s.corner_spacing_px, mask=mask, blockSize=5)
        if corners is None:
            return False
        uv = corners.reshape(-1, 2)
        kernel = np.ones((5, 5), np.uint8)
        d = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
        near, far = cv2.erode(d, kernel), cv2.dilate(d, kernel)
        z, lo, hi = _at(d, uv), _at(near, uv), _at(far, uv)
        ok = (lo > 0) & (hi <= lo * s.max_depth_step)  # not on a depth edge
        if not ok.any():
            return False
        uv, z = uv[ok], z[ok] * scale
        xyz = unproject_pixels(uv, z, intr) @ pose[:3, :3].T + pose[:3, 3]
        self._map.add(xyz, uv, pose[:3, 3], _world_rays(uv, intr, pose))
        self._size_after_lift = len(self._map)
        return True

    def _triangulate(self, pose, intr):
        """Corners seen from far enough apart get their triangulated position (geometry beats the depth model)."""
        m = self._map
        if not len(m):
            return
        rays = _world_rays(m.uv, intr, pose)
        old = np.linalg.norm(m.xyz - m.origin, axis=1)
        mid, t = _meet(m.origin, m.ray, pose[:3, 3], rays, old, self.settings.min_parallax_deg)
        idx = np.flatnonzero(np.isfinite(t) & ~m.adjusted)
        m.xyz[idx] = mid[idx]
        m.triangulated[idx] = True

    # --- one frame

    def track(self, image: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics, index: int | None = None,
              depth_index: int | None = None) -> TrackedPose:
        """Follow the camera into this frame. image HxWx3 uint8 RGB; depth float32 metres (0 = unknown), HxW or the
        picture brought down to a smaller size of the same shape (a pipeline's depth chain works at most 640 px wide:
        the tracker reads the depth at its 320 px work size only); intrinsics of the image. index numbers the frame;
        depth_index, when the depth was computed on an earlier frame (a depth model on a worker thread), says which:
        that depth is carried into this frame with the tracked motion before new corners are lifted with it.
        After `turn_into(image, intrinsics, index)` on the same frame, it goes on from the pose solved there."""
        check_image(image, "image")
        check_depth(depth, "depth")
        (h, w), (dh, dw) = image.shape[:2], depth.shape
        if dh > h or dw > w or (round(w * dh / h) != dw and round(h * dw / w) != dh):
            raise InputError(f"depth: shape {depth.shape} is neither the image's {image.shape[:2]} nor that brought "
                             f"down to a smaller size")
        begun, self._begun = self._begun, None
        if begun is None or index is None or begun.index != index or begun.gray.shape != self._work_shape(image):
            begun = self._begin(image, intrinsics, index)
        return self._finish(begun, depth, index, depth_index)

    def turn_into(self, image: np.ndarray, intrinsics: Intrinsics, index: int) -> np.ndarray | None:
        """The camera's turn from the last frame into this one (3x3, the last frame's camera axes to this one's),
        solved from this frame's picture alone, before its depth is known: `track` on the same frame index goes on
        from it. None where the pose was not solved from the picture or the last frame's was not (a first frame,
        the motion model's guess, a jump back onto a lost map)."""
        check_image(image, "image")
        begun = self._begun = self._begin(image, intrinsics, index)
        if begun.solved is None or begun.relocalised or begun.before is None:
            return None
        return begun.solved[0][:3, :3].T @ begun.before[:3, :3]

    def _work_shape(self, image: np.ndarray) -> tuple[int, int]:
        h, w = image.shape[:2]
        s = min(1.0, self.settings.work_width / w)
        return max(1, round(h * s)), max(1, round(w * s))

    def _begin(self, image, intrinsics, index) -> "_Begun":
        """The part of `track` that needs no depth: the corners followed into this frame and the pose solved."""
        intr = intrinsics.matching(image.shape[1], image.shape[0])
        # the last frame's past-view check, run beside the caller since: its correction lands before this frame
        corrected = self._finish_view_check()
        self._finish_adjustment()  # the last frame's, run beside the caller since
        self.tick += 1
        gray, wintr, view = self._work(image, intr)
        begun = _Begun(index, gray, wintr, view, corrected)
        if self._size != gray.shape or self._gray is None:
            return begun
        before = None if self._coast else self._pose.copy()  # the last frame's pose, if solved
        predicted = self._pose @ self._velocity
        begun.predicted = predicted
        begun.solved = solved = self._solve(gray, wintr, predicted)
        self._gray = gray
        if solved is None:
            return begun
        pose, inliers, confidence = solved
        self.confidence_sum += confidence
        self._velocity = np.linalg.inv(self._pose) @ pose
        self._pose, self._coast = pose, 0
        self._trusted += confidence >= _TRUSTED
        begun.relocalised = self._lost is not None and self._relocalise(gray, wintr)
        begun.before = before
        return begun

    def _finish(self, begun: "_Begun", depth, index, depth_index) -> TrackedPose:
        """The rest of `track`, with this frame's depth: new corners lifted, the map kept up."""
        gray, wintr, view, corrected = begun.gray, begun.wintr, begun.view, begun.corrected
        d = self._work_depth(depth, gray.shape)
        if begun.solved is None and begun.predicted is None:
            self._size = gray.shape
            return self._remember(index, self._start(gray, d, wintr, self._pose, TrackingState.INITIALISING,
                                                           corrected))
        s = self.settings
        if begun.solved is None:
            predicted = begun.predicted
            self._coast += 1
            self._pose = predicted
            if self._coast > s.max_coast:
                # a map lost before it tracked a frame with confidence is not looked for: the one lost before it
                # still is (a map started on a cut's noise can be "solved" once by chance agreement, at 0.07)
                if s.relocalise_frames and (self._trusted or self._lost is None):
                    self._lost, self._lost_index, self._lost_epoch = self._solved, index, self._epoch
                self._lost_frames_left = s.relocalise_frames
                return self._remember(index, self._start(gray, d, wintr, predicted, TrackingState.LOST, corrected))
            return self._remember(index, TrackedPose(predicted.copy(), TrackingState.TRACKING, 0.0, 0, self._scale,
                                                     corrected=corrected))
        _, inliers, confidence = begun.solved
        relocalised = begun.relocalised
        pose = self._pose
        self._triangulate(pose, wintr)
        reach = self._reach(pose) if s.adjust_views else 1.0
        if s.adjust_views and (not self._flowed or self._long_step(reach)):
            # pixels placed by appearance or by the pose are no measurements to adjust on, and over steps this long
            # (7-Scenes frames 0.67 s apart) the window's adjustment moved anchors further, not less (at 1 s 13-16
            # px from 10-11, measured)
            self._window = []
        elif s.adjust_views and self._adjust_due(pose, reach):
            self._adjust(wintr, index, beside=s.adjust_beside and not self._keeps_view(d, confidence, pose))
            pose = self._pose
        if depth_index is not None and index is not None and depth_index != index:
            d = self._carried(d, wintr, depth_index, pose)
        if d is not None:
            self._update_scale(d, pose)
        if self._keeps_view(d, confidence, pose):
            self._check_view(view, d, wintr)
            if not s.views_beside:
                corrected = self._finish_view_check()
                pose = self._pose
        keyframe = d is not None and self._lift(gray, d, wintr, pose, self._scale)
        self._keep_solved(gray, d, pose)
        return self._remember(index, TrackedPose(pose.copy(), TrackingState.TRACKING, confidence, inliers,
                                                 self._scale, keyframe, relocalised, corrected))

    def _remember(self, index, result: TrackedPose) -> TrackedPose:
        if index is not None:
            self._history[index] = result.camera_to_world
            while len(self._history) > 64:
                self._history.pop(next(iter(self._history)))
        return result

    def pose_of(self, index: int) -> np.ndarray | None:
        """The map pose of a recent frame (the last 64 numbered ones), or None."""
        pose = self._history.get(index)
        return None if pose is None else pose.copy()

    def _carried(self, depth, intr, depth_index, pose):
        """A late depth (of frame depth_index) carried into this frame. At half the working size: it runs on every
        frame while the depth model is behind, and lifting corners and checking the scale need no more."""
        then = self._history.get(depth_index)
        if then is None:
            return None
        h, w = depth.shape
        half = intr.scaled(w // 2, h // 2)
        moved = warp_depth(np.ascontiguousarray(depth[: h // 2 * 2: 2, : w // 2 * 2: 2]), half,
                           np.linalg.inv(pose) @ then)
        # the cracks a forward warp leaves between pixels pulled apart are closed: open, they kept corners from being
        # lifted, and a map that shrank to 40-70 corners was lost on the next long step (7-Scenes, asynchronous)
        moved = cv2.morphologyEx(moved, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        return cv2.resize(moved, (w, h), interpolation=cv2.INTER_NEAREST)

    # --- what anchors ask of the map

    def ids_near(self, x: float, y: float, radius_px: float) -> np.ndarray:
        """Ids of the map corners within radius_px (image pixels) of image pixel (x, y) in the last frame."""
        m = self._map
        if not len(m) or self._size is None:
            return np.zeros(0, np.int64)
        f = self._work_scale
        near = np.linalg.norm(m.uv - np.array([x * f, y * f], np.float32), axis=1) < radius_px * f
        return m.ids[near].copy()

    def distance_ratios(self, groups: list[np.ndarray]) -> np.ndarray:
        """For each group of corner ids, among its corners those triangulated: the median of triangulated over
        depth-given distance, i.e. how much the depth model was off around them; NaN where fewer than 3 are
        triangulated yet. One pass over all groups, so thousands of anchors cost a few milliseconds."""
        out = np.full(len(groups), np.nan)
        m = self._map
        tri = np.flatnonzero(m.triangulated)
        if not len(groups) or len(tri) < 3:
            return out
        order = np.argsort(m.ids[tri])
        tri_ids = m.ids[tri][order]
        ratio = (np.linalg.norm(m.xyz[tri] - m.origin[tri], axis=1) / m.lifted[tri])[order]
        ids = np.concatenate([np.asarray(g, np.int64) for g in groups])
        owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        pos = np.minimum(np.searchsorted(tri_ids, ids), len(tri_ids) - 1)
        hit = tri_ids[pos] == ids
        r, owner = ratio[pos[hit]], owner[hit]
        sort = np.lexsort((r, owner))  # by group, then by ratio: each group's median sits in its middle
        r, owner = r[sort], owner[sort]
        counts = np.bincount(owner, minlength=len(groups))
        starts = np.cumsum(counts) - counts
        ok = counts >= 3
        lo = starts[ok] + (counts[ok] - 1) // 2
        hi = starts[ok] + counts[ok] // 2
        out[ok] = (r[lo] + r[hi]) / 2
        return out

    def _start(self, gray, depth, intr, pose, state, corrected=None) -> TrackedPose:
        self._map = _Map()
        self._views = []
        self._window = []
        self._gray, self._pose, self._velocity, self._coast = gray, pose.copy(), np.eye(4), 0
        self._trusted = 0
        self._flow_off_px = None  # the motion model starts still: the first flow takes the full window
        self._epoch += 1
        self._lift(gray, depth, intr, pose, self._scale)
        self._keep_solved(gray, depth, pose)
        if len(self._map) < self.settings.min_inliers:  # nothing to track (a blank wall, a dark frame): try again
            self._gray = None
        return TrackedPose(pose.copy(), state, 0.0, 0, self._scale, True, corrected=corrected)

    def _solve(self, gray, intr, predicted):
        s, m = self.settings, self._map
        self._flowed = False
        if len(m) < s.min_inliers:  # the flow lost the map on the frame before
            self._flow_off_px = None
            return self._rematch(gray, intr, predicted)
        # the flow starts where the motion model puts each corner: a fast turn stays within the pyramid's reach
        guess = _seen_from(m.xyz, predicted, intr, m.uv)[0]
        near = self._flow_off_px is not None and self._flow_off_px <= s.near_flow_px
        uv, ok = _follow_points(self._gray, gray, m.uv, s, guess, s.near_flow_window_px if near else None)
        self._flow_off_px = float(np.median(np.linalg.norm(uv[ok] - guess[ok], axis=1))) if ok.any() else None
        m.keep(ok)
        m.uv = uv[ok].astype(np.float32)
        solved = self._pnp(m.xyz, m.uv, intr, predicted) if len(m) >= s.min_inliers else None
        if solved is None:
            return self._rematch(gray, intr, predicted)
        pose, inl = solved
        keep = np.zeros(len(m), bool)
        keep[inl] = True
        m.keep(keep)
        self._flowed = True
        return pose, len(inl), min(1.0, len(inl) / 60.0) * len(inl) / len(ok)

    def _pnp(self, xyz, uv, intr, predicted):
        """The camera pose from world points and their pixels -> (pose, inlier indices), or None."""
        s = self.settings
        K = intr.matrix
        # (threshold in px, corners needed, largest turn off the motion model, whether the turn is always checked).
        # A long step moves near and far corners apart by more than the depth model's errors allow at the usual
        # threshold (15 cm at 1.5 m with depth 20 % off: 5 px here): then a wider one, whose answer needs half the
        # corners and must stay near the motion model (chance agreement on a picture the map is not in is wide too)
        attempts = ((s.reprojection_px, s.min_inliers, 20.0, False),
                    (s.wide_reprojection * s.reprojection_px, max(s.min_inliers, len(xyz) // 2), s.wide_max_turn_deg,
                     True))
        for threshold, enough, turn, always in attempts:
            solved = _pose_from(xyz, uv, K, threshold, enough)
            if solved is None:
                continue
            pose, inl = solved
            # a solution far from the motion model on few points is more likely a wrong minimum than a real jerk
            step = np.linalg.inv(predicted) @ pose
            if (always or len(inl) < 2 * s.min_inliers) and rotation_deg(step[:3, :3]) > turn:
                continue
            return pose, inl
        return None

    def _rematch(self, gray, intr, predicted):
        """When the flow loses the map (a step too long for it: a fast turn, frames far apart), the map's corners
        are found again by appearance in the last solved frame (`_by_appearance`). The map keeps its corners,
        their triangulations and ids (anchors lean on them) instead of starting over."""
        if self._solved is None:
            return None
        found = self._by_appearance(*self._solved, gray, intr)
        # not found, or a wrong minimum (`_plausible`): a longer step, and the last solved view may still be found
        # by keypoints of its own. The 7-Scenes kitchen's step to frame 23 (11 degrees) was matched by appearance 27
        # degrees off the motion model, and with no keypoint search after it the map was lost two frames later
        if found is None or not self._plausible(found, predicted):
            found = self._by_features(gray, intr)
            if found is None or not self._plausible(found, predicted):
                return None
        pose, kept, share = found
        self._map = kept
        return pose, len(kept), min(1.0, len(kept) / 60.0) * share

    def _plausible(self, found, predicted) -> bool:
        """A pose found again on few corners far from the motion model is more likely a wrong minimum."""
        pose, kept, _ = found
        step = np.linalg.inv(predicted) @ pose
        return len(kept) >= 2 * self.settings.min_inliers or rotation_deg(step[:3, :3]) <= 20.0

    def _keep_solved(self, gray, depth, pose):
        """This frame as the last solved view, for finding the map again: its work image, the map as it saw it,
        and its depth (None: none of this frame; else in map units) and pose."""
        self._solved = (gray, self._map.copy())
        self._solved_view = None if depth is None else (depth * np.float32(self._scale), pose.copy())
        self._solved_keypoints = None

    def _by_features(self, gray, intr):
        """The last solved frame found in `gray` by ORB's own oriented, multi-scale keypoints, lifted with that
        frame's depth: PnP gives the pose, and the map's corners are followed into this frame from where it puts
        them -> (pose, the map's corners with their pixels here, share of the keypoint matches PnP kept), or None.

        For steps too long for `_by_appearance` (HoloLens frames 1.2 s and 10-28 degrees apart): the map's corners,
        described upright at one scale, matched a median 29 essential-matrix inliers between such frames, ORB's own
        keypoints 192; the stream lost its map 9 times in 124 frames instead of 15."""
        s = self.settings
        if self._solved_view is None:
            return None
        last_gray, before = self._solved
        depth, then = self._solved_view
        if self._solved_keypoints is None:  # the same view serves every frame coasted after it
            self._solved_keypoints = self._orb_free.detectAndCompute(last_gray, None)
        kp0, d0 = self._solved_keypoints
        kp1, d1 = self._orb_free.detectAndCompute(gray, None)
        if d0 is None or d1 is None or len(kp0) < 2 or len(kp1) < 2:
            return None
        pairs = _ratio_matches(d0, d1, 0.8)
        if len(pairs) < s.min_inliers:
            return None
        uv0 = np.float32([kp0[m.queryIdx].pt for m in pairs])
        uv1 = np.float32([kp1[m.trainIdx].pt for m in pairs])
        z = _at(depth, uv0)
        ok = np.isfinite(z) & (z > 0)
        if ok.sum() < s.min_inliers:
            return None
        xyz = unproject_pixels(uv0[ok], z[ok], intr) @ then[:3, :3].T + then[:3, 3]
        solved = _pose_from(xyz, uv1[ok], intr.matrix, s.wide_reprojection * s.reprojection_px, s.min_inliers)
        if solved is None:
            return None
        guess, front = _seen_from(before.xyz, solved[0], intr, before.uv)
        uv, followed = _follow_points(last_gray, gray, before.uv, s, guess)
        h, w = gray.shape
        inside = front & (guess[:, 0] >= 0) & (guess[:, 0] < w) & (guess[:, 1] >= 0) & (guess[:, 1] < h)
        # the flow rarely survives a step this long (7 % of the corners on HoloLens steps 1.2 s apart): the
        # corners it did not follow sit where the pose puts them, and the next frames' PnP drops those not there
        uv = np.where(followed[:, None], uv, guess)
        followed = followed | inside
        kept = before.copy()
        kept.keep(followed)
        kept.uv = uv[followed].astype(np.float32)
        if len(kept) < s.min_inliers:
            return None
        again = _pose_from(kept.xyz, kept.uv, intr.matrix, s.wide_reprojection * s.reprojection_px, s.min_inliers)
        if again is None:
            return None
        pose, inl = again
        kept.keep(inl)
        return pose, kept, len(solved[1]) / len(pairs)

    # --- drift

    def _keeps_view(self, depth, confidence: float, pose) -> bool:
        """Whether a solved frame (its depth, None when it has none; its confidence; its pose) is kept as a past
        view, and checked against the earlier ones."""
        return bool(self.settings.past_views) and depth is not None and confidence > 0.0 and self._view_due(pose)

    def _view_due(self, pose) -> bool:
        """Whether the camera has turned or moved far enough from the last kept view to keep this one."""
        if not self._views:
            return True
        last = self._views[-1]
        return _apart(last.pose, pose, self.settings.view_deg, self.settings.view_move * last.reach)

    def _nearest_views(self, views: list[_View], pose, count: int) -> list[_View]:
        """Of `views` before the last skip_views, the `count` seeing most like `pose` (viewing direction within 30
        degrees, camera within its distance to the room), nearest first."""
        s = self.settings
        near = []
        for view in views[: max(0, len(views) - s.skip_views)]:
            turn = math.degrees(math.acos(float(np.clip(view.pose[:3, 2] @ pose[:3, 2], -1.0, 1.0))))
            move = float(np.linalg.norm(view.pose[:3, 3] - pose[:3, 3])) / view.reach
            if turn < 30.0 and move < 1.0:
                near.append((turn + 30.0 * move, view))  # a move of a tenth of the distance weighs as 3 degrees
        near.sort(key=lambda c: c[0])
        return [view for _, view in near[:count]]

    def _fix_from(self, old: _View, uv, des, intr, pose, tick: int,
                  confidence_sum: float) -> tuple[np.ndarray, int] | None:
        """The past view `old` found in this frame's keypoints (uv in the work image, descriptors; this frame's pose,
        frame count and the tracker's confidence sum at it): the fix that moves this pose onto the answer, and its
        inlier count; None where the answer fails a check."""
        s = self.settings
        # a map the flow followed confidently since that view drifted less than PnP on the depth model's points
        # measures (at 30 frame/s such corrections moved poses 2-5 degrees off the truth, from 2-4)
        if (confidence_sum - old.confidence_sum) / max(1, tick - old.tick) > s.max_chain_confidence:
            return None
        pairs = _ratio_matches(old.descriptors, des, 0.8)
        if len(pairs) < s.past_view_inliers:
            return None
        seen = uv[[p.trainIdx for p in pairs]]
        solved = _pose_from(old.xyz[[p.queryIdx for p in pairs]], seen, intr.matrix,
                            s.wide_reprojection * s.reprojection_px, s.past_view_inliers)
        if solved is None:
            return None
        fix = solved[0] @ np.linalg.inv(pose)
        moved = np.linalg.norm(solved[0][:3, 3] - pose[:3, 3])
        # matches bunched in a small part of the picture let a turn pass for a slide: on 7-Scenes such answers
        # were 8-14 degrees off
        spread = math.degrees(float(np.max(seen[solved[1]].std(axis=0) / np.array([intr.fx, intr.fy]))))
        if (rotation_deg(fix[:3, :3]) > s.max_fix_deg or moved > s.max_fix_move * old.reach
                or spread < s.min_spread_deg):
            return None
        return fix, len(solved[1])

    def _check_view(self, view_gray, depth, intr):
        """This frame kept as a view, after the nearest past views have been looked for in it (`_checked_view`):
        on a thread beside the caller (`TrackerSettings.views_beside`), or here; `_finish_view_check` applies
        what it found."""
        # its own copies: the caller may reuse the depth's array once the frame is handed out
        args = (view_gray, depth.copy(), intr, self._pose.copy(), self.tick, self.confidence_sum, self._scale,
                list(self._views))
        self._view_check = _Beside(self._checked_view, args, self.settings.views_beside, "arsdk-past-views")

    def _checked_view(self, view_gray, depth, intr, pose, tick, confidence_sum, scale,
                      views) -> tuple[_View | None, np.ndarray | None, int]:
        """The work of a past-view check, on the state of the frame checked (its pose, frame count, confidence sum,
        depth scale and the views kept before it), touching none of the tracker's: (this frame as a view, its
        points in the camera's axes, None when too few of its keypoints have a depth; the fix found, or None; the
        frame count of the view it was found against).

        A map tracked frame to frame gathers each frame's small error (on 7-Scenes, frames 0.67 s apart, 1.2
        degrees a step): content placed 8 s earlier was 33 px off. A view of the same part of the room seen
        earlier measures that drift directly: solved against it, a frame 8 s on was 1-3 degrees off instead of 5-13."""
        s = self.settings
        kp, des = self._orb_views.detectAndCompute(view_gray, None)
        if des is None or len(kp) < s.min_inliers:
            return None, None, 0
        uv = np.float32([k.pt for k in kp]) * np.float32(intr.width / view_gray.shape[1])  # in the work image
        z = _at(depth, uv) * np.float32(scale)
        ok = np.isfinite(z) & (z > 0)
        now = None
        if ok.sum() >= s.min_inliers:
            # in the camera's axes: placed in the map once the fix is known, at the pose it leaves
            now = _View(tick, pose, unproject_pixels(uv[ok], z[ok], intr), des[ok], float(np.median(z[ok])),
                        confidence_sum)
        fix, since, most = None, 0, 0
        # the nearest two: one view's answer is sometimes off by the depth model's error at its points (7-Scenes
        # anchors at 8 s over eight line draws: 26 px mean, 13-52, with one; 19, 13-25, with two)
        for view in self._nearest_views(views, pose, s.views_tried):
            found = self._fix_from(view, uv, des, intr, pose, tick, confidence_sum)
            if found is not None and found[1] > most:
                (fix, most), since = found, view.tick
        return now, fix, since

    def _finish_view_check(self) -> np.ndarray | None:
        """The past-view check under way, waited for and applied: its view kept, and the map corrected by the fix
        it found (if any) -> that fix, or None."""
        if self._view_check is None:
            return None
        check, self._view_check = self._view_check, None
        view, fix, since = check.result()
        if fix is not None:
            self._correct(fix, since, view.tick if view is not None else self.tick)
        if view is not None:
            view.pose = view.pose if fix is None else fix @ view.pose
            view.xyz = view.xyz @ view.pose[:3, :3].T + view.pose[:3, 3]
            self._views.append(view)
            del self._views[: max(0, len(self._views) - self.settings.past_views)]
        return fix

    def _drop_view_check(self):
        """A check under way waited for and forgotten (a new map: its views are gone)."""
        if self._view_check is not None:
            self._view_check.wait()
        self._view_check = None

    def _correct(self, fix: np.ndarray, since: int, now: int):
        """The map moved by `fix` (its corners, the poses on it, the last solved view), measured at frame count
        `now` against a view of frame count `since`; the views kept after `since` by their share of the time."""
        self._move_map(fix)
        self._pose = fix @ self._pose
        if self._solved is not None:  # the frame a check beside the caller ran on was kept before the fix came
            self._solved[1].move(fix)
        if self._solved_view is not None:
            self._solved_view = (self._solved_view[0], fix @ self._solved_view[1])
        for view in self._views:
            if view.tick > since:
                view.move(drift_share(fix, view.tick, since, now))
        self.corrected = ((self.corrected[0] + 1) if self.corrected else 1, since, now, fix)

    def _move_map(self, fix: np.ndarray, poses_from: float = -math.inf):
        """The map moved by `fix`: its corners, the adjusted window's views, and the poses recorded on it from frame
        index `poses_from` on (all by default)."""
        self._map.move(fix)
        for v in self._window:
            v[0] = fix @ v[0]
        for i in self._history:
            if i >= poses_from:
                self._history[i] = fix @ self._history[i]

    def _relocalise(self, gray, intr) -> bool:
        """After a loss: the lost map looked for in this frame. Found (on 1.5 times the corners a frame needs, and
        half the matches: a wrong match would move the world), the new map and the poses since the loss move into
        the lost map's frame, so content placed before the loss returns to its place."""
        found = self._by_appearance(*self._lost, gray, intr)
        self._lost_frames_left -= 1
        if found is None or len(found[1]) < 1.5 * self.settings.min_inliers or found[2] < 0.5:
            if self._lost_frames_left <= 0:
                self._lost = None
            return False
        fix = found[0] @ np.linalg.inv(self._pose)  # new map -> old map
        # the poses since the loss are on the new map (none known where the lost frame had no index)
        self._move_map(fix, math.inf if self._lost_index is None else self._lost_index)
        self._pose, self._lost = found[0], None
        for view in self._views:
            view.move(fix)
        # whatever was placed on the maps since (anchors) moves with them: epochs after the lost map's
        self.moved = ((self.moved[0] + 1) if self.moved else 1, self._lost_epoch, fix)
        self._epoch = self._lost_epoch
        return True

    def _by_appearance(self, last_gray, before: _Map, gray, intr):
        """The map `before`, as seen in the work image `last_gray`, found in `gray`: upright ORB descriptors at its
        corners' pixels matched to corners of this frame (nearest, with a ratio test), then PnP at the wide
        threshold -> (pose, the map's corners found with their pixels here, share of the matches kept), or None."""
        s = self.settings
        orb = self._orb
        size = float(orb.getPatchSize())
        last = [cv2.KeyPoint(float(u), float(v), size, 0, 0, 0, i) for i, (u, v) in enumerate(before.uv)]
        last, last_des = orb.compute(last_gray, last)
        corners = cv2.goodFeaturesToTrack(gray, 4 * s.max_corners, s.corner_quality / 2, s.corner_spacing_px / 2,
                                          blockSize=5)
        if last_des is None or corners is None:
            return None
        now = [cv2.KeyPoint(float(u), float(v), size, 0) for u, v in corners.reshape(-1, 2)]
        now, now_des = orb.compute(gray, now)
        if now_des is None or len(now) < 2:
            return None
        # a loose ratio test: RANSAC sorts out the rest (0.8 lost 1.5-2 times as many sparse HoloLens frames)
        pairs = _ratio_matches(last_des, now_des, 0.9)
        if len(pairs) < s.min_inliers:
            return None
        idx = np.array([last[p.queryIdx].class_id for p in pairs])
        uv = np.array([now[p.trainIdx].pt for p in pairs], np.float32)
        solved = _pose_from(before.xyz[idx], uv, intr.matrix, s.wide_reprojection * s.reprojection_px,
                            s.min_inliers)
        if solved is None:
            return None
        pose, inl = solved
        kept = before.copy()
        kept.keep(idx[inl])
        kept.uv = uv[inl]
        return pose, kept, len(inl) / len(pairs)

    # --- bundle adjustment

    def _reach(self, pose) -> float:
        """The median distance from a camera at `pose` to the map's corners (1 with none)."""
        return float(np.median(np.linalg.norm(self._map.xyz - pose[:3, 3], axis=1))) if len(self._map) else 1.0

    def _long_step(self, reach: float) -> bool:
        """Whether the last step turned or moved (against `reach`, the distance to the room) more than a camera at
        its rate does between two frames."""
        s = self.settings
        return (rotation_deg(self._velocity[:3, :3]) > s.adjust_step_deg
                or np.linalg.norm(self._velocity[:3, 3]) > s.adjust_step_move * reach)

    def _adjust_due(self, pose, reach: float) -> bool:
        """Whether the camera has turned or moved (against `reach`) far enough from the window's last view to add
        this one."""
        if not self._window:
            return True
        return _apart(self._window[-1][0], pose, self.settings.adjust_deg, self.settings.adjust_move * reach)

    def _adjust(self, intr, index, beside: bool):
        """This frame joins the window and the window is adjusted: its poses (the oldest holds it in place), this
        frame's pose with them, and the map's corners seen in two of its views or more; on a thread beside the
        caller (`TrackerSettings.adjust_beside`, applied when the next frame is tracked), or here.

        PnP on a close view (1-1.6 m) takes part of a sideways slide for a turn, and corners lifted at such a pose
        carry the error on: on the HoloLens's fast-turn stretch at 30 frame/s the tracker's rotation was 7.1
        degrees off over 8 s (median), on true depth as on FastDepth's. Adjusted over the window: 3.0."""
        s, m = self.settings, self._map
        self._window.append([self._pose.copy(), m.ids.copy(), m.uv.copy()])
        del self._window[: max(0, len(self._window) - s.adjust_views)]
        if len(self._window) < 3:
            return
        seen = np.zeros(len(m), int)
        for _, ids, _ in self._window:
            seen += np.isin(m.ids, ids)
        sel = np.flatnonzero(seen >= 2)
        if len(sel) < s.min_inliers:
            return
        order = np.argsort(m.ids[sel])
        sorted_ids = m.ids[sel][order]
        view, point, pixel = [], [], []
        for k, (_, ids, uv) in enumerate(self._window):
            pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
            hit = sorted_ids[pos] == ids
            view.append(np.full(hit.sum(), k))
            point.append(order[pos[hit]])
            pixel.append(uv[hit])
        w2c = [np.linalg.inv(v[0]) for v in self._window]
        win = Window(np.array([a[:3, :3] for a in w2c]), np.array([a[:3, 3] for a in w2c]), m.xyz[sel].copy(),
                     np.concatenate(view), np.concatenate(point), np.concatenate(pixel).astype(np.float64),
                     intr.matrix, m.origin[sel], m.lifted[sel])
        work = _Beside(adjust, (win, 1, s.adjust_iterations, 1.0, s.adjust_prior), beside, "arsdk-adjust")
        self._adjustment = (work, beside, m.ids[sel].copy(), m.next_id, self._pose.copy(), index)
        if not beside:
            self._finish_adjustment()

    def _finish_adjustment(self):
        """The bundle adjustment under way, waited for and applied: the window's poses and its corners as adjusted,
        and, where the frame went on since it started (beside the caller), what that frame placed since (the
        corners it lifted, its pose, the pose recorded for it, the solved view it kept) moved as its pose was."""
        if self._adjustment is None:
            return
        (work, late, ids, first_new, then, index), self._adjustment = self._adjustment, None
        R, t, X, _, _ = work.result()
        # the window is as the adjustment found it: it lands before the next frame can add to it or empty it, and
        # reset() drops it
        window = self._window
        for k, v in enumerate(window):
            a = np.eye(4)
            a[:3, :3], a[:3, 3] = R[k], t[k]
            v[0] = np.linalg.inv(a)
        m = self._map
        # all still there: none is dropped before the next frame's flow
        order = np.argsort(m.ids)
        pos = order[np.searchsorted(m.ids[order], ids)]
        m.xyz[pos] = X
        m.adjusted[pos] = True
        m.triangulated[pos] = True  # geometry's word on their distance, as triangulation's (anchors lean on it)
        if not late:
            self._pose = window[-1][0].copy()
            return
        # the frame's own pose, moved by the adjustment
        move = window[-1][0] @ np.linalg.inv(then)
        self._pose = move @ self._pose
        # the frame went on at its pose before the adjustment: what it placed since moves as its pose did (the
        # corners it lifted, the pose recorded for it, the map and pose kept as the last solved view)
        m.move(move, m.ids >= first_new)
        if index in self._history:
            self._history[index] = move @ self._history[index]
        if self._solved is not None:
            self._solved = (self._solved[0], m.copy())
        if self._solved_view is not None:
            self._solved_view = (self._solved_view[0], move @ self._solved_view[1])

    def _drop_adjustment(self):
        """An adjustment under way waited for and forgotten (a new map: its window is gone)."""
        if self._adjustment is not None:
            self._adjustment[0].wait()
        self._adjustment = None

    def _update_scale(self, depth, pose):
        """How this frame's depth compares with the map at the tracked corners: depth * scale agrees with it."""
        m = self._map
        w2c = np.linalg.inv(pose)
        z_map = m.xyz @ w2c[2, :3] + w2c[2, 3]
        z = _at(depth, m.uv)
        ok = (z > 0) & np.isfinite(z) & (z_map > 0)
        if ok.sum() >= 10:
            self._scale = float(np.median(z_map[ok] / z[ok]))


@dataclass
class Anchor:
    """A point fixed in the room. `position` (world, metres) is where it is believed to be now: placed with the
    depth model's depth, then corrected as the corners around it are triangulated, or as its own pixel, followed
    from frame to frame, is (`refined` becomes True)."""

    position: np.ndarray
    refined: bool = False
    # where it lies on the depth the pipeline shows this frame: on the same ray from the camera, at the shown
    # depth's scale (which carries the floor gain the map does not); what is drawn against state.depth
    shown: np.ndarray | None = None
    _origin: np.ndarray = field(default=None, repr=False)     # map frame: camera centre at placement
    _ray: np.ndarray = field(default=None, repr=False)        # map frame: unit ray to the point
    _distance: float = field(default=0.0, repr=False)         # along the ray, as placed
    _neighbours: np.ndarray = field(default=None, repr=False)  # map corner ids around it
    _ratio: float = field(default=1.0, repr=False)
    _uv: np.ndarray | None = field(default=None, repr=False)  # where its own pixel was followed to (work image)
    _triangulated: float = field(default=math.nan, repr=False)  # distance along the ray from its own track
    _epoch: int = field(default=0, repr=False)  # the tracker's map it was placed on
    _tick: int = field(default=0, repr=False)   # the tracker's frame count when it was placed

    def _move(self, fix: np.ndarray):
        """Its ray (map frame) moved by the rigid 4x4 `fix`, as the map it was placed on moved."""
        self._origin = fix[:3, :3] @ self._origin + fix[:3, 3]
        self._ray = fix[:3, :3] @ self._ray


class AnchorSet:
    """The anchors of one tracked stream. `add(world_point, (x, y))` at the frame the point was picked on (the
    pixel it was picked at, image pixels); the pipeline calls `update` every frame, which moves each anchor's
    position with the world's alignment and with what triangulation has learned about the depth around it. A
    point picked on the depth the pipeline shows is placed along its ray at the depth the map has there (see
    `update`), so `position` may differ from the point given by the floor's few per cent."""

    def __init__(self, tracker: CameraTracker, radius_px: float = 40.0, follow: bool = True,
                 parallax_deg: float = 3.0, settle_deg: float = 12.0):
        if not 0.0 < parallax_deg < 90.0:
            raise InputError(f"AnchorSet.parallax_deg: expected degrees in (0, 90), got {parallax_deg}")
        if not parallax_deg <= settle_deg < 90.0:
            raise InputError(f"AnchorSet.settle_deg: expected degrees in [parallax_deg, 90), got {settle_deg}")
        self._tracker, self.radius_px = tracker, radius_px
        self.follow, self.parallax_deg, self.settle_deg = follow, parallax_deg, settle_deg
        self._anchors: list[Anchor] = []
        self._world_from_map = np.eye(4)
        self._depths: tuple[np.ndarray, np.ndarray] | None = None  # (at the map's scale, as shown) of this frame
        self._last_gray: np.ndarray | None = None  # the tracker's work image on the last update
        self._moved_seen = 0  # the tracker's relocalisations already applied
        self._corrected_seen = tracker.corrected[0] if tracker.corrected else 0  # and its drift corrections

    def __len__(self):
        return len(self._anchors)

    def __iter__(self):
        return iter(list(self._anchors))

    def add(self, world_point, pixel) -> Anchor:
        p = np.asarray(world_point, np.float64).reshape(-1)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise InputError(f"anchor world_point: expected a finite 3-vector in metres, got {world_point!r}")
        x, y = (float(v) for v in pixel)
        x_map = np.linalg.inv(self._world_from_map) @ np.append(p, 1.0)
        origin = self._tracker.pose[:3, 3]
        ray = x_map[:3] - origin
        distance = float(np.linalg.norm(ray))
        if distance < 1e-6:
            raise InputError("anchor world_point: it is at the camera's own position")
        ray /= distance
        distance *= self._map_share(x, y)
        at = self._world_from_map @ np.append(origin + ray * distance, 1.0)
        f = self._tracker._work_scale
        anchor = Anchor(at[:3], False, p.copy(), _origin=origin, _ray=ray, _distance=distance,
                        _neighbours=self._tracker.ids_near(x, y, self.radius_px),
                        _uv=np.array([x * f, y * f], np.float32) if self._last_gray is not None else None,
                        _epoch=self._tracker._epoch, _tick=self._tracker.tick)
        self._anchors.append(anchor)
        return anchor

    def remove(self, anchor: Anchor):
        self._anchors = [a for a in self._anchors if a is not anchor]

    def clear(self):
        self._anchors.clear()

    @property
    def shown_scale(self) -> float:
        """The shown depth over the map's, this frame (median over a sparse grid; 1 when not known)."""
        if self._depths is None:
            return 1.0
        a, b = (d[::8, ::8] for d in self._depths)
        ok = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b)
        return float(np.median(b[ok] / a[ok])) if ok.any() else 1.0

    def _map_share(self, x: float, y: float) -> float:
        """At image pixel (x, y): the map's depth over the depth shown (1 where either is unknown)."""
        if self._depths is None:
            return 1.0
        gray = self._tracker._gray
        # frame pixels -> those of the depth, which may be the frame brought down (the pipeline's DEPTH_WIDTH)
        f = 1.0 if gray is None else self._tracker._work_scale * self._depths[1].shape[1] / gray.shape[1]
        pixel = np.array([[x * f, y * f]])
        a, b = (float(_at(d, pixel)[0]) for d in self._depths)
        return a / b if a > 0 and b > 0 and math.isfinite(a / b) else 1.0

    def update(self, world_from_map: np.ndarray, at_map_scale: np.ndarray | None = None,
               shown: np.ndarray | None = None):
        """Once a frame. at_map_scale, shown: this frame's depth at the scale of the tracked motion, and as the
        effects see it (scaled and pulled so the floor lies on the world's floor). A point picked on the shown
        depth is placed at the depth the map has there: the camera's motion is measured at the map's scale, and
        an anchor off it by the floor's few per cent slides by that share of the camera's motion (at 2 m, 8 px
        for every metre walked)."""
        self._depths = None if at_map_scale is None or shown is None else (at_map_scale, shown)
        self._world_from_map = np.asarray(world_from_map, np.float64)
        moved = self._tracker.moved
        if moved is not None and moved[0] != self._moved_seen:
            # the tracker found a lost map again and moved the maps since into its frame: anchors placed on those
            # maps move with them
            self._moved_seen, (_, epoch, fix) = moved[0], moved
            for a in self._anchors:
                if a._epoch > epoch:
                    a._move(fix)
                    a._epoch = epoch
        corrected = self._tracker.corrected
        if corrected is not None and corrected[0] != self._corrected_seen:
            # the tracker corrected its drift against a view seen at frame count `since`: anchors placed on the
            # map since then were placed with part of that drift, and move by their share of the fix
            self._corrected_seen, (_, since, now, fix) = corrected[0], corrected
            for a in self._anchors:
                if a._epoch == self._tracker._epoch and a._tick > since:
                    a._move(drift_share(fix, a._tick, since, now))
        gray, last = self._tracker._gray, self._last_gray
        self._last_gray = gray
        if not self._anchors:
            return
        if self.follow and gray is not None and last is not None and gray is not last:
            if gray.shape == last.shape:
                self._follow(last, gray)
            else:  # the frame size changed: the followed pixels are of the old picture
                for anchor in self._anchors:
                    anchor._uv = None
        ratios = self._tracker.distance_ratios([a._neighbours for a in self._anchors])
        for a, ratio in zip(self._anchors, ratios):
            if not np.isnan(ratio):  # corners that leave the map keep their last word
                a._ratio, a.refined = float(ratio), True
        origin = np.array([a._origin for a in self._anchors])
        ray = np.array([a._ray for a in self._anchors])
        # its own triangulation where it has one (geometry at the anchor itself), else the depth as placed,
        # corrected by how far off the depth was at the triangulated corners around it
        reach = np.array([a._triangulated if math.isfinite(a._triangulated) else a._distance * a._ratio
                          for a in self._anchors])
        positions = (origin + ray * reach[:, None]) @ self._world_from_map[:3, :3].T + self._world_from_map[:3, 3]
        camera = (self._world_from_map @ self._tracker.pose)[:3, 3]
        shown = camera + (positions - camera) * self.shown_scale  # once a frame, only with anchors to move
        for a, p, q in zip(self._anchors, positions, shown):
            a.position, a.shown = p, q

    def _follow(self, last: np.ndarray, gray: np.ndarray):
        """Each anchor's own pixel followed into this frame (optical flow, checked forward and backward, as the
        tracker's corners), and, once its ray is `parallax_deg` from the one it was placed on, its distance
        triangulated from the two (re-triangulated every frame as the baseline grows; kept within a factor 2 of
        the placed distance, as corners are). An anchor on a blank wall loses its track at once and keeps the
        corners' word; one that leaves the picture keeps its last triangulation."""
        live = [a for a in self._anchors if a._uv is not None]
        if not live:
            return
        p0 = np.array([a._uv for a in live], np.float32)
        uv, ok = _follow_points(last, gray, p0, self._tracker.settings)
        pose = self._tracker.pose
        rays = _world_rays(uv, self._tracker._work_intr, pose)
        r0 = np.array([a._ray for a in live])
        t0 = _meet(np.array([a._origin for a in live]), r0, pose[:3, 3], rays,
                   np.array([a._distance for a in live]), self.parallax_deg)[1]
        t0[~ok] = np.nan
        # past settle_deg of parallax the triangulation is as good as it gets (1 px is 1-2 % of the distance):
        # the anchor is no longer followed, which keeps thousands of anchors cheap
        settled = np.einsum("ij,ij->i", rays, r0) < math.cos(math.radians(self.settle_deg))
        for a, follow, p, t, done in zip(live, ok, uv, t0, settled):
            a._uv = p.copy() if follow else None
            if math.isfinite(t):
                a._triangulated, a.refined = float(t), True
                if done:
                    a._uv = None

