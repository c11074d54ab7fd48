"""Where rendered frames go: a video file (H.264 with the source's audio through PyAV, else OpenCV's MPEG-4 Part 2
or MJPG), screenshots. The virtual camera is the SDK's (`arsdk.virtualcam`)."""
from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from arsdk.errors import InputError, SinkError

VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG"}


def _check_output(path: Path, size: tuple[int, int]):
    """An output file needs an existing folder and, for the encoders, an even size (they drop an odd row or column
    without a word)."""
    if path.parent and not path.parent.exists():
        raise InputError(f"--output {path}: folder {path.parent} does not exist")
    w, h = size
    if w % 2 or h % 2:
        raise InputError(f"--output {path}: video needs an even width and height, got {w}x{h}")


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
            raise InputError(f"--output {self.path}: expected a .mp4, .mkv, .mov or .avi file name, got "
                             f"{suffix or 'no suffix'!r}")
        _check_output(self.path, size)
        w, h = size
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
        cap.release()
        if readable < self.frames:  # a damaged file's header count means little: count them
            readable = _count_frames(self.path)
        if readable < self.frames:
            raise SinkError(f"--output {self.path}: {self.frames} frames written but "
                            + (f"only {readable} readable" if readable else "the file cannot be opened")
                            + " (disk full, or a file-size limit?)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _count_frames(path: Path) -> int:
    """Decodable video frames in a file (0 when it cannot be opened)."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    if cap.isOpened():
        while cap.grab():
            n += 1
    cap.release()
    return n


class H264Sink:
    """Writes RGB frames as H.264 (libx264, yuv420p) into .mp4/.mkv/.mov through PyAV, and copies the audio of
    `audio_from` (a video file) into it, cut to the length of the video written. quality: x264's CRF (0-51,
    lower is better; 23 is its default). A failed write raises SinkError at once, naming what was kept."""

    def __init__(self, path, size: tuple[int, int], fps: float = 30.0, quality: int = 23, audio_from=None):
        import av

        self.path, self.size, self.fps, self.frames = Path(path), size, fps, 0
        _check_output(self.path, size)
        w, h = size
        if not 0 <= quality <= 51:
            raise InputError(f"--quality: expected x264's CRF in 0..51 (lower is better), got {quality}")
        self._av = av
        try:
            self._out = av.open(str(self.path), "w")
            from fractions import Fraction

            self._video = self._out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            self._video.width, self._video.height, self._video.pix_fmt = w, h, "yuv420p"
            self._video.options = {"crf": str(int(quality)), "preset": "veryfast"}
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(f"--output {self.path}: cannot open an H.264 writer ({exc})") from None
        self._audio_in = self._audio_out = None
        if audio_from is not None:
            self._open_audio(Path(audio_from))
        self._closed = False

    def _open_audio(self, source: Path):
        av = self._av
        try:
            src = av.open(str(source))
        except (av.error.FFmpegError, OSError):
            return
        streams = [s for s in src.streams if s.type == "audio"]
        if not streams:
            src.close()
            return
        self._audio_in = (src, streams[0])
        self._audio_out = self._out.add_stream("aac", rate=streams[0].rate or 48000)

    def write(self, rgb: np.ndarray):
        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise InputError(f"video frame: expected {self.size[0]}x{self.size[1]}, got {rgb.shape[1]}x{rgb.shape[0]}")
        # OpenCV's SIMD conversion to the encoder's I420 (BT.601, as swscale does it) is faster than PyAV's
        frame = self._av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        frame.pts = self.frames
        try:
            self._out.mux(self._video.encode(frame))
        except (self._av.error.FFmpegError, OSError) as exc:
            self._abandon()
            kept = _count_frames(self.path) if self.path.exists() else 0
            raise SinkError(f"--output {self.path}: writing frame {self.frames + 1} failed ({exc}): {kept} frames "
                            "readable (disk full, or a file-size limit?)") from None
        self.frames += 1

    def _copy_audio(self):
        """The source's audio up to the end of the video written, re-encoded as AAC (what MP4 players expect)."""
        src, stream = self._audio_in
        end = self.frames / self.fps
        resampler = self._av.AudioResampler(format="fltp", layout=self._audio_out.layout, rate=self._audio_out.rate)
        for frame in src.decode(stream):
            if frame.time is not None and frame.time >= end:
                break
            frame.pts = None
            for part in resampler.resample(frame):
                self._out.mux(self._audio_out.encode(part))
        for part in resampler.resample(None):
            self._out.mux(self._audio_out.encode(part))
        self._out.mux(self._audio_out.encode(None))
        src.close()

    def _abandon(self):
        self._closed = True
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - the write already failed; the error raised names it
            pass

    def close(self):
        """Flush the encoder, add the audio, finish the file and read it back: SinkError when it is short."""
        if self._closed:
            return
        self._closed = True
        try:
            self._out.mux(self._video.encode(None))
            if self._audio_out is not None:
                self._copy_audio()
            self._out.close()
        except (self._av.error.FFmpegError, OSError) as exc:
            kept = _count_frames(self.path) if self.path.exists() else 0
            raise SinkError(f"--output {self.path}: finishing the file failed ({exc}): {self.frames} frames written, "
                            f"{kept} readable (disk full, or a file-size limit?)") from None
        if self.frames == 0:
            self.path.unlink(missing_ok=True)
            raise SinkError(f"--output {self.path}: no frame was written; no file kept")
        readable = _count_frames(self.path)
        if readable < self.frames:
            raise SinkError(f"--output {self.path}: {self.frames} frames written but only {readable} readable "
                            "(disk full, or a file-size limit?)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BackgroundWriter:
    """A file sink written on its own thread, so encoding one frame overlaps the work on the next (PyAV and OpenCV
    encode without holding the GIL): about a fifth of a blur-only video's wall time on two cores. At most `depth`
    frames wait. A failed write is raised by the next write or by close, as the sink raised it (naming what
    was kept); `path` and `frames` are the sink's."""

    def __init__(self, sink, depth: int = 2):
        self.sink = sink
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None  # a write's error, not yet raised to the caller
        self._failed = False  # a write failed: the rest queued behind it are dropped
        self._thread = threading.Thread(target=self._run, name="arsdk-sink", daemon=True)
        self._thread.start()

    def __getattr__(self, name):
        return getattr(self.sink, name)

    def _run(self):
        while (rgb := self._queue.get()) is not None:
            if not self._failed:
                try:
                    self.sink.write(rgb)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._error, self._failed = exc, True

    def write(self, rgb: np.ndarray):
        """Queue a frame (the caller must not change the array afterwards); raises an earlier write's error."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if not self._thread.is_alive():
            raise SinkError(f"--output {getattr(self.sink, 'path', '')}: written to after close()")
        self._queue.put(rgb)

    def close(self):
        """Write what is queued, then close the sink; raises the first write error or the sink's own."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        self.sink.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_video_sink(path, size: tuple[int, int], fps: float = 30.0, quality: int = 23, audio_from=None):
    """H.264 with the source's audio where PyAV is installed and the container takes it (.mp4, .mkv, .mov);
    otherwise OpenCV (.mp4 as MPEG-4 Part 2, .avi as MJPG), without audio."""
    suffix = Path(path).suffix.lower()
    if suffix in (".mp4", ".mkv", ".mov"):
        import importlib.util

        if importlib.util.find_spec("av") is not None:
            return H264Sink(path, size, fps, quality, audio_from)
        if suffix != ".mp4":
            raise InputError(f"--output {path}: {suffix} needs PyAV (pip install \"arsdk[h264]\")")
    return VideoSink(path, size, fps)


def save_screenshot(rgb: np.ndarray, folder=".") -> Path:
    path = Path(folder) / time.strftime("arsdk-%Y%m%d-%H%M%S.png")
    n = 1
    while path.exists():
        path = path.with_name(f"{path.stem}-{n}.png")
        n += 1
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
