import numpy as np
import pytest

from arsdk import models
from arsdk.depth import ARSDK_DEPTH
from arsdk.errors import InputError, ModelError, ModelNotFoundError
from arsdk.inference import load_model


def test_fetched_models_are_verified():
    for name, spec in models.FETCHED.items():
        path = models.model_path(name)
        assert models.sha256_of(path) == spec.sha256


def test_missing_model_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ARSDK_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="python -m arsdk.models fetch"):
        models.model_path("fastdepth")
    with pytest.raises(ModelNotFoundError, match="unknown"):
        models.model_path("nonexistent")


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("ARSDK_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.cache_dir() == tmp_path / "arsdk" / "models"


def test_corrupt_and_wrong_model_files(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(ModelError, match="bad.tflite: not a valid TFLite model"):
        load_model(bad)
    bad_onnx = tmp_path / "bad.onnx"
    bad_onnx.write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_model(bad_onnx)
    with pytest.raises(ModelError, match="expected a .tflite or .onnx"):
        (tmp_path / "m.pt").write_bytes(b"x")
        load_model(tmp_path / "m.pt")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "none.tflite")


def test_loader_runs_both_backends():
    seg = load_model(models.model_path("selfie_landscape"), 1)
    assert seg.backend == "litert" and seg.input_shape == (1, 144, 256, 3)
    out = seg.run(np.zeros(seg.input_shape, np.float32))
    assert out.shape == (1, 144, 256, 1) and np.isfinite(out).all()
    fd = load_model(models.model_path("fastdepth"), 2)
    assert fd.backend == "onnxruntime" and fd.input_shape == (1, 3, 224, 224)
    with pytest.raises(InputError, match="expected \\(1, 3, 224, 224\\)"):
        fd.run(np.zeros((1, 3, 100, 100), np.float32))


def test_shipped_model_is_present():
    path = models.model_path("arsdk_depth")
    m = load_model(path, 1)
    w, h = ARSDK_DEPTH.input_size
    assert m.input_shape == (1, h, w, 3)
    # wholly inside XNNPACK: an op it does not take (RESIZE_NEAREST_NEIGHBOR did) splits the graph and slows it
    assert m.delegate_partitions() == 1


def test_delegate_partitions_counts_the_splits_and_refuses_onnx():
    assert load_model(models.model_path("selfie_landscape"), 1).delegate_partitions() >= 1
    with pytest.raises(InputError, match="for .tflite models only"):
        load_model(models.model_path("fastdepth"), 1).delegate_partitions()
