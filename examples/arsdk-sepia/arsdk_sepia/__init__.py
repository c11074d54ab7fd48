"""An arsdk effect plugin: the room as an old photograph, fading with distance; the person keeps their colour.

A complete example of docs/writing-effects.md: typed parameters with ranges and units, what the effect reads,
its own shader next to this module (which includes arsdk's common.glsl), an entry point in pyproject.toml.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arsdk.effects import Effect, Params


@dataclass
class SepiaParams(Params):
    strength: float = 1.0        # 0 = the camera's colours, 1 = fully sepia
    fade_distance: float = 4.0   # metres at which the picture has faded halfway to paper white
    keep_person: bool = True     # leave the person (the segmentation mask) in colour
    RANGES = {"strength": (0.0, 1.0), "fade_distance": (0.1, 100.0)}


class SepiaEffect(Effect):
    name = "sepia"
    Params = SepiaParams
    shader = "sepia.frag"
    shader_dir = str(Path(__file__).parent)
    plus_minus = "fade_distance"

    @property
    def needs(self) -> frozenset:
        return frozenset({"depth", "mask"}) if self.params.keep_person else frozenset({"depth"})

    def uniforms(self) -> dict:
        p = self.params
        return {"u_strength": p.strength, "u_fade_distance": p.fade_distance, "u_keep_person": float(p.keep_person)}
