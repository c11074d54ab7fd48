"""Into a video call and onto disk: the virtual camera (a fake pyvirtualcam backend stands in for v4l2loopback),
H.264 recording with the source's audio, stills and folders in the app, the app's readouts and listings."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import arsdk
from arsdk.imaging import SceneCut

pyvirtualcam = pytest.importorskip("pyvirtualcam")
av = pytest.importorskip("av")

ROOT = Path(__file__).resolve().parents[1]


class FakeBackend:
    """A pyvirtualcam backend that keeps what it is sent (the interface of pyvirtualcam.Backend)."""

    sent: list = []
    fail_open = False

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        if FakeBackend.fail_open:
            raise RuntimeError("'/dev/video10' is not a video4linux device")
        self.size, self._device = (width, height), device or "/dev/video-fake"

    def send(self, frame):
        FakeBackend.sent.append(np.array(frame, copy=True))

    def close(self):
        pass

    def device(self):
        return self._device

    def native_fourcc(self):
        return None


@pytest.fixture
def fake_camera():
    pyvirtualcam.register_backend("arsdk-test", FakeBackend)
    FakeBackend.sent, FakeBackend.fail_open = [], False
    yield FakeBackend
    FakeBackend.sent, FakeBackend.fail_open = [], False


def test_virtual_camera_sink(fake_camera):
    from arsdk.virtualcam import VirtualCamera

    frame = arsdk.DemoSource(64, 48).render(0.0).image
    with VirtualCamera(64, 48, 30.0, backend="arsdk-test") as cam:
        assert cam.device == "/dev/video-fake"
        cam.write(frame)
        with pytest.raises(arsdk.InputError, match="64x48"):
            cam.write(frame[:10])
    assert len(fake_camera.sent) == 1 and fake_camera.sent[0].reshape(48, 64, 3).tobytes() == frame.tobytes()


def test_missing_virtual_camera_names_the_setup_step(fake_camera):
    from arsdk.virtualcam import VirtualCamera

    fake_camera.fail_open = True
    with pytest.raises(arsdk.SinkError, match="v4l2loopback|OBS"):
        VirtualCamera(64, 48, device="/dev/video10", backend="arsdk-test")


def test_app_sends_to_the_virtual_camera(fake_camera):
    from demo_app.app import App, AppConfig

    cfg = AppConfig(source="demo", effects=["blur"], size=(64, 48), frames=5, headless=True, auto_output=False,
                    ground_truth=True, virtual_camera="", virtual_camera_backend="arsdk-test")
    App(cfg, log_fn=lambda *_: None).run()
    assert len(fake_camera.sent) == 5


def make_clip_with_audio(path: Path, frames: int = 45, fps: int = 30):
    """An H.264 clip of the demo room with a 440 Hz tone as AAC audio."""
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
    audio = out.add_stream("aac", rate=48000)
    source = arsdk.DemoSource(160, 120)
    for i in range(frames):
        vf = av.VideoFrame.from_ndarray(source.render(i / fps).image, format="rgb24")
        vf.pts = i
        out.mux(video.encode(vf))
    out.mux(video.encode(None))
    t = np.arange(int(48000 * frames / fps)) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, len(tone), 1024):
        af = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
        af.sample_rate, af.pts, af.time_base = 48000, start, Fraction(1, 48000)
        out.mux(audio.encode(af))
    out.mux(audio.encode(None))
    out.close()
    source.close()


def test_h264_recording_keeps_the_sources_audio(tmp_path):
    make_clip_with_audio(tmp_path / "call.mp4")
    r = subprocess.run([sys.executable, "-m", "demo_app", "--source", "call.mp4", "--effect", "blur", "--headless",
                        "--size", "160x120", "--frames", "30", "--output", "out.mp4", "--quality", "30"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "out.mp4")) as out:
        kinds = {s.type: s for s in out.streams}
        assert kinds["video"].codec_context.name == "h264"
        assert "audio" in kinds, "the source's audio was dropped"
        frames = sum(1 for _ in out.decode(video=0))
        out.seek(0)
        audio_s = sum(f.samples for f in out.decode(audio=0)) / kinds["audio"].rate
    assert frames == 30
    assert abs(audio_s - 1.0) < 0.1  # cut to the 30 frames (1 s) recorded, not the source's 1.5 s


def test_a_still_animates_for_the_frames_asked(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "room.png"), cv2.cvtColor(arsdk.DemoSource(160, 120).render(0).image,
                                                         cv2.COLOR_RGB2BGR))
    r = subprocess.run([sys.executable, "-m", "demo_app", "--source", "room.png", "--effect", "flood", "--headless",
                        "--size", "160x120", "--frames", "20", "--output", "out.mp4", "--depth-model", "arsdk_depth"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert "wrote 20 frames" in r.stdout
    with av.open(str(tmp_path / "out.mp4")) as out:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in out.decode(video=0)]
    changed = np.abs(frames[-1] - frames[0]).max(axis=-1) > 8
    assert len(frames) == 20 and changed.mean() > 0.01, changed.mean()  # the water rises, its ripples move


def test_scene_cuts_reset_the_stream(tmp_path):
    from skimage import data

    cut = SceneCut()
    room = arsdk.DemoSource(160, 120)
    assert not cut(room.render(0.0).image) and not cut(room.render(0.5).image)  # the same room, moving
    assert cut(np.ascontiguousarray(data.astronaut()[::4, ::4]))                 # something else entirely
    import cv2

    for name, image in (("a.png", data.astronaut()), ("b.png", data.coffee()), ("c.png", data.chelsea())):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    from demo_app.app import App, AppConfig

    app = App(AppConfig(source=str(tmp_path), effects=["flood"], size=(160, 120), headless=True,
                        auto_output=False, depth_model="arsdk_depth"), log_fn=lambda *_: None)
    resets = []
    real = app.pipeline.reset
    app.pipeline.reset = lambda: (resets.append(1), real())[1]
    app.run()
    assert len(resets) == 2  # before the second and the third photo


def test_plus_minus_say_the_new_value():
    from demo_app.app import App, AppConfig

    said = []
    app = App(AppConfig(source="demo", effects=["flood"], size=(64, 48), frames=1, headless=True,
                        auto_output=False), log_fn=said.append)
    app.handle_key("+")
    assert any("flood level: 0.4" in s for s in said), said
    app.handle_key("4")
    app.handle_key("-")
    assert any(s.startswith("blur strength: 2.4") for s in said), said
    app.close()


def test_list_effects_and_version():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "demo_app", "--list-effects"], capture_output=True, text=True,
                       timeout=120, env=env, cwd=ROOT)
    assert r.returncode == 0
    assert "flood  (reads: depth, world)" in r.stdout and "blur  (reads: mask)" in r.stdout
    assert "level = 0.35  [-10.0, 10.0]  (a number)  target water height above the floor, metres" in r.stdout
    r = subprocess.run([sys.executable, "-m", "demo_app", "--version"], capture_output=True, text=True, timeout=120,
                       env=env, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == f"arsdk {arsdk.__version__}"


def mask_lag_frames(strength: float, steps: int = 12, shift_px: int = 6) -> float:
    """How far the smoothed mask trails a person moving `shift_px` a frame, in frames: the smoothed mask's
    difference from the unsmoothed one over the unsmoothed one's change from the frame before."""
    from skimage import data

    photo = np.ascontiguousarray(data.astronaut()[:, :, :3])  # a person, 512x512
    frames = [np.ascontiguousarray(np.roll(photo, i * shift_px, axis=1)[56:456, 16:496]) for i in range(steps)]
    plain = arsdk.PersonSegmenter("selfie_landscape", temporal=arsdk.TemporalMaskFilter(0.0))
    smooth = arsdk.PersonSegmenter("selfie_landscape", temporal=arsdk.TemporalMaskFilter(strength))
    raw = [plain.process(f) for f in frames]
    filtered = [smooth.process(f) for f in frames]
    trail = np.mean([np.abs(filtered[i] - raw[i]).mean() for i in range(2, steps)])
    motion = np.mean([np.abs(raw[i] - raw[i - 1]).mean() for i in range(2, steps)])
    return float(trail / motion)


def test_mask_smoothing_lags_under_a_frame_on_motion():
    # measured: 0.05 frames at the default 0.7, 0.08 at 0.9 and 0.95; a plain running average at 0.7 trails 1.2
    # frames (the edge-preserving filter takes a moving edge at once)
    for strength in (0.7, 0.95):
        assert mask_lag_frames(strength) < 0.5


def test_mask_threshold_feather_and_colour(gt_state):
    from dataclasses import replace

    from arsdk import effects
    from arsdk.render import Renderer

    state = replace(gt_state, mask=np.clip(gt_state.mask * 0.6, 0, 1).astype(np.float32))  # a hesitant model
    h, w = state.image.shape[:2]
    person = gt_state.mask > 0.99
    with Renderer(w, h, mode="headless") as r:
        soft = r.render(state, [effects.create("blur", mode="color", color=(0.0, 1.0, 0.0))])
        hard = r.render(state, [effects.create("blur", mode="color", color=(0.0, 1.0, 0.0), threshold=0.3,
                                               feather=0.05)])
    img = state.image.astype(np.int16)
    # at mask 0.6 the soft composite is 40 % green over the person; thresholded at 0.3 the person is whole
    assert np.abs(soft[person].astype(np.int16) - img[person]).mean() > 30
    assert np.abs(hard[person].astype(np.int16) - img[person]).mean() < 3
    background = gt_state.mask < 0.01
    assert (hard[background][:, 1] > 240).mean() > 0.95 and (hard[background][:, 0] < 15).mean() > 0.95


def test_looping_background_video(tmp_path, gt_state):
    import cv2

    from arsdk import effects
    from arsdk.render import Renderer

    h, w = gt_state.image.shape[:2]
    writer = cv2.VideoWriter(str(tmp_path / "beach.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for value in (40, 200):
        writer.write(np.full((48, 64, 3), value, np.uint8))
    writer.release()
    blur = effects.create("blur", mode="replace", background=str(tmp_path / "beach.avi"))
    background = gt_state.mask < 0.01
    with Renderer(w, h, mode="headless") as r:
        seen = [int(np.median(r.render(gt_state, [blur])[background])) for _ in range(4)]
    assert seen[0] > 150 and seen[1] < 80 and seen[2] > 150 and seen[3] < 80, seen  # frames 2, 1, 2, 1: a loop


def test_background_writer_keeps_order_and_hands_back_a_failed_write():
    from arsdk.errors import SinkError
    from demo_app.sinks import BackgroundWriter

    class Recorder:
        def __init__(self, fail_at=None):
            self.path, self.frames, self.closed, self.fail_at, self.seen = Path("rec.mp4"), 0, False, fail_at, []

        def write(self, rgb):
            if self.frames == self.fail_at:
                raise SinkError(f"--output rec.mp4: writing frame {self.frames + 1} failed: {self.frames} kept")
            self.seen.append(int(rgb[0, 0, 0]))
            self.frames += 1

        def close(self):
            self.closed = True

    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(20)]
    with BackgroundWriter(Recorder()) as ok:
        for f in frames:
            ok.write(f)
    assert ok.sink.seen == list(range(20)) and ok.frames == 20 and ok.sink.closed

    broken = BackgroundWriter(Recorder(fail_at=3))
    with pytest.raises(SinkError, match="writing frame 4"):
        for f in frames:  # the failure surfaces on a later write, once the writer thread has met it
            broken.write(f)
    broken.close()  # the error was handed over once: closing reports nothing more
    assert broken.frames == 3 and broken.sink.closed
    with pytest.raises(SinkError, match="after close"):
        broken.write(frames[0])


def test_an_image_folder_takes_colour_images_only_and_says_what_it_skipped(tmp_path, caplog):
    import cv2
    from skimage import data

    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "b.png"), np.full((48, 64), 1500, np.uint16))  # a depth map beside its photo
    (tmp_path / "c.jpg").write_bytes(b"not an image")
    with caplog.at_level("WARNING"):
        frames = list(arsdk.ImageFolderSource(str(tmp_path)))
    assert len(frames) == 1 and frames[0].image.shape == data.astronaut().shape
    said = caplog.text
    assert "b.png is a single-channel 16-bit image (a depth map?); skipped" in said
    assert "c.jpg is not a readable image; skipped" in said
    (tmp_path / "a.png").unlink()
    with pytest.raises(arsdk.SourceError, match="none of its 2 image files"):
        list(arsdk.ImageFolderSource(str(tmp_path)))


def test_the_apps_fps_is_the_wall_clock_with_capture_included():
    """A camera that gives 20 frames a second, effects that take a millisecond: the app says about 20 FPS, not the
    hundreds its own work would allow, and reports the render time beside the pipeline's stages."""
    from demo_app.app import App, AppConfig

    app = App(AppConfig(source="demo", effects=["flood"], size=(64, 48), frames=40, headless=True,
                        auto_output=False, ground_truth=True), log_fn=lambda *_: None)
    app.source.close()
    app.source = arsdk.DemoSource(64, 48, fps=20.0, frames=40, realtime=True)
    summary = app.run()
    work_ms = summary["median_ms"]["pipeline"] + summary["median_ms"]["render"]
    # about 20: the frames that waited while the first one compiled the shaders follow it at once (over 16 frames
    # on a loaded machine that read 24.8: two such frames in 15; over 40, four read 22). Not above the camera's rate;
    # below it only by what a loaded machine takes (a full suite run here once fell under 14)
    assert 8.0 < summary["fps"] < 24.0, summary
    assert 1000.0 / summary["fps"] > 3 * work_ms, summary  # the rate is the camera's, not the work's
