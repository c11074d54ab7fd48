import numpy as np
import pytest

from arsdk.depth import (ARSDK_DEPTH, FASTDEPTH, RELATIVE_INVERSE, DepthEstimator, DepthModelSpec, ScaleRecovery,
                         TemporalDepthFilter, focal_correction, focal_over_width)
from arsdk.errors import InputError, ModelError
from arsdk.evaluation import depth_metrics, load_pairs, mean_metrics, median_scaled
from arsdk.geometry import Intrinsics


def nyu_scores(shared_data, estimator):
    raw, med = [], []
    for p in load_pairs(shared_data, {"nyu"}):
        d = estimator.estimate(p.image, p.intrinsics).raw
        assert d.shape == p.depth.shape and d.dtype == np.float32
        assert (d[p.eval_mask] > 0).all()  # every scored pixel has a prediction: nothing is dropped from the score
        raw.append(depth_metrics(d, p.depth, p.eval_mask))
        med.append(depth_metrics(median_scaled(d, p.depth, p.eval_mask), p.depth, p.eval_mask))
    return mean_metrics(raw), mean_metrics(med)


def test_fastdepth_reproduces_its_nyu_accuracy(shared_data):
    # the issue's protocol: the whole frame, NYU's white border included
    raw, med = nyu_scores(shared_data, DepthEstimator("fastdepth", temporal=None, skip_padding=False))
    # measured on this machine: median-scaled AbsRel 0.150, delta1 0.790 (issue 4: 0.150, 0.792); raw delta1 0.623
    # for the 304x228 crop's camera FastDepth was trained for (0.522 when the whole frame's FOV was taken instead)
    assert med["abs_rel"] < 0.165 and med["delta1"] > 0.77
    assert 0.57 < raw["delta1"] < 0.68


def test_nyus_white_border_is_not_shown_to_the_model(shared_data, fastdepth):
    """NYU's frames carry a 6-8 px white border (registration padding); FastDepth's loader crops it away in
    training, so shown it the model misreads the whole room. The estimator skips it by default."""
    p = load_pairs(shared_data, {"nyu"})[0]
    result = fastdepth.estimate(p.image, p.intrinsics)
    top, bottom, left, right = result.padding
    assert 5 <= min(result.padding) and max(result.padding) <= 9
    # the border takes the depth of the picture's edge beside it, so effects reach the frame's edge
    assert np.array_equal(result.raw[:top], np.repeat(result.raw[top:top + 1], top, axis=0))
    assert np.array_equal(result.raw[:, -right:], np.repeat(result.raw[:, -right - 1:-right], right, axis=1))
    assert (result.raw > 0).all()
    raw, med = nyu_scores(shared_data, fastdepth)
    # measured: median-scaled delta1 0.827, si-RMSE 0.169, raw delta1 0.701 (whole frame: 0.790, 0.191, 0.623)
    assert med["delta1"] > 0.81 and med["si_rmse"] < 0.18 and raw["delta1"] > 0.66


@pytest.mark.parametrize("name", ["arsdk_depth", "arsdk_depth_int8"])
def test_shipped_models_meet_issue_4s_nyu_targets(shared_data, name):
    raw, med = nyu_scores(shared_data, DepthEstimator(name, temporal=None))
    # measured: 0.836 / 0.182 / 0.669 (float), 0.827 / 0.188 / 0.667 (8-bit); targets 0.80 / 0.19 / 0.60
    assert med["delta1"] >= 0.80 and med["si_rmse"] <= 0.19 and raw["delta1"] >= 0.60


def test_letterbox_bars_leave_the_picture_s_depth_as_it_was(fastdepth):
    skimage_data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(skimage_data.coffee()[:, :, :3])  # 600x400, no padding of its own
    h, w = photo.shape[:2]
    intr = Intrinsics.from_fov(w, h, 60.0)
    plain = fastdepth.estimate(photo, intr)
    assert plain.padding == (0, 0, 0, 0)
    boxed = np.zeros((h + 100, w, 3), np.uint8)  # 50 px black bars above and below, as a 16:9 player would add
    boxed[50:50 + h] = photo
    result = fastdepth.estimate(boxed, Intrinsics(fx=intr.fx, fy=intr.fy, cx=intr.cx, cy=intr.cy + 50, width=w,
                                                  height=h + 100))
    assert result.padding == (51, 51, 0, 0)  # each bar and the line where bar and picture meet
    assert np.array_equal(result.raw[:51], np.repeat(result.raw[51:52], 51, axis=0))
    inside = result.raw[51:-51]
    log_ratio = np.log(inside / plain.raw[1:-1])
    assert np.median(np.abs(log_ratio)) < 0.03  # the same room at the same distance: two lines fewer, that is all
    shown_whole = DepthEstimator("fastdepth", temporal=None, skip_padding=False).estimate(
        boxed, Intrinsics(fx=intr.fx, fy=intr.fy, cx=intr.cx, cy=intr.cy + 50, width=w, height=h + 100)).raw[51:-51]
    # shown the bars, the model puts the same room elsewhere (measured 0.10 median |log depth|; skipped: 0.014)
    assert np.median(np.abs(np.log(shown_whole / plain.raw[1:-1]))) > 0.07


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


def test_fastdepths_metres_belong_to_the_nyu_crop_it_was_trained_on():
    """FastDepth's loader shrinks a 640x480 NYU frame to 333x250 and keeps the central 304x228: a whole NYU frame
    shows it 333/304 times more than it was trained to see, so its depth is scaled by 304/333, and ours with it."""
    nyu = Intrinsics(fx=518.8579, fy=519.4696, cx=325.58, cy=253.74, width=640, height=480)
    trained_on = nyu.scaled(333, 250)  # then cropped: the focal length stays, the width becomes 304
    assert FASTDEPTH.reference_hfov_deg == pytest.approx(np.degrees(2 * np.arctan(304 / 2 / trained_on.fx)), rel=1e-3)
    assert ARSDK_DEPTH.reference_hfov_deg == FASTDEPTH.reference_hfov_deg
    for spec in (FASTDEPTH, ARSDK_DEPTH):
        est = DepthEstimator.__new__(DepthEstimator)  # only the post-processing is exercised here
        est.spec = spec
        depth, scale = est.to_depth(np.full((8, 8), 3.0, np.float32), nyu)
        assert scale == pytest.approx(304 / 333, rel=2e-3) and np.allclose(depth, 3.0 * scale)
    assert focal_over_width(60.0) == pytest.approx(Intrinsics.from_fov(640, 480, 60.0).fx / 640)


def test_fastdepths_correction_takes_the_frames_aspect():
    """FastDepth saw a 4:3 crop squeezed into its square input: for a 4:3 camera the vertical focal ratio is the
    horizontal one; a 16:9 webcam of the same horizontal FOV shows it everything taller (its rows span fewer
    degrees), a portrait camera everything wider, and the correction is a mean of the two ratios weighted by how
    much FastDepth's output answers each (`FASTDEPTH_VERTICAL_WEIGHT`)."""
    trained_on = Intrinsics(fx=518.8579, fy=519.4696, cx=0, cy=0, width=640, height=480).scaled(333, 250)
    assert FASTDEPTH.reference_vfov_deg == pytest.approx(np.degrees(2 * np.arctan(228 / 2 / trained_on.fy)),
                                                         rel=1e-3)
    est = DepthEstimator.__new__(DepthEstimator)
    est.spec = FASTDEPTH
    square = Intrinsics.from_fov(640, 480, 60.0)
    wide = Intrinsics.from_fov(1280, 720, 60.0)
    tall = square.cropped(160, 0, 360, 480)  # the 4:3 camera's middle at 3:4
    scales = {name: est.to_depth(np.ones((4, 4), np.float32), intr)[1]
              for name, intr in (("square", square), ("wide", wide), ("tall", tall))}
    across = (square.fx / square.width) / focal_over_width(FASTDEPTH.reference_hfov_deg)
    assert scales["square"] == pytest.approx(across, rel=5e-3)
    assert focal_correction(FASTDEPTH, square.fx, square.fy, 640, 480) == pytest.approx(scales["square"])
    down = (wide.fy / wide.height) / focal_over_width(FASTDEPTH.reference_vfov_deg)
    wider, taller = FASTDEPTH.vertical_weight
    assert scales["wide"] == pytest.approx(across ** (1 - wider) * down ** wider, rel=1e-6)
    assert scales["wide"] > 1.15 * scales["square"]
    # the tall view: its rows as the square camera's, its columns 640/360 as magnified
    assert scales["tall"] == pytest.approx(scales["square"] * (640 / 360) ** (1 - taller), rel=5e-3)
    for bad in ((0.6, 1.2), 0.6, (0.6,), ("0.6", 0.9)):
        with pytest.raises(InputError, match="vertical_weight"):
            DepthModelSpec((224, 224), vertical_weight=bad)


def test_a_wider_or_taller_view_of_a_real_room_keeps_its_metres(shared_data, fastdepth):
    """The same pixels of 7-Scenes frames through a 16:9 and a 3:4 view of them, against the whole 4:3 frame:
    FastDepth reads a picture stretched down (rows cut) as much nearer and one stretched across (columns cut) as
    hardly nearer, and the aspect's correction undoes both. Measured on every 5th frame: 16:9 +3.0 %, 3:4 +4.8 %
    (an even mean of the two focal ratios: 0.0 % and +32 %; 0.85 of the vertical one for both: +10.6 % and +4.8 %)."""
    import cv2

    from arsdk.evaluation import seven_scenes_pairs

    gaps = {"wide": [], "tall": []}
    for p in seven_scenes_pairs(shared_data)[::5]:
        h, w = p.image.shape[:2]
        whole = fastdepth.to_depth(fastdepth.predict(p.image), p.intrinsics)[0]
        whole = cv2.resize(whole, (w, h))
        for name, (ch, cw) in (("wide", (w * 9 // 16, w)), ("tall", (h, h * 3 // 4))):
            top, left = (h - ch) // 2, (w - cw) // 2
            view = np.ascontiguousarray(p.image[top:top + ch, left:left + cw])
            depth = fastdepth.to_depth(fastdepth.predict(view), p.intrinsics.cropped(left, top, cw, ch))[0]
            gaps[name].append(np.median(np.log(cv2.resize(depth, (cw, ch)) / whole[top:top + ch, left:left + cw])))
    wide, tall = (float(np.exp(np.median(g)) - 1) for g in gaps.values())
    print(f"16:9 {wide:+.3f}, 3:4 {tall:+.3f}")
    assert abs(wide) < 0.05 and abs(tall) < 0.08


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


@pytest.mark.parametrize("mean,std", [((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
                                      ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
def test_nhwc_preprocess_is_the_normalisation_exactly(mean, std):
    import dataclasses

    from arsdk.imaging import downscale

    spec = dataclasses.replace(ARSDK_DEPTH, mean=mean, std=std)
    est = DepthEstimator("arsdk_depth", spec=spec)
    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    small = downscale(image, spec.input_size).astype(np.float32)
    expected = (small - np.float32(mean) * 255) * (1 / (np.float32(std) * 255))
    x = est.preprocess(image)
    assert x.shape == (1, 192, 192, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], expected)
