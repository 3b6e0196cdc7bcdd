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


def test_model_returns_flat_float32_outputs_or_17_on_a_size_mismatch(hilens, om_bundle):
    model = hilens.Model(hilens.get_model_dir() + "modnet4.om")
    image = hilens.cvt_color(np.full((64, 64, 3), 128, np.uint8), hilens.RGB2YUV_NV21)
    prev = np.zeros((64, 64), np.float32)
    out = model.infer([image.flatten(), prev.ravel()])
    assert isinstance(out, list) and out[0].dtype == np.float32 and out[0].shape == (64 * 64,)
    assert model.infer([image[:-2].flatten(), prev.ravel()]) == hilens.INPUT_SIZE_MISMATCH
    assert model.infer([image.flatten()]) == hilens.INPUT_SIZE_MISMATCH
    with pytest.raises(ValueError, match="only uint8 and float32"):
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
