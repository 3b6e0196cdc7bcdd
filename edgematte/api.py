"""The Python API. The CLI is a thin layer over these functions.

    from edgematte import api
    result = api.export(to="onnx", checkpoint="modnet_webcam_portrait_matting.ckpt", out="out/onnx")
    print(result.manifest["verification"]["passed"])
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.bundle import (BundleWriter, check_files, file_records, read_manifest, tool_versions,
                              write_manifest)
from edgematte.errors import BundleError, EdgematteError, SpecError, VerificationError
from edgematte.spec import DEFAULT_PRESET, PipelineSpec, resolve_spec
from edgematte.verification.compare import CheckResult

GOLDEN_FILE = "golden.npz"
Log = Callable[[str], None]


def no_log(_: str) -> None:
    pass


@dataclass
class ExportResult:
    out: Path
    manifest: dict
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return self.manifest["verification"]["passed"]


@dataclass
class VerifyResult:
    folder: Path
    manifest: dict
    checks: list[CheckResult]
    file_problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.file_problems and bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "passed": self.passed, "file_problems": self.file_problems,
                "checks": [c.to_dict() for c in self.checks]}


def default_out(spec: PipelineSpec, to: str) -> Path:
    return Path("out") / f"{spec.name}-{to}"


def load_weights(checkpoint: str | Path | None, spec: PipelineSpec, align_corners: bool | None = None):
    """The checkpoint's model (inflated if it is 3-channel), or the embedded default with ``None``."""
    from edgematte.model.checkpoint import default_model, load_checkpoint

    if checkpoint is None:
        return default_model(spec.seed, align_corners=bool(align_corners))
    return load_checkpoint(checkpoint, align_corners=align_corners)


def check_int8_max_error(value: float | None) -> None:
    if value is not None and not 0 < value < 1:
        raise SpecError(f"--int8-max-error {value:g} is not an alpha error: give a mean abs error between 0 and 1, "
                        f"e.g. 0.005")


def export(to: str = "om", checkpoint: str | Path | None = None, preset: str = DEFAULT_PRESET,
           size: str | None = None, out: str | Path | None = None, force: bool = False,
           align_corners: bool | None = None, via: str | None = None, int8: bool = False,
           int8_max_error: float | None = None, log: Log = no_log) -> ExportResult:
    """Export the network for ``to``, verify every artifact against PyTorch, and write the bundle.

    ``via`` (``to="om"`` only): ``"caffe"`` (default; HiLens Kit, omg) or ``"onnx"`` (other Ascend 310
    boards, atc). ``int8``: also write an INT8 ONNX for the CPU stand-in (its error is in the manifest);
    ``int8_max_error`` (implies ``int8``): keep the convolutions the alpha is most sensitive to in FP32
    until the mean abs alpha error against FP32 is at most this (:mod:`edgematte.perf.mixed_precision`).

    Raises :class:`VerificationError` after writing the bundle if an artifact does not match.
    """
    from edgematte.export.targets import OM_ROUTES, TARGETS, ExportContext, size_problems
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.verification.golden import make_golden
    from edgematte.verification.readers import run_readers

    if to not in TARGETS:
        raise SpecError(f"unknown target {to!r}; valid targets: {', '.join(TARGETS)}")
    if via is not None and to != "om":
        raise SpecError(f"--via chooses the route to the device compiler and applies to --to om only, not {to!r}")
    if via is not None and via not in OM_ROUTES:
        raise SpecError(f"unknown route {via!r} for --to om; use one of {', '.join(OM_ROUTES)}")
    if to == "om":
        via = via or OM_ROUTES[0]
    int8 = int8 or int8_max_error is not None
    check_int8_max_error(int8_max_error)
    if int8 and to == "caffe":
        raise SpecError("--int8 makes an INT8 ONNX for the CPU stand-in; use it with --to om or --to onnx")
    spec = resolve_spec(preset, size)
    problems = size_problems(spec, to, via)
    if problems:
        raise SpecError(f"size {spec.width}x{spec.height} does not fit --to {to}: {'; '.join(problems)}; "
                        f"choose a smaller --size or another preset")
    out = Path(out) if out is not None else default_out(spec, to)
    writer = BundleWriter(out, force)  # fails now, before any work, if out is taken
    log(f"loading weights ({checkpoint or 'embedded default, untrained'})")
    weights = load_weights(checkpoint, spec, align_corners)
    with writer:
        ctx = ExportContext(spec, weights, writer.workdir, log, via, int8, int8_max_error)
        artifacts = TARGETS[to].build(ctx)
        log(f"running PyTorch on the golden inputs ({spec.rollout_frames}-frame rollout included)")
        golden = make_golden(TorchRunner(weights.model, spec), spec)
        golden.save(writer.workdir / GOLDEN_FILE)
        artifacts["golden"] = GOLDEN_FILE
        checks = run_readers(writer.workdir, artifacts, spec, golden, log)
        manifest = {
            "edgematte": tool_versions()["edgematte"],
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "target": to,
            **({"via": via} if via else {}),
            "spec": spec.to_dict(),
            "weights": weights.describe(),
            "inputs": {k: list(v) for k, v in spec.input_shapes.items()},
            "outputs": {k: list(v) for k, v in spec.output_shapes.items()},
            "artifacts": artifacts,
            "files": file_records(writer.workdir, artifacts.values()),
            "tools": tool_versions(),
            **ctx.extra,
            "verification": {"passed": bool(checks) and all(c.passed for c in checks),
                             "atol": spec.atol, "checks": [c.to_dict() for c in checks]},
        }
        write_manifest(writer.workdir, manifest)
        writer.commit()
    result = ExportResult(out, manifest, checks)
    if not result.passed:
        failed = [f"{c.reader}/{c.check} ({c.max_abs:.2e})" for c in checks if not c.passed]
        raise VerificationError(f"{out} was written but does not match PyTorch within {spec.atol:.0e}: "
                                f"{', '.join(failed)}; do not deploy it, and report this with its manifest.json")
    return result


def verify(folder: str | Path, log: Log = no_log) -> VerifyResult:
    """Re-check an export folder: file checksums, then every reader against ``golden.npz``."""
    from edgematte.verification.golden import GoldenSet
    from edgematte.verification.readers import run_readers

    folder = Path(folder)
    manifest = read_manifest(folder)
    spec = PipelineSpec.from_dict(manifest["spec"])
    problems = check_files(folder, manifest)
    checks: list[CheckResult] = []
    if not problems:
        golden_path = folder / manifest["artifacts"].get("golden", GOLDEN_FILE)
        try:
            golden = GoldenSet.load(golden_path)
        except (OSError, ValueError) as e:
            raise BundleError(f"{golden_path} cannot be read ({e}); re-export the bundle") from None
        checks = run_readers(folder, manifest["artifacts"], spec, golden, log)
    return VerifyResult(folder, manifest, checks, problems)


def info(path: str | Path) -> dict:
    """What a checkpoint, an ONNX file or an export folder contains."""
    path = Path(path)
    if path.is_dir():
        manifest = read_manifest(path)
        return {"kind": "bundle", "path": str(path), "target": manifest.get("target"),
                "spec": manifest["spec"], "weights": manifest.get("weights"), "artifacts": manifest["artifacts"],
                "inputs": manifest.get("inputs"), "outputs": manifest.get("outputs"),
                "verification": manifest.get("verification", {}).get("passed")}
    if not path.exists():
        raise EdgematteError(f"{path} does not exist; give a checkpoint, an .onnx file or an export folder")
    if path.suffix == ".onnx":
        from edgematte.export.onnx import read_spec_metadata

        return {"kind": "onnx", "path": str(path), "spec": read_spec_metadata(path)}
    return _checkpoint_info(path)


def _checkpoint_info(path: Path) -> dict:
    from edgematte.model.checkpoint import load_checkpoint

    loaded = load_checkpoint(path)
    params = sum(p.numel() for p in loaded.model.parameters())
    return {"kind": "checkpoint", **loaded.describe(), "parameters_after_load": params}


def run(bundle: str | Path, input: str, background: str = "blur", output: str | Path = "out.mp4",
        mode: str = "composite", max_frames: int | None = None, force: bool = False,
        rgba_dir: str | Path | None = None, on_frame=None, log: Log | None = None, int8: bool = False):
    """Run the bundle's own ``skill/main.py`` on a video file (or ``webcam:N``) against the ``hilens``
    stand-in, writing what the Kit would show on HDMI to ``output`` (H.264 mp4, the input's fps and audio)."""
    from edgematte.run import run_skill

    return run_skill(bundle, input, background, output, mode, max_frames, force, rgba_dir, on_frame, log, int8)


def sample_clip(path: str | Path, seconds: float = 5.0, audio: bool = True, force: bool = False) -> Path:
    """Write the sample clip (the astronaut moving over a texture, 1280x720, 25 fps, a 440 Hz tone)."""
    from edgematte.sample import write_sample_clip

    path = Path(path)
    if path.exists() and not force:
        raise EdgematteError(f"{path} already exists; pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial.mp4")
    write_sample_clip(tmp, seconds, tone_hz=440.0 if audio else None)
    tmp.replace(path)
    return path


def bench(bundle: str | Path | None = None, checkpoint: str | Path | None = None, preset: str = DEFAULT_PRESET,
          size: str | None = None, runtime: str = "onnxruntime", threads: int | None = None, frames: int = 50,
          warmup: int = 5, loop_frames: int | None = None, clip: str | Path | None = None, fp16: bool = False,
          int8_max_error: float | None = None, log: Log = no_log) -> dict:
    """Benchmark a bundle's ONNX (or a fresh export of ``checkpoint``/the default at ``preset``):
    see :mod:`edgematte.perf.bench` and docs/performance.md for the report. ``int8_max_error``: time
    the mixed-precision INT8 model planned for that alpha-error budget (as ``export`` makes it)."""
    from edgematte.perf.bench import RUNTIMES, run_bench

    check_int8_max_error(int8_max_error)
    if runtime not in RUNTIMES:
        raise SpecError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    onnx_path = None
    if bundle is not None:
        manifest = read_manifest(bundle)
        if "onnx" not in manifest["artifacts"]:
            raise BundleError(f"{bundle} has no ONNX model (exported with --to {manifest.get('target')}); "
                              f"bench needs --to om or --to onnx")
        spec = PipelineSpec.from_dict(manifest["spec"])
        onnx_path = Path(bundle) / manifest["artifacts"]["onnx"]
        recorded = (manifest.get("weights") or {}).get("path")
        if checkpoint is None and recorded and Path(recorded).exists():
            checkpoint = recorded
    else:
        spec = resolve_spec(preset, size)
    if clip is not None and not Path(clip).exists():
        raise EdgematteError(f"clip {clip} does not exist")
    weights = load_weights(checkpoint, spec)
    return run_bench(spec, weights, onnx_path, runtime, threads, frames, warmup, loop_frames,
                     Path(clip) if clip else None, fp16, int8_max_error, log)


def evaluate(pred: str | Path | None = None, gt: str | Path | None = None, bundle: str | Path | None = None,
             checkpoint: str | Path | None = None, data: str | Path | None = None, preset: str = DEFAULT_PRESET,
             size: str | None = None, trimap: str | Path | None = None, log: Log = no_log):
    """Score predictions on disk (``pred`` vs ``gt``; with ``trimap`` also the trimap protocol), or run a model (``bundle`` through the stand-in, or
    ``checkpoint`` in PyTorch) over ``data`` beside the temporal baselines. Returns an EvalReport."""
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
        from edgematte.export.targets import OM_FILE
        from edgematte.standin import load_hilens

        manifest = read_manifest(bundle)
        if "aipp" not in manifest["artifacts"]:
            raise BundleError(f"{bundle} is not a HiLens bundle; eval runs it through the stand-in: export --to om")
        spec = PipelineSpec.from_dict(manifest["spec"])
        hilens = load_hilens()
        hilens.configure(hilens.StandinSession(source="none", model_dir=Path(bundle).resolve(), log=lambda _: None))
        model = hilens.Model(hilens.get_model_dir() + OM_FILE)

        def infer(rgb, prev):
            out = model.infer([hilens.cvt_color(rgb, hilens.RGB2YUV_NV21).flatten(), prev.ravel()])
            if isinstance(out, int):
                raise EvalError(f"the stand-in model returned error code {out}")
            return out[0].reshape(spec.height, spec.width)
        source = f"bundle {bundle} (stand-in: AIPP emulator + onnxruntime)"
    else:
        from edgematte.runtime.pytorch import TorchRunner

        spec = resolve_spec(preset, size)
        weights = load_weights(checkpoint, spec)
        runner = TorchRunner(weights.model, spec)

        def infer(rgb, prev):
            feed = {spec.image_input: spec.normalize_rgb(rgb), spec.alpha_input: prev[None, None].astype(np.float32)}
            return runner.infer(feed)[spec.alpha_output][0, 0]
        source = f"checkpoint {checkpoint or 'embedded default (untrained)'} (PyTorch)"
    methods = evaluate_model(Path(data), infer, (spec.width, spec.height), log)
    return EvalReport(list(methods.values()), f"{source} on {data}, model size {spec.width}x{spec.height}")


def train(data: str | Path, out: str | Path, kind: str = "video", backgrounds: str | Path | None = None,
          init: str | Path | None = None, align_corners: bool = False, preset: str = DEFAULT_PRESET,
          size: str | None = None, iterations: int = 1000, batch_size: int = 8, lr: float = 1e-4,
          optimizer: str = "adamw", seed: int = 0, save_every: int = 100, freeze_bn: bool = False,
          resume: bool = False, force: bool = False, log: Log = no_log, on_step=None):
    """Fine-tune the 4-channel model (see :mod:`edgematte.train.trainer`); returns a TrainResult."""
    from edgematte.train.trainer import TrainConfig
    from edgematte.train.trainer import train as run_training

    spec = resolve_spec(preset, size)
    cfg = TrainConfig(data=str(data), out=str(out), kind=kind, backgrounds=str(backgrounds) if backgrounds else None,
                      init=str(init) if init else None, align_corners=align_corners, iterations=iterations,
                      batch_size=batch_size, lr=lr, optimizer=optimizer, seed=seed, save_every=save_every,
                      freeze_bn=freeze_bn)
    return run_training(cfg, spec, resume=resume, force=force, log=log, on_step=on_step)
