"""Depth-anchored stickers: a click (or `place(state, x, y)`) finds the world point and surface normal there;
a textured quad (any PNG with alpha) lies on that surface, sized in metres, hidden where nearer geometry
covers it, and stays at its world position frame after frame."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arsdk.errors import InputError
from arsdk.geometry import unproject_pixels
from arsdk.render import image_projection

from . import Effect, Params, register

DEFAULT_IMAGE = Path(__file__).resolve().parent / "assets" / "sticker.png"
WORLD_UP = np.array([0.0, 1.0, 0.0])


@dataclass
class StickerParams(Params):
    size: float = 0.35           # edge length in metres
    image: str = ""              # PNG with alpha; empty = the shipped default
    lift: float = 0.005          # metres off the surface, against z-fighting
    occlusion_tolerance: float = 0.03  # metres (plus 2% of depth) before nearer geometry hides the sticker
    max_stickers: int = 32       # the oldest goes when one more is placed
    RANGES = {"size": (0.01, 20.0), "lift": (0.0, 0.5), "occlusion_tolerance": (0.0, 1.0), "max_stickers": (1, 1024)}


@dataclass
class Sticker:
    """A placed sticker in world coordinates (metres): centre, unit normal, and the in-plane 'up' of the image.
    anchor: the pipeline's anchor under it (when the pipeline tracks the camera), whose position is refined as
    the camera moves; the sticker then sits `lift` off it along the normal."""

    center: np.ndarray
    normal: np.ndarray
    up: np.ndarray
    size: float
    anchor: object | None = None
    lift: float = 0.0

    @property
    def position(self) -> np.ndarray:
        """The centre now: the anchor lifted off the surface (where it lies on the depth shown, against which the
        sticker is drawn and hidden), or where it was placed."""
        if self.anchor is None:
            return self.center
        at = self.anchor.position if self.anchor.shown is None else self.anchor.shown
        return np.asarray(at, np.float64) + self.normal * self.lift

    def corners(self) -> np.ndarray:
        """4x3 world corners: bottom-left, bottom-right, top-right, top-left (as the image is seen)."""
        right = np.cross(self.up, self.normal)
        h = self.size / 2
        c, u, r = self.position, self.up * h, right * h
        return np.array([c - r - u, c + r - u, c + r + u, c - r + u])


def surface_at(depth: np.ndarray, intr, x: float, y: float, radius: int = 9):
    """Camera-frame point and unit normal (facing the camera) of the surface at pixel (x, y): a plane fitted
    to the depth around it, keeping only pixels on the same surface as the centre."""
    h, w = depth.shape
    if not (0 <= x < w and 0 <= y < h):
        raise InputError(f"pixel ({x}, {y}): outside the {w}x{h} frame")
    xi, yi = int(round(x)), int(round(y))
    x0, x1, y0, y1 = max(xi - radius, 0), min(xi + radius + 1, w), max(yi - radius, 0), min(yi + radius + 1, h)
    patch = depth[y0:y1, x0:x1]
    centre = depth[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2]
    centre = centre[np.isfinite(centre) & (centre > 0)]
    if centre.size == 0:
        raise InputError(f"pixel ({x}, {y}): depth unknown there; pick another point")
    z0 = float(np.median(centre))
    vv, uu = np.mgrid[y0:y1, x0:x1]
    same = np.isfinite(patch) & (patch > 0) & (np.abs(patch - z0) < 0.05 * z0 + 0.02)
    pts = unproject_pixels(np.stack([uu[same], vv[same]], -1), patch[same], intr)
    point = unproject_pixels([[x, y]], [z0], intr)[0]
    if len(pts) < 6:
        return point, -point / np.linalg.norm(point)  # no surface to fit: face the camera
    centred = pts - pts.mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][2]
    if normal @ point > 0:
        normal = -normal
    return point, normal / np.linalg.norm(normal)


@register
class StickerEffect(Effect):
    name = "sticker"
    Params = StickerParams
    shader = "copy.frag"

    def __init__(self, params=None, **overrides):
        super().__init__(params, **overrides)
        self.stickers: list[Sticker] = []
        self._anchor_sets: dict[int, object] = {}  # sticker id -> the AnchorSet holding its anchor
        self.image = self._load_image(self.params.image or DEFAULT_IMAGE)

    @staticmethod
    def _load_image(path) -> np.ndarray:
        import cv2

        data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if data is None:
            raise InputError(f"sticker image {path}: missing or not a readable image")
        if data.ndim == 2:
            data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGRA)
        elif data.shape[2] == 3:
            data = cv2.cvtColor(data, cv2.COLOR_BGR2BGRA)
        rgba = cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA)
        if rgba.dtype != np.uint8:
            rgba = (rgba / max(float(rgba.max()), 1.0) * 255).astype(np.uint8)
        return rgba

    def place(self, state, x: float, y: float, size: float | None = None) -> Sticker:
        """Place a sticker on the surface seen at pixel (x, y) of `state`; returns it (world coordinates)."""
        if state.camera_to_world is None:
            raise InputError("sticker: no world frame yet (the floor has not been found); try again shortly")
        point, normal = surface_at(state.depth, state.intrinsics, x, y)
        c2w = np.asarray(state.camera_to_world, np.float64)
        R, t = c2w[:3, :3], c2w[:3, 3]
        n_w = R @ normal
        center = R @ point + t + n_w * self.params.lift
        if abs(n_w @ WORLD_UP) > 0.7:  # floor, table: the image's top points away from the camera
            up = center - t
        else:                          # walls: the image stands upright
            up = WORLD_UP.copy()
        up = up - (up @ n_w) * n_w
        if np.linalg.norm(up) < 1e-6:
            up = np.cross(n_w, [1.0, 0.0, 0.0])
        anchors = getattr(state, "anchors", None)
        anchor = anchors.add(R @ point + t, (x, y)) if anchors is not None else None
        sticker = Sticker(center, n_w, up / np.linalg.norm(up), float(size or self.params.size), anchor,
                          self.params.lift)
        self._anchor_sets[id(sticker)] = anchors
        self.stickers.append(sticker)
        for old in self.stickers[:-self.params.max_stickers]:
            self._release(old)
        del self.stickers[:-self.params.max_stickers]
        return sticker

    def _release(self, sticker: Sticker):
        anchors = self._anchor_sets.pop(id(sticker), None)
        if anchors is not None and sticker.anchor is not None:
            anchors.remove(sticker.anchor)

    def clear(self):
        for sticker in self.stickers:
            self._release(sticker)
        self.stickers.clear()

    def on_key(self, key):
        if key == "c":
            self.clear()
            return True
        return False

    def on_click(self, state, x, y):
        try:
            self.place(state, x, y)
        except InputError as exc:
            import logging

            logging.getLogger(__name__).warning("%s", exc)
            return False
        return True

    def setup(self, renderer):
        ctx = renderer.ctx
        self._prog = renderer.shaders.program("sticker.frag", "sticker.vert")
        self._tex = ctx.texture((self.image.shape[1], self.image.shape[0]), 4, np.ascontiguousarray(self.image))
        self._tex.build_mipmaps()
        self._vbo = ctx.buffer(reserve=6 * 5 * 4 * self.params.max_stickers)
        self._vao = ctx.vertex_array(self._prog, [(self._vbo, "3f 2f", "in_world", "in_uv")])

    def _vertices(self) -> np.ndarray:
        uv = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32)  # image row 0 is the sticker's top
        out = []
        for s in self.stickers:
            c = s.corners().astype(np.float32)
            for i in (0, 1, 2, 0, 2, 3):
                out.append(np.concatenate([c[i], uv[i]]))
        return np.array(out, np.float32)

    def render(self, renderer, source, target):
        renderer.run_pass(renderer.shaders.program("copy.frag"), target, source)
        if not self.stickers or renderer.state.camera_to_world is None:
            return
        verts = self._vertices()
        self._vbo.orphan(max(verts.nbytes, 6 * 5 * 4 * self.params.max_stickers))
        self._vbo.write(verts.tobytes())
        prog = self._prog
        renderer.bind_common(prog, source)
        prog["u_projection"].write(image_projection(renderer.state.intrinsics).T.tobytes())
        self._tex.use(4)
        prog["u_sticker"].value = 4
        prog["u_tolerance"].value = self.params.occlusion_tolerance
        target.use()
        ctx = renderer.ctx
        ctx.enable(ctx.BLEND)
        ctx.blend_func = ctx.SRC_ALPHA, ctx.ONE_MINUS_SRC_ALPHA
        self._vao.render(vertices=len(verts))
        ctx.disable(ctx.BLEND)
