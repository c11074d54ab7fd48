"""training/data.py's depth targets: divided by the same reference camera the SDK multiplies back by."""
import numpy as np
import pytest

from arsdk.depth import ARSDK_DEPTH, DepthEstimator
from arsdk.geometry import Intrinsics
from training import data


def test_targets_are_divided_by_the_factor_the_sdk_multiplies_by():
    est = DepthEstimator.__new__(DepthEstimator)  # only the post-processing is exercised here
    est.spec = ARSDK_DEPTH
    for hfov in (50.0, 63.3, 90.0):
        intr = Intrinsics.from_fov(320, 256, hfov)
        _, scale = est.to_depth(np.ones((4, 4), np.float32), intr)
        assert data.reference_factor(intr) == pytest.approx(scale)


def test_a_cache_made_for_the_whole_nyu_frame_is_brought_to_fastdepths_crop():
    depths = np.full((3, 2, 2), 2.0, np.float32)
    legacy = {"images": np.zeros((3, 2, 2, 3), np.uint8), "depths": depths}  # made before the record existed
    converted = data.in_reference_camera(legacy)
    # the crop spans 304/333 of the frame's width, so the same view is 333/304 times nearer in the crop's camera's
    # units; the depths must grow by that to come out unchanged once the SDK multiplies by the smaller factor
    assert np.allclose(converted["depths"], 2.0 * 333 / 304, rtol=1e-3)
    assert set(converted) == {"images", "depths"} and legacy["depths"] is depths and np.all(depths == 2.0)
    current = dict(legacy, reference_hfov_deg=np.float64(data.REFERENCE_HFOV_DEG))
    kept = data.in_reference_camera(current)
    assert set(kept) == {"images", "depths"} and np.array_equal(kept["depths"], depths)
