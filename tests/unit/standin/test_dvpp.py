"""DVPP in the acl stand-in (acl.media): each chip's picture rules refuse what the device refuses, work runs at the
stream's synchronisation, VPC's resize is OpenCV's per plane, JPEGE's output is a JPEG of the picture, and a
thread without a current context is refused."""

import threading

import cv2
import numpy as np
import pytest

from edgematte.bundle import Bundle
from edgematte.pictures import bgr_to_nv21
from edgematte.standin import start_app
from edgematte.standin.dvpp import PicDesc, picture_problem, rules_for

NV21 = 2


def _nv21(width, height, seed=0):
    """A smooth picture (noise blurred at a tenth of the size, scaled up) in BGR and as NV21."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 10 + 1, width // 10 + 1, 3), np.uint8)
    bgr = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return bgr, bgr_to_nv21(bgr)


class _Board:
    """The stand-in, initialised with a device, a context, a DVPP channel and a stream, on chip ``soc``."""

    def __init__(self, app_bundle, soc):
        self.log = []
        self.acl = acl = start_app(Bundle.open(app_bundle.out), log=self.log.append, soc_name=soc)
        assert acl.init() == 0 and acl.rt.set_device(0) == 0
        self.context, _ = acl.rt.create_context(0)
        self.channel = acl.media.dvpp_create_channel_desc()
        assert acl.media.dvpp_create_channel(self.channel) == 0
        self.stream, _ = acl.rt.create_stream()

    def picture(self, width, height, stride_w=None, stride_h=None, memory="dvpp"):
        acl = self.acl
        stride_w, stride_h = stride_w or -(-width // 16) * 16, stride_h or -(-height // 2) * 2
        size = stride_w * stride_h * 3 // 2
        pointer = acl.media.dvpp_malloc(size)[0] if memory == "dvpp" else acl.rt.malloc(size, 0)[0]
        desc = acl.media.dvpp_create_pic_desc()
        for name, value in (("data", pointer), ("size", size), ("format", NV21), ("width", width),
                            ("height", height), ("width_stride", stride_w), ("height_stride", stride_h)):
            assert getattr(acl.media, "dvpp_set_pic_desc_" + name)(desc, value) == 0
        return desc, pointer, size

    def put(self, pointer, picture, width, height, stride_w, stride_h):
        full = np.zeros((stride_h * 3 // 2, stride_w), np.uint8)
        full[:height, :width], full[stride_h:stride_h + height // 2, :width] = picture[:height], picture[height:]
        raw = full.tobytes()
        assert self.acl.rt.memcpy(pointer, len(raw), self.acl.util.bytes_to_ptr(raw), len(raw), 1) == 0

    def get(self, pointer, size):
        host, _ = self.acl.rt.malloc_host(size)
        assert self.acl.rt.memcpy(host, size, pointer, size, 2) == 0
        return np.frombuffer(self.acl.util.ptr_to_bytes(host, size), np.uint8)

    def resize_config(self, interpolation=1):
        config = self.acl.media.dvpp_create_resize_config()
        assert self.acl.media.dvpp_set_resize_config_interpolation(config, interpolation) == 0
        return config


def test_vpc_resizes_each_plane_as_opencvs_bilinear_and_only_at_synchronisation(app_bundle):
    board = _Board(app_bundle, "Ascend310B4")
    acl, (w, h), (tw, th) = board.acl, (100, 60), (64, 36)
    _, picture = _nv21(w, h)
    src, src_ptr, _ = board.picture(w, h)
    board.put(src_ptr, picture, w, h, 112, 60)
    dst, dst_ptr, dst_size = board.picture(tw, th)
    assert acl.media.dvpp_vpc_resize_async(board.channel, src, dst, board.resize_config(), board.stream) == 0
    assert not board.get(dst_ptr, dst_size).any()  # queued: the output holds what was there before
    assert acl.rt.synchronize_stream(board.stream) == 0
    out = board.get(dst_ptr, dst_size).reshape(th * 3 // 2, tw)
    y = cv2.resize(picture[:h], (tw, th), interpolation=cv2.INTER_LINEAR)
    vu = cv2.resize(picture[h:].reshape(h // 2, w // 2, 2), (tw // 2, th // 2), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out[:th], y) and np.array_equal(out[th:], vu.reshape(th // 2, tw))


def test_jpege_writes_a_decodable_jpeg_of_the_picture_and_its_size(app_bundle):
    board = _Board(app_bundle, "Ascend310B4")
    acl, (w, h) = board.acl, (96, 64)
    bgr, picture = _nv21(w, h, seed=1)
    src, src_ptr, _ = board.picture(w, h)
    board.put(src_ptr, picture, w, h, 96, 64)
    config = acl.media.dvpp_create_jpege_config()
    assert acl.media.dvpp_set_jpege_config_level(config, 90) == 0
    assert acl.media.dvpp_set_jpege_config_level(config, 101) == acl.ACL_ERROR_INVALID_PARAM
    capacity, ret = acl.media.dvpp_jpeg_predict_enc_size(src, config)
    assert ret == 0 and capacity > 0
    out, _ = acl.media.dvpp_malloc(capacity)
    size_ptr, _ = acl.rt.malloc_host(4)
    acl.rt.memcpy(size_ptr, 4, acl.util.bytes_to_ptr(np.array([capacity], np.uint32).tobytes()), 4, 0)
    assert acl.media.dvpp_jpeg_encode_async(board.channel, src, out, size_ptr, config, board.stream) == 0
    assert acl.rt.synchronize_stream(board.stream) == 0
    size = int(np.frombuffer(acl.util.ptr_to_bytes(size_ptr, 4), np.uint32)[0])
    assert 0 < size < capacity
    decoded = cv2.imdecode(board.get(out, capacity)[:size], cv2.IMREAD_COLOR)
    assert decoded.shape == bgr.shape
    luma = cv2.cvtColor(decoded, cv2.COLOR_BGR2YUV_I420)[:h]
    assert np.abs(luma.astype(int) - picture[:h]).mean() < 1.5  # quality 90: measured 0.57
    shown = cv2.cvtColor(picture, cv2.COLOR_YUV2BGR_NV21)  # chroma subsampled twice: 5.7; V and U swapped: 58
    assert np.abs(decoded.astype(int) - shown).mean() < 10


@pytest.mark.parametrize("soc, memory, stride_w, refused", [
    ("Ascend310B4", "device", 112, None), ("Ascend310", "device", 112, "acl.media.dvpp_malloc"),
    ("Ascend310P3", "device", 112, "acl.media.dvpp_malloc"), ("Ascend310", "dvpp", 112, None),
    ("Ascend310", "dvpp", 104, "width stride 104 must be the width 100 rounded up to a multiple of 16"),
    ("Ascend310P3", "dvpp", 100, "width stride 100 must be the width 100 rounded up to a multiple of 16"),
    ("Ascend310B4", "dvpp", 100, None)])  # the 310B takes acl.rt.malloc memory and any stride >= the width
def test_vpc_holds_each_chip_to_its_memory_and_stride_rules(app_bundle, soc, memory, stride_w, refused):
    board = _Board(app_bundle, soc)
    src, _, _ = board.picture(100, 60, stride_w=stride_w, memory=memory)
    dst, _, _ = board.picture(64, 36)
    ret = board.acl.media.dvpp_vpc_resize_async(board.channel, src, dst, board.resize_config(), board.stream)
    assert ret == (0 if refused is None else board.acl.ACL_ERROR_INVALID_PARAM)
    assert refused is None or any(refused in line for line in board.log)


def test_a_thread_without_a_current_context_is_refused(app_bundle):
    board = _Board(app_bundle, "Ascend310B4")
    acl, answers = board.acl, {}

    def other_thread():
        answers["before"] = acl.rt.create_stream()[1]
        answers["set"] = acl.rt.set_context(board.context)
        answers["after"] = acl.rt.create_stream()[1]

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert answers == {"before": acl.ACL_ERROR_RT_CONTEXT_NULL, "set": 0, "after": 0}


def test_the_chips_picture_rules():
    b, c = rules_for("Ascend310B4"), rules_for("Ascend310")
    assert rules_for("Ascend310P3").chips == "Ascend310P" and b.chips == "Ascend310B"
    with pytest.raises(KeyError):
        rules_for("Ascend910B")
    ok = PicDesc(data=1, size=64 * 48 * 3 // 2, format=NV21, width=64, height=48, width_stride=64, height_stride=48)
    assert picture_problem(ok, c, "vpc input") is None
    assert "no data" in picture_problem(PicDesc(), c, "vpc input")
    odd = PicDesc(**{**vars(ok), "width": 63})
    assert "even width and height" in picture_problem(odd, b, "vpc input")
    assert "not YUV420SP" in picture_problem(PicDesc(**{**vars(ok), "format": 12}), b, "vpc input")
    assert "buffer size" in picture_problem(PicDesc(**{**vars(ok), "size": 100}), b, "vpc input")
    big = PicDesc(**{**vars(ok), "width": 4100, "width_stride": 4112, "size": 4112 * 48 * 3 // 2})
    assert picture_problem(big, b, "vpc input") is None and "outside" in picture_problem(big, c, "vpc input")
    assert "outside 10x6 to 4096x8192" in picture_problem(big, b, "vpc output")
    # JPEGE needs its width stride aligned to 16 on every chip, the 310B too
    assert "multiple of 16" in picture_problem(PicDesc(**{**vars(ok), "width": 50, "width_stride": 50,
                                                          "size": 50 * 48 * 3 // 2}), b, "jpege input")


def test_an_event_completes_only_when_its_stream_reaches_it(app_bundle):
    """acl.rt.query_event_status answers NOT_READY (0) before the stream reached the event (the first query after a
    record, always: the device is never done at once) and COMPLETE (1) after; the work queued before it is done."""
    board = _Board(app_bundle, "Ascend310B4")
    acl, (w, h) = board.acl, (64, 32)
    _, picture = _nv21(w, h)
    src, src_ptr, _ = board.picture(w, h)
    board.put(src_ptr, picture, w, h, 64, 32)
    dst, dst_ptr, dst_size = board.picture(w // 2, h // 2)
    event, ret = acl.rt.create_event()
    assert ret == 0 and acl.rt.query_event_status(event) == (acl.ACL_EVENT_RECORDED_STATUS_NOT_READY, 0)  # unrecorded
    assert acl.media.dvpp_vpc_resize_async(board.channel, src, dst, board.resize_config(), board.stream) == 0
    assert acl.rt.record_event(event, board.stream) == 0
    assert acl.rt.query_event_status(event) == (acl.ACL_EVENT_RECORDED_STATUS_NOT_READY, 0)
    assert not board.get(dst_ptr, dst_size).any()
    assert acl.rt.query_event_status(event) == (acl.ACL_EVENT_RECORDED_STATUS_COMPLETE, 0)
    assert board.get(dst_ptr, dst_size).any()  # VPC ran before the event completed
    assert acl.rt.destroy_event(event) == 0 and acl.rt.destroy_event(event) == acl.ACL_ERROR_INVALID_PARAM
    assert "1 event(s)" not in ", ".join(acl.held())


def test_vpc_refuses_the_chips_own_filter_and_converts_nv12_to_nv21(app_bundle):
    """Interpolation 0 (the 310's "high-order filter developed by Huawei") cannot be emulated: refused, named. An NV12
    source onto an NV21 target swaps the chroma pairs."""
    from edgematte.pictures import chroma_swapped

    board = _Board(app_bundle, "Ascend310B4")
    acl, (w, h) = board.acl, (64, 32)
    _, picture = _nv21(w, h)
    src, src_ptr, _ = board.picture(w, h)
    dst, dst_ptr, dst_size = board.picture(w, h)
    assert acl.media.dvpp_vpc_resize_async(board.channel, src, dst, board.resize_config(0), board.stream) \
        == acl.ACL_ERROR_INVALID_PARAM
    assert any("interpolation 0" in line and "emulates 1" in line for line in board.log)
    assert acl.media.dvpp_set_pic_desc_format(src, 1) == 0  # NV12
    board.put(src_ptr, chroma_swapped(picture), w, h, 64, 32)
    assert acl.media.dvpp_vpc_resize_async(board.channel, src, dst, board.resize_config(2), board.stream) == 0
    assert acl.rt.synchronize_stream(board.stream) == 0
    assert np.array_equal(board.get(dst_ptr, dst_size).reshape(h * 3 // 2, w), picture)  # same size, nearest: exact
