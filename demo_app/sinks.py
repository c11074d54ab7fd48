"""Where rendered frames go: a video file, screenshots."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from arsdk.errors import InputError, SinkError

VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG"}


class VideoSink:
    """Writes RGB frames to a video file (mp4v in .mp4, MJPG in .avi).

    OpenCV's writer reports nothing when a write fails (a full disk, a file-size limit) and buffers its output in
    large chunks, so the file's growth says nothing frame by frame: `close()` reads the finished file back, and a
    file that cannot be opened or holds fewer frames than were written raises SinkError naming the path and
    what was kept."""

    def __init__(self, path, size: tuple[int, int], fps: float = 30.0):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise InputError(f"--output {self.path}: expected a .mp4 or .avi file name, got {suffix or 'no suffix'!r}")
        if self.path.parent and not self.path.parent.exists():
            raise InputError(f"--output {self.path}: folder {self.path.parent} does not exist")
        w, h = size
        if w % 2 or h % 2:  # the encoders drop an odd row or column without a word
            raise InputError(f"--output {self.path}: video needs an even width and height, got {w}x{h}")
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*VIDEO_SUFFIXES[suffix]), fps, size)
        if not self._writer.isOpened():
            raise SinkError(f"--output {self.path}: OpenCV cannot open a {VIDEO_SUFFIXES[suffix]} writer at "
                            f"{w}x{h} here (is the folder writable? is the size within the codec's limits?)")
        self.size, self.frames = size, 0
        self._closed = False

    def write(self, rgb: np.ndarray):
        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise InputError(f"video frame: expected {self.size[0]}x{self.size[1]}, got {rgb.shape[1]}x{rgb.shape[0]}")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self):
        """Finish the file and check it: raises SinkError when it holds fewer frames than were written."""
        if self._closed:
            return
        self._closed = True
        self._writer.release()
        if self.frames == 0:
            self.path.unlink(missing_ok=True)  # an empty container no player opens: leave nothing behind
            raise SinkError(f"--output {self.path}: no frame was written; no file kept")
        cap = cv2.VideoCapture(str(self.path))
        readable = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        if cap.isOpened() and readable < self.frames:  # a damaged file's header count means little: count them
            readable = 0
            while cap.grab():
                readable += 1
        cap.release()
        if readable < self.frames:
            raise SinkError(f"--output {self.path}: {self.frames} frames written but "
                            + (f"only {readable} readable" if readable else "the file cannot be opened")
                            + " (disk full, or a file-size limit?)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def save_screenshot(rgb: np.ndarray, folder=".") -> Path:
    path = Path(folder) / time.strftime("arsdk-%Y%m%d-%H%M%S.png")
    n = 1
    while path.exists():
        path = path.with_name(f"{path.stem}-{n}.png")
        n += 1
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
