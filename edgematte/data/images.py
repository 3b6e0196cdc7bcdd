"""Reading the images matting data is made of: alpha mattes (8- or 16-bit, grey or with an alpha channel)
and RGB frames. Errors name the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgematte.errors import EdgematteError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageFileError(EdgematteError):
    pass


def read_alpha(path: Path, dtype=np.float32) -> np.ndarray:
    """H×W in [0, 1] (value / 255, or / 65535 for 16-bit), computed in ``dtype``; a 4-channel file gives
    its alpha channel, a 3-channel one its first."""
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise ImageFileError(f"{path} cannot be read as an image")
    if a.ndim == 3:
        a = a[..., -1] if a.shape[2] == 4 else a[..., 0]
    return a.astype(dtype) / dtype(65535.0 if a.dtype == np.uint16 else 255.0)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageFileError(f"{path} cannot be read as an image")
    return np.ascontiguousarray(bgr[..., ::-1])
