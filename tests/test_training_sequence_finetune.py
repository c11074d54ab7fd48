"""training/sequence_finetune.py: the views' targets are in FastDepth's reference camera, and the fine-tuned
weights written into FastDepth's ONNX graph run in ONNX Runtime as they do in PyTorch."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from arsdk import models  # noqa: E402
from arsdk.camera import Intrinsics  # noqa: E402
from arsdk.depth import FASTDEPTH, DepthEstimator  # noqa: E402
from arsdk.evaluation import PosedFrame  # noqa: E402
from training.sequence_finetune import SIZE, SequenceViews, finetune, floor_masks, write_onnx  # noqa: E402

needs_fastdepth = pytest.mark.skipif(not models.is_available("fastdepth"), reason="FastDepth not fetched")


def _frame(depth_m: float = 2.0) -> PosedFrame:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    depth = np.full((120, 160), depth_m, np.float32)
    depth[:, 70:90] = 0.0  # a sensor gap (inside every crop) stays a gap
    intr = Intrinsics(fx=150.0, fy=150.0, cx=80.0, cy=60.0, width=160, height=120)
    return PosedFrame("f", image, depth, intr, np.eye(4))


def test_views_carry_the_depth_into_the_reference_camera_as_the_sdk_undoes_it():
    views = SequenceViews([_frame()], [], seed=0)
    for _ in range(10):
        image, target, taught = views.frame_view()
        assert image.shape == (*SIZE[::-1], 3) and target.shape == taught.shape == SIZE[::-1]
        assert np.all(taught == 1.0)  # no masks: every pixel is taught
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert 0 < np.count_nonzero(target) < target.size  # the sensor's gap stays a gap, not a depth
    # a 16:9 crop (its aspect weighs the two focal ratios): the SDK multiplies the model's output by the camera's
    # focal ratios over the reference camera's (DepthEstimator.to_depth), and the target is the true depth over that
    views._crop = lambda h, w: (0, 0, 90, w)
    views.rng = np.random.default_rng(1)
    _, target, _ = views.frame_view()
    est = DepthEstimator.__new__(DepthEstimator)  # only the post-processing is exercised here
    est.spec = FASTDEPTH
    _, sdk_scale = est.to_depth(np.ones((4, 4), np.float32), views.frames[0].intrinsics.cropped(0, 0, 160, 90))
    assert np.allclose(target[target > 0] * sdk_scale, 2.0, rtol=1e-5)
    assert abs(sdk_scale - 1.0) > 0.05  # the check above tells a scaled target from an unscaled one


def _floor_and_wall() -> PosedFrame:
    """A level camera 1.5 m above a floor, a wall 3 m ahead: the floor fills the rows below 90."""
    intr = Intrinsics(fx=60.0, fy=60.0, cx=80.0, cy=60.0, width=160, height=120)
    v = np.arange(120, dtype=np.float32)[:, None]
    y = (v - intr.cy) / intr.fy  # camera y is down
    with np.errstate(divide="ignore"):
        depth = np.where(y > 0.5, 1.5 / np.maximum(y, 1e-6), 3.0) * np.ones((1, 160), np.float32)
    pose = np.diag([1.0, -1.0, -1.0, 1.0])  # camera y down, world y up
    return PosedFrame("f", np.zeros((120, 160, 3), np.uint8), depth.astype(np.float32), intr, pose)


def test_floor_masks_mark_the_floor_and_not_the_wall():
    frame = _floor_and_wall()
    mask = floor_masks([frame])[0]
    assert mask.shape == frame.depth.shape
    assert mask[95:].mean() > 0.95 and not mask[:85].any()
    views = SequenceViews([frame], [], seed=0, masks=[mask])
    _, target, taught = views.frame_view()
    assert 0.0 < taught.mean() < 1.0 and set(np.unique(taught)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="one mask per frame"):
        SequenceViews([frame], [], seed=0, masks=[mask[:10]])


@needs_fastdepth
def test_finetuned_weights_run_in_onnxruntime_as_in_pytorch_and_differ_from_fastdepth(tmp_path):
    net = finetune([_frame()], [], steps=2, lr=1e-3, photo_weight=0.0, batch=2, progress=False)
    out = tmp_path / "ft.onnx"
    assert write_onnx(net, out) < 1e-4
    frame = _frame()
    tuned = DepthEstimator(str(out), FASTDEPTH).estimate(frame.image, frame.intrinsics).raw
    original = DepthEstimator("fastdepth").estimate(frame.image, frame.intrinsics).raw
    assert tuned.shape == original.shape == frame.image.shape[:2]
    assert float(np.mean(np.abs(tuned - original))) > 1e-4  # the new weights are the ones that run


@needs_fastdepth
def test_floor_only_finetuning_moves_the_weights():
    from training.fastdepth_torch import FastDepthStudent

    frame = _floor_and_wall()
    frame = PosedFrame("f", np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8), frame.depth,
                       frame.intrinsics, frame.camera_to_world)
    net = finetune([frame], [], steps=2, lr=1e-3, photo_weight=0.0, batch=2, floor_only=True, progress=False)
    before = dict(FastDepthStudent().named_parameters())
    moved = max(float((p.detach() - before[n].detach()).abs().max()) for n, p in net.named_parameters())
    assert moved > 1e-5
