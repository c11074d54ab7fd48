"""Feature-level distillation: teacher maps get the image's crop, hint heads learn them, flips are left out,
and FastDepth's decoder maps are found and resized to the student's grid."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from arsdk import models  # noqa: E402
from training.hints import HINT_LEVELS, HintHeads, teacher_features  # noqa: E402
from training.model import ArsdkDepthNet  # noqa: E402
from training.train import augment  # noqa: E402

WIDTHS = (8, 16, 24, 32, 48)


def test_teacher_maps_get_the_same_crop_as_the_depth():
    gen = torch.Generator().manual_seed(3)
    n = 12
    teacher = 1.0 + torch.rand(n, 1, 32, 40, generator=gen) * 4  # distinct values everywhere
    img = torch.rand(n, 3, 32, 40, generator=gen)
    _, _, teacher_out, (feature_out,), flipped = augment(img, teacher.clone(), teacher.clone(), gen, [teacher])
    # the depth is divided by the zoom k, the feature map is not: their ratio is 1/k, one constant per image
    ratio = teacher_out / feature_out
    assert torch.allclose(ratio, ratio.mean(dim=(1, 2, 3), keepdim=True), atol=1e-5)
    assert (ratio.mean(dim=(1, 2, 3)) < 0.999).any()  # some images were zoomed
    assert flipped.any() and not flipped.all()


def test_hint_heads_learn_the_teacher_maps_and_skip_flipped_images():
    gen = torch.Generator().manual_seed(0)
    net = ArsdkDepthNet(WIDTHS)
    img = torch.rand(4, 3, 128, 160, generator=gen)
    with torch.no_grad():
        _, maps = net.features(img)
    # teacher maps that are a fixed linear function of the student's own maps: a 1x1 head can fit them exactly
    mix = {lv: torch.randn(7, m.shape[1], generator=gen) for lv, m in zip(("d4", "d3", "d2", "d1"), maps)}
    teacher = [torch.einsum("oc,nchw->nohw", mix[lv], dict(zip(("d4", "d3", "d2", "d1"), maps))[lv]) * 0.01
               for lv in HINT_LEVELS]
    heads = HintHeads(WIDTHS, {lv: t.numpy() for lv, t in zip(HINT_LEVELS, teacher)})
    keep = torch.tensor([True, True, True, False])
    opt = torch.optim.Adam(heads.parameters(), lr=0.05)
    first = heads.loss(maps, teacher, keep).item()
    for _ in range(300):
        opt.zero_grad()
        loss = heads.loss(maps, teacher, keep)
        loss.backward()
        opt.step()
    assert first > 0.5 and loss.item() < 0.02 * first
    assert heads.loss(maps, teacher, torch.zeros(4, dtype=torch.bool)).item() == 0.0
    corrupted = [t.clone() for t in teacher]
    for t in corrupted:
        t[3] += 100.0  # the left-out (flipped) image does not count
    with torch.no_grad():
        assert heads.loss(maps, corrupted, keep).item() == pytest.approx(heads.loss(maps, teacher, keep).item())


@pytest.mark.skipif(not models.is_available("fastdepth"), reason="FastDepth not fetched")
def test_fastdepth_decoder_maps_on_the_student_grid():
    from skimage import data

    import cv2

    img = cv2.resize(data.astronaut(), (160, 128), interpolation=cv2.INTER_AREA)
    maps = teacher_features(np.stack([img, img[:, ::-1].copy()]))
    assert maps["hint_d4"].shape == (2, 256, 8, 10) and maps["hint_d3"].shape == (2, 120, 16, 20)
    for m in maps.values():
        assert m.dtype == np.float16 and np.isfinite(m).all() and (m >= 0).all() and m.max() > 0
        assert not np.allclose(m[0], m[1])  # they depend on the image
