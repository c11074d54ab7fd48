import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

import arsdk  # noqa: E402
from arsdk.evaluation import shared_data_dir  # noqa: E402


def start_xvfb(*extra_args) -> tuple[str, subprocess.Popen]:
    """A private X server (skips the test when Xvfb or xdotool is missing): (DISPLAY, its process)."""
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.skip("Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", *extra_args,
                             "-nolisten", "tcp"], pass_fds=[write], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    text = b""
    while not text.endswith(b"\n"):  # Xvfb writes the number, then the newline once it accepts clients
        chunk = os.read(read, 16)
        if not chunk:
            break
        text += chunk
    os.close(read)
    display = ":" + text.decode().strip()
    # the server says it is ready once it listens; on a loaded machine a first client can still be refused: wait
    # until one is served (or say why not), rather than let the test fail on "cannot open display"
    for _ in range(40):
        if proc.poll() is not None:
            raise RuntimeError(f"Xvfb exited with {proc.returncode} before serving {display!r}")
        probe = subprocess.run(["xdotool", "getdisplaygeometry"], env={**os.environ, "DISPLAY": display},
                               capture_output=True)
        if probe.returncode == 0:
            return display, proc
        time.sleep(0.25)
    proc.terminate()
    raise RuntimeError(f"Xvfb on {display!r} served no client within 10 s")


@pytest.fixture()
def xvfb():
    display, proc = start_xvfb()
    yield display
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def shared_data():
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data not present")
    return root


def _walk_floor_misses(shared_data, frames: int, first: int, turn_off=None) -> tuple[float, float]:
    """The HoloLens walk's first `frames` frames through the default pipeline (FastDepth), scored from frame `first`
    on at 0.15 m: the share of the true floor left dry, and the share of the known pixels 0.3 m or more above the
    floor put under water. turn_off(pipe): switches a part of the pipeline off before the stream starts."""
    from arsdk.depth import DepthEstimator
    from arsdk.evaluation import load_training_sequences, sequence_floors

    seq = load_training_sequences(shared_data)[0][:frames]
    truths = sequence_floors(seq)
    dry = floor_px = wrong = total = 0
    with arsdk.Pipeline(DepthEstimator("fastdepth"), None) as pipe:
        if turn_off is not None:
            turn_off(pipe)
        for i, (f, (truth, _)) in enumerate(zip(seq, truths)):
            state = pipe.process(arsdk.Frame(f.image, i * 0.4, i, intrinsics=f.intrinsics))
            if i < first or truth is None:
                continue
            true_h = truth.height_of(arsdk.unproject(f.depth, f.intrinsics))
            shown = state.world_points[..., 1]
            known = np.isfinite(true_h) & np.isfinite(shown)
            floor_px += int((known & (true_h < 0.15)).sum())
            dry += int((known & (true_h < 0.15) & (shown >= 0.15)).sum())
            wrong += int((known & (true_h > 0.3) & (shown < 0.15)).sum())
            total += int(known.sum())
    return dry / floor_px, wrong / total


@pytest.fixture(scope="session")
def walk_floor_misses(shared_data):
    """`_walk_floor_misses` on the shared data: call it with (frames, first, turn_off)."""
    return lambda frames, first, turn_off=None: _walk_floor_misses(shared_data, frames, first, turn_off)


@pytest.fixture(scope="session")
def demo_source():
    return arsdk.DemoSource(640, 480, moving=False)


@pytest.fixture(scope="session")
def demo_frame(demo_source):
    return demo_source.render(0.0)


@pytest.fixture(scope="session")
def gt_state(demo_frame):
    from arsdk.pipeline import ground_truth_state

    return ground_truth_state(demo_frame)


@pytest.fixture(scope="session")
def renderer():
    from arsdk.render import Renderer

    r = Renderer(640, 480, mode="headless")
    yield r
    r.release()


@pytest.fixture(scope="session")
def fastdepth():
    from arsdk.depth import DepthEstimator

    return DepthEstimator("fastdepth", temporal=None)


def rng():
    return np.random.default_rng(1234)
