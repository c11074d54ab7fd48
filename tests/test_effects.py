import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from arsdk import effects
from arsdk import shaders
from arsdk.errors import InputError
from arsdk.geometry import project, transform_points
from arsdk.pipeline import FrameState


def world_heights(state):
    return transform_points(state.camera_to_world, state.points)[..., 1]


def changed(out, image, tol=3):
    return np.abs(out.astype(int) - image.astype(int)).max(axis=2) > tol


def test_every_shader_compiles(renderer):
    frags = sorted(p.name for p in shaders.SHADER_DIR.glob("*.frag") if p.name != "scene.frag")
    for name in frags:
        vert = "sticker.vert" if name == "sticker.frag" else "fullscreen.vert"
        renderer.shaders.program(name, vert)


def test_flood_covers_exactly_what_lies_below_the_level(renderer, gt_state):
    h = world_heights(gt_state)
    masks = {}
    for level in (0.3, 0.8):
        out = renderer.render(gt_state, [effects.create("flood", level=level, rise_speed=0)], dt=0.1)
        water = changed(out, gt_state.image)
        below, above = h < level - 0.03, h > level + 0.03
        assert water[below].mean() > 0.97, level       # under water: changed
        assert not water[above].any(), level            # above the surface: untouched
        masks[level] = water
    # a higher level floods a superset
    assert (masks[0.3] & ~masks[0.8]).sum() < 0.001 * masks[0.3].size
    assert masks[0.8].sum() > masks[0.3].sum() * 1.3


def test_flood_surface_is_shaded_not_flat(renderer, gt_state):
    flood = effects.create("flood", level=0.5, rise_speed=0)
    a = renderer.render(gt_state, [flood], dt=0.1)
    water = world_heights(gt_state) < 0.45
    # the half-resolution surface shading covers the water (not only the flat fallback tint)
    with renderer.current:
        w, h = flood._water_tex.size
        coverage = np.frombuffer(flood._water_tex.read(), np.uint8).reshape(h, w, 4)[..., 3] > 128
    assert coverage[cv2.resize(water.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0].mean() > 0.9
    # ripples, caustics and reflections give the surface texture, and it moves with time
    luma = a[water].mean(axis=1)
    assert luma.std() > 8
    b = renderer.render(gt_state, [flood], dt=0.5)
    assert np.abs(a[water].astype(int) - b[water]).mean() > 2


def test_flood_rises_and_keys_move_the_level(renderer, gt_state):
    flood = effects.create("flood", level=0.5, rise_speed=0.25)
    renderer.render(gt_state, [flood], dt=1.0)
    assert flood.current_level == pytest.approx(0.25)
    renderer.render(gt_state, [flood], dt=2.0)
    assert flood.current_level == pytest.approx(0.5)
    assert flood.on_key("+") and flood.params.level == pytest.approx(0.55)
    assert flood.on_key("-") and flood.on_key("-") and flood.params.level == pytest.approx(0.45)


def test_flood_surface_reflects_and_is_occluded_by_nearer_geometry(renderer, gt_state):
    out = renderer.render(gt_state, [effects.create("flood", level=0.5, rise_speed=0)], dt=0.1)
    # the table top (0.75 m, above water) occludes the water beneath it: the table pixels are unchanged
    h = world_heights(gt_state)
    table_top = (np.abs(h - 0.75) < 0.01) & (gt_state.depth < 4.0)
    assert table_top.sum() > 500
    assert not changed(out, gt_state.image)[table_top].any()
    # water is tinted toward the water colour: bluer/greener than the wooden floor it covers
    water = h < 0.4
    src, dst = gt_state.image[water].astype(float), out[water].astype(float)
    assert (dst[:, 2] - dst[:, 0]).mean() > (src[:, 2] - src[:, 0]).mean() + 20


def _fog_amount(out, image, color):
    c = np.array(color) * 255
    diff = out.astype(float) - image
    span = c - image.astype(float)
    denom = (span ** 2).sum(-1)
    return np.where(denom > 400, (diff * span).sum(-1) / np.maximum(denom, 1e-6), np.nan)


def test_fog_grows_with_distance(renderer, gt_state):
    color = (0.78, 0.8, 0.84)
    fog = effects.create("fog", height_density=0.0, noise=0.0, density=0.2, color=color)
    out = renderer.render(gt_state, [fog])
    amount = _fog_amount(out, gt_state.image, color)
    dist = np.linalg.norm(gt_state.points, axis=-1)
    ok = np.isfinite(amount)
    expected = 1 - np.exp(-0.2 * dist[ok])
    assert np.abs(amount[ok] - expected).mean() < 0.03  # Beer-Lambert along the true distance
    # with height fog, farther still means foggier at any given height
    out = renderer.render(gt_state, [effects.create("fog", color=color, noise=0.0)])
    amount = _fog_amount(out, gt_state.image, color)
    h = world_heights(gt_state)
    for band in ((h < 0.05), (h > 1.0) & (h < 1.5)):  # the floor; the walls at eye height
        sel = ok & band
        bins = np.quantile(dist[sel], np.linspace(0, 1, 6))
        means = [np.nanmean(amount[sel & (dist >= a) & (dist < b)]) for a, b in zip(bins[:-1], bins[1:])]
        assert all(b > a for a, b in zip(means, means[1:])), means
    # and with the drifting noise on as well (the defaults), the trend holds over the whole frame
    out = renderer.render(gt_state, [effects.create("fog", color=color)])
    amount = _fog_amount(out, gt_state.image, color)
    sel = ok & np.isfinite(amount)
    rank = lambda a: np.argsort(np.argsort(a))  # noqa: E731
    assert np.corrcoef(rank(dist[sel]), rank(amount[sel]))[0, 1] > 0.5


def test_fog_is_anchored_in_the_world(renderer, gt_state):
    # the noise is a function of world position: moving the camera changes the view but not the fog field,
    # so with no motion and wind, two renders at different times are identical
    fog = effects.create("fog", wind=(0.0, 0.0, 0.0))
    a = renderer.render(gt_state, [fog], dt=0.0)
    b = renderer.render(gt_state, [fog], dt=5.0)
    assert np.array_equal(a, b)
    drifting = effects.create("fog")
    c = renderer.render(gt_state, [drifting], dt=0.0)
    d = renderer.render(gt_state, [drifting], dt=5.0)
    assert not np.array_equal(c, d)


def _sticker_footprint(state, sticker):
    corners_cam = transform_points(np.linalg.inv(state.camera_to_world), sticker.corners())
    return project(corners_cam, state.intrinsics), corners_cam


def _inside(poly, h, w):
    import cv2

    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    return m.astype(bool)


def test_sticker_lands_on_the_clicked_surface(renderer, gt_state):
    eff = effects.create("sticker", size=0.4)
    s = eff.place(gt_state, 470, 420)  # the floor, right of the rug
    assert math.degrees(math.acos(np.clip(s.normal @ [0, 1, 0], -1, 1))) < 3.0  # lies flat on the floor
    assert s.center[1] == pytest.approx(eff.params.lift, abs=0.01)
    uv = project(transform_points(np.linalg.inv(gt_state.camera_to_world), s.center[None]), gt_state.intrinsics)[0]
    assert np.hypot(*(uv - [470, 420])) < 1.5                                   # centred on the click
    out = renderer.render(gt_state, [eff])
    poly, _ = _sticker_footprint(gt_state, s)
    inside = _inside(poly, 480, 640)
    assert changed(out, gt_state.image)[inside].mean() > 0.6  # the badge (round: corners stay clear)
    assert not changed(out, gt_state.image)[~_inside(poly * 1.0, 480, 640)].any()
    # stays at its world position frame after frame
    for _ in range(3):
        renderer.render(gt_state, [eff], dt=0.5)
    assert np.allclose(eff.stickers[0].center, s.center)
    wall = eff.place(gt_state, 230, 150)  # the back wall: upright, normal horizontal
    assert abs(wall.normal[1]) < 0.05 and wall.up[1] > 0.99
    assert eff.on_key("c") and not eff.stickers


def _sticker_depth(state, sticker):
    """Per-pixel depth (m) of the sticker's plane, for each pixel of the frame."""
    w2c = np.linalg.inv(state.camera_to_world)
    n_c = w2c[:3, :3] @ sticker.normal
    c_c = transform_points(w2c, sticker.center[None])[0]
    rays = state.points / state.depth[..., None]  # unit-z rays
    with np.errstate(divide="ignore", invalid="ignore"):
        return (n_c @ c_c) / (rays @ n_c)


def test_sticker_hides_behind_nearer_geometry(renderer, gt_state):
    eff = effects.create("sticker", size=0.8)
    s = eff.place(gt_state, 300, 300)  # the floor between the table and the person: both stand in front of it
    out = renderer.render(gt_state, [eff])
    poly, _ = _sticker_footprint(gt_state, s)
    inside = _inside(poly, 480, 640)
    z = _sticker_depth(gt_state, s)
    occluder = inside & (gt_state.depth < z - 0.2)
    assert occluder.sum() > 200
    assert not changed(out, gt_state.image)[occluder].any()
    visible = inside & (np.abs(gt_state.depth - z) < 0.03)
    assert visible.sum() > 1500
    assert changed(out, gt_state.image)[visible].mean() > 0.5


def test_sticker_errors(gt_state):
    eff = effects.create("sticker")
    with pytest.raises(InputError, match="outside"):
        eff.place(gt_state, 700, 10)
    nofloor = FrameState(gt_state.image, gt_state.depth, gt_state.depth, None, gt_state.intrinsics, None, None, 0.0)
    with pytest.raises(InputError, match="no world frame"):
        eff.place(nofloor, 100, 100)
    with pytest.raises(InputError, match="sticker image"):
        effects.create("sticker", image="/nonexistent.png")


def _person_scene(gt_state):
    """The demo frame with a flat red person on a textured green background: colour leaks are measurable."""
    img = gt_state.image.copy()
    person = gt_state.mask > 0.5
    rng = np.random.default_rng(0)
    bg = np.stack([rng.integers(0, 40, img.shape[:2]), rng.integers(120, 200, img.shape[:2]),
                   rng.integers(0, 40, img.shape[:2])], -1).astype(np.uint8)
    img = np.where(person[..., None], np.array([230, 20, 20], np.uint8), bg)
    return FrameState(img, gt_state.depth, gt_state.depth, gt_state.mask, gt_state.intrinsics,
                      gt_state.camera_to_world, gt_state.floor, 0.0)


def test_blur_keeps_person_sharp_and_background_free_of_halo(renderer, gt_state):
    import cv2

    state = _person_scene(gt_state)
    out = renderer.render(state, [effects.create("blur", strength=4.0)])
    person = state.mask > 0.999
    inner = cv2.erode(person.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.abs(out[inner].astype(int) - state.image[inner]).max() <= 1   # the person is untouched
    far_bg = cv2.dilate((state.mask > 0.01).astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    assert changed(out, state.image, 8)[far_bg].mean() > 0.5                # the background is blurred
    outside = cv2.dilate((state.mask > 0.01).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    band = cv2.dilate(outside.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool) & ~outside
    # the band just outside the edge keeps the background's colour: no red halo
    assert out[band][:, 0].mean() < state.image[band][:, 0].mean() + 4
    # a plain blur of the whole frame would have leaked red there
    naive = cv2.GaussianBlur(state.image, (0, 0), 8)
    assert naive[band][:, 0].mean() > state.image[band][:, 0].mean() + 15


def test_blur_replace_and_depth_of_field(renderer, gt_state, tmp_path):
    import cv2

    bg = np.zeros((100, 200, 3), np.uint8)
    bg[:] = (255, 0, 255)  # BGR magenta on disk
    cv2.imwrite(str(tmp_path / "bg.png"), bg)
    out = renderer.render(gt_state, [effects.create("blur", mode="replace", background=str(tmp_path / "bg.png"))])
    far_bg = gt_state.mask < 0.001
    assert np.abs(out[far_bg].astype(int) - [255, 0, 255]).max() <= 2
    person = gt_state.mask > 0.999
    assert np.abs(out[person].astype(int) - gt_state.image[person]).max() <= 1
    dof = effects.create("blur", mode="dof", focus_depth=3.6, focus_range=0.3, strength=4.0)
    out = renderer.render(gt_state, [dof])
    in_focus = np.abs(gt_state.depth - 3.6) < 0.25
    off_focus = np.abs(gt_state.depth - 3.6) > 1.5
    d = np.abs(out.astype(int) - gt_state.image).max(axis=2)
    assert d[in_focus].mean() < 1.0 and d[off_focus].mean() > 3 * max(d[in_focus].mean(), 0.5)
    with pytest.raises(InputError, match="mode"):
        effects.create("blur", mode="swirl")
    with pytest.raises(InputError, match="background"):
        effects.create("blur", mode="replace")


def test_effects_stack_in_order(renderer, gt_state):
    flood_fog = renderer.render(gt_state, [effects.create("flood", level=0.4, rise_speed=0), effects.create("fog")])
    fog_flood = renderer.render(gt_state, [effects.create("fog"), effects.create("flood", level=0.4, rise_speed=0)])
    assert not np.array_equal(flood_fog, fog_flood)


def test_registry_parameters_and_plugins(monkeypatch):
    assert {"flood", "fog", "sticker", "blur"} <= set(effects.available())
    with pytest.raises(InputError, match="unknown; available"):
        effects.create("lava")
    with pytest.raises(InputError, match="parameters are"):
        effects.create("flood", depth=3)
    with pytest.raises(InputError, match="turbidity"):
        effects.create("flood", turbidity=2.0)
    with pytest.raises(InputError, match="finite"):
        effects.create("fog", density=float("nan"))

    class Tint(effects.Effect):
        name = "tint_plugin"
        shader = "copy.frag"

    class FakeEP:
        name, value = "tint_plugin", "tests:Tint"

        def load(self):
            return Tint

    monkeypatch.setattr(effects, "entry_points", lambda group: [FakeEP()] if group == "arsdk.effects" else [])
    assert "tint_plugin" in effects.available()
    assert isinstance(effects.create("tint_plugin"), Tint)


def test_shader_hot_reload(renderer, tmp_path):
    (tmp_path / "copy.frag").write_text((shaders.SHADER_DIR / "copy.frag").read_text())
    from arsdk.render import ShaderLibrary

    lib = ShaderLibrary(renderer.ctx, [tmp_path], renderer.current)
    first = lib.program("copy.frag")
    assert lib.reload_changed(min_interval=0) == []
    import os
    import time

    src = (tmp_path / "copy.frag").read_text().replace("texture(u_color, v_uv).rgb", "vec3(1.0, 0.0, 0.0)")
    (tmp_path / "copy.frag").write_text(src)
    os.utime(tmp_path / "copy.frag", (time.time() + 5, time.time() + 5))
    assert lib.reload_changed(min_interval=0) == ["copy.frag"]
    assert lib.program("copy.frag") is not first
    (tmp_path / "copy.frag").write_text("#version 330\nthis is not glsl")
    os.utime(tmp_path / "copy.frag", (time.time() + 10, time.time() + 10))
    assert lib.reload_changed(min_interval=0) == []  # a broken edit keeps the last good program


def test_plus_minus_keys_scale_fog_and_blur():
    fog = effects.create("fog", density=0.2)
    assert fog.on_key("+") and fog.params.density == pytest.approx(0.25)
    assert fog.on_key("-") and fog.params.density == pytest.approx(0.2)
    blur = effects.create("blur", strength=45.0)
    assert blur.on_key("+") and blur.params.strength == 50.0  # the end of its range
    assert not blur.on_key("x")


def _person_state(gt_state):
    """A red person on the left half in front of a green wall, depth 1 m and 3 m, softened across the outline
    as a depth model softens it."""
    import dataclasses

    h, w = gt_state.image.shape[:2]
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (220, 30, 30)
    image[:, w // 2:] = (30, 200, 30)
    mask = np.zeros((h, w), np.float32)
    mask[:, : w // 2] = 1.0
    depth = cv2.GaussianBlur(np.where(mask > 0, 1.0, 3.0).astype(np.float32), (0, 0), 12)
    return dataclasses.replace(gt_state, image=image, mask=mask, depth=depth, depth_raw=depth)


def test_blur_background_is_smooth_not_a_mosaic(renderer, gt_state):
    # the quarter-resolution blur read back with nearest sampling showed 4x4 blocks: steps every 4th column
    out = renderer.render(gt_state, [effects.create("blur", strength=3.0)]).astype(np.float32)
    bg = gt_state.mask < 0.01
    d = np.abs(np.diff(out[..., 1], axis=1))[bg[:, 1:]]
    cols = np.nonzero(bg[:, 1:])[1] % 4
    per_phase = [d[cols == k].mean() for k in range(4)]
    assert max(per_phase) < 2.0 * min(per_phase) + 0.5, per_phase


def test_depth_of_field_does_not_smear_the_person_into_the_background(renderer, gt_state):
    state = _person_state(gt_state)
    w = state.image.shape[1]
    out = renderer.render(state, [effects.create("blur", mode="dof", focus_depth=1.0, focus_range=0.2,
                                                 strength=4.0)])
    ring = out[:, w // 2: w // 2 + 24]  # background just beside the person's outline (wall red: 30)
    assert ring[..., 0].mean() < 34, ring[..., 0].mean()  # none of the person's red there (65 before the fix)
    assert (out[:, : w // 2 - 30, 0] > 180).mean() > 0.95  # the person in focus stays sharp


def test_example_plugin_installs_and_runs_through_the_app(tmp_path):
    """examples/arsdk-sepia, installed as a user would: found by --effect, its own shader next to its module."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
                        "--target", str(target), str(root / "examples" / "arsdk-sepia")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(target)])}
    r = subprocess.run([sys.executable, "-m", "demo_app", "--list-effects"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert "sepia  (reads: depth, mask)" in r.stdout and "fade_distance = 4.0  [0.1, 100.0]" in r.stdout, r.stdout
    r = subprocess.run([sys.executable, "-m", "demo_app", "--source", "demo", "--effect", "sepia", "--set",
                        "sepia.keep_person=false", "--frames", "3", "--headless", "--size", "160x120", "--output",
                        "sepia.avi"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(tmp_path / "sepia.avi"))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    b, g, red = (bgr[..., i].astype(float).mean() for i in range(3))
    assert red > g > b and red - b > 20  # sepia: warm, everywhere (the person not kept)


def test_a_released_renderer_says_so(gt_state):
    """After release() (or a `with` block) its GL objects are gone: render() failed with moderngl's
    "'InvalidObject' object has no attribute '__enter__'", which names neither the renderer nor the cause."""
    from arsdk.render import Renderer

    with Renderer(640, 480, mode="headless") as r:
        assert r.render(gt_state, [effects.create("flood")]).shape == (480, 640, 3)
    for call in (lambda: r.render(gt_state, [effects.create("flood")]), r.read, lambda: r.upload(gt_state)):
        with pytest.raises(InputError, match="used after release"):
            call()
