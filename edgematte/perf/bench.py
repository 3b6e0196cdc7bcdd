"""``edgematte bench``: model latency (edgematte's graph, MODNet's original-style export, INT8), timed
alternately in one run, and the per-stage latency of the whole stand-in loop on 720p frames.

Medians and p90/p99 over warmed-up runs. Timing does not depend on weight values, so without a
checkpoint the embedded default is timed (accuracy numbers then describe an untrained network).
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgematte.perf.accuracy import alpha_error, fp16_simulation
from edgematte.perf.stats import LatencyStats
from edgematte.spec import PipelineSpec

SCHEMA_ID = "edgematte.bench/1"
# Ascend 310 FP16 peak, 8 TFLOPS (ascend-hilens-facts.md §6): a lower bound on inference time, not a measurement.
ASCEND310_FP16_FLOPS = 8e12
RUNTIMES = ("onnxruntime", "onnxruntime-int8", "torch")
LOOP_STAGES = ("decode", "resize", "aipp", "infer", "composite", "encode")


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


def _skill_module(spec: PipelineSpec, folder: Path):
    """The rendered skill's main.py as a module (its composite code is what the loop times)."""
    from edgematte.skill import write_skill

    roles = write_skill(folder, spec, "modnet4.om")
    mod_spec = importlib.util.spec_from_file_location("edgematte_bench_skill", folder / roles["skill"])
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def _loop(spec: PipelineSpec, runner, clip: Path, frames: int, warmup: int, workdir: Path, log) -> dict:
    import cv2

    from edgematte.aipp import AippEmulator, aipp_from_spec
    from edgematte.standin import load_hilens
    from edgematte.video import H264Writer

    hilens = load_hilens()
    hilens.configure(hilens.StandinSession(source=str(clip), model_dir=workdir))
    skill = _skill_module(spec, workdir)
    pre, aipp = hilens.Preprocessor(), AippEmulator(aipp_from_spec(spec))
    cap = cv2.VideoCapture(str(clip))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    background = skill.Background("blur", w, h)
    encoder = H264Writer(workdir / "loop.mp4", w, h, cap.get(cv2.CAP_PROP_FPS) or 25.0)
    prev = np.zeros(spec.alpha_shape, np.float32)
    samples = {stage: [] for stage in LOOP_STAGES}
    try:
        for i in range(warmup + frames):
            t0 = time.perf_counter()
            ok, bgr = cap.read()
            if not ok:  # loop the clip
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = cap.read()
            frame = hilens.cvt_color(bgr, hilens.BGR2YUV_NV21)
            t1 = time.perf_counter()
            small = pre.resize(frame, spec.width, spec.height, 0)
            t2 = time.perf_counter()
            image = aipp(small)
            t3 = time.perf_counter()
            prev = runner.infer({spec.image_input: image, spec.alpha_input: prev})[spec.alpha_output]
            t4 = time.perf_counter()
            out = skill.blend_nv21(frame, background.frame(frame), prev[0, 0], w, h)
            t5 = time.perf_counter()
            encoder.write(out)
            t6 = time.perf_counter()
            if i >= warmup:
                for stage, a, b in zip(LOOP_STAGES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                    samples[stage].append(1000 * (b - a))
            if (i + 1) % 20 == 0:
                log(f"loop: {i + 1}/{warmup + frames} frames")
    finally:
        encoder.close()
        cap.release()
    stats = {stage: LatencyStats.of(v) for stage, v in samples.items()}
    total = LatencyStats.of(np.sum([samples[s] for s in LOOP_STAGES], axis=0))
    non_infer = sum(stats[s].p50 for s in LOOP_STAGES if s != "infer")
    on_chip = stats["aipp"].p50  # AIPP runs on the chip on the device; here it is emulated on the CPU
    return {"input": {"source": str(clip.name), "width": w, "height": h}, "frames": frames,
            "stages": {k: v.to_dict() for k, v in stats.items()}, "total": total.to_dict(),
            "non_infer_fraction": round(non_infer / total.p50, 4),
            "non_infer_fraction_without_aipp": round((non_infer - on_chip) / (total.p50 - on_chip), 4)}


def run_bench(spec: PipelineSpec, weights, onnx_path: Path | None = None, runtime: str = "onnxruntime",
              threads: int | None = None, frames: int = 50, warmup: int = 5, loop_frames: int | None = None,
              clip: Path | None = None, fp16: bool = False, int8_max_error: float | None = None,
              log: Callable[[str], None] = lambda _: None) -> dict:
    """The whole benchmark; returns the report (schema :data:`SCHEMA_ID`, see docs/performance.md)."""
    import torch

    from edgematte import __version__
    from edgematte.bundle import tool_versions
    from edgematte.export.onnx import OnnxExporter
    from edgematte.perf.baseline import export_original_style
    from edgematte.perf.cost import count_macs, machine
    from edgematte.perf.int8 import write_int8
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.sample import write_sample_clip

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    model = weights.model.eval()
    threads = threads or machine()["cores"]
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if onnx_path is None:
            log("exporting edgematte's ONNX")
            onnx_path = OnnxExporter(spec).export(model, tmp / "modnet4.onnx")
        log("exporting the original-style baseline (one 3-channel input, upstream forward)")
        original = tmp / "original.onnx"
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
        from edgematte.verification.golden import portrait_rgb

        feed = {spec.image_input: spec.normalize_rgb(portrait_rgb(spec.width, spec.height)),
                spec.alpha_input: np.zeros(spec.alpha_shape, np.float32)}
        samples = _time_alternating(variants, feed, frames, warmup, log)
        macs = count_macs(model, spec.image_shape, spec.alpha_shape)
        report_variants = []
        for v in variants:
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
        if clip is None:
            log("writing the sample clip for the loop")
            clip = write_sample_clip(tmp / "sample.mp4", seconds=4, width=spec.camera_width,
                                     height=spec.camera_height, tone_hz=None)
        log(f"timing the whole loop on {spec.camera_width}x{spec.camera_height} frames ({runtime})")
        loop = _loop(spec, loop_runner, Path(clip), loop_frames or frames, warmup, tmp, log)
    bound_ms = 2 * macs / ASCEND310_FP16_FLOPS * 1000
    extra = {}
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
        "settings": {"runtime": runtime, "frames": frames, "warmup": warmup, "loop_frames": loop_frames or frames},
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
