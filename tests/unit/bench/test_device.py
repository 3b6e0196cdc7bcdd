"""The device cost model: its counting rules on hand-built layers, the graphs of both routes, the fitted
constants against the published points, and the Kit graph it chose."""

import dataclasses
import re
from pathlib import Path

import pytest
import torch
from onnxtools import module_to_onnx as to_onnx
from torch import nn

from edgematte.bench.cost import count_macs
from edgematte.bench.device import (CHIPS, MODEL_NOTE, Op, chips_table, conv_macs, device_report, ops_from_caffe,
                                    ops_from_onnx, predict, route_graphs)
from edgematte.bench.published import FIT_POINTS, POINTS, comparison, comparison_table, fit_overhead
from edgematte.devices import DEVICES
from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.onnx import OnnxExporter
from edgematte.model.checkpoint import default_model

DOC = Path(__file__).parents[3] / "docs" / "performance.md"
CHIP = CHIPS["Ascend310"]


def test_the_cube_counts_in_16_wide_tiles():
    # 1x1 conv, 3 -> 8 channels on 5x5: M = 25 -> 32, K = 3 -> 16, N = 8 -> 16
    assert conv_macs(1, 3, 8, 1, (1, 1), (5, 5)) == (32 * 16 * 16, 25 * 3 * 8)
    # depthwise 3x3 on 32 channels: one channel in 16 of each tile is used, so 16x the useful work
    tiled, useful = conv_macs(1, 32, 32, 32, (3, 3), (16, 16))
    assert useful == 256 * 32 * 9 and tiled == 16 * useful
    # channel counts that are already multiples of 16 cost exactly what they compute
    assert conv_macs(1, 64, 128, 1, (3, 3), (16, 16))[0] == conv_macs(1, 64, 128, 1, (3, 3), (16, 16))[1]


def test_an_op_costs_the_slower_of_compute_and_memory_plus_the_overhead():
    op = Op("c", "Conv", "cube", (1, 16, 8, 8), macs=4_000_000, activation_bytes=1_000_000, weight_bytes=24_000)
    t = predict([op], CHIP).times[0]
    assert t.compute_s == pytest.approx(2 * 4e6 / CHIP.fp16_flops)
    assert t.memory_s == pytest.approx(1.024e6 / CHIP.dram_bytes_s)
    assert t.seconds == pytest.approx(max(t.compute_s, t.memory_s) + CHIP.op_overhead_s) and t.bound == "memory"
    assert predict([op], CHIP, "int8").times[0].compute_s == pytest.approx(t.compute_s / 2)
    free = [dataclasses.replace(op, unit=u) for u in ("fused", "free")]
    assert predict(free, CHIP).seconds == 0
    with pytest.raises(ValueError, match="fp16 or int8"):
        predict([op], CHIP, "int4")


def test_an_activation_fuses_into_the_convolution_it_alone_reads():
    conv = nn.Conv2d(3, 16, 3, padding=1)
    fused = ops_from_onnx(to_onnx(nn.Sequential(conv, nn.BatchNorm2d(16), nn.ReLU6()), (1, 3, 8, 8)))
    # BatchNorm folded by the exporter, the Clip fused (its bounds are Constant nodes: shape-only, free)
    assert [o.unit for o in fused if o.type != "Constant"] == ["cube", "fused"]

    class ReadTwice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv

        def forward(self, x):
            y = self.conv(x)
            return torch.relu(y) + y

    ops = ops_from_onnx(to_onnx(ReadTwice(), (1, 3, 8, 8)))
    assert [o.unit for o in ops] == ["cube", "vector", "vector"]


def test_an_op_without_an_ai_core_kernel_runs_on_the_ai_cpu_at_its_own_rate():
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 8, 16, 16))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 8, 16, 16))
    graph = helper.make_graph([helper.make_node("Round", ["x"], ["y"], name="round")], "g", [x], [y])
    (op,) = ops_from_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    assert op.unit == "aicpu"
    t = predict([op], CHIP).times[0]
    assert t.compute_s == pytest.approx(8 * 16 * 16 / CHIP.aicpu_flops) and t.compute_s > t.memory_s


def test_both_routes_count_the_networks_macs(tiny_spec):
    model = default_model(0).model
    proto = OnnxExporter(tiny_spec).to_proto(model)
    macs = count_macs(model, tiny_spec.image_shape, tiny_spec.alpha_shape)
    assert sum(o.useful_macs for o in ops_from_onnx(proto)) == macs
    net = lower_onnx(proto)
    caffe = ops_from_caffe(net)
    # the Kit's graph adds exactly the second, bias-shifted convolution of each ReLU6 and its own resizes
    shifted = sum(o.useful_macs for o in caffe if o.name.endswith("conv_minus6"))
    resize = sum(o.useful_macs for l, o in zip(net.layers, caffe) if l.origin.startswith("Resize"))
    assert shifted > 0 and sum(o.useful_macs for o in caffe) == macs + shifted + resize
    assert len(caffe) == len(net.layers)


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
    """The shifted-convolution ReLU6, the per-part convolutions of IBNorm's split and the ReLU pushed into its
    concat each lower the predicted time; switched off, the graph is the one before the cost model."""
    from edgematte.export.caffe import lowering

    proto = OnnxExporter(tiny_spec).to_proto(default_model(0).model)
    chosen = predict(ops_from_caffe(lower_onnx(proto)), CHIP)
    monkeypatch.setattr(lowering.OnnxToCaffe, "_sole_layer", lambda self, tensor, kind: None)
    plain_net = lower_onnx(proto)
    plain = predict(ops_from_caffe(plain_net), CHIP)
    assert chosen.seconds < plain.seconds and chosen.launched < plain.launched
    assert {l.type for l in plain_net.layers} >= {"Slice", "Scale"}


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
