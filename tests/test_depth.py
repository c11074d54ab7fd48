import numpy as np
import pytest

from arsdk.depth import (RELATIVE_INVERSE, DepthEstimator, DepthModelSpec, ScaleRecovery, TemporalDepthFilter)
from arsdk.errors import InputError, ModelError
from arsdk.evaluation import depth_metrics, load_pairs, mean_metrics, median_scaled
from arsdk.geometry import Intrinsics


def test_fastdepth_reproduces_its_nyu_accuracy(shared_data, fastdepth):
    raw, med = [], []
    for p in load_pairs(shared_data, {"nyu"}):
        d = fastdepth.estimate(p.image, p.intrinsics).raw
        assert d.shape == p.depth.shape and d.dtype == np.float32
        raw.append(depth_metrics(d, p.depth, p.eval_mask))
        med.append(depth_metrics(median_scaled(d, p.depth, p.eval_mask), p.depth, p.eval_mask))
    raw, med = mean_metrics(raw), mean_metrics(med)
    # measured on this machine: median-scaled AbsRel 0.150, delta1 0.790; raw delta1 0.522 (published: 0.150, 0.792, 0.524)
    assert med["abs_rel"] < 0.165 and med["delta1"] > 0.77
    assert 0.45 < raw["delta1"] < 0.6


def test_metrics_on_known_values():
    gt = np.full((4, 4), 2.0, np.float32)
    m = depth_metrics(gt * 1.1, gt)
    assert m["abs_rel"] == pytest.approx(0.1) and m["delta1"] == 1.0 and m["si_rmse"] == pytest.approx(0, abs=1e-6)
    assert m["rmse"] == pytest.approx(0.2, rel=1e-5)
    with pytest.raises(InputError):
        depth_metrics(np.zeros((4, 4), np.float32), gt)


def test_focal_correction_of_metric_models(fastdepth, demo_frame):
    img = demo_frame.image
    wide = fastdepth.estimate(img, Intrinsics.from_fov(640, 480, 80)).raw
    narrow = fastdepth.estimate(img, Intrinsics.from_fov(640, 480, 40)).raw
    ratio = np.median(narrow / wide)
    assert ratio == pytest.approx(np.tan(np.radians(40)) / np.tan(np.radians(20)), rel=1e-3)


def test_temporal_filter_smooths_noise_but_not_motion():
    f = TemporalDepthFilter(strength=0.6, tolerance=0.06)
    rng = np.random.default_rng(0)
    base = np.full((40, 40), 2.0, np.float32)
    outs = [f((base * (1 + rng.normal(0, 0.01, base.shape))).astype(np.float32)) for _ in range(20)]
    assert np.std(outs[-1] - base) < 0.6 * 0.02
    moved = base.copy()
    moved[:, :20] = 1.0  # something came 1 m closer
    out = f(moved)
    assert np.abs(out[:, :20] - 1.0).max() < 1e-6


def test_relative_model_scale_from_floor(demo_frame):
    # a relative inverse-depth "model output" (7 / depth) is brought to metres by the camera height
    inv = 7.0 / demo_frame.depth
    rec = ScaleRecovery(camera_height=1.40, smoothing=0.0)
    est = DepthEstimator.__new__(DepthEstimator)  # only the post-processing is exercised here
    est.spec = DepthModelSpec((256, 256), "nhwc", output_kind=RELATIVE_INVERSE)
    est.scale = rec
    depth, scale = est.to_depth(inv.astype(np.float32), demo_frame.intrinsics)
    assert np.median(depth / demo_frame.depth) == pytest.approx(1.0, rel=0.03)
    assert ScaleRecovery(fixed_scale=2.5)(depth, demo_frame.intrinsics) == 2.5
    with pytest.raises(InputError):
        ScaleRecovery(camera_height=None)


def test_spec_and_input_errors(fastdepth, tmp_path):
    with pytest.raises(InputError, match="layout"):
        DepthModelSpec((224, 224), "chw")
    with pytest.raises(InputError, match="needs a DepthModelSpec"):
        DepthEstimator(str(tmp_path / "x.tflite"))
    from arsdk import models

    with pytest.raises(ModelError, match="does not match its spec"):
        DepthEstimator(str(models.model_path("fastdepth")), DepthModelSpec((256, 256), "nhwc"))
    with pytest.raises(InputError, match="uint8"):
        fastdepth.estimate(np.zeros((48, 64, 3), np.float32), Intrinsics.from_fov(64, 48, 60))
    with pytest.raises(InputError, match="does not match intrinsics"):
        fastdepth.estimate(np.zeros((48, 64, 3), np.uint8), Intrinsics.from_fov(64, 64, 60))
