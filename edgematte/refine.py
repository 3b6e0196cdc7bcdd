"""The refiner stage as the device runs it: the trimap from MODNet's alpha, the crop with the most unknown
pixels, and when M-Net runs again. One module used by training (fine-tuning on MODNet's own trimaps), eval,
and the generated skill and app.

The generated skill and app cannot import edgematte (the boards have numpy and cv2 only), so they carry this
module's source beside :mod:`edgematte.loop`'s, copied in when they are rendered
(:func:`edgematte.templates.shared_source`); it is written for the Kit's Python 3.7 and imports nothing but numpy
and cv2.
"""

import cv2
import numpy as np

# -- copied into the generated skill and app from here on (edgematte.templates.shared_source) --
FOREGROUND_AT = 0.95  # alpha at or above: foreground, once eroded
BACKGROUND_AT = 0.05  # alpha at or below: background, once eroded
BAND = 7              # the erosion's square side in network pixels: how far the unknown band reaches in
ONE_SECOND = 25       # frames: the refiner runs again at least this often
BAND_CHANGE = 0.02    # the share of the crop's trimap that may change before the refiner runs again
MIN_UNKNOWN = 0.005   # a crop with a smaller unknown share is not refined


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


def best_box(unknown, box_w, box_h):
    """The top-left (x, y) of the box_w x box_h window of the H x W mask ``unknown`` holding the most unknown
    pixels (the first such window in row-major order), and that count. The box must fit in the mask."""
    h, w = unknown.shape
    sums = cv2.integral(unknown.astype(np.uint8))  # (H+1) x (W+1): sums[y, x] = count above and left of (y, x)
    counts = (sums[box_h:h + 1, box_w:w + 1] - sums[0:h + 1 - box_h, box_w:w + 1]
              - sums[box_h:h + 1, 0:w + 1 - box_w] + sums[0:h + 1 - box_h, 0:w + 1 - box_w])
    y, x = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return int(x), int(y), int(counts[y, x])


class RefineSchedule(object):
    """Whether M-Net must run on this frame's crop: the first time, after ``every`` frames, when the box moves,
    or when more than ``change`` of the crop's trimap differs from the one it last refined; otherwise its last
    matte is reused."""

    def __init__(self, every=ONE_SECOND, change=BAND_CHANGE):
        self.every, self.change = every, change
        self.box, self.codes, self.age = None, None, 0

    def due(self, box, codes):
        self.age += 1
        if (self.box != box or self.codes is None or self.age >= self.every
                or np.count_nonzero(codes != self.codes) > self.change * codes.size):
            self.box, self.codes, self.age = box, codes.copy(), 0
            return True
        return False


def refine_plan(alpha, box_w, box_h, band, even=False):
    """Where to refine a frame-sized alpha: the box_w x box_h box with the most unknown pixels of its trimap
    (``band`` pixels wide) and the trimap codes of that crop, or None when the box is nearly certain.
    ``even``: the box starts on even pixels (NV21 crops)."""
    unknown = trimap_from_alpha(alpha, band) == 0.5
    x, y, count = best_box(unknown, box_w, box_h)
    if count < MIN_UNKNOWN * box_w * box_h:
        return None
    if even:
        x, y = x - x % 2, y - y % 2
    box = (x, y, box_w, box_h)
    return box, crop_trimap(alpha, box, band)


def frame_band(frame_width, net_width):
    """The trimap's band in frame pixels: BAND network pixels of MODNet, scaled to the frame."""
    return max(3, int(round(BAND * float(frame_width) / net_width)))


class Refiner(object):
    """The refiner stage on a frame-sized alpha: :func:`refine_plan`'s crop, M-Net run on it when the schedule
    says so (``run(box, codes)`` -> the refined alpha of the crop at its size, or None when the call failed),
    and the last refined crop pasted back in place."""

    def __init__(self, box_w, box_h, band, even=False):
        self.box_w, self.box_h, self.band, self.even = box_w, box_h, band, even
        self.schedule = RefineSchedule()
        self.last = None
        self.runs = 0

    def __call__(self, alpha, run):
        """Refine ``alpha`` in place; returns whether M-Net ran."""
        plan = refine_plan(alpha, self.box_w, self.box_h, self.band, self.even)
        if plan is None:
            return False
        box, codes = plan
        ran = self.schedule.due(box, codes) or self.last is None
        if ran:
            refined = run(box, codes)
            if refined is None:
                return False
            self.last = refined
            self.runs += 1
        x, y, w, h = box
        alpha[y:y + h, x:x + w] = self.last
        return ran


def crop_trimap(alpha, box, band):
    """The trimap codes (uint8: 0 background, 1 unknown, 2 foreground) of the crop ``box`` = (x, y, w, h) of a
    frame-sized alpha, the band scaled to the frame (``band`` pixels)."""
    x, y, w, h = box
    return (trimap_from_alpha(alpha[y:y + h, x:x + w], band) * 2).astype(np.uint8)
