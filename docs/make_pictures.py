"""Render the README pictures: every effect on the demo scene and on a real NYU Depth v2 view.

    python docs/make_pictures.py      # writes docs/*.png (320x240)
The demo pictures use the demo's exact depth; the NYU ones run the real pipeline (depth model, gravity, floor,
segmentation) on the photo, as a webcam user would get it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arsdk  # noqa: E402
from arsdk import effects  # noqa: E402
from arsdk.evaluation import load_pairs, shared_data_dir  # noqa: E402
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
    small = cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_AREA)
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
        print("../shared/data absent: NYU pictures skipped")
        return
    pair = {p.name: p for p in load_pairs(root, {"nyu"})}["image_4"]
    pipe = arsdk.Pipeline.default(intrinsics=pair.intrinsics, depth_model="fastdepth")
    for _ in range(3):
        state = pipe.process(pair.image)
    save(OUT / "nyu_input.png", pair.image)
    for name in ("flood", "fog", "sticker", "blur"):
        save(OUT / f"nyu_{name}.png", renderer.render(state, chain(name, state), dt=1.0))


if __name__ == "__main__":
    main()
