import math

import cv2
import numpy as np
import pytest

from arsdk.errors import InputError
from arsdk.evaluation import (away_from_depth_edges, load_pairs, load_sequences, reproject_depth,
                              seven_scenes_pairs)
from arsdk.geometry import (FloorPlane, Intrinsics, WorldFrameTracker, camera_to_world_from_floor, fit_floor_plane,
                            follow_depth, normals_from_points, project, sample_points, transform_points, unproject,
                            unproject_pixels, warp_depth)


def test_from_fov_and_back():
    K = Intrinsics.from_fov(640, 480, 60.0)
    assert K.hfov_deg == pytest.approx(60.0)
    assert (K.cx, K.cy) == (319.5, 239.5)
    assert K.fx == pytest.approx(320 / math.tan(math.radians(30)))


def test_scaled_round_trip_and_pixel_centres():
    K = Intrinsics(fx=500.0, fy=510.0, cx=320.3, cy=241.7, width=640, height=480)
    back = K.scaled(320, 240).scaled(640, 480)
    assert (back.fx, back.fy, back.cx, back.cy) == pytest.approx((K.fx, K.fy, K.cx, K.cy))
    half = K.scaled(320, 240)
    # the same ray through the same physical point: pixel (u, v) at full res is ((u + .5) / 2 - .5) at half
    p = unproject_pixels([[100.0, 50.0]], [2.0], K)
    uv = project(p, half)[0]
    assert uv == pytest.approx([(100 + 0.5) / 2 - 0.5, (50 + 0.5) / 2 - 0.5])


def test_matching_rejects_other_aspect():
    K = Intrinsics.from_fov(640, 480, 60)
    assert K.matching(1280, 960).fx == pytest.approx(2 * K.fx)
    with pytest.raises(InputError, match="does not match intrinsics for 640x480"):
        K.matching(640, 360)


@pytest.mark.parametrize("bad", [dict(fx=0), dict(fy=-1), dict(width=0), dict(fx=float("nan"))])
def test_bad_intrinsics(bad):
    args = dict(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640, height=480) | bad
    with pytest.raises(InputError):
        Intrinsics(**args)


def test_calibration_yaml_and_json(tmp_path):
    K = np.array([[600.0, 0, 330.0], [0, 605.0, 250.0], [0, 0, 1]])
    dist = np.array([[0.1, -0.05, 0.001, 0.0, 0.01]])
    fs = cv2.FileStorage(str(tmp_path / "cam.yaml"), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", dist)
    fs.release()
    a = Intrinsics.from_calibration(tmp_path / "cam.yaml")
    assert (a.fx, a.fy, a.cx, a.cy, a.width, a.height) == (600.0, 605.0, 330.0, 250.0, 640, 480)
    assert a.distortion == pytest.approx(tuple(dist.ravel()))
    (tmp_path / "cam.json").write_text('{"K": [[600, 0, 330], [0, 605, 250], [0, 0, 1]], "D": [0.1, 0, 0, 0, 0],'
                                       ' "width": 640, "height": 480}')
    b = Intrinsics.from_calibration(tmp_path / "cam.json")
    assert (b.fx, b.cy, b.width) == (600.0, 250.0, 640)
    (tmp_path / "bad.json").write_text('{"K": [[600, 0, 330], [0, 605, 250], [0, 0, 1]]}')
    with pytest.raises(InputError, match="image_width"):
        Intrinsics.from_calibration(tmp_path / "bad.json")
    with pytest.raises(InputError, match="not found"):
        Intrinsics.from_calibration(tmp_path / "missing.yaml")


def test_unproject_project_round_trip():
    K = Intrinsics.from_fov(64, 48, 70)
    depth = np.random.default_rng(0).uniform(0.5, 5, (48, 64)).astype(np.float32)
    depth[0, 0] = 0
    pts = unproject(depth, K)
    assert np.isnan(pts[0, 0]).all()
    v, u = np.mgrid[0:48, 0:64]
    uv = project(pts.reshape(-1, 3)[1:], K)
    assert np.allclose(uv, np.stack([u.ravel(), v.ravel()], -1)[1:], atol=1e-3)
    with pytest.raises(InputError, match="float32"):
        unproject(depth.astype(np.float64), K)


def test_normals_of_a_tilted_plane():
    K = Intrinsics.from_fov(80, 60, 60)
    n_true = np.array([0.0, -0.8, -0.6])
    rays = unproject(np.ones((60, 80), np.float32), K)
    t = 2.0 / -(rays @ n_true)  # plane n.p = 2 (points with n.p = 2 in front of the camera)
    normals = normals_from_points(rays * t[..., None])
    inner = normals[2:-2, 2:-2].reshape(-1, 3)
    assert np.degrees(np.arccos(np.clip(np.abs(inner @ n_true), -1, 1))).max() < 0.5


def _room_points(height=1.4, pitch_deg=20.0, table=True, rng=None):
    rng = rng or np.random.default_rng(0)
    floor = np.c_[rng.uniform(-2, 2, 3000), np.zeros(3000), rng.uniform(1, 6, 3000)]
    pts = [floor]
    if table:
        pts.append(np.c_[rng.uniform(-0.5, 0.5, 1500), np.full(1500, 0.75), rng.uniform(2, 3, 1500)])
    pts.append(np.c_[rng.uniform(-2, 2, 2000), rng.uniform(0, 2.5, 2000), np.full(2000, 6.0)])  # wall
    world = np.concatenate(pts)
    world += rng.normal(0, 0.005, world.shape)
    p = math.radians(pitch_deg)
    # camera at height looking down by pitch: world -> camera (x right, y down, z forward)
    R = np.array([[1, 0, 0], [0, -math.cos(p), -math.sin(p)], [0, math.sin(p), -math.cos(p)]])
    R = np.array([[1, 0, 0], [0, -1, 0], [0, 0, 1]]) @ np.array(
        [[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    cam = (world - [0, height, 0]) @ R.T
    return cam.astype(np.float32), R


def test_floor_ransac_prefers_floor_over_table():
    pts, R = _room_points()
    plane = fit_floor_plane(pts, rng=np.random.default_rng(1))
    assert plane is not None
    assert plane.camera_height == pytest.approx(1.4, abs=0.02)
    up_cam = R @ np.array([0, 1, 0])
    assert math.degrees(math.acos(np.clip(plane.normal @ up_cam, -1, 1))) < 1.0


def test_world_frame_puts_floor_at_zero():
    pts, _ = _room_points(table=False)
    plane = fit_floor_plane(pts)
    m = camera_to_world_from_floor(plane)
    world = transform_points(m, pts[:3000])
    assert np.median(np.abs(world[:, 1])) < 0.01  # floor points at y = 0
    assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-9)
    assert transform_points(m, np.zeros((1, 3)))[0, 1] == pytest.approx(1.4, abs=0.02)  # camera 1.4 m up


def test_world_frame_tracker_is_still_under_jitter():
    rng = np.random.default_rng(5)
    tracker = WorldFrameTracker()
    base = np.array([0.0, -0.97, -0.24])
    outs = []
    for _ in range(50):
        n = base + rng.normal(0, 0.004, 3)
        outs.append(camera_to_world_from_floor(tracker.update(FloorPlane(n / np.linalg.norm(n),
                                                                           1.4 + rng.normal(0, 0.004)))))
    assert max(np.abs(o - outs[0]).max() for o in outs) == 0.0
    # a real move (camera lifted 30 cm) is followed after a few frames
    for _ in range(4):
        plane = tracker.update(FloorPlane(base / np.linalg.norm(base), 1.7))
    assert plane.d == pytest.approx(1.7)


# --- real RGB-D data (../shared/data)

FLOOR_VISIBLE = {"image_4", "image_5", "image_6", "image_7"}  # NYU views with a clear stretch of floor


def test_floor_found_on_real_nyu_views(shared_data):
    pairs = {p.name: p for p in load_pairs(shared_data, {"nyu"})}
    for name in sorted(FLOOR_VISIBLE):
        p = pairs[name]
        depth = np.where(p.eval_mask, p.depth, 0).astype(np.float32)
        plane = fit_floor_plane(sample_points(depth, p.intrinsics, 8))
        assert plane is not None, name
        tilt = math.degrees(math.acos(min(1.0, -plane.normal[1])))
        assert tilt < 8.0, (name, tilt)        # a hand-held Kinect held level: floor normal near camera up
        assert 1.0 < plane.camera_height < 1.8, (name, plane.camera_height)


def test_unprojected_metric_distances_match_depth(shared_data):
    # distance between two unprojected points equals the law-of-cosines distance from their ranges
    p = load_pairs(shared_data, {"nyu"})[4]
    pts = unproject(p.depth, p.intrinsics)
    a, b = pts[300, 100], pts[300, 500]
    ra, rb = np.linalg.norm(a), np.linalg.norm(b)
    cosang = (a @ b) / (ra * rb)
    rays = unproject_pixels([[100, 300], [500, 300]], [1.0, 1.0], p.intrinsics)
    cos_rays = rays[0] @ rays[1] / np.linalg.norm(rays[0]) / np.linalg.norm(rays[1])
    assert cosang == pytest.approx(cos_rays, abs=1e-6)
    assert np.linalg.norm(a - b) == pytest.approx(math.sqrt(ra**2 + rb**2 - 2 * ra * rb * cos_rays), rel=1e-4)


def test_seven_scenes_multiview_consistency(shared_data):
    seqs = load_sequences(shared_data)
    if not seqs:
        pytest.skip("no posed sequence in the manifest")
    frames = seqs[0]
    errors = []
    for a, b in zip(frames[:-1], frames[1:]):
        pts = sample_points(a.depth, a.intrinsics, 4).reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(1)]
        world = transform_points(a.camera_to_world, pts)
        in_b = transform_points(np.linalg.inv(b.camera_to_world), world)
        in_b = in_b[in_b[:, 2] > 0.2]
        uv = np.round(project(in_b, b.intrinsics)).astype(int)
        ok = (uv[:, 0] >= 0) & (uv[:, 0] < b.intrinsics.width) & (uv[:, 1] >= 0) & (uv[:, 1] < b.intrinsics.height)
        zb = b.depth[uv[ok, 1], uv[ok, 0]]
        zp = in_b[ok, 2]
        seen = (zb > 0) & (np.abs(zb - zp) < 0.3)  # visible in both (not occluded)
        if seen.sum() > 500:
            errors.append(float(np.median(np.abs(zb[seen] - zp[seen]))))
    assert len(errors) >= len(frames) // 2
    assert np.median(errors) < 0.03, errors  # the same surface maps to the same world points within 3 cm


def test_reproject_depth_moves_surfaces_by_their_parallax_and_keeps_the_nearest():
    depth_intr = Intrinsics(fx=500.0, fy=500.0, cx=160.0, cy=120.0, width=320, height=240)
    colour_intr = Intrinsics(fx=450.0, fy=450.0, cx=162.0, cy=118.0, width=320, height=240)
    depth = np.full((240, 320), 2.0, np.float32)
    depth[100:140, 140:180] = 1.0  # a box 1 m away in front of a wall 2 m away
    t = np.array([-0.04, 0.0, 0.0])
    out = reproject_depth(depth, depth_intr, colour_intr, t)
    # the box's centre pixel in the depth camera, seen from the colour camera
    centre = unproject_pixels([[160, 120]], [1.0], depth_intr)[0] + t
    u, v = np.round(project(centre[None], colour_intr)[0]).astype(int)
    assert out[v, u] == pytest.approx(1.0)
    # the wall far from the box keeps its depth, shifted by its own (smaller) parallax
    wall = unproject_pixels([[40, 40]], [2.0], depth_intr)[0] + t
    u, v = np.round(project(wall[None], colour_intr)[0]).astype(int)
    assert out[v, u] == pytest.approx(2.0)
    # the box moves 450 * 0.04 * (1/1 - 1/2) = 9 px further left than the wall: 9 columns of wall it now covers
    row = out[118]
    box_cols = np.flatnonzero(row == 1.0)
    assert box_cols.min() == pytest.approx(162 + 0.9 * (140 - 160) - 18, abs=1)
    # colour pixels the depth camera never saw stay unknown, nothing is invented at the borders
    assert (out == 0).any() and set(np.unique(out)) <= {0.0, 1.0, 2.0}


def test_follow_depth_matches_the_exact_warp_on_a_slanted_wall():
    """A camera turned by 6 degrees and moved 5 cm: a wall slanting away from 1.6 to 2.4 m, carried by the
    homography, agrees with the point-by-point warp within 1 % (the wall's parallax off its median distance is
    what the homography leaves out) and has no holes; a still camera gets its depth back as it was."""
    intr = Intrinsics.from_fov(320, 240, 60.0)
    depth = np.tile(np.linspace(1.6, 2.4, 320, dtype=np.float32), (240, 1))
    angle = math.radians(6.0)
    motion = np.eye(4)
    motion[:3, :3] = [[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]]
    motion[:3, 3] = [0.03, -0.01, 0.04]
    exact = warp_depth(depth, intr, motion)
    carried = follow_depth(depth, intr, motion)
    assert carried.shape == depth.shape and (carried > 0).all()
    inner = np.zeros(depth.shape, bool)
    inner[20:-20, 30:-30] = True
    both = inner & (exact > 0)
    assert both.sum() > 0.5 * inner.sum()
    assert np.median(np.abs(carried[both] / exact[both] - 1)) < 0.003
    assert np.max(np.abs(carried[both] / exact[both] - 1)) < 0.01
    np.testing.assert_allclose(follow_depth(depth, intr, np.eye(4)), depth, rtol=1e-6)


def test_follow_depth_leaves_what_the_camera_has_come_up_to_unknown():
    """A camera moved 0.4 m forward: a box 0.3 m ahead of where it was is now behind it, and one 0.42 m ahead 2 cm
    before it: both unknown (0), not a depth below zero or of millimetres; the wall 2 m ahead is 1.6 m ahead."""
    intr = Intrinsics.from_fov(320, 240, 60.0)
    depth = np.full((240, 320), 2.0, np.float32)
    depth[100:140, 40:80] = 0.3
    depth[100:140, 240:280] = 0.42
    motion = np.eye(4)
    motion[2, 3] = -0.4  # source points 0.4 m nearer along z in the target camera
    carried = follow_depth(depth, intr, motion)
    assert carried.min() >= 0.0
    assert np.all((carried == 0) | (carried >= 0.05))
    assert np.median(carried[carried > 0]) == pytest.approx(1.6, abs=1e-4)
    assert (carried == 0).sum() >= 0.5 * 2 * 40 * 40  # the boxes, wherever the homography put them


def test_follow_depth_leaves_what_the_old_camera_could_not_see_unknown():
    """A camera turned 75 degrees: the pixels whose rays lie more than 70 degrees off the old camera's axis are
    unknown, not the border's depth divided toward infinity; the rest stay within the room's depths."""
    intr = Intrinsics.from_fov(320, 240, 60.0)
    depth = np.full((240, 320), 3.0, np.float32)
    angle = math.radians(75.0)
    motion = np.eye(4)
    motion[:3, :3] = [[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]]
    carried = follow_depth(depth, intr, motion)
    assert (carried == 0).any() and (carried > 0).any()
    assert carried.max() < 3.0 / 0.35 + 1e-3


def test_away_from_depth_edges_drops_steps_and_holes_only():
    depth = np.full((60, 80), 2.0, np.float32)
    depth[:, 40:] = 1.0
    depth[5:8, 5:8] = 0.0
    keep = away_from_depth_edges(depth, radius=3, max_ratio=1.1)
    assert not keep[:, 37:43].any()             # the 2 m -> 1 m step and three pixels either side
    assert keep[30, 20] and keep[30, 60]        # flat wall on both sides
    assert not keep[2:11, 2:11].any()           # around the hole
    ramp = np.tile(np.linspace(1.0, 1.2, 80, dtype=np.float32), (60, 1))
    assert away_from_depth_edges(ramp)[10:50, 10:70].all()  # a smooth slope is not an edge


def test_seven_scenes_depth_lines_up_with_its_colour_once_registered(shared_data):
    if not load_sequences(shared_data):
        pytest.skip("no posed sequence in the manifest")

    def edges(gray):
        return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))

    better = []
    for pair, frame in zip(seven_scenes_pairs(shared_data), load_sequences(shared_data)[0]):
        colour = edges(cv2.GaussianBlur(cv2.cvtColor(pair.image, cv2.COLOR_RGB2GRAY), (5, 5), 0).astype(np.float32))
        inside = cv2.erode(((pair.depth > 0) & (frame.depth > 0)).astype(np.uint8), np.ones((9, 9))) > 0

        def agreement(depth):
            e = cv2.dilate(edges(cv2.GaussianBlur(np.log(np.maximum(depth, 0.3)), (5, 5), 0)), np.ones((3, 3)))
            return np.corrcoef(colour[inside], e[inside])[0, 1]

        better.append(agreement(pair.depth) > agreement(frame.depth) + 0.03)
        assert pair.eval_mask.mean() > 0.4 and not pair.eval_mask[pair.depth == 0].any()
    assert np.mean(better) >= 0.9  # the measured colour camera, not the depth camera's, explains the picture


def test_cropped_intrinsics_see_the_same_rays():
    K = Intrinsics(fx=500.0, fy=510.0, cx=321.0, cy=239.0, width=640, height=480)
    window = K.cropped(7, 6, 625, 468)
    point = np.array([[0.3, -0.2, 2.0]])
    assert np.allclose(project(point, window), project(point, K) - [7, 6])
    assert (window.fx, window.fy, window.size) == (500.0, 510.0, (625, 468))
    with pytest.raises(InputError, match="inside the 640x480 image"):
        K.cropped(20, 0, 630, 480)
