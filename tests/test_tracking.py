"""Camera tracking: known motion recovered on the demo room (exact depth), the HoloLens sequence's true motion
followed on predicted depth, loss and recovery on a cut, anchors that stay put, depth fusion and its pieces."""
from __future__ import annotations

import numpy as np
import pytest

import arsdk
import arsdk.tracking as tracking_module
from arsdk.errors import InputError
from arsdk.evaluation import (SEVEN_SCENES_COLOUR, PosedFrame, fill_nearest, load_sequences,
                              load_training_sequences, shared_data_dir, temporal_alignment_error,
                              video_rate_frames, view_from)
from arsdk.fusion import DepthFusion
from arsdk.geometry import project, transform_points, unproject_pixels, warp_depth
from arsdk.tracking import (CameraTracker, TrackerSettings, TrackingState, rotation_between, rotation_deg,
                            triangulate_midpoints)


def relative_errors(poses, truth):
    """Per step: (translation error m, rotation error deg) of the tracked motion against the true one."""
    out = []
    for i in range(len(poses) - 1):
        a = np.linalg.inv(poses[i]) @ poses[i + 1]
        b = np.linalg.inv(truth[i]) @ truth[i + 1]
        e = np.linalg.inv(b) @ a
        out.append((np.linalg.norm(e[:3, 3]), rotation_deg(e[:3, :3])))
    return np.array(out)


@pytest.fixture(scope="module")
def moving_demo():
    source = arsdk.DemoSource(640, 480, moving=True)
    # every 0.5 s of the demo's sway: 12 frames, up to 9 cm and 3 degrees apart
    return [source.render(t) for t in np.arange(0.0, 6.0, 0.5)]


def test_tracker_recovers_known_motion_on_the_demo_room(moving_demo):
    tracker = CameraTracker()
    poses = [tracker.track(f.image, f.depth, f.intrinsics).camera_to_world for f in moving_demo]
    truth = [f.camera_to_world for f in moving_demo]
    err = relative_errors(poses, truth)
    motion = relative_errors([np.eye(4)] * len(truth), truth)  # the true motion itself
    assert motion[:, 0].max() > 0.03, "the demo camera should move between these frames"
    # exact depth and a rendered image: measured 0.07 degrees and 5 mm median (0.15 degrees, 7 mm at worst), i.e.
    # 0.4 px of residual at the room's 3.5 m, where a small sideways step and a small turn look alike
    assert np.median(err[:, 0]) < 0.01 and err[:, 0].max() < 0.02
    assert np.median(err[:, 1]) < 0.15 and err[:, 1].max() < 0.4


def test_the_turn_solved_from_the_picture_is_the_camera_s_and_tracking_goes_on_from_it(moving_demo):
    """`turn_into` solves a frame's pose before its depth is known (for the ground's held up, which must follow the
    camera before the frame's gravity is read): its turn is the true one, and `track` on that frame goes on from it
    to the same pose as tracking it in one call. A first frame has no turn."""
    plain, split = CameraTracker(), CameraTracker()
    truth = [f.camera_to_world for f in moving_demo]
    turns = []
    for i, f in enumerate(moving_demo):
        turns.append(split.turn_into(f.image, f.intrinsics, i))
        a = plain.track(f.image, f.depth, f.intrinsics, i)
        b = split.track(f.image, f.depth, f.intrinsics, i)
        assert np.array_equal(a.camera_to_world, b.camera_to_world) and a.state is b.state
    assert turns[0] is None and all(t is not None for t in turns[1:])
    for i in range(1, len(truth)):
        true_turn = truth[i][:3, :3].T @ truth[i - 1][:3, :3]
        assert rotation_deg(turns[i] @ true_turn.T) < 0.4  # the tracked motion's own error (test above)


def test_tracker_states_and_loss_on_a_cut(moving_demo):
    tracker = CameraTracker()
    states = [tracker.track(f.image, f.depth, f.intrinsics).state for f in moving_demo[:4]]
    assert states[0] is TrackingState.INITIALISING and all(s is TrackingState.TRACKING for s in states[1:])
    before = tracker.pose
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)  # a cut to something else entirely
    depth = np.full((480, 640), 2.0, np.float32)
    cut = [tracker.track(noise if i % 2 else noise[::-1].copy(), depth, moving_demo[0].intrinsics)
           for i in range(4)]
    kinds = [r.state for r in cut]
    assert TrackingState.LOST in kinds, kinds
    # coasting and the new map start where the motion model left the camera: content does not jump
    lost = cut[kinds.index(TrackingState.LOST)]
    assert np.linalg.norm(lost.camera_to_world[:3, 3] - before[:3, 3]) < 0.5
    # back to the room: tracking resumes on a new map
    # (the map the cut left is coasted on for up to max_coast frames, then a new one starts on the room)
    again = [tracker.track(f.image, f.depth, f.intrinsics) for f in moving_demo[4:4 + tracker.settings.max_coast + 2]]
    assert again[-1].state is TrackingState.TRACKING and again[-1].inliers >= 20


def test_the_lost_map_is_found_again_after_a_cut(moving_demo):
    """A cut (noise) long enough to lose the map, then the room again 2.5 s further along the sway (17 cm away):
    the new map starts at the coasted pose (7 cm and 0.5 degrees off), and is moved into the lost map's frame as
    soon as the lost map is found in view, so the pose is the true one again relative to the first frame.
    Measured, OpenCV 5.0: 1.2 cm and 0.1 degrees off after, 8.2 cm and 0.56 degrees without looking for the lost
    map; OpenCV 5.1 (what setup installs now): 2.8 cm and 0.26 degrees after, 37 cm and 12 degrees without (there
    the cut's noise is "tracked" once by chance, at confidence 0.07, which took the coasted pose far off)."""
    source = arsdk.DemoSource(640, 480, moving=True)
    later = [source.render(t) for t in np.arange(4.5, 7.5, 0.5)]
    errors = {}
    for frames in (0, 90):
        tracker = CameraTracker(TrackerSettings(relocalise_frames=frames))
        for i, f in enumerate(moving_demo[:4]):
            tracker.track(f.image, f.depth, f.intrinsics, i)
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
        depth = np.full((480, 640), 2.0, np.float32)
        cut = [tracker.track(noise if i % 2 else noise[::-1].copy(), depth, moving_demo[0].intrinsics, 4 + i).state
               for i in range(4)]
        assert TrackingState.LOST in cut
        # frames enough for the coasting to end in a new map on the room, and for that map to find the lost one
        back = [tracker.track(f.image, f.depth, f.intrinsics, 8 + i) for i, f in enumerate(later)]
        assert sum(r.relocalised for r in back) == (1 if frames else 0)
        truth = np.linalg.inv(moving_demo[0].camera_to_world) @ later[-1].camera_to_world
        last = back[-1].camera_to_world
        errors[frames] = (np.linalg.norm(last[:3, 3] - truth[:3, 3]), rotation_deg(last[:3, :3].T @ truth[:3, :3]))
    assert errors[90][0] < 0.04 and errors[90][1] < 0.4, errors
    assert errors[0][0] > 0.05, errors  # the cut does move the coasted pose away from the truth


def test_anchors_placed_since_a_loss_move_with_the_relocalised_map(moving_demo):
    """Anchors keep their rays in the tracker's map frame; when a lost map is found again, those placed on the
    maps since the loss are moved into its frame with them, and those placed before stay."""
    from arsdk.tracking import AnchorSet

    tracker = CameraTracker()
    f = moving_demo[0]
    tracker.track(f.image, f.depth, f.intrinsics, 0)
    anchors = AnchorSet(tracker, follow=False)
    anchors.update(np.eye(4))
    before = anchors.add((0.0, 0.0, 2.0), (320, 240))
    tracker._epoch += 1  # a loss: a new map
    after = anchors.add((0.0, 0.0, 2.0), (320, 240))
    fix = np.eye(4)
    fix[:3, 3] = (0.5, 0.0, 0.0)
    tracker.moved = (1, tracker._epoch - 1, fix)
    anchors.update(np.eye(4))
    assert np.allclose(before.position, (0.0, 0.0, 2.0), atol=1e-6)
    assert np.allclose(after.position, (0.5, 0.0, 2.0), atol=1e-6)
    anchors.update(np.eye(4))  # applied once
    assert np.allclose(after.position, (0.5, 0.0, 2.0), atol=1e-6)


def test_a_short_map_is_not_searched_for_corners_on_every_frame(moving_demo, monkeypatch):
    """A view with fewer corners than the map wants (a still frame here, blurred until few remain): the corner
    search runs once, not again on every frame while the map stays short; it runs again once refill_step of the
    corners are lost (at 30 frame/s the search on every frame was a quarter of the tracker's time)."""
    import cv2

    from arsdk import tracking

    frame = moving_demo[0]
    soft = cv2.GaussianBlur(frame.image, (0, 0), 6)
    calls = []
    search = cv2.goodFeaturesToTrack
    monkeypatch.setattr(tracking.cv2, "goodFeaturesToTrack", lambda *a, **k: calls.append(1) or search(*a, **k))
    tracker = CameraTracker()
    for _ in range(10):
        tracker.track(soft, frame.depth, frame.intrinsics)
    settings = tracker.settings
    assert 0 < len(tracker._map) < settings.refill_share * settings.max_corners  # the map is short
    assert len(calls) == 1
    tracker._map.keep(np.arange(len(tracker._map)) >= settings.refill_step * settings.max_corners)
    tracker.track(soft, frame.depth, frame.intrinsics)
    assert len(calls) == 2


def test_a_map_the_flow_loses_is_found_again_by_appearance(moving_demo, monkeypatch):
    """A step too long for the optical flow (here: every corner's flow made to fail on one frame) is bridged by
    matching the map's corners by appearance: the frame is solved, the map keeps its corners' ids, nothing is
    lost. Without the rematch the frame coasts on the motion model (confidence 0)."""
    from arsdk import tracking

    tracker = CameraTracker()
    for f in moving_demo[:3]:
        tracker.track(f.image, f.depth, f.intrinsics)
    ids_before = set(tracker._map.ids)
    follow = tracking._follow_points
    monkeypatch.setattr(tracking, "_follow_points",
                        lambda last, gray, p0, *a, **k: (follow(last, gray, p0, *a, **k)[0], np.zeros(len(p0), bool)))
    # two sway steps at once: up to 18 cm and 6 degrees
    jump = moving_demo[5]
    result = tracker.track(jump.image, jump.depth, jump.intrinsics)
    monkeypatch.undo()
    assert result.state is TrackingState.TRACKING and result.confidence > 0.2 and result.inliers >= 25, result
    assert len(set(tracker._map.ids) & ids_before) >= 25
    # the tracker's world is the first frame's camera
    start = np.linalg.inv(moving_demo[0].camera_to_world)
    truth = start @ jump.camera_to_world
    assert np.linalg.norm(result.camera_to_world[:3, 3] - truth[:3, 3]) < 0.02
    assert rotation_deg(result.camera_to_world[:3, :3].T @ truth[:3, :3]) < 0.5
    rest = [tracker.track(f.image, f.depth, f.intrinsics) for f in moving_demo[6:9]]
    assert all(r.state is TrackingState.TRACKING and r.confidence > 0.5 for r in rest)


def test_an_appearance_match_refused_as_a_wrong_minimum_falls_through_to_the_keypoints(moving_demo, monkeypatch):
    """When the flow loses the map and the match by appearance gives a pose on few corners far from the motion model
    (refused: more likely a wrong minimum), the last solved view is still looked for by its keypoints: the frame is
    solved, not coasted."""
    from arsdk import tracking

    tracker = CameraTracker()
    for f in moving_demo[:3]:
        tracker.track(f.image, f.depth, f.intrinsics)
    follow = tracking._follow_points
    monkeypatch.setattr(tracking, "_follow_points",
                        lambda last, gray, p0, *a, **k: (follow(last, gray, p0, *a, **k)[0], np.zeros(len(p0), bool)))
    wrong = np.eye(4)
    wrong[:3, :3] = rotation_between(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.7, 0.7]))  # 45 degrees off
    few = tracker._map.copy()
    few.keep(np.arange(len(few)) < tracker.settings.min_inliers)
    monkeypatch.setattr(CameraTracker, "_by_appearance", lambda self, *a: (tracker.pose @ wrong, few, 1.0))
    jump = moving_demo[4]
    result = tracker.track(jump.image, jump.depth, jump.intrinsics)
    assert result.state is TrackingState.TRACKING and result.confidence > 0.0, result
    truth = np.linalg.inv(moving_demo[0].camera_to_world) @ jump.camera_to_world
    assert rotation_deg(result.camera_to_world[:3, :3].T @ truth[:3, :3]) < 1.0


def test_tracker_rejects_bad_input(moving_demo):
    f = moving_demo[0]
    with pytest.raises(arsdk.InputError, match="depth"):
        CameraTracker().track(f.image, f.depth[:100], f.intrinsics)
    with pytest.raises(arsdk.InputError, match="uint8"):
        CameraTracker().track(f.image.astype(np.float32), f.depth, f.intrinsics)
    for bad in (dict(work_width=32), dict(min_inliers=4), dict(wide_reprojection=0.5), dict(relocalise_frames=-1)):
        with pytest.raises(arsdk.InputError, match=next(iter(bad))):
            TrackerSettings(**bad)
    from arsdk.tracking import AnchorSet

    with pytest.raises(arsdk.InputError, match="parallax_deg"):
        AnchorSet(CameraTracker(), parallax_deg=0.0)


def test_anchor_stays_put_on_the_demo_room_with_the_models(moving_demo):
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        first = pipe.process(moving_demo[0])
        x, y = 320.0, 330.0  # the table top in front of the camera
        z = float(first.depth[int(y), int(x)])
        placed = transform_points(first.camera_to_world, unproject_pixels([[x, y]], [z], first.intrinsics))[0]
        anchor = first.anchors.add(placed, (x, y))
        true_point = transform_points(moving_demo[0].camera_to_world,
                                      unproject_pixels([[x, y]], [moving_demo[0].depth[int(y), int(x)]],
                                                       first.intrinsics))[0]
        errors = []
        for f in moving_demo[1:]:
            state = pipe.process(f)
            seen = project(transform_points(np.linalg.inv(state.camera_to_world), anchor.position[None]),
                           state.intrinsics)[0]
            truth = project(transform_points(np.linalg.inv(f.camera_to_world), true_point[None]), state.intrinsics)[0]
            errors.append(np.linalg.norm(seen - truth))
            assert state.tracking is TrackingState.TRACKING
    # the world frame re-derived every frame (tracking=False) moves this anchor by up to 50 px over these frames;
    # tracked, measured at most 1.6 px from where the room truly has it (the model's depth is 4 % off there)
    assert max(errors) < 5.0, errors


def test_an_anchor_placed_at_a_wrong_depth_is_triangulated_from_its_own_track(moving_demo):
    """An anchor on the demo room's table picked at 1.3 times its true distance (a depth model that far off),
    tracked with the exact depth, so the corners around it (and their ratios) say nothing is wrong: its own pixel
    is followed and, once its ray has turned `parallax_deg` from the one it was placed on, its distance is
    triangulated. Measured: 9 % off after the demo's 6 s sway (the flow on the foreshortened table drifts by 2 px
    over 11 steps), against 30 % with its own pixel not followed."""
    from arsdk.tracking import AnchorSet

    def placed_error(follow: bool) -> float:
        tracker = CameraTracker()
        anchors = AnchorSet(tracker, follow=follow)
        first = moving_demo[0]
        tracker.track(first.image, first.depth, first.intrinsics)
        anchors.update(np.eye(4))  # the map's frame is the first camera's; the world is the map
        x, y = 320.0, 330.0
        true_point = unproject_pixels([[x, y]], [first.depth[int(y), int(x)]], first.intrinsics)[0]
        anchor = anchors.add(true_point * 1.3, (x, y))
        for f in moving_demo[1:]:
            tracker.track(f.image, f.depth, f.intrinsics)
            anchors.update(np.eye(4))
        return np.linalg.norm(anchor.position - true_point) / np.linalg.norm(true_point)

    assert placed_error(True) < 0.15 and placed_error(False) > 0.25


def test_anchors_stop_following_when_the_frame_size_changes(moving_demo):
    from arsdk.tracking import AnchorSet

    tracker = CameraTracker()
    anchors = AnchorSet(tracker)
    for f in moving_demo[:2]:
        tracker.track(f.image, f.depth, f.intrinsics)
        anchors.update(np.eye(4))
    anchor = anchors.add([0.0, 0.5, 3.0], (320.0, 330.0))
    assert anchor._uv is not None  # followed from here on
    small = moving_demo[2]
    # a 160x120 stream: the tracker's work picture (320 wide at most) changes size with it
    image, depth = small.image[::4, ::4].copy(), small.depth[::4, ::4].copy()
    tracker.track(image, depth, small.intrinsics.scaled(160, 120))
    anchors.update(np.eye(4))
    assert anchor._uv is None and np.all(np.isfinite(anchor.position))


needs_data = pytest.mark.skipif(shared_data_dir() is None, reason="../shared/data not present")


@needs_data
def test_hololens_true_motion_followed_on_predicted_depth():
    frames = load_training_sequences(shared_data_dir())[0][:60]
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        states = [pipe.process(arsdk.Frame(f.image, i * 0.4, i, intrinsics=f.intrinsics))
                  for i, f in enumerate(frames)]
    err = relative_errors([s.camera_to_world for s in states], [f.camera_to_world for f in frames])
    true_step = relative_errors([np.eye(4)] * len(frames), [f.camera_to_world for f in frames])
    # measured on these 60 frames: a median error of 0.3 degrees and 4 cm per step of 4 degrees and 8 cm (the
    # translation inherits FastDepth's scale, 0.7-1.2 of the truth); with tracking=False 2.6 degrees and 11 cm.
    # The bounds fail a tracker that does no better than re-deriving the world every frame
    assert np.median(err[:, 1]) < 0.8, np.median(err[:, 1])
    assert np.median(err[:, 0]) < 0.7 * np.median(true_step[:, 0]), (np.median(err[:, 0]),
                                                                       np.median(true_step[:, 0]))
    assert sum(s.tracking is TrackingState.LOST for s in states) <= 2


@needs_data
@pytest.mark.parametrize("first", [15, 84])
def test_a_step_too_long_for_the_map_s_corners_is_bridged_by_keypoints(first):
    """HoloLens frames 1.2 s apart (every 3rd), with their true depth: 8.7 and 18.4 degrees of turn. The flow
    loses the map's corners and their upright descriptors find too few of them (`_by_appearance`), so the step
    was coasted; ORB's own oriented keypoints in the last solved view, lifted with its depth, give the pose
    (`_by_features`: 0.2 and 0.8 degrees off the true turn, measured) and the map is kept."""
    seq = load_training_sequences(shared_data_dir())[0]
    a, b = seq[first], seq[first + 3]
    tracker = CameraTracker()
    tracker.track(a.image, a.depth, a.intrinsics, 0)
    result = tracker.track(b.image, b.depth, b.intrinsics, 1)
    true_step = np.linalg.inv(a.camera_to_world) @ b.camera_to_world
    assert result.state is TrackingState.TRACKING and result.confidence > 0 and result.inliers >= 20
    assert rotation_deg(result.camera_to_world[:3, :3].T @ true_step[:3, :3]) < 2.0


@needs_data
def test_the_kitchen_frames_far_apart_are_tracked_without_losing_the_map():
    """The 50 7-Scenes frames, 0.67 s (6.4 degrees, 14 cm median) apart: steps the optical flow often cannot
    follow. Measured: no map lost, 1 frame coasted, per-step rotation error 1.3 degrees median and 2.5 at the 90th
    percentile. Without finding the map again by appearance: 2 maps lost, 7 frames coasted, 5.5 degrees at the
    90th percentile."""
    frames = load_sequences(shared_data_dir())[0]
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        states = [pipe.process(arsdk.Frame(f.image, i * 2 / 3, i, intrinsics=SEVEN_SCENES_COLOUR))
                  for i, f in enumerate(frames)]
    assert not any(s.tracking is TrackingState.LOST for s in states)
    assert sum(s.tracking_confidence == 0.0 for s in states) <= 3
    err = relative_errors([s.camera_to_world for s in states], [f.camera_to_world for f in frames])
    assert np.percentile(err[:, 1], 90) < 3.5, np.percentile(err[:, 1], 90)


def test_a_drift_correction_moves_anchors_by_their_share_of_it(moving_demo):
    """Anchors placed on the map after the past view a correction was measured against were placed with part of
    the drift: each moves by its share of the fix (by the frames since that view); those placed before stay."""
    from arsdk.tracking import AnchorSet

    tracker = CameraTracker()
    anchors = AnchorSet(tracker, follow=False)
    f = moving_demo[0]
    tracker.track(f.image, f.depth, f.intrinsics, 0)
    anchors.update(np.eye(4))
    placed = []
    for tick in (1, 5, 9):
        tracker.tick = tick
        placed.append(anchors.add([0.0, 0.0, 2.0], (320, 240)))
    fix = np.eye(4)
    fix[:3, :3] = rotation_between([0, 0, 1], [np.sin(0.1), 0, np.cos(0.1)])
    fix[:3, 3] = [0.2, 0.0, 0.0]
    tracker.corrected = (1, 1, 9, fix)  # measured on frame 9 against a view of frame 1
    anchors.update(np.eye(4))
    assert np.allclose(placed[0].position, [0.0, 0.0, 2.0])
    full = fix[:3, :3] @ [0.0, 0.0, 2.0] + fix[:3, 3]
    assert np.allclose(placed[2].position, full)
    half = placed[1].position
    assert 0.3 < np.linalg.norm(half - [0.0, 0.0, 2.0]) / np.linalg.norm(full - [0.0, 0.0, 2.0]) < 0.7
    anchors.update(np.eye(4))  # the same correction is not applied twice
    assert np.allclose(placed[2].position, full)
    with pytest.raises(InputError, match="max_chain_confidence"):
        TrackerSettings(max_chain_confidence=1.5)


def kitchen_anchor_drift_px(past_views: int, after: int = 12) -> list[float]:
    """The 7-Scenes frames (0.67 s apart) through the default pipeline: anchors on a 4x3 grid of pixels placed at
    every 3rd frame; how far (px) each lies `after` frames on from where the true poses and depth put it."""
    frames = load_sequences(shared_data_dir())[0]
    intr = SEVEN_SCENES_COLOUR
    gu, gv = np.meshgrid(np.linspace(0.15, 0.85, 4) * intr.width, np.linspace(0.15, 0.85, 3) * intr.height)
    grid = np.stack([gu.ravel(), gv.ravel()], 1)
    placed, out = {}, []
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        pipe.tracker.settings = TrackerSettings(past_views=past_views)
        for i, f in enumerate(frames):
            state = pipe.process(arsdk.Frame(f.image, i * 2 / 3, i, intrinsics=intr))
            if i - after in placed:
                uv, anchors = placed.pop(i - after)
                start = frames[i - after]
                true_z = start.depth[uv[:, 1].astype(int), uv[:, 0].astype(int)]
                truth = transform_points(np.linalg.inv(f.camera_to_world), transform_points(
                    start.camera_to_world, unproject_pixels(uv, true_z, intr)))
                shown = transform_points(np.linalg.inv(state.camera_to_world), np.array([a.position for a in anchors]))
                ok = (true_z > 0) & (truth[:, 2] > 0.1) & (shown[:, 2] > 0.1)
                out += list(np.linalg.norm(project(shown[ok], intr) - project(truth[ok], intr), axis=1))
            if i % 3 == 0:
                z = state.depth[grid[:, 1].astype(int), grid[:, 0].astype(int)]
                uv = grid[z > 0]
                world = transform_points(state.camera_to_world, unproject_pixels(uv, z[z > 0], intr))
                placed[i] = (uv, [state.anchors.add(w, px) for w, px in zip(world, uv)])
    return out


@needs_data
def test_past_views_seen_again_correct_the_kitchen_s_drift():
    """Over 8 s of the 7-Scenes frames each step's error (about 1.2 degrees) adds up, and content placed 8 s
    earlier slid. A past view of the same part of the room, found again by keypoints, measures that drift and the
    map is moved to agree with it (`TrackerSettings.past_views`); anchors placed before that view return to their
    place. Measured (px at 640 wide, median 8 s on): 42 with past views, 49 without (39 and 63 while the plane
    search wanted 5 % of the view from a candidate, not 3 %: the world's floor pulls move the content too)."""
    on, off = np.median(kitchen_anchor_drift_px(40)), np.median(kitchen_anchor_drift_px(0))
    assert on < 0.9 * off, (on, off)



@needs_data
def test_a_past_view_check_beside_the_caller_corrects_the_map_on_the_next_frame():
    """The past-view check of a frame runs on a thread beside the caller (`TrackerSettings.views_beside`), and
    its correction lands when the next frame is tracked: that frame starts from the map the check on the frame
    itself leaves, and reports the correction (`TrackedPose.corrected`); the frame checked is handed out before
    it. On the 7-Scenes frames the first correction is made on frame 11."""
    from arsdk.depth import DepthEstimator

    frames = load_sequences(shared_data_dir())[0][:14]
    estimator = DepthEstimator("fastdepth")
    depths = [estimator.estimate(f.image, SEVEN_SCENES_COLOUR).filtered for f in frames]

    def track(beside: bool):
        tracker = CameraTracker(TrackerSettings(views_beside=beside))
        return [tracker.track(f.image, d, SEVEN_SCENES_COLOUR, i) for i, (f, d) in enumerate(zip(frames, depths))]

    on_frame, beside = track(False), track(True)
    first = next(i for i, r in enumerate(on_frame) if r.corrected is not None)
    assert beside[first].corrected is None and beside[first + 1].corrected is not None
    assert np.allclose(beside[first + 1].corrected, on_frame[first].corrected)
    assert np.allclose(beside[first].camera_to_world, np.linalg.inv(on_frame[first].corrected)
                       @ on_frame[first].camera_to_world, atol=1e-9)  # handed out before the correction
    assert np.allclose(beside[first + 1].camera_to_world, on_frame[first + 1].camera_to_world, atol=1e-6)
    for a, b in zip(on_frame[:first], beside[:first]):
        assert np.array_equal(a.camera_to_world, b.camera_to_world)


def test_a_failing_past_view_check_is_raised_on_the_next_frame_and_reset_waits_for_one(moving_demo):
    """What goes wrong on the check's thread is not lost there: the next frame raises it. reset() waits for a
    check under way and forgets it, and so does the interpreter at exit."""
    tracker = CameraTracker(TrackerSettings(views_beside=True))

    class Broken:
        def detectAndCompute(self, image, mask):
            raise RuntimeError("keypoints failed")

    tracker._orb_views = Broken()
    f = moving_demo[0]
    with pytest.raises(RuntimeError, match="keypoints failed"):
        for i, f in enumerate(moving_demo[:4]):
            tracker.track(f.image, f.depth, f.intrinsics, i)
    tracker.reset()
    tracker.track(f.image, f.depth, f.intrinsics, 0)
    tracker.track(f.image, f.depth, f.intrinsics, 1)  # a check started (the first view is always due)
    assert tracker._view_check is not None
    # the interpreter waits for it at exit: as a daemon thread still inside OpenCV, a script that ended mid-check
    # (a pipeline never closed) aborted with "terminate called without an active exception"
    assert not tracker._view_check.thread.daemon
    tracker.reset()
    assert tracker._view_check is None and not tracker._views


@needs_data
def test_a_wider_camera_is_tracked_on_the_picture_brought_down():
    """Past views' keypoints are found on the picture brought down to view_width (640 px; their search costs as
    the picture's area), and the work image is taken from that picture. The 7-Scenes frames and FastDepth's depth
    enlarged to 1280x960, each pixel repeated: brought down by halvings they are the frames' own pixels again, so
    the tracked poses are those of the 640x480 frames, drift corrections included (the search on the whole 1280
    px picture gives other poses)."""
    import cv2

    from arsdk.depth import DepthEstimator

    frames = load_sequences(shared_data_dir())[0][:24]
    estimator = DepthEstimator("fastdepth")
    depths = [estimator.estimate(f.image, SEVEN_SCENES_COLOUR).filtered for f in frames]

    def track(k: int):
        tracker = CameraTracker()
        widths = []
        orb = tracker._orb_views

        class Recording:
            def detectAndCompute(self, image, mask):
                widths.append(image.shape[1])
                return orb.detectAndCompute(image, mask)

        tracker._orb_views = Recording()
        intr = SEVEN_SCENES_COLOUR.scaled(640 * k, 480 * k)
        out = []
        for i, (f, d) in enumerate(zip(frames, depths)):
            image = cv2.resize(f.image, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
            depth = cv2.resize(d, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
            out.append(tracker.track(image, depth, intr, i))
        return out, widths

    native, native_widths = track(1)
    wide, wide_widths = track(2)
    assert native_widths and set(wide_widths) == set(native_widths) == {640}
    assert sum(r.corrected is not None for r in native) >= 1
    for a, b in zip(native, wide):
        assert a.state == b.state and (a.corrected is None) == (b.corrected is None)
        assert np.allclose(a.camera_to_world, b.camera_to_world, atol=1e-9)
    for bad in (dict(view_width=200), dict(work_width=32)):
        with pytest.raises(InputError, match="view_width"):
            TrackerSettings(**bad)


@needs_data
def test_a_late_depth_still_keeps_the_kitchen_map():
    """The depth arriving two frames late (as from a worker thread), on the 7-Scenes frames 0.67 s apart: the
    tracker carries it across 1.3 s of motion before lifting corners with it. Measured on all 50 frames: 1 map
    lost (at frame 26), 159 corners in the map (median); with the forward warp's cracks left open, 3 lost (at
    frames 6, 10 and 25) and 108 corners: too few to find again by appearance after a long step. Three frames
    late: 2 lost against 5."""
    from arsdk.depth import DepthEstimator

    frames = load_sequences(shared_data_dir())[0][:24]
    estimator = DepthEstimator("fastdepth")
    depths = [estimator.estimate(f.image, SEVEN_SCENES_COLOUR).filtered for f in frames]
    tracker = CameraTracker()
    states = []
    for i, f in enumerate(frames):
        late = max(0, i - 2)
        states.append(tracker.track(f.image, depths[late], SEVEN_SCENES_COLOUR, i, late).state)
    assert states.count(TrackingState.LOST) == 0, [i for i, s in enumerate(states) if s is TrackingState.LOST]


def test_triangulation_and_rotation_helpers():
    c0, c1 = np.zeros((1, 3)), np.array([1.0, 0.0, 0.0])
    p = np.array([[0.5, 0.2, 3.0]])
    r0 = (p - c0) / np.linalg.norm(p - c0)
    r1 = (p - c1) / np.linalg.norm(p - c1)
    mid, t0 = triangulate_midpoints(c0, r0, c1, r1)
    assert np.allclose(mid, p) and np.isclose(t0[0], np.linalg.norm(p))
    R = rotation_between([0, 0, 1], [0, 1, 0], 0.5)
    assert np.isclose(rotation_deg(R), 45.0) and np.allclose(R @ R @ [0, 0, 1], [0, 1, 0])


def test_fusion_holds_a_breathing_surface_steady():
    intr = arsdk.Intrinsics.from_fov(160, 120, 60.0)
    wall = np.full((120, 160), 3.0, np.float32)
    rng = np.random.default_rng(1)
    fusion = DepthFusion()
    out = [fusion.fuse(wall * np.float32(1 + rng.normal(0, 0.05)), intr, np.eye(4) if i else None)
           for i in range(30)]
    raw_spread = 0.05
    fused_spread = np.std([o.mean() for o in out[10:]]) / 3.0
    assert fused_spread < 0.6 * raw_spread
    # a real change (something moved in: 40 % nearer) is taken at once, not averaged away
    step = fusion.fuse(wall * np.float32(0.6), intr, np.eye(4))
    assert np.allclose(step, 1.8, rtol=1e-3)


def test_the_gathered_history_is_where_the_splatted_one_is():
    """DepthFusion's two ways of carrying its history into the new frame agree on a known motion: a tilted wall
    seen 2-4 m away, the camera stepped 0.3 m toward it and turned 3 degrees. The gather reads the history where
    each new pixel was, so it needs the new depth; unknown pixels and the border carry nothing."""
    from arsdk.fusion import CARRIES

    intr = arsdk.Intrinsics.from_fov(160, 120, 60.0)
    cols = np.arange(160, dtype=np.float32)
    before = np.broadcast_to(2.0 + 2.0 * cols / 159, (120, 160)).astype(np.float32).copy()
    turn = np.radians(3.0)
    motion = np.eye(4)  # previous camera -> this one
    motion[:3, :3] = [[np.cos(turn), 0, np.sin(turn)], [0, 1, 0], [-np.sin(turn), 0, np.cos(turn)]]
    motion[2, 3] = -0.3
    now = warp_depth(before, intr, motion)
    weight = np.full(before.shape, 5.0, np.float32)
    splat, splat_w = CARRIES["splat"](before, weight, intr, motion, now)
    gathered, gathered_w = CARRIES["gather"](before, weight, intr, motion, now)
    both = (splat > 0) & (gathered > 0)
    assert both.mean() > 0.7  # the rest left the view
    assert np.max(np.abs(gathered[both] - now[both]) / now[both]) < 0.01  # the wall where this camera sees it
    assert np.median(np.abs(gathered[both] - splat[both]) / splat[both]) < 0.005
    assert np.all(gathered_w[gathered > 0] == 5.0) and np.all(gathered_w[gathered == 0] == 0)
    holed = before.copy()
    holed[:, 70:90] = 0  # unknown history carries nothing, nor does a bilinear lookup beside it
    carried, _ = CARRIES["gather"](holed, weight, intr, motion, now)
    splat_holed, _ = CARRIES["splat"](holed, weight, intr, motion, now)
    assert 0.1 < (carried > 0).mean() < both.mean() - 0.05
    assert np.sum((carried > 0) & (splat_holed == 0)) < 0.01 * carried.size  # but for a splat's own cracks
    assert np.all(np.isin(np.round(carried[carried > 0] / now[carried > 0], 2), [0.99, 1.0, 1.01]))
    with pytest.raises(arsdk.InputError, match="carry"):
        DepthFusion(carry="nearest")


def test_a_depth_fused_again_takes_the_place_of_its_last_showing():
    """One depth result shown on several frames (replaces_last) counts once: however often it is shown, the next
    result fuses exactly as if it had been shown once, as it was last."""
    intr = arsdk.Intrinsics.from_fov(160, 120, 60.0)
    wall = np.full((120, 160), 3.0, np.float32)
    shown_often, shown_once = DepthFusion(), DepthFusion()
    for f in (shown_often, shown_once):
        for i in range(5):
            f.fuse(wall * np.float32(1 + 0.02 * (-1) ** i), intr, np.eye(4) if i else None)
    first = shown_often.fuse(wall * np.float32(1.1), intr, np.eye(4))
    assert 3.0 < first.mean() < 3.3 * 0.98  # pulled toward the history's 3 m
    for _ in range(3):
        assert np.array_equal(shown_often.fuse(wall * np.float32(1.1), intr, np.eye(4), replaces_last=True), first)
    shown_often.fuse(wall * np.float32(1.08), intr, np.eye(4), replaces_last=True)
    shown_once.fuse(wall * np.float32(1.08), intr, np.eye(4))
    assert np.array_equal(shown_often.fuse(wall * np.float32(1.05), intr, np.eye(4)),
                          shown_once.fuse(wall * np.float32(1.05), intr, np.eye(4)))


def test_the_shown_depth_is_fused_once_per_depth_result_and_its_floor_left_on_the_floor():
    """`Pipeline._steadied`: the depth after the floor stage, fused over depth results. The floor's pixels stay on
    the world's floor; a result shown again (an asynchronous worker's) takes the place of its last showing."""
    from arsdk.geometry import FloorPlane, camera_to_world_from_floor
    from arsdk.tracking import TrackedPose

    pipe = arsdk.Pipeline.default(depth_model="arsdk_depth", segmentation=False)
    intr = arsdk.Intrinsics.from_fov(160, 120, 60.0)
    cam_to_world = camera_to_world_from_floor(FloorPlane((0.0, -1.0, 0.0), 1.5))  # level, 1.5 m up
    rows = (np.arange(120, dtype=np.float32) - intr.cy) / intr.fy
    floor_rows = rows > 0.3  # where the floor, 1.5 m down, is nearer than a wall 4 m away
    room = np.where(floor_rows[:, None], 1.5 / np.maximum(rows, 1e-3)[:, None], 4.0).astype(np.float32)
    room = np.broadcast_to(room, (120, 160)).copy()
    pipe._world_from_map = np.eye(4)
    tracked = TrackedPose(cam_to_world, TrackingState.TRACKING, 1.0, 100)
    wall = ~np.broadcast_to(floor_rows[:, None], room.shape)

    def shown(index, wall_scale):
        depth = np.where(wall, room * np.float32(wall_scale), room).astype(np.float32)
        return pipe._steadied(depth, intr, index, tracked, cam_to_world)

    assert np.array_equal(shown(0, 1.0), room)  # nothing before it
    second = shown(1, 1.2)
    assert np.array_equal(second[~wall], room[~wall])  # the floor as laid
    assert 4.0 < second[wall].mean() < 4.8 * 0.95  # the wall's jump pulled toward the history
    weight = pipe.shown_fusion._weight.copy()
    again = shown(1, 1.2)  # the same result shown on the next frame: not counted twice
    assert np.array_equal(again, second) and np.array_equal(pipe.shown_fusion._weight, weight)
    assert pipe.shown_fusion._weight.max() == 2.0 and shown(2, 1.2)[wall].mean() < second[wall].mean() * 1.05
    lost = TrackedPose(cam_to_world, TrackingState.LOST, 0.0, 0)
    jumped = np.where(wall, room * np.float32(0.5), room).astype(np.float32)
    assert np.array_equal(pipe._steadied(jumped, intr, 2, lost, cam_to_world), jumped)  # another map's history
    pipe.close()


def test_warp_depth_and_tae_on_a_known_motion():
    intr = arsdk.Intrinsics.from_fov(160, 120, 60.0)
    wall = np.full((120, 160), 3.0, np.float32)
    move = np.eye(4)
    move[2, 3] = -0.5  # the camera steps 0.5 m toward the wall: the wall is 2.5 m away in the new view
    assert np.median(warp_depth(wall, intr, move)[warp_depth(wall, intr, move) > 0]) == pytest.approx(2.5)
    poses = [np.eye(4), np.linalg.inv(move)]
    assert temporal_alignment_error([wall, wall - 0.5], poses, intr) == pytest.approx(0.0, abs=1e-4)
    assert temporal_alignment_error([wall, wall], poses, intr) > 10.0


def test_views_rendered_between_frames_match_the_camera_there():
    """The 30 frame/s benchmark's in-between views (`video_rate_frames`): a demo-room frame moved to where a
    later frame was taken looks like that frame, far more than the unmoved one does."""
    source = arsdk.DemoSource(320, 240, moving=True, ground_truth=True)
    a, b = source.render(0.0), source.render(0.5)
    source.close()
    moved, depth = view_from(a.image, a.depth, a.intrinsics, np.linalg.inv(b.camera_to_world) @ a.camera_to_world)
    before = np.abs(a.image.astype(float) - b.image).mean()
    after = np.abs(moved.astype(float) - b.image).mean()
    assert after < 0.4 * before, (after, before)
    near = (depth > 0) & (b.depth > 0)
    assert near.mean() > 0.8 and np.median(np.abs(depth[near] - b.depth[near])) < 0.01
    # unmoved: the picture as it was
    same, _ = view_from(a.image, a.depth, a.intrinsics, np.eye(4))
    assert np.array_equal(same, a.image)
    frames = [PosedFrame(str(i), f.image, f.depth, f.intrinsics, f.camera_to_world) for i, f in enumerate((a, b))]
    out = list(video_rate_frames(frames, 4))
    assert [f.name for f in out] == ["0", "0+1/4", "0+2/4", "0+3/4", "1"]
    assert out[0].image is a.image and out[-1].image is b.image
    # half way: half the turn, half the way
    half = np.linalg.inv(a.camera_to_world) @ out[2].camera_to_world
    whole = np.linalg.inv(a.camera_to_world) @ b.camera_to_world
    assert rotation_deg(half[:3, :3]) == pytest.approx(rotation_deg(whole[:3, :3]) / 2, rel=1e-3)
    assert np.allclose(out[2].camera_to_world[:3, 3], (a.camera_to_world[:3, 3] + b.camera_to_world[:3, 3]) / 2)


def test_anchor_depth_ratios_are_the_median_around_each_anchor():
    from arsdk.tracking import _Map
    rng = np.random.default_rng(3)
    tracker = CameraTracker()
    m = _Map()
    n = 40
    m.add(rng.uniform(1, 3, (n, 3)), rng.uniform(0, 100, (n, 2)), np.zeros(3), np.zeros((n, 3)))
    m.xyz = m.xyz * rng.uniform(0.7, 1.3, (n, 1))   # triangulation moved them along their rays
    m.triangulated = rng.random(n) < 0.7
    tracker._map = m
    groups = [rng.choice(n, k, replace=False) for k in (0, 2, 3, 4, 9, 40)] + [np.array([n + 5])]
    got = tracker.distance_ratios(groups)
    for g, r in zip(groups, got):
        sel = np.isin(m.ids, g) & m.triangulated
        want = np.median(np.linalg.norm(m.xyz[sel], axis=1) / m.lifted[sel]) if sel.sum() >= 3 else np.nan
        assert (np.isnan(r) and np.isnan(want)) or r == pytest.approx(want), (g, r, want)
    assert np.isfinite(got).sum() >= 3


def test_anchors_picked_on_the_shown_depth_sit_at_the_maps_depth():
    """The pipeline shows depth scaled so the floor lies on its floor (here 10 % beyond the map's); a point picked
    on it is placed along its ray at the map's depth, the scale the camera's motion is measured at."""
    from arsdk.tracking import AnchorSet

    anchors = AnchorSet(CameraTracker())
    world_from_map = np.diag([2.0, 2.0, 2.0, 1.0])  # the world is the map at twice its scale
    at_map = np.full((48, 64), 3.0, np.float32)
    shown = at_map * np.float32(1.1)
    at_map[:, 40:] = 0  # unknown in the map's depth: the point is kept as given
    anchors.update(world_from_map, at_map, shown)
    placed = anchors.add([0.0, 0.0, 6.6], (10, 20))
    assert placed.position == pytest.approx([0.0, 0.0, 6.0])
    kept = anchors.add([0.0, 0.0, 6.6], (50, 20))
    assert kept.position == pytest.approx([0.0, 0.0, 6.6])
    anchors.update(world_from_map)  # nothing said about the depth: points are taken as given
    assert anchors.add([1.0, 0.0, 5.0], (10, 20)).position == pytest.approx([1.0, 0.0, 5.0])
    anchors.update(world_from_map)
    assert placed.position == pytest.approx([0.0, 0.0, 6.0])  # and kept there
    # drawn against the shown depth: on the same ray from the camera (here at the world's origin), at its scale
    anchors.update(world_from_map, at_map, shown)
    assert anchors.shown_scale == pytest.approx(1.1)
    assert placed.position == pytest.approx([0.0, 0.0, 6.0]) and placed.shown == pytest.approx([0.0, 0.0, 6.6])


def test_fill_nearest_gives_gaps_the_nearest_known_depth():
    d = np.zeros((5, 6), np.float32)
    d[1, 1], d[3, 4] = 1.0, 2.0
    filled = fill_nearest(d)
    assert filled[0, 0] == 1.0 and filled[4, 5] == 2.0 and filled[2, 3] == 2.0 and filled[1, 1] == 1.0
    with pytest.raises(InputError, match="fill_nearest"):
        fill_nearest(np.zeros((3, 3), np.float32))
    with pytest.raises(InputError, match="per_step"):
        list(video_rate_frames([], 0))


def test_stickers_ride_on_anchors_and_the_hud_says_the_state(moving_demo):
    from demo_app.hud import draw_hud, world_line
    from arsdk.effects.sticker import StickerEffect

    with arsdk.Pipeline.default(segmentation=False) as pipe:
        state = pipe.process(moving_demo[0])
        eff = StickerEffect()
        sticker = eff.place(state, 320, 330)
        assert sticker.anchor is not None and len(state.anchors) == 1
        state = pipe.process(moving_demo[1])
        anchor = sticker.anchor
        assert np.allclose(sticker.position, anchor.shown + sticker.normal * eff.params.lift)
        # drawn where the anchor lies on the shown depth: the same ray from the camera as the anchor's position
        camera = state.camera_to_world[:3, 3]
        a, b = anchor.position - camera, anchor.shown - camera
        assert np.linalg.norm(np.cross(a, b)) < 1e-6 * np.linalg.norm(a) * np.linalg.norm(b) and a @ b > 0
        line = world_line(state)
        assert line.startswith("tracking ") and "floor" in line, line
        assert draw_hud((640, 480), 30.0, state.timings, ["sticker"], True, False, world=line) is not None
        eff.clear()
        assert len(state.anchors) == 0
    with arsdk.Pipeline.default(segmentation=False, tracking=False) as pipe:
        state = pipe.process(moving_demo[0])
        assert state.anchors is None and state.tracking is None
        assert StickerEffect().place(state, 320, 330).anchor is None


def test_a_tracked_floor_stays_in_view_where_the_plane_search_misses_it():
    """HoloLens frames 150-179 look down at a floor that FastDepth bends too much for the plane search on several
    frames (166-173 here); once a floor has been found, the tracked one is said to be in view where the depth
    lies on it. (The stretch starts at a kitchen counter that FastDepth draws 1.3 m below the camera, where a
    floor would be: with gravity 1.8 degrees off it is taken for one, with 0.6 it was not; a known limit.)"""
    from arsdk.evaluation import pose_up, true_floor

    frames = load_training_sequences(shared_data_dir())[0][150:180]
    rows = []
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        for i, f in enumerate(frames):
            state = pipe.process(arsdk.Frame(f.image, i * 0.4, i, intrinsics=f.intrinsics))
            share = true_floor(f.depth, f.intrinsics, pose_up(f.camera_to_world))[1]
            rows.append((share, state.floor.visible))
    missed = [visible for share, visible in rows if share >= 0.2]
    # measured: the plane search alone finds the floor on 5 of the 12 frames with 20 % or more of floor, the
    # pipeline says it is in view on 9 or 10 of them
    assert sum(missed) >= 8, rows


def test_gravity_pull_follows_the_tracker_it_trusts():
    from arsdk.pipeline import gravity_pull

    steady = gravity_pull(2.0, 1.0, 0.9)
    assert steady == pytest.approx(0.3, abs=0.03)           # a sure tracker: the usual gentle pull
    assert gravity_pull(16.0, 1.0, 0.9) < 0.05 * steady      # ...and a reading far off it is taken for a bad one
    assert gravity_pull(16.0, 1.0, 0.0) > 0.95               # a coasting tracker: the reading is taken whole
    assert gravity_pull(2.0, 0.5, 0.0) == pytest.approx(0.5)  # always scaled by the reading's own confidence
    assert gravity_pull(2.0, 0.0, 0.9) == 0.0
    # far readings that have agreed among themselves for a while: the tracked world is the one that is off
    assert gravity_pull(16.0, 1.0, 0.9, agreed=True) == pytest.approx(0.3, abs=0.03)


def test_a_world_set_from_a_wrong_up_comes_back_to_gravity():
    """A phone's first IMU reading taken while it was shaken, 15 degrees off: later readings all agree on the true
    up, so the tracked world turns back to it instead of holding the first one as the truth. Before, a trusted
    tracker counted readings that far off as bad ones (0.03 of the usual pull): the world was still 9 degrees off
    after 5 s, and on the HoloLens walk with the line detector at 400 px, bad line readings at frames 198-206 left
    it 15-21 degrees off for 150 frames."""
    import cv2

    from arsdk.pipeline import floor_from_pose

    roll = cv2.Rodrigues(np.array([0.0, 0.0, np.radians(15.0)]))[0]
    source = arsdk.DemoSource(320, 240, fps=10.0, moving=True)
    errors = []
    with arsdk.Pipeline.default(segmentation=False) as pipe:
        for i in range(50):  # 5 s
            frame = source.render(i / 10.0)
            up = floor_from_pose(frame.camera_to_world).normal
            given = roll @ up if i == 0 else up
            state = pipe.process(frame, gravity=given)
            errors.append(np.degrees(np.arccos(min(1.0, float(state.gravity.up @ up)))))
            assert state.tracking is not TrackingState.LOST
    assert errors[0] == pytest.approx(15.0, abs=0.5)
    # measured: 1.3 s for the readings to agree, then the usual pull: within 2 degrees by 3.5 s, 0.5 at 5 s
    assert max(errors[-5:]) < 1.5, np.round(errors, 1)


def test_the_window_is_adjusted_at_a_camera_s_rate_and_emptied_on_long_steps():
    """Bundle adjustment (`TrackerSettings.adjust_views`) runs on frames the flow follows at a camera's rate and
    stays off over long steps, where it moved 7-Scenes anchors further; on exact depth it keeps the motion exact."""
    source = arsdk.DemoSource(640, 480, moving=True)
    frames = [source.render(t) for t in np.arange(0.0, 4.0, 0.1)]
    # the demo camera sways slowly: views closer together than the default so the window fills in these frames
    tracker = CameraTracker(TrackerSettings(adjust_deg=0.5, adjust_move=0.01))
    poses = [tracker.track(f.image, f.depth, f.intrinsics).camera_to_world for f in frames]
    assert tracker._map.adjusted.any()
    err = relative_errors(poses, [f.camera_to_world for f in frames])
    # measured: 0.06 degrees and 4 mm median (without the adjustment the same), 0.3 degrees and 17 mm at worst
    assert np.median(err[:, 0]) < 0.01 and np.median(err[:, 1]) < 0.15
    sparse = CameraTracker(TrackerSettings(adjust_deg=0.5, adjust_move=0.01, adjust_step_deg=0.1,
                                           adjust_step_move=0.001))
    for f in frames[::2]:
        sparse.track(f.image, f.depth, f.intrinsics)
    assert not sparse._map.adjusted.any() and not sparse._window
    with pytest.raises(InputError, match="adjust_views"):
        TrackerSettings(adjust_views=2)


def test_a_bundle_adjustment_beside_the_caller_lands_on_the_next_frame(monkeypatch):
    """The window's adjustment runs on a thread beside the caller (`TrackerSettings.adjust_beside`) and lands
    when the next frame is tracked: until the first adjustment the poses are those of the adjustment on the frame,
    the frame adjusted is handed out before it, and the next frame starts from the map an adjustment on the frame
    would have left (the corners lifted meanwhile moved with the frame's pose), so its pose is that one's within
    rounding. An error on the thread is raised by the next frame; reset() waits for an adjustment under way."""
    source = arsdk.DemoSource(640, 480, moving=True)
    frames = [source.render(t) for t in np.arange(0.0, 2.0, 0.1)]

    def track(beside: bool):
        tracker = CameraTracker(TrackerSettings(adjust_deg=0.5, adjust_move=0.01, adjust_beside=beside))
        adjusted = []
        poses = []
        for f in frames:
            poses.append(tracker.track(f.image, f.depth, f.intrinsics).camera_to_world)
            adjusted.append(tracker._adjustment is not None or bool(tracker._map.adjusted.any()))
        return tracker, poses, adjusted

    _, on_frame, adjusted = track(False)
    first = adjusted.index(True)
    beside_tracker, beside, _ = track(True)
    for a, b in zip(on_frame[:first], beside[:first]):
        assert np.array_equal(a, b)
    assert not np.allclose(beside[first], on_frame[first], atol=1e-9)  # handed out before the adjustment
    # measured: equal to the last bit on these frames (the map moved by rounding only)
    assert np.allclose(beside[first + 1], on_frame[first + 1], atol=1e-4)
    err = relative_errors(beside, [f.camera_to_world for f in frames])
    assert np.median(err[:, 0]) < 0.01 and np.median(err[:, 1]) < 0.15

    def broken(*args):
        raise RuntimeError("adjustment failed")

    monkeypatch.setattr(tracking_module, "adjust", broken)
    tracker = CameraTracker(TrackerSettings(adjust_deg=0.5, adjust_move=0.01))
    with pytest.raises(RuntimeError, match="adjustment failed"):
        for f in frames:
            tracker.track(f.image, f.depth, f.intrinsics)
    monkeypatch.undo()
    assert beside_tracker._adjustment is None or not beside_tracker._adjustment[0].thread.daemon
    beside_tracker.reset()
    assert beside_tracker._adjustment is None and not beside_tracker._window


def test_the_flow_narrows_its_window_where_the_motion_model_holds(monkeypatch):
    """`TrackerSettings.near_flow_window_px`: where the motion model put the last frame's corners within
    near_flow_px of where the flow found them (a camera's rate), the flow's window shrinks; after a step the model
    missed (a jump, a jerk, hand-held frames far apart) the next takes the full one. The motion stays exact on the
    demo room at 30 frame/s."""
    import arsdk.tracking as tracking

    windows = []
    follow = tracking._follow_points

    def spy(last, gray, p0, settings, guess=None, window_px=None):
        if guess is not None:  # the map's corners (not the search by appearance)
            windows.append(window_px or settings.flow_window_px)
        return follow(last, gray, p0, settings, guess, window_px)

    source = arsdk.DemoSource(640, 480, moving=True)
    times = list(np.arange(0.0, 1.0, 1.0 / 30.0))
    frames = [source.render(t) for t in times + [2.0, 2.0 + 1.0 / 30.0, 2.0 + 2.0 / 30.0]]  # 1 s skipped
    tracker = CameraTracker()
    monkeypatch.setattr(tracking, "_follow_points", spy)
    poses = [tracker.track(f.image, f.depth, f.intrinsics).camera_to_world for f in frames]
    s = tracker.settings
    full, near = s.flow_window_px, s.near_flow_window_px
    # the first flow has no motion model to go by: the full window; then the near one up to and on the skip's
    # frame, which misses the model by 7 px: the full one after it, and on the next (the model took the skip for
    # the camera's speed, and missed by as much again)
    assert windows == [full] + [near] * (len(times) - 1) + [full, full], windows
    err = relative_errors(poses[:len(times)], [f.camera_to_world for f in frames[:len(times)]])
    assert np.median(err[:, 0]) < 0.005 and np.median(err[:, 1]) < 0.1, np.median(err, axis=0)
    for bad in (dict(near_flow_window_px=25), dict(near_flow_window_px=2), dict(near_flow_px=-1.0)):
        with pytest.raises(InputError, match=next(iter(bad))):
            TrackerSettings(**bad)


@pytest.mark.parametrize("gain", [0.7, 1.35])
def test_corners_are_followed_across_a_cameras_exposure_step(gain):
    """A webcam's auto-exposure steps the picture's brightness between two frames; the optical flow assumes a point
    keeps its brightness. Followed as they were, a real photo's corners moved by (2.5, 1.5) px landed a median
    0.43-0.69 px off, and 14-30 % were lost; brought to the new brightness first, 0.1 px and 1 %."""
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    gray = cv2.resize(cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY), (320, 320),
                      interpolation=cv2.INTER_AREA)
    shift = np.float32([[1, 0, 2.5], [0, 1, 1.5]])
    moved = cv2.convertScaleAbs(cv2.warpAffine(gray, shift, (320, 320), borderMode=cv2.BORDER_REFLECT), alpha=gain)
    corners = cv2.goodFeaturesToTrack(gray, 200, 0.01, 8).reshape(-1, 2)
    followed, ok = tracking_module._follow_points(gray, moved, corners, TrackerSettings())
    error = np.linalg.norm(followed - (corners + [2.5, 1.5]), axis=1)
    assert ok.mean() >= 0.95
    assert np.median(error[ok]) < 0.2
    # the gain the followed corners tell, and none where the brightness holds
    assert tracking_module.brightness_gain(gray, moved, corners[ok], followed[ok]) == pytest.approx(gain, rel=0.03)
    assert tracking_module.brightness_gain(gray, gray, corners, corners) is None
