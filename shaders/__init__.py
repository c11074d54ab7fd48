"""GLSL sources shipped as package data, with `#include "file"` resolved so shaders share one copy of common math."""
from __future__ import annotations

import re
from pathlib import Path

SHADER_DIR = Path(__file__).resolve().parent
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


def shader_path(name: str, search_dirs=()) -> Path:
    """Path of shader `name`, looked up in `search_dirs` first (user overrides), then in this package."""
    for folder in (*map(Path, search_dirs), SHADER_DIR):
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"shader {name!r}: not found in {[str(d) for d in (*search_dirs, SHADER_DIR)]}")


def load_source(name: str, search_dirs=(), _seen=None) -> str:
    """Source of shader `name` with its includes expanded (each file included once)."""
    seen = set() if _seen is None else _seen
    path = shader_path(name, search_dirs)
    if path in seen:
        return ""
    seen.add(path)
    text = path.read_text()
    return _INCLUDE.sub(lambda m: load_source(m.group(1), search_dirs, seen), text)


def source_files(name: str, search_dirs=()) -> list[Path]:
    """Every file that `name` is built from (itself and its includes): what a hot reload should watch."""
    files, todo = [], [name]
    while todo:
        path = shader_path(todo.pop(), search_dirs)
        if path not in files:
            files.append(path)
            todo.extend(_INCLUDE.findall(path.read_text()))
    return files
