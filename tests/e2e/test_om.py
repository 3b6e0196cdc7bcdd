"""``edgematte export --to om``: the HiLens Kit folder (Caffe + aipp.cfg + convert.sh), its verification by
two independent Caffe readers, the atc route, and what verify does when the Caffe files are wrong."""

import json
import os
import shutil
import subprocess

import numpy as np
import onnx

from edgematte.aipp import aipp_from_spec, parse_aipp
from bundletools import reseal

from edgematte.bundle import Bundle
from clitools import run
from edgematte.devices import DEVICES
from edgematte.export.commands import compiler_command, convert_script
from edgematte.export.caffe.lowering import lower_onnx
from edgematte.export.caffe.writer import encode_caffemodel
from edgematte.model.modnet_checkpoint import default_model, save_checkpoint
from edgematte.spec import PipelineSpec

TINY = ["--size", "64x64"]
READERS = {"onnxruntime", "caffe-numpy", "opencv-dnn"}


def test_om_bundle_has_the_kit_files_and_three_readers_agree_with_pytorch(om_bundle):
    out, m = om_bundle.out, om_bundle.manifest.to_dict()
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "aipp.cfg", "convert.sh", "golden.npz",
                                                      "manifest.json", "modnet4.caffemodel", "modnet4.onnx",
                                                      "modnet4.prototxt", "skill"]
    assert m["target"] == "om" and m["via"] == "caffe"
    assert m["artifacts"] == {"onnx": "modnet4.onnx", "prototxt": "modnet4.prototxt",
                              "caffemodel": "modnet4.caffemodel", "aipp": "aipp.cfg", "convert_script": "convert.sh",
                              "skill": "skill/main.py", "skill_config": "skill/skill_config.json",
                              "skill_config_items": "skill/config_items.json",
                              "readme": "README.md", "golden": "golden.npz"}
    assert m["convert"]["ran"] is False
    checks = m["verification"]["checks"]
    assert {c["reader"] for c in checks} == READERS and m["verification"]["passed"]
    for c in checks:
        assert c["max_abs"] <= 1e-4 and c["error"] is None
    caffe = m["caffe_graph"]
    assert caffe["inputs"] == {"image": [1, 3, 64, 64], "prev_alpha": [1, 1, 64, 64]}
    assert caffe["outputs"] == ["alpha"] and "ReLU6" not in caffe["types"]
    spec = PipelineSpec.from_dict(m["spec"])
    assert parse_aipp((out / "aipp.cfg").read_text()) == [aipp_from_spec(spec)]


def test_convert_script_calls_omg_with_the_bundle_files(om_bundle, tmp_path):
    script = om_bundle.out / "convert.sh"
    assert script.stat().st_mode & 0o111
    spec = om_bundle.manifest.spec
    expected = compiler_command(spec, DEVICES["hilens-kit"])
    assert script.read_text() == convert_script([expected], spec)  # the golden-tested renderer, same arguments
    readme = (om_bundle.out / "README.md").read_text()
    assert "prev_alpha" in readme and "float32 1x1x64x64" in readme and "    --model=modnet4.prototxt" in readme
    assert om_bundle.manifest.convert["argv"][0] == "omg"
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 127 and "omg is not on PATH" in r.stderr


def test_via_onnx_targets_atc_and_has_no_caffe(route_bundles):
    result = route_bundles["om --via onnx"]
    out = result.out
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "aipp.cfg", "app", "convert.sh", "golden.npz",
                                                      "manifest.json", "modnet4.onnx"]
    assert "atc \\\n    --model=modnet4.onnx" in (out / "convert.sh").read_text()
    assert "where atc is installed" in result.lines()[-1]


def fake_tool(bindir, name, body):
    bindir.mkdir(exist_ok=True)
    path = bindir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def test_omg_on_path_is_run_and_its_om_joins_the_bundle(tmp_path, monkeypatch):
    # A stand-in omg that records its arguments and writes <output>.om, as the real one does.
    fake_tool(tmp_path / "bin", "omg", 'echo "omg $*"; for a in "$@"; do case $a in --output=*) '
                                       'echo fake-om > "${a#--output=}.om";; esac; done\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    out = tmp_path / "hilens"
    r = run("export", *TINY, "--out", out)
    assert r.exit_code == 0, r.output
    m = Bundle.open(out).manifest
    assert m.convert["ran"] is True
    assert m.artifacts["om"] == "modnet4.om" and (out / "modnet4.om").read_text() == "fake-om\n"
    assert "--weight=modnet4.caffemodel" in (out / "convert.log").read_text()
    assert "omg ran: " in r.stdout and "modnet4.om is ready" in r.stdout


def test_a_failing_omg_is_reported_with_its_command_and_log_and_nothing_is_written(tmp_path, monkeypatch):
    fake_tool(tmp_path / "bin", "omg", 'echo "parsing modnet4.prototxt"; echo "E19999: op Interp not supported"; '
                                       'exit 3\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    r = run("export", *TINY, "--out", tmp_path / "hilens")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "omg failed with exit status 3: omg --model=modnet4.prototxt" in r.stderr
    assert "E19999: op Interp not supported" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_to_caffe_writes_the_caffe_pair_alone(route_bundles):
    result = route_bundles["caffe"]
    assert sorted(p.name for p in result.out.iterdir()) == ["golden.npz", "manifest.json", "modnet4.caffemodel",
                                                             "modnet4.prototxt"]
    assert {c.reader for c in result.checks} == {"caffe-numpy", "opencv-dnn"}


def test_a_size_the_kit_cannot_pool_exactly_is_refused_before_any_work(tmp_path):
    r = run("export", "--size", "3232x3200", "--out", tmp_path / "big")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "3232x3200 does not fit --to om" in r.stderr and "10000-pixel global-pooling limit" in r.stderr
    assert "loading weights" not in r.stderr and not (tmp_path / "big").exists()


def test_via_is_refused_for_other_targets(tmp_path):
    r = run("export", "--to", "onnx", "--via", "onnx", *TINY, "--out", tmp_path / "x")
    assert r.exit_code == 1 and "applies to --to om only" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()


def test_official_checkpoint_with_trained_statistics(tmp_path, official_ckpt):
    r = run("export", "--to", "om", "--checkpoint", official_ckpt, *TINY, "--out", tmp_path / "o", "--json")
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["verification"]["passed"] and {c["reader"] for c in m["verification"]["checks"]} == READERS


def test_align_corners_checkpoint_lowers_every_resize_to_one_interp(tmp_path):
    ckpt = save_checkpoint(default_model(5, align_corners=True).model, tmp_path / "ac.ckpt")
    r = run("export", "--to", "om", "--checkpoint", ckpt, *TINY, "--out", tmp_path / "ac", "--json")
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["verification"]["passed"]
    proto = onnx.load(str(tmp_path / "ac" / "modnet4.onnx"))
    norms = sum(n.op_type == "InstanceNormalization" for n in proto.graph.node)
    # 2 downscales + 6 upscales, and each InstanceNorm's 1x1 mean broadcast; no pad/pool detour, and no Slice
    # at all (IBNorm's halves are one convolution each)
    assert m["caffe_graph"]["types"]["Interp"] == 8 + norms and norms == 16
    assert "Slice" not in m["caffe_graph"]["types"]
    half_pixel = lower_onnx(proto)
    assert sum(l.type == "Interp" and l.origin.startswith("Resize") for l in half_pixel.layers) == 8


def copy_bundle(bundle, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(bundle.out, out)
    return out


def rewrite(out, name, data: bytes):
    (out / name).write_bytes(data)
    reseal(out)


def test_verify_catches_wrong_caffe_weights_even_with_matching_checksums(om_bundle, tmp_path):
    out = copy_bundle(om_bundle, tmp_path)
    net = lower_onnx(onnx.load(str(out / "modnet4.onnx")))
    conv = next(l for l in net.layers if l.type == "Convolution" and len(l.blobs) == 2)
    conv.blobs[1] = conv.blobs[1] + np.float32(0.05)  # a small bias change in one layer
    rewrite(out, "modnet4.caffemodel", encode_caffemodel(net))
    r = run("verify", out)
    assert r.exit_code == 1
    assert "PASSED | onnxruntime" in r.stdout
    assert "FAILED | caffe-numpy" in r.stdout and "FAILED | opencv-dnn" in r.stdout


def test_a_caffe_file_no_reader_can_run_is_a_failed_check_not_a_crash(om_bundle, tmp_path):
    out = copy_bundle(om_bundle, tmp_path)
    text = (out / "modnet4.prototxt").read_text().replace('type: "Sigmoid"', 'type: "NoSuchLayer"')
    rewrite(out, "modnet4.prototxt", text.encode())
    r = run("verify", out, "--json")
    assert r.exit_code == 1
    failed = {c["reader"]: c["error"] for c in json.loads(r.stdout)["checks"] if not c["passed"]}
    assert set(failed) == {"caffe-numpy", "opencv-dnn"}
    assert "NoSuchLayer" in failed["caffe-numpy"] and "NoSuchLayer" in failed["opencv-dnn"]
