"""The shipped depth model with 8-bit integer weights and activations: arsdk/models/arsdk_depth_int8.tflite.

Post-training static quantization (ai-edge-quantizer, per-channel int8 weights, per-tensor int8 activations with
ranges taken on calibration views) of the float .tflite that training/export.py writes. LiteRT's XNNPACK runs it
in integer kernels: 0.72 against 1.17 ms here. Two ends stay float, because quantizing them cost more accuracy
than time: the layers after the decoder's last skip, which write depth at full output resolution (their int8
steps are coarse against depths from 0.3 to 10 m), and the first convolution, which reads the picture. The model's
input stays int8 (scale 1/255, zero point -128: exactly the 8-bit picture); arsdk.inference quantizes a float
input and dequantizes an int8 output by the tensors' own parameters, so the SDK uses it like the float one.

The calibration views are those training/prune.py refits on (photos and rendered rooms, never ../shared/data),
with one pixel of each set to 0 and one to 1 so the input's range is the whole [0, 1] a picture can take.

    python -m training.quantize                       # arsdk_depth.tflite -> arsdk_depth_int8.tflite, ~2 min
    python -m training.evaluate                       # scores both beside FastDepth
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "arsdk" / "models"
SOURCE = MODELS / "arsdk_depth.tflite"
OUT = MODELS / "arsdk_depth_int8.tflite"
UPSAMPLE_OPS = ("CONCATENATION", "RESHAPE")  # training.fastdepth_torch.upsample_nearest2x as converted


def float_kept_outputs(ops: list[dict], tensor_names: dict[int, str]) -> list[str]:
    """Output tensor names of the ops to keep float: the first op that reads the model's input (with a PAD before
    it, the convolution after the PAD too) and everything from the upsampling that feeds the decoder's last ADD to
    the end. `ops` are LiteRT's op details in execution order (DELEGATE nodes left out)."""
    ops = [op for op in ops if op["op_name"] != "DELEGATE"]
    adds = [i for i, op in enumerate(ops) if op["op_name"] == "ADD"]
    if not adds:
        raise ValueError("expected the decoder's additive skips (ADD ops); found none")
    start = adds[-1]
    producer = {int(t): i for i, op in enumerate(ops) for t in op["outputs"]}
    frontier = [producer[int(t)] for t in ops[start]["inputs"] if int(t) in producer]
    chain = set()
    while frontier:  # walk back over the upsampling's concatenations and reshapes
        i = frontier.pop()
        if ops[i]["op_name"] in UPSAMPLE_OPS and i not in chain:
            chain.add(i)
            frontier += [producer[int(t)] for t in ops[i]["inputs"] if int(t) in producer]
    keep = set(range(start, len(ops))) | chain
    first = 0
    keep.add(first)
    if ops[first]["op_name"] == "PAD":
        keep.add(first + 1)
    return [tensor_names[int(ops[i]["outputs"][0])] for i in sorted(keep)]


CHECK_VIEWS = 16  # drawn after the calibration views, so the check sees views the ranges were not taken on


def calibration_inputs(n: int, seed: int, size: tuple[int, int]) -> np.ndarray:
    """n of training/prune.py's calibration views as NxHxWx3 float32 NHWC in [0, 1]."""
    from training.prune import calibration_images

    views, _ = calibration_images(n, 3000, seed, size=size)
    return np.ascontiguousarray(views.permute(0, 2, 3, 1).numpy(), dtype=np.float32)


def with_full_range(x: np.ndarray) -> np.ndarray:
    """Set one pixel of each NHWC view to 0 and one to 1 (in place), so the input's calibrated range is [0, 1]."""
    x[:, 0, 0, :] = 0.0
    x[:, 0, 1, :] = 1.0
    return x


def quantize(source: Path = SOURCE, out: Path = OUT, views: int = 768, seed: int = 3) -> Path:
    import ai_edge_quantizer as aq

    from arsdk.inference import load_model

    float_model = load_model(source, 1)
    interp = float_model._interp  # noqa: SLF001 (the op listing is only on the interpreter)
    names = {t["index"]: t["name"] for t in interp.get_tensor_details()}
    keep = float_kept_outputs(interp._get_ops_details(), names)  # noqa: SLF001
    signature = next(iter(interp.get_signature_list()))
    input_name = interp.get_signature_list()[signature]["inputs"][0]
    _, h, w, _ = float_model.input_shape
    print(f"calibrating on {views} views at {w}x{h} (seed {seed}); {len(keep)} ops stay float")
    # one draw for both (the pictures load once): the first `views` calibrate, the rest check
    drawn = calibration_inputs(views + CHECK_VIEWS, seed, (w, h))
    x, test = with_full_range(drawn[:views].copy()), drawn[views:]
    quantizer = aq.Quantizer(str(source))
    quantizer.load_quantization_recipe(aq.recipe.static_wi8_ai8())
    for name in keep:  # the quantizer matches an op by its output names, each followed by ";"
        quantizer.update_quantization_recipe(regex="^" + re.escape(name) + ";$", operation_name="*",
                                             algorithm_key="no_quantize")
    result = quantizer.calibrate({signature: [{input_name: v[None]} for v in x]}, num_threads=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    quantizer.quantize(result).export_model(str(out), overwrite=True)
    int8 = load_model(out, 1)
    ref = np.concatenate([float_model.run(v[None]) for v in test])
    got = np.concatenate([int8.run(v[None]) for v in test])
    ok = (ref > 0) & (got > 0)
    log_err = np.abs(np.log(got[ok] / ref[ok]))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, input {int8.inputs[0].dtype}, "
          f"{int8.delegate_partitions()} XNNPACK partition(s)); against the float model on {len(test)} other views: "
          f"|log depth| median {np.median(log_err):.4f}, 99th percentile {np.percentile(log_err, 99):.4f}; "
          f"max |difference| {np.max(np.abs(got - ref)):.3f} m")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=SOURCE, help="the float .tflite to quantize")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--views", type=int, default=768, help="calibration views for the activation ranges")
    ap.add_argument("--seed", type=int, default=3, help="seed of the calibration views")
    args = ap.parse_args(argv)
    if args.views < 1:
        ap.error(f"--views: expected at least 1, got {args.views}")
    quantize(args.source, args.out, args.views, args.seed)


if __name__ == "__main__":
    main()
