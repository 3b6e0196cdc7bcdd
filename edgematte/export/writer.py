"""Writes a route's files into a bundle's scratch folder: what the route record (export/routes.py) says the
bundle holds, under the names :mod:`edgematte.bundle` gives each role. One writer serves every route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from edgematte.bundle import BundleSection, BundleWriter, fed_back, file_name
from edgematte.devices import DeviceFamily
from edgematte.export.routes import Route
from edgematte.spec import PipelineSpec

if TYPE_CHECKING:  # keep torch out of `edgematte --help`
    from edgematte.model.modnet_checkpoint import LoadedCheckpoint


@dataclass
class ExportContext:
    spec: PipelineSpec
    route: Route
    weights: "LoadedCheckpoint"
    bundle: "BundleWriter | BundleSection"  # where the network's files go (a refiner's: its section)
    log: Callable[[str], None]
    family: DeviceFamily | None = None   # the family the bundle is for (export --device; the route's default)
    int8: bool = False                   # also write the INT8 ONNX for the CPU stand-in
    int8_max_error: float | None = None  # with int8: keep the most sensitive convolutions FP32 to meet this
    records: dict = field(default_factory=dict)  # manifest sections: onnx_graph, caffe_graph, int8, convert
    roles: list[str] = field(default_factory=list)  # what was written, by role

    def __post_init__(self) -> None:
        self.family = self.family or self.route.default_family


def write_route(ctx: ExportContext, refiner: ExportContext | None = None) -> list[str]:
    """Write every file the route's bundle holds; returns their roles (also in ``ctx.roles``). ``refiner``:
    M-Net's files beside MODNet's in a device bundle (its roles in ``refiner.roles``). Where the device
    compiler is on PATH, convert.sh runs now and the .om files join the bundle."""
    for c in (ctx, refiner) if refiner is not None else (ctx,):
        c.roles += _write_model_files(c)
    if ctx.route.default_family is not None:
        ctx.roles += _write_device_files(ctx, refiner)
    return ctx.roles


def _write_model_files(ctx: ExportContext) -> list[str]:
    route, roles = ctx.route, []
    proto = _onnx_proto(ctx)
    if ctx.family is not None and ctx.family.compiler.prepare is not None:
        proto = _prepare_for_compiler(ctx, proto)
    if route.onnx:
        roles.append(_save_onnx(ctx, proto))
        if ctx.int8:
            roles.append(_write_int8(ctx))
    if route.caffe:
        roles += _write_caffe(ctx, proto)
    return roles


def _onnx_proto(ctx: ExportContext):
    from edgematte.export.onnx import OnnxExporter

    ctx.log(f"exporting ONNX (opset {ctx.spec.opset}, static {ctx.spec.width}x{ctx.spec.height}, onnxsim)")
    return OnnxExporter(ctx.spec).to_proto(ctx.weights.model)


def _prepare_for_compiler(ctx: ExportContext, proto):
    """The exact rewrite the family's compiler needs (its record; atc: atc_onnx.py), its change measured in
    onnxruntime on random inputs, and the graph checked the way the compiler reads it."""
    import numpy as np
    import onnxruntime as ort

    from edgematte.verification.golden import random_feed

    compiler = ctx.family.compiler
    prepared, record = compiler.prepare(proto)
    feed = random_feed(ctx.spec, np.random.default_rng(ctx.spec.seed))
    before, after = (ort.InferenceSession(p.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
                     for p in (proto, prepared))
    record["max_abs_change"] = float(np.abs(before - after).max())
    problems = compiler.onnx_problems(prepared, ctx.spec, ctx.family)
    if problems:
        raise RuntimeError(f"the ONNX for {ctx.family.title}'s {compiler}: {'; '.join(problems)}")
    ctx.log(f"prepared the ONNX for {compiler}: {record['resize_half_pixel_to_pytorch_half_pixel']} Resize nodes "
            f"half_pixel -> pytorch_half_pixel (change in onnxruntime: {record['max_abs_change']:.1e})")
    ctx.records[f"{compiler}_onnx"] = record
    return prepared


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
    header = (f"edgematte {__version__}, preset {ctx.spec.name}: {ctx.spec.network.summary}, for the HiLens Kit "
              f"(DDK omg)")
    ctx.records["caffe_graph"] = CaffeExporter(ctx.spec).export(proto, ctx.bundle.path("prototxt"),
                                                                ctx.bundle.path("caffemodel"), header)
    return ["prototxt", "caffemodel"]


def _write_device_files(ctx: ExportContext, refiner: ExportContext | None) -> list[str]:
    """aipp.cfg, convert.sh with the device family's compiler command (run now if the tool is on PATH),
    the family's app (the HiLens skill or the AscendCL app; MODNet bundles) and the device README. With a
    refiner: its AIPP config and compiler command too, and the app's refiner stage."""
    from edgematte.aipp import aipp_configs, aipp_header, render_configs
    from edgematte.apps import app_of
    from edgematte.export.commands import compiler_command, convert_script, run_convert_script
    from edgematte.export.readme import device_readme

    spec, family, written = ctx.spec, ctx.family, []
    networks = [ctx] + ([refiner] if refiner is not None else [])
    commands = []
    for c in networks:
        c.bundle.path("aipp").write_text(render_configs(aipp_configs(c.spec, family), aipp_header(c.spec, family)))
        commands.append(compiler_command(c.spec, family, c.bundle.rel))
    if refiner is not None:
        refiner.roles.append("aipp")
    script = ctx.bundle.path("convert_script")
    script.write_text(convert_script(commands, spec, family))
    script.chmod(0o755)
    written += ["aipp", "convert_script"]
    ran = all(command.available() for command in commands)
    if ran:
        ctx.log(f"{commands[0].tool} is on PATH: running {file_name('convert_script')}")
        run_convert_script(ctx.bundle.workdir, commands[0])
        written += ["om", "convert_log"]
        if refiner is not None:
            refiner.roles.append("om")
    for c, command in zip(networks, commands):
        c.records["convert"] = {"tool": command.tool, "argv": list(command.argv), "note": command.note, "ran": ran}
    refiner_spec = refiner.spec if refiner is not None else None
    if spec.network.frame_network:  # a refiner alone has no app to run it
        written += app_of(family).write(ctx.bundle, spec, family, refiner_spec, fed_back(ctx.weights.describe()))
    ctx.bundle.path("readme").write_text(device_readme(spec, family, [*ctx.roles, *written, "golden"], commands,
                                                       refiner_spec))
    return [*written, "readme"]
