"""Camera intrinsics, unprojection, normals, floor plane and the gravity-aligned world frame.

Conventions: camera frame x right, y down, z forward (OpenCV); world frame y up, floor at y = 0.
Depth is metres along z. Pure functions on numpy arrays except `WorldFrameTracker`, which holds state.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError, check_depth

CAMERA_UP = np.array([0.0, -1.0, 0.0])  # "up" in the OpenCV camera frame of an upright camera


@dataclass(frozen=True, kw_only=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for an image of width x height (pixel centre of column 0 at u = 0).

    Keyword-only (`Intrinsics(fx=..., fy=..., cx=..., cy=..., width=..., height=...)`): the libraries disagree on
    the order (Open3D's is width, height, fx, fy, cx, cy), and a swapped fx and width is silently wrong.
    distortion: OpenCV's coefficients (k1, k2, p1, p2[, k3...]); the pipeline undistorts frames with them."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] = field(default=(), compare=False)

    def __post_init__(self):
        if not (isinstance(self.width, (int, np.integer)) and isinstance(self.height, (int, np.integer))
                and self.width > 0 and self.height > 0):
            raise InputError(f"Intrinsics: width and height must be positive whole numbers of pixels, got "
                             f"{self.width!r} x {self.height!r}")
        if not (self.fx > 0 and self.fy > 0 and math.isfinite(self.fx) and math.isfinite(self.fy)):
            raise InputError(f"Intrinsics: fx and fy must be positive and finite, got fx={self.fx}, fy={self.fy}")
        if not (math.isfinite(self.cx) and math.isfinite(self.cy)):
            raise InputError(f"Intrinsics: cx and cy must be finite, got cx={self.cx}, cy={self.cy}")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in self.distortion):
            raise InputError(f"Intrinsics: distortion coefficients must be finite numbers, got {self.distortion}")

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float, vfov_deg: float | None = None) -> "Intrinsics":
        """Intrinsics of a centred pinhole with horizontal FOV in degrees (square pixels unless vfov given)."""
        if not 1.0 <= hfov_deg <= 179.0:
            raise InputError(f"hfov_deg: expected a field of view in (1, 179) degrees, got {hfov_deg}")
        fx = 0.5 * width / math.tan(math.radians(hfov_deg) / 2)
        fy = fx if vfov_deg is None else 0.5 * height / math.tan(math.radians(vfov_deg) / 2)
        return cls(fx=fx, fy=fy, cx=(width - 1) / 2, cy=(height - 1) / 2, width=int(width), height=int(height))

    @classmethod
    def from_matrix(cls, K, width: int, height: int, distortion=()) -> "Intrinsics":
        try:
            K = np.asarray(K, dtype=np.float64)
            dist = tuple(float(v) for v in np.asarray(distortion, dtype=np.float64).ravel())
        except (TypeError, ValueError) as exc:
            raise InputError(f"camera matrix and distortion: expected numbers ({exc})") from None
        if K.shape != (3, 3):
            raise InputError(f"camera matrix: expected 3x3, got shape {K.shape}")
        return cls(fx=float(K[0, 0]), fy=float(K[1, 1]), cx=float(K[0, 2]), cy=float(K[1, 2]), width=int(width),
                   height=int(height), distortion=dist)

    @classmethod
    def from_calibration(cls, path) -> "Intrinsics":
        """Read an OpenCV calibration file (yaml or json): camera matrix, distortion, image size.

        Accepts OpenCV FileStorage files (keys camera_matrix / K, distortion_coefficients / dist_coeffs / D,
        image_width, image_height) and plain JSON with the same keys.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"calibration file {path}: not found")
        data = _read_calibration(path)
        K = _first(data, ("camera_matrix", "K", "cameraMatrix", "intrinsic_matrix"), path)
        dist = _first(data, ("distortion_coefficients", "dist_coeffs", "D", "distCoeffs"), path, required=False)
        try:
            width = int(_first(data, ("image_width", "width"), path))
            height = int(_first(data, ("image_height", "height"), path))
        except InputError:
            size = _first(data, ("image_size", "imageSize"), path, required=False)
            if size is None:
                raise InputError(f"calibration file {path}: no image size (expected image_width and image_height, "
                                 "width and height, or image_size)") from None
            width, height = (int(v) for v in np.asarray(size).ravel()[:2])
        try:
            K = np.asarray(K, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"calibration file {path}: the camera matrix is not numbers") from None
        if K.size != 9:
            raise InputError(f"calibration file {path}: the camera matrix has {K.size} numbers, expected 3x3")
        return cls.from_matrix(K.reshape(3, 3), width, height, () if dist is None else dist)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(0.5 * self.width / self.fx))

    def scaled(self, width: int, height: int) -> "Intrinsics":
        """The same camera seen at another resolution (pixel-centre convention preserved)."""
        sx, sy = width / self.width, height / self.height
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=(self.cx + 0.5) * sx - 0.5,
                       cy=(self.cy + 0.5) * sy - 0.5, width=int(width), height=int(height))

    def cropped(self, left: int, top: int, width: int, height: int) -> "Intrinsics":
        """The same camera seen through a width x height window whose top-left pixel is (left, top)."""
        if not (0 <= left and 0 <= top and 0 < width <= self.width - left and 0 < height <= self.height - top):
            raise InputError(f"crop {width}x{height} at ({left}, {top}): expected a window inside the "
                             f"{self.width}x{self.height} image")
        return replace(self, cx=self.cx - left, cy=self.cy - top, width=int(width), height=int(height))

    def matching(self, width: int, height: int, name: str = "frame") -> "Intrinsics":
        """These intrinsics for a frame of width x height: rescaled if only the resolution differs.

        Raises InputError when the aspect ratio differs, since then they belong to another camera or crop.
        """
        if (width, height) == (self.width, self.height):
            return self
        if abs(width / height - self.width / self.height) > 0.01 * self.width / self.height:
            raise InputError(f"{name}: {width}x{height} does not match intrinsics for {self.width}x{self.height} "
                             f"(aspect {width / height:.3f} vs {self.width / self.height:.3f}); pass intrinsics "
                             "for this camera, e.g. Intrinsics.from_fov(width, height, hfov_deg=...)")
        return self.scaled(width, height)

    def gl_projection(self, near: float = 0.05, far: float = 100.0) -> np.ndarray:
        """4x4 OpenGL projection taking OpenCV camera coordinates to clip space (row 0 of the image at the top)."""
        w, h = self.width, self.height
        a, b = (far + near) / (far - near), -2 * far * near / (far - near)
        return np.array([[2 * self.fx / w, 0, 2 * (self.cx + 0.5) / w - 1, 0],
                         [0, -2 * self.fy / h, 1 - 2 * (self.cy + 0.5) / h, 0],
                         [0, 0, a, b],
                         [0, 0, 1, 0]], dtype=np.float32)


def _read_calibration(path: Path) -> dict:
    text = path.read_text(errors="replace")
    if path.suffix.lower() == ".json" and not text.lstrip().startswith("%"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # OpenCV FileStorage JSON has the same syntax; fall through to cv2 below
    import cv2

    if not text.strip():
        raise InputError(f"calibration file {path}: the file is empty")
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # malformed (OpenCV wraps some parse errors in SystemError)
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        raise InputError(f"calibration file {path}: not a readable OpenCV yaml/json file (a %YAML:1.0 header and "
                         f"camera_matrix, image_width, image_height are expected){': ' + detail if detail else ''}"
                         ) from None
    if not fs.isOpened():
        raise InputError(f"calibration file {path}: not a readable OpenCV yaml/json file")
    out = {}
    try:
        for key in fs.root().keys():
            node = fs.getNode(key)
            if node.isSeq():
                out[key] = [node.at(i).real() for i in range(node.size())]
            elif node.isMap():
                out[key] = node.mat()
            elif node.isReal() or node.isInt():
                out[key] = node.real()
            elif node.isString():
                out[key] = node.string()
    except cv2.error as exc:  # an opencv-matrix without rows, cols, dt or data
        raise InputError(f"calibration file {path}: entry {key!r} is not a complete opencv-matrix "
                         "(rows, cols, dt and data are expected)") from exc
    finally:
        fs.release()
    return out


def _first(data: dict, keys, path, required=True):
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    if required:
        raise InputError(f"calibration file {path}: none of the keys {', '.join(keys)} found")
    return None


# ----------------------------------------------------------------------------- unprojection


def pixel_rays(intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Per-column x/z and per-row y/z factors: a camera point is (rx[u] * z, ry[v] * z, z)."""
    rx = (np.arange(intr.width, dtype=np.float32) - intr.cx) / intr.fx
    ry = (np.arange(intr.height, dtype=np.float32) - intr.cy) / intr.fy
    return rx, ry


def ray_descent(intr: Intrinsics, up: np.ndarray, top: int = 0, bottom: int | None = None) -> np.ndarray:
    """How far each pixel's ray descends along `up` (float32 unit 3-vector, camera axes) per metre of z, for rows
    top:bottom (HxW float32): a pixel of depth z lies z times that below the camera, and a floor `height` below it
    meets the ray at z = height / descent where the descent is positive."""
    rx, ry = pixel_rays(intr)
    return np.add.outer(-(up[1] * ry[top:bottom] + up[2]), -up[0] * rx)


def unproject(depth: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """HxW depth (m) -> HxWx3 float32 camera-frame points (NaN where depth is 0 or NaN)."""
    check_depth(depth)
    if depth.shape != (intr.height, intr.width):
        raise InputError(f"depth: shape {depth.shape} does not match intrinsics {intr.height}x{intr.width}")
    z = np.where(depth > 0, depth, np.nan).astype(np.float32)
    rx, ry = pixel_rays(intr)
    return np.stack([z * rx[None, :], z * ry[:, None], z], axis=-1)


def sample_points(depth: np.ndarray, intr: Intrinsics, stride: int = 8) -> np.ndarray:
    """Camera-frame points of every `stride`-th pixel: an (H/stride) x (W/stride) x 3 grid, NaN where unknown."""
    rx, ry = pixel_rays(intr)
    z = depth[stride // 2::stride, stride // 2::stride]
    z = np.where(z > 0, z, np.nan)
    rx, ry = rx[stride // 2::stride], ry[stride // 2::stride]
    return np.stack([z * rx[None, :], z * ry[:, None], z], axis=-1)


def unproject_pixels(uv: np.ndarray, z: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Nx2 pixel coordinates and N depths (m) -> Nx3 camera-frame points."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    return np.stack([(uv[:, 0] - intr.cx) / intr.fx * z, (uv[:, 1] - intr.cy) / intr.fy * z, z], axis=-1)


def project(points: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Nx3 camera-frame points -> Nx2 pixel coordinates."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.stack([intr.fx * p[:, 0] / p[:, 2] + intr.cx, intr.fy * p[:, 1] / p[:, 2] + intr.cy], axis=-1)


def normals_from_points(points: np.ndarray) -> np.ndarray:
    """HxWx3 point map -> HxWx3 unit normals facing the camera (NaN where undefined)."""
    if points.ndim != 3 or points.shape[2] != 3:
        raise InputError(f"points: expected HxWx3, got {points.shape}")
    p = np.pad(points, ((1, 1), (1, 1), (0, 0)), mode="edge")
    dx = p[1:-1, 2:] - p[1:-1, :-2]
    dy = p[2:, 1:-1] - p[:-2, 1:-1]
    # the cross product by components: np.cross on a grid costs twice as much (this runs on every frame)
    n = np.empty(points.shape, np.float32)
    n[..., 0] = dx[..., 1] * dy[..., 2] - dx[..., 2] * dy[..., 1]
    n[..., 1] = dx[..., 2] * dy[..., 0] - dx[..., 0] * dy[..., 2]
    n[..., 2] = dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]
    norm = np.sqrt(np.einsum("...c,...c->...", n, n))
    toward = np.einsum("...c,...c->...", n, points) > 0  # normals point back toward the camera
    with np.errstate(invalid="ignore", divide="ignore"):
        n *= (np.where(toward, np.float32(-1.0), np.float32(1.0)) / norm)[..., None]
    return n


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to ...x3 points."""
    m = np.asarray(matrix, dtype=np.float64)
    return (points @ m[:3, :3].T + m[:3, 3]).astype(np.float32)


def warp_pixels(depth: np.ndarray, intr: Intrinsics, source_to_target: np.ndarray,
                target: Intrinsics | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each known pixel of `depth` lands in another camera (the 4x4 `source_to_target`, metres): (flat target
    index, flat source index, depth along the target z), ordered far to near, so writing them in order leaves the
    nearest surface on every target pixel. Pixels behind the target camera or outside its image are left out."""
    target = target or intr
    pts = unproject(depth, intr).reshape(-1, 3)
    src = np.flatnonzero(np.isfinite(pts[:, 2]))
    pts = transform_points(source_to_target, pts[src])
    front = pts[:, 2] > 1e-3
    pts, src = pts[front], src[front]
    uv = np.round(project(pts, target)).astype(np.int64)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < target.width) & (uv[:, 1] >= 0) & (uv[:, 1] < target.height)
    uv, z, src = uv[inside], pts[inside, 2], src[inside]
    # far to near by depth in millimetres (to 65 m): numpy sorts 16-bit keys by radix, 10x faster than floats,
    # and this runs on every frame the tracker carries a late depth into
    key = (np.float32(65535) - np.minimum(z * np.float32(1000), np.float32(65535))).astype(np.uint16)
    far_first = np.argsort(key, kind="stable")
    return uv[far_first, 1] * target.width + uv[far_first, 0], src[far_first], z[far_first]


def warp_depth(depth: np.ndarray, intr: Intrinsics, source_to_target: np.ndarray,
               target: Intrinsics | None = None) -> np.ndarray:
    """Depth seen by one camera as another sees it: each known pixel moved by the 4x4 `source_to_target`
    (source camera frame -> target camera frame, metres) lands on its nearest target pixel, the nearest surface
    wins, and target pixels nothing reaches are 0 (unknown). Returns target-sized float32 depth along the target z."""
    target = target or intr
    dst, _, z = warp_pixels(depth, intr, source_to_target, target)
    out = np.zeros(target.height * target.width, np.float32)
    out[dst] = z
    return out.reshape(target.height, target.width)


MIN_CARRIED_DEPTH_M = 0.05  # nearer than this, a carried point is one the camera has come up to (`follow_depth`)


def follow_depth(depth: np.ndarray, intr: Intrinsics, source_to_target: np.ndarray) -> np.ndarray:
    """Depth (HxW metres, 0 unknown) carried to a camera that moved a little (the 4x4 `source_to_target`, metres):
    the image warped by the homography of the rotation and of the translation at the depth's median distance,
    and each value turned to the new camera's z. No holes and 0.4 ms at 640x480, where `warp_depth` moves
    every pixel by its own depth; the price is the parallax of what lies nearer or farther than the median, small
    over the frame or two a depth result lags behind the camera."""
    m = np.asarray(source_to_target, np.float64)
    R, t = m[:3, :3], m[:3, 3]
    sample = depth[::8, ::8]
    sample = sample[sample > 0]
    if sample.size == 0:
        return depth
    K = intr.matrix
    H = K @ (R + np.outer(t, (0.0, 0.0, 1.0 / float(np.median(sample))))) @ np.linalg.inv(K)
    out = cv2.warpPerspective(depth, H, (intr.width, intr.height), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_REPLICATE)
    unknown = out <= 0
    # a source point at depth z lies at z / (R^T ray)_z along the target's z (ray: the target pixel's, at z = 1),
    # shifted by the translation's z
    rx, ry = pixel_rays(intr)
    along = np.add.outer(np.float32(R[1, 2]) * ry + np.float32(R[2, 2]), np.float32(R[0, 2]) * rx)
    out /= along
    out += np.float32(t[2])
    # what the camera has come up to or passed is not in view: unknown, not a depth of millimetres or below zero
    # (the live app's depth, 1-3 frames late on the HoloLens walk, held such pixels on dozens of frames); nor is
    # what lies where `along` (the ray's length times the cosine of its angle off the source camera's axis) is
    # under 0.35, over 70 degrees off that axis: outside any webcam's view, its value the border's, which the
    # division made kilometres (a depth 6 frames late, turned far: 1100 km)
    out[unknown | (out < np.float32(MIN_CARRIED_DEPTH_M)) | (along < np.float32(0.35))] = 0.0
    return out


# ----------------------------------------------------------------------------- floor plane


def angle_deg(a, b) -> float:
    """Angle between two directions (3-vectors of any length) in degrees."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


@dataclass(frozen=True)
class FloorPlane:
    """Plane n . p + d = 0 in camera coordinates, n a unit normal pointing up (toward the camera side).

    `d` is then the camera's height above the floor in metres; `inlier_ratio` the share of sampled points on it;
    `visible` False when the floor is not in view and the plane is assumed from gravity and a camera height.
    """

    normal: np.ndarray
    d: float
    inlier_ratio: float = 1.0
    visible: bool = True

    @property
    def camera_height(self) -> float:
        return float(self.d)

    def height_of(self, points: np.ndarray) -> np.ndarray:
        """Signed height (m) above the floor of ...x3 camera-frame points."""
        return points @ self.normal.astype(np.float32) + np.float32(self.d)

    def angle_to(self, other: "FloorPlane") -> float:
        return angle_deg(self.normal, other.normal)


def fit_floor_plane(points: np.ndarray, *, up_hint=CAMERA_UP, max_tilt_deg: float = 60.0,
                    threshold: float = 0.03, iterations: int = 128, max_points: int = 3000, score_points: int = 800,
                    min_inlier_ratio: float = 0.04, normal_tolerance_deg: float = 20.0,
                    relative_support: float = 0.5, normals: np.ndarray | None = None,
                    rng: np.random.Generator | None = None) -> FloorPlane | None:
    """RANSAC floor: the lowest well-supported plane whose normal is within max_tilt_deg of up_hint.

    points: camera-frame points in metres (NaN ignored), either Nx3 or an HxWx3 grid; for a grid, a point
    supports a plane only if its local surface normal agrees within normal_tolerance_deg, so slanted planes
    cutting through wall corners find no support (`normals`: the grid's, if already computed). Returns None when
    no such plane exists.
    Tables are also horizontal planes; among candidates with at least `relative_support` of the best support,
    the one farthest below the camera wins. The refined plane is held to max_tilt_deg too.
    """
    rng = rng or np.random.default_rng(0)
    pts = np.asarray(points, dtype=np.float32)
    nrm = None if pts.ndim != 3 else (normals_from_points(pts) if normals is None else normals).reshape(-1, 3)
    pts = pts.reshape(-1, 3)
    ok = np.isfinite(pts).all(axis=1)
    if nrm is not None:
        ok &= np.isfinite(nrm).all(axis=1)
        nrm = nrm[ok]
    pts = pts[ok]
    if len(pts) < 50:
        return None
    keep = rng.permutation(len(pts))[:max_points]  # random order: the first score_points are a fair sample
    pts = pts[keep]
    nrm = nrm[keep] if nrm is not None else None
    up = np.asarray(up_hint, dtype=np.float64)
    up = up / np.linalg.norm(up)
    scale = float(np.median(pts[:, 2]))
    thr = threshold * max(1.0, scale / 3.0)  # depth noise grows with distance

    cos_tilt = math.cos(math.radians(max_tilt_deg))
    if nrm is not None:
        # hypotheses from single points and their own normals: a floor covering a tenth of the view is
        # then proposed by a tenth of the samples, not by a thousandth as with random triplets
        upward = np.flatnonzero(np.abs(nrm @ up) > cos_tilt)
        if len(upward) < 10:
            return None
        pick = upward[rng.integers(0, len(upward), size=iterations)]
        n = nrm[pick].astype(np.float64)
        base = pts[pick].astype(np.float64)
        ok = np.ones(len(n), bool)
    else:
        tri = pts[rng.integers(0, len(pts), size=(iterations, 3))].astype(np.float64)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        norm = np.linalg.norm(n, axis=1)
        ok = norm > 1e-9
        n[ok] /= norm[ok, None]
        base = tri[:, 0]
    n *= np.where(n @ up < 0, -1.0, 1.0)[:, None]
    ok &= (n @ up) > cos_tilt
    d = -np.einsum("ij,ij->i", n, base)
    ok &= d > 0.05  # the floor lies below the camera
    if not ok.any():
        return None
    n, d = n[ok].astype(np.float32), d[ok].astype(np.float32)
    # hypotheses are scored on a subset (a plane's support share is estimated as well by 800 points as by
    # 3000, at a quarter of the cost); the winner is refined on all points
    m = min(len(pts), score_points)
    # both tests in one m x K buffer: a fresh array for each step took 0.45 of this function's 1.2 ms (every frame)
    buf = pts[:m] @ n.T
    buf += d
    inlier = np.abs(buf, out=buf) < thr
    if nrm is not None:
        facing = np.abs(np.matmul(nrm[:m], n.T, out=buf), out=buf)
        inlier &= facing > math.cos(math.radians(normal_tolerance_deg))
    support = inlier.sum(axis=0)
    good = support >= max(relative_support * support.max(), min_inlier_ratio * m)
    if not good.any():
        return None
    best = int(np.argmax(np.where(good, d, -np.inf)))
    plane = _refine_plane(pts, n[best].astype(np.float64), float(d[best]), thr, up, nrm, normal_tolerance_deg)
    if plane is None:
        return None
    normal, dd = plane
    if normal @ up < cos_tilt or dd <= 0.05:  # refinement may swing a candidate onto a wall (NYU's right wall)
        return None
    ratio = float(np.mean(np.abs(pts @ normal.astype(np.float32) + np.float32(dd)) < thr))
    return FloorPlane(normal.astype(np.float64), float(dd), ratio)


def _refine_plane(pts, n, d, thr, up, nrm=None, normal_tolerance_deg=20.0, rounds: int = 2):
    for _ in range(rounds):
        sel = np.abs(pts @ n + d) < thr
        if nrm is not None:
            sel &= np.abs(nrm @ n) > math.cos(math.radians(normal_tolerance_deg))
        inl = pts[sel]
        if len(inl) < 10:
            return None
        centroid = inl.mean(axis=0)
        _, _, vt = np.linalg.svd(inl - centroid, full_matrices=False)
        n = vt[2].astype(np.float64)
        if n @ up < 0:
            n = -n
        d = -float(n @ centroid)
    return n, d


def camera_to_world_from_floor(plane: FloorPlane) -> np.ndarray:
    """4x4 camera-to-world transform: world y = floor normal, floor at y = 0, origin under the camera,
    world x = the camera's x axis laid onto the floor (so the world does not yaw with the plane's noise)."""
    y = np.asarray(plane.normal, dtype=np.float64)
    x = np.array([1.0, 0.0, 0.0]) - y[0] * y
    if np.linalg.norm(x) < 1e-6:  # camera x axis vertical: use z instead
        x = np.array([0.0, 0.0, 1.0]) - y[2] * y
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    R = np.stack([x, y, z])
    origin = -plane.d * y  # foot of the camera on the floor, in camera coordinates
    m = np.eye(4)
    m[:3, :3] = R
    m[:3, 3] = -R @ origin
    return m


class WorldFrameTracker:
    """Keeps the floor-anchored world frame still while the camera is still.

    Per-frame RANSAC planes jitter (by a fraction of a degree on good depth, by degrees on poor monocular
    depth). The tracker follows the median of the last `window` planes and moves only when that median leaves
    a dead band; a large change agreed on by the last `snap_frames` planes (the camera moved) is taken at once.
    """

    def __init__(self, deadband_deg: float = 1.5, deadband_m: float = 0.02, snap_deg: float = 8.0,
                 snap_m: float = 0.15, window: int = 9, snap_frames: int = 3):
        from collections import deque

        self.deadband_deg, self.deadband_m = deadband_deg, deadband_m
        self.snap_deg, self.snap_m, self.snap_frames = snap_deg, snap_m, snap_frames
        self._history: deque[FloorPlane] = deque(maxlen=window)
        self.plane: FloorPlane | None = None

    def reset(self):
        self._history.clear()
        self.plane = None

    @staticmethod
    def _median(planes) -> FloorPlane:
        n = np.median(np.stack([p.normal for p in planes]), axis=0)
        return FloorPlane(n / np.linalg.norm(n), float(np.median([p.d for p in planes])),
                          float(np.median([p.inlier_ratio for p in planes])), planes[-1].visible)

    def _far(self, a: FloorPlane, b: FloorPlane) -> bool:
        return a.angle_to(b) >= self.snap_deg or abs(a.d - b.d) >= self.snap_m

    def update(self, measured: FloorPlane | None) -> FloorPlane | None:
        """Feed this frame's plane (or None when not found); return the plane to use."""
        if measured is None:
            return self.plane
        self._history.append(measured)
        recent = list(self._history)[-self.snap_frames:]
        if self.plane is not None and len(recent) == self.snap_frames and all(self._far(p, self.plane)
                                                                              for p in recent):
            if not any(self._far(p, recent[-1]) for p in recent):  # they agree among themselves: a real move
                self._history.clear()
                self._history.extend(recent)
        robust = self._median(self._history)
        if (self.plane is None or robust.angle_to(self.plane) > self.deadband_deg
                or abs(robust.d - self.plane.d) > self.deadband_m):
            self.plane = robust
        elif self.plane.visible != measured.visible:  # the plane holds still; whether it is seen is news
            self.plane = replace(self.plane, visible=measured.visible)
        return self.plane
