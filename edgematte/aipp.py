"""AIPP: the Ascend chip's input pre-processing, as configured by an ``aipp.cfg`` (``--insert_op_conf``).

- :func:`aipp_from_spec` builds the config for the ``image`` input from the spec and the device family's
  frame format: the HiLens Kit's camera YUV420SP at the network size -> RGB with an explicit integer CSC
  matrix, or (the AscendCL app's OpenCV frames) packed BGR888 -> RGB by the R/B swap; then
  ``(x - 127.5) / 127.5``. :func:`aipp_configs` adds, for M-Net, a ``YUV400_U8`` block for the trimap
  (input 1): one byte per pixel, 0 / 1 / 2 times ``var_reci`` 0.5 = 0 / 0.5 / 1, no colour conversion
  (YUV400 requires ``csc_switch: false`` and a 1-channel input: ascend-hilens-facts.md §3.4).
- :meth:`AippConfig.render` writes it as text protobuf; :func:`parse_aipp` reads any such file back.
- :func:`aipp_problems` checks a config against the rules Ascend 310's AIPP compiler enforces.
- :class:`AippEmulator` applies a config to a YUV420SP or RGB888 buffer in the chip's order (swap -> crop
  -> CSC with the integer matrix and >> 8 -> normalisation -> padding), so a CPU run sees what the device sees.

Facts: ../shared/docs/ascend-hilens-facts.md §3; for RGB888_U8, CANN's AIPP configuration template
(``insert_op.proto`` comments): ``rbuv_swap_switch`` swaps the R and B channels of RGB input, before
mean/min/var_reci are applied per output channel, and ``csc_switch`` would turn RGB into YUV.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from edgematte.devices import RGB888, YUV420SP
from edgematte.errors import EdgematteError
from edgematte.spec import PipelineSpec

# YUV -> RGB integer matrices (rows produce R, G, B; applied as (M @ (yuv - bias)) >> 8) and input biases.
CSC = {
    "bt601-narrow": (((298, 0, 409), (298, -100, -208), (298, 516, 0)), (16, 128, 128)),
    "bt709-narrow": (((298, 0, 459), (298, -55, -136), (298, 541, 0)), (16, 128, 128)),
    "jpeg": (((256, 0, 359), (256, -88, -183), (256, 454, 0)), (0, 128, 128)),
}
# The camera formats AIPP reads as YUV420SP_U8; the chip's native chroma order is U,V (NV12).
RBUV_SWAP = {"NV12": False, "NV21": True}
YUV400 = "YUV400_U8"  # one byte per pixel, one channel: the M-Net trimap input's format
BYTES_PER_PIXEL = {YUV420SP: 1.5, RGB888: 3, YUV400: 1}  # the AIPP input formats edgematte writes and emulates
CHANNELS = {YUV420SP: 3, RGB888: 3, YUV400: 1}  # what each format hands the network (the input's C must match)
TRIMAP_LEVEL = 0.5  # the trimap's bytes 0 / 1 / 2 (background / unknown / foreground) times this


class AippError(EdgematteError):
    """An aipp.cfg that cannot be read, or that Ascend 310 would reject."""


@dataclass(frozen=True)
class AippConfig:
    """One static ``aipp_op`` block (field names as in Ascend's insert_op.proto)."""

    src_image_size_w: int
    src_image_size_h: int
    related_input_rank: int = 0
    aipp_mode: str = "static"
    input_format: str = "YUV420SP_U8"
    crop: bool = False
    load_start_pos_w: int = 0
    load_start_pos_h: int = 0
    crop_size_w: int = 0
    crop_size_h: int = 0
    csc_switch: bool = True
    rbuv_swap_switch: bool = False
    matrix: tuple[tuple[int, int, int], ...] = CSC["bt601-narrow"][0]
    input_bias: tuple[int, int, int] = CSC["bt601-narrow"][1]
    mean_chn: tuple[int, int, int] = (0, 0, 0)
    min_chn: tuple[float, float, float] = (0.0, 0.0, 0.0)
    var_reci_chn: tuple[float, float, float] = (1.0, 1.0, 1.0)
    padding: bool = False
    left_padding_size: int = 0
    right_padding_size: int = 0
    top_padding_size: int = 0
    bottom_padding_size: int = 0
    padding_value: float = 0.0
    resize: bool = False  # only parsed, to be refused: Ascend 310's AIPP cannot resize

    @property
    def input_bytes(self) -> int:
        """The size of one input frame, what the model's input 0 takes on the device."""
        return int(self.src_image_size_w * self.src_image_size_h * BYTES_PER_PIXEL.get(self.input_format, 0))

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of what AIPP hands the network."""
        w = self.crop_size_w if self.crop else self.src_image_size_w
        h = self.crop_size_h if self.crop else self.src_image_size_h
        if self.padding:
            w += self.left_padding_size + self.right_padding_size
            h += self.top_padding_size + self.bottom_padding_size
        return w, h

    def render(self, header: str = "") -> str:
        """Text protobuf, one field per line, in the schema's order (:func:`render_configs` for several)."""
        def fmt(v) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, float):
                return repr(v)
            return str(v)

        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        lines.append("aipp_op {")
        fields = [("aipp_mode", self.aipp_mode), ("related_input_rank", self.related_input_rank),
                  ("input_format", self.input_format), ("src_image_size_w", self.src_image_size_w),
                  ("src_image_size_h", self.src_image_size_h), ("crop", self.crop)]
        if self.crop:
            fields += [(k, getattr(self, k)) for k in ("load_start_pos_w", "load_start_pos_h",
                                                       "crop_size_w", "crop_size_h")]
        fields += [("csc_switch", self.csc_switch), ("rbuv_swap_switch", self.rbuv_swap_switch)]
        if self.csc_switch:
            fields += [(f"matrix_r{r}c{c}", self.matrix[r][c]) for r in range(3) for c in range(3)]
            fields += [(f"input_bias_{i}", b) for i, b in enumerate(self.input_bias)]
        fields += [(f"mean_chn_{i}", v) for i, v in enumerate(self.mean_chn)]
        fields += [(f"min_chn_{i}", float(v)) for i, v in enumerate(self.min_chn)]
        fields += [(f"var_reci_chn_{i}", float(v)) for i, v in enumerate(self.var_reci_chn)]
        if self.padding:
            fields += [("padding", True)] + [(k, getattr(self, k)) for k in (
                "left_padding_size", "right_padding_size", "top_padding_size", "bottom_padding_size")]
            # The DDK-era and GE schemas name it cpadding_value (GE's insert_op conversion reads cpadding_value;
            # "padding_value" appears only in later docs), so every toolchain parses this spelling.
            fields += [("cpadding_value", float(self.padding_value))]
        lines += [f"  {k}: {fmt(v)}" for k, v in fields]
        lines.append("}")
        return "\n".join(lines) + "\n"


def aipp_from_spec(spec: PipelineSpec, device=None) -> AippConfig:
    """The config for the ``image`` input of ``device`` (a :class:`edgematte.devices.DeviceFamily`; default:
    the HiLens Kit): frames already resized to the network size (Ascend 310's AIPP cannot resize;
    hilens.Preprocessor, DVPP or the app's cv2.resize does), converted to RGB and normalised."""
    reci = 1.0 / spec.norm_std
    if device is not None and device.input_format == RGB888:
        # OpenCV's frames are packed B,G,R: the swap makes them R,G,B before the per-channel normalisation
        return AippConfig(src_image_size_w=spec.width, src_image_size_h=spec.height, related_input_rank=0,
                          input_format=RGB888, csc_switch=False, rbuv_swap_switch=True,
                          min_chn=(spec.norm_mean,) * 3, var_reci_chn=(reci,) * 3)
    if spec.camera_format not in RBUV_SWAP:
        raise AippError(f"camera format {spec.camera_format!r} is not YUV420SP; use one of {', '.join(RBUV_SWAP)}")
    if spec.color_matrix not in CSC:
        raise AippError(f"unknown color matrix {spec.color_matrix!r}; use one of {', '.join(CSC)}")
    matrix, bias = CSC[spec.color_matrix]
    return AippConfig(src_image_size_w=spec.width, src_image_size_h=spec.height, related_input_rank=0,
                      rbuv_swap_switch=RBUV_SWAP[spec.camera_format], matrix=matrix, input_bias=bias,
                      min_chn=(spec.norm_mean,) * 3, var_reci_chn=(reci,) * 3)


def trimap_aipp(spec: PipelineSpec) -> AippConfig:
    """M-Net's trimap input (rank 1) as uint8 0 / 1 / 2 at the network size, scaled to 0 / 0.5 / 1."""
    return AippConfig(src_image_size_w=spec.width, src_image_size_h=spec.height, related_input_rank=1,
                      input_format=YUV400, csc_switch=False, var_reci_chn=(TRIMAP_LEVEL, 1.0, 1.0))


def aipp_configs(spec: PipelineSpec, device=None) -> list[AippConfig]:
    """Every ``aipp_op`` block of the spec's network, in input order: the image; M-Net's trimap too."""
    return [aipp_from_spec(spec, device)] + ([trimap_aipp(spec)] if spec.network.second_aipp else [])


def render_configs(configs: list[AippConfig], header: str = "") -> str:
    """Several blocks in one aipp.cfg (the header once, before the first)."""
    return "".join(c.render(header if i == 0 else "") for i, c in enumerate(configs))


def aipp_header(spec: PipelineSpec, device=None) -> str:
    if device is not None and device.input_format == RGB888:
        source = (f"BGR888 {spec.width}x{spec.height} (the OpenCV frame resized by the app) -> RGB (R/B swap)")
    else:
        source = (f"{spec.camera_format} {spec.width}x{spec.height} (the camera frame, resized by the device's scaler: "
                  f"hilens.Preprocessor on the Kit, DVPP's VPC on the CANN boards) -> RGB ({spec.color_matrix})")
    second = (f"Input {spec.trimap_input!r} (rank 1): uint8 0 / 1 / 2 (background / unknown / foreground), "
              f"{YUV400} x {TRIMAP_LEVEL:g} -> 0 / 0.5 / 1." if spec.network.second_aipp else
              f"Input {spec.alpha_input!r} (rank 1) has no AIPP: it stays float32 NCHW.")
    return (f"edgematte AIPP for input {spec.image_input!r} (rank 0), preset {spec.name}.\n"
            f"{source} -> (x - {spec.norm_mean:g}) / {spec.norm_std:g}.\n{second}")


# --- parsing ----------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(#[^\n]*)|([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\"[^\"]*\"|[^\s{}#]+)|([A-Za-z_][A-Za-z0-9_]*)\s*\{|(\}))")


def _value(text: str):
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip('"')


def parse_aipp(text: str) -> list[AippConfig]:
    """Every ``aipp_op`` block of an aipp.cfg, in file order."""
    blocks: list[dict] = []
    current: dict | None = None
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            start = len(text) - len(text[pos:].lstrip())
            line = text.count("\n", 0, start) + 1
            raise AippError(f"AIPP config line {line}: cannot read {text[pos:].strip().splitlines()[0]!r}")
        pos = m.end()
        comment, key, value, opener, closer = m.groups()
        if comment:
            continue
        if opener:
            if opener != "aipp_op" or current is not None:
                raise AippError(f"AIPP config: unexpected block {opener!r}; only top-level aipp_op {{ }} blocks exist")
            current = {}
        elif closer:
            if current is None:
                raise AippError("AIPP config: '}' without an open aipp_op block")
            blocks.append(current)
            current = None
        else:
            if current is None:
                raise AippError(f"AIPP config: {key} outside an aipp_op block")
            if key in current:  # protobuf's text parser rejects a second value for a non-repeated field
                line = text.count("\n", 0, m.start(2)) + 1
                raise AippError(f"AIPP config line {line}: {key} is given twice (a non-repeated field: protobuf, "
                                f"and so omg/atc, reject the file)")
            current[key] = _value(value)
    if current is not None:
        raise AippError("AIPP config: an aipp_op block is not closed")
    return [_config_from_fields(b) for b in blocks]


def _config_from_fields(f: dict) -> AippConfig:
    f = dict(f)
    kwargs: dict = {}
    groups = {"matrix": [f"matrix_r{r}c{c}" for r in range(3) for c in range(3)],
              "input_bias": [f"input_bias_{i}" for i in range(3)], "mean_chn": [f"mean_chn_{i}" for i in range(3)],
              "min_chn": [f"min_chn_{i}" for i in range(3)], "var_reci_chn": [f"var_reci_chn_{i}" for i in range(3)]}
    defaults = AippConfig(0, 0)
    for name, keys in groups.items():
        if any(k in f for k in keys):
            default = getattr(defaults, name)
            flat = [v for row in default for v in row] if name == "matrix" else list(default)
            vals = [f.pop(k, d) for k, d in zip(keys, flat)]
            kwargs[name] = tuple(zip(vals[0::3], vals[1::3], vals[2::3])) if name == "matrix" else tuple(vals)
    if "cpadding_value" in f:
        f["padding_value"] = f.pop("cpadding_value")
    for k in [k for k in f if k.startswith("mean_chn_") or k.startswith("min_chn_") or k.startswith("var_reci_chn_")]:
        if f[k] not in (0, 0.0, 1, 1.0):
            raise AippError(f"AIPP config: {k} (a 4th channel) is set, but the image input has 3 channels")
        f.pop(k)
    known = {fl.name for fl in dataclasses.fields(AippConfig)}
    unknown = sorted(set(f) - known)
    if unknown:
        raise AippError(f"AIPP config: fields edgematte does not emulate: {', '.join(unknown)}")
    if "src_image_size_w" not in f or "src_image_size_h" not in f:
        raise AippError("AIPP config: src_image_size_w and src_image_size_h are required")
    for key, value in f.items():
        want = type(getattr(defaults, key))
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise AippError(f"AIPP config: {key}: {value!r} is not {'an integer' if want is int else 'a ' + {bool: 'boolean', float: 'number', str: 'name'}[want]}")
    return AippConfig(**{**f, **kwargs})


# --- validation -------------------------------------------------------------------------------------
def aipp_problems(cfg: AippConfig, spec: PipelineSpec | None = None) -> list[str]:
    """What Ascend 310 (or the network) would reject in ``cfg``."""
    p = []
    if cfg.aipp_mode != "static":
        p.append(f"aipp_mode {cfg.aipp_mode!r}: only static AIPP is emitted and emulated")
    yuv = cfg.input_format == YUV420SP
    if cfg.input_format not in BYTES_PER_PIXEL:
        p.append(f"input_format {cfg.input_format}: edgematte's apps feed {' or '.join(BYTES_PER_PIXEL)}")
    if cfg.resize:
        p.append("resize: true is rejected on Ascend 310 (resize with hilens.Preprocessor or DVPP)")
    if cfg.src_image_size_w <= 0 or cfg.src_image_size_h <= 0:
        p.append("src_image_size_w/h must be > 0")
    if yuv and (cfg.src_image_size_w % 2 or cfg.src_image_size_h % 2):
        p.append(f"src_image_size {cfg.src_image_size_w}x{cfg.src_image_size_h} must be even for YUV420SP")
    if cfg.crop:
        if yuv and (cfg.load_start_pos_w % 2 or cfg.load_start_pos_h % 2):
            p.append("load_start_pos_w/h must be even for YUV420SP")
        if yuv and (cfg.crop_size_w % 2 or cfg.crop_size_h % 2):
            p.append("crop_size_w/h must be even")
        if (cfg.load_start_pos_w + cfg.crop_size_w > cfg.src_image_size_w
                or cfg.load_start_pos_h + cfg.crop_size_h > cfg.src_image_size_h):
            p.append("the crop window goes outside the source image")
    if yuv and not cfg.csc_switch:
        p.append("csc_switch is false: the network would receive YUV, not RGB")
    if cfg.input_format == RGB888 and cfg.csc_switch:
        p.append("csc_switch is true on RGB888_U8 input: the network would receive YUV, not RGB")
    if cfg.input_format == YUV400 and cfg.csc_switch:
        p.append("YUV400_U8 with csc_switch: true is rejected by the AIPP compiler")
    if any(not 0 <= m <= 255 for m in cfg.mean_chn):
        p.append("mean_chn_* must be in 0..255 for U8 input")
    if spec is not None:
        names = spec.input_names
        channels = (3, 1)  # image, then the 1-channel second input (M-Net's trimap takes YUV400)
        rank = cfg.related_input_rank
        if not 0 <= rank < len(names) or (rank == 1 and not spec.network.second_aipp):
            p.append(f"related_input_rank {rank}: the image is input 0"
                     + (f", the {names[1]} input 1" if spec.network.second_aipp else ""))
        elif CHANNELS.get(cfg.input_format, channels[rank]) != channels[rank]:
            p.append(f"input_format {cfg.input_format} gives {CHANNELS[cfg.input_format]} channels; input {rank} "
                     f"({names[rank]}) has {channels[rank]}")
        if cfg.output_size != (spec.width, spec.height):
            p.append(f"AIPP output {cfg.output_size[0]}x{cfg.output_size[1]} != network input {spec.width}x{spec.height}")
    return p


# --- emulation --------------------------------------------------------------------------------------
class AippEmulator:
    """Applies an :class:`AippConfig` to a YUV420SP or RGB888 buffer exactly as the chip's pipeline is specified.

    ``fp16=True`` rounds the normalised output to float16, as AIPP hands the network FP16 data.
    """

    def __init__(self, cfg: AippConfig, fp16: bool = False):
        problems = aipp_problems(cfg)
        if problems:
            raise AippError("cannot emulate this AIPP config: " + "; ".join(problems))
        self.cfg = cfg
        self.fp16 = fp16

    def planes(self, buf: np.ndarray) -> np.ndarray:
        """YUV420SP bytes -> H×W×3 int32 (Y, U, V) after the swap switch, chroma repeated per 2×2 block."""
        c = self.cfg
        w, h = c.src_image_size_w, c.src_image_size_h
        buf = np.asarray(buf, dtype=np.uint8)
        if buf.size != w * h * 3 // 2:
            raise AippError(f"input has {buf.size} bytes; a {w}x{h} YUV420SP frame has {w * h * 3 // 2}")
        flat = buf.reshape(-1)
        y = flat[:w * h].reshape(h, w)
        uv = flat[w * h:].reshape(h // 2, w // 2, 2)
        if c.rbuv_swap_switch:
            uv = uv[..., ::-1]
        uv = uv.repeat(2, axis=0).repeat(2, axis=1)
        return np.concatenate([y[..., None], uv], axis=2).astype(np.int32)

    def packed(self, buf: np.ndarray) -> np.ndarray:
        """RGB888 bytes -> H×W×3 uint8 after the swap switch (R and B exchanged); YUV400 -> H×W×1."""
        c = self.cfg
        w, h = c.src_image_size_w, c.src_image_size_h
        buf = np.asarray(buf, dtype=np.uint8)
        if buf.size != c.input_bytes:
            raise AippError(f"input has {buf.size} bytes; a {w}x{h} {c.input_format.removesuffix('_U8')} frame has "
                           f"{c.input_bytes}")
        pixels = buf.reshape(h, w, CHANNELS[c.input_format])
        return pixels[..., ::-1] if c.rbuv_swap_switch else pixels

    def csc(self, buf: np.ndarray) -> np.ndarray:
        """Swap, crop and colour conversion: H×W×3 uint8 in the matrix's output order (RGB here); H×W×1 for
        YUV400 (no conversion)."""
        c = self.cfg
        if c.input_format in (RGB888, YUV400):
            rgb = self.packed(buf)
            if c.crop:
                rgb = rgb[c.load_start_pos_h:c.load_start_pos_h + c.crop_size_h,
                          c.load_start_pos_w:c.load_start_pos_w + c.crop_size_w]
            return np.ascontiguousarray(rgb)
        yuv = self.planes(buf)
        if c.crop:
            yuv = yuv[c.load_start_pos_h:c.load_start_pos_h + c.crop_size_h,
                      c.load_start_pos_w:c.load_start_pos_w + c.crop_size_w]
        d = yuv - np.asarray(c.input_bias, np.int32)
        out = np.right_shift(d @ np.asarray(c.matrix, np.int32).T, 8)  # arithmetic shift: floor
        return np.clip(out, 0, 255).astype(np.uint8)

    def __call__(self, buf: np.ndarray) -> np.ndarray:
        """One input frame's bytes -> the network input, 1×C×H×W float32 (C: 3, or 1 for YUV400)."""
        c = self.cfg
        x = self.csc(buf).astype(np.float32)
        n = x.shape[2]
        x = (x - np.asarray(c.mean_chn[:n], np.float32) - np.asarray(c.min_chn[:n], np.float32)) * \
            np.asarray(c.var_reci_chn[:n], np.float32)
        if self.fp16:
            x = x.astype(np.float16).astype(np.float32)
        if c.padding:
            x = np.pad(x, ((c.top_padding_size, c.bottom_padding_size), (c.left_padding_size, c.right_padding_size),
                           (0, 0)), constant_values=c.padding_value)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def rgb_to_yuv420sp(rgb: np.ndarray, camera_format: str = "NV21") -> np.ndarray:
    """An RGB picture (even H, W) as the camera would deliver it: (H·3/2)×W uint8 NV21 or NV12 (the apps' own
    conversion, :func:`edgematte.pictures.bgr_to_nv21`; NV12 has U before V)."""
    from edgematte.pictures import bgr_to_nv21, chroma_swapped

    nv21 = bgr_to_nv21(np.ascontiguousarray(rgb[..., ::-1]))
    return nv21 if camera_format == "NV21" else chroma_swapped(nv21)


def frame_bytes(rgb: np.ndarray, input_format: str, camera_format: str = "NV21") -> np.ndarray:
    """An H×W×3 uint8 RGB picture as the raw bytes an app hands an AIPP input of ``input_format`` (1-D uint8):
    the camera's YUV420SP (``camera_format`` NV21 or NV12) or OpenCV's packed B,G,R."""
    if input_format == YUV420SP:
        return rgb_to_yuv420sp(np.ascontiguousarray(rgb), camera_format).reshape(-1)
    if input_format == RGB888:
        return np.ascontiguousarray(rgb[..., ::-1]).reshape(-1)
    raise AippError(f"input_format {input_format}: edgematte's apps feed {YUV420SP} or {RGB888} frames")
