"""The pipeline spec: the one place where sizes, tensor names and normalisation are written.

The exporter, the verification, the AIPP writer and emulator, the omg/atc commands, the skill and
bench all read a :class:`PipelineSpec`; none of them types 512, 288 or 127.5 again.
Presets are named ``<target>-<width>x<height>``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from edgematte.errors import SpecError, lookup
from edgematte.networks import DEFAULT_NETWORK, Network, network

# Every MODNet resize chain ends at 1/32 of the input (the backbone's last stride); a size that is not a
# multiple of it fails at a concat deep inside the network.
SIZE_MULTIPLE = 32
# AIPP takes images of at most 4096 per side (CANN's AIPP configuration template: src_image_size_w in
# [2, 4096], src_image_size_h in [1, 4096]); no route can feed a larger network from a camera.
MAX_SIDE = 4096



@dataclass(frozen=True)
class PipelineSpec:
    """What the deployed pipeline looks like, end to end.

    Attributes:
        name: preset name, ``<target>-<width>x<height>``.
        target: what the preset is named for (``hilens``: the HiLens Kit's camera). The device family, its
            compiler and ``--soc_version`` come from the export route (export/routes.py, devices.py).
        width, height: the network input size in pixels (multiples of 32).
        camera_width, camera_height: the camera frame the skill reads (the Kit's camera is 720p).
        camera_format: the camera's pixel format (``NV21`` on the Kit, ``NV12`` on some IPCs).
        color_matrix: the YUV -> RGB conversion the camera's frames need (``bt601-narrow``, as OpenCV's
            ``COLOR_YUV2RGB_NV21`` and the HiLens templates use; ``bt709-narrow``; ``jpeg`` full range).
        norm_mean, norm_std: ``image = (rgb_u8 - norm_mean) / norm_std`` per channel, giving [-1, 1].
        model: the network (a record of :mod:`edgematte.networks`): ``modnet4`` (RGB + the previous frame's
            alpha; the matting network) or ``mnet`` (RGB + a trimap; SHM's M-Net, the refiner of the uncertain
            band).
        image_input, alpha_input, trimap_input, alpha_output: graph tensor names (``alpha_input`` is
            MODNet's second input, ``trimap_input`` M-Net's).
        opset: ONNX opset (11: the widest atc support).
        rollout_frames: frames in the verification rollout (each alpha fed back as the next input).
        seed: seed for the embedded default weights and the verification inputs.
    """

    name: str
    target: str
    width: int
    height: int
    camera_width: int = 1280
    camera_height: int = 720
    camera_format: str = "NV21"
    color_matrix: str = "bt601-narrow"
    norm_mean: float = 127.5
    norm_std: float = 127.5
    image_input: str = "image"
    alpha_input: str = "prev_alpha"
    alpha_output: str = "alpha"
    model: str = DEFAULT_NETWORK
    trimap_input: str = "trimap"
    opset: int = 11
    rollout_frames: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        check_size(self.width, self.height)
        network(self.model)

    @property
    def network(self) -> Network:
        """The network's record (:mod:`edgematte.networks`)."""
        return network(self.model)

    @property
    def second_input(self) -> str:
        """The name of the 1×1×H×W input beside the image: the previous alpha (MODNet) or the trimap (M-Net)."""
        return self.network.spec_input(self)

    @property
    def input_names(self) -> tuple[str, str]:
        return (self.image_input, self.second_input)

    # --- shapes -------------------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, int, int, int]:
        return (1, 3, self.height, self.width)

    @property
    def alpha_shape(self) -> tuple[int, int, int, int]:
        return (1, 1, self.height, self.width)

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {self.image_input: self.image_shape, self.second_input: self.alpha_shape}

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        return {self.alpha_output: self.alpha_shape}

    # --- normalisation ------------------------------------------------------------------------
    def normalize_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """Turn an H×W×3 uint8 RGB picture of the model size into the ``image`` tensor (1×3×H×W, float32)."""
        if rgb.shape != (self.height, self.width, 3):
            raise ValueError(f"expected an RGB picture of {self.height}x{self.width}x3, got {rgb.shape}")
        x = (rgb.astype(np.float32) - np.float32(self.norm_mean)) / np.float32(self.norm_std)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    # --- variants and serialisation -----------------------------------------------------------
    def for_model(self, model: str) -> "PipelineSpec":
        """The same pipeline for another network (:mod:`edgematte.networks`)."""
        network(model)
        return dataclasses.replace(self, model=model)

    def with_size(self, width: int, height: int) -> "PipelineSpec":
        """The same pipeline at another network size (named ``<target>-<W>x<H>``)."""
        check_size(width, height)
        return dataclasses.replace(self, name=f"{self.target}-{width}x{height}", width=width, height=height)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"the spec has fields this edgematte does not know: {', '.join(unknown)}; "
                            "upgrade edgematte or re-export the bundle")
        return cls(**data)


def check_size(width: int, height: int) -> None:
    """Raise :class:`SpecError` unless width and height are positive multiples of 32."""
    big = [f"{label} {v}" for label, v in (("width", width), ("height", height)) if v > MAX_SIDE]
    if big:
        raise SpecError(f"{' and '.join(big)} is above {MAX_SIDE}, the largest image AIPP takes; use a smaller size")
    bad = [f"{label} {v}" for label, v in (("width", width), ("height", height))
           if v <= 0 or v % SIZE_MULTIPLE]
    if bad:
        def near(v: int) -> int:
            return max(SIZE_MULTIPLE, round(v / SIZE_MULTIPLE) * SIZE_MULTIPLE)
        raise SpecError(f"{' and '.join(bad)} not a multiple of {SIZE_MULTIPLE} (MODNet downsamples 32x); "
                        f"use a size such as {near(width)}x{near(height)}")


def _preset(target: str, width: int, height: int) -> PipelineSpec:
    return PipelineSpec(name=f"{target}-{width}x{height}", target=target, width=width, height=height)


PRESETS: dict[str, PipelineSpec] = {p.name: p for p in (
    # The Kit's camera is 16:9 720p: 512x288 keeps the whole frame and costs what 384x384 costs.
    _preset("hilens", 512, 288),
    # The square crop the original HiLens demo used.
    _preset("hilens", 384, 384),
    _preset("hilens", 512, 512),
)}
DEFAULT_PRESET = "hilens-512x288"


def get_preset(name: str) -> PipelineSpec:
    """The preset called ``name``; an unknown name gets the nearest valid one suggested."""
    return lookup(PRESETS, name, "preset")


def parse_size(text: str) -> tuple[int, int]:
    """``"512x288"`` -> (512, 288), i.e. width × height."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise SpecError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 512x288")
    width, height = int(m.group(1)), int(m.group(2))
    check_size(width, height)
    return width, height


def resolve_spec(preset: str = DEFAULT_PRESET, size: str | None = None, model: str = DEFAULT_NETWORK) -> PipelineSpec:
    """The spec for a preset name, optionally at another size (``--size WxH``; default: the network's own size,
    else the preset's) and for another network."""
    spec = get_preset(preset)
    size = size or network(model).default_size
    if size is not None:
        spec = spec.with_size(*parse_size(size))
    return spec.for_model(model) if model != spec.model else spec
