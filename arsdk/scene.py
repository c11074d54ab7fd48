"""Synthetic indoor rooms rendered with moderngl, with exact metric depth, person mask and intrinsics.

One generator serves the built-in "demo" source (a fixed room, a slowly moving camera) and the training
data of our depth model (random rooms, textures, lights, camera heights, pitches and FOVs).
World frame: y up, floor at y = 0, metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .geometry import Intrinsics

# ----------------------------------------------------------------------------- materials and meshes

SOLID, CHECKER, PLANKS, TILES, PHOTO = 0, 1, 2, 3, 4
FLOATS_PER_VERTEX = 18  # position 3, normal 3, uv 2, colour a 3, colour b 3, material 4


@dataclass(frozen=True)
class Material:
    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    pattern: int = SOLID
    scale: float = 1.0      # pattern repeats per metre (ignored for PHOTO, whose uv spans the face)
    layer: int = 0          # photo texture layer
    person: bool = False


class MeshBuilder:
    """Accumulates triangles with baked materials into one interleaved float32 vertex array."""

    def __init__(self):
        self._chunks: list[np.ndarray] = []

    def _emit(self, pos, nrm, uv, mat: Material):
        n = len(pos)
        attrs = np.empty((n, FLOATS_PER_VERTEX), np.float32)
        attrs[:, 0:3], attrs[:, 3:6], attrs[:, 6:8] = pos, nrm, uv
        attrs[:, 8:11], attrs[:, 11:14] = mat.color_a, mat.color_b
        attrs[:, 14:18] = (mat.pattern, mat.scale, mat.layer, 1.0 if mat.person else 0.0)
        self._chunks.append(attrs)

    def quad(self, origin, edge_u, edge_v, mat: Material, normal=None):
        """Parallelogram origin + s*edge_u + t*edge_v; uv in metres (or 0..1 for photos)."""
        o, eu, ev = (np.asarray(a, np.float64) for a in (origin, edge_u, edge_v))
        nrm = np.cross(eu, ev) if normal is None else np.asarray(normal, np.float64)
        nrm = nrm / np.linalg.norm(nrm)
        corners = np.array([o, o + eu, o + eu + ev, o + ev])
        lu, lv = (1.0, 1.0) if mat.pattern == PHOTO else (np.linalg.norm(eu), np.linalg.norm(ev))
        uvs = np.array([[0, 0], [lu, 0], [lu, lv], [0, lv]], np.float64)
        idx = [0, 1, 2, 0, 2, 3]
        self._emit(corners[idx], np.repeat(nrm[None], 6, 0), uvs[idx], mat)

    def box(self, center, size, mat: Material, yaw: float = 0.0, inward: bool = False, skip=()):
        """Axis-aligned box (rotated by yaw about y); inward=True gives a room seen from inside.
        skip: face names among +x -x +y -y +z -z not to emit."""
        c, s = np.asarray(center, np.float64), np.asarray(size, np.float64) / 2
        cy, sy = math.cos(yaw), math.sin(yaw)
        rot = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        faces = {"+x": (0, 1), "-x": (0, -1), "+y": (1, 1), "-y": (1, -1), "+z": (2, 1), "-z": (2, -1)}
        for name, (axis, sign) in faces.items():
            if name in skip:
                continue
            a1, a2 = [a for a in range(3) if a != axis]
            n = np.zeros(3)
            n[axis] = sign
            o = -s.copy()
            o[axis] = sign * s[axis]
            eu, ev = np.zeros(3), np.zeros(3)
            eu[a1], ev[a2] = 2 * s[a1], 2 * s[a2]
            if np.dot(np.cross(eu, ev), n) < 0:
                eu, ev = ev, eu
            if inward:
                n = -n
                eu, ev = ev, eu
            self.quad(c + rot @ o, rot @ eu, rot @ ev, mat, normal=rot @ n)

    def cylinder(self, base, radius: float, height: float, mat: Material, segments: int = 20):
        b = np.asarray(base, np.float64)
        ang = np.linspace(0, 2 * math.pi, segments + 1)
        for a0, a1 in zip(ang[:-1], ang[1:]):
            p0 = b + radius * np.array([math.cos(a0), 0, math.sin(a0)])
            p1 = b + radius * np.array([math.cos(a1), 0, math.sin(a1)])
            mid = 0.5 * (a0 + a1)
            self.quad(p1, p0 - p1, [0, height, 0], mat, normal=[math.cos(mid), 0, math.sin(mid)])
            top = b + [0, height, 0]
            self._emit(np.array([top, p1 + [0, height, 0], p0 + [0, height, 0]]),
                       np.repeat([[0, 1, 0]], 3, 0), np.zeros((3, 2)), mat)

    def sphere(self, center, radius: float, mat: Material, rings: int = 10, segments: int = 16):
        c = np.asarray(center, np.float64)
        th = np.linspace(0, math.pi, rings + 1)
        ph = np.linspace(0, 2 * math.pi, segments + 1)
        grid = np.stack(np.meshgrid(th, ph, indexing="ij"), -1)
        n = np.stack([np.sin(grid[..., 0]) * np.cos(grid[..., 1]), np.cos(grid[..., 0]),
                      np.sin(grid[..., 0]) * np.sin(grid[..., 1])], -1)
        tris = []
        for i in range(rings):
            for j in range(segments):
                a, b, cc, d = n[i, j], n[i + 1, j], n[i + 1, j + 1], n[i, j + 1]
                tris += [a, d, cc, a, cc, b]
        nrm = np.array(tris)
        self._emit(c + radius * nrm, nrm, np.zeros((len(nrm), 2)), mat)

    def add(self, vertices: np.ndarray):
        """Append ready-made triangles (n x FLOATS_PER_VERTEX), e.g. a placed MeshPiece."""
        self._chunks.append(np.asarray(vertices, np.float32))

    def array(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros((0, FLOATS_PER_VERTEX), np.float32)


# ----------------------------------------------------------------------------- rooms


@dataclass
class Room:
    """A furnished room: its vertex array, its lights, and what a camera path needs to know of it."""

    vertices: np.ndarray
    size: tuple[float, float, float]  # width (x), height (y), depth (z) in metres; floor spans x, z in [0, size]
    lights: list[tuple[tuple[float, float, float], tuple[float, float, float]]]
    ambient: tuple[float, float, float] = (0.25, 0.25, 0.27)
    photos: np.ndarray | None = None  # L x 256 x 256 x 3 uint8 photo texture layers
    person_box: tuple | None = None   # (x, z, radius) of the person, if any
    furniture: list = field(default_factory=list)  # (x, z, half-x, half-z) footprints


@dataclass(frozen=True)
class MeshPiece:
    """A modelled piece of furniture for random rooms (training/furniture.py loads a library of them): triangles in
    its own metric frame, footprint centred on x = z = 0, standing on y = 0, front toward +z; PHOTO materials
    number their layers from 0 within `textures`."""

    name: str
    vertices: np.ndarray              # n x FLOATS_PER_VERTEX
    size: tuple[float, float, float]  # width (x), height (y), depth (z) in metres
    textures: np.ndarray              # T x S x S x 3 uint8 photo layers (T may be 0)
    top: float | None = None          # height in metres where things can stand on it

    def placed(self, x: float, z: float, yaw: float, layer_offset: int, y: float = 0.0) -> np.ndarray:
        """Its triangles turned by yaw about y (as MeshBuilder.box turns), moved to (x, y, z), its photo layers
        shifted to where its textures start in the room's layer stack."""
        v = self.vertices.copy()
        c, s = math.cos(yaw), math.sin(yaw)
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)
        v[:, 0:3] = v[:, 0:3] @ rot.T + np.float32([x, y, z])
        v[:, 3:6] = v[:, 3:6] @ rot.T
        v[v[:, 14] == PHOTO, 16] += layer_offset
        return v


def _place_piece(rng, pieces, W, D, footprints) -> tuple[MeshPiece, float, float, float, tuple] | None:
    """A piece and where it stands: most against a wall with its back to it, as rooms are furnished, the rest
    anywhere at any angle; None if it found no free floor after a few tries."""
    piece = pieces[int(rng.integers(0, len(pieces)))]
    w, _, d = piece.size
    for _ in range(8):
        if rng.random() < 0.65:
            wall = int(rng.integers(0, 4))  # back to z=0, x=0, z=D, x=W
            yaw = wall * math.pi / 2
            hx, hz = (w / 2, d / 2) if wall % 2 == 0 else (d / 2, w / 2)
            if min(W - 2 * hx, D - 2 * hz) <= 0:
                continue
            along = rng.uniform(hx, W - hx) if wall % 2 == 0 else rng.uniform(hz, D - hz)
            x, z = {0: (along, hz + 0.02), 1: (hx + 0.02, along),
                    2: (along, D - hz - 0.02), 3: (W - hx - 0.02, along)}[wall]
        else:
            yaw = float(rng.uniform(0, 2 * math.pi))
            hx = hz = math.hypot(w, d) / 2
            if min(W, D) <= 2 * hx:
                continue
            x, z = rng.uniform(hx, W - hx), rng.uniform(hz, D - hz)
        if not any(abs(x - fx) < hx + fhx and abs(z - fz) < hz + fhz for fx, fz, fhx, fhz in footprints):
            return piece, float(x), float(z), float(yaw), (float(x), float(z), hx, hz)
    return None


def _add_piece(mb: MeshBuilder, rng, pieces, small, W, D, footprints: list, layers: list):
    """Place one modelled piece (and maybe a small one on top of it); its textures join `layers`."""
    spot = _place_piece(rng, pieces, W, D, footprints)
    if spot is None:
        return
    piece, x, z, yaw, footprint = spot
    mb.add(piece.placed(x, z, yaw, sum(len(t) for t in layers)))
    layers.append(piece.textures)
    footprints.append(footprint)
    if piece.top and small and rng.random() < 0.7:  # a lamp, a plant, a pot on it
        thing = small[int(rng.integers(0, len(small)))]
        du, dv = rng.uniform(-0.3, 0.3, 2) * np.array(piece.size)[[0, 2]]
        c, s = math.cos(yaw), math.sin(yaw)
        mb.add(thing.placed(x + c * du + s * dv, z - s * du + c * dv, float(rng.uniform(0, 2 * math.pi)),
                            sum(len(t) for t in layers), piece.top))
        layers.append(thing.textures)


def _rgb(rng, lo=0.2, hi=0.9):
    return tuple(float(v) for v in rng.uniform(lo, hi, 3))


def _random_material(rng, n_photos: int, allow_photo=True) -> Material:
    pattern = int(rng.choice([SOLID, CHECKER, PLANKS, TILES, PHOTO] if (allow_photo and n_photos) else
                             [SOLID, CHECKER, PLANKS, TILES]))
    a = _rgb(rng)
    b = tuple(float(np.clip(v * rng.uniform(0.5, 1.2) + rng.normal(0, 0.08), 0, 1)) for v in a)
    return Material(a, b, pattern, float(rng.uniform(1.5, 8.0)), int(rng.integers(0, max(n_photos, 1))))


def _add_table(mb: MeshBuilder, x, z, w, d, h, top: Material, legs: Material):
    mb.box((x, h - 0.02, z), (w, 0.04, d), top)
    for sx in (-1, 1):
        for sz in (-1, 1):
            mb.box((x + sx * (w / 2 - 0.05), (h - 0.04) / 2, z + sz * (d / 2 - 0.05)), (0.05, h - 0.04, 0.05), legs)


def _add_person(mb: MeshBuilder, x, z, height=1.72, shirt=(0.15, 0.3, 0.6), skin=(0.85, 0.65, 0.52)):
    body = Material(shirt, tuple(0.7 * c for c in shirt), SOLID, person=True)
    pants = Material((0.15, 0.15, 0.2), (0.1, 0.1, 0.14), SOLID, person=True)
    head = Material(skin, tuple(0.85 * c for c in skin), SOLID, person=True)
    k = height / 1.72
    for sx in (-0.09, 0.09):
        mb.cylinder((x + sx * k, 0, z), 0.075 * k, 0.85 * k, pants)
    mb.cylinder((x, 0.82 * k, z), 0.19 * k, 0.6 * k, body)
    mb.sphere((x, 1.42 * k, z), 0.17 * k, body, rings=6, segments=12)  # shoulders
    mb.cylinder((x, 1.40 * k, z), 0.06 * k, 0.14 * k, head)             # neck
    mb.sphere((x, 1.62 * k, z), 0.11 * k, head)
    for sx in (-0.25, 0.25):
        mb.cylinder((x + sx * k, 0.78 * k, z), 0.05 * k, 0.62 * k, body)


def demo_photos(size: int = 256) -> np.ndarray:
    """Three procedural 'paintings' for the demo room, so the runtime needs no image files."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = []
    for k, (c1, c2) in enumerate([((0.9, 0.5, 0.2), (0.1, 0.3, 0.6)), ((0.2, 0.6, 0.3), (0.95, 0.9, 0.7)),
                                  ((0.7, 0.1, 0.3), (0.2, 0.2, 0.25))]):
        t = 0.5 + 0.5 * np.sin(6 * xx * (k + 1) + 4 * yy) * np.cos(5 * yy - 3 * xx * k)
        img = (1 - t)[..., None] * np.array(c1) + t[..., None] * np.array(c2)
        img[np.hypot(xx - 0.35 - 0.1 * k, yy - 0.4) < 0.15] = (0.95, 0.85, 0.2)
        out.append((img * 255).astype(np.uint8))
    return np.stack(out)


def demo_room() -> Room:
    """The fixed room of the "demo" source: wooden floor, a table, a cabinet, a sofa, posters and a person."""
    W, H, D = 5.0, 2.7, 6.0
    mb = MeshBuilder()
    mb.quad((0, 0, D), (W, 0, 0), (0, 0, -D), Material((0.55, 0.38, 0.22), (0.35, 0.22, 0.12), PLANKS, 5.0))
    walls = Material((0.82, 0.80, 0.74), (0.74, 0.72, 0.68), SOLID)
    mb.box((W / 2, H / 2, D / 2), (W, H, D), walls, inward=True, skip=("-y",))
    _add_table(mb, 2.0, 2.6, 1.2, 0.8, 0.75, Material((0.6, 0.45, 0.3), (0.45, 0.3, 0.2), PLANKS, 9.0),
               Material((0.2, 0.2, 0.2), (0.1, 0.1, 0.1)))
    mb.box((0.35, 0.45, 4.6), (0.6, 0.9, 1.4), Material((0.3, 0.35, 0.45), (0.25, 0.3, 0.4), CHECKER, 3.0))
    sofa = Material((0.55, 0.2, 0.18), (0.45, 0.15, 0.12))
    mb.box((3.6, 0.22, 0.6), (1.8, 0.44, 0.8), sofa)
    mb.box((3.6, 0.55, 0.25), (1.8, 0.5, 0.2), sofa)
    mb.quad((1.2, 0.003, 3.6), (1.8, 0, 0), (0, 0, -2.0), Material((0.7, 0.7, 0.7), (0.5, 0.5, 0.5), TILES, 4.0),
            normal=(0, 1, 0))
    for k, (x0, y0) in enumerate([(0.8, 1.2), (2.6, 1.1), (4.0, 1.3)]):
        mb.quad((x0, y0, 0.01), (0.9, 0, 0), (0, 0.7, 0), Material((1, 1, 1), (1, 1, 1), PHOTO, layer=k),
                normal=(0, 0, 1))
    _add_person(mb, 3.1, 2.0)
    lights = [((1.5, 2.5, 3.0), (0.9, 0.85, 0.8)), ((4.0, 2.4, 4.5), (0.5, 0.55, 0.6))]
    return Room(mb.array(), (W, H, D), lights, photos=demo_photos(), person_box=(3.1, 2.0, 0.3),
                furniture=[(2.0, 2.6, 0.6, 0.4), (0.35, 4.6, 0.3, 0.7), (3.6, 0.5, 0.9, 0.45)])


def random_room(rng: np.random.Generator, photos: np.ndarray | None = None,
                pieces: list[MeshPiece] | None = None) -> Room:
    """A random furnished room for training data: size, materials, furniture, lights, maybe a person. With
    `pieces` (modelled furniture), most furniture is drawn from them, small pieces sometimes standing on others."""
    W, H, D = rng.uniform(3.0, 8.0), rng.uniform(2.3, 3.4), rng.uniform(3.0, 9.0)
    n_photos = 0 if photos is None else len(photos)
    mb = MeshBuilder()
    mb.quad((0, 0, D), (W, 0, 0), (0, 0, -D), _random_material(rng, n_photos, allow_photo=rng.random() < 0.15))
    wall_mat = _random_material(rng, n_photos, allow_photo=rng.random() < 0.25)
    mb.box((W / 2, H / 2, D / 2), (W, H, D), wall_mat, inward=True, skip=("-y",))
    footprints, layers = [], [] if photos is None else [photos]
    small = [p for p in pieces or () if max(p.size[0], p.size[2]) < 0.5 and p.size[1] < 0.6]
    for _ in range(int(rng.integers(2, 9))):
        if pieces and rng.random() < 0.7:
            _add_piece(mb, rng, pieces, small, W, D, footprints, layers)
            continue
        w, d = rng.uniform(0.3, 2.0), rng.uniform(0.3, 1.5)
        x, z = rng.uniform(w / 2, W - w / 2), rng.uniform(d / 2, D - d / 2)
        kind = rng.random()
        if kind < 0.4:
            _add_table(mb, x, z, w, d, rng.uniform(0.4, 1.1), _random_material(rng, n_photos),
                       _random_material(rng, n_photos, allow_photo=False))
        elif kind < 0.8:
            mb.box((x, 0, z), (w, 1.0, d), _random_material(rng, n_photos), yaw=float(rng.uniform(0, math.pi)))
            hgt = rng.uniform(0.3, 2.0)
            mb.box((x, hgt / 2, z), (w, hgt, d), _random_material(rng, n_photos), yaw=float(rng.uniform(-0.5, 0.5)))
        else:
            mb.cylinder((x, 0, z), min(w, d) / 2, rng.uniform(0.3, 1.6), _random_material(rng, n_photos))
        footprints.append((x, z, w / 2, d / 2))
        for _ in range(int(rng.integers(0, 4))):  # clutter: boxes, books, screens on and around furniture
            bw, bh, bd = rng.uniform(0.05, 0.4, 3)
            top = rng.uniform(0.4, 1.1) if kind < 0.4 else 0.0
            mb.box((x + rng.uniform(-w, w) / 2, top + bh / 2, z + rng.uniform(-d, d) / 2), (bw, bh, bd),
                   _random_material(rng, n_photos), yaw=float(rng.uniform(0, math.pi)))
    for _ in range(int(rng.integers(4, 13)) if pieces else 0):  # real rooms are fuller than a few boxes
        _add_piece(mb, rng, pieces, small, W, D, footprints, layers)
    for _ in range(int(rng.integers(1, 6)) if n_photos else 0):
        pw, ph = rng.uniform(0.4, 1.5), rng.uniform(0.3, 1.2)
        x0, y0 = rng.uniform(0, max(W - pw, 0.01)), rng.uniform(0.5, max(H - ph - 0.1, 0.6))
        mb.quad((x0, y0, 0.01), (pw, 0, 0), (0, ph, 0),
                Material((1, 1, 1), (1, 1, 1), PHOTO, layer=int(rng.integers(0, n_photos))), normal=(0, 0, 1))
    person = None
    if rng.random() < 0.4:
        px, pz = rng.uniform(0.5, W - 0.5), rng.uniform(1.0, D - 0.5)
        _add_person(mb, px, pz, rng.uniform(1.5, 1.9), _rgb(rng), _rgb(rng, 0.4, 0.9))
        person = (px, pz, 0.3)
    lights = [((rng.uniform(0.5, W - 0.5), H - 0.2, rng.uniform(0.5, D - 0.5)), _rgb(rng, 0.5, 1.0))
              for _ in range(2)]
    amb = float(rng.uniform(0.1, 0.4))
    layers = [t for t in layers if len(t)]
    if pieces and layers:
        photos = np.concatenate([_square(t, layers[0].shape[1]) for t in layers])
    return Room(mb.array(), (W, H, D), lights, (amb, amb, amb * rng.uniform(0.9, 1.1)), photos, person, footprints)


def _square(layers: np.ndarray, size: int) -> np.ndarray:
    """Photo layers resized to size x size, so textures of any source stack into one texture array."""
    if layers.shape[1:3] == (size, size):
        return layers
    import cv2

    return np.stack([cv2.resize(t, (size, size), interpolation=cv2.INTER_AREA) for t in layers])


# ----------------------------------------------------------------------------- cameras


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """4x4 camera-to-world transform of an OpenCV camera (x right, y down, z forward) at eye looking at target."""
    eye, target = np.asarray(eye, np.float64), np.asarray(target, np.float64)
    f = target - eye
    f /= np.linalg.norm(f)
    r = np.cross(f, np.asarray(up, np.float64))
    r /= np.linalg.norm(r)
    down = np.cross(f, r)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = r, down, f, eye
    return m


def demo_camera_pose(t: float, moving: bool = True) -> np.ndarray:
    """Camera-to-world pose of the demo camera at time t (s): a slow sway across the room, ~1.4 m high."""
    s = t if moving else 0.0
    eye = (2.5 + 0.35 * math.sin(0.25 * s), 1.40 + 0.03 * math.sin(0.4 * s), 5.6)
    target = (2.5 + 0.6 * math.sin(0.18 * s + 0.5), 0.55, 2.2)
    return look_at(eye, target)


def random_camera_pose(room: Room, rng: np.random.Generator) -> np.ndarray:
    """A camera inside the room, 0.5-2 m high, mostly near level, sometimes looking down steeply."""
    W, H, D = room.size
    for _ in range(50):
        eye = np.array([rng.uniform(0.3, W - 0.3), rng.uniform(0.5, min(2.0, H - 0.2)), rng.uniform(0.3, D - 0.3)])
        if not any(abs(eye[0] - x) < hx + 0.2 and abs(eye[2] - z) < hz + 0.2 for x, z, hx, hz in room.furniture):
            break
    # mostly toward the room's far side, as people hold cameras; now and then at a nearby wall
    to_far = np.array([W, 0, D]) - eye
    to_far[0] = W / 2 - eye[0] + rng.uniform(-W / 2, W / 2)
    to_far[2] = (D - eye[2] if eye[2] < D / 2 else -eye[2])
    yaw = math.atan2(to_far[0], to_far[2]) + rng.normal(0, 0.5)
    # most views are hand-held and near level (like a webcam or NYU's Kinect); some look down at a table
    pitch = math.radians(float(np.clip(rng.normal(-10, 8), -40, 15)) if rng.random() < 0.7 else rng.uniform(-45, 10))
    fwd = np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw)])
    m = look_at(eye, eye + fwd)
    roll = math.radians(rng.normal(0, 3))
    cr, sr = math.cos(roll), math.sin(roll)
    m[:3, :3] = m[:3, :3] @ np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return m


# ----------------------------------------------------------------------------- renderer


@dataclass
class SceneView:
    """One rendered view: RGB uint8, depth float32 metres along z, person mask float32 (both None when not read
    back), and the camera."""

    image: np.ndarray
    depth: np.ndarray
    mask: np.ndarray
    intrinsics: Intrinsics
    camera_to_world: np.ndarray


class SceneRenderer:
    """Renders a Room with moderngl into colour + metric depth + person mask (headless EGL by default)."""

    def __init__(self, width: int, height: int, ctx=None, samples_photo: int = 256):
        import moderngl

        from . import shaders

        from .render import CurrentContext

        self.ctx = ctx or moderngl.create_standalone_context(backend="egl")
        self.current = CurrentContext(self.ctx)
        self.width, self.height = width, height
        self.prog = self.ctx.program(vertex_shader=shaders.load_source("scene.vert"),
                                     fragment_shader=shaders.load_source("scene.frag"))
        self._color = self.ctx.texture((width, height), 4)
        self._depth = self.ctx.texture((width, height), 1, dtype="f4")
        self._mask = self.ctx.texture((width, height), 1, dtype="f4")
        self.fbo = self.ctx.framebuffer([self._color, self._depth, self._mask],
                                        self.ctx.depth_renderbuffer((width, height)))
        from .render import make_noise_texture

        self._noise = make_noise_texture(self.ctx)
        self._room = None
        self._vao = self._vbo = self._photos = None
        self._photo_size = samples_photo

    def set_room(self, room: Room):
        with self.current:
            self._set_room(room)

    def _set_room(self, room: Room):
        if self._vbo is not None:
            self._vao.release()
            self._vbo.release()
        self._vbo = self.ctx.buffer(room.vertices.astype(np.float32).tobytes())
        self._vao = self.ctx.vertex_array(self.prog, [(self._vbo, "3f 3f 2f 3f 3f 4f", "in_position", "in_normal",
                                                       "in_uv", "in_color_a", "in_color_b", "in_material")])
        photos = room.photos if room.photos is not None else demo_photos(self._photo_size)[:1]
        if self._photos is not None:
            self._photos.release()
        L, h, w = photos.shape[:3]
        self._photos = self.ctx.texture_array((w, h, L), 3, np.ascontiguousarray(photos).tobytes())
        self._photos.build_mipmaps()
        self._room = room

    def render(self, camera_to_world: np.ndarray, intr: Intrinsics, ground_truth: bool = True) -> SceneView:
        """Render the current room from an OpenCV camera pose (4x4 camera-to-world); ground_truth=False skips
        reading back depth and mask (None in the view), which a live preview does not need."""
        with self.current:
            return self._render(camera_to_world, intr, ground_truth)

    def _render(self, camera_to_world: np.ndarray, intr: Intrinsics, ground_truth: bool) -> SceneView:
        import moderngl

        if self._room is None:
            raise RuntimeError("SceneRenderer.render: call set_room first")
        intr = intr.matching(self.width, self.height, "scene renderer")
        view = np.linalg.inv(camera_to_world).astype(np.float32)
        self.prog["u_view"].write(view.T.tobytes())
        self.prog["u_projection"].write(intr.gl_projection(0.05, 50.0).T.tobytes())
        lights = self._room.lights
        self.prog["u_light_pos"].write(np.array([p for p, _ in lights], np.float32).tobytes())
        self.prog["u_light_color"].write(np.array([c for _, c in lights], np.float32).tobytes())
        self.prog["u_ambient"].value = tuple(self._room.ambient)
        self.prog["u_eye"].value = tuple(float(v) for v in camera_to_world[:3, 3])
        self._photos.use(0)
        self.prog["u_photos"].value = 0
        from .render import bind_noise

        bind_noise(self.prog, self._noise)
        self.fbo.use()
        self.fbo.clear(0, 0, 0, 0, depth=1.0)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.CULL_FACE)
        self._vao.render()
        w, h = self.width, self.height
        rgb = np.frombuffer(self.fbo.read(components=3, attachment=0), np.uint8).reshape(h, w, 3)[::-1]
        depth = mask = None
        if ground_truth:
            depth = np.ascontiguousarray(np.frombuffer(self.fbo.read(components=1, attachment=1, dtype="f4"),
                                                       np.float32).reshape(h, w)[::-1])
            mask = np.ascontiguousarray(np.frombuffer(self.fbo.read(components=1, attachment=2, dtype="f4"),
                                                      np.float32).reshape(h, w)[::-1])
        return SceneView(np.ascontiguousarray(rgb), depth, mask, intr, np.asarray(camera_to_world, np.float64))

    def release(self):
        for obj in (self._noise, self._vao, self._vbo, self._photos, self.fbo, self._color, self._depth, self._mask,
                    self.prog):
            if obj is not None:
                obj.release()
