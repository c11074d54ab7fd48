"""The one place that loads a model file: .tflite with LiteRT (ai_edge_litert, else tflite_runtime), .onnx with
ONNX Runtime. Both are wrapped in `Model`, which takes and returns float32 numpy arrays (a quantized .tflite's
integer input and output are converted by their own scale and zero point)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError, ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quantization: tuple[float, int] | None = None  # (scale, zero point) of an integer tensor: real = scale * (q - zp)

    def quantize(self, x: np.ndarray, model: str) -> np.ndarray:
        """Float values to this integer tensor's codes; values it cannot represent are refused, not clamped."""
        scale, zero = self.quantization
        q = np.round(x / scale) + zero
        lo, hi = np.iinfo(self.dtype).min, np.iinfo(self.dtype).max
        if q.min() < lo or q.max() > hi:
            raise InputError(f"model {model}: input values {float(x.min()):.4g}..{float(x.max()):.4g} outside what "
                             f"its {np.dtype(self.dtype).name} input represents, {scale * (lo - zero):.4g}.."
                             f"{scale * (hi - zero):.4g}")
        return q.astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        scale, zero = self.quantization
        return (q.astype(np.float32) - np.float32(zero)) * np.float32(scale)


def _tensor_info(d: dict) -> TensorInfo:
    dtype = np.dtype(d["dtype"])
    scale, zero = d.get("quantization", (0.0, 0))
    quant = (float(scale), int(zero)) if np.issubdtype(dtype, np.integer) and scale else None
    return TensorInfo(d["name"], tuple(int(v) for v in d["shape"]), dtype, quant)


def _tflite_interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError("no TFLite runtime installed: pip install ai-edge-litert") from exc
    return Interpreter


class Model:
    """A loaded model with one input and one or more outputs. `run(x)` returns the first output."""

    def __init__(self, path, num_threads: int = 2):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file {self.path}: not found")
        if num_threads < 1:
            raise InputError(f"num_threads: expected >= 1, got {num_threads}")
        self.num_threads = num_threads
        # one call at a time: a LiteRT interpreter shared by two threads raises ("at least 1 reference to internal
        # data") or hands one caller the other's output
        self._lock = threading.Lock()
        suffix = self.path.suffix.lower()
        if suffix == ".tflite":
            self._load_tflite()
        elif suffix == ".onnx":
            self._load_onnx()
        else:
            raise ModelError(f"model file {self.path}: expected a .tflite or .onnx file, got '{suffix}'")

    def _load_tflite(self):
        Interpreter = _tflite_interpreter_class()
        try:
            self._interp = Interpreter(model_path=str(self.path), num_threads=self.num_threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"model file {self.path}: not a valid TFLite model ({exc})") from exc
        inp = self._interp.get_input_details()
        outs = self._interp.get_output_details()
        self._in_index = inp[0]["index"]
        self._out_index = [o["index"] for o in outs]
        self.inputs = [_tensor_info(d) for d in inp]
        self.outputs = [_tensor_info(d) for d in outs]
        self.backend = "litert"

    def _load_onnx(self):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(f"model file {self.path}: .onnx needs onnxruntime (pip install onnxruntime)") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.num_threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # the shipped FastDepth graph has unused initialisers that ORT warns about
        # no busy-waiting between runs: the spinning threads steal the cores the next stages need
        # (measured: FastDepth 12.6 -> 9.3 ms a frame with other work in between)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._sess = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for corrupt files
            raise ModelError(f"model file {self.path}: not a valid ONNX model ({exc})") from exc

        def info(t):
            shape = tuple(int(v) if isinstance(v, int) else 1 for v in t.shape)
            return TensorInfo(t.name, shape, np.dtype(np.float32))

        self.inputs = [info(t) for t in self._sess.get_inputs()]
        self.outputs = [info(t) for t in self._sess.get_outputs()]
        self.backend = "onnxruntime"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.inputs[0].shape

    def delegate_partitions(self) -> int:
        """How many XNNPACK partitions LiteRT split this .tflite into. More than one means ops LiteRT's XNNPACK
        delegate does not take run between them on the reference kernels: slower, and the threads wait at every
        boundary (training/export.py prints it; the shipped model is one)."""
        if self.backend != "litert":
            raise InputError(f"model {self.path.name}: delegate partitions exist for .tflite models only, "
                             f"this one runs in {self.backend}")
        ops = self._interp._get_ops_details()  # LiteRT has no public op listing; the DELEGATE nodes are the partitions
        return sum(op["op_name"] == "DELEGATE" for op in ops)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run on one input array of exactly `input_shape`; returns the first output as float32. An integer
        (quantized) input takes real values, which are quantized by its scale and zero point, or its codes, given
        in its own dtype."""
        if tuple(x.shape) != self.input_shape:
            raise InputError(f"model {self.path.name}: input shape {tuple(x.shape)}, expected {self.input_shape}")
        inp = self.inputs[0]
        if np.issubdtype(x.dtype, np.integer) and x.dtype != inp.dtype:  # codes of another tensor, or unscaled pixels
            raise InputError(f"model {self.path.name}: input of dtype {x.dtype.name}; expected "
                             f"{'real values or ' if inp.quantization else ''}{np.dtype(inp.dtype).name}")
        if inp.quantization and x.dtype != inp.dtype:
            x = inp.quantize(x, self.path.name)
        x = np.ascontiguousarray(x, dtype=inp.dtype)
        with self._lock:
            if self.backend == "litert":
                out = self.outputs[0]
                self._interp.set_tensor(self._in_index, x)
                self._interp.invoke()
                y = self._interp.get_tensor(self._out_index[0])  # a copy: the next call cannot change it
                return out.dequantize(y) if out.quantization else y.astype(np.float32, copy=False)
            return self._sess.run([self.outputs[0].name], {self.inputs[0].name: x})[0].astype(np.float32,
                                                                                            copy=False)


class ModelHolder:
    """Base of the objects that run a model on a stream of frames (`self.model`, guarded by `self._lock`): `close()`
    frees its runtime, and `with` closes it at the end of the block; the object cannot be used after. The stream's
    state, which `reset()` forgets: the padding window (`self._window`), the last good result (`self._last_good`)
    and the temporal filter (`self.temporal`, or None)."""

    model: "Model | None"

    def reset(self):
        """Forget the stream so far (its temporal history and padding window)."""
        with self._lock:
            self._window.reset()
            self._last_good = None
            if self.temporal is not None:
                self.temporal.reset()

    def close(self):
        with self._lock:
            self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def load_model(path, num_threads: int = 2) -> Model:
    """Load a .tflite or .onnx model; raises ModelError naming the file when it is missing or corrupt."""
    model = Model(path, num_threads)
    log.debug("loaded %s with %s (%d threads)", model.path, model.backend, num_threads)
    return model
