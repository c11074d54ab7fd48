"""FastDepth pruned (training/prune.py): BatchNorm folding, the dropped last upsampling, channel spaces across the
decoder's skips, channel choice, the least-squares refit and the output scale matched to FastDepth's at 224x224."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from arsdk import models  # noqa: E402
from training import prune  # noqa: E402
from training.prune import activation_ranges, channel_energy, choose_channels, passed_target, refit  # noqa: E402
from training.surgery import PrunedFastDepth, channel_spaces, drop_final_upsample, folded_fastdepth  # noqa: E402

needs_fastdepth = pytest.mark.skipif(not models.is_available("fastdepth"), reason="FastDepth not fetched")


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def photos_224(n: int) -> torch.Tensor:
    """The first n of scikit-image's sample photos PHOTOS at 224x224, RGB in [0, 1], NCHW."""
    import cv2
    import skimage.data as sd

    out = []
    for name in PHOTOS[:n]:
        img = getattr(sd, name)()
        out.append(cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="module")
def teacher():
    if not models.is_available("fastdepth"):
        pytest.skip("FastDepth not fetched")
    return folded_fastdepth()


@needs_fastdepth
def test_folding_and_dropping_the_last_upsampling_keep_fastdepths_output(teacher):
    from training.fastdepth_torch import FastDepthStudent

    x = photos_224(2)
    with torch.no_grad():
        full = FastDepthStudent().net.eval()(x)
        half = teacher(x)
    assert half.shape == (2, 1, 112, 112)
    # nearest x2 then per-pixel operations: every other pixel of FastDepth's map is the map without the upsampling
    assert torch.allclose(half, full[..., ::2, ::2], atol=1e-5)
    assert not any(op == "BatchNormalization" and not isinstance(teacher.layers[i], torch.nn.Identity)
                   for op, i, *_ in teacher.steps)


@needs_fastdepth
def test_an_upsampling_followed_by_a_spatial_convolution_is_not_dropped():
    from training.fastdepth_torch import OnnxConvNet

    net = OnnxConvNet(models.model_path("fastdepth"))
    ups = [i for i, s in enumerate(net.steps) if s[0] == "Upsample"]
    del net.steps[ups[-1]:]  # now the last upsampling is followed by the decoder's 5x5 depthwise convolution
    net.output_name = net.steps[-1][3]
    with pytest.raises(ValueError, match="follows the last upsampling"):
        drop_final_upsample(net)


@needs_fastdepth
def test_skips_join_channel_spaces_and_input_output_are_not_prunable(teacher):
    space, sizes = channel_spaces(teacher)
    adds = [ins for op, _, ins, _ in teacher.steps if op == "Add"]
    assert len(adds) == 3
    for a, b in adds:  # both sides of every skip prune the same channels
        assert space[a] == space[b] and space[a] in sizes
    assert space[teacher.input_name] not in sizes and space[teacher.output_name] not in sizes
    assert len(sizes) == 16 and sizes["313"] == 200


@needs_fastdepth
def test_keeping_every_channel_changes_nothing_and_pruning_cuts_macs(teacher):
    from training.model import count_macs

    _, sizes = channel_spaces(teacher)
    x = photos_224(1)
    whole = PrunedFastDepth({s: list(range(n)) for s, n in sizes.items()}).eval()
    with torch.no_grad():
        assert torch.equal(whole.net(x), teacher(x))
    keep = choose_channels(channel_energy(teacher, x), 0.5)
    for s, kept in keep.items():
        assert kept == sorted(kept) and len(set(kept)) == len(kept)
        assert len(kept) == sizes[s] if sizes[s] <= 16 else (len(kept) % 8 == 0 and len(kept) < 0.6 * sizes[s])
    assert count_macs(PrunedFastDepth(keep), (224, 224)) < 0.4 * count_macs(whole, (224, 224))
    with pytest.raises(ValueError, match="expected a fraction"):
        choose_channels({}, 1.5)
    with pytest.raises(ValueError, match="whole: 999 is not a prunable channel space"):
        choose_channels(channel_energy(teacher, x), 0.5, whole=("999",))
    with pytest.raises(ValueError, match="does not have"):
        PrunedFastDepth({"no such space": [0]})


@needs_fastdepth
def test_refit_brings_a_pruned_network_back_towards_the_teacher_on_pictures_it_did_not_see(teacher):
    """The least-squares refit must generalise: fitted on 32 views of three photos, judged on a fourth."""
    import skimage.data as sd

    from training.scale_distill import PictureSource

    source = PictureSource([getattr(sd, name)() for name in PHOTOS[:3]], [], (224, 224), seed=0)
    fit = source.batch(32)[1]
    held_out = photos_224(4)[3:]
    keep = choose_channels(channel_energy(teacher, fit), 0.7)
    pruned = PrunedFastDepth(keep).eval()

    def log_error():
        with torch.no_grad():
            return float((torch.log(pruned(held_out)) - torch.log(teacher(held_out).clamp_min(0.05))).abs().mean())
    before = log_error()
    refit(pruned.net, teacher, fit, keep, batch=16, positions=1024, log=lambda *a: None)
    after = log_error()
    assert after < 0.6 * before, (before, after)


def test_the_passed_target_stops_fitting_what_the_activation_clamps_away():
    teacher = torch.tensor([-2.0, -2.0, 3.0, 3.0, 8.0, 8.0])
    pred = torch.tensor([-5.0, 1.0, -1.0, 4.0, 9.0, 5.0])
    # clamped by both: no error, so aim at the prediction; crossed the bound: aim at the bound; inside: the teacher
    assert passed_target(teacher, pred, 0.0, 6.0).tolist() == [-5.0, 0.0, 3.0, 3.0, 9.0, 6.0]
    relu = passed_target(teacher, pred, 0.0, float("inf"))
    assert relu.tolist() == [-5.0, 0.0, 3.0, 3.0, 8.0, 8.0]


@needs_fastdepth
def test_every_fastdepth_convolution_ends_in_relu6_or_relu(teacher):
    ranges = activation_ranges(teacher)
    convs = [out for op, _, _, out in teacher.steps if op == "Conv"]
    assert sorted(ranges) == sorted(convs)
    assert ranges["229"] == (0.0, 6.0)  # the MobileNet encoder's ReLU6
    assert ranges["348"] == (0.0, float("inf"))  # the decoder's ReLU, through to the output


@needs_fastdepth
def test_fitting_only_what_passes_the_activation_lowers_the_error_after_it(teacher):
    """On the pictures it is fitted on, a second, activation-aware pass must do no worse than plain least squares at
    what a convolution with pruned inputs (FastDepth's third pointwise one, 241) hands on after its ReLU6, and must
    change it."""
    from training.prune import _capture

    fit = photos_224(2)
    keep = choose_channels(channel_energy(teacher, fit), 0.5)
    idx = next(i for op, i, _, out in teacher.steps if out == "241")
    with torch.no_grad():
        target = _capture(teacher, fit, teacher.layers[idx], "out")[:, keep["241"]].clamp(0, 6)
    errors = []
    for passes in (1, 2):
        pruned = PrunedFastDepth(keep).eval()
        refit(pruned.net, teacher, fit, keep, batch=2, positions=12544, passes=passes, log=lambda *a: None)
        with torch.no_grad():
            handed_on = _capture(pruned.net, fit, pruned.net.layers[idx], "out").clamp(0, 6)
        errors.append(float((handed_on - target).square().mean()))
    assert errors[1] <= errors[0] and errors[1] != errors[0], errors


@needs_fastdepth
def test_a_space_can_keep_its_own_fraction(teacher):
    _, sizes = channel_spaces(teacher)
    energy = {s: np.arange(n, dtype=float) for s, n in sizes.items()}
    keep = choose_channels(energy, 0.5, space_ratios={"307": 0.75})
    assert len(keep["307"]) == 384 and len(keep["301"]) == 240  # 0.75 of 512; 0.5 of 480
    assert keep["307"] == list(range(128, 512))  # the highest energies, in order
    with pytest.raises(ValueError, match="space_ratios\\[307\\] 1.5"):
        choose_channels(energy, 0.5, space_ratios={"307": 1.5})
    with pytest.raises(ValueError, match="999 is not a prunable channel space"):
        choose_channels(energy, 0.5, space_ratios={"999": 0.5})


@needs_fastdepth
def test_the_default_cut_is_within_the_compute_budget(teacher):
    from training.model import count_macs

    _, sizes = channel_spaces(teacher)
    energy = {s: np.random.default_rng(0).random(n) for s, n in sizes.items()}  # counts do not depend on it
    keep = choose_channels(energy, prune.KEEP, prune.WHOLE, space_ratios=prune.SPACE_KEEP)
    assert not set(prune.WHOLE) & set(keep)
    assert 0.1e9 < count_macs(PrunedFastDepth(keep), prune.SIZE[::-1]) <= 0.15e9  # issue 4: at most 0.15 GMACs


@needs_fastdepth
def test_a_pruned_checkpoint_loads_as_it_was_cut(tmp_path, teacher):
    from training.model import load_checkpoint
    from training.train import check_same_network

    keep = choose_channels(channel_energy(teacher, photos_224(1)), 0.5)
    net = PrunedFastDepth(keep).eval()
    with torch.no_grad():
        net.net.layers[0].bias.add_(0.1)  # stands for the refit: the checkpoint must keep it
    args = {"arch": "pruned", "input": [224, 224], "keep": keep}
    torch.save({"model": net.state_dict(), "args": args}, tmp_path / "p.pt")
    loaded = load_checkpoint(tmp_path / "p.pt")
    x = photos_224(1)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert tuple(loaded.input_size) == (224, 224)
    other = dict(args, keep={s: k[:8] for s, k in keep.items()})
    with pytest.raises(SystemExit, match="--keep"):
        check_same_network("p.pt", args, other)


@needs_fastdepth
def test_an_unknown_whole_space_is_named(capsys):
    with pytest.raises(SystemExit, match="--whole 999: 999 is not a prunable channel space"):
        prune.main(["--whole", "999", "--images", "2", "--renders", "0"])


def test_a_render_share_outside_zero_to_one_is_refused_before_anything_loads(monkeypatch):
    import training.scale_distill as sd

    def no_loading(*args, **kwargs):
        raise AssertionError("pictures were loaded for an invalid render share")
    monkeypatch.setattr(sd, "load_pictures", no_loading)
    with pytest.raises(ValueError, match="render_share 1.5: expected a fraction in \\[0, 1\\]"):
        prune.calibration_images(8, 100, 1, render_share=1.5)
    with pytest.raises(SystemExit, match="--render-share -0.1: expected a fraction in \\[0, 1\\]"):
        prune.main(["--render-share", "-0.1", "--images", "2", "--renders", "0"])


def test_teacher_activations_are_area_averaged_onto_a_smaller_grid():
    y = torch.arange(16.0).view(1, 1, 4, 4)
    assert prune.on_grid(y, (4, 4)) is y
    assert prune.on_grid(y, (2, 2)).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]  # the means of the 2x2 blocks


def test_calibration_views_come_at_the_students_size_and_the_teachers(monkeypatch):
    import skimage.data as sd

    import training.scale_distill as distill

    monkeypatch.setattr(distill, "load_pictures", lambda *a, **k: ([sd.astronaut(), sd.coffee()], []))
    small, big = prune.calibration_images(5, 0, 1, size=(192, 160))
    assert prune.calibration_images(2, 0, 1)[0].shape[-2:] == tuple(prune.SIZE[::-1])  # the CLI's default
    assert small.shape == (5, 3, 160, 192) and big.shape == (5, 3, 224, 224)
    # the same views: the small one is the big one's picture at a smaller size, not another crop
    down = torch.nn.functional.interpolate(big, size=(160, 192), mode="area")
    assert float((down - small).abs().mean()) < 0.02
    same, also = prune.calibration_images(3, 0, 1, size=(224, 224))
    assert same is also and same.shape == (3, 3, 224, 224)


def test_an_input_larger_than_fastdepths_is_refused():
    with pytest.raises(SystemExit, match="--input 256x224: at most FastDepth's 224x224"):
        prune.main(["--input", "256x224", "--images", "2", "--renders", "0"])


@needs_fastdepth
def test_a_network_cut_for_a_smaller_input_gets_fastdepths_scale_at_224(teacher):
    """match_output_scale puts the mean log depth of a network run at 160x160 on FastDepth's at 224x224 for the
    same views, by a factor on the last convolution that passes its ReLU."""
    import skimage.data as sd

    from training.scale_distill import PictureSource

    small, big = PictureSource([getattr(sd, name)() for name in PHOTOS], [], (160, 160), seed=0).batch(8)
    student = folded_fastdepth()
    last = prune.output_conv(student)
    assert last is student.layers[[idx for op, idx, _, _ in student.steps if op == "Conv"][-1]]
    with torch.no_grad():  # stands for a refit whose scale drifted
        last.weight.mul_(1.5)
        last.bias.mul_(1.5)

    def log_gap():
        with torch.no_grad():
            s = student(small).clamp_min(0.05)
            return float((torch.log(prune.on_grid(teacher(big), s.shape[-2:]).clamp_min(0.05)) - torch.log(s)).mean())
    with torch.no_grad():
        before_depth = student(small)
    before = log_gap()
    assert before < -0.3, before
    with pytest.raises(ValueError, match="teacher_images: 2 views, expected one per student view \(8\)"):
        prune.match_output_scale(student, teacher, small, big[:2])
    factor = prune.match_output_scale(student, teacher, small, big)
    assert abs(log_gap()) < 1e-4
    assert factor == pytest.approx(float(np.exp(before)), rel=0.02)  # the clamp at 0.05 bends it only a little
    with torch.no_grad():
        assert torch.allclose(student(small), factor * before_depth, rtol=1e-4, atol=1e-5)


@needs_fastdepth
def test_a_last_convolution_that_a_factor_would_not_pass_through_is_refused():
    net = folded_fastdepth()
    prune.output_conv(net)  # as it is: a ReLU follows
    relu = max(i for i, step in enumerate(net.steps) if step[0] == "Relu")
    op, idx, ins, out = net.steps[relu]
    net.steps[relu] = ("Add", None, (ins[0], ins[0]), out)  # the last ReLU replaced by something else
    with pytest.raises(ValueError, match="followed by BatchNormalization, Add; expected a ReLU"):
        prune.output_conv(net)
