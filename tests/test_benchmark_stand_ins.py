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
