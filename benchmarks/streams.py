"""A quick look at a change to the floor or the water: realroom.py's tracked streams, each in its own process, two at a
time, with the pipeline's class settings overridden from the command line, and the figures summed over the streams.

    python benchmarks/streams.py --seeds 0 1 2                     # results/streams.json, as committed
    python benchmarks/streams.py --set FLOOR_GAIN_SHARE=0.2 --tag gain02 --against streams
    python benchmarks/streams.py --streams walk kitchen video      # any of STREAMS

About 3 minutes a line draw for the seven streams 0.4-1.2 s apart on a 2-core machine, 6 more for `video` (30
frame/s). Each stream is built and scored as realroom.py builds and scores it (`stream_frames`, `score_stream`,
`summarise`); at the commit that added this script every stream read as in realroom.json to the last digit, on the
same machine. The streams carry each frame's gravity, floor and scale into the next, so any change moves stretches
of frames either way: judge a change by the sums over the streams, and by the same run with other line draws
(`--seeds`), not by one stream.
`--set NAME=VALUE` sets a numeric class attribute of `arsdk.Pipeline` before the pipeline is made; `--against TAG`
prints each figure's change against results/TAG.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import realroom as rr
from common import RESULTS, shared_data_or_exit, write_result

import arsdk
from arsdk.depth import default_depth_model
from arsdk.floor import GroundTracker
from arsdk.gravity import GravityEstimator

# stream -> what it is; `video` last, as the longest
STREAMS = {
    "walk": "the HoloLens walk, every frame, 0.4 s apart",
    "kitchen": "the 50 7-Scenes kitchen frames, 2/3 s apart",
    "every2_from0": "the walk, every 2nd frame from 0",
    "every2_from1": "the walk, every 2nd frame from 1",
    "every3_from0": "the walk, every 3rd frame from 0",
    "crop4x3": "the walk through a centred 4:3 crop",
    "crop16x9": "the walk through a centred 16:9 crop",
    "video": "the first HoloLens frames at 30 frame/s (views rendered between them)",
}
QUICK = tuple(s for s in STREAMS if s != "video")
KEYS = ("floor_right", "flood_iou_0.15", "flood_iou_0.40", "no_floor_wrongly_wet_share_median",
        "no_floor_wrongly_wet_share_mean")


def parse_setting(text: str) -> tuple[str, float | int]:
    """NAME=VALUE -> (NAME, VALUE) for a numeric class setting of arsdk.Pipeline, its type kept (an int stays one)."""
    name, sep, value = text.partition("=")
    current = getattr(arsdk.Pipeline, name, None) if sep and name.isidentifier() else None
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise SystemExit(f"--set {text!r}: expected NAME=VALUE with NAME a numeric class attribute of arsdk.Pipeline")
    try:
        return name, int(value) if isinstance(current, int) else float(value)
    except ValueError:
        kind = "an integer" if isinstance(current, int) else "a number"
        raise SystemExit(f"--set {text!r}: expected {kind} after '=', got {value!r}") from None


def score_one(stream: str, settings: list[str], seed: int) -> dict:
    """One stream through a fresh pipeline with `settings` applied: realroom's summary of it."""
    for name, value in map(parse_setting, settings):
        setattr(arsdk.Pipeline, name, value)
    root = shared_data_or_exit("streams")
    pipe = arsdk.Pipeline(rr.make_depth(default_depth_model()), None,
                          ground=GroundTracker(gravity=GravityEstimator(seed=seed)))
    flood = rr.FloodRenderer()
    frames, spacing, truths = rr.stream_frames(root, stream)
    summary = rr.summarise(rr.score_stream(pipe, frames, flood, stream, spacing, truths=truths))
    flood.close()
    pipe.close()
    return {k: summary.get(k) for k in KEYS}


def run_all(streams, settings: list[str], seed: int, workers: int) -> dict:
    """Each stream in a child process (one pipeline, one GL context each), `workers` at a time."""
    def child(stream):
        cmd = [sys.executable, __file__, "--one", stream, "--seeds", str(seed)]
        for s in settings:
            cmd += ["--set", s]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"stream {stream} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        print(f"  {stream:13s} {lines[-1]}  ({time.perf_counter() - t0:.0f} s)", flush=True)
        return stream, json.loads(lines[-1])

    with ThreadPoolExecutor(workers) as pool:
        per_stream = dict(pool.map(child, streams))
    sums = {k: round(sum(v[k] for v in per_stream.values() if v.get(k) is not None), 3) for k in KEYS}
    return {"streams": {s: per_stream[s] for s in streams}, "sums": sums}


def compare(before: dict, out: dict, against: str):
    """Each stream's and the sums' change, for the line draws both runs scored."""
    for key, run in out["draws"].items():
        old = before.get("draws", {}).get(key)
        if old is None:
            print(f"  {key}: not in {against}")
            continue
        for s, now in run["streams"].items():
            if s in old["streams"]:
                print(f"  {key} {s:13s} " + "  ".join(f"{k} {old['streams'][s][k]} -> {now[k]}" for k in KEYS[:3]))
        if set(old["streams"]) == set(run["streams"]):
            print(f"  {key} sums " + "  ".join(f"{k} {old['sums'][k]} -> {run['sums'][k]}" for k in KEYS))
    if set(before.get("draws", {})) == set(out["draws"]) and before.get("streams") == out["streams"]:
        print("  mean sums over the draws " + "  ".join(f"{k} {before['mean_sums'][k]} -> {out['mean_sums'][k]}"
                                                    for k in KEYS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", nargs="+", choices=list(STREAMS), default=list(QUICK),
                    help="which streams (default: all but video)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="an arsdk.Pipeline class attribute for this run (repeatable)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="gravity's line-search draws, each a run of every stream (the SDK's is 0)")
    ap.add_argument("--workers", type=int, default=2, help="streams run at once")
    ap.add_argument("--tag", default="streams", help="results/TAG.json is written")
    ap.add_argument("--against", default=None, metavar="TAG", help="print the change against results/TAG.json")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a child process: one stream, JSON on stdout
    args = ap.parse_args()
    if args.one:
        print(json.dumps(score_one(args.one, args.set, args.seeds[0])))
        return
    for s in args.set:
        parse_setting(s)  # a misspelt name fails here, not in each child
    if args.workers < 1:
        raise SystemExit(f"--workers: expected 1 or more, got {args.workers}")
    before = None
    if args.against:
        path = RESULTS / f"{args.against}.json"
        if not path.exists():
            raise SystemExit(f"--against {args.against}: {path} does not exist (run with --tag {args.against} first)")
        before = json.loads(path.read_text())
    shared_data_or_exit("streams")
    draws = {}
    for seed in args.seeds:
        print(f"streams: {', '.join(args.streams)}; settings {args.set or 'as committed'}; line draw {seed}")
        draws[f"seed_{seed}"] = run_all(args.streams, args.set, seed, args.workers)
        print(f"  sums over {len(args.streams)} streams: {draws[f'seed_{seed}']['sums']}")
    mean_sums = {k: round(sum(d["sums"][k] for d in draws.values()) / len(draws), 3) for k in KEYS}
    out = {"settings": args.set, "streams": args.streams, "draws": draws, "mean_sums": mean_sums}
    if len(draws) > 1:
        print(f"  mean sums over {len(draws)} line draws: {mean_sums}")
    if before is not None:
        compare(before, out, args.against)
    write_result(args.tag, out)


if __name__ == "__main__":
    main()
