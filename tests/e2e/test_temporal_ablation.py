"""The temporal ablation's quick mode, end to end: synthetic scenes with their events, the study's variants trained
for two seeds, evaluated with the stress measurements, the reset rules and the person-left evidence, the goals and
the shipped method, results.json and the plots written; a finished run is not trained again."""

import json

import cv2
import pytest
from clitools import run

from edgematte.ablation import GOALS, LEFT_RULES, PLAIN, QUICK, RESET_VARIANTS

VARIANTS = QUICK.chosen()
METHODS = {"a-plain", "a-plain + OFD", "a-plain + EMA 0.5", "d-full", "e-own"}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("temporal") / "study"
    r = run("ablation", "--out", out, "--quick")
    assert r.exit_code == 0, r.output
    return out, r


def test_temporal_quick_study_reports_every_method_for_two_seeds(study):
    out, r = study
    report = json.loads((out / "results.json").read_text())
    assert set(report["methods"]) == METHODS and report["config"]["quick"] is True
    for method, row in report["methods"].items():
        assert len(row["MAD"]["per_seed"]) == 2 and row["MAD"]["mean"] > 0
        assert row["MAD after enter"]["mean"] is not None and row["MAD after light"]["mean"] is not None
    for variant in VARIANTS:  # the models that see a previous alpha were hit with a wrong one
        if variant.feedback:
            curves = report["recovery_curves"][variant.name]
            assert all(c[0]["dtssd"] and c[0]["frames_to_recover"] is not None for c in curves.values())
    assert cv2.imread(str(out / "recovery.png")).shape[1] == 720 and cv2.imread(str(out / "events.png")) is not None
    curves = report["event_curves"]["d-full"]
    assert len(curves["enter"]) == len(curves["leave"]) == report["around_event"][1] - report["around_event"][0]
    assert "d-full" in r.stdout and "frames to recover" in r.stdout
    resets = report["reset_rules"]
    assert resets["variants"] == list(RESET_VARIANTS) and len(resets["rows"]) == 2 * len(QUICK.reset_grid)
    assert all(len(row["dtSSD"]["per_seed"]) == 2 for row in resets["rows"])
    for variant in RESET_VARIANTS:
        rules_off = next(row for row in resets["rows"] if row["variant"] == variant and row["reset_threshold"] is None
                         and row["min_coverage"] is None)
        assert rules_off["MAD"] == report["methods"][variant]["MAD"]  # no rules: the model's own loop
    assert "Under the apps' reset rules" in r.stdout


def test_the_study_names_the_shipped_method_from_its_goals(study):
    out, r = study
    report = json.loads((out / "results.json").read_text())
    assert set(report["goals"]) == {"d-full", "e-own"}
    for goals in report["goals"].values():
        assert set(goals) == set(GOALS) and all(g["goal"] == GOALS[k] for k, g in goals.items())
    passing = [m for m, g in report["goals"].items() if all(x["met"] for x in g.values())]
    assert report["shipped"] in passing or (not passing and report["shipped"] == PLAIN)
    assert f"Shipped: {report['shipped']}" in r.stdout
    left = report["left_rule"]["e-own"]
    assert left["frames"]["empty"] > 0 and left["frames"]["person"] > 0
    assert set(left) == {"frames"} | {f"{stat} < {t:g}" for stat, ts in LEFT_RULES.items() for t in ts}


def test_temporal_scenes_record_their_events(study):
    out, _ = study
    events = {p.parent.name: json.loads(p.read_text()) for p in (out / "data" / "test").rglob("events.json")}
    scenarios = {e["scenario"] for e in events.values()}
    assert scenarios == {"steady", "enter", "leave", "light"}
    enter = next(e for e in events.values() if e["scenario"] == "enter")
    assert enter["empty"] == list(range(enter["enter"])) and enter["enter"] > 0
    leave = next(e for e in events.values() if e["scenario"] == "leave")
    assert leave["empty"] == list(range(leave["leave"], leave["frames"]))


def test_temporal_study_resumes_without_training_again(study):
    """A finished run of the study folder is kept: asked again, it hands back its checkpoint without a step."""
    from edgematte.ablation import QUICK, _train

    out, _ = study
    lines = []
    for variant in VARIANTS:
        checkpoint = _train(out, out / "data" / "train", variant, QUICK.seeds[-1], QUICK, lines.append)
        assert checkpoint.is_file()
    assert lines == []


def test_the_study_folder_records_its_settings_and_resumes_with_them(study):
    out, _ = study
    recorded = json.loads((out / "study.json").read_text())
    assert recorded["iterations"] == 2 and recorded["seeds"] == [0, 1] and recorded["quick"] is True
    assert not list((out / "data").glob(".*.partial"))  # the data was renamed into place when complete
