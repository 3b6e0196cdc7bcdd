"""DVPP's rules and work for the acl stand-in's ``acl.media``: VPC resize, JPEGE encode and JPEGD decode of YUV420SP
pictures.

The rules differ by chip; each is from the CANN documentation named in its record, and the stand-in refuses a
picture description that breaks them, as the device does (the device's error code is not documented per rule;
the stand-in returns ACL_ERROR_INVALID_PARAM and logs the rule). The AscendCL app uses the settings that satisfy
all three chips: a width stride of the width rounded up to 16, a height stride of the height rounded up to 2,
buffers from ``acl.media.dvpp_malloc``.

Only YUV420SP (NV12 and NV21) is stood in for, the one format the app hands DVPP; the stand-in refuses the
others by name (stricter than the device). VPC's resampling is emulated for interpolation 1 and 2, which CANN
documents as OpenCV-like bilinear and nearest neighbour (aclcppdevg_000207, CANN 6.0.1); the 310's default 0
("a high-order filter developed by Huawei") cannot be emulated and is refused.

JPEGD (CANN 5.0.4 aclcppdevg_03_0168, CANN 8.0 aclpythondevg_01_0321): Huffman-coded baseline JPEGs of YUV
colour with 4:4:4, 4:2:2, 4:2:0, 4:0:0 or 4:4:0 sampling, 32x32 to 8192x8192, from 128-byte-aligned
``dvpp_malloc`` memory; no arithmetic coding, no progressive JPEG. Its output for YUV420SP is the JPEG's own
YCbCr samples (full range, as JFIF defines them: CANN documents no range conversion; inferred), width and height
rounded down to even, with a width stride of exactly the width rounded up to 128 on the 310 and to 64 on the 310B
and 310P, and a height stride of the height rounded up to 16. The stand-in also refuses a JPEG without Huffman
tables (many UVC cameras leave them out; CANN does not say JPEGD decodes such a frame): stricter than documented.
Its decoding is OpenCV's: the JPEG decoded to BGR and converted back to full-range YCbCr, the chroma averaged over
2x2, within a level or two of the samples themselves.
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
    jpegd_width_align: int             # JPEGD's output width stride: the width rounded up to exactly this
    source: str


RULES: dict[str, DvppRules] = {r.chips: r for r in (
    DvppRules("Ascend310", 16, (32, 16384), 6, ((10, 6), (4096, 4096)), ((10, 6), (4096, 4096)),
              ((32, 32), (8192, 8192)), False, 128,
              "CANN 6.0.1 aclcppdevg_03_0168 (VPC formats, strides: width to 16, height to 2; acldvppMalloc), "
              "aclcppdevg_03_0170 (10x6 to 4096x4096; larger: NV12/NV21 only, not stood in), CANN 8.0.RC1 "
              "aclcppdevg_03_0272 (width stride 32-16384, height stride from 6), aclpythondevg_01_0299 (JPEGE), "
              "CANN 8.0 aclpythondevg_01_0321 (JPEGD: width stride to 128 on Atlas 200/300/500)"),
    DvppRules("Ascend310B", 1, (10, 16384), 6, ((10, 6), (8192, 8192)), ((10, 6), (4096, 8192)),
              ((32, 32), (16384, 16384)), True, 64,
              "Atlas 200I DK A2 23.0.RC2 guide aclcppdevg_03_0675 (VPC resize 10x6-8192x8192 in, 4096x8192 out), "
              "CANN 8.0 aclpythondevg_01_0429 (width stride: no alignment, from 10; height stride to 2, from 6; "
              "acl.rt.malloc or dvpp_malloc), aclpythondevg_01_0316 (JPEGE 32x32-16384x16384), aclpythondevg_01_0321 "
              "(JPEGD: width stride to 64 on Atlas 200I/500 A2)"),
    DvppRules("Ascend310P", 16, (32, 16384), 6, ((10, 6), (8192, 8192)), ((10, 6), (4096, 4096)),
              ((32, 32), (8192, 8192)), False, 64,
              "CANN 8.0 aclpythondevg_01_0429 (Atlas inference products: width stride to 16, 32-16384; height "
              "stride to 2, 6-16384; 4096x4096 out; dvpp_malloc), aclcppdevg_03_0362 (JPEGE 32x32-8192x8192), "
              "aclpythondevg_01_0321 (JPEGD: width stride to 64 on Atlas inference products)"),
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


# -- JPEGD --------------------------------------------------------------------------------------------------
JPEGD_SIZE = ((32, 32), (8192, 8192))   # CANN 5.0.4 aclcppdevg_03_0168; taken for every chip (stricter or equal)
JPEGD_HEIGHT_ALIGN = 16
JPEGD_INPUT_ALIGN = 128                  # the input's address (CANN 5.0.4 aclcppdevg_03_0168)
_SOF_BASELINE = {0xC0: "baseline", 0xC1: "extended sequential"}  # Huffman-coded, DCT: what JPEGD decodes
_SOF_REFUSED = {0xC2: "progressive", 0xC3: "lossless", 0xC5: "differential", 0xC6: "differential progressive",
                0xC7: "differential lossless", 0xC9: "arithmetic-coded", 0xCA: "arithmetic-coded progressive",
                0xCB: "arithmetic-coded lossless", 0xCD: "arithmetic-coded differential",
                0xCE: "arithmetic-coded differential progressive", 0xCF: "arithmetic-coded differential lossless"}
_SAMPLING = {((1, 1), (1, 1), (1, 1)): "444", ((2, 1), (1, 1), (1, 1)): "422", ((2, 2), (1, 1), (1, 1)): "420",
             ((1, 2), (1, 1), (1, 1)): "440"}


@dataclass(frozen=True)
class JpegHeader:
    """What JPEGD's rules look at: the frame header and whether Huffman tables precede the scan."""

    width: int
    height: int
    sampling: str            # "444", "422", "420", "440", "400", or a description of another one
    huffman_tables: int      # DHT segments before the scan


def header_segments(data: bytes) -> list[tuple[int, int, int]] | str:
    """(marker, start, end) of each marker segment of a JPEG before its scan (SOS), or why it is not a JPEG."""
    if data[:2] != b"\xff\xd8":
        return "the input does not start with a JPEG's SOI marker"
    segments, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return f"no marker at byte {i} of the JPEG's header"
        if data[i + 1] == 0xFF:  # fill byte
            i += 1
            continue
        if data[i + 1] == 0xDA:
            return segments
        end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
        segments.append((data[i + 1], i, end))
        i = end
    return "the JPEG has no scan (SOS)"


def jpeg_header(data: bytes) -> JpegHeader | str:
    """The header of a JPEG JPEGD could decode, or why it cannot (a problem as text)."""
    segments = header_segments(data)
    if isinstance(segments, str):
        return segments
    frame = None
    for marker, start, end in segments:
        if marker in _SOF_REFUSED:
            return f"the JPEG is {_SOF_REFUSED[marker]}: JPEGD decodes Huffman-coded baseline JPEGs only"
        if marker in _SOF_BASELINE:
            body = data[start + 4:end]
            height, width, count = int.from_bytes(body[1:3], "big"), int.from_bytes(body[3:5], "big"), body[5]
            factors = tuple((body[7 + 3 * k] >> 4, body[7 + 3 * k] & 15) for k in range(count))
            sampling = "400" if count == 1 else _SAMPLING.get(factors, f"{count} components sampled {factors}")
            frame = (width, height, sampling)
    if frame is None:
        return "the JPEG has no frame header (SOF) before its scan"
    return JpegHeader(*frame, huffman_tables=sum(marker == 0xC4 for marker, _, _ in segments))


def jpegd_problem(header: JpegHeader | str, pic: PicDesc, rules: DvppRules) -> str | None:
    """Why JPEGD cannot decode a JPEG with ``header`` into ``pic`` on the chip of ``rules``, or None."""
    if isinstance(header, str):
        return header
    if header.sampling not in ("444", "422", "420", "440", "400"):
        return f"the JPEG's sampling ({header.sampling}) is none of JPEGD's 4:4:4, 4:2:2, 4:2:0, 4:0:0, 4:4:0"
    if not header.huffman_tables:
        return ("the JPEG has no Huffman tables (DHT) before its scan, as UVC cameras may send it; CANN does not "
                "document JPEGD decoding one: insert the standard tables first")
    if not _within(header.width, header.height, JPEGD_SIZE):
        return f"the JPEG is {header.width}x{header.height}, outside JPEGD's 32x32 to 8192x8192"
    missing = [k for k in ("data", "size", "format", "width_stride", "height_stride") if getattr(pic, k) is None]
    if missing:
        return f"the jpegd output description has no {', '.join(missing)} (acl.media.dvpp_set_pic_desc_*)"
    if pic.format not in YUV420SP_FORMATS:
        return f"the jpegd output format {pic.format} is not YUV420SP (1 NV12, 2 NV21), the one the stand-in emulates"
    w, h = header.width // 2 * 2, header.height // 2 * 2
    ws, hs = -(-w // rules.jpegd_width_align) * rules.jpegd_width_align, -(-h // JPEGD_HEIGHT_ALIGN) * JPEGD_HEIGHT_ALIGN
    if (pic.width_stride, pic.height_stride) != (ws, hs):
        return (f"the jpegd output's strides are {pic.width_stride}x{pic.height_stride}; a {w}x{h} picture needs "
                f"{ws}x{hs} on {rules.chips} (the width rounded up to {rules.jpegd_width_align}, the height to 16)")
    if pic.size < ws * hs * 3 // 2:
        return f"the jpegd output's buffer size {pic.size} is below width stride x height stride x 3/2 = {ws * hs * 3 // 2}"
    return None


def jpeg_decode(data: bytes, pixel_format: int) -> np.ndarray:
    """JPEGD's YUV420SP output for a JPEG (the stand-in's emulation: see the module's docstring), even-sized."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("the JPEG's data could not be decoded")
    h, w = bgr.shape[0] // 2 * 2, bgr.shape[1] // 2 * 2
    ycrcb = cv2.cvtColor(bgr[:h, :w], cv2.COLOR_BGR2YCrCb)  # JFIF's full-range YCbCr
    chroma = cv2.resize(ycrcb[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # Cr (V), Cb (U)
    if YUV420SP_FORMATS[pixel_format] == "NV12":
        chroma = chroma[..., ::-1]
    return np.concatenate([ycrcb[..., 0], np.ascontiguousarray(chroma).reshape(h // 2, w)])
