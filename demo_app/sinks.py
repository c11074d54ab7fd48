"""Where rendered frames go: a video file, screenshots."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from arsdk.errors import InputError


class VideoSink:
    """Writes RGB frames to a video file (mp4v in .mp4, MJPG in .avi)."""

    def __init__(self, path, size: tuple[int, int], fps: float = 30.0):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise InputError(f"--output {self.path}: folder {self.path.parent} does not exist")
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
        self._writer = cv2.VideoWriter(str(self.path), fourcc, fps, size)
        if not self._writer.isOpened():
            raise InputError(f"--output {self.path}: OpenCV cannot write this format (use .mp4 or .avi)")
        self.size, self.frames = size, 0

    def write(self, rgb: np.ndarray):
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self):
        self._writer.release()


def save_screenshot(rgb: np.ndarray, folder=".") -> Path:
    path = Path(folder) / time.strftime("arsdk-%Y%m%d-%H%M%S.png")
    n = 1
    while path.exists():
        path = path.with_name(f"{path.stem}-{n}.png")
        n += 1
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
