"""Background blur from the person mask, without halos: a normalised (mask-weighted) blur averages only
background pixels, so the background near the person's edge never takes the person's colour and the person
stays sharp. Options: strength; the mask's threshold and feather (as OBS's background removal has them); a
replacement background: an image, a looping video or a flat colour; and a depth-of-field mode that blurs by
distance from a focus depth instead of by the mask. Temporal smoothing of the mask is the segmenter's
(`PersonSegmenter(temporal=TemporalMaskFilter(strength))`, the app's --mask-smoothing)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arsdk.errors import InputError

from . import Effect, Params, register


def arsdk_camera():
    from arsdk import camera

    return camera

MODES = ("blur", "replace", "dof", "color")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass
class BlurParams(Params):
    mode: str = "blur"           # "blur" (mask), "replace" (background image or video), "dof" (depth of field), "color"
    strength: float = 3.0        # blur spread: sigma of the Gaussian is 4 * strength frame pixels
    background: str = ""         # image or video file (looped) for mode "replace"
    color: tuple = (0.0, 0.55, 0.25)  # background colour for mode "color" (RGB 0..1)
    threshold: float = 0.0       # person where the mask passes this (0..1); 0 = the model's soft mask as it is
    feather: float = 0.1         # half-width of the soft edge around the threshold, in mask units
    focus_depth: float = 0.0     # metres, mode "dof"; 0 = focus on the nearest person (or the centre)
    focus_range: float = 0.6     # metres either side of the focus that stay sharp
    RANGES = {"strength": (0.0, 50.0), "threshold": (0.0, 1.0), "feather": (0.001, 0.5), "focus_depth": (0.0, 100.0),
              "focus_range": (0.01, 100.0)}

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in MODES:
            raise InputError(f"BlurParams.mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "replace" and not self.background:
            raise InputError("BlurParams.background: mode 'replace' needs a background image or video path")
        if not all(0.0 <= c <= 1.0 for c in self.color):
            raise InputError(f"BlurParams.color: expected three values in [0, 1], got {self.color}")


@register
class BlurEffect(Effect):
    name = "blur"
    Params = BlurParams
    shader = "blur_composite.frag"
    plus_minus = "strength"

    @property
    def needs(self) -> frozenset:
        """The person's mask; depth too in depth-of-field mode."""
        return frozenset({"mask", "depth"}) if self.params.mode == "dof" else frozenset({"mask"})

    def __init__(self, params=None, **overrides):
        super().__init__(params, **overrides)
        self.background, self._video = None, None
        path = self.params.background
        if path and path.lower().endswith(VIDEO_SUFFIXES):
            self._video = arsdk_camera().VideoFileSource(path)
            self._video_frames = iter(self._video)
            self.background = self._next_video_frame()
        elif path:
            self.background = arsdk_camera().read_image(path)
        self.focus = 1.5

    def _next_video_frame(self) -> np.ndarray:
        """The background video's next frame, from the start again at its end (a loop)."""
        try:
            return next(self._video_frames).image
        except StopIteration:
            self._video_frames = iter(self._video)
            return next(self._video_frames).image

    def setup(self, renderer):
        ctx = renderer.ctx
        # quarter resolution: a wide blur needs no more, and closely spaced taps there give a smooth result
        size = (max(renderer.width // 4, 1), max(renderer.height // 4, 1))
        self._low = []
        for _ in range(2):
            tex = ctx.texture(size, 4, dtype="nu2")
            tex.repeat_x = tex.repeat_y = False
            # moderngl leaves 16-bit normalised textures NEAREST: read up at full size, that is a 4x4 mosaic
            tex.filter = (ctx.LINEAR, ctx.LINEAR)
            self._low.append((tex, ctx.framebuffer([tex])))
        bg = self.background if self.background is not None else np.zeros((1, 1, 3), np.uint8)
        self._bg_tex = ctx.texture((bg.shape[1], bg.shape[0]), 3, np.ascontiguousarray(bg))
        self._bg_tex.repeat_x = self._bg_tex.repeat_y = False

    def update(self, state, dt):
        p = self.params
        if self._video is not None and p.mode == "replace":
            frame = self._next_video_frame()
            if frame.shape[:2] == (self._bg_tex.height, self._bg_tex.width):
                self._bg_tex.write(np.ascontiguousarray(frame))
        if p.mode != "dof":
            return
        if p.focus_depth > 0:
            self.focus = p.focus_depth
            return
        depth = state.depth
        region = depth[state.mask > 0.5] if state.mask is not None and (state.mask > 0.5).any() else \
            depth[depth.shape[0] // 3: 2 * depth.shape[0] // 3, depth.shape[1] // 3: 2 * depth.shape[1] // 3]
        region = region[region > 0]
        if region.size:
            target = float(np.median(region))
            self.focus = target if dt <= 0 else self.focus + (target - self.focus) * min(1.0, 4.0 * dt)

    def render(self, renderer, source, target):
        p = self.params
        defines = {"MODE": MODES.index(p.mode)}
        common = {"u_focus": self.focus, "u_focus_range": p.focus_range, "u_threshold": p.threshold,
                  "u_feather": p.feather, "u_bg_color": tuple(p.color)}
        shaders = renderer.shaders
        (a_tex, a_fbo), (b_tex, b_fbo) = self._low
        if p.mode not in ("replace", "color"):
            renderer.run_pass(shaders.program("blur_weight.frag", **defines), a_fbo, source, common)
            renderer.run_pass(shaders.program("blur_gauss.frag"), b_fbo, source,
                              {"u_direction": (p.strength / 2 / a_tex.width, 0.0)}, {"u_source": a_tex})
            renderer.run_pass(shaders.program("blur_gauss.frag"), a_fbo, source,
                              {"u_direction": (0.0, p.strength / 2 / a_tex.height)}, {"u_source": b_tex})
        aspect = self._bg_tex.width / self._bg_tex.height / (renderer.width / renderer.height)
        renderer.run_pass(shaders.program(self.shader, **defines), target, source, {**common, "u_bg_aspect": aspect},
                          {"u_blurred": a_tex, "u_background": self._bg_tex})
