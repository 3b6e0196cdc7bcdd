"""The Python API. The CLI is a thin layer over these functions; every argument is a keyword.

    from edgematte import api
    result = api.export(to="onnx", checkpoint="modnet_webcam_portrait_matting.ckpt", out="out/onnx")
    print(result.manifest.verification["passed"])

Importing this module (and running :func:`verify`) needs no PyTorch: heavy libraries are imported by the
functions that use them. Each function checks what it can before any work and hands the work to the module
that owns it (export/pipeline.py, verification/verify.py, the app records in apps.py, evaluate*.py, bench/,
train/).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Callable

from edgematte.bundle import Bundle
from edgematte.errors import EdgematteError, SpecError, lookup
from edgematte.export.pipeline import ExportResult, Log, check_int8_max_error, load_weights, no_log
from edgematte.export.pipeline import export_bundle as export
from edgematte.networks import DEFAULT_NETWORK
from edgematte.output_files import check_output_file, written_atomically
from edgematte.spec import DEFAULT_PRESET, resolve_spec
from edgematte.verification.verify import VerifyResult, verify_bundle as verify

__all__ = ["ExportResult", "VerifyResult", "export", "verify", "info", "run", "input_frames", "sample_clip", "bench",
           "evaluate", "train", "ablation", "load_weights", "no_log"]

UNTRAINED_WARNING = ("No --checkpoint given: exporting the embedded default network. Its weights are "
                     "untrained (fixed seed): the pipeline works end to end, but the matte means nothing.")


def info(path: str | Path) -> dict:
    """What a checkpoint, an ONNX file or an export folder contains."""
    path = Path(path)
    if path.is_dir():
        m = Bundle.open(path).manifest
        return {"kind": "bundle", "path": str(path), "target": m.target, "via": m.via, "device": m.device,
                "spec": m.spec.to_dict(), "weights": m.weights, "artifacts": m.artifacts,
                "inputs": m.to_dict()["inputs"], "outputs": m.to_dict()["outputs"], "verification": m.passed}
    if not path.exists():
        raise EdgematteError(f"{path} does not exist; give a checkpoint, an .onnx file or an export folder")
    if path.suffix == ".onnx":
        from edgematte.export.onnx import read_spec_metadata

        return {"kind": "onnx", "path": str(path), "spec": read_spec_metadata(path)}
    from edgematte.networks import network_of_checkpoint

    loaded = network_of_checkpoint(path).load(path, 0, None, None)
    params = sum(p.numel() for p in loaded.model.parameters())
    return {"kind": "checkpoint", **loaded.describe(), "parameters_after_load": params}


def run(bundle: str | Path, *, input: str, output: str | Path, background: str = "blur", mode: str = "composite",
        max_frames: int | None = None, rgba_dir: str | Path | None = None, int8: bool = False, force: bool = False,
        preview: int | None = None, pace_npu: float | None = None, on_frame: Callable[[], None] | None = None,
        log: Log | None = None):
    """Run the bundle's own app on a video file (or ``webcam:N``) against its device API's stand-in: the HiLens
    skill on ``hilens`` (what the Kit would show on HDMI: H.264 mp4, the input's fps and audio), or the
    AscendCL app on ``acl`` (its composite video; ``preview``: also served as MJPEG on localhost:PORT).
    ``pace_npu``: each inference of the stand-in's model takes at least this many ms, as a board's NPU would (the
    cost model's prediction, ``bench --device``), so the app's pipeline runs here at that board's pace."""
    from edgematte.apps import bundle_app
    from edgematte.run import RunError, run_bundle

    opened = Bundle.open(bundle)
    app = bundle_app(opened)
    if app is None:
        raise RunError(f"{bundle} has no app to run: run needs a device bundle (edgematte export --to om [--device ...])")
    return run_bundle(opened, app, input, background=background, output=output, mode=mode, max_frames=max_frames,
                      force=force, rgba_dir=rgba_dir, on_frame=on_frame, log=log, int8=int8, preview=preview,
                      pace_npu_ms=pace_npu)


def input_frames(input: str, max_frames: int | None = None) -> int:
    """How many frames ``run`` will show (0 when unknown, e.g. a webcam): for progress bars."""
    from edgematte.run import parse_source, probe_input

    total = probe_input(parse_source(input)).frames
    return min(total, max_frames) if total and max_frames else (total or max_frames or 0)


def sample_clip(path: str | Path, *, seconds: float = 5.0, audio: bool = True, force: bool = False) -> Path:
    """Write the sample clip (the astronaut moving over a texture, 1280x720, 25 fps, a 440 Hz tone)."""
    from edgematte.sample import MAX_SECONDS, write_sample_clip

    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and 0.2 <= seconds <= MAX_SECONDS):
        raise SpecError(f"--seconds {seconds} is not a clip length: give 0.2 to {MAX_SECONDS:g} seconds")
    path = check_output_file(Path(path), force, suffixes=(".mp4",), what="clip")
    with written_atomically(path) as tmp:
        write_sample_clip(tmp, seconds, tone_hz=440.0 if audio else None)
    return path


def bench(bundle: str | Path | None = None, *, checkpoint: str | Path | None = None, preset: str = DEFAULT_PRESET,
          size: str | None = None, runtime: str = "onnxruntime", threads: int | None = None, frames: int = 50,
          warmup: int = 5, loop_frames: int | None = None, clip: str | Path | None = None, fp16: bool = False,
          int8_max_error: float | None = None, json_path: str | Path | None = None, plot_path: str | Path | None = None,
          force: bool = False, refiner: str | None = None, refiner_width: float | None = None,
          refiner_size: str | None = None, device: str | None = None, log: Log = no_log) -> dict:
    """Benchmark a bundle whose app's record says its loop is timed (the HiLens skill), or a fresh ``--to om``
    export of ``checkpoint``/the default at ``preset``: see :mod:`edgematte.bench.report` and docs/performance.md for the report.
    ``int8_max_error``: time the mixed-precision INT8 model planned for that alpha-error budget.
    ``json_path``/``plot_path``: also write the report there (not over an existing file without ``force``).
    ``refiner``: the fresh export carries M-Net (``refiner_width``, ``refiner_size``); a bundle's own refiner is
    timed anyway.
    ``device``: a device family (devices.py) whose chip the cost model (costmodel.py) predicts, per route.
    Nothing outside the bundle is read: the torch variants run ``checkpoint``, or the embedded default (the
    timing does not depend on the weights' values)."""
    from edgematte.apps import APPS, bundle_app
    from edgematte.bench.report import RUNTIMES, run_bench
    from edgematte.devices import DEVICES, families_running
    from edgematte.export.routes import find_route

    outputs = _report_outputs(force, json_path=(json_path, (".json",)), plot_path=(plot_path, (".png",)))
    check_int8_max_error(int8_max_error)
    if runtime not in RUNTIMES:
        raise SpecError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    if device is not None:
        lookup(DEVICES, device, "device family")
    if clip is not None and not Path(clip).is_file():
        raise EdgematteError(f"clip {clip} does not exist")
    with tempfile.TemporaryDirectory(prefix="edgematte-bench-") as tmp:
        if bundle is None:
            family = families_running(next(a.name for a in APPS.values() if a.benched))[0]
            route = find_route("om", device=family.name)
            log(f"exporting a --to {route.name} bundle to time")
            bundle = export(to=route.to, via=route.via, checkpoint=checkpoint, preset=preset, size=size,
                            refiner=refiner, refiner_width=refiner_width, refiner_size=refiner_size,
                            out=Path(tmp) / "bundle").out
        elif refiner is not None or refiner_width is not None or refiner_size is not None:
            raise SpecError("--refiner, --refiner-width and --refiner-size shape a fresh export; a BUNDLE's refiner "
                            "(if it has one) is timed as it is")
        opened = Bundle.open(bundle)
        app = bundle_app(opened)
        if app is None or not app.benched:
            timed = " or ".join(a.title for a in APPS.values() if a.benched)
            raise SpecError(f"bench times the loop of {timed} on its stand-in; {bundle} holds "
                            f"{app.title + ' (its loop is not timed yet)' if app else 'no app'}: give a "
                            f"{families_running(next(a.name for a in APPS.values() if a.benched))[0].name} bundle, "
                            f"or none to time a fresh export")
        opened.require("onnx", "aipp", app.role, why="bench times the bundle's app on the stand-in")
        weights = load_weights(checkpoint, opened.spec)
        refiner_weights = None
        if opened.refiner is not None:  # its embedded default at the width recorded: the cost is the same
            refiner_weights = load_weights(None, opened.refiner.spec, width=opened.refiner.manifest.weights.get("width"))
        report = run_bench(opened, weights, runtime=runtime, threads=threads, frames=frames, warmup=warmup,
                           loop_frames=loop_frames, clip=Path(clip) if clip else None, fp16=fp16,
                           int8_max_error=int8_max_error, refiner_weights=refiner_weights, device=device, log=log)
    if "json_path" in outputs:
        with written_atomically(outputs["json_path"]) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
    if "plot_path" in outputs:
        from edgematte.bench.plot import plot_report

        with written_atomically(outputs["plot_path"]) as tmp:
            plot_report(report, tmp)
    return report


def _report_outputs(force: bool, **wanted) -> dict[str, Path]:
    """The report files asked for (name -> (path or None, allowed suffixes)), each checked before any work."""
    return {name: check_output_file(Path(path), force, suffixes=suffixes, what=f"--{name.split('_')[0]}")
            for name, (path, suffixes) in wanted.items() if path is not None}


def evaluate(*, pred: str | Path | None = None, gt: str | Path | None = None, bundle: str | Path | None = None,
             checkpoint: str | Path | None = None, data: str | Path | None = None, preset: str = DEFAULT_PRESET,
             size: str | None = None, trimap: str | Path | None = None, json_path: str | Path | None = None,
             csv_path: str | Path | None = None, plot_path: str | Path | None = None, force: bool = False,
             refiner: str | None = None, refiner_checkpoint: str | Path | None = None, refiner_size: str | None = None,
             refiner_width: float | None = None, reset_rules: bool = False, log: Log = no_log):
    """Score predictions on disk (``pred`` vs ``gt``; with ``trimap`` also the trimap protocol), or run a model
    (``bundle`` through the stand-in, or ``checkpoint`` in PyTorch) over ``data`` beside the temporal
    baselines. Returns an EvalReport; ``json_path``/``csv_path``/``plot_path`` also write it (not over an
    existing file without ``force``).

    ``refiner="mnet"``: compare MODNet alone with MODNet + M-Net under the trimap protocol instead
    (:mod:`edgematte.evaluate_refiner`): the bundle's two networks, or ``checkpoint`` and ``refiner_checkpoint``
    (default: the embedded M-Net at ``refiner_width``) in PyTorch, over ``data``; ``trimap``: given trimaps.
    ``reset_rules``: a model run feeds its alpha back through the apps' reset rules, as the deployed app does."""
    if reset_rules and (refiner is not None or pred is not None):
        raise SpecError("--reset-rules applies to a model's own run (--bundle or --checkpoint with --data)")
    if refiner is not None and (csv_path is not None or plot_path is not None):
        raise SpecError(f"the refiner comparison writes --json only; leave out "
                        f"{' and '.join(f for f, v in (('--csv', csv_path), ('--plot', plot_path)) if v is not None)}")
    outputs = _report_outputs(force, json_path=(json_path, (".json",)), csv_path=(csv_path, (".csv",)),
                              plot_path=(plot_path, (".png",)))
    if refiner is not None:
        from edgematte.evaluate_refiner import evaluate_with_refiner

        report = evaluate_with_refiner(bundle, checkpoint, data, preset, size, trimap, refiner, refiner_checkpoint,
                                       refiner_size, refiner_width, log)
    else:
        given = [f for f, v in (("--refiner-checkpoint", refiner_checkpoint), ("--refiner-size", refiner_size),
                                ("--refiner-width", refiner_width)) if v is not None]
        if given:
            raise SpecError(f"{', '.join(given)} set the refiner's comparison: add --refiner mnet")
        from edgematte.evaluate import evaluate_any

        report = evaluate_any(pred, gt, bundle, checkpoint, data, preset, size, trimap, log, reset_rules)
    for name, path in outputs.items():
        with written_atomically(path) as tmp:
            report.save(tmp, name.split("_")[0])
    return report


def train(*, data: str | Path, out: str | Path, kind: str = "video", backgrounds: str | Path | None = None,
          init: str | Path | None = None, align_corners: bool = False, preset: str = DEFAULT_PRESET,
          size: str | None = None, iterations: int = 1000, batch_size: int = 8, lr: float = 1e-4,
          optimizer: str | None = None, seed: int = 0, save_every: int = 100, freeze_bn: bool = False,
          model: str = DEFAULT_NETWORK, width: float | None = None, trimaps_from: str | Path | None = None,
          recipe: str | None = None, clip_frames: int | None = None, own_feedback: float | None = None,
          own_ramp: int | None = None, coherence: float | None = None,
          resume: bool = False, force: bool = False, log: Log = no_log, on_step=None):
    """Fine-tune the 4-channel model, or train M-Net (``model="mnet"``: samples of ``size``, default its record's
    size; ``trimaps_from``: a MODNet checkpoint whose alpha makes the trimaps, as on the device; ``recipe``: how
    the previous alpha is trained, default the one the temporal study ships (:mod:`edgematte.train.recipes`);
    ``clip_frames``, ``own_feedback``, ``own_ramp``, ``coherence``: the recipe's clip training changed (None: the
    recipe's, on the model's own feedback, :mod:`edgematte.train.feedback`)
    (see :mod:`edgematte.train.trainer`); returns a TrainResult. ``optimizer``: default adamw (MODNet), adam with
    weight decay 5e-4 (M-Net). ``on_step(step, loss)`` is called after each step (``step`` counts from 1, or
    from the resumed step)."""
    from dataclasses import replace

    from edgematte.train.feedback import OPTIONS as FEEDBACK_OPTIONS
    from edgematte.train.feedback import FeedbackConfig
    from edgematte.train.recipes import BY_NAME, SHIPPED
    from edgematte.train.trainer import TrainConfig
    from edgematte.train.trainer import train as run_training

    if not (math.isfinite(lr) and lr > 0):
        raise SpecError(f"--lr {lr:g} is not a learning rate: give a positive number, e.g. 1e-4")
    spec = resolve_spec(preset, size, model)
    given = {k: v for k, v in dict(frames=clip_frames, own=own_feedback, ramp=own_ramp, coherence=coherence).items()
             if v is not None}
    spec.network.refuse_options(recipe=recipe, **{FEEDBACK_OPTIONS[k]: v for k, v in given.items()})
    chosen = BY_NAME[recipe or SHIPPED]
    cfg = TrainConfig(data=str(data), out=str(out), kind=kind, backgrounds=str(backgrounds) if backgrounds else None,
                      init=str(init) if init else None, align_corners=align_corners, iterations=iterations,
                      batch_size=batch_size, lr=lr, optimizer=optimizer or spec.network.default_optimizer,
                      seed=seed, save_every=save_every, freeze_bn=freeze_bn, model=model, width=width,
                      trimaps_from=str(trimaps_from) if trimaps_from else None,
                      augment=chosen.augment,
                      feedback=replace(chosen.clips if spec.network.feedback else FeedbackConfig(), **given))
    return run_training(cfg, spec, resume=resume, force=force, log=log, on_step=on_step)


def ablation(out: str | Path, *, quick: bool = False, iterations: int | None = None, log: Log = no_log) -> dict:
    """The temporal ablation (docs/temporal.md) run, or resumed, in ``out``; returns its results, as written
    to ``out/results.json`` (see :func:`edgematte.ablation.run_study`). ``quick``: the under-a-minute pipeline
    check; ``iterations``: training steps per run instead of the study's."""
    from edgematte.ablation import run_study

    return run_study(out, quick=quick, iterations=iterations, log=log)
