"""Export a trained checkpoint to arsdk/models/arsdk_depth.tflite with litert-torch and check it against PyTorch.

The exported graph takes 1xHxWx3 float RGB in [0, 1] (NHWC, at the input size the checkpoint was trained at; any
normalisation inside) and returns 1xHxWx1 metric depth for the reference camera (see training/data.py), at half the
input size for a pruned FastDepth (training/prune.py drops its last upsampling); the
distillation hint heads are not exported. arsdk.depth.ARSDK_DEPTH must name the same input size.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from training.model import count_macs, load_checkpoint
from training.train import RUNS

OUT = Path(__file__).resolve().parents[1] / "arsdk" / "models" / "arsdk_depth.tflite"


class NHWCWrapper(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def export(checkpoint: Path, out: Path = OUT) -> float:
    import litert_torch

    net = load_checkpoint(checkpoint)
    model = NHWCWrapper(net).eval()
    w, h = net.input_size
    sample = torch.rand(1, h, w, 3)
    edge = litert_torch.convert(model, (sample,))
    out.parent.mkdir(parents=True, exist_ok=True)
    edge.export(str(out))
    from arsdk.inference import load_model

    tfl = load_model(out, 1)
    worst = 0.0
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.random((1, h, w, 3), dtype=np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        worst = max(worst, float(np.max(np.abs(tfl.run(x) - ref))))
    print(f"exported {out} ({out.stat().st_size / 1e6:.2f} MB, {count_macs(net, (h, w)) / 1e9:.3f} GMACs at {w}x{h}); "
          f"max |TFLite - PyTorch| = {worst:.2e} m; {tfl.delegate_partitions()} XNNPACK partition(s)")
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, default=RUNS / "last.pt")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    export(args.checkpoint, args.out)
