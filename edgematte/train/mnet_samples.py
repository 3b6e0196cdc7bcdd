"""M-Net's training samples, as the SHM / DIM recipe makes them: each foreground composited over a covering
background, a patch centred on an unknown pixel (of 1, 1.5 or 2 times the network size, scaled to it), a
horizontal flip, and a trimap: the random rectangular-kernel one (:func:`edgematte.train.trimap.mnet_random_trimap`),
or, to fine-tune for deployment, the one the device makes from MODNet's alpha
(:func:`edgematte.refine.trimap_from_alpha`).

A sample: ``image`` 3×H×W in [-1, 1], ``trimap`` 1×H×W (0 / 0.5 / 1), ``alpha`` 1×H×W, and the ``fg`` and
``bg`` the image was composited from (3×H×W in [-1, 1]) for the compositional loss.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgematte.data.images import read_alpha, read_rgb
from edgematte.refine import BAND, trimap_from_alpha
from edgematte.train.datasets import DataError, Item, cover, read_background
from edgematte.train.trimap import mnet_random_trimap

PATCH_SCALES = (1.0, 1.5, 2.0)  # DIM: 320, 480 and 640 crops for a 320 network, resized to 320
SMOOTH = 0.5                    # probability of the smoothed trimap variant


class ModnetGuide:
    """MODNet's alpha for a composite, as the device computes it: the picture resized to the network, the
    alpha resized back (``model``: MODNet4, ``spec``: its pipeline)."""

    def __init__(self, model, spec):
        self.model, self.spec = model.eval(), spec

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        import torch

        small = cv2.resize(rgb, (self.spec.width, self.spec.height), interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            alpha = self.model(torch.from_numpy(self.spec.normalize_rgb(small)),
                               torch.zeros(self.spec.alpha_shape))[0, 0].numpy()
        return cv2.resize(np.clip(alpha, 0, 1), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


class MNetSampleBuilder:
    """Item -> M-Net sample at the spec's size. ``guide``: MODNet (:class:`ModnetGuide`); with it, trimaps are
    the device's, made from MODNet's alpha, with the device's band."""

    def __init__(self, spec, guide: ModnetGuide | None = None):
        self.spec, self.guide = spec, guide

    def __call__(self, item: Item, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if item.foreground is None:
            raise DataError(f"M-Net training composites foregrounds itself (for its compositional loss): "
                            f"{item.alpha.parent.parent} has no fgr/ or fg/ with --backgrounds")
        alpha = read_alpha(item.alpha)
        h, w = alpha.shape
        fg = read_rgb(item.foreground)
        if fg.shape[:2] != (h, w):
            raise DataError(f"{item.foreground} is {fg.shape[1]}x{fg.shape[0]} but {item.alpha} is {w}x{h}")
        bg = cover(read_background(item.background, rng), w, h)
        image = np.clip(alpha[..., None] * fg + (1 - alpha[..., None]) * bg + 0.5, 0, 255).astype(np.uint8)
        guide = self.guide(image) if self.guide is not None else None
        x, y, size_w, size_h = self._patch(alpha, rng)
        flip = rng.random() < 0.5

        def take(a, interpolation=cv2.INTER_LINEAR):
            patch = cv2.resize(a[y:y + size_h, x:x + size_w], (self.spec.width, self.spec.height),
                               interpolation=interpolation)
            return np.ascontiguousarray(patch[:, ::-1]) if flip else patch

        alpha_p, image_p, fg_p, bg_p = take(alpha), take(image), take(fg), take(bg)
        if guide is not None:  # the device's band: BAND MODNet pixels in the frame, then this patch's scaling
            band = max(3, int(round(BAND * w / self.guide.spec.width * self.spec.width / size_w)))
            trimap = trimap_from_alpha(take(guide), band)
        else:
            trimap = mnet_random_trimap(alpha_p, rng, smooth=rng.random() < SMOOTH)
        norm = self.spec.normalize_rgb
        return {"image": norm(image_p)[0], "fg": norm(fg_p)[0], "bg": norm(bg_p)[0],
                "alpha": alpha_p[None].astype(np.float32), "trimap": trimap[None].astype(np.float32)}

    def _patch(self, alpha: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """(x, y, w, h) of a patch of a random scale of the network size, centred on a random unknown pixel
        (0 < alpha < 1; the image centre if there is none), kept inside the image."""
        h, w = alpha.shape
        scale = PATCH_SCALES[int(rng.integers(len(PATCH_SCALES)))]
        pw, ph = min(w, int(round(self.spec.width * scale))), min(h, int(round(self.spec.height * scale)))
        unknown = np.argwhere((alpha > 0) & (alpha < 1))
        cy, cx = unknown[int(rng.integers(len(unknown)))] if len(unknown) else (h // 2, w // 2)
        x = int(np.clip(cx - pw // 2, 0, w - pw))
        y = int(np.clip(cy - ph // 2, 0, h - ph))
        return x, y, pw, ph
