"""On-screen overlay: FPS, per-stage times and the key help, drawn into an RGBA image."""
from __future__ import annotations

import cv2
import numpy as np

HELP = ["1-4  flood / fog / sticker / blur", "+/-  water level, fog density, blur strength",
        "click  place a sticker     c  clear stickers", "s  screenshot   o  stats   h  help   q  quit"]


def world_line(state) -> str:
    """The tracking state and the floor decision in a few words, e.g. 'tracking 0.82  floor seen  up 91%'."""
    parts = []
    if getattr(state, "tracking", None) is not None:
        parts.append(f"{state.tracking.value} {state.tracking_confidence:.2f}")
    if state.floor is not None:
        parts.append("floor seen" if state.floor.visible else "no floor in view")
    if getattr(state, "gravity", None) is not None:
        parts.append(f"up {state.gravity.confidence:.0%} ({state.gravity.source})")
    return "  ".join(parts)


def draw_hud(size, fps: float | None, timings: dict[str, float], effects: list[str], show_stats: bool,
             show_help: bool, message: str = "", world: str = "") -> np.ndarray | None:
    """HxWx4 uint8 RGBA overlay, or None when there is nothing to draw. world: a `world_line`."""
    lines = []
    if show_stats:
        lines.append(f"{fps:5.1f} FPS  " + " + ".join(effects) if fps is not None else " + ".join(effects))
        lines.append("  ".join(f"{k} {v:.1f}ms" for k, v in timings.items()))
        if world:
            lines.append(world)
    if show_help:
        lines += HELP
    if message:
        lines.append(message)
    if not lines:
        return None
    w, h = size
    img = np.zeros((h, w, 4), np.uint8)
    scale = max(0.35, min(w, 1280) / 1400)
    step = int(22 * scale / 0.45)
    box_h = step * len(lines) + 8
    img[:box_h, :, :] = (0, 0, 0, 140)
    for i, text in enumerate(lines):
        cv2.putText(img, text, (8, step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255, 255), 1,
                    cv2.LINE_AA)
    return img
