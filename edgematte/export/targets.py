"""The export targets: one table read by the CLI (``--to`` choices), the API and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from edgematte.spec import PipelineSpec

if TYPE_CHECKING:  # keep torch out of `edgematte --help`
    from edgematte.model.checkpoint import LoadedCheckpoint


@dataclass
class ExportContext:
    spec: PipelineSpec
    weights: "LoadedCheckpoint"
    workdir: Path
    log: Callable[[str], None]
    via: str | None = None  # for "om": the route to the device compiler ("caffe" for omg, "onnx" for atc)
    int8: bool = False      # also write the INT8 ONNX for the CPU stand-in
    int8_max_error: float | None = None  # with int8: keep the most sensitive convolutions FP32 to meet this
    extra: dict = field(default_factory=dict)  # target-specific facts for the manifest


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    build: Callable[[ExportContext], dict[str, str]]  # writes files into ctx.workdir; returns role -> relpath


MODEL_STEM = "modnet4"
ONNX_FILE = f"{MODEL_STEM}.onnx"
INT8_FILE = f"{MODEL_STEM}_int8.onnx"  # the stand-in's Model picks it over ONNX_FILE when asked to
PROTOTXT_FILE = f"{MODEL_STEM}.prototxt"
CAFFEMODEL_FILE = f"{MODEL_STEM}.caffemodel"
OM_FILE = f"{MODEL_STEM}.om"
AIPP_FILE = "aipp.cfg"
CONVERT_FILE = "convert.sh"
CONVERT_LOG = "convert.log"
README_FILE = "README.md"
OM_ROUTES = ("caffe", "onnx")


def _onnx_proto(ctx: ExportContext, save: bool = True):
    import onnx

    from edgematte.export.onnx import OnnxExporter, graph_summary

    ctx.log(f"exporting ONNX (opset {ctx.spec.opset}, static {ctx.spec.width}x{ctx.spec.height}, onnxsim)")
    proto = OnnxExporter(ctx.spec).to_proto(ctx.weights.model)
    if save:
        onnx.save(proto, str(ctx.workdir / ONNX_FILE))
        ctx.extra["onnx_graph"] = graph_summary(proto)
    return proto


def _write_int8(ctx: ExportContext) -> dict[str, str]:
    """The INT8 model for the CPU stand-in (not for the device compilers), with its measured error."""
    from edgematte.perf.int8 import write_int8

    record = write_int8(ctx.workdir / ONNX_FILE, ctx.workdir / INT8_FILE, ctx.spec, ctx.int8_max_error, log=ctx.log)
    ctx.extra["int8"] = {"file": INT8_FILE, "for": "the CPU stand-in (edgematte run --int8); not for omg/atc",
                         **record}
    return {"onnx_int8": INT8_FILE}


def _write_caffe(ctx: ExportContext, proto) -> dict[str, str]:
    from edgematte import __version__
    from edgematte.export.caffe.export import CaffeExporter

    ctx.log("lowering to Caffe in the HiLens Kit's operator subset, checking the Kit's rules")
    header = f"edgematte {__version__}, preset {ctx.spec.name}: MODNet (RGB + previous alpha) for the HiLens Kit (DDK omg)"
    ctx.extra["caffe_graph"] = CaffeExporter(ctx.spec).export(proto, ctx.workdir / PROTOTXT_FILE,
                                                              ctx.workdir / CAFFEMODEL_FILE, header)
    return {"prototxt": PROTOTXT_FILE, "caffemodel": CAFFEMODEL_FILE}


def build_onnx(ctx: ExportContext) -> dict[str, str]:
    _onnx_proto(ctx)
    return {"onnx": ONNX_FILE, **(_write_int8(ctx) if ctx.int8 else {})}


def build_caffe(ctx: ExportContext) -> dict[str, str]:
    return _write_caffe(ctx, _onnx_proto(ctx, save=False))


def build_om(ctx: ExportContext) -> dict[str, str]:
    """Everything the device compiler needs, plus the ONNX the CPU stand-in runs: Caffe (Kit subset) +
    aipp.cfg + convert.sh calling omg, or with ``via="onnx"`` the ONNX for atc. Where the tool is on
    PATH, convert.sh runs now and the .om joins the bundle."""
    from edgematte.aipp import aipp_from_spec, aipp_header
    from edgematte.export.commands import atc_command, convert_script, omg_command, run_convert_script
    from edgematte.export.readme import device_readme
    from edgematte.skill import write_skill

    spec = ctx.spec
    proto = _onnx_proto(ctx)
    artifacts = {"onnx": ONNX_FILE, **(_write_int8(ctx) if ctx.int8 else {})}
    if (ctx.via or OM_ROUTES[0]) == "caffe":
        artifacts.update(_write_caffe(ctx, proto))
        command = omg_command(spec, PROTOTXT_FILE, CAFFEMODEL_FILE, AIPP_FILE, MODEL_STEM)
    else:
        command = atc_command(spec, ONNX_FILE, AIPP_FILE, MODEL_STEM)
    (ctx.workdir / AIPP_FILE).write_text(aipp_from_spec(spec).render(aipp_header(spec)))
    script = ctx.workdir / CONVERT_FILE
    script.write_text(convert_script([command], spec))
    script.chmod(0o755)
    artifacts.update(aipp=AIPP_FILE, convert_script=CONVERT_FILE)
    ran = command.available()
    if ran:
        ctx.log(f"{command.tool} is on PATH: running {CONVERT_FILE}")
        run_convert_script(ctx.workdir, CONVERT_FILE, command, CONVERT_LOG)
        artifacts.update(om=OM_FILE, convert_log=CONVERT_LOG)
    ctx.extra["convert"] = {"tool": command.tool, "argv": list(command.argv), "note": command.note, "ran": ran}
    artifacts.update(write_skill(ctx.workdir, spec, OM_FILE))
    (ctx.workdir / README_FILE).write_text(device_readme(spec, artifacts, command))
    return {**artifacts, "readme": README_FILE}


# MODNet's IBNorm runs at these fractions of the input size (InstanceNorm means over each map).
IN_MAP_SCALES = (1, 2, 4, 8, 16)


def size_problems(spec: PipelineSpec, to: str, via: str | None) -> list[str]:
    """What in the spec the route's device rules reject, found before any work is done."""
    from edgematte.aipp import aipp_from_spec, aipp_problems
    from edgematte.export.caffe.lowering import exact_mean_kernel
    from edgematte.export.caffe.rules import GLOBAL_POOL_MAX_PIXELS

    problems = []
    if to == "om":
        problems += [f"AIPP: {p}" for p in aipp_problems(aipp_from_spec(spec), spec)]
    if to == "caffe" or (to == "om" and (via or OM_ROUTES[0]) == "caffe"):
        for s in IN_MAP_SCALES:
            h, w = spec.height // s, spec.width // s
            if exact_mean_kernel(h, w) is None:
                problems.append(f"the InstanceNorm mean over the {w}x{h} map (1/{s} of the input) cannot be split "
                                f"into exact average poolings under the HiLens Kit's {GLOBAL_POOL_MAX_PIXELS}-pixel "
                                f"global-pooling limit")
                break
    return problems


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("onnx", "static two-input ONNX (opset 11) for onnxruntime and atc (Ascend 310 boards)", build_onnx),
    Target("caffe", "prototxt + caffemodel in the HiLens Kit's Caffe subset, nothing else", build_caffe),
    Target("om", "HiLens Kit: Caffe in the Kit's subset + aipp.cfg + convert.sh for omg "
                 "(--via onnx: ONNX + aipp.cfg + convert.sh for atc, other Ascend 310 boards)", build_om),
)}
