"""The pyACL stand-in: the app's own file runs on it, its alphas are the model's, it releases everything, and it
refuses what pyACL would refuse (return codes as in CANN's aclError table) or what would crash on the device."""

import threading
import urllib.request

import cv2
import numpy as np
import pytest

from edgematte.aipp import AippEmulator, parse_aipp
from edgematte.bundle import Bundle
from edgematte.runtime.ort import OrtRunner
from edgematte.standin import run_app, start_app


def _start(app_bundle, lines=None, **session):
    return start_app(Bundle.open(app_bundle.out), log=(lines.append if lines is not None else lambda _: None),
                     **session)


def test_the_apps_alphas_are_the_model_run_directly_on_the_same_frames(app_bundle, sample_clip, tmp_path):
    lines = []
    acl = _start(app_bundle, lines, keep_alphas=True)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4"), "--max-frames", "6"])
    assert (code, stopped) == (0, None), lines
    assert "done: 6 frames, 0 alpha resets" in lines
    spec = Bundle.open(app_bundle.out).spec
    runner = OrtRunner(Bundle.open(app_bundle.out).path("onnx"))
    # the board's path: the frame as NV21, VPC's bilinear scaling of both planes, AIPP's NV21 -> RGB
    aipp = AippEmulator(parse_aipp((app_bundle.out / "aipp.cfg").read_text())[0])
    cap, prev, expected = cv2.VideoCapture(str(sample_clip)), np.zeros(spec.alpha_shape, np.float32), []
    for _ in range(6):
        ok, frame = cap.read()
        i420 = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).reshape(-1)
        h, w = frame.shape[:2]
        u, v = i420[w * h:w * h * 5 // 4].reshape(h // 2, w // 2), i420[w * h * 5 // 4:].reshape(h // 2, w // 2)
        y = cv2.resize(i420[:w * h].reshape(h, w), (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
        vu = cv2.resize(np.dstack([v, u]), (spec.width // 2, spec.height // 2), interpolation=cv2.INTER_LINEAR)
        alpha = runner.infer({spec.image_input: aipp(np.concatenate([y.reshape(-1), vu.reshape(-1)])),
                              spec.alpha_input: prev})[spec.alpha_output]
        expected.append(alpha[0, 0])
        clipped = np.clip(alpha, 0, 1)
        prev = clipped if clipped.mean() >= 0.002 else np.zeros_like(clipped)
    errors = [np.abs(a - e).max() for a, e in zip(acl.session().alphas, expected)]
    assert len(errors) == 6 and max(errors) <= 1e-5  # AIPP's x * (1/127.5) against (x - 127.5) / 127.5
    out = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert int(out.get(cv2.CAP_PROP_FRAME_COUNT)) == 6 and out.read()[1].shape == (720, 1280, 3)


def test_a_pyacl_without_event_queries_waits_on_the_stream_and_writes_the_same_frames(app_bundle, sample_clip,
                                                                                     tmp_path, monkeypatch):
    """CANN releases before acl.rt.query_event_status (pyACL's reference has it from 8.0.RC1): the app falls back to
    acl.rt.synchronize_stream, and its alphas are the polling app's."""
    runs = {}
    for name in ("events", "no events"):
        acl = _start(app_bundle, keep_alphas=True)
        if name == "no events":
            monkeypatch.delattr(type(acl.rt), "query_event_status")
        code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / f"{name}.mp4"),
                                      "--max-frames", "4"])
        assert (code, stopped) == (0, None) and acl.held() == []
        runs[name] = acl.session().alphas
    assert len(runs["events"]) == 4 and all((a == b).all() for a, b in zip(runs["events"], runs["no events"]))


def test_ctrl_c_mid_stream_releases_everything_and_leaves_a_playable_file(app_bundle, sample_clip, tmp_path):
    lines = []
    acl = _start(app_bundle, lines, interrupt_after=3)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4")])
    assert (code, stopped) == (130, "interrupted")
    assert acl.held() == [] and "interrupted: everything released" in lines
    cap = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3 and cap.read()[0]


def test_the_pipelined_loop_writes_what_the_sequential_loop_writes(app_bundle, sample_clip, tmp_path):
    """Capture, inference and output on three threads: the same alphas in the same order, the same frames in the
    file (a file source drops nothing), and the timing line names every stage."""
    runs = {}
    for name, extra in (("pipelined", []), ("sequential", ["--sequential"])):
        lines = []
        acl = _start(app_bundle, lines, keep_alphas=True)
        out = tmp_path / f"{name}.avi"
        code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(out), "--max-frames", "12",
                                      "--log-every", "12"] + extra)
        assert (code, stopped) == (0, None), lines
        cap, frames = cv2.VideoCapture(str(out)), []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        runs[name] = (acl.session().alphas, frames, lines)
    (alphas, frames, lines), (seq_alphas, seq_frames, _) = runs["pipelined"], runs["sequential"]
    assert len(alphas) == len(seq_alphas) == 12 and all((a == b).all() for a, b in zip(alphas, seq_alphas))
    assert len(frames) == len(seq_frames) == 12 and all((a == b).all() for a, b in zip(frames, seq_frames))
    timing = next(line for line in lines if line.startswith("frames 12,"))
    assert "dropped 0" in timing and all(f"{stage} " in timing for stage in
                                         ("read", "convert", "vpc", "feedback", "infer", "refine", "composite", "show",
                                          "preview"))


@pytest.mark.parametrize("argv,message", [
    (["--input", "7"], "no camera at index 7"),
    (["--input", "99999999999"], "no camera at index 99999999999"),
    (["--input", "rtsp://127.0.0.1:9/none", "--rtsp-timeout", "2"], "did not answer within 2 s"),
    (["--input", "missing.mp4"], "input missing.mp4 does not exist"),
])
def test_sources_that_cannot_be_opened_are_one_error_line(app_bundle, tmp_path, argv, message):
    lines = []
    code, stopped = run_app(_start(app_bundle, lines), argv + ["--output", str(tmp_path / "o.mp4")])
    assert code == 2 and message in stopped
    assert [line for line in lines if line.startswith("Error:")] == [f"Error: {stopped}"]
    assert not (tmp_path / "o.mp4").exists()


def test_a_failing_pyacl_call_is_named_and_what_was_acquired_is_released(app_bundle, sample_clip, tmp_path):
    lines = []
    acl = _start(app_bundle, lines)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4"), "--device-id", "1"])
    assert code == 2 and stopped == "acl.rt.set_device(1) failed with error code 100000"
    assert acl.held() == []  # acl.init was undone by acl.finalize
    assert any("no device 1" in line for line in lines)  # the stand-in says why it refused


def test_an_existing_output_is_kept_without_force(app_bundle, sample_clip, tmp_path):
    (tmp_path / "o.mp4").write_bytes(b"mine")
    code, stopped = run_app(_start(app_bundle), ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4")])
    assert code == 2 and "o.mp4 exists; pass --force to replace it" in stopped
    assert (tmp_path / "o.mp4").read_bytes() == b"mine"


def test_a_bundle_for_another_chip_stops_before_touching_the_npu(app_bundle, sample_clip, tmp_path):
    acl = _start(app_bundle, soc_name="Ascend310P3")
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4")])
    assert code == 2 and "built for Ascend310B4, but the NPU here is Ascend310P3" in stopped
    assert acl.held() == []


def test_a_pyacl_older_than_the_apps_floor_is_named_before_anything_is_acquired(app_bundle, sample_clip, tmp_path):
    """The app uses acl.util.bytes_to_ptr / ptr_to_bytes (documented from CANN 6.0.1); on an older pyACL it says so in
    one line instead of an AttributeError half-way through the first frame."""
    acl = _start(app_bundle, before_bytes_api=True)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4")])
    assert code == 2 and "pyACL has no acl.util.bytes_to_ptr, acl.util.ptr_to_bytes" in stopped
    assert "upgrade the board's CANN to 6.0.1 or later" in stopped
    assert acl.held() == [] and not (tmp_path / "o.mp4").exists()


def test_a_model_whose_sizes_differ_from_the_apps_is_refused(app_bundle, sample_clip, tmp_path):
    import shutil

    import onnx
    from onnx import TensorProto, helper

    folder = shutil.copytree(app_bundle.out, tmp_path / "b")
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in
              (("image", [1, 3, 32, 32]), ("prev_alpha", [1, 1, 32, 32]))]
    graph = helper.make_graph([helper.make_node("Identity", ["prev_alpha"], ["alpha"])], "other", inputs,
                              [helper.make_tensor_value_info("alpha", TensorProto.FLOAT, [1, 1, 32, 32])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), str(folder / "modnet4.onnx"))
    acl = start_app(Bundle.open(folder), log=lambda _: None)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.mp4")])
    assert code == 2 and "does not match this app (inputs of [1536, 4096] bytes" in stopped
    assert acl.held() == []


def test_memory_rules_and_return_codes_follow_pyacl(app_bundle):
    log = []
    acl = _start(app_bundle, log)
    assert acl.rt.set_device(0) == acl.ACL_ERROR_UNINITIALIZE  # before acl.init
    assert acl.init() == 0 and acl.init() == acl.ACL_ERROR_REPEAT_INITIALIZE
    assert acl.rt.set_device(1) == acl.ACL_ERROR_INVALID_PARAM and acl.rt.set_device(0) == 0
    context, ret = acl.rt.create_context(0)
    assert ret == 0
    device, _ = acl.rt.malloc(64, 0)
    host, _ = acl.rt.malloc_host(64)
    data = bytes(range(64))
    src = acl.util.bytes_to_ptr(data)
    assert acl.rt.memcpy(device, 64, src, 64, acl.ACL_MEMCPY_DEVICE_TO_HOST) == acl.ACL_ERROR_INVALID_PARAM
    assert acl.rt.memcpy(device, 32, src, 64, acl.ACL_MEMCPY_HOST_TO_DEVICE) == acl.ACL_ERROR_INVALID_PARAM
    assert acl.rt.memcpy(src, 64, device, 64, acl.ACL_MEMCPY_DEVICE_TO_HOST) == acl.ACL_ERROR_INVALID_PARAM
    assert acl.rt.memcpy(device, 64, src, 64, acl.ACL_MEMCPY_HOST_TO_DEVICE) == 0
    assert acl.rt.memcpy(host, 64, device, 64, acl.ACL_MEMCPY_DEVICE_TO_HOST) == 0
    assert acl.util.ptr_to_bytes(host, 64) == data
    with pytest.raises(RuntimeError, match="not host memory"):
        acl.util.ptr_to_bytes(device, 64)
    with pytest.raises(ValueError):
        acl.util.bytes_to_ptr(bytearray(4))
    assert acl.mdl.load_from_file("/elsewhere/model.om") == (0, acl.ACL_ERROR_INVALID_FILE)
    assert acl.rt.free(device) == 0 and acl.rt.free(device) == acl.ACL_ERROR_INVALID_PARAM
    assert acl.rt.free(host) == acl.ACL_ERROR_INVALID_PARAM  # host memory goes back with free_host
    assert acl.held() == ["1 memory block(s)", "1 context(s)", "1 device(s)", "acl not finalized"]
    assert any("kind DEVICE_TO_HOST copies device -> host, but src is host" in line for line in log)
    assert any("bytes are immutable" in line for line in log)


def test_the_preview_serves_decodable_mjpeg_frames_and_the_page(app_bundle, sample_clip, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    connected = threading.Event()
    received = [threading.Event(), threading.Event()]  # the client's first and second frame
    results = {"frames": []}

    def client():
        try:
            results["page"] = urllib.request.urlopen(url + "/", timeout=10).read().decode()
            results["stats"] = urllib.request.urlopen(url + "/stats.json", timeout=10).read()
            with urllib.request.urlopen(url + "/stream.mjpg", timeout=10) as r:
                results["type"] = r.headers["Content-Type"]
                connected.set()
                for event in received:
                    assert r.readline().strip() == b"--edgemattemjpeg"
                    headers = dict(line.decode().strip().split(": ", 1) for line in iter(r.readline, b"\r\n"))
                    jpeg = r.read(int(headers["Content-Length"]))
                    r.readline()
                    results["frames"].append(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
                    event.set()
        finally:
            for event in (connected, *received):
                event.set()

    thread = threading.Thread(target=client, daemon=True)

    def pace():  # the app (inside execute) waits for the client at two points, so the test does not race it
        n = acl.session().executions
        if n == 2:  # frames are encoded only for a viewer: wait until the client watches
            thread.start()
            connected.wait(20)
        elif n == 6:
            received[1].wait(20)

    acl = _start(app_bundle, on_frame=pace)
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--preview", str(port), "--preview-host", "127.0.0.1",
                                  "--max-frames", "8"])
    thread.join(20)
    assert (code, stopped) == (0, None)
    assert results["type"] == "multipart/x-mixed-replace; boundary=edgemattemjpeg"
    assert [f.shape for f in results["frames"]] == [(720, 1280, 3)] * 2
    assert "/stream.mjpg" in results["page"] and b'"frames"' in results["stats"]


def test_verify_refuses_an_aipp_format_the_familys_app_does_not_feed(app_bundle, tmp_path):
    import shutil

    from bundletools import reseal

    from edgematte import api

    folder = shutil.copytree(app_bundle.out, tmp_path / "b")
    aipp = folder / "aipp.cfg"
    text = aipp.read_text().replace("input_format: YUV420SP_U8", "input_format: RGB888_U8")
    aipp.write_text(text.replace("csc_switch: true", "csc_switch: false"))  # the app's old packed-BGR frames
    reseal(folder)
    result = api.verify(folder)
    assert not result.passed
    assert "aipp.cfg: input_format is not YUV420SP_U8, the frames the Atlas 200I DK A2, Orange Pi AIpro 8T's app " \
           "feeds" in result.file_problems


def test_verify_refuses_an_atc_bundle_whose_onnx_went_back_to_half_pixel(app_bundle, tmp_path):
    import shutil

    import onnx

    from edgematte import api
    from bundletools import reseal

    folder = shutil.copytree(app_bundle.out, tmp_path / "b")
    proto = onnx.load(str(folder / "modnet4.onnx"))
    for node in proto.graph.node:
        for a in node.attribute:
            if a.name == "coordinate_transformation_mode":
                a.s = b"half_pixel"
    onnx.save(proto, str(folder / "modnet4.onnx"))
    reseal(folder)
    result = api.verify(folder)
    assert not result.passed
    assert any("ResizeBilinearV2 does not implement exactly" in p for p in result.file_problems)


def test_paced_at_a_boards_npu_time_the_pipelined_app_runs_at_the_simulators_rate(app_bundle, sample_clip, tmp_path):
    """The stand-in's model takes 30 ms an inference, as a board's NPU might: the pipelined app then runs at the
    rate bench --device's simulator predicts for this machine's host (slowdown 1), within 15 %; a sequential
    loop would be slower by the decode, composite and write it no longer overlaps."""
    import dataclasses
    import os
    import time

    from edgematte.bench.board import predict_loop
    from edgematte.bench.host import host_cpu
    from edgematte.devices import DEVICES

    pace, stamps = 30.0, []
    acl = _start(app_bundle, pace_npu_ms=pace, on_frame=lambda: stamps.append(time.perf_counter()))
    code, stopped = run_app(acl, ["--input", str(sample_clip), "--output", str(tmp_path / "o.avi"), "--max-frames", "30"])
    assert (code, stopped) == (0, None)
    measured = (len(stamps) - 6) / (stamps[-1] - stamps[5])  # frames per second once the pipeline is full
    family = DEVICES["ascend310b4"]
    here = dataclasses.replace(family, board_cpu=dataclasses.replace(family.board_cpu, slowdown=1.0,
                                                                        cores=os.cpu_count() or 1))
    spec = Bundle.open(app_bundle.out).spec
    predicted = predict_loop(here, host_cpu(spec, frames=5, warmup=1, sizes=((1280, 720),)), pace)
    assert measured == pytest.approx(predicted["modes"]["composite"]["fps"], rel=0.15)
