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
    if mask.size and (np.nanmin(mask) < 0.0 or np.nanmax(mask) > 1.0):
        raise InputError(f"{name}: values must lie in [0, 1], got [{np.nanmin(mask):.3g}, {np.nanmax(mask):.3g}]")
    return mask
