"""Losses on log depth: scale-invariant log (the MAI 2021 si-RMSE, with part of the scale term kept so the model
stays metric) and multi-scale gradient matching (sharp, well-placed edges)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def si_log_loss(log_pred, log_gt, valid, lam: float = 0.5):
    """sqrt(mean(d^2) - lam * mean(d)^2) per image, d = log_pred - log_gt; lam = 1 is the pure si-RMSE."""
    d = (log_pred - log_gt) * valid
    n = valid.sum(dim=(1, 2, 3)).clamp_min(1.0)
    mean_d = d.sum(dim=(1, 2, 3)) / n
    mean_d2 = (d * d).sum(dim=(1, 2, 3)) / n
    return torch.sqrt((mean_d2 - lam * mean_d * mean_d).clamp_min(1e-8)).mean()


def gradient_matching_loss(log_pred, log_gt, valid, scales: int = 4):
    """Mean absolute difference of the x/y gradients of the log-depth error, over `scales` resolutions."""
    total = 0.0
    d, v = log_pred - log_gt, valid
    for s in range(scales):
        if s:
            d = F.avg_pool2d(d, 2)
            v = (F.avg_pool2d(v, 2) > 0.999).float()
        gx = (d[..., :, 1:] - d[..., :, :-1]).abs() * v[..., :, 1:] * v[..., :, :-1]
        gy = (d[..., 1:, :] - d[..., :-1, :]).abs() * v[..., 1:, :] * v[..., :-1, :]
        total = total + (gx.sum() + gy.sum()) / v.sum().clamp_min(1.0)
    return total / scales
