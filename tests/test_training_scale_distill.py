"""Scale distillation (training/scale_distill.py): FastDepth's weights taught to see at 128x96 what FastDepth sees
at 224x224, with block outputs tapped from the rebuilt ONNX graph."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from arsdk import models  # noqa: E402
from training import scale_distill  # noqa: E402
from training.scale_distill import PictureSource, distillation_loss, folder_photos  # noqa: E402

needs_fastdepth = pytest.mark.skipif(not models.is_available("fastdepth"), reason="FastDepth not fetched")


@needs_fastdepth
def test_taps_leave_the_output_unchanged_and_cover_every_block():
    from training.fastdepth_torch import TAPPED_OPS, OnnxConvNet

    net = OnnxConvNet(models.model_path("fastdepth")).eval()
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    taps = []
    with torch.no_grad():
        plain, tapped = net(x), net(x, taps)
    assert torch.equal(plain, tapped)
    blocks = sum(op in TAPPED_OPS for op, *_ in net.steps) - 1  # the final ReLU is the output, not a tap
    assert len(taps) == blocks > 20
    assert taps[0].shape[-2:] == (48, 64) and taps[-1].shape[-2:] == (48, 64)  # 1/2 of the input, first and last


def test_distillation_loss_is_zero_only_when_the_student_matches_the_pooled_teacher():
    gen = torch.Generator().manual_seed(0)
    t_depth = 1 + 3 * torch.rand(2, 1, 8, 8, generator=gen)
    t_taps = [torch.rand(2, 4, 8, 8, generator=gen)]
    pooled = lambda a: torch.nn.functional.avg_pool2d(a, 2)  # noqa: E731 - 8x8 onto the student's 4x4
    loss, d, f = distillation_loss(pooled(t_depth), [pooled(t_taps[0])], t_depth, t_taps, 0.5)
    assert loss.item() == pytest.approx(0, abs=1e-6)
    loss, d, f = distillation_loss(pooled(t_depth) * 1.5, [pooled(t_taps[0]) + 0.1], t_depth, t_taps, 0.5)
    assert d.item() == pytest.approx(np.log(1.5), rel=1e-4) and f.item() > 0
    assert loss.item() == pytest.approx(d.item() + 0.5 * f.item(), rel=1e-5)


def test_picture_source_gives_the_same_view_at_both_sizes():
    rng = np.random.default_rng(0)
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, :200] = 200  # left half bright: a crop keeps it on one side at both sizes
    renders = rng.integers(0, 255, (3, 128, 160, 3), dtype=np.uint8)
    src = PictureSource([photo], renders, (128, 96), seed=0, render_share=0.5)
    small, big = src.batch(8)
    assert small.shape == (8, 3, 96, 128) and big.shape == (8, 3, 224, 224)
    assert 0 <= float(small.min()) and float(big.max()) <= 1
    # each pair is one picture: the means of its two sizes agree
    assert torch.allclose(small.mean(dim=(1, 2, 3)), big.mean(dim=(1, 2, 3)), atol=0.02)


def test_folder_photos_reads_a_folder_and_refuses_the_evaluation_data(tmp_path, monkeypatch):
    import cv2

    room = tmp_path / "rooms"
    room.mkdir()
    cv2.imwrite(str(room / "a.png"), np.full((60, 80, 3), 90, np.uint8))
    (room / "notes.txt").write_text("not an image")
    photos = folder_photos(room, log=lambda *_: None)
    assert len(photos) == 1 and photos[0].shape == (60, 80, 3)
    shared = tmp_path / "shared" / "data"
    (shared / "nyu").mkdir(parents=True)
    (shared / "manifest.json").write_text("{}")
    monkeypatch.setenv("ARSDK_SHARED_DATA", str(shared))
    for refused in (shared, shared / "nyu", tmp_path / "shared"):
        with pytest.raises(SystemExit, match="evaluation data"):
            folder_photos(refused)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no images"):
        folder_photos(empty)


@needs_fastdepth
def test_a_short_run_writes_a_checkpoint_the_evaluator_loads_at_its_input(tmp_path, monkeypatch):
    from training.model import load_checkpoint

    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(2)]
    monkeypatch.setattr(scale_distill, "load_pictures", lambda *a, **k: (photos, np.zeros((0,))))
    monkeypatch.setattr(scale_distill, "RUNS", tmp_path)
    scale_distill.main(["--steps", "2", "--batch", "2", "--run", "t"])
    ck = torch.load(tmp_path / "t.pt", weights_only=False)
    assert ck["step"] == 2 and ck["args"]["arch"] == "fastdepth" and ck["args"]["input"] == [128, 96]
    net = load_checkpoint(tmp_path / "t.pt")
    assert net.input_size == (128, 96)
    scale_distill.main(["--steps", "3", "--batch", "2", "--run", "t"])  # resumes
    assert torch.load(tmp_path / "t.pt", weights_only=False)["step"] == 3
    with pytest.raises(SystemExit, match="--input"):
        scale_distill.main(["--steps", "4", "--batch", "2", "--run", "t", "--input", "160x128"])


@needs_fastdepth
def test_init_fine_tunes_a_pruned_checkpoint_at_its_own_input_and_keeps_it_exportable(tmp_path, monkeypatch):
    from training.model import load_checkpoint
    from training.surgery import PrunedFastDepth, channel_spaces, folded_fastdepth

    _, sizes = channel_spaces(folded_fastdepth())
    keep = {s: list(range(0, n, 2)) for s, n in sizes.items()}
    pruned = PrunedFastDepth(keep).eval()
    init = tmp_path / "pruned.pt"
    torch.save({"model": pruned.state_dict(), "step": 0,
                "args": {"arch": "pruned", "input": [192, 192], "keep": keep, "prune": {"seed": 1}}}, init)
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(2)]
    monkeypatch.setattr(scale_distill, "load_pictures", lambda *a, **k: (photos, np.zeros((0,))))
    monkeypatch.setattr(scale_distill, "RUNS", tmp_path)
    with pytest.raises(SystemExit, match="pruned.*--feature-weight 0"):  # its channels are not FastDepth's
        scale_distill.main(["--init", str(init), "--steps", "1", "--batch", "2", "--run", "t"])
    scale_distill.main(["--init", str(init), "--feature-weight", "0", "--steps", "2", "--batch", "2",
                        "--lr", "1e-3", "--run", "t"])
    ck = torch.load(tmp_path / "t.pt", weights_only=False)
    assert ck["args"]["arch"] == "pruned" and ck["args"]["keep"] == keep and ck["args"]["input"] == [192, 192]
    assert ck["args"]["prune"] == {"seed": 1} and ck["args"]["scale_distill"]["init"] == str(init)
    tuned = load_checkpoint(tmp_path / "t.pt")
    assert tuned.input_size == (192, 192)
    x = torch.rand(1, 3, 192, 192, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert tuned(x).shape == pruned(x).shape == (1, 1, 96, 96)
        assert not torch.equal(tuned(x), pruned(x))  # it trained
    with pytest.raises(SystemExit, match="no such checkpoint"):
        scale_distill.main(["--init", str(tmp_path / "missing.pt"), "--feature-weight", "0", "--run", "u"])
    # --half-output: the last decoder stage at half size, recorded so the checkpoint loads (and exports) that way
    scale_distill.main(["--init", str(init), "--half-output", "--feature-weight", "0", "--steps", "1",
                        "--batch", "2", "--run", "h"])
    half = load_checkpoint(tmp_path / "h.pt")
    assert torch.load(tmp_path / "h.pt", weights_only=False)["args"]["half_output"] is True
    with torch.no_grad():
        assert half(x).shape == (1, 1, 48, 48)
    upsamplings = [sum(op == "Upsample" for op, *_ in net.net.steps) for net in (pruned, half)]
    assert upsamplings[1] == upsamplings[0] - 1  # the full-size stage's upsampling (and its skip) is gone
    with pytest.raises(SystemExit, match="still runs at full size"):  # already halved
        scale_distill.main(["--init", str(tmp_path / "h.pt"), "--half-output", "--feature-weight", "0",
                            "--steps", "1", "--batch", "2", "--run", "h2"])
    with pytest.raises(SystemExit, match="--half-output: needs --init"):
        scale_distill.main(["--half-output", "--steps", "1", "--run", "h3"])


def test_a_render_share_outside_zero_to_one_is_refused_before_anything_loads(monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("pictures were loaded for an invalid render share")
    monkeypatch.setattr(scale_distill, "load_pictures", no_loading)
    monkeypatch.setattr(scale_distill, "FastDepthStudent", no_loading)
    with pytest.raises(SystemExit, match="--render-share 2.0: expected a fraction in \\[0, 1\\]"):
        scale_distill.main(["--render-share", "2"])
