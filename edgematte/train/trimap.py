"""Trimaps from alpha (values 0, 0.5, 1): the random erode/dilate trimap of DIM/GCA-style training, and
MODNet's detail-band trimap. Kernel sizes scale with the image size; every draw comes from ``rng``."""

from __future__ import annotations

import cv2
import numpy as np


def _ellipse(size: int) -> np.ndarray:
    size = max(1, int(size))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def random_trimap(alpha: np.ndarray, rng: np.random.Generator, kernel_frac: tuple[float, float] = (0.01, 0.06),
                  smooth: bool = False) -> np.ndarray:
    """Foreground (α ≈ 1) and background (α ≈ 0) each eroded by an elliptical kernel of independent random
    size in ``kernel_frac`` × the image's shorter side; the rest is unknown (0.5). ``smooth`` first blurs
    the alpha (a Gaussian of the same scale), which rounds the band's outline."""
    a = alpha.astype(np.float32)
    side = min(a.shape)
    if smooth:
        a = cv2.GaussianBlur(a, (0, 0), max(0.5, side * kernel_frac[0]))
    k_fg, k_bg = (int(round(side * rng.uniform(*kernel_frac))) * 2 + 1 for _ in range(2))
    fg = cv2.erode((a >= 1 - 1e-5).astype(np.uint8), _ellipse(k_fg)).astype(bool)
    bg = cv2.erode((a <= 1e-5).astype(np.uint8), _ellipse(k_bg)).astype(bool)
    trimap = np.full(a.shape, 0.5, np.float32)
    trimap[fg], trimap[bg] = 1.0, 0.0
    return trimap


def detail_trimap(alpha: np.ndarray, rng: np.random.Generator | None = None, width: int | None = None) -> np.ndarray:
    """MODNet's band: unknown where dilate(α > 0) − erode(α ≥ 0.9) ≠ 0, square windows of
    ``width`` = ⌊size/256⌋·U{10..20} pixels (at least 3) unless given."""
    if width is None:
        rng = rng or np.random.default_rng()
        width = max(3, (max(alpha.shape) // 256) * int(rng.integers(10, 21)))
    window = np.ones((width, width), np.uint8)
    fg = (alpha >= 0.9).astype(np.uint8)
    not_bg = (alpha > 0).astype(np.uint8)
    band = (cv2.dilate(not_bg, window) - cv2.erode(fg, window)) != 0
    trimap = fg.astype(np.float32)
    trimap[band] = 0.5
    return trimap


# M-Net's training trimap (the SHM reproductions' generator): kernel sides as fractions of the mean image side,
# with floors for small images; thresholds on the 0..255 scale after optional smoothing.
MNET_KERNEL_FRAC = (0.006, 0.03)
MNET_KERNEL_FLOOR = (1, 10)
SMOOTH_LEVEL = 5  # with smoothing: "not background" is > 5/255, "foreground" >= 250/255


def mnet_random_trimap(alpha: np.ndarray, rng: np.random.Generator, smooth: bool = False) -> np.ndarray:
    """The random trimap M-Net is trained with: the alpha dilated and eroded by two independent random
    *rectangular* kernels, each side drawn from [max(1, 0.006·s), max(10, 0.03·s)] with s the mean image
    side; unknown (0.5) = dilated but not eroded. ``smooth`` first blurs the 8-bit alpha (a 5×5 Gaussian) and
    then thresholds at 5 levels from either end, as the reproductions do for JPEG-compressed mattes."""
    a8 = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
    side = (a8.shape[0] + a8.shape[1]) / 2
    low = max(MNET_KERNEL_FLOOR[0], int(round(MNET_KERNEL_FRAC[0] * side)))
    high = max(MNET_KERNEL_FLOOR[1], int(round(MNET_KERNEL_FRAC[1] * side)))
    dilate_kernel, erode_kernel = (np.ones(tuple(int(v) for v in rng.integers(low, high + 1, size=2)), np.uint8)
                                   for _ in range(2))
    if smooth:
        a8 = cv2.GaussianBlur(a8, (5, 5), 0)
    level = SMOOTH_LEVEL if smooth else 0
    not_bg = cv2.dilate(a8, dilate_kernel) > level
    fg = cv2.erode(a8, erode_kernel) >= 255 - level
    trimap = np.where(not_bg, 0.5, 0.0).astype(np.float32)
    trimap[fg] = 1.0
    return trimap
