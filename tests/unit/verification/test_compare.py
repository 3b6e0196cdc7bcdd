import numpy as np
import pytest

from edgematte.verification.compare import compare_runner
from edgematte.verification.golden import GoldenSet, rollout_rgb


class _Shifted:
    """A runner that returns the golden alpha plus an offset, to check that the comparison sees it."""

    name = "shifted"

    def __init__(self, golden, spec, offset):
        self.golden, self.spec, self.offset = golden, spec, offset

    def infer(self, feed):
        for case in ("random", "portrait"):
            if np.array_equal(feed[self.spec.image_input], self.golden.feed(self.spec, case)[self.spec.image_input]):
                return {self.spec.alpha_output: self.golden.expected(self.spec, case) + self.offset}
        images = self.golden.feed(self.spec, "rollout")[self.spec.image_input]
        t = next(i for i, im in enumerate(images) if np.array_equal(im, feed[self.spec.image_input]))
        return {self.spec.alpha_output: self.golden.expected(self.spec, "rollout")[t] + self.offset * (t + 1)}


def test_a_reader_within_tolerance_passes_and_one_outside_fails(exported_bundle, tiny_spec):
    golden = GoldenSet.load(exported_bundle.out / "golden.npz")
    ok = compare_runner(_Shifted(golden, tiny_spec, 1e-5), golden, tiny_spec, 1e-4)
    assert [c.check for c in ok] == ["random", "portrait", "rollout"] and all(c.passed for c in ok)
    bad = compare_runner(_Shifted(golden, tiny_spec, 3e-5), golden, tiny_spec, 1e-4)
    rollout = bad[2]
    assert not rollout.passed and bad[0].passed
    # the error grows by 3e-5 per frame: the per-frame record shows where the drift starts
    assert np.allclose([f["max_abs"] for f in rollout.frames], [3e-5 * (t + 1) for t in range(5)], rtol=1e-2)
    assert rollout.line().startswith("FAILED | shifted")


def test_rollout_frames_move():
    a, b = rollout_rgb(64, 64, 2)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b).mean() > 1


class _Flipped:
    """A runner that returns the golden alpha with ``count`` pixels moved by 0.3 (a max-unpooling flip)."""

    name = "flipped"

    def __init__(self, golden, spec, count):
        self.golden, self.spec, self.count = golden, spec, count

    def infer(self, feed):
        image = feed[self.spec.image_input]
        case = next((c for c in ("random", "portrait")
                     if np.array_equal(image, self.golden.feed(self.spec, c)[self.spec.image_input])), None)
        if case is not None:
            alpha = self.golden.expected(self.spec, case).copy()
        else:  # a rollout frame
            frames = self.golden.feed(self.spec, "rollout")[self.spec.image_input]
            t = next(i for i, im in enumerate(frames) if np.array_equal(im, image))
            alpha = self.golden.expected(self.spec, "rollout")[t].copy()
        alpha.reshape(-1)[:self.count] += 0.3
        return {self.spec.alpha_output: alpha}


def _mnet_golden(spec, near_tie_at=None):
    """An M-Net golden set from a stand-in reference (any deterministic alpha), its pooling windows all won by the
    first position; ``near_tie_at``: (stage, channel, row, col) of the one near-tied window."""
    from edgematte.verification import near_ties
    from edgematte.verification.golden import make_golden

    class _Echo:
        def infer(self, feed):
            return {spec.alpha_output: (feed[spec.image_input][:, :1] * 0.25 + 0.5).astype(np.float32)}

    golden = make_golden(_Echo(), spec)
    golden.arrays[near_ties.RADII] = np.array([2, 2, 2, 2, 2], np.int64)
    for case in ("random", "portrait"):
        golden.arrays[f"{case}.trimap"][:] = 0.5  # all unknown: the alpha is M-Net's everywhere
        for stage in range(1, 5):
            shape = (2, spec.height >> stage, spec.width >> stage)
            golden.arrays[near_ties.winner_key(case, stage)] = np.zeros(shape, np.uint8)
            golden.arrays[near_ties.near_tie_key(case, stage)] = np.zeros(shape, bool)
            if near_tie_at and near_tie_at[0] == stage:
                golden.arrays[near_ties.near_tie_key(case, stage)][near_tie_at[1:]] = True
    return golden


class _MNetReader(_Flipped):
    """The golden alpha with ``count`` pixels moved (from the top-left), and winner masks: the first position
    everywhere but at ``won_elsewhere`` (stage, channel, row, col)."""

    def __init__(self, golden, spec, count, won_elsewhere=None):
        super().__init__(golden, spec, count)
        self.won_elsewhere = won_elsewhere

    def infer(self, feed, extra=()):
        out = super().infer(feed)
        for stage, name in zip(range(4, 0, -1), extra):
            c, h, w = 2, self.spec.height >> stage, self.spec.width >> stage
            mask = np.zeros((c, h, 4, w), np.float32)
            mask[:, :, 0] = 1
            if self.won_elsewhere and self.won_elsewhere[0] == stage:
                _, ch, row, col = self.won_elsewhere
                mask[ch, row, :, col] = (0, 0, 0, 1)
            out[name] = mask.reshape(c * h, 4, w, 1)
        return out


TIES = ("t4", "t3", "t2", "t1")


def test_mnet_alpha_may_jump_only_where_the_readers_near_tie_flips_reach(tiny_spec):
    spec = tiny_spec.for_model("mnet")
    golden = _mnet_golden(spec, near_tie_at=(1, 0, 0, 0))  # the top-left window of stage 1
    flipped = compare_runner(_MNetReader(golden, spec, 5, won_elsewhere=(1, 0, 0, 0)), golden, spec, 1e-4, TIES)
    assert all(c.passed and c.flips == 1 and c.wrong_winners == 0 for c in flipped), flipped[0].line()
    assert "1 near-tie flips" in flipped[0].line() and flipped[0].max_abs == pytest.approx(0.3)
    # the same jump without the reader's flip: nothing explains it
    unexplained = compare_runner(_MNetReader(golden, spec, 5), golden, spec, 1e-4, TIES)
    assert not any(c.passed for c in unexplained) and unexplained[0].max_abs_outside == pytest.approx(0.3)
    # a pixel beyond the flip's reach (the top row's 64th pixel: 8 columns reach from a stage-1 window, radii 2+2)
    far = compare_runner(_MNetReader(golden, spec, spec.width, won_elsewhere=(1, 0, 0, 0)), golden, spec, 1e-4, TIES)
    assert not any(c.passed for c in far)


def test_mnet_winner_decided_otherwise_where_rounding_cannot_is_refused(tiny_spec):
    spec = tiny_spec.for_model("mnet")
    golden = _mnet_golden(spec)
    checks = compare_runner(_MNetReader(golden, spec, 0, won_elsewhere=(3, 1, 2, 2)), golden, spec, 1e-4, TIES)
    assert not any(c.passed for c in checks) and all(c.wrong_winners == 1 and c.max_abs == 0 for c in checks)
    assert "where rounding cannot decide it (a wrong export" in checks[0].line()
    missing = compare_runner(_MNetReader(golden, spec, 0), golden, spec, 1e-4, TIES[:3])
    assert not any(c.passed for c in missing) and "holds 3 unpooling winner masks, M-Net has 4" in missing[0].error


def test_modnet_checks_allow_no_flip(exported_bundle, tiny_spec):
    golden = GoldenSet.load(exported_bundle.out / "golden.npz")
    one = compare_runner(_Flipped(golden, tiny_spec, 1), golden, tiny_spec, 1e-4)
    assert not any(c.passed for c in one)  # one pixel off is a failure: MODNet is continuous


def test_a_non_finite_alpha_never_passes_even_inside_a_flips_reach(tiny_spec):
    spec = tiny_spec.for_model("mnet")
    golden = _mnet_golden(spec, near_tie_at=(1, 0, 0, 0))

    class _NaN(_MNetReader):  # one pixel NaN, inside the reach of the reader's own flip
        name = "nan-reader"

        def infer(self, feed, extra=()):
            out = super().infer(feed, extra)
            out[spec.alpha_output].reshape(-1)[0] = np.nan
            return out

    checks = compare_runner(_NaN(golden, spec, 0, won_elsewhere=(1, 0, 0, 0)), golden, spec, 1e-4, TIES)
    assert checks and not any(c.passed for c in checks)
    assert all(c.beyond > 0 for c in checks)  # the NaN counts as a pixel beyond atol
