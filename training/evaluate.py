"""Evaluate arsdk's own depth model (float and 8-bit) and FastDepth side by side on ../shared/data (and on the demo
scene), with the latency of each on this machine. Writes benchmarks/results/depth_eval.json.

    python -m training.evaluate                                  # the shipped .tflite files and FastDepth
    python -m training.evaluate --checkpoint training/runs/last.pt  # a training checkpoint (PyTorch), not written
    python -m training.evaluate --show-padding                   # models shown NYU's white border too, not written
Metrics: AbsRel, RMSE (m), log10, delta1/2/3, si-RMSE; raw metric and median-scaled; per set (NYU, TUM, SUN, the
7-Scenes sequence with its depth moved into the colour camera, and the demo scene).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

import arsdk
from arsdk import models
from arsdk.depth import DepthEstimator
from arsdk.evaluation import score_depth, scoring_pairs, shared_data_dir

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "depth_eval.json"
MODELS = ("arsdk_depth", "arsdk_depth_int8", "fastdepth")
NOTE = ("NYU scored inside rows 45:471, cols 41:601 (manifest note), the models shown the picture inside its white "
        "border (DepthEstimator skip_padding); 7-Scenes' depth moved into its colour camera "
        "(arsdk.evaluation.SEVEN_SCENES_COLOUR) and scored away from depth edges")


def _timed_block(call, runs: int) -> list[float]:
    """Seconds of `runs` back-to-back calls, after one more that is not counted (it wakes the runtime)."""
    times = []
    for run in range(runs + 1):
        t0 = time.perf_counter()
        call()
        if run:
            times.append(time.perf_counter() - t0)
    return times


def latencies_ms(estimators: dict, image, intr, blocks: int = 20, runs: int = 10) -> dict:
    """Median inference time and whole-estimate time (640x480 frame in, metric depth out) per model, back to back:
    the models take turns in blocks of `runs` runs, the first of each block not counted (it pays for waking the
    runtime's threads and refilling the caches the other model used), so a machine that speeds up or slows down
    during the measurement (this one drifts by tens of per cent from minute to minute) moves all of them alike and
    their ratio holds."""
    inputs = {name: est.preprocess(image) for name, est in estimators.items()}
    for _ in range(10):  # warm-up: the first runs allocate and pack weights
        for name, est in estimators.items():
            est.model.run(inputs[name])
    inf = {name: [] for name in estimators}
    full = {name: [] for name in estimators}
    for _ in range(blocks):
        for name, est in estimators.items():
            inf[name] += _timed_block(lambda: est.model.run(inputs[name]), runs)
            full[name] += _timed_block(lambda: est.estimate(image, intr), runs)
    return {name: {"inference_median_ms": round(1e3 * float(np.median(inf[name])), 3),
                   "estimate_640x480_median_ms": round(1e3 * float(np.median(full[name])), 3)}
            for name in estimators}


class CheckpointRunner:
    """Stands in for the .tflite inside a DepthEstimator: runs a training checkpoint in PyTorch (NHWC in and out),
    so checkpoints are scored by exactly the SDK's pre- and post-processing without exporting each one."""

    backend = "torch"

    def __init__(self, checkpoint: Path):
        import torch

        from training.model import load_checkpoint

        self.torch = torch
        self.net = load_checkpoint(checkpoint)

    def run(self, x: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.net(self.torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()


def score(est, samples):
    raw, med = score_depth(lambda image, intr: est.estimate(image, intr).raw, samples)
    r = lambda m: {k: round(v, 4) for k, v in m.items()}  # noqa: E731
    return {"n": len(samples), "raw_metric": r(raw), "median_scaled": r(med)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, help="score this PyTorch checkpoint as arsdk_depth (nothing written)")
    ap.add_argument("--show-padding", action="store_true",
                    help="show the models the frames' padding bands too (NYU's white border; the issue's protocol), "
                         "as the SDK did before 2026-11-24 (nothing written)")
    args = ap.parse_args(argv)
    root = shared_data_dir()
    sets: dict[str, list] = {}
    if root is not None:
        for p in scoring_pairs(root):
            sets.setdefault(p.set, []).append((p.image, p.depth, p.intrinsics, p.eval_mask))
    else:
        print("../shared/data absent: only the demo scene is scored")
    demo = arsdk.DemoSource(640, 480, frames=20)
    sets["demo_scene"] = [(f.image, f.depth, f.intrinsics, f.depth > 0) for f in demo]
    estimators = {}
    for name in ("arsdk_depth",) if args.checkpoint else MODELS:  # a checkpoint is scored alone
        if not models.is_available(name):
            print(f"{name}: not available, skipped")
            continue
        est = DepthEstimator(name, temporal=None, num_threads=2, skip_padding=not args.show_padding)
        if name == "arsdk_depth" and args.checkpoint:
            est.model = CheckpointRunner(args.checkpoint)
            # scored at the input size it was trained at (the shipped spec's may differ)
            est.spec = dataclasses.replace(est.spec, input_size=tuple(est.model.net.input_size))
        estimators[name] = est
    probe = sets["demo_scene"][0]
    latency = {} if args.checkpoint else latencies_ms(estimators, probe[0], probe[2])
    results = {}
    for name, est in estimators.items():
        entry = {"backend": est.model.backend, "input": list(est.spec.input_size),
                 "latency_2_threads": latency.get(name, {})}
        for set_name, samples in sets.items():
            entry[set_name] = score(est, samples)
        results[name] = entry
    print(f"{'model':16s} {'set':11s} {'raw d1':>7s} {'raw AbsRel':>10s} {'med d1':>7s} {'med AbsRel':>10s} "
          f"{'si-RMSE':>8s} {'RMSE':>6s}  latency")
    for name, entry in results.items():
        for set_name in sets:
            e = entry[set_name]
            print(f"{name:16s} {set_name:11s} {e['raw_metric']['delta1']:7.3f} {e['raw_metric']['abs_rel']:10.3f} "
                  f"{e['median_scaled']['delta1']:7.3f} {e['median_scaled']['abs_rel']:10.3f} "
                  f"{e['median_scaled']['si_rmse']:8.3f} {e['raw_metric']['rmse']:6.3f}  "
                  f"{entry['latency_2_threads'].get('inference_median_ms', float('nan')):.2f} ms")
    if args.checkpoint or args.show_padding:
        return
    ratios = {}
    for name in ("arsdk_depth", "arsdk_depth_int8"):
        if name in latency and "fastdepth" in latency:
            ratios[name] = round(latency[name]["inference_median_ms"] / latency["fastdepth"]["inference_median_ms"], 3)
            print(f"inference time ratio, {name} / fastdepth: {ratios[name]:.2f} (back to back, taking turns)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "models": results,
                               "inference_ratio_to_fastdepth": ratios,
                               "note": NOTE}, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
