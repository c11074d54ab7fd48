"""Faults a real user meets: a full disk, truncated and garbage sources, bad calibration files, two threads on one
pipeline, frame-size changes on workers, a broken model, shaders deleted while running, objects never closed."""
from __future__ import annotations

import gc
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import arsdk
from arsdk import effects
from arsdk.render import Renderer

ROOT = Path(__file__).resolve().parents[1]


def run_app(*args, cwd, limit_bytes=None, timeout=180):
    def limit():
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "demo_app", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env)


def count_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 40-frame MJPG clip of the demo room (AVI: readable up to wherever it is cut)."""
    folder = tmp_path_factory.mktemp("clip")
    source = arsdk.DemoSource(160, 120)
    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(40):
        writer.write(cv2.cvtColor(source.render(i / 30).image, cv2.COLOR_RGB2BGR))
    writer.release()
    source.close()
    return folder / "clip.avi"


# --- sinks and sources


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_full_disk_fails_loudly_and_says_what_was_kept(tmp_path, suffix):
    out = tmp_path / f"full{suffix}"
    r = run_app("--source", "demo", "--frames", "150", "--headless", "--output", out.name, cwd=tmp_path,
                limit_bytes=300 * 1024)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "wrote 150 frames" not in r.stdout
    assert out.name in r.stderr + r.stdout and ("readable" in r.stderr or "cannot be opened" in r.stderr)


def test_finished_recording_is_checked_and_reported(tmp_path):
    r = run_app("--source", "demo", "--frames", "12", "--headless", "--output", "ok.mp4", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote 12 frames" in r.stdout and count_frames(tmp_path / "ok.mp4") == 12


def test_truncated_source_is_told_from_a_finished_one(tmp_path, clip):
    data = clip.read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    frames = []
    with pytest.raises(arsdk.SourceError, match="truncated"):
        for f in arsdk.open_source(str(tmp_path / "cut.avi")):
            frames.append(f)
    assert 10 < len(frames) < 40  # what was there was handed out first
    r = run_app("--source", "cut.avi", "--effect", "fog", "--headless", "--output", "o.mp4", "--sync",
                "--depth-model", "arsdk_depth", cwd=tmp_path)
    assert r.returncode != 0 and "truncated" in r.stderr
    assert "kept the" in r.stdout and count_frames(tmp_path / "o.mp4") == len(frames)


def test_damaged_frames_are_skipped_and_the_rest_read(tmp_path, clip):
    data = bytearray(clip.read_bytes())
    start = len(data) // 3
    data[start:start + 4000] = bytes(4000)  # one or two frames in the middle
    (tmp_path / "hole.avi").write_bytes(bytes(data))
    frames = list(arsdk.open_source(str(tmp_path / "hole.avi")))
    assert 35 <= len(frames) < 40


def test_folder_of_garbage_and_depth_maps(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(b"not an image")
    with pytest.raises(arsdk.SourceError, match="none of its 3"):
        list(arsdk.open_source(str(tmp_path)))
    r = run_app("--source", str(tmp_path), "--headless", "--output", "o.mp4", cwd=tmp_path)
    assert r.returncode != 0 and not (tmp_path / "o.mp4").exists()
    cv2.imwrite(str(tmp_path / "a_depth.png"), np.full((48, 64), 1500, np.uint16))
    cv2.imwrite(str(tmp_path / "b_photo.png"), np.full((48, 64, 3), 128, np.uint8))
    frames = list(arsdk.open_source(str(tmp_path)))
    assert len(frames) == 1 and frames[0].image.shape == (48, 64, 3)


@pytest.mark.parametrize("text, expect", [
    ("", "empty"),
    ("%YAML:1.0\ncamera_matrix: !!opencv-matrix\n  rows: 3\n", "opencv-matrix"),
    ("this: [is: not yaml", "calibration file"),
])
def test_bad_calibration_files(tmp_path, text, expect):
    path = tmp_path / "cam.yaml"
    path.write_text(text)
    with pytest.raises(arsdk.InputError, match=expect):
        arsdk.Intrinsics.from_calibration(path)
    r = run_app("--source", "demo", "--headless", "--calibration", str(path), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error: calibration file")


def test_two_by_three_camera_matrix(tmp_path):
    path = tmp_path / "cam.json"
    path.write_text('{"K": [[500, 0, 320], [0, 500, 240]], "width": 640, "height": 480}')
    with pytest.raises(arsdk.InputError, match="6 numbers"):
        arsdk.Intrinsics.from_calibration(path)


@pytest.mark.parametrize("args, expect", [
    (["--effect", "fog", "--set", "fog.color=1,2"], "3 comma-separated numbers"),
    (["--effect", "fog", "--set", "fog.color=red"], "3 comma-separated numbers"),
    (["--set", "flood.water_color=0.5"], "3 comma-separated numbers"),
    (["--set", "flood.level=abc"], "expected a number"),
    (["--set", "nosuch.param=1"], "no effect 'nosuch'"),
    (["--set", "fog.density=5"], "fog is not running"),
    (["--set", "flood.nosuch=1"], "parameters are: level"),
    (["--depth-model", "nosuch"], "fastdepth, arsdk_depth"),
    (["--output", "x.txt"], ".mp4, .mkv, .mov or .avi"),
    (["--size", "642x481", "--output", "x.mp4"], "even width and height"),
])
def test_command_line_mistakes_get_one_line(tmp_path, args, expect):
    r = run_app("--source", "demo", "--headless", "--frames", "1", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert expect in r.stderr and "Traceback" not in r.stderr and "cv2.error" not in r.stderr, r.stderr


def test_typed_parameters():
    assert effects.get("sticker").Params.parse("max_stickers", "5") == 5
    with pytest.raises(arsdk.InputError, match="whole number"):
        effects.get("sticker").Params.parse("max_stickers", "5.5")
    assert effects.get("fog").Params.parse("color", "1,0.5,0") == (1.0, 0.5, 0.0)
    with pytest.raises(arsdk.InputError, match="3 comma-separated"):
        effects.create("fog", color="red")


# --- threads and workers


def test_two_threads_on_one_pipeline_and_one_segmenter():
    image = arsdk.DemoSource(160, 120).render(0.0).image
    with arsdk.Pipeline.default(segmentation=True, tracking=False) as pipe:
        expected = pipe.process(image)
        errors, results = [], []

        def work():
            try:
                for _ in range(15):
                    results.append(pipe.process(image))
            except Exception as exc:  # noqa: BLE001 - any error is the failure under test
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(results) == 30
    for r in results:  # the same still frame: the same depth and mask, never another caller's
        assert np.allclose(r.depth_raw, expected.depth_raw, rtol=1e-4)
        assert np.abs(r.mask - expected.mask).max() < 0.05


def test_size_changes_in_asynchronous_mode():
    source = arsdk.DemoSource(320, 240)
    big, small = source.render(0.0).image, cv2.resize(source.render(0.0).image, (160, 120))
    with arsdk.Pipeline.default(segmentation=True, asynchronous=True) as pipe:
        for i in range(30):
            image = big if i % 2 else small
            state = pipe.process(image)
            assert state.depth.shape == image.shape[:2] and state.mask.shape == image.shape[:2]


def test_a_worker_error_belongs_to_its_frame():
    good = arsdk.DemoSource(160, 120).render(0.0).image
    with arsdk.Pipeline.default(segmentation=False, asynchronous=True) as pipe:
        real = pipe.depth_estimator.estimate
        calls = {"n": 0}

        def flaky(image, intr):
            calls["n"] += 1
            if calls["n"] == 1:
                raise arsdk.ModelError("a one-off failure")
            return real(image, intr)

        pipe.depth_estimator.estimate = flaky
        with pytest.raises(arsdk.ModelError, match="one-off"):
            pipe.process(good)
        failures = 0
        for _ in range(8):
            try:
                pipe.process(good)
            except arsdk.ArsdkError:
                failures += 1
        assert failures == 0


def test_tiny_frames_get_an_input_error():
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        for size in [(1, 1), (7, 9), (15, 40)]:
            with pytest.raises(arsdk.InputError, match="at least 16x16"):
                pipe.process(np.zeros((*size, 3), np.uint8))


def test_nan_model_output_is_caught_and_the_last_good_kept(caplog):
    image = arsdk.DemoSource(160, 120).render(0.0).image
    intr = arsdk.Intrinsics.from_fov(160, 120, 60)
    est = arsdk.DepthEstimator("arsdk_depth")
    good = est.estimate(image, intr)
    real = est.model.run
    est.model.run = lambda x: np.full_like(real(x), np.nan)
    again = est.estimate(image, intr)
    assert again is good and "NaN" in caplog.text and "arsdk_depth" in caplog.text
    fresh = arsdk.DepthEstimator("arsdk_depth")
    fresh.model.run = est.model.run
    with pytest.raises(arsdk.ModelError, match="NaN"):
        fresh.estimate(image, intr)


def test_a_collapsed_patch_of_metric_output_takes_its_neighbours_depth():
    # FastDepth's output collapses to ~0 over a patch on some real frames (34 of the HoloLens walk's 373): such
    # pixels are no depth at all, so they must neither sit at the camera nor be left unknown (read as far away)
    image = arsdk.DemoSource(160, 120).render(0.0).image
    intr = arsdk.Intrinsics.from_fov(160, 120, 60)
    est = arsdk.DepthEstimator("arsdk_depth")
    real = est.model.run

    def collapsed(x):
        out = real(x).copy()
        flat = out.reshape(out.shape[-3:-1] if out.shape[-1] == 1 else out.shape[-2:])
        # the collapse in the top-left corner, as on the walk's frames (an eighth of the output's width), and a
        # rim dragged toward 0 around it (to a third of the depth, 3 % of the width wide)
        core, rim = flat.shape[1] // 8, flat.shape[1] // 8 + round(0.03 * flat.shape[1])
        flat[:rim, :rim] *= 0.3
        flat[:core, :core] = 1e-5
        flat[:3, :3] = 0.0
        return out

    whole = est.estimate(image, intr).raw
    est.model.run = collapsed
    patched = est.estimate(image, intr)
    assert patched.raw.min() >= est.spec.min_depth * patched.scale * 0.999
    # the patch's pixels carry the depth next to it; the rest of the frame is as the model gave it
    inside = patched.raw[:6, :6]
    assert np.all(np.abs(inside - whole[12, 12]) < 0.3 * whole[12, 12])
    # the rim's pixels along the top edge (13.5-14.5 % of the width) take the depth beyond it too, not a third of it
    rim = (slice(0, 6), slice(22, 23))
    assert np.all(np.abs(patched.raw[rim] / whole[rim] - 1.0) < 0.3), patched.raw[rim] / whole[rim]
    assert np.array_equal(patched.raw[60:, 60:], whole[60:, 60:])
    # a model whose metric output is mostly outside the spec's range (millimetres, say) is named as broken
    fresh = arsdk.DepthEstimator("arsdk_depth")
    fresh.model.run = lambda x: real(x) * 1000.0
    with pytest.raises(arsdk.ModelError, match="outside the spec's 0.1-20 m"):
        fresh.estimate(image, intr)
    with pytest.raises(arsdk.InputError, match="min_depth"):
        arsdk.depth.DepthModelSpec((32, 32), min_depth=5.0, max_depth=2.0)


# --- rendering


def test_renderer_checks_the_state(gt_state):
    with Renderer(gt_state.image.shape[1], gt_state.image.shape[0], mode="headless") as r:
        for change, expect in [
            (dict(mask=gt_state.mask * 255), "scale a 0..255 mask"),
            (dict(mask=np.full_like(gt_state.mask, np.nan)), "NaN"),
            (dict(depth=gt_state.depth[:10]), "does not match"),
            (dict(camera_to_world=np.zeros((4, 4))), "rigid transform"),
        ]:
            from dataclasses import replace

            with pytest.raises(arsdk.InputError, match=expect):
                r.render(replace(gt_state, **change), [])


def test_shader_deleted_and_recreated_while_running(tmp_path, gt_state):
    from arsdk import shaders

    (tmp_path / "fog.frag").write_text(shaders.shader_path("fog.frag").read_text())
    with Renderer(gt_state.image.shape[1], gt_state.image.shape[0], mode="headless", shader_dirs=[tmp_path]) as r:
        fog = effects.create("fog")
        before = r.render(gt_state, [fog])
        (tmp_path / "fog.frag").unlink()  # an editor that saves by delete + create
        time.sleep(0.01)
        r.shaders.reload_changed(min_interval=0.0)
        assert np.array_equal(r.render(gt_state, [fog]), before)
        text = shaders.shader_path("fog.frag").read_text()
        (tmp_path / "fog.frag").write_text(text + '\n#include "nosuch.glsl"\n')
        time.sleep(0.01)
        r.shaders.reload_changed(min_interval=0.0)  # a missing include: a broken edit, the last good one kept
        assert np.array_equal(r.render(gt_state, [fog]), before)
        (tmp_path / "fog.frag").write_text(text + "\n// edited\n")  # fixed: this one compiles
        time.sleep(0.01)
        assert r.shaders.reload_changed(min_interval=0.0) == ["fog.frag"]


# --- resources


def rss_bytes() -> int:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc (Linux)")
def test_churn_of_unclosed_pipelines_and_renderers_stays_flat():
    image = arsdk.DemoSource(64, 48).render(0.0).image

    def churn(n):
        for _ in range(n):
            pipe = arsdk.Pipeline.default(segmentation=True, asynchronous=True)  # never closed
            pipe.process(image)
            renderer = Renderer(64, 48, mode="headless")  # never released
            del pipe, renderer
        gc.collect()
        time.sleep(0.2)

    churn(20)
    threads, memory = threading.active_count(), rss_bytes()
    churn(180)
    assert threading.active_count() <= threads + 2
    assert rss_bytes() - memory < 150 * 2 ** 20  # a leak here was ~45 MB a pair: 8 GB for 180


# --- camera model


def test_intrinsics_are_keyword_only_and_validated():
    with pytest.raises(TypeError):
        arsdk.Intrinsics(640, 480, 518.9, 518.9, 320.0, 240.0)  # Open3D's order
    with pytest.raises(arsdk.InputError, match="finite"):
        arsdk.Intrinsics(fx=500.0, fy=500.0, cx=float("nan"), cy=240.0, width=640, height=480)
    with pytest.raises(arsdk.InputError, match="whole numbers"):
        arsdk.Intrinsics(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640.5, height=480)


def test_distortion_is_applied():
    frame = arsdk.DemoSource(320, 240).render(0.0)
    pinhole = arsdk.Intrinsics.from_fov(320, 240, 60)
    barrel = arsdk.Intrinsics.from_matrix(pinhole.matrix, 320, 240, (-0.4, 0.1, 0.0, 0.0))
    with arsdk.Pipeline.default(segmentation=False, tracking=False) as pipe:
        plain = pipe.process(arsdk.Frame(frame.image, 0.0, 0, intrinsics=pinhole))
        pipe.reset()
        bent = pipe.process(arsdk.Frame(frame.image, 0.0, 0, intrinsics=barrel))
    assert not np.array_equal(plain.image, bent.image)  # the frame was undistorted
    assert bent.intrinsics.distortion == ()
    assert np.abs(plain.depth - bent.depth).mean() > 0.01


def test_bgr_frames():
    frame = arsdk.DemoSource(160, 120).render(0.0).image
    with arsdk.Pipeline.default(segmentation=False, tracking=False) as pipe:
        a = pipe.process(frame)
        pipe.reset()
        b = pipe.process(np.ascontiguousarray(frame[..., ::-1]), bgr=True)
    assert np.array_equal(a.image, b.image) and np.allclose(a.depth, b.depth)
