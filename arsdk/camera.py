"""Frame sources: webcam, video file, still image, image folder, and the built-in "demo" room.

Every source yields `Frame`s holding HxWx3 uint8 RGB (OpenCV's BGR is converted here, once). Live sources
(webcam, the demo in real-time mode) read on a thread and always hand out the newest frame; file sources hand
out every frame in order. A bad frame is logged and skipped; only a source that is gone for good raises.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import InputError, SourceError
from .frame import Frame
from .geometry import Intrinsics
from .imaging import fit_frame  # noqa: F401  (part of the camera API)

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class FrameSource:
    """Base class: iterate to get frames; `close()` (or a with-block) releases the device or file."""

    name = "source"
    is_live = False
    intrinsics: Intrinsics | None = None  # known intrinsics, when the source knows them

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise TypeError(f"{self.name}: a live source has no length")

    @property
    def frame_count(self) -> int | None:
        """Number of frames for finite sources, None for endless or unknown."""
        return None

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB; raises InputError naming the file when it cannot be read."""
    path = Path(path)
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.size == 0:
        raise InputError(f"image {path}: missing or not a readable image")
    if data.dtype != np.uint8:
        data = cv2.convertScaleAbs(data, alpha=255.0 / max(float(data.max()), 1.0))
    return _to_rgb(data)


class LatestFrameReader:
    """Runs `read()` on a thread and keeps only the newest result, so a slow consumer never sees stale frames
    and memory never grows. `read` returns an RGB image, or None for a failed read (logged, retried)."""

    def __init__(self, read: Callable[[], np.ndarray | None], name: str, max_failures: int = 50,
                 on_failure: Callable[[], bool] | None = None, interval: float = 0.0):
        self._read, self.name = read, name
        self._max_failures, self._on_failure, self._interval = max_failures, on_failure, interval
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._error: Exception | None = None
        self._stop = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"arsdk-reader-{name}", daemon=True)
        self._thread.start()

    def _run(self):
        failures = 0
        next_time = time.perf_counter()
        while not self._stop:
            try:
                img = self._read()
            except Exception as exc:  # a driver hiccup must not kill the thread silently
                log.warning("%s: read failed: %s", self.name, exc)
                img = None
            if img is None:
                failures += 1
                if failures >= self._max_failures:
                    if self._on_failure is not None and self._on_failure():
                        log.warning("%s: reopened after %d failed reads", self.name, failures)
                        failures = 0
                        continue
                    with self._cond:
                        self._error = SourceError(f"{self.name}: no frame after {failures} attempts; "
                                                  "the camera was unplugged or is in use")
                        self._cond.notify_all()
                    return
                time.sleep(0.01)
                continue
            failures = 0
            with self._cond:
                if self._frame is not None:
                    self.dropped += 1
                self._frame, self._seq = img, self._seq + 1
                self._cond.notify_all()
            if self._interval:
                # a frame that came late does not make the next ones come early: a camera does not catch up
                now = time.perf_counter()
                next_time = max(next_time + self._interval, now)
                time.sleep(next_time - now)

    def get(self, last_seq: int, timeout: float = 5.0) -> tuple[np.ndarray, int]:
        """Block until a frame newer than `last_seq` exists; return it and its sequence number."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._seq > last_seq or self._error is not None or self._stop, timeout)
            if self._error is not None:
                raise self._error
            if not ok or self._stop:
                raise SourceError(f"{self.name}: no new frame within {timeout:.1f} s")
            frame, self._frame = self._frame, None
            return frame, self._seq

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)


@contextlib.contextmanager
def _opencv_quiet():
    """OpenCV's own log silenced for a while: probing a camera index that is not there prints a dozen lines of
    warnings and a backend's exception from each capture backend it tries (V4L2, FFmpeg, Orbbec), ahead of the one
    clear line `WebcamSource` says itself. A level the user set in OPENCV_LOG_LEVEL is left as it is."""
    if os.environ.get("OPENCV_LOG_LEVEL"):
        yield
        return
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


class WebcamSource(FrameSource):
    """A webcam by index; frames are read on a thread and the newest is handed out."""

    is_live = True

    def __init__(self, index: int = 0, width: int | None = 640, height: int | None = 480, fps: float | None = None):
        self.index, self.name = int(index), f"webcam {index}"
        self._want = (width, height, fps)
        self._cap = self._open()
        if self._cap is None:
            raise SourceError(f"{self.name}: could not be opened (no camera at index {index}, or it is in use)")
        self._reader = LatestFrameReader(self._grab, self.name, on_failure=self._reopen)

    def _open(self):
        with _opencv_quiet():
            cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            return None
        width, height, fps = self._want
        if width and height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _grab(self):
        ok, bgr = self._cap.read()
        return _to_rgb(bgr) if ok and bgr is not None and bgr.size else None

    def _reopen(self) -> bool:
        self._cap.release()
        for _ in range(3):
            time.sleep(0.5)
            cap = self._open()
            if cap is not None:
                self._cap = cap
                return True
        return False

    def __iter__(self):
        seq, index = 0, 0
        while True:
            image, seq = self._reader.get(seq)
            yield Frame(image, time.perf_counter(), index)
            index += 1

    def close(self):
        self._reader.stop()
        self._cap.release()


class VideoFileSource(FrameSource):
    """Every frame of a video file, in order; an undecodable frame is logged and skipped."""

    def __init__(self, path):
        self.path = Path(path)
        self.name = f"video {self.path}"
        if not self.path.is_file():
            raise SourceError(f"{self.name}: file not found")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise SourceError(f"{self.name}: not a video OpenCV can decode")
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._count = count if count > 0 else None
        cap.release()

    @property
    def frame_count(self):
        return self._count

    def __len__(self):
        if self._count is None:
            raise TypeError(f"{self.name}: frame count unknown")
        return self._count

    def __iter__(self):
        """Every readable frame. An unreadable frame is skipped (the reader seeks past it); a file that ends
        before the frame count its header promises raises SourceError after the last readable frame, so a
        truncated file is told from a finished one."""
        cap = cv2.VideoCapture(str(self.path))
        index, position, skipped, last_good = 0, 0, 0, -1
        try:
            while True:
                ok = cap.grab()
                if ok:
                    ok, bgr = cap.retrieve()
                    ok = ok and bgr is not None
                if not ok:
                    if self._count is None or position >= self._count - 1:
                        break
                    skipped += 1
                    if skipped <= 3:  # then one summary at the end, not a line per frame of a cut-off file
                        log.warning("%s: frame %d could not be read; skipped", self.name, position)
                    position += 1
                    cap.set(cv2.CAP_PROP_POS_FRAMES, position)
                    continue
                last_good = position
                position += 1
                yield Frame(_to_rgb(bgr), index / self.fps, index)
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise SourceError(f"{self.name}: no frame could be read")
        # a header's count can be one off; more frames missing after the last readable one is a cut-off file
        if self._count is not None and self._count - 1 - last_good > 1:
            raise SourceError(f"{self.name}: ends after frame {last_good + 1} of the {self._count} its header "
                              f"promises: the file is truncated ({index} frames read)")
        if skipped:
            log.warning("%s: %d unreadable frames skipped, %d read", self.name, skipped, index)


class ImageFolderSource(FrameSource):
    """Every image in a folder (sorted by name); an unreadable file is logged and skipped."""

    def __init__(self, folder, fps: float = 30.0):
        self.folder = Path(folder)
        self.name = f"folder {self.folder}"
        if not self.folder.is_dir():
            raise SourceError(f"{self.name}: not a folder")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self.files:
            raise SourceError(f"{self.name}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        self.fps = fps

    @property
    def frame_count(self):
        return len(self.files)

    def __len__(self):
        return len(self.files)

    def __iter__(self):
        """Every readable colour image; depth maps (single-channel 16-bit PNGs) and unreadable files are skipped
        with a warning, and a folder with no readable image raises SourceError."""
        index = 0
        for path in self.files:
            raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if raw is None or raw.size == 0:
                log.warning("%s: %s is not a readable image; skipped", self.name, path.name)
                continue
            if raw.ndim == 2 and raw.dtype == np.uint16:
                log.warning("%s: %s is a single-channel 16-bit image (a depth map?); skipped", self.name, path.name)
                continue
            yield Frame(read_image(path), index / self.fps, index)
            index += 1
        if index == 0:
            raise SourceError(f"{self.name}: none of its {len(self.files)} image files could be read as a colour "
                              "image")


class ImageSource(FrameSource):
    """A still image, handed out `repeat` times (once by default; None: until the consumer stops), timed at `fps`
    so animated effects (rising water, drifting fog) move on it."""

    def __init__(self, path, repeat: int | None = 1, fps: float = 30.0):
        self.path = Path(path)
        self.name = f"image {self.path}"
        if repeat is not None and repeat < 1:
            raise InputError(f"{self.name}: repeat must be at least 1 (or None for endless), got {repeat}")
        try:
            self.image = read_image(self.path)
        except InputError as exc:
            raise SourceError(str(exc)) from exc
        self.repeat, self.fps = repeat, fps

    @property
    def frame_count(self):
        return self.repeat

    def __len__(self):
        if self.repeat is None:
            raise TypeError(f"{self.name}: endless (repeat=None)")
        return self.repeat

    def __iter__(self):
        i = 0
        while self.repeat is None or i < self.repeat:
            yield Frame(self.image, i / self.fps, i)
            i += 1


class DemoSource(FrameSource):
    """The built-in synthetic room with a slowly moving camera and exact depth, person mask and intrinsics.

    realtime=False: frames at t = index / fps, rendered on demand (deterministic; for tests and offline work).
    realtime=True: rendered on a reader thread at `fps`, newest frame handed out, like a webcam.
    ground_truth=False: frames carry no depth and mask (cheaper: two read-backs fewer).
    """

    def __init__(self, width: int = 640, height: int = 480, hfov_deg: float = 60.0, fps: float = 30.0,
                 frames: int | None = None, moving: bool = True, realtime: bool = False, ground_truth: bool = True):
        if width < 16 or height < 16:
            raise InputError(f"demo size: expected at least 16x16, got {width}x{height}")
        self.name = "demo"
        self.width, self.height, self.fps = width, height, fps
        self.frames, self.moving, self.is_live = frames, moving, realtime
        self.ground_truth = ground_truth
        self.intrinsics = Intrinsics.from_fov(width, height, hfov_deg)
        self._renderer = None
        self._reader: LatestFrameReader | None = None
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()

    @property
    def frame_count(self):
        return self.frames

    def __len__(self):
        if self.frames is None:
            raise TypeError("demo: endless unless frames= is given")
        return self.frames

    def render(self, t: float) -> Frame:
        """The demo frame at time t seconds (renders on the calling thread's GL context)."""
        from .scene import SceneRenderer, demo_camera_pose, demo_room

        with self._lock:
            if self._renderer is None:
                self._renderer = SceneRenderer(self.width, self.height)
                self._renderer.set_room(demo_room())
            view = self._renderer.render(demo_camera_pose(t, self.moving), self.intrinsics, self.ground_truth)
        return Frame(view.image, t, int(round(t * self.fps)), view.depth, view.mask, self.intrinsics,
                     view.camera_to_world)

    def __iter__(self):
        if not self.is_live:
            index = 0
            while self.frames is None or index < self.frames:
                frame = self.render(index / self.fps)
                frame.index = index
                yield frame
                index += 1
            return
        latest: dict = {}

        def produce():
            frame = self.render(time.perf_counter() - self._t0)
            latest["frame"] = frame
            return frame.image

        self._reader = LatestFrameReader(produce, "demo", interval=1.0 / self.fps)
        seq, index = 0, 0
        try:
            while self.frames is None or index < self.frames:
                _, seq = self._reader.get(seq)
                frame = latest["frame"]
                frame.index = index
                yield frame
                index += 1
        finally:
            self._reader.stop()

    def close(self):
        if self._reader is not None:
            self._reader.stop()


def open_source(source=0, width: int = 640, height: int = 480, **kwargs) -> FrameSource:
    """Open a frame source: a webcam index (int or digits), "demo", an image folder, an image, or a video file."""
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, (int, np.integer)) or (isinstance(source, str) and source.isdigit()):
        return WebcamSource(int(source), width, height, **kwargs)
    if not isinstance(source, (str, Path)):
        raise InputError(f"source: expected a webcam index, 'demo', or a path, got {type(source).__name__}")
    if str(source) == "demo":
        return DemoSource(width, height, **kwargs)
    path = Path(source)
    if path.is_dir():
        return ImageFolderSource(path, **kwargs)
    if not path.exists():
        raise SourceError(f"source {source}: no such file or folder (expected a webcam index, 'demo', an image, "
                          "an image folder or a video file)")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageSource(path, **kwargs)
    return VideoFileSource(path)
