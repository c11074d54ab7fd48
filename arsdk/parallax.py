"""Whether what the depth lays on the floor moves like the floor: the motion parallax between two tracked views.

FastDepth draws a table or counter seen from above 1.3-1.8 times as far as it is, its far part at the floor's depth,
and the rest of the view within 10 %: the depth alone then finds a floor at the tracked camera height, and the water
covers the table (the 7-Scenes kitchen as a stream, BENCHMARKS.md). The camera's own motion tells them apart. A past
view is warped into this one through the depth scaled by each of a set of factors, with the tracked motion between
them; where the picture matches best is how far the pixels truly lie, as a share of the depth's distance. A table top
at 0.5-0.6 of the camera height matches at about that share of its drawn distance; the floor at about 1. The same
match over the rest of the view says how well the tracked motion's scale agrees with the depth at all (the map's
translation can be off by a quarter), and the floor's share is read against it too.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import check_fields
from .geometry import Intrinsics, pixel_rays, ray_descent
from .tracking import rotation_deg


@dataclass(frozen=True)
class ParallaxSettings:
    """width: the pictures' width for the match (px); scales: the depth factors tried (ascending); window: the side
    of the local correlation's window (px, odd); min_texture: the grey variance a window needs to count (grey
    levels squared, 0-255 picture); min_pixels, min_block_pixels: textured pixels a region and a block need;
    min_margin: how much better a raised region must match at its best factor than at the rest of the view's;
    min_coverage: the share of a raised region's area its blocks with texture enough to match must cover;
    min_baseline: the camera's move between the views as a share of its height above the floor (the floor and a
    table top at half that height move apart by about that share of the focal length); raised: the floor region is
    taken for a raised surface where its best factor is at most this, both on its own and against the rest of the
    view's (a surface 0.42 camera heights or more above the floor: a table, counter or desk); block: the side (px)
    of the blocks of a raised region that are matched on their own, and floor_like: the factor from which such a
    block moves like the floor (on its own and against the rest) and is kept on it; min_kept_share: the share of
    the view kept blocks must cover for the floor to stay in view; every_s: seconds between checks while the floor
    holds (each frame while it does not), and retry_s after a check that could not tell; hold_turn_deg, hold_move:
    how far the camera may turn (degrees) or move (a share of its height) from a check before its verdict lapses;
    keep_s, keep_every_s: how far back past views are kept, and how far apart (at a camera's rate most frames are
    skipped: the picture is brought down only for a view kept or checked); off_plane_margin: how much better
    (correlation) a block of off_plane_block px square must match through the depth as drawn than through the floor
    plane to be held off the floor (`FloorParallax.floor_motion`; None: never), where more than half of it is
    drawn more than off_plane_share of the plane's distance off the plane and lands at least off_plane_apart_px
    (pixels of the check's picture) from where the plane puts it in the past view (nearer, the correlation cannot
    tell the two apart: a carpet the depth draws 0.2-0.4 m up under a camera 1.6 m up, seen from 10 cm away, lands
    about a pixel from the floor's place, a table top at half the floor's distance four); a block that matches
    through the plane better by the same margin, with as much of it drawn as far off, moves as the floor does, and
    is shown on it. block_raised: where the floor region moves like the floor as a whole, a block of it whose own
    best factor is at most this times the region's, and matches there better by block_margin (correlation) than at
    the region's, is lifted to its factor (`lifted_blocks`; None: never): a sofa seat or a table top the depth draws
    among the floor."""

    width: int = 160
    scales: tuple[float, ...] = tuple(float(x) for x in np.exp(np.linspace(np.log(0.3), np.log(1.6), 15)))
    window: int = 7
    min_texture: float = 4.0
    min_pixels: int = 200
    min_block_pixels: int = 40
    min_margin: float = 0.15
    min_coverage: float = 0.4
    min_baseline: float = 0.06
    raised: float = 0.58
    raised_against_rest: float = 0.65
    block: int = 20
    floor_like: float = 0.8
    min_kept_share: float = 0.05
    every_s: float = 0.5
    retry_s: float = 0.2
    hold_turn_deg: float = 15.0
    hold_move: float = 0.25
    keep_s: float = 2.0
    keep_every_s: float = 0.1
    off_plane_margin: float | None = 0.15
    off_plane_block: int = 8
    off_plane_share: float = 0.15
    off_plane_apart_px: float = 2.0
    block_raised: float | None = 0.6
    block_margin: float = 0.1

    def __post_init__(self):
        checks = [
            ("width", self.width >= 32, "pixels >= 32"),
            ("scales", len(self.scales) >= 3 and all(b > a > 0 for a, b in zip(self.scales, self.scales[1:])),
             "at least 3 ascending factors > 0"),
            ("window", self.window >= 3 and self.window % 2 == 1, "an odd side >= 3"),
            ("min_texture", self.min_texture >= 0.0, "a variance >= 0"),
            ("min_pixels", self.min_pixels >= 1, "pixels >= 1"),
            ("min_block_pixels", 1 <= self.min_block_pixels <= self.block ** 2, "pixels in [1, block squared]"),
            ("min_margin", self.min_margin >= 0.0, "a correlation >= 0"),
            ("min_coverage", 0.0 <= self.min_coverage <= 1.0, "a share in [0, 1]"),
            ("min_baseline", self.min_baseline > 0.0, "a share of the camera height > 0"),
            ("raised", 0.0 < self.raised < 1.0, "a factor in (0, 1)"),
            ("raised_against_rest", 0.0 < self.raised_against_rest < 1.0, "a factor in (0, 1)"),
            ("block", self.block >= self.window, "pixels >= window"),
            ("floor_like", self.raised < self.floor_like <= 1.0, "a factor in (raised, 1]"),
            ("min_kept_share", 0.0 <= self.min_kept_share <= 1.0, "a share in [0, 1]"),
            ("every_s", self.every_s >= 0.0, "seconds >= 0"),
            ("retry_s", self.retry_s >= 0.0, "seconds >= 0"),
            ("hold_turn_deg", self.hold_turn_deg > 0.0, "degrees > 0"),
            ("hold_move", self.hold_move > 0.0, "a share of the camera height > 0"),
            ("keep_s", self.keep_s > 0.0, "seconds > 0"),
            ("keep_every_s", 0.0 <= self.keep_every_s < self.keep_s, "seconds in [0, keep_s)"),
            ("off_plane_margin", self.off_plane_margin is None or self.off_plane_margin >= 0.0,
             "None, or a correlation >= 0"),
            ("off_plane_block", self.off_plane_block >= self.window, "pixels >= window"),
            ("off_plane_share", self.off_plane_share > 0.0, "a share > 0"),
            ("off_plane_apart_px", self.off_plane_apart_px >= 0.0, "pixels >= 0"),
            ("block_raised", self.block_raised is None or 0.0 < self.block_raised < 1.0, "None, or a factor in (0, 1)"),
            ("block_margin", self.block_margin >= 0.0, "a correlation >= 0"),
        ]
        check_fields(self, checks)


def _local_stats(img: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    k = (window, window)
    mean = cv2.boxFilter(img, -1, k)
    return mean, cv2.boxFilter(img * img, -1, k) - mean * mean


def _past_terms(intr: Intrinsics, current_to_past: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """K R ray (three HxW float32, one per row of the product) and K t: a pixel at depth z lands, in the picture of
    the camera moved by `current_to_past`, where the 3-vector z * K R ray + K t points."""
    rx, ry = pixel_rays(intr)
    rx, ry = rx[None, :], ry[:, None]
    KR = (intr.matrix @ current_to_past[:3, :3]).astype(np.float32)
    return [KR[i, 0] * rx + KR[i, 1] * ry + KR[i, 2] for i in range(3)], \
        (intr.matrix @ current_to_past[:3, 3]).astype(np.float32)


def match_by_scale(gray: np.ndarray, past: np.ndarray, depth: np.ndarray, intr: Intrinsics,
                   current_to_past: np.ndarray, scales, window: int = 7,
                   min_texture: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """How well `past` (a grey picture, float32, the size of `gray`) matches `gray` where each pixel of `gray` lies at
    its `depth` (metres, 0 or NaN unknown; same size) times each factor of `scales`, seen from the camera moved by the
    4x4 `current_to_past` (metres). Returns the local correlation over `window` px, (len(scales), H, W) float32, and
    where it counts, the same shape, bool: a known depth, texture in both pictures (grey variance over `min_texture`
    here, a quarter of it in the past picture), and a point that lands inside `past` in front of its camera."""
    h, w = gray.shape
    known = np.isfinite(depth) & (depth > 0)
    z = np.where(known, depth, 0.0).astype(np.float32)
    # the past pixel of a point s * z * ray is K (R z ray + t / s) up to its scale: one product, then a sum per factor
    rays, Kt = _past_terms(intr, current_to_past)
    base = [z * r for r in rays]
    mean_g, var_g = _local_stats(gray, window)
    textured = known & (var_g > min_texture)
    ncc = np.zeros((len(scales), h, w), np.float32)
    counts = np.zeros((len(scales), h, w), bool)
    for i, s in enumerate(scales):
        px, py, pz = (base[k] + Kt[k] / np.float32(s) for k in range(3))
        front = pz > 1e-6
        mx, my = px / pz, py / pz  # behind the camera: left out by `front`
        inside = front & (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        warped = cv2.remap(past, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mean_p, var_p = _local_stats(warped, window)
        cov = cv2.boxFilter(gray * warped, -1, (window, window)) - mean_g * mean_p
        ncc[i] = cov / np.sqrt(np.maximum(var_g * var_p, 1e-6))
        counts[i] = textured & inside & (var_p > min_texture / 4)
    return ncc, counts


def scale_curve(ncc: np.ndarray, counts: np.ndarray, region: np.ndarray, min_pixels: int) -> np.ndarray | None:
    """The mean correlation of `region` (HxW bool) under each factor (`match_by_scale`'s outputs), or None where
    fewer than `min_pixels` of its pixels count under some factor."""
    sel = counts & region
    n = sel.sum(axis=(1, 2))
    if n.min() < min_pixels:
        return None
    return np.where(sel, ncc, 0.0).sum(axis=(1, 2)) / n


def block_curves(ncc: np.ndarray, counts: np.ndarray, region: np.ndarray, block: int,
                 min_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean correlation of `region` within each `block` x `block` pixel block under each factor: (S, H // block,
    W // block), and which blocks have `min_pixels` counting under every factor (the picture's last partial rows and
    columns are left out)."""
    S, h, w = ncc.shape
    by, bx = h // block, w // block
    sel = (counts & region)[:, :by * block, :bx * block].reshape(S, by, block, bx, block)
    n = sel.sum(axis=(2, 4))
    mean = np.where(sel, ncc[:, :by * block, :bx * block].reshape(S, by, block, bx, block), 0.0).sum(axis=(2, 4))
    return mean / np.maximum(n, 1), n.min(axis=0) >= min_pixels


def block_scales(ncc: np.ndarray, counts: np.ndarray, region: np.ndarray, scales, block: int,
                 min_pixels: int) -> np.ndarray:
    """The best factor of `region` within each `block` x `block` pixel block: (H // block, W // block), NaN where
    too few pixels count (`block_curves`)."""
    mean, enough = block_curves(ncc, counts, region, block, min_pixels)
    return np.where(enough, np.asarray(scales, np.float64)[np.argmax(mean, axis=0)], np.nan)


def lifted_blocks(ncc: np.ndarray, counts: np.ndarray, region: np.ndarray, scales, region_best: int, block: int,
                  min_pixels: int, raised: float, margin: float) -> np.ndarray | None:
    """The factor of each pixel of `region` whose `block` x `block` block matches best at a factor of at most `raised`
    times the region's best (`scales[region_best]`), and better there by `margin` than at the region's; NaN
    elsewhere (HxW float32), or None where no block is. The region moves like the floor as a whole, but a block of
    it does not: FastDepth draws a sofa seat or a table top beside the floor at the floor's depth."""
    mean, enough = block_curves(ncc, counts, region, block, min_pixels)
    best = np.argmax(mean, axis=0)
    scales = np.asarray(scales, np.float32)
    lift = (enough & (scales[best] <= raised * scales[region_best])
            & (np.take_along_axis(mean, best[None], 0)[0] - mean[region_best] >= margin))
    if not lift.any():
        return None
    factor = spread_blocks(np.where(lift, scales[best], np.float32(np.nan)), block, region.shape, np.nan)
    return np.where(region, factor, np.float32(np.nan))


def plane_or_drawn(gray: np.ndarray, past: np.ndarray, depth: np.ndarray, plane_depth: np.ndarray, intr: Intrinsics,
                   current_to_past: np.ndarray, block: int, margin: float, off_share: float, window: int = 7,
                   min_texture: float = 4.0, apart_px: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Which of two hypotheses `past` matches `gray` clearly better by, in `block` x `block` px blocks (bool, (H //
    block, W // block) each): each pixel at its `depth` (the first array: the view lies where it is drawn), or at
    `plane_depth`, where its ray meets the floor (the second: it lies on the floor). Both metres, 0 or NaN unknown;
    the other arguments as `match_by_scale`'s. Said where the mean correlation over the pixels that count under both
    is higher by more than `margin` one way, at least a quarter of the block's pixels count, and more than half of
    them are drawn more than `off_share` of the plane's distance off it and land at least `apart_px` from the
    plane's place in `past` (nearer, the two hypotheses are one, and the correlation's noise picks either)."""
    both = np.isfinite(depth) & (depth > 0) & np.isfinite(plane_depth) & (plane_depth > 0)
    drawn, drawn_counts = match_by_scale(gray, past, np.where(both, depth, np.nan), intr, current_to_past, (1.0,),
                                         window, min_texture)
    plane, plane_counts = match_by_scale(gray, past, np.where(both, plane_depth, np.nan), intr, current_to_past,
                                         (1.0,), window, min_texture)
    h, w = gray.shape
    by, bx = h // block, w // block

    def per_block(a):
        return a[:by * block, :bx * block].reshape(by, block, bx, block)

    counted = per_block(drawn_counts[0] & plane_counts[0])
    n = counted.sum(axis=(1, 3))
    better = np.where(counted, per_block(drawn[0] - plane[0]), 0.0).sum(axis=(1, 3)) / np.maximum(n, 1)
    off = both & (np.abs(depth - plane_depth) > off_share * plane_depth)
    if apart_px > 0.0:
        off &= landing_gap(depth, plane_depth, intr, current_to_past) >= apart_px
    told = (n >= block * block // 4) & (per_block(off).mean(axis=(1, 3)) > 0.5)
    return told & (better > margin), told & (better < -margin)


def landing_gap(z1: np.ndarray, z2: np.ndarray, intr: Intrinsics, current_to_past: np.ndarray) -> np.ndarray:
    """How far apart (px, HxW float32) each pixel of a picture lands in the picture of the camera moved by the 4x4
    `current_to_past` when it lies at depth `z1` and at depth `z2` (camera z, metres, > 0, HxW) along its ray. A
    point at z lands at (z a + b) / (z c + d) per axis (`_past_terms`), so the two landings differ by
    (z1 - z2) (a d - b c) / ((z1 c + d) (z2 c + d))."""
    (ax, ay, az), (bx, by, bz) = _past_terms(intr, current_to_past)
    z1, z2 = z1.astype(np.float32), z2.astype(np.float32)
    along = np.hypot(ax * bz - bx * az, ay * bz - by * az)
    return np.abs(z1 - z2) * along / np.maximum(np.abs((z1 * az + bz) * (z2 * az + bz)), np.float32(1e-9))


def spread_blocks(blocks: np.ndarray, block: int, shape: tuple[int, int], fill=False) -> np.ndarray:
    """A (H // block, W // block) grid of blocks (bool, or any values) as a pixel array of `shape` (H, W); the last
    partial rows and columns, which no block covers, hold `fill`."""
    out = np.full(shape, fill, blocks.dtype)
    out[:blocks.shape[0] * block, :blocks.shape[1] * block] = np.repeat(np.repeat(blocks, block, 0), block, 1)
    return out


def floor_region(depth: np.ndarray, intr: Intrinsics, camera_to_world: np.ndarray, band: float = 0.1) -> np.ndarray:
    """The pixels whose `depth` (world metres) puts them on the world's floor (y = 0) or below it: less than `band`
    camera heights above it (camera_to_world: y up, the camera `camera_to_world[1, 3]` above the floor)."""
    up = camera_to_world[1, :3]  # world up in the camera's axes
    height = float(camera_to_world[1, 3])
    above = height - depth * ray_descent(intr, up)
    return np.isfinite(depth) & (depth > 0) & (above < band * height)


@dataclass(frozen=True)
class RaisedFloor:
    """What the depth laid on the floor, found raised by the motion: its points lie at `factor` of their drawn
    distance, except in the blocks `kept` (bool, the check's picture size) whose own match puts them on the floor;
    `visible`: whether those cover enough of the view for the floor to stay in view. Or, where the region moves like
    the floor as a whole, `lifted`: the factor of the pixels of its blocks that do not (float32, the check's picture
    size, NaN elsewhere; `lifted_blocks`), with factor 1 and every block kept."""

    factor: float
    kept: np.ndarray
    visible: bool
    lifted: np.ndarray | None = None


@dataclass(frozen=True)
class FloorMotion:
    """What the camera's motion since a past view says of the view against the floor plane (bool, the check's picture
    size; `plane_or_drawn`): `off_floor`, where it lies as the depth draws it, off the plane; `on_floor`, where the
    depth draws it off the plane but it moves as the floor does."""

    off_floor: np.ndarray
    on_floor: np.ndarray


@dataclass
class _Past:
    index: int
    timestamp: float
    gray: np.ndarray


class FloorParallax:
    """Checks, every `ParallaxSettings.every_s` on a tracked stream, that what the depth lays on the floor moves like
    the floor. Feed every frame's picture (`remember`); `raised(...)` says whether the floor region of this frame's
    depth is a raised surface, and how far off its depth is, by the last check, held while the camera stays near
    where it was made."""

    def __init__(self, settings: ParallaxSettings | None = None):
        self.settings = settings or ParallaxSettings()
        self.reset()

    def reset(self):
        self.checks = 0  # checks made since the last reset (for tests and benchmarks)
        self._past: list[_Past] = []
        # (RaisedFloor or None, camera-to-world where it was checked)
        self._verdict: tuple[RaisedFloor | None, np.ndarray] | None = None
        self._checked_at: float | None = None
        self._tried_at: float | None = None  # the last check made, whether or not it could tell
        self._small: tuple[float | None, np.ndarray] | None = None
        # (timestamp, factor): where the last check found the rest of the view to match best, as a share of its depth
        self._rest: tuple[float, float] | None = None

    def small(self, image: np.ndarray, timestamp: float | None = None) -> np.ndarray:
        """The grey picture the check works on (float32, `ParallaxSettings.width` wide), of an RGB `image`; the one
        made last is given again for the same `timestamp`."""
        if timestamp is not None and self._small is not None and self._small[0] == timestamp:
            return self._small[1]
        h, w = image.shape[:2]
        size = (self.settings.width, max(8, round(h * self.settings.width / w)))
        gray = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        gray = gray.astype(np.float32)
        self._small = (timestamp, gray)
        return gray

    def remember(self, index: int, timestamp: float, image: np.ndarray):
        """Keep a frame's picture (RGB, any size; kept `keep_every_s` apart at most) for later checks."""
        if self._past and timestamp - self._past[-1].timestamp < self.settings.keep_every_s:
            return
        self._past.append(_Past(index, timestamp, self.small(image, timestamp)))
        while self._past and timestamp - self._past[0].timestamp > self.settings.keep_s:
            self._past.pop(0)

    def raised(self, image: np.ndarray, timestamp: float, depth: np.ndarray, intr: Intrinsics,
               camera_to_world: np.ndarray, past_pose, scale: float = 1.0) -> RaisedFloor | None:
        """Whether the floor region of `depth` times `scale` (`floor_region`: world metres, `intr`'s size) is a
        raised surface (None: it is the floor, or nothing tells), in the RGB `image` of this frame (any size) seen
        at `timestamp` (seconds). camera_to_world: this frame's (world metres, y up);
        past_pose(index): a remembered frame's, or None. Checked when due and a past view lies far enough away;
        otherwise the last verdict holds while the camera stays near where it was made."""
        s = self.settings
        height = float(camera_to_world[1, 3])
        every = 0.0 if self._verdict is not None and self._verdict[0] is not None else s.every_s
        due = ((self._checked_at is None or timestamp - self._checked_at >= every)
               and (self._tried_at is None or timestamp - self._tried_at >= s.retry_s))
        ref = self._reference(camera_to_world, height, past_pose) if due and height > 0 else None
        if ref is not None:
            found = self._check(self.small(image, timestamp), ref, depth, scale, intr, camera_to_world, timestamp)
            self._tried_at = timestamp
            if found is not False:
                self.checks += 1
                self._checked_at = timestamp
                self._verdict = (found, camera_to_world.copy())
        if self._verdict is None:
            return None
        found, where = self._verdict
        turn = rotation_deg(where[:3, :3].T @ camera_to_world[:3, :3])
        moved = np.linalg.norm(where[:3, 3] - camera_to_world[:3, 3])
        if turn > s.hold_turn_deg or moved > s.hold_move * max(height, 1e-6):
            self._verdict = None
            return None
        return found

    def floor_motion(self, image: np.ndarray, timestamp: float, depth: np.ndarray, intr: Intrinsics,
                     camera_to_world: np.ndarray, past_pose, scale: float = 1.0) -> FloorMotion | None:
        """Where `depth` times `scale` (world metres, `intr`'s size) draws the view off the floor plane and the
        camera's motion since a past view agrees (`off_floor`: there the floor's colours must not grow, nor a floor
        map lay the floor; a table top of the floor's wood under a camera 1.6 m up lies at half the plane's distance
        along its rays), and where it does not but moves as the floor (`on_floor`: FastDepth draws a wooden floor
        beside the HoloLens walk's blue carpet, or the far part of a grey one, 0.5-1 m up, and the colours, the
        tables' too, do not take it down). None where no past view lies far enough away or the test is off.
        Arguments as `raised`'s; both hypotheses are taken at the rest of the view's factor found by the last check
        within `keep_s` (the tracked translation's scale can be off by a quarter)."""
        s = self.settings
        height = float(camera_to_world[1, 3])
        ref = self._reference(camera_to_world, height, past_pose) if s.off_plane_margin is not None and height > 0 \
            else None
        if ref is None:
            return None
        gray = self.small(image, timestamp)
        if ref[0].gray.shape != gray.shape:  # the frame size changed
            return None
        h, w = gray.shape
        sintr = intr.scaled(w, h)
        rest = self._rest[1] if self._rest is not None and 0.0 <= timestamp - self._rest[0] <= s.keep_s else 1.0
        small = cv2.resize(depth, (w, h), interpolation=cv2.INTER_NEAREST) * np.float32(scale * rest)
        descent = ray_descent(sintr, camera_to_world[1, :3])
        plane = np.where(descent > 1e-3, height * rest / np.maximum(descent, 1e-3), np.nan)
        off, on = plane_or_drawn(gray, ref[0].gray, small, plane.astype(np.float32), sintr, ref[1], s.off_plane_block,
                                 s.off_plane_margin, s.off_plane_share, s.window, s.min_texture, s.off_plane_apart_px)
        return FloorMotion(spread_blocks(off, s.off_plane_block, (h, w)), spread_blocks(on, s.off_plane_block, (h, w)))

    def _reference(self, camera_to_world, height, past_pose) -> tuple[_Past, np.ndarray] | None:
        """The latest past view at least `min_baseline` camera heights away, and this camera's pose relative to it."""
        for past in reversed(self._past):
            pose = past_pose(past.index)
            if pose is None:
                continue
            current_to_past = np.linalg.inv(pose) @ camera_to_world
            if np.linalg.norm(current_to_past[:3, 3]) >= self.settings.min_baseline * height:
                return past, current_to_past
        return None

    def _check(self, gray, ref, depth, scale, intr, camera_to_world, timestamp) -> RaisedFloor | None | bool:
        """A raised floor region, None where it moves like the floor, False where a region has too little texture
        to tell or its match has no peak inside the factors tried."""
        s = self.settings
        h, w = gray.shape
        if ref[0].gray.shape != gray.shape:  # the frame size changed
            return False
        small = cv2.resize(depth, (w, h), interpolation=cv2.INTER_NEAREST) * np.float32(scale)
        sintr = intr.scaled(w, h)
        known = np.isfinite(small) & (small > 0)
        floor = floor_region(small, sintr, camera_to_world)
        ncc, counts = match_by_scale(gray, ref[0].gray, small, sintr, ref[1], s.scales, s.window, s.min_texture)
        curves = [scale_curve(ncc, counts, r, s.min_pixels) for r in (floor, known & ~floor)]
        if curves[0] is None or curves[1] is None:
            return False
        best = [int(np.argmax(c)) for c in curves]
        if min(best) == 0 or max(best) == len(s.scales) - 1:  # no peak inside the factors tried: nothing to go by
            return False
        on_floor, rest = s.scales[best[0]], s.scales[best[1]]
        self._rest = (timestamp, rest)
        # raised, and clearly so: matched better there than where the rest of the view is
        at_rest = curves[0][best[1]]
        if not (on_floor <= s.raised and on_floor / rest <= s.raised_against_rest
                and curves[0][best[0]] - at_rest >= s.min_margin):
            if s.block_raised is None:
                return None
            lifted = lifted_blocks(ncc, counts, floor, s.scales, best[0], s.block, s.min_block_pixels,
                                   s.block_raised, s.block_margin)
            return None if lifted is None else RaisedFloor(1.0, np.ones((h, w), bool), True, lifted)
        # a region raised as a whole can hold some floor (a table with the floor beside it): blocks that move like
        # the floor on their own stay on it
        blocks = block_scales(ncc, counts, floor, s.scales, s.block, s.min_block_pixels)
        # and said by texture spread over the region, not by a corner of it: the wooden floor beside the HoloLens
        # meeting table is too plain to match, and the region matched as raised where only the table's edge and a
        # chair had texture (2 blocks of the 10-14 it covers)
        if np.count_nonzero(np.isfinite(blocks)) < s.min_coverage * np.count_nonzero(floor) / s.block ** 2:
            return None
        like = np.nan_to_num(np.minimum(blocks, blocks / rest), nan=0.0) >= s.floor_like
        kept = spread_blocks(like, s.block, (h, w)) & floor
        visible = np.count_nonzero(kept) >= s.min_kept_share * max(1, np.count_nonzero(known))
        return RaisedFloor(on_floor, kept, bool(visible))
