"""8-bit NV21 (YUV420SP) pictures, as both device apps hold their frames: the conversion from OpenCV's BGR, the
blurred background, the blend and the matte as a picture. Part of the loop core (copied into the generated skill
and app beside :mod:`edgematte.loop`, whose ``blend`` and ``alpha_bytes`` it uses).

Why NV21: it is what the chips' units take and give. The Kit's camera hands the skill NV21; on the CANN boards the
AscendCL app converts each camera frame once, and from then on DVPP's VPC scales it onto the network's input,
AIPP converts it to RGB (bt601-narrow, aipp.py), the composite is made in it, and DVPP's JPEG encoder takes it.
OpenCV's BGR -> I420 conversion is BT.601 with the narrow range (white -> Y 235, black -> 16), the inverse of
AIPP's ``bt601-narrow`` matrix; a test holds the round trip.

An NV21 picture of W x H is a (H * 3/2, W) uint8 array: H rows of Y, then H/2 rows of interleaved V, U pairs at
half resolution. Two such pictures side by side (``np.hstack``) are again one: each row of either plane continues.
"""

import cv2
import numpy as np

from edgematte.loop import alpha_bytes, blend

def chroma_swapped(picture):
    """A YUV420SP picture with its chroma pairs swapped: NV21 as NV12, or NV12 as NV21 (package only: the apps
    never need it)."""
    height = picture.shape[0] * 2 // 3
    out = picture.copy()
    out[height:] = picture[height:].reshape(height // 2, -1, 2)[..., ::-1].reshape(height // 2, -1)
    return out


# -- copied into the generated skill and app from here on (edgematte.templates.shared_source) --


def planes(nv21, width, height):
    """Views of an NV21 picture: Y (H, W) and interleaved VU (H/2, W/2, 2)."""
    return nv21[:height], nv21[height:].reshape(height // 2, width // 2, 2)


def bgr_to_nv21(bgr, out=None):
    """A BGR picture (even width and height) as NV21, BT.601 narrow range, written into ``out`` if given."""
    height, width = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)  # Y, then the U plane, then the V plane
    if out is None:
        out = np.empty((height * 3 // 2, width), np.uint8)
    out[:height] = i420[:height]
    flat, luma, quarter = i420.reshape(-1), width * height, width * height // 4
    u = flat[luma:luma + quarter].reshape(height // 2, width // 2)
    v = flat[luma + quarter:].reshape(height // 2, width // 2)
    cv2.merge([v, u], dst=out[height:].reshape(height // 2, width // 2, 2))
    return out


def blurred_nv21(nv21, width, height):
    """The picture blurred strongly (a sixteenth of its size, a 5x5 box, scaled back): the default background."""
    y, vu = planes(nv21, width, height)
    small = (max(2, width // 16), max(2, height // 16))
    y_blur = cv2.resize(cv2.blur(cv2.resize(y, small, interpolation=cv2.INTER_AREA), (5, 5)), (width, height))
    vu_blur = cv2.resize(cv2.blur(cv2.resize(vu, small, interpolation=cv2.INTER_AREA), (5, 5)),
                         (width // 2, height // 2))
    return np.concatenate([y_blur, vu_blur.reshape(height // 2, width)])


def blend_nv21(frame, background, alpha, width, height, out):
    """frame over background by alpha in the NV21 domain, in 8 bits, written into ``out`` (NV21 of the frame's
    size, or a view of a wider picture): the alpha's levels at full size for Y and at half size for the
    interleaved VU (one level per chroma sample, repeated for V and U)."""
    levels = alpha_bytes(alpha)
    a_y = cv2.resize(levels, (width, height), interpolation=cv2.INTER_LINEAR)
    a_vu = np.repeat(cv2.resize(levels, (width // 2, height // 2), interpolation=cv2.INTER_AREA), 2, axis=1)
    blend(frame[:height], background[:height], a_y, out[:height])
    blend(frame[height:], background[height:], a_vu, out[height:])
    return out


def alpha_nv21(alpha, width, height):
    """The matte as a grey NV21 picture."""
    out = np.full((height * 3 // 2, width), 128, np.uint8)
    out[:height] = cv2.resize(alpha_bytes(alpha), (width, height), interpolation=cv2.INTER_LINEAR)
    return out
