"""Bundle adjustment over a short window of views: camera poses and the points they share, refined together.

Plain numpy, Gauss-Newton with Levenberg-Marquardt damping and the Schur complement (points are eliminated, so the
system solved is 6 unknowns a view). Small by design: a handful of views and a few hundred points, a few
milliseconds. Each point also keeps a weak prior on its distance from the camera that first saw it (the depth
model's word), which holds the window's scale where the views alone cannot.

Conventions as everywhere in arsdk: camera x right, y down, z forward; poses are world-to-camera (R, t) here, as
the projection uses them.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Window:
    """What the adjustment works on. rotations Vx3x3 and translations Vx3 world-to-camera; points Nx3 world;
    observations: view index, point index (M each) and the Mx2 pixel; K the 3x3 camera matrix; prior_origin Nx3
    and prior_distance N: each point's distance from that centre as the depth gave it."""

    rotations: np.ndarray
    translations: np.ndarray
    points: np.ndarray
    view: np.ndarray
    point: np.ndarray
    pixel: np.ndarray
    K: np.ndarray
    prior_origin: np.ndarray
    prior_distance: np.ndarray


def _skew(v: np.ndarray) -> np.ndarray:
    """Mx3 -> Mx3x3 cross-product matrices."""
    out = np.zeros(v.shape[:-1] + (3, 3))
    out[..., 0, 1], out[..., 0, 2], out[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    out[..., 1, 0], out[..., 2, 0], out[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return out


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Rows of values (M x ...) summed by index (M, in [0, n)) -> n x ... (np.add.at, a column at a time: faster)."""
    flat = values.reshape(len(values), -1)
    out = np.stack([np.bincount(index, flat[:, i], minlength=n) for i in range(flat.shape[1])], 1)
    return out.reshape((n,) + values.shape[1:])


def _residuals(w: Window, R, t, X, huber_px: float, prior_share: float):
    """(Mx2 reprojection residuals in px, M robust weights, N prior residuals, camera-frame points Mx3, cost)."""
    pc = (R[w.view] @ X[w.point][:, :, None])[:, :, 0] + t[w.view]
    z = np.maximum(pc[:, 2], 1e-6)
    K = w.K
    uv = np.stack([K[0, 0] * pc[:, 0] / z + K[0, 2], K[1, 1] * pc[:, 1] / z + K[1, 2]], 1)
    r = uv - w.pixel
    norm = np.linalg.norm(r, axis=1)
    weight = np.where(norm > huber_px, huber_px / np.maximum(norm, 1e-12), 1.0)
    dist = np.linalg.norm(X - w.prior_origin, axis=1)
    prior = (dist - w.prior_distance) / (prior_share * w.prior_distance)
    robust = np.where(norm > huber_px, huber_px * (2 * norm - huber_px), norm ** 2)
    return r, weight, prior, pc, float(robust.sum() + (prior ** 2).sum())


def adjust(w: Window, fixed: int = 1, iterations: int = 5, huber_px: float = 1.0,
           prior_share: float = 0.15) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Refine the poses of all views but the first `fixed` (they hold the window in place) and all points ->
    (rotations, translations, points, cost before, cost after). prior_share: how far off (a share of the
    distance) the depth's distance is taken to be, at one pixel's weight."""
    V, N = len(w.rotations), len(w.points)
    R, t, X = w.rotations.copy(), w.translations.copy(), w.points.copy()
    fx, fy = w.K[0, 0], w.K[1, 1]
    lam = 1e-3
    r, weight, prior, pc, cost = _residuals(w, R, t, X, huber_px, prior_share)
    first = cost
    free = V - fixed
    for _ in range(iterations):
        z = np.maximum(pc[:, 2], 1e-6)
        jp = np.zeros((len(z), 2, 3))
        jp[:, 0, 0], jp[:, 0, 2] = fx / z, -fx * pc[:, 0] / z ** 2
        jp[:, 1, 1], jp[:, 1, 2] = fy / z, -fy * pc[:, 1] / z ** 2
        # a pose moves as R <- exp(dr) R, t <- exp(dr) t + dt: the point in the camera by -[pc]x dr + dt
        j_pose = np.concatenate([jp @ -_skew(pc), jp], axis=2)          # Mx2x6
        j_point = jp @ R[w.view]                                        # Mx2x3
        jw_pose = (j_pose * weight[:, None, None]).transpose(0, 2, 1)  # Mx6x2
        jw_point = (j_point * weight[:, None, None]).transpose(0, 2, 1)
        Hpp = _sum_by(w.view, jw_pose @ j_pose, V)
        bp = _sum_by(w.view, (jw_pose @ r[:, :, None])[:, :, 0], V)
        Hll = _sum_by(w.point, jw_point @ j_point, N)
        bl = _sum_by(w.point, (jw_point @ r[:, :, None])[:, :, 0], N)
        diff = X - w.prior_origin
        jprior = diff / (np.linalg.norm(diff, axis=1, keepdims=True) * (prior_share * w.prior_distance)[:, None])
        Hll += jprior[:, :, None] * jprior[:, None, :]
        bl += jprior * prior[:, None]
        Hpl = np.zeros((V, N, 6, 3))
        Hpl[w.view, w.point] = jw_pose @ j_point  # a view sees a point once
        while True:
            Hll_d = Hll + lam * np.eye(3) * (np.einsum("nii->ni", Hll)[:, :, None] + 1e-9)
            Hll_inv = np.linalg.inv(Hll_d)
            E = Hpl[fixed:] @ Hll_inv                                   # free views only
            S = np.zeros((free, 6, free, 6))
            S[np.arange(free), :, np.arange(free), :] = Hpp[fixed:] + lam * (
                np.einsum("vii->vi", Hpp[fixed:])[:, :, None] * np.eye(6) + 1e-9 * np.eye(6))
            # points eliminated: S -= sum over points of E_vn Hpl_wn^T, as one matrix product
            S -= (E.transpose(0, 2, 1, 3).reshape(6 * free, -1)
                  @ Hpl[fixed:].transpose(0, 2, 1, 3).reshape(6 * free, -1).T).reshape(free, 6, free, 6)
            rhs = bp[fixed:] - E.transpose(0, 2, 1, 3).reshape(free, 6, -1) @ bl.reshape(-1)
            try:
                dp = np.linalg.solve(S.reshape(6 * free, 6 * free), -rhs.reshape(-1)).reshape(free, 6)
            except np.linalg.LinAlgError:
                return w.rotations, w.translations, w.points, first, first
            coupled = (Hpl[fixed:].transpose(1, 3, 0, 2).reshape(N * 3, -1) @ dp.reshape(-1)).reshape(N, 3)
            dl = -(Hll_inv @ (bl + coupled)[:, :, None])[:, :, 0]
            R2, t2 = R.copy(), t.copy()
            for k in range(free):
                dR = cv2.Rodrigues(dp[k, :3])[0]
                R2[fixed + k] = dR @ R[fixed + k]
                t2[fixed + k] = dR @ t[fixed + k] + dp[k, 3:]
            X2 = X + dl
            r2, weight2, prior2, pc2, cost2 = _residuals(w, R2, t2, X2, huber_px, prior_share)
            if cost2 < cost:
                R, t, X, r, weight, prior, pc, cost = R2, t2, X2, r2, weight2, prior2, pc2, cost2
                lam = max(lam / 10, 1e-7)
                break
            lam *= 10
            if lam > 1e4:
                return R, t, X, first, cost
    return R, t, X, first, cost
