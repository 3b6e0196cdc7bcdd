"""``edgematte run``: the bundle's own skill on a 720p clip, against the stand-in; the output video, its
frame rate, frame count and audio, the modes, and every way the inputs can be wrong."""

import json
import shutil

import cv2
import numpy as np
import pytest

from clitools import assert_user_error, run
from edgematte.video import has_audio


def video_facts(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    return cap.get(cv2.CAP_PROP_FPS), frames


def test_run_writes_every_frame_at_the_input_rate_with_its_audio(om_bundle, sample_clip, tmp_path):
    out = tmp_path / "result.mp4"
    r = run("run", om_bundle.out, "--input", sample_clip, "--background", "#00ff00", "--output", out, "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert (result["frames"], result["fps"], result["width"], result["height"]) == (125, 25.0, 1280, 720)
    fps, frames = video_facts(out)
    assert fps == 25.0 and len(frames) == 125 and frames[0].shape == (720, 1280, 3)
    assert has_audio(sample_clip) and has_audio(out) and result["audio"] is True
    # The untrained matte is partial everywhere, so the green background must pull G up and R down.
    _, inputs = video_facts(sample_clip)
    shift = frames[60].astype(float).mean(axis=(0, 1)) - inputs[60].astype(float).mean(axis=(0, 1))  # B, G, R
    assert shift[1] > 20 and shift[2] < -10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.mp4"]  # no temporary file left


def test_side_by_side_fits_hdmi_and_alpha_mode_is_grey(om_bundle, sample_clip, tmp_path):
    """Input | result is 2560x720 from the 1280x720 camera; HDMI shows at most 1920x1080, so the skill
    scales it to 1920x540 (aspect kept) on the device's scaler."""
    r = run("run", om_bundle.out, "--input", sample_clip, "--output", tmp_path / "sbs.mp4", "--mode", "side-by-side",
            "--max-frames", "6")
    assert r.exit_code == 0, r.output
    _, frames = video_facts(tmp_path / "sbs.mp4")
    assert len(frames) == 6 and frames[0].shape == (540, 1920, 3)
    assert "1920x540" in r.stdout
    r = run("run", om_bundle.out, "--input", sample_clip, "--output", tmp_path / "a.mp4", "--mode", "alpha",
            "--max-frames", "3", "--rgba-dir", tmp_path / "rgba")
    assert r.exit_code == 0, r.output
    _, frames = video_facts(tmp_path / "a.mp4")
    assert np.abs(frames[0][..., 0].astype(int) - frames[0][..., 2]).max() <= 2  # grey: B == R
    pngs = sorted((tmp_path / "rgba").iterdir())
    assert len(pngs) == 3 and cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED).shape == (720, 1280, 4)


def test_a_clip_without_audio_gives_a_video_without_audio(om_bundle, tmp_path):
    from edgematte import api

    clip = api.sample_clip(tmp_path / "quiet.mp4", seconds=0.4, audio=False)
    result = api.run(om_bundle.out, input=str(clip), output=tmp_path / "out.mp4")
    assert result.frames == 10 and not result.audio


def test_bad_inputs_get_one_clear_message_and_write_nothing(om_bundle, sample_clip, tmp_path, exported_bundle):
    out = tmp_path / "o.mp4"
    assert_user_error(run("run", om_bundle.out, "--input", tmp_path / "nope.mp4", "--output", out), "does not exist")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert_user_error(run("run", om_bundle.out, "--input", text, "--output", out), "cannot open video", "notes.mp4")
    assert_user_error(run("run", om_bundle.out, "--input", sample_clip, "--background", tmp_path / "beach.jpg",
                   "--output", out), "background", "beach.jpg", "does not exist")
    assert_user_error(run("run", om_bundle.out, "--input", sample_clip, "--background", "#12345", "--output", out), "#rrggbb")
    assert_user_error(run("run", exported_bundle.out, "--input", sample_clip, "--output", out), "edgematte export --to om")
    taken = tmp_path / "taken.mp4"
    taken.write_bytes(b"keep")
    assert_user_error(run("run", om_bundle.out, "--input", sample_clip, "--output", taken, "--max-frames", "2"), "--force")
    assert taken.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4", "taken.mp4"]


def test_a_truncated_clip_ends_cleanly_with_a_playable_output(om_bundle, sample_clip, tmp_path):
    clip = tmp_path / "cut.mp4"
    data = sample_clip.read_bytes()
    clip.write_bytes(data[:len(data) * 2 // 3])  # the moov atom is at the front (faststart): the rest is lost
    r = run("run", om_bundle.out, "--input", clip, "--output", tmp_path / "o.mp4")
    assert "Traceback" not in r.output
    if r.exit_code == 0:
        _, frames = video_facts(tmp_path / "o.mp4")
        assert 0 < len(frames) < 125
    else:
        assert_user_error(r, "cannot open video")


def test_a_skill_that_fails_midway_keeps_a_closed_playable_output(om_bundle, sample_clip, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(om_bundle.out, bundle)
    main_py = bundle / "skill" / "main.py"
    main_py.write_text(main_py.read_text().replace(
        "            show(picture, frames)\n",
        "            show(picture, frames)\n            if frames == 4:\n                raise MemoryError('simulated')\n"))
    r = run("run", bundle, "--input", sample_clip, "--output", tmp_path / "o.mp4")
    assert_user_error(r, "MemoryError: simulated", "the 5 frames shown so far are in")
    _, frames = video_facts(tmp_path / "o.mp4")
    assert len(frames) == 5


def test_a_scene_cut_resets_the_previous_alpha(om_bundle, tmp_path):
    """Ten frames of one picture, then ten of another: the skill drops its fed-back alpha once, at the cut."""
    from edgematte import api

    clip = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 192))
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 100, (192, 320, 3), dtype=np.uint8), (0, 0), 4)
    scenes = [texture + 30, 225 - texture]  # a dark room, then a bright one: mean luma jumps by ~100
    for frame in [scenes[0]] * 10 + [scenes[1]] * 10:
        writer.write(frame)
    writer.release()
    result = api.run(om_bundle.out, input=str(clip), output=tmp_path / "o.mp4")
    assert result.frames == 20
    assert any("done: 20 frames, 1 alpha resets" in line for line in result.log), result.log


def test_int8_model_for_the_stand_in(sample_clip, tmp_path):
    from edgematte import api
    from edgematte.bundle import Bundle

    bundle = tmp_path / "b"
    r = run("export", "--size", "64x64", "--int8", "--out", bundle)
    assert r.exit_code == 0, r.output
    m = Bundle.open(bundle).manifest.to_dict()
    assert m["artifacts"]["onnx_int8"] == "modnet4_int8.onnx" and "modnet4_int8.onnx" in m["files"]
    err, floor = m["int8"]["alpha_vs_fp32"], m["int8"]["camera_rounding_floor"]
    assert 0 < err["portrait"]["mean_abs"] <= err["portrait"]["max_abs"] <= 1
    assert 0 < floor["clip"]["mean_abs"] <= floor["clip"]["max_abs"] <= 1 and "mixed_precision" not in m["int8"]
    assert "INT8 vs FP32 alpha, mean abs: portrait" in r.stdout and "camera rounding of the input alone" in r.stdout
    result = api.run(bundle, input=str(sample_clip), output=tmp_path / "o.mp4", max_frames=3, int8=True)
    assert result.frames == 3
    assert_user_error(run("run", bundle.parent / "nope", "--input", sample_clip, "--output", tmp_path / "x.mp4"),
               "nope")


def test_int8_with_an_error_budget(tmp_path):
    from edgematte.bundle import Bundle

    r = run("export", "--to", "onnx", "--size", "64x64", "--int8-max-error", "0.9", "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    int8 = Bundle.open(tmp_path / "b").manifest.int8
    plan = int8["mixed_precision"]
    assert plan["met"] and plan["nodes_fp32"] == [] and plan["int8_mac_fraction"] == 1 and plan["max_error"] == 0.9
    # the plan is held to the error the manifest reports
    assert plan["error"] == pytest.approx(max(int8["alpha_vs_fp32"]["portrait"]["mean_abs"],
                                              int8["alpha_vs_fp32"]["clip"]["mean_abs"]), abs=1e-6)
    assert "INT8 mixed precision: 0 of 87 units kept FP32, 100% of the MACs in INT8" in r.stdout
    for bad in ("0", "1.5", "-0.01"):
        assert_user_error(run("export", "--int8-max-error", bad, "--size", "64x64", "--out", tmp_path / "x"),
                          "is not an alpha error", "e.g. 0.005")
        assert_user_error(run("bench", "--int8-max-error", bad, "--size", "64x64"), "is not an alpha error")
    assert not (tmp_path / "x").exists()


def test_int8_flags_where_they_do_not_apply(om_bundle, sample_clip, tmp_path):
    assert_user_error(run("run", om_bundle.out, "--input", sample_clip, "--output", tmp_path / "o.mp4", "--int8"),
                      "has no INT8 model", "--int8")
    assert_user_error(run("export", "--to", "caffe", "--int8", "--size", "64x64", "--out", tmp_path / "c"),
                      "--int8 makes an INT8 ONNX for the CPU stand-in")
    assert not (tmp_path / "c").exists()


def test_a_contract_violation_stops_the_run_and_names_the_skills_line(om_bundle, sample_clip, tmp_path):
    """A skill edited to log user text straight into the device's printf-style logger."""
    bundle = tmp_path / "b"
    shutil.copytree(om_bundle.out, bundle)
    main_py = bundle / "skill" / "main.py"
    source = main_py.read_text().replace('    watch, frames = Stopwatch(STAGES), 0\n',
                                         '    watch, frames = Stopwatch(STAGES), 0\n    hilens.info("mode: %s" % "50%s")\n')
    main_py.write_text(source)
    line = source.splitlines().index('    hilens.info("mode: %s" % "50%s")') + 1
    r = run("run", bundle, "--input", sample_clip, "--output", tmp_path / "o.mp4")
    assert_user_error(r, "ContractError", f"holds a % conversion at main.py:{line}", "printf format string")
    assert not (tmp_path / "o.mp4").exists()


def test_run_preview_port_in_use_and_preview_on_a_skill_bundle_are_one_error_line(app_bundle, om_bundle, sample_clip,
                                                                                   tmp_path):
    import socket

    from clitools import assert_user_error, run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_user_error(run("run", app_bundle.out, "--input", sample_clip, "--output", tmp_path / "o.mp4",
                              "--preview", port), f"--preview port {port} on 127.0.0.1 cannot be used",
                          "choose another port")
    assert_user_error(run("run", om_bundle.out, "--input", sample_clip, "--output", tmp_path / "o.mp4",
                          "--preview", 8080), "holds the HiLens skill", "--device ascend310")
    assert_user_error(run("run", app_bundle.out, "--input", sample_clip, "--output", tmp_path / "o.mp4",
                          "--rgba-dir", tmp_path / "rgba"), "--rgba-dir is taken by the HiLens skill only")
    assert not (tmp_path / "o.mp4").exists()
