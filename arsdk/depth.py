"""Monocular depth: a model spec, pre/post-processing, metric scale recovery and an edge-preserving temporal filter."""
from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from . import models
from .errors import InputError, ModelError, check_image
from .geometry import FloorPlane, Intrinsics, fit_floor_plane, sample_points
from .inference import Model, ModelHolder, load_model
from .imaging import PaddingWindow, downscale, enlarge_into_margins, fill_nearest, inside_margins, with_rim
from .temporal import EdgePreservingFilter

log = logging.getLogger(__name__)

# how far (a share of the model's width) a collapse of a metric model's output drags the pixels around it toward 0:
# measured against true depth on the HoloLens walk's collapses, FastDepth's error there fades out 7-9 px from the
# core at 224 px (mean |log error| within 16 px of the core 0.37 filling the core alone, 0.26 from 5 px beyond it,
# 0.24 from 7, 0.23 from 8-9)
COLLAPSE_RIM = 0.035

METRIC, RELATIVE_INVERSE, RELATIVE_DEPTH = "metric", "relative_inverse", "relative_depth"


@dataclass(frozen=True)
class DepthModelSpec:
    """How to feed a depth model and read its output.

    input_size: (width, height) of the model input. layout: "nchw" or "nhwc". mean/std: applied to RGB in [0, 1].
    output_kind: "metric" (metres), "relative_inverse" (larger = nearer, unknown scale; MiDaS) or "relative_depth".
    reference_hfov_deg: horizontal FOV of the camera a metric model was trained on; metric output is rescaled by
    the ratio of focal lengths so a narrower or wider camera still gets metres (None: no correction).
    reference_vfov_deg: its vertical FOV. The frame is resized to the input whatever its aspect, so a camera of
    another aspect than the training one is magnified differently across and down: the correction is then a
    weighted geometric mean of the two focal ratios (None: the horizontal one alone).
    vertical_weight: the vertical ratio's share of that mean (its exponent; the horizontal one gets the rest, so a
    camera of the training aspect is corrected by its focal ratio whatever the weight), for a picture wider than
    the reference camera's and for a taller one.
    min_depth, max_depth: the metres a metric model's raw output can mean (FastDepth learnt NYU's rooms, 0.5-10
    m). Outside them, and where not finite, an output pixel is a failure of the model: it takes its nearest good
    neighbour's value (`DepthEstimator.plausible`).
    """

    input_size: tuple[int, int]
    layout: str = "nchw"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    output_kind: str = METRIC
    reference_hfov_deg: float | None = None
    reference_vfov_deg: float | None = None
    vertical_weight: tuple[float, float] = (0.5, 0.5)
    min_depth: float = 0.1
    max_depth: float = 20.0

    def __post_init__(self):
        if self.layout not in ("nchw", "nhwc"):
            raise InputError(f"DepthModelSpec.layout: expected 'nchw' or 'nhwc', got {self.layout!r}")
        if self.output_kind not in (METRIC, RELATIVE_INVERSE, RELATIVE_DEPTH):
            raise InputError(f"DepthModelSpec.output_kind: expected one of metric, relative_inverse, "
                             f"relative_depth, got {self.output_kind!r}")
        if not 0.0 < self.min_depth < self.max_depth:
            raise InputError(f"DepthModelSpec: expected 0 < min_depth < max_depth (metres), got min_depth "
                             f"{self.min_depth}, max_depth {self.max_depth}")
        weights = self.vertical_weight
        if not (isinstance(weights, (tuple, list)) and len(weights) == 2
                and all(isinstance(w, (int, float)) and 0.0 <= w <= 1.0 for w in weights)):
            raise InputError(f"DepthModelSpec.vertical_weight: expected two shares in [0, 1] (wider, taller), "
                             f"got {self.vertical_weight!r}")

    def input_shape(self) -> tuple[int, int, int, int]:
        w, h = self.input_size
        return (1, 3, h, w) if self.layout == "nchw" else (1, h, w, 3)


NYU_FX, NYU_SIZE = 518.8579, (640, 480)  # Kinect v1 colour camera of NYU Depth v2
NYU_HFOV_DEG = math.degrees(2 * math.atan(NYU_SIZE[0] / 2 / NYU_FX))  # 63.3: the whole frame
# FastDepth never saw a whole NYU frame: its loader (dwofk/fast-depth, dataloaders/nyu.py, for training and test
# alike) resizes the 640x480 frame to 333x250 and takes the central 304x228 before resizing to 224x224, so its
# metres belong to that crop's camera, 304/333 of the frame's width: 58.8 degrees. Taking the whole frame's 63.3
# put everything 9 % too far (NYU raw delta1 0.522 instead of 0.623 for FastDepth itself).
FASTDEPTH_CROP_WIDTH_FRACTION = 304 / 333
FASTDEPTH_HFOV_DEG = math.degrees(2 * math.atan(FASTDEPTH_CROP_WIDTH_FRACTION * NYU_SIZE[0] / 2 / NYU_FX))
# and of the frame's height 228/250: 45.7 degrees. A 4:3 crop squeezed into a square input: a camera of another
# aspect (a 16:9 webcam, the HoloLens's 3:2) reaches the model stretched otherwise, and taller things look nearer
NYU_FY = 519.4696
FASTDEPTH_CROP_HEIGHT_FRACTION = 228 / 250
FASTDEPTH_VFOV_DEG = math.degrees(2 * math.atan(FASTDEPTH_CROP_HEIGHT_FRACTION * NYU_SIZE[1] / 2 / NYU_FY))
# FastDepth reads distance far more from how tall things look than from how wide. Centre crops of the 156 real
# frames of shared/data (NYU/TUM/SUN, 7-Scenes, every 4th of the HoloLens walk), each pixel's output against the
# whole frame's at that pixel: a crop to 16:9 or 2:1 (rows cut: the picture stretched down) moves log depth by
# 0.55-0.76 of the stretch, a crop to 3:4 or 1:2 (stretched across) by 0.02-0.19. The focal correction of a wider
# picture is therefore 0.6 the vertical ratio's (an even mean left 16:9 views 1-5 % and 2:1 views 3-10 % too near;
# now within 2.5 % and 6.5 %), a taller one's 0.9 (an even mean put 3:4 views 28-32 % and 1:2 views 41-54 % too
# far; now within 5 % and 9.5 %). A plain 0.7 zoom moves it by only 0.6-0.8 of the magnification and is left 7-16 %
# too far: the correction takes the whole focal ratio, and no real camera of another FOV is here to measure on.
FASTDEPTH_VERTICAL_WEIGHT = (0.6, 0.9)
FASTDEPTH = DepthModelSpec((224, 224), "nchw", output_kind=METRIC, reference_hfov_deg=FASTDEPTH_HFOV_DEG,
                           reference_vfov_deg=FASTDEPTH_VFOV_DEG, vertical_weight=FASTDEPTH_VERTICAL_WEIGHT)
# ours copies FastDepth's depth, scale included (training/prune.py), so it shares FastDepth's reference camera
# across; it learnt from 5:4 views whose targets were divided by the horizontal focal ratio alone
# (training/data.py), and is corrected the same way
ARSDK_DEPTH = DepthModelSpec((192, 192), "nhwc", output_kind=METRIC, reference_hfov_deg=FASTDEPTH_HFOV_DEG)
MIDAS_SMALL = DepthModelSpec((256, 256), "nhwc", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), RELATIVE_INVERSE)
BUILTIN_SPECS = {"fastdepth": FASTDEPTH, "arsdk_depth": ARSDK_DEPTH, "arsdk_depth_int8": ARSDK_DEPTH}


def focal_over_width(hfov_deg: float) -> float:
    """A camera's focal length in units of its image width, from its horizontal field of view."""
    return 0.5 / math.tan(math.radians(hfov_deg) / 2)


def focal_correction(spec: DepthModelSpec, fx: float, fy: float, width: float, height: float) -> float:
    """What a metric model's output is multiplied by for a camera of focal lengths fx, fy (px) over a picture of
    width x height (px): its focal ratios over the reference camera's, across and down (1 with no reference)."""
    if spec.reference_hfov_deg is None:
        return 1.0
    across = (fx / width) / focal_over_width(spec.reference_hfov_deg)
    if spec.reference_vfov_deg is None:
        return across
    down = (fy / height) / focal_over_width(spec.reference_vfov_deg)
    weight = spec.vertical_weight[0 if down >= across else 1]  # rows magnified more: a wider picture
    return across ** (1.0 - weight) * down ** weight


def default_depth_model() -> str:
    """Name of the depth model to use: FastDepth when fetched, else the model shipped in the wheel."""
    if models.is_available("fastdepth"):
        return "fastdepth"
    return "arsdk_depth"


@dataclass
class DepthResult:
    """Depth at frame resolution, float32 metres (0 where unknown). `raw` is the model's output brought to metres
    with no temporal filtering; `filtered` adds the temporal filter; `scale` is the factor applied to the model
    output (1 for metric models without FOV correction); `padding` the (top, bottom, left, right) bands the model
    was not shown, which carry the depth of the picture's edge beside them."""

    raw: np.ndarray
    filtered: np.ndarray
    scale: float
    model_output: np.ndarray  # the model's own output at its resolution, before scaling
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)


class TemporalDepthFilter(EdgePreservingFilter):
    """Edge-preserving temporal filter for depth: a pixel whose depth changed by less than `tolerance` (relative)
    is averaged with its history; twice that (a moving edge, a new object) is taken at once."""

    def __init__(self, strength: float = 0.6, tolerance: float = 0.06):
        super().__init__(strength)
        self.tolerance = tolerance

    def agreement(self, new, prev):
        rel = np.abs(new - prev) / np.maximum(prev, 1e-3)
        return np.clip(2.0 - rel / self.tolerance, 0.0, 1.0)

    def finish(self, new, blended):
        return np.where(np.isfinite(blended) & (new > 0), blended, new).astype(np.float32)


class ScaleRecovery:
    """Brings relative depth to metres: a fixed user scale, or the scale that puts the floor `camera_height`
    metres below the camera (smoothed in log space across frames)."""

    def __init__(self, camera_height: float | None = 1.4, fixed_scale: float | None = None, smoothing: float = 0.8):
        if fixed_scale is None and camera_height is None:
            raise InputError("ScaleRecovery: give camera_height (m) or fixed_scale")
        if fixed_scale is not None and not fixed_scale > 0:
            raise InputError(f"fixed_scale: expected > 0, got {fixed_scale}")
        self.camera_height, self.fixed_scale, self.smoothing = camera_height, fixed_scale, smoothing
        self._log_scale: float | None = None

    def __call__(self, rel_depth: np.ndarray, intr: Intrinsics) -> float:
        if self.fixed_scale is not None:
            return self.fixed_scale
        valid = rel_depth[rel_depth > 0]
        if valid.size == 0:
            return 1.0 if self._log_scale is None else math.exp(self._log_scale)
        unit = float(np.median(valid))  # work at median depth 1 so thresholds mean the same at any scale
        stride = max(1, min(rel_depth.shape) // 48)
        plane: FloorPlane | None = fit_floor_plane(sample_points(rel_depth / unit, intr, stride), threshold=0.01,
                                                   max_tilt_deg=50)
        if plane is not None and plane.d > 0:
            log_s = math.log(self.camera_height / (plane.d * unit))
            self._log_scale = log_s if self._log_scale is None else (
                self.smoothing * self._log_scale + (1 - self.smoothing) * log_s)
        return 1.0 if self._log_scale is None else math.exp(self._log_scale)


class DepthEstimator(ModelHolder):
    """Runs a depth model on RGB frames and returns metric depth at frame resolution.

    model: a built-in name ("fastdepth", "arsdk_depth", "arsdk_depth_int8"), or a path to a .tflite/.onnx file
    with `spec`. skip_padding: show the model only the picture inside uniform padding bands (letterbox bars, a
    dataset's border; `imaging.padding_margins`), with the intrinsics of that window; the bands take the depth of
    the picture's edge beside them. A model never trained on such bands misreads the whole picture around them
    (NYU's 6-8 px white border costs FastDepth 0.04 and arsdk_depth 0.09 of median-scaled delta1).
    """

    def __init__(self, model: str | None = None, spec: DepthModelSpec | None = None, num_threads: int = 2,
                 temporal: TemporalDepthFilter | None = None, scale: ScaleRecovery | None = None,
                 skip_padding: bool = True):
        model = model or default_depth_model()
        if model in BUILTIN_SPECS:
            self.name, path, spec = model, models.model_path(model), spec or BUILTIN_SPECS[model]
        else:
            if spec is None:
                raise InputError(f"depth model {model}: a model given by path needs a DepthModelSpec")
            self.name, path = str(model), model
        self.spec, self.skip_padding, self._window = spec, skip_padding, PaddingWindow()
        self._lock = threading.RLock()
        self._last_good: DepthResult | None = None
        self.model: Model = load_model(path, num_threads)
        if tuple(self.model.input_shape) != spec.input_shape():
            raise ModelError(f"depth model {path}: input shape {self.model.input_shape} does not match its spec "
                             f"{spec.input_shape()} (input_size {spec.input_size}, layout {spec.layout})")
        self.temporal = temporal if temporal is not None else TemporalDepthFilter()
        self.scale = scale if scale is not None else (
            ScaleRecovery() if spec.output_kind != METRIC else None)
        self._mean = np.asarray(spec.mean, np.float32) * 255.0
        self._inv_std = 1.0 / (np.asarray(spec.std, np.float32) * 255.0)
        # (v - mean) / std for each 8-bit level and channel, so NHWC input is one table look-up per pixel (cv2.LUT,
        # bit-identical to the arithmetic and a fifth of its time); for an integer input tensor the table holds its
        # codes, so the picture goes in without a float pass (a level the tensor cannot represent raises here)
        levels = np.arange(256, dtype=np.float32)[:, None]
        normalised = np.ascontiguousarray(((levels - self._mean) * self._inv_std)[None], np.float32)
        inp = self.model.inputs[0]
        self._input_levels = inp.quantize(normalised, self.name) if inp.quantization else normalised

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        w, h = self.spec.input_size
        small = downscale(image, (w, h))
        if self.spec.layout == "nchw" and len(set(self.spec.std)) == 1:
            # one C++ call for (x - mean) * scale and the HWC -> NCHW transpose: 0.1 ms instead of 0.6
            return cv2.dnn.blobFromImage(small, float(self._inv_std[0]), mean=tuple(float(m) for m in self._mean))
        x = cv2.LUT(small, self._input_levels)
        return np.ascontiguousarray(x.transpose(2, 0, 1))[None] if self.spec.layout == "nchw" else x[None]

    def predict(self, image: np.ndarray) -> np.ndarray:
        """The model's raw output for an RGB frame, as an h x w float32 array at the model's resolution."""
        out = self.model.run(self.preprocess(check_image(image)))
        return np.ascontiguousarray(out.reshape(out.shape[-2:] if out.shape[-1] != 1 else out.shape[-3:-1]))

    def plausible(self, output: np.ndarray) -> np.ndarray:
        """Where the model's raw output (its resolution) is a depth it could mean: finite, and for a metric model
        within the spec's [min_depth, max_depth]."""
        good = np.isfinite(output)
        if self.spec.output_kind == METRIC:
            with np.errstate(invalid="ignore"):
                good &= (output >= self.spec.min_depth) & (output <= self.spec.max_depth)
        return good

    def _implausible_what(self) -> str:
        if self.spec.output_kind != METRIC:
            return "NaN or infinite"
        return f"NaN, infinite or outside the spec's {self.spec.min_depth:g}-{self.spec.max_depth:g} m"

    def to_depth(self, output: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, float]:
        """Model output -> metric depth (same resolution) and the scale applied."""
        spec = self.spec
        if spec.output_kind == RELATIVE_INVERSE:
            pos = output > 1e-6 * float(np.max(output))
            depth = np.where(pos, 1.0 / np.where(pos, output, 1.0), 0.0).astype(np.float32)
        else:
            depth = np.maximum(output, 0.0).astype(np.float32)
        if spec.output_kind == METRIC:
            scale = focal_correction(spec, intr.fx, intr.fy, intr.width, intr.height)
        else:
            h, w = depth.shape
            scale = self.scale(depth, intr.scaled(w, h))
        return depth * np.float32(scale), scale

    def estimate(self, image: np.ndarray, intrinsics: Intrinsics,
                 padding: tuple[int, int, int, int] | None = None) -> DepthResult:
        """Metric depth (m) for one HxWx3 uint8 RGB frame seen with `intrinsics`. Safe to call from several
        threads (one call at a time: the temporal filter is one stream's). padding: the image's padding margins
        (top, bottom, left, right) if already found (`imaging.padding_margins`); None finds them. Only
        read with skip_padding on."""
        with self._lock:
            return self._estimate(image, intrinsics, padding)

    def _estimate(self, image: np.ndarray, intrinsics: Intrinsics,
                  padding: tuple[int, int, int, int] | None = None) -> DepthResult:
        if self.model is None:
            raise InputError(f"depth model {self.name}: used after close()")
        check_image(image)
        h, w = image.shape[:2]
        intr = intrinsics.matching(w, h)
        padding = top, bottom, left, right = self._window.update(image, self.skip_padding, self.temporal, padding)
        if any(padding):
            image, intr = inside_margins(image, padding), intr.cropped(left, top, w - left - right, h - top - bottom)
        output = self.predict(image)
        good = self.plausible(output)
        if not good.all():
            share = 1.0 - float(good.mean())
            last = self._last_good
            what = self._implausible_what()
            if share > 0.5 and last is not None and last.filtered.shape == (h, w):
                log.warning("depth model %s: %.0f %% of its output is %s; keeping the last good depth",
                            self.name, 100 * share, what)
                return last
            if share > 0.5:
                raise ModelError(f"depth model {self.name}: {100 * share:.0f} % of its output is {what} "
                                 "(a broken or wrongly converted model, or a spec of another output kind?)")
            # a few failed pixels (a metric model's output collapsing to ~0 over a patch: 34 of the HoloLens
            # walk's 373 frames with FastDepth): a per-frame model predicts everywhere, so they take their nearest
            # good neighbour's depth. Left at 1e-5 m they sat at the camera; unknown, effects read them as far.
            # The collapse drags a rim of pixels around it toward 0 too, so the depth comes from beyond that rim
            rim = with_rim(~good, COLLAPSE_RIM)
            output = fill_nearest(output, ~rim if not rim.all() else good)
        depth, scale = self.to_depth(output, intr)
        filtered = self.temporal(depth) if self.temporal is not None else depth
        # the bands show no scene; left unknown, effects would take them for far away (a flood would fill a
        # letterbox bar), while the depth of the picture's edge carries every effect on to the frame's edge
        raw_full = enlarge_into_margins(depth, (w, h), padding)
        filt_full = raw_full if filtered is depth else enlarge_into_margins(filtered, (w, h), padding)
        self._last_good = DepthResult(raw_full, filt_full, scale, output, padding)
        return self._last_good
