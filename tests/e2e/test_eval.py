"""``edgematte eval`` on a synthetic dataset made here: tables a test recomputes independently, the temporal
baselines side by side, and a clear message for each way the folders can be wrong."""

import csv
import json
import shutil

import cv2
import numpy as np
import pytest

from clitools import assert_user_error, run
from edgematte.data.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("data"), clips=2, frames=5, width=64, height=64)


@pytest.fixture
def predictions(dataset, tmp_path):
    """Ground truth with a deterministic error: a brightness offset that changes per frame."""
    pred = tmp_path / "pred"
    for gt in sorted(dataset.rglob("pha/*.png")):
        rel = gt.relative_to(dataset)
        (pred / rel).parent.mkdir(parents=True, exist_ok=True)
        a = cv2.imread(str(gt), cv2.IMREAD_UNCHANGED).astype(int)
        offset = 10 + 5 * int(gt.stem)
        cv2.imwrite(str(pred / rel), np.clip(a + offset, 0, 255).astype(np.uint8))
    return pred


def test_tables_match_an_independent_recomputation(dataset, predictions, tmp_path):
    r = run("eval", "--pred", predictions, "--gt", dataset, "--json", tmp_path / "r.json", "--csv", tmp_path / "r.csv")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "r.json").read_text())
    method = report["methods"]["predictions"]
    all_mad, all_dt = [], []
    for clip in sorted(p for p in dataset.glob("synthetic/*") if p.is_dir()):
        gts = [cv2.imread(str(p), 0) / 255.0 for p in sorted((clip / "pha").glob("*.png"))]
        preds = [cv2.imread(str(p), 0) / 255.0 for p in sorted((predictions / clip.relative_to(dataset) / "pha").glob("*.png"))]
        mad = [np.abs(p - g).mean() * 1e3 for p, g in zip(preds, gts)]
        dt = [0.0] + [100 * np.sqrt((((preds[t] - preds[t - 1]) - (gts[t] - gts[t - 1])) ** 2).mean())
                      for t in range(1, len(gts))]
        got = method["clips"][str(clip.relative_to(dataset))]
        assert got["mean"]["MAD"] == pytest.approx(np.mean(mad), rel=1e-9)
        assert got["mean"]["dtSSD"] == pytest.approx(np.mean(dt), rel=1e-9)
        assert got["mean"]["dtSSD"] > 0  # the offset changes every frame
        all_mad += mad
        all_dt += dt
    assert method["overall"]["MAD"] == pytest.approx(np.mean(all_mad), rel=1e-9)
    assert method["overall"]["dtSSD"] == pytest.approx(np.mean(all_dt), rel=1e-9)
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 10 and rows[0]["method"] == "predictions"
    assert "OVERALL" in r.stdout and "frame 0 counts as 0" in r.stdout


def test_model_run_reports_the_temporal_baselines_side_by_side(dataset, om_bundle, tmp_path):
    r = run("eval", "--bundle", om_bundle.out, "--data", dataset, "--json", tmp_path / "m.json",
            "--plot", tmp_path / "m.png")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "m.json").read_text())
    methods = report["methods"]
    assert list(methods) == ["prev-alpha input", "no feedback (plain MODNet)", "no feedback + OFD",
                             "no feedback + EMA 0.5"]
    assert [m["latency_frames"] for m in methods.values()] == [0, 0, 1, 0]
    assert "zeros" in report["frame0"] and (tmp_path / "m.png").stat().st_size > 1000
    for m in methods.values():
        assert set(m["clips"]) == {"synthetic/clip00", "synthetic/clip01"}
    # OFD only changes frames 1..T-2 of the no-feedback output: frames 0 and T-1 score the same
    # (their dtSSD can differ, since it looks at the changed neighbour)
    plain, ofd = methods["no feedback (plain MODNet)"], methods["no feedback + OFD"]
    for clip in plain["clips"]:
        assert plain["clips"][clip]["per_frame"][0] == ofd["clips"][clip]["per_frame"][0]
        assert plain["clips"][clip]["per_frame"][-1]["MAD"] == ofd["clips"][clip]["per_frame"][-1]["MAD"]


def test_checkpoint_run(dataset, tmp_path):
    r = run("eval", "--data", dataset, "--size", "64x64", "--json", tmp_path / "c.json")
    assert r.exit_code == 0, r.output
    assert "embedded default (untrained)" in r.stdout


def test_folder_problems_name_the_file(dataset, predictions, tmp_path):
    victim = predictions / "synthetic" / "clip01" / "pha" / "0003.png"
    victim.unlink()
    assert_user_error(run("eval", "--pred", predictions, "--gt", dataset), "0003.png is missing", "mirror")
    cv2.imwrite(str(victim), np.zeros((32, 32), np.uint8))
    assert_user_error(run("eval", "--pred", predictions, "--gt", dataset), "0003.png is 32x32", "is 64x64")
    victim.write_text("not an image")
    assert_user_error(run("eval", "--pred", predictions, "--gt", dataset), "0003.png cannot be read as an image")
    (predictions / "synthetic" / "clip01" / "pha" / "notes.txt").write_text("x")
    assert_user_error(run("eval", "--pred", predictions, "--gt", dataset), "notes.txt is not an image file")
    empty = tmp_path / "gt_empty" / "s" / "c" / "pha"
    empty.mkdir(parents=True)
    assert_user_error(run("eval", "--pred", predictions, "--gt", tmp_path / "gt_empty"), "pha is empty")
    assert_user_error(run("eval", "--pred", predictions, "--gt", tmp_path / "nothing"), "does not exist")
    assert_user_error(run("eval", "--gt", dataset), "--pred and --gt together")
    copy = tmp_path / "nocom"
    shutil.copytree(dataset, copy)
    shutil.rmtree(copy / "synthetic" / "clip00" / "com")
    assert_user_error(run("eval", "--data", copy, "--size", "64x64"), "com does not exist", "input frames")


def test_trimap_protocol_is_reported_apart(dataset, predictions, tmp_path):
    from edgematte.train.trimap import detail_trimap

    trimaps = tmp_path / "trimaps"
    for gt in sorted(dataset.rglob("pha/*.png")):
        rel = gt.relative_to(dataset).parent.parent / "trimap" / gt.name
        (trimaps / rel).parent.mkdir(parents=True, exist_ok=True)
        t = detail_trimap(cv2.imread(str(gt), 0) / 255.0, width=7)
        cv2.imwrite(str(trimaps / rel), (t * 255).round().astype(np.uint8))
    r = run("eval", "--pred", predictions, "--gt", dataset, "--trimap", trimaps, "--json", tmp_path / "t.json")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "t.json").read_text())
    tri = report["trimap_protocol"]
    assert "unknown band" in tri["protocol"] and set(tri["overall"]) == {"SAD", "MSE", "Grad", "Conn"}
    clip = dataset / "synthetic" / "clip00"
    sads = []
    for gt in sorted((clip / "pha").glob("*.png")):
        g = cv2.imread(str(gt), 0) / 255.0
        p = cv2.imread(str(predictions / "synthetic" / "clip00" / "pha" / gt.name), 0) / 255.0
        band = cv2.imread(str(trimaps / "synthetic" / "clip00" / "trimap" / gt.name), 0) == 128
        sads.append(np.abs(p - g)[band].sum() / 1e3)
    assert tri["clips"]["synthetic/clip00"]["SAD"] == pytest.approx(np.mean(sads), rel=1e-9)
    assert "MAD" not in tri["overall"]  # the protocols never mix
    (trimaps / "synthetic" / "clip01" / "trimap" / "0002.png").unlink()
    assert_user_error(run("eval", "--pred", predictions, "--gt", dataset, "--trimap", trimaps),
                      "0002.png is missing", "one trimap per ground-truth frame")


def test_a_bundle_the_stand_in_cannot_run_is_refused(dataset, exported_bundle):
    assert_user_error(run("eval", "--bundle", exported_bundle.out, "--data", dataset),
                      "has no aipp (exported with --to onnx)", "edgematte export --to om")


def test_reset_rules_make_the_fed_back_alpha_drop_at_a_cut_as_the_apps_do(tmp_path):
    """One clip that cuts from one scene to another half-way: with the apps' reset rules the fed-back run drops its
    previous alpha at the cut and scores differently from the protocol's unconditional feedback; plain MODNet
    (no feedback) is the same either way."""
    import cv2

    from edgematte import api

    clip = tmp_path / "data" / "set" / "cut"
    (clip / "com").mkdir(parents=True)
    (clip / "pha").mkdir()
    rng = np.random.default_rng(0)
    scenes = [cv2.GaussianBlur(rng.integers(0, 80, (64, 64, 3), dtype=np.uint8), (0, 0), 3),
              cv2.GaussianBlur(rng.integers(170, 255, (64, 64, 3), dtype=np.uint8), (0, 0), 3)]
    matte = np.zeros((64, 64), np.uint8)
    cv2.circle(matte, (32, 36), 18, 255, -1)
    for t in range(6):
        cv2.imwrite(str(clip / "com" / f"{t:04d}.png"), scenes[t // 3])
        cv2.imwrite(str(clip / "pha" / f"{t:04d}.png"), matte)
    runs = {rules: {m.name: m.overall["MAD"] for m in api.evaluate(data=tmp_path / "data", size="64x64",
                                                                    reset_rules=rules).methods}
            for rules in (False, True)}
    assert runs[True]["prev-alpha input"] != runs[False]["prev-alpha input"]
    assert runs[True]["no feedback (plain MODNet)"] == runs[False]["no feedback (plain MODNet)"]
    assert_user_error(run("eval", "--pred", tmp_path / "data", "--gt", tmp_path / "data", "--reset-rules"),
                      "--reset-rules applies to a model's own run")
