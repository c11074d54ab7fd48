"""AR effects: one module per effect, each a small class with typed parameters and its shader names.

Effects are found by name (`create("flood", level=0.4)`); another package adds its own through the
`arsdk.effects` entry-point group (name = "module:Class", the class a subclass of `Effect`).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields, replace
from importlib.metadata import entry_points

from arsdk.errors import InputError

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type["Effect"]] = {}


@dataclass
class Params:
    """Base of effect parameters: subclasses declare typed fields and ranges in `RANGES`."""

    RANGES = {}  # field -> (min, max); None for an open end

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            _check_type(type(self).__name__, f.name, value, f.default)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
                raise InputError(f"{type(self).__name__}.{f.name}: expected a finite number, got {value}")
            lo, hi = self.RANGES.get(f.name, (None, None))
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise InputError(f"{type(self).__name__}.{f.name}: expected a value in "
                                 f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}], "
                                 f"got {value}")

    @classmethod
    def describe(cls) -> list[str]:
        """One line a parameter: name, default, range and what it is (the field's own comment: units included)."""
        import inspect
        import re

        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            source = ""
        notes = {m[1]: m[2] for m in re.finditer(r"^\s+(\w+)\s*:[^=\n]+=[^#\n]*#\s*(.+)$", source, re.M)}
        lines = []
        for f in fields(cls):
            lo, hi = cls.RANGES.get(f.name, (None, None))
            span = f"  [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]" if f.name in cls.RANGES else ""
            default = ",".join(str(v) for v in f.default) if isinstance(f.default, tuple) else repr(f.default)
            lines.append(f"{f.name} = {default}{span}  ({_describe(f.default)})" +
                         (f"  {notes[f.name]}" if f.name in notes else ""))
        return lines

    @classmethod
    def parse(cls, name: str, text: str):
        """A parameter's value from text (the command line's EFFECT.PARAM=VALUE): typed like the field's default
        (a number, a whole number, comma-separated numbers for a tuple, true/false, or text)."""
        known = {f.name: f for f in fields(cls)}
        if name not in known:
            raise InputError(f"{cls.__name__}: no parameter {name!r}; parameters are: {', '.join(known)}")
        default = known[name].default
        what = _describe(default)
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes", "on")
            if isinstance(default, int):
                return int(text)
            if isinstance(default, float):
                return float(text)
            if isinstance(default, tuple):
                value = tuple(float(v) for v in text.split(","))
                if len(value) != len(default):
                    raise ValueError(text)
                return value
        except ValueError:
            raise InputError(f"{cls.__name__}.{name}: expected {what}, got {text!r}") from None
        return text


def _describe(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, tuple):
        return f"{len(default)} comma-separated numbers like {','.join(str(v) for v in default)}"
    return "text"


def _check_type(owner: str, name: str, value, default):
    """A value of the kind the field's default is (ints pass for floats; tuples of as many numbers)."""
    ok = True
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, tuple):
        ok = (isinstance(value, (tuple, list)) and len(value) == len(default)
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    elif isinstance(default, str):
        ok = isinstance(value, str)
    if not ok:
        raise InputError(f"{owner}.{name}: expected {_describe(default)}, got {value!r}")


class Effect:
    """Base class. Subclasses set `name`, `Params` and `shader` (a fragment shader in shaders/), and may
    override `setup`, `update`, `render`, `on_key` and `on_click`. `needs`: what the effect reads from the
    FrameState ("depth", "mask", "world"), so the pipeline runs only the models someone reads."""

    name = "effect"
    Params = Params
    shader = ""
    needs: frozenset = frozenset({"depth", "world"})
    # the folder of this effect's own shaders, searched before arsdk's (a plugin: Path(__file__).parent); its
    # shaders may #include arsdk's (common.glsl, noise.glsl)
    shader_dir: str | None = None

    def __init__(self, params: Params | None = None, **overrides):
        try:
            self.params = replace(params or self.Params(), **overrides)
        except TypeError as exc:
            names = ", ".join(f.name for f in fields(self.Params))
            raise InputError(f"effect {self.name}: {exc}; parameters are: {names}") from exc
        self._renderer = None

    def set_params(self, **changes):
        """Change parameters (validated like the constructor's)."""
        self.params = replace(self.params, **changes)

    def ensure_setup(self, renderer):
        if self._renderer is not renderer:
            self._renderer = renderer
            if self.shader_dir is not None:
                renderer.shaders.add_search_dir(self.shader_dir)
            with renderer.current:
                self.setup(renderer)

    def setup(self, renderer):
        """Create GL resources (called once per renderer)."""

    def update(self, state, dt: float):
        """Advance animations and CPU-side state for this frame."""

    def uniforms(self) -> dict:
        return {}

    def defines(self, state) -> dict:
        """Compile-time switches for this frame (see ShaderLibrary.program): HAS_WORLD by default."""
        return {"HAS_WORLD": int(state.camera_to_world is not None)}

    def textures(self) -> dict:
        return {}

    def render(self, renderer, source, target):
        """Read `source` (a texture) and write the result into `target` (a framebuffer)."""
        program = renderer.shaders.program(self.shader, **self.defines(renderer.state))
        renderer.run_pass(program, target, source, self.uniforms(), self.textures())

    # the parameter that "+" and "-" scale by 1.25 (up to its range's end); None: those keys do nothing
    plus_minus: str | None = None

    def on_key(self, key: str) -> bool:
        """Handle a key press ("+", "-", "c", ...); return True when used."""
        if self.plus_minus is None or key not in ("+", "=", "-", "_"):
            return False
        value = getattr(self.params, self.plus_minus)
        value = value * 1.25 if key in ("+", "=") else value / 1.25
        hi = self.Params.RANGES.get(self.plus_minus, (None, None))[1]
        self.set_params(**{self.plus_minus: value if hi is None else min(value, hi)})
        return True

    def on_click(self, state, x: float, y: float) -> bool:
        """Handle a click at pixel (x, y); return True when used."""
        return False

    def __repr__(self):
        return f"{type(self).__name__}({self.params})"


def register(cls: type[Effect]) -> type[Effect]:
    """Class decorator: make an effect available by its `name`."""
    if not (isinstance(cls, type) and issubclass(cls, Effect)):
        raise InputError(f"register: expected an Effect subclass, got {cls!r}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_plugins():
    for ep in entry_points(group="arsdk.effects"):
        if ep.name in _REGISTRY:
            continue
        try:
            cls = ep.load()
            register(cls)
        except Exception as exc:  # a broken plugin must not take the built-in effects down with it
            log.warning("effect plugin %s (%s) could not be loaded: %s", ep.name, ep.value, exc)


def needs_of(effects) -> frozenset:
    """Everything a chain of effects reads: pass it to `Pipeline.process(frame, needs=...)`."""
    out: frozenset = frozenset()
    for effect in effects:
        out |= effect.needs
    return out


def available() -> list[str]:
    """Names of every known effect: built-in and from installed plugins."""
    _load_plugins()
    return sorted(_REGISTRY)


def get(name: str) -> type[Effect]:
    if name not in _REGISTRY:
        _load_plugins()
    if name not in _REGISTRY:
        raise InputError(f"effect {name!r}: unknown; available: {', '.join(available())}")
    return _REGISTRY[name]


def create(name: str, **params) -> Effect:
    """An effect instance by name, with parameter overrides."""
    return get(name)(**params)


from . import blur, flood, fog, sticker  # noqa: E402,F401  (registers the built-in effects)
from .blur import BlurEffect  # noqa: E402
from .flood import FloodEffect  # noqa: E402
from .fog import FogEffect  # noqa: E402
from .sticker import Sticker, StickerEffect  # noqa: E402

__all__ = ["BlurEffect", "Effect", "FloodEffect", "FogEffect", "Params", "Sticker", "StickerEffect", "available",
           "create", "get", "register"]
