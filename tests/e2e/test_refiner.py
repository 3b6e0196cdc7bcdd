"""A device bundle with the M-Net refiner beside MODNet: its files and checks, convert.sh compiling both, verify,
the app and the skill running it against their stand-ins, the app's refiner stage following its contract
(the trimap from MODNet's alpha, the crop with the most unknown pixels), and misuse."""

import cv2
import numpy as np
import pytest
from clitools import assert_user_error, run

from edgematte import api
from edgematte.bundle import Bundle
from edgematte.refine import BAND, best_box, crop_trimap
from edgematte.templates import shared_source

SIZE, REFINER_SIZE = "64x64", "64x64"


@pytest.fixture(scope="module")
def refined_app(tmp_path_factory):
    return api.export(to="om", device="ascend310b4", size=SIZE, refiner="mnet", refiner_size=REFINER_SIZE,
                      refiner_width=0.25, out=tmp_path_factory.mktemp("refiner") / "app")


def test_bundle_holds_both_networks_checked_and_compiled(refined_app):
    m = refined_app.manifest
    assert m.passed and m.refiner["spec"]["model"] == "mnet" and m.refiner["weights"]["width"] == 0.25
    assert sorted(m.refiner["artifacts"].values()) == ["refiner/aipp.cfg", "refiner/golden.npz", "refiner/mnet.onnx"]
    checks = {(c.reader, c.check) for c in refined_app.checks}
    assert {("onnxruntime", "rollout"), ("onnxruntime", "mnet.portrait")} <= checks
    script = (refined_app.out / "convert.sh").read_text()
    assert script.count("\natc ") == 2 and "--model=refiner/mnet.onnx" in script
    assert "'--input_shape=image:1,3,64,64;trimap:1,1,64,64'" in script
    assert script.count("# Check the toolchain for") == 1  # the CANN and chip checks run once
    assert "YUV400_U8" in (refined_app.out / "refiner" / "aipp.cfg").read_text()
    assert shared_source() in (refined_app.out / "app" / "main.py").read_text()
    result = api.verify(refined_app.out)
    assert result.passed and any(c.check == "mnet.portrait" for c in result.checks)


def test_verify_catches_an_edited_refiner_file(refined_app, tmp_path):
    import shutil

    folder = tmp_path / "b"
    shutil.copytree(refined_app.out, folder)
    with open(folder / "refiner" / "mnet.onnx", "ab") as f:
        f.write(b"\0")
    result = run("verify", folder)
    assert result.exit_code == 1 and "refiner/mnet.onnx changed since export" in result.output


def test_app_refines_the_most_uncertain_crop(refined_app, tmp_path):
    from edgematte.sample import write_sample_clip
    from edgematte.standin import run_app, start_app

    clip = write_sample_clip(tmp_path / "clip.mp4", seconds=0.4)
    acl = start_app(Bundle.open(refined_app.out), keep_alphas=True)
    code, stopped = run_app(acl, ["--input", str(clip), "--output", str(tmp_path / "o.mp4")])
    assert (code, stopped) == (0, None)
    s = acl.session()
    assert s.executions == 10 and 1 <= s.refiner_executions <= s.executions
    # the first frame: the trimap and box the app handed M-Net follow from MODNet's alpha (refine.py's contract)
    frame = cv2.VideoCapture(str(clip)).read()[1]
    h, w = frame.shape[:2]
    alpha = cv2.resize(np.clip(s.alphas[0], 0, 1), (w, h), interpolation=cv2.INTER_LINEAR)
    band = max(3, int(round(BAND * w / 64)))
    from edgematte.pictures import bgr_to_nv21
    from edgematte.refine import trimap_from_alpha

    x, y, _ = best_box(trimap_from_alpha(alpha, band) == 0.5, 64, 64)  # refine.py's steps, one by one
    (crop, codes), refined = s.refiner_calls[0]
    assert x % 2 == 0 and y % 2 == 0  # NV21's chroma pairs stay whole
    assert np.array_equal(crop.reshape(96, 64), bgr_to_nv21(frame[y:y + 64, x:x + 64]))  # the crop as NV21
    assert np.array_equal(codes.reshape(64, 64), crop_trimap(alpha, (x, y, 64, 64), band))
    assert set(np.unique(codes)) >= {1} and refined.shape == (1, 1, 64, 64)


def test_skill_runs_the_refiner_on_the_kit_stand_in(tmp_path):
    from edgematte.sample import write_sample_clip

    bundle = api.export(to="om", size=SIZE, refiner="mnet", refiner_size=REFINER_SIZE, refiner_width=0.25,
                        out=tmp_path / "kit")
    assert bundle.manifest.refiner["caffe_graph"]["layers"] > 0
    assert "--model=refiner/mnet.prototxt" in (tmp_path / "kit" / "convert.sh").read_text()
    clip = write_sample_clip(tmp_path / "clip.mp4", seconds=0.2)
    result = api.run(tmp_path / "kit", input=str(clip), output=tmp_path / "o.mp4")
    assert result.frames == 5 and result.stopped is None
    assert any(line.endswith(("1 refiner runs", "2 refiner runs")) for line in result.log), result.log


@pytest.mark.parametrize("args, fragments", [
    (["--to", "onnx", "--refiner", "mnet"], ["--refiner puts M-Net in a device bundle"]),
    (["--to", "om", "--refiner-size", "320x320"], ["--refiner-size set the refiner; add --refiner mnet"]),
    (["--to", "om", "--model", "mnet", "--refiner", "mnet"], ["--refiner applies to MODNet only"]),
    (["--to", "om", "--refiner", "mnet", "--refiner-size", "100x100"], ["not a multiple of 32"]),
])
def test_refiner_misuse_is_one_error_line(tmp_path, args, fragments):
    result = run("export", *args, "--size", SIZE, "--out", tmp_path / "x")
    assert_user_error(result, *fragments)
    assert not (tmp_path / "x").exists()
