"""A USB camera's MJPEG frames decoded by DVPP's JPEG decoder in the AscendCL app: the stand-in holds JPEGD to
CANN's rules (standin/dvpp.py), the fake UVC camera behaves as OpenCV's V4L2 backend (standin/uvc.py), and the
app's pictures equal OpenCV's decoding of the same frames."""

import runpy
import sys

import cv2
import numpy as np
import pytest

from edgematte.bundle import Bundle
from edgematte.standin import FOLDER, run_app, start_app
from edgematte.standin.dvpp import RULES, JpegHeader, jpeg_header, jpegd_problem, PicDesc
from edgematte.standin.uvc import MJPG, UvcCamera, mjpeg_frame

ACL_ERROR_INVALID_PARAM = 100000


@pytest.fixture
def camera(monkeypatch, sample_clip):
    """cv2.VideoCapture(index) opens a fake UVC camera playing the sample clip (its MJPEG without Huffman tables,
    as many cameras send it); the cameras opened are kept."""
    opened, real = [], cv2.VideoCapture

    def capture(source, *args):
        if isinstance(source, int):
            opened.append(UvcCamera(str(sample_clip)))
            return opened[-1]
        return real(source, *args)
    monkeypatch.setattr(cv2, "VideoCapture", capture)
    return opened


@pytest.fixture
def app_module(app_bundle):
    """The bundle's app loaded as a module against the acl stand-in, and its runtime (released afterwards)."""
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append)
    sys.path.insert(0, str(FOLDER))
    try:
        module = runpy.run_path(str(app_bundle.out / "app" / "main.py"), run_name="edgematte_test_app")
    finally:
        sys.path.remove(str(FOLDER))
    runtime = module["AclRuntime"](0)
    yield module, runtime, acl, lines
    runtime.release()


def _frame(sample_clip, size=(1280, 720)):
    ok, bgr = cv2.VideoCapture(str(sample_clip)).read()
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def test_the_app_asks_a_camera_for_mjpeg_and_has_dvpp_decode_it(app_bundle, camera, tmp_path):
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append, keep_alphas=True)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--max-frames", "5"])
    assert (code, stopped) == (0, None), lines
    assert camera[0].palette == MJPG and camera[0].size == (1280, 720) and not camera[0].convert_rgb
    assert "the camera's MJPEG frames are decoded by DVPP's JPEG decoder" in lines
    assert any(line.startswith("matting 1280x720 from camera 0") for line in lines)
    assert len(acl.session().alphas) == 5 and acl.held() == []


def test_camera_size_and_cpu_decoding_are_the_users_choice(app_bundle, camera, tmp_path):
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--max-frames", "3",
                                  "--camera-size", "1920x1080", "--camera-decode", "cpu"])
    assert (code, stopped) == (0, None), lines
    assert camera[0].palette == MJPG and camera[0].convert_rgb  # OpenCV decodes: BGR frames
    assert not any("DVPP's JPEG decoder" in line for line in lines)
    assert any(line.startswith("matting 1920x1080 from camera 0") for line in lines)


def test_a_camera_size_that_is_not_w_x_h_is_refused(app_bundle, camera, tmp_path):
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append)
    code, _ = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--camera-size", "720p"])
    assert code == 2 and any("--camera-size takes WIDTHxHEIGHT" in line for line in lines)


def test_when_jpegd_refuses_the_cameras_frames_opencv_decodes_them(app_bundle, camera, tmp_path, monkeypatch):
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append, keep_alphas=True)
    monkeypatch.setattr(type(acl.media), "dvpp_jpeg_decode_async", lambda *_: ACL_ERROR_INVALID_PARAM)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--max-frames", "3"])
    assert (code, stopped) == (0, None), lines
    assert any(line.startswith("DVPP's JPEG decoder refused the camera's first frame") and "OpenCV decodes them"
               in line for line in lines)
    assert len(acl.session().alphas) == 3 and acl.held() == []


def test_jpegds_picture_is_opencvs_decoding_of_the_same_frame_in_the_apps_range(app_module, sample_clip):
    """JPEGD gives the JPEG's full-range YCbCr; the app maps it to the BT.601 narrow range OpenCV's conversions
    (and the bundle's AIPP) use: its NV21 is OpenCV's decode + conversion within a level in Y, and within the
    two 4:2:0 resamplings' difference at edges in chroma."""
    module, runtime, _, _ = app_module
    jpeg = mjpeg_frame(_frame(sample_clip), 85, huffman_tables=False)
    got = module["JpegDecoder"](runtime, 1280, 720)(jpeg.reshape(1, -1)).astype(int)
    want = module["to_nv21"](cv2.imdecode(jpeg, cv2.IMREAD_COLOR)).astype(int)
    luma, chroma = np.abs(got[:720] - want[:720]), np.abs(got[720:] - want[720:])
    assert got.shape == (1080, 1280) and luma.max() <= 1 and luma.mean() < 0.3
    assert chroma.mean() < 0.5 and np.percentile(chroma, 99) <= 3
    # left in full range, white would be 255, not the 235 the AIPP matrix takes as white
    assert abs(got[:720].mean() - want[:720].mean()) < 0.1


def test_the_standard_huffman_tables_go_in_only_where_a_frame_has_none(app_module, sample_clip):
    module = app_module[0]
    bgr = _frame(sample_clip, (64, 48))
    full, bare = mjpeg_frame(bgr, 85, True).tobytes(), mjpeg_frame(bgr, 85, False).tobytes()
    tables = module["standard_huffman_tables"]()
    assert tables.count(b"\xff\xc4") == 4  # DC and AC, luma and chroma (Annex K.3)
    assert module["with_huffman_tables"](full, tables) == full
    completed = module["with_huffman_tables"](bare, tables)
    assert jpeg_header(bare).huffman_tables == 0 and jpeg_header(completed).huffman_tables == 4
    assert (cv2.imdecode(np.frombuffer(completed, np.uint8), cv2.IMREAD_COLOR) ==
            cv2.imdecode(np.frombuffer(full, np.uint8), cv2.IMREAD_COLOR)).all()
    assert module["jpeg_size"](bare) == (64, 48)


def _output(width, height, align, **changes):
    ws, hs = -(-width // align) * align, -(-height // 16) * 16
    values = dict(data=0x1000, size=ws * hs * 3 // 2, format=2, width_stride=ws, height_stride=hs) | changes
    return PicDesc(**values)


@pytest.mark.parametrize("chips, align", [("Ascend310", 128), ("Ascend310B", 64), ("Ascend310P", 64)])
def test_jpegds_output_strides_are_each_chips(chips, align):
    """CANN 8.0 aclpythondevg_01_0321: the width stride is the width rounded up to 128 on the 310, to 64 on the
    310B and 310P; the height stride the height rounded up to 16."""
    header, rules = JpegHeader(1088, 612, "420", 4), RULES[chips]
    assert jpegd_problem(header, _output(1088, 612, align), rules) is None
    other = 64 if align == 128 else 128
    assert "strides" in jpegd_problem(header, _output(1088, 612, other), rules)
    assert "buffer size" in jpegd_problem(header, _output(1088, 612, align, size=100), rules)


def test_jpegd_refuses_what_cann_says_it_cannot_decode(sample_clip):
    rules, bgr = RULES["Ascend310B"], _frame(sample_clip, (320, 240))
    out = _output(320, 240, 64)
    _, progressive = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert "progressive" in jpegd_problem(jpeg_header(progressive.tobytes()), out, rules)
    assert "no Huffman tables" in jpegd_problem(jpeg_header(mjpeg_frame(bgr, 85, False).tobytes()), out, rules)
    tiny = mjpeg_frame(cv2.resize(bgr, (16, 16)), 85, True).tobytes()
    assert "outside JPEGD's 32x32" in jpegd_problem(jpeg_header(tiny), out, rules)
    assert "SOI" in jpegd_problem(jpeg_header(b"GIF89a" + bytes(64)), out, rules)
    assert "format 0 is not YUV420SP" in jpegd_problem(jpeg_header(mjpeg_frame(bgr, 85, True).tobytes()),
                                                       _output(320, 240, 64, format=0), rules)


def test_the_stand_in_refuses_an_unaligned_input_and_host_memory(app_module, sample_clip):
    module, runtime, acl, lines = app_module
    decoder = module["JpegDecoder"](runtime, 320, 240)
    jpeg = module["with_huffman_tables"](mjpeg_frame(_frame(sample_clip, (320, 240)), 85, False).tobytes(),
                                         decoder.tables)
    assert acl.rt.memcpy(decoder.data, decoder.capacity, acl.util.bytes_to_ptr(jpeg), len(jpeg), 1) == 0
    media, desc, stream = acl.media, decoder.picture.desc, decoder.dvpp.stream
    assert media.dvpp_jpeg_decode_async(decoder.dvpp.channel, decoder.data + 64, len(jpeg) - 64, desc, stream) \
        == ACL_ERROR_INVALID_PARAM
    assert "not 128-byte aligned" in lines[-1]
    host = acl.util.bytes_to_ptr(jpeg)
    assert media.dvpp_jpeg_decode_async(decoder.dvpp.channel, host, len(jpeg), desc, stream) \
        == ACL_ERROR_INVALID_PARAM
    assert "not inside acl.media.dvpp_malloc memory" in lines[-1]
    assert media.dvpp_jpeg_decode_async(decoder.dvpp.channel, decoder.data, len(jpeg), desc, stream) == 0
    assert media.dvpp_get_pic_desc_width(desc) == 320  # set by the app; JPEGD sets it again when it runs


def test_each_familys_app_carries_its_chips_jpegd_stride():
    from edgematte.acl_app import render_app
    from edgematte.devices import families_running
    from edgematte.spec import get_preset

    spec = get_preset("hilens-512x288")
    for family in families_running("acl_app"):
        source = render_app(spec, family)
        align = 128 if family.soc_version == "Ascend310" else 64
        assert f"JPEGD_WIDTH_ALIGN = {align}" in source, family.name


def test_a_camera_frame_jpegd_cannot_decode_is_skipped_and_counted(app_bundle, sample_clip, tmp_path, monkeypatch):
    """A USB glitch cuts a frame short: the app skips it (as OpenCV's own decoding would), says so once, counts it,
    and goes on; the first frame is whole, so JPEGD stays the decoder."""
    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", lambda source, *args: UvcCamera(str(sample_clip), broken_every=3)
                        if isinstance(source, int) else real(source, *args))
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append, keep_alphas=True)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--max-frames", "8",
                                  "--sequential"])
    assert (code, stopped) == (0, None), lines
    assert sum(line.startswith("skipped a camera frame DVPP's JPEG decoder could not decode") for line in lines) == 1
    assert "done: 8 frames, 0 alpha resets, 3 undecodable camera frames skipped" in lines
    assert len(acl.session().alphas) == 8 and acl.held() == []


def test_a_camera_whose_frames_jpegd_stops_decoding_ends_the_run_with_one_line(app_bundle, camera, tmp_path,
                                                                               monkeypatch):
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append)
    decode, calls = type(acl.media).dvpp_jpeg_decode_async, []

    def first_only(media, *args):  # the first frame decodes, none after it
        calls.append(args)
        return decode(media, *args) if len(calls) == 1 else ACL_ERROR_INVALID_PARAM
    monkeypatch.setattr(type(acl.media), "dvpp_jpeg_decode_async", first_only)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi")])
    assert code == 2 and acl.held() == [] and len(calls) == 26
    assert stopped.startswith("DVPP's JPEG decoder failed on 25 camera frames in a row (the last: "
                              "acl.media.dvpp_jpeg_decode_async") and stopped.endswith("try --camera-decode cpu")


def test_a_camera_without_mjpeg_is_read_as_opencv_converts_it(app_bundle, sample_clip, tmp_path, monkeypatch):
    """A camera that offers YUYV only: the MJPEG request fails, OpenCV converts its frames, JPEGD is not used."""
    from edgematte.standin.uvc import YUYV

    real, opened = cv2.VideoCapture, []

    def capture(source, *args):
        if isinstance(source, int):
            opened.append(UvcCamera(str(sample_clip), modes={YUYV: ((640, 480),)}))
            return opened[-1]
        return real(source, *args)
    monkeypatch.setattr(cv2, "VideoCapture", capture)
    lines = []
    acl = start_app(Bundle.open(app_bundle.out), log=lines.append)
    code, stopped = run_app(acl, ["--input", "0", "--output", str(tmp_path / "o.avi"), "--max-frames", "3"])
    assert (code, stopped) == (0, None), lines
    assert opened[0].palette == YUYV and opened[0].convert_rgb
    assert any(line.startswith("matting 640x480 from camera 0") for line in lines)
    assert not any("JPEG decoder" in line for line in lines)


def test_the_decoder_names_a_frame_of_another_size_and_one_too_large(app_module, sample_clip):
    """The ways a camera frame can break the decoder's sizing, each one error naming it (the capture stage then
    skips the frame and counts it); the decoder goes on with the next good frame."""
    module, runtime, _, _ = app_module
    decoder = module["JpegDecoder"](runtime, 320, 240)
    larger = mjpeg_frame(_frame(sample_clip, (640, 480)), 85, False)  # beyond the output's strides: JPEGD refuses
    with pytest.raises(module["AclError"], match="dvpp_jpeg_decode_async failed"):
        decoder(larger.reshape(1, -1))
    narrower = mjpeg_frame(_frame(sample_clip, (300, 240)), 85, False)  # the same strides: decoded, then named
    with pytest.raises(module["AppError"], match="changed from 320x240 to 300x240"):
        decoder(narrower.reshape(1, -1))
    whole = mjpeg_frame(_frame(sample_clip, (320, 240)), 85, True).tobytes()
    padded = np.frombuffer(whole + bytes(decoder.capacity), np.uint8)  # junk after the image, beyond any JPEG
    with pytest.raises(module["AppError"], match="larger than a 320x240 JPEG can be"):
        decoder(padded.reshape(1, -1))
    assert decoder(np.frombuffer(whole, np.uint8).reshape(1, -1)).shape == (360, 320)  # and it goes on
