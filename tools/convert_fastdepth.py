"""Convert the fetched FastDepth ONNX model to TFLite (onnx2torch -> litert-torch) and check it against ONNX
Runtime. Needs the training extra plus onnx2torch: pip install -e .[training] onnx2torch

    python tools/convert_fastdepth.py [--out PATH]
Prints the largest absolute difference (metres) between the two on random and real inputs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arsdk import models  # noqa: E402
from arsdk.inference import load_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=models.cache_dir() / "fastdepth_7.tflite")
    args = ap.parse_args()
    import litert_torch
    import onnx
    import torch
    from onnx2torch import convert

    onnx_path = models.model_path("fastdepth")
    net = convert(onnx.load(str(onnx_path))).eval()
    sample = torch.rand(1, 3, 224, 224)
    edge = litert_torch.convert(net, (sample,))
    edge.export(str(args.out))
    ref, tfl = load_model(onnx_path, 2), load_model(args.out, 2)
    rng = np.random.default_rng(0)
    inputs = [rng.random((1, 3, 224, 224), dtype=np.float32) for _ in range(4)]
    try:
        import skimage.data as sd
        import cv2

        for img in (sd.astronaut(), sd.coffee(), sd.chelsea()):
            inputs.append((cv2.resize(img, (224, 224)).astype(np.float32) / 255).transpose(2, 0, 1)[None].copy())
    except ImportError:
        pass
    worst = max(float(np.max(np.abs(tfl.run(x).reshape(-1) - ref.run(x).reshape(-1)))) for x in inputs)
    print(f"wrote {args.out}; max |TFLite - ONNX Runtime| over {len(inputs)} inputs = {worst:.2e} m")


if __name__ == "__main__":
    main()
