"""bench --device's loop prediction: the app's own pipeline, each thread's time, the period and the bottleneck."""

import pytest

from edgematte.bench.board import family_route, predict_loop
from edgematte.devices import DEVICES


def _host(app, stages):
    return {"apps": {app: {"1280x720 composite": {"stages": stages, "total": sum(stages.values())},
                           "1920x1080 composite": {"stages": stages, "total": 0}}}}


def test_the_acl_apps_three_threads_overlap_and_the_slowest_sets_the_rate():
    family = DEVICES["ascend310b4"]
    slow = family.board_cpu.slowdown
    host = _host("acl_app", {"decode": 2.0, "resize": 2.0, "feedback": 0.5, "composite": 4.0, "preview": 1.0})
    m = predict_loop(family, host, npu_ms=10.0)["modes"]["composite"]
    assert m["threads"] == pytest.approx({"capture": 2 * slow, "npu": 2.5 * slow + 10.0, "output": 5.0 * slow})
    period = max(m["threads"].values())
    assert m["fps"] == pytest.approx(1000 / period, abs=0.05)
    assert m["bottleneck"] == max(m["threads"], key=m["threads"].get) == "output"
    assert m["latency_ms"] == pytest.approx(sum(m["threads"].values()), abs=0.05)
    assert list(predict_loop(family, host, 10.0)["modes"]) == ["composite"]  # the 720p rows only


def test_the_skill_is_one_thread_and_too_few_cores_are_the_bottleneck():
    kit = DEVICES["hilens-kit"]
    m = predict_loop(kit, _host("hilens_skill", {"feedback": 1.0, "composite": 3.0}), npu_ms=20.0)["modes"]["composite"]
    assert list(m["threads"]) == ["loop"] and m["threads"]["loop"] == pytest.approx(4.0 * kit.board_cpu.slowdown + 20)
    import dataclasses

    board = DEVICES["ascend310b4"]  # three threads on one core: the core, not a thread, sets the rate
    one_core = dataclasses.replace(board, board_cpu=dataclasses.replace(board.board_cpu, cores=1))
    stages = {"decode": 10.0, "resize": 10.0, "feedback": 0.0, "composite": 10.0, "preview": 0.0}
    m = predict_loop(one_core, _host("acl_app", stages), npu_ms=0.0)["modes"]["composite"]
    assert m["bottleneck"] == "the CPU (1 cores)" and m["fps"] == pytest.approx(1000 / m["host_ms"], abs=0.05)


@pytest.mark.parametrize("family", list(DEVICES))
def test_every_family_has_its_board_facts_and_a_route(family):
    record = DEVICES[family]
    assert record.board_cpu.cores >= 1 and record.board_cpu.slowdown >= 1 and "[" in record.board_cpu.source
    assert family_route(record) in ("caffe (omg)", "onnx (atc)")
