"""Each augmentation does what it claims, measured over many seeded draws; trimaps have three values and
the requested band widths."""

import cv2
import numpy as np
import pytest

from edgematte.train.augment import AugmentConfig, add_lighting, light_map, lighting, previous_alpha, random_affine
from edgematte.train.trimap import detail_trimap, random_trimap


def disc(size=64, radius=20):
    a = np.zeros((size, size), np.float32)
    cv2.circle(a, (size // 2, size // 2), radius, 1.0, -1)
    return a


def test_previous_alpha_dropout_rate():
    cfg = AugmentConfig(prev_dropout=0.3, prev_affine=0.0)
    a = disc()
    dropped = sum(not previous_alpha(a, np.random.default_rng(i), cfg).any() for i in range(2000))
    assert abs(dropped / 2000 - 0.3) < 0.03


def test_affine_moves_the_previous_alpha_but_keeps_its_shape():
    cfg = AugmentConfig(max_shift=0.1, max_rotate=0.0, max_scale=0.0)
    a = disc()
    rng = np.random.default_rng(3)
    moved = random_affine(a, rng, cfg)
    assert not np.array_equal(moved, a)
    assert moved.sum() == pytest.approx(a.sum(), rel=0.02)  # a pure shift (the disc stays inside)
    ys, xs = np.nonzero(moved > 0.5)
    shift = np.hypot(xs.mean() - 32, ys.mean() - 32)
    assert 0.5 < shift <= np.hypot(6.4, 6.4) + 0.5


def test_lighting_adds_a_bounded_non_negative_map():
    cfg = AugmentConfig(lighting=1.0, max_light=100.0)
    for seed in range(20):
        m = light_map((48, 64), np.random.default_rng(seed), cfg.max_light)
        assert m.min() >= 0 and 0 < m.max() <= cfg.max_light
    rgb = np.full((48, 64, 3), 200, np.uint8)
    lit = add_lighting(rgb, lighting(rgb.shape[:2], np.random.default_rng(1), cfg))
    assert (lit >= rgb).all() and lit.max() == 255 and (lit > rgb).any()
    assert lighting(rgb.shape[:2], np.random.default_rng(1), AugmentConfig(lighting=0.0)) is None
    assert np.array_equal(add_lighting(rgb, None), rgb)


def test_random_trimap_values_and_band_width():
    a = cv2.GaussianBlur(disc(128, 40), (0, 0), 1)
    def band(frac, seed=0):
        t = random_trimap(a, np.random.default_rng(seed), kernel_frac=(frac, frac))
        assert set(np.unique(t)) == {0.0, 0.5, 1.0}
        return np.count_nonzero(t[64, 64:] == 0.5)

    # kernels 2*round(128*f)+1 = 13 and 27 px: each side of the soft edge grows by 6 and 13 px
    assert band(0.1) - band(0.05) == 2 * (13 - 6)
    assert band(0.05, seed=1) == band(0.05, seed=2)  # fixed fraction: the seed does not matter
    assert not np.array_equal(random_trimap(a, np.random.default_rng(0)),
                              random_trimap(a, np.random.default_rng(0), smooth=True))


@pytest.mark.parametrize("width", [5, 11])
def test_detail_trimap_band_is_the_requested_width(width):
    a = disc(128, 40)
    t = detail_trimap(a, width=width)
    assert set(np.unique(t)) == {0.0, 0.5, 1.0}
    row = t[64, 64:]  # from the centre outwards: fg, band across the edge at x = 40, then bg
    band = np.flatnonzero(row == 0.5)
    assert band.size == width - 1 + (width % 2) and band.min() < 40 < band.max()
    assert detail_trimap(a, np.random.default_rng(0)).shape == a.shape
