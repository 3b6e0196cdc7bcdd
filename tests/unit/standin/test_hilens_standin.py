"""The stand-in behaves as the device's hilens module does where a skill can tell."""

import numpy as np
import pytest

from edgematte.bundle import Bundle
from edgematte.standin import start


@pytest.fixture
def hilens(om_bundle):
    return start(Bundle.open(om_bundle.out))


def test_only_the_device_colour_codes_exist(hilens):
    assert {n for n in dir(hilens) if "2YUV" in n or "YUV2" in n} == {
        "RGB2YUV_NV12", "RGB2YUV_NV21", "BGR2YUV_NV12", "BGR2YUV_NV21"}
    rgb = np.zeros((4, 6, 3), np.uint8)
    assert hilens.cvt_color(rgb, hilens.RGB2YUV_NV21).shape == (6, 6)
    with pytest.raises(ValueError):
        hilens.cvt_color(rgb, 99)


def test_preprocessor_resizes_and_crops_nv21_with_the_device_limits(hilens):
    frame = hilens.cvt_color(np.full((720, 1280, 3), 100, np.uint8), hilens.RGB2YUV_NV21)
    pre = hilens.Preprocessor()
    assert pre.resize(frame, 512, 288, 0).shape == (432, 512)
    nv12 = pre.resize(frame, 512, 288, 1)
    nv21 = pre.resize(frame, 512, 288, 0)
    assert (nv12[288:, 0::2] == nv21[288:, 1::2]).all()
    assert pre.crop(frame, 100, 50, 256, 128, 0).shape == (192, 256)
    for w, h in ((511, 288), (32, 288), (512, 1090)):
        with pytest.raises(ValueError, match="must be even"):
            pre.resize(frame, w, h, 0)
    # the source has the output's range too: a 2560x720 side-by-side picture cannot be scaled in one call
    wide = hilens.cvt_color(np.full((720, 2560, 3), 100, np.uint8), hilens.RGB2YUV_NV21)
    for call in (lambda: pre.resize(wide, 1920, 540, 0), lambda: pre.crop(wide, 0, 0, 256, 128, 0)):
        with pytest.raises(ValueError, match="source size 2560x720 must be even, width in \\[64, 1920\\]"):
            call()


def test_model_returns_flat_float32_outputs_or_17_on_a_size_mismatch(hilens, om_bundle):
    model = hilens.Model(hilens.get_model_dir() + "modnet4.om")
    image = hilens.cvt_color(np.full((64, 64, 3), 128, np.uint8), hilens.RGB2YUV_NV21)
    prev = np.zeros((64, 64), np.float32)
    out = model.infer([image.flatten(), prev.ravel()])
    assert isinstance(out, list) and out[0].dtype == np.float32 and out[0].shape == (64 * 64,)
    assert model.infer([image[:-2].flatten(), prev.ravel()]) == hilens.INPUT_SIZE_MISMATCH
    assert model.infer([image.flatten()]) == hilens.INPUT_SIZE_MISMATCH
    with pytest.raises(hilens.ContractError, match="only uint8 and float32"):
        model.infer([image.flatten(), prev.astype(np.float64).ravel()])
    with pytest.raises(hilens.CreateError, match="bare file name"):
        hilens.Model("modnet4.om")
    with pytest.raises(hilens.CreateError, match="stands in for the bundle's modnet4.om only"):
        hilens.Model(hilens.get_model_dir() + "other.om")


def test_the_stand_in_model_is_the_aipp_emulator_plus_the_bundle_onnx(hilens, om_bundle):
    """infer on NV21 bytes == onnxruntime on the AIPP emulator's tensor (what the chip would compute)."""
    from edgematte.aipp import AippEmulator, parse_aipp
    from edgematte.runtime.ort import OrtRunner

    rng = np.random.default_rng(1)
    image = hilens.cvt_color(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), hilens.RGB2YUV_NV21)
    prev = rng.uniform(0, 1, (64, 64)).astype(np.float32)
    got = hilens.Model(hilens.get_model_dir() + "modnet4.om").infer([image.flatten(), prev.ravel()])[0]
    emulator = AippEmulator(parse_aipp((om_bundle.out / "aipp.cfg").read_text())[0])
    want = OrtRunner(om_bundle.out / "modnet4.onnx").infer({"image": emulator(image),
                                                           "prev_alpha": prev[None, None]})["alpha"]
    assert np.array_equal(got, want.reshape(-1))


# -- the device's contract, rule by rule (sources: docs/skill.md, "What the stand-in enforces") ---------------
def test_init_takes_letters_and_digits_only(hilens):
    assert hilens.init("edgematte2") == 0
    for bad in ("edge-matte", "", "check value", None):
        assert hilens.init(bad) != 0


def test_log_messages_are_printf_formats_of_at_most_255_characters(hilens):
    lines = []
    hilens.session().log = lines.append
    hilens.info("100%% of frames")  # an escaped percent is printed as one
    assert lines == ["[INFO] 100% of frames"]
    with pytest.raises(hilens.ContractError, match=r"holds a % conversion at test_hilens_standin.py:\d+"):
        hilens.warning("background C:/50%s.png")
    with pytest.raises(hilens.ContractError, match="messages over 255 characters are dropped"):
        hilens.error("x" * 256)
    with pytest.raises(hilens.ContractError, match="takes str only"):
        hilens.info(42)


def test_infer_takes_a_list_of_flat_arrays(hilens):
    model = hilens.Model(hilens.get_model_dir() + "modnet4.om")
    image = hilens.cvt_color(np.zeros((64, 64, 3), np.uint8), hilens.RGB2YUV_NV21)
    prev = np.zeros((64, 64), np.float32)
    with pytest.raises(hilens.ContractError, match="was given a tuple"):
        model.infer((image.flatten(), prev.ravel()))
    with pytest.raises(hilens.ContractError, match=r"input 1 is \(64, 64\).*1-D"):
        model.infer([image.flatten(), prev])


def test_hdmi_shows_at_most_1080p_and_says_so_in_its_return_value(hilens, tmp_path):
    hilens.session().output = None
    display = hilens.Display(hilens.HDMI)
    wide = np.zeros((720 * 3 // 2, 2560), np.uint8)
    assert display.show(wide) != 0 and hilens.session().frames_shown == 0
    assert display.show(np.zeros((540 * 3 // 2, 1920), np.uint8)) == 0 and hilens.session().frames_shown == 1


def test_the_built_in_camera_is_720p_whatever_the_video(om_bundle, tmp_path):
    import cv2

    from edgematte.bundle import Bundle
    from edgematte.standin import start

    writer = cv2.VideoWriter(str(tmp_path / "small.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for _ in range(2):
        writer.write(np.full((240, 320, 3), 90, np.uint8))
    writer.release()
    hilens = start(Bundle.open(om_bundle.out), source=str(tmp_path / "small.avi"))
    cap = hilens.VideoCapture()
    assert (cap.width, cap.height) == (1280, 720) and cap.read().shape == (1080, 1280)


def test_skill_config_is_none_when_the_platform_wrote_none(hilens):
    hilens.session().skill_config = None
    assert hilens.get_skill_config() is None
