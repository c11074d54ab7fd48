"""python -m demo_app --effect flood [--source 0|demo|video.mp4|folder|image.png] [--output out.mp4] ..."""
from __future__ import annotations

import argparse
import logging
import sys

# Ctrl-C while the heavy modules load (seconds on a cold start) must end quietly too
try:
    import arsdk
    from arsdk import effects as fx
    from arsdk.depth import BUILTIN_SPECS, METRIC, RELATIVE_DEPTH, RELATIVE_INVERSE, DepthModelSpec
    from arsdk.errors import ArsdkError
    from arsdk.render import display_available
except KeyboardInterrupt:
    sys.exit(130)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 640x480, got {text!r}") from None
    if w < 16 or h < 16 or w > 8192 or h > 8192:
        raise argparse.ArgumentTypeError(f"expected a size between 16 and 8192 pixels a side, got {text!r}")
    return w, h


def _param(text: str) -> tuple[str, str, str]:
    """EFFECT.PARAM=VALUE -> (effect, param, value text); the value is typed by the effect's Params in main."""
    try:
        key, value = text.split("=", 1)
        effect, name = key.split(".", 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected EFFECT.PARAM=VALUE like flood.level=0.5, got {text!r}") from None
    return effect, name, value


def typed_params(settings, running: list[str]) -> dict[str, dict]:
    """--set values typed and checked against each effect's parameters; raises InputError naming the mistake."""
    params: dict[str, dict] = {}
    for effect, name, text in settings:
        if effect not in fx.available():
            raise arsdk.InputError(f"--set {effect}.{name}: no effect {effect!r}; known: {', '.join(fx.available())}")
        if effect not in running:
            raise arsdk.InputError(f"--set {effect}.{name}: effect {effect} is not running (running: "
                                   f"{', '.join(running)}); add --effect {effect}")
        params.setdefault(effect, {})[name] = fx.get(effect).Params.parse(name, text)
    for effect, values in params.items():  # ranges and combinations, as the effect itself would check them
        fx.get(effect).Params(**values)
    return params


def _depth_spec(text: str) -> DepthModelSpec:
    """WxH,layout,kind e.g. 256x256,nhwc,relative_inverse"""
    try:
        size, layout, kind = text.split(",")
        return DepthModelSpec(_size(size), layout, output_kind=kind)
    except (ValueError, argparse.ArgumentTypeError, ArsdkError) as exc:
        raise argparse.ArgumentTypeError(f"--depth-spec: expected WxH,nchw|nhwc,{METRIC}|{RELATIVE_INVERSE}|"
                                         f"{RELATIVE_DEPTH}, got {text!r} ({exc})") from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m demo_app", description="arsdk live AR effects from one RGB camera.",
                                 epilog="keys: 1-4 effect, +/- level/density/strength, c clear stickers, "
                                        "s screenshot, o stats, h help, q quit; click places a sticker")
    ap.add_argument("--source", default="0", help="webcam index, 'demo', a video file, an image or an image folder "
                                                  "(default 0; falls back to 'demo' when there is no webcam)")
    ap.add_argument("--effect", action="append", choices=None, metavar="NAME",
                    help=f"effect to apply, repeatable, in order (default flood); known: {', '.join(fx.available())}")
    ap.add_argument("--set", action="append", type=_param, default=[], metavar="EFFECT.PARAM=VALUE",
                    help="effect parameter, e.g. flood.level=0.5, fog.color=0.8,0.8,0.9, blur.mode=dof")
    cam = ap.add_mutually_exclusive_group()
    cam.add_argument("--fov", type=float, default=60.0, help="horizontal field of view in degrees (default 60)")
    cam.add_argument("--calibration", help="OpenCV calibration file (yaml/json) with the camera matrix")
    ap.add_argument("--depth-model",
                    help="fastdepth, arsdk_depth, arsdk_depth_int8, or a .tflite/.onnx path (with --depth-spec)")
    ap.add_argument("--depth-spec", type=_depth_spec, help="for a depth model given by path: WxH,layout,kind")
    ap.add_argument("--output", help="record to this video file: .mp4/.mkv/.mov as H.264 with a video source's "
                                     "audio (with PyAV installed), .avi as MJPG")
    ap.add_argument("--quality", type=int, default=23, help="H.264 quality, x264's CRF 0-51, lower is better "
                                                            "(default 23)")
    ap.add_argument("--virtual-camera", nargs="?", const="", default=None, metavar="DEVICE",
                    help="also send the frames to a virtual camera (Zoom, Meet, OBS see a webcam); DEVICE e.g. "
                         "/dev/video10, default the first free one (pip install \"arsdk[virtualcam]\")")
    ap.add_argument("--mask-smoothing", type=float, default=None, metavar="S",
                    help="temporal smoothing of the person mask, 0 (none) to 0.95 (default 0.7); moving edges are "
                         "taken at once whatever S, so it steadies flicker without a trailing ghost")
    ap.add_argument("--list-effects", action="store_true", help="list the effects and their parameters, then exit")
    ap.add_argument("--version", action="version", version=f"arsdk {arsdk.__version__}")
    ap.add_argument("--frames", type=int, help="stop after N frames")
    ap.add_argument("--headless", action="store_true", help="no window, even if a display exists")
    ap.add_argument("--size", type=_size, default=(640, 480), help="render size WxH (default 640x480)")
    ap.add_argument("--sync", action="store_true", help="run the models on every frame (default for files)")
    ap.add_argument("--ground-truth", action="store_true",
                    help="demo source: use its exact depth, mask and pose (the default there unless --depth-model)")
    ap.add_argument("--threads", type=int, default=2, help="threads for the depth model (default 2)")
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap


def main(argv=None) -> int:
    from .app import App, AppConfig

    ap = build_parser()
    args = ap.parse_args(argv)
    if args.list_effects:
        for name in fx.available():
            effect = fx.create(name)
            print(f"{name}  (reads: {', '.join(sorted(effect.needs))})")
            for line in effect.Params.describe():
                print(f"    {line}")
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    names = args.effect or ["flood"]
    known = fx.available()
    for name in names:
        if name not in known:
            ap.error(f"--effect {name}: unknown; known: {', '.join(known)}")
    if args.mask_smoothing is not None and not 0.0 <= args.mask_smoothing <= 0.95:
        ap.error(f"--mask-smoothing: expected 0 to 0.95, got {args.mask_smoothing}")
    if args.frames is not None and args.frames < 1:
        ap.error(f"--frames: expected a positive number, got {args.frames}")
    model = args.depth_model
    if model and model not in BUILTIN_SPECS and not (model.endswith((".tflite", ".onnx")) and args.depth_spec):
        ap.error(f"--depth-model {model}: expected one of {', '.join(BUILTIN_SPECS)}, or a .tflite/.onnx path with "
                 "--depth-spec WxH,layout,kind")
    try:
        params = typed_params(args.set, names)
        intr = None
        if args.calibration:
            intr = arsdk.Intrinsics.from_calibration(args.calibration).matching(*args.size, "--size")
        headless = args.headless or not display_available()
        source = args.source
        cfg = AppConfig(source=int(source) if str(source).isdigit() else source, effects=names, params=params,
                        size=args.size, intrinsics=intr, hfov_deg=args.fov, depth_model=args.depth_model,
                        depth_spec=args.depth_spec, output=args.output, frames=args.frames, headless=headless,
                        asynchronous=False if args.sync else None, ground_truth=args.ground_truth,
                        threads=args.threads, quality=args.quality, virtual_camera=args.virtual_camera,
                        mask_smoothing=args.mask_smoothing)
        App(cfg).run()
    except ArsdkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # outside main's own handler (argument parsing, logging set-up)
        sys.exit(130)
