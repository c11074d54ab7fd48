"""Perception benchmark: per-stage latency at 640x480 (capture, depth, segmentation, unprojection + floor),
median and p95 over 200+ frames, and the depth models' accuracy on ../shared/data.

    python benchmarks/perception.py [--frames 200] [--depth-model NAME]
Writes benchmarks/results/perception.json.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import stats_ms, write_result

import arsdk
from arsdk import models
from arsdk.depth import DepthEstimator, default_depth_model
from arsdk.evaluation import score_depth, scoring_pairs, shared_data_dir
from arsdk.segmentation import PersonSegmenter


def record_clip(path: Path, n: int):
    """The demo scene as a video file: capture is then measured as real decoding, like a camera or a file."""
    import cv2

    src = arsdk.DemoSource(640, 480, frames=n)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for f in src:
        w.write(cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
    w.release()


def latency(depth_name: str, frames: int) -> dict:
    """Per-stage times as the pipeline reports them, and the frame's wall time through Pipeline.process
    (synchronous mode: segmentation runs beside depth, then geometry, then tracking and depth fusion)."""
    pipe = arsdk.Pipeline(DepthEstimator(depth_name, num_threads=2), PersonSegmenter(num_threads=1),
                          arsdk.Intrinsics.from_fov(640, 480, 60))
    times = {"capture": [], "depth": [], "segmentation": [], "geometry": [], "tracking": [], "combined": []}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "demo.mp4"
        record_clip(clip, frames + 10)
        it = iter(arsdk.open_source(clip))
        for i in range(frames + 10):
            t0 = time.perf_counter()
            frame = next(it)
            t1 = time.perf_counter()
            state = pipe.process(frame)
            t2 = time.perf_counter()
            if i >= 10:  # warm-up frames excluded
                times["capture"].append(t1 - t0)
                times["combined"].append(t2 - t1)
                for k in ("depth", "segmentation", "geometry", "tracking"):
                    times[k].append(state.timings[k] / 1e3)
    pipe.close()
    return {k: stats_ms(v) for k, v in times.items()}


def accuracy(depth_name: str, root) -> dict:
    est = DepthEstimator(depth_name, temporal=None)
    out = {}
    pairs = scoring_pairs(root)
    for set_name in sorted({p.set for p in pairs}):
        samples = [(p.image, p.depth, p.intrinsics, p.eval_mask) for p in pairs if p.set == set_name]
        raw, med = score_depth(lambda image, intr: est.estimate(image, intr).raw, samples)
        out[set_name] = {"pairs": len(samples), "raw_metric": rounded(raw), "median_scaled": rounded(med)}
    return out


def rounded(d):
    return {k: round(v, 4) for k, v in d.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--depth-model", default=None)
    args = ap.parse_args()
    active = args.depth_model or default_depth_model()
    names = [active] + [n for n in ("fastdepth", "arsdk_depth") if n != active and models.is_available(n)]
    lat = {}
    for name in names:
        print(f"latency over {args.frames} frames at 640x480 (Pipeline.process, synchronous), depth model {name} ...")
        lat[name] = latency(name, args.frames)
        for k, v in lat[name].items():
            print(f"  {k:13s} median {v['median_ms']:7.2f} ms   p95 {v['p95_ms']:7.2f} ms")
    result = {"resolution": [640, 480], "active_depth_model": active, "latency": lat,
              "target_combined_ms": 12.0,
              "combined_under_target": {n: v["combined"]["median_ms"] < 12.0 for n, v in lat.items()}}
    root = shared_data_dir()
    if root is None:
        print("../shared/data absent: accuracy skipped")
    else:
        result["accuracy"] = {}
        for name in ("fastdepth", "arsdk_depth"):
            if models.is_available(name):
                acc = accuracy(name, root)
                result["accuracy"][name] = acc
                nyu = acc.get("nyu")
                if nyu:
                    print(f"  {name} on NYU: raw delta1 {nyu['raw_metric']['delta1']:.3f} AbsRel "
                          f"{nyu['raw_metric']['abs_rel']:.3f}; median-scaled delta1 "
                          f"{nyu['median_scaled']['delta1']:.3f} AbsRel {nyu['median_scaled']['abs_rel']:.3f} "
                          f"si-RMSE {nyu['median_scaled']['si_rmse']:.3f}")
    write_result("perception", result)


if __name__ == "__main__":
    main()
