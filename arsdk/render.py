"""The moderngl side: one context (a GLFW window, or headless EGL), per-frame textures shared by every effect,
the effect chain through ping-pong framebuffers, read-back, and shader hot reload."""
from __future__ import annotations

import logging
import os
import time
import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from . import shaders

from .errors import ArsdkError, InputError, check_depth, check_image, check_mask, check_pose
from .frame import FrameState

log = logging.getLogger(__name__)

WINDOW, HEADLESS, AUTO = "window", "headless", "auto"


class RenderError(ArsdkError, RuntimeError):
    """No OpenGL 3.3 context could be made, or a shader failed to compile."""


@dataclass
class GLContext:
    ctx: object
    window: object | None = None  # a glfw window, or None when headless

    @property
    def headless(self) -> bool:
        return self.window is None


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def create_context(mode: str = AUTO, size=(640, 480), title: str = "arsdk") -> GLContext:
    """A GL 3.3 context: a GLFW window (mode "window"), headless EGL ("headless"), or a window when a display
    exists and EGL otherwise ("auto")."""
    import moderngl

    if mode not in (AUTO, WINDOW, HEADLESS):
        raise InputError(f"render mode: expected 'auto', 'window' or 'headless', got {mode!r}")
    if mode == WINDOW or (mode == AUTO and display_available()):
        try:
            return _create_window(size, title)
        except RenderError as exc:
            if mode == WINDOW:
                raise
            log.warning("no window (%s); rendering headless", exc)
    try:
        return GLContext(moderngl.create_standalone_context(backend="egl"))
    except Exception as egl_exc:
        try:
            return GLContext(moderngl.create_standalone_context())
        except Exception as exc:
            raise RenderError(f"no OpenGL 3.3 context: EGL failed ({egl_exc}); default failed ({exc})") from exc


def _create_window(size, title) -> GLContext:
    import glfw
    import moderngl

    if not glfw.init():
        raise RenderError("GLFW could not initialise (no display?)")
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
    window = glfw.create_window(int(size[0]), int(size[1]), title, None, None)
    if not window:
        glfw.terminate()
        raise RenderError("GLFW could not create a GL 3.3 window")
    glfw.make_context_current(window)
    glfw.swap_interval(0)

    def on_key(win, key, _scancode, action, _mods):  # Escape closes, as the close button does (the app adds its own)
        if key == glfw.KEY_ESCAPE and action == glfw.PRESS:
            glfw.set_window_should_close(win, True)

    glfw.set_key_callback(window, on_key)
    return GLContext(moderngl.create_context(), window)


NOISE_UNIT = 15  # texture unit of the shared noise (units 0-3: frame textures, 4+: an effect's own)


def image_projection(intr, near: float = 0.05, far: float = 100.0) -> np.ndarray:
    """4x4 projection from OpenCV camera coordinates to clip space for targets kept in image convention (texel
    row 0 = top image row), as every effect target is: Intrinsics.gl_projection with y flipped."""
    return np.diag([1.0, -1.0, 1.0, 1.0]).astype(np.float32) @ intr.gl_projection(near, far)


def make_noise_texture(ctx, size: int = 256, seed: int = 7):
    """Tiling RGBA texture for shaders/noise.glsl: two random fields (R, B) and each shifted by (37, 17) texels
    (G, A), so one bilinear fetch gives two y-layers of 3D value noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 256, (2, size, size), dtype=np.uint8)
    shift = lambda f: np.roll(f, (-17, -37), axis=(0, 1))  # noqa: E731  (row = z, column = x)
    data = np.stack([a, shift(a), b, shift(b)], axis=-1)
    tex = ctx.texture((size, size), 4, np.ascontiguousarray(data).tobytes())
    tex.repeat_x = tex.repeat_y = True
    return tex


def bind_noise(prog, tex):
    if "u_noise2d" in prog:
        tex.use(NOISE_UNIT)
        prog["u_noise2d"].value = NOISE_UNIT


def _with_defines(source: str, header: str) -> str:
    """Insert #define lines after the #version line (which must stay first)."""
    if not header:
        return source
    first, _, rest = source.partition("\n")
    return f"{first}\n{header}{rest}" if first.startswith("#version") else header + source


class ShaderLibrary:
    """Compiles programs from the shaders package (includes resolved) and recompiles one whose files changed.
    A failed recompile is logged and the last good program kept, so a typo never kills a live session."""

    def __init__(self, ctx, search_dirs=(), current: "CurrentContext | None" = None):
        self.ctx, self.search_dirs = ctx, tuple(search_dirs)
        self.current = current or CurrentContext(ctx)
        self._programs: dict[tuple[str, str], object] = {}
        self._mtimes: dict[tuple[str, str], float] = {}
        self._missing: set = set()
        self._last_check = 0.0

    def add_search_dir(self, folder):
        """Look for shaders in `folder` too (after those given at construction, before arsdk's own)."""
        folder = str(folder)
        if folder not in self.search_dirs:
            self.search_dirs = (*self.search_dirs, folder)

    def _stamp(self, key) -> float | None:
        """The newest modification time of the program's files, or None while one of them is missing (an editor
        that saves by deleting and re-creating the file, an include not written yet): wait for it to appear."""
        try:
            return max(p.stat().st_mtime for name in key[:2] for p in shaders.source_files(name, self.search_dirs))
        except (OSError, ArsdkError):
            return None

    def _compile(self, key):
        vert, frag, defines = key
        header = "".join(f"#define {name} {value}\n" for name, value in defines)
        try:
            with self.current:
                vertex = _with_defines(shaders.load_source(vert, self.search_dirs), header)
                fragment = _with_defines(shaders.load_source(frag, self.search_dirs), header)
                return self.ctx.program(vertex_shader=vertex, fragment_shader=fragment)
        except Exception as exc:  # moderngl raises a plain Error with the driver's log
            raise RenderError(f"shader {vert} + {frag} {dict(defines)}: {exc}") from exc

    def program(self, frag: str, vert: str = "fullscreen.vert", **defines):
        """The program built from these files; `defines` become #define lines. Use defines, not uniforms, for
        switches fixed per frame: llvmpipe runs both sides of a branch, even on a uniform."""
        key = (vert, frag, tuple(sorted(defines.items())))
        if key not in self._programs:
            self._programs[key] = self._compile(key)
            self._mtimes[key] = self._stamp(key)
        return self._programs[key]

    def reload_changed(self, min_interval: float = 0.5) -> list[str]:
        """Recompile programs whose source files changed on disk; returns the fragment names reloaded."""
        now = time.monotonic()
        if now - self._last_check < min_interval:
            return []
        self._last_check = now
        reloaded = []
        for key in list(self._programs):
            stamp = self._stamp(key)
            if stamp is None:
                if key not in self._missing:
                    self._missing.add(key)
                    log.warning("shader %s: a source file is missing; keeping the running version until it is back",
                                key[1])
                continue
            self._missing.discard(key)
            if stamp <= self._mtimes[key]:
                continue
            self._mtimes[key] = stamp
            try:
                new = self._compile(key)
            except RenderError as exc:
                log.error("shader reload failed, keeping the previous version: %s", exc)
                continue
            self._programs[key].release()
            self._programs[key] = new
            reloaded.append(key[1])
            log.info("reloaded shader %s", key[1])
        return reloaded


class CurrentContext:
    """Re-entrant `with` for a moderngl context. Several contexts (the demo scene's, a second renderer's) may
    live on one thread and GL calls go to whichever is current; moderngl's own `with ctx` is not re-entrant
    (a nested exit leaves no context current), so only the outermost entry switches."""

    def __init__(self, ctx):
        self.ctx, self._depth = ctx, 0

    def __enter__(self):
        if self._depth == 0:
            self.ctx.__enter__()
        self._depth += 1
        return self.ctx

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            self.ctx.__exit__(*exc)


def _in_context(method):
    """Run a renderer method with its context current."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        released = getattr(self, "_finalizer", None)
        if released is not None and not released.alive:  # its GL objects are gone: moderngl's errors name none of it
            raise InputError(f"Renderer: {method.__name__}() used after release(); make a new Renderer")
        with self.current:
            return method(self, *args, **kwargs)

    return wrapper


class Renderer:
    """Uploads a FrameState once, runs the effect chain, and reads back or shows the result.

        renderer = Renderer(640, 480)                # headless unless a display exists
        out = renderer.render(state, [FloodEffect()], dt=1/30)   # HxWx3 uint8 RGB
    """

    def __init__(self, width: int, height: int, mode: str = AUTO, context: GLContext | None = None,
                 title: str = "arsdk", shader_dirs=(), far: float = 30.0):
        if width < 1 or height < 1:
            raise InputError(f"render size: expected positive, got {width}x{height}")
        self.gl = context or create_context(mode, (width, height), title)
        self.ctx = self.gl.ctx
        self.current = CurrentContext(self.ctx)
        self.width, self.height, self.far = width, height, far
        self._uploaded_depth = None
        with self.current:
            self._create_resources(shader_dirs)
        # a renderer dropped without release() frees its context (~15 MB) when it is collected
        self._finalizer = weakref.finalize(self, _release_context, self.gl, context is not None)

    def _create_resources(self, shader_dirs):
        import moderngl

        width, height = self.width, self.height
        self.shaders = ShaderLibrary(self.ctx, shader_dirs, self.current)
        # RGBA, filled from the RGB frame on the CPU: llvmpipe unpacks an RGB upload pixel by pixel (0.8 ms at
        # 1280x720), while cv2's SIMD conversion and an RGBA upload take 0.14 ms
        self.image_tex = self.ctx.texture((width, height), 4)
        self._rgba = np.empty((height, width, 4), np.uint8)
        self.depth_tex = self.ctx.texture((width, height), 1, dtype="f4")
        self.mask_tex = self.ctx.texture((width, height), 1, dtype="f4")
        for tex in (self.image_tex, self.depth_tex, self.mask_tex):
            tex.repeat_x = tex.repeat_y = False
        self.depth_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)  # never average depth across edges
        self._targets = [self._make_target() for _ in range(2)]
        self._vaos: dict = {}
        self.noise_tex = make_noise_texture(self.ctx)
        self.state: FrameState | None = None
        self.time = 0.0
        self.output = None  # texture holding the last result
        self._overlay_tex = None
        self._readback = None

    def _make_target(self):
        tex = self.ctx.texture((self.width, self.height), 4)
        tex.repeat_x = tex.repeat_y = False
        return tex, self.ctx.framebuffer([tex])

    # --- per-frame data

    @_in_context
    def upload(self, state: FrameState):
        """Upload image, depth and mask once; every effect samples the same textures."""
        image = check_image(state.image, "state.image")
        if image.shape[:2] != (self.height, self.width):
            raise InputError(f"state.image: {image.shape[1]}x{image.shape[0]} does not match the renderer's "
                             f"{self.width}x{self.height}")
        size = (self.height, self.width)
        depth = check_depth(state.depth, "state.depth")
        if depth.shape != size:
            raise InputError(f"state.depth: {depth.shape[1]}x{depth.shape[0]} does not match the image's "
                             f"{self.width}x{self.height}")
        mask = state.mask if state.mask is not None else np.zeros(size, np.float32)
        check_mask(mask, "state.mask")
        if mask.shape != size:
            raise InputError(f"state.mask: {mask.shape[1]}x{mask.shape[0]} does not match the image's "
                             f"{self.width}x{self.height}")
        if state.camera_to_world is not None:
            check_pose(state.camera_to_world, "state.camera_to_world")
        cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2RGBA, dst=self._rgba)
        self.image_tex.write(self._rgba)
        # a read-only array already on the GPU (the pipeline's all-unknown depth when no effect reads depth) is
        # not sent again: at 1280x720 that is 3.7 MB a frame
        if not (depth is self._uploaded_depth and not depth.flags.writeable):
            self.depth_tex.write(np.ascontiguousarray(depth))
            self._uploaded_depth = depth
        self.mask_tex.write(np.ascontiguousarray(mask))
        self.state = state

    def bind_common(self, prog, color_tex, state: FrameState | None = None):
        """Bind the shared textures and camera uniforms of shaders/common.glsl (those the program uses)."""
        state = state or self.state
        intr = state.intrinsics
        units = {"u_color": color_tex, "u_image": self.image_tex, "u_depth": self.depth_tex, "u_mask": self.mask_tex}
        for unit, (name, tex) in enumerate(units.items()):
            if name in prog:
                tex.use(unit)
                prog[name].value = unit
        bind_noise(prog, self.noise_tex)
        c2w = state.camera_to_world if state.camera_to_world is not None else np.eye(4)
        values = {"u_intrinsics": (intr.fx, intr.fy, intr.cx, intr.cy), "u_resolution": (self.width, self.height),
                  "u_time": self.time, "u_far": self.far}
        for name, value in values.items():
            if name in prog:
                prog[name].value = value
        for name, mat in (("u_cam_to_world", c2w), ("u_world_to_cam", np.linalg.inv(c2w))):
            if name in prog:
                prog[name].write(np.asarray(mat, np.float32).T.tobytes())

    def run_pass(self, prog, target_fbo, color_tex, uniforms: dict | None = None, textures: dict | None = None,
                 keep_state: bool = False):
        """Draw a fullscreen pass of `prog` into `target_fbo`, with common bindings plus extra uniforms/textures.
        keep_state: leave depth test and blending as the caller set them (for passes that write depth)."""
        self.bind_common(prog, color_tex)
        for i, (name, tex) in enumerate((textures or {}).items(), start=4):
            if name in prog:
                tex.use(i)
                prog[name].value = i
        for name, value in (uniforms or {}).items():
            if name in prog:
                if isinstance(value, np.ndarray) and value.ndim == 2:
                    prog[name].write(np.asarray(value, np.float32).T.tobytes())
                else:
                    prog[name].value = value
        target_fbo.use()
        if not keep_state:
            self.ctx.disable(self.ctx.DEPTH_TEST)
            self.ctx.disable(self.ctx.BLEND)
        self.fullscreen_vao(prog).render(vertices=3)

    def fullscreen_vao(self, prog):
        """The attribute-less vertex array that draws one fullscreen triangle with `prog` (cached)."""
        vao = self._vaos.get(prog)
        if vao is None:
            vao = self._vaos[prog] = self.ctx.vertex_array(prog, [])
        return vao

    # --- the chain

    @_in_context
    def render(self, state: FrameState, effects=(), dt: float = 0.0, overlay: np.ndarray | None = None,
               read: bool = True) -> np.ndarray | None:
        """Upload `state`, apply `effects` in order, optionally draw an RGBA overlay; return HxWx3 uint8 RGB
        when `read` (else None: the result stays on the GPU in `self.output`)."""
        self.time += dt
        self.upload(state)
        source = self.image_tex
        for i, effect in enumerate(effects):
            effect.ensure_setup(self)
            effect.update(state, dt)
            tex, fbo = self._targets[i % 2]
            effect.render(self, source, fbo)
            source = tex
        if overlay is not None:
            source = self._draw_overlay(source, overlay, len(effects))
        self.output = source
        return self.read() if read else None

    def _draw_overlay(self, source, overlay: np.ndarray, step: int):
        if overlay.shape != (self.height, self.width, 4) or overlay.dtype != np.uint8:
            raise InputError(f"overlay: expected {self.height}x{self.width}x4 uint8 RGBA, got "
                             f"{overlay.shape} {overlay.dtype}")
        if self._overlay_tex is None:
            self._overlay_tex = self.ctx.texture((self.width, self.height), 4)
        self._overlay_tex.write(np.ascontiguousarray(overlay))
        tex, fbo = self._targets[step % 2]
        if tex is source:
            tex, fbo = self._targets[(step + 1) % 2]
        self.run_pass(self.shaders.program("overlay.frag"), fbo, source, textures={"u_overlay": self._overlay_tex})
        return tex

    @_in_context
    def read(self) -> np.ndarray:
        """The last result as HxWx3 uint8 RGB (a GPU -> CPU copy; call only when a sink needs pixels)."""
        tex = self.output if self.output is not None else self.image_tex
        if self._readback is None:
            self._readback = np.empty((self.height, self.width, 4), np.uint8)
        tex.read_into(self._readback)
        return cv2.cvtColor(self._readback, cv2.COLOR_RGBA2RGB)  # SIMD; a numpy strided copy costs 1.7 ms

    @property
    def should_close(self) -> bool:
        """True once the window's close button (or Escape) was pressed; always False headless."""
        if self.gl.window is None:
            return False
        import glfw

        return bool(glfw.window_should_close(self.gl.window))

    @_in_context
    def show(self) -> bool:
        """Blit the last result to the window, swap and handle the window's events; returns False once the window
        should close (its close button, or Escape). Headless there is no window: nothing to do, returns True."""
        if self.gl.window is None:
            return True
        import glfw

        fb_w, fb_h = glfw.get_framebuffer_size(self.gl.window)
        self.ctx.screen.use()
        self.ctx.viewport = (0, 0, fb_w, fb_h)
        prog = self.shaders.program("blit.frag")
        (self.output or self.image_tex).use(0)
        prog["u_source"].value = 0
        self.fullscreen_vao(prog).render(vertices=3)
        glfw.swap_buffers(self.gl.window)
        glfw.poll_events()  # without it the window neither repaints nor hears its close button
        return not glfw.window_should_close(self.gl.window)

    def release(self):
        """Free the GL context (or close the window). Also at the end of a `with` block, or when collected."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _release_context(gl: "GLContext", borrowed: bool):
    if borrowed:  # a context passed in belongs to the caller
        return
    try:
        if gl.window is not None:
            import glfw

            glfw.destroy_window(gl.window)
            glfw.terminate()
        else:
            gl.ctx.release()
    except Exception as exc:  # at interpreter exit the GL library may be gone already
        log.debug("renderer: context release failed: %s", exc)
