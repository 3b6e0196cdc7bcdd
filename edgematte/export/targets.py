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
    extra: dict = field(default_factory=dict)  # target-specific facts for the manifest


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    build: Callable[[ExportContext], dict[str, str]]  # writes files into ctx.workdir; returns role -> relpath


MODEL_STEM = "modnet4"
ONNX_FILE = f"{MODEL_STEM}.onnx"
PROTOTXT_FILE = f"{MODEL_STEM}.prototxt"
CAFFEMODEL_FILE = f"{MODEL_STEM}.caffemodel"
AIPP_FILE = "aipp.cfg"
CONVERT_FILE = "convert.sh"
OM_ROUTES = ("caffe", "onnx")


def _onnx_proto(ctx: ExportContext):
    import onnx

    from edgematte.export.onnx import OnnxExporter, graph_summary

    ctx.log(f"exporting ONNX (opset {ctx.spec.opset}, static {ctx.spec.width}x{ctx.spec.height}, onnxsim)")
    proto = OnnxExporter(ctx.spec).to_proto(ctx.weights.model)
    onnx.save(proto, str(ctx.workdir / ONNX_FILE))
    ctx.extra["onnx_graph"] = graph_summary(proto)
    return proto


def build_onnx(ctx: ExportContext) -> dict[str, str]:
    _onnx_proto(ctx)
    return {"onnx": ONNX_FILE}


def build_om(ctx: ExportContext) -> dict[str, str]:
    """Everything the device compiler needs, plus the ONNX the CPU stand-in runs:
    Caffe (Kit subset) + aipp.cfg + convert.sh calling omg, or with ``via="onnx"`` the ONNX for atc."""
    from edgematte import __version__
    from edgematte.aipp import aipp_from_spec, aipp_header, aipp_problems
    from edgematte.export.commands import atc_command, convert_script, omg_command

    spec, via = ctx.spec, ctx.via or "caffe"
    proto = _onnx_proto(ctx)
    artifacts = {"onnx": ONNX_FILE}
    if via == "caffe":
        from edgematte.export.caffe.export import CaffeExporter

        ctx.log("lowering to Caffe in the HiLens Kit's operator subset, checking the Kit's rules")
        net = CaffeExporter(spec).export(proto, ctx.workdir / PROTOTXT_FILE, ctx.workdir / CAFFEMODEL_FILE,
                                         header=f"edgematte {__version__}, preset {spec.name}: lowered from "
                                                f"{ONNX_FILE} for the HiLens Kit (DDK omg)")
        ctx.extra["caffe_graph"] = net
        artifacts.update(prototxt=PROTOTXT_FILE, caffemodel=CAFFEMODEL_FILE)
        command = omg_command(spec, PROTOTXT_FILE, CAFFEMODEL_FILE, AIPP_FILE, MODEL_STEM)
    else:
        command = atc_command(spec, ONNX_FILE, AIPP_FILE, MODEL_STEM)
    aipp = aipp_from_spec(spec)
    problems = aipp_problems(aipp, spec)
    if problems:  # the spec is ours, so this is a bug, not a user error
        raise RuntimeError("the generated AIPP config breaks Ascend 310 rules: " + "; ".join(problems))
    (ctx.workdir / AIPP_FILE).write_text(aipp.render(aipp_header(spec)))
    script = ctx.workdir / CONVERT_FILE
    script.write_text(convert_script([command], spec))
    script.chmod(0o755)
    ctx.extra["convert"] = {"tool": command.tool, "argv": list(command.argv), "note": command.note,
                            "tool_on_path": command.available()}
    return {**artifacts, "aipp": AIPP_FILE, "convert": CONVERT_FILE}


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("onnx", "static two-input ONNX (opset 11) for onnxruntime and atc (Ascend 310 boards)", build_onnx),
    Target("om", "HiLens Kit: Caffe in the Kit's subset + aipp.cfg + convert.sh for omg "
                 "(--via onnx: ONNX + aipp.cfg + convert.sh for atc, other Ascend 310 boards)", build_om),
)}
