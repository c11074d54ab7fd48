"""The floor decision: with gravity known, the floor is the lowest large surface facing up, at a height a camera
is plausibly held at; when none is in view, an honest "no floor" and a floor assumed at a remembered or default
camera height. Also the correction of the depth model's tilt once the floor is known.

All in the OpenCV camera frame (x right, y down, z forward), metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InputError, check_fields
from .geometry import (FloorPlane, Intrinsics, angle_deg, fit_floor_plane, normals_from_points, pixel_rays,
                       ray_descent, sample_points)
from .gravity import GIVEN, AgreedReadings, Gravity, GravityEstimator, LineReading
from .temporal import REFERENCE_S, FrameClock, share_over


@dataclass(frozen=True)
class FloorSettings:
    """What counts as a floor.

    min_share: the share of the frame's known depth the floor must cover (lying on the refined plane).
    min_candidate_share: the share a plane search candidate needs lying on it with normals that agree: FastDepth
    blurs a small floor's normals into the walls beside it (NYU floor views of 6 %: on the plane 6-7 % once
    refined, too few agreeing normals for 5 %). camera_height_range: heights (m) a
    camera is plausibly held at above a floor; a lowest up-facing surface nearer than that below the camera is
    a table, counter or desk (the floor is not in view). default_camera_height: assumed when no floor has been
    seen yet (a webcam on a desk: 1.2 m). normal_tolerance_deg: how far from gravity a depth normal may point
    and still be a floor point (monocular depth tilts surfaces by several degrees). max_tilt_correction_deg:
    the largest disagreement between the floor in the depth and gravity that is put down to the depth model;
    a larger one means the surface is not level (a ramp, a wrong surface) and it is not taken.
    """

    min_share: float = 0.05
    min_candidate_share: float = 0.03
    camera_height_range: tuple[float, float] = (0.95, 2.6)  # of the levelled depth, before the prior
    default_camera_height: float = 1.2
    # with no floor in view, the floor still lies under everything seen: at least this far below the lowest
    # visible surface (its 98th percentile), so a table seen from above is never under water at a low level
    clearance: float = 0.2
    # ... of what is seen within this distance (m) of the camera across gravity: beyond a room's size lies what is
    # seen through glass, or the depth's error. FastDepth drew the room behind a glass door 13-15 m away and 1.3 m
    # under the floor (HoloLens frames 103-113): the assumed floor went 3 m down, and a stream started there was
    # still 0.2 m off when the floor came back (the first 24 s of streams started across the walk: floor right
    # 0.733 -> 0.761, four runs). 5 m lost as much elsewhere: a nearer cut-off keeps out real floor drawn low
    lowest_reach: float = 12.0
    # nothing in a room lies under its floor: a plane with more than this share of the known points within
    # under_reach (m, across gravity) over a fifth of the camera height below it is not the floor. FastDepth draws a
    # 7-Scenes kitchen table where a floor would be, and the counters' fronts and the floor beyond it 12-33 % of the
    # view under it (true floors of the single frames: none). Farther off, the depth's leftover tilt draws true floors
    # under themselves: within 12 m, a tenth of the view lies under the true floor on 13 % of the HoloLens walk's
    # frames, within 6 m on 7 %. Made on every frame, not only for a scene's first floor: a tracked height does not
    # tell a table from the floor where FastDepth draws the table's far part at the floor's depth (the 7-Scenes
    # kitchen as a stream), and the walk's floorless views at 30 frame/s flooded 7-9 % of the frame (median, four
    # inputs) where they now flood 2-5 %
    max_under_share: float = 0.1
    under_reach: float = 6.0
    normal_tolerance_deg: float = 20.0
    max_tilt_correction_deg: float = 15.0
    # Monocular depth puts a floor 0.6-1.4 times its true distance (FastDepth on real rooms; log spread ~0.2),
    # while people hold cameras indoors at 1.2-1.7 m (log spread ~0.12): GroundTracker takes the camera height as
    # the two combined, weighted by those spreads, and rescales the whole depth to agree. A webcam on a desk that
    # sees the floor sets camera_height_prior lower; a depth model that is right about metres sets depth_scale_sigma
    # lower.
    camera_height_prior: float = 1.45
    camera_height_sigma: float = 0.12
    depth_scale_sigma: float = 0.2
    # With the camera's height known from tracking, a floor measured far from it counts for little (its weight,
    # `agreement`, falls off as a Gaussian of the log ratio with a spread): FastDepth draws a table 0.6-0.8
    # of the floor's distance below the camera, and a table filling the view would otherwise carry the scene's
    # scale and the tracked floor up with it. A tracked camera that truly moves down is followed by the tracker.
    # The spread is tracked_height_spread while the scene's height rests on few floors (a first reading 20 % off
    # must still be corrected), narrowing to settled_height_spread over height_settle_s seconds of frames with a
    # floor in view (`GroundTracker.height_spread`). Held at 0.3, the HoloLens table seen at 30 frame/s (frames
    # 83-102) pulled the height prior's scale up by 30 %, until the table top lay on the floor under the water.
    tracked_height_spread: float = 0.3
    settled_height_spread: float = 0.15
    height_settle_s: float = 5.0

    def __post_init__(self):
        low, high = self.camera_height_range
        checks = [
            ("min_share", 0.0 < self.min_share < 1.0, "a share in (0, 1)"),
            ("min_candidate_share", 0.0 < self.min_candidate_share <= self.min_share, "a share in (0, min_share]"),
            ("camera_height_range", 0.0 < low < high, "(low, high) metres with 0 < low < high"),
            ("default_camera_height", self.default_camera_height > 0.0, "metres > 0"),
            ("clearance", self.clearance >= 0.0, "metres >= 0"),
            ("lowest_reach", self.lowest_reach > 0.0, "metres > 0"),
            ("max_under_share", 0.0 < self.max_under_share <= 1.0, "a share in (0, 1]"),
            ("under_reach", self.under_reach > 0.0, "metres > 0"),
            ("normal_tolerance_deg", 0.0 < self.normal_tolerance_deg < 90.0, "degrees in (0, 90)"),
            ("max_tilt_correction_deg", 0.0 <= self.max_tilt_correction_deg < 90.0, "degrees in [0, 90)"),
            ("camera_height_prior", self.camera_height_prior > 0.0, "metres > 0"),
            ("camera_height_sigma", self.camera_height_sigma > 0.0, "a log spread > 0"),
            ("depth_scale_sigma", self.depth_scale_sigma > 0.0, "a log spread > 0"),
            ("tracked_height_spread", self.tracked_height_spread > 0.0, "a log spread > 0"),
            ("settled_height_spread", self.settled_height_spread > 0.0, "a log spread > 0"),
            ("height_settle_s", self.height_settle_s >= 0.0, "seconds >= 0"),
        ]
        check_fields(self, checks)


@dataclass(frozen=True)
class FloorDecision:
    """The floor plane in the camera frame and the depth correction that makes it level.

    plane: normal = gravity's up, d = the camera height (m), plane.visible False when it is assumed (no floor in
    view). tilt: the 3-vector c of the inverse-depth correction 1/z' = 1/z + c . (x/z, y/z, 1) that turns the
    measured floor level (zeros when none); measured: the floor plane found in the uncorrected depth, or None.
    """

    plane: FloorPlane
    tilt: np.ndarray
    measured: FloorPlane | None = None
    candidate_height: float | None = None  # the levelled candidate's height below the camera in the depth, if any

    @property
    def visible(self) -> bool:
        return self.plane.visible


def lowest_level(heights: np.ndarray, total: int, min_share: float, bin_m: float) -> float | None:
    """The lowest well-supported level of a set of heights below the camera (m, positive down): the largest
    height whose bin and neighbours hold at least min_share of `total` points. None when no level is."""
    if len(heights) == 0:
        return None
    top = float(np.max(heights)) + 2 * bin_m
    if not math.isfinite(top) or top <= 0:
        return None
    bins = np.arange(0.0, top + bin_m, bin_m)
    hist, _ = np.histogram(heights, bins)
    support = np.convolve(hist, np.ones(3), "same")  # a level straddling two bins is still one level
    ok = np.flatnonzero(support >= min_share * total)
    if len(ok) == 0:
        return None
    k = int(ok.max())
    k = max(0, k - 3) + int(np.argmax(support[max(0, k - 3):k + 1]))  # the peak of that lowest level
    near = np.abs(heights - (bins[k] + bin_m / 2)) < 1.5 * bin_m
    return float(np.median(heights[near]))


def decide_floor(points: np.ndarray, up: np.ndarray, settings: FloorSettings = FloorSettings(),
                 camera_height: float | None = None, threshold: float = 0.06, normals: np.ndarray | None = None,
                 rng: np.random.Generator | None = None) -> FloorDecision:
    """The floor in a grid of camera-frame points (HxWx3, NaN where unknown) given gravity's `up` (unit 3-vector).

    camera_height: the height remembered for this scene (None: settings.default_camera_height), used when no
    floor is in view. The floor is the lowest plane within settings.max_tilt_correction_deg of level (the depth
    model tilts it by that much) covering settings.min_share of the known points, with the camera
    settings.camera_height_range above it once levelled, and with no more than settings.max_under_share of the view
    under it; anything else is "no floor in view". A floor's plane
    lies at its height in the levelled depth (no height prior: that is `GroundTracker`'s, with the scene scale).
    threshold: the plane's thickness in metres at 3 m (monocular depth is noisier than a sensor's); normals: the
    grid's normals if already computed (`geometry.normals_from_points`; they do not change with a scale).
    """
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    assumed = FloorDecision(_plane(up, camera_height or settings.default_camera_height, False), np.zeros(3))
    # 256 hypotheses: a floor holding 8 % of the view (an NYU corridor) was missed by 1 draw in 10-20 with 128,
    # by none of 60 with 256 (0.2 ms more)
    measured = fit_floor_plane(points, up_hint=up, max_tilt_deg=settings.max_tilt_correction_deg,
                               threshold=threshold, iterations=256, min_inlier_ratio=settings.min_candidate_share,
                               relative_support=0.2, normal_tolerance_deg=settings.normal_tolerance_deg,
                               normals=normals, rng=rng or np.random.default_rng(0))
    if measured is None:
        return assumed
    # level the floor in inverse depth: 1/z = m . r on a plane n . p + d = 0 (m = -n / d); the nearest level
    # plane is m' = (m . up) up, reached by adding c = m' - m to every pixel's inverse depth. Planes stay planes.
    m = -measured.normal / measured.d
    lam = float(m @ up)
    height = -1.0 / lam
    low, high = settings.camera_height_range
    tilt = lam * up - m
    # too small, too near below the camera to stand on, or with the room below it: a table, counter or desk seen
    # from above
    if (measured.inlier_ratio < settings.min_share or not low <= height <= high
            or _room_below(_level_points(points, tilt), up, height, settings)):
        return FloorDecision(assumed.plane, np.zeros(3), measured, height)
    return FloorDecision(_plane(up, height, True), tilt, measured, height)


def under_share(points: np.ndarray, up, height: float, reach: float = math.inf, margin: float = 0.2) -> float:
    """The share of a grid of camera points (HxWx3 or Nx3, NaN where unknown) within `reach` metres of the camera
    across `up` that lie more than `margin` of `height` below a floor `height` below the camera."""
    below = _below_within(points, up, reach)
    return float(np.count_nonzero(below > (1.0 + margin) * height) / len(below)) if len(below) else 0.0


def _room_below(points: np.ndarray, up, height: float, settings: FloorSettings) -> bool:
    """Whether more than settings.max_under_share of the view (within settings.under_reach) lies under a floor
    `height` below the camera: a table, counter or desk seen from above, not the floor. The one test both looks for
    a floor make (`decide_floor`, `GroundTracker._level_floor`)."""
    return under_share(points, up, height, settings.under_reach) > settings.max_under_share


def floor_gain(points: np.ndarray, normals: np.ndarray, up: np.ndarray, height: float,
                normal_tolerance_deg: float = 30.0, band: float = 0.25, rounds: int = 2,
                min_share: float = 0.03) -> float | None:
    """The factor that brings the middle of the floor in a grid of camera points (HxWx3, NaN where unknown) onto a
    floor `height` below the camera along `up`: height over the median distance below the camera of the
    up-facing points within `band` (a share of the height) of it, re-centred `rounds` times. None when under
    min_share of the known points are there.

    Monocular depth puts most of a floor nearer than the plane found in it (the plane search takes the lowest
    plane its threshold allows, and FastDepth draws floors nearer than the rest of a room), so water meant to
    cover the floor would leave most of it dry."""
    up = np.asarray(up, np.float32)
    below = -(points.reshape(-1, 3) @ up)
    known = np.isfinite(below)
    facing = known & (normals.reshape(-1, 3) @ up > math.cos(math.radians(normal_tolerance_deg)))
    level = float(height)
    for _ in range(rounds):
        near = facing & (np.abs(below - level) < band * height)
        if near.sum() < max(10, min_share * known.sum()):
            return None
        level = float(np.median(below[near]))
    return float(height) / level if level > 0 else None


def pull_onto_floor(depth: np.ndarray, grid: np.ndarray, normals: np.ndarray, intr: Intrinsics, up: np.ndarray,
                    height: float, band: float = 0.25, normal_tolerance_deg: float = 30.0,
                    full: float = 0.0, whole: np.ndarray | None = None) -> np.ndarray:
    """The depth with the floor pulled onto its plane: where the sampled grid (HxWx3 camera points of `depth`, every
    stride-th pixel; `normals` of it) faces up and lies within `band` of a floor `height` below the camera along
    `up`, each pixel moves along its ray toward the floor plane: all the way within `full` (a share, 0-1) of the
    band, less the farther it is beyond, not at all from `band` on. `whole`: cells of the picture (a coarse HxW
    mask, or share in [0, 1], of any size, e.g. `floor_colour.FloorColours.grown`) laid on the plane all the way (by
    that share), wherever they lie. A new array; `depth` is not changed.

    Monocular depth scatters a floor by about +-0.2 m around its plane: water at a few centimetres would leave
    half of a floor dry in patches that flicker. Surfaces that do not face up (the foot of a wall, a sofa's
    front) keep their depth, so the waterline still climbs them at the level's height."""
    if not 0.0 <= full < 1.0:
        raise ValueError(f"full: expected a share of the band in [0, 1), got {full}")
    up = np.asarray(up, np.float32)
    above = grid.reshape(-1, 3) @ up + np.float32(height)
    facing = normals.reshape(-1, 3) @ up > math.cos(math.radians(normal_tolerance_deg))
    on = (np.abs(above) < band) & facing
    laid = whole is not None and bool(whole.any())
    if not on.any() and not laid:
        return depth
    h, w = depth.shape
    # the floor's share of each pixel, smooth between grid cells, and a pull that fades with the distance from the
    # plane: a pixel at the band's edge keeps its depth, so nothing toggles from frame to frame (the depth of a
    # tracked stream is compared across frames, and the waterline would flicker)
    share = cv2.resize(on.reshape(grid.shape[:2]).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    reach = share.max(axis=1)
    if laid:
        whole = cv2.resize(whole.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        reach = np.maximum(reach, whole.max(axis=1))
    rows = np.flatnonzero(reach > 0)  # only the rows the floor reaches
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    down = ray_descent(intr, up, top, bottom)  # a pixel's distance below the camera is z times that
    z = depth[top:bottom]
    # in place where it can be: each new array of the frame's size costs as much again in page faults
    off = np.multiply(z, down)
    off -= np.float32(height)                               # below the plane (+) or above it (-), metres
    fade = np.float32(1.0 / (band * (1.0 - full)))
    pull = np.abs(off)
    np.subtract(np.float32(band), pull, out=pull)
    pull *= fade
    np.clip(pull, 0.0, 1.0, out=pull)
    pull *= share[top:bottom]
    if laid:
        np.maximum(pull, whole[top:bottom], out=pull)
        pull[z <= 0] = 0.0  # unknown depth stays unknown
    pull[down <= 1e-3] = 0.0
    out = depth.copy()
    # z' = (height + off (1 - pull)) / down: the pixel moves along its ray by the pulled share of its offset
    pull *= off
    pull /= np.maximum(down, np.float32(1e-3), out=down)
    out[top:bottom] -= pull
    return out


def unblocked_floor_share(points: np.ndarray, up, height: float, reach: float = 3.0,
                          unblocked: float = 0.7) -> float:
    """The share of camera points (Nx3, finite) whose ray meets a floor `height` below the camera along `up` within
    `reach` camera heights and whose depth goes at least `unblocked` of the way there.

    A floor seen steeply from above is often drawn as a slope, nearer than it is, and no plane search finds it;
    with the floor known (tracked), it is still in view where the depth does not stop well short of it. FastDepth
    draws a table top 0.4-0.55 of the way to the floor behind it."""
    below = -(points @ np.asarray(up, np.float32))
    dist = np.linalg.norm(points, axis=1)
    along = height * dist / np.maximum(below, 1e-6)  # how far along each ray the floor plane lies
    hit = (below > 0) & (along < reach * height) & (dist > unblocked * along)
    return float(np.mean(hit)) if len(points) else 0.0


def lowest_seen(points: np.ndarray, up, reach: float = math.inf) -> float | None:
    """How far below the camera the lowest of a grid of camera points (HxWx3, NaN where unknown) lies along `up`:
    the 98th percentile, so a few stray points do not count, of the points within `reach` metres of the camera
    across `up` (FloorSettings.lowest_reach). None when no such point is known. With no floor in view the floor is
    assumed FloorSettings.clearance below it."""
    below = _below_within(points, up, reach)
    return float(np.percentile(below, 98)) if len(below) else None


def _below_within(points: np.ndarray, up, reach: float) -> np.ndarray:
    """How far below the camera along `up` each known point of a grid (HxWx3 or Nx3, NaN where unknown) lies, of
    those within `reach` metres of the camera across `up`."""
    points = points.reshape(-1, 3)
    below = -(points @ np.asarray(up, np.float32))
    across = np.einsum("ij,ij->i", points, points) - below * below  # squared distance across up
    return below[np.isfinite(below) & (across <= np.float32(reach) ** 2)]


def fuse_height(measured: float, settings: FloorSettings) -> float:
    """The camera height from the depth's measurement and the prior, each weighted by its log-spread."""
    w_m, w_p = settings.depth_scale_sigma ** -2, settings.camera_height_sigma ** -2
    return math.exp((w_m * math.log(measured) + w_p * math.log(settings.camera_height_prior)) / (w_m + w_p))


def agreement(measured: float, expected: float | None, spread: float) -> float:
    """How much a measured camera height counts beside the one a tracker expects: 1 when they agree, falling off
    as exp(-x^2 / 2) of x = log(measured / expected) / spread. 1 when nothing is expected."""
    if not expected or measured <= 0:
        return 1.0
    x = math.log(measured / expected) / spread
    return math.exp(-0.5 * x * x)


def _plane(up: np.ndarray, height: float, visible: bool) -> FloorPlane:
    return FloorPlane(np.asarray(up, np.float64).copy(), float(height), 0.0, visible)


def level_depth(depth: np.ndarray, rays_x: np.ndarray, rays_y: np.ndarray, tilt: np.ndarray,
                max_change: float = 0.5) -> np.ndarray:
    """Apply an inverse-depth tilt correction 1/z' = 1/z + c . (x/z, y/z, 1) to HxW depth (m, 0 = unknown).

    rays_x, rays_y: the per-column x/z and per-row y/z of the camera (geometry.pixel_rays). The change of inverse
    depth is bounded to max_change of the pixel's own (a far pixel whose correction would send it to infinity
    keeps at most 1 / (1 - max_change) of its depth), so a wrong correction cannot tear the room apart.
    """
    c = np.asarray(tilt, np.float32)
    if not np.any(c):
        return depth
    # z' = z / (1 + z c.r): the relative change z c.r, bounded, in one buffer (this runs on every full frame);
    # unknown depth (0) stays 0
    q = np.add.outer(c[1] * rays_y + c[2], c[0] * rays_x).astype(np.float32, copy=False)
    q *= depth
    np.clip(q, -max_change, max_change, out=q)
    q += np.float32(1.0)
    return np.divide(depth, q, out=q)


def _level_points(points: np.ndarray, tilt: np.ndarray, max_change: float = 0.5) -> np.ndarray:
    """`level_depth` applied to a grid of camera points (HxWx3, NaN where unknown): each point moves along its
    ray, so the grid of a levelled depth costs no full-size pass."""
    c = np.asarray(tilt, np.float32)
    if not np.any(c):
        return points
    z = points[..., 2]
    q = np.clip((points[..., 0] * c[0] + points[..., 1] * c[1] + z * c[2]), -max_change, max_change)
    return points / (1.0 + q)[..., None]


@dataclass
class GroundResult:
    """One frame's gravity, floor decision, and the depth levelled and scaled to agree with them."""

    gravity: Gravity
    decision: FloorDecision
    depth: np.ndarray
    scale: float  # the scene scale applied to the (levelled) depth
    # the surface normals of the depth sampled every `stride` pixels (camera frame; a scale or the levelling's few
    # degrees barely turn them), for whoever checks the floor again in a depth derived from this one
    normals: np.ndarray | None = None
    # with no floor in view: how far below the camera along up (m, as `depth`) the lowest surface seen lies
    # (`lowest_seen`), which the assumed floor lies under; None with a floor in view or nothing seen within reach
    lowest_seen: float | None = None


class GroundTracker:
    """Gravity, the floor and the scene's metric scale for one stream of frames.

    Gravity is estimated per frame (or given, e.g. by an IMU) and smoothed: a new estimate moves the held one by
    a share that grows with its confidence, and a change agreed on for `snap_frames` frames and `snap_s` seconds
    is taken at once (the camera turned; the readings agree within snap_deg / 2 plus snap_turn_deg_per_s for each
    second between them, as the held up is in the camera's axes and a turning camera turns it). A held up older
    than `held_up_s` (snap_deg / snap_turn_deg_per_s: a camera turning that fast has moved its up by snap_deg since)
    is no guide to the next frame: the line search runs without it as a prior, and a reading far from it is taken
    rather than held off as an odd one (frames more than a second apart). The smoothing
    shares are per temporal.REFERENCE_S of frame time (`temporal.share_over`), so they hold at any frame rate.
    Gravity is read at most once per `line_interval_s` of frame time: the line detector is the costliest part of the
    geometry (about 2 ms of a 640x480 frame beside the depth model), and a live camera's frames 1/30 s apart
    bring no news of up that the smoothing would not spread over several frames anyway; frames between hold the up
    (`reads_lines_at`), and the next reading is smoothed over the whole time since the last. The
    camera height is remembered from frames that see the floor and kept for those that do not; the depth of every
    frame is scaled by one scene scale, updated slowly, so the room neither breathes nor jumps when the floor comes
    into view or leaves it.

    stride: the depth is sampled every stride-th pixel of a camera whose focal length is GRID_REFERENCE_FX pixels
    (a 640-pixel-wide frame with a 63 degree field of view, a Kinect's), and at the same angle between samples for
    other cameras (`stride_for`): every 16th pixel of that view taken at 1280x960. Cameras of 57-62 degrees at 540-640
    pixels (the webcam default's 60 at 640, NYU's, 7-Scenes', the HoloLens's) keep 8. A fixed pixel stride gave
    the floor search a different grid per camera resolution (normals from neighbours half as far apart, four times
    the points) and so a different decision on the same view.
    """

    GRID_REFERENCE_FX = 525.0

    def __init__(self, settings: FloorSettings | None = None, gravity: GravityEstimator | None = None,
                 stride: int = 8, threshold: float = 0.06, gravity_smoothing: float = 0.3,
                 scale_smoothing: float = 0.8, snap_deg: float = 12.0, snap_frames: int = 3,
                 tilt_smoothing: float = 0.8, snap_s: float = 0.8, snap_turn_deg_per_s: float = 12.0,
                 line_interval_s: float = 0.05):
        if not line_interval_s >= 0.0:
            raise InputError(f"line_interval_s: expected seconds >= 0, got {line_interval_s}")
        self.settings = settings or FloorSettings()
        self.gravity_estimator = gravity or GravityEstimator()
        self.stride, self.threshold = stride, threshold
        self.gravity_smoothing, self.scale_smoothing = gravity_smoothing, scale_smoothing
        self.tilt_smoothing = tilt_smoothing
        self.snap_deg, self.snap_frames, self.snap_s = snap_deg, snap_frames, snap_s
        self.snap_turn_deg_per_s = snap_turn_deg_per_s
        self.line_interval_s = line_interval_s
        self._clock = FrameClock("GroundTracker")
        self.reset()

    def stride_for(self, intr: Intrinsics) -> int:
        """The pixel stride that puts the samples of a camera `intr` as far apart in angle as `stride` pixels at a
        focal length of GRID_REFERENCE_FX."""
        return max(1, round(self.stride * intr.fx / self.GRID_REFERENCE_FX))

    def reset(self):
        """Forget the scene (a cut, or a new video)."""
        self.up: np.ndarray | None = None
        self.confidence = 0.0
        self.camera_height: float | None = None
        self._log_scale: float | None = None
        self._tilt: np.ndarray | None = None  # the depth model's tilt, held (inverse depth at scale 1)
        # estimates far from the held up; held in the camera's axes, which turn (`AgreedReadings`)
        self._far = AgreedReadings(self.snap_frames, self.snap_s, self.snap_deg / 2, self.snap_turn_deg_per_s)
        self._floor_seconds = 0.0  # frame time with a floor in view since the scene began
        self._gravity = None  # the last Gravity returned, held on frames between line readings
        # whether the held up was carried into this frame's axes (`turn`), and into every frame's since the last
        # reading: then it is the camera's up now however old the reading
        self._carried, self._carried_since_reading = False, True
        self._reference = None
        self._last_reading: float | None = None  # the timestamp of the last line reading
        self._since_reading = 0.0  # frame time since the last gravity update
        self._clock.reset()

    def reads_lines_at(self, timestamp: float | None) -> bool:
        """Whether `update` at this frame time reads gravity (and wants the frame's `lines`): always with no up
        held yet or no timestamp, else once `line_interval_s` has passed since the last reading."""
        if timestamp is None or self._gravity is None or self._last_reading is None:
            return True
        # a frame time that did not move forward is a new stream's clock (FrameClock counts it as one frame)
        elapsed = timestamp - self._last_reading
        return elapsed < 0.0 or elapsed >= self.line_interval_s - 1e-6

    def height_spread(self) -> float:
        """The log spread by which a measured camera height is weighed against a tracked one (`agreement`):
        settings.tracked_height_spread while the scene's floor is new, narrowing to settled_height_spread as frames
        with a floor in view add up (over height_settle_s seconds of them)."""
        s = self.settings
        return s.tracked_height_spread + self.height_settled() * (s.settled_height_spread - s.tracked_height_spread)

    def height_settled(self) -> float:
        """How settled the scene's camera height is, 0-1: 1 - exp(-t / settings.height_settle_s) of the seconds t of
        frames with a floor in view so far (1 with height_settle_s 0)."""
        s = self.settings
        return 1.0 if s.height_settle_s <= 0.0 else 1.0 - math.exp(-self._floor_seconds / s.height_settle_s)

    @property
    def held_up_s(self) -> float:
        """How long after the last frame the held up still guides the next (seconds): snap_deg at
        snap_turn_deg_per_s. Fed every 3rd HoloLens frame (1.2 s apart) with the held up as the line search's prior
        and as the judge of odd readings, gravity lagged the pitching camera by 12-31 degrees while the line search
        alone was within 2 degrees on most frames: floor right 0.36, 0.62 without it. Every 2nd frame (0.8 s) still
        does better with it (0.79 / 0.76 against 0.70 / 0.73)."""
        return self.snap_deg / self.snap_turn_deg_per_s if self.snap_turn_deg_per_s > 0 else math.inf

    def _held_up_carried(self) -> bool:
        """Whether the held up was carried into this frame's axes and every frame's since the last reading."""
        return self._carried and self._carried_since_reading

    def _held_up_fresh(self, dt: float | None) -> bool:
        return dt is None or dt <= self.held_up_s or self._held_up_carried()

    def _prior_up(self, dt: float | None = None) -> np.ndarray | None:
        return self.up if self.confidence > 0.5 and self._held_up_fresh(dt) else None

    def lines(self, image: np.ndarray, intr: Intrinsics, dt: float | None = None) -> LineReading:
        """What this frame's line segments say of up, read with the up held from earlier frames: the costly part
        of the gravity estimate (the line detector, about 3 ms at 640x480, and the vanishing-point search), which
        needs no depth. The pipeline runs it beside the depth model and hands the reading to `update`. dt: seconds
        since the last frame (None: taken as close enough for the held up to guide the search); frames that did not
        read gravity (`reads_lines_at`) count too."""
        return self._read_lines(image, intr, None if dt is None else self._since_reading + dt)

    def _read_lines(self, image: np.ndarray, intr: Intrinsics, dt: float | None) -> LineReading:
        """`lines` with dt the frame time since the last gravity reading."""
        estimator = self.gravity_estimator
        return estimator.read_lines(estimator.segments(image), intr, self._prior_up(dt))

    def _smooth_gravity(self, g: Gravity, dt: float) -> Gravity:
        """The held up moved toward this frame's estimate `g`, over `dt` seconds since the last frame."""
        if g.source == GIVEN or self.up is None:
            self.up, self.confidence = g.up.copy(), g.confidence
            return g
        # a far reading the world's up backs says the held up is the odd one (`turn`)
        ref = self._reference if self._held_up_carried() else None
        backed = ref is not None and angle_deg(g.up, ref) < self.snap_deg / 2
        if (angle_deg(g.up, self.up) > self.snap_deg and g.confidence > 0.5 and self._held_up_fresh(dt)
                and not backed):
            # the camera turned, or one odd frame: taken once agreed on for long enough
            if self._far.add(g.up, dt):
                self.up, self.confidence = g.up.copy(), g.confidence
                self._far.clear()
            return Gravity(self.up.copy(), self.confidence, g.source)  # taken, or held against one odd frame
        self._far.clear()
        # the new estimate's share: all of it when it is sure and the held one is not, little the other way round
        keep = 1.0 - share_over(1.0 - self.gravity_smoothing, dt)  # of the held up, over this frame's time
        share = (1.0 - keep) * g.confidence / max(g.confidence, self.confidence, 1e-6)
        up = (1.0 - share) * self.up + share * g.up
        self.up = up / np.linalg.norm(up)
        self.confidence = max(g.confidence, self.confidence * keep)
        return Gravity(self.up.copy(), self.confidence, g.source)

    def turn(self, rotation: np.ndarray, reference_up=None):
        """The camera turned by `rotation` (3x3, its axes at the last update to its axes now; a tracker's
        measurement, `CameraTracker.turn_into`) before this frame's update: the held up, which lives in the camera's
        axes, follows it, so this frame's reading is compared with the up the camera holds now, and the line search
        is guided by it however long ago the last frame was (`held_up_s` applies to an up not carried).
        reference_up: up in this frame's camera axes by another measure (the tracked world's, None: none); a
        reading far from the held up but within snap_deg / 2 of it is smoothed in, not held off as an odd one.

        Not carried, the held up is the earlier camera's. Fed every 2nd HoloLens frame (0.8 s apart), a camera
        pitching 5-20 degrees between frames left it 12-22 degrees off while the readings it held off as odd were
        within 2-3. Carried exactly, a held up that took in a run of misread lines stays wrong in the room, and the
        right readings after them were held off for 3 frames (the walk's frames 253-256, 12.6 degrees off): the
        tracked world, which holds such runs off by their agreement in the map's axes, says which is the odd one."""
        rotation = np.asarray(rotation, np.float64)
        if rotation.shape != (3, 3) or not np.isfinite(rotation).all():
            raise InputError(f"rotation: expected a finite 3x3 rotation matrix, got shape {rotation.shape}")
        if self.up is None:
            return
        self.up = rotation @ self.up
        self._far.turn(rotation)
        held = self._gravity
        if held is not None:
            self._gravity = Gravity(rotation @ held.up, held.confidence, held.source)
        self._carried = True
        self._reference = None if reference_up is None else np.asarray(reference_up, np.float64)

    def _level_floor(self, grid: np.ndarray, up, tilt, decision: FloorDecision) -> FloorDecision:
        """A second look, once the model's tilt is known from earlier frames: in the depth levelled with it (`grid`,
        its sampled points), the lowest level that up-facing surfaces crowd at, at a height a camera is held, with no
        more of the view under it than `decide_floor` allows. It finds the floors the plane search misses (a sliver
        at the bottom of the picture, a floor the model bends)."""
        pts, nrm = grid.reshape(-1, 3), normals_from_points(grid).reshape(-1, 3)
        ok = np.isfinite(pts).all(axis=1) & np.isfinite(nrm).all(axis=1)
        facing = ok & (nrm @ up.astype(np.float32) > math.cos(math.radians(self.settings.normal_tolerance_deg)))
        below = -(pts[facing] @ up.astype(np.float32))
        low, high = self.settings.camera_height_range
        level = lowest_level(below[(below >= low) & (below <= high)], int(ok.sum()), self.settings.min_share, 0.05)
        # the room drawn under it: a table or counter seen from above, as `decide_floor` refuses it
        if level is None or _room_below(grid, up, level, self.settings):
            return decision
        share = float(np.mean(np.abs(pts[ok] @ up.astype(np.float32) + level) < 0.06 * level))
        measured = FloorPlane(np.asarray(up, np.float64), level, share, True)
        return FloorDecision(_plane(up, level, True), tilt, measured, level)

    def update(self, image: np.ndarray, depth: np.ndarray, intr: Intrinsics, given_up=None,
               segments: np.ndarray | LineReading | None = None, expected_height: float | None = None,
               timestamp: float | None = None) -> GroundResult:
        """image: HxWx3 uint8 RGB; depth: HxW metres at the same size; given_up: up in camera axes from an IMU or
        an AR framework (skips the estimate), or None; segments: the image's line segments if already found
        (`self.gravity_estimator.segments(image)`), or their reading (`lines`, which the pipeline runs beside the
        depth model); expected_height: the camera's height above the floor as a tracker follows it (in this
        tracker's metres), or None: a floor measured far from it moves the scene's scale little (`agreement`);
        timestamp: the frame's capture time in seconds, so gravity, the scale and the model's tilt follow new
        readings at the same pace per second at any frame rate (`temporal.share_over`); None: each call counts as
        frames REFERENCE_S apart."""
        reads = given_up is not None or segments is not None or self.reads_lines_at(timestamp)
        dt = REFERENCE_S if timestamp is None else self._clock.tick(timestamp)
        self._since_reading += dt
        points = sample_points(depth, intr, self.stride_for(intr))
        normals = normals_from_points(points)  # for gravity and the floor alike
        if not reads:
            held = self._gravity  # between readings: the up held (`line_interval_s`)
            g = Gravity(held.up.copy(), held.confidence, held.source)
        else:
            gravity_dt, self._since_reading, self._last_reading = self._since_reading, 0.0, timestamp
            if given_up is not None:
                g = Gravity.given(given_up)
            else:
                if segments is None:
                    segments = self._read_lines(image, intr, gravity_dt)
                # with no up held from earlier frames, the walls help: single 7-Scenes frames within 5 degrees
                # 0.61 -> 0.74; on a stream they do not (the held up does better)
                g = self.gravity_estimator.estimate(segments, intr, normals, self._prior_up(gravity_dt),
                                                    walls=self.up is None)
            g = self._gravity = self._smooth_gravity(g, gravity_dt)
        self._carried_since_reading = reads or self._held_up_carried()
        self._carried, self._reference = False, None
        # the scene's scale so far applies to this frame before its floor is looked for, so heights compare
        scale = 1.0 if self._log_scale is None else math.exp(self._log_scale)
        decision = decide_floor(points * np.float32(scale), g.up, self.settings, self.camera_height,
                                self.threshold, normals)
        if not decision.visible:
            # the depth levelled with the tilt held from earlier frames, on the sampled grid: for the second look,
            # and for the floor assumed below everything in view
            tilt = np.zeros(3) if self._tilt is None else self._tilt / scale
            grid = _level_points(points * np.float32(scale), tilt)
            if self._tilt is not None:
                decision = self._level_floor(grid, g.up, tilt, decision)
        if decision.visible:
            self._floor_seconds += dt
            # a floor far from the tracked camera height counts little (`height_spread`)
            agreed = agreement(decision.plane.d, expected_height, self.height_spread())
            # this frame's own scale: its floor distance (in the unscaled depth) fused with the height prior;
            # the scene's scale follows it slowly, so the model's frame-to-frame wander does not show
            own = decision.candidate_height / scale
            log_s = math.log(fuse_height(own, self.settings) / own)
            share = share_over(1 - self.scale_smoothing, dt) * agreed
            self._log_scale = log_s if self._log_scale is None else (
                (1 - share) * self._log_scale + share * log_s)
            new_scale = math.exp(self._log_scale)
            # the tilt levels inverse depth at the old scale (at scale 1 it is scale times larger). The model's
            # tilt is a bias of the model, seen the same way from frame to frame: it is held and updated slowly,
            # and kept on frames with no floor, so the depth does not jump as the floor comes and goes
            measured_tilt = decision.tilt * scale
            taken = share_over(1 - self.tilt_smoothing, dt)
            self._tilt = measured_tilt if self._tilt is None else (1 - taken) * self._tilt + taken * measured_tilt
            tilt = self._tilt / new_scale
            levelled = level_depth(depth * np.float32(new_scale), *pixel_rays(intr), tilt)
            self.camera_height = own * new_scale
            plane = FloorPlane(decision.plane.normal, self.camera_height, decision.measured.inlier_ratio, True)
            return GroundResult(g, FloorDecision(plane, tilt, decision.measured, decision.candidate_height),
                                levelled, new_scale, normals)
        # the assumed floor lies below everything in view, as the effects will see it (levelled)
        height = self.camera_height or self.settings.default_camera_height
        lowest = lowest_seen(grid, g.up, self.settings.lowest_reach)
        if lowest is not None:
            height = max(height, lowest + self.settings.clearance)
        decision = FloorDecision(_plane(g.up, height, False), tilt, decision.measured, decision.candidate_height)
        levelled = level_depth(depth * np.float32(scale) if scale != 1.0 else depth, *pixel_rays(intr), tilt)
        return GroundResult(g, decision, levelled, scale, normals, lowest)
