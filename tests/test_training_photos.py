"""The real-photo filter used for distillation keeps photographs and drops drawings, charts and duplicates."""
import cv2
import numpy as np
import pytest

from training.photos import deduplicate, is_photograph

skimage_data = pytest.importorskip("skimage.data")


def test_real_photographs_are_kept():
    for img in (skimage_data.astronaut(), skimage_data.coffee(), skimage_data.chelsea()):
        assert is_photograph(img)
    gray = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)
    assert is_photograph(np.stack([gray] * 3, -1))  # a grey-level photo is still a photo


def test_drawings_charts_and_odd_shapes_are_dropped():
    chart = np.full((300, 400, 3), 255, np.uint8)
    cv2.rectangle(chart, (50, 200), (100, 280), (30, 90, 200), -1)
    cv2.line(chart, (0, 150), (400, 20), (0, 0, 0), 2)
    cv2.putText(chart, "sales", (150, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 2)
    assert not is_photograph(chart)
    flat_scan = np.zeros((300, 400, 3), np.uint8)
    flat_scan[:, :200] = (200, 190, 180)
    flat_scan[:, 200:] = (90, 80, 70)
    assert not is_photograph(flat_scan)
    photo = skimage_data.astronaut()
    assert not is_photograph(photo[:100])           # too small
    assert not is_photograph(np.hstack([photo] * 3))  # a strip, not a camera frame


def test_duplicates_and_near_duplicates_are_dropped():
    a, b = skimage_data.astronaut(), skimage_data.coffee()
    brighter = np.clip(a.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    resized = cv2.resize(a, (300, 300))
    kept = deduplicate([a, b, brighter, resized])
    assert len(kept) == 2 and kept[0] is a and kept[1] is b
