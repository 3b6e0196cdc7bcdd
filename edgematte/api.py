"""The Python API. The CLI is a thin layer over these functions; every argument is a keyword.

    from edgematte import api
    result = api.export(to="onnx", checkpoint="modnet_webcam_portrait_matting.ckpt", out="out/onnx")
    print(result.manifest.verification["passed"])

Importing this module (and running :func:`verify`) needs no PyTorch: heavy libraries are imported by the
functions that use them.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.bundle import REFINER_FOLDER, Bundle, BundleWriter, Manifest, export_flags, file_name, tool_versions
from edgematte.devices import DEVICES, SKILL
from edgematte.errors import BundleError, EdgematteError, SpecError, VerificationError, lookup
from edgematte.export.routes import DEFAULT_TARGET, ROUTES, find_route
from edgematte.output_files import check_output_file, written_atomically
from edgematte.spec import DEFAULT_PRESET, MNET, MODNET, PipelineSpec, resolve_spec
from edgematte.verification.compare import CheckResult
from edgematte.verification.tolerance import CEILING, NOISE_FACTOR, check_atol

Log = Callable[[str], None]

UNTRAINED_WARNING = ("No --checkpoint given: exporting the embedded default network. Its weights are "
                     "untrained (fixed seed): the pipeline works end to end, but the matte means nothing.")


def no_log(_: str) -> None:
    pass


@dataclass
class ExportResult:
    out: Path
    manifest: Manifest
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return self.manifest.passed

    def lines(self) -> list[str]:
        """What ``edgematte export`` prints: each check, the INT8 record, what was written, what to do next."""
        from edgematte.quantize.mixed_precision import int8_summary

        m = self.manifest
        lines = [c.line() for c in self.checks] + (int8_summary(m.int8) if m.int8 else [])
        lines.append(f"Wrote {self.out}: " + ", ".join(f"{role}={rel}" for role, rel in m.artifacts.items())
                     + (f"; refiner: {', '.join(m.refiner['artifacts'].values())}" if m.refiner else ""))
        if m.convert and m.convert["ran"]:
            lines.append(f"{m.convert['tool']} ran: {self.out}/{m.artifacts['om']} is ready for the device")
        elif m.convert:
            lines.append(f"Next: run {self.out}/{file_name('convert_script')} where {m.convert['tool']} is "
                         f"installed; {m.convert['note']}")
        else:
            lines.append(f"Next: edgematte verify {self.out}")
        return lines


@dataclass
class VerifyResult:
    folder: Path
    checks: list[CheckResult]
    file_problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.file_problems and bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "passed": self.passed, "file_problems": self.file_problems,
                "checks": [c.to_dict() for c in self.checks]}

    def lines(self) -> list[str]:
        return ([f"FAILED | files        | {p}" for p in self.file_problems] + [c.line() for c in self.checks]
                + [("PASSED" if self.passed else "FAILED") + f" | {self.folder}"])


def default_out(spec: PipelineSpec, to: str) -> Path:
    return Path("out") / f"{'' if spec.model == MODNET else spec.model + '-'}{spec.name}-{to}"


def load_weights(checkpoint: str | Path | None, spec: PipelineSpec, align_corners: bool | None = None,
                 width: float | None = None):
    """The checkpoint's model (MODNet: inflated if it is 3-channel), or the embedded default with ``None``
    (M-Net: at ``width``, default full)."""
    from edgematte.model.checkpoint import default_model, load_checkpoint

    if spec.model == MNET:
        from edgematte.model.mnet_checkpoint import check_width, default_mnet, load_mnet_checkpoint

        if checkpoint is None:
            return default_mnet(spec.seed, 1.0 if width is None else width)
        loaded = load_mnet_checkpoint(checkpoint)
        if width is not None and check_width(width) != loaded.model.width:
            raise SpecError(f"--width {width:g} differs from the checkpoint's width {loaded.model.width:g}; "
                            f"leave --width out (it is read from the file)")
        return loaded
    if width is not None:
        raise SpecError("--width sets M-Net's width; MODNet has one width: use it with --model mnet")
    if checkpoint is None:
        return default_model(spec.seed, align_corners=bool(align_corners))
    return load_checkpoint(checkpoint, align_corners=align_corners)


def check_int8_max_error(value: float | None) -> None:
    if value is not None and not 0 < value < 1:
        raise SpecError(f"--int8-max-error {value:g} is not an alpha error: give a mean abs error between 0 and 1, "
                        f"e.g. 0.005")


def export(*, to: str = DEFAULT_TARGET, via: str | None = None, device: str | None = None,
           model: str = MODNET, width: float | None = None, checkpoint: str | Path | None = None,
           preset: str = DEFAULT_PRESET, size: str | None = None, out: str | Path | None = None,
           force: bool = False, align_corners: bool | None = None, int8: bool = False,
           int8_max_error: float | None = None, atol: float | None = None, refiner: str | None = None,
           refiner_checkpoint: str | Path | None = None, refiner_size: str | None = None,
           refiner_width: float | None = None, log: Log = no_log) -> ExportResult:
    """Export the network for the route ``to`` [``via``] (export/routes.py) and the device family ``device``
    (devices.py; default: the route's first), verify every artifact against PyTorch, and write the bundle.

    ``model``: ``modnet4`` (the matting network) or ``mnet`` (SHM's M-Net on its own; ``width`` 1, 0.5 or
    0.25 for the embedded default; its reference is PyTorch with real max-unpooling by indices).

    ``refiner``: ``mnet`` puts M-Net beside MODNet in a device bundle (``--to om``): its own files under
    ``refiner/`` (model, AIPP with the trimap block, golden), a second compiler command in convert.sh, its
    own checks, and the refiner stage in the app (``refiner_size`` default :data:`REFINER_SIZE`).

    ``int8``: also write an INT8 ONNX for the CPU stand-in (its error is in the manifest); ``int8_max_error``
    (implies ``int8``): keep the convolutions the alpha is most sensitive to in FP32 until the mean abs alpha
    error against FP32 is at most this (:mod:`edgematte.quantize.mixed_precision`).

    ``atol``: the tolerance against PyTorch, instead of the one measured from the network's own FP32 noise
    (:mod:`edgematte.verification.tolerance`). An export that does not match is not written under ``out``
    (:class:`VerificationError` says where it is kept for a report).
    """
    from edgematte.export.memory import memory_problems
    from edgematte.export.writer import ExportContext, write_route

    route = find_route(to, via, device)
    family = route.family(device)
    int8 = int8 or int8_max_error is not None
    check_int8_max_error(int8_max_error)
    if atol is not None:
        check_atol(atol)
    if int8 and not route.int8:
        raise SpecError(f"--int8 makes an INT8 ONNX for the CPU stand-in; --to {route.name} has no ONNX: use it with "
                        f"{' or '.join(f'--to {r.name}' for r in ROUTES if r.int8)}")
    spec = resolve_spec(preset, size or (REFINER_SIZE if model == MNET else None), model)
    if model == MNET:
        for flag, given in (("--int8", int8), ("--align-corners/--half-pixel", align_corners is not None),
                            ("--refiner", refiner is not None)):
            if given:
                raise SpecError(f"{flag} applies to MODNet only; leave it out with --model mnet")
    refiner_spec = _refiner_spec(refiner, route, preset, refiner_size, refiner_checkpoint, refiner_width)
    problems = route.size_problems(spec, family) + memory_problems(spec)
    if problems:
        raise SpecError(f"size {spec.width}x{spec.height} does not fit --to {route.name}: {'; '.join(problems)}; "
                        f"choose a smaller --size or another preset")
    if refiner_spec is not None:
        problems = route.size_problems(refiner_spec, family) + memory_problems(refiner_spec)
        if problems:
            raise SpecError(f"--refiner-size {refiner_spec.width}x{refiner_spec.height} does not fit --to "
                            f"{route.name}: {'; '.join(problems)}; choose a smaller --refiner-size")
    log(f"edgematte export {export_flags(route.to, route.via, family.name if family else None)}"
        f"{'' if model == MODNET else f' --model {model}'}: {spec.width}x{spec.height} "
        f"(preset {preset}{f' at --size {size}' if size else ''})"
        + (f", refiner {refiner} at {refiner_spec.width}x{refiner_spec.height}" if refiner_spec else ""))
    out = Path(out) if out is not None else default_out(spec, route.to)
    writer = BundleWriter(out, force, inputs=[checkpoint, refiner_checkpoint], model=spec.model)  # fails now if taken
    log(f"loading weights ({checkpoint or 'embedded default, untrained'})")
    weights = load_weights(checkpoint, spec, align_corners, width)
    refiner_weights = None
    if refiner_spec is not None:
        log(f"loading the refiner's weights ({refiner_checkpoint or 'embedded default, untrained'})")
        refiner_weights = load_weights(refiner_checkpoint, refiner_spec, None, refiner_width)
    with writer:
        ctx = ExportContext(spec, route, weights, writer, log, family, int8, int8_max_error)
        refiner_ctx = (ExportContext(refiner_spec, route, refiner_weights, writer.section(REFINER_FOLDER, MNET), log,
                                     family) if refiner_spec is not None else None)
        roles = write_route(ctx, refiner_ctx)
        tolerance, checks = _check_against_pytorch(ctx, roles, atol)
        files = writer.file_records(roles)
        refiner_record, refiner_checks = None, []
        if refiner_ctx is not None:
            log("checking the refiner")
            refiner_tolerance, refiner_checks = _check_against_pytorch(refiner_ctx, refiner_ctx.roles, atol)
            files.update(writer.file_records(refiner_ctx.roles, refiner_ctx.bundle))
            refiner_record = _manifest(refiner_ctx, refiner_ctx.roles, {}, refiner_tolerance, refiner_checks).to_dict()
        manifest = _manifest(ctx, roles, files, tolerance, checks + refiner_checks, refiner_record)
        writer.write_manifest(manifest)
        if manifest.passed:
            writer.commit()
            return ExportResult(out, manifest, checks + refiner_checks)
        kept = writer.commit_failed()
    failed = ", ".join(f"{c.reader}/{c.check} ({c.max_abs:.2e}" + (f" > {c.atol:.1e}" if c.atol != tolerance.atol else "")
                       + (f", {100 * c.beyond:.2f} % of pixels" if c.allowed else "") + ")"
                       for c in checks + refiner_checks if not c.passed)
    unstable = (f"; PyTorch's own FP32 result is {tolerance.noise:.1e} from float64 on the same inputs: the weights "
                f"are numerically unstable (e.g. a BatchNorm variance near zero)"
                if tolerance.noise is not None and tolerance.noise * NOISE_FACTOR > CEILING else "")
    where = (f"the failed bundle is kept in {kept} for a report (do not deploy it)" if kept else
             f"the failed bundle was not kept ({writer.failed_path} holds files edgematte did not write)")
    raise VerificationError(f"{out} was not written: the export does not match PyTorch within {tolerance.atol:.1e} "
                            f"({tolerance.describe()}): {failed}{unstable}; {where}")


REFINER_SIZE = "320x320"  # M-Net's crop: the reproductions train on 320x320 patches


def _refiner_spec(refiner, route, preset, size, checkpoint, width) -> PipelineSpec | None:
    """The refiner's spec, or None without ``--refiner``; its flags without it are an error."""
    if refiner is None:
        given = [flag for flag, value in (("--refiner-checkpoint", checkpoint), ("--refiner-size", size),
                                          ("--refiner-width", width)) if value is not None]
        if given:
            raise SpecError(f"{', '.join(given)} set the refiner; add --refiner mnet")
        return None
    if refiner != MNET:
        raise SpecError(f"unknown refiner {refiner!r}; the refiner is {MNET}")
    if route.device is None:
        raise SpecError(f"--refiner puts M-Net in a device bundle beside MODNet (--to om); --to {route.name} holds one "
                        f"network: export M-Net on its own with --model mnet")
    return resolve_spec(preset, size or REFINER_SIZE, MNET)


def _check_against_pytorch(ctx, roles: list[str], atol: float | None):
    """Golden inputs and PyTorch's outputs (saved with the network's files), the tolerance from PyTorch's
    own FP32 noise, and every reader of the files written; ``roles`` gains ``golden``."""
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.verification.golden import has_rollout, make_golden
    from edgematte.verification.readers import run_readers
    from edgematte.verification.tolerance import Tolerance, fp32_noise

    spec, model, log = ctx.spec, ctx.weights.model, ctx.log
    log("running PyTorch on the golden inputs" + (f" ({spec.rollout_frames}-frame rollout included)"
                                                    if has_rollout(spec) else " (M-Net: max-unpooling by indices, in float64)"))
    golden = make_golden(TorchRunner(model, spec, float64=spec.model == MNET), spec)
    golden.save(ctx.bundle.path("golden"))
    roles.append("golden")
    log("measuring PyTorch's own FP32 noise (the same weights in FP32 and in float64 on the golden inputs)")
    tolerance = Tolerance.from_noise(fp32_noise(model, spec, golden), atol)
    checks = run_readers({role: ctx.bundle.path(role) for role in roles}, spec, golden, tolerance.atol, log)
    return tolerance, checks if isinstance(ctx.bundle, BundleWriter) else _label(checks, spec)


def _manifest(ctx, roles, files, tolerance, checks, refiner: dict | None = None) -> Manifest:
    family, route = ctx.device, ctx.route
    passed = bool(checks) and all(c.passed for c in checks)
    return Manifest(
        edgematte=tool_versions()["edgematte"],
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        target=route.to, via=route.via, device=family.name if family else None, spec=ctx.spec,
        weights=ctx.weights.describe(), artifacts={role: ctx.bundle.rel(role) for role in roles},
        files=files, tools=tool_versions(),
        verification={"passed": passed, **tolerance.to_dict(), "checks": [c.to_dict() for c in checks]},
        refiner=refiner, **ctx.records)


def verify(folder: str | Path, log: Log = no_log) -> VerifyResult:
    """Re-check an export folder: checksums and unlisted files, then the files as the device tools parse
    them, then every reader against the golden outputs (only when the files are sound)."""
    from edgematte.verification.device_files import device_file_problems
    from edgematte.verification.golden import GoldenSet
    from edgematte.verification.readers import run_readers

    bundle = Bundle.open(folder)
    networks = [bundle] + ([bundle.refiner] if bundle.refiner is not None else [])
    problems = bundle.file_problems()
    problems = problems or [p for b in networks for p in device_file_problems(b)]
    checks: list[CheckResult] = []
    if not problems:
        for network in networks:
            golden_path = network.path("golden")
            try:
                golden = GoldenSet.load(golden_path, network.spec)
            except (OSError, ValueError) as e:
                raise BundleError(f"{golden_path} cannot be read ({e}); re-export the bundle") from None
            found = run_readers({role: network.path(role) for role in network.manifest.artifacts}, network.spec,
                                golden, network.manifest.atol, log)
            checks += found if network is bundle else _label(found, network.spec)
    return VerifyResult(bundle.folder, checks, problems)


def _label(checks: list[CheckResult], spec: PipelineSpec) -> list[CheckResult]:
    """The refiner's checks named after its network (``mnet.portrait``), beside MODNet's in one list."""
    return [dataclasses.replace(c, check=f"{spec.model}.{c.check}") for c in checks]


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
    from edgematte.model.checkpoint import load_checkpoint
    from edgematte.model.mnet_checkpoint import load_mnet_checkpoint, looks_like_mnet

    loaded = load_mnet_checkpoint(path) if looks_like_mnet(path) else load_checkpoint(path)
    params = sum(p.numel() for p in loaded.model.parameters())
    return {"kind": "checkpoint", **loaded.describe(), "parameters_after_load": params}


def run(bundle: str | Path, *, input: str, output: str | Path, background: str = "blur", mode: str = "composite",
        max_frames: int | None = None, rgba_dir: str | Path | None = None, int8: bool = False, force: bool = False,
        preview: int | None = None, on_frame: Callable[[], None] | None = None, log: Log | None = None):
    """Run the bundle's own app on a video file (or ``webcam:N``) against its device API's stand-in: the HiLens
    skill on ``hilens`` (what the Kit would show on HDMI: H.264 mp4, the input's fps and audio), or the
    AscendCL app on ``acl`` (its composite video; ``preview``: also served as MJPEG on localhost:PORT)."""
    from edgematte.run import run_bundle

    return run_bundle(bundle, input, background=background, output=output, mode=mode, max_frames=max_frames,
                      force=force, rgba_dir=rgba_dir, on_frame=on_frame, log=log, int8=int8, preview=preview)


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
          device: str | None = None, log: Log = no_log) -> dict:
    """Benchmark a HiLens bundle (or a fresh ``--to om`` export of ``checkpoint``/the default at
    ``preset``): see :mod:`edgematte.bench.report` and docs/performance.md for the report.
    ``int8_max_error``: time the mixed-precision INT8 model planned for that alpha-error budget.
    ``json_path``/``plot_path``: also write the report there (not over an existing file without ``force``).
    ``refiner``: the fresh export carries M-Net (``refiner_width``); a bundle's own refiner is timed anyway.
    ``device``: a device family (devices.py) whose chip the cost model (costmodel.py) predicts, per route."""
    from edgematte.bench.report import RUNTIMES, run_bench

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
            route = next(r for r in ROUTES if r.stand_in and r.device.app == SKILL)  # a bundle with the skill
            log(f"exporting a --to {route.name} bundle to time")
            bundle = export(to=route.to, via=route.via, checkpoint=checkpoint, preset=preset, size=size,
                            refiner=refiner, refiner_width=refiner_width, out=Path(tmp) / "bundle").out
        elif refiner is not None or refiner_width is not None:
            raise SpecError("--refiner and --refiner-width shape a fresh export; a BUNDLE's refiner (if it has one) "
                            "is timed as it is")
        opened = Bundle.open(bundle)
        opened.require("onnx", "aipp", "skill", why="bench times the bundle's HiLens skill on the stand-in: give a "
                                                   "--to om --device hilens-kit bundle, or none to time a fresh export")
        recorded = opened.manifest.weights.get("path")
        if checkpoint is None and recorded and Path(recorded).is_file():
            checkpoint = recorded
        weights = load_weights(checkpoint, opened.spec)
        refiner_weights = None
        if opened.refiner is not None:
            recorded = opened.refiner.manifest.weights
            path = recorded.get("path")
            refiner_weights = load_weights(path if path and Path(path).is_file() else None, opened.refiner.spec,
                                           width=None if path and Path(path).is_file() else recorded.get("width"))
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
             refiner_width: float | None = None, log: Log = no_log):
    """Score predictions on disk (``pred`` vs ``gt``; with ``trimap`` also the trimap protocol), or run a model
    (``bundle`` through the stand-in, or ``checkpoint`` in PyTorch) over ``data`` beside the temporal
    baselines. Returns an EvalReport; ``json_path``/``csv_path``/``plot_path`` also write it (not over an
    existing file without ``force``).

    ``refiner="mnet"``: compare MODNet alone with MODNet + M-Net under the trimap protocol instead
    (:mod:`edgematte.evaluate_refiner`): the bundle's two networks, or ``checkpoint`` and ``refiner_checkpoint``
    (default: the embedded M-Net at ``refiner_width``) in PyTorch, over ``data``; ``trimap``: given trimaps."""
    outputs = _report_outputs(force, json_path=(json_path, (".json",)), csv_path=(csv_path, (".csv",)),
                              plot_path=(plot_path, (".png",)))
    if refiner is not None:
        report = _evaluate_refiner(bundle, checkpoint, data, preset, size, trimap, refiner, refiner_checkpoint,
                                   refiner_size, refiner_width, log)
    else:
        given = [f for f, v in (("--refiner-checkpoint", refiner_checkpoint), ("--refiner-size", refiner_size),
                                ("--refiner-width", refiner_width)) if v is not None]
        if given:
            raise SpecError(f"{', '.join(given)} set the refiner's comparison: add --refiner mnet")
        report = _evaluate(pred, gt, bundle, checkpoint, data, preset, size, trimap, log)
    for name, path in outputs.items():
        with written_atomically(path) as tmp:
            report.save(tmp, name.split("_")[0])
    return report


def _evaluate(pred, gt, bundle, checkpoint, data, preset, size, trimap, log):
    import numpy as np

    from edgematte.evaluate import EvalError, EvalReport, evaluate_folders, evaluate_model

    if pred is not None or gt is not None:
        if pred is None or gt is None or bundle or checkpoint or data:
            raise EvalError("give --pred and --gt together, or a model (--bundle or --checkpoint) with --data")
        return evaluate_folders(Path(pred), Path(gt), log, Path(trimap) if trimap else None)
    if trimap is not None:
        raise EvalError("--trimap applies to --pred/--gt (the trimap protocol scores predictions on disk)")
    if data is None:
        raise EvalError("give --pred DIR --gt DIR, or --bundle DIR / --checkpoint FILE with --data DIR")
    if bundle is not None:
        from edgematte.standin import attached_model, start

        opened = Bundle.open(bundle)
        spec = opened.spec
        hilens = start(opened, log=no_log)
        try:
            model = attached_model(hilens)
        except hilens.CreateError as e:
            raise EvalError(f"{bundle}: {e}; re-export the bundle (edgematte verify names what changed)") from None

        def infer(rgb, prev):
            out = model.infer([hilens.cvt_color(rgb, hilens.RGB2YUV_NV21).flatten(), prev.ravel()])
            if isinstance(out, int):
                raise EvalError(f"the stand-in model returned error code {out}")
            return out[0].reshape(spec.height, spec.width)
        source = f"bundle {bundle} (stand-in: AIPP emulator + onnxruntime)"
    else:
        from edgematte.runtime.pytorch import TorchRunner

        spec = resolve_spec(preset, size)
        runner = TorchRunner(load_weights(checkpoint, spec).model, spec)

        def infer(rgb, prev):
            feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
            return runner.infer(feed)[spec.alpha_output][0, 0]
        source = f"checkpoint {checkpoint or 'embedded default (untrained)'} (PyTorch)"
    methods = evaluate_model(Path(data), infer, (spec.width, spec.height), log)
    return EvalReport(list(methods.values()), f"{source} on {data}, model size {spec.width}x{spec.height}")


def _evaluate_refiner(bundle, checkpoint, data, preset, size, trimap, refiner, refiner_checkpoint, refiner_size,
                      refiner_width, log):
    import numpy as np

    from edgematte.evaluate import EvalError
    from edgematte.evaluate_refiner import evaluate_refiner

    if refiner != MNET:
        raise SpecError(f"unknown refiner {refiner!r}; the refiner is {MNET}")
    if data is None:
        raise EvalError("the refiner comparison runs MODNet and M-Net over --data DIR (<set>/<clip>/{com,pha}/)")
    if bundle is not None:
        if checkpoint or refiner_checkpoint or refiner_width or refiner_size:
            raise EvalError("--bundle brings both networks; leave out --checkpoint and the --refiner-* options")
        from edgematte.runtime.ort import OrtRunner

        opened = Bundle.open(bundle)
        if opened.refiner is None:
            raise EvalError(f"{bundle} has no refiner; export it with --to om --refiner mnet")
        spec, rspec = opened.spec, opened.refiner.spec
        runner, refiner_runner = OrtRunner(opened.path("onnx")), OrtRunner(opened.refiner.path("onnx"))
        source = f"bundle {bundle} (onnxruntime: MODNet {spec.width}x{spec.height}, M-Net {rspec.width}x{rspec.height})"
    else:
        from edgematte.runtime.pytorch import TorchRunner

        spec = resolve_spec(preset, size)
        rspec = resolve_spec(preset, refiner_size or REFINER_SIZE, MNET)
        runner = TorchRunner(load_weights(checkpoint, spec).model, spec)
        mnet = load_weights(refiner_checkpoint, rspec, width=refiner_width)
        refiner_runner = TorchRunner(mnet.model, rspec)
        source = (f"MODNet {checkpoint or 'embedded default (untrained)'}, M-Net "
                  f"{refiner_checkpoint or f'embedded default x{mnet.model.width:g} (untrained)'} (PyTorch)")

    def modnet(rgb, prev):
        feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
        return runner.infer(feed)[spec.alpha_output][0, 0]

    def mnet_infer(rgb, trimap):
        image = ((rgb.astype(np.float32) - rspec.norm_mean) / rspec.norm_std).transpose(2, 0, 1)[None]
        feed = {rspec.image_input: np.ascontiguousarray(image, np.float32),
                rspec.trimap_input: trimap[None, None].astype(np.float32)}
        return refiner_runner.infer(feed)[rspec.alpha_output][0, 0]

    # a bundle's ONNX has a static size: M-Net runs on its crops only (the whole-frame rows need checkpoints)
    return evaluate_refiner(Path(data), modnet, (spec.width, spec.height), mnet_infer, (rspec.width, rspec.height),
                            source, Path(trimap) if trimap else None, whole_frames=bundle is None, log=log)


def train(*, data: str | Path, out: str | Path, kind: str = "video", backgrounds: str | Path | None = None,
          init: str | Path | None = None, align_corners: bool = False, preset: str = DEFAULT_PRESET,
          size: str | None = None, iterations: int = 1000, batch_size: int = 8, lr: float = 1e-4,
          optimizer: str | None = None, seed: int = 0, save_every: int = 100, freeze_bn: bool = False,
          model: str = MODNET, width: float | None = None, trimaps_from: str | Path | None = None,
          resume: bool = False, force: bool = False, log: Log = no_log, on_step=None):
    """Fine-tune the 4-channel model, or train M-Net (``model="mnet"``: samples of ``size``, default
    :data:`REFINER_SIZE`; ``trimaps_from``: a MODNet checkpoint whose alpha makes the trimaps, as on the device)
    (see :mod:`edgematte.train.trainer`); returns a TrainResult. ``optimizer``: default adamw (MODNet), adam with
    weight decay 5e-4 (M-Net). ``on_step(step, loss)`` is called after each step (``step`` counts from 1, or
    from the resumed step)."""
    from edgematte.train.trainer import TrainConfig
    from edgematte.train.trainer import train as run_training

    if model == MNET and align_corners:
        raise SpecError("--align-corners sets MODNet's resizes; M-Net has none: leave it out with --model mnet")
    spec = resolve_spec(preset, size or (REFINER_SIZE if model == MNET else None), model)
    cfg = TrainConfig(data=str(data), out=str(out), kind=kind, backgrounds=str(backgrounds) if backgrounds else None,
                      init=str(init) if init else None, align_corners=align_corners, iterations=iterations,
                      batch_size=batch_size, lr=lr, optimizer=optimizer or ("adam" if model == MNET else "adamw"),
                      seed=seed, save_every=save_every, freeze_bn=freeze_bn, model=model, width=width,
                      trimaps_from=str(trimaps_from) if trimaps_from else None)
    return run_training(cfg, spec, resume=resume, force=force, log=log, on_step=on_step)


def ablation(out: str | Path, *, quick: bool = False, iterations: int | None = None, log: Log = no_log) -> dict:
    """The temporal ablation (docs/temporal.md) run, or resumed, in ``out``; returns its results, as written
    to ``out/results.json`` (see :func:`edgematte.ablation.run_study`). ``quick``: the under-a-minute pipeline
    check; ``iterations``: training steps per run instead of the study's."""
    from edgematte.ablation import run_study

    return run_study(out, quick=quick, iterations=iterations, log=log)
