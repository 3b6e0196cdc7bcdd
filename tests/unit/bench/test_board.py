"""bench --device's loop prediction: the app's own pipeline, each thread's time, the period and the bottleneck."""

import pytest

from edgematte.bench.board import family_route, in_graph_blend_ms, predict_loop
from edgematte.devices import DEVICES


def _host(app, stages):
    return {"network": [512, 288], "graph_output_ms": {"1280x720": 0.5}, "apps": {app: {"1280x720 composite": {"stages": stages, "total": sum(stages.values())},
                           "1920x1080 composite": {"stages": stages, "total": 0}}}}


def test_the_acl_apps_three_threads_overlap_and_the_slowest_sets_the_rate():
    family = DEVICES["ascend310b4"]
    slow, share = family.board_cpu.slowdown, 1280 * 720 / (1920 * 1080)
    vpc, jpegd = family.media.ms_1080p * share, family.media.jpegd_ms_1080p * share
    host = _host("acl_app", {"decode": 2.0, "convert": 1.0, "upload": 0.5, "feedback": 0.5, "composite": 4.0})
    m = predict_loop(family, host, npu_ms=10.0)["modes"]["composite"]
    # JPEGD waits in the capture thread, VPC in the NPU's (the chip's time, not the host's); no preview: no JPEGE
    assert m["threads"] == pytest.approx({"capture": 3 * slow + jpegd, "npu": slow + vpc + 10.0,
                                          "output": 4.0 * slow}, abs=0.01)
    assert m["dvpp_ms"] == pytest.approx(vpc + jpegd, abs=0.01) and m["host_ms"] == pytest.approx(8.0 * slow, abs=0.01)
    assert m["stages"]["decode"] == pytest.approx(2.0 * slow, abs=0.01) and m["stages"]["infer"] == 10.0
    period = max(m["threads"].values())
    assert m["fps"] == pytest.approx(1000 / period, abs=0.05)
    assert m["bottleneck"] == max(m["threads"], key=m["threads"].get)
    assert m["latency_ms"] == pytest.approx(sum(m["threads"].values()), abs=0.05)
    assert list(predict_loop(family, host, 10.0)["modes"]) == ["composite"]  # the 720p rows only


def test_the_preview_adds_dvpps_jpeg_encoder_to_the_output_thread():
    family = DEVICES["ascend310b4"]
    per_frame = family.media.ms_1080p * 1280 * 720 / (1920 * 1080)
    jpegd = family.media.jpegd_ms_1080p * 1280 * 720 / (1920 * 1080)
    host = {"network": [512, 288], "graph_output_ms": {"1280x720": 0.5}, "apps": {"acl_app": {f"1280x720 {mode}": {"stages": {"composite": 1.0, "preview": 0.5}}
                                 for mode in ("composite preview", "side-by-side preview")}}}
    modes = predict_loop(family, host, npu_ms=1.0)["modes"]
    assert modes["composite preview"]["dvpp_ms"] == pytest.approx(2 * per_frame + jpegd, abs=0.01)  # VPC + JPEGE
    assert modes["side-by-side preview"]["dvpp_ms"] == pytest.approx(3 * per_frame + jpegd, abs=0.01)  # twice as wide
    slowed = dict(family.__dict__, media=type(family.media)(1000.0, 1.0, "a slow DVPP"))
    m = predict_loop(type(family)(**slowed), host, npu_ms=1.0)["modes"]["composite preview"]
    assert m["bottleneck"] == "DVPP" and m["fps"] == pytest.approx(1000 / m["dvpp_ms"], abs=0.05)


def test_the_skill_is_one_thread_and_too_few_cores_are_the_bottleneck():
    kit = DEVICES["hilens-kit"]
    m = predict_loop(kit, _host("hilens_skill", {"feedback": 1.0, "composite": 3.0}), npu_ms=20.0)["modes"]["composite"]
    assert list(m["threads"]) == ["loop"] and m["threads"]["loop"] == pytest.approx(4.0 * kit.board_cpu.slowdown + 20)
    import dataclasses

    board = DEVICES["ascend310b4"]  # three threads on one core: the core, not a thread, sets the rate
    one_core = dataclasses.replace(board, board_cpu=dataclasses.replace(board.board_cpu, cores=1))
    stages = {"decode": 10.0, "convert": 10.0, "feedback": 0.0, "composite": 10.0, "preview": 0.0}
    m = predict_loop(one_core, _host("acl_app", stages), npu_ms=0.0)["modes"]["composite"]
    assert m["bottleneck"] == "the CPU (1 cores)" and m["fps"] == pytest.approx(1000 / m["host_ms"], abs=0.05)


@pytest.mark.parametrize("family", list(DEVICES))
def test_every_family_has_its_board_facts_and_a_route(family):
    record = DEVICES[family]
    assert record.board_cpu.cores >= 1 and record.board_cpu.slowdown >= 1 and "[" in record.board_cpu.source
    assert family_route(record) in ("caffe (omg)", "onnx (atc)")


def test_the_in_graph_blend_moves_the_composite_onto_the_npu_thread_and_wins_only_where_the_npu_has_room():
    family = DEVICES["ascend310b4"]
    extra = in_graph_blend_ms(family, 1280, 720, 512, 288)
    assert 0 < extra < in_graph_blend_ms(family, 1920, 1080, 512, 288)  # memory-bound: grows with the frame
    assert in_graph_blend_ms(DEVICES["ascend310p3"], 1280, 720, 512, 288) < extra  # 8x the 310B4's bandwidth
    npu_bound = predict_loop(family, _host("acl_app", {"composite": 1.0}), npu_ms=30.0)["modes"]["composite"]
    assert npu_bound["in_graph_blend"]["npu_extra_ms"] == pytest.approx(extra, abs=0.01)
    assert npu_bound["in_graph_blend"]["fps"] < npu_bound["fps"]  # the NPU thread was the bottleneck already
    output_bound = predict_loop(family, _host("acl_app", {"composite": 20.0}), npu_ms=1.0)["modes"]["composite"]
    assert output_bound["bottleneck"] == "output" and output_bound["in_graph_blend"]["fps"] > output_bound["fps"]
    # the host's work on the graph's result (0.5 ms here) takes the composite's place in the output thread, and the
    # NPU thread (network, blend, VPC) is now the slowest
    vpc = family.media.ms_1080p * 1280 * 720 / (1920 * 1080)
    assert 0.5 * family.board_cpu.slowdown < 1.0 + extra + vpc
    assert 1000 / output_bound["in_graph_blend"]["fps"] == pytest.approx(1.0 + extra + vpc, abs=0.02)
