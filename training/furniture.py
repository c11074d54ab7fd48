"""Modelled furniture for the synthetic rooms: Sweet Home 3D's furniture libraries from Debian.

Debian's `sweethome3d-furniture` (CC-BY 3.0 and CC0; fetched with `apt-get download` into training/cache, never
shipped) holds about 800 textured OBJ models of real furniture - sofas, beds, kitchens, shelves, lamps, plants -
each with its real width, height and depth. Random rooms built from them look far more like real rooms than
boxes do, and their depth is still exact. Doors, windows, outdoor things, vehicles and people are left out.
"""
from __future__ import annotations

import pickle
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from arsdk.scene import FLOATS_PER_VERTEX, PHOTO, SOLID, MeshPiece
from training.photos import CACHE, fetch_debian_package

PACKAGE = "sweethome3d-furniture"
UNPACKED = CACHE / PACKAGE
INDOOR = {"Living room", "Bedroom", "Kitchen", "Bathroom", "Office", "Miscellaneous", "Lights"}
MAX_OBJ_BYTES = 6_000_000   # the few larger models are trees and cars
MAX_TRIANGLES = 80_000
TEXTURE_SIZE = 128
LIBRARY_VERSION = 1


def read_catalog(text: str) -> list[dict[str, str]]:
    """The pieces of a PluginFurnitureCatalog.properties file: one dict of its keys (name, model, width...) each."""
    pieces: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if "#" not in line or "=" not in line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        field, _, index = key.partition("#")
        if index.isdigit():
            pieces.setdefault(index, {})[field] = value.strip()
    return [pieces[k] for k in sorted(pieces, key=int)]


DEFAULT_MATERIAL = {"kd": (0.6, 0.6, 0.6), "map": None, "opacity": 1.0}  # for names no .mtl defines


def parse_mtl(text: str) -> dict[str, dict]:
    """Material name -> {"kd": (r, g, b), "map": texture file or None, "opacity": d}."""
    out, cur = {}, None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "newmtl":
            cur = out.setdefault(" ".join(parts[1:]), dict(DEFAULT_MATERIAL))
        elif cur is None:
            continue
        elif parts[0] == "Kd" and len(parts) >= 4:
            cur["kd"] = tuple(float(v) for v in parts[1:4])
        elif parts[0] == "map_Kd" and len(parts) >= 2:
            cur["map"] = parts[-1]  # options such as -s come first; the file name is last
        elif parts[0] == "d" and len(parts) >= 2:
            cur["opacity"] = float(parts[1])
        elif parts[0] == "Tr" and len(parts) >= 2:
            cur["opacity"] = 1.0 - float(parts[1])
    return out


def parse_obj(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray, list[str]]:
    """Triangles of an OBJ: positions (n,3,3), uvs (n,3,2; 0 where absent), normals (n,3,3; the face normal where
    absent), material index per triangle (n,) into the returned names, and its mtllib files."""
    v, vt, vn = [], [], []
    tri_v, tri_t, tri_n, tri_m = [], [], [], []
    materials, mtllibs, cur = [], [], -1
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        head, _, rest = line.partition(" ")
        if head == "v":
            v.append(rest.split()[:3])
        elif head == "vt":
            vt.append((rest.split() + ["0"])[:2])
        elif head == "vn":
            vn.append(rest.split()[:3])
        elif head == "f":
            corners = [(c.split("/") + ["", ""])[:3] for c in rest.split()]
            idx = [[int(a) if a else 0 for a in c] for c in corners]
            for k in range(1, len(idx) - 1):  # fan: polygons are convex in these models
                a, b, c = idx[0], idx[k], idx[k + 1]
                tri_v.append((a[0], b[0], c[0]))
                tri_t.append((a[1], b[1], c[1]))
                tri_n.append((a[2], b[2], c[2]))
                tri_m.append(cur)
        elif head == "usemtl":
            name = rest.strip()
            if name not in materials:
                materials.append(name)
            cur = materials.index(name)
        elif head == "mtllib":
            mtllibs.append(rest.strip())

    def gather(table, refs, width):
        """Rows of table for OBJ's 1-based (or, if negative, counted from the end) indices; zeros and False where
        a corner has no index for it."""
        arr = np.asarray(table, np.float32).reshape(-1, width)
        refs = np.asarray(refs, np.int64).reshape(-1, 3)
        refs = np.where(refs < 0, refs + len(arr) + 1, refs)
        ok = (refs > 0) & (refs <= len(arr))
        padded = np.vstack([np.zeros((1, width), np.float32), arr])  # row 0: what a missing index reads
        return padded[np.where(ok, refs, 0)], ok.all(1)

    pos, _ = gather(v, tri_v, 3)
    uv, _ = gather(vt, tri_t, 2)
    face_n = np.cross(pos[:, 1] - pos[:, 0], pos[:, 2] - pos[:, 0])
    face_n /= np.linalg.norm(face_n, axis=1, keepdims=True) + 1e-12
    nrm, has_n = gather(vn, tri_n, 3)
    nrm[~has_n] = face_n[~has_n][:, None, :]
    return pos, uv, nrm, materials, np.asarray(tri_m, np.int64), mtllibs


def _texture(zf: zipfile.ZipFile, path: str) -> np.ndarray | None:
    try:
        bgr = cv2.imdecode(np.frombuffer(zf.read(path), np.uint8), cv2.IMREAD_COLOR)
    except KeyError:
        return None
    if bgr is None:
        return None
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_AREA)


def load_piece(zf: zipfile.ZipFile, entry: dict[str, str]) -> MeshPiece | None:
    """One catalog entry as a MeshPiece in metres (its model rotated as the catalog says, then stretched to the
    catalog's width x height x depth); None if it is too large to render cheaply or has no visible triangles."""
    model = entry["model"].lstrip("/")
    info = zf.getinfo(model)
    if info.file_size > MAX_OBJ_BYTES:
        return None
    pos, uv, nrm, names, mat_idx, mtllibs = parse_obj(zf.read(model).decode("latin-1"))
    if not 0 < len(pos) <= MAX_TRIANGLES:
        return None
    folder = model.rsplit("/", 1)[0] + "/" if "/" in model else ""
    mtl: dict[str, dict] = {}
    for lib in mtllibs:
        try:
            mtl.update(parse_mtl(zf.read(folder + lib).decode("latin-1")))
        except KeyError:
            pass
    if "modelRotation" in entry:  # row-major 3x3 the catalog applies to the model's points
        rot = np.asarray(entry["modelRotation"].split(), np.float32).reshape(3, 3)
        pos, nrm = pos @ rot.T, nrm @ rot.T
    size = np.array([float(entry["width"]), float(entry["height"]), float(entry["depth"])]) / 100.0
    lo, hi = pos.reshape(-1, 3).min(0), pos.reshape(-1, 3).max(0)
    scale = size / np.maximum(hi - lo, 1e-6)
    pos = (pos - lo) * scale - np.float32([size[0] / 2, 0, size[2] / 2])
    nrm = nrm / scale  # a stretch turns normals by the inverse scale
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True) + 1e-12

    keep = np.ones(len(pos), bool)
    material = np.zeros((len(pos), 3, 10), np.float32)  # colour a 3, colour b 3, pattern, scale, layer, person
    textures: list[np.ndarray] = []
    for m, name in enumerate(names + [None]):
        sel = mat_idx == (m if name is not None else -1)
        if not sel.any():
            continue
        props = mtl.get(name, DEFAULT_MATERIAL)
        if props["opacity"] < 0.5:  # glass: a depth camera mostly sees through it too
            keep &= ~sel
            continue
        tex = _texture(zf, folder + props["map"]) if props["map"] else None
        kd = np.clip(np.asarray(props["kd"], np.float32), 0, 1)
        if tex is not None:
            material[sel] = [*kd, *kd, PHOTO, 1.0, len(textures), 0.0]
            textures.append(tex)
        else:
            material[sel] = [*kd, *(0.85 * kd), SOLID, 1.0, 0.0, 0.0]
    if not keep.any():
        return None
    n = int(keep.sum())
    uv = uv[keep].copy()
    uv[..., 1] = 1.0 - uv[..., 1]  # OBJ's v counts up from the image's bottom row; the layers start at the top
    verts = np.concatenate([pos[keep], nrm[keep], uv, material[keep]], axis=-1).reshape(n * 3, FLOATS_PER_VERTEX)
    top = float(entry["dropOnTopElevation"]) / 100.0 if "dropOnTopElevation" in entry else None
    tex_stack = np.stack(textures) if textures else np.zeros((0, TEXTURE_SIZE, TEXTURE_SIZE, 3), np.uint8)
    return MeshPiece(entry.get("name", model), np.ascontiguousarray(verts, np.float32), tuple(float(s) for s in size),
                     tex_stack, top if top and top > 0.05 else None)


def fetch_furniture(log=print) -> list[Path]:
    """The .sh3f furniture libraries of Debian's sweethome3d-furniture (about 120 MB, fetched once)."""
    if not fetch_debian_package(PACKAGE, UNPACKED, log):
        return []
    return sorted((UNPACKED / "usr/share/sweethome3d/furniture").glob("*.sh3f"))


def furniture_library(log=print) -> list[MeshPiece]:
    """All indoor pieces of the furniture libraries, loaded once and cached in training/cache; [] (reported) when
    the package cannot be fetched, so the rooms fall back to boxes and tables."""
    cache = CACHE / f"furniture_v{LIBRARY_VERSION}.pkl"
    if cache.is_file():
        with open(cache, "rb") as f:
            return pickle.load(f)
    libraries = fetch_furniture(log)
    if not libraries:
        log("  no modelled furniture: rooms use boxes, tables and cylinders only")
        return []
    pieces: list[MeshPiece] = []
    skipped, t0 = 0, time.perf_counter()
    for lib in libraries:
        with zipfile.ZipFile(lib) as zf:
            entries = read_catalog(zf.read("PluginFurnitureCatalog.properties").decode("latin-1"))
            for entry in entries:
                if entry.get("category") not in INDOOR or entry.get("doorOrWindow") == "true" or "model" not in entry:
                    continue
                piece = load_piece(zf, entry)
                if piece is None:
                    skipped += 1
                else:
                    pieces.append(piece)
        log(f"  {lib.name}: {len(pieces)} pieces so far, {skipped} skipped ({time.perf_counter() - t0:.0f} s)")
    with open(cache, "wb") as f:
        pickle.dump(pieces, f, protocol=pickle.HIGHEST_PROTOCOL)
    return pieces


if __name__ == "__main__":
    lib = furniture_library()
    tris = np.array([len(p.vertices) // 3 for p in lib])
    print(f"{len(lib)} pieces, triangles median {np.median(tris):.0f}, max {tris.max()}, "
          f"{sum(len(p.textures) for p in lib)} texture layers")
