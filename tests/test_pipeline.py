import time

import numpy as np
import pytest

import arsdk
from arsdk.errors import InputError
from arsdk.evaluation import depth_metrics


@pytest.fixture(scope="module")
def pipe():
    p = arsdk.Pipeline.default()
    yield p
    p.close()


def test_state_on_the_demo_scene_is_sane(demo_source):
    from arsdk.pipeline import floor_from_pose

    pipe = arsdk.Pipeline.default(depth_model="arsdk_depth")
    for i in range(3):
        frame = demo_source.render(i / 30)
        state = pipe.process(frame)
    pipe.close()
    assert state.depth.shape == (480, 640) and state.depth.dtype == np.float32
    assert state.mask is not None and state.mask.shape == (480, 640)
    m = depth_metrics(state.depth, frame.depth)
    # monocular depth of a synthetic room from a model made for real ones: measured AbsRel 0.29-0.32, delta2
    # above 0.5, the floor found 1.8-2.1 m below (truth 1.4) and tilted 21-33 degrees
    assert m["abs_rel"] < 0.4 and m["delta2"] > 0.45
    person = frame.mask > 0.5
    iou = ((state.mask > 0.5) & person).sum() / ((state.mask > 0.5) | person).sum()
    assert iou > 0.7
    truth = floor_from_pose(frame.camera_to_world)
    assert state.floor is not None and state.floor.angle_to(truth) < 40.0
    assert 0.8 < state.floor.camera_height < 2.6
    assert set(state.timings) >= {"depth", "segmentation", "geometry"}


def still_camera(demo_source, frames: int = 36):
    """The same picture at 30 frame/s: the world's pulls (per second) settle within about 0.6 s."""
    from dataclasses import replace

    shot = demo_source.render(0.0)
    return [replace(shot, timestamp=i / 30.0, index=i) for i in range(frames)]


def test_world_frame_still_on_a_still_camera(demo_source):
    pipe = arsdk.Pipeline.default(segmentation=False)
    mats = [pipe.process(f).camera_to_world for f in still_camera(demo_source)]
    pipe.close()
    assert all(m is not None for m in mats)
    # once settled, the tracked world stays within a tenth of a millimetre (PnP's RANSAC draws different samples
    # each call) and the gravity and height pulls stay inside their dead bands
    assert max(np.abs(m - mats[24]).max() for m in mats[24:]) < 1e-4


def test_floor_gain_follows_at_the_same_pace_per_second(shared_data):
    """The factor that lays the middle of the floor on its plane moves per second, not per frame: 0.4 s of a still
    view at 30 frame/s moves it as far as one frame 0.4 s later (here both 1.0191). Per frame, it moved 12
    times as far at 30 frame/s (on the HoloLens walk it reached 1.2 against 1.04 fed 0.4 s apart), and anchors
    placed with the depth it scales slid against the tracked room."""
    from arsdk.evaluation import load_training_sequences

    # a floor the depth draws nearer than its plane (frame 150, whose depth draws a tenth of the view under its
    # floor, is no floor: FloorSettings.max_under_share)
    view = load_training_sequences(shared_data, 1)[0][152]
    gains = {}
    for per_step in (1, 12):
        with arsdk.Pipeline.default(segmentation=False) as pipe:
            for i in range(per_step + 1):
                pipe.process(arsdk.Frame(view.image, i * 0.4 / per_step, i, intrinsics=view.intrinsics))
            gains[per_step] = pipe._floor_gain
    assert gains[1] > 1.01  # the depth needs a gain here, so the two paces can be told apart
    assert abs(np.log(gains[12] / gains[1])) < 0.25 * np.log(gains[1])


def test_the_floor_is_pulled_whole_only_where_the_frame_finds_the_tracked_floor(pipe):
    """The whole pull (FLOOR_PULL_FULL of the band) follows how well this frame's own floor agrees with the tracked
    camera height: a table top taken for the floor at half the height (the HoloLens meeting table at 30 frame/s is
    at 0.6, once the height has settled) takes it away within two seconds, a floor at the tracked height brings it
    back; per second, not per frame. A frame that finds no floor of its own leaves the share where it was."""
    from arsdk.floor import FloorDecision
    from arsdk.geometry import FloorPlane

    def decision(d, visible=True):
        return FloorDecision(FloorPlane(np.array([0.0, 1.0, 0.0]), d, 0.0, visible), np.zeros(3))

    def follow(d, seconds, fps, visible=True):
        for _ in range(int(round(seconds * fps))):
            share = pipe._whole_pull(decision(d, visible), 1.6, 1.0 / fps)
        return share

    pipe.reset()
    assert pipe._whole_pull(decision(1.6), 1.6, 0.0) == pytest.approx(pipe.FLOOR_PULL_FULL)  # the first frame's own
    for fps in (2.5, 30.0):
        pipe.reset()
        follow(1.6, 2.0, fps)
        assert follow(0.8, 2.0, fps) < 0.2 * pipe.FLOOR_PULL_FULL           # a table top: the plain fade
        assert follow(1.55, 2.0, fps) > 0.8 * pipe.FLOOR_PULL_FULL          # the floor again, 3 % off
        # frames that find no floor of their own keep the share: it neither falls nor rises there
        held = follow(1.6, 2.0, fps)
        assert follow(1.6, 2.0, fps, visible=False) == held
        assert follow(0.8, 2.0, fps) < 0.2 * pipe.FLOOR_PULL_FULL
        assert follow(1.6, 2.0, fps, visible=False) < 0.2 * pipe.FLOOR_PULL_FULL
    pipe.reset()
    follow(1.6, 2.0, 30.0)
    assert follow(0.8, 0.1, 30.0) > 0.5 * pipe.FLOOR_PULL_FULL  # one noisy frame's disagreement is not followed at once
    pipe.reset()
    # a depth that draws the floor 19 % near for seconds is scaled by the held gain before it is pulled: compared
    # at that gain, its floor is the tracked one (HoloLens walk IoU 0.599 -> 0.624)
    pipe._floor_gain = 1.6 / 1.3
    assert follow(1.3, 2.0, 30.0) == pytest.approx(pipe.FLOOR_PULL_FULL)
    pipe.reset()
    assert follow(1.3, 2.0, 30.0) < 0.8 * pipe.FLOOR_PULL_FULL  # at no gain, it is not
    pipe.reset()


def test_the_floor_gain_is_found_on_the_depth_at_the_ground_tracker_s_scale(pipe):
    """A tracked depth is at the map's scale, which the world follows slowly, while the world's camera height
    follows the floors the ground tracker finds in its own depth. Where the map's scale has drifted (a stream fed
    a frame every 0.8 s drew the floor at 0.6-0.8 of the world's height for tens of seconds), the floor is looked
    for and judged on the depth at the ground tracker's scale: found, and laid on the world's floor. The same
    depth at the ground tracker's own scale is a level 0.7 of the height down (a table), and is not."""
    from arsdk.geometry import (FloorPlane, Intrinsics, angle_deg, camera_to_world_from_floor, ray_descent,
                                sample_points)

    intr = Intrinsics(fx=50.0, fy=50.0, cx=32.0, cy=24.0, width=64, height=48)
    pitch = np.radians(35.0)
    up = np.array([0.0, -np.cos(pitch), -np.sin(pitch)])  # a camera looking 35 degrees down
    cam_to_world = camera_to_world_from_floor(FloorPlane(up, 1.6))
    assert angle_deg(cam_to_world[1, :3], up) < 1e-6
    descent = ray_descent(intr, up.astype(np.float32))
    depth = np.where(descent > 0.05, 0.7 * 1.6 / np.maximum(descent, 0.05), 0.0).astype(np.float32)
    image = np.full((48, 64, 3), 128, np.uint8)
    grid = sample_points(depth, intr, 4)

    def lay(ground_scale, frames=30):
        pipe.reset()
        for _ in range(frames):
            shown = pipe._on_the_floor(depth, image, grid, None, cam_to_world, True, intr, 0.4, 0.0, ground_scale)
        return shown

    shown = lay(0.7)
    assert pipe._floor_gain == pytest.approx(1 / 0.7, rel=0.02)
    below = -(sample_points(shown, intr, 4).reshape(-1, 3) @ up)
    assert np.nanmedian(below) == pytest.approx(1.6, rel=0.02)  # the floor lies on the world's
    lay(1.0)
    assert pipe._floor_gain == 1.0  # at its own scale, a level 0.7 of the height down is no floor
    pipe.reset()


def test_the_floor_gain_takes_half_of_a_change_in_the_tracked_depth_s_scale_at_once(pipe):
    """The tracked depth's scale over the ground tracker's (`ground_scale`) is two readings of how far the room is.
    Where it moves from one frame to the next, the held gain takes FLOOR_GAIN_FOLLOWS_SCALE of the move at once:
    a depth the map draws at 0.64 of the last frame's scale is shown at 0.8 of it, not 0.64 (nor 1: the map's own
    scale is half the word). The first frame has nothing to follow; a reset forgets the last scale."""
    pipe.reset()
    assert pipe.FLOOR_GAIN_FOLLOWS_SCALE == 0.5
    pipe._gain_follows(1.0)
    assert pipe._floor_gain == 1.0
    pipe._gain_follows(0.64)
    assert pipe._floor_gain == pytest.approx(1.25)
    assert pipe._floor_gain * 0.64 == pytest.approx(0.8)
    pipe._gain_follows(0.64)
    assert pipe._floor_gain == pytest.approx(1.25)  # no change, no move
    pipe.reset()
    pipe._gain_follows(0.5)
    assert pipe._floor_gain == 1.0
    pipe.reset()


def test_world_frame_still_without_tracking(demo_source):
    pipe = arsdk.Pipeline.default(segmentation=False, tracking=False)
    mats = [pipe.process(f).camera_to_world for f in still_camera(demo_source)]
    pipe.close()
    assert max(np.abs(m - mats[24]).max() for m in mats[24:]) < 1e-9


def test_bad_frames(pipe):
    for bad, what in [(np.zeros((48, 64), np.uint8), "HxWx3"), (np.zeros((48, 64, 3), np.float64), "uint8"),
                      (np.zeros((0, 64, 3), np.uint8), "non-empty"), ("x", "numpy array")]:
        with pytest.raises(InputError, match=what):
            pipe.process(bad)
    p = arsdk.Pipeline(pipe.depth_estimator, None, arsdk.Intrinsics.from_fov(640, 480, 60))
    with pytest.raises(InputError, match="does not match intrinsics"):
        p.process(np.zeros((480, 480, 3), np.uint8))


def test_a_closed_pipeline_says_so(demo_source):
    """After close() (or a `with` block) its threads are stopped: a synchronous frame failed inside the thread pool
    ("cannot schedule new futures") and an asynchronous one handed back the last result again."""
    frame = demo_source.render(0.0)
    for asynchronous in (False, True):
        with arsdk.Pipeline.default(asynchronous=asynchronous) as pipe:
            assert pipe.process(frame).depth.shape == (480, 640)
        with pytest.raises(InputError, match="used after close"):
            pipe.process(frame)


def test_asynchronous_mode_never_waits_for_the_models(demo_source):
    pipe = arsdk.Pipeline.default(asynchronous=True)
    frames = [demo_source.render(i / 30) for i in range(20)]
    states = [pipe.process(f) for f in frames]
    pipe.close()
    assert all(s.depth.shape == (480, 640) for s in states)
    assert all(s.depth_index <= s.index for s in states)
    # the consumer ran ahead of the depth worker at least once (results are reused, not awaited)
    assert any(s.depth_index < s.index for s in states[1:])


def test_one_bad_frame_does_not_end_the_stream(demo_source, caplog):
    pipe = arsdk.Pipeline.default(segmentation=False, asynchronous=True)
    good = demo_source.render(0.0)
    pipe.process(good)

    def boom(image, intr):
        raise RuntimeError("decoder glitch")

    real = pipe.depth_estimator.estimate
    pipe.depth_estimator.estimate = boom
    s = pipe.process(good)                      # the last good result is handed out
    time.sleep(0.3)
    pipe.depth_estimator.estimate = real
    s2 = pipe.process(good)
    pipe.close()
    assert s.depth is not None and s2.depth is not None
    assert "decoder glitch" in caplog.text


def test_only_the_models_the_effects_read_are_run(demo_source):
    from arsdk import effects

    image = demo_source.render(0.0).image
    blur, flood = effects.create("blur"), effects.create("flood")
    assert effects.needs_of([blur]) == {"mask"}
    assert effects.needs_of([effects.create("blur", mode="dof")]) == {"mask", "depth"}
    assert effects.needs_of([flood, blur]) == {"depth", "world", "mask"}
    for asynchronous in (False, True):
        with arsdk.Pipeline.default(asynchronous=asynchronous) as pipe:
            def no_depth(*_):
                raise AssertionError("the depth model ran for an effect chain that reads no depth")

            real = pipe.depth_estimator.estimate
            pipe.depth_estimator.estimate = no_depth
            state = pipe.process(image, needs=effects.needs_of([blur]))
            assert state.mask is not None and state.mask.max() > 0.5  # the demo room's person
            assert not state.depth.any() and state.camera_to_world is None and "depth" not in state.timings
            pipe.depth_estimator.estimate = real
            state = pipe.process(image, needs=effects.needs_of([flood]))
            assert state.mask is None and state.depth.any() and state.camera_to_world is not None
    with pytest.raises(arsdk.InputError, match="needs"):
        arsdk.Pipeline.default(segmentation=False).process(image, needs={"colour"})


def test_a_frame_wider_than_depth_width_is_worked_on_brought_down():
    """The depth chain runs on the frame brought down to Pipeline.DEPTH_WIDTH (640 px) and its depth is enlarged
    to the frame's size at the end; tracking and segmentation take the frame itself. The moving demo room enlarged
    to 1280x960 with each pixel repeated is, brought down, the 640x480 frame again: the world, the floor and an
    anchor are those of the 640x480 stream, and the depth is its depth enlarged."""
    import cv2

    from arsdk.imaging import enlarge_depth

    source = arsdk.DemoSource(640, 480, moving=True)
    frames = [source.render(t) for t in np.arange(0.0, 2.4, 0.4)]
    states, placed = {}, {}
    for k in (1, 2):
        with arsdk.Pipeline.default(segmentation=False) as pipe:
            pipe.anchors.radius_px *= k  # the corners that refine an anchor: the same part of the picture
            intr = frames[0].intrinsics.scaled(640 * k, 480 * k)
            for i, f in enumerate(frames):
                image = cv2.resize(f.image, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
                state = pipe.process(arsdk.Frame(image, f.timestamp, i, intrinsics=intr))
                if i == 1:
                    if k == 1:  # the same room point in both streams, given at the same place in the picture
                        z = float(state.depth[200, 300])
                        point = state.camera_to_world @ np.append(z * np.linalg.inv(intr.matrix) @ [300, 200, 1], 1)
                    anchor = state.anchors.add(point[:3], (300 * k, 200 * k))
            states[k], placed[k] = state, anchor.position.copy()
    one, two = states[1], states[2]
    assert two.depth.shape == two.depth_raw.shape == (960, 1280) and two.depth.dtype == np.float32
    assert np.allclose(one.camera_to_world, two.camera_to_world, atol=1e-6)
    assert one.floor.visible == two.floor.visible and abs(one.floor.d - two.floor.d) < 1e-6
    assert np.allclose(enlarge_depth(one.depth, (1280, 960)), two.depth, rtol=1e-5)
    assert np.allclose(placed[1], placed[2], atol=1e-6)


def test_a_depth_estimator_giving_depth_of_another_size_is_named(demo_source):
    """A depth estimator (an app's own, or a model whose spec is wrong) that hands back depth of another size than
    the picture it was given fails with that said, not in the geometry far from it."""
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        real = pipe.depth_estimator.estimate

        def half_size(image, intr):
            return real(image[::2, ::2].copy(), intr.scaled(intr.width // 2, intr.height // 2))

        pipe.depth_estimator.estimate = half_size
        with pytest.raises(arsdk.ModelError, match="320x240 for a 640x480 picture"):
            pipe.process(demo_source.render(0.0))


def test_a_very_wide_frame_keeps_its_aspect_when_brought_down():
    """A frame so wide that DEPTH_WIDTH would leave it under MIN_FRAME_SIDE rows keeps that many rows and its
    aspect (intrinsics of one camera), and is worked on."""
    from arsdk.pipeline import MIN_FRAME_SIDE

    w, h = 128 * arsdk.Pipeline.DEPTH_WIDTH // MIN_FRAME_SIDE, 64  # DEPTH_WIDTH wide, it would be 8 rows high
    image = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    intr = arsdk.Intrinsics.from_fov(w, h, 60.0)
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        small, sintr = pipe._depth_frame(image, intr)
        assert small.shape[0] == MIN_FRAME_SIDE and abs(small.shape[1] / small.shape[0] - w / h) < 0.01 * w / h
        assert (sintr.width, sintr.height) == (small.shape[1], small.shape[0])
        state = pipe.process(arsdk.Frame(image, 0.0, 0, intrinsics=intr))
        assert state.depth.shape == (h, w)


def test_a_letterboxed_frame_s_bands_are_found_once_for_both_models(demo_source, monkeypatch):
    """The synchronous pipeline looks for a frame's padding bands once and hands them to the depth model and the
    segmenter, which would each look for the same bands in the same picture; both see the window they found
    themselves before."""
    import arsdk.imaging
    import arsdk.pipeline

    boxed = np.zeros((560, 640, 3), np.uint8)  # 40 px bars above and below the demo room
    boxed[40:520] = demo_source.render(0.0).image
    with arsdk.Pipeline.default(tracking=False) as pipe, arsdk.Pipeline.default(tracking=False) as alone:
        monkeypatch.setattr(alone, "_padding_found_once", lambda: False)
        looked = []
        found = arsdk.imaging.padding_margins
        counted = lambda image: looked.append(image.shape) or found(image)  # noqa: E731
        monkeypatch.setattr(arsdk.imaging, "padding_margins", counted)
        monkeypatch.setattr(arsdk.pipeline, "padding_margins", counted)
        for i in range(3):
            frame = arsdk.Frame(boxed, i / 30.0, i)
            looked.clear()
            shared = pipe.process(frame)
            assert looked == [(560, 640, 3)]  # once, for both models
            looked.clear()
            own = alone.process(frame)
            assert len(looked) == 2  # each model its own
            assert np.array_equal(shared.depth_raw, own.depth_raw) and np.array_equal(shared.mask, own.mask)
            assert not shared.mask[:41].any() and not shared.mask[-41:].any()  # the bars were skipped
    with arsdk.Pipeline.default(tracking=False) as pipe:
        for bad in ((-1, 0, 0, 0), (0, 0, 0), (280, 280, 0, 0), (1.5, 0, 0, 0)):
            with pytest.raises(InputError, match="padding"):
                pipe.depth_estimator.estimate(boxed, arsdk.Intrinsics.from_fov(640, 560, 60.0), padding=bad)
            with pytest.raises(InputError, match="padding"):
                pipe.segmenter.process(boxed, padding=bad)
