"""Rendering rooms and training in one process: torch's optimiser set-up must not crash after Mesa has drawn
(Triton's LLVM and llvmpipe's clash; training/__init__.py keeps Triton out)."""
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = """
import numpy as np
import arsdk
frame = next(iter(arsdk.DemoSource(160, 128, frames=1)))  # renders the demo room with moderngl (EGL, llvmpipe)
assert frame.depth.max() > 0
import training.model, torch
net = training.model.ArsdkDepthNet((8, 16, 24, 32, 48))
opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
loss = net(torch.rand(1, 3, 128, 160)).mean()
loss.backward()
opt.step()
print("trained one step")
"""


def test_render_then_train_in_one_process():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    assert "trained one step" in done.stdout
