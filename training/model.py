"""arsdk's depth network: a depthwise-separable (MobileNet-style) encoder and a decoder of bilinear resize +
depthwise-conv upsampling with additive skips, after FastDepth and the MAI 2021 mobile-depth winner.
It predicts log depth (m) and returns depth. `features` also returns the decoder activations per resolution, where
the 1x1 hint heads of feature-level distillation attach during training (training/hints.py; not exported)."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU6(inplace=True))


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, stride=1, k=3):
        super().__init__()
        self.dw = conv_bn(cin, cin, k, stride, groups=cin)
        self.pw = conv_bn(cin, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.pw(self.dw(x))
        return x + y if self.residual else y


class UpBlock(nn.Module):
    """x2 bilinear resize, 5x5 depthwise conv, 1x1 pointwise to the skip's channels, then add the skip."""

    def __init__(self, cin, cout):
        super().__init__()
        self.dw = conv_bn(cin, cin, 5, groups=cin)
        self.pw = conv_bn(cin, cout, 1)

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.pw(self.dw(x)) + skip


# encoder channels per resolution (1/2 .. 1/32) of the shipped model
DEFAULT_WIDTHS = (24, 48, 80, 160, 256)
FIRST_WIDTHS = (16, 32, 56, 112, 192)  # what checkpoints written before --widths existed were built with


class ArsdkDepthNet(nn.Module):
    def __init__(self, widths=DEFAULT_WIDTHS):
        super().__init__()
        w0, w1, w2, w3, w4 = widths
        self.stem = conv_bn(3, w0, 3, 2)                                                 # 1/2
        self.enc1 = nn.Sequential(DepthwiseSeparable(w0, w1, 2), DepthwiseSeparable(w1, w1))   # 1/4
        self.enc2 = nn.Sequential(DepthwiseSeparable(w1, w2, 2), DepthwiseSeparable(w2, w2))   # 1/8
        self.enc3 = nn.Sequential(DepthwiseSeparable(w2, w3, 2), DepthwiseSeparable(w3, w3),
                                  DepthwiseSeparable(w3, w3))                                   # 1/16
        self.enc4 = nn.Sequential(DepthwiseSeparable(w3, w4, 2), DepthwiseSeparable(w4, w4),
                                  DepthwiseSeparable(w4, w4, k=5))                              # 1/32
        self.up4 = UpBlock(w4, w3)
        self.up3 = UpBlock(w3, w2)
        self.up2 = UpBlock(w2, w1)
        self.up1 = UpBlock(w1, w0)
        self.head = nn.Sequential(conv_bn(w0, w0, 3, groups=w0), nn.Conv2d(w0, 1, 1))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def features(self, x):
        """x: N x 3 x H x W RGB in [0, 1]. Returns log depth (N x 1 x H x W) and the decoder features."""
        x = (x - self.mean) / self.std
        s1 = self.stem(x)
        s2 = self.enc1(s1)
        s3 = self.enc2(s2)
        s4 = self.enc3(s3)
        s5 = self.enc4(s4)
        d4 = self.up4(s5, s4)
        d3 = self.up3(d4, s3)
        d2 = self.up2(d3, s2)
        d1 = self.up1(d2, s1)
        log_depth = F.interpolate(self.head(d1), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return log_depth + 1.0, [d4, d3, d2, d1]  # +1: start near e^1 = 2.7 m, a typical room distance

    def forward(self, x):
        return torch.exp(self.features(x)[0])


def checkpoint_weights(ck: dict) -> dict:
    """The weights a checkpoint stands for: its moving average when trained with one (train.py --ema-decay),
    else its last weights."""
    return ck["ema"] if ck.get("ema") is not None else ck["model"]


ARCHITECTURES = ("arsdk", "fastdepth")
DEFAULT_INPUT = (160, 128)  # (width, height) the network sees; checkpoints written before --input used it


def network_args(args: dict) -> dict:
    """What a run's arguments say about its network: arch, widths, input (width, height) as lists; a checkpoint
    written before an option existed was trained with its default then: arsdk, FIRST_WIDTHS, DEFAULT_INPUT."""
    out = {"arch": args.get("arch", "arsdk"), "widths": list(args.get("widths", FIRST_WIDTHS)),
           "input": list(args.get("input", DEFAULT_INPUT))}
    if out["arch"] == "pruned":  # training/prune.py: FastDepth cut to these channels
        out["keep"] = args["keep"]
        out["half_output"] = bool(args.get("half_output", False))
    return out


def build_model(args: dict) -> nn.Module:
    """The network a run's arguments describe: ArsdkDepthNet with its widths (--arch arsdk), or FastDepth's
    architecture starting from FastDepth's weights (--arch fastdepth; training/fastdepth_torch.py), or FastDepth
    with channels pruned (arch "pruned", written by training/prune.py)."""
    net_args = network_args(args)
    if net_args["arch"] == "pruned":
        from training.surgery import PrunedFastDepth

        return PrunedFastDepth(net_args["keep"], half_output=net_args["half_output"])
    if net_args["arch"] == "fastdepth":
        from training.fastdepth_torch import FastDepthStudent

        return FastDepthStudent()
    if net_args["arch"] != "arsdk":
        raise ValueError(f"architecture {net_args['arch']!r}: expected one of {', '.join(ARCHITECTURES)}")
    return ArsdkDepthNet(tuple(net_args["widths"]))


def load_checkpoint(path) -> nn.Module:
    """The network stored in a training checkpoint, built as it was trained (architecture, widths), in eval mode;
    its moving average of the weights when it was trained with one (train.py --ema-decay). Its `input_size`
    attribute is the (width, height) it was trained at."""
    ck = torch.load(path, weights_only=False, map_location="cpu")
    net = build_model(ck.get("args", {}))
    net.load_state_dict(checkpoint_weights(ck))
    net.input_size = tuple(network_args(ck.get("args", {}))["input"])
    return net.eval()


def count_macs(model: nn.Module, size=(128, 160)) -> int:
    """Multiply-accumulates of one forward pass (convolutions only; they dominate)."""
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs += out.numel() * k * mod.in_channels // mod.groups

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, *size, device=next(model.parameters()).device))
    for h in handles:
        h.remove()
    return macs
