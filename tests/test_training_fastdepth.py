"""FastDepth's ONNX graph as a trainable PyTorch network (training/fastdepth_torch.py) and the training options
around it: --arch fastdepth, --input."""
import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from arsdk import models  # noqa: E402
from training import train  # noqa: E402
from training.fastdepth_torch import OnnxConvNet, max_difference_to_onnxruntime, upsample_nearest2x  # noqa: E402
from training.model import ArsdkDepthNet, load_checkpoint  # noqa: E402

needs_fastdepth = pytest.mark.skipif(not models.is_available("fastdepth"), reason="FastDepth not fetched")


def test_upsample_nearest2x_is_interpolates_nearest():
    x = torch.rand(2, 5, 3, 7, generator=torch.Generator().manual_seed(0))
    y = upsample_nearest2x(x)
    assert torch.equal(y, torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"))
    assert torch.equal(y[:, :, 1::2, 1::2], x)  # not a constant copy: every 2x2 block holds its own source pixel


@needs_fastdepth
def test_fastdepth_in_pytorch_gives_onnxruntimes_output():
    net = OnnxConvNet(models.model_path("fastdepth")).eval()
    assert max_difference_to_onnxruntime(net, models.model_path("fastdepth")) < 1e-4


@needs_fastdepth
def test_fastdepth_student_runs_smaller_and_its_checkpoint_loads_as_trained(tmp_path):
    from training.fastdepth_torch import FastDepthStudent

    net = FastDepthStudent().eval()
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        depth = net(x)
        log_depth, maps = net.features(x)
    assert depth.shape == (1, 1, 96, 128) and (depth >= FastDepthStudent.min_depth).all() and maps == []
    assert torch.allclose(torch.exp(log_depth), depth, rtol=1e-5)
    with torch.no_grad():
        net.net.layers[0].weight.mul_(1.1)  # stands for training: the checkpoint must keep it
        trained = net(x)
    path = tmp_path / "fd.pt"
    torch.save({"model": net.state_dict(), "args": {"arch": "fastdepth", "input": [128, 96]}}, path)
    loaded = load_checkpoint(path)
    assert loaded.input_size == (128, 96)
    with torch.no_grad():
        assert torch.allclose(loaded(x), trained)


def test_an_onnx_graph_with_an_unsupported_op_is_refused_by_name(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Sigmoid", ["x"], ["y"], name="squash")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    path = tmp_path / "sigmoid.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="squash is Sigmoid"):
        OnnxConvNet(path)


def test_an_upsampling_other_than_nearest_x2_is_refused(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Upsample", ["x"], ["y"], mode="nearest", scales=[1.0, 1.0, 3.0, 3.0])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 12, 12])])
    path = tmp_path / "up3.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)]), str(path))
    with pytest.raises(ValueError, match="expected nearest x2"):
        OnnxConvNet(path)


def test_input_size_option():
    assert train.input_size("128x96") == [128, 96]
    for bad in ("100x96", "128", "128x96x3", "0x96"):
        with pytest.raises(argparse.ArgumentTypeError, match=bad):
            train.input_size(bad)


def test_predictions_run_at_the_networks_input_and_come_back_at_the_datas_resolution():
    net = ArsdkDepthNet((8, 16, 24, 32, 48)).eval()
    seen = []
    features = net.features
    net.features = lambda x: (seen.append(tuple(x.shape)), features(x))[1]
    with torch.no_grad():
        log_depth, _ = train.predict_log_depth(net, torch.rand(2, 3, 128, 160), (128, 96))
    assert seen == [(2, 3, 96, 128)]
    assert log_depth.shape == (2, 1, 128, 160)


def test_hints_are_refused_for_the_fastdepth_architecture(capsys):
    with pytest.raises(SystemExit):
        train.main(["--arch", "fastdepth", "--hint-weight", "0.2"])
    assert "no hints to match" in capsys.readouterr().err


def test_resuming_with_another_network_stops_naming_the_option():
    trained = {"arch": "fastdepth", "widths": [24, 48, 80, 160, 256], "input": [128, 96]}
    train.check_same_network("fd.pt", trained, dict(trained, widths=[8, 8, 8, 8, 8]))  # widths: arsdk only
    with pytest.raises(SystemExit, match=r"--arch fastdepth \(asked: arsdk\)"):
        train.check_same_network("fd.pt", trained, dict(trained, arch="arsdk"))
    with pytest.raises(SystemExit, match=r"--input \[128, 96\] \(asked: \[160, 128\]\)"):
        train.check_same_network("fd.pt", trained, dict(trained, input=[160, 128]))
    # a checkpoint from before --arch and --input: the first widths at 160x128
    train.check_same_network("old.pt", {}, {"arch": "arsdk", "widths": [16, 32, 56, 112, 192], "input": [160, 128]})
