"""Gravity from one RGB frame: the room's square directions (a Manhattan frame) or the vertical vanishing point
of line segments, fused with the horizontal-surface normals of the depth and the prior that cameras are held
upright, then smoothed over time.

Monocular depth bends the room (FastDepth tilts floors by several degrees), so "up" taken from the depth alone
tilts with it. Indoor scenes are built square: vertical edges (door frames, cabinet sides, table legs) pass
through one vanishing point, the image of the vertical, and the edges of tables, cabinet tops and shelves through
two more square to it. None of them depends on depth.

Directions are unit vectors in the OpenCV camera frame (x right, y down, z forward): an upright camera looking
level has up = (0, -1, 0).
"""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InputError
from .geometry import CAMERA_UP, Intrinsics, angle_deg

LINES, DEPTH, PRIOR, GIVEN = "lines", "depth", "prior", "given"


@dataclass(frozen=True)
class Gravity:
    """The up direction in the camera frame (unit 3-vector, opposite to gravity) and how sure we are of it.

    confidence: 0 (nothing but the upright prior) to 1 (many long lines agreeing on the room's directions, or
    given by an IMU).
    source: what decided it: "lines", "depth", "prior" or "given".
    """

    up: np.ndarray
    confidence: float
    source: str

    @property
    def pitch_deg(self) -> float:
        """Camera pitch: positive when looking down (up then leans toward the camera, z < 0)."""
        return math.degrees(math.asin(float(np.clip(-self.up[2], -1.0, 1.0))))

    @property
    def roll_deg(self) -> float:
        """Camera roll: positive when the image's right side is lower."""
        return math.degrees(math.atan2(float(self.up[0]), float(-self.up[1])))

    @classmethod
    def given(cls, up) -> "Gravity":
        """Gravity from an outside source (an IMU's accelerometer, an AR framework's pose): `up` in camera axes."""
        v = np.asarray(up, np.float64).reshape(-1)
        if v.shape != (3,) or not np.all(np.isfinite(v)) or np.linalg.norm(v) < 1e-9:
            raise InputError(f"gravity up: expected a finite non-zero 3-vector in camera axes, got {up!r}")
        return cls(v / np.linalg.norm(v), 1.0, GIVEN)


def line_segments(gray: np.ndarray, width: int = 320, min_length: float = 0.06) -> np.ndarray:
    """Straight segments of a grey image as an Nx4 float array (x1, y1, x2, y2) in its pixels.

    The line segment detector runs on a copy `width` pixels wide (2.7 ms at 320x240 here, 9 ms at 640x480);
    segments shorter than `min_length` of that width are dropped (their direction is too uncertain to vote).
    """
    h, w = gray.shape[:2]
    s = min(1.0, width / w)
    small = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) \
        if s < 1.0 else gray
    try:
        found = _lsd().detect(small)[0]
    except cv2.error as exc:  # LSD asserts on some degenerate regions: no lines from this frame, not a dead stream
        log.debug("line segment detector failed on this frame: %s", exc)
        return np.zeros((0, 4), np.float32)
    if found is None:
        return np.zeros((0, 4), np.float32)
    seg = found.reshape(-1, 4) / s
    length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
    return seg[length >= min_length * w].astype(np.float32)


log = logging.getLogger(__name__)
_LSD = threading.local()  # one detector per thread: OpenCV's detector object is not safe to share


def _lsd():
    if getattr(_LSD, "detector", None) is None:
        _LSD.detector = cv2.createLineSegmentDetector(cv2.LSD_REFINE_NONE)
    return _LSD.detector


@dataclass(frozen=True)
class Segments:
    """Line segments in normalised camera coordinates (x / z, y / z).

    planes: Nx3 unit normals of each segment's interpretation plane (through the camera centre and the segment):
    a 3D line of direction v lies in it, normal . v = 0. mid: Nx2 midpoints; direction: Nx2 unit directions;
    length: N lengths in image widths."""

    planes: np.ndarray
    mid: np.ndarray
    direction: np.ndarray
    length: np.ndarray

    def __len__(self):
        return len(self.length)

    def misalignment(self, v: np.ndarray) -> np.ndarray:
        """N x K sines of the angle between each segment and the line from its midpoint to the image of each
        direction in v (Kx3): 0 when the segment points at that vanishing point. Unlike planes . v it does not
        shrink for segments near the vanishing point, so a point inside the picture that many short segments
        happen to pass near does not pose as one."""
        to_vp = v[None, :, :2] - self.mid[:, None, :] * v[None, :, 2:3]   # N x K x 2
        cross = self.direction[:, None, 0] * to_vp[..., 1] - self.direction[:, None, 1] * to_vp[..., 0]
        return np.abs(cross) / np.maximum(np.linalg.norm(to_vp, axis=-1), 1e-12)

    def points_at(self, v: np.ndarray, tol: float) -> np.ndarray:
        """N x K: misalignment(v) < tol, in float32 and without square roots (the Manhattan search tests
        thousands of directions)."""
        mid, d = self.mid.astype(np.float32), self.direction.astype(np.float32)
        v = v.astype(np.float32)
        to_x = v[None, :, 0] - mid[:, 0:1] * v[None, :, 2]
        to_y = v[None, :, 1] - mid[:, 1:2] * v[None, :, 2]
        cross = d[:, 0:1] * to_y - d[:, 1:2] * to_x
        return cross * cross < np.float32(tol * tol) * (to_x * to_x + to_y * to_y)


def _frame_support(seg: Segments, frames: np.ndarray, tol: float) -> np.ndarray:
    """The segment length pointing at any of each frame's three vanishing points (frames: Kx3x3) -> K values. A
    segment on the line through two of them counts once: counted twice, frames that put two vanishing points on
    one family of segments won (single frames within 5 degrees: 7-Scenes 0.82 -> 0.76, HoloLens 0.88 -> 0.82)."""
    on = seg.points_at(frames.reshape(-1, 3), tol).reshape(len(seg), len(frames), 3)
    on_any = on[..., 0] | on[..., 1] | on[..., 2]
    return seg.length.astype(np.float32) @ on_any.astype(np.float32)


def segments_in_camera(segments: np.ndarray, intr: Intrinsics) -> Segments:
    """Pixel segments (Nx4: x1, y1, x2, y2) of an image seen with intr, in normalised camera coordinates."""
    a = np.stack([(segments[:, 0] - intr.cx) / intr.fx, (segments[:, 1] - intr.cy) / intr.fy], axis=1)
    b = np.stack([(segments[:, 2] - intr.cx) / intr.fx, (segments[:, 3] - intr.cy) / intr.fy], axis=1)
    ones = np.ones((len(segments), 1))
    n = np.cross(np.hstack([a, ones]), np.hstack([b, ones]))
    d = b - a
    norm_d = np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return Segments(n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12), (a + b) / 2, d / norm_d,
                    np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]) / intr.width)


def plausible_up(up: np.ndarray, max_roll_deg: float, pitch_range_deg: tuple[float, float]) -> np.ndarray:
    """Which rows of up (Nx3) describe a camera rolled by at most max_roll_deg and pitched within pitch_range_deg
    (positive looking down). A looking-down camera sees the room's depth-ward horizontal vanishing point where
    a looking-up camera would see the vertical one: the pitch range is what tells them apart."""
    roll = np.degrees(np.arctan2(up[:, 0], -up[:, 1]))
    pitch = np.degrees(np.arcsin(np.clip(-up[:, 2], -1.0, 1.0)))
    return (np.abs(roll) <= max_roll_deg) & (pitch >= pitch_range_deg[0]) & (pitch <= pitch_range_deg[1])


def vertical_from_lines(seg: Segments, prior_up=None, cone_deg: float | None = None,
                        max_roll_deg: float = 35.0, pitch_range_deg: tuple[float, float] = (-35.0, 60.0),
                        inlier_deg: float = 2.0, iterations: int = 300, manhattan_candidates: int = 12,
                        manhattan_weight: float = 1.0, roll_prior_deg: float | None = 25.0,
                        rng: np.random.Generator | None = None) -> tuple[np.ndarray | None, float]:
    """The vertical direction that most segment lengths are consistent with.

    RANSAC over pairs of segments (their planes meet in a direction) that describe a plausible camera
    (`plausible_up`; with prior_up and cone_deg, also within cone_deg of prior_up), scored by the length of the
    segments whose plane holds it within inlier_deg, then refined by weighted least squares on the inliers. The
    best few are told apart by the squareness of the rest of the room and, with roll_prior_deg, by a Gaussian
    prior on their roll: cameras are held upright, and a camera looking down sees long floor edges (a carpet's,
    a sofa's base) meet at a point that poses as a vertical leaning by 20 degrees or more.
    Returns (up, support) with support the inliers' total length (in image widths) times how much their planes
    fan out; (None, 0) when nothing fits.
    """
    if len(seg) < 3:
        return None, 0.0
    planes, lengths = seg.planes, seg.length
    rng = rng or np.random.default_rng(0)
    p = lengths / lengths.sum()
    i = rng.choice(len(planes), size=iterations, p=p)
    j = rng.choice(len(planes), size=iterations, p=p)
    cand = np.cross(planes[i], planes[j])
    norm = np.linalg.norm(cand, axis=1)
    ok = norm > math.sin(math.radians(2.0))  # two nearly identical planes meet anywhere
    cand = cand[ok] / norm[ok, None]
    cand *= np.where(cand[:, 1] > 0, -1.0, 1.0)[:, None]  # up has y < 0 for any camera not upside down
    keep = plausible_up(cand, max_roll_deg, pitch_range_deg)
    if prior_up is not None and cone_deg is not None:
        prior = np.asarray(prior_up, np.float64) / np.linalg.norm(prior_up)
        keep &= cand @ prior > math.cos(math.radians(cone_deg))
    cand = cand[keep]
    if len(cand) == 0:
        return None, 0.0
    tol = math.sin(math.radians(inlier_deg))
    vertical = seg.misalignment(cand) < tol                                  # N x K
    score = vertical.T @ lengths
    # the best few by vertical support are told apart by the rest of the room: seen from the true vertical,
    # the other segments' horizontal directions fall into a few families 90 degrees apart (walls, cabinets,
    # tables are laid out square), and seen from a wrong one they spread
    top = np.argsort(-score)[:manhattan_candidates]
    total = score[top] + manhattan_weight * manhattan_support(seg, cand[top], ~vertical[:, top])
    if roll_prior_deg is not None:
        roll = np.degrees(np.arctan2(cand[top, 0], -cand[top, 1]))
        total = total * np.exp(-0.5 * (roll / roll_prior_deg) ** 2)
    up = chosen = cand[top[int(np.argmax(total))]]
    for _ in range(3):  # refine: the direction closest to perpendicular to every inlier plane
        w = lengths * (seg.misalignment(up[None])[:, 0] < tol * 2)
        if w.sum() == 0:
            break
        m = (planes * w[:, None]).T @ planes
        up_new = np.linalg.eigh(m)[1][:, 0]
        up = up_new if up_new @ up > 0 else -up_new
    if not plausible_up(up[None], max_roll_deg, pitch_range_deg)[0]:
        # inliers along two directions can pull the least-squares answer far off (a HoloLens frame's vertical
        # went to 79 degrees up with 55 of roll, and was taken): what the search chose stands
        up = chosen
    inl = seg.misalignment(up[None])[:, 0] < tol
    # the inliers must not all be one line (or lines through one image point): their planes must fan out
    return up, float(lengths[inl].sum()) * _plane_spread(planes[inl], lengths[inl])


@dataclass(frozen=True)
class ManhattanFrames:
    """The best frames of the Manhattan search (`manhattan_frames`) in a frame's segments `seg`, best first: each
    frame's three axes (Kx3x3) and which of them is up (K), and the segment length pointing at any of its three
    vanishing points within `tol` (the sine of the inlier angle; K, image widths: what the search ranks them by)."""

    seg: Segments
    axes: np.ndarray
    which: np.ndarray
    explained: np.ndarray
    tol: float

    @property
    def ups(self) -> np.ndarray:
        """Each frame's up axis (Kx3)."""
        return self.axes[np.arange(len(self.axes)), self.which]

    def support(self, k: int) -> float:
        """Frame k's support as `manhattan_up` reports it: its up axis's inlier length plus half that of its two
        horizontal axes (image widths), each times how much its planes fan out. Taken for the chosen frame only:
        for all of them it cost more than the search."""
        seg = self.seg
        mis = seg.misalignment(self.axes[k])
        owner, fit = np.argmin(mis, axis=1), mis.min(axis=1) < self.tol
        support = 0.0
        for a in range(3):
            inl = fit & (owner == a)
            share = float(seg.length[inl].sum()) * _plane_spread(seg.planes[inl], seg.length[inl])
            support += share if a == self.which[k] else 0.5 * share
        return support


def manhattan_frames(seg: Segments, prior_up=None, cone_deg: float | None = None, max_roll_deg: float = 35.0,
                     pitch_range_deg: tuple[float, float] = (-35.0, 60.0), inlier_deg: float = 1.5,
                     iterations: int = 600, keep: int = 20,
                     rng: np.random.Generator | None = None) -> ManhattanFrames | None:
    """The room's three square directions (Manhattan frames) that the most segment length points along: the best
    `keep`, best first (`ManhattanFrames`); None when nothing fits.

    RANSAC over three segments: two of them meet in one direction, the third's plane holds a second square to
    it, and the third is square to both. A segment supports a frame when it points at one of its three
    vanishing points within inlier_deg; a frame's up is the axis that describes a plausible camera
    (`plausible_up`) nearest prior_up (within cone_deg of it) or, with no prior, nearest the camera's own up."""
    if len(seg) < 3:
        return None
    planes, lengths = seg.planes, seg.length
    rng = rng or np.random.default_rng(0)
    p = lengths / lengths.sum()
    i, j, k = (rng.choice(len(planes), size=iterations, p=p) for _ in range(3))
    d1 = np.cross(planes[i], planes[j])
    n1 = np.linalg.norm(d1, axis=1)
    d2 = np.cross(planes[k], d1)  # in the third segment's plane, square to the first direction
    n2 = np.linalg.norm(d2, axis=1)
    ok = (n1 > math.sin(math.radians(2.0))) & (n2 > n1 * math.sin(math.radians(2.0)))
    d1, d2 = d1[ok] / n1[ok, None], d2[ok] / n2[ok, None]
    axes = np.stack([d1, d2, np.cross(d1, d2)], axis=1)            # K x 3 x 3
    axes *= np.where(axes[..., 1:2] > 0, -1.0, 1.0)                # each as an up candidate: y < 0
    ref = CAMERA_UP if prior_up is None else np.asarray(prior_up, np.float64) / np.linalg.norm(prior_up)
    near = axes @ ref                                              # K x 3 cosines
    near[~plausible_up(axes.reshape(-1, 3), max_roll_deg, pitch_range_deg).reshape(-1, 3)] = -2.0
    which = np.argmax(near, axis=1)
    inside = near[np.arange(len(near)), which] > (-1.0 if cone_deg is None else math.cos(math.radians(cone_deg)))
    axes, which = axes[inside], which[inside]
    if len(axes) == 0:
        return None
    tol = math.sin(math.radians(inlier_deg))
    if len(seg) > 40:  # the frames are screened on the 40 longest segments, the best 20 scored on all of them
        top = np.argsort(-lengths)[:40]
        screen = _frame_support(Segments(planes[top], seg.mid[top], seg.direction[top], lengths[top]), axes, tol)
        kept = np.argsort(-screen)[:20]
        axes, which = axes[kept], which[kept]
    explained = _frame_support(seg, axes, tol)
    order = np.argsort(-explained, kind="stable")[:keep]  # stable: the first of equals stays first, as argmax
    # not refined on the inliers: a least-squares fit of each axis to the segments near it, squared again, lost
    # 7-Scenes frames within 5 degrees 0.86 -> 0.76 when tried (on parallel segments thinned, as then; it takes
    # in segments of other directions that pass near)
    return ManhattanFrames(seg, axes[order], which[order], explained[order], tol)


def manhattan_up(seg: Segments, prior_up=None, cone_deg: float | None = None, max_roll_deg: float = 35.0,
                 pitch_range_deg: tuple[float, float] = (-35.0, 60.0), inlier_deg: float = 1.5,
                 iterations: int = 600, rng: np.random.Generator | None = None) -> tuple[np.ndarray | None, float]:
    """Up as the vertical axis of the room's three square directions (a Manhattan frame) that the most segment
    length points along (the best of `manhattan_frames`).

    Rooms are built square: a table's edges, cabinet tops and shelves fix the horizon as well as the few vertical
    edges do. Single frames with no prior, within 5 degrees: 7-Scenes kitchen frames looking down at a table 0.36
    with a search for the vertical alone (it took the table's receding edges for verticals), 0.82 with this one;
    every 4th HoloLens frame 0.77 -> 0.88.
    Returns (up, support): support is the up axis's inlier length plus half that of the two horizontal axes (in
    image widths), each times how much its planes fan out; (None, 0) when nothing fits."""
    frames = manhattan_frames(seg, prior_up, cone_deg, max_roll_deg, pitch_range_deg, inlier_deg, iterations,
                              keep=1, rng=rng)
    if frames is None:
        return None, 0.0
    return frames.ups[0], frames.support(0)


def manhattan_support(seg: Segments, ups: np.ndarray, use: np.ndarray) -> np.ndarray:
    """How square the horizontal segments are if each of ups (Kx3) is vertical: each used segment's plane
    (use: N x K) meets the horizontal plane of up in one direction; the length-weighted resultant of 4x those
    directions' angles. Large when segments run in two directions 90 degrees apart. Returns K values."""
    ref = np.where(np.abs(ups[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = np.cross(ups, ref)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(ups, e1)
    # the horizontal direction in a plane of normal l is l x up; its coordinates on e1, e2 by the triple product
    x = np.einsum("nc,kc->nk", seg.planes, np.cross(ups, e1))   # (l x up) . e1 = l . (up x e1)
    y = np.einsum("nc,kc->nk", seg.planes, np.cross(ups, e2))
    theta = np.arctan2(y, x)
    w = seg.length[:, None] * use
    return np.abs(np.sum(w * np.exp(4j * theta), axis=0))


def _plane_spread(planes: np.ndarray, lengths: np.ndarray) -> float:
    """0 when all planes are the same (one line seen; the vertical is then free to turn about it), 1 when they
    fan out by 20 degrees or more."""
    if len(planes) < 2:
        return 0.0
    w = lengths / lengths.sum()
    # planes through one direction: normals on a great circle; their spread is the middle eigenvalue
    m = (planes * w[:, None]).T @ planes
    ev = np.linalg.eigvalsh(m)  # ascending: ~0, spread^2, rest
    return float(min(1.0, math.sqrt(max(ev[1], 0.0)) / math.sin(math.radians(20.0))))


def up_from_normals(normals: np.ndarray, prior_up, max_angle_deg: float = 30.0) -> tuple[np.ndarray | None, float]:
    """The mean direction of the surface normals (Nx3, unit, camera frame) within max_angle_deg of prior_up,
    after one re-centring on their own mode: floors and table tops. Returns (up, share of normals used)."""
    n = normals[np.isfinite(normals).all(axis=1)]
    if len(n) == 0:
        return None, 0.0
    up = np.asarray(prior_up, np.float64) / np.linalg.norm(prior_up)
    share = 0.0
    for angle in (max_angle_deg, 12.0):
        sel = n @ up > math.cos(math.radians(angle))
        if sel.sum() < 10:
            return None, 0.0
        share = float(sel.mean())
        m = n[sel].mean(axis=0)
        up = m / np.linalg.norm(m)
    return up, share


class AgreedReadings:
    """Up readings that disagree with a held up, kept until they agree among themselves for long enough.

    One reading far from what is held is more likely a bad one (floor edges taken for verticals); the same far
    reading for `frames` frames and `seconds` seconds, each within `spread_deg` of the latest, says the held up is
    the wrong one (the camera turned, or the held up was taken from bad readings). Seconds as well as frames, so a
    still view's repeats at 30 frame/s count as the one view they are.

    turn_deg_per_s: for readings taken in the axes of a camera that may turn between them, each reading may lie
    that much further from the latest per second of its age. A camera pitching 8-10 degrees between frames 1.2 s
    apart moves its up as far: its readings, all right, never agreed within spread_deg, and the held up they
    disagreed with grew staler with every frame (HoloLens walk fed every 3rd frame: held 12-34 degrees off for
    8 s while every reading was within 2 degrees)."""

    def __init__(self, frames: int, seconds: float, spread_deg: float, turn_deg_per_s: float = 0.0):
        self.frames, self.seconds, self.spread_deg = frames, seconds, spread_deg
        self.turn_deg_per_s = turn_deg_per_s
        self._readings: list[tuple[float, np.ndarray]] = []  # (age in seconds, up)

    def add(self, up: np.ndarray, dt: float) -> bool:
        """A far reading, `dt` seconds after the last one: True once the kept readings agree for long enough."""
        self.wait(dt)
        self._readings.append((0.0, np.asarray(up, np.float64)))
        while len(self._readings) > self.frames and self._readings[1][0] + dt > self.seconds:
            self._readings.pop(0)  # the last `frames` readings, and any within `seconds`
        # each reading stands for the interval up to the next: the oldest's age plus one frame is the time covered
        return (len(self._readings) >= self.frames and self._readings[0][0] + dt >= self.seconds
                and all(angle_deg(u, up) < max(self.spread_deg, self.turn_deg_per_s * age)
                        for age, u in self._readings))

    def turn(self, rotation: np.ndarray):
        """The camera turned by `rotation` (3x3, its old axes to its new): the kept readings, taken in its old
        axes, follow into the new."""
        self._readings = [(age, rotation @ u) for age, u in self._readings]

    def wait(self, dt: float):
        """`dt` seconds with no reading to count (one too weak to agree or disagree): the kept ones age."""
        self._readings = [(age + dt, u) for age, u in self._readings]

    def clear(self):
        self._readings.clear()


@dataclass(frozen=True)
class LineReading:
    """What a frame's line segments say of up: the vertical they agree on (None when none) and its support; read
    with no prior, also the Manhattan search's best frames, for the depth to tell apart
    (`GravityEstimator.told_apart_by_depth`)."""

    up: np.ndarray | None
    support: float
    frames: ManhattanFrames | None = None


@dataclass
class GravityEstimator:
    """Up from one frame: vertical lines first, the depth's horizontal surfaces second, an upright camera last.

    Each cue's direction is weighted by how much it is believed; the prior holds roll near 0 (webcams and phones
    are held upright) and is weakest on pitch, which a person changes all the time.
    roll_sigma_deg: how far from upright a camera is believed to be held. lines_sigma_deg, depth_sigma_deg,
    walls_sigma_deg: the typical error of each cue when it has full support (monocular depth tilts floors by 5-10
    degrees and more; walls, used only on a frame with no history, less).
    """

    roll_sigma_deg: float = 6.0
    lines_sigma_deg: float = 1.5
    depth_sigma_deg: float = 8.0
    walls_sigma_deg: float = 5.0
    max_roll_deg: float = 35.0   # the most a camera is believed to be rolled...
    pitch_range_deg: tuple[float, float] = (-35.0, 60.0)  # ...and pitched (positive looking down)
    prior_cone_deg: float = 20.0  # with a prior (the last frame's up), how far this frame's may lie from it
    # with a prior, the Manhattan frame is taken from this support on (image heights of segment length); below it
    # the vertical search's answer (`read_lines`)
    strong_frame: float = 2.5
    line_width: int = 320        # the line detector's working width in pixels
    # the line search samples pairs of segments at random, from this seed on every frame (so a frame's reading is
    # reproducible); another seed is another fair draw, which benchmarks/realroom.py uses to show how much a
    # figure owes to the one draw
    seed: int = 0
    # read with no prior, the Manhattan search's best frames are told apart by the depth too: a frame gains this
    # many image widths of segment length when all the depth's normals face its up (within depth_facing_deg). A
    # camera looking down at a table or floor sees their edges, and floor patterns, meet in points that pose as a
    # vertical tilted 20-50 degrees: as many segments agree with such a frame as with the true one, but the table
    # or floor faces the true up. FastDepth tilts floors by up to 10 degrees, which the tolerance allows
    depth_support: float = 4.0
    depth_facing_deg: float = 15.0

    def segments(self, image: np.ndarray) -> np.ndarray:
        """The line segments (Nx4 pixels) of an HxWx3 uint8 RGB or HxW grey image, for `estimate`: the costly
        part (about 3 ms at 640x480), which needs no depth and so can run beside the depth model."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        return line_segments(gray, self.line_width)

    def read_lines(self, segments: np.ndarray, intr: Intrinsics, prior_up=None) -> LineReading:
        """The up the frame's segments (Nx4 pixels, `segments`) agree on, and their support: the part of
        `estimate` that needs no depth, so it can run beside the depth model with the line detector. The room's
        Manhattan frame (`manhattan_up`; with no prior, its best frames too, for `estimate` to tell apart with the
        depth); near a prior, only where its support reaches strong_frame, else the vertical vanishing point within
        the prior's cone (`vertical_from_lines`)."""
        seg = segments_in_camera(np.asarray(segments, np.float32).reshape(-1, 4), intr)
        cone = None if prior_up is None else self.prior_cone_deg
        frames = manhattan_frames(seg, prior_up, cone, self.max_roll_deg, self.pitch_range_deg,
                                  rng=np.random.default_rng(self.seed))
        support = 0.0 if frames is None else frames.support(0)
        if frames is not None and prior_up is None:
            return LineReading(frames.ups[0], support, frames)
        if frames is not None and support >= self.strong_frame * intr.height / intr.width:
            return LineReading(frames.ups[0], support)
        # near a held up, a frame with weak support is usually one pattern (floorboards, a carpet's stripes) and a
        # stray segment or two, free to turn about the pattern's direction; the vertical search within the cone
        # keeps to the verticals there (HoloLens walk, the SDK's draw: gravity within 5 degrees on 0.92 of frames
        # taking every frame, 0.99 so; fed every 2nd frame 0.76 and 0.88)
        up, support = vertical_from_lines(seg, prior_up, cone, self.max_roll_deg, self.pitch_range_deg,
                                          rng=np.random.default_rng(self.seed))
        return LineReading(up, support)

    def estimate(self, segments: np.ndarray | LineReading, intr: Intrinsics, normals: np.ndarray | None = None,
                 prior_up=None, walls: bool = False) -> Gravity:
        """segments: Nx4 pixel segments of the frame (`segments`), or their `read_lines` reading taken with the
        same prior; normals: Nx3 (or HxWx3) camera-frame surface normals of the depth, or None; prior_up: the up
        believed before this frame, or None; walls: let the normals of walls and fronts refine the estimate too
        (for a frame with no history: a photo, a stream's first frame)."""
        cues = []  # (direction, weight = 1 / sigma^2 in radians^-2, name)
        lines = segments if isinstance(segments, LineReading) else self.read_lines(segments, intr, prior_up)
        if normals is not None:
            lines = self.told_apart_by_depth(lines, normals)
        up_l, support = lines.up, lines.support
        if up_l is not None and support > 0:
            # full weight from about two image heights of support (`read_lines`: vertical segments, and with a
            # Manhattan frame half the length of the horizontal ones); a few short segments (a blurred kitchen, a
            # chair back) are as likely to be a slanted edge as a vertical one
            belief = min(1.0, support / (2.0 * intr.height / intr.width)) ** 2
            cues.append((up_l, belief / math.radians(self.lines_sigma_deg) ** 2, LINES))
        if normals is not None:
            # floors and table tops near the up found so far: tilted by the depth's errors, so a weak cue
            around = up_l if up_l is not None else (CAMERA_UP if prior_up is None else prior_up)
            up_d, share = up_from_normals(np.asarray(normals).reshape(-1, 3), around, 25.0)
            if up_d is not None and share > 0.03:
                belief = min(1.0, share / 0.15)
                cues.append((up_d, belief / math.radians(self.depth_sigma_deg) ** 2, DEPTH))
        if walls and normals is not None and cues:
            # walls stand square to up; FastDepth bends them less than the floors it tilts by 20 degrees and more
            # (7-Scenes), but a stream's held up already does better than they do
            first = fuse_up(cues, self.roll_sigma_deg).up
            up_w, share = up_from_walls(np.asarray(normals).reshape(-1, 3), first, 25.0)
            if up_w is not None and share > 0.1:
                belief = min(1.0, share / 0.3)
                cues.append((up_w, belief / math.radians(self.walls_sigma_deg) ** 2, DEPTH))
        return fuse_up(cues, self.roll_sigma_deg)

    def told_apart_by_depth(self, lines: LineReading, normals: np.ndarray) -> LineReading:
        """The reading's Manhattan frame chosen again with the depth's say (`depth_support`): the segment length each
        explains plus depth_support times the share of the known normals (Nx3 or HxWx3, camera frame) that face its
        up. A reading with no frames to choose from (read near a prior) is returned as it is."""
        frames = lines.frames
        if frames is None or self.depth_support <= 0.0:
            return lines
        n = np.asarray(normals, np.float32).reshape(-1, 3)
        n = n[np.isfinite(n).all(axis=1)]
        if len(n) == 0:
            return lines
        ups = frames.ups
        facing = (n @ ups.T.astype(np.float32) > math.cos(math.radians(self.depth_facing_deg))).mean(axis=0)
        best = int(np.argmax(frames.explained + self.depth_support * facing))
        return lines if best == 0 else LineReading(frames.ups[best], frames.support(best), frames)


def up_from_walls(normals: np.ndarray, around, max_angle_deg: float = 25.0,
                  one_wall: float = 0.5) -> tuple[np.ndarray | None, float]:
    """The direction square to the surface normals (Nx3, unit, camera frame) within max_angle_deg of square to
    `around` (walls, cabinet fronts): the least eigenvector of their scatter. When they face one way only (the
    second eigenvalue under `one_wall` of the largest) they fix up only to a plane, and `around` is projected onto
    it. Returns (up, share of the normals used); (None, 0) with under 30 such normals."""
    n = normals[np.isfinite(normals).all(axis=1)]
    if len(n) == 0:
        return None, 0.0
    around = np.asarray(around, np.float64) / np.linalg.norm(around)
    walls = n[np.abs(n @ around) < math.sin(math.radians(max_angle_deg))].astype(np.float64)
    if len(walls) < 30:
        return None, 0.0
    w, v = np.linalg.eigh(walls.T @ walls)  # ascending
    up = v[:, :2] @ (v[:, :2].T @ around) if w[1] < one_wall * w[2] else v[:, 0]
    norm = np.linalg.norm(up)
    if norm < 1e-6:
        return None, 0.0
    up /= norm
    return (up if up @ around > 0 else -up), float(len(walls) / len(n))


def fuse_up(cues, roll_sigma_deg: float) -> Gravity:
    """Weighted mean of unit directions [(up, weight, name)], with roll pulled toward 0 by a prior of
    roll_sigma_deg. The confidence is the share of the total weight that came from the cues, not the prior."""
    w_roll = 1.0 / math.radians(roll_sigma_deg) ** 2
    if not cues:
        return Gravity(CAMERA_UP.copy(), 0.0, PRIOR)
    total = sum(w for _, w, _ in cues)
    mean = sum(u * w for u, w, _ in cues) / total
    up = mean / np.linalg.norm(mean)
    # the prior says nothing of pitch: it shrinks only the sideways lean (x) toward 0
    up[0] *= total / (total + w_roll)
    up /= np.linalg.norm(up)
    best = max(cues, key=lambda c: c[1])[2]
    # confidence: 1 once the cues outweigh the prior tenfold (lines at full support do), 0 with no cue
    confidence = float(min(1.0, total / (10.0 * w_roll)))
    return Gravity(up, confidence, best)
