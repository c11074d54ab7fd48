"""Render benchmark: per effect, milliseconds per 640x480 frame headless (upload + render + read-back); blur alone
against the usual hand-written Python loop (same selfie model via LiteRT, cv2.GaussianBlur, numpy blend) per frame
at 640x480 and 1280x720 and for a whole 450-frame video through the app; and the end-to-end FPS of the demo app
on the demo scene with the models on worker threads.

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


def usual_blur(size: tuple[int, int]):
    """The background blur people write by hand, as the reference: MediaPipe's selfie model through LiteRT,
    cv2.GaussianBlur of the whole frame (the same spread as arsdk's default blur), a numpy blend."""
    import cv2
    import numpy as np

    from arsdk import models
    from arsdk.inference import _tflite_interpreter_class

    interp = _tflite_interpreter_class()(model_path=str(models.model_path("selfie_landscape")), num_threads=2)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    mh, mw = inp["shape"][1:3]
    sigma = 4.0 * effects.get("blur").Params().strength

    def blur(rgb):
        x = cv2.resize(rgb, (mw, mh), interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255.0)
        interp.set_tensor(inp["index"], x[None])
        interp.invoke()
        mask = cv2.resize(interp.get_tensor(out["index"])[0, :, :, 0], size)[..., None]
        background = cv2.GaussianBlur(rgb, (0, 0), sigma)
        return (rgb * mask + background * (1.0 - mask)).astype(np.uint8)

    return blur


def blur_against_usual(size: tuple[int, int], frames: int, block: int = 10) -> dict:
    """Blur alone per frame: the SDK (pipeline reading only the mask, GL blur, read-back) against `usual_blur`, in
    turns of `block` frames each so the machine's drift falls on both alike. The first frame of each turn is not
    counted: both run LiteRT, whose worker threads keep spinning for a while after a call, and right after the
    other side's turn a frame shares the cores with them (frame-by-frame turns put 1-4 ms of that on every frame
    of both sides; a user runs one of the two)."""
    w, h = size
    images = [f.image for f in arsdk.DemoSource(w, h, frames=30)]
    blur = effects.create("blur")
    pipe = arsdk.Pipeline.default(intrinsics=arsdk.Intrinsics.from_fov(w, h, 60))
    renderer = Renderer(w, h, mode="headless")
    usual = usual_blur(size)
    needs = effects.needs_of([blur])

    def sdk(image):
        renderer.render(pipe.process(image, needs=needs), [blur])

    for image in images[:5]:  # warm-up: shader compilation, first allocations, the models' first calls
        sdk(image)
        usual(image)
    times: dict[str, list[float]] = {"sdk": [], "usual_loop": []}
    i = 0
    while len(times["sdk"]) < frames:
        for key, fn in (("sdk", sdk), ("usual_loop", usual)):
            for k in range(block + 1):
                t0 = time.perf_counter()
                fn(images[(i + k) % len(images)])
                if k:
                    times[key].append(time.perf_counter() - t0)
        i += block + 1
    pipe.close()
    renderer.release()
    out = {key: stats_ms(v) for key, v in times.items()}
    out["ratio"] = round(out["sdk"]["median_ms"] / out["usual_loop"]["median_ms"], 3)
    return out


def blur_against_usual_alone(size: tuple[int, int], frames: int) -> dict:
    """`blur_against_usual` in a process of its own: one run in a process left the next one slower by up to a
    third (the first one's model threads and GL state), whichever side that fell on."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); from render import "
            f"blur_against_usual; print(json.dumps(blur_against_usual({tuple(size)!r}, {frames})))")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


USUAL_VIDEO_LOOP = """
import sys, time, cv2
sys.path.insert(0, {bench!r})
from render import usual_blur
cap = cv2.VideoCapture({src!r})
w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
out = cv2.VideoWriter({dst!r}, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
blur = usual_blur((w, h))
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    out.write(cv2.cvtColor(blur(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), cv2.COLOR_RGB2BGR))
out.release()
"""


def blur_video_against_usual(frames: int = 450) -> dict:
    """A whole 640x480 video file blurred, process start to finished file (load, decode, encode included): the app
    (`python -m demo_app --effect blur`) against the usual loop, each run twice, alternating."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import cv2

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "call.mp4"
        writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
        for f in arsdk.DemoSource(640, 480, frames=frames):
            writer.write(cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
        writer.release()
        app_cmd = [sys.executable, "-m", "demo_app", "--source", str(src), "--effect", "blur", "--headless",
                   "--output", str(Path(tmp) / "app.mp4")]
        loop_cmd = [sys.executable, "-c", USUAL_VIDEO_LOOP.format(bench=str(root / "benchmarks"), src=str(src),
                                                                   dst=str(Path(tmp) / "loop.mp4"))]
        times = {"app": [], "usual_loop": []}
        for _ in range(2):
            for key, cmd in (("app", app_cmd), ("usual_loop", loop_cmd)):
                t0 = time.perf_counter()
                subprocess.run(cmd, cwd=root, check=True, capture_output=True)
                times[key].append(time.perf_counter() - t0)
    out = {k: round(min(v), 2) for k, v in times.items()}
    out["ratio"] = round(out["app"] / out["usual_loop"], 3)
    out["frames"] = frames
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args()
    print(f"per-effect cost at 640x480 over {args.frames} frames (upload + render + read-back):")
    fx = per_effect(args.frames)
    versus = {}
    for size in ((640, 480), (1280, 720)):
        versus[f"{size[0]}x{size[1]}"] = blur_against_usual_alone(size, args.frames)
        print(f"  blur alone at {size[0]}x{size[1]}: SDK {versus[f'{size[0]}x{size[1]}']}")
    versus["video_450_frames"] = blur_video_against_usual()
    print(f"  blur, a 450-frame video through the app against the usual loop: {versus['video_450_frames']}")
    e2e = {}
    for effect in ("flood", "blur"):
        for source, fps in (("demo", 30.0), ("camera", 30.0), ("camera", 60.0)):
            key = f"{effect}_{source}_{int(fps)}fps"
            e2e[key] = end_to_end(effect, args.seconds, source, fps)
            print(f"  end-to-end {key:22s} {e2e[key]['fps']:6.1f} FPS shown, depth ({e2e[key]['depth_model']}) "
                  f"updated {e2e[key]['depth_updates_per_s']:5.1f} times/s")
    write_result("render", {"resolution": [640, 480], "per_effect": fx, "target_effect_ms": 8.0,
                            "blur_against_usual_loop": versus, "targets": {"per_frame_ratio": 0.5, "video_ratio": 0.6},
                            "end_to_end": e2e, "target_fps": 30.0})


if __name__ == "__main__":
    main()
