"""The ONNX handed to CANN's ``atc``, prepared for it and checked the way atc reads it.

Preparation is one exact rewrite. PyTorch exports ``F.interpolate(..., align_corners=False)`` as ONNX Resize
with ``coordinate_transformation_mode = half_pixel``; atc maps Resize (linear) onto Ascend's ResizeBilinearV2,
whose ``half_pixel_centers`` mode is ``pytorch_half_pixel``, and ``half_pixel`` graphs are a known accuracy
trap there (../shared/docs/ascend-boards-2026.md, "Known conversion traps"). The two modes differ only where
an output axis has length 1 (ONNX operator spec, Resize: ``pytorch_half_pixel`` maps that case to 0), so with
static shapes whose resized axes are all longer than 1 the rewrite changes nothing; :func:`prepare_for_atc`
refuses to rewrite otherwise, and the export measures the change in onnxruntime.

The checks (:func:`atc_problems`, also run by ``verify``): the opset within the family's window, float32
graph inputs and outputs (atc's INT64/INT32 errors, E89999 on the 310, come from int64 tensors), no Cast to
int64, and only Resize coordinate modes atc implements exactly.
"""

from __future__ import annotations

from edgematte.spec import PipelineSpec

ATC_EXACT_RESIZE_MODES = ("pytorch_half_pixel", "align_corners", "asymmetric")


def _attr(node, name: str, default=None):
    import onnx

    for a in node.attribute:
        if a.name == name:
            v = onnx.helper.get_attribute_value(a)
            return v.decode() if isinstance(v, bytes) else v
    return default


def _shapes(proto) -> dict[str, list[int]]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(proto)
    values = [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in values}


def prepare_for_atc(proto) -> tuple[object, dict]:
    """A copy of ``proto`` with every ``half_pixel`` Resize rewritten to ``pytorch_half_pixel`` where that is
    exact (all resized axes longer than 1); returns it and a record of what changed."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    shapes = _shapes(out)
    rewritten, kept = 0, []
    for node in out.graph.node:
        if node.op_type != "Resize" or _attr(node, "coordinate_transformation_mode", "half_pixel") != "half_pixel":
            continue
        dims = shapes.get(node.output[0], [])
        if len(dims) == 4 and all(d > 1 for d in dims[2:]):
            for a in node.attribute:
                if a.name == "coordinate_transformation_mode":
                    a.s = b"pytorch_half_pixel"
            rewritten += 1
        else:
            kept.append(node.name or node.output[0])
    return out, {"resize_half_pixel_to_pytorch_half_pixel": rewritten, "resize_not_rewritten": kept}


def atc_problems(proto, spec: PipelineSpec, device) -> list[str]:
    """What in ``proto`` ``device``'s atc would refuse or run inexactly."""
    import onnx

    problems = []
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if device.opset and not (opset is not None and device.opset[0] <= opset <= device.opset[1]):
        problems.append(f"opset {opset} is outside {device.title}'s atc window {device.opset[0]}-{device.opset[1]}")
    float32 = onnx.TensorProto.FLOAT
    for kind, values in (("input", proto.graph.input), ("output", proto.graph.output)):
        for v in values:
            if v.type.tensor_type.elem_type != float32:
                problems.append(f"graph {kind} {v.name} is {onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type)}, "
                                f"not FLOAT")
    for node in proto.graph.node:
        where = node.name or node.output[0]
        if node.op_type == "Cast" and _attr(node, "to") == onnx.TensorProto.INT64:
            problems.append(f"{where} casts to INT64 (atc wants INT32 there)")
        if node.op_type == "Resize":
            mode = _attr(node, "coordinate_transformation_mode", "half_pixel")
            if mode not in ATC_EXACT_RESIZE_MODES:
                problems.append(f"Resize {where} uses coordinate_transformation_mode {mode}, which Ascend's "
                                f"ResizeBilinearV2 does not implement exactly (use {', '.join(ATC_EXACT_RESIZE_MODES)})")
    return problems
