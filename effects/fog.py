"""Fog anchored in the room: distance fog plus height fog (denser near the floor), modulated by drifting
world-space noise so the wisps stay put when the camera moves."""
from __future__ import annotations

from dataclasses import dataclass

from . import Effect, Params, register


@dataclass
class FogParams(Params):
    density: float = 0.15          # distance fog, extinction per metre
    height_density: float = 0.2    # extra extinction per metre at the floor
    height_falloff: float = 0.4    # metres over which the height fog thins by e
    color: tuple = (0.78, 0.8, 0.84)  # fog colour (linear RGB 0..1)
    noise: float = 0.6             # 0 = uniform fog, 1 = fully patchy
    noise_scale: float = 0.8       # noise features per metre
    wind: tuple = (0.12, 0.0, 0.05)  # m/s drift of the noise
    RANGES = {"density": (0.0, 20.0), "height_density": (0.0, 50.0), "height_falloff": (0.01, 100.0),
              "noise": (0.0, 1.0), "noise_scale": (0.0, 100.0)}


@register
class FogEffect(Effect):
    name = "fog"
    Params = FogParams
    shader = "fog.frag"
    plus_minus = "density"

    def uniforms(self):
        p = self.params
        return {"u_fog_color": tuple(p.color), "u_density": p.density, "u_height_density": p.height_density,
                "u_height_falloff": p.height_falloff, "u_noise": p.noise, "u_noise_scale": p.noise_scale,
                "u_wind": tuple(p.wind)}
