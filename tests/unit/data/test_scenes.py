"""The synthetic webcam scenes: seeded, a soft subject with fractional hair, the camera's noise and compression on
the frames but not on the alpha, and the backlight after its event."""

import numpy as np
import pytest

from edgematte.data.scenes import SCENARIOS, scene_clip


def clip(scenario, seed=0, frames=12):
    gen = scene_clip(np.random.default_rng(seed), scenario, frames, 96, 64)
    out = []
    while True:
        try:
            out.append(next(gen))
        except StopIteration as done:
            return out, done.value


def test_seeded_and_the_alpha_is_soft_with_fractional_strands():
    (a, ev_a), (b, _) = clip("steady"), clip("steady")
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    alpha = a[0][1]
    fractional = np.mean((alpha > 25) & (alpha < 230))
    assert 0.01 < fractional < 0.3 and alpha.max() == 255 and ev_a.empty == []


def test_the_camera_adds_noise_but_the_alpha_is_clean():
    frames, _ = clip("steady")
    (cam0, alpha0, _), (cam1, alpha1, _) = frames[0], frames[1]
    still = (alpha0 == 0) & (alpha1 == 0)  # background in both frames: exactly 0 in the true alpha
    noise = np.abs(cam0.astype(int) - cam1.astype(int))[still]
    assert still.mean() > 0.3 and 1.0 < noise.mean() < 20  # sensor noise and JPEG, not a different picture


def test_backlight_after_its_event():
    frames, events = clip("light", frames=20)
    k = events.light
    alpha = frames[k][1] / 255.0
    before, after = frames[k - 1][0].astype(float), frames[k][0].astype(float)
    bg = alpha < 0.01
    assert after[bg].mean() > before[bg].mean() + 20  # the background brightens


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_records_its_events(scenario):
    frames, events = clip(scenario, frames=20)
    assert events.scenario == scenario and events.frames == len(frames) == 20
    assert [t for t, f in enumerate(frames) if f[1].max() < 3] == events.empty
