import numpy as np
import pytest

from arsdk import models
from arsdk.depth import ARSDK_DEPTH, DepthEstimator
from arsdk.errors import InputError, ModelError, ModelNotFoundError
from arsdk.inference import load_model


def test_fetched_models_are_verified():
    for name, spec in models.FETCHED.items():
        path = models.model_path(name)
        assert models.sha256_of(path) in spec.hashes


def test_selfie_models_come_from_the_mediapipe_wheel_without_npm(tmp_path, monkeypatch):
    """The README names two sources for the selfie models: the PyPI wheel works on a machine with no npm."""
    monkeypatch.setenv("ARSDK_MODEL_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # npm hidden
    got = models.fetch(["selfie", "selfie_landscape"], log=lambda *_: None)
    for name, path in got.items():
        wheel = next(s for s in models.FETCHED[name].sources if s.kind == "pip")
        assert models.sha256_of(path) == wheel.sha256
    # the wheel's files hold the same weights as npm's: the same mask
    from arsdk.segmentation import PersonSegmenter

    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    spec = PersonSegmenter("selfie_landscape").spec
    mine = PersonSegmenter(str(got["selfie_landscape"]), spec=spec).process(image)
    monkeypatch.delenv("ARSDK_MODEL_DIR")
    assert np.allclose(mine, PersonSegmenter("selfie_landscape").process(image), atol=1e-5)


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


def test_shipped_int8_model_runs_in_integers_and_gives_the_float_models_depth():
    skimage_data = pytest.importorskip("skimage.data")
    f = load_model(models.model_path("arsdk_depth"), 1)
    q = load_model(models.model_path("arsdk_depth_int8"), 1)
    assert q.inputs[0].dtype == np.int8 and q.inputs[0].quantization is not None
    assert q.outputs[0].dtype == np.float32 and q.input_shape == f.input_shape and q.delegate_partitions() == 1
    prep_f = DepthEstimator("arsdk_depth", temporal=None, num_threads=1)
    prep_q = DepthEstimator("arsdk_depth_int8", temporal=None, num_threads=1)
    errors = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):  # real photos, through the SDK's own resizing
        photo = getattr(skimage_data, name)()[..., :3]
        x, codes = prep_f.preprocess(photo), prep_q.preprocess(photo)
        # the 8-bit model's input is the picture's codes, exactly what quantizing the float input gives
        assert codes.dtype == np.int8 and np.array_equal(codes, q.inputs[0].quantize(x, "m"))
        ref, got = f.run(x), q.run(codes)
        assert np.array_equal(got, q.run(x))
        assert (ref > 0).all() and (got > 0).all()
        errors.append(float(np.median(np.abs(np.log(got / ref)))))
    # measured 0.010-0.036 (median |log depth| per photo): 8-bit codes, not a different model
    assert max(errors) < 0.05 and np.mean(errors) < 0.03, errors


def test_int8_input_is_quantized_by_its_parameters_and_out_of_range_refused():
    from arsdk.inference import TensorInfo

    t = TensorInfo("x", (1, 4), np.dtype(np.int8), (1 / 255, -128))
    x = np.array([[0.0, 128 / 255, 1.0, 100 / 255]], np.float32)
    q = t.quantize(x, "m.tflite")
    assert q.dtype == np.int8 and q.tolist() == [[-128, 0, 127, -28]]
    assert np.allclose(t.dequantize(q), [[0.0, 128 / 255, 1.0, 100 / 255]])
    with pytest.raises(InputError, match="outside what its int8 input represents"):
        t.quantize(np.array([[1.2]], np.float32), "m.tflite")
    q_model = load_model(models.model_path("arsdk_depth_int8"), 1)
    with pytest.raises(InputError, match="arsdk_depth_int8.tflite"):
        q_model.run(np.full(q_model.input_shape, 2.0, np.float32))
    with pytest.raises(InputError, match="dtype uint8; expected real values or int8"):
        q_model.run(np.zeros(q_model.input_shape, np.uint8))
    f_model = load_model(models.model_path("arsdk_depth"), 1)
    with pytest.raises(InputError, match="dtype int8; expected float32"):
        f_model.run(np.zeros(f_model.input_shape, np.int8))
