"""The CLI as a user meets it: exit codes, one-line errors without tracebacks, files, JSON."""

import json
import pickle
import shutil
import subprocess
import sys

import pytest
import torch

from clitools import assert_user_error, run

TINY = ["--size", "64x64"]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_export_default_writes_a_verified_bundle(tmp_path):
    out = tmp_path / "onnx"
    r = run("export", "--to", "onnx", *TINY, "--out", out)
    assert r.exit_code == 0, r.output
    assert "untrained" in r.stderr
    assert "PASSED | onnxruntime  | rollout" in r.stdout
    assert leftovers(tmp_path) == ["onnx"]
    assert leftovers(out) == ["golden.npz", "manifest.json", "modnet4.onnx"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["artifacts"] == {"onnx": "modnet4.onnx", "golden": "golden.npz"}
    assert m["inputs"] == {"image": [1, 3, 64, 64], "prev_alpha": [1, 1, 64, 64]}
    assert m["weights"]["source"] == "embedded-default" and m["weights"]["trained"] is False
    assert set(m["files"]) == {"modnet4.onnx", "golden.npz"}
    assert {"torch", "onnx", "onnxruntime", "onnxsim", "numpy"} <= set(m["tools"])
    checks = {c["check"]: c for c in m["verification"]["checks"]}
    assert set(checks) == {"random", "portrait", "rollout"} and m["verification"]["passed"]
    assert len(checks["rollout"]["frames"]) == 5
    assert all(c["max_abs"] <= 1e-4 and c["mean_abs"] <= c["max_abs"] for c in checks.values())


def test_export_official_checkpoint_and_info(tmp_path, official_ckpt):
    out = tmp_path / "b"
    r = run("export", "--to", "onnx", "--checkpoint", official_ckpt, *TINY, "--out", out, "--json")
    assert r.exit_code == 0, r.output
    assert "untrained" not in r.stderr
    m = json.loads(r.stdout)
    assert m["weights"]["source"] == "official-3ch" and m["weights"]["inflated"] is True
    assert m["verification"]["passed"]

    r = run("info", official_ckpt, "--json")
    i = json.loads(r.stdout)
    assert (i["kind"], i["file_in_channels"], i["file_keys"], i["inflated"]) == ("checkpoint", 3, 751, True)
    r = run("info", out)
    assert "bundle" in r.stdout and "hilens-64x64" in r.stdout
    assert json.loads(run("info", out / "modnet4.onnx", "--json").stdout)["spec"]["width"] == 64


def test_verify_passes_then_catches_a_changed_file(tmp_path, exported_bundle):
    folder = tmp_path / "copy"
    shutil.copytree(exported_bundle.out, folder)
    r = run("verify", folder)
    assert r.exit_code == 0 and r.stdout.count("PASSED") == 4, r.output
    data = json.loads(run("verify", folder, "--json").stdout)
    assert data["passed"] and len(data["checks"]) == 3

    with open(folder / "modnet4.onnx", "r+b") as f:
        f.seek(-64, 2)
        f.write(b"\x00" * 64)
    r = run("verify", folder)
    assert r.exit_code == 1
    assert "modnet4.onnx changed since export" in r.stdout


def test_verify_catches_a_model_that_does_not_match_its_golden_outputs(tmp_path, exported_bundle):
    """Golden outputs edited (and re-checksummed): the ONNX no longer matches them and verify says so."""
    import numpy as np

    from bundletools import reseal

    from edgematte.verification.golden import GoldenSet

    folder = tmp_path / "copy"
    shutil.copytree(exported_bundle.out, folder)
    golden = GoldenSet.load(folder / "golden.npz")
    golden.arrays["rollout.alpha"][3] += np.float32(0.01)
    golden.save(folder / "golden.npz")
    reseal(folder)
    r = run("verify", folder)
    assert r.exit_code == 1
    assert "FAILED | onnxruntime  | rollout" in r.stdout and "PASSED | onnxruntime  | random" in r.stdout


def test_existing_out_is_kept_without_force_and_only_an_edgematte_bundle_is_replaced_with_it(tmp_path,
                                                                                            exported_bundle):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    assert_user_error(run("export", *TINY, "--out", out), "already exists", "--force")
    assert_user_error(run("export", *TINY, "--out", out, "--force"), "holds files edgematte did not write",
                      "choose another --out")
    assert leftovers(out) == ["precious.txt"] and leftovers(tmp_path) == ["taken"]

    bundle = tmp_path / "bundle"
    shutil.copytree(exported_bundle.out, bundle)
    r = run("export", "--to", "om", "--via", "onnx", *TINY, "--out", bundle, "--force")
    assert r.exit_code == 0, r.output
    assert "app" in leftovers(bundle) and leftovers(tmp_path) == ["bundle", "taken"]


def _random_pickle(p):
    p.write_bytes(pickle.dumps({"not": "weights", "n": list(range(10))}))


@pytest.mark.parametrize("make, fragments", [
    (None, ["checkpoint not found"]),
    (_random_pickle, ["not a readable PyTorch checkpoint"]),
    (lambda p: torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), p), ["not a MODNet checkpoint", "missing",
                                                                       "unexpected (weight, bias)"]),
])
def test_bad_checkpoints_fail_cleanly_and_write_nothing(tmp_path, make, fragments):
    ckpt = tmp_path / "given.ckpt"
    if make:
        make(ckpt)
    out = tmp_path / "out"
    assert_user_error(run("export", "--checkpoint", ckpt, *TINY, "--out", out), *fragments)
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("size, fragment", [("500x288", "width 500 not a multiple of 32"),
                                            ("512x300", "height 300 not a multiple of 32")])
def test_sizes_that_are_not_multiples_of_32_are_refused(tmp_path, size, fragment):
    out = tmp_path / "out"
    assert_user_error(run("export", "--size", size, "--out", out), fragment)
    assert not out.exists()


def test_bad_flags_are_usage_errors(tmp_path):
    r = run("export", "--preset", "hilens-999x999")
    assert r.exit_code == 2 and "Traceback" not in r.output


@pytest.mark.parametrize("target, fragment", [("missing", "is not a folder"), ("empty", "has no manifest.json")])
def test_verify_and_info_refuse_what_is_not_a_bundle(tmp_path, target, fragment):
    (tmp_path / "empty").mkdir()
    assert_user_error(run("verify", tmp_path / target), fragment)


def test_a_corrupt_manifest_is_named(tmp_path, exported_bundle):
    folder = tmp_path / "copy"
    shutil.copytree(exported_bundle.out, folder)
    (folder / "manifest.json").write_text("{ not json")
    assert_user_error(run("verify", folder), "manifest.json is not valid JSON", "re-export")
    (folder / "manifest.json").write_text("{}")
    assert_user_error(run("info", folder), "older than this one (manifest format 1)", "re-export")
    (folder / "manifest.json").write_text('{"format": 2}')
    assert_user_error(run("info", folder), "has no 'edgematte', 'created'", "re-export")


def test_info_on_a_missing_path(tmp_path):
    assert_user_error(run("info", tmp_path / "nothing.ckpt"), "does not exist")


def test_module_entry_point_and_help():
    r = subprocess.run([sys.executable, "-m", "edgematte", "export", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for option in ("--to", "--checkpoint", "--preset", "--size", "--out", "--force", "--json"):
        assert option in r.stdout


def test_sigterm_stops_an_export_as_ctrl_c_does_and_leaves_no_scratch(tmp_path):
    """`timeout`, `kill`, systemd and a cancelled CI job send SIGTERM: the scratch folder goes, nothing is written."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "x"
    proc = subprocess.Popen([sys.executable, "-m", "edgematte", "export", "--size", "64x64", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".x.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # until the export has begun writing
    assert proc.poll() is None, "the export ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in stderr, stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
