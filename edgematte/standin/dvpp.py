"""DVPP's rules and work for the acl stand-in's ``acl.media``: VPC resize and JPEGE encode of YUV420SP pictures.

The rules differ by chip; each is from the CANN documentation named in its record, and the stand-in refuses a
picture description that breaks them, as the device does (the device's error code is not documented per rule;
the stand-in returns ACL_ERROR_INVALID_PARAM and logs the rule). The AscendCL app uses the settings that satisfy
all three chips: a width stride of the width rounded up to 16, a height stride of the height rounded up to 2,
buffers from ``acl.media.dvpp_malloc``.

Only YUV420SP (NV12 and NV21) is stood in for, the one format the app hands DVPP; the stand-in refuses the
others by name (stricter than the device). VPC's resampling is emulated for interpolation 1 and 2, which CANN
documents as OpenCV-like bilinear and nearest neighbour (aclcppdevg_000207, CANN 6.0.1); the 310's default 0
("a high-order filter developed by Huawei") cannot be emulated and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# acldvppPixelFormat (the pyACL reference's enum): the YUV420SP pair
PIXEL_FORMAT_YUV_SEMIPLANAR_420, PIXEL_FORMAT_YVU_SEMIPLANAR_420 = 1, 2
YUV420SP_FORMATS = {PIXEL_FORMAT_YUV_SEMIPLANAR_420: "NV12", PIXEL_FORMAT_YVU_SEMIPLANAR_420: "NV21"}
INTERPOLATIONS = {1: cv2.INTER_LINEAR, 2: cv2.INTER_NEAREST}  # acldvppSetResizeConfigInterpolation
JPEGE_LEVELS = (0, 100)  # acldvppSetJpegeConfigLevel: the encoding quality


@dataclass(frozen=True)
class DvppRules:
    """DVPP's YUV420SP rules on one chip generation (VPC resize and JPEGE)."""

    chips: str
    width_stride_align: int            # VPC: the width stride is a multiple of this (1: any, at least the width)
    width_stride_range: tuple[int, int]
    height_stride_min: int
    vpc_input: tuple[tuple[int, int], tuple[int, int]]   # (min w, min h), (max w, max h)
    vpc_output: tuple[tuple[int, int], tuple[int, int]]
    jpege: tuple[tuple[int, int], tuple[int, int]]
    vpc_takes_rt_malloc: bool          # VPC also takes acl.rt.malloc memory (else acl.media.dvpp_malloc only)
    source: str


RULES: dict[str, DvppRules] = {r.chips: r for r in (
    DvppRules("Ascend310", 16, (32, 16384), 6, ((10, 6), (4096, 4096)), ((10, 6), (4096, 4096)),
              ((32, 32), (8192, 8192)), False,
              "CANN 6.0.1 aclcppdevg_03_0168 (VPC formats, strides: width to 16, height to 2; acldvppMalloc), "
              "aclcppdevg_03_0170 (10x6 to 4096x4096; larger: NV12/NV21 only, not stood in), CANN 8.0.RC1 "
              "aclcppdevg_03_0272 (width stride 32-16384, height stride from 6), aclpythondevg_01_0299 (JPEGE)"),
    DvppRules("Ascend310B", 1, (10, 16384), 6, ((10, 6), (8192, 8192)), ((10, 6), (4096, 8192)),
              ((32, 32), (16384, 16384)), True,
              "Atlas 200I DK A2 23.0.RC2 guide aclcppdevg_03_0675 (VPC resize 10x6-8192x8192 in, 4096x8192 out), "
              "CANN 8.0 aclpythondevg_01_0429 (width stride: no alignment, from 10; height stride to 2, from 6; "
              "acl.rt.malloc or dvpp_malloc), aclpythondevg_01_0316 (JPEGE 32x32-16384x16384)"),
    DvppRules("Ascend310P", 16, (32, 16384), 6, ((10, 6), (8192, 8192)), ((10, 6), (4096, 4096)),
              ((32, 32), (8192, 8192)), False,
              "CANN 8.0 aclpythondevg_01_0429 (Atlas inference products: width stride to 16, 32-16384; height "
              "stride to 2, 6-16384; 4096x4096 out; dvpp_malloc), aclcppdevg_03_0362 (JPEGE 32x32-8192x8192)"),
)}


def rules_for(soc_name: str) -> DvppRules:
    """The rules of the chip ``soc_name`` (acl.get_soc_name's answer, e.g. Ascend310B4)."""
    for chips in sorted(RULES, key=len, reverse=True):
        if soc_name.startswith(chips):
            return RULES[chips]
    raise KeyError(soc_name)


@dataclass
class PicDesc:
    """acldvppPicDesc: what the app set, None until set."""

    data: int | None = None
    size: int | None = None
    format: int | None = None
    width: int | None = None
    height: int | None = None
    width_stride: int | None = None
    height_stride: int | None = None

    def unset(self) -> list[str]:
        return [k for k, v in vars(self).items() if v is None]


def _within(w: int, h: int, bounds) -> bool:
    (min_w, min_h), (max_w, max_h) = bounds
    return min_w <= w <= max_w and min_h <= h <= max_h


def picture_problem(pic: PicDesc, rules: DvppRules, use: str) -> str | None:
    """Why ``pic`` breaks the chip's rules for ``use`` ("vpc input", "vpc output", "jpege input"), or None."""
    if pic.unset():
        return f"the {use} description has no {', '.join(pic.unset())} (acl.media.dvpp_set_pic_desc_*)"
    if pic.format not in YUV420SP_FORMATS:
        return f"the {use} format {pic.format} is not YUV420SP (1 NV12, 2 NV21), the one the stand-in emulates"
    w, h, ws, hs = pic.width, pic.height, pic.width_stride, pic.height_stride
    if w % 2 or h % 2:
        return f"the {use} is {w}x{h}: YUV420SP needs an even width and height"
    bounds = {"vpc input": rules.vpc_input, "vpc output": rules.vpc_output, "jpege input": rules.jpege}[use]
    if not _within(w, h, bounds):
        return f"the {use} is {w}x{h}, outside {bounds[0][0]}x{bounds[0][1]} to {bounds[1][0]}x{bounds[1][1]} on {rules.chips}"
    align = 16 if use == "jpege input" else rules.width_stride_align
    lo, hi = rules.width_stride_range
    if ws < w or ws % align or not lo <= ws <= hi:
        return (f"the {use}'s width stride {ws} must be the width {w} rounded up to a multiple of {align}, within "
                f"{lo}-{hi}, on {rules.chips}")
    if use == "jpege input":
        if hs != h and (hs != max(32, -(-h // 16) * 16)):
            return f"the jpege input's height stride {hs} must be its height {h} or {h} rounded up to 16 (at least 32)"
    elif hs < h or hs % 2 or hs < rules.height_stride_min:
        return f"the {use}'s height stride {hs} must be the height {h} rounded up to 2 (at least {rules.height_stride_min})"
    need = ws * hs * 3 // 2
    if pic.size < need:
        return f"the {use}'s buffer size {pic.size} is below width stride x height stride x 3/2 = {need}"
    return None


def read_nv(raw: bytes, pic: PicDesc) -> np.ndarray:
    """The picture as a (H*3/2, W) YUV420SP array without its stride padding."""
    ws, hs, w, h = pic.width_stride, pic.height_stride, pic.width, pic.height
    full = np.frombuffer(raw, np.uint8, count=ws * hs * 3 // 2).reshape(hs * 3 // 2, ws)
    return np.concatenate([full[:h, :w], full[hs:hs + h // 2, :w]])


def write_nv(picture: np.ndarray, pic: PicDesc) -> bytes:
    """``picture`` (H*3/2, W) laid out with the description's strides (padding zero)."""
    ws, hs, w, h = pic.width_stride, pic.height_stride, pic.width, pic.height
    full = np.zeros((hs * 3 // 2, ws), np.uint8)
    full[:h, :w] = picture[:h]
    full[hs:hs + h // 2, :w] = picture[h:]
    return full.tobytes()


def vpc_resize(picture: np.ndarray, width: int, height: int, interpolation: int) -> np.ndarray:
    """VPC's resize of a YUV420SP picture: the luma and the interleaved chroma planes, each resampled."""
    h = picture.shape[0] * 2 // 3
    w = picture.shape[1]
    flag = INTERPOLATIONS[interpolation]
    luma = cv2.resize(picture[:h], (width, height), interpolation=flag)
    chroma = cv2.resize(picture[h:].reshape(h // 2, w // 2, 2), (width // 2, height // 2), interpolation=flag)
    return np.concatenate([luma, chroma.reshape(height // 2, width)])


def jpeg_encode(picture: np.ndarray, pixel_format: int, level: int) -> bytes:
    """JPEGE's output for a YUV420SP picture at quality ``level`` (a baseline Huffman JPEG)."""
    code = cv2.COLOR_YUV2BGR_NV21 if YUV420SP_FORMATS[pixel_format] == "NV21" else cv2.COLOR_YUV2BGR_NV12
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(picture, code), [cv2.IMWRITE_JPEG_QUALITY, int(level)])
    if not ok:
        raise ValueError("the picture could not be encoded")
    return jpeg.tobytes()


def predicted_jpeg_size(pic: PicDesc) -> int:
    """acldvppJpegPredictEncSize's estimate, stood in by an upper bound: the input's own size plus headers."""
    return pic.width_stride * pic.height_stride * 3 // 2 + 4096
