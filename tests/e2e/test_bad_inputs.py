"""The table of bad inputs: one row per class of mistake or attack. Each row gets exit status 1, exactly one
`Error:` line naming the problem (or, for verify, a FAILED line), no traceback, and leaves every file the
user had exactly as it was, with no `.partial` leftovers."""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from bundletools import edit_manifest, reseal
from clitools import assert_user_error, run
from edgematte.data.synthetic import write_synthetic_dataset


@dataclass
class Case:
    args: list                 # the command line
    fragments: list[str]       # words the Error line (or verify's FAILED lines) must hold
    kept: list[Path] = field(default_factory=list)  # files that must be byte-for-byte unchanged
    absent: list[Path] = field(default_factory=list)  # paths that must not exist afterwards
    verify_fails: bool = False  # verify reports FAILED lines (exit 1) instead of an Error line
    patches: dict = field(default_factory=dict)  # "module.attribute" -> value, set for the run (the machine's facts)


def copy(bundle, tmp: Path, name="b") -> Path:
    out = tmp / name
    shutil.copytree(bundle.out, out)
    return out


def escape_path(b, tmp):
    folder = copy(b["om"], tmp)
    edit_manifest(folder, lambda m: m["artifacts"].update(skill="../evil.py"))
    return Case(["run", folder, "--input", b["clip"], "--output", tmp / "o.mp4"], ["outside the bundle"],
                absent=[tmp / "o.mp4"])


def escape_files_record(b, tmp):
    folder = copy(b["onnx"], tmp)
    edit_manifest(folder, lambda m: m["files"].update({"/etc/hostname": {"sha256": "0", "bytes": 1}}))
    return Case(["verify", folder], ["outside the bundle"])


def unlisted_skill_code(b, tmp):
    folder = copy(b["om"], tmp)
    (folder / "skill" / "helper.py").write_text("import os\n")
    return Case(["verify", folder], ["skill/helper.py is not listed", "could be executed"], verify_fails=True)


def artifact_without_checksum(b, tmp):
    folder = copy(b["onnx"], tmp)
    edit_manifest(folder, lambda m: m["files"].pop("modnet4.onnx"))
    return Case(["verify", folder], ["modnet4.onnx (onnx) has no checksum"], verify_fails=True)


def aipp_field_twice(b, tmp):
    folder = copy(b["om"], tmp)
    text = (folder / "aipp.cfg").read_text().replace("  crop: false\n", "  crop: false\n  crop: true\n")
    (folder / "aipp.cfg").write_text(text)
    reseal(folder)
    return Case(["verify", folder], ["aipp.cfg", "crop is given twice"], verify_fails=True)


def onnx_garbage(b, tmp):
    folder = copy(b["onnx"], tmp)
    (folder / "modnet4.onnx").write_bytes(b"\x08\x07garbage" * 50)
    reseal(folder)
    return Case(["verify", folder], ["modnet4.onnx: the ONNX checker rejects it"], verify_fails=True)


def golden_missing_a_case(b, tmp):
    folder = copy(b["onnx"], tmp)
    with np.load(folder / "golden.npz") as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("portrait.")}
    np.savez(folder / "golden.npz", **arrays)
    reseal(folder)
    return Case(["verify", folder], ["golden.npz cannot be read", "portrait.image is missing"])


def old_manifest(b, tmp):
    folder = copy(b["onnx"], tmp)
    edit_manifest(folder, lambda m: m.pop("format"))
    return Case(["info", folder], ["manifest format 1", "re-export"])


def prototxt_garbage(b, tmp):
    folder = copy(b["om"], tmp)
    (folder / "modnet4.prototxt").write_text("layer { name: ")
    reseal(folder)
    return Case(["verify", folder], ["modnet4.prototxt: prototxt ends after"], verify_fails=True)


def damaged_model_in_run(b, tmp):
    folder = copy(b["om"], tmp)
    (folder / "modnet4.onnx").write_bytes(b"\x08\x07garbage")
    return Case(["run", folder, "--input", b["clip"], "--output", tmp / "o.mp4"],
                ["CreateError: cannot load modnet4.onnx", "nothing written"], absent=[tmp / "o.mp4"])


def os_error_on_an_output(b, tmp):
    return Case(["sample-clip", "/proc/edgematte/c.mp4", "--seconds", "0.2"],
                ["cannot use /proc/edgematte", "check that the path exists"])


def atol_edited_up(b, tmp):
    folder = copy(b["onnx"], tmp)
    edit_manifest(folder, lambda m: m["verification"].update(atol=0.5))
    return Case(["verify", folder], ["verification atol 0.5 is not a tolerance"])


def force_on_a_foreign_folder(b, tmp):
    (tmp / "mine").mkdir()
    (tmp / "mine" / "thesis.tex").write_text("years of work")
    return Case(["export", "--size", "64x64", "--out", tmp / "mine", "--force"],
                ["holds files edgematte did not write"], kept=[tmp / "mine" / "thesis.tex"])


def out_holds_the_checkpoint(b, tmp):
    folder = copy(b["onnx"], tmp)
    shutil.copy(b["ckpt"], folder / "weights.ckpt")
    return Case(["export", "--checkpoint", folder / "weights.ckpt", "--size", "64x64", "--out", folder, "--force"],
                ["holds the input", "weights.ckpt"], kept=[folder / "weights.ckpt", folder / "manifest.json"])


def out_under_a_file(b, tmp):
    (tmp / "notes.txt").write_text("mine")
    return Case(["export", "--size", "64x64", "--out", tmp / "notes.txt" / "bundle"], ["notes.txt is a file, not a folder"],
                kept=[tmp / "notes.txt"])


def out_is_the_current_folder(b, tmp):
    return Case(["export", "--size", "64x64", "--out", ".", "--force"], ["is the current folder"])


def output_is_the_input(b, tmp):
    clip = tmp / "clip.mp4"
    shutil.copy(b["clip"], clip)
    return Case(["run", b["om"].out, "--input", clip, "--output", clip, "--force"], ["is also an input"],
                kept=[clip])


def output_is_not_a_regular_file(b, tmp):
    os.mkfifo(tmp / "pipe.mp4")
    return Case(["run", b["om"].out, "--input", b["clip"], "--output", tmp / "pipe.mp4", "--force"],
                ["exists and is not a regular file"])


def output_with_the_wrong_extension(b, tmp):
    return Case(["run", b["om"].out, "--input", b["clip"], "--output", tmp / "out.avi"], ["must end in .mp4"],
                absent=[tmp / "out.avi"])


def report_over_an_existing_file(b, tmp):
    (tmp / "report.json").write_text('{"mine": true}')
    return Case(["eval", "--pred", tmp / "p", "--gt", tmp / "g", "--json", tmp / "report.json"],
                ["report.json already exists", "--force"], kept=[tmp / "report.json"])


def plot_with_the_wrong_extension(b, tmp):
    return Case(["bench", "--size", "64x64", "--plot", tmp / "chart.txt"], ["--plot", "must end in .png"],
                absent=[tmp / "chart.txt"])


def tiny_video(b, tmp):
    import cv2

    writer = cv2.VideoWriter(str(tmp / "dot.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (8, 8))
    for _ in range(3):
        writer.write(np.zeros((8, 8, 3), np.uint8))
    writer.release()
    return Case(["run", b["om"].out, "--input", tmp / "dot.avi", "--output", tmp / "o.mp4"],
                ["8x8 frames", "at least 64x64"], absent=[tmp / "o.mp4"])


def seconds_not_a_number(b, tmp):
    return Case(["sample-clip", tmp / "c.mp4", "--seconds", "nan"], ["--seconds nan is not a clip length"],
                absent=[tmp / "c.mp4"])


def size_beyond_aipp(b, tmp):
    return Case(["export", "--size", "8192x4096", "--out", tmp / "x"], ["width 8192 is above 4096"],
                absent=[tmp / "x"])


def size_beyond_memory(b, tmp):
    return Case(["export", "--to", "onnx", "--size", "1024x1024", "--out", tmp / "x"],
                ["needs about 8.9 GB of memory and this machine has 4.0 GB available"], absent=[tmp / "x"],
                patches={"edgematte.export.memory.available_bytes": lambda: 4e9})


def size_beyond_the_kit_camera_path(b, tmp):
    return Case(["export", "--size", "2048x1024", "--out", tmp / "x"], ["resize to 64x64 .. 1920x1080"],
                absent=[tmp / "x"])


def corrupt_train_state(b, tmp):
    run_dir = tmp / "run"
    run_dir.mkdir()
    shutil.copy(b["ckpt"], run_dir / "checkpoint.ckpt")
    (run_dir / "train_state.pt").write_bytes(b"PK\x03\x04 not a zip")
    return Case(["train", "--data", tmp, "--out", run_dir, "--resume", "--size", "64x64"],
                ["train_state.pt cannot be read as a training state", "--force"],
                kept=[run_dir / "train_state.pt", run_dir / "checkpoint.ckpt"])


def train_force_on_a_foreign_folder(b, tmp):
    (tmp / "mine").mkdir()
    (tmp / "mine" / "thesis.tex").write_text("years of work")
    return Case(["train", "--data", tmp, "--out", tmp / "mine", "--force", "--size", "64x64"],
                ["holds files but no edgematte run", "choose another --out"], kept=[tmp / "mine" / "thesis.tex"])


def clips_longer_than_the_data(b, tmp):
    data = write_synthetic_dataset(tmp / "d", clips=1, frames=4, width=80, height=64)
    return Case(["train", "--data", data, "--out", tmp / "run", "--clip-frames", "6", "--size", "64x64"],
                ["has 4 frames, fewer than --clip-frames 6", "smaller --clip-frames"], absent=[tmp / "run"])


def own_feedback_on_single_frames(b, tmp):
    return Case(["train", "--data", tmp, "--out", tmp / "run", "--own-feedback", "0.5", "--size", "64x64"],
                ["--own-feedback 0.5 needs clips of 2 or more frames", "--clip-frames"], absent=[tmp / "run"])


def clip_training_for_the_refiner(b, tmp):
    return Case(["train", "--model", "mnet", "--data", tmp, "--out", tmp / "run", "--clip-frames", "3"],
                ["--clip-frames applies to MODNet only", "--model modnet4"], absent=[tmp / "run"])


def malformed_checkpoint_record(b, tmp):
    state = torch.load(b["ckpt"], weights_only=True)
    torch.save({"edgematte": {"in_channels": "four", "align_corners": False}, "state_dict": state},
               tmp / "lying.ckpt")
    return Case(["export", "--checkpoint", tmp / "lying.ckpt", "--size", "64x64", "--out", tmp / "x"],
                ["malformed edgematte record", "in_channels='four'"], absent=[tmp / "x"])


def non_finite_weights(b, tmp):
    state = torch.load(b["ckpt"], weights_only=True)
    key = next(k for k in state if k.endswith("conv_lr.layers.0.weight"))
    state[key] = state[key].clone()
    state[key][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp / "nan.ckpt")
    return Case(["export", "--checkpoint", tmp / "nan.ckpt", "--size", "64x64", "--out", tmp / "x"],
                ["1 tensors that are not finite", "conv_lr.layers.0.weight (NaN or inf)"], absent=[tmp / "x"])


def code_in_a_checkpoint(b, tmp):
    class Payload:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    torch.save({"x": Payload()}, tmp / "evil.ckpt")
    return Case(["info", tmp / "evil.ckpt"], ["code was blocked and never ran"], absent=[Path("pwned")])


def weights_that_compute_nan(b, tmp):
    """Finite weights (the value check passes them) with a negative BatchNorm variance: NaN in the unknown band."""
    from edgematte.model.mnet_checkpoint import default_mnet, save_mnet_checkpoint

    model = default_mnet(0, 0.25).model
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_var.data = -bn.running_var.data.abs() - 1.0
    save_mnet_checkpoint(model, tmp / "mnet.ckpt")
    return Case(["export", "--model", "mnet", "--checkpoint", tmp / "mnet.ckpt", "--size", "64x64", "--to", "onnx",
                 "--out", tmp / "x"], ["compute NaN or infinity on the golden inputs", "negative BatchNorm variance"],
                kept=[tmp / "mnet.ckpt"], absent=[tmp / "x"])


def unknown_device_family(b, tmp):
    folder = copy(b["om"], tmp)
    edit_manifest(folder, lambda m: m.update(device="hilens-kid"))
    return Case(["verify", folder], ["device 'hilens-kid' is not a device family"], verify_fails=True)


def family_that_contradicts_the_bundle(b, tmp):
    folder = copy(b["om"], tmp)
    edit_manifest(folder, lambda m: m.update(device="ascend310b4"))
    return Case(["verify", folder], ["compiles with atc, but the bundle's compiler command is for 'omg'"],
                verify_fails=True)


def device_that_is_not_a_name(b, tmp):
    folder = copy(b["om"], tmp)
    edit_manifest(folder, lambda m: m.update(device=["hilens-kit"]))
    return Case(["run", folder, "--input", b["clip"], "--output", tmp / "o.mp4"], ["'device' is ['hilens-kit'], not a name"],
                absent=[tmp / "o.mp4"])


def atol_above_the_ceiling(b, tmp):
    return Case(["export", "--size", "64x64", "--atol", "0.01", "--out", tmp / "x"], ["--atol 0.01 is outside"],
                absent=[tmp / "x"])


def _refined(tmp):
    from edgematte import api

    return api.export(to="om", size="64x64", refiner="mnet", refiner_size="64x64", refiner_width=0.25,
                      out=tmp / "refined").out


def refiner_record_removed(b, tmp):
    """The app still loads refiner/ while the manifest no longer says it has a refiner."""
    folder = _refined(tmp)
    edit_manifest(folder, lambda m: m.pop("refiner"))
    return Case(["verify", folder], ["REFINER_FILE is 'refiner/mnet.om', the manifest says None"], verify_fails=True)


def refiner_swapped_for_modnet(b, tmp):
    folder = _refined(tmp)
    shutil.copyfile(folder / "modnet4.onnx", folder / "refiner" / "mnet.onnx")
    reseal(folder)
    return Case(["verify", folder], ["mnet.onnx: its inputs", "are not the M-Net graph the manifest describes"],
                verify_fails=True)


def csv_for_the_refiner_comparison(b, tmp):
    return Case(["eval", "--refiner", "mnet", "--data", tmp, "--csv", tmp / "r.csv"],
                ["the refiner comparison writes --json only; leave out --csv"], absent=[tmp / "r.csv"])


def report_under_a_file(b, tmp):
    (tmp / "notes.txt").write_text("mine")
    return Case(["bench", "--size", "64x64", "--json", tmp / "notes.txt" / "b.json"],
                ["is under", "notes.txt, which is a file, not a folder"], kept=[tmp / "notes.txt"])


def eval_with_a_damaged_refiner(b, tmp):
    folder = _refined(tmp)
    (folder / "refiner" / "mnet.onnx").write_bytes(b"not a model")
    return Case(["eval", "--refiner", "mnet", "--bundle", folder, "--data", tmp / "refined"],
                ["mnet.onnx: cannot be loaded"])


def eval_with_a_swapped_refiner(b, tmp):
    folder = _refined(tmp)
    shutil.copyfile(folder / "modnet4.onnx", folder / "refiner" / "mnet.onnx")
    return Case(["eval", "--refiner", "mnet", "--bundle", folder, "--data", tmp / "refined"],
                ["mnet.onnx: its inputs", "are not the M-Net graph"])

def study_in_a_foreign_folder(b, tmp):
    (tmp / "mine").mkdir()
    (tmp / "mine" / "results.json").write_text("{}")
    return Case(["ablation", "--out", tmp / "mine", "--quick"], ["holds files but no study (study.json)"],
                kept=[tmp / "mine" / "results.json"])

def _trimap_set(tmp, value_of):
    """A tiny set with predictions equal to the ground truth, and trimaps ``value_of(alpha)`` beside them."""
    import cv2

    from edgematte.data.synthetic import write_synthetic_dataset

    data = write_synthetic_dataset(tmp / "data", clips=1, frames=2, width=64, height=64)
    trimaps = tmp / "trimaps"
    for gt in sorted(data.rglob("pha/*.png")):
        alpha = cv2.imread(str(gt), cv2.IMREAD_GRAYSCALE)
        target = trimaps / gt.relative_to(data).parent.parent / "trimap" / gt.name
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), value_of(alpha))
    return data, trimaps


def trimap_with_127_for_unknown(b, tmp):
    data, trimaps = _trimap_set(tmp, lambda a: np.where(a == 255, 255, np.where(a == 0, 0, 127)).astype(np.uint8))
    return Case(["eval", "--pred", data, "--gt", data, "--trimap", trimaps],
                ["holds values other than 0, 128 and 255 (127)", "unknown 128"])


def trimap_without_an_unknown_band(b, tmp):
    data, trimaps = _trimap_set(tmp, lambda a: np.where(a >= 128, 255, 0).astype(np.uint8))  # a binary mask
    return Case(["eval", "--pred", data, "--gt", data, "--trimap", trimaps],
                ["has no unknown pixels (128)", "would read as a perfect 0"])


def device_codes_as_a_given_trimap(b, tmp):
    data, trimaps = _trimap_set(tmp, lambda a: np.where(a == 255, 2, np.where(a == 0, 0, 1)).astype(np.uint8))
    return Case(["eval", "--refiner", "mnet", "--data", data, "--size", "64x64", "--refiner-size", "64x64",
                 "--refiner-width", "0.25", "--trimap", trimaps], ["holds values other than 0, 128 and 255 (1, 2)"])

def run_with_an_unknown_family(b, tmp):
    folder = copy(b["om"], tmp)
    edit_manifest(folder, lambda m: m.update(device="hilens-kid"))
    return Case(["run", folder, "--input", b["clip"], "--output", tmp / "o.mp4"],
                ["device 'hilens-kid' is not a device family this edgematte knows"], absent=[tmp / "o.mp4"])

ROWS: list[Callable] = [
    escape_path, escape_files_record, unlisted_skill_code, artifact_without_checksum, aipp_field_twice, onnx_garbage,
    golden_missing_a_case, prototxt_garbage, damaged_model_in_run, os_error_on_an_output, old_manifest,
    atol_edited_up, force_on_a_foreign_folder, out_holds_the_checkpoint,
    out_under_a_file, out_is_the_current_folder, output_is_the_input, output_is_not_a_regular_file,
    output_with_the_wrong_extension, report_over_an_existing_file, plot_with_the_wrong_extension, tiny_video,
    seconds_not_a_number, size_beyond_aipp, size_beyond_memory, size_beyond_the_kit_camera_path, corrupt_train_state,
    train_force_on_a_foreign_folder, clips_longer_than_the_data, own_feedback_on_single_frames,
    clip_training_for_the_refiner, malformed_checkpoint_record, non_finite_weights, code_in_a_checkpoint,
    atol_above_the_ceiling, weights_that_compute_nan, unknown_device_family, family_that_contradicts_the_bundle,
    device_that_is_not_a_name, refiner_record_removed, refiner_swapped_for_modnet, csv_for_the_refiner_comparison,
    report_under_a_file, eval_with_a_damaged_refiner, eval_with_a_swapped_refiner, study_in_a_foreign_folder,
    trimap_with_127_for_unknown, trimap_without_an_unknown_band, device_codes_as_a_given_trimap,
    run_with_an_unknown_family,
]


@pytest.fixture(scope="module")
def made(om_bundle, exported_bundle, sample_clip, official_ckpt):
    return {"om": om_bundle, "onnx": exported_bundle, "clip": sample_clip, "ckpt": official_ckpt}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("row", ROWS, ids=lambda f: f.__name__)
def test_bad_input(row, made, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = row(made, tmp_path)
    for target, value in case.patches.items():
        monkeypatch.setattr(target, value)
    kept = {p: p.read_bytes() for p in case.kept}
    before = snapshot(tmp_path)
    result = run(*case.args)
    if case.verify_fails:
        assert result.exit_code == 1 and "Traceback" not in result.output
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        assert failed and all(any(f in line for line in failed) for f in case.fragments), result.stdout
    else:
        assert_user_error(result, *case.fragments)
    assert {p: p.read_bytes() for p in case.kept} == kept
    for path in case.absent:
        assert not path.exists(), path
    after = snapshot(tmp_path)
    assert not [name for name in after if ".partial" in name or ".failed-verification" in name]
    assert {k: v for k, v in after.items() if k in before} == before  # nothing the user had was changed
