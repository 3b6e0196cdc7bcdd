import numpy as np
import pytest

from edgematte.errors import SpecError
from edgematte.spec import DEFAULT_PRESET, PRESETS, PipelineSpec, get_preset, parse_size, resolve_spec


def test_presets_cover_the_kit_camera_and_the_square_sizes():
    assert DEFAULT_PRESET == "hilens-512x288"
    assert {"hilens-512x288", "hilens-384x384", "hilens-512x512"} <= set(PRESETS)
    for name, spec in PRESETS.items():
        assert name == f"{spec.target}-{spec.width}x{spec.height}"
        assert spec.width % 32 == 0 and spec.height % 32 == 0
    # 512x288 keeps the 16:9 camera frame and costs what 384x384 costs
    s = PRESETS["hilens-512x288"]
    assert s.width * 9 == s.height * 16
    assert s.width * s.height == 384 * 384


def test_tensor_names_and_shapes_come_from_the_spec():
    s = get_preset("hilens-384x384")
    assert s.input_shapes == {"image": (1, 3, 384, 384), "prev_alpha": (1, 1, 384, 384)}
    assert s.output_shapes == {"alpha": (1, 1, 384, 384)}
    assert s.opset == 11


@pytest.mark.parametrize("text, message", [
    ("500x288", "width 500 not a multiple of 32"),
    ("512x300", "height 300 not a multiple of 32"),
    ("0x288", "width 0"),
    ("512", "not WIDTHxHEIGHT"),
])
def test_bad_sizes_are_named_with_a_fix(text, message):
    with pytest.raises(SpecError, match=message) as e:
        parse_size(text)
    assert "\n" not in e.value.message


def test_a_bad_size_suggests_the_nearest_valid_one():
    with pytest.raises(SpecError, match="such as 512x288"):
        resolve_spec(size="500x290")


def test_unknown_preset_suggests_the_nearest():
    with pytest.raises(SpecError, match="did you mean hilens-512x288"):
        get_preset("hilens-512x289")


def test_with_size_renames_and_keeps_everything_else():
    s = get_preset("hilens-512x288").with_size(640, 352)
    assert (s.name, s.width, s.height, s.norm_mean) == ("hilens-640x352", 640, 352, 127.5)


def test_normalize_maps_0_and_255_to_minus_one_and_one():
    s = get_preset("hilens-512x288").with_size(64, 32)
    rgb = np.zeros((32, 64, 3), np.uint8)
    rgb[:, :, 1] = 255
    x = s.normalize_rgb(rgb)
    assert x.shape == (1, 3, 32, 64) and x.dtype == np.float32
    assert np.all(x[0, 0] == -1) and np.all(x[0, 1] == 1)
    with pytest.raises(ValueError):
        s.normalize_rgb(rgb[:16])


def test_spec_round_trips_and_rejects_unknown_fields():
    s = get_preset("hilens-384x384")
    assert PipelineSpec.from_dict(s.to_dict()) == s
    with pytest.raises(SpecError, match="fields this edgematte does not know: turbo"):
        PipelineSpec.from_dict({**s.to_dict(), "turbo": True})
