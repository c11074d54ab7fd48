import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))

import arsdk  # noqa: E402
from arsdk.evaluation import shared_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def shared_data():
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data not present")
    return root


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
