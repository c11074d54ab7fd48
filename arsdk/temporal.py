"""Time in a stream of frames: edge-preserving temporal smoothing shared by depth and masks (per pixel, a small
change is averaged with the history, so flicker goes away, and a large one is taken at once, so moving edges stay
sharp and nothing ghosts), and the shares by which trackers follow new readings, per second rather than per frame
(`share_over`, with `FrameClock` timing the frames), and the high-pass that lets a tracked motion through but
not its slow drift (`high_pass`)."""
from __future__ import annotations

import logging
import math

import numpy as np

from .errors import InputError

log = logging.getLogger(__name__)


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


# The shares by which trackers follow a new reading (gravity, the camera height, the scene's scale) were measured
# on hand-held frames this far apart; over any other interval the same pull per second applies (`share_over`).
REFERENCE_S = 0.4
VIDEO_FRAME_S = 1.0 / 30.0


def share_over(share: float, seconds: float) -> float:
    """A share (of a gap closed, or of a new reading taken) given per REFERENCE_S, over `seconds`: the same pull
    per second at any frame rate up to one frame per REFERENCE_S. At 30 frame/s a frame takes about a twelfth of
    it: readings of nearly the same view, which a depth model gets wrong the same way, count as the one view they
    are. Frames further apart than REFERENCE_S take the share as it is: one frame is at most one new view."""
    if not 0.0 <= share <= 1.0:
        raise InputError(f"share_over: share: expected a value in [0, 1], got {share}")
    if seconds < 0.0:
        raise InputError(f"share_over: seconds: expected >= 0, got {seconds}")
    return 1.0 - (1.0 - share) ** (min(seconds, REFERENCE_S) / REFERENCE_S)


def high_pass(passed: float, step: float, seconds: float, hold_s: float) -> float:
    """One frame of a first-order high-pass of a motion: `passed` (the part of the motion let through so far, and
    not yet decayed) takes this frame's `step` and decays with time constant `hold_s` over `seconds` since the last
    frame. A quick move passes nearly whole and fades over hold_s; a slow drift is let through only up to its rate
    times hold_s. The same per second at any frame rate."""
    if hold_s <= 0.0:
        raise InputError(f"high_pass: hold_s: expected seconds > 0, got {hold_s}")
    if seconds < 0.0:
        raise InputError(f"high_pass: seconds: expected >= 0, got {seconds}")
    return math.exp(-seconds / hold_s) * (passed + step)


class FrameClock:
    """Seconds between the frames a stage sees, from their timestamps (`tick`). A timestamp that does not move
    forward (frames numbered without real times, a clock restarted without a reset) counts as one video frame
    (VIDEO_FRAME_S) after the last, with one warning; `reset` forgets the last frame."""

    def __init__(self, name: str):
        self.name = name
        self._last: float | None = None
        self._warned = False

    def reset(self):
        self._last = None

    def tick(self, timestamp: float) -> float:
        t = float(timestamp)
        if not np.isfinite(t):
            raise InputError(f"{self.name}: timestamp: expected finite seconds, got {timestamp!r}")
        last, self._last = self._last, t
        if last is None:
            return REFERENCE_S  # a first frame: nothing held yet, it is taken whole
        if t <= last:
            if not self._warned:
                log.warning(
                    "%s: frame timestamps do not increase (%.3f s after %.3f s): taking frames as %.3f s apart; "
                    "pass each frame's capture time in seconds", self.name, t, last, VIDEO_FRAME_S)
                self._warned = True
            self._last = last + VIDEO_FRAME_S
            return VIDEO_FRAME_S
        return t - last
