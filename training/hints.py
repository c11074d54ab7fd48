"""Feature-level distillation targets: FastDepth's decoder activations, resized to the student's decoder grid.

The MAI 2021 mobile-depth winner matched the teacher's decoder features with one 1x1 conv per resolution (a hint
head) and dropped the heads at export. FastDepth's decoder runs at 1/32..1/2 of its 224x224 input; the student's
at the same fractions of 160x128, so each teacher map covers the same image, only on a different grid: it is
area-resized to the student's. Two resolutions are kept (1/16 and 1/8: the layout of the room lives there,
and they are small enough to cache for every training image in half precision).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# student decoder level -> the teacher's decoder resolution (at its 224x224 input) it is matched with
HINT_LEVELS = {"d4": 14, "d3": 28}
STUDENT_STRIDE = {"d4": 16, "d3": 8}
DECODER_LEVELS = ("d4", "d3", "d2", "d1")  # the order ArsdkDepthNet.features returns its decoder maps in


def _teacher_session():
    """An onnxruntime session of FastDepth that also outputs the decoder maps HINT_LEVELS names."""
    import onnx
    import onnxruntime as ort

    from arsdk import models

    graph_model = onnx.shape_inference.infer_shapes(onnx.load(str(models.model_path("fastdepth"))))
    graph = graph_model.graph
    infos = {v.name: v for v in graph.value_info}
    wanted = {}
    for node in graph.node:  # the decoder's maps are the inputs of its Upsample nodes
        if node.op_type in ("Upsample", "Resize") and node.input[0] in infos:
            dims = [d.dim_value for d in infos[node.input[0]].type.tensor_type.shape.dim]
            for level, size in HINT_LEVELS.items():
                if dims[-1] == size and dims[-2] == size:
                    wanted[level] = infos[node.input[0]]
    missing = set(HINT_LEVELS) - set(wanted)
    if missing:
        raise RuntimeError(f"FastDepth graph: no decoder map found for {sorted(missing)} "
                           f"(looked for Upsample inputs at {HINT_LEVELS})")
    graph.output.extend(wanted[level] for level in HINT_LEVELS)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3  # the graph has unused initializers; onnxruntime warns once per each
    session = ort.InferenceSession(graph_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return session, [wanted[level].name for level in HINT_LEVELS]


def teacher_features(images: np.ndarray, log=print) -> dict[str, np.ndarray]:
    """images: N x H x W x 3 uint8 at the student's input size. Returns hint_<level>: N x C x H/s x W/s float16."""
    from arsdk.depth import DepthEstimator

    preprocess = DepthEstimator("fastdepth", temporal=None).preprocess
    session, names = _teacher_session()
    input_name = session.get_inputs()[0].name
    n, h, w = images.shape[:3]
    out: dict[str, np.ndarray] = {}
    for i, img in enumerate(images):
        maps = session.run(names, {input_name: preprocess(img)})
        for level, fmap in zip(HINT_LEVELS, maps):
            s = STUDENT_STRIDE[level]
            grid = (h // s, w // s)
            resized = F.interpolate(torch.from_numpy(fmap), size=grid, mode="area")[0].numpy()
            if level not in out:
                out[level] = np.zeros((n, *resized.shape), np.float16)
            out[level][i] = resized
        if (i + 1) % 1000 == 0:
            log(f"  teacher features {i + 1}/{n}")
    return {f"hint_{level}": v for level, v in out.items()}


class HintHeads(nn.Module):
    """One 1x1 conv per hinted level, from the student's decoder channels to the teacher's (training only: not
    part of the exported model). Teacher maps are standardised per channel first: their scales differ widely."""

    def __init__(self, widths, teacher_maps: dict[str, np.ndarray], sample: int = 1000):
        super().__init__()
        student_channels = {"d4": widths[3], "d3": widths[2], "d2": widths[1], "d1": widths[0]}
        self.levels = list(HINT_LEVELS)
        self.heads = nn.ModuleDict()
        for level in self.levels:
            maps = torch.from_numpy(teacher_maps[level][:sample].astype(np.float32))
            self.heads[level] = nn.Conv2d(student_channels[level], maps.shape[1], 1)
            self.register_buffer(f"mean_{level}", maps.mean(dim=(0, 2, 3)).view(1, -1, 1, 1))
            self.register_buffer(f"std_{level}", maps.std(dim=(0, 2, 3)).clamp_min(1e-4).view(1, -1, 1, 1))

    def loss(self, decoder_maps, teacher_maps, keep: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the heads' output against the standardised teacher maps, over the kept images
        (flipped ones are dropped: a mirrored image does not give mirrored features), averaged over levels."""
        if not keep.any():
            return decoder_maps[0].sum() * 0.0
        student = dict(zip(DECODER_LEVELS, decoder_maps))
        total = 0.0
        for level, target in zip(self.levels, teacher_maps):
            target = (target - getattr(self, f"mean_{level}")) / getattr(self, f"std_{level}")
            total = total + F.mse_loss(self.heads[level](student[level][keep]), target[keep])
        return total / len(self.levels)
