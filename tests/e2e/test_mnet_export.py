"""M-Net exports: a reproduction's checkpoint (training-script layout, random weights) to ONNX and Caffe, checked
against PyTorch with real max-unpooling by indices on golden inputs full of ties; verify re-checks the bundle;
misuse gets one Error line."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clitools import assert_user_error, run
from reference_mnet import RefMNet, randomize_mnet, save_training_format

from edgematte import api
from edgematte.verification.golden import GoldenSet

SIZE = "64x64"


@pytest.fixture(scope="module")
def mnet_ckpt(tmp_path_factory):
    return save_training_format(randomize_mnet(RefMNet(0.5), seed=5), tmp_path_factory.mktemp("mnet") / "m.pth")


@pytest.fixture(scope="module")
def caffe_bundle(tmp_path_factory, mnet_ckpt):
    return api.export(to="caffe", model="mnet", checkpoint=mnet_ckpt, size=SIZE,
                      out=tmp_path_factory.mktemp("mnet") / "caffe")


def test_onnx_export_matches_pytorch_with_indices(tmp_path, mnet_ckpt):
    result = run("export", "--to", "onnx", "--model", "mnet", "--checkpoint", mnet_ckpt, "--size", SIZE,
                 "--out", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    checks = manifest["verification"]["checks"]
    assert {(c["reader"], c["check"]) for c in checks} == {("onnxruntime", case)
                                                          for case in ("random", "portrait")}
    assert all(c["passed"] and c["max_abs"] <= manifest["verification"]["atol"] for c in checks)
    assert manifest["artifacts"]["onnx"] == "mnet.onnx" and manifest["spec"]["model"] == "mnet"
    assert manifest["onnx_graph"]["inputs"] == {"image": [1, 3, 64, 64], "trimap": [1, 1, 64, 64]}
    assert "MaxUnpool" not in manifest["onnx_graph"]["ops"] and manifest["weights"]["width"] == 0.5


def test_caffe_export_passes_both_readers_and_the_kits_rules(caffe_bundle):
    m = caffe_bundle.manifest
    assert m.passed and {c.reader for c in caffe_bundle.checks} == {"caffe-numpy", "opencv-dnn"}
    assert {c.check for c in caffe_bundle.checks} == {"random", "portrait"}
    assert set(m.caffe_graph["types"]) <= {"Convolution", "ReLU", "Pooling", "Reshape", "Slice", "Eltwise",
                                           "Scale", "Power", "Concat"}
    assert api.verify(caffe_bundle.out).passed


@pytest.mark.parametrize("case", ["random", "portrait"])
def test_the_golden_cases_are_full_of_ties(caffe_bundle, mnet_ckpt, case):
    from edgematte.model.mnet_checkpoint import load_mnet_checkpoint

    model = load_mnet_checkpoint(mnet_ckpt).model
    golden = GoldenSet.load(caffe_bundle.out / "golden.npz")
    pre_pool = {}
    hooks = [getattr(model, f"conv_{s}_{n}").register_forward_hook(
        lambda _m, _i, out, key=s: pre_pool.__setitem__(key, out)) for s, n in ((1, 2), (2, 2), (3, 3), (4, 3))]
    with torch.no_grad():
        model(torch.from_numpy(golden.arrays[f"{case}.image"]), torch.from_numpy(golden.arrays[f"{case}.trimap"]))
    for h in hooks:
        h.remove()
    for stage, x in pre_pool.items():
        windows = F.unfold(x.reshape(-1, 1, *x.shape[2:]), 2, stride=2)  # (C, 4, windows)
        top = windows.max(dim=1, keepdim=True).values
        tied = (windows == top).sum(dim=1) > 1
        assert tied.float().mean() > 0.1, f"stage {stage}: {tied.float().mean():.2f} of the windows tied"
        assert torch.all(top[:, 0][tied] == 0)  # every tie is of post-ReLU zeros: exact in any implementation


def test_bundle_alpha_respects_the_trimap(caffe_bundle):
    golden = GoldenSet.load(caffe_bundle.out / "golden.npz")
    alpha, trimap = golden.arrays["portrait.alpha"], golden.arrays["portrait.trimap"]
    assert np.all(alpha[trimap == 1.0] == 1.0) and np.all(alpha[trimap == 0.0] == 0.0)
    unknown = alpha[trimap == 0.5]
    assert unknown.min() >= 0 and unknown.max() <= 1 and unknown.std() > 0.01


@pytest.mark.parametrize("args, fragments", [
    (["--to", "onnx", "--model", "mnet", "--int8"], ["--int8 applies to MODNet only"]),
    (["--to", "onnx", "--width", "0.5"], ["--width applies to M-Net only", "--model mnet"]),
    (["--to", "onnx", "--model", "mnet", "--half-pixel"], ["--align-corners/--half-pixel applies to MODNet only"]),
])
def test_misuse_is_one_error_line(tmp_path, args, fragments):
    result = run("export", *args, "--size", SIZE, "--out", tmp_path / "x")
    assert_user_error(result, *fragments)
    assert not (tmp_path / "x").exists()


def test_wrong_checkpoint_kind_is_named(tmp_path, official_ckpt, mnet_ckpt):
    assert_user_error(run("export", "--to", "onnx", "--model", "mnet", "--checkpoint", official_ckpt, "--size", SIZE,
                          "--out", tmp_path / "a"), "not an M-Net checkpoint")
    assert_user_error(run("export", "--to", "onnx", "--checkpoint", mnet_ckpt, "--size", SIZE,
                          "--out", tmp_path / "b"), "not a MODNet checkpoint")
    assert_user_error(run("export", "--to", "onnx", "--model", "mnet", "--checkpoint", mnet_ckpt, "--width", "1",
                          "--size", SIZE, "--out", tmp_path / "c"), "differs from the checkpoint's width 0.5")


def test_a_device_bundle_of_mnet_alone_has_both_aipp_blocks_and_no_app(tmp_path, mnet_ckpt):
    result = api.export(to="om", device="ascend310p3", model="mnet", checkpoint=mnet_ckpt, size=SIZE, out=tmp_path / "b")
    assert result.passed and set(result.manifest.artifacts) == {"onnx", "aipp", "convert_script", "readme", "golden"}
    from edgematte.aipp import parse_aipp

    blocks = parse_aipp((tmp_path / "b" / "aipp.cfg").read_text())
    assert [(b.related_input_rank, b.input_format) for b in blocks] == [(0, "YUV420SP_U8"), (1, "YUV400_U8")]
    assert "--model=mnet.onnx" in (tmp_path / "b" / "convert.sh").read_text()
    assert "--refiner mnet" in (tmp_path / "b" / "README.md").read_text()
    assert api.verify(tmp_path / "b").passed


def test_info_names_an_mnet_checkpoint(mnet_ckpt):
    result = run("info", mnet_ckpt, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["network"], info["width"], info["epoch"]) == ("mnet", 0.5, 7)
    assert info["parameters_after_load"] == pytest.approx(6.43e6, rel=1e-3)


FLIPPING = "128x128"  # at this size the seed-1 reproduction's readers decide a near-tie or two otherwise


@pytest.fixture(scope="module")
def flipping_ckpt(tmp_path_factory):
    return save_training_format(randomize_mnet(RefMNet(0.5), seed=1), tmp_path_factory.mktemp("mnet") / "f.pth")


@pytest.mark.parametrize("to", ["onnx", "caffe"])
def test_a_reproduction_checkpoint_whose_readers_flip_near_ties_exports_and_verifies(tmp_path, flipping_ckpt, to):
    result = api.export(to=to, model="mnet", checkpoint=flipping_ckpt, size=FLIPPING, out=tmp_path / "b")
    assert result.passed and api.verify(tmp_path / "b").passed
    assert sum(c.flips for c in result.checks) >= 1, [c.line() for c in result.checks]
    for c in result.checks:  # each flip moves the alpha only within its reach; elsewhere the FP32 noise holds
        assert c.wrong_winners == 0 and c.max_abs_outside <= c.atol
        assert (c.beyond > 0) <= (c.flips > 0)


def _reversed_tie_rule(monkeypatch):
    """The last maximum of a window wins: w_k = ReLU(e_k - sum_{j>k} e_j)."""
    from edgematte.model import unpool

    monkeypatch.setattr(unpool, "TIE_WEIGHT", [[1, -1, -1, -1], [0, 1, -1, -1], [0, 0, 1, -1], [0, 0, 0, 1]])
    monkeypatch.setattr(unpool, "TIE_BIAS", [k - 2 for k in range(4)])


def _changed_in_export(layer: str, delta: float):
    """Every export's graph gets one number of ``layer`` changed (the reference keeps the checkpoint's)."""
    from edgematte.model.mnet import MNet

    deployable = MNet.deployable

    def wrong(self):
        model = deployable(self)
        with torch.no_grad():
            if layer == "conv_0":
                model.conv_0.bias[0] += delta
            else:
                getattr(model, layer)[0].weight[0, 0, 1, 1] += delta
        return model
    return wrong


@pytest.mark.parametrize("to", ["onnx", "caffe"])
@pytest.mark.parametrize("wrong, says", [
    ("tie rule reversed", "pooling windows won by another position where rounding cannot decide it"),
    ("encoder weight", "pooling windows won by another position where rounding cannot decide it"),
    ("output bias", "outside the reach of"),
])
def test_a_wrong_export_is_refused(tmp_path, monkeypatch, flipping_ckpt, to, wrong, says):
    from edgematte.errors import VerificationError
    from edgematte.model.mnet import MNet

    if wrong == "tie rule reversed":
        _reversed_tie_rule(monkeypatch)
    else:
        layer, delta = ("conv_1_1", 0.01) if wrong == "encoder weight" else ("conv_0", 1e-3)
        monkeypatch.setattr(MNet, "deployable", _changed_in_export(layer, delta))
    with pytest.raises(VerificationError, match=says):
        api.export(to=to, model="mnet", checkpoint=flipping_ckpt, size=FLIPPING, out=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_a_golden_file_without_the_near_ties_is_refused(caffe_bundle, tmp_path):
    golden = GoldenSet.load(caffe_bundle.out / "golden.npz")
    old = GoldenSet({k: v for k, v in golden.arrays.items() if "winner" not in k and "near_tie" not in k})
    old.save(tmp_path / "golden.npz")
    with pytest.raises(ValueError, match="missing or malformed"):
        GoldenSet.load(tmp_path / "golden.npz", caffe_bundle.manifest.spec)
