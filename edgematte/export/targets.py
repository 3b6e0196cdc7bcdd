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
    extra: dict = field(default_factory=dict)  # target-specific facts for the manifest


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    build: Callable[[ExportContext], dict[str, str]]  # writes files into ctx.workdir; returns role -> relpath


ONNX_FILE = "modnet4.onnx"


def build_onnx(ctx: ExportContext) -> dict[str, str]:
    import onnx

    from edgematte.export.onnx import OnnxExporter, graph_summary

    ctx.log(f"exporting ONNX (opset {ctx.spec.opset}, static {ctx.spec.width}x{ctx.spec.height}, onnxsim)")
    proto = OnnxExporter(ctx.spec).to_proto(ctx.weights.model)
    onnx.save(proto, str(ctx.workdir / ONNX_FILE))
    ctx.extra["onnx_graph"] = graph_summary(proto)
    return {"onnx": ONNX_FILE}


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("onnx", "static two-input ONNX (opset 11) for onnxruntime and atc (Ascend 310 boards)", build_onnx),
)}
