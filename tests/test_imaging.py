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
