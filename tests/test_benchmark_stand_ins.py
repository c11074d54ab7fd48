"""The benchmarks' stand-ins for pipeline parts take every argument the parts they replace take: a benchmark run
must not stop 20 minutes in because a part grew an argument."""
import inspect
import sys
from pathlib import Path

from arsdk.floor_colour import FloorColours

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import realroom  # noqa: E402


def test_known_floor_cells_take_what_floor_colours_take():
    stand_in = realroom.KnownFloorCells
    for name, member in inspect.getmembers(FloorColours, inspect.isfunction):
        if name.startswith("_") or not hasattr(stand_in, name):
            continue
        wanted = list(inspect.signature(member).parameters)
        given = list(inspect.signature(getattr(stand_in, name)).parameters)
        assert given == wanted, f"KnownFloorCells.{name}{given} against FloorColours.{name}{wanted}"
    # what the pipeline calls on its floor_colours
    for name in ("cells", "cell_colours", "grown", "seen", "let_go", "reset"):
        assert hasattr(stand_in, name), name


def test_the_streams_benchmark_takes_pipeline_settings_by_name_and_refuses_others():
    import pytest

    import arsdk
    import streams

    assert streams.parse_setting("FLOOR_GAIN_SHARE=0.2") == ("FLOOR_GAIN_SHARE", 0.2)
    assert hasattr(arsdk.Pipeline, "FLOOR_GAIN_SHARE")
    whole = next(n for n, v in vars(arsdk.Pipeline).items() if type(v) is int)  # an int setting stays an int
    assert streams.parse_setting(f"{whole}=3") == (whole, 3)
    for bad, said in (("FLOOR_GAIN_SHAR=0.2", "numeric class attribute"), ("FLOOR_GAIN_SHARE", "NAME=VALUE"),
                      ("FLOOR_GAIN_SHARE=much", "a number after '='"), ("__init__=1", "numeric class attribute"),
                      (f"{whole}=0.5", "an integer after '='")):
        with pytest.raises(SystemExit, match=said):
            streams.parse_setting(bad)


def test_the_tracked_streams_are_built_by_name_the_same_way_in_realroom_and_streams():
    """realroom.py and streams.py score the same streams from `realroom.stream_frames`: every name streams.py offers
    is one it builds, an every-n-th stream keeps its frames' order and spacing, a crop keeps its metres in focal
    lengths, and a misspelt name says what it expected."""
    import numpy as np
    import pytest

    import streams
    from arsdk.evaluation import PosedFrame
    from arsdk.geometry import Intrinsics

    intr = Intrinsics(fx=300.0, fy=300.0, cx=240.0, cy=160.0, width=480, height=320)
    walk = [PosedFrame(f"hololens/{i}", np.full((320, 480, 3), i, np.uint8), np.full((320, 480), 1.0 + i, np.float32),
                       intr, np.eye(4)) for i in range(7)]
    for name in streams.STREAMS:
        if name not in ("kitchen", "video"):  # those two read their own data
            frames, spacing, truths = realroom.stream_frames(None, name, walk)
            assert frames and spacing > 0 and truths is None, name
    frames, spacing, _ = realroom.stream_frames(None, "every3_from1", walk)
    assert [f.name for f in frames] == ["hololens/1", "hololens/4"]
    assert spacing == pytest.approx(3 * realroom.HOLOLENS_SPACING_S)
    frames, _, _ = realroom.stream_frames(None, "crop16x9", walk)
    assert frames[2].image.shape == (270, 480, 3) and frames[2].depth.shape == (270, 480)
    assert frames[2].intrinsics.cy == pytest.approx(160.0 - 25) and frames[2].intrinsics.fx == 300.0
    for bad in ("crop16:9", "every_2", "Walk"):
        with pytest.raises(ValueError, match=f"stream '{bad}': expected walk, kitchen, video"):
            realroom.stream_frames(None, bad, walk)
