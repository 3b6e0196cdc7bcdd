"""The accuracy yardsticks: alpha error between runners, and the camera-rounding floor."""

import numpy as np
import pytest

from edgematte.quantize.accuracy import AlphaErrorProbe, CameraRounding, alpha_error
from edgematte.spec import get_preset


@pytest.fixture
def spec():
    return get_preset("hilens-512x288").with_size(64, 32)


class FirstChannel:
    """alpha = the image's red channel as it arrives: its change is exactly the input's change."""

    def __init__(self, spec):
        self.spec = spec

    def infer(self, feed):
        return {self.spec.alpha_output: feed[self.spec.image_input][:, :1].copy()}


class Constant(FirstChannel):
    def infer(self, feed):
        return {self.spec.alpha_output: np.full(self.spec.alpha_shape, 0.5, np.float32)}


def test_camera_rounding_adds_at_most_half_a_level(spec):
    image = np.zeros(spec.image_shape, np.float32)
    feed = {spec.image_input: image, spec.alpha_input: np.zeros(spec.alpha_shape, np.float32)}
    got = CameraRounding(FirstChannel(spec), spec, seed=3).infer(feed)[spec.alpha_output]
    levels = got * spec.norm_std
    assert np.abs(levels).max() <= 0.5 and np.abs(levels).mean() == pytest.approx(0.25, rel=0.05)
    again = CameraRounding(FirstChannel(spec), spec, seed=3).infer(feed)[spec.alpha_output]
    assert np.array_equal(got, again)  # seeded


def test_floor_is_the_alpha_change_rounding_causes(spec):
    floor = AlphaErrorProbe(FirstChannel(spec), spec).camera_rounding_floor()
    for case in ("portrait", "clip"):
        # mean |U(-0.5, 0.5)| = 0.25 level, in normalized units
        assert floor[case]["mean_abs"] == pytest.approx(0.25 / spec.norm_std, rel=0.05)
        assert floor[case]["max_abs"] <= 0.5 / spec.norm_std + 1e-7
    assert "8-bit rounding" in floor["note"]
    assert AlphaErrorProbe(Constant(spec), spec).camera_rounding_floor()["clip"]["max_abs"] == 0


def test_alpha_error_of_a_runner_against_itself_is_zero(spec):
    e = alpha_error(FirstChannel(spec), FirstChannel(spec), spec, clip_frames=3)
    assert e["portrait"] == {"max_abs": 0.0, "mean_abs": 0.0} and e["clip"]["frames"] == 3
