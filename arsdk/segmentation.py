"""Person segmentation: a soft mask at frame resolution, smoothed over time without ghosting moving edges."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from . import models
from .errors import InputError, ModelError, check_image
from .inference import ModelHolder, load_model
from .imaging import PaddingWindow, downscale, enlarge_into_margins, inside_margins
from .temporal import EdgePreservingFilter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmenterSpec:
    """input_size (width, height), NHWC RGB in [0, 1]; output: person probability (or logits when `logits`)."""

    input_size: tuple[int, int]
    logits: bool = False


SELFIE = SegmenterSpec((256, 256))
SELFIE_LANDSCAPE = SegmenterSpec((256, 144))
BUILTIN_SPECS = {"selfie": SELFIE, "selfie_landscape": SELFIE_LANDSCAPE}


class TemporalMaskFilter(EdgePreservingFilter):
    """Mask smoothing in the spirit of MediaPipe's: where the new mask disagrees strongly with the last one
    (a moving edge) the new value is taken at once; where they agree, flicker is averaged away.
    A plain running average would leave a ghost of the person where they used to be."""

    def __init__(self, strength: float = 0.7, edge_threshold: float = 0.25):
        super().__init__(strength)
        self.edge_threshold = edge_threshold

    def agreement(self, new, prev):
        return np.clip(1.0 - np.abs(new - prev) / self.edge_threshold, 0.0, 1.0)


class PersonSegmenter(ModelHolder):
    """Soft person mask (HxW float32 in [0, 1]) for RGB frames. model: "selfie", "selfie_landscape" or a path
    with a SegmenterSpec. The default picks the landscape model for frames wider than tall. skip_padding: show
    the model only the picture inside uniform padding bands (letterbox bars; `imaging.padding_margins`), unsquashed;
    the bands hold no person (0)."""

    def __init__(self, model: str | None = None, spec: SegmenterSpec | None = None, num_threads: int = 1,
                 temporal: TemporalMaskFilter | None = None, landscape: bool = True, skip_padding: bool = True):
        model = model or ("selfie_landscape" if landscape else "selfie")
        if model in BUILTIN_SPECS:
            path, spec = models.model_path(model), spec or BUILTIN_SPECS[model]
        elif spec is None:
            raise InputError(f"segmentation model {model}: a model given by path needs a SegmenterSpec")
        else:
            path = model
        self.name, self.spec = str(model), spec
        self.model = load_model(path, num_threads)
        w, h = spec.input_size
        if tuple(self.model.input_shape) != (1, h, w, 3):
            raise ModelError(f"segmentation model {path}: input shape {self.model.input_shape}, spec expects "
                             f"(1, {h}, {w}, 3)")
        self.temporal = temporal if temporal is not None else TemporalMaskFilter()
        self.skip_padding, self._window = skip_padding, PaddingWindow()
        self._lock = threading.RLock()
        self._last_good: np.ndarray | None = None

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Person probability at the model's resolution (h x w float32), before temporal filtering."""
        w, h = self.spec.input_size
        x = downscale(check_image(image), (w, h)).astype(np.float32) * (1 / 255.0)
        out = self.model.run(x[None]).reshape(h, w)
        if self.spec.logits:
            out = 1.0 / (1.0 + np.exp(-out))
        return out

    def process(self, image: np.ndarray, padding: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """HxW float32 soft mask in [0, 1] at the frame's resolution. Safe to call from several threads (one call
        at a time: the temporal filter is one stream's). padding: the image's padding margins (top, bottom, left,
        right) if already found (`imaging.padding_margins`); None finds them. Only read with skip_padding on."""
        with self._lock:
            return self._process(image, padding)

    def _process(self, image: np.ndarray, padding: tuple[int, int, int, int] | None = None) -> np.ndarray:
        if self.model is None:
            raise InputError(f"segmentation model {self.name}: used after close()")
        check_image(image)
        padding = self._window.update(image, self.skip_padding, self.temporal, padding)
        small = self.predict(inside_margins(image, padding))
        finite = np.isfinite(small)
        if not finite.all():
            share = 1.0 - float(finite.mean())
            if share > 0.5:
                last = self._last_good
                if last is None or last.shape != image.shape[:2]:
                    raise ModelError(f"segmentation model {self.name}: {100 * share:.0f} % of its output is NaN "
                                     "or infinite (a broken or wrongly converted model?)")
                log.warning("segmentation model %s: %.0f %% of its output is NaN or infinite; keeping the last "
                            "good mask", self.name, 100 * share)
                return last
            small = np.where(finite, small, 0.0).astype(np.float32)
        if self.temporal is not None:
            small = self.temporal(small)
        mask = enlarge_into_margins(small, (image.shape[1], image.shape[0]), padding, fill=0.0)
        self._last_good = np.clip(mask, 0.0, 1.0, out=mask)
        return self._last_good
