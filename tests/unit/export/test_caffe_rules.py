"""The validator names the layer and the Kit rule for each way a net can break the HiLens Kit's rules."""

import numpy as np
import pytest

from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.caffe.net import CaffeLayer, CaffeNet, Enum
from edgematte.export.caffe.rules import KIT_LAYER_TYPES, deconv_buffer_bytes, kit_rule_problems
from edgematte.export.onnx import OnnxExporter
from edgematte.model.modnet_checkpoint import default_model


def net_with(layer: CaffeLayer, extra_inputs=None) -> CaffeNet:
    net = CaffeNet("t", {"x": (1, 4, 8, 8), **(extra_inputs or {})}, [layer], outputs=list(layer.tops))
    return net


def conv(name="c", **p):
    return CaffeLayer(name, "Convolution", ["x"], [name], {"convolution_param": {"num_output": 4, "kernel_size": 1, **p}},
                      [np.zeros((4, 4, 1, 1))])


@pytest.mark.parametrize("layer,inputs,fragment", [
    (CaffeLayer("r6", "ReLU6", ["x"], ["r6"]), None, "type ReLU6 is not in the HiLens Kit's Caffe operator list"),
    (CaffeLayer("mvn", "MVN", ["x"], ["mvn"]), None, "type MVN is not"),
    (CaffeLayer("r", "ReLU", ["x"], ["relu_out"]), None, "top 'relu_out' must equal the layer name"),
    (CaffeLayer("bn", "BatchNorm", ["x"], ["bn"], {"batch_norm_param": {}}), None, "use_global_stats: true"),
    (CaffeLayer("d", "Deconvolution", ["x"], ["d"], {"convolution_param": {"num_output": 4, "kernel_size": 4,
                                                                            "stride": 2, "group": 4}}),
     None, "group 1 and dilation 1 only"),
    (CaffeLayer("dp", "Deconvolution", ["x"], ["dp"], {"convolution_param": {"num_output": 4, "kernel_size": 4,
                                                                              "stride": 2, "pad": 4}}),
     None, "kernel - pad - 1 >= 0"),
    (CaffeLayer("dw", "Deconvolution", ["wide"], ["dw"], {"convolution_param": {"num_output": 256, "kernel_size": 4,
                                                                                "stride": 2, "pad": 1}},
                [np.zeros((256, 256, 4, 4), np.float32)]),
     {"wide": (1, 256, 8, 8)}, "Deconvolution needs 1110016 bytes of on-chip buffer; the Kit's limit is 1048576"),
    (conv(kernel_size=300), None, "kernel 300 is outside [1, 255]"),
    (conv(stride=64), None, "stride 64 is outside [1, 63]"),
    (CaffeLayer("e", "Eltwise", ["x"] * 5, ["e"], {"eltwise_param": {"operation": Enum("SUM")}}), None,
     "at most 4 inputs, got 5"),
    (CaffeLayer("g", "Pooling", ["big"], ["g"], {"pooling_param": {"pool": Enum("AVE"), "global_pooling": True}}),
     {"big": (1, 1, 101, 100)}, "global pooling over 101x100 = 10100 pixels"),
    (CaffeLayer("p", "Power", ["x"], ["p"], {"power_param": {"power": 1.0, "shift": 1.0}}), None, "power 1"),
    (CaffeLayer("p0", "Power", ["x"], ["p0"], {"power_param": {"power": 0.0, "scale": 0.0}}), None,
     "scale*x + shift > 0"),
    (CaffeLayer("i", "Interp", ["x"], ["i"], {"interp_param": {"zoom_factor": 2, "height": 16, "width": 16}}),
     None, "explicit height and width"),
    (CaffeLayer("i2", "Interp", ["x"], ["i2"], {"interp_param": {"height": 1, "width": 2}}), None,
     "area ratio 0.031 must exceed 1/30"),
    (CaffeLayer("s", "Scale", ["x", "g"], ["s"], {"scale_param": {"axis": 0}}), {"g": (1, 4, 1, 1)},
     "does not match the first's dims (1, 4, 8, 8) from axis 0"),
    (CaffeLayer("sl", "Slice", ["x"], ["sl.0", "sl.1"], {"slice_param": {"axis": 1, "slice_point": [2]}}), None,
     "'sl.1': blob is never used"),
])
def test_each_rule_names_the_layer_and_the_rule(layer, inputs, fragment):
    net = net_with(layer, inputs)
    if layer.type == "Slice":
        net.outputs = ["sl.0"]
    problems = [str(p) for p in kit_rule_problems(net)]
    assert any(fragment in p for p in problems), problems


def test_the_deconvolution_buffer_follows_the_kits_formula():
    # HiLens "Caffe算子边界", Deconvolution: a = 32 * 32 * 4 * 4 * 2, halved (32 is a multiple of 32);
    # b = ((258 - 1) * 2 + 1) * 4 * 32 * 2 * 2
    assert deconv_buffer_bytes((32, 32, 4, 4), 258, 2) == 16384 + 263680
    # 48 channels: ALIGN(48, 16) = 48 is not a multiple of 32, so a is not halved; both blob readings agree
    assert deconv_buffer_bytes((48, 48, 4, 4), 10, 2) == 48 * 48 * 32 + 19 * 4 * 48 * 4
    # the first two dims read either way: the larger need wins
    assert deconv_buffer_bytes((16, 64, 4, 4), 10, 2) == deconv_buffer_bytes((64, 16, 4, 4), 10, 2) == \
        64 * 16 * 32 + 19 * 4 * 64 * 4


def test_bad_inputs_and_broken_wiring_are_reported():
    net = CaffeNet("t", {"x": (1, 4, 8)}, [], outputs=["y"])
    assert any("static 4-D" in str(p) for p in kit_rule_problems(net))
    net = CaffeNet("t", {"x": (1, 4, 8, 8)}, [CaffeLayer("r", "ReLU", ["nope"], ["r"])], outputs=["r"])
    assert "reads 'nope' before it is made" in str(kit_rule_problems(net)[0])


def test_in_place_layers_are_allowed_where_caffe_allows_them():
    ok = CaffeNet("t", {"x": (1, 4, 8, 8)}, [CaffeLayer("r", "ReLU", ["x"], ["x"])], outputs=["x"])
    assert kit_rule_problems(ok) == []
    bad = CaffeNet("t", {"x": (1, 4, 8, 8)}, [CaffeLayer("c", "Concat", ["x"], ["x"])], outputs=["x"])
    assert "Concat cannot run in place" in str(kit_rule_problems(bad)[0])


@pytest.mark.parametrize("align_corners", [False, True])
def test_the_whole_network_obeys_every_rule(tiny_spec, align_corners):
    proto = OnnxExporter(tiny_spec).to_proto(default_model(0, align_corners).model)
    net = lower_onnx(proto)
    assert kit_rule_problems(net) == []
    types = {l.type for l in net.layers}
    assert types <= set(KIT_LAYER_TYPES)
    assert not types & {"ReLU6", "MVN", "Clip", "InnerProduct"}
    assert net.outputs == ["alpha"] and list(net.inputs) == ["image", "prev_alpha"]
    interps = [l for l in net.layers if l.type == "Interp" and l.origin.startswith("Resize")]
    deconvs = [l for l in net.layers if l.type == "Deconvolution"]
    if align_corners:  # the six upsamples and the two downscales are one Interp each
        assert len(interps) == 8 and not deconvs
    else:  # each half-pixel x2 is a Deconvolution, or an Interp chain where its C x C kernel would not fit
        assert len(interps) + len(deconvs) == 6 and len(deconvs) >= 4
        assert all(net.shape_of(l.bottoms[0])[1] == 1280 for l in interps)
    norms = {n.name for n in proto.graph.node if n.op_type == "InstanceNormalization"}
    broadcasts = [l for l in net.layers if l.type == "Interp" and l.origin.startswith("InstanceNormalization")]
    assert len(broadcasts) == len(norms) and all(net.shape_of(l.bottoms[0])[2:] == (1, 1) for l in broadcasts)
