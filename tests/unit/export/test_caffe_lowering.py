"""Each lowering onto the Kit's Caffe layers, on a tiny torch module: PyTorch vs our numpy executor and
OpenCV DNN. Max abs error must stay at float rounding (exact lowerings), and only Kit layer types appear."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from onnxtools import module_to_onnx as to_onnx
from torch import nn

from edgematte.export.caffe.lowering import LoweringError, lower_onnx
from edgematte.export.caffe.rules import KIT_LAYER_TYPES, kit_rule_problems
from edgematte.export.caffe.writer import write_caffe
from edgematte.runtime.caffe_ref import CaffeRefRunner
from edgematte.runtime.opencv_caffe import OpenCvCaffeRunner

EXACT = 2e-6


def lowered(module, shape, tmp_path, fold=True, x2_upsample=None):
    net = lower_onnx(to_onnx(module, shape), "t", fold=fold, x2_upsample=x2_upsample)
    assert kit_rule_problems(net) == []
    assert {l.type for l in net.layers} <= set(KIT_LAYER_TYPES)
    write_caffe(net, tmp_path / "t.prototxt", tmp_path / "t.caffemodel")
    return net


def errors(module, shape, tmp_path, seed=0, scale=1.0, fold=True, x2_upsample=None):
    """Max abs error of (numpy executor, OpenCV) against PyTorch on a random input."""
    net = lowered(module, shape, tmp_path, fold, x2_upsample)
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    got_np = CaffeRefRunner(tmp_path / "t.prototxt", tmp_path / "t.caffemodel").infer({"x": x})["y"]
    cv = OpenCvCaffeRunner(tmp_path / "t.prototxt", tmp_path / "t.caffemodel")
    try:
        got_cv = cv.infer({"x": x})["y"]
    finally:
        cv.close()
    assert got_np.shape == want.shape and got_cv.shape == want.shape
    return float(np.abs(got_np - want).max()), float(np.abs(got_cv - want).max()), net


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_relu6_is_relu_minus_shifted_relu(tmp_path):
    e_np, e_cv, net = errors(Lambda(F.relu6), (1, 3, 8, 8), tmp_path, scale=8)
    assert e_np <= EXACT and e_cv <= EXACT
    assert "ReLU6" not in {l.type for l in net.layers}
    assert [l.type for l in net.layers] == ["Scale", "ReLU", "ReLU", "Eltwise"]


@pytest.mark.parametrize("groups", [1, 4])
def test_relu6_after_a_convolution_shifts_a_second_convolution(tmp_path, groups):
    """conv -> ReLU6 (MobileNetV2's pattern): x - 6 is the same convolution with its bias lowered by 6, so each
    ReLU follows a convolution and no full-size Scale pass is left (the device cost model's choice)."""
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 8 if groups == 1 else 4, 3, padding=1, groups=groups)
    e_np, e_cv, net = errors(nn.Sequential(conv, nn.ReLU6()), (1, 4, 8, 8), tmp_path, scale=8)
    assert e_np <= EXACT * 8 and e_cv <= EXACT * 8
    assert [l.type for l in net.layers] == ["Convolution", "Convolution", "ReLU", "ReLU", "Eltwise"]
    first, second = net.layers[:2]
    assert second.bottoms == first.bottoms
    np.testing.assert_array_equal(second.blobs[0], first.blobs[0])
    np.testing.assert_array_equal(second.blobs[1], first.blobs[1] - np.float32(6))
    assert [l.bottoms[0] for l in net.layers[2:4]] == [first.tops[0], second.tops[0]]


def test_relu6_of_a_convolution_read_twice_keeps_the_scale(tmp_path):
    class ReadTwice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            y = self.conv(x)
            return F.relu6(y) + y

    e_np, e_cv, net = errors(ReadTwice(), (1, 3, 4, 4), tmp_path, scale=8)
    assert e_np <= EXACT * 8 and e_cv <= EXACT * 8
    assert [l.type for l in net.layers].count("Convolution") == 1 and "Scale" in {l.type for l in net.layers}


@pytest.mark.parametrize("hw", [(8, 12), (128, 96)])  # 128x96 = 12288 px: pre-pooled below the 10000 limit
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm(tmp_path, hw, affine):
    module = nn.InstanceNorm2d(4, affine=affine)
    if affine:
        with torch.no_grad():
            module.weight.uniform_(0.5, 2)
            module.bias.uniform_(-1, 1)
    # A large mean and a small spread, as SE-scaled features have: a sloppy variance would show here.
    shape = (1, 4, *hw)
    stressed = nn.Sequential(Lambda(lambda x: x * 0.02 + 0.5), module)
    e_np, e_cv, net = errors(stressed, shape, tmp_path)
    # OpenCV sums a pooling window sequentially in float32: over 3072 pixels at mean/std = 25 that costs
    # up to ~4e-5 here. A wrong formula (eps outside the sqrt, E[x^2] - E[x]^2) is off by 1e-1 and more.
    assert e_np <= 1e-5 and e_cv <= 1e-4
    pools = [l for l in net.layers if l.type == "Pooling" and l.params["pooling_param"].get("global_pooling")]
    assert len(pools) == 2
    if hw == (128, 96):
        assert any(l.params["pooling_param"].get("kernel_size") == 2 for l in net.layers if l.type == "Pooling")


def test_se_channel_gate_is_a_two_input_scale(tmp_path):
    class SE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Conv2d(6, 6, 1, bias=False)

        def forward(self, x):
            return x * torch.sigmoid(self.fc(F.adaptive_avg_pool2d(x, 1)))

    e_np, e_cv, net = errors(SE(), (1, 6, 5, 7), tmp_path)
    assert e_np <= EXACT and e_cv <= EXACT
    scale = [l for l in net.layers if l.type == "Scale"]
    assert len(scale) == 1 and len(scale[0].bottoms) == 2 and scale[0].params["scale_param"]["axis"] == 0


@pytest.mark.parametrize("factor,types", [(0.5, ["Pooling"]), (0.25, ["Convolution"])])
def test_half_pixel_downscales(tmp_path, factor, types):
    fn = Lambda(lambda x: F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False))
    e_np, e_cv, net = errors(fn, (1, 4, 16, 24), tmp_path)
    assert e_np <= EXACT and e_cv <= EXACT
    assert [l.type for l in net.layers] == types


@pytest.mark.parametrize("how,last", [("deconv", "Deconvolution"), ("interp", "Pooling")])
@pytest.mark.parametrize("hw", [(1, 1), (1, 2), (2, 3), (5, 7), (9, 16)])
def test_half_pixel_x2_upsample_is_exact_including_edges(tmp_path, hw, how, last):
    fn = Lambda(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    e_np, e_cv, net = errors(fn, (1, 3, *hw), tmp_path, x2_upsample=how)
    assert e_np <= EXACT and e_cv <= EXACT
    pad = {"Slice", "Concat"}  # the replicate pad (a 1-sample axis needs no Slice)
    assert net.layers[-1].type == last and {l.type for l in net.layers[:-1]} <= pad | {"Interp"}
    assert (net.layers[0].type == "Interp") == (how == "interp")


@pytest.mark.parametrize("channels,width,how", [(32, 256, "deconv"), (96, 32, "deconv"), (1280, 16, "interp")])
def test_x2_upsample_is_the_cheaper_exact_lowering_that_the_kit_takes(channels, width, how):
    """MODNet's resizes: the dense Deconvolution where the Kit's buffer holds its kernel and the cost model
    predicts it cheaper; the Interp chain for the 1280-channel map, whose C x C kernel would not fit."""
    from edgematte.costmodel import CHIPS, ops_from_caffe, predict
    from edgematte.export.caffe.lowering import X2_UPSAMPLES, bilinear_x2_deconv_fits, cheaper_x2_upsample

    assert cheaper_x2_upsample(channels, width // 2, width) == how
    assert bilinear_x2_deconv_fits(channels, width) == (how == "deconv")
    fn = Lambda(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    proto = to_onnx(fn, (1, channels, width // 2, width))
    with pytest.raises(ValueError, match="x2_upsample must be one of"):
        lower_onnx(proto, "t", x2_upsample="nearest")
    if how == "deconv":
        cost = {h: predict(ops_from_caffe(lower_onnx(proto, "t", x2_upsample=h)), CHIPS["Ascend310"]).seconds
                for h in X2_UPSAMPLES}
        assert cost["deconv"] < cost["interp"]
    else:  # forcing the Deconvolution is refused by name, not emitted past the Kit's limit
        with pytest.raises(LoweringError, match="exceeds the Kit's on-chip buffer"):
            lower_onnx(proto, "t", x2_upsample="deconv")


def test_align_corners_resizes_are_one_interp_each(tmp_path):
    def fn(x):
        up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        return F.interpolate(up, scale_factor=0.25, mode="bilinear", align_corners=True)

    e_np, e_cv, net = errors(Lambda(fn), (1, 2, 8, 12), tmp_path)
    assert e_np <= EXACT and e_cv <= EXACT
    assert [l.type for l in net.layers] == ["Interp", "Interp"]
    assert [(l.params["interp_param"]["height"], l.params["interp_param"]["width"]) for l in net.layers] == \
        [(16, 24), (4, 6)]


@pytest.mark.parametrize("fold", [False, True])
def test_batchnorm_conv_concat_split_add(tmp_path, fold):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 8, 3, stride=2, padding=1)
            self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.dw(self.conv(x))
            a, b = torch.split(y, [4, 4], dim=1)
            return torch.cat((self.bn(a) + b, b * 2 - 1), dim=1)

    block = Block()
    with torch.no_grad():
        block.bn.running_mean.uniform_(-1, 1)
        block.bn.running_var.uniform_(0.5, 2)
        block.bn.weight.uniform_(0.5, 2)
    e_np, e_cv, net = errors(block, (1, 4, 10, 14), tmp_path, fold=fold)
    assert e_np <= 1e-5 and e_cv <= 1e-5
    bns = [l for l in net.layers if l.type == "BatchNorm"]
    if fold:  # IBNorm's pattern (Conv -> Split -> BatchNorm on the first part) folds into the conv
        assert bns == [] and len(net.layers) == 7  # BatchNorm + its Scale are gone (9 unfolded)
    else:
        assert len(bns) == 1 and bns[0].params["batch_norm_param"]["use_global_stats"] is True


def test_ibnorm_block_splits_the_convolution_and_pushes_the_relu_into_the_concat(tmp_path):
    """MODNet's Conv -> IBNorm -> ReLU: the Split of a convolution read by nothing else becomes one convolution
    per part (no Slice pass), and ReLU(Concat(a, b)) becomes Concat(ReLU(a), ReLU(b)), so the BatchNorm half's
    ReLU follows its convolution (the device cost model's choices, docs/performance.md)."""
    class IBNormBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn, self.inorm = nn.BatchNorm2d(4), nn.InstanceNorm2d(4, affine=True)

        def forward(self, x):
            a, b = torch.split(self.conv(x), [4, 4], dim=1)
            return F.relu(torch.cat((self.bn(a), self.inorm(b)), dim=1))

    torch.manual_seed(0)
    block = IBNormBlock()
    with torch.no_grad():  # distinct values, or the exporter shares them as one constant
        for t in (block.bn.running_mean, block.bn.bias, block.inorm.bias):
            t.uniform_(-1, 1)
        for t in (block.bn.running_var, block.bn.weight, block.inorm.weight):
            t.uniform_(0.5, 2)
    e_np, e_cv, net = errors(block, (1, 3, 8, 12), tmp_path)
    assert e_np <= 1e-5 and e_cv <= 1e-5
    types = [l.type for l in net.layers]
    assert "Slice" not in types and types.count("Convolution") == 2 and types.count("ReLU") == 2
    assert types[-1] == "Concat" and all(net.shape_of(l.tops[0])[1] == 4 for l in net.layers
                                         if l.type == "Convolution")


@pytest.mark.parametrize("fn,fragment", [
    (lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), "mode 'nearest'"),
    (lambda x: F.interpolate(x, scale_factor=3, mode="bilinear", align_corners=False), "8x8 -> 24x24"),
    (torch.tanh, "(Tanh): no lowering"),
    (lambda x: torch.clamp(x, -1, 1), "lower bound of 0"),
])
def test_what_cannot_be_lowered_exactly_is_refused_by_name(fn, fragment):
    with pytest.raises(LoweringError, match="ONNX node") as e:
        lower_onnx(to_onnx(Lambda(fn), (1, 2, 8, 8)))
    assert fragment in str(e.value)
