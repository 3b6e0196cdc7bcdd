"""INT8 static quantization of the two-input ONNX with onnxruntime, calibrated on sample-clip frames, and
an accuracy-budgeted mixed precision that keeps the most sensitive convolutions in FP32.

Calibration feeds what the loop feeds: frames of the sample clip at the model size, each with the
previous frame's FP32 alpha (a rollout), so the prev_alpha input sees realistic values too. The ranges
are computed once per :class:`Int8Quantizer`; every later quantization reuses them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgematte.spec import PipelineSpec


def calibration_feeds(fp32_runner, spec: PipelineSpec, frames: int = 24) -> list[dict]:
    from edgematte.sample import sample_frames

    feeds, prev = [], np.zeros(spec.alpha_shape, np.float32)
    for rgb in sample_frames(spec.camera_width, spec.camera_height, frames):
        image = spec.normalize_rgb(cv2.resize(rgb, (spec.width, spec.height), interpolation=cv2.INTER_AREA))
        feed = {spec.image_input: image, spec.alpha_input: prev}
        feeds.append(feed)
        prev = fp32_runner.infer(feed)[spec.alpha_output]
    return feeds


QUANT_OPSET = 13  # per-channel DequantizeLinear (its ``axis``) needs opset 13
ACTIVATIONS = ("Relu", "Clip")
QUANTIZED_OPS = ["Conv", *ACTIVATIONS]  # the MACs, and the activations ORT fuses into QLinearConv;
# norms, resizes and the IBNorm halves stay FP32 (Conv alone: 67 ms; with the activations: 63.5 ms)


@dataclass(frozen=True)
class QuantUnit:
    """What is kept in FP32 or quantized together: a convolution and the ReLU/ReLU6 applied straight to
    its output (INT8 fuses them into one QLinearConv), or an activation on its own (after IBNorm)."""
    node: str
    activations: tuple[str, ...]
    macs: int

    @property
    def nodes(self) -> list[str]:
        return [self.node, *self.activations]


class Int8Quantizer:
    """QDQ INT8 convolutions and their activations (per-channel int8 weights, uint8 activations) of one
    FP32 ONNX (opset 11, converted to 13 for per-channel scales). Calibrated once on ``feeds``; any
    set of :class:`QuantUnit` can then be kept in FP32. For the CPU stand-in only: the device compilers
    take the FP32 model."""

    def __init__(self, fp32_path: str | Path, feeds: list[dict]):
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization.shape_inference import quant_pre_process

        self.feeds = feeds
        self._tmp = tempfile.TemporaryDirectory(prefix="edgematte-int8-")
        work = Path(self._tmp.name)
        upgraded, self.prepared = work / "opset13.onnx", work / "prepared.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(fp32_path)), QUANT_OPSET), str(upgraded))
        quant_pre_process(str(upgraded), str(self.prepared), skip_symbolic_shape=True)
        self.cache = work / "calibration.json"
        self.units = quant_units(onnx.load(str(self.prepared)))

    def quantize(self, out_path: str | Path, keep_fp32: list[QuantUnit] = (), only: list[QuantUnit] | None = None) -> Path:
        """Write the INT8 model to ``out_path``: every unit quantized but ``keep_fp32``, or, with
        ``only``, just those units (the rest of the graph FP32)."""
        import logging

        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        feeds = self.feeds

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.it = iter(feeds)

            def get_next(self):
                return next(self.it, None)

        root = logging.getLogger()
        level, root.level = root.level, logging.ERROR  # the quantizer warns per tensor it leaves alone
        try:
            quantize_static(str(self.prepared), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=QUANTIZED_OPS, calibration_cache_path=str(self.cache),
                            nodes_to_quantize=None if only is None else [n for u in only for n in u.nodes],
                            nodes_to_exclude=[n for u in keep_fp32 for n in u.nodes])
        finally:
            root.setLevel(level)
        return Path(out_path)

    def close(self) -> None:
        self._tmp.cleanup()


def quant_units(model) -> list[QuantUnit]:
    """The graph's convolutions in order, each with its directly applied activations and its MACs
    (from the static shapes that shape inference recorded), then the activations that follow no
    convolution."""
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*model.graph.value_info, *model.graph.output]}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    units, attached = [], set()
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        acts = tuple(c.name for c in consumers.get(node.output[0], []) if c.op_type in ACTIVATIONS)
        out = shapes.get(node.output[0])
        if not out or not all(out):
            raise ValueError(f"no static shape for {node.output[0]!r}; run onnx shape inference first")
        _, cin_per_group, *kernel = weights[node.input[1]]
        units.append(QuantUnit(node.name, acts, int(np.prod(out)) * cin_per_group * int(np.prod(kernel))))
        attached.update(acts)
    return units + [QuantUnit(n.name, (), 0) for n in model.graph.node
                    if n.op_type in ACTIVATIONS and n.name not in attached]

