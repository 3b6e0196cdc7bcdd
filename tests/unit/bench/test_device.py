"""bench --device's report: the routes per chip, the fitted constants against the published points, the Kit
graph the cost model chose, and the tables the docs show."""

import re
from pathlib import Path

import pytest

from edgematte.bench.device import MODEL_NOTE, chips_table, device_report, route_graphs
from edgematte.bench.published import FIT_POINTS, POINTS, comparison, comparison_table, fit_overhead
from edgematte.costmodel import CHIPS, ops_from_caffe, predict
from edgematte.devices import DEVICES
from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.onnx import OnnxExporter
from edgematte.model.modnet_checkpoint import default_model

DOC = Path(__file__).parents[3] / "docs" / "performance.md"
CHIP = CHIPS["Ascend310"]


def test_routes_follow_the_device_table(tiny_spec):
    proto = OnnxExporter(tiny_spec).to_proto(default_model(0).model)
    assert list(route_graphs(proto, tiny_spec, "Ascend310")) == ["caffe (omg)", "onnx (atc)"]
    assert list(route_graphs(proto, tiny_spec, "Ascend310P3")) == ["onnx (atc)"]
    report = device_report(proto, tiny_spec, DEVICES["ascend310b4"], top=3)
    (route,) = report["routes"]
    assert report["note"] == MODEL_NOTE and len(route["fp16"]["top"]) == 3
    assert route["int8"]["infer_ms"] <= route["fp16"]["infer_ms"]
    ms = [t["ms"] for t in route["fp16"]["top"]]
    assert ms == sorted(ms, reverse=True)


def test_the_kit_lowering_is_the_cheaper_of_the_exact_ones(tiny_spec, monkeypatch):
    """The shifted-convolution ReLU6, the per-part convolutions of IBNorm's split, the ReLU pushed into its
    concat and the Deconvolution x2 upsample each lower the predicted time; switched off, the graph is the
    one before the cost model."""
    from edgematte.export.caffe import lowering

    proto = OnnxExporter(tiny_spec).to_proto(default_model(0).model)
    chosen_net = lower_onnx(proto)
    chosen = predict(ops_from_caffe(chosen_net), CHIP)
    monkeypatch.setattr(lowering, "cheaper_x2_upsample", lambda c, h, w: "interp")
    interp = predict(ops_from_caffe(lower_onnx(proto)), CHIP)
    monkeypatch.setattr(lowering.OnnxToCaffe, "_sole_layer", lambda self, tensor, kind: None)
    plain_net = lower_onnx(proto)
    plain = predict(ops_from_caffe(plain_net), CHIP)
    assert chosen.seconds < interp.seconds < plain.seconds and chosen.launched < interp.launched < plain.launched
    assert "Deconvolution" in {l.type for l in chosen_net.layers}
    assert {l.type for l in plain_net.layers} >= {"Slice", "Scale"} and "Deconvolution" not in \
        {l.type for l in plain_net.layers}


def test_the_fitted_overheads_and_the_published_table_are_what_the_docs_show():
    cache = {}
    for soc, chip in CHIPS.items():
        assert chip.op_overhead_s == pytest.approx(fit_overhead(soc, cache), abs=0.06e-6), soc
    rows = comparison(cache)
    assert len(rows) == len(POINTS) and sum(r["fitted"] for r in rows) == len(set(FIT_POINTS.values()))
    text = DOC.read_text()
    assert comparison_table(rows) in text and chips_table() in text
    held_out = [abs(r["error"]) for r in rows if not r["fitted"]]
    quoted = re.search(r"held out: (\d+) points, median \|error\| (\d+) %, largest (\d+) %", text)
    assert quoted and int(quoted[1]) == len(held_out)
    assert int(quoted[2]) == round(100 * sorted(held_out)[len(held_out) // 2])
    assert int(quoted[3]) == round(100 * max(held_out))


def test_the_preset_table_is_what_the_docs_show():
    from edgematte.bench.device import preset_table
    from edgematte.spec import PRESETS

    assert preset_table(PRESETS.values()) in DOC.read_text()
