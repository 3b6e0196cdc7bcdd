"""The device cost model's counting rules, on hand-built layers and on the graphs of both routes."""

import dataclasses

import pytest
import torch
from onnxtools import module_to_onnx as to_onnx
from torch import nn

from edgematte.bench.cost import count_macs
from edgematte.costmodel import CHIPS, Op, conv_macs, deconv_macs, ops_from_caffe, ops_from_onnx, predict
from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.onnx import OnnxExporter
from edgematte.model.modnet_checkpoint import default_model

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


def test_a_transposed_convolution_runs_on_the_stride_dilated_input():
    """k4 s2 on 8x8 -> 16x16 (pad 1): the cube does a 4x4 convolution at every output pixel, zeros included;
    the useful work is each input pixel scattering its kernel once."""
    tiled, useful = deconv_macs(1, 32, 32, 1, (4, 4), (8, 8), (16, 16))
    assert tiled == conv_macs(1, 32, 32, 1, (4, 4), (16, 16))[0] == 256 * 32 * 16 * 32
    assert useful == 64 * 32 * 16 * 32 and tiled == 4 * useful
    ops = ops_from_onnx(to_onnx(nn.ConvTranspose2d(32, 32, 4, 2, 1, bias=False), (1, 32, 8, 8)))
    assert (ops[0].macs, ops[0].useful_macs) == (tiled, useful)
