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
from .geometry import (CAMERA_UP, FloorPlane, Intrinsics, normals_from_points, project, sample_points,
                       unproject, warp_depth)
from .imaging import fill_nearest

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


def score_depth(estimate, samples) -> tuple[dict[str, float], dict[str, float]]:
    """Mean metrics (raw metric, median-scaled) of `estimate(image, intrinsics)` -> HxW depth (m) over samples
    (image, depth, intrinsics, mask): the one scoring loop of training/evaluate.py and benchmarks/perception.py."""
    raw, med = [], []
    for image, depth, intr, mask in samples:
        d = estimate(image, intr)
        raw.append(depth_metrics(d, depth, mask))
        med.append(depth_metrics(median_scaled(d, depth, mask), depth, mask))
    return mean_metrics(raw), mean_metrics(med)


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


def load_training_sequences(root: Path, step: int = 1) -> list[list[PosedFrame]]:
    """The manifest's training sequences (the HoloLens one: colour and depth registered, gravity-aligned poses),
    every `step`-th frame, in order."""
    manifest = json.loads((root / "manifest.json").read_text())
    out = []
    for seq in manifest.get("training_sequences", []):
        intr = Intrinsics(**seq["intrinsics"])
        poses = np.loadtxt(root / seq["poses"]).reshape(-1, 4, 4)
        if len(poses) != len(seq["frames"]):
            raise InputError(f"{seq['poses']}: {len(poses)} poses for {len(seq['frames'])} frames")
        frames = []
        for i in range(0, len(seq["frames"]), step):
            name = seq["frames"][i]
            depth = _decode_depth(root / seq["depth"].format(frame=name), seq["depth_unit_m"], "uint16")
            depth[depth == seq.get("depth_invalid", 0)] = 0
            frames.append(PosedFrame(f"{seq['set']}/{name}", read_image(root / seq["color"].format(frame=name)),
                                     depth, intr, poses[i]))
        out.append(frames)
    return out


def pose_up(camera_to_world: np.ndarray) -> np.ndarray:
    """World up (y) in the camera frame of a gravity-aligned camera-to-world pose."""
    return np.asarray(camera_to_world, np.float64)[:3, :3].T @ np.array([0.0, 1.0, 0.0])


def true_floor(depth: np.ndarray, intr: Intrinsics, up=None, min_camera_height: float = 0.9,
               tolerance: float = 0.05, below: float | None = None) -> tuple[FloorPlane | None, float]:
    """The floor in sensor depth, as the benchmarks' truth: (plane, share of the frame on it).

    up: the true up in the camera frame (from a gravity-aligned pose), or None to take the mean normal of the
    depth's up-facing surfaces. The floor is the lowest level facing up at least min_camera_height below the
    camera (a surface nearer than that is a table or counter) holding 2 % of the known points; the share counts
    the frame's pixels within `tolerance` (m, or 4 % of the height) of it. (None, 0) when there is none.
    below: the floor's known distance below the camera (m; a posed sequence, `sequence_floors`): the level is
    that, not searched for, so a sofa seat or a table top is never taken for the floor.
    """
    from .floor import lowest_level
    from .gravity import up_from_normals

    d = cv2.medianBlur(depth.astype(np.float32), 5)  # Kinect depth is stepped: normals need it smoothed
    grid = sample_points(d, intr, 8)
    p, n = grid.reshape(-1, 3), normals_from_points(grid).reshape(-1, 3)
    ok = np.isfinite(p).all(axis=1) & np.isfinite(n).all(axis=1)
    p, n = p[ok], n[ok]
    if up is None:
        up, _ = up_from_normals(n, CAMERA_UP, 40.0)
        if up is not None:
            up, _ = up_from_normals(n, up, 10.0)
        if up is None:
            return None, 0.0
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    if below is None:
        heights = -(p[n @ up > np.cos(np.radians(20.0))] @ up)
        level = lowest_level(heights[heights > min_camera_height], len(p), 0.02, 0.04)
        if level is None:
            return None, 0.0
    else:
        level = float(below)
    height = unproject(d, intr).reshape(-1, 3) @ up + level
    known = np.isfinite(height)
    share = float(np.mean(np.abs(height[known]) < max(tolerance, 0.04 * level))) * float(known.mean())
    return FloorPlane(up, float(level), share, share > 0), share


def room_floors(depths: list[np.ndarray], intrinsics: list[Intrinsics], camera_to_world: list[np.ndarray],
                world_up=(0.0, 1.0, 0.0), same_floor: float = 0.15) -> list[tuple[FloorPlane | None, float]]:
    """`true_floor` of every view of one room with known poses, with the room's one floor: at the height along
    `world_up` (world axes) where most views' own lowest up-facing level lies. A view whose own lowest level lies
    more than `same_floor` (m) from it sees a sofa seat or a table top, not the floor (the HoloLens walk: 10 of its
    373 frames, 0.4-0.8 m above its floor; the 7-Scenes kitchen: 1 of 50); its truth is the floor's plane at the
    room's level, with the share of the view on it (under 5 % there)."""
    up_w = np.asarray(world_up, np.float64) / np.linalg.norm(world_up)
    poses = [np.asarray(c2w, np.float64) for c2w in camera_to_world]
    ups = [c2w[:3, :3].T @ up_w for c2w in poses]
    heights = [float(c2w[:3, 3] @ up_w) for c2w in poses]  # each camera's height along up, world origin 0
    own = [true_floor(d, i, u) for d, i, u in zip(depths, intrinsics, ups)]
    levels = [h - plane.d for h, (plane, _) in zip(heights, own) if plane is not None]
    if not levels:
        return own
    floor = float(np.median(levels))
    # a view's own floor is kept where it is the room's (its level is measured in that view's depth); the others
    # are measured at the room's
    return [(plane, share) if plane is not None and abs(h - plane.d - floor) < same_floor
            else true_floor(d, i, u, below=h - floor)
            for d, i, u, h, (plane, share) in zip(depths, intrinsics, ups, heights, own)]


def sequence_floors(frames: list[PosedFrame]) -> list[tuple[FloorPlane | None, float]]:
    """`room_floors` of a sequence whose poses are gravity-aligned (world y up), at its frames' own depth."""
    return room_floors([f.depth for f in frames], [f.intrinsics for f in frames],
                       [f.camera_to_world for f in frames])


def floors_up(depths: list[np.ndarray], intrinsics: list[Intrinsics],
              camera_to_world: list[np.ndarray]) -> np.ndarray | None:
    """The world's up for poses that are not gravity-aligned (7-Scenes): the mean, in world axes, of the normals
    of the floors the views' true depth shows (`true_floor`, 5 % of the view or more). None when none shows one."""
    ups = []
    for d, intr, c2w in zip(depths, intrinsics, camera_to_world):
        floor, share = true_floor(d, intr)
        if floor is not None and share > 0.05:
            ups.append(np.asarray(c2w, np.float64)[:3, :3] @ floor.normal)
    if not ups:
        return None
    up = np.mean(ups, axis=0)
    return up / np.linalg.norm(up)


def seven_scenes_floors(root: Path) -> tuple[list[RGBDPair], list[tuple[FloorPlane | None, float]]]:
    """The 7-Scenes frames as `seven_scenes_pairs` gives them (the depth in the colour camera), and the
    `room_floors` of each: each sequence a room, with the up of its floors (`floors_up`; in the kitchen the 16 that
    show one agree within 2 degrees)."""
    pairs, truths = [], []
    for seq in load_sequences(root):
        mine = [_seven_scenes_pair(f) for f in seq]
        depths, intrs, poses = [p.depth for p in mine], [p.intrinsics for p in mine], [f.camera_to_world for f in seq]
        up = floors_up(depths, intrs, poses)
        truths += ([true_floor(d, i) for d, i in zip(depths, intrs)] if up is None
                   else room_floors(depths, intrs, poses, up))
        pairs += mine
    return pairs, truths


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


# 7-Scenes' colour and depth cameras are not calibrated to each other (its documentation says so). This colour
# camera, in the depth camera's frame, was measured on the shared sequence by lining up colour edges with depth
# edges (17 frames, a grid search on scale, principal point and baseline): 0.90 times the depth camera's focal
# length, principal point (322, 238), 3.0 cm to the depth camera's left (a Kinect v1's colour-infrared baseline).
SEVEN_SCENES_COLOUR = Intrinsics(fx=526.5, fy=526.5, cx=322.0, cy=238.0, width=640, height=480)
SEVEN_SCENES_DEPTH_TO_COLOUR = np.array([-0.0304, 0.0, 0.0])


def reproject_depth(depth: np.ndarray, depth_intr: Intrinsics, colour_intr: Intrinsics,
                    depth_to_colour: np.ndarray) -> np.ndarray:
    """Depth seen by one camera, moved into another's image (translation `depth_to_colour` in metres, no
    rotation): each depth pixel lands on its nearest colour pixel, the nearest surface wins, and colour pixels
    no depth pixel reaches stay 0 (unknown). Returns colour-sized float32 depth along the colour camera's z."""
    move = np.eye(4)
    move[:3, 3] = depth_to_colour
    return warp_depth(depth, depth_intr, move, colour_intr)


def temporal_alignment_error(depths, poses, intr: Intrinsics, valid=None) -> float:
    """TAE (Video Depth Anything's metric) x 100: the depth of frame i carried into frame i+1 with the true
    relative pose, AbsRel against the depth predicted at i+1, and the same from i+1 back to i, averaged over the
    sequence. depths: N HxW float32 metres (one global scale already applied), poses: N 4x4 camera-to-world;
    valid: optional N HxW bool, where depth may be scored."""
    errs = []
    for i in range(len(depths) - 1):
        for a, b in ((i, i + 1), (i + 1, i)):
            moved = warp_depth(depths[a], intr, np.linalg.inv(poses[b]) @ poses[a])
            ok = (moved > 0) & (depths[b] > 0) & np.isfinite(depths[b])
            if valid is not None:
                ok &= valid[b]
            if ok.any():
                errs.append(float(np.mean(np.abs(moved[ok] - depths[b][ok]) / depths[b][ok])))
    if not errs:
        raise InputError("temporal_alignment_error: no pair of frames overlaps")
    return 100.0 * float(np.mean(errs))


def away_from_depth_edges(depth: np.ndarray, radius: int = 3, max_ratio: float = 1.1) -> np.ndarray:
    """Valid pixels whose neighbourhood (a square of `radius`) holds no unknown depth and no step of more than
    `max_ratio`: where a small misregistration between colour and depth cannot change the depth much."""
    size = 2 * radius + 1
    kernel = np.ones((size, size), np.uint8)
    near = cv2.erode(depth, kernel)   # 0 wherever an unknown pixel is near
    far = cv2.dilate(depth, kernel)
    return (near > 0) & (far <= near * max_ratio)


def seven_scenes_pairs(root: Path) -> list[RGBDPair]:
    """The posed 7-Scenes frames of a manifest as RGB-D pairs for scoring depth from colour: depth moved into
    the colour camera (SEVEN_SCENES_COLOUR), scored away from depth edges, where the residual misregistration of
    a pixel or two does not matter."""
    return [_seven_scenes_pair(f) for seq in load_sequences(root) for f in seq]


def seven_scenes_in_colour(f: PosedFrame) -> PosedFrame:
    """A 7-Scenes frame (`load_sequences`) with its depth moved into the colour camera (SEVEN_SCENES_COLOUR, at the
    picture's size) and those intrinsics; its pose stays the depth camera's, 3 cm beside the colour camera."""
    depth = reproject_depth(f.depth, f.intrinsics, SEVEN_SCENES_COLOUR, SEVEN_SCENES_DEPTH_TO_COLOUR)
    return PosedFrame(f.name, f.image, depth, SEVEN_SCENES_COLOUR.matching(f.image.shape[1], f.image.shape[0]),
                      f.camera_to_world)


def _seven_scenes_pair(f: PosedFrame) -> RGBDPair:
    c = seven_scenes_in_colour(f)
    return RGBDPair(c.name, "sevenscenes", c.image, c.depth, c.intrinsics, away_from_depth_edges(c.depth))


def scoring_pairs(root: Path) -> list[RGBDPair]:
    """Every pair a depth model is scored on: the manifest's RGB-D pairs, then its 7-Scenes frames made into pairs."""
    return load_pairs(root) + seven_scenes_pairs(root)


def _between(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The camera-to-world pose a fraction t of the way from a to b: rotation about one axis, straight line."""
    turn, _ = cv2.Rodrigues(a[:3, :3].T @ b[:3, :3])
    step, _ = cv2.Rodrigues(turn * t)
    out = np.eye(4)
    out[:3, :3] = a[:3, :3] @ step
    out[:3, 3] = (1 - t) * a[:3, 3] + t * b[:3, 3]
    return out


def view_from(image: np.ndarray, depth: np.ndarray, intr: Intrinsics, source_to_target: np.ndarray,
              filled: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A real RGB-D frame seen from a camera moved a little (4x4 `source_to_target`, metres): (image, depth).
    The depth is moved point by point (`warp_depth`, 0 where no measured point lands); the picture is sampled
    through a gap-filled copy of it, so it has no holes (what the source never saw takes the nearest colour).
    filled: `fill_nearest(depth)` if already made (one source, many views)."""
    filled = fill_nearest(depth) if filled is None else filled
    target = fill_nearest(warp_depth(filled, intr, source_to_target))
    pts = unproject(target, intr).reshape(-1, 3).astype(np.float64)
    back = np.linalg.inv(source_to_target)
    uv = project(pts @ back[:3, :3].T + back[:3, 3], intr).astype(np.float32).reshape(intr.height, intr.width, 2)
    picture = cv2.remap(image, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return picture, warp_depth(depth, intr, source_to_target)


def video_rate_frames(frames: list[PosedFrame], per_step: int):
    """A posed sequence with `per_step - 1` views rendered between each pair of frames, along the straight path
    between their poses: what a camera recording `per_step` times as often would have seen, built from the real
    pictures. Each in-between picture is both real frames seen from there (`view_from`), cross-faded by how far
    along it lies, so the picture changes smoothly instead of jumping where one source hands over to the other;
    its depth is the nearer frame's. Yields PosedFrame in order; every per_step-th one is a real frame as
    recorded. For measuring what needs consecutive video frames (TAE, tracking at 30 frame/s) on real rooms where
    only sparse frames were recorded; the views share their real frames' exposure and noise, so they are kinder to
    a depth model than a real camera's successive frames."""
    if per_step < 1:
        raise InputError(f"video_rate_frames: per_step: expected an integer >= 1, got {per_step}")
    filled = None  # the gap-filled depth of the frame just yielded, once made: each is made once
    for k, f in enumerate(frames):
        yield f
        if k + 1 == len(frames) or per_step == 1:
            continue
        nxt = frames[k + 1]
        pair = (fill_nearest(f.depth) if filled is None else filled, fill_nearest(nxt.depth))
        filled = pair[1]
        for j in range(1, per_step):
            t = j / per_step
            pose = _between(f.camera_to_world, nxt.camera_to_world, t)
            views = [view_from(s.image, s.depth, s.intrinsics, np.linalg.inv(pose) @ s.camera_to_world, full)
                     for s, full in zip((f, nxt), pair)]
            image = cv2.addWeighted(views[0][0], 1 - t, views[1][0], t, 0.0)
            yield PosedFrame(f"{f.name}+{j}/{per_step}", image, views[t >= 0.5][1], f.intrinsics, pose)
