"""The apps' host-side work, shaped for a board's small cores: the composites are 8-bit all the way and equal the
float blend they replaced to within a level or two, for every mode; the AscendCL app's capture stage drops only a
live source's frames, never a file's, and keeps their order."""

import runpy

import cv2
import numpy as np
import pytest

from edgematte.loop import alpha_bytes, blend
from edgematte.standin import FOLDER as STANDIN_FOLDER
from edgematte.templates import template_dir

H, W = 72, 128


@pytest.fixture(scope="module")
def apps():
    import sys

    sys.path.insert(0, str(STANDIN_FOLDER))  # `import hilens` / `import acl`: the stand-ins
    try:
        return {name: runpy.run_path(str(template_dir(name) / "main.py"), run_name="template")
                for name in ("hilens_skill", "acl_app")}
    finally:
        sys.path.remove(str(STANDIN_FOLDER))


def pictures(seed=0):
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    behind = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    alpha = cv2.resize(rng.random((9, 16)).astype(np.float32), (W // 2, H // 2))  # a smooth matte at half size
    return frame, behind, alpha


def float_blend(fg, bg, a):
    """The float32 blend the apps used before: bg + a * (fg - bg), rounded."""
    return np.clip(bg + a * (fg.astype(np.float32) - bg) + 0.5, 0, 255).astype(np.uint8)


def test_the_8bit_blend_is_within_a_level_of_the_exact_blend_of_its_levels():
    fg, bg, alpha = pictures()
    levels = cv2.resize(alpha_bytes(alpha), (W, H))
    want = bg + levels[..., None] / 255.0 * (fg.astype(np.float64) - bg)
    got = blend(fg, bg, cv2.merge([levels] * 3))
    assert np.abs(got - want).max() <= 1.0 and np.abs(got - want).mean() < 0.5
    assert (blend(fg, bg, np.full_like(fg, 255)) == fg).all() and (blend(fg, bg, np.zeros_like(fg)) == bg).all()
    assert alpha_bytes(np.array([[0.0, 1.0, 0.5, 1.5, -1.0]], np.float32)).tolist() == [[0, 255, 128, 255, 0]]


@pytest.mark.parametrize("mode", ["composite", "side-by-side", "alpha"])
def test_the_acl_apps_nv21_composite_is_within_two_levels_of_the_float_one(apps, mode):
    from edgematte.pictures import bgr_to_nv21

    frame, behind, alpha = pictures(1)
    fg, bg = bgr_to_nv21(frame), bgr_to_nv21(behind)
    got = apps["acl_app"]["composite"](fg, alpha, bg, mode)
    a_y = cv2.resize(alpha, (W, H), interpolation=cv2.INTER_LINEAR)
    if mode == "alpha":  # the matte as grey: its levels in Y, no colour
        want = np.concatenate([np.clip(a_y * 255 + 0.5, 0, 255).astype(np.uint8), np.full((H // 2, W), 128, np.uint8)])
    else:
        a_vu = cv2.resize(alpha, (W // 2, H // 2), interpolation=cv2.INTER_AREA)[:, :, None]
        vu = float_blend(fg[H:].reshape(H // 2, W // 2, 2), bg[H:].reshape(H // 2, W // 2, 2), a_vu)
        want = np.concatenate([float_blend(fg[:H], bg[:H], a_y), vu.reshape(H // 2, W)])
        want = np.hstack([fg, want]) if mode == "side-by-side" else want  # two NV21 pictures side by side are one
    assert got.shape == want.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - want).max() <= 2  # the 8-bit alpha (0.5 level) and the blend (1 level)


def test_the_skills_nv21_blend_is_within_two_levels_of_the_float_one(apps):
    from edgematte.aipp import rgb_to_yuv420sp

    frame, behind, alpha = pictures(2)
    fg, bg = rgb_to_yuv420sp(frame), rgb_to_yuv420sp(behind)
    skill = apps["hilens_skill"]
    got = skill["blend_nv21"](fg, bg, alpha, W, H, np.empty_like(fg))
    a_y = cv2.resize(alpha, (W, H), interpolation=cv2.INTER_LINEAR)
    a_uv = cv2.resize(alpha, (W // 2, H // 2), interpolation=cv2.INTER_AREA)[:, :, None]
    want_y = float_blend(fg[:H], bg[:H], a_y)
    want_vu = float_blend(fg[H:].reshape(H // 2, W // 2, 2), bg[H:].reshape(H // 2, W // 2, 2), a_uv)
    assert np.abs(got[:H].astype(int) - want_y).max() <= 2
    assert np.abs(got[H:].astype(int) - want_vu.reshape(H // 2, W)).max() <= 2
    wide = np.zeros((H * 3 // 2, 2 * W), np.uint8)  # side by side: the blend goes straight into the right half
    skill["blend_nv21"](fg, bg, alpha, W, H, wide[:, W:])
    np.testing.assert_array_equal(wide[:, W:], got)


class _Camera:
    """A source of ``n`` numbered frames, one a millisecond."""

    def __init__(self, n):
        self.n, self.i = n, 0

    def read(self):
        import time

        time.sleep(0.001)
        self.i += 1
        return (self.i <= self.n), np.full((2, 2, 3), self.i * 4, np.uint8)  # grey levels 4 apart: distinct lumas


@pytest.mark.parametrize("live", [False, True])
def test_the_apps_capture_stage_drops_only_live_frames_and_keeps_their_order(apps, live):
    import time

    first = apps["acl_app"]["to_nv21"](np.zeros((2, 2, 3), np.uint8))  # the first frame, decoded by the caller
    reader = apps["acl_app"]["Reader"](_Camera(60), first, live, True)
    index = {int(apps["acl_app"]["to_nv21"](np.full((2, 2, 3), i * 4, np.uint8))[0, 0]): i for i in range(61)}
    assert len(index) == 61  # the capture stage hands NV21 on: each frame known by its luma
    seen = []
    while True:
        frame = reader.next()
        if frame is None:
            break
        seen.append(index[int(frame[0, 0])])
        time.sleep(0.004)  # a consumer slower than the camera
    reader.stop()
    assert seen == sorted(seen)
    if live:  # at most one frame waits: the rest made way, and every frame was either seen or dropped
        assert reader.dropped > 0 and len(seen) + reader.dropped == 61
    else:
        assert seen == list(range(61)) and reader.dropped == 0


def test_a_failing_stage_reaches_the_npu_stage_as_its_own_error(apps):
    """A full disk in the output thread, or a camera that breaks in the capture thread, is raised in the main
    loop (which then releases everything), not lost with its thread."""
    class Full:
        preview = None

        def __call__(self, picture):
            raise OSError("No space left on device")

    presenter = apps["acl_app"]["Presenter"](Full(), None, "alpha", True, dict, None)  # no preview: no context
    presenter.put(np.zeros((6, 4), np.uint8), np.zeros((2, 2), np.float32))
    with pytest.raises(OSError, match="No space left"):
        presenter.finish()

    class Broken:
        def read(self):
            raise RuntimeError("camera unplugged")

    reader = apps["acl_app"]["Reader"](Broken(), np.zeros((2, 2, 3), np.uint8), False, True)  # a file: no drops
    assert reader.next() is not None  # the frame read before the thread started
    with pytest.raises(RuntimeError, match="camera unplugged"):
        while reader.next() is not None:
            pass
    reader.stop()


def test_a_wait_whose_event_never_completes_falls_back_to_the_streams_own_answer(apps):
    """A task that fails on the device leaves its event not ready for ever: after STALL_S of polling the app asks
    acl.rt.synchronize_stream, whose error is raised naming the work, instead of polling on."""
    import types

    calls = []
    fake = types.SimpleNamespace(rt=types.SimpleNamespace(
        create_event=lambda: (7, 0), destroy_event=lambda event: 0,
        record_event=lambda event, stream: calls.append("record") or 0,
        query_event_status=lambda event: calls.append("query") or (0, 0),  # NOT_READY, for ever
        synchronize_stream=lambda stream: calls.append("synchronize") or 507011))

    class Runtime:
        def hold(self, *args):
            pass

    wait_class = apps["acl_app"]["StreamWait"]
    namespace = wait_class.__call__.__globals__
    saved = {name: namespace[name] for name in ("acl", "STALL_S")}
    namespace.update(acl=fake, STALL_S=0.02)
    try:
        with pytest.raises(apps["acl_app"]["AclError"], match=r"acl.rt.synchronize_stream \(the model\) failed with "
                                                                 r"error code 507011"):
            wait_class(Runtime(), 3)("the model")
    finally:
        namespace.update(saved)
    assert calls[0] == "record" and calls[-1] == "synchronize" and calls.count("query") >= 2
