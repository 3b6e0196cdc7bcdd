"""Writes a route's files into a bundle's scratch folder: what the route record (export/routes.py) says the
bundle holds, under the names :mod:`edgematte.bundle` gives each role. One writer serves every route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from edgematte.bundle import BundleWriter, file_name
from edgematte.export.routes import Route
from edgematte.spec import PipelineSpec

if TYPE_CHECKING:  # keep torch out of `edgematte --help`
    from edgematte.model.checkpoint import LoadedCheckpoint


@dataclass
class ExportContext:
    spec: PipelineSpec
    route: Route
    weights: "LoadedCheckpoint"
    bundle: BundleWriter
    log: Callable[[str], None]
    int8: bool = False                   # also write the INT8 ONNX for the CPU stand-in
    int8_max_error: float | None = None  # with int8: keep the most sensitive convolutions FP32 to meet this
    records: dict = field(default_factory=dict)  # manifest sections: onnx_graph, caffe_graph, int8, convert


def write_route(ctx: ExportContext) -> list[str]:
    """Write every file the route's bundle holds; returns their roles. Where the device compiler is on
    PATH, convert.sh runs now and the .om joins the bundle."""
    route, roles = ctx.route, []
    proto = _onnx_proto(ctx)
    if route.onnx:
        roles.append(_save_onnx(ctx, proto))
        if ctx.int8:
            roles.append(_write_int8(ctx))
    if route.caffe:
        roles += _write_caffe(ctx, proto)
    if route.device is not None:
        roles += _write_device_files(ctx, roles)
    return roles


def _onnx_proto(ctx: ExportContext):
    from edgematte.export.onnx import OnnxExporter

    ctx.log(f"exporting ONNX (opset {ctx.spec.opset}, static {ctx.spec.width}x{ctx.spec.height}, onnxsim)")
    return OnnxExporter(ctx.spec).to_proto(ctx.weights.model)


def _save_onnx(ctx: ExportContext, proto) -> str:
    import onnx

    from edgematte.export.onnx import graph_summary

    onnx.save(proto, str(ctx.bundle.path("onnx")))
    ctx.records["onnx_graph"] = graph_summary(proto)
    return "onnx"


def _write_int8(ctx: ExportContext) -> str:
    """The INT8 model for the CPU stand-in (not for the device compilers), with its measured error."""
    from edgematte.quantize.int8 import write_int8

    record = write_int8(ctx.bundle.path("onnx"), ctx.bundle.path("onnx_int8"), ctx.spec, ctx.int8_max_error,
                        log=ctx.log)
    ctx.records["int8"] = {"file": file_name("onnx_int8"),
                           "for": "the CPU stand-in (edgematte run --int8); not for omg/atc", **record}
    return "onnx_int8"


def _write_caffe(ctx: ExportContext, proto) -> list[str]:
    from edgematte import __version__
    from edgematte.export.caffe.export import CaffeExporter

    ctx.log("lowering to Caffe in the HiLens Kit's operator subset, checking the Kit's rules")
    header = f"edgematte {__version__}, preset {ctx.spec.name}: MODNet (RGB + previous alpha) for the HiLens Kit (DDK omg)"
    ctx.records["caffe_graph"] = CaffeExporter(ctx.spec).export(proto, ctx.bundle.path("prototxt"),
                                                                ctx.bundle.path("caffemodel"), header)
    return ["prototxt", "caffemodel"]


def _write_device_files(ctx: ExportContext, roles: list[str]) -> list[str]:
    """aipp.cfg, convert.sh with the device family's compiler command (run now if the tool is on PATH),
    the skill and the device README."""
    from edgematte.aipp import aipp_from_spec, aipp_header
    from edgematte.export.commands import compiler_command, convert_script, run_convert_script
    from edgematte.export.readme import device_readme
    from edgematte.skill import write_skill

    spec, device, written = ctx.spec, ctx.route.device, []
    command = compiler_command(spec, device)
    ctx.bundle.path("aipp").write_text(aipp_from_spec(spec).render(aipp_header(spec)))
    script = ctx.bundle.path("convert_script")
    script.write_text(convert_script([command], spec))
    script.chmod(0o755)
    written += ["aipp", "convert_script"]
    ran = command.available()
    if ran:
        ctx.log(f"{command.tool} is on PATH: running {file_name('convert_script')}")
        run_convert_script(ctx.bundle.workdir, command)
        written += ["om", "convert_log"]
    ctx.records["convert"] = {"tool": command.tool, "argv": list(command.argv), "note": command.note, "ran": ran}
    written += write_skill(ctx.bundle, spec)
    ctx.bundle.path("readme").write_text(device_readme(spec, [*roles, *written, "golden"], command))
    return [*written, "readme"]
