"""The live app: source -> pipeline -> effect chain -> window and/or video file, with keys, mouse and a HUD."""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

import arsdk
from arsdk import effects as fx
from arsdk.camera import fit_frame
from arsdk.imaging import SceneCut
from arsdk.pipeline import ground_truth_state
from arsdk.render import Renderer

from .hud import draw_hud, world_line
from .sinks import BackgroundWriter, open_video_sink, save_screenshot

log = logging.getLogger("demo_app")

EFFECT_KEYS = {"1": "flood", "2": "fog", "3": "sticker", "4": "blur"}
DEMO_HEADLESS_FRAMES = 150  # 5 s of the demo when recording it headless with no --frames


@dataclass
class AppConfig:
    source: object = 0
    effects: list[str] = field(default_factory=lambda: ["flood"])
    params: dict[str, dict] = field(default_factory=dict)  # effect name -> parameter overrides
    size: tuple[int, int] = (640, 480)
    intrinsics: arsdk.Intrinsics | None = None
    hfov_deg: float = 60.0
    depth_model: str | None = None
    depth_spec: arsdk.DepthModelSpec | None = None
    output: str | None = None
    frames: int | None = None
    headless: bool = False
    asynchronous: bool | None = None  # None: workers for live sources, synchronous for files
    ground_truth: bool = False        # demo source only: exact depth, mask and pose instead of the models
    threads: int = 2
    show_stats: bool = True
    auto_output: bool = True          # headless with no --output: record to arsdk_<effects>.mp4
    quality: int = 23                 # H.264 CRF of --output (lower is better)
    mask_smoothing: float | None = None  # the person mask's temporal smoothing (0 = none; None: the SDK's 0.7)
    virtual_camera: str | None = None  # a device ("" = the first free one) to send the frames to as a webcam
    virtual_camera_backend: str | None = None  # pyvirtualcam's backend (None: the platform's)


class App:
    def __init__(self, cfg: AppConfig, log_fn=print):
        self.cfg, self.say = cfg, log_fn
        self.source = self._open_source()
        w, h = cfg.size
        self.effects = [fx.create(name, **cfg.params.get(name, {})) for name in cfg.effects]
        mode = "headless" if cfg.headless else "auto"
        self.renderer = Renderer(w, h, mode=mode, title="arsdk — " + " + ".join(cfg.effects))
        if self.renderer.gl.headless:
            if not cfg.headless:
                self.say("no display: rendering headless")
            if cfg.output is None and cfg.auto_output:  # with no window and no file, frames would go nowhere
                cfg.output = f"arsdk_{'_'.join(cfg.effects)}.mp4"
                self.say(f"no window: recording to {cfg.output}")
            if cfg.frames is None and isinstance(self.source, arsdk.DemoSource):
                cfg.frames = DEMO_HEADLESS_FRAMES
        self.pipeline = None
        if isinstance(self.source, arsdk.DemoSource) and cfg.depth_model is None and not cfg.ground_truth:
            # the demo room comes with exact depth, mask and pose: it shows the effects as they are meant to
            # look, and stickers stay put while its camera moves; --depth-model runs the models on it instead
            cfg.ground_truth = True
            self.source.ground_truth = True
            self.say("demo room: using its exact depth, mask and pose (--depth-model NAME runs the models on it)")
        if not (cfg.ground_truth and isinstance(self.source, arsdk.DemoSource)):
            need_mask = "mask" in fx.needs_of(self.effects) or not self.renderer.gl.headless
            asynchronous = cfg.asynchronous if cfg.asynchronous is not None else self.source.is_live
            depth = arsdk.DepthEstimator(cfg.depth_model, cfg.depth_spec, num_threads=cfg.threads)
            seg = self._segmenter() if need_mask else None
            intr = cfg.intrinsics or self.source.intrinsics or arsdk.Intrinsics.from_fov(w, h, cfg.hfov_deg)
            self.pipeline = arsdk.Pipeline(depth, seg, intr, asynchronous=asynchronous)
            self.say(f"depth model: {depth.name} ({depth.model.backend}); segmentation: "
                     f"{seg.name if seg else 'off'}; {'worker threads' if asynchronous else 'synchronous'}")
        self.show_help = False
        self.message, self._message_until = "", 0.0
        self._events: deque = deque()
        self._last_state = None
        self._render_ms = 0.0
        self._warned_size = False
        self.frame_times: list[float] = []
        self.depth_indices: set[int] = set()  # frames that got their own depth (fewer than all on workers)
        self.stage_times: dict[str, list[float]] = {}
        if self.renderer.gl.window is not None:
            self._install_callbacks()

    # --- setup

    def _segmenter(self) -> "arsdk.PersonSegmenter":
        smoothing = self.cfg.mask_smoothing
        temporal = None if smoothing is None else arsdk.TemporalMaskFilter(smoothing)
        return arsdk.PersonSegmenter(num_threads=1, temporal=temporal)

    def _open_source(self):
        cfg = self.cfg
        w, h = cfg.size
        src = cfg.source
        if isinstance(src, int) or (isinstance(src, str) and src.isdigit()):
            try:
                return arsdk.WebcamSource(int(src), w, h)
            except arsdk.SourceError as exc:
                self.say(f"{exc}; using the built-in demo scene instead")
                src = "demo"
        if src == "demo":
            return arsdk.DemoSource(w, h, hfov_deg=cfg.hfov_deg, realtime=not cfg.headless and cfg.output is None,
                                    ground_truth=cfg.ground_truth)
        source = arsdk.open_source(src)
        if isinstance(source, arsdk.ImageSource):
            # a still stays on screen until q; recorded, it animates for --frames (default 5 s)
            source.repeat = cfg.frames or (None if not cfg.headless else DEMO_HEADLESS_FRAMES)
        return source

    def _install_callbacks(self):
        import glfw

        win = self.renderer.gl.window

        def on_key(_win, key, _scancode, action, mods):
            if action != glfw.PRESS:
                return
            name = glfw.get_key_name(key, 0)
            if key == glfw.KEY_ESCAPE:
                name = "q"
            elif key in (glfw.KEY_KP_ADD,) or (name == "=" and mods & glfw.MOD_SHIFT):
                name = "+"
            elif key == glfw.KEY_KP_SUBTRACT:
                name = "-"
            if name:
                self._events.append(("key", name))

        def on_click(_win, button, action, _mods):
            if button == glfw.MOUSE_BUTTON_LEFT and action == glfw.PRESS:
                x, y = glfw.get_cursor_pos(win)
                ww, wh = glfw.get_window_size(win)
                self._events.append(("click", x * self.cfg.size[0] / max(ww, 1), y * self.cfg.size[1] / max(wh, 1)))

        glfw.set_key_callback(win, on_key)
        glfw.set_mouse_button_callback(win, on_click)

    # --- controls

    def notify(self, text: str, seconds: float = 2.5):
        self.message, self._message_until = text, time.perf_counter() + seconds
        self.say(text)

    def handle_key(self, key: str) -> bool:
        """Apply one key; returns False when the app should quit."""
        if key == "q":
            return False
        if key in EFFECT_KEYS:
            name = EFFECT_KEYS[key]
            self.effects = [fx.create(name, **self.cfg.params.get(name, {}))]
            if name == "blur" and self.pipeline is not None and self.pipeline.segmenter is None:
                self.pipeline.segmenter = self._segmenter()
            self.notify(f"effect: {name}")
        elif key == "h":
            self.show_help = not self.show_help
        elif key == "o":
            self.cfg.show_stats = not self.cfg.show_stats
        elif key == "s":
            path = save_screenshot(self.renderer.read())
            self.notify(f"screenshot saved: {path}")
        else:
            try:
                used = [e.on_key(key) for e in self.effects]
            except arsdk.InputError as exc:  # e.g. the water level pushed past its range
                self.notify(str(exc))
                return True
            if key == "c" and any(used):
                self.notify("stickers cleared")
            if key in ("+", "=", "-", "_"):  # say the new value: the water level, fog density, blur strength
                for effect, was_used in zip(self.effects, used):
                    name = getattr(effect, "plus_minus", None)
                    if was_used and name:
                        self.notify(f"{effect.name} {name.replace('_', ' ')}: {getattr(effect.params, name):.3g}")
        return True

    def handle_click(self, x: float, y: float):
        stickers = [e for e in self.effects if e.name == "sticker"]
        if not stickers:
            self.effects.append(fx.create("sticker", **self.cfg.params.get("sticker", {})))
            stickers = self.effects[-1:]
        if self._last_state is not None and not stickers[0].on_click(self._last_state, x, y):
            self.notify("no surface there (depth unknown or no floor yet)")

    def _drain_events(self) -> bool:
        while self._events:
            ev = self._events.popleft()
            if ev[0] == "key" and not self.handle_key(ev[1]):
                return False
            if ev[0] == "click":
                self.handle_click(ev[1], ev[2])
        return True

    # --- the loop

    def process(self, frame) -> "arsdk.FrameState":
        if self.pipeline is None:
            return ground_truth_state(frame)
        return self.pipeline.process(frame, needs=fx.needs_of(self.effects))  # only the models the effects read

    def _open_sinks(self) -> list:
        cfg, sinks = self.cfg, []
        fps = getattr(self.source, "fps", 30.0)
        try:
            if cfg.output:
                audio = getattr(self.source, "path", None) if isinstance(self.source, arsdk.VideoFileSource) else None
                sinks.append(BackgroundWriter(open_video_sink(cfg.output, cfg.size, fps, cfg.quality, audio)))
            if cfg.virtual_camera is not None:
                from arsdk.virtualcam import VirtualCamera

                camera = VirtualCamera(*cfg.size, fps, device=cfg.virtual_camera or None,
                                       backend=cfg.virtual_camera_backend)
                self.say(f"virtual camera: {camera.device} (choose it as the camera in the call)")
                sinks.append(camera)
        except BaseException:
            for sink in sinks:
                sink.close()
            raise
        return sinks

    def _close_sinks(self, sinks, failed: bool):
        """Finish every sink; after a failure, say what each kept. Raises the first sink error of a clean run."""
        error = None
        for sink in sinks:
            try:
                sink.close()
                if failed and hasattr(sink, "path"):
                    self.say(f"stopped: kept the {sink.frames} frames rendered so far in {sink.path}")
            except arsdk.ArsdkError as exc:
                if failed:
                    self.say(f"error: {exc}")
                error = error or exc
        if error is not None and not failed:
            raise error

    def run(self) -> dict:
        cfg = self.cfg
        sinks = self._open_sinks()
        file_sink = next((s for s in sinks if hasattr(s, "path")), None)
        total = cfg.frames or self.source.frame_count
        bar = None
        if file_sink is not None and total:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=f"rendering {cfg.output}", unit="frame")
        window = self.renderer.gl.window
        # unrelated pictures in a row (a folder's photos, an edit in a video) must not share temporal state
        cut = SceneCut() if not self.source.is_live else None
        last = start = time.perf_counter()
        fps = None
        n = 0
        try:
            for frame in self.source:
                if cfg.frames is not None and n >= cfg.frames:
                    break
                if frame.image.shape[:2] != (cfg.size[1], cfg.size[0]):
                    if not self._warned_size:
                        h, w = frame.image.shape[:2]
                        self.say(f"{self.source.name} gives {w}x{h}: centre-cropped and scaled to "
                                 f"{cfg.size[0]}x{cfg.size[1]} (use --size to change)")
                        self._warned_size = True
                    frame.image = fit_frame(frame.image, cfg.size)
                    frame.depth = frame.mask = None  # ground truth no longer lines up
                if cut is not None and cut(frame.image) and self.pipeline is not None:
                    self.pipeline.reset()
                t0 = time.perf_counter()
                state = self.process(frame)
                self._last_state = state
                t1 = time.perf_counter()
                dt = t1 - last if self.source.is_live else 1.0 / getattr(self.source, "fps", 30.0)
                overlay = None
                if window is not None:
                    if t1 > self._message_until:
                        self.message = ""
                    timings = {**state.timings, **({"render": self._render_ms} if self._render_ms else {})}
                    overlay = draw_hud(cfg.size, fps, timings, [e.name for e in self.effects],
                                       cfg.show_stats, self.show_help, self.message, world_line(state))
                    self.renderer.shaders.reload_changed()
                out = self.renderer.render(state, self.effects, dt, overlay=overlay, read=bool(sinks))
                t2 = time.perf_counter()
                self._render_ms = (t2 - t1) * 1e3
                for sink in sinks:
                    sink.write(out)
                if window is not None:
                    import glfw

                    if not self.renderer.show():
                        break
                    glfw.poll_events()
                    if not self._drain_events():
                        break
                elif not self._drain_events():
                    break
                end = time.perf_counter()
                # the honest rate: wall clock from one frame to the next, capture and writing included
                self.frame_times.append(end - last)
                last = end
                for k, v in {**state.timings, "pipeline": (t1 - t0) * 1e3, "render": (t2 - t1) * 1e3}.items():
                    self.stage_times.setdefault(k, []).append(v)
                self.depth_indices.add(state.depth_index)
                recent = self.frame_times[-30:]
                fps = len(recent) / max(sum(recent), 1e-9)
                n += 1
                if bar is not None:
                    bar.update(1)
        except BaseException:
            if bar is not None:
                bar.close()
            self._close_sinks(sinks, failed=True)
            self.close()
            raise
        if bar is not None:
            bar.close()
        try:
            self._close_sinks(sinks, failed=False)  # raises SinkError when a file could not be finished
        finally:
            self.close()
        summary = self.summary()
        summary["wall_s"] = time.perf_counter() - start
        if file_sink is not None:
            self.say(f"wrote {file_sink.frames} frames to {cfg.output}")
        self.say(f"{summary['frames']} frames, {summary['fps']:.1f} FPS (wall clock, capture included); median ms: "
                 + ", ".join(f"{k} {v:.1f}" for k, v in summary["median_ms"].items()))
        return summary

    def summary(self) -> dict:
        times = self.frame_times[1:] or self.frame_times  # the first frame pays for shader compilation
        return {"frames": len(self.frame_times), "fps": len(times) / max(sum(times), 1e-9),
                "frames_with_fresh_depth": len(self.depth_indices),
                "median_ms": {k: float(np.median(v)) for k, v in self.stage_times.items()}}

    def close(self):
        if self.pipeline is not None:
            self.pipeline.close()
        self.source.close()
        self.renderer.release()
