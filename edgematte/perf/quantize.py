"""INT8 static quantization of the two-input ONNX with onnxruntime, calibrated on sample-clip frames.

Calibration feeds what the loop feeds: frames of the sample clip at the model size, each with the
previous frame's FP32 alpha (a rollout), so the prev_alpha input sees realistic values too.
"""

from __future__ import annotations

import tempfile
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
QUANTIZED_OPS = ["Conv", "Relu", "Clip"]  # the MACs, and the activations ORT fuses into QLinearConv;
# norms, resizes and the IBNorm halves stay FP32 (Conv alone: 67 ms; with the activations: 63.5 ms)


def quantize_int8(fp32_path: str | Path, out_path: str | Path, feeds: list[dict]) -> Path:
    """QDQ INT8 convolutions and their activations (per-channel int8 weights, uint8 activations) of ``fp32_path`` (opset 11,
    converted to 13 for per-channel scales), written to ``out_path``. For the CPU stand-in only: the
    device compilers take the FP32 model."""
    import logging

    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        upgraded, prepared = Path(tmp) / "opset13.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(fp32_path)), QUANT_OPSET), str(upgraded))
        quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        root = logging.getLogger()
        level, root.level = root.level, logging.ERROR  # the quantizer warns per tensor it leaves alone
        try:
            quantize_static(str(prepared), str(out_path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=QUANTIZED_OPS)
        finally:
            root.setLevel(level)
    return Path(out_path)
