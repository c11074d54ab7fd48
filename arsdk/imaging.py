"""Image resizing used on every frame: fast, alias-free downscaling and aspect-preserving fitting."""
from __future__ import annotations

import cv2
import numpy as np


def downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to size (width, height): halvings by area averaging, then one bilinear step.

    cv2's INTER_AREA is alias-free but slow for non-integer factors (2.3 ms for 640x480 -> 224x224 here);
    halving with it is fast, and the last step is then small enough for bilinear to be alias-free too
    (0.45 ms). FastDepth's NYU accuracy with it matches the published figures best of the three.
    """
    h, w = image.shape[:2]
    while w >= 2 * size[0] and h >= 2 * size[1]:
        image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_LINEAR)


def fit_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop an RGB image to the aspect ratio of size (width, height), then resize to it: no stretching."""
    h, w = image.shape[:2]
    tw, th = size
    if (w, h) == (tw, th):
        return image
    if w * th > h * tw:  # too wide: crop the sides
        cw = int(round(h * tw / th))
        image = image[:, (w - cw) // 2:(w - cw) // 2 + cw]
    elif w * th < h * tw:  # too tall: crop top and bottom
        ch = int(round(w * th / tw))
        image = image[(h - ch) // 2:(h - ch) // 2 + ch]
    return downscale(image, (tw, th))


def padding_margins(image: np.ndarray, tolerance: int = 8, min_share: float = 0.98,
                    max_share: float = 0.25) -> tuple[int, int, int, int]:
    """Rows and columns (top, bottom, left, right) of uniform padding around a picture: letterbox or pillarbox
    bars, a scan's or a registered dataset's border. A band counts on an axis only when both of its sides have
    one, of the same colour (within `tolerance` levels), each line of it `min_share` that colour, each no wider
    than `max_share` of the image; one uniform side is more likely a clipped sky or a white wall. Each band found
    is widened by the line where picture and padding blend (scaling, registration). (0, 0, 0, 0) when none."""
    h, w = image.shape[:2]

    def share_near(line: np.ndarray, colour: np.ndarray) -> float:
        return float(np.mean(np.all(np.abs(line.astype(np.int16) - colour) <= tolerance, axis=-1)))

    def band(lines: np.ndarray):  # lines[i]: the i-th line in from one edge, as (length, channels)
        # most frames have no bars: every 8th pixel of the edge line tells them apart at an eighth of the cost
        sample = lines[0][::8]
        colour = np.median(sample, axis=0)
        if share_near(sample, colour) < 0.9 * min_share:
            return 0, colour
        colour = np.median(lines[0], axis=0)
        limit = int(max_share * len(lines))
        n = 0  # a picture's first line is rarely uniform, so this usually looks at one line a side
        while n <= limit and share_near(lines[n], colour) >= min_share:
            n += 1
        return (n, colour) if 0 < n <= limit else (0, colour)

    img = image.reshape(h, w, -1)
    margins = []
    for near_lines, far_lines in ((img, img[::-1]), (img.transpose(1, 0, 2), img.transpose(1, 0, 2)[::-1])):
        (a, ca), (b, cb) = band(near_lines), band(far_lines)
        # bars are added evenly (a player, a registration): a dark ceiling and floor crushed to black rarely are
        even = abs(a - b) <= max(2, 0.2 * max(a, b))
        both = a and b and even and np.all(np.abs(ca - cb) <= tolerance)
        margins += [a + 1, b + 1] if both else [0, 0]
    return tuple(int(m) for m in margins)


def steady_margins(found: tuple[int, int, int, int], previous: tuple[int, int, int, int],
                   slack: int = 2) -> tuple[int, int, int, int]:
    """The previous frame's margins while those found now differ by at most `slack` lines on every side (a codec
    moves a bar's edge by a line now and then): the window, and the temporal filters' history, stay put."""
    same_sides = all(bool(a) == bool(b) for a, b in zip(found, previous))
    if same_sides and all(abs(a - b) <= slack for a, b in zip(found, previous)):
        return previous
    return found


class PaddingWindow:
    """Where a model looks in a frame: inside its padding bands (padding_margins). In a stream (a temporal filter
    given) the window is held still while the bands jitter (steady_margins), and the filter is reset when the
    window moves, since its history belongs to the old one; frames scored alone take their own margins."""

    def __init__(self):
        self.margins = (0, 0, 0, 0)

    def update(self, image: np.ndarray, enabled: bool = True, temporal=None) -> tuple[int, int, int, int]:
        found = padding_margins(image) if enabled else (0, 0, 0, 0)
        if temporal is not None:
            found = steady_margins(found, self.margins)
            if found != self.margins:
                temporal.reset()
        self.margins = found
        return found

    def reset(self):
        self.margins = (0, 0, 0, 0)


def inside_margins(image: np.ndarray, margins: tuple[int, int, int, int]) -> np.ndarray:
    """The window of an image inside (top, bottom, left, right) margins, as a view."""
    top, bottom, left, right = margins
    h, w = image.shape[:2]
    return image[top:h - bottom, left:w - right]


def enlarge_into_margins(values: np.ndarray, size: tuple[int, int], margins: tuple[int, int, int, int],
                         fill: float | None = None) -> np.ndarray:
    """A model's HxW output enlarged bilinearly onto the window inside `margins` of a frame of size (width,
    height); the margins take `fill`, or with fill None the value at the window's edge beside them."""
    top, bottom, left, right = margins
    w, h = size
    window = cv2.resize(values, (w - left - right, h - top - bottom), interpolation=cv2.INTER_LINEAR)
    if not any(margins):
        return window
    if fill is None:
        return cv2.copyMakeBorder(window, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(window, top, bottom, left, right, cv2.BORDER_CONSTANT, value=float(fill))


def enlarge_depth(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxW depth (0 = unknown) enlarged to size (width, height): bilinear, but a pixel whose neighbours include an
    unknown one takes the nearest value, so no depth is made up between a surface and a hole (a blend toward 0
    would put something just in front of the camera)."""
    w, h = size
    out = cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR)
    known = depth > 0
    if not known.all():
        near = cv2.resize(depth, (w, h), interpolation=cv2.INTER_NEAREST)
        mixed = cv2.resize(known.astype(np.uint8) * np.uint8(255), (w, h), interpolation=cv2.INTER_LINEAR) < 255
        out[mixed] = near[mixed]
    return out


class SceneCut:
    """Says when a stream jumps to an unrelated picture (an edit in a video, the next photo of a folder): the
    frame's 32x24 grey thumbnail, normalised for brightness, correlates below `threshold` with the last one.
    Temporal filters and tracking should then start afresh rather than blend two scenes."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self._last: np.ndarray | None = None

    def __call__(self, image: np.ndarray) -> bool:
        grey = cv2.cvtColor(cv2.resize(image, (32, 24), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        v = grey.astype(np.float32).ravel()
        v -= v.mean()
        v /= max(float(np.linalg.norm(v)), 1e-6)
        last, self._last = self._last, v
        return last is not None and float(v @ last) < self.threshold
