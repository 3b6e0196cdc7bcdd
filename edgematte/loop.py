"""The loop core both device apps run, and the package's study, eval and golden rollout run too: the previous
frame's alpha fed back as the network's second input with the rules that drop it (:class:`PreviousAlpha`), a
named-stage stopwatch for the apps' timing lines (:class:`Stopwatch`), and the 8-bit blend both composites use
(:func:`blend`). The refiner's schedule is its sibling, :mod:`edgematte.refine`.

The generated skill and app cannot import edgematte (the boards have numpy and cv2 only), so they carry this
module's source, copied in when they are rendered (:func:`edgematte.templates.shared_source`); it is written for the
Kit's Python 3.7 and imports nothing but numpy, cv2 and the standard library. What the ablation measures is
therefore what the apps run.
"""

import time

import cv2
import numpy as np

# -- copied into the generated skill and app from here on (edgematte.templates.shared_source) --
RESET_THRESHOLD = 30.0  # mean absolute luma change (0-255) between frames that drops the previous alpha (a cut)
MIN_COVERAGE = 0.02     # a matte with fewer of its pixels above 0.5 than this share: the person has left
                        # (docs/temporal.md: fires on 57-88 % of empty frames, 0.8-1.7 % of frames with a person)


def scene_changed(previous_luma, luma, threshold):
    """Whether the mean absolute change between two luma pictures of one size is above ``threshold``."""
    if previous_luma is None or threshold is None:
        return False
    return float(np.abs(luma.astype(np.int16) - previous_luma.astype(np.int16)).mean()) > threshold


def confident_share(alpha):
    """The share of the matte's pixels above 0.5 (the person, confidently): what the "person left" rule tests. Not
    the mean: a model's haze on an empty frame (a few per cent everywhere) keeps the mean above any threshold
    that a person's hand would not also cross (docs/temporal.md, the person-left rule)."""
    return float(np.count_nonzero(alpha > 0.5)) / alpha.size


def alpha_bytes(alpha):
    """An alpha in [0, 1] (float32) as 8-bit levels 0..255, rounded; below 0 is 0, above 1 is 255."""
    return cv2.convertScaleAbs(cv2.max(alpha, 0.0), alpha=255.0)  # (it takes |x|: negatives first to 0)


def blend(fg, bg, alpha, out=None):
    """``(fg * alpha + bg * (255 - alpha)) / 255`` in 8 bits (``alpha``: levels 0..255 of the same shape as ``fg``
    and ``bg``), in OpenCV's SIMD kernels, so a frame is never widened on the host: each product is rounded
    to a level, so the sum is within one level of the exact blend. Written into ``out`` (a view of a larger
    picture is fine). At 720p BGR: 1.8 ms of one core here, against 5.1 ms for the exact 16-bit form and 14 ms
    for a float32 blend."""
    front = cv2.multiply(fg, alpha, scale=1.0 / 255)
    return cv2.add(front, cv2.multiply(bg, cv2.bitwise_not(alpha), scale=1.0 / 255), dst=out)


class PreviousAlpha(object):
    """The previous frame's alpha, as the network's second input (float32, network size), and the rules that drop
    it to zeros: a scene cut (the luma changed by more than ``reset_threshold``), a person who left (fewer than
    ``min_coverage`` of the matte's pixels above 0.5), a failed inference. A rule set to None is off. ``feedback`` False feeds zeros
    always (plain MODNet, for comparisons).

        previous = PreviousAlpha(NET_W, NET_H, settings["reset_threshold"], settings["min_coverage"])
        alpha = infer(small, previous.feed(small_luma))
        previous.keep(alpha)
    """

    def __init__(self, width, height, reset_threshold=RESET_THRESHOLD, min_coverage=MIN_COVERAGE, feedback=True):
        self.zeros = np.zeros((height, width), np.float32)
        self.alpha = self.zeros
        self.reset_threshold, self.min_coverage, self.feedback = reset_threshold, min_coverage, feedback
        self.luma = None
        self.resets = 0

    def feed(self, luma=None):
        """The second input for the frame whose luma (any fixed size; None: the cut rule cannot apply) is given."""
        if scene_changed(self.luma, luma, self.reset_threshold):
            self.alpha = self.zeros
            self.resets += 1
        self.luma = luma
        return self.alpha if self.feedback else self.zeros

    def keep(self, alpha):
        """Remember this frame's alpha (network size, clipped to [0, 1]) for the next frame, unless the person
        has left; returns the clipped alpha."""
        alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
        gone = self.min_coverage is not None and confident_share(alpha) < self.min_coverage
        self.alpha = self.zeros if gone else alpha
        return alpha

    def drop(self):
        """Feed zeros next (after a failed inference)."""
        self.alpha = self.zeros


def ms_line(ms, stages):
    """``read 10.7, resize 0.8, ...``: the apps' timing line, ``ms`` per frame of each of ``stages``."""
    return ", ".join("%s %.1f" % (stage, ms.get(stage, 0.0)) for stage in stages)


class Stopwatch(object):
    """Wall time per named stage, summed over the frames since the last :meth:`line`. ``lap(stage)`` charges the
    time since the previous lap (or :meth:`start`) to ``stage``; ``skip()`` restarts the clock without charging
    (time spent in a stage timed elsewhere)."""

    def __init__(self, stages, clock=time.time):
        self.stages, self.clock = tuple(stages), clock
        self.totals = dict((stage, 0.0) for stage in self.stages)
        self.frames = 0
        self.last = None

    def start(self):
        self.last = self.clock()

    def lap(self, stage):
        now = self.clock()
        self.totals[stage] += now - self.last
        self.last = now

    def skip(self):
        self.last = self.clock()

    def frame_done(self):
        self.frames += 1

    def ms(self):
        """Mean milliseconds per frame of each stage since the last line."""
        n = max(self.frames, 1)
        return dict((stage, 1000.0 * self.totals[stage] / n) for stage in self.stages)

    def line(self, reset=True):
        """``read 10.7, resize 0.8, ...``: ms per frame of each stage; ``reset`` starts the next window."""
        text = ms_line(self.ms(), self.stages)
        if reset:
            self.totals = dict((stage, 0.0) for stage in self.stages)
            self.frames = 0
        return text
