"""The depth network stays inside the issue's compute budget, and checkpoints rebuild the net they were trained as."""
import pytest

torch = pytest.importorskip("torch")

from training.model import FIRST_WIDTHS, ArsdkDepthNet, count_macs, load_checkpoint  # noqa: E402


def test_default_network_is_within_the_compute_budget():
    net = ArsdkDepthNet()
    macs = count_macs(net)
    assert 0.02e9 < macs <= 0.15e9  # issue 4: at most 0.15 GMACs at the input size (FastDepth: 0.37)
    with torch.no_grad():
        depth = net.eval()(torch.rand(2, 3, 128, 160))
    assert depth.shape == (2, 1, 128, 160) and (depth > 0).all()


def test_checkpoints_rebuild_their_own_widths(tmp_path):
    small = (8, 16, 24, 32, 48)
    net = ArsdkDepthNet(small)
    torch.save({"model": net.state_dict(), "args": {"widths": list(small)}}, tmp_path / "small.pt")
    torch.save({"model": ArsdkDepthNet(FIRST_WIDTHS).state_dict(), "args": {}}, tmp_path / "old.pt")
    x = torch.rand(1, 3, 128, 160)
    with torch.no_grad():
        assert torch.equal(load_checkpoint(tmp_path / "small.pt")(x), net.eval()(x))
    assert load_checkpoint(tmp_path / "old.pt").head[1].in_channels == FIRST_WIDTHS[0]


def test_checkpoints_with_a_weight_average_load_the_average(tmp_path):
    """train.py --ema-decay stores the moving average beside the last weights; export and evaluation use it."""
    small = (8, 16, 24, 32, 48)
    last, average = ArsdkDepthNet(small), ArsdkDepthNet(small)
    torch.save({"model": last.state_dict(), "ema": average.state_dict(), "args": {"widths": list(small)}},
               tmp_path / "ema.pt")
    x = torch.rand(1, 3, 128, 160)
    with torch.no_grad():
        loaded = load_checkpoint(tmp_path / "ema.pt")(x)
        assert torch.equal(loaded, average.eval()(x))
        assert not torch.equal(loaded, last.eval()(x))


def test_a_resumed_weight_average_keeps_averaging():
    """Resuming a run must continue its average, not restart it from the current weights."""
    from training.train import weight_average

    small = (8, 16, 24, 32, 48)
    average, current = ArsdkDepthNet(small), ArsdkDepthNet(small)
    ema = weight_average(current, 0.9, average.state_dict(), steps=100)
    ema.update_parameters(current)
    w_avg, w_cur = average.stem[0].weight, current.stem[0].weight
    assert torch.allclose(ema.module.stem[0].weight, 0.9 * w_avg + 0.1 * w_cur)


def test_shipped_model_takes_the_specs_input_and_returns_half_of_it():
    """The wheel's .tflite is FastDepth pruned (training/prune.py, then fine-tuned): it takes ARSDK_DEPTH's RGB
    (192x192, the size it was cut and refitted at) and returns metric depth at half that, FastDepth's map before its
    last per-pixel upsampling."""
    from ai_edge_litert.interpreter import Interpreter

    from arsdk import models
    from arsdk.depth import ARSDK_DEPTH
    from training import prune

    interp = Interpreter(str(models.model_path("arsdk_depth")))
    w, h = ARSDK_DEPTH.input_size
    assert (w, h) == tuple(prune.SIZE)
    assert tuple(interp.get_input_details()[0]["shape"]) == (1, h, w, 3)
    assert tuple(interp.get_output_details()[0]["shape"]) == (1, h // 2, w // 2, 1)
