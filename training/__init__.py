"""How arsdk's own depth model is made: synthetic data + FastDepth distillation, training, TFLite export,
evaluation. Needs the optional extra: pip install -e .[training]. Not part of the runtime install."""
import sys

# torch probes for Triton (a GPU kernel compiler, carried by torch's CUDA wheels) the first time an optimiser is
# built. Triton's bundled LLVM and the one Mesa llvmpipe loads for our headless renderer segfault when both live in
# one process (training.data renders rooms, then training.train may build AdamW in the same process). Nothing here
# compiles kernels, so the probe is made to find no Triton.
sys.modules.setdefault("triton", None)
