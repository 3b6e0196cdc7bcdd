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
