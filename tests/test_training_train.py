"""train.py's pieces that need no data set: the fitted schedule, the union of seeds, the zoom augmentation."""
from argparse import Namespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training import train  # noqa: E402


def test_fitted_steps_fill_the_minutes_and_always_end_after_the_calibration():
    assert train.fitted_steps(200, steps_per_second=10.0, minutes=2.0) == 1200
    # a machine so slow that the calibration alone outlasted the minutes: stop at the next step, not before
    assert train.fitted_steps(200, steps_per_second=1.0, minutes=1.0) == 201


def test_several_seeds_train_on_the_union_of_their_data_sets(monkeypatch):
    def fake_load(n, seed, **kw):
        return {"images": np.full((n, 2, 2, 3), seed, np.uint8), "depths": np.full((n, 2, 2), float(seed))}

    monkeypatch.setattr(train, "load_or_make", fake_load)
    args = Namespace(samples=3, seed=[4, 7], real=0, hint_weight=0.0, furnished=False)
    data = train.load_seeds(args)
    assert data["images"].shape == (6, 2, 2, 3)
    assert data["depths"][:3].max() == 4 and data["depths"][3:].min() == 7
    assert train.seed_list("1,2,3") == [1, 2, 3]


def test_zoom_divides_depth_by_its_factor():
    """The depth-compensated crop: a window 1/k of the frame enlarged k times looks k times nearer."""
    gen = torch.Generator().manual_seed(3)
    n = 64
    depth = torch.full((n, 1, 32, 40), 2.0)
    img = torch.rand(n, 3, 32, 40, generator=torch.Generator().manual_seed(4))
    out_img, out_depth, out_teacher, _, _ = train.augment(img, depth, depth.clone(), gen)
    assert out_img.shape == img.shape and 0 <= out_img.min() and out_img.max() <= 1
    per_image = out_depth.flatten(1)
    assert torch.allclose(per_image.min(1).values, per_image.max(1).values)  # one factor per image
    k = 2.0 / per_image[:, 0]
    assert (k >= 1).all() and (k <= 1.6 + 1e-5).all() and (k > 1.01).any() and (k == 1).any()
    assert torch.allclose(out_teacher, out_depth)
