"""AIPP: the writer against the reference configs in aipp/, the parser, the rules, and the emulator
against OpenCV's own YUV -> RGB conversion."""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgematte.aipp import (AippConfig, AippEmulator, AippError, aipp_from_spec, aipp_header, aipp_problems,
                            parse_aipp, rgb_to_yuv420sp)
from edgematte.spec import PRESETS, get_preset
from edgematte.verification.golden import portrait_rgb

REFERENCE = Path(__file__).parents[2] / "aipp"


def render(spec):
    return aipp_from_spec(spec).render(aipp_header(spec))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_reference_config_is_what_the_writer_renders(preset):
    """aipp/<preset>.cfg is regenerated and compared (docs/aipp.md says how to refresh it on purpose)."""
    assert (REFERENCE / f"{preset}.cfg").read_text() == render(PRESETS[preset])


def test_every_preset_has_a_reference_config():
    assert sorted(p.stem for p in REFERENCE.glob("*.cfg")) == sorted(PRESETS)


def test_rendered_config_parses_back_to_the_same_config():
    spec = get_preset("hilens-384x384")
    assert parse_aipp(render(spec)) == [aipp_from_spec(spec)]


def test_config_follows_the_spec():
    spec = get_preset("hilens-512x288")
    cfg = aipp_from_spec(spec)
    assert (cfg.src_image_size_w, cfg.src_image_size_h, cfg.related_input_rank) == (512, 288, 0)
    assert cfg.rbuv_swap_switch is True  # NV21
    assert aipp_from_spec(dataclasses.replace(spec, camera_format="NV12")).rbuv_swap_switch is False
    assert cfg.min_chn == (127.5,) * 3 and cfg.var_reci_chn == (1 / 127.5,) * 3
    assert cfg.matrix == ((298, 0, 409), (298, -100, -208), (298, 516, 0))  # always explicit: the default is BGR
    assert "resize:" not in render(spec)
    assert aipp_problems(cfg, spec) == []


def test_parser_reads_several_blocks_comments_and_one_line_fields():
    text = """# two inputs
    aipp_op { aipp_mode: static related_input_rank: 0 input_format: YUV420SP_U8
              src_image_size_w: 64 src_image_size_h: 32 csc_switch: true rbuv_swap_switch: true
              matrix_r0c0: 298 matrix_r0c2: 409 }
    aipp_op { aipp_mode: static related_input_rank: 1 input_format: YUV400_U8 csc_switch: false
              src_image_size_w: 64 src_image_size_h: 32 var_reci_chn_0: 0.0039215686 }
    """
    first, second = parse_aipp(text)
    assert first.matrix[0] == (298, 0, 409) and first.matrix[1] == (298, -100, -208)  # unset rows keep the default
    assert second.related_input_rank == 1 and second.var_reci_chn[0] == pytest.approx(1 / 255)
    assert aipp_problems(second) == []  # M-Net's trimap block
    modnet = get_preset("hilens-512x288").with_size(64, 32)
    assert "related_input_rank 1" in "; ".join(aipp_problems(second, modnet))  # MODNet's input 1 takes floats


@pytest.mark.parametrize("text, message", [
    ("aipp_op { src_image_size_w: 64 src_image_size_h: 32 turbo: true }", "does not emulate: turbo"),
    ("aipp_op { src_image_size_w: 64 ", "not closed"),
    ("aipp_op { src_image_size_w: 64 src_image_size_h: 32 } }", "'}' without"),
    ("aipp_op {\n src_image_size_w 64 }", "line 2: cannot read"),
    ("aipp_op { src_image_size_w: wide src_image_size_h: 32 }", "src_image_size_w: 'wide' is not an integer"),
    ("aipp_op { src_image_size_w: 64 src_image_size_h: 32 crop: 1 }", "crop: 1 is not a boolean"),
])
def test_parser_errors_name_the_problem(text, message):
    with pytest.raises(AippError, match=message):
        parse_aipp(text)


@pytest.mark.parametrize("change, message", [
    (dict(resize=True), "resize: true is rejected on Ascend 310"),
    (dict(src_image_size_w=63), "must be even"),
    (dict(crop=True, load_start_pos_w=1, crop_size_w=32, crop_size_h=32), "load_start_pos_w/h must be even"),
    (dict(crop=True, load_start_pos_w=40, crop_size_w=32, crop_size_h=32), "outside the source image"),
    (dict(csc_switch=False), "receive YUV"),
])
def test_rules_ascend_310_enforces(change, message):
    cfg = dataclasses.replace(AippConfig(64, 32), **change)
    assert message in "; ".join(aipp_problems(cfg))
    with pytest.raises(AippError, match="cannot emulate"):
        AippEmulator(cfg)


def test_output_size_must_be_the_network_input():
    spec = get_preset("hilens-512x288")
    cfg = dataclasses.replace(aipp_from_spec(spec), src_image_size_w=640)
    assert "AIPP output 640x288 != network input 512x288" in aipp_problems(cfg, spec)


@pytest.mark.parametrize("fmt", ["NV21", "NV12"])
def test_emulated_colour_conversion_matches_opencv_within_one_level(fmt):
    spec = dataclasses.replace(get_preset("hilens-512x288"), camera_format=fmt)
    rgb = portrait_rgb(spec.width, spec.height)
    buf = rgb_to_yuv420sp(rgb, fmt)
    assert buf.shape == (spec.height * 3 // 2, spec.width)
    ours = AippEmulator(aipp_from_spec(spec)).csc(buf).astype(int)
    theirs = cv2.cvtColor(buf, getattr(cv2, f"COLOR_YUV2RGB_{fmt}")).astype(int)
    diff = np.abs(ours - theirs)
    assert diff.max() <= 1 and diff.mean() < 0.5  # the chip floors (>> 8) where OpenCV rounds


def test_emulator_output_is_the_normalised_network_input():
    spec = get_preset("hilens-384x384")
    buf = rgb_to_yuv420sp(portrait_rgb(spec.width, spec.height), spec.camera_format)
    emu = AippEmulator(aipp_from_spec(spec))
    x = emu(buf)
    assert x.shape == spec.image_shape and x.dtype == np.float32
    np.testing.assert_allclose(x, spec.normalize_rgb(emu.csc(buf)), atol=1e-6)
    x16 = AippEmulator(aipp_from_spec(spec), fp16=True)(buf)
    assert 0 < np.abs(x16 - x).max() <= 2 ** -11  # FP16 rounding of values in [-1, 1]


def test_swapping_the_chroma_order_is_what_rbuv_swap_undoes():
    spec = get_preset("hilens-384x384")
    rgb = portrait_rgb(spec.width, spec.height)
    nv21 = AippEmulator(aipp_from_spec(spec)).csc(rgb_to_yuv420sp(rgb, "NV21"))
    nv12 = AippEmulator(aipp_from_spec(dataclasses.replace(spec, camera_format="NV12"))).csc(
        rgb_to_yuv420sp(rgb, "NV12"))
    assert np.array_equal(nv21, nv12)
    wrong = AippEmulator(aipp_from_spec(spec)).csc(rgb_to_yuv420sp(rgb, "NV12"))
    assert np.abs(wrong.astype(int) - nv21).mean() > 5  # a wrong swap switch visibly changes colours


def test_a_buffer_of_the_wrong_size_is_refused():
    emu = AippEmulator(AippConfig(64, 32))
    with pytest.raises(AippError, match="a 64x32 YUV420SP frame has 3072"):
        emu(np.zeros(100, np.uint8))


def test_padding_is_written_in_the_spelling_every_toolchain_parses():
    """GE's insert_op conversion and the DDK-era schema know cpadding_value; padding_value is newer."""
    cfg = dataclasses.replace(aipp_from_spec(get_preset("hilens-512x288")), padding=True, top_padding_size=2,
                              src_image_size_h=286, padding_value=0.5)
    text = cfg.render()
    assert "  cpadding_value: 0.5\n" in text and "  padding_value" not in text
    assert parse_aipp(text) == [cfg]


def test_a_field_given_twice_is_refused_as_protobuf_does():
    text = aipp_from_spec(get_preset("hilens-512x288")).render()
    twice = text.replace("  crop: false\n", "  crop: false\n  crop: false\n")
    line = twice.splitlines().index("  crop: false") + 2
    with pytest.raises(AippError, match=f"line {line}: crop is given twice"):
        parse_aipp(twice)


# --- RGB888_U8: packed BGR frames (the AscendCL app fed them before DVPP; a family record may still choose them) --
@pytest.fixture
def bgr_case():
    from edgematte.devices import DEVICES, RGB888

    spec = get_preset("hilens-512x288")
    bgr = cv2.cvtColor(portrait_rgb(spec.width, spec.height), cv2.COLOR_RGB2BGR)
    return spec, dataclasses.replace(DEVICES["ascend310b4"], input_format=RGB888), bgr


def test_rgb888_emulation_is_opencvs_bgr_to_rgb_then_the_normalisation(bgr_case):
    spec, device, bgr = bgr_case
    emu = AippEmulator(aipp_from_spec(spec, device))
    assert emu.cfg.input_bytes == bgr.size
    assert np.array_equal(emu.csc(bgr.reshape(-1)), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    np.testing.assert_allclose(emu(bgr.reshape(-1)), spec.normalize_rgb(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
                               atol=1e-6)
    unswapped = AippEmulator(dataclasses.replace(emu.cfg, rbuv_swap_switch=False))
    assert np.array_equal(unswapped.csc(bgr.reshape(-1)), bgr)  # without the swap the network sees BGR
    with pytest.raises(AippError, match="a 512x288 RGB888 frame has 442368"):
        emu(np.zeros(100, np.uint8))


def test_rgb888_config_renders_parses_back_and_follows_the_rules(bgr_case):
    spec, device, _ = bgr_case
    cfg = aipp_from_spec(spec, device)
    text = cfg.render(aipp_header(spec, device))
    assert "input_format: RGB888_U8" in text and "matrix_r0c0" not in text and "BGR888 512x288" in text
    assert parse_aipp(text) == [cfg] and aipp_problems(cfg, spec) == []
    assert aipp_problems(dataclasses.replace(cfg, csc_switch=True)) == [
        "csc_switch is true on RGB888_U8 input: the network would receive YUV, not RGB"]
    odd = dataclasses.replace(cfg, src_image_size_w=63, crop=True, crop_size_w=61, crop_size_h=288)
    assert aipp_problems(odd) == []  # odd sizes are fine for packed RGB (they are not for YUV420SP)


def test_mnet_trimap_block_turns_bytes_into_the_trimap():
    from edgematte.aipp import YUV400, aipp_configs, parse_aipp, render_configs

    spec = get_preset("hilens-512x288").with_size(64, 32).for_model("mnet")
    image, trimap = aipp_configs(spec)
    assert (image.related_input_rank, trimap.related_input_rank, trimap.input_format) == (0, 1, YUV400)
    assert parse_aipp(render_configs([image, trimap], "two blocks")) == [image, trimap]
    assert all(aipp_problems(c, spec) == [] for c in (image, trimap))
    codes = np.random.default_rng(0).integers(0, 3, (32, 64)).astype(np.uint8)
    x = AippEmulator(trimap)(codes.reshape(-1))
    assert x.shape == (1, 1, 32, 64) and np.array_equal(x[0, 0], codes * np.float32(0.5))
    assert "csc_switch: true is rejected" in "; ".join(aipp_problems(dataclasses.replace(trimap, csc_switch=True)))
    assert "gives 1 channels; input 0" in "; ".join(aipp_problems(dataclasses.replace(trimap, related_input_rank=0),
                                                                spec))
