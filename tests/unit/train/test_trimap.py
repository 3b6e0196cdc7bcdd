"""M-Net's random training trimap: rectangular kernels in the reproductions' size range, unknown = dilated but
not eroded, seeded."""

import numpy as np

from edgematte.train.trimap import mnet_random_trimap


def disc(size=200, radius=60):
    y, x = np.mgrid[0:size, 0:size]
    return (np.hypot(x - size / 2, y - size / 2) < radius).astype(np.float32)


def test_band_is_dilated_minus_eroded_within_the_kernel_range():
    alpha = disc()
    for seed in range(20):
        trimap = mnet_random_trimap(alpha, np.random.default_rng(seed))
        assert set(np.unique(trimap)) <= {0.0, 0.5, 1.0}
        assert np.all(trimap[alpha == 0] <= 0.5) and np.all(trimap[alpha == 1] >= 0.5)
        row = trimap[100]  # through the centre: the band on each side is at most the largest kernel (10 px)
        inner = np.flatnonzero(row == 1.0)
        outer = np.flatnonzero(row >= 0.5)
        left_band = inner[0] - outer[0]
        assert 0 <= left_band <= 10 and outer[0] >= 100 - 60 - 10


def test_kernels_are_rectangular_and_seeded():
    alpha = disc()
    shapes = set()
    for seed in range(30):
        t = mnet_random_trimap(alpha, np.random.default_rng(seed))
        fg = np.argwhere(t == 1.0)
        shapes.add((np.ptp(fg[:, 0]), np.ptp(fg[:, 1])))
    assert any(h != w for h, w in shapes)  # a square kernel would keep the disc's extent equal both ways
    a = mnet_random_trimap(alpha, np.random.default_rng(3), smooth=True)
    assert np.array_equal(a, mnet_random_trimap(alpha, np.random.default_rng(3), smooth=True))


def band_width(trimap):
    row = trimap[trimap.shape[0] // 2]
    return int(np.flatnonzero(row == 1.0)[0] - np.flatnonzero(row >= 0.5)[0])


def test_kernel_grows_with_the_image():
    small = [band_width(mnet_random_trimap(disc(200, 60), np.random.default_rng(s))) for s in range(10)]
    large = [band_width(mnet_random_trimap(disc(2000, 600), np.random.default_rng(s))) for s in range(5)]
    # sides in [1, 10] at 200 px (the floors), in [12, 60] at 2000 px (0.006 and 0.03 of the side)
    assert max(small) <= 10 and min(large) >= 6 and max(large) > 10 and max(large) <= 60


def test_smoothing_keeps_faint_alpha_out_of_the_foreground():
    alpha = disc()
    alpha[alpha == 1] = 0.99  # 252/255: foreground without smoothing needs 255, with smoothing 250
    rng = np.random.default_rng
    assert not np.any(mnet_random_trimap(alpha, rng(0)) == 1.0)
    assert np.any(mnet_random_trimap(alpha, rng(0), smooth=True) == 1.0)
