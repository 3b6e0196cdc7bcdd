"""``edgematte bench``: model latency (edgematte's graph, MODNet's original-style export, INT8), timed
alternately in one run, and the per-stage latency of the bundle's skill running on the stand-in on 720p frames.

Medians and p90/p99 over warmed-up runs. Timing does not depend on weight values, so without a
checkpoint the embedded default is timed (accuracy numbers then describe an untrained network).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgematte.bench.loop import time_skill_loop
from edgematte.bench.stats import LatencyStats
from edgematte.quantize.accuracy import alpha_error

SCHEMA_ID = "edgematte.bench/3"  # 2: the loop is the bundle's skill on the stand-in, with the skill's stage names;
# 3: host_cpu, each app's own host work per camera frame
# Ascend 310 FP16 peak, 8 TFLOPS (ascend-hilens-facts.md §6): a lower bound on inference time, not a measurement.
ASCEND310_FP16_FLOPS = 8e12
RUNTIMES = ("onnxruntime", "onnxruntime-int8", "torch")
REFINER_VARIANT = "refiner-mnet-fp32"


@dataclass
class Variant:
    name: str
    runner: object
    feed: Callable[[dict], dict]      # the golden-style feed -> this variant's inputs
    two_inputs: bool = True


def _ort(path, threads):
    from edgematte.runtime.ort import OrtRunner

    return OrtRunner(path, threads=threads)


class _Renamed:
    """Gives the original-style export (input/output) our runner contract."""

    def __init__(self, runner, output: str):
        self.runner, self.output = runner, output

    def infer(self, feed):
        return {self.output: self.runner.infer(feed)["output"]}


def _time_alternating(variants: list[Variant], feed: dict, frames: int, warmup: int, log) -> dict[str, list[float]]:
    for v in variants:
        for _ in range(warmup):
            v.runner.infer(v.feed(feed))
    samples = {v.name: [] for v in variants}
    for i in range(frames):
        for v in variants:
            inputs = v.feed(feed)
            t = time.perf_counter()
            v.runner.infer(inputs)
            samples[v.name].append(1000 * (time.perf_counter() - t))
        if (i + 1) % 10 == 0:
            log(f"model timing: {i + 1}/{frames} rounds")
    return samples


def run_bench(bundle, weights, *, runtime: str = "onnxruntime", threads: int | None = None, frames: int = 50,
              warmup: int = 5, loop_frames: int | None = None, clip: Path | None = None, fp16: bool = False,
              int8_max_error: float | None = None, refiner_weights=None, device: str | None = None,
              log: Callable[[str], None] = lambda _: None) -> dict:
    """The whole benchmark; returns the report (schema :data:`SCHEMA_ID`, see docs/performance.md). A bundle
    with a refiner also has its M-Net timed (``refiner_weights``: for its MACs) in the same alternation."""
    import math

    import torch

    from edgematte import __version__
    from edgematte.bench.baseline import export_original_style
    from edgematte.bench.cost import count_macs, machine
    from edgematte.bench.fp16 import fp16_simulation
    from edgematte.bundle import tool_versions
    from edgematte.quantize.int8 import write_int8
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.sample import SAMPLE_FPS, write_sample_clip

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    spec, onnx_path = bundle.spec, bundle.path("onnx")
    model = weights.model.eval()
    threads = threads or machine()["cores"]
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        log("exporting the original-style baseline (one 3-channel input, upstream forward)")
        original = tmp / "original-style.onnx"
        original.write_bytes(export_original_style(model, spec.width, spec.height))
        ours = _ort(onnx_path, threads)
        int8_record = write_int8(onnx_path, tmp / "int8.onnx", spec, int8_max_error, threads, log)
        int8 = _ort(tmp / "int8.onnx", threads)
        variants = [Variant("edgematte-fp32", ours, lambda f: f),
                    Variant("original-fp32", _Renamed(_ort(original, threads), spec.alpha_output),
                            lambda f: {"input": f[spec.image_input]}, two_inputs=False),
                    Variant("edgematte-int8", int8, lambda f: f)]
        if runtime == "torch":
            variants.append(Variant("edgematte-torch", TorchRunner(model, spec), lambda f: f))
        from edgematte.verification.golden import GoldenSet, portrait_rgb

        refiner = bundle.refiner
        if refiner is not None:
            refiner_feed = GoldenSet.load(refiner.path("golden"), refiner.spec).feed(refiner.spec, "portrait")
            variants.append(Variant(REFINER_VARIANT, _ort(refiner.path("onnx"), threads), lambda _: refiner_feed))

        feed = {spec.image_input: spec.normalize_rgb(portrait_rgb(spec.width, spec.height)),
                spec.alpha_input: np.zeros(spec.alpha_shape, np.float32)}
        samples = _time_alternating(variants, feed, frames, warmup, log)
        macs = count_macs(model, spec.image_shape, spec.alpha_shape)
        report_variants = []
        for v in variants:
            if v.name == REFINER_VARIANT:
                continue
            stats = LatencyStats.of(samples[v.name])
            entry = {"name": v.name, "infer_ms": stats.to_dict(),
                     "gflops_per_s": round(2 * macs / (stats.p50 / 1000) / 1e9, 2)}
            if v.name == "edgematte-int8":
                entry["alpha_vs_fp32"] = int8_record["alpha_vs_fp32"]
                if "mixed_precision" in int8_record:
                    entry["mixed_precision"] = int8_record["mixed_precision"]
            elif v.two_inputs and v.name != "edgematte-fp32":
                entry["alpha_vs_fp32"] = alpha_error(ours, v.runner, spec)
            report_variants.append(entry)
        p50 = {v["name"]: v["infer_ms"]["p50"] for v in report_variants}
        loop_runner = {"onnxruntime": ours, "onnxruntime-int8": int8}.get(runtime) or variants[-1].runner
        loop_frames = loop_frames or frames
        if clip is None:
            log("writing the sample clip for the loop")
            clip = write_sample_clip(tmp / "sample.mp4", seconds=math.ceil((warmup + loop_frames + 1) / SAMPLE_FPS),
                                     width=spec.camera_width, height=spec.camera_height, tone_hz=None)
        log(f"timing the skill's loop on {spec.camera_width}x{spec.camera_height} frames ({runtime})")
        loop = time_skill_loop(bundle, loop_runner, Path(clip), loop_frames, warmup, tmp, log)
    bound_ms = 2 * macs / ASCEND310_FP16_FLOPS * 1000
    from edgematte.bench.host import host_cpu

    log("timing each app's own host work per camera frame (one thread, CPU time)")
    extra = {"host_cpu": host_cpu(spec, frames=min(frames, 20), warmup=min(warmup, 3), log=log)}
    if refiner is not None:
        extra["refiner"] = _refiner_report(refiner.spec, refiner_weights.model, LatencyStats.of(samples[REFINER_VARIANT]),
                                           loop.get("refiner"), bound_ms)
    if device is not None:
        import onnx

        from edgematte.bench.device import device_report
        from edgematte.devices import DEVICES

        from edgematte.bench.board import family_route, predict_loop

        family = DEVICES[device]
        log(f"predicting inference on {family.title} with the device cost model")
        extra["device_model"] = device_report(onnx.load(str(onnx_path)), spec, family)
        npu_ms = next(r["fp16"]["infer_ms"] for r in extra["device_model"]["routes"] if r["route"] == family_route(family))
        extra["device_model"]["loop"] = predict_loop(family, extra["host_cpu"], npu_ms)
        if refiner is not None:
            extra["device_model"]["refiner"] = device_report(onnx.load(str(refiner.path("onnx"))), refiner.spec,
                                                             DEVICES[device])
    if fp16:
        log("simulating the device's FP16 arithmetic (half-precision PyTorch)")
        extra["fp16_simulation"] = fp16_simulation(model, spec)
    return {
        "schema": SCHEMA_ID,
        "edgematte": __version__,
        "machine": {**machine(), "threads": threads},
        "versions": tool_versions(),
        "model": {"preset": spec.name, "width": spec.width, "height": spec.height,
                  "parameters": int(sum(p.numel() for p in model.parameters())), "macs": macs,
                  "weights": weights.describe()["source"], "trained": bool(weights.trained)},
        "settings": {"runtime": runtime, "frames": frames, "warmup": warmup, "loop_frames": loop_frames},
        "variants": report_variants,
        "ratios": {"original_over_edgematte_fp32": round(p50["original-fp32"] / p50["edgematte-fp32"], 3),
                   "original_over_edgematte_int8": round(p50["original-fp32"] / p50["edgematte-int8"], 3)},
        "camera_rounding_floor": int8_record["camera_rounding_floor"],
        "device_bound": {"device": "Ascend 310", "fp16_peak_flops": ASCEND310_FP16_FLOPS,
                         "min_infer_ms": round(bound_ms, 3),
                         "note": "2*MACs / FP16 peak: a lower bound from the datasheet, not a measurement"},
        "loop": loop,
        **extra,
    }


def _refiner_report(spec, model, stats: LatencyStats, loop: dict | None, modnet_bound_ms: float) -> dict:
    """M-Net's own numbers, and what it adds per frame: its time times how often the loop ran it."""
    from edgematte.bench.cost import count_macs

    macs = count_macs(model, spec.image_shape, spec.alpha_shape)
    bound = 2 * macs / ASCEND310_FP16_FLOPS * 1000
    runs = loop["runs_per_frame"] if loop else None
    return {"network": spec.model, "width": model.width, "size": [spec.width, spec.height],
            "parameters": int(sum(p.numel() for p in model.parameters())), "macs": macs,
            "infer_ms": stats.to_dict(), "runs_per_frame": runs,
            "cpu_ms_per_frame": round(stats.p50 * runs, 3) if runs is not None else None,
            "device_bound": {"min_infer_ms": round(bound, 3), "over_modnet": round(bound / modnet_bound_ms, 3),
                             "min_ms_per_frame": round(bound * runs, 3) if runs is not None else None,
                             "note": "2*MACs / FP16 peak, times the loop's runs per frame: a lower bound"}}
