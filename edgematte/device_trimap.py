"""The trimap the deployed pipeline makes from MODNet's alpha for the M-Net refiner: one function used by
training (fine-tuning on MODNet's own trimaps), the stand-in, eval, and the generated skill and app.

The generated skill and app cannot import edgematte (the board has numpy and cv2 only), so they carry this
function's source, copied in when the app is rendered (edgematte.skill); it is written for the Kit's
Python 3.7 and imports nothing but numpy and cv2.
"""

import cv2
import numpy as np

FOREGROUND_AT = 0.95  # alpha at or above: foreground, once eroded
BACKGROUND_AT = 0.05  # alpha at or below: background, once eroded
BAND = 7              # the erosion's square side in network pixels: how far the unknown band reaches in


def trimap_from_alpha(alpha, band=BAND, foreground_at=FOREGROUND_AT, background_at=BACKGROUND_AT):
    """A trimap (float32, 0 background / 0.5 unknown / 1 foreground) from an H×W alpha in [0, 1]: foreground
    where the eroded (alpha >= foreground_at) holds, background where the eroded (alpha <= background_at)
    holds, unknown elsewhere. The erosions make the band at least ``band`` pixels wide around every edge."""
    kernel = np.ones((band, band), np.uint8)
    fg = cv2.erode((alpha >= foreground_at).astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
    bg = cv2.erode((alpha <= background_at).astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
    trimap = np.full(alpha.shape, 0.5, np.float32)
    trimap[fg > 0] = 1.0
    trimap[bg > 0] = 0.0
    return trimap
