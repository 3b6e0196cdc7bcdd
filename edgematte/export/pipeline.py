"""The export pipeline behind ``edgematte export`` (:func:`edgematte.api.export`): the route and the family
checked before any work, the weights loaded by the network's record, the route's files written into a scratch
folder, every artifact checked against PyTorch within the network's own FP32 noise, and the bundle renamed into
place only when it passed."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgematte.bundle import REFINER_FOLDER, BundleWriter, Manifest, export_flags, file_name, tool_versions
from edgematte.errors import CheckpointError, SpecError, VerificationError
from edgematte.export.routes import DEFAULT_TARGET, ROUTES, find_route
from edgematte.networks import DEFAULT_NETWORK, refiner_network
from edgematte.spec import DEFAULT_PRESET, PipelineSpec, resolve_spec
from edgematte.verification.compare import CheckResult
from edgematte.verification.verify import label_checks
from edgematte.verification.tolerance import CEILING, NOISE_FACTOR, check_atol

Log = Callable[[str], None]


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


def default_out(spec: PipelineSpec, to: str) -> Path:
    """``out/<preset>-<to>``; another network than the default gets its name in front."""
    return Path("out") / f"{'' if spec.model == DEFAULT_NETWORK else spec.model + '-'}{spec.name}-{to}"


def load_weights(checkpoint: str | Path | None, spec: PipelineSpec, align_corners: bool | None = None,
                 width: float | None = None):
    """The checkpoint's weights for the spec's network (its record's loader: MODNet's inflated if 3-channel), or
    its embedded default with ``None`` (M-Net at ``width``, default full)."""
    return spec.network.load(checkpoint, spec.seed, align_corners, width)


def check_int8_max_error(value: float | None) -> None:
    if value is not None and not 0 < value < 1:
        raise SpecError(f"--int8-max-error {value:g} is not an alpha error: give a mean abs error between 0 and 1, "
                        f"e.g. 0.005")


def export_bundle(*, to: str = DEFAULT_TARGET, via: str | None = None, device: str | None = None,
                  model: str = DEFAULT_NETWORK, width: float | None = None, checkpoint: str | Path | None = None,
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
    own checks, and the refiner stage in the app (``refiner_size`` default: its record's size).

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
    spec = resolve_spec(preset, size, model)
    spec.network.refuse_options(int8=int8, align_corners=align_corners is not None, refiner=refiner, width=width)
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
        f"{'' if model == DEFAULT_NETWORK else f' --model {model}'}: {spec.width}x{spec.height} "
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
        refiner_ctx = (ExportContext(refiner_spec, route, refiner_weights, writer.section(REFINER_FOLDER, refiner_spec.model), log,
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
    failed = ", ".join(c.brief(tolerance.atol) for c in checks + refiner_checks if not c.passed)
    unstable = (f"; PyTorch's own FP32 result is {tolerance.noise:.1e} from float64 on the same inputs: the weights "
                f"are numerically unstable (e.g. a BatchNorm variance near zero)"
                if tolerance.noise is not None and tolerance.noise * NOISE_FACTOR > CEILING else "")
    where = (f"the failed bundle is kept in {kept} for a report (do not deploy it)" if kept else
             f"the failed bundle was not kept ({writer.failed_path} holds files edgematte did not write)")
    raise VerificationError(f"{out} was not written: the export does not match PyTorch within {tolerance.atol:.1e} "
                            f"({tolerance.describe()}): {failed}{unstable}; {where}")



def _refiner_spec(refiner, route, preset, size, checkpoint, width) -> PipelineSpec | None:
    """The refiner's spec, or None without ``--refiner``; its flags without it are an error."""
    if refiner is None:
        given = [flag for flag, value in (("--refiner-checkpoint", checkpoint), ("--refiner-size", size),
                                          ("--refiner-width", width)) if value is not None]
        if given:
            raise SpecError(f"{', '.join(given)} set the refiner; add --refiner mnet")
        return None
    network = refiner_network(refiner)
    if route.default_family is None:
        raise SpecError(f"--refiner puts {network.short} in a device bundle beside the frame network (--to om); --to "
                        f"{route.name} holds one network: export {network.short} on its own with --model {network}")
    return resolve_spec(preset, size, network.name)


def _check_against_pytorch(ctx, roles: list[str], atol: float | None):
    """Golden inputs and PyTorch's outputs (saved with the network's files), the tolerance from PyTorch's
    own FP32 noise, and every reader of the files written; ``roles`` gains ``golden``."""
    from edgematte.runtime.pytorch import TorchRunner
    from edgematte.verification.golden import SINGLE_CASES, has_rollout, make_golden
    from edgematte.verification.readers import run_readers
    from edgematte.verification.tolerance import Tolerance, fp32_noise

    spec, model, log = ctx.spec, ctx.weights.model, ctx.log
    log("running PyTorch on the golden inputs" + (f" ({spec.rollout_frames}-frame rollout included)" if has_rollout(spec)
                                                    else " (in float64)" if spec.network.float64_reference else ""))
    golden = make_golden(TorchRunner(model, spec, float64=spec.network.float64_reference), spec)
    if spec.network.unpooling:
        from edgematte.verification import near_ties

        log("finding the reference's max-unpooling winners and near-ties")
        golden.arrays.update(near_ties.golden_arrays(model, golden, spec, SINGLE_CASES, NOISE_FACTOR))
    broken = [key for key, value in golden.arrays.items() if not np.isfinite(value).all()]
    if broken:
        raise CheckpointError(f"the weights compute NaN or infinity on the golden inputs ({', '.join(broken)}), "
                              f"e.g. from a negative BatchNorm variance: they cannot be exported; check or retrain "
                              f"the checkpoint")
    golden.save(ctx.bundle.path("golden"))
    roles.append("golden")
    log("measuring PyTorch's own FP32 noise (the same weights in FP32 and in float64 on the golden inputs)")
    tolerance = Tolerance.from_noise(fp32_noise(model, spec, golden), atol)
    checks = run_readers({role: ctx.bundle.path(role) for role in roles}, spec, golden, tolerance.atol, log)
    return tolerance, checks if isinstance(ctx.bundle, BundleWriter) else label_checks(checks, spec)


def _manifest(ctx, roles, files, tolerance, checks, refiner: dict | None = None) -> Manifest:
    family, route = ctx.family, ctx.route
    passed = bool(checks) and all(c.passed for c in checks)
    return Manifest(
        edgematte=tool_versions()["edgematte"],
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        target=route.to, via=route.via, device=family.name if family else None, spec=ctx.spec,
        weights=ctx.weights.describe(), artifacts={role: ctx.bundle.rel(role) for role in roles},
        files=files, tools=tool_versions(),
        verification={"passed": passed, **tolerance.to_dict(), "checks": [c.to_dict() for c in checks]},
        refiner=refiner, **ctx.records)
