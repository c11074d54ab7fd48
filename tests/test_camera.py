import time

import cv2
import numpy as np
import pytest

import arsdk
from arsdk.camera import LatestFrameReader
from arsdk.errors import SourceError


def _write_video(path, n=12, size=(96, 64)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for i in range(n):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:, :, 2] = 20 * i  # red channel in BGR encodes the index
        w.write(img)
    w.release()


def test_video_file_every_frame_in_order(tmp_path):
    _write_video(tmp_path / "v.avi")
    src = arsdk.open_source(tmp_path / "v.avi")
    assert isinstance(src, arsdk.VideoFileSource) and len(src) == 12
    frames = list(src)
    assert [f.index for f in frames] == list(range(12))
    reds = [int(f.image[..., 0].mean()) for f in frames]  # RGB now: red is channel 0
    assert all(abs(r - 20 * i) <= 3 for i, r in enumerate(reds))


def test_image_and_folder_sources_skip_unreadable(tmp_path, caplog):
    img = np.full((40, 50, 3), (10, 200, 30), np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cv2.imwrite(str(tmp_path / "c.png"), img)
    (tmp_path / "b.png").write_bytes(b"not a png")
    frames = list(arsdk.open_source(tmp_path))
    assert len(frames) == 2 and "b.png" in caplog.text
    assert tuple(frames[0].image[0, 0]) == (30, 200, 10)  # BGR file -> RGB frame
    single = list(arsdk.open_source(tmp_path / "a.png", repeat=3))
    assert len(single) == 3


def test_bad_sources_say_what_is_wrong(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        arsdk.open_source(tmp_path / "nope.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="not a video"):
        arsdk.open_source(tmp_path / "junk.mp4")
    with pytest.raises(SourceError, match="could not be opened"):
        arsdk.open_source(97)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        arsdk.open_source(tmp_path / "empty")
    with pytest.raises(arsdk.InputError):
        arsdk.open_source(3.5)


def test_a_missing_webcam_is_said_once_without_opencvs_own_probing_noise(capfd, monkeypatch):
    # the demo's first run on a machine with no camera falls back to the demo scene: one clear line, not a dozen of
    # OpenCV's backend warnings ahead of it (they go to the process's stderr, below Python: capfd sees them)
    monkeypatch.delenv("OPENCV_LOG_LEVEL", raising=False)
    level = cv2.utils.logging.getLogLevel()
    with pytest.raises(SourceError, match="webcam 98: could not be opened"):
        arsdk.WebcamSource(98)
    err = capfd.readouterr().err
    assert "VIDEOIO" not in err and "WARN" not in err and "ERROR" not in err, err
    assert cv2.utils.logging.getLogLevel() == level  # OpenCV's other messages are not silenced for good


def test_demo_source_ground_truth(demo_frame):
    f = demo_frame
    assert f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8
    assert f.depth.dtype == np.float32 and 1.0 < np.median(f.depth) < 6.0
    assert 0.01 < f.mask.mean() < 0.2  # the person
    assert f.camera_to_world[1, 3] == pytest.approx(1.40, abs=0.05)


def test_demo_realtime_hands_out_newest_frames():
    src = arsdk.DemoSource(160, 120, fps=60, frames=6, realtime=True)
    times = []
    for frame in src:
        times.append(frame.timestamp)
        time.sleep(0.08)  # a slow consumer: frames in between are dropped, never queued
    assert len(times) == 6
    assert all(b - a > 0.05 for a, b in zip(times, times[1:]))


def test_latest_reader_recovers_and_then_gives_up():
    state = {"n": 0, "reopened": 0}

    def read():
        state["n"] += 1
        return None if 3 <= state["n"] < 8 else np.zeros((4, 4, 3), np.uint8)

    def reopen():
        state["reopened"] += 1
        return True

    r = LatestFrameReader(read, "flaky", max_failures=3, on_failure=reopen, interval=0.005)
    seq = 0
    for _ in range(5):
        _, seq = r.get(seq)
    r.stop()
    assert state["reopened"] >= 1

    dead = LatestFrameReader(lambda: None, "dead", max_failures=3)
    with pytest.raises(SourceError, match="dead: no frame after 3 attempts"):
        dead.get(0)
    dead.stop()


def test_fit_frame_crops_instead_of_stretching():
    from arsdk.camera import fit_frame

    wide = np.zeros((720, 1280, 3), np.uint8)
    wide[:, 160:1120] = 255  # the central 4:3 part is white, the sides black
    out = fit_frame(wide, (640, 480))
    assert out.shape == (480, 640, 3) and out.min() == 255
    tall = np.zeros((400, 300, 3), np.uint8)
    assert fit_frame(tall, (640, 480)).shape == (480, 640, 3)
