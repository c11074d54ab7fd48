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
