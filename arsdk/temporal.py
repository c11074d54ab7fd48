"""Edge-preserving temporal smoothing shared by depth and masks: per pixel, a small change is averaged with the
history (flicker goes away) and a large one is taken at once (moving edges stay sharp, nothing ghosts)."""
from __future__ import annotations

import numpy as np

from .errors import InputError


class EdgePreservingFilter:
    """out = prev * keep + new * (1 - keep), keep = strength * agreement(new, prev) with agreement in [0, 1]."""

    def __init__(self, strength: float):
        if not 0.0 <= strength < 1.0:
            raise InputError(f"strength: expected 0 <= strength < 1, got {strength}")
        self.strength = strength
        self._state: np.ndarray | None = None

    def agreement(self, new: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """1 where new and prev agree (smooth fully), 0 where they differ enough to take new as it is."""
        raise NotImplementedError

    def reset(self):
        self._state = None

    def __call__(self, new: np.ndarray) -> np.ndarray:
        prev = self._state
        if prev is None or prev.shape != new.shape:
            self._state = new.astype(np.float32, copy=True)
            return self._state
        keep = self.strength * self.agreement(new, prev)
        self._state = self.finish(new, prev * keep + new * (1.0 - keep))
        return self._state

    def finish(self, new: np.ndarray, blended: np.ndarray) -> np.ndarray:
        return blended.astype(np.float32, copy=False)
