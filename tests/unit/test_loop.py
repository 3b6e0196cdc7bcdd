"""The loop core both apps run (and the study, eval and the golden rollout): the previous alpha's rules and the
stopwatch."""

import numpy as np
import pytest

from edgematte.loop import MIN_COVERAGE, RESET_THRESHOLD, PreviousAlpha, Stopwatch, confident_share, scene_changed


def test_the_first_frame_gets_zeros_and_each_alpha_is_fed_to_the_next():
    previous = PreviousAlpha(4, 2)
    luma = np.full((2, 4), 100, np.uint8)
    assert not previous.feed(luma).any() and previous.feed(luma).shape == (2, 4)
    alpha = np.full((2, 4), 0.7, np.float32)
    assert previous.keep(alpha) is not alpha  # clipped copy, float32
    np.testing.assert_array_equal(previous.feed(luma), alpha)
    assert previous.resets == 0


def test_a_cut_drops_the_previous_alpha_and_is_counted():
    previous = PreviousAlpha(4, 2, reset_threshold=30.0)
    previous.feed(np.full((2, 4), 100, np.uint8))
    previous.keep(np.ones((2, 4), np.float32))
    assert previous.feed(np.full((2, 4), 129, np.uint8)).all()  # 29 levels: not a cut
    assert not previous.feed(np.full((2, 4), 160, np.uint8)).any()  # 31 levels: a cut
    assert previous.resets == 1


def test_an_empty_matte_is_not_fed_back_and_rules_set_to_none_are_off():
    previous = PreviousAlpha(4, 2)
    previous.keep(np.full((2, 4), MIN_COVERAGE / 2, np.float32))
    assert not previous.feed().any()
    off = PreviousAlpha(4, 2, reset_threshold=None, min_coverage=None)
    off.keep(np.full((2, 4), MIN_COVERAGE / 2, np.float32))
    off.feed(np.zeros((2, 4), np.uint8))
    assert off.feed(np.full((2, 4), 255, np.uint8)).all() and off.resets == 0


def test_the_person_left_rule_counts_confident_pixels_not_the_mean():
    """A haze over an empty frame (0.3 everywhere: a mean far above MIN_COVERAGE) is dropped; a small confident
    region (12 of 400 pixels above 0.5, 3 %) is a person and is fed back, unless the share asked for is higher."""
    haze = np.full((20, 20), 0.3, np.float32)
    assert confident_share(haze) == 0.0 and haze.mean() > 10 * MIN_COVERAGE
    previous = PreviousAlpha(20, 20)
    previous.keep(haze)
    assert not previous.feed().any()
    hand = np.zeros((20, 20), np.float32)
    hand[0, :12] = 0.9
    assert confident_share(hand) == 0.03
    previous.keep(hand)
    assert previous.feed()[0, :12].tolist() == pytest.approx([0.9] * 12)
    previous = PreviousAlpha(20, 20, min_coverage=0.05)
    previous.keep(hand)
    assert not previous.feed().any()


def test_plain_modnet_gets_zeros_and_a_failed_inference_drops_the_alpha():
    plain = PreviousAlpha(4, 2, feedback=False)
    plain.keep(np.ones((2, 4), np.float32))
    assert not plain.feed().any()
    previous = PreviousAlpha(4, 2)
    previous.keep(np.full((2, 4), 0.75, np.float32))
    assert previous.feed()[0, 0] == 0.75
    previous.drop()
    assert not previous.feed().any()


def test_values_outside_zero_one_are_clipped_before_they_are_fed_back():
    previous = PreviousAlpha(2, 1)
    kept = previous.keep(np.array([[-0.5, 1.5]], np.float32))
    np.testing.assert_array_equal(kept, [[0.0, 1.0]])
    np.testing.assert_array_equal(previous.feed(), [[0.0, 1.0]])


def test_scene_changed_uses_the_mean_absolute_change():
    a, b = np.zeros((2, 2), np.uint8), np.array([[0, 0], [0, 4 * int(RESET_THRESHOLD) + 4]], np.uint8)
    assert scene_changed(a, b, RESET_THRESHOLD) and not scene_changed(None, b, RESET_THRESHOLD)
    assert not scene_changed(a, b, None)


def test_the_stopwatch_charges_each_lap_to_its_stage_and_skips_what_is_timed_elsewhere():
    ticks = iter([0.0, 0.010, 0.012, 0.020, 0.030])
    watch = Stopwatch(("read", "infer"), clock=lambda: next(ticks))
    watch.start()            # 0.000
    watch.lap("read")        # 0.010: read 10 ms
    watch.skip()             # 0.012
    watch.lap("infer")       # 0.020: infer 8 ms
    watch.frame_done()
    watch.lap("read")        # 0.030: read 10 ms more
    assert watch.ms() == pytest.approx({"read": 20.0, "infer": 8.0})
    assert watch.line() == "read 20.0, infer 8.0"
    assert watch.ms() == {"read": 0.0, "infer": 0.0}
