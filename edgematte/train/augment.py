"""Augmentations the HiLens work found necessary for a previous-alpha model, and the usual ones.

- previous-alpha dropout: with probability ``p`` (default 0.3) the previous alpha is zeros, so the model
  copes with a person entering or leaving (and with frame 0);
- a random affine of the previous alpha, so the model learns to ignore a wrong previous result rather
  than propagate it;
- lighting: a point or line light source added to the frame, so backlight and strong light do not break
  the matte;
- random crop and horizontal flip, applied identically to every array of a sample.

All take an explicit ``numpy.random.Generator``: a sample is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    prev_dropout: float = 0.3       # probability that the previous alpha is zeros
    prev_affine: float = 0.5        # probability of a random affine on a kept previous alpha
    max_shift: float = 0.05         # fraction of the size
    max_rotate: float = 8.0         # degrees
    max_scale: float = 0.08         # ±fraction
    lighting: float = 0.3           # probability of a light source
    max_light: float = 120.0        # peak added brightness (0-255 units)
    flip: float = 0.5


def previous_alpha(prev: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    if rng.random() < cfg.prev_dropout:
        return np.zeros_like(prev)
    if rng.random() < cfg.prev_affine:
        return random_affine(prev, rng, cfg)
    return prev


def random_affine(a: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = a.shape
    angle = rng.uniform(-cfg.max_rotate, cfg.max_rotate)
    scale = 1 + rng.uniform(-cfg.max_scale, cfg.max_scale)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += (rng.uniform(-cfg.max_shift, cfg.max_shift) * w, rng.uniform(-cfg.max_shift, cfg.max_shift) * h)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def light_map(shape: tuple[int, int], rng: np.random.Generator, peak: float) -> np.ndarray:
    """An additive brightness map in [0, peak]: a point light (radial falloff) or a line light (a soft band)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.15, 0.5) * max(h, w)
        m = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    else:
        theta, offset, width = rng.uniform(0, np.pi), rng.uniform(-0.3, 0.3) * max(h, w), rng.uniform(0.05, 0.2) * max(h, w)
        d = (xx - w / 2) * np.cos(theta) + (yy - h / 2) * np.sin(theta) - offset
        m = np.exp(-(d ** 2) / (2 * width * width))
    return (peak * rng.uniform(0.3, 1.0) * m).astype(np.float32)


def lighting(shape: tuple[int, int], rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray | None:
    """A light map with probability ``cfg.lighting`` (else None): one per sample, every frame of a clip lit alike."""
    return light_map(shape, rng, cfg.max_light) if rng.random() < cfg.lighting else None


def add_lighting(rgb: np.ndarray, light: np.ndarray | None) -> np.ndarray:
    if light is None:
        return rgb
    return np.clip(rgb.astype(np.float32) + light[..., None], 0, 255).astype(np.uint8)


def crop_and_flip(arrays: list[np.ndarray], size: tuple[int, int], rng: np.random.Generator,
                  cfg: AugmentConfig) -> list[np.ndarray]:
    """The same random crop (scaled to cover ``size`` = (W, H) first) and flip for every array."""
    w, h = size
    sh, sw = arrays[0].shape[:2]
    s = max(w / sw, h / sh) * rng.uniform(1.0, 1.25)
    nw, nh = max(w, int(round(sw * s))), max(h, int(round(sh * s)))
    x, y = int(rng.integers(0, nw - w + 1)), int(rng.integers(0, nh - h + 1))
    flip = rng.random() < cfg.flip
    out = []
    for a in arrays:
        r = cv2.resize(a, (nw, nh), interpolation=cv2.INTER_LINEAR)[y:y + h, x:x + w]
        out.append(np.ascontiguousarray(r[:, ::-1]) if flip else r)
    return out
