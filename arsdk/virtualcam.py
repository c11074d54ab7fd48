"""Frames out to a virtual camera: Zoom, Meet, Teams and OBS see it as one more webcam.

Through pyvirtualcam (`pip install "arsdk[virtualcam]"`): v4l2loopback on Linux, OBS Studio's Virtual Camera on
Windows and macOS. The device must exist before the camera is opened; SETUP says how to make one.
"""
from __future__ import annotations

import sys

import numpy as np

from .errors import InputError, SinkError, check_image

SETUP = {
    "linux": "load v4l2loopback: sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 "
             "exclusive_caps=1 card_label=arsdk",
    "win32": "install OBS Studio (28 or later) and start its Virtual Camera once",
    "darwin": "install OBS Studio (28 or later) and start its Virtual Camera once",
}


def setup_hint() -> str:
    return SETUP.get(sys.platform, SETUP["linux"])


class VirtualCamera:
    """`write(rgb)` sends one HxWx3 uint8 RGB frame of the size given here; `close()` (or `with`) releases the
    device. device: a device name or path (e.g. /dev/video10), None for the first free one; backend: pyvirtualcam's
    backend name, None to try each."""

    def __init__(self, width: int, height: int, fps: float = 30.0, device: str | None = None,
                 backend: str | None = None):
        if width < 1 or height < 1 or not fps > 0:
            raise InputError(f"virtual camera: expected a positive size and rate, got {width}x{height} at {fps}")
        try:
            import pyvirtualcam
        except ImportError:
            raise SinkError('virtual camera: pyvirtualcam is not installed; pip install "arsdk[virtualcam]"') from None
        try:
            self._camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, device=device,
                                               backend=backend)
        except (RuntimeError, ValueError, OSError) as exc:
            where = f" {device}" if device else ""
            raise SinkError(f"virtual camera{where}: {exc} — to make one, {setup_hint()}") from None
        self.size, self.frames = (width, height), 0

    @property
    def device(self) -> str:
        """The device in use (what apps list as the camera)."""
        return self._camera.device

    def write(self, rgb: np.ndarray):
        check_image(rgb, "virtual camera frame")
        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise InputError(f"virtual camera frame: expected {self.size[0]}x{self.size[1]}, got "
                             f"{rgb.shape[1]}x{rgb.shape[0]}")
        try:
            self._camera.send(np.ascontiguousarray(rgb))
        except (RuntimeError, OSError) as exc:
            raise SinkError(f"virtual camera {self.device}: a frame could not be sent ({exc})") from None
        self.frames += 1

    def close(self):
        camera, self._camera = getattr(self, "_camera", None), None
        if camera is not None:
            camera.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
