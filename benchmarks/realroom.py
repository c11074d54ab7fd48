"""Real rooms: is the floor right, is "no floor" said when there is none, does the water stay where it should,
and what the geometry costs, through the public API with the default models on ../shared/data.

    python benchmarks/realroom.py [--depth-model NAME] [--step N]
    python benchmarks/realroom.py --depth-model fastdepth=training/runs/sequence_ft.onnx  # other FastDepth weights

Frames: the NYU, TUM and SUN pairs and the 50 7-Scenes frames (each alone: the pipeline is reset between them),
and the HoloLens sequence as one stream (its poses are gravity-aligned: they give the true up of every frame).
Truth: the floor in the sensor depth (`arsdk.evaluation.true_floor`): the lowest up-facing level at least 0.9 m
below the camera; a frame "shows a floor" when 5 % of it lies on that floor. Where poses show one room (the HoloLens
sequence, gravity-aligned; the 7-Scenes kitchen, with the up of its floors) the floor lies at one height in the
room (`evaluation.room_floors`): a frame whose lowest level is a sofa seat or a table top 0.4-0.8 m above it shows
no floor, and every frame has a true up.
- floor right: within 5 degrees, camera height within 10 cm or 10 % (the larger), on frames that show a floor;
  the misses split into not said visible, said visible at a wrong angle, and at a right angle but a wrong height;
- flood IoU at 0.15 and 0.40 m: the pixels the rendered flood changed against those whose true height above the
  true floor is under the level (true depth known), on frames that show a floor;
- flooded with no floor in view: the share of the frame the rendered flood changes at 0.15 m on frames with under
  5 % floor; wrongly flooded: of those, the pixels outside the true water (such a view's sliver of floor is rightly
  wet; a wet pixel whose true depth is unknown counts as wrong);
- where the flood misses at 0.15 m (`flood_misses_0.15`): the union of wet and true water split into wet pixels by
  their true height above the floor (a chair seat, a table top) and water left dry by the height the pipeline draws
  it at above its floor (a rug drawn raised), each band a share of the union, pooled over the frames;
- flood IoU on the true depth: the same water computed on the sensor's depth below the pipeline's floor, which
  splits the IoU's misses between the floor decision and the depth model;
- stream starts: the first 24 s of the HoloLens sequence started at every 20th frame, as an app started anywhere in
  the room sees them: floor right and what the misses are; again started 10 frames later, and with line draws 1
  and 2 (`stream_starts_other_runs`), since each start's first frames rest on one draw;
- 7-Scenes as a stream: the 50 kitchen frames fed in order, 2/3 s apart as recorded, with tracking: the world is
  carried across the counters and the table seen from above; again with line draws 1-4, and the means over the
  five draws (`seven_scenes_line_draws`), since its 15 frames with a floor turn on one draw by a frame or three;
- sparse streams: the HoloLens sequence fed every 2nd frame (from frames 0 and 1) and every 3rd: the camera turns
  8-12 degrees between frames there, against 4 in the full stream (frames taken as 0.4 s apart);
- line draws: the HoloLens walk with the line search's random pairs drawn from seeds 1-4 (the SDK draws from 0):
  floor right per draw, its mean and worst; the stream carries each frame's gravity and height into the next, so
  one draw can send the height astray where another does not;
- other resolutions: the single frames resized to 0.75x and 2x (intrinsics with them): floor right, and how often
  the decision is the one made at the native size;
- other crops: the HoloLens walk (3:2) seen through the centre of its pictures at 4:3 and 16:9, as cameras of other
  shapes would see the room (`other_crops`), and the means with the walk itself: the tuning was made on the walk
  as it is, and a crop is a second and third look at the same room;
- the floor's pixels known: the HoloLens walk with the floor grown over its colours replaced by the true floor's
  pixels (`KnownFloorCells`): the flood IoU an exact floor segmentation would give on the depth model's depth;
- video rate: the first 100 HoloLens frames with 11 views rendered between each pair from the real pictures and
  depth (`evaluation.video_rate_frames`), fed at 30 frame/s as a live camera would be; again with a sensor's
  noise (two seeds), as JPEG, with a webcam's auto-exposure and with motion blur (`video_rate_camera_inputs`),
  since the stream's first seconds turn on which early floor sets the height;
- still camera: frames with a floor fed 20 times with fresh sensor noise; the share of the water area that
  changes state from one frame to the next (the waterline's shimmer);
- cost: the new geometry (gravity, floor decision, levelling) against the old per-frame floor RANSAC, and the
  whole perception frame (depth, segmentation, geometry) against the old one, at 640x480 in the same run.
Writes benchmarks/results/realroom.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from common import (HOLOLENS_SPACING_S, SEVEN_SCENES_SPACING_S, VIDEO_PER_STEP, VIDEO_STEPS, hololens_at_30fps,
                    shared_data_or_exit, stats_ms, with_auto_exposure, with_motion_blur, write_result)

import arsdk
from arsdk import effects
from arsdk.depth import BUILTIN_SPECS, DepthEstimator, default_depth_model
from arsdk.evaluation import load_pairs, load_training_sequences, sequence_floors, seven_scenes_floors, true_floor
from arsdk.floor import GroundTracker
from arsdk.floor_colour import FloorColours
from arsdk.geometry import fit_floor_plane, sample_points
from arsdk.gravity import GravityEstimator
from arsdk.render import Renderer
from arsdk.segmentation import PersonSegmenter

LEVELS = (0.15, 0.40)
# heights above a floor (m) the flood's misses at LEVELS[0] are sorted by: under the level, then up to 0.3, ...
MISS_EDGES = (LEVELS[0], 0.3, 0.5, 0.8, 1.2)
FLOOR_SHARE = 0.05


def make_depth(depth_name: str) -> DepthEstimator:
    """A built-in model by name, or `SPEC=PATH`: the weights at PATH run as the built-in SPEC runs its own (a
    fine-tuned FastDepth written by training/sequence_finetune.py: `fastdepth=training/runs/sequence_ft.onnx`)."""
    spec, sep, path = depth_name.partition("=")
    if not sep:
        return DepthEstimator(depth_name)
    if spec not in BUILTIN_SPECS:
        raise SystemExit(f"--depth-model {depth_name}: expected NAME or SPEC=PATH with SPEC one of "
                         f"{', '.join(BUILTIN_SPECS)}")
    return DepthEstimator(path, BUILTIN_SPECS[spec])


def floor_right(plane, truth) -> bool:
    return (plane is not None and getattr(plane, "visible", True) and plane.angle_to(truth) < 5.0
            and abs(plane.d - truth.d) <= max(0.10, 0.10 * truth.d))


def miss_kind(plane, truth) -> str:
    """One frame with a floor: right, or why not: not said visible, a wrong angle, the floor too high (the camera
    height low) or too low."""
    if floor_right(plane, truth):
        return "right"
    if plane is None or not getattr(plane, "visible", True):
        return "not_visible"
    if plane.angle_to(truth) >= 5.0:
        return "wrong_angle"
    return "height_low" if plane.d < truth.d else "height_high"


MISS_KINDS = ("right", "not_visible", "wrong_angle", "height_low", "height_high")


def miss_shares(kinds: list[str]) -> dict:
    """Each kind of `miss_kind`'s share of the frames with a floor, keyed "floor_<kind>"."""
    return {f"floor_{kind}": round(kinds.count(kind) / max(1, len(kinds)), 3) for kind in MISS_KINDS}


def floor_stream(pipe, frames, truths) -> tuple[list[str], list[bool]]:
    """Posed frames fed through `pipe` as one stream (reset first), HOLOLENS_SPACING_S apart, scored for the floor
    only (no flood rendered): the `miss_kind` of each frame with a floor, and whether a floor was said on each
    frame without one. truths: `true_floor` of each frame."""
    pipe.reset()
    kinds, said = [], []
    for i, (f, (truth, share)) in enumerate(zip(frames, truths)):
        state = pipe.process(arsdk.Frame(f.image, i * HOLOLENS_SPACING_S, i, intrinsics=f.intrinsics))
        if share >= FLOOR_SHARE:
            kinds.append(miss_kind(state.floor, truth))
        else:
            said.append(bool(state.floor.visible))
    return kinds, said


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


class FloodRenderer:
    """Renders a flood at a fixed level over a FrameState and returns which pixels it changed."""

    def __init__(self):
        self._renderers: dict = {}

    def changed(self, state, level: float) -> np.ndarray:
        h, w = state.image.shape[:2]
        if (w, h) not in self._renderers:
            self._renderers[(w, h)] = Renderer(w, h, mode="headless")
        flood = effects.create("flood", level=level, rise_speed=0.0)
        out = self._renderers[(w, h)].render(state, [flood], dt=0.0)
        return np.abs(out.astype(np.int16) - state.image.astype(np.int16)).max(axis=-1) > 3

    def close(self):
        for r in self._renderers.values():
            r.release()


def score_frame(state, depth, intr, truth, share, flood: FloodRenderer) -> dict:
    # getattr: the same scoring runs on versions of the pipeline before gravity and the floor decision existed
    floor = state.floor
    row = {"floor_shown": bool(share >= FLOOR_SHARE),
           "said_visible": bool(floor is not None and getattr(floor, "visible", True)),
           "gravity_deg": None, "floor_right": None}
    if truth is not None and getattr(state, "gravity", None) is not None:
        row["gravity_deg"] = round(math.degrees(math.acos(min(1.0, float(state.gravity.up @ truth.normal)))), 2)
    points = arsdk.unproject(depth, intr)
    # above the true floor (NaN where the true depth is unknown); the true water lies under the level
    true_height = None if truth is None else truth.height_of(points)
    if row["floor_shown"]:
        row["kind"] = miss_kind(state.floor, truth)
        row["height_ratio"] = round(state.floor.d / truth.d, 3) if state.floor is not None else float("nan")
        known = np.isfinite(true_height)
        # the same water on the true depth, below the pipeline's floor: what the flood would cover if only the
        # depth were exact, which tells the floor decision's share of the misses from the depth model's
        on_true_depth = None if state.floor is None else state.floor.height_of(points)
        for level in LEVELS:
            water = known & (true_height < level)
            wet = flood.changed(state, level) & known
            row[f"iou_{level:.2f}"] = iou(wet, water)
            if level == LEVELS[0]:
                row.update(flood_misses(state, intr, true_height, wet, water))
            row[f"iou_true_depth_{level:.2f}"] = 0.0 if on_true_depth is None else iou(
                known & (on_true_depth < level), water)
    else:
        wet = flood.changed(state, LEVELS[0])
        row["wet_share"] = float(wet.mean())
        if true_height is not None:
            # the frame's own sliver of floor (under 5 %) is rightly wet; wet pixels of unknown true depth count
            # as wrong (NaN compares false)
            row["wrongly_wet_share"] = float(np.mean(wet & ~(true_height < LEVELS[0])))
            # of which where the sensor has no depth: the HoloLens' far floor through a door and its dark carpet
            # among them, truly floor, so the share above overstates what is wrong by up to this much
            row["wet_unknown_share"] = float(np.mean(wet & ~np.isfinite(true_height)))
    return row


def _by_height(heights: np.ndarray) -> np.ndarray:
    edges = np.array([-np.inf, *MISS_EDGES, np.inf])
    return np.histogram(heights[np.isfinite(heights)], edges)[0]


def flood_misses(state, intr, true_height: np.ndarray, wet: np.ndarray, water: np.ndarray) -> dict:
    """Where the flood at LEVELS[0] misses, in pixels: wet (HxW bool, the rendered flood's changed pixels of known
    true depth) where there is no `water` (HxW bool, the true water at that level), by the pixel's true height above
    the true floor (a chair seat, a table top); water left dry, by the height the pipeline draws the pixel at above
    its own floor (a rug drawn raised); and the union of wet and water they are shares of."""
    out = {"miss_union": int((wet | water).sum()), "miss_wet_by_true_height": _by_height(true_height[wet & ~water])}
    if state.floor is not None and state.depth is not None:
        drawn = state.floor.height_of(arsdk.unproject(state.depth, intr))
        out["miss_dry_by_drawn_height"] = _by_height(drawn[water & ~wet])
    return out


def flood_miss_shares(rows: list[dict]) -> dict:
    """The flood's misses at LEVELS[0] over frames (`flood_misses`), pooled: each height band's share of the union
    of wet and water."""
    union = sum(r["miss_union"] for r in rows)
    names = [f"under_{MISS_EDGES[0]:.2f}"] + [f"{a:.2f}-{b:.2f}" for a, b in zip(MISS_EDGES, MISS_EDGES[1:])] + [
        f"over_{MISS_EDGES[-1]:.2f}"]
    out = {}
    for key in ("miss_wet_by_true_height", "miss_dry_by_drawn_height"):
        counts = [r[key] for r in rows if key in r]
        if counts and union:
            total = np.sum(counts, axis=0)
            out[key.removeprefix("miss_")] = {"all": round(float(total.sum() / union), 3),
                                              **{n: round(float(c / union), 3) for n, c in zip(names, total)}}
    return out


def summarise(rows: list[dict]) -> dict:
    shown = [r for r in rows if r["floor_shown"]]
    bare = [r for r in rows if not r["floor_shown"]]
    out = {"frames": len(rows), "frames_with_floor": len(shown), "frames_without_floor": len(bare)}
    if shown:
        kinds = [r["kind"] for r in shown]
        out["floor_right"] = round(kinds.count("right") / len(shown), 3)
        out["floor_said_visible"] = round(float(np.mean([r["said_visible"] for r in shown])), 3)
        # where the misses come from: not said visible, said visible at a wrong angle, or at a wrong height
        out["floor_wrong_angle"] = round(kinds.count("wrong_angle") / len(shown), 3)
        out["floor_wrong_height"] = round((kinds.count("height_low") + kinds.count("height_high")) / len(shown), 3)
        out["median_height_ratio"] = round(float(np.nanmedian([r["height_ratio"] for r in shown])), 3)
        for level in LEVELS:
            out[f"flood_iou_{level:.2f}"] = round(float(np.mean([r[f"iou_{level:.2f}"] for r in shown])), 3)
            out[f"flood_iou_true_depth_{level:.2f}"] = round(float(np.mean(
                [r[f"iou_true_depth_{level:.2f}"] for r in shown])), 3)
        misses = flood_miss_shares([r for r in shown if "miss_union" in r])
        if misses:
            out["flood_misses_0.15"] = misses
    grav = [r["gravity_deg"] for r in rows if r["gravity_deg"] is not None]
    if grav:
        out["gravity_median_deg"] = round(float(np.median(grav)), 2)
        out["gravity_within_5deg"] = round(float(np.mean(np.asarray(grav) < 5.0)), 3)
    if bare:
        wet = [r["wet_share"] for r in bare]
        out["no_floor_said_visible"] = round(float(np.mean([r["said_visible"] for r in bare])), 3)
        out["no_floor_wet_share_median"] = round(float(np.median(wet)), 3)
        out["no_floor_wet_share_mean"] = round(float(np.mean(wet)), 3)
        wrong = [r["wrongly_wet_share"] for r in bare if "wrongly_wet_share" in r]
        if wrong:
            out["no_floor_wrongly_wet_share_median"] = round(float(np.median(wrong)), 3)
            out["no_floor_wrongly_wet_share_mean"] = round(float(np.mean(wrong)), 3)
            known = [r["wrongly_wet_share"] - r["wet_unknown_share"] for r in bare if "wet_unknown_share" in r]
            out["no_floor_wrongly_wet_known_depth_median"] = round(float(np.median(known)), 3)
    return out


def score_stream(pipe, frames, flood: FloodRenderer, label: str, spacing_s: float, before=None,
                 truths=None) -> list[dict]:
    """Frames fed in order through `pipe` as one stream (reset first), `spacing_s` seconds apart, each scored
    against its truth: (floor, share of the frame on it) of each frame, by default the floor of its true depth and
    true up (`sequence_floors` of posed frames). before(frame, truth): called ahead of each frame, if given."""
    pipe.reset()
    if truths is None:
        print(f"  {label}: the room's floor in {len(frames)} frames' true depth", flush=True)
        truths = sequence_floors(frames)
    rows = []
    for i, (f, (truth, share)) in enumerate(zip(frames, truths)):
        print(f"\r  {label} {i + 1}/{len(frames)}", end="", flush=True)
        if before is not None:
            before(f, truth)
        state = pipe.process(arsdk.Frame(f.image, i * spacing_s, i, intrinsics=f.intrinsics))
        rows.append(score_frame(state, f.depth, f.intrinsics, truth, share, flood))
    print()
    return rows


def stream_frames(root, name: str, walk=None) -> tuple[list, float, list | None]:
    """One of the tracked streams scored here, by name: its frames, their spacing in seconds, and their truths
    (None: `score_stream` finds each frame's floor in its true depth). "walk": the HoloLens sequence, every frame;
    "kitchen": the 50 7-Scenes frames; "every{n}_from{k}": the walk's every n-th frame from frame k; "crop{w}x{h}":
    the walk through a centred w:h crop; "video": the first VIDEO_STEPS walk frames at 30 frame/s. walk: the
    HoloLens sequence if already loaded."""
    if name == "kitchen":
        frames, truths = seven_scenes_floors(root)
        return frames, SEVEN_SCENES_SPACING_S, truths
    if name == "video":
        return hololens_at_30fps(root, VIDEO_STEPS), HOLOLENS_SPACING_S / VIDEO_PER_STEP, None
    walk = load_training_sequences(root, 1)[0] if walk is None else walk
    if name == "walk":
        return walk, HOLOLENS_SPACING_S, None
    every = re.fullmatch(r"every(\d+)_from(\d+)", name)
    if every:
        n, offset = int(every[1]), int(every[2])
        return walk[offset::n], HOLOLENS_SPACING_S * n, None
    crop = re.fullmatch(r"crop(\d+)x(\d+)", name)
    if crop:
        return [centre_crop(f, int(crop[1]) / int(crop[2])) for f in walk], HOLOLENS_SPACING_S, None
    raise ValueError(f"stream {name!r}: expected walk, kitchen, video, every<n>_from<k> or crop<w>x<h>")


def seven_scenes_stream(depth_name: str, root, seed: int = 0) -> dict:
    """The 50 7-Scenes kitchen frames as one stream, 2/3 s apart as recorded, through the default tracked pipeline:
    the same views as the single frames, but with the world carried from frame to frame as an app panning over
    the kitchen would see them (the counters and the table from above, the floor at the start and near the end).
    seed: gravity's line search draws its segment pairs from it (`GravityEstimator.seed`; the SDK's is 0)."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None, ground=GroundTracker(gravity=GravityEstimator(seed=seed)))
    flood = FloodRenderer()
    frames, spacing, truths = stream_frames(root, "kitchen")
    rows = score_stream(pipe, frames, flood, f"7-Scenes stream (line draw {seed})", spacing, truths=truths)
    flood.close()
    pipe.close()
    return summarise(rows)


SEVEN_SCENES_DRAW_KEYS = ("floor_right", "flood_iou_0.15", "flood_iou_0.40", "no_floor_wrongly_wet_share_median",
                          "no_floor_wrongly_wet_share_mean", "no_floor_said_visible")


def seven_scenes_draws(depth_name: str, root, sdk_run: dict, seeds=(1, 2, 3, 4)) -> dict:
    """`seven_scenes_stream` again with other draws of gravity's line search: its 15 frames with a floor carry each
    frame's gravity, height and scale into the next, so one draw moves its floor right by a frame or three. Per draw
    (SEVEN_SCENES_DRAW_KEYS), and the mean over them and `sdk_run` (the SDK's draw's summary)."""
    per_seed = {}
    for seed in seeds:
        s = seven_scenes_stream(depth_name, root, seed)
        per_seed[f"seed_{seed}"] = {k: s[k] for k in SEVEN_SCENES_DRAW_KEYS}
    runs = [sdk_run, *per_seed.values()]
    means = {f"{k}_mean_with_sdk_run": round(float(np.mean([r[k] for r in runs])), 3) for k in SEVEN_SCENES_DRAW_KEYS}
    return {"per_seed": per_seed, **means}


def single_frames(root) -> tuple[list, list]:
    """The NYU, TUM and SUN pairs and the 7-Scenes frames, and the truth of each: `true_floor`, and for 7-Scenes,
    whose poses show one room, its floor (`evaluation.seven_scenes_floors`)."""
    pairs = load_pairs(root)
    seven, seven_truths = seven_scenes_floors(root)
    return pairs + seven, [true_floor(p.depth, p.intrinsics) for p in pairs] + seven_truths


def run_sets(depth_name: str, root, step: int) -> dict:
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    flood = FloodRenderer()
    groups: dict[str, list[dict]] = {}
    singles, truths = single_frames(root)
    for i, (p, (truth, share)) in enumerate(zip(singles, truths)):
        print(f"\r  single frames {i + 1}/{len(singles)}", end="", flush=True)
        pipe.reset()
        state = pipe.process(arsdk.Frame(p.image, 0.0, 0, intrinsics=p.intrinsics))
        groups.setdefault(p.set, []).append(score_frame(state, p.depth, p.intrinsics, truth, share, flood))
    print()
    for seq in load_training_sequences(root, step):
        name = seq[0].name.split("/")[0]
        groups.setdefault(name, []).extend(score_stream(pipe, seq, flood, f"{name} stream",
                                                        HOLOLENS_SPACING_S * step))
    flood.close()
    pipe.close()
    result = {name: summarise(rows) for name, rows in groups.items()}
    result["all"] = summarise([r for rows in groups.values() for r in rows])
    return result


def other_resolutions(depth_name: str, root, zooms=(0.75, 2.0)) -> dict:
    """The single frames again at other camera resolutions (each picture resized by `zoom`, its intrinsics with
    it): floor right, "floor" said on frames without one, and the share of frames whose decision agrees with the
    one at the native size (floor said or not alike, camera height within 5 %). A camera's resolution says
    nothing about the room; the decision should not move with it."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    singles, truths = single_frames(root)
    shown = [share >= FLOOR_SHARE for _, share in truths]

    def decide(zoom: float) -> list:
        out = []
        for p in singles:
            resample = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
            image = p.image if zoom == 1.0 else cv2.resize(p.image, None, fx=zoom, fy=zoom, interpolation=resample)
            pipe.reset()
            intr = p.intrinsics.scaled(image.shape[1], image.shape[0])
            out.append(pipe.process(arsdk.Frame(image, 0.0, 0, intrinsics=intr)).floor)
        return out

    native = decide(1.0)
    result = {}
    for zoom in zooms:
        print(f"\r  single frames at {zoom}x", end="", flush=True)
        floors = decide(zoom)
        right = [miss_kind(f, t) == "right" for f, (t, _), s in zip(floors, truths, shown) if s]
        said = [f.visible for f, s in zip(floors, shown) if not s]
        agrees = [a.visible == b.visible and abs(b.d / a.d - 1.0) < 0.05 for a, b in zip(native, floors)]
        result[f"{zoom}x"] = {"floor_right": round(float(np.mean(right)), 3),
                              "no_floor_said_visible": round(float(np.mean(said)), 3),
                              "decision_as_native": round(float(np.mean(agrees)), 3)}
    print()
    pipe.close()
    return result


def centre_crop(frame, aspect: float):
    """A posed frame seen through the centre of its picture at another aspect (width / height): rows cut for a
    wider one, columns for a narrower one; its depth and intrinsics with it."""
    h, w = frame.image.shape[:2]
    if aspect >= w / h:
        ch, cw = int(round(w / aspect)), w
    else:
        ch, cw = h, int(round(h * aspect))
    top, left = (h - ch) // 2, (w - cw) // 2
    window = (slice(top, top + ch), slice(left, left + cw))
    return dataclasses.replace(frame, image=np.ascontiguousarray(frame.image[window]),
                               depth=np.ascontiguousarray(frame.depth[window]),
                               intrinsics=frame.intrinsics.cropped(left, top, cw, ch))


CROP_KEYS = ("floor_right", "floor_said_visible", "floor_wrong_angle", "floor_wrong_height", "flood_iou_0.15",
             "flood_iou_0.40", "no_floor_wrongly_wet_share_median", "no_floor_wrongly_wet_share_mean")


def other_crops(depth_name: str, root, sdk_run: dict, aspects=((4, 3), (16, 9))) -> dict:
    """The HoloLens walk (3:2) seen through the centre of its pictures at other aspects, as cameras of another
    shape would see that room: a 4:3 one (narrower; most webcams at 640x480, NYU, 7-Scenes) and a 16:9 one (a
    laptop webcam at 1280x720, a phone's video). The model sees each picture squeezed otherwise, and less of the
    room: a second and third look at one room, whose decisions should hold as well as on the walk itself."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    flood = FloodRenderer()
    seq = load_training_sequences(root)[0]
    out = {}
    for w, h in aspects:
        frames, spacing, _ = stream_frames(root, f"crop{w}x{h}", seq)
        s = summarise(score_stream(pipe, frames, flood, f"HoloLens walk through a {w}:{h} crop", spacing))
        out[f"{w}x{h}"] = {k: s[k] for k in CROP_KEYS}
    flood.close()
    pipe.close()
    for key in ("floor_right", "flood_iou_0.15", "flood_iou_0.40"):
        out[f"{key}_mean_with_walk"] = round(float(np.mean([sdk_run[key], *(out[f"{w}x{h}"][key]
                                                                          for w, h in aspects)])), 3)
    return out


def line_draws(depth_name: str, root, seeds=(1, 2, 3, 4)) -> dict:
    """The HoloLens walk again with the line search's random pairs drawn from other seeds
    (`GravityEstimator.seed`; the SDK's is 0): floor right and its misses per seed, and their mean and worst. The
    stream feeds each frame's gravity, floor and scale into the next, so one fair draw of the line search can
    send the scene's height astray for tens of frames where another does not; the spread over draws says how
    much of a figure is that one draw, and the mean is the fairer figure for rooms not seen here."""
    sequences = load_training_sequences(root, 1)
    if not sequences:  # no training sequence in this data folder
        return {}
    seq = sequences[0]  # the HoloLens walk
    truths = sequence_floors(seq)
    per_seed = {}
    for seed in seeds:
        print(f"\r  line draw {seed} of {len(seeds)}", end="", flush=True)
        pipe = arsdk.Pipeline(make_depth(depth_name), None, ground=GroundTracker(gravity=GravityEstimator(seed=seed)))
        kinds, said = floor_stream(pipe, seq, truths)
        pipe.close()
        per_seed[f"seed_{seed}"] = {**miss_shares(kinds),
                                    "no_floor_said_visible": round(float(np.mean(said)), 3) if said else None}
    print()
    right = [r["floor_right"] for r in per_seed.values()]
    return {"per_seed": per_seed, "floor_right_mean": round(float(np.mean(right)), 3),
            "floor_right_worst": round(float(np.min(right)), 3)}


def video_rate_stream(depth_name: str, root, steps: int = VIDEO_STEPS) -> tuple[dict, dict]:
    """The first `steps` HoloLens frames with 11 views rendered between each pair from the real pictures and depth
    (`common.hololens_at_30fps`), fed at 30 frame/s: what the live app sees. The gains that follow gravity, the
    height and the scale are per second, so they must hold at this rate as at the sparse one. Then the same views
    as a camera would deliver them (`camera_inputs`): what the one clean run owes to its exact pixels."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    flood = FloodRenderer()
    frames = hololens_at_30fps(root, steps)
    rows = score_stream(pipe, frames, flood, "HoloLens at 30 frame/s", HOLOLENS_SPACING_S / VIDEO_PER_STEP)
    clean = {"frames_from": f"{frames[0].name}..{frames[-1].name}", **summarise(rows),
             "real_frames_only": summarise(rows[::VIDEO_PER_STEP])}
    variants = {}
    for name, altered in camera_inputs(frames):
        s = summarise(score_stream(pipe, altered, flood, f"HoloLens at 30 frame/s, {name}",
                                   HOLOLENS_SPACING_S / VIDEO_PER_STEP))
        variants[name] = {k: s[k] for k in ("floor_right", "flood_iou_0.15", "flood_iou_0.40",
                                            "no_floor_wrongly_wet_share_median")}
    means = {f"{key}_mean_with_clean": round(float(np.mean([clean[key], *(v[key] for v in variants.values())])), 3)
             for key in ("floor_right", "flood_iou_0.15", "flood_iou_0.40")}
    flood.close()
    pipe.close()
    return clean, {**variants, **means}


def with_sensor_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """An HxWx3 uint8 picture with a sensor's noise: Gaussian, `sigma` grey levels, rounded to the nearest level
    (a cast alone would truncate, darkening the picture by half a level)."""
    return np.clip(np.rint(image + rng.normal(0.0, sigma, image.shape)), 0, 255).astype(np.uint8)


def camera_inputs(frames):
    """The views as a camera might deliver them, yielded one altered copy at a time (name, frames): with a
    sensor's noise (Gaussian, 2 grey levels, two seeds), JPEG-compressed at quality 90 (a webcam's MJPEG), and with
    a webcam's auto-exposure (`common.with_auto_exposure`), and with motion blur from a shutter open the whole frame
    time (`common.with_motion_blur`)."""
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        yield f"noise_seed{seed}", [dataclasses.replace(f, image=with_sensor_noise(f.image, 2.0, rng)) for f in frames]
    yield "jpeg90", [dataclasses.replace(f, image=cv2.cvtColor(cv2.imdecode(cv2.imencode(
        ".jpg", cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1], cv2.IMREAD_COLOR),
        cv2.COLOR_BGR2RGB)) for f in frames]
    yield "auto_exposure", [dataclasses.replace(f, image=image)
                            for f, image in zip(frames, with_auto_exposure([f.image for f in frames]))]
    yield "motion_blur", [dataclasses.replace(f, image=image) for f, image in zip(frames, with_motion_blur(frames)[0])]


class KnownFloorCells:
    """Stands in for a pipeline's `floor_colours` (`floor_colour.FloorColours`): the cells it lays on the floor
    plane, and the floor it sees in a picture, are the true floor's, the pixels within KNOWN_FLOOR_M of it in the
    sensor's depth, as an exact floor segmentation would find them. Set `truth` (HxW bool, the frame's pixels)
    before each frame."""

    def __init__(self):
        self.truth: np.ndarray | None = None
        self._grid = FloorColours()

    def cells(self, width: int, height: int) -> tuple[int, int]:
        return self._grid.cells(width, height)

    cell_colours = staticmethod(FloorColours.cell_colours)

    def grown(self, depth, image, intr, up, height, dt, remembered=None, colours=None,
              held_off=None, shown_on=None) -> np.ndarray | None:
        # the floor known is laid whatever the motion says (`held_off`, `shown_on`): an exact segmentation has no
        # doubt to settle
        if self.truth is None:
            return None
        cells = cv2.resize(self.truth.astype(np.uint8), (depth.shape[1], depth.shape[0]),
                           interpolation=cv2.INTER_NEAREST)
        return cells.astype(np.float32) if cells.any() else None

    def seen(self, image, intr, up) -> float:
        """The share of the picture the true floor covers: an exact segmentation sees the floor wherever it is."""
        return 0.0 if self.truth is None else float(np.mean(self.truth))

    def let_go(self):
        pass

    def reset(self):
        pass


KNOWN_FLOOR_M = 0.08


def known_floor(depth_name: str, root) -> dict:
    """The HoloLens walk with the floor's pixels known exactly (`KnownFloorCells` in place of the floor grown over
    its colours) and everything else as the pipeline runs it: how far the flood IoU could rise on the depth
    model's depth if the floor were segmented without error (the rest of the misses are the depth model's drawing
    of what stands on the floor, and the floor decision's)."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    pipe.floor_colours = known = KnownFloorCells()
    pipe.floor_map = None  # the floor known stands in for the floor remembered too
    flood = FloodRenderer()

    def know(frame, truth):
        height = truth.height_of(arsdk.unproject(frame.depth, frame.intrinsics))
        known.truth = np.isfinite(height) & (np.abs(height) < KNOWN_FLOOR_M)

    rows = []
    for seq in load_training_sequences(root, 1):
        rows += score_stream(pipe, seq, flood, "the walk with its floor known", HOLOLENS_SPACING_S, know)
    flood.close()
    pipe.close()
    s = summarise(rows)
    return {k: s[k] for k in ("frames_with_floor", "floor_right", "flood_iou_0.15", "flood_iou_0.40",
                              "no_floor_wrongly_wet_share_median")}


def sparse_streams(depth_name: str, root, spacings=((2, 0), (2, 1), (3, 0))) -> dict:
    """The training sequences fed every n-th frame from an offset (0.8-1.2 s and 8-12 degrees between HoloLens
    frames): how the tracked floor and gravity hold up when the camera turns further between frames than the
    stream at full rate does. Summaries keyed "every{n}_from{offset}"."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    flood = FloodRenderer()
    out = {}
    for seq in load_training_sequences(root, 1):
        for n, offset in spacings:
            frames, spacing, _ = stream_frames(root, f"every{n}_from{offset}", seq)
            rows = score_stream(pipe, frames, flood, f"every {n}th frame from {offset}", spacing)
            out[f"{seq[0].name.split('/')[0]}_every{n}_from{offset}"] = summarise(rows)
    flood.close()
    pipe.close()
    return out


def stream_starts(depth_name: str, root, seconds: float = 24.0, every: int = 20, first: int = 0,
                  seed: int = 0) -> dict:
    """The first `seconds` of a stream started at every `every`-th HoloLens frame from frame `first`, as an app
    started anywhere in that room would see them: floor right over those frames and what the misses are (shares
    of the frames with a floor). The full walk's figure is mostly frames long after the start; this one is the
    start. seed: gravity's line search draws its segment pairs from it (`GravityEstimator.seed`; the SDK's is 0)."""
    pipe = arsdk.Pipeline(make_depth(depth_name), None, ground=GroundTracker(gravity=GravityEstimator(seed=seed)))
    length = round(seconds / HOLOLENS_SPACING_S)
    kinds: list[str] = []
    per_start = {}
    for seq in load_training_sequences(root, 1):
        truths = sequence_floors(seq)
        for start in range(first, len(seq) - length + 1, every):
            print(f"\r  streams started at frame {start} (line draw {seed})", end="", flush=True)
            mine = floor_stream(pipe, seq[start:start + length], truths[start:start + length])[0]
            kinds += mine
            per_start[f"{seq[0].name.split('/')[0]}_{start}"] = round(mine.count("right") / max(1, len(mine)), 3)
    print()
    pipe.close()
    out = {"seconds": seconds, "starts": len(per_start), "frames_with_floor": len(kinds), **miss_shares(kinds)}
    out["floor_right_per_start"] = per_start
    return out


def other_starts(depth_name: str, root, sdk_run: dict, runs=((10, 0), (0, 1), (0, 2))) -> dict:
    """`stream_starts` again from other frames (started 10 frames later) and with other draws of the line search:
    one run's 16 starts carry one draw each, and a start facing a table can fail or not by its draw. Per run
    (first frame, seed), and the mean of floor right over them and `sdk_run` (the SDK's own `stream_starts`)."""
    out = {f"from_{first}_seed_{seed}": stream_starts(depth_name, root, first=first, seed=seed)
           for first, seed in runs}
    right = {k: v["floor_right"] for k, v in out.items()}
    return {"per_run": {k: {"floor_right": v["floor_right"], "floor_right_per_start": v["floor_right_per_start"]}
                        for k, v in out.items()},
            "floor_right": right,
            "floor_right_mean_with_sdk_run": round(float(np.mean([sdk_run["floor_right"], *right.values()])), 3)}


def still_flicker(depth_name: str, root, repeats: int = 20, noise: float = 2.0) -> dict:
    """The waterline on a still camera: each real frame with a floor (the NYU, TUM and SUN pairs, every 25th
    HoloLens frame) fed `repeats` times with fresh sensor noise (Gaussian, `noise` grey levels, as a webcam's),
    through the default tracked pipeline; the share of the water area whose wet/dry state changes from one frame
    to the next, after the first 5 frames (the stream settling). Median over frames, per level."""
    rng = np.random.default_rng(0)
    frames = [(p.image, p.intrinsics, *true_floor(p.depth, p.intrinsics)) for p in load_pairs(root)]
    for seq in load_training_sequences(root, 25):
        frames += [(f.image, f.intrinsics, *truth) for f, truth in zip(seq, sequence_floors(seq))]
    frames = [(image, intr) for image, intr, _, share in frames if share >= FLOOR_SHARE]
    pipe = arsdk.Pipeline(make_depth(depth_name), None)
    flood = FloodRenderer()
    changed: dict[float, list[float]] = {level: [] for level in LEVELS}
    for k, (image, intr) in enumerate(frames):
        print(f"\r  still camera {k + 1}/{len(frames)}", end="", flush=True)
        pipe.reset()
        last: dict[float, np.ndarray] = {}
        flips: dict[float, list[float]] = {level: [] for level in LEVELS}
        for i in range(repeats):
            state = pipe.process(arsdk.Frame(with_sensor_noise(image, noise, rng), i / 30.0, i, intrinsics=intr))
            for level in LEVELS:
                wet = flood.changed(state, level)
                if level in last and i >= 5:
                    flips[level].append(float((wet ^ last[level]).sum() / max(1, (wet | last[level]).sum())))
                last[level] = wet
        for level in LEVELS:
            changed[level].append(float(np.mean(flips[level])))
    print()
    flood.close()
    pipe.close()
    out = {f"water_changed_per_frame_{level:.2f}": round(float(np.median(v)), 4) for level, v in changed.items()}
    out["frames"] = len(frames)
    return out


def cost(depth_name: str, root, frames: int = 150) -> dict:
    """Geometry and whole-frame times at 640x480 on real frames, old (floor RANSAC per frame) against new,
    taking turns frame by frame so the machine's drift falls on both alike. The ratio of the medians, and of the
    means: gravity's lines are read on every other frame at 30 frame/s, so the new frame's times have two modes and
    their median may fall anywhere between them; the mean is what a frame costs on average."""
    images = [(p.image, p.intrinsics) for p in load_pairs(root)]
    # issue 28's measure is depth, segmentation and geometry: the pipeline without tracking. The tracked frame
    # is timed too, for reference (here every frame is a new picture: the tracker starts a new map each time)
    pipe = arsdk.Pipeline(make_depth(depth_name), PersonSegmenter(num_threads=2), tracking=False)
    tracked_pipe = arsdk.Pipeline(make_depth(depth_name), PersonSegmenter(num_threads=2))
    depth, segmenter = make_depth(depth_name), PersonSegmenter(num_threads=2)  # as Pipeline.default builds them
    ground = GroundTracker()  # its own, so the pipeline's is updated once a frame
    helper = ThreadPoolExecutor(max_workers=1)
    old_geo, new_geo, old_frame, new_frame, tracked_frame = [], [], [], [], []
    for i in range(frames + 5):
        image, intr = images[i % len(images)]
        t0 = time.perf_counter()
        pending = helper.submit(segmenter.process, image)  # as the old pipeline ran it: beside depth
        d = depth.estimate(image, intr).filtered
        t1 = time.perf_counter()
        fit_floor_plane(sample_points(d, intr, 8), threshold=0.06, rng=np.random.default_rng(0))
        pending.result()
        t2 = time.perf_counter()
        pipe.process(arsdk.Frame(image, i / 30.0, i, intrinsics=intr))  # a live camera's pace
        t3 = time.perf_counter()
        tracked_pipe.process(arsdk.Frame(image, i / 30.0, i, intrinsics=intr))
        t5 = time.perf_counter()
        if i >= 5:
            old_frame.append(t2 - t0)
            new_frame.append(t3 - t2)
            tracked_frame.append(t5 - t3)
            t4 = time.perf_counter()
            ground.update(image, d, intr)
            new_geo.append(time.perf_counter() - t4)
            old_geo.append(t2 - t1)
    pipe.close()
    tracked_pipe.close()
    helper.shutdown()
    out = {"old_geometry": stats_ms(old_geo), "new_geometry": stats_ms(new_geo), "old_frame": stats_ms(old_frame),
           "new_frame": stats_ms(new_frame), "tracked_frame": stats_ms(tracked_frame)}
    out["frame_ratio"] = round(out["new_frame"]["median_ms"] / out["old_frame"]["median_ms"], 3)
    out["frame_ratio_mean"] = round(float(np.mean(new_frame) / np.mean(old_frame)), 3)
    out["tracked_frame_ratio"] = round(out["tracked_frame"]["median_ms"] / out["old_frame"]["median_ms"], 3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth-model", default=None,
                    help="a built-in name, or SPEC=PATH (other weights run with a built-in's spec); default: the SDK's")
    ap.add_argument("--step", type=int, default=1, help="score every N-th frame of the sequences")
    args = ap.parse_args()
    root = shared_data_or_exit("realroom")
    name = args.depth_model or default_depth_model()
    print(f"realroom: {name} on {root}")
    sets = run_sets(name, root, args.step)
    for k, v in sets.items():
        print(f"  {k:12s} {v}")
    draws = line_draws(name, root)
    if draws:
        print(f"  HoloLens walk, other line draws: floor right mean {draws['floor_right_mean']}, "
              f"worst {draws['floor_right_worst']} (the SDK's draw: {sets.get('hololens', {}).get('floor_right')})")
    zoomed = other_resolutions(name, root)
    for k, v in zoomed.items():
        print(f"  single frames at {k:5s} {v}")
    crops = other_crops(name, root, sets["hololens"])
    print(f"  HoloLens walk through other crops {crops}")
    seven = seven_scenes_stream(name, root)
    print(f"  7-Scenes as a stream {seven}")
    seven_draws = seven_scenes_draws(name, root, seven)
    print(f"  7-Scenes as a stream, means over five line draws: "
          f"{ {k: v for k, v in seven_draws.items() if k != 'per_seed'} }")
    video, video_inputs = video_rate_stream(name, root)
    print(f"  HoloLens at 30 frame/s {video}")
    print(f"  the same with a camera's noise, JPEG, auto-exposure or motion blur: {video_inputs}")
    floor_known = known_floor(name, root)
    print(f"  HoloLens walk with its floor's pixels known: {floor_known}")
    sparse = sparse_streams(name, root)
    for k, v in sparse.items():
        print(f"  {k:24s} floor right {v['floor_right']}, gravity within 5 deg {v['gravity_within_5deg']}, "
              f"IoU {v['flood_iou_0.15']} / {v['flood_iou_0.40']}")
    starts = stream_starts(name, root)
    print(f"  first {starts['seconds']:.0f} s of {starts['starts']} streams: floor right {starts['floor_right']}, "
          f"not visible {starts['floor_not_visible']}, wrong angle {starts['floor_wrong_angle']}, "
          f"height low {starts['floor_height_low']}, high {starts['floor_height_high']}")
    others = other_starts(name, root, starts)
    print(f"  the same from other frames and line draws: {others['floor_right']}, mean with the SDK's run "
          f"{others['floor_right_mean_with_sdk_run']}")
    still = still_flicker(name, root)
    print(f"  still camera {still}")
    timing = cost(name, root)
    print(f"  cost {timing}")
    write_result("realroom", {"depth_model": name, "sets": sets, "line_draws": draws, "other_resolutions": zoomed,
                              "other_crops": crops,
                              "seven_scenes_stream": seven, "seven_scenes_line_draws": seven_draws,
                              "video_rate": video,
                              "video_rate_camera_inputs": video_inputs,
                              "known_floor": floor_known, "sparse_streams": sparse,
                              "stream_starts": starts, "stream_starts_other_runs": others, "still_camera": still,
                              "cost": timing})


if __name__ == "__main__":
    main()
