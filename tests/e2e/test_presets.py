"""Every preset at full size, through the HiLens route, with an official-format checkpoint: the ONNX and the Kit-subset Caffe files match
PyTorch within 1e-4 (the tolerance's floor) in every check and every rollout frame, in all three readers;
the ONNX graph has the contract's inputs, static shapes, opset and no shape ops."""

import pytest

from edgematte import api
from edgematte.export.onnx import FORBIDDEN_OPS
from edgematte.spec import PRESETS


# Full size: 33, 35 and 60 s on 2 cores, under `make test-all` (the tiny exports of the default suite run the
# same code paths; `make demo` exports the default preset at full size).
@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_exports_and_matches_pytorch(tmp_path, preset, official_ckpt):
    """With an official-architecture checkpoint: random weights and random BatchNorm statistics."""
    spec = PRESETS[preset]
    result = api.export(to="om", checkpoint=official_ckpt, preset=preset, out=tmp_path / preset)
    m = result.manifest.to_dict()
    assert m["spec"]["name"] == preset
    graph = m["onnx_graph"]
    assert graph["opset"] == 11
    assert graph["inputs"] == {"image": [1, 3, spec.height, spec.width], "prev_alpha": [1, 1, spec.height, spec.width]}
    assert graph["outputs"] == {"alpha": [1, 1, spec.height, spec.width]}
    assert not set(graph["ops"]) & set(FORBIDDEN_OPS)
    assert {c.reader for c in result.checks} == {"onnxruntime", "caffe-numpy", "opencv-dnn"}
    for check in result.checks:
        assert check.max_abs <= 1e-4, check.line()
    assert m["caffe_graph"]["inputs"] == graph["inputs"]
    for rollout in (c for c in result.checks if c.check == "rollout"):
        assert len(rollout.frames) == spec.rollout_frames
        assert all(f["max_abs"] <= 1e-4 for f in rollout.frames)
