"""The numpy Caffe executor's semantics, checked against hand-computed values and PyTorch, and its
file readers against odd but valid input and against corrupt files."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgematte.runtime import RunnerError
from edgematte.runtime.caffe_files import CaffeFileError, parse_prototxt
from edgematte.runtime.caffe_ref import CaffeRefRunner, _deconv, _interp, _pool


def test_prototxt_parser_reads_comments_lists_strings_and_colon_before_braces():
    text = '''# header
    name: 'n#1'  # trailing comment
    input: "x" input_shape { dim: [1, 2] dim: 3 }
    layer: { name: "a" type: "Pooling" pooling_param { pool: AVE global_pooling: true } }
    '''
    parsed = parse_prototxt(text)
    assert parsed["name"] == ["n#1"]
    assert parsed["input_shape"][0]["dim"] == [1, 2, 3]
    assert parsed["layer"][0]["pooling_param"][0] == {"pool": ["AVE"], "global_pooling": [True]}
    with pytest.raises(CaffeFileError, match="never closed"):
        parse_prototxt("layer { name: 'a'")


def test_ave_pooling_uses_caffes_ceil_mode_and_padded_divisor():
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 1, 5, 5)
    # kernel 2, stride 2 on 5 pixels: ceil mode gives 3 outputs; the last window holds one column,
    # and Caffe divides by the window clipped to the (unpadded) input: 1 column -> divisor 2, not 4.
    out = _pool(x, {"pool": ["AVE"], "kernel_size": [2], "stride": [2]})
    assert out.shape == (1, 1, 3, 3)
    assert out[0, 0, 0, 0] == pytest.approx((1 + 2 + 6 + 7) / 4)
    assert out[0, 0, 0, 2] == pytest.approx((5 + 10) / 2)
    assert out[0, 0, 2, 2] == pytest.approx(25.0)
    # pad 1, kernel 3, stride 1: padded zeros count in the divisor (9), as in Caffe.
    out = _pool(x, {"pool": ["AVE"], "kernel_size": [3], "stride": [1], "pad": [1]})
    assert out.shape == (1, 1, 5, 5) and out[0, 0, 0, 0] == pytest.approx((1 + 2 + 6 + 7) / 9)
    out = _pool(x, {"pool": ["MAX"], "kernel_size": [2], "stride": [2]})
    assert out[0, 0, 2, 2] == 25 and out[0, 0, 0, 0] == 7


@pytest.mark.parametrize("src,dst", [((5, 7), (9, 13)), ((4, 4), (15, 2)), ((1, 3), (1, 5))])
def test_interp_is_bilinear_with_aligned_corners(src, dst):
    x = np.random.default_rng(0).standard_normal((1, 2, *src)).astype(np.float32)
    want = F.interpolate(torch.from_numpy(x), size=dst, mode="bilinear", align_corners=True).numpy()
    assert np.abs(_interp(x, *dst) - want).max() < 1e-6


@pytest.mark.parametrize("kernel,stride,pad,group", [(4, 2, 3, 1), (4, 2, 1, 1), (3, 2, 1, 2), (2, 1, 0, 4)])
def test_deconvolution_is_pytorchs_transposed_convolution(kernel, stride, pad, group):
    """Caffe's weights are (C_in, C_out / group, kh, kw), as PyTorch's; pad crops the scattered output."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 8 // group, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    p = {"kernel_size": [kernel], "stride": [stride], "pad": [pad], "group": [group]}
    want = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride,
                              padding=pad, groups=group).numpy()
    got = _deconv(x, w, b, p)
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-5


def test_unreadable_files_and_unknown_layers_raise_runner_errors(tmp_path):
    proto = tmp_path / "n.prototxt"
    model = tmp_path / "n.caffemodel"
    proto.write_text('input: "x" input_shape { dim: 1 dim: 1 dim: 2 dim: 2 }\n'
                     'layer { name: "y" type: "Swish" bottom: "x" top: "y" }\n')
    model.write_bytes(b"\x0a\x05ab")  # a name field that claims 5 bytes and has 2
    with pytest.raises(RunnerError, match="truncated"):
        CaffeRefRunner(proto, model)
    model.write_bytes(b"")
    runner = CaffeRefRunner(proto, model)
    with pytest.raises(RunnerError, match="Swish is not implemented"):
        runner.infer({"x": np.zeros((1, 1, 2, 2), np.float32)})
