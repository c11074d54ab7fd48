"""Render the README pictures: every effect on the demo scene and on real rooms chosen for the hard cases.

    python docs/make_pictures.py      # writes docs/*.png (320 px wide)
The demo pictures use the demo's exact depth. The real ones run the real pipeline (FastDepth, gravity, the floor
decision, tracking, segmentation) as a webcam user would get it: a NYU corridor (floor in view), a 7-Scenes
kitchen counter seen from above (under 5 % floor in its sensor depth: the water must stay off the counter), a
7-Scenes table top with no floor in view that the pipeline takes for a floor (a known failure), a HoloLens room
after 120 tracked frames of walking through it, and its carpet runner after 196.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arsdk  # noqa: E402
from arsdk import effects  # noqa: E402
from arsdk.evaluation import (load_pairs, load_training_sequences, seven_scenes_pairs, shared_data_dir,  # noqa: E402
                              true_floor)
from arsdk.pipeline import ground_truth_state  # noqa: E402
from arsdk.render import Renderer  # noqa: E402

OUT = ROOT / "docs"


def chain(name, state):
    if name == "flood":
        return [effects.create("flood", level=0.35, rise_speed=0)]
    if name == "fog":
        return [effects.create("fog")]
    if name == "sticker":
        eff = effects.create("sticker", size=0.4)
        h, w = state.depth.shape
        for x, y in [(0.73 * w, 0.87 * h), (0.36 * w, 0.31 * h), (0.47 * w, 0.62 * h)]:
            try:
                eff.place(state, x, y)
            except arsdk.InputError:
                pass
        return [eff]
    if name == "blur":
        return [effects.create("blur", mode="blur" if state.mask is not None and state.mask.max() > 0.5 else "dof")]
    raise ValueError(name)


def save(path, rgb):
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (320, round(320 * h / w)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {path}")


def main():
    renderer = Renderer(640, 480, mode="headless")
    demo = ground_truth_state(arsdk.DemoSource(640, 480, moving=False).render(0.0))
    save(OUT / "demo_input.png", demo.image)
    for name in ("flood", "fog", "sticker", "blur"):
        save(OUT / f"demo_{name}.png", renderer.render(demo, chain(name, demo), dt=1.0))
    root = shared_data_dir()
    if root is None:
        print("../shared/data absent: real-room pictures skipped")
        return
    nyu = {p.name: p for p in load_pairs(root, {"nyu"})}["image_4"]
    render_row("nyu", nyu.image, nyu.intrinsics, [nyu.image] * 3)
    # the first 7-Scenes frame whose sensor depth shows no floor: a counter seen from above
    counter = next(p for p in seven_scenes_pairs(root) if true_floor(p.depth, p.intrinsics)[1] < 0.05)
    render_row("counter", counter.image, counter.intrinsics, [counter.image] * 3)
    # a table top filling the view with no floor in its sensor depth, which FastDepth draws at a floor's distance (the
    # first of the 15 of 34 such 7-Scenes frames said to show a floor when it was chosen; 17 of 35 still are)
    table = {p.name: p for p in seven_scenes_pairs(root)}["frame-000340"]
    render_row("table", table.image, table.intrinsics, [table.image] * 3)
    walk = load_training_sequences(root)[0][:121]
    # the HoloLens frames are about 0.4 s apart: fed at that spacing, as the pulls toward gravity and height are
    # per second
    render_row("hololens", walk[-1].image, walk[-1].intrinsics, [f.image for f in walk], spacing_s=0.4)
    # further on, the blue carpet runner that FastDepth draws 0.3-1 m above the wooden floor: laid back on the floor
    # where its colours are the floor's (`arsdk.floor_colour`)
    walk = load_training_sequences(root)[0][:197]
    render_row("runner", walk[-1].image, walk[-1].intrinsics, [f.image for f in walk], spacing_s=0.4)


def render_row(label, image, intrinsics, frames, spacing_s: float = 1 / 30):
    """Run the pipeline over `frames` (a stream ending on `image`, `spacing_s` seconds apart) and save the input
    and every effect."""
    h, w = image.shape[:2]
    with arsdk.Pipeline.default(intrinsics=intrinsics, depth_model="fastdepth") as pipe, \
            Renderer(w, h, mode="headless") as renderer:
        for i, frame in enumerate(frames):
            state = pipe.process(arsdk.Frame(frame, i * spacing_s, i, intrinsics=intrinsics))
        save(OUT / f"{label}_input.png", image)
        for name in ("flood", "fog", "sticker", "blur"):
            save(OUT / f"{label}_{name}.png", renderer.render(state, chain(name, state), dt=1.0))
        print(f"{label}: floor {'in view' if state.floor.visible else 'not in view'}, camera "
              f"{state.floor.d:.2f} m above it, tracking {state.tracking.value if state.tracking else '-'}")

if __name__ == "__main__":
    main()
