"""Render benchmark: per effect, milliseconds per 640x480 frame headless (upload + render + read-back), and the
end-to-end FPS of the demo app on the demo scene with the models on worker threads.

    python benchmarks/render.py [--frames 100] [--seconds 15]
Writes benchmarks/results/render.json.
"""
from __future__ import annotations

import argparse
import time

from common import stats_ms, write_result

import arsdk
from arsdk import effects
from arsdk.pipeline import ground_truth_state
from arsdk.render import Renderer

EFFECTS = {"flood": dict(level=0.5, rise_speed=0), "fog": {}, "sticker": {}, "blur": {}, "blur_dof": dict(mode="dof")}


def per_effect(frames: int, rounds: int = 5) -> dict:
    """Median cost per effect. The effects take turns in `rounds` rounds, so that this shared machine's
    speed drifting during the run affects all of them alike."""
    states = [ground_truth_state(f) for f in arsdk.DemoSource(640, 480, frames=30)]
    renderer = Renderer(640, 480, mode="headless")
    chains = {}
    for label, params in EFFECTS.items():
        eff = effects.create(label.split("_")[0], **params)
        if label == "sticker":
            for xy in [(470, 420), (230, 150), (300, 300)]:
                eff.place(states[0], *xy)
        chains[label] = [eff]
    chains["none (upload + read-back only)"] = []
    times = {label: [] for label in chains}
    for label, chain in chains.items():
        for s in states[:5]:
            renderer.render(s, chain, dt=1 / 30)  # warm-up: shader compilation, first allocation
    per_round = max(frames // rounds, 1)
    for r in range(rounds):
        for label, chain in chains.items():
            for i in range(per_round):
                t0 = time.perf_counter()
                renderer.render(states[(r * per_round + i) % len(states)], chain, dt=1 / 30)
                times[label].append(time.perf_counter() - t0)
    out = {}
    for label, t in times.items():
        out[label] = stats_ms(t)
        print(f"  {label:9s} median {out[label]['median_ms']:6.2f} ms  p95 {out[label]['p95_ms']:6.2f} ms")
    renderer.release()
    return out


def end_to_end(effect: str, seconds: float, source: str, fps: float = 30.0) -> dict:
    """The demo app's loop, headless, models on workers, for `seconds`. source "demo": the synthetic room
    rendered live on its own thread at `fps`, with its exact depth (what `python -m demo_app` shows with no
    webcam); "camera":
    prerecorded frames handed out at `fps` like a webcam, whose capture costs next to nothing."""
    from demo_app.app import App, AppConfig

    class PacedMemorySource(arsdk.FrameSource):
        name, is_live = "camera", True

        def __init__(self, frames, rate):
            self.frames, self.rate = frames, rate
            self.intrinsics = frames[0].intrinsics

        def __iter__(self):
            i, t0 = 0, time.perf_counter()
            while True:
                wait = t0 + i / self.rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                yield arsdk.Frame(self.frames[i % len(self.frames)].image, time.perf_counter(), i)
                i += 1

    from arsdk.depth import default_depth_model

    # as the app chooses: arsdk_depth on its own demo room, the default model (FastDepth) on a camera
    cfg = AppConfig(source="demo", effects=[effect], headless=True, asynchronous=True, auto_output=False,
                    depth_model=None if source == "demo" else default_depth_model())
    app = App(cfg, log_fn=lambda *_: None)
    if source == "camera":
        app.source = PacedMemorySource(list(arsdk.DemoSource(640, 480, frames=60)), fps)
    else:
        app.source = arsdk.DemoSource(640, 480, fps=fps, realtime=True)  # the app uses its exact depth
    cfg.frames = 1_000_000
    count = [0]
    start = [None]
    deadline = [None]
    real_render = app.renderer.render

    def counting_render(*a, **k):
        if start[0] is None:
            start[0] = time.perf_counter()
            deadline[0] = start[0] + seconds
        out = real_render(*a, **k)
        count[0] += 1
        if time.perf_counter() > deadline[0]:
            app._events.append(("key", "q"))
        return out

    app.renderer.render = counting_render
    summary = app.run()
    wall = time.perf_counter() - start[0]
    return {"source_fps": fps, "fps": round((count[0] - 1) / wall, 2),
            "depth_updates_per_s": round(summary["frames_with_fresh_depth"] / wall, 2), "frames": count[0],
            "depth_model": app.pipeline.depth_estimator.name if app.pipeline else "ground truth",
            "median_ms": {k: round(v, 2) for k, v in summary["median_ms"].items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args()
    print(f"per-effect cost at 640x480 over {args.frames} frames (upload + render + read-back):")
    fx = per_effect(args.frames)
    e2e = {}
    for effect in ("flood", "blur"):
        for source, fps in (("demo", 30.0), ("camera", 30.0), ("camera", 60.0)):
            key = f"{effect}_{source}_{int(fps)}fps"
            e2e[key] = end_to_end(effect, args.seconds, source, fps)
            print(f"  end-to-end {key:22s} {e2e[key]['fps']:6.1f} FPS shown, depth ({e2e[key]['depth_model']}) "
                  f"updated {e2e[key]['depth_updates_per_s']:5.1f} times/s")
    write_result("render", {"resolution": [640, 480], "per_effect": fx, "target_effect_ms": 8.0,
                            "end_to_end": e2e, "target_fps": 30.0})


if __name__ == "__main__":
    main()
