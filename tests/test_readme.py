"""The README's SDK example, run exactly as written: headless, and in a window under Xvfb (it must show the frames
and end when asked)."""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has no python example"
    return blocks[0]


def run_snippet(tmp_path, env) -> subprocess.Popen:
    script = tmp_path / "readme_example.py"
    script.write_text(readme_snippet())
    return subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_readme_example_runs_headless(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = run_snippet(tmp_path, env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err


def read_xwd(path: Path) -> np.ndarray:
    """The screen of an Xvfb started with -fbdir (an XWD file, 32 bits a pixel) as HxWx3."""
    data = path.read_bytes()
    header = struct.unpack(">25I", data[:100])
    header_size, width, height, ncolors, bytes_per_line = header[0], header[4], header[5], header[19], header[12]
    start = header_size + 12 * ncolors
    pixels = np.frombuffer(data[start:start + bytes_per_line * height], np.uint8).reshape(height, bytes_per_line)
    return pixels[:, :width * 4].reshape(height, width, 4)[..., :3]


def test_readme_example_shows_frames_and_ends_when_asked(tmp_path):
    from conftest import start_xvfb

    fb = tmp_path / "fb"
    fb.mkdir()
    display, xvfb = start_xvfb("-br", "-fbdir", str(fb))  # a black root window, the screen readable as a file
    env = {**os.environ, "DISPLAY": display}
    proc = run_snippet(tmp_path, env)
    try:
        win = []
        for _ in range(120):
            win = subprocess.run(["xdotool", "search", "--name", "arsdk"], env=env, capture_output=True,
                                 text=True).stdout.split()
            if win or proc.poll() is not None:
                break
            time.sleep(0.25)
        assert win, f"no window: {proc.communicate()[1] if proc.poll() is not None else 'still running'}"
        time.sleep(1.5)
        screen = read_xwd(fb / "Xvfb_screen0")
        assert screen[-20:, -100:].mean() < 5, "the root window should be black (-br)"
        assert screen[:480, :640].mean() > 30, "the window is black"
        subprocess.run(["xdotool", "key", "--window", win[0], "Escape"], env=env, capture_output=True)
        t0 = time.perf_counter()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert time.perf_counter() - t0 < 10.0  # ended on Escape, not at the end of the source
    finally:
        if proc.poll() is None:
            proc.kill()
        xvfb.terminate()
        xvfb.wait(timeout=10)
