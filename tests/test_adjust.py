"""Bundle adjustment over a window of views (arsdk.adjust): known poses and points recovered from perturbed ones."""
from __future__ import annotations

import cv2
import numpy as np

from arsdk.adjust import Window, adjust
from arsdk.tracking import rotation_deg

K = np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 120.0], [0.0, 0.0, 1.0]])


def scene(seed: int = 0, views: int = 6, points: int = 200, noise_px: float = 0.5):
    """A camera turning and sliding past points 1.2-2.5 m away: (true R, true t, true X, observations)."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.uniform(-1, 1, points), rng.uniform(-0.7, 0.7, points), rng.uniform(1.2, 2.5, points)]
    R = np.array([cv2.Rodrigues(np.array([0.0, 0.03 * k, 0.005 * k]))[0] for k in range(views)])
    t = np.array([-R[k] @ np.array([0.02 * k, 0.0, 0.01 * k]) for k in range(views)])
    view = np.repeat(np.arange(views), points)
    point = np.tile(np.arange(points), views)
    cam = np.einsum("mij,mj->mi", R[view], X[point]) + t[view]
    pixel = cam[:, :2] / cam[:, 2:] * 300.0 + [160.0, 120.0] + rng.normal(0, noise_px, (len(view), 2))
    return R, t, X, view, point, pixel, rng


def test_adjustment_recovers_poses_and_points_from_depth_off_by_a_tenth():
    R, t, X, view, point, pixel, rng = scene()
    # the depth model's points off by 10 % along their rays (first camera at the origin), the poses by 0.6 degrees
    # and 2 cm: what PnP on such points gives
    X0 = X * (1 + rng.normal(0, 0.1, (len(X), 1)))
    R0, t0 = R.copy(), t.copy()
    for k in range(1, len(R)):
        R0[k] = cv2.Rodrigues(rng.normal(0, 0.01, 3))[0] @ R[k]
        t0[k] = t[k] + rng.normal(0, 0.02, 3)
    w = Window(R0, t0, X0, view, point, pixel, K, np.zeros((len(X), 3)), np.linalg.norm(X0, axis=1))
    R1, t1, X1, before, after = adjust(w, fixed=1, iterations=8)
    assert after < 0.1 * before
    np.testing.assert_array_equal(R1[0], R0[0])  # the fixed view holds the window in place
    for k in range(1, len(R)):
        # measured: 0.02-0.06 degrees and 1-4 mm, from 0.6-1.6 degrees and 1.7-4.5 cm
        assert rotation_deg(R1[k] @ R[k].T) < 0.15, k
        assert np.linalg.norm(R1[k].T @ t1[k] - R[k].T @ t[k]) < 0.01, k
    # measured: a median 6 cm off, from 14
    assert np.median(np.linalg.norm(X1 - X, axis=1)) < 0.6 * np.median(np.linalg.norm(X0 - X, axis=1))


def test_exact_data_stays_put_and_an_outlier_does_not_pull_the_poses():
    R, t, X, view, point, pixel, _ = scene(seed=1, noise_px=0.0)
    pixel = pixel.copy()
    pixel[5] += 40.0  # one flow slip: the robust weight keeps it from bending the window
    w = Window(R, t, X, view, point, pixel, K, np.zeros((len(X), 3)), np.linalg.norm(X, axis=1))
    R1, t1, _, _, _ = adjust(w, fixed=1)
    for k in range(len(R)):
        assert rotation_deg(R1[k] @ R[k].T) < 0.01
        assert np.linalg.norm(t1[k] - t[k]) < 1e-3
