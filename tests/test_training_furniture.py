"""Modelled furniture for the synthetic rooms: the Sweet Home 3D catalog and OBJ/MTL reader, and where random_room
puts the pieces. Built on a tiny library written here, so no Debian package is needed."""
import io
import math
import zipfile

import numpy as np
import pytest

from arsdk.scene import FLOATS_PER_VERTEX, PHOTO, SOLID, MeshPiece, random_room
from training.furniture import load_piece, parse_mtl, parse_obj, read_catalog

CATALOG = """# a comment=with equals
id=lib
name#1=Cube table
category#1=Living room
model#1=/lib/cube/cube.obj
width#1=120
depth#1=60
height#1=75
dropOnTopElevation#1=75
doorOrWindow#1=false
name#2=Door
model#2=/lib/door/door.obj
width#2=90
"""

# a unit cube, two materials: five faces wood-textured (quads, v/vt/vn), the bottom plain red (v only, a negative index)
CUBE_OBJ = """mtllib cube.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 -1
vn 0 0 1
vn -1 0 0
vn 1 0 0
vn 0 1 0
usemtl wood
f 1/1/1 4/4/1 3/3/1 2/2/1
f 5/1/2 6/2/2 7/3/2 8/4/2
f 1/1/3 5/2/3 8/3/3 4/4/3
f 2/1/4 3/4/4 7/3/4 6/2/4
f 4/1/5 8/4/5 7/3/5 3/2/5
usemtl red
f -8 -7 -3 -4
"""

CUBE_MTL = """newmtl wood
Kd 1.0 1.0 1.0
map_Kd -s 1 1 1 wood.png
newmtl red
Kd 0.8 0.1 0.1
newmtl glass
Kd 0.9 0.9 0.9
d 0.2
"""


def _zip() -> zipfile.ZipFile:
    import cv2

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("PluginFurnitureCatalog.properties", CATALOG)
        zf.writestr("lib/cube/cube.obj", CUBE_OBJ)
        zf.writestr("lib/cube/cube.mtl", CUBE_MTL)
        tex = np.zeros((32, 32, 3), np.uint8)
        tex[:16] = (0, 0, 255)  # top half red in BGR
        zf.writestr("lib/cube/wood.png", cv2.imencode(".png", tex)[1].tobytes())
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


def test_catalog_entries_keep_their_fields_and_skip_comments():
    entries = read_catalog(CATALOG)
    assert [e["name"] for e in entries] == ["Cube table", "Door"]
    assert entries[0]["model"] == "/lib/cube/cube.obj" and entries[0]["width"] == "120"
    assert "dropOnTopElevation" not in entries[1]


def test_mtl_colours_textures_and_opacity():
    mtl = parse_mtl(CUBE_MTL)
    assert mtl["wood"]["map"] == "wood.png"  # the -s option is not mistaken for the file
    assert mtl["red"]["kd"] == (0.8, 0.1, 0.1) and mtl["red"]["map"] is None
    assert mtl["glass"]["opacity"] == pytest.approx(0.2)


def test_obj_quads_become_triangles_with_their_materials_and_normals():
    pos, uv, nrm, names, mat, libs = parse_obj(CUBE_OBJ)
    assert pos.shape == (12, 3, 3) and uv.shape == (12, 3, 2) and nrm.shape == (12, 3, 3)
    assert names == ["wood", "red"] and libs == ["cube.mtl"]
    assert (mat[:10] == 0).all() and (mat[10:] == 1).all()
    # the bottom face had no vn: its normal comes from its winding (1 2 6 5 seen from below: -y)
    np.testing.assert_allclose(nrm[10:], np.broadcast_to([0, -1, 0], (2, 3, 3)), atol=1e-6)
    np.testing.assert_allclose(pos[10:].reshape(-1, 3)[:, 1], 0.0)  # negative indices reached vertices 1 2 6 5


def test_a_piece_is_stretched_to_its_catalog_size_and_keeps_its_texture():
    zf = _zip()
    piece = load_piece(zf, read_catalog(CATALOG)[0])
    assert isinstance(piece, MeshPiece)
    assert piece.size == pytest.approx((1.2, 0.75, 0.6)) and piece.top == pytest.approx(0.75)
    v = piece.vertices
    assert v.shape == (36, FLOATS_PER_VERTEX)
    np.testing.assert_allclose(v[:, 0:3].min(0), [-0.6, 0.0, -0.3], atol=1e-6)
    np.testing.assert_allclose(v[:, 0:3].max(0), [0.6, 0.75, 0.3], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v[:, 3:6], axis=1), 1.0, atol=1e-5)
    assert (v[:30, 14] == PHOTO).all() and (v[:30, 16] == 0).all() and (v[30:, 14] == SOLID).all()
    np.testing.assert_allclose(v[30, 8:11], [0.8, 0.1, 0.1], atol=1e-6)
    assert piece.textures.shape[0] == 1
    # OBJ's v runs up from the image's bottom row; the layer's first row is the image's top (red in RGB)
    assert tuple(piece.textures[0, 0, 0]) == (255, 0, 0)
    assert v[0, 7] == pytest.approx(1.0)  # vertex 1 had vt (0, 0): the bottom of the image, row 1.0 here


def test_turning_a_piece_turns_its_normals_and_shifts_its_layers():
    zf = _zip()
    piece = load_piece(zf, read_catalog(CATALOG)[0])
    placed = piece.placed(2.0, 3.0, math.pi / 2, layer_offset=5, y=0.4)
    np.testing.assert_allclose(placed[:, 0:3].min(0), [2.0 - 0.3, 0.4, 3.0 - 0.6], atol=1e-5)
    np.testing.assert_allclose(placed[:, 0:3].max(0), [2.0 + 0.3, 1.15, 3.0 + 0.6], atol=1e-5)
    front = np.isclose(piece.vertices[:, 5], 1.0)  # faces whose normal was +z now face +x
    np.testing.assert_allclose(placed[front, 3:6], np.broadcast_to([1, 0, 0], (front.sum(), 3)), atol=1e-6)
    assert (placed[:30, 16] == 5).all() and (placed[30:, 16] == 0).all()


def test_random_rooms_stand_their_pieces_inside_and_stack_their_textures():
    zf = _zip()
    piece = load_piece(zf, read_catalog(CATALOG)[0])
    photos = np.zeros((3, 256, 256, 3), np.uint8)
    seen = 0
    for seed in range(10):
        room = random_room(np.random.default_rng(seed), photos, [piece])
        W, _, D = room.size
        textured = room.vertices[(room.vertices[:, 14] == PHOTO) & (room.vertices[:, 16] >= 3)]  # the pieces' faces
        pts = textured[:, 0:3]
        if len(pts):  # (the generator's own boxes may poke through a wall; the pieces stand inside)
            assert pts[:, 0].min() >= -1e-4 and pts[:, 0].max() <= W + 1e-4
            assert pts[:, 2].min() >= -1e-4 and pts[:, 2].max() <= D + 1e-4
            assert pts[:, 1].min() >= -1e-4
        layers = room.vertices[room.vertices[:, 14] == PHOTO, 16]
        assert room.photos.shape[1:] == (256, 256, 3) and layers.max() < len(room.photos)
        seen += len(room.photos) - 3
    assert seen > 10  # the piece was placed, again and again, its texture with it


def test_rooms_without_pieces_are_what_they_were():
    a = random_room(np.random.default_rng(3), None)
    b = random_room(np.random.default_rng(3), None, pieces=None)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert a.photos is None
