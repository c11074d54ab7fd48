"""Shared helpers for the benchmarks: timing statistics, machine description, result files."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def stats_ms(samples_s) -> dict:
    a = np.asarray(samples_s, dtype=np.float64) * 1e3
    return {"median_ms": round(float(np.median(a)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3),
            "n": int(len(a))}


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    print(f"wrote {path}")
    return path


def shared_data_or_exit(benchmark: str):
    """../shared/data (or $ARSDK_SHARED_DATA), or exit naming what is missing."""
    from arsdk.evaluation import shared_data_dir

    root = shared_data_dir()
    if root is None:
        raise SystemExit(f"{benchmark}: ../shared/data not found (set ARSDK_SHARED_DATA)")
    return root
