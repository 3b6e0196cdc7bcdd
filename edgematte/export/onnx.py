"""PyTorch -> ONNX: static shapes, the spec's tensor names and opset, simplified, checked, with the spec
embedded in the model's metadata (``edgematte.spec``)."""

from __future__ import annotations

import collections
import io
import json
import warnings
from pathlib import Path

from edgematte.errors import EdgematteError
from edgematte.spec import PipelineSpec

# Ops a static, NPU-friendly graph must not contain: they compute shapes at run time.
FORBIDDEN_OPS = ("Shape", "Gather", "Expand", "ConstantOfShape")
SPEC_METADATA_KEY = "edgematte.spec"


class OnnxExporter:
    """Exports MODNet4 or M-Net (the spec's ``model``) to one static two-input ONNX file. M-Net is exported in
    its index-free form (:mod:`edgematte.model.unpool`): ONNX cannot carry max-unpooling by indices."""

    def __init__(self, spec: PipelineSpec, simplify: bool = True):
        self.spec = spec
        self.simplify = simplify

    def to_proto(self, model):
        import onnx
        import torch

        spec = self.spec
        model = model.deployable()
        dummy = (torch.zeros(spec.image_shape), torch.zeros(spec.alpha_shape))
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation and IN train-mode notes
            torch.onnx.export(model.eval(), dummy, buf, opset_version=spec.opset, dynamo=False,
                              input_names=list(spec.input_names), output_names=[spec.alpha_output],
                              do_constant_folding=True)
        proto = onnx.load_from_string(buf.getvalue())
        if self.simplify:
            import onnxsim

            proto, ok = onnxsim.simplify(proto)
            if not ok:
                raise RuntimeError("onnxsim could not validate the simplified model")
        del proto.metadata_props[:]
        entry = proto.metadata_props.add()
        entry.key, entry.value = SPEC_METADATA_KEY, json.dumps(spec.to_dict(), sort_keys=True)
        onnx.checker.check_model(proto, full_check=True)
        problems = graph_problems(proto, spec)
        if problems:
            raise RuntimeError("the exported ONNX graph breaks the deployment contract: " + "; ".join(problems))
        return proto

    def export(self, model, path: str | Path) -> Path:
        import onnx

        path = Path(path)
        onnx.save(self.to_proto(model), str(path))
        return path


def _dims(value_info) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value_info.type.tensor_type.shape.dim]


def graph_summary(proto) -> dict:
    """Opset, I/O names and shapes, node count and op histogram of an ONNX model."""
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "opset": opset,
        "inputs": {i.name: _dims(i) for i in proto.graph.input},
        "outputs": {o.name: _dims(o) for o in proto.graph.output},
        "nodes": len(proto.graph.node),
        "ops": dict(sorted(collections.Counter(n.op_type for n in proto.graph.node).items())),
    }


def graph_problems(proto, spec: PipelineSpec) -> list[str]:
    """What in the graph differs from the contract: names, static shapes, opset, forbidden ops."""
    s = graph_summary(proto)
    problems = []
    if s["opset"] != spec.opset:
        problems.append(f"opset {s['opset']}, expected {spec.opset}")
    want_in = {k: list(v) for k, v in spec.input_shapes.items()}
    want_out = {k: list(v) for k, v in spec.output_shapes.items()}
    if s["inputs"] != want_in:
        problems.append(f"inputs {s['inputs']}, expected {want_in}")
    if s["outputs"] != want_out:
        problems.append(f"outputs {s['outputs']}, expected {want_out}")
    bad = sorted(op for op in s["ops"] if op in FORBIDDEN_OPS)
    if bad:
        problems.append(f"dynamic-shape ops present: {', '.join(bad)}")
    return problems


def read_spec_metadata(path: str | Path) -> dict | None:
    """The spec an edgematte ONNX file was exported with, or None for other files."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others for a file that is not ONNX
        raise EdgematteError(f"{path} is not a readable ONNX model ({type(e).__name__})") from None
    for entry in proto.metadata_props:
        if entry.key == SPEC_METADATA_KEY:
            return json.loads(entry.value)
    return None
