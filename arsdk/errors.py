"""Exceptions raised by arsdk, and the input checks that raise them."""
from __future__ import annotations

import numpy as np


class ArsdkError(Exception):
    """Base class of every error arsdk raises on purpose."""


class InputError(ArsdkError, ValueError):
    """An argument has the wrong type, dtype, shape or value."""


class ModelError(ArsdkError, RuntimeError):
    """A model file is missing, corrupt, or not what its spec says."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """A model that must be fetched at setup is not in the cache."""


class SourceError(ArsdkError, RuntimeError):
    """A frame source cannot be opened or has failed for good."""


class SinkError(ArsdkError, RuntimeError):
    """An output (a video file, a virtual camera) cannot take frames or could not be finished."""


def check_fields(settings, checks) -> None:
    """Raise InputError naming the first failed check of a settings object: checks are (field name, passed,
    what was expected), and the message reads "<Class>.<field>: expected <what>, got <value>"."""
    for name, ok, expected in checks:
        if not ok:
            raise InputError(f"{type(settings).__name__}.{name}: expected {expected}, got {getattr(settings, name)!r}")


def check_image(image, name: str = "image") -> np.ndarray:
    """Return `image` if it is an HxWx3 uint8 RGB array with H, W > 0; raise InputError otherwise."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected a numpy array HxWx3 uint8 RGB, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"{name}: expected shape HxWx3 (RGB), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"{name}: expected a non-empty image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise InputError(f"{name}: expected dtype uint8 (0..255), got {image.dtype}")
    return image


def check_depth(depth, name: str = "depth") -> np.ndarray:
    """Return `depth` if it is an HxW float32 array of metres (0 or NaN = unknown)."""
    if not isinstance(depth, np.ndarray):
        raise InputError(f"{name}: expected a numpy array HxW float32 metres, got {type(depth).__name__}")
    if depth.ndim != 2 or depth.size == 0:
        raise InputError(f"{name}: expected a non-empty HxW array, got shape {depth.shape}")
    if depth.dtype != np.float32:
        raise InputError(f"{name}: expected dtype float32 metres, got {depth.dtype}")
    return depth


def check_mask(mask, name: str = "mask") -> np.ndarray:
    """Return `mask` if it is an HxW float32 array in [0, 1]."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.float32:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise InputError(f"{name}: expected an HxW float32 array in [0, 1], got {got}")
    if mask.size and not np.isfinite(mask).all():
        raise InputError(f"{name}: values must be finite numbers in [0, 1], got NaN or infinity")
    if mask.size and (mask.min() < 0.0 or mask.max() > 1.0):
        raise InputError(f"{name}: values must lie in [0, 1] (scale a 0..255 mask by 1/255), got "
                         f"[{mask.min():.3g}, {mask.max():.3g}]")
    return mask


def check_pose(matrix, name: str = "pose") -> np.ndarray:
    """Return `matrix` as a float64 4x4 rigid transform (rotation, translation, last row 0 0 0 1)."""
    m = np.asarray(matrix, dtype=np.float64) if isinstance(matrix, (np.ndarray, list, tuple)) else None
    if m is None or m.shape != (4, 4):
        raise InputError(f"{name}: expected a 4x4 camera-to-world matrix, got "
                         f"{getattr(m, 'shape', type(matrix).__name__)}")
    if not np.isfinite(m).all():
        raise InputError(f"{name}: expected finite numbers, got NaN or infinity")
    R = m[:3, :3]
    if not (np.allclose(R @ R.T, np.eye(3), atol=1e-3) and np.allclose(m[3], (0, 0, 0, 1))
            and np.linalg.det(R) > 0):
        raise InputError(f"{name}: expected a rigid transform (a rotation and a translation, last row 0 0 0 1)")
    return m
