"""A short bench run produces a report that follows the documented schema, with numbers that hang together."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from edgematte.cli import main
from edgematte.bench.baseline import OriginalStyleMODNet, rgb_part
from edgematte.bench.cost import count_macs
from edgematte.bench.schema import BENCH_SCHEMA, schema_problems
from edgematte.bench.stats import LatencyStats
from edgematte.model.modnet_checkpoint import default_model
from edgematte.model.modnet4 import MODNet4


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    r = CliRunner().invoke(main, ["bench", "--size", "64x64", "--frames", "4", "--warmup", "1", "--fp16",
                                  "--int8-max-error", "0.9", "--device", "hilens-kit",
                                  "--json", str(out / "b.json"), "--plot", str(out / "b.png")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "original-style / edgematte" in r.stdout and "Ascend 310 lower bound" in r.stdout
    assert "predicted by the cost model, not measured" in r.stdout and "caffe (omg)" in r.stdout
    assert "camera rounding of the input" in r.stdout and "INT8 mixed precision: 0 of 87 units kept FP32" in r.stdout
    assert (out / "b.png").stat().st_size > 1000
    return json.loads((out / "b.json").read_text())


def test_report_follows_the_documented_schema(report):
    assert schema_problems(report) == []
    assert report["schema"] == "edgematte.bench/3"


def test_host_cpu_covers_every_app_size_and_mode_on_one_thread(report):
    """Each app's own host work per camera frame: both apps, 720p and 1080p, every mode (the AscendCL app with
    and without its preview's JPEG), each total the sum of its stages."""
    from edgematte.apps import APPS
    from edgematte.bench.host import MODES, SIZES

    host = report["host_cpu"]
    assert "one thread" in host["clock"] and host["network"] == [report["model"]["width"], report["model"]["height"]]
    assert set(host["apps"]) == set(APPS)
    for app, rows in host["apps"].items():
        previews = ("", " preview") if APPS[app].device_api == "acl" else ("",)
        assert set(rows) == {f"{w}x{h} {mode}{p}" for w, h in SIZES for mode in MODES for p in previews}
        for row in rows.values():
            assert row["total"] == pytest.approx(sum(row["stages"].values()), abs=2e-3)
            assert all(ms > 0 for ms in row["stages"].values())
    app_720 = host["apps"]["acl_app"]["1280x720 composite preview"]["stages"]
    assert list(app_720) == ["decode", "upload", "feedback", "composite", "preview"]  # JPEGD decodes: no convert
    # OpenCV's decode + conversion, what JPEGD spares the host, timed in the same run
    assert set(host["cpu_decode_ms"]) == {f"{w}x{h}" for w, h in SIZES}
    assert host["cpu_decode_ms"]["1280x720"] > app_720["decode"]
    assert list(host["apps"]["hilens_skill"]["1280x720 composite"]["stages"]) == ["feedback", "composite"]


def test_report_numbers_are_consistent(report):
    names = [v["name"] for v in report["variants"]]
    assert names == ["edgematte-fp32", "original-fp32", "edgematte-int8"]
    p50 = {v["name"]: v["infer_ms"]["p50"] for v in report["variants"]}
    assert report["ratios"]["original_over_edgematte_fp32"] == pytest.approx(
        p50["original-fp32"] / p50["edgematte-fp32"], rel=1e-2)
    for v in report["variants"]:
        s = v["infer_ms"]
        assert s["n"] == 4 and 0 < s["p50"] <= s["p90"] <= s["p99"]
        assert v["gflops_per_s"] == pytest.approx(2 * report["model"]["macs"] / (s["p50"] / 1000) / 1e9, rel=1e-2)
    loop = report["loop"]
    # the bundle's own skill ran on the stand-in: its stages, one record per timed frame
    assert list(loop["stages"]) == ["read", "resize", "aipp", "infer", "composite", "show"]
    assert loop["frames"] == 4 and all(s["n"] == 4 and s["p50"] > 0 for s in loop["stages"].values())
    assert loop["total"]["p50"] >= loop["stages"]["infer"]["p50"]
    assert (loop["input"]["width"], loop["input"]["height"]) == (1280, 720)
    assert 0 < loop["non_infer_fraction"] < 1
    assert report["device_bound"]["min_infer_ms"] == pytest.approx(2 * report["model"]["macs"] / 8e12 * 1000, abs=1e-3)
    assert "alpha_vs_fp32" in report["variants"][2] and report["model"]["trained"] is False
    plan = report["variants"][2]["mixed_precision"]
    assert plan["met"] and plan["error"] == pytest.approx(max(
        report["variants"][2]["alpha_vs_fp32"][k]["mean_abs"] for k in ("portrait", "clip")), abs=1e-6)
    floor = report["camera_rounding_floor"]["clip"]
    assert 0 < floor["mean_abs"] <= floor["max_abs"] < 1
    fp16 = report["fp16_simulation"]["portrait"]
    assert 0 < fp16["mean_abs"] <= fp16["max_abs"] < 0.5


def test_the_device_prediction_is_labelled_a_model_and_covers_both_routes_of_the_kits_chip(report):
    from edgematte.bench.device import MODEL_NOTE

    d = report["device_model"]
    assert d["device"] == "hilens-kit" and d["soc_version"] == "Ascend310" and d["note"] == MODEL_NOTE
    assert d["size"] == [64, 64]
    routes = {r["route"]: r for r in d["routes"]}
    assert list(routes) == ["caffe (omg)", "onnx (atc)"]
    for r in routes.values():
        f = r["fp16"]
        assert f["fps"] == pytest.approx(1000 / f["infer_ms"], rel=1e-2)
        assert 0 < r["int8"]["infer_ms"] <= f["infer_ms"] and f["launched"] <= r["layers"]
        assert sum(f["by_bound_ms"].values()) == pytest.approx(f["infer_ms"], abs=0.01)
    assert routes["caffe (omg)"]["layers"] > routes["onnx (atc)"]["layers"]


def test_schema_validator_names_what_is_wrong(report):
    broken = json.loads(json.dumps(report))
    del broken["loop"]["stages"]["infer"]
    broken["model"]["macs"] = "many"
    problems = schema_problems(broken, BENCH_SCHEMA)
    assert "$.model.macs: expected integer, got str" in problems
    assert "$.loop.stages: missing 'infer'" in problems


def test_latency_stats():
    s = LatencyStats.of([10, 20, 30, 40, 1000])
    assert (s.n, s.p50, s.mean) == (5, 30.0, 220.0) and s.p90 > s.p50 and s.fps == pytest.approx(1000 / 30)


def test_macs_are_counted_from_the_model():
    # One 3x3 conv on a 4x4 map is 16 * 9 * cin * cout; the whole network is checked against fvcore's
    # published count (15.67 GMACs at 512^2 including resizes; convolutions and linears alone: 15.47).
    m3 = MODNet4(in_channels=3)
    assert count_macs(m3, (1, 3, 512, 512), (1, 1, 512, 512)) == pytest.approx(15.47e9, rel=1e-3)


def test_the_baseline_is_modnets_forward_on_the_same_weights():
    model = default_model(0, False).model
    m3 = rgb_part(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(OriginalStyleMODNet(m3)(x), m3(x, None))
        # and with a zero previous alpha the 4-channel model differs only by its alpha weights
        w = model.backbone.model.features[0][0].weight
        assert np.abs(w[:, 3].numpy()).max() > 0


def test_bench_refuses_what_it_cannot_time(tmp_path, route_bundles):
    """Which bundles bench times is its app's record's word; every other bundle gets one line saying why."""
    from clitools import assert_user_error, run

    for name, why in (("caffe", "holds no app"), ("onnx", "holds no app"),
                      ("om --via onnx", "holds the AscendCL app (its loop is not timed yet)")):
        assert_user_error(run("bench", route_bundles[name].out), "bench times the loop of the HiLens skill", why,
                          "give a hilens-kit bundle")
    assert_user_error(run("bench", "--size", "64x64", "--input", tmp_path / "none.mp4"), "none.mp4 does not exist")


def test_a_bundle_with_the_refiner_reports_both_models(tmp_path):
    from edgematte import api
    from edgematte.bench.summary import summary_lines

    report = api.bench(size="64x64", refiner="mnet", refiner_width=0.25, refiner_size="64x64", frames=3, warmup=0,
                       loop_frames=6, device="hilens-kit")
    assert schema_problems(report) == []
    predicted = report["device_model"]["refiner"]  # M-Net through both routes of the Kit's chip
    assert predicted["size"] == [64, 64] and [r["route"] for r in predicted["routes"]] == ["caffe (omg)", "onnx (atc)"]
    assert any(line.startswith("the refiner (M-Net) at 64x64 on Ascend 310") for line in summary_lines(report))
    refiner = report["refiner"]
    assert refiner["network"] == "mnet" and refiner["width"] == 0.25 and refiner["size"] == [64, 64]
    assert 0 < refiner["runs_per_frame"] <= 1 and refiner["infer_ms"]["p50"] > 0
    assert refiner["cpu_ms_per_frame"] == pytest.approx(refiner["infer_ms"]["p50"] * refiner["runs_per_frame"], rel=1e-3)
    assert {"refiner_aipp", "refiner_infer"} <= set(report["loop"]["stages"])
    assert any(line.startswith("refiner mnet x0.25 at 64x64") for line in summary_lines(report))
    loop = report["device_model"]["loop"]  # the Kit's skill, predicted from its own stages and the cost model
    assert loop["app"] == "hilens_skill" and set(loop["modes"]) == {"composite", "alpha", "side-by-side"}
    assert all(m["fps"] > 0 and m["bottleneck"] == "loop" for m in loop["modes"].values())
    assert any(line.startswith("the hilens_skill loop at 1280x720, predicted") for line in summary_lines(report))
    with pytest.raises(Exception, match="shape a fresh export"):
        api.bench(tmp_path / "missing", refiner="mnet")
    with pytest.raises(Exception, match="shape a fresh export"):
        api.bench(tmp_path / "missing", refiner_size="64x64")
