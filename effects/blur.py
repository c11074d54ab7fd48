"""Background blur from the person mask, without halos: a normalised (mask-weighted) blur averages only
background pixels, so the background near the person's edge never takes the person's colour and the person
stays sharp. Options: strength, a replacement background image, and a depth-of-field mode that blurs by
distance from a focus depth instead of by the mask."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arsdk.errors import InputError

from . import Effect, Params, register

MODES = ("blur", "replace", "dof")


@dataclass
class BlurParams(Params):
    mode: str = "blur"           # "blur" (mask), "replace" (background image), "dof" (depth of field)
    strength: float = 3.0        # blur spread: sigma of the Gaussian is 4 * strength frame pixels
    background: str = ""         # image file for mode "replace"
    focus_depth: float = 0.0     # metres, mode "dof"; 0 = focus on the nearest person (or the centre)
    focus_range: float = 0.6     # metres either side of the focus that stay sharp
    RANGES = {"strength": (0.0, 50.0), "focus_depth": (0.0, 100.0), "focus_range": (0.01, 100.0)}

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in MODES:
            raise InputError(f"BlurParams.mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "replace" and not self.background:
            raise InputError("BlurParams.background: mode 'replace' needs a background image path")


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
        self.background = None
        if self.params.background:
            from arsdk.camera import read_image

            self.background = read_image(self.params.background)
        self.focus = 1.5

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
        common = {"u_focus": self.focus, "u_focus_range": p.focus_range}
        shaders = renderer.shaders
        (a_tex, a_fbo), (b_tex, b_fbo) = self._low
        if p.mode != "replace":
            renderer.run_pass(shaders.program("blur_weight.frag", **defines), a_fbo, source, common)
            renderer.run_pass(shaders.program("blur_gauss.frag"), b_fbo, source,
                              {"u_direction": (p.strength / 2 / a_tex.width, 0.0)}, {"u_source": a_tex})
            renderer.run_pass(shaders.program("blur_gauss.frag"), a_fbo, source,
                              {"u_direction": (0.0, p.strength / 2 / a_tex.height)}, {"u_source": b_tex})
        aspect = self._bg_tex.width / self._bg_tex.height / (renderer.width / renderer.height)
        renderer.run_pass(shaders.program(self.shader, **defines), target, source, {**common, "u_bg_aspect": aspect},
                          {"u_blurred": a_tex, "u_background": self._bg_tex})
