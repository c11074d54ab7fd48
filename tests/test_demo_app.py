import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_app(args, env=None, timeout=240, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "demo_app", *args], cwd=kw.pop("cwd", ROOT), env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def test_headless_recording_of_the_demo(tmp_path):
    out = tmp_path / "x.mp4"
    r = run_app(["--effect", "flood", "--source", "demo", "--frames", "30", "--output", str(out), "--headless"])
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    assert len(frames) == 30 and frames[0].shape == (480, 640, 3)
    assert np.mean([f.mean() for f in frames]) > 40   # real pictures, not black frames
    assert "wrote 30 frames" in r.stdout


def test_bad_arguments_get_clear_errors(tmp_path):
    r = run_app(["--effect", "lava", "--headless", "--frames", "1"])
    assert r.returncode == 2 and "unknown; known:" in r.stderr
    r = run_app(["--size", "64", "--headless"])
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr
    r = run_app(["--source", str(tmp_path / "missing.mp4"), "--headless", "--frames", "1"])
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_no_webcam_falls_back_to_the_demo(tmp_path):
    r = run_app(["--source", "7", "--frames", "3", "--headless", "--output", str(tmp_path / "o.mp4")])
    assert r.returncode == 0, r.stderr
    assert "using the built-in demo scene" in r.stdout


def _xdotool(display, *args):
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=20)


def test_live_window_with_keys_and_mouse(xvfb, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPLAY": xvfb}
    proc = subprocess.Popen([sys.executable, "-m", "demo_app", "--source", "demo", "--effect", "flood"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        win = ""
        for _ in range(120):
            win = _xdotool(xvfb, "search", "--name", "arsdk").stdout.split()
            if win or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert win, f"the window never appeared: {proc.poll()} {proc.stderr.read() if proc.poll() is not None else ''}"
        win = win[0]
        time.sleep(3)
        for key in ["h", "2", "3", "s"]:
            _xdotool(xvfb, "windowactivate", "--sync", win)
            _xdotool(xvfb, "key", "--window", win, key)
            time.sleep(1.5)
        _xdotool(xvfb, "mousemove", "--window", win, "470", "420")
        _xdotool(xvfb, "click", "--window", win, "1")
        time.sleep(1.5)
        _xdotool(xvfb, "key", "--window", win, "q")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "effect: fog" in out and "effect: sticker" in out
    shots = list(tmp_path.glob("arsdk-*.png"))
    assert shots and cv2.imread(str(shots[0])).mean() > 30
