"""The wheel installs one top-level package (arsdk), works beside user folders with generic names, carries its
type marker, licence and the full OpenCV; the sdist ships no tests it cannot run; imports run one way."""
from __future__ import annotations

import ast
import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build(kind: str, out: Path) -> Path:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel" if kind == "wheel" else "download", "--no-deps",
                        "--no-build-isolation", "-q", "-w" if kind == "wheel" else "-d", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build("wheel", tmp_path_factory.mktemp("wheel"))


def test_wheel_installs_one_namespace(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = email.message_from_string(zf.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
                                         .decode())
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"arsdk"}, tops
    for member in ("arsdk/py.typed", "arsdk/effects/__init__.py", "arsdk/effects/assets/", "arsdk/shaders/common.glsl",
                   "arsdk/demo_app/__main__.py", "arsdk/models/arsdk_depth.tflite"):
        assert any(n.startswith(member) for n in names), member
    assert meta["License-Expression"] == "MIT"
    requires = meta.get_all("Requires-Dist")
    assert any(r.startswith("opencv-python>") for r in requires), requires
    assert not any(r.startswith("opencv-python-headless") for r in requires), requires
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as zf:
        assert "arsdk-demo = arsdk.demo_app.__main__:main" in zf.read(entry).decode()


def test_installed_package_works_beside_user_folders_with_generic_names(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    work = tmp_path / "project"
    for name in ("effects", "shaders", "demo_app"):  # a user's own folders, as in the issue
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text("raise ImportError('the user folder was imported')\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import arsdk, arsdk.effects as fx; from arsdk.render import Renderer; "
            "assert arsdk.__file__.startswith(%r), arsdk.__file__; "
            "print(sorted(fx.available()))" % str(target))
    r = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "'flood'" in r.stdout
    r = subprocess.run([sys.executable, "-m", "arsdk.demo_app", "--help"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "--effect" in r.stdout, r.stderr


def test_sdist_ships_no_tests_it_cannot_run(tmp_path):
    r = subprocess.run([sys.executable, "-c", "from setuptools import build_meta as b; import sys; "
                        "print(b.build_sdist(sys.argv[1]))", str(tmp_path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sdist = tmp_path / r.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tf:
        parts = {Path(m.name).parts[1] for m in tf.getmembers() if len(Path(m.name).parts) > 1}
    assert "tests" not in parts and {"arsdk", "effects", "shaders", "demo_app", "LICENSE"} <= parts, parts


def runtime_nodes(tree):
    """Every node of a module except those under `if TYPE_CHECKING:` (annotations only, never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                continue
            todo.append(child)


def import_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """Module -> modules of the same package it imports, anywhere in its body (lazy imports count)."""
    modules = {p.stem for p in package_dir.glob("*.py")}
    graph = {}
    for path in package_dir.glob("*.py"):
        deps = set()
        for node in runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
                elif node.module and node.module.startswith(package + "."):
                    deps.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith(package + ".")}
        graph[path.stem] = (deps & modules) - {path.stem}
    return graph


def find_cycle(graph) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


@pytest.mark.parametrize("folder", ["arsdk", "training"])
def test_imports_run_one_way(folder):
    assert find_cycle(import_graph(ROOT / folder, folder)) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the checker finds one


def test_shared_types_sit_at_the_bottom():
    graph = import_graph(ROOT / "arsdk", "arsdk")
    assert graph["frame"] <= {"geometry", "errors"}, graph["frame"]
    assert "pipeline" not in graph["render"] and "scene" not in graph["pipeline"]


def test_constraints_pin_every_requirement_within_its_range():
    """scripts/setup.sh installs with constraints.txt so the benchmark figures reproduce: each runtime and test
    requirement of pyproject.toml is pinned there (torch aside: the extra pins it), inside the range pyproject asks,
    and so is each runtime the benchmarks record."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.split("#")[0].strip():
            req = Requirement(line)
            assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
            pins[req.name.lower()] = next(iter(req.specifier)).version
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    for req in wanted:
        if req.name == "torch":
            continue
        assert req.name.lower() in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[req.name.lower()]), f"{req.name}=={pins[req.name.lower()]} not in {req}"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import common
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert set(common.PACKAGES) <= set(pins)
    assert common.pinned_versions() == pins
