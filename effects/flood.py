"""Room flooding: water rising from the floor to a level, with ripples, Fresnel reflection (screen-space),
refraction, depth-dependent absorption, foam at the waterline and caustics on submerged surfaces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arsdk.render import image_projection

from . import Effect, Params, register


@dataclass
class FloodParams(Params):
    level: float = 0.35                      # target water height above the floor, metres
    rise_speed: float = 0.25                 # m/s toward the target level; 0 = jump straight to it
    water_color: tuple = (0.05, 0.22, 0.28)  # colour of deep water (linear RGB 0..1)
    absorption: tuple = (0.9, 0.25, 0.18)    # extinction per metre of water, red first as in real water
    turbidity: float = 0.18                  # share of water colour even in the shallowest water
    ripple: float = 0.35                     # ripple strength (surface normal tilt)
    refraction: float = 0.03                 # screen-space refraction offset per metre of water
    foam_width: float = 0.04                 # metres of foam above submerged geometry at the waterline
    caustics: float = 0.6                    # caustic brightness on submerged surfaces
    step_size: float = 0.05                  # metres per +/- key press
    RANGES = {"level": (-10.0, 10.0), "rise_speed": (0.0, None), "turbidity": (0.0, 1.0), "ripple": (0.0, 2.0),
              "refraction": (0.0, 0.5), "foam_width": (0.0, 1.0), "caustics": (0.0, 5.0), "step_size": (0.0, 1.0)}


@register
class FloodEffect(Effect):
    name = "flood"
    Params = FloodParams
    shader = "flood.frag"

    def __init__(self, params=None, **overrides):
        super().__init__(params, **overrides)
        self.current_level = self.params.level if self.params.rise_speed == 0 else 0.0

    def set_level(self, level: float):
        self.set_params(level=float(level))

    def update(self, state, dt):
        target, speed = self.params.level, self.params.rise_speed
        if speed == 0:
            self.current_level = target
        else:
            step = speed * dt
            delta = target - self.current_level
            self.current_level = target if abs(delta) <= step else self.current_level + step * (1 if delta > 0 else -1)

    def uniforms(self):
        p = self.params
        return {"u_level": self.current_level, "u_water_color": tuple(p.water_color),
                "u_absorption": tuple(p.absorption), "u_turbidity": p.turbidity, "u_ripple": p.ripple,
                "u_refraction": p.refraction, "u_foam_width": p.foam_width, "u_caustics": p.caustics}

    def setup(self, renderer):
        ctx = renderer.ctx
        # the surface shading is soft (ripples, refraction, reflections): a third of the resolution is plenty,
        # and the full-resolution pass keeps the waterline and occluders exact
        size = (max(renderer.width // 3, 1), max(renderer.height // 3, 1))
        self._water_tex = ctx.texture(size, 4)
        self._water_tex.repeat_x = self._water_tex.repeat_y = False
        self._water_fbo = ctx.framebuffer([self._water_tex], ctx.depth_renderbuffer(size))
        self._plane_vbo = ctx.buffer(reserve=4 * 3 * 4)
        self._plane_vao = None

    def _draw_water(self, renderer, source):
        """Pass 1: scene depth into the depth buffer, then the water plane, shaded only where visible."""
        ctx, state, fbo = renderer.ctx, renderer.state, self._water_fbo
        far = 200.0
        projection = image_projection(state.intrinsics, far=far)
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.enable(ctx.DEPTH_TEST)
        ctx.depth_func = "<="
        fbo.color_mask = (False, False, False, False)
        renderer.run_pass(renderer.shaders.program("flood_depth.frag"), fbo, source,
                          {"u_depth_ab": (float(projection[2, 2]), float(projection[2, 3]))}, keep_state=True)
        fbo.color_mask = (True, True, True, True)
        fbo.depth_mask = False
        fbo.use()  # moderngl applies a framebuffer's masks when it is bound
        cam = state.camera_to_world[:3, 3]
        r = 4.0 * far  # a plane reaching past the far clip in every direction
        corners = np.array([[cam[0] - r, self.current_level, cam[2] - r], [cam[0] + r, self.current_level, cam[2] - r],
                            [cam[0] - r, self.current_level, cam[2] + r], [cam[0] + r, self.current_level, cam[2] + r]],
                           np.float32)
        self._plane_vbo.write(corners.tobytes())
        prog = renderer.shaders.program("flood_water.frag", "flood_plane.vert", HAS_WORLD=1, CAMERA_UNDER=0)
        if self._plane_vao is None or self._plane_vao.program is not prog:  # first frame, or hot-reloaded
            self._plane_vao = ctx.vertex_array(prog, [(self._plane_vbo, "3f", "in_world")])
        renderer.bind_common(prog, source)
        for name, value in {**self.uniforms(), "u_target_size": self._water_tex.size}.items():
            if name in prog:
                prog[name].value = value
        prog["u_projection"].write(projection.T.tobytes())
        self._plane_vao.render(ctx.TRIANGLE_STRIP)
        fbo.depth_mask = True
        ctx.disable(ctx.DEPTH_TEST)

    def render(self, renderer, source, target):
        # the costly shading runs at a third of the resolution and only where water is visible; the
        # full-resolution pass keeps the waterline and occluders exact
        uniforms = self.uniforms()
        state = renderer.state
        has_world = state.camera_to_world is not None
        under = has_world and float(state.camera_to_world[1, 3]) < self.current_level
        defines = {"HAS_WORLD": int(has_world), "CAMERA_UNDER": int(under)}
        if has_world and not under:
            self._draw_water(renderer, source)
        renderer.run_pass(renderer.shaders.program(self.shader, **defines), target, source, uniforms,
                          {"u_water": self._water_tex})

    plus_minus = "level"  # what +/- change (by step_size, see on_key)

    def on_key(self, key):
        if key in ("+", "="):
            self.set_level(self.params.level + self.params.step_size)
        elif key in ("-", "_"):
            self.set_level(self.params.level - self.params.step_size)
        else:
            return False
        return True
