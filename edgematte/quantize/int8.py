"""The INT8 model for the CPU stand-in, as export and bench make it: calibrate, optionally plan mixed
precision against an alpha-error budget, write, and measure it against FP32."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from edgematte.spec import PipelineSpec


def write_int8(fp32_path: Path, out_path: Path, spec: PipelineSpec, max_error: float | None = None,
               threads: int | None = None, log: Callable[[str], None] = lambda _: None) -> dict:
    """Write the INT8 ONNX of ``fp32_path`` to ``out_path`` and return its record: the alpha error against
    FP32, the camera-rounding floor, and with ``max_error`` the mixed-precision plan."""
    from edgematte.quantize.accuracy import AlphaErrorProbe
    from edgematte.quantize.mixed_precision import plan_mixed_precision
    from edgematte.quantize.quantizer import Int8Quantizer, calibration_feeds
    from edgematte.runtime.ort import OrtRunner

    fp32 = OrtRunner(fp32_path, threads=threads)
    feeds = calibration_feeds(fp32, spec)
    log(f"quantizing to INT8 (calibration: {len(feeds)} sample-clip frames)")
    quantizer = Int8Quantizer(fp32_path, feeds)
    probe = AlphaErrorProbe(fp32, spec)  # the plan is held to the error the record reports
    try:
        record = {}
        keep = []
        if max_error is not None:
            total, done = len(quantizer.units), 0
            most = 1 + total + 1 + math.ceil(math.log2(total))

            def progress():
                nonlocal done
                done += 1
                if done % 10 == 0:
                    log(f"mixed precision: {done} models tried (at most {most})")

            log(f"mixed precision: if INT8 misses an alpha error of {max_error:g}, each of {total} convolution/"
                f"activation units is measured alone and the most sensitive are kept in FP32")
            plan = plan_mixed_precision(quantizer, probe, max_error,
                                        lambda p: OrtRunner(p, threads=threads), progress)
            keep, record["mixed_precision"] = plan.keep_fp32, plan.to_dict()
        quantizer.quantize(out_path, keep_fp32=keep)
    finally:
        quantizer.close()
    record["alpha_vs_fp32"] = probe.measure(OrtRunner(out_path, threads=threads))
    record["camera_rounding_floor"] = probe.camera_rounding_floor()
    return record
