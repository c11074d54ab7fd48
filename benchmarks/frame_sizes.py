"""Frame-size benchmark: what a frame wider than 640 px costs through Pipeline.process, against the same views at
640x480, with the depth chain brought down to Pipeline.DEPTH_WIDTH (as the SDK runs it) and worked on at the frame's
own size (Pipeline.DEPTH_WIDTH = 0, past views' keypoints searched on the whole picture).

    python benchmarks/frame_sizes.py [--frames 60] [--depth-model NAME]
Writes benchmarks/results/frame_sizes.json. The three pipelines take turns frame by frame on the moving demo room
(synchronous, no segmentation: its model sees a fixed 256 px input at any size), so the machine's drift falls on
all alike: read the ratios, not the milliseconds.
"""
from __future__ import annotations

import argparse
import time

from common import stats_ms, write_result

import arsdk
from arsdk.depth import DepthEstimator, default_depth_model
from arsdk.tracking import CameraTracker, TrackerSettings

SIZES = ((1280, 720), (1920, 1080))


def frame_cost(depth_name: str, width: int, height: int, frames: int, warm_up: int = 5) -> dict:
    """Median frame times (ms) at width x height as the SDK runs it ("sdk") and at the frame's own size ("whole"),
    and at 640x480 ("640x480"), with their ratios to 640x480."""
    wide = arsdk.DemoSource(width, height, ground_truth=False)
    vga = arsdk.DemoSource(640, 480, ground_truth=False)
    sdk = arsdk.Pipeline(DepthEstimator(depth_name), None)
    whole = arsdk.Pipeline(DepthEstimator(depth_name), None,
                           tracking=CameraTracker(TrackerSettings(view_width=width)))
    whole.DEPTH_WIDTH = 0
    small = arsdk.Pipeline(DepthEstimator(depth_name), None)
    times: dict[str, list[float]] = {"sdk": [], "whole": [], "640x480": []}
    try:
        for i in range(frames + warm_up):
            print(f"\r  {width}x{height}: frame {i + 1}/{frames + warm_up}", end="", flush=True)
            # rendered outside the timing, the wide view once for both pipelines that take it
            big, small_frame = wide.render(i / 30.0), vga.render(i / 30.0)
            for name, pipe, frame in (("sdk", sdk, big), ("whole", whole, big), ("640x480", small, small_frame)):
                t0 = time.perf_counter()
                pipe.process(frame)
                if i >= warm_up:
                    times[name].append(time.perf_counter() - t0)
    finally:
        for pipe in (sdk, whole, small):
            pipe.close()
    print()
    out = {k: stats_ms(v) for k, v in times.items()}
    base = out["640x480"]["median_ms"]
    out["sdk_ratio_to_640x480"] = round(out["sdk"]["median_ms"] / base, 3)
    out["whole_frame_ratio_to_640x480"] = round(out["whole"]["median_ms"] / base, 3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60, help="timed frames per size (after 5 warm-up frames)")
    ap.add_argument("--depth-model", default=None, help="default: the SDK's default model")
    args = ap.parse_args()
    if args.frames < 1:
        ap.error(f"--frames: expected at least 1, got {args.frames}")
    name = args.depth_model or default_depth_model()
    print(f"frame sizes: {name}, depth chain at most {arsdk.Pipeline.DEPTH_WIDTH} px wide, against 640x480")
    results = {}
    for w, h in SIZES:
        r = results[f"{w}x{h}"] = frame_cost(name, w, h, args.frames)
        print(f"  {w}x{h}: {r['sdk']['median_ms']:.1f} ms, {r['sdk_ratio_to_640x480']:.2f}x 640x480 "
              f"({r['640x480']['median_ms']:.1f} ms); worked on at its own size "
              f"{r['whole']['median_ms']:.1f} ms, {r['whole_frame_ratio_to_640x480']:.2f}x")
    write_result("frame_sizes", {"depth_model": name, "depth_width": arsdk.Pipeline.DEPTH_WIDTH,
                                 "view_width": TrackerSettings().view_width, "sizes": results})


if __name__ == "__main__":
    main()
