"""``edgematte train`` on the synthetic set on CPU: the loss falls, the checkpoint exports to ONNX and to the
Kit, --resume reproduces the uninterrupted curve, torchrun with two processes matches one process with
the same global batch, and an --align-corners fine-tune exports through the Interp-only path."""

import json
import numpy as np
import onnx

import pytest

from edgematte import api
from clitools import assert_user_error, run, run_torchrun
from edgematte.data.synthetic import write_synthetic_dataset
from edgematte.model.modnet_checkpoint import load_checkpoint

SMALL = ["--size", "64x64", "--batch-size", "2"]


def losses(folder):
    return [json.loads(line)["loss"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("train"), clips=2, frames=6, width=96, height=64)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "full"
    r = run("train", "--data", data, "--out", out, *SMALL, "--iterations", "20", "--lr", "1e-3", "--save-every", "10")
    assert r.exit_code == 0, r.output
    assert f"Next: edgematte export --checkpoint {out / 'checkpoint.ckpt'} --out out/hilens" in r.stdout
    return out


def test_twenty_iterations_lower_the_loss_and_the_checkpoint_exports(trained, tmp_path):
    curve = losses(trained)
    assert len(curve) == 20 and sum(curve[-5:]) / 5 < 0.8 * sum(curve[:5]) / 5
    loaded = load_checkpoint(trained / "checkpoint.ckpt")
    assert loaded.meta.in_channels == 4 and loaded.meta.align_corners is False
    for to in ("onnx", "om"):
        result = api.export(to=to, checkpoint=trained / "checkpoint.ckpt", size="64x64", out=tmp_path / to)
        assert result.passed


def test_resume_continues_with_the_same_loss_curve(data, trained, tmp_path):
    out = tmp_path / "resumed"
    assert run("train", "--data", data, "--out", out, *SMALL, "--iterations", "10", "--lr", "1e-3",
               "--save-every", "10").exit_code == 0
    taken = run("train", "--data", data, "--out", out, *SMALL, "--iterations", "20", "--lr", "1e-3")
    assert taken.exit_code == 1 and "--resume" in taken.stderr
    r = run("train", "--data", data, "--out", out, *SMALL, "--iterations", "20", "--lr", "1e-3", "--save-every", "10",
            "--resume")
    assert r.exit_code == 0, r.output
    assert losses(out) == pytest.approx(losses(trained), rel=1e-6)


def test_own_feedback_clips_train_and_resume_exactly(data, tmp_path):
    """Clips of 3 frames fed their own previous output, with RVM's coherence term: the metrics carry the term, and a
    run stopped at step 4 and resumed reproduces the uninterrupted one (the coins are drawn from the sample's seed)."""
    args = [*SMALL, "--clip-frames", "3", "--own-feedback", "0.8", "--own-ramp", "4", "--coherence", "5", "--lr",
            "1e-3", "--save-every", "4"]
    assert run("train", "--data", data, "--out", tmp_path / "full", *args, "--iterations", "8").exit_code == 0
    assert run("train", "--data", data, "--out", tmp_path / "cut", *args, "--iterations", "4").exit_code == 0
    r = run("train", "--data", data, "--out", tmp_path / "cut", *args, "--iterations", "8", "--resume")
    assert r.exit_code == 0, r.output
    assert losses(tmp_path / "cut") == pytest.approx(losses(tmp_path / "full"), rel=1e-6)
    first = json.loads((tmp_path / "full" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["coherence"] > 0
    other = run("train", "--data", data, "--out", tmp_path / "cut", *SMALL, "--clip-frames", "2", "--own-feedback",
                "0.8", "--own-ramp", "4", "--coherence", "5", "--lr", "1e-3", "--iterations", "12", "--resume")
    assert_user_error(other, "--clip-frames 2 (the run has 3)")


def test_recipes_set_the_training_and_a_plain_model_says_it_takes_zeros(data, tmp_path):
    """--recipe a-plain trains on zero previous alphas only; its checkpoint records it (the apps then feed zeros:
    test_feedback_off.py). The alpha still enters as -1 (2a - 1), so its weights train like a bias and the model is
    not indifferent to a non-zero alpha: feeding it one would be outside its training."""
    r = run("train", "--data", data, "--out", tmp_path / "plain", *SMALL, "--iterations", "2", "--recipe", "a-plain")
    assert r.exit_code == 0, r.output
    assert load_checkpoint(tmp_path / "plain" / "checkpoint.ckpt").meta.feedback is False
    r = run("train", "--data", data, "--out", tmp_path / "own", *SMALL, "--iterations", "2", "--recipe", "e-own",
            "--own-ramp", "0")
    assert r.exit_code == 0, r.output
    assert load_checkpoint(tmp_path / "own" / "checkpoint.ckpt").meta.feedback is True
    assert "coherence" in (tmp_path / "own" / "metrics.jsonl").read_text()  # e-own's clips and coherence term


@pytest.mark.parametrize("clips", [[], ["--recipe", "e-own", "--own-ramp", "0"]], ids=["frames", "own-feedback-clips"])
def test_two_processes_match_one_with_the_same_global_batch(data, tmp_path, clips):
    """torchrun: each process takes its slice of the global batch (with clips: unrolls its clips in one forward)."""
    args = ["train", "--data", str(data), "--size", "64x64", "--batch-size", "4", "--iterations", "4",
            "--optimizer", "sgd", "--lr", "1e-2", "--freeze-bn", *clips]
    assert run(*args, "--out", tmp_path / "one").exit_code == 0
    r = run_torchrun(*args, "--out", tmp_path / "two")
    assert r.returncode == 0, r.stderr[-2000:]
    assert losses(tmp_path / "two") == pytest.approx(losses(tmp_path / "one"), rel=1e-3)


def test_align_corners_fine_tune_exports_through_interp_only(data, tmp_path):
    out = tmp_path / "ac"
    assert run("train", "--data", data, "--out", out, *SMALL, "--iterations", "2", "--align-corners").exit_code == 0
    assert load_checkpoint(out / "checkpoint.ckpt").meta.align_corners is True
    result = api.export(to="om", checkpoint=out / "checkpoint.ckpt", size="64x64", out=tmp_path / "kit")
    proto = onnx.load(str(tmp_path / "kit" / "modnet4.onnx"))
    norms = sum(n.op_type == "InstanceNormalization" for n in proto.graph.node)
    # every resize is one Interp (2 down, 6 up), beside each InstanceNorm's 1x1 mean broadcast
    assert result.passed and result.manifest.caffe_graph["types"]["Interp"] == 8 + norms
    assert all(c.max_abs <= 1e-4 for c in result.checks)


def test_bad_data_is_named(tmp_path, data):
    r = run("train", "--data", tmp_path / "missing", "--out", tmp_path / "o", *SMALL, "--iterations", "1")
    assert r.exit_code == 1 and "Traceback" not in r.output and "no <clip>/pha/ folders" in r.stderr


def test_resume_needs_a_run_to_resume(data, tmp_path):
    from clitools import assert_user_error

    assert_user_error(run("train", "--data", data, "--out", tmp_path / "empty", *SMALL, "--iterations", "2",
                          "--resume"), "nothing to resume", "train_state.pt")


def test_a_diverging_run_stops_with_one_line_and_keeps_its_last_checkpoint(data, tmp_path):
    out = tmp_path / "diverged"
    r = run("train", "--data", data, "--out", out, *SMALL, "--iterations", "6", "--lr", "1e30", "--save-every", "1")
    assert_user_error(r, "the loss is not a number at step", "--lr 1e+30 is likely too high")
    assert "Next:" not in r.stdout and "checkpoint of step" in r.stderr
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(losses(out))) and steps == list(range(1, len(steps) + 1))


@pytest.mark.parametrize("lr", ["nan", "-1", "0"])
def test_a_learning_rate_that_is_not_one_is_refused_before_any_work(data, tmp_path, lr):
    assert_user_error(run("train", "--data", data, "--out", tmp_path / "o", *SMALL, "--iterations", "1", "--lr", lr),
                      f"--lr {lr if lr != '-1' else '-1'} is not a learning rate")
    assert not (tmp_path / "o").exists()


def test_resume_survives_a_metrics_line_cut_by_an_interruption(data, tmp_path):
    out = tmp_path / "cut"
    assert run("train", "--data", data, "--out", out, *SMALL, "--iterations", "4", "--lr", "1e-3",
               "--save-every", "2").exit_code == 0
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 0.')  # the process was stopped mid-write
    r = run("train", "--data", data, "--out", out, *SMALL, "--iterations", "6", "--lr", "1e-3", "--save-every", "2",
            "--resume")
    assert r.exit_code == 0, r.output
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_resume_refuses_other_settings_and_an_interrupted_save(data, trained, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained, out)
    assert_user_error(run("train", "--data", data, "--out", out, *SMALL, "--iterations", "30", "--lr", "1e-2",
                          "--resume"), "--resume continues the run as it was started", "--lr 0.01 (the run has 0.001)")
    assert_user_error(run("train", "--data", data, "--out", out, "--size", "96x64", "--batch-size", "2",
                          "--iterations", "30", "--lr", "1e-3", "--resume"), "--size '96x64' (the run has '64x64')")
    # a save stopped between the checkpoint and the state: the weights are another step's
    other = tmp_path / "other"
    assert run("train", "--data", data, "--out", other, *SMALL, "--iterations", "2", "--lr", "1e-3").exit_code == 0
    shutil.copyfile(other / "checkpoint.ckpt", out / "checkpoint.ckpt")
    assert_user_error(run("train", "--data", data, "--out", out, *SMALL, "--iterations", "30", "--lr", "1e-3",
                          "--resume"), "are from different saves (the last save was interrupted)")
