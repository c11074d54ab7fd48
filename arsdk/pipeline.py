"""The perception pipeline: frame -> metric depth, person mask, floor plane, world frame, in one FrameState.

Synchronous mode runs every model on every frame (offline work, tests). Asynchronous mode runs depth and
segmentation on worker threads at their own rate; `process` never waits for them after the first frame and
hands back the newest results, so rendering is never blocked by the slowest model.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import replace
from typing import Callable, NamedTuple

import cv2
import numpy as np

from .frame import Frame, FrameState
from .depth import DepthEstimator, DepthResult
from .errors import InputError, ModelError, check_image
from .floor import (FloorDecision, GroundResult, GroundTracker, agreement, floor_gain, lowest_seen,
                    pull_onto_floor, unblocked_floor_share)
from .floor_colour import FloorColours
from .floor_map import FloorMap
from .parallax import FloorParallax, floor_region
from .geometry import (FloorPlane, Intrinsics, WorldFrameTracker, angle_deg, camera_to_world_from_floor,
                       follow_depth, normals_from_points, ray_descent, sample_points)
from .gravity import AgreedReadings, Gravity
from .imaging import downscale, enlarge_depth, padding_margins
from .temporal import REFERENCE_S, FrameClock, high_pass, share_over
from .fusion import DepthFusion
from .segmentation import PersonSegmenter
from .tracking import AnchorSet, CameraTracker, TrackedPose, TrackingState, rotation_between

log = logging.getLogger(__name__)


def floor_from_pose(camera_to_world: np.ndarray) -> FloorPlane:
    """The floor plane (world y = 0) in the camera frame of a camera-to-world pose whose world is y up."""
    c2w = np.asarray(camera_to_world, np.float64)
    normal = c2w[:3, :3].T @ np.array([0.0, 1.0, 0.0])
    return FloorPlane(normal, float(c2w[1, 3]))


def ground_truth_state(frame: Frame) -> FrameState:
    """A FrameState from a frame that carries ground truth (the demo source): exact depth, mask and pose."""
    if frame.depth is None or frame.intrinsics is None or frame.camera_to_world is None:
        raise InputError("ground_truth_state: the frame carries no ground truth (only the demo source has it)")
    return FrameState(frame.image, frame.depth, frame.depth, frame.mask, frame.intrinsics,
                      np.asarray(frame.camera_to_world, np.float64), floor_from_pose(frame.camera_to_world),
                      frame.timestamp, frame.index, {}, frame.index)


DEPTH, MASK, WORLD = "depth", "mask", "world"  # what an effect may read from a FrameState
MIN_FRAME_SIDE = 16  # pixels: the models, the line detector and the tracker's pyramid need this much
# tracking confidence from which the tracked turn and rise are trusted over a gravity or height reading. On frames
# 2/3 s apart (7-Scenes) the tracker's confidence sits at 0.3-0.45 on poses good to a degree a step, and trusted
# only from 0.5 the world followed readings 2 degrees off: anchors at 1 s over five line draws 10.0 -> 9.6 px;
# the walk fed every 3rd frame, floor right 0.765 -> 0.816 (BENCHMARKS.md, "Trusting the tracker from 0.3")
TRACKING_TRUSTED = 0.3


def _scale_of(similarity: np.ndarray) -> float:
    return float(np.cbrt(np.linalg.det(similarity[:3, :3])))


def _tracker_trust(tracking_confidence: float, trusted: float) -> float:
    """How far a tracked pose is trusted, in [0, 1]: whole from a confidence of `trusted` up, in proportion below."""
    return min(1.0, max(0.0, tracking_confidence) / trusted)


def gravity_pull(gap_deg: float, gravity_confidence: float, tracking_confidence: float, pull: float = 0.3,
                 trusted: float = TRACKING_TRUSTED, gate_deg: float = 6.0, agreed: bool = False) -> float:
    """The share of the gap (degrees) between the tracked and the measured up that one frame closes.

    A tracker sure of itself (confidence from `trusted` up) drifts slowly: the share is `pull`, and a reading far
    from it is more likely a bad one (floor edges taken for verticals) and counts for less (0.6 at gate_deg, 0.14
    at twice that), unless far readings have `agreed` among themselves for a while: then the tracked world is the
    one that is off (it took bad readings while tracking was weak) and the gap closes at `pull`. A tracker that
    has lost its corners turns the world with its motion model: the reading is then taken nearly whole. Scaled
    by the reading's own confidence."""
    trust = _tracker_trust(tracking_confidence, trusted)
    share = pull + (1.0 - pull) * (1.0 - trust)
    outlier = 1.0 if agreed else math.exp(-0.5 * trust * (gap_deg / gate_deg) ** 2)
    return gravity_confidence * share * outlier


def vertical_trust(state: TrackingState, tracking_confidence: float,
                   trusted: float = TRACKING_TRUSTED) -> float:
    """The share of a tracked frame's rise or fall the world's camera height follows: whole from a confidence of
    `trusted` up, less below it, none from a camera the tracker has lost or is coasting (confidence 0), whose pose
    is its motion model's guess. Frames 1.2 s apart coast often, and the guess, the last step's motion carried on,
    lifted the HoloLens camera by up to 0.5 m (floor right 0.53 with every coasting step followed, 0.72 so)."""
    if state is not TrackingState.TRACKING:
        return 0.0
    return _tracker_trust(tracking_confidence, trusted)


def _rigid(similarity_pose: np.ndarray) -> np.ndarray:
    """A camera pose through a similarity (s R, t): the rotation without the scale, the position as it is."""
    out = np.array(similarity_pose, np.float64)
    out[:3, :3] /= _scale_of(out)
    return out


class _StageInput(NamedTuple):
    """One frame as the depth and segmentation stages take it (also on the worker threads)."""

    image: np.ndarray
    intr: Intrinsics
    index: int
    up: np.ndarray | None          # given gravity, or None to estimate it
    posed: bool                    # the source's own pose is used: no gravity or floor of ours
    expected_height: float | None  # the tracked camera height, for the floor decision
    timestamp: float | None        # seconds, for the ground tracker's clock; None: already counted
    padding: tuple[int, int, int, int] | None = None  # the picture's padding bands if found once for both models


class _LatestWorker:
    """A thread that runs `fn` on the newest submitted input and keeps the newest output. A bound method is held
    weakly, so a pipeline nobody holds any more can be collected (its finalizer then stops the thread)."""

    def __init__(self, fn: Callable, name: str):
        self._fn = weakref.WeakMethod(fn) if hasattr(fn, "__self__") else (lambda: fn)
        self.name = name
        self._cond = threading.Condition()
        self._input = None
        self._output = None
        self._error: Exception | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"arsdk-{name}", daemon=True)
        self._thread.start()

    def submit(self, item):
        with self._cond:
            self._input = item
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._input is not None or self._stop)
                if self._stop:
                    return
                item, self._input = self._input, None
            fn = self._fn()
            if fn is None:  # the owner is gone
                return
            try:
                out = fn(item)
            except Exception as exc:  # one bad frame must not end the stream: log, keep the last good output
                log.warning("%s worker: frame skipped: %s", self.name, exc)
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                continue
            finally:
                del fn
            with self._cond:
                self._output, self._error = out, None
                self._cond.notify_all()

    def latest(self, wait: bool, timeout: float = 30.0):
        """The newest output. With no output yet: wait for one, or raise the error of the frame that failed (once:
        the next call waits for the frames after it)."""
        with self._cond:
            if wait and self._output is None:
                self._cond.wait_for(lambda: self._output is not None or self._error is not None, timeout)
                if self._output is None:
                    error, self._error = self._error, None
                    raise error or TimeoutError(f"{self.name} worker: no result within {timeout} s")
            return self._output

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:  # a finalizer may run on the worker itself
            self._thread.join(timeout=5.0)


def _stop_threads(depth_worker, seg_worker, helper):
    for worker in (depth_worker, seg_worker):
        if worker is not None:
            worker.stop()
    if helper is not None:
        helper.shutdown(wait=True)


class Pipeline:
    """Camera frames in, FrameStates out. Use `Pipeline.default(...)` for the shipped models.

    The world frame comes from gravity (vertical lines, the depth's level surfaces, an upright camera; or given
    per frame by an IMU: `process(frame, gravity=up)`) and the floor decided in the estimated depth (`ground`, an
    `arsdk.floor.GroundTracker`), or a remembered camera height when no floor is in view. With
    use_source_pose=True a pose carried by the frame (the demo's, or an app's own tracker) is used instead; do
    that only when the depth is consistent with the pose (metric and accurate).

    With tracking (the default) the camera is followed from frame to frame (`arsdk.tracking.CameraTracker`):
    the world frame is set by gravity and the floor on the first frame and then moves with the camera, pulled
    gently back to the measured gravity and floor height, so content placed in the room stays there; the depth
    is held at the map's scale and fused over frames (`arsdk.fusion.DepthFusion`). tracking=False re-derives
    the world from gravity and the floor on every frame (a still camera, or frames that are not a sequence).
    """

    # how far the tracked world is pulled toward the measured gravity, floor height and scale: the share of the
    # gap closed per temporal.REFERENCE_S (0.4 s), the same per second at any frame rate
    GRAVITY_PULL = 0.3
    HEIGHT_PULL = 0.05
    SCALE_PULL = 0.1
    GRAVITY_DEADBAND_DEG = 0.5
    TRACKING_TRUSTED = TRACKING_TRUSTED  # the module's, which `gravity_pull` and `vertical_trust` default to
    GRAVITY_GATE_DEG = 6.0  # with a trusted tracker, readings this far off count for 0.6 (`gravity_pull`)
    # ...unless that many frames over that many seconds agree on the same far up, within half the gate: then the
    # world is the one that is off, and the gate would hold it there (the HoloLens walk with the line detector at
    # 400 px: turned by bad readings at frames 198-206, then 15-21 degrees off for 150 frames). The seconds decide
    # at a camera's rate and on frames 0.4 s apart; two frames are two views, and on frames 0.8-1.2 s apart a
    # third held a world the readings agreed was 10-12 degrees off for one more step (the walk fed every 2nd frame,
    # floor right over four line draws 0.736 / 0.721 -> 0.773 / 0.750 from frame 0 / 1; every 3rd 0.661 -> 0.658)
    GRAVITY_AGREE_FRAMES = 2
    GRAVITY_AGREE_S = 1.2
    # The world's up set from one reading (a stream's first frame, or a frame the tracker lost, whose turn is a guess)
    # rests on that reading alone: until readings of GRAVITY_SETTLE_VIEWS views (each weighed by its confidence) are
    # in, the up is at least their mean, whatever the tracker's trust, and no reading is held off as an odd one. Fed
    # every 2nd frame, the walk's tracker lost its map at frame 195 and the world took a reading 11 degrees off, then
    # held it against the readings after it for 6 s
    GRAVITY_SETTLE_VIEWS = 4.0
    HEIGHT_DEADBAND_M = 0.03
    # A height assumed on the first frame (no floor in view: the default, or below everything seen) is no
    # measurement: the floors seen after it take over as their mean (each weighed by its `agreement`, the assumption
    # counting as HEIGHT_ASSUMED_VIEWS of them) until 1 / HEIGHT_PULL of them are in. Followed at HEIGHT_PULL from
    # the start, a stream started facing a table (frame 80 of the HoloLens walk: assumed 1.94 m, floors then seen at
    # 1.5 m, truth 1.62) held its height 20-30 % high for all of its first 24 s. A floor seen on the first frame
    # sets the scene's scale and height together, and later floors are measured at that scale: followed at
    # HEIGHT_PULL from the start, as their mean they were worse (BENCHMARKS.md)
    HEIGHT_ASSUMED_VIEWS = 0.25
    SCALE_DEADBAND = 0.03  # in log scale: 3 %
    # with a floor seen earlier in the scene and tracked since, it is still in view while this share of the
    # frame's depth lies within FLOOR_BAND of the camera height from it (the plane search needs a flatter floor
    # than a monocular depth model gives on steep or cluttered views)
    FLOOR_IN_VIEW_SHARE = 0.08
    FLOOR_BAND = 0.1
    # or while that share of the rays meets the tracked floor within FLOOR_REACH camera heights with depth at least
    # FLOOR_UNBLOCKED of the way there (FastDepth draws a table top 0.4-0.55 of the way to the floor behind it)
    FLOOR_REACH = 3.0
    FLOOR_UNBLOCKED = 0.7
    # the depth is scaled so the middle of the floor lies on the floor plane (`floor.floor_gain`); the factor
    # follows the frames that see a floor by this share per temporal.REFERENCE_S, and is held between them
    FLOOR_GAIN_SHARE = 0.1
    # A tracked frame's depth comes at the map's scale (the tracker's depth scale), the ground tracker's at its own:
    # two readings of how far the room is. Where their ratio (`ground_scale`) moves from one frame to the next, the
    # held gain takes this share of the move at once (in log), the two weighed alike, before it follows the floor at
    # FLOOR_GAIN_SHARE. Over draws 0-2 of `benchmarks/streams.py` (BENCHMARKS.md): floorless views wrongly wet, the
    # median summed over seven streams, 0.087 -> 0.043, IoU at 0.40 m +0.07 summed (0.15 m +0.02), floor right
    # -0.03 summed, the 16:9 crop's IoU at 0.15 m -0.025 on every draw. The whole move lost on every stream.
    FLOOR_GAIN_FOLLOWS_SCALE = 0.5
    # and the up-facing depth within this share of the camera height of the floor is pulled onto the floor plane
    # (`floor.pull_onto_floor`; up-facing: within FLOOR_PULL_DEG of up). FastDepth draws a floor seen steeply
    # as a slope 25-55 degrees off level, and rugs and carpet patterns 0.2-1 m above it. The pull is full within
    # FLOOR_PULL_FULL of the band (a carpet drawn 0.24 camera heights up lands on the floor) and fades over the rest,
    # so a seat 0.28 camera heights up moves two thirds of the way down and a table top (0.45) not at all
    FLOOR_PULL_BAND = 0.35
    FLOOR_PULL_FULL = 0.7
    FLOOR_PULL_FULL_SHARE = 0.5  # per temporal.REFERENCE_S: how fast the whole pull follows the floor's agreement
    FLOOR_PULL_DEG = 60.0
    # then the floor is grown over its colours (`floor_colour.FloorColours`: a carpet runner FastDepth draws as high
    # as a table), while the whole pull is at least this share of FLOOR_PULL_FULL: a frame whose own depth finds its
    # floor away from the tracked height (the HoloLens meeting table, 0.6 of it) has table pixels pulled onto the
    # plane, and growing from them filled the table (0.02-0.11 of those frames, none with the gate)
    FLOOR_GROW_AGREEMENT = 0.35
    # and what a tracked frame lays on the floor (on the plane after the pull, or grown over its colours:
    # `FloorColours.laid`) is remembered where it lies on the floor (`floor_map.FloorMap`); a later view's cells that
    # show a remembered patch in its colour are laid on the plane too, whatever the depth draws them at
    FLOOR_GAIN_LIMIT = 1.3  # a frame whose floor would need more is taken for one that sees no floor
    # the shown depth's pixels within this of the world's floor are the floor as laid (`_steadied`): left unfused
    FLOOR_KEPT_M = 1e-3
    # the tracked camera's up-down motion passes through a high-pass of this time constant (`temporal.high_pass`): a
    # camera lowered or raised takes the world with it at once, while the tracker's slow vertical drift (pitch
    # errors times the distance walked, the map's scale changing: 0.9 m over the HoloLens walk, worn at 1.58-1.67 m)
    # is left to the floor measurements, followed slowly (HEIGHT_PULL) because FastDepth's floor distance wanders
    # by 15 % from frame to frame. Camera height within 10 % on the walk: 0.74 passing all of it with a pull of
    # 0.2, 0.83 held back with 0.05
    VERTICAL_HOLD_S = 3.0
    # the depth chain (the depth model's output, gravity's lines, the floor, fusion, the pull onto the floor) runs on
    # the frame brought down to at most this wide, and its depth is enlarged to the frame's size once, at the end:
    # the depth is the model's 224 px enlarged either way, while the per-pixel work grew with the frame's area
    # (BENCHMARKS.md, "Frames wider than 640 px"). Frames no wider are worked on as they are
    DEPTH_WIDTH = 640

    def __init__(self, depth: DepthEstimator, segmenter: PersonSegmenter | None = None,
                 intrinsics: Intrinsics | None = None, asynchronous: bool = False,
                 world: WorldFrameTracker | None = None, ground: GroundTracker | None = None,
                 use_source_pose: bool = False, tracking: bool | CameraTracker = True):
        if depth is None:
            raise InputError("Pipeline: a DepthEstimator is required")
        self.depth_estimator, self.segmenter = depth, segmenter
        self.intrinsics = intrinsics
        # a short window: gravity and scale are smoothed already, and a long median lags a moving camera
        self.world = world or WorldFrameTracker(window=3)
        self.ground = ground or GroundTracker()
        self.use_source_pose = use_source_pose
        self.tracker = tracking if isinstance(tracking, CameraTracker) else CameraTracker() if tracking else None
        # the depth the floor is looked for in, fused at 80 px wide: its smooth part. At 160 the floor was said to be
        # in view on more floorless frames (HoloLens views at 30 frame/s 0.47 -> 0.51), which the water then wet
        # (median 0.009 -> 0.031 of such a frame; with motion blur, flood IoU at 0.15 m 0.728 -> 0.704)
        self.fusion = DepthFusion(work_width=80) if self.tracker is not None else None
        # the depth as shown (scaled and pulled onto the floor) fused again: `_steadied`. Fused whole by gather
        # (`DepthFusion(work_width=None, carry="gather")`) its TAE on HoloLens walk frames 250-349 at 30 frame/s went
        # 3.31 -> 2.54 for 2.5 ms more a frame at 640x480, but the flood IoU fell on all seven of `streams.py`'s
        # streams (sums 3.998 / 4.452 -> 3.969 / 4.406 at 0.15 / 0.40 m; the kitchen at 0.40 m 0.485 -> 0.459). With
        # the model's failed pixels filled, by gather at 320 wide: TAE 2.37 -> 1.92, the flood 4.012 / 4.459 -> 3.990 /
        # 4.412 (its depth a little less exact where the history was seen from far off)
        self.shown_fusion = DepthFusion() if self.tracker is not None else None
        self.anchors = AnchorSet(self.tracker) if self.tracker is not None else None
        self._world_from_map: np.ndarray | None = None
        self._floor_seen = False  # a floor measured since the scene began (the tracked world's floor is one)
        self._height_views = 0.0  # how many floor views the world's camera height rests on (`HEIGHT_ASSUMED_VIEWS`)
        self._floor_gain = 1.0
        self._gain_scale: float | None = None  # the last tracked frame's `ground_scale`
        # the floor grown over its colours where the depth draws it raised (None: not grown)
        self.floor_colours: FloorColours | None = FloorColours()
        self._pull_full: float | None = None  # the share of the pull band pulled whole, followed over time
        # the floor checked against the camera's motion: a table the depth lays on the floor is not one (None: not)
        self.floor_parallax: FloorParallax | None = FloorParallax()
        # the tracked floor's colours where they lie on it, for the views after (None: not remembered)
        self.floor_map: FloorMap | None = FloorMap()
        # the camera's height above the tracked floor on the last tracked frame, for the next floor decision
        self._tracked_height: float | None = None
        self._camera_y: float | None = None
        self._vertical_passed = 0.0
        # gravity readings far from the tracked world's up (`gravity_pull`'s agreed)
        self._far_up = AgreedReadings(self.GRAVITY_AGREE_FRAMES, self.GRAVITY_AGREE_S, self.GRAVITY_GATE_DEG / 2)
        self._up_views = 0.0  # how many readings' views the world's up rests on (`GRAVITY_SETTLE_VIEWS`)
        self._clock = FrameClock("Pipeline")  # seconds between frames: the world's pulls are per second
        self._fused: tuple[int, np.ndarray, np.ndarray] | None = None  # (depth index, fused depth, its map pose)
        # the shown fusion's last depth index, its camera's map pose, and the map pose of the one fused before it
        self._shown: tuple[int, np.ndarray, np.ndarray | None] | None = None
        self.asynchronous = asynchronous
        self._lock = threading.RLock()
        self._stage_lock = threading.Lock()
        self._undistort_maps = None
        self._unknown: np.ndarray | None = None
        self._warned_intrinsics = False
        self._bare_count = 0
        self._depth_worker = self._seg_worker = None
        self._helper = None
        if not asynchronous:
            from concurrent.futures import ThreadPoolExecutor

            # segmentation and the line detector of gravity need no depth: they run beside the depth model
            self._helper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="arsdk-helper")
        if asynchronous:
            self._depth_worker = _LatestWorker(self._depth_stage, "depth")
            if segmenter is not None:
                self._seg_worker = _LatestWorker(self._segmentation_stage, "segmentation")
        self._finalizer = None
        self._arm_finalizer()

    def _arm_finalizer(self):
        """A pipeline dropped without close() stops its threads when it is collected (re-armed when one is added)."""
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _stop_threads, self._depth_worker, self._seg_worker, self._helper)

    @classmethod
    def default(cls, intrinsics: Intrinsics | None = None, depth_model: str | None = None,
                segmentation: bool = True, asynchronous: bool = False, num_threads: int = 2,
                tracking: bool = True) -> "Pipeline":
        """The shipped models: FastDepth if fetched (else arsdk's own), MediaPipe selfie segmentation."""
        depth = DepthEstimator(depth_model, num_threads=num_threads)
        # on workers, depth and segmentation already run side by side: one thread each keeps them off each other
        seg = PersonSegmenter(num_threads=1 if asynchronous else num_threads) if segmentation else None
        return cls(depth, seg, intrinsics, asynchronous, tracking=tracking)

    # --- stages (also run on the worker threads)

    def _depth_stage(self, item, segments=None) -> tuple[DepthResult, GroundResult | None, int, dict]:
        # the worker and a caller re-running a frame (its size changed) must not interleave on the ground state
        with self._stage_lock:
            return self._depth_stage_locked(item, segments)

    def _depth_stage_locked(self, item, segments=None) -> tuple[DepthResult, GroundResult | None, int, dict]:
        image, intr, index, up, posed, expected_height, timestamp, padding = item  # a _StageInput
        t0 = time.perf_counter()
        result = (self.depth_estimator.estimate(image, intr) if padding is None
                  else self.depth_estimator.estimate(image, intr, padding=padding))
        t1 = time.perf_counter()
        if result.filtered.shape != image.shape[:2]:  # else it fails deep in the geometry, far from its cause
            raise ModelError(f"depth estimator: depth of {result.filtered.shape[1]}x{result.filtered.shape[0]} for a "
                             f"{image.shape[1]}x{image.shape[0]} picture; expected the picture's size (frames wider "
                             f"than Pipeline.DEPTH_WIDTH = {self.DEPTH_WIDTH} px reach it brought down)")
        if segments is not None:
            segments = segments.result()
        # a frame whose pose is used needs no gravity or floor of ours: its depth must stay as the model gave it
        ground = None if posed else self.ground.update(image, result.filtered, intr, up, segments, expected_height,
                                                       timestamp)
        t2 = time.perf_counter()
        return result, ground, index, {"depth": (t1 - t0) * 1e3, "geometry": (t2 - t1) * 1e3}

    def _segmentation_stage(self, item) -> tuple[np.ndarray, dict]:
        image = item.image
        t0 = time.perf_counter()
        mask = self.segmenter.process(image) if item.padding is None else self.segmenter.process(image, item.padding)
        return mask, {"segmentation": (time.perf_counter() - t0) * 1e3}

    def _padding_found_once(self) -> bool:
        """Whether a frame's padding bands are found here, once, for both models: the built-in ones, both skipping
        the bands, would each look for the same bands in the same picture (at 640x480: 0.1 ms with none, 0.4 ms
        with bars)."""
        depth, seg = self.depth_estimator, self.segmenter
        return (isinstance(depth, DepthEstimator) and isinstance(seg, PersonSegmenter) and depth.skip_padding
                and seg.skip_padding)

    def _resolve_intrinsics(self, frame: Frame, h: int, w: int) -> Intrinsics:
        intr = self.intrinsics or frame.intrinsics
        if intr is None:
            intr = Intrinsics.from_fov(w, h, 60.0)
            if not self._warned_intrinsics:
                log.warning("no intrinsics given: assuming a 60 degree horizontal FOV; pass intrinsics= for metric "
                            "accuracy")
                self._warned_intrinsics = True
        return intr.matching(w, h)

    def process(self, frame, gravity=None, bgr: bool = False, needs=None) -> FrameState:
        """One frame (a Frame or an HxWx3 uint8 array) -> FrameState. Frames are RGB; pass bgr=True for frames
        straight from OpenCV (cv2.VideoCapture, cv2.imread), which are BGR: read as RGB, the colours swap and the
        models see a different room (water turns yellow). arsdk's own sources already hand out RGB. One stream:
        calls from several threads are taken one at a time.

        gravity: the up direction in this camera's axes (x right, y down, z forward) from an IMU or an AR
        framework, e.g. minus a phone's accelerometer reading rotated into the camera; None estimates it.
        needs: what the effects will read, a set of "depth", "mask", "world" (`arsdk.effects.needs_of(effects)`); the
        models nobody reads are not run (blur alone: no depth model). None: everything the pipeline has."""
        with self._lock:
            if not self._finalizer.alive:  # its threads are stopped: a synchronous frame would fail deep inside, and
                # an asynchronous one would hand back the last result again
                raise InputError("Pipeline: used after close(); make a new one (Pipeline.default() or Pipeline(...))")
            if bgr:
                image = check_image(frame.image if isinstance(frame, Frame) else frame, "frame")
                rgb = np.ascontiguousarray(image[..., ::-1])
                frame = replace(frame, image=rgb) if isinstance(frame, Frame) else rgb
            if needs is not None:
                needs = frozenset(needs)
                if needs - {DEPTH, MASK, WORLD}:
                    raise InputError(f"needs: expected a set of {DEPTH!r}, {MASK!r}, {WORLD!r}, got {sorted(needs)}")
            return self._process(frame, gravity, needs)

    def _process(self, frame, gravity=None, needs=None) -> FrameState:
        if not isinstance(frame, Frame):  # a bare image: number it, so results can be matched to frames
            frame = Frame(check_image(frame, "frame"), time.perf_counter(), self._bare_count)
            self._bare_count += 1
        image = check_image(frame.image, "frame.image")
        h, w = image.shape[:2]
        if h < MIN_FRAME_SIDE or w < MIN_FRAME_SIDE:
            raise InputError(f"frame.image: expected at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE} pixels, got {w}x{h}")
        intr = self._resolve_intrinsics(frame, h, w)
        if any(intr.distortion):  # lens distortion bends the straight lines and planes everything here relies on
            image, intr = self._undistort(image, intr)
        posed = self.use_source_pose and frame.camera_to_world is not None
        dt = self._clock.tick(frame.timestamp)
        # the depth chain's picture and intrinsics (`DEPTH_WIDTH`); segmentation and tracking take the frame itself
        small, sintr = self._depth_frame(image, intr)
        item = _StageInput(small, sintr, frame.index, None if gravity is None else Gravity.given(gravity).up, posed,
                           self._tracked_height, frame.timestamp)
        want_depth = needs is None or bool({DEPTH, WORLD} & needs)
        want_mask = self.segmenter is not None and (needs is None or MASK in needs)
        if want_depth and want_mask and small is image and not self.asynchronous and self._padding_found_once():
            item = item._replace(padding=padding_margins(small))
        seg_item = item if small is image else item._replace(image=image, intr=intr)
        timings: dict[str, float] = {}
        result = ground = mask = None
        depth_index = frame.index
        if self.asynchronous:
            if want_mask and self._seg_worker is None:  # a segmenter given after construction
                self._seg_worker = _LatestWorker(self._segmentation_stage, "segmentation")
                self._arm_finalizer()
            if want_depth:
                self._depth_worker.submit(item)
            if want_mask:
                self._seg_worker.submit(seg_item)
            if want_depth:
                result, ground, depth_index, t = self._depth_worker.latest(wait=True)
                timings.update(t)
            if want_mask:
                mask, t = self._seg_worker.latest(wait=True)
                timings.update(t)
        else:
            # segmentation runs beside depth (both release the GIL in their runtimes): the frame costs
            # max(depth, segmentation) + geometry instead of their sum
            pending = self._helper.submit(self._segmentation_stage, seg_item) if want_mask and want_depth else None
            if want_mask and not want_depth:  # alone, it runs here: no hand-over to a helper thread
                mask, t = self._segmentation_stage(seg_item)
                timings.update(t)
            if want_depth:
                if self.tracker is not None and not posed and frame.index is not None:
                    # the camera's turn since the last frame, solved from the picture before its depth: the
                    # ground's held up, in the camera's axes, follows it before this frame's gravity is read
                    # (`GroundTracker.turn`; `track` below goes on from the pose solved here)
                    t0 = time.perf_counter()
                    turn = self.tracker.turn_into(image, intr, frame.index)
                    timings["tracking"] = (time.perf_counter() - t0) * 1e3  # the rest is added after the depth
                    if turn is not None:
                        # and the tracked world's up, in this camera's axes, backs a reading far from the held up
                        world = None
                        if self._world_from_map is not None:
                            world = floor_from_pose(_rigid(self._world_from_map @ self.tracker.pose)).normal
                        self.ground.turn(turn, world)
                reads = not posed and gravity is None and self.ground.reads_lines_at(frame.timestamp)
                lines = self._helper.submit(self.ground.lines, small, sintr, dt) if reads else None
                result, ground, depth_index, t = self._depth_stage(item, lines)
                timings.update(t)
            if pending is not None:
                mask, t = pending.result()
                timings.update(t)
        if mask is not None and mask.shape != (h, w):
            mask = self._segmentation_stage(seg_item)[0]
        if not want_depth:  # no effect reads depth or the world: the depth model, gravity and tracking are skipped
            unknown = self._unknown_depth(h, w)
            return FrameState(image, unknown, unknown, mask, intr, None, None, frame.timestamp, frame.index, timings,
                              frame.index)
        if result.filtered.shape != small.shape[:2] or (ground is None and not posed):
            # the frame size changed, or the source's pose came or went, while a worker held an older result; the
            # ground's clock has seen this frame's time already
            result, ground, depth_index = self._depth_stage(item._replace(timestamp=None))[:3]
        tracked = None
        if posed:
            # a tracked pose (the demo's, or an app's own tracker) keeps stickers and fog fixed in the room
            cam_to_world = np.asarray(frame.camera_to_world, np.float64)
            floor = floor_from_pose(cam_to_world)
            depth, up = result.filtered, Gravity.given(floor.normal)
        elif self.tracker is not None:
            t0 = time.perf_counter()
            tracked = self.tracker.track(image, ground.depth, intr, frame.index, depth_index)
            if tracked.corrected is not None:
                self._follow_correction(tracked.corrected)
            cam_to_world = self._tracked_world(tracked, ground, frame.index, depth_index, dt)
            # the depth at the map's scale over the ground tracker's, whose floor the world's height follows
            ground_scale = tracked.depth_scale * _scale_of(self._world_from_map)
            self._gain_follows(ground_scale)
            depth = self._fused_depth(ground.depth, sintr, depth_index, tracked)
            then = self.tracker.pose_of(depth_index) if depth_index != frame.index else None
            if then is not None and tracked.state is TrackingState.TRACKING:
                # a depth result of an earlier frame (a worker's): carried to where the camera is now, so the
                # effects and anchors see the room where this frame's picture shows it
                motion = np.linalg.inv(tracked.camera_to_world) @ then
                motion[:3, 3] *= _scale_of(self._world_from_map)  # map units -> metres
                depth = follow_depth(depth, sintr, motion)
            grid = sample_points(depth, sintr, self.ground.stride_for(sintr))
            visible = self._floor_in_view(ground, grid, cam_to_world, small, sintr)
            lifted = None
            if self.floor_parallax is not None:
                t1, seen = time.perf_counter(), depth
                visible, depth, lifted = self._floor_moves_so(visible, small, frame.timestamp, frame.index, depth,
                                                              sintr, cam_to_world, tracked)
                if depth is not seen:
                    grid = sample_points(depth, sintr, self.ground.stride_for(sintr))
                timings["floor_check"] = (time.perf_counter() - t1) * 1e3  # part of "tracking"
            at_map_scale = depth
            full = self._whole_pull(ground.decision, float(cam_to_world[1, 3]), dt)
            mapped = tracked.state is TrackingState.TRACKING
            if not mapped and self.floor_map is not None:  # a map lost or begun anew: its world moves
                self.floor_map.reset()
            held_off = shown_on = None
            # only where the colours or the map will lay cells this frame (`_on_the_floor`): two warps a frame
            if (self.floor_parallax is not None and self.floor_colours is not None and visible and mapped
                    and self.FLOOR_PULL_BAND > 0 and (self.floor_map is not None or self._grows(full))):
                t1 = time.perf_counter()
                motion = self.floor_parallax.floor_motion(small, frame.timestamp, depth, sintr, cam_to_world,
                                                          self._world_pose, self._floor_gain)
                if motion is not None:
                    held_off, shown_on = motion.off_floor, motion.on_floor
                timings["floor_check"] = timings.get("floor_check", 0.0) + (time.perf_counter() - t1) * 1e3
            if lifted is not None:  # lifted off the floor by the motion: held off it too
                held_off = lifted if held_off is None else held_off | cv2.resize(
                    lifted.astype(np.uint8), held_off.shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)
            depth = self._on_the_floor(depth, small, grid, ground.normals, cam_to_world, visible, sintr, dt, full,
                                       ground_scale, mapped, held_off, shown_on)
            depth = self._steadied(depth, sintr, depth_index, tracked, cam_to_world)
            floor = replace(floor_from_pose(cam_to_world), visible=visible)
            self._tracked_height = float(cam_to_world[1, 3]) if self._height_tracked(tracked) else None
            up = Gravity(floor.normal, ground.gravity.confidence, ground.gravity.source)
            self.anchors.update(self._world_from_map, at_map_scale, depth)
            timings["tracking"] = timings.get("tracking", 0.0) + (time.perf_counter() - t0) * 1e3
        else:
            floor = self.world.update(ground.decision.plane)
            cam_to_world = camera_to_world_from_floor(floor)
            grid = sample_points(ground.depth, sintr, self.ground.stride_for(sintr))
            depth = self._on_the_floor(ground.depth, small, grid, ground.normals, cam_to_world, floor.visible, sintr,
                                       dt, self.FLOOR_PULL_FULL)
            up = ground.gravity
        if small is not image:
            depth, raw = enlarge_depth(depth, (w, h)), enlarge_depth(result.raw, (w, h))
        else:
            raw = result.raw
        return FrameState(image, depth, raw, mask, intr, cam_to_world, floor, frame.timestamp, frame.index,
                          timings, depth_index, up, tracked.state if tracked else None,
                          tracked.confidence if tracked else 0.0, self.anchors if tracked else None)

    def _tracked_world(self, tracked: TrackedPose, ground: GroundResult, index: int,
                       ground_index: int, dt: float) -> np.ndarray:
        """camera-to-world of a tracked frame: the map pose, aligned with the world of gravity and the floor.
        dt: seconds since the last frame; the pulls (shares per temporal.REFERENCE_S) are per second.

        world_from_map is a similarity (s R, t): the map keeps the scale of the depth it was built from, which is
        held for consistency (anchors must not breathe), while s follows the scene's metric scale slowly."""
        first = self._world_from_map is None
        if first:  # the first frame sets the world: gravity, and the floor or a height
            start = camera_to_world_from_floor(ground.decision.plane)
            start[:3, :3] /= tracked.depth_scale  # map units -> the ground's metres
            self._world_from_map = start @ np.linalg.inv(tracked.camera_to_world)
            self._height_views = 1.0 / self.HEIGHT_PULL if ground.decision.visible else self.HEIGHT_ASSUMED_VIEWS
        c2w = _rigid(self._world_from_map @ tracked.camera_to_world)
        if (self.VERTICAL_HOLD_S > 0 and self._camera_y is not None and tracked.state is not TrackingState.INITIALISING
                and not tracked.relocalised):  # a relocalised camera's jump is a correction, not a move
            # the tracked rise since the last frame, high-passed: what has been passed so far decays, and the world
            # is shifted so the camera's height moves by the change of the passed part only. Only the share of the
            # rise the tracker measured is passed (`vertical_trust`)
            step = c2w[1, 3] - self._camera_y
            trust = vertical_trust(tracked.state, tracked.confidence, self.TRACKING_TRUSTED)
            passed = high_pass(self._vertical_passed, step * trust, dt, self.VERTICAL_HOLD_S)
            self._world_from_map[1, 3] += passed - self._vertical_passed - step
            self._vertical_passed = passed
            c2w = _rigid(self._world_from_map @ tracked.camera_to_world)
        # tracking drifts slowly in pitch and roll; gravity is measured on every frame: pull toward it, turning
        # the world about the camera so the camera does not jump. Gaps inside the dead bands are left alone: a
        # still camera keeps a still world
        seen_from, seen_in_map = c2w[:3, :3], tracked.camera_to_world[:3, :3]  # the axes gravity was measured in
        then = self.tracker.pose_of(ground_index)
        if ground_index != index and then is not None:  # gravity measured on an older frame (a worker's): its axes
            seen_from, seen_in_map = _rigid(self._world_from_map @ then)[:3, :3], then[:3, :3]
        measured_up, measured_in_map = seen_from @ ground.gravity.up, seen_in_map @ ground.gravity.up
        centre = c2w[:3, 3]
        fix = np.eye(4)
        gap = angle_deg(measured_up, (0.0, 1.0, 0.0))
        agreed = False
        far = gap > self.GRAVITY_GATE_DEG and tracked.state is TrackingState.TRACKING and not tracked.relocalised
        if far and ground.gravity.confidence > 0.5:
            # compared in the map's axes: the same up from every view, and not moved by the pull toward it
            agreed = self._far_up.add(measured_in_map, dt)
        elif far:
            # a reading too weak to count neither agrees nor disagrees: starting over there held a misread up for
            # 3 s longer at the HoloLens walk's frame 260
            self._far_up.wait(dt)
        else:
            self._far_up.clear()
        # a view lasts REFERENCE_S: at 30 frame/s a view's 12 frames together count as the one view they are
        frame_time = min(dt, REFERENCE_S)
        # the world's up as the mean of the few readings it rests on (`GRAVITY_SETTLE_VIEWS`)
        up_view = ground.gravity.confidence * frame_time / REFERENCE_S
        if first or tracked.state is TrackingState.LOST:
            self._up_views = 0.0
        if gap > self.GRAVITY_DEADBAND_DEG:
            share = gravity_pull(gap, ground.gravity.confidence, tracked.confidence, share_over(self.GRAVITY_PULL, dt),
                                 self.TRACKING_TRUSTED, self.GRAVITY_GATE_DEG, agreed)
            if self._up_views < self.GRAVITY_SETTLE_VIEWS and up_view > 0:
                share = max(share, up_view / (self._up_views + up_view))
            fix[:3, :3] = rotation_between(measured_up, np.array([0.0, 1.0, 0.0]), share)
        self._up_views += up_view
        # the metric scale: the ground tracker's (one slowly updated scale per scene) over the map's
        ratio = 1.0 / (tracked.depth_scale * _scale_of(self._world_from_map))
        if abs(math.log(ratio)) > self.SCALE_DEADBAND:
            fix[:3, :3] *= ratio ** share_over(self.SCALE_PULL, dt)
        fix[:3, 3] = centre - fix[:3, :3] @ centre  # turned and scaled about the camera
        # a height measured this frame counts by its agreement with a tracked one
        trusted, spread = centre[1] if self._height_tracked(tracked) else None, self.ground.height_spread()
        if ground.decision.visible:  # and the camera height, where a floor is in view (a far one counts little)
            gap = ground.decision.plane.d - centre[1]
            weight = agreement(ground.decision.plane.d, trusted, spread)
            views = weight * frame_time / REFERENCE_S  # this frame's share of a view
            if abs(gap) > self.HEIGHT_DEADBAND_M and views > 0:
                held = share_over(self.HEIGHT_PULL, dt) * gap * weight
                mean = views / (self._height_views + views) * gap
                fix[1, 3] += held if abs(held) >= abs(mean) else mean
            if not first:  # the first frame's view set the height and is counted
                self._height_views += views
        elif ground.lowest_seen is not None:
            # no floor in view, and the tracked floor lies above something this frame sees (a table the water
            # would climb): pulled down toward a floor below everything in view. Not toward one deeper than a
            # camera is held above a floor: that is a window's view or the model's error (a stream started at
            # HoloLens frame 140 faces a counter and a window, and was pulled 1 m too high in 6 s; the first 24 s
            # of streams, four runs, floor right 0.779 -> 0.805). Nor toward the ground tracker's assumed floor
            # where it is deeper only because its remembered height is: that is the last floor its depth found,
            # which the tracked world weighed against its own height already (a floor found at 1.87 m on the
            # 7-Scenes kitchen's table views, against 1.45 tracked, then pulled the world 0.2 m up over the
            # floorless views after it)
            # Once the scene's height has settled on floors seen, this is one more measurement, counted by its
            # agreement with the tracked height as a floor seen is: at full weight, FastDepth's far floor drawn
            # 2.1-2.5 m down on a few floorless views pushed the walk seen through a 16:9 crop 0.25 m up in 12
            # frames, and the floors seen after it, 20-40 % off the height it had reached, then counted for almost
            # nothing (floor right there 0.42 -> 0.73). Before, it counts in full: a first floor that was a table
            # or counter is corrected by it (weighed from the start, the first 24 s of streams lost 0.03)
            below = ground.lowest_seen + self.ground.settings.clearance
            if centre[1] + self.HEIGHT_DEADBAND_M < below <= self.ground.settings.camera_height_range[1]:
                settled = self.ground.height_settled()
                weight = 1.0 - settled + settled * agreement(below, trusted, spread)
                fix[1, 3] += share_over(self.HEIGHT_PULL, dt) * (below - centre[1]) * weight
        self._world_from_map = fix @ self._world_from_map
        c2w = _rigid(self._world_from_map @ tracked.camera_to_world)
        self._camera_y = float(c2w[1, 3])
        return c2w

    def _follow_correction(self, fix: np.ndarray):
        """The tracker corrected its drift by moving its map by `fix`: the world moves with the map, so the camera,
        the floor and the fog stay where they are, and anchors placed before the drift grew return to their place.
        The fused depth's pose moves with the map too (its depth is of the same picture)."""
        if self._world_from_map is not None:
            self._world_from_map = self._world_from_map @ np.linalg.inv(fix)
        if self._fused is not None:
            self._fused = (self._fused[0], self._fused[1], fix @ self._fused[2])
        if self._shown is not None:
            before = self._shown[2]
            self._shown = (self._shown[0], fix @ self._shown[1], None if before is None else fix @ before)

    def _height_tracked(self, tracked: TrackedPose) -> bool:
        """Whether the world's camera height is a tracked one: a floor measured in this scene, followed since."""
        return self._floor_seen and tracked.state is TrackingState.TRACKING

    def _floor_in_view(self, ground: GroundResult, grid: np.ndarray, cam_to_world: np.ndarray, image: np.ndarray,
                       intr: Intrinsics) -> bool:
        """Whether the floor is in view on a tracked frame: found in this frame's depth (`grid`, its sampled
        points), or, once a floor has been found in the scene, enough of the depth lying on the tracked floor or
        reaching most of the way to it (`floor.unblocked_floor_share`), or enough of the picture (`image`, the
        camera of `intr`) showing the floor's learned colours up from its bottom edge (`FloorColours.seen`: the
        floor FastDepth draws at a table's height beside it; the walk's floor in view said not 16 -> 11 of 289
        frames, its floorless frames said to show one 0.25 both, the 7-Scenes kitchen's 0.34 both)."""
        if ground.decision.visible:
            self._floor_seen = True
            return True
        if not self._floor_seen:
            return False
        pts = grid.reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        height = cam_to_world[1, 3]
        if len(pts) == 0 or height <= 0:
            return False
        up = cam_to_world[1, :3]
        below = -(pts @ up)
        if float(np.mean(np.abs(height - below) < self.FLOOR_BAND * height)) >= self.FLOOR_IN_VIEW_SHARE:
            return True
        reaching = unblocked_floor_share(pts, up, height, self.FLOOR_REACH, self.FLOOR_UNBLOCKED)
        if reaching >= self.FLOOR_IN_VIEW_SHARE:
            return True
        return self.floor_colours is not None and self.floor_colours.seen(image, intr, up) >= self.FLOOR_IN_VIEW_SHARE

    def _floor_moves_so(self, visible: bool, image: np.ndarray, timestamp: float, index: int, depth: np.ndarray,
                        intr: Intrinsics, cam_to_world: np.ndarray,
                        tracked: TrackedPose) -> tuple[bool, np.ndarray, np.ndarray | None]:
        """Whether the floor is in view, the depth (world metres), and the pixels lifted off the floor (bool, or None),
        once what the depth lays on the floor is checked against the camera's motion (`parallax.FloorParallax`, on
        the depth at the held floor gain): a table or counter the depth model draws at the floor's depth is not the
        floor, and its depth is brought to where the motion puts it; so are the blocks of a floor that moves like
        the floor as a whole that do not (`RaisedFloor.lifted`: a sofa seat, a table top beside the floor), and
        those are returned, to be held off the floor's colours and map."""
        check = self.floor_parallax
        lifted = None
        if visible and tracked.state is TrackingState.TRACKING:
            raised = check.raised(image, timestamp, depth, intr, cam_to_world, self._world_pose, self._floor_gain)
            if raised is not None and raised.lifted is not None:
                factor = cv2.resize(raised.lifted, (intr.width, intr.height), interpolation=cv2.INTER_NEAREST)
                lifted = np.isfinite(factor)
                depth = np.where(lifted, depth * np.nan_to_num(factor, nan=1.0), depth)
            elif raised is not None:
                visible = raised.visible
                kept = cv2.resize(raised.kept.astype(np.uint8), (intr.width, intr.height),
                                  interpolation=cv2.INTER_NEAREST).astype(bool)
                moved = floor_region(depth * np.float32(self._floor_gain), intr, cam_to_world) & ~kept
                depth = np.where(moved, depth * np.float32(raised.factor), depth)
        check.remember(index, timestamp, image)
        return visible, depth, lifted

    def _world_pose(self, index: int) -> np.ndarray | None:
        """A remembered frame's tracked camera-to-world in this frame's world, or None."""
        pose = self.tracker.pose_of(index)
        return None if pose is None else _rigid(self._world_from_map @ pose)

    def _whole_pull(self, decision: FloorDecision, height: float, dt: float) -> float:
        """The share of the pull band over which a tracked frame's floor is pulled wholly onto its plane:
        FLOOR_PULL_FULL where this frame's depth finds the floor itself at the tracked camera `height`, less as its
        floor lies farther from it (`agreement`). Where a frame's floor is another plane (a table top at 0.6 of the
        height), what its depth draws near the floor may be that table's far side. Followed at FLOOR_PULL_FULL_SHARE
        per temporal.REFERENCE_S: one frame's agreement is noisy, and the waterline would flicker with it. A frame
        whose depth finds no floor of its own says nothing of how well the depth agrees with the floor, and keeps the
        share held: let fall there, the share began again from none each time the floor came back into view, and the
        first frames back left most of it dry (HoloLens walk IoU 0.593 / 0.647 -> 0.609 / 0.655 at 0.15 / 0.40 m).
        The floor is compared at the depth's held gain (`_on_the_floor`): where FastDepth draws the floor nearer than
        the tracked height for seconds, the gain takes that up, and the pull need not shrink for it (HoloLens walk IoU
        0.599 / 0.648 -> 0.624 / 0.663). The plane is at the ground tracker's scale and the gain at the map's; brought
        to one scale (times `ground_scale`) the comparison gave the sparse streams more water and the walk less
        (BENCHMARKS.md, "Where the flood IoU goes"), and is not made."""
        if not decision.visible and self._pull_full is not None:
            return self._pull_full
        # the floor as the pull will see it: the depth scaled by the held gain that brings its floor onto the world's
        at_gain = decision.plane.d * self._floor_gain
        seen_here = agreement(at_gain, height, self.ground.height_spread()) if decision.visible else 0.0
        full = self.FLOOR_PULL_FULL * seen_here
        if self._pull_full is not None:
            full = self._pull_full + share_over(self.FLOOR_PULL_FULL_SHARE, dt) * (full - self._pull_full)
        self._pull_full = full
        return full

    def _gain_follows(self, ground_scale: float):
        """The held floor gain moved by FLOOR_GAIN_FOLLOWS_SCALE of the change in `ground_scale` (the tracked depth's
        scale over the ground tracker's) since the last tracked frame, in log: the depth it scales then moves by the
        rest of that change, not all of it."""
        if self._gain_scale is not None and self.FLOOR_GAIN_FOLLOWS_SCALE:
            self._floor_gain *= (self._gain_scale / ground_scale) ** self.FLOOR_GAIN_FOLLOWS_SCALE
        self._gain_scale = ground_scale

    def _grows(self, full: float) -> bool:
        """Whether the floor's colours grow on a frame whose pull is whole over `full` of the band (`_whole_pull`)."""
        return full >= self.FLOOR_GROW_AGREEMENT * self.FLOOR_PULL_FULL

    def _on_the_floor(self, depth: np.ndarray, image: np.ndarray, grid: np.ndarray, normals: np.ndarray | None,
                      cam_to_world: np.ndarray, visible: bool, intr: Intrinsics, dt: float,
                      full: float, ground_scale: float = 1.0, mapped: bool = False,
                      held_off: np.ndarray | None = None, shown_on: np.ndarray | None = None) -> np.ndarray:
        """The depth scaled so the middle of the floor lies on the world's floor, and the rest of the floor pulled
        onto it (grid: its sampled points; normals: the ground tracker's of the same grid, computed here when there
        are none of that size; dt: seconds since the last frame; full: the share of the band over which the pull is
        whole, `floor.pull_onto_floor`). With no floor in view the held factor is kept, but
        never so large that what is seen reaches down to the assumed floor's clearance: water must not climb a table
        because the depth was stretched.

        ground_scale: `depth` over the ground tracker's depth of the same frame. The floor's middle is looked for,
        and a frame's factor judged (FLOOR_GAIN_LIMIT), on the depth at the ground tracker's scale: the world's
        camera height follows the floors found there, while a tracked depth is at the map's scale, which the world
        follows slowly. On streams fed a frame every 0.8-1.2 s the map's scale drifts faster than that, and the
        tracked depth drew the floor at 0.6-0.8 of the world's height for tens of seconds: looked for around the
        height, it was not found, or judged a table, and the floor stayed dry under a floor decided right.

        mapped: the camera is tracked, so the floor map (`floor_map`) is looked up and taught in this frame's world.
        held_off: where the camera's motion shows the view to lie off the floor, as drawn (bool, any size:
        `parallax.FloorMotion.off_floor`): the floor's colours and map lay no floor there. On the HoloLens
        views of the meeting table at 30 frame/s, its wood, the floor's colour, was laid by them, 0.15-0.18 of the
        view wet where no floor is in view. The blocks the motion lifted off a floor that moves like the floor as a
        whole (`_floor_moves_so`) are held off too. shown_on: where the motion shows the view drawn off the floor to
        move as the floor does (bool, any size: `FloorMotion.on_floor`): the colours grow the floor there where it is
        joined to the floor (`FloorColours.grown`'s `shown_on`)."""
        up, height = cam_to_world[1, :3], float(cam_to_world[1, 3])
        if height <= 0:
            return depth
        if visible:
            if normals is None or normals.shape != grid.shape:
                normals = normals_from_points(grid)
            own = floor_gain(grid / np.float32(ground_scale), normals, up, height)
            if own is not None and 1.0 / self.FLOOR_GAIN_LIMIT < own < self.FLOOR_GAIN_LIMIT:
                gain = own / ground_scale
                self._floor_gain += share_over(self.FLOOR_GAIN_SHARE, dt) * (gain - self._floor_gain)
            gain = self._floor_gain
            if self.FLOOR_PULL_BAND > 0:
                depth, grid = depth * np.float32(gain), grid * np.float32(gain)
                band = self.FLOOR_PULL_BAND * height
                grown = None
                gate = self._grows(full)
                mapped = mapped and self.floor_map is not None and self.floor_colours is not None
                remembered = None
                if self.floor_colours is not None and (gate or mapped):
                    cw, ch = self.floor_colours.cells(intr.width, intr.height)
                    cintr = intr.scaled(cw, ch)
                    colours = self.floor_colours.cell_colours(image, cw, ch)
                    remembered = self.floor_map.recognised(colours, cintr, cam_to_world) if mapped else None
                    held_off, shown_on = (None if a is None else cv2.resize(
                        a.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)
                        for a in (held_off, shown_on))
                    if held_off is not None:
                        remembered = None if remembered is None else remembered & ~held_off
                if self.floor_colours is not None and gate:
                    # decided on the depth pulled at the colour cells' size; laid on the plane in the same pull
                    cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)
                    cells = pull_onto_floor(cells, grid, normals, cintr, up, height, band, self.FLOOR_PULL_DEG, full)
                    grown = self.floor_colours.grown(cells, image, cintr, up, height, dt, remembered, colours,
                                                     held_off, shown_on)
                    if mapped and self.floor_colours.laid is not None:
                        # the cells the map recognised teach it nothing, even where the depth or the growth laid them
                        # too (a patch fades unless views that did not recognise it lay it): a table top the depth
                        # once drew on the floor, taught again by each view that recognised it, held the
                        # HoloLens meeting table under water (walk IoU at 0.15 m 0.678 taught so, against 0.672 not,
                        # but 30 frame/s 0.709 against 0.728, below the 0.718 with no map)
                        laid = self.floor_colours.laid if remembered is None else self.floor_colours.laid & ~remembered
                        self.floor_map.learn(laid, colours, cintr, cam_to_world, dt)
                elif self.floor_colours is not None:  # cells held from before this frame would be out of place
                    self.floor_colours.let_go()
                    if mapped and remembered is not None and remembered.any():
                        grown = remembered.astype(np.float32)
                return pull_onto_floor(depth, grid, normals, intr, up, height, band, self.FLOOR_PULL_DEG, full, grown)
        else:
            if self.floor_colours is not None:
                self.floor_colours.let_go()
            settings = self.ground.settings
            lowest, room = lowest_seen(grid, up, settings.lowest_reach), height - settings.clearance
            gain = min(self._floor_gain, room / lowest) if lowest and lowest > 0 and room > 0 else self._floor_gain
            # the bound only takes back a stretch: the depth is not drawn nearer than the model put it
            gain = max(gain, 1.0) if self._floor_gain >= 1.0 else gain
        if abs(gain - 1.0) < 1e-3:
            return depth
        return depth * np.float32(gain)

    def _fused_depth(self, depth: np.ndarray, intr: Intrinsics, depth_index: int, tracked: TrackedPose):
        """This frame's depth at the map's scale, fused with the frames before it (once per new depth result)."""
        if self._fused is not None and self._fused[0] == depth_index:
            return self._fused[1]
        pose = self.tracker.pose_of(depth_index)
        if pose is None:
            pose = tracked.camera_to_world
        motion = None
        if self._fused is not None and tracked.state is TrackingState.TRACKING and not tracked.relocalised:
            motion = np.linalg.inv(pose) @ self._fused[2]
        fused = self.fusion.fuse(depth * np.float32(tracked.depth_scale), intr, motion)  # map units
        fused = fused * np.float32(_scale_of(self._world_from_map))  # world metres
        self._fused = (depth_index, fused, pose)
        return fused

    def _steadied(self, depth: np.ndarray, intr: Intrinsics, depth_index: int, tracked: TrackedPose,
                  cam_to_world: np.ndarray) -> np.ndarray:
        """The shown depth fused with the shown depth of the frames before (`shown_fusion`), the floor left where
        the floor stage laid it. The first fusion (`_fused_depth`) steadies the model's depth before the floor is
        looked for in it; the floor stage after it (the scale that lays the floor at the world's height, the pull
        onto the floor) moves from frame to frame too, and its flicker reached the effects unfused: on the
        HoloLens walk's views at 30 frame/s the floor stage raised the fused depth's TAE by 0.4-0.7.

        Each depth result is one measurement: a result shown again (a worker's, carried to where the camera is
        now) takes the place of its last showing in the history. depth: world metres, in this frame's camera."""
        pose = tracked.camera_to_world  # the shown depth is carried into this frame's camera (`follow_depth`)
        again = self._shown is not None and self._shown[0] == depth_index
        before = self._shown[2] if again else None if self._shown is None else self._shown[1]
        motion = None
        if before is not None and tracked.state is TrackingState.TRACKING and not tracked.relocalised:
            motion = np.linalg.inv(pose) @ before
        # the floor as laid is neither changed nor remembered: carried into a view where the same place is drawn
        # off the floor, it would pull that place down under the water
        up, height = np.asarray(cam_to_world[1, :3], np.float32), np.float32(cam_to_world[1, 3])
        on_floor = np.abs(height - depth * ray_descent(intr, up)) < self.FLOOR_KEPT_M
        scale = np.float32(_scale_of(self._world_from_map))  # world metres per map unit: the motion is the map's
        steadied = self.shown_fusion.fuse(np.where(on_floor, 0.0, depth / scale).astype(np.float32), intr, motion,
                                          replaces_last=again) * scale
        self._shown = (depth_index, pose, before)
        return np.where(on_floor, depth, steadied)

    def _depth_frame(self, image: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, Intrinsics]:
        """The frame and its intrinsics as the depth chain works on them: at most DEPTH_WIDTH wide."""
        h, w = image.shape[:2]
        if not self.DEPTH_WIDTH or w <= self.DEPTH_WIDTH:
            return image, intr
        # a very wide frame keeps MIN_FRAME_SIDE rows, and its aspect with them (the model's and the line detector's
        # intrinsics must describe one camera)
        sw, sh = self.DEPTH_WIDTH, round(h * self.DEPTH_WIDTH / w)
        if sh < MIN_FRAME_SIDE:
            sw, sh = round(w * MIN_FRAME_SIDE / h), MIN_FRAME_SIDE
            if sw >= w:
                return image, intr
        return downscale(image, (sw, sh)), intr.scaled(sw, sh)

    def _unknown_depth(self, h: int, w: int) -> np.ndarray:
        """One read-only all-unknown depth map per size: a renderer sees the same array and need not upload it."""
        if self._unknown is None or self._unknown.shape != (h, w):
            self._unknown = np.zeros((h, w), np.float32)
            self._unknown.flags.writeable = False
        return self._unknown

    def _undistort(self, image: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, Intrinsics]:
        """The frame as a distortion-free pinhole with the same K would see it (the maps are built once)."""
        if self._undistort_maps is None or self._undistort_maps[0] != intr:
            K, dist = intr.matrix, np.asarray(intr.distortion, np.float64)
            maps = cv2.initUndistortRectifyMap(K, dist, None, K, (intr.width, intr.height), cv2.CV_16SC2)
            self._undistort_maps = (intr, maps)
        maps = self._undistort_maps[1]
        return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR), replace(intr, distortion=())

    def reset(self):
        """Forget temporal state (a new scene or a cut in the video)."""
        self.depth_estimator.reset()
        if self.segmenter is not None:
            self.segmenter.reset()
        self.world.reset()
        self.ground.reset()
        if self.tracker is not None:
            self.tracker.reset()
            self.fusion.reset()
            self.shown_fusion.reset()
            self.anchors.clear()
        self._world_from_map = self._fused = self._shown = None
        self._floor_seen = False
        self._height_views = 0.0
        self._floor_gain = 1.0
        self._gain_scale = None
        if self.floor_colours is not None:
            self.floor_colours.reset()
        self._pull_full = None
        if self.floor_parallax is not None:
            self.floor_parallax.reset()
        if self.floor_map is not None:
            self.floor_map.reset()
        self._tracked_height = None
        self._camera_y = None
        self._vertical_passed = 0.0
        self._far_up.clear()
        self._up_views = 0.0
        self._clock.reset()

    def close(self):
        """Stop the worker threads (also at the end of a `with` block, or when the pipeline is collected)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
