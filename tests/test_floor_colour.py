"""The floor grown over its colours (`arsdk.floor_colour`): exact cases on a synthetic floor, and the HoloLens walk's
carpet runner, which FastDepth draws raised."""
import cv2
import numpy as np
import pytest

import arsdk
from arsdk.depth import DepthEstimator
from arsdk.errors import InputError
from arsdk.evaluation import load_training_sequences, sequence_floors
from arsdk.floor import pull_onto_floor
from arsdk.floor_colour import FloorColours, FloorColourSettings, joined_to
from arsdk.geometry import Intrinsics, normals_from_points, pixel_rays, ray_descent, sample_points, unproject

INTR = Intrinsics.from_fov(320, 240, 60.0)
PITCH = np.radians(20.0)
UP = np.array([0.0, -np.cos(PITCH), -np.sin(PITCH)], np.float32)  # camera y down, looking 20 degrees below level
HEIGHT = 1.5
FLOOR, RUG, TABLE, WALL = (200, 180, 140), (40, 60, 160), (120, 80, 40), (90, 90, 90)
RUG_AT = (slice(170, 230), slice(40, 140))
TABLE_AT = (slice(150, 230), slice(190, 290))
CLOTH_AT = (slice(175, 205), slice(220, 260))  # a cloth of the floor's colour on the table


def level_at(rise: float) -> np.ndarray:
    """The depth of a level surface `rise` metres above the floor (0 where the ray does not meet it)."""
    rx, ry = pixel_rays(INTR)
    down = np.add.outer(-(UP[1] * ry + UP[2]), -UP[0] * rx)
    with np.errstate(divide="ignore"):
        z = (HEIGHT - rise) / down
    return np.where((down > 1e-3) & (z < 20), z, 0).astype(np.float32)


def room(rug_rise: float) -> tuple[np.ndarray, np.ndarray]:
    """The picture and depth of a floor with a blue rug drawn `rug_rise` above it, a table 0.7 m up with a cloth of the
    floor's colour on it, and a wall where the view rises above the floor's far end."""
    image = np.empty((240, 320, 3), np.uint8)
    image[:] = FLOOR
    image[RUG_AT] = RUG
    image[TABLE_AT] = TABLE
    image[CLOTH_AT] = FLOOR
    depth = level_at(0.0)
    depth[RUG_AT] = level_at(rug_rise)[RUG_AT]
    depth[TABLE_AT] = level_at(0.7)[TABLE_AT]
    wall = (depth == 0) | (depth > 6.0)
    image[wall] = WALL
    depth[wall] = 6.0
    return image, depth


def grown(colours: FloorColours, image: np.ndarray, depth: np.ndarray, height: float = HEIGHT):
    """The cells grown on a view, decided on its depth brought down to the cells' size (as the pipeline does)."""
    cw, ch = colours.cells(INTR.width, INTR.height)
    cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)
    return colours.grown(cells, image, INTR.scaled(cw, ch), UP, height, 0.4)


def laid(colours: FloorColours, image: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The view's depth with the grown cells laid on the floor (by the pull, its band too thin to move the rest)."""
    cells = grown(colours, image, depth)
    grid = sample_points(depth, INTR, 8)
    return pull_onto_floor(depth, grid, normals_from_points(grid), INTR, UP, HEIGHT, band=0.01, whole=cells)


def taught_flat() -> FloorColours:
    """Floor colours taught by three views of the room with its rug flat on the floor."""
    colours = FloorColours()
    flat_image, flat_depth = room(0.0)
    for _ in range(3):
        grown(colours, flat_image, flat_depth)
    return colours


def heights(depth: np.ndarray) -> np.ndarray:
    return unproject(depth, INTR) @ UP + np.float32(HEIGHT)


def inner(where, margin=8):
    return tuple(slice(s.start + margin, s.stop - margin) for s in where)


def test_a_rug_of_the_floor_s_colours_drawn_raised_is_laid_on_the_floor():
    """Seen on the floor on the first views, the rug's blue is a floor colour: drawn 0.5 m up later, the rug lands
    on the floor. The table (its brown seen only above the floor) keeps its depth, and so does the cloth on it, of
    the floor's own colour: joined to the floor only through the table."""
    colours = taught_flat()
    image, depth = room(0.5)
    out = laid(colours, image, depth)
    assert np.abs(heights(out)[inner(RUG_AT)]).max() < 0.01
    np.testing.assert_array_equal(out[inner(TABLE_AT)], depth[inner(TABLE_AT)])  # a coarse cell or so from its edge
    assert np.median(heights(depth)[inner(RUG_AT)]) == pytest.approx(0.5, abs=0.01)  # it was raised


def test_laid_is_the_floor_on_the_plane_and_what_this_frame_grows_not_what_is_held():
    """`FloorColours.laid`, what the floor map learns from: the cells on the plane and those grown on this frame;
    the cells still held from the frame before are not laid again."""
    colours = taught_flat()
    image, depth = room(0.5)
    hold = grown(colours, image, depth)
    cw, ch = colours.cells(INTR.width, INTR.height)
    cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)
    on_plane = (cells > 0) & (np.abs(HEIGHT - cells * ray_descent(INTR.scaled(cw, ch), UP)) < 0.03 * HEIGHT)
    np.testing.assert_array_equal(colours.laid, on_plane | (hold == 1.0))
    assert (hold == 1.0).sum() > 20  # the rug is grown
    table = np.zeros(depth.shape, np.uint8)
    table[inner(TABLE_AT)] = 1
    assert not colours.laid[cv2.resize(table, (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)].any()
    # the next frame draws the rug raised in another's colour: its cells are held from before (under 1), not laid
    image[RUG_AT] = WALL
    hold = grown(colours, image, depth)
    held = (hold > 0) & (hold < 1.0)
    assert held.sum() > 20
    assert not (colours.laid & held).any()


def test_cells_the_motion_holds_off_the_floor_are_neither_grown_laid_nor_held():
    """Cells the camera's motion shows lying where the depth draws them (`held_off`): the rug, of a floor colour and
    grown on the frame before, is not grown on this one, nor laid for the floor map, nor held from before; the
    rest of the floor is laid as without them."""
    colours = taught_flat()
    image, depth = room(0.5)
    assert (grown(colours, image, depth) == 1.0).sum() > 20  # the rug is grown
    cw, ch = colours.cells(INTR.width, INTR.height)
    rug = np.zeros(depth.shape, np.uint8)
    rug[RUG_AT] = 1
    rug = cv2.resize(rug, (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)
    before = colours.laid.copy()
    cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)
    hold = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, held_off=rug)
    assert not hold[rug].any() and not colours.laid[rug].any()
    np.testing.assert_array_equal(colours.laid, before & ~rug)
    with pytest.raises(InputError, match="held_off"):
        colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, held_off=rug[1:])


def test_cells_the_motion_shows_on_the_floor_are_grown_where_joined_to_it_and_not_taught():
    """Cells the depth draws off the floor that the camera's motion shows moving as the floor (`shown_on`): the rug,
    now of the table's brown (learned as another's colour) and drawn 0.5 m up, is grown onto the floor, joined to it;
    a patch inside the table, joined to the floor only through the table, is not. Its brown is not taught as floor:
    the next frame, with nothing shown, does not grow it."""
    colours = taught_flat()
    image, depth = room(0.5)
    image[RUG_AT] = TABLE
    cw, ch = colours.cells(INTR.width, INTR.height)
    cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)

    def at_cells(*where):
        mask = np.zeros(depth.shape, np.uint8)
        for w in where:
            mask[w] = 1
        return cv2.resize(mask, (cw, ch), interpolation=cv2.INTER_NEAREST).astype(bool)

    rug, inside_table = at_cells(RUG_AT), at_cells((slice(160, 175), slice(200, 215)))
    hold = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4)
    assert hold is None or not hold[rug].any()  # its colour alone grows nothing
    colours.let_go()
    hold = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, shown_on=rug | inside_table)
    assert (hold[rug] == 1.0).all() and not hold[inside_table].any()
    colours.let_go()
    hold = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4)
    assert hold is None or not hold[rug].any()
    with pytest.raises(InputError, match="shown_on"):
        colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, shown_on=rug[1:])


def test_a_rug_drawn_raised_for_a_long_time_stays_on_the_floor():
    """The rug, seen on the floor on the first views, then drawn 0.5 m up for 12 s on end (as FastDepth draws the
    HoloLens carpet runner): what is grown is learned as floor, so its blue stays a floor colour and the rug stays
    down, while the table's brown, never grown, stays another's."""
    colours = taught_flat()
    image, depth = room(0.5)
    for _ in range(30):
        grown(colours, image, depth)
    out = laid(colours, image, depth)
    assert np.abs(heights(out)[inner(RUG_AT)]).max() < 0.01
    np.testing.assert_array_equal(out[inner(TABLE_AT)], depth[inner(TABLE_AT)])


def test_a_runner_that_leaves_the_picture_drawn_raised_keeps_the_floor_s_colour():
    """The rug, seen on the floor first, then as a runner that runs to a cabinet at the floor's far end, drawn
    0.5 m up for 12 s on end, as FastDepth draws the HoloLens runner where it leaves the picture: with no floor
    beyond it up its columns it is not grown, but joined to the floor and of the floor's colours it is not learned as
    another's either, and seen inside the floor again it is laid on it at once."""
    colours = taught_flat()
    flat_depth = room(0.0)[1]
    image, depth = room(0.5)
    start = int(np.flatnonzero((flat_depth[:, RUG_AT[1]] < 6.0).all(axis=1))[0])
    runner = (slice(start, RUG_AT[0].stop), RUG_AT[1])
    image[runner], depth[runner] = RUG, level_at(0.5)[runner]
    end = (slice(0, start), RUG_AT[1])  # a cabinet at its end, nearer than the floor's far end
    image[end], depth[end] = WALL, 3.0
    cw = colours.cells(INTR.width, INTR.height)[0]
    columns = slice(RUG_AT[1].start * cw // INTR.width, RUG_AT[1].stop * cw // INTR.width)
    for _ in range(30):
        cells = grown(colours, image, depth)
        assert cells is None or not cells[:, columns].any()  # no floor beyond the runner: it is not grown
    image, depth = room(0.5)
    out = laid(colours, image, depth)
    assert np.abs(heights(out)[inner(RUG_AT)]).max() < 0.01


def test_a_cell_no_longer_grown_lets_go_of_the_floor_over_time():
    """The growth flickers with the depth's noise: a rug grown on one frame and not on the next (here: repainted in
    a colour never seen on the floor) stays laid by the share `release` has not let go of, per second at any frame
    rate, and let_go() forgets it at once."""
    for dt in (0.4, 1.0 / 30.0):
        colours = taught_flat()
        image, depth = room(0.5)
        cw, ch = colours.cells(INTR.width, INTR.height)
        rug = inner(tuple(slice(s.start * cw // INTR.width, s.stop * cw // INTR.width) for s in RUG_AT), 2)
        assert grown(colours, image, depth)[rug].min() == 1.0
        image[RUG_AT] = (200, 40, 40)
        cells = cv2.resize(depth, (cw, ch), interpolation=cv2.INTER_NEAREST)
        held = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, dt)
        kept = (1.0 - 0.7) ** (dt / 0.4)  # release 0.7 per temporal.REFERENCE_S
        np.testing.assert_allclose(held[rug], kept, rtol=1e-5)
        colours.let_go()
        after = colours.grown(cells, image, INTR.scaled(cw, ch), UP, HEIGHT, dt)
        assert after is None or after[rug].max() == 0.0


def test_a_colour_never_seen_on_the_floor_is_not_grown():
    """A new stream whose first view draws the rug raised: its blue was never on the floor, so it stays up."""
    image, depth = room(0.5)
    out = laid(FloorColours(), image, depth)
    np.testing.assert_array_equal(out[RUG_AT], depth[RUG_AT])


def test_nothing_grows_without_a_floor_under_the_camera_or_in_view():
    image, depth = room(0.5)
    colours = taught_flat()
    assert grown(colours, image, depth) is not None
    assert grown(colours, image, depth, height=0.0) is None
    wall = np.full_like(depth, 2.0)  # a wall of the floor's colour 2 m ahead: nothing on the floor to grow from
    assert grown(colours, np.full_like(image, 200), wall) is None
    with pytest.raises(InputError, match="depth"):
        colours.grown(depth, image, INTR.scaled(80, 60), UP, HEIGHT, 0.4)


def test_cells_the_map_remembers_are_laid_when_the_depth_lays_no_floor():
    """A view whose depth draws no floor at all (FastDepth draws the HoloLens corridor's carpet like the wall
    beside it) has nothing to grow from, but the cells the floor map recognises (`remembered`) are laid and held as
    floor, as they are on a frame whose growth is gated off; held-off cells stay off. With nothing remembered,
    nothing is held."""
    colours = taught_flat()
    image, _ = room(0.0)
    cw, ch = colours.cells(INTR.width, INTR.height)
    wall = np.full((ch, cw), 1.0, np.float32)  # nearer than the floor anywhere in view: nothing on the plane
    remembered = np.zeros((ch, cw), bool)
    remembered[-15:, 10:60] = True
    held_off = np.zeros_like(remembered)
    held_off[-15:, 10:20] = True
    hold = colours.grown(wall, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, remembered, held_off=held_off)
    np.testing.assert_array_equal(hold == 1.0, remembered & ~held_off)
    np.testing.assert_array_equal(colours.laid, remembered & ~held_off)
    assert colours.grown(wall, image, INTR.scaled(cw, ch), UP, HEIGHT, 0.4, np.zeros_like(remembered)) is None


def test_the_floor_seen_by_its_colours_reaches_up_from_the_bottom_of_the_picture():
    """`seen`: the share of the picture of learned floor colours joined to its bottom edge, below the horizon. The
    same colour on a patch the bottom does not reach (a cabinet front across floor of other colours) is not the floor
    seen, nor are rows at or above the horizon; nothing is seen before the colours are learned."""
    colours = FloorColours()
    flat_image, flat_depth = room(0.0)
    assert colours.seen(flat_image, INTR, UP) == 0.0
    for _ in range(3):
        grown(colours, flat_image, flat_depth)
    cw, ch = colours.cells(INTR.width, INTR.height)
    below = ray_descent(INTR.scaled(cw, ch), UP) > 0.05
    everywhere = np.empty_like(flat_image)
    everywhere[:] = FLOOR
    assert colours.seen(everywhere, INTR, UP) == pytest.approx(below.mean())
    assert 0.2 < below.mean() < 0.95  # the horizon crosses the picture
    patch = np.empty_like(flat_image)
    patch[:] = WALL
    patch[120:200, 60:260] = FLOOR  # floor-coloured, but cut off from the bottom edge by the wall's colour
    assert colours.seen(patch, INTR, UP) == 0.0
    patch[200:] = FLOOR
    seen = colours.seen(patch, INTR, UP)
    assert seen == pytest.approx((80 * 200 + 40 * 320) / (240 * 320), abs=0.03)


def test_the_floor_beside_the_hololens_meeting_table_is_said_in_view(shared_data):
    """HoloLens frames 260-345 walk past the meeting table: FastDepth draws the floor beside it at the table's height,
    where no depth test finds it. With the floor's colours seen up from the bottom of the picture, fewer frames that
    show the floor are said not to (measured 7 -> 5 of 75; 11 -> 6 before the held floor gain followed the map's
    scale, which finds four of them without the colours), and no more than one more frame that shows none is said
    to (2 -> 2 of 8 with under 1 % floor)."""
    frames = load_training_sequences(shared_data)[0][260:346]
    truths = sequence_floors(frames)
    counts = {}
    for by_colour in (True, False):
        missed = said = 0
        with arsdk.Pipeline(DepthEstimator("fastdepth"), None) as pipe:
            if not by_colour:
                pipe.floor_colours.seen = lambda *args: 0.0
            for i, (f, (_, share)) in enumerate(zip(frames, truths)):
                state = pipe.process(arsdk.Frame(f.image, i * 0.4, i, intrinsics=f.intrinsics))
                missed += share >= 0.05 and not state.floor.visible
                said += share < 0.01 and state.floor.visible
        counts[by_colour] = (missed, said)
    assert counts[True][0] <= counts[False][0] - 2 and counts[True][0] <= 6, counts
    assert counts[True][1] <= counts[False][1] + 1, counts


def test_joined_to_follows_8_connected_paths_from_the_seeds():
    seeds = np.zeros((5, 5), bool)
    seeds[0, 0] = True
    grow = np.zeros((5, 5), bool)
    grow[1, 1] = grow[2, 2] = True  # diagonal steps join
    grow[4, 4] = True  # cut off
    expected = np.zeros((5, 5), bool)
    expected[1, 1] = expected[2, 2] = True
    np.testing.assert_array_equal(joined_to(seeds, grow), expected)


@pytest.mark.parametrize("field,value", [("on_floor", 0.3), ("above_floor", 0.0), ("reach", 0.0),
                                         ("odds", float("nan")), ("forget", 1.5), ("width", 8),
                                         ("min_floor_share", 1.0), ("release", 0.0),
                                         ("seen_odds", float("inf"))])
def test_floor_colour_settings_are_checked(field, value):
    with pytest.raises(InputError, match=f"FloorColourSettings.{field}"):
        FloorColourSettings(**{field: value})


def test_the_carpet_runner_is_wet_on_the_hololens_walk(walk_floor_misses):
    """HoloLens frames 160-209 look along a blue carpet runner on a wooden floor; FastDepth draws it 0.3-1 m above
    the floor on most of them, where no depth cue tells it from a table. Grown over its colours, far less of the
    true floor is left dry at 0.15 m, and no more of what stands above the floor goes under (the beige sofa beside
    the runner, of the wooden floor's colours, has no floor beyond it). Measured on frames 170-209: true floor left
    dry 0.480 -> 0.408, pixels 0.3 m or more above the floor under water 0.0106 -> 0.0108 of the known ones (0.536 ->
    0.399 and 0.0109 both with the tracker trusted only from a confidence of 0.5, whose world left more dry without
    the growth)."""
    def ungrown(pipe):
        pipe.floor_colours = None

    figures = {grown: walk_floor_misses(210, 170, None if grown else ungrown) for grown in (True, False)}
    assert figures[True][0] < 0.9 * figures[False][0], figures
    assert figures[True][1] < figures[False][1] + 0.005, figures
