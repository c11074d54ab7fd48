"""The floor grown by its colours: pixels the depth model draws raised, coloured like the floor the depth lays on the
floor plane, joined to it in the picture and with floor beyond them, are taken onto the floor too.

FastDepth draws a carpet runner or a rug 0.3-1 m above the floor around it, as high as a table, which no cue in the
depth alone tells apart (BENCHMARKS.md, "Where the flood IoU goes"); water then leaves it dry. A rug keeps its
colours from frame to frame, and many frames draw it where it is: the colours of the floor are learned over the
stream from the pixels the depth puts on the plane and those they grow (and those of everything else from the pixels
well above it), and a raised pixel whose colour is far likelier floor than not is laid on the plane where it is
joined to the floor in the picture and the floor is seen beyond it (higher up its column). A rug lies inside the
floor; a sofa or cabinet of the floor's colours stands against the room, its back and the wall above it, and a view
with no floor in it has nothing to grow from. The pipeline grows only where the frame's own floor agrees with the
tracked one (`Pipeline.FLOOR_GROW_AGREEMENT`): where a table is taken for the floor, its top would be grown whole."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InputError, check_fields
from .geometry import Intrinsics, ray_descent
from .temporal import REFERENCE_S, share_over


@dataclass(frozen=True)
class FloorColourSettings:
    """on_floor: how near the plane (a share of the camera height) a pixel lies to teach the floor's colours;
    above_floor: how far above it a pixel lies to teach the other colours; reach: how far above the plane (a share
    of the camera height) a pixel may be drawn and still be grown onto it; odds: how much likelier (natural log) a
    colour must be on the floor than off it; forget: the share of what was learned let go per temporal.REFERENCE_S,
    so a new room's floor takes over; width: about how many cells wide the grid is (the picture's width over a whole
    number of pixels a cell); min_floor_share: the share of the known pixels the floor's colours must have been
    learned from (in this frame's weight) before any pixel is grown; release: the share of a grown cell's hold on the
    floor let go per temporal.REFERENCE_S once it is no longer grown. The decision flickers with the depth's noise,
    and each flicker moved the cell's depth by up to `reach` camera heights: at 30 frame/s on the HoloLens views,
    held so, TAE 1.93 -> 1.76 and flood IoU 0.693 / 0.722 -> 0.702 / 0.724 (let go at once: as before; followed
    both ways at 0.7, TAE 1.75 but IoU at 0.15 m 0.668, the carpet half laid). seen_odds: how much likelier
    (natural log) a colour must be on the floor than off it to count toward the floor `seen` in a picture (at e^2.5
    most of what `seen` gains on the HoloLens walk went, BENCHMARKS.md)."""

    on_floor: float = 0.03
    above_floor: float = 0.2
    reach: float = 0.65
    odds: float = 0.5
    forget: float = 0.05
    width: int = 80
    min_floor_share: float = 0.02
    release: float = 0.7
    seen_odds: float = 1.5

    def __post_init__(self):
        checks = [
            ("above_floor", self.above_floor > 0.0, "a share of the camera height > 0"),
            ("on_floor", 0.0 < self.on_floor < self.above_floor, "a share of the camera height in (0, above_floor)"),
            ("reach", self.reach > 0.0, "a share of the camera height > 0"),
            ("odds", np.isfinite(self.odds), "a finite log ratio"),
            ("forget", 0.0 <= self.forget <= 1.0, "a share in [0, 1]"),
            ("width", self.width >= 16, "cells >= 16"),
            ("min_floor_share", 0.0 <= self.min_floor_share < 1.0, "a share in [0, 1)"),
            ("release", 0.0 < self.release <= 1.0, "a share in (0, 1]"),
            ("seen_odds", np.isfinite(self.seen_odds), "a finite log ratio"),
        ]
        check_fields(self, checks)


# colours are counted in CIELAB cells: 8 of lightness (shading varies across a floor), 16 x 16 of colour
_L_SHIFT, _AB_SHIFT = 5, 4
_BINS = (256 >> _L_SHIFT) * (256 >> _AB_SHIFT) ** 2
_LET_GO = 0.01  # a cell held less than this is let go: nothing that small moves the depth visibly


def colour_bins(image: np.ndarray) -> np.ndarray:
    """The CIELAB cell of each pixel of an RGB uint8 picture (HxW int64, in [0, 2048))."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    cells = 256 >> _AB_SHIFT
    return (((lab[..., 0] >> _L_SHIFT).astype(np.int64) * cells + (lab[..., 1] >> _AB_SHIFT)) * cells
            + (lab[..., 2] >> _AB_SHIFT))


def joined_to(seeds: np.ndarray, grow: np.ndarray) -> np.ndarray:
    """The pixels of `grow` (HxW bool) joined to a pixel of `seeds` (8-connected) through seeds or grow."""
    count, labels = cv2.connectedComponents((seeds | grow).astype(np.uint8), connectivity=8)
    seeded = np.bincount(labels[seeds], minlength=count) > 0
    seeded[0] = False
    return grow & seeded[labels]


class FloorColours:
    """The colours of one scene's floor and of the rest of it, learned over a stream; `grown` finds the raised cells
    of the floor's colours, for `floor.pull_onto_floor` to lay on the plane. One per stream; reset() on a new scene."""

    def __init__(self, settings: FloorColourSettings | None = None):
        self.settings = settings or FloorColourSettings()
        self.reset()

    def reset(self):
        self._floor = np.zeros(_BINS, np.float64)
        self._other = np.zeros(_BINS, np.float64)
        # the cells the last `grown` laid on the floor itself: those the depth puts on the plane and those grown on
        # that frame (HxW bool; not the cells held from frames before; None where its floor lay at no height)
        self.laid: np.ndarray | None = None
        self.let_go()

    def let_go(self):
        """Forget which cells were grown (a frame that grows nothing, or whose cells are elsewhere): the next frame's
        cells are its own."""
        self._held: np.ndarray | None = None

    def cells(self, width: int, height: int) -> tuple[int, int]:
        """The size (width, height) of the grid of cells `grown` works on for a picture of this size."""
        step = max(1, round(width / self.settings.width))
        return max(1, width // step), max(1, height // step)

    def grown(self, depth: np.ndarray, image: np.ndarray, intr: Intrinsics, up: np.ndarray, height: float,
              dt: float, remembered: np.ndarray | None = None, colours: np.ndarray | None = None,
              held_off: np.ndarray | None = None, shown_on: np.ndarray | None = None) -> np.ndarray | None:
        """The cells of the floor grown over its colours: each cell's hold on the floor (float32 of `depth`'s size,
        1 where grown on this frame, less where grown on the frames before, `FloorColourSettings.release`), from a
        depth (HxW, m, the camera frame of `intr`; at `cells`' size, already pulled onto the floor where it lies near
        it) and the RGB picture it is of (any size of the same aspect), with a floor `height` below the camera along
        `up`. dt: seconds since the last frame (what is learned and let go is per second). None when nothing is held,
        and with no floor to grow from nothing is held. What the depth lays on the floor and well above it is learned
        first, so a single frame teaches itself; what the colours learned before grow on it is learned as floor.
        remembered: cells known to show the floor by other means (HxW bool, `floor_map.FloorMap.recognised`), learned
        and laid as floor; colours: the picture at `cells`' size (`cell_colours`), where the caller has it already;
        held_off: cells the camera's motion shows to lie where the depth draws them, off the floor (HxW bool,
        `parallax.FloorMotion.off_floor`): neither grown, recognised, taught as floor nor held from before;
        shown_on: cells the depth draws off the floor that the camera's motion shows to move as the floor does (HxW
        bool, `parallax.FloorMotion.on_floor`): grown, whatever their colour, where joined to the floor (through the
        floor or grown cells), not taught as floor. Taken as they come, they brought the walk's walls and leaves
        down in blocks; joined, the wooden floor beside its blue carpet and the far part of its grey floor, which the
        depth draws 0.5-1 m up and the tables' wood keeps from growing (walk IoU at 0.15 m 0.660 -> 0.668 taken,
        0.670 joined; BENCHMARKS.md)."""
        for name, given in (("colours", colours), ("remembered", remembered), ("held_off", held_off),
                            ("shown_on", shown_on)):
            if given is not None and given.shape[:2] != depth.shape:
                raise InputError(f"{name}: shape {given.shape[:2]} does not match depth {depth.shape}")
        if depth.shape != (intr.height, intr.width):
            raise InputError(f"depth: shape {depth.shape} does not match intrinsics {intr.height}x{intr.width}")
        self.laid = None
        if held_off is not None and remembered is not None:
            remembered = remembered & ~held_off
        now = self._grown_now(depth, image, intr, up, height, dt, remembered, colours, held_off,
                              shown_on) if height > 0 else None
        if now is None:  # no floor to grow from: nothing is held either
            self.let_go()
            return None
        hold = now.astype(np.float32)
        if self._held is not None and self._held.shape == hold.shape:
            np.maximum(hold, self._held * np.float32(1.0 - share_over(self.settings.release, dt)), out=hold)
            hold[hold < _LET_GO] = 0.0
        if held_off is not None:
            hold[held_off] = 0.0
        self._held = hold
        return hold if hold.any() else None

    def seen(self, image: np.ndarray, intr: Intrinsics, up: np.ndarray) -> float:
        """The share of a picture (RGB, the camera of `intr`, up along `up` in its axes) that shows the floor by its
        colours alone, as learned so far: cells below the horizon whose colour is FloorColourSettings.seen_odds
        likelier on the floor than off it, joined to the picture's bottom edge through such cells (the floor a camera
        held above it sees reaches the bottom of its view; a cabinet or counter front of the floor's colours
        stands on it, across floor the depth does not lay there). 0 before both the floor's and the other colours
        are learned.

        FastDepth draws a floor beside a large table at the table's height: on the HoloLens walk's views past the
        meeting table, 7-27 % of the picture is floor and 0-4 % of the depth lies near the tracked floor."""
        if not (self._floor.any() and self._other.any()):
            return 0.0
        cw, ch = self.cells(intr.width, intr.height)
        # rays that meet the floor within 20 camera heights: the horizon's own row is no floor's
        below = ray_descent(intr.scaled(cw, ch), np.asarray(up, np.float32)) > 0.05
        floorish = below & (self._odds()[colour_bins(self.cell_colours(image, cw, ch))] > self.settings.seen_odds)
        seeds = np.zeros_like(floorish)
        seeds[-1] = floorish[-1]
        return float(np.mean(joined_to(seeds, floorish)))

    @staticmethod
    def cell_colours(image: np.ndarray, cw: int, ch: int) -> np.ndarray:
        """The picture brought down to cw x ch cells: at twice the cells' size by bilinear, then averaged (INTER_AREA
        straight down costs 0.5 ms at 640x480 and more at odd sizes; a cell's colour is then the mean of 16 of its
        pixels, plenty for a histogram)."""
        return cv2.resize(cv2.resize(image, (2 * cw, 2 * ch), interpolation=cv2.INTER_LINEAR), (cw, ch),
                          interpolation=cv2.INTER_AREA)

    def _odds(self) -> np.ndarray:
        """The natural log of how much likelier each colour cell is on the floor than off it, as learned so far."""
        # add-one smoothing: a colour seen on neither side is as likely either way
        return (np.log((self._floor + 1.0) / (self._floor.sum() + _BINS))
                - np.log((self._other + 1.0) / (self._other.sum() + _BINS)))

    def _grown_now(self, depth, image, intr, up, height, dt, remembered=None, colours=None,
                   held_off=None, shown_on=None) -> np.ndarray | None:
        """This frame's grown cells (bool, `depth`'s size), after learning its colours; None where there is no floor
        to grow from (none on the plane, or its colours not learned yet)."""
        s = self.settings
        ch, cw = depth.shape
        small = self.cell_colours(image, cw, ch) if colours is None else colours
        up = np.asarray(up, np.float32)
        down = ray_descent(intr, up)  # a pixel's height above the floor is height - z * down
        known = depth > 0
        above = np.where(known, np.float32(height) - depth * down, np.nan)
        on_floor = known & (np.abs(above) < s.on_floor * height)
        self.laid = on_floor
        other = known & (above > s.above_floor * height)
        bins = colour_bins(small)
        weight = min(dt, REFERENCE_S) / REFERENCE_S if dt > 0 else 1.0
        keep = 1.0 - share_over(s.forget, dt) if dt > 0 else 1.0
        self._floor *= keep
        self._other *= keep
        # what the colours learned so far grow on this frame is floor, and is learned as floor, not as the raised
        # thing the depth draws it as: FastDepth draws the HoloLens carpet runner raised for seconds on end, and
        # learned from the depth alone its blue turned from a floor colour into another's within 10 frames
        # (frames 200-209: grown 0.30 -> 0.00 of the view)
        before = None
        if self._floor.any():
            before = self._grow(known, above, on_floor, bins, height, down, held_off)
            # nor is a raised pixel of the floor's colours joined to the floor taught as another's where it is not
            # grown (past the reach, or no floor beyond it up its column): the runner drawn 0.6-1.3 m up where it
            # leaves the picture at the top came to be learned as another's colour (HoloLens walk frames 250-274)
            other &= ~joined_to(on_floor, self._raised_of_floor_colours(known, above, bins) & ~on_floor)
        if remembered is not None:
            before = remembered if before is None else before | remembered
            other &= ~remembered
        taught = on_floor if before is None else on_floor | before
        self._floor += weight * np.bincount(bins[taught], minlength=_BINS)
        self._other += weight * np.bincount(bins[other], minlength=_BINS)
        if not on_floor.any() or self._floor.sum() < s.min_floor_share * weight * known.sum():
            if remembered is None or not remembered.any():
                return None
            # nothing to grow from, but the map knows floor here: laid as it is with the growth's gate shut
            self.laid = on_floor | remembered
            return remembered.copy()
        now = self._grow(known, above, on_floor, bins, height, down, held_off)
        if shown_on is not None:
            now |= joined_to(on_floor | now, shown_on & known)
        if remembered is not None:
            now |= remembered
        self.laid = on_floor | now
        return now

    def _raised_of_floor_colours(self, known, above, bins) -> np.ndarray:
        """The pixels drawn above the floor whose colours are the floor's, by what is learned now."""
        return known & (above > 0) & (self._odds()[bins] > self.settings.odds)

    def _grow(self, known, above, on_floor, bins, height, down, held_off=None) -> np.ndarray:
        """The raised cells of floor colours (by what is learned now) joined to the floor, with floor beyond them,
        except those `held_off` (nor grown through them)."""
        s = self.settings
        raised = self._raised_of_floor_colours(known, above, bins) & (above < s.reach * height) & (down > 1e-3)
        if held_off is not None:
            raised &= ~held_off
        # with floor beyond it (higher in the picture, in its column): a rug lies inside the floor, while a sofa or a
        # cabinet of the floor's colours stands against the room, with its back and the wall above it
        raised &= np.logical_or.accumulate(on_floor, axis=0)
        return joined_to(on_floor, raised & ~on_floor)
