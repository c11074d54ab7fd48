import numpy as np
import pytest

from arsdk.imaging import enlarge_depth, padding_margins


@pytest.fixture(scope="module")
def photo():
    skimage_data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skimage_data.astronaut()[:, :, :3])  # 512x512, a real picture to the edges


def framed(picture, top, bottom, left, right, colour):
    h, w = picture.shape[:2]
    out = np.empty((h + top + bottom, w + left + right, 3), np.uint8)
    out[:] = colour
    out[top:top + h, left:left + w] = picture
    return out


def test_a_picture_without_padding_is_left_whole(photo):
    assert padding_margins(photo) == (0, 0, 0, 0)


@pytest.mark.parametrize("bands, colour", [((40, 40, 0, 0), (0, 0, 0)),        # letterbox
                                           ((0, 0, 64, 64), (0, 0, 0)),        # pillarbox
                                           ((6, 5, 7, 8), (255, 255, 255)),    # a scan's or NYU's white border
                                           ((12, 13, 0, 0), (16, 16, 16))])    # bars of unequal width, video black
def test_bands_on_both_sides_are_found_with_the_line_where_they_meet_the_picture(photo, bands, colour):
    found = padding_margins(framed(photo, *bands, colour))
    assert found == tuple(b + 1 if b else 0 for b in bands)


def test_compressed_bars_with_noise_and_a_blended_edge_still_count(photo):
    rng = np.random.default_rng(0)
    image = framed(photo, 30, 30, 0, 0, (0, 0, 0)).astype(np.int16)
    image[:30] += rng.integers(0, 6, image[:30].shape)   # a codec's noise in the bars
    image[-30:] += rng.integers(0, 6, image[-30:].shape)
    image[29] = (image[29] + image[30]) // 2              # the scaler blends the bar's last line into the picture
    assert padding_margins(image.astype(np.uint8)) == (30, 31, 0, 0)


def test_one_sided_or_mismatched_bands_are_not_padding(photo):
    sky = photo.copy()
    sky[:20] = 255  # a clipped sky or a white wall across the top: no partner at the bottom
    assert padding_margins(sky) == (0, 0, 0, 0)
    two_colours = framed(photo, 20, 20, 0, 0, (0, 0, 0))
    two_colours[-20:] = (255, 255, 255)  # black above, white below: not one border
    assert padding_margins(two_colours) == (0, 0, 0, 0)
    # more than a quarter of the image uniform on both sides is the picture (a blank frame, a wall), not padding
    assert padding_margins(np.full((100, 100, 3), 128, np.uint8)) == (0, 0, 0, 0)
    assert padding_margins(framed(photo, 300, 300, 0, 0, (0, 0, 0))) == (0, 0, 0, 0)


@pytest.mark.parametrize("stray, counts", [(93, True), (92, False)])
def test_a_bar_s_tolerance_is_exact_at_its_edge_for_uint8_and_other_pixels(photo, stray, counts):
    """Bars of levels 100 and 101 (median 100.5) with 3 % of each line at `stray`: 93 is 7.5 levels off, within the
    tolerance of 8, 92 is 8.5 off, and a line 97 % of its colour is no bar's. The uint8 frame's test (cv2.inRange on
    whole blocks of lines) and a 16-bit frame's (NumPy) must draw that line alike."""
    image = framed(photo, 0, 0, 50, 50, (100, 100, 100))
    bars = np.r_[0:50, image.shape[1] - 50:image.shape[1]]
    image[1::2, bars] = 101
    image[::32, bars] = stray  # 16 of the 512 rows: 3.1 % of each bar column
    image[1::32, bars] = 107   # and as many 101s raised: the median stays 100.5
    expected = (0, 0, 51, 51) if counts else (0, 0, 0, 0)
    assert padding_margins(image) == expected
    assert padding_margins(image.astype(np.uint16)) == expected


def test_wide_bars_are_measured_in_blocks_of_lines_with_the_same_answer(photo):
    """A pillarbox wider than a block of lines (4, 8, 16, ... are tested at once) ends at its own last line."""
    for width in (1, 3, 4, 5, 11, 12, 13, 59, 60, 61, 127):
        assert padding_margins(framed(photo, 0, 0, width, width, (0, 0, 0))) == (0, 0, width + 1, width + 1)


def test_bands_of_very_different_widths_are_the_picture(photo):
    # a dark ceiling and a darker floor both crushed to black: uniform, one colour, but not added evenly
    crushed = photo.copy()
    crushed[:10] = 0
    crushed[-60:] = 0
    assert padding_margins(crushed) == (0, 0, 0, 0)


def test_margins_hold_still_while_a_codec_moves_a_bar_by_a_line():
    from arsdk.imaging import steady_margins

    assert steady_margins((60, 61, 0, 0), (61, 61, 0, 0)) == (61, 61, 0, 0)   # one frame's jitter
    assert steady_margins((61, 61, 0, 0), (0, 0, 0, 0)) == (61, 61, 0, 0)     # bars appear
    assert steady_margins((0, 0, 0, 0), (61, 61, 0, 0)) == (0, 0, 0, 0)       # bars go
    assert steady_margins((2, 2, 0, 0), (0, 0, 0, 0)) == (2, 2, 0, 0)         # even a thin border is taken
    assert steady_margins((70, 70, 0, 0), (61, 61, 0, 0)) == (70, 70, 0, 0)   # another video's bars


def test_enlarged_depth_is_bilinear_but_never_blends_into_unknown():
    depth = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 4.0]], np.float32)
    out = enlarge_depth(depth, (12, 12))
    assert out.shape == (12, 12) and out.dtype == np.float32
    # inside the known block the ramp is bilinear: values between its neighbours, not repeated
    assert 1.0 < out[2, 3] < 2.0
    # no made-up depth between a surface and a hole: every pixel is 0 or at least the smallest known depth
    assert np.all((out == 0.0) | (out >= 1.0))
    assert np.all(out[9:, :6] == 0.0)  # the hole stays a hole, the size it was
    whole = enlarge_depth(np.full((3, 4), 2.5, np.float32), (8, 6))
    assert whole.shape == (6, 8) and np.all(whole == 2.5)
