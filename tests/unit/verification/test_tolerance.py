"""The tolerance is the network's own FP32 noise: valid weights that the old fixed 1e-4 refused export and
verify; a wrong lowering is still refused, and its bundle is never left under the requested name."""

import json

import pytest
import torch
from clitools import assert_user_error, run
from reference_modnet import RefMODNet, randomize

from edgematte.bundle import Bundle
from edgematte.errors import SpecError
from edgematte.verification.tolerance import CEILING, FLOOR, NOISE_FACTOR, Tolerance, check_atol


def test_the_tolerance_follows_the_noise_between_floor_and_ceiling():
    assert Tolerance.from_noise(1e-7).atol == FLOOR
    assert Tolerance.from_noise(1e-4).atol == pytest.approx(NOISE_FACTOR * 1e-4)
    assert Tolerance.from_noise(0.5).atol == CEILING == pytest.approx(0.5 / 255)
    user = Tolerance.from_noise(1e-5, atol=3e-4)
    assert (user.atol, user.noise, user.source) == (3e-4, 1e-5, "--atol")
    for bad in (0, -1e-4, 0.01):
        with pytest.raises(SpecError, match="outside"):
            check_atol(bad)


@pytest.fixture(scope="module")
def scaled_variances(tmp_path_factory):
    """An official-format checkpoint whose BatchNorm variances are scaled by 0.5-1: valid weights, larger
    activations, so FP32 rounding moves the alpha by a few 1e-4."""
    model = randomize(RefMODNet(), seed=3)
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.mul_(torch.rand(t.shape, generator=g) * 0.5 + 0.5)
    path = tmp_path_factory.mktemp("ckpt") / "scaled.ckpt"
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, path)
    return path


def test_weights_with_more_fp32_noise_export_and_verify_with_the_noise_recorded(scaled_variances, tmp_path):
    r = run("export", "--to", "onnx", "--checkpoint", scaled_variances, "--size", "64x64", "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    v = Bundle.open(tmp_path / "b").manifest.verification
    assert v["passed"] and v["source"] == "measured"
    assert v["noise"] > 1e-4 and v["atol"] == pytest.approx(min(NOISE_FACTOR * v["noise"], CEILING))
    assert max(c["max_abs"] for c in v["checks"]) > 1e-4  # what a fixed 1e-4 refused
    assert run("verify", tmp_path / "b").exit_code == 0


def test_a_user_tolerance_is_used_and_recorded(tmp_path):
    r = run("export", "--to", "onnx", "--size", "64x64", "--atol", "5e-4", "--out", tmp_path / "b", "--json")
    assert r.exit_code == 0, r.output
    v = json.loads(r.stdout)["verification"]
    assert (v["atol"], v["source"]) == (5e-4, "--atol") and 0 < v["noise"] < 1e-4
    assert all(c["atol"] == 5e-4 for c in v["checks"])
    assert_user_error(run("export", "--size", "64x64", "--atol", "0.1", "--out", tmp_path / "c"),
                      "--atol 0.1 is outside", "half an 8-bit alpha level")
    assert not (tmp_path / "c").exists()


def test_a_wrong_resize_is_refused_and_not_left_under_the_requested_name(tmp_path, monkeypatch):
    """Every Resize switched to align-corners sampling: a lowering error of about 1e-2, not noise."""
    from edgematte.export import writer

    exported = writer._onnx_proto

    def wrong_resize(ctx):
        proto = exported(ctx)
        for node in proto.graph.node:
            for attr in node.attribute:
                if node.op_type == "Resize" and attr.name == "coordinate_transformation_mode":
                    attr.s = b"align_corners"
        return proto

    monkeypatch.setattr(writer, "_onnx_proto", wrong_resize)
    out, failed = tmp_path / "b", tmp_path / "b.failed-verification"
    failed.mkdir()
    (failed / "notes.txt").write_text("mine")  # a folder of the user's where the failed bundle would go
    args = ["export", "--to", "onnx", "--size", "64x64", "--out", out]
    assert_user_error(run(*args), "b was not written", "was not kept", "holds files edgematte did not write")
    assert not out.exists() and sorted(p.name for p in failed.iterdir()) == ["notes.txt"]

    (failed / "notes.txt").unlink()
    assert_user_error(run(*args), "b was not written: the export does not match PyTorch", "onnxruntime/portrait",
                      "kept in", "b.failed-verification")
    assert not out.exists()
    kept = Bundle.open(failed).manifest
    assert not kept.passed and max(c["max_abs"] for c in kept.verification["checks"]) > 1e-3
