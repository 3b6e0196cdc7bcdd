"""The index-free 2×2 max-unpooling equals max_unpool2d by the pooling indices exactly, ties included, in FP32,
in FP16, and after lowering to the Kit's Caffe layers (numpy executor in FP32 and simulated FP16, OpenCV DNN)."""

import io
import warnings

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.caffe.rules import kit_rule_problems
from edgematte.export.caffe.writer import write_caffe
from edgematte.model.unpool import STAGES, exact_step, max_unpool2x2_index_free
from edgematte.runtime.caffe_ref import CaffeRefRunner
from edgematte.runtime.opencv_caffe import OpenCvCaffeRunner

SHAPE = (1, 6, 16, 24)


def tie_cases():
    g = torch.Generator().manual_seed(0)
    normal = torch.randn(SHAPE, generator=g)
    one_ulp = normal.clone()  # every window's second row is 1 ulp above its first: near-ties everywhere
    one_ulp[..., 1::2, :] = torch.nextafter(normal[..., 0::2, :], torch.tensor(float("inf")))
    return {
        "normal": normal,
        "post_relu": F.relu(torch.randn(SHAPE, generator=g) - 0.8),      # ~80 % zeros: all-zero windows
        "quantised": torch.round(torch.randn(SHAPE, generator=g) * 2) / 2,  # repeated values
        "all_zero": torch.zeros(SHAPE),
        "tiny": torch.randn(SHAPE, generator=g) * 1e-6,
        "one_ulp": one_ulp,
        "subnormal": torch.randint(0, 3, SHAPE, generator=g).float() * 1e-45,
        "equal_pairs": torch.randn(*SHAPE[:3], SHAPE[3] // 2, generator=g).repeat_interleave(2, dim=3),
    }


def reference(values, x):
    pooled, indices = F.max_pool2d(x, 2, 2, return_indices=True)
    return F.max_unpool2d(values, indices, 2, 2, output_size=x.shape[2:]), pooled


def values_for(x, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(x.shape[0], x.shape[1], x.shape[2] // 2, x.shape[3] // 2, generator=g) + 3.0


@pytest.mark.parametrize("case", list(tie_cases()))
def test_exact_in_fp32_and_fp16(case):
    x = tie_cases()[case]
    v = values_for(x)
    want, pooled = reference(v, x)
    assert torch.equal(max_unpool2x2_index_free(v, x, pooled), want)
    xh, vh = x.half(), v.half()  # the same in half precision, against the FP32 reference of the FP16 values
    want_h, pooled_h = reference(vh.float(), xh.float())
    assert torch.equal(max_unpool2x2_index_free(vh, xh, pooled_h.half()).float(), want_h)


def test_the_cases_hold_ties():
    cases = tie_cases()
    for case in ("post_relu", "quantised", "all_zero", "equal_pairs"):
        x = cases[case]
        windows = x.reshape(*x.shape[:2], x.shape[2] // 2, 2, x.shape[3] // 2, 2).permute(0, 1, 2, 4, 3, 5)
        windows = windows.reshape(-1, 4)
        tied = (windows == windows.max(dim=1, keepdim=True).values).sum(dim=1) > 1
        assert tied.float().mean() > 0.05, case


def test_first_maximum_wins_and_a_plain_equality_mask_does_not():
    x = torch.zeros(1, 1, 2, 2)  # one window, all four tied: PyTorch puts the value at the first position
    v = torch.full((1, 1, 1, 1), 5.0)
    got = max_unpool2x2_index_free(v, x, F.max_pool2d(x, 2, 2))
    assert got.flatten().tolist() == [5.0, 0.0, 0.0, 0.0]
    naive = (x == F.max_pool2d(x, 2, 2).repeat_interleave(2, 2).repeat_interleave(2, 3)).float() * 5.0
    assert naive.flatten().tolist() == [5.0, 5.0, 5.0, 5.0]


def test_every_stage_is_needed_for_the_smallest_fp32_differences():
    d = torch.tensor([0.0, 1e-45, 1e-30, 1.0, 3e38])
    assert exact_step(d).tolist() == [0.0, -1.0, -1.0, -1.0, -1.0]
    short = exact_step(d, stages=STAGES - 1)
    assert -1.0 < short[1] < 0.0  # a subnormal difference is not yet saturated: the step would leak a fraction


def test_one_large_gain_is_not_fp16_safe():
    d = torch.tensor([0.0, 2.0 ** -24, 1e-3, 60000.0], dtype=torch.float16)  # a tie, FP16's smallest gap, ...
    assert exact_step(d).tolist() == [0.0, -1.0, -1.0, -1.0]
    too_big = torch.tensor(2.0 ** 28).half()  # the one gain that would saturate 2**-24 is not an FP16 number
    assert torch.isinf(too_big) and torch.isnan(d * -too_big)[0]  # a tie times inf: NaN
    fits = torch.clamp(d * -torch.tensor(2.0 ** 15).half(), min=-1.0)  # the largest power of two that fits
    assert -1.0 < fits[1] < 0.0  # leaves FP16's smallest gap at a fraction


class _PoolUnpool(torch.nn.Module):
    def forward(self, x, v):
        return max_unpool2x2_index_free(v, x, F.max_pool2d(x, 2, 2))


@pytest.fixture(scope="module")
def caffe_files(tmp_path_factory):
    """The index-free unpooling exported to ONNX and lowered to the Kit's Caffe layers."""
    x, v = torch.zeros(SHAPE), torch.zeros(SHAPE[0], SHAPE[1], SHAPE[2] // 2, SHAPE[3] // 2)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_PoolUnpool(), (x, v), buf, opset_version=11, dynamo=False, input_names=["x", "v"],
                          output_names=["y"])
    net = lower_onnx(onnx.load_from_string(buf.getvalue()), "unpool")
    assert kit_rule_problems(net) == []
    folder = tmp_path_factory.mktemp("unpool")
    write_caffe(net, folder / "u.prototxt", folder / "u.caffemodel")
    types = {layer.type for layer in net.layers}
    assert types <= {"Pooling", "Reshape", "Slice", "Eltwise", "Scale", "Power", "Convolution", "ReLU", "Concat"}
    return folder / "u.prototxt", folder / "u.caffemodel"


@pytest.mark.parametrize("case", ["post_relu", "quantised", "one_ulp", "equal_pairs", "tiny"])
def test_lowered_caffe_is_exact_in_both_readers_and_in_fp16(caffe_files, case):
    x = tie_cases()[case]
    v = values_for(x)
    want, _ = reference(v, x)
    feed = {"x": x.numpy(), "v": v.numpy()}
    assert np.array_equal(CaffeRefRunner(*caffe_files).infer(feed)["y"], want.numpy())
    runner = OpenCvCaffeRunner(*caffe_files)
    try:
        assert np.array_equal(runner.infer(feed)["y"], want.numpy())
    finally:
        runner.close()
    half = {k: val.astype(np.float16).astype(np.float32) for k, val in feed.items()}
    want_h, _ = reference(torch.from_numpy(half["v"]), torch.from_numpy(half["x"]))
    got_h = CaffeRefRunner(*caffe_files, dtype=np.float16).infer(half)["y"]
    assert np.array_equal(got_h, want_h.numpy())
