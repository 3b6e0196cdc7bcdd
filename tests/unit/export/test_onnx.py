import json

import numpy as np
import onnx
import pytest

from edgematte.export.onnx import FORBIDDEN_OPS, SPEC_METADATA_KEY, graph_problems, graph_summary, read_spec_metadata
from edgematte.spec import PipelineSpec


@pytest.fixture(scope="module")
def proto(exported_bundle):
    return onnx.load(str(exported_bundle.out / exported_bundle.manifest.artifacts["onnx"]))


def test_graph_has_exactly_the_contract_inputs_and_output(proto, tiny_spec):
    s = graph_summary(proto)
    assert s["opset"] == 11
    assert s["inputs"] == {"image": [1, 3, 64, 64], "prev_alpha": [1, 1, 64, 64]}
    assert s["outputs"] == {"alpha": [1, 1, 64, 64]}
    assert not set(s["ops"]) & set(FORBIDDEN_OPS)
    assert graph_problems(proto, tiny_spec) == []


def test_spec_travels_inside_the_model(proto, tiny_spec, exported_bundle):
    meta = {p.key: p.value for p in proto.metadata_props}
    assert PipelineSpec.from_dict(json.loads(meta[SPEC_METADATA_KEY])) == tiny_spec
    path = exported_bundle.out / exported_bundle.manifest.artifacts["onnx"]
    assert read_spec_metadata(path) == tiny_spec.to_dict()


def test_graph_problems_name_every_broken_rule(proto, tiny_spec):
    bad = onnx.ModelProto()
    bad.CopyFrom(proto)
    bad.graph.input[1].name = "pha_prev"
    bad.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "height"
    bad.graph.node.add(op_type="Shape", input=["image"], output=["s"])
    bad.opset_import[0].version = 13
    problems = "; ".join(graph_problems(bad, tiny_spec))
    for text in ("opset 13, expected 11", "'pha_prev'", "'height'", "dynamic-shape ops present: Shape"):
        assert text in problems


def test_onnx_alpha_is_in_range_and_uses_the_previous_alpha(exported_bundle, tiny_spec):
    from edgematte.runtime.ort import OrtRunner

    runner = OrtRunner(exported_bundle.out / "modnet4.onnx")
    image = np.random.default_rng(0).uniform(-1, 1, tiny_spec.image_shape).astype(np.float32)
    outs = [runner.infer({"image": image, "prev_alpha": np.full(tiny_spec.alpha_shape, v, np.float32)})["alpha"]
            for v in (0.0, 1.0)]
    assert all(o.shape == (1, 1, 64, 64) and 0 <= o.min() and o.max() <= 1 for o in outs)
    assert np.abs(outs[0] - outs[1]).max() > 1e-4
