import numpy as np

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


def test_mnet_checks_allow_a_few_near_tie_flips_and_no_more(tiny_spec):
    from edgematte.verification.golden import make_golden
    from edgematte.networks import FLIP_BUDGET

    spec = tiny_spec.for_model("mnet")

    class _Echo:  # a stand-in reference: any deterministic alpha will do
        def infer(self, feed):
            return {spec.alpha_output: (feed[spec.image_input][:, :1] * 0.25 + 0.5).astype(np.float32)}

    golden = make_golden(_Echo(), spec)
    pixels = spec.width * spec.height
    few = compare_runner(_Flipped(golden, spec, int(FLIP_BUDGET * pixels)), golden, spec, 1e-4)
    assert all(c.passed for c in few) and "of pixels beyond atol" in few[0].line()
    many = compare_runner(_Flipped(golden, spec, int(FLIP_BUDGET * pixels) + 2), golden, spec, 1e-4)
    assert not any(c.passed for c in many)


def test_modnet_checks_allow_no_flip(exported_bundle, tiny_spec):
    golden = GoldenSet.load(exported_bundle.out / "golden.npz")
    one = compare_runner(_Flipped(golden, tiny_spec, 1), golden, tiny_spec, 1e-4)
    assert not any(c.passed for c in one)  # one pixel off is a failure: MODNet is continuous


def test_a_non_finite_alpha_never_passes_even_within_the_flip_budget(tiny_spec):
    from edgematte.verification.golden import make_golden

    spec = tiny_spec.for_model("mnet")

    class _Echo:
        def infer(self, feed):
            return {spec.alpha_output: (feed[spec.image_input][:, :1] * 0.25 + 0.5).astype(np.float32)}

    class _NaN(_Echo):  # one pixel NaN: inside M-Net's flip budget by count, but not a number
        name = "nan-reader"

        def infer(self, feed):
            alpha = super().infer(feed)[spec.alpha_output].copy()
            alpha.reshape(-1)[0] = np.nan
            return {spec.alpha_output: alpha}

    golden = make_golden(_Echo(), spec)
    checks = compare_runner(_NaN(), golden, spec, 1e-4)
    assert checks and not any(c.passed for c in checks)
    assert all(c.beyond > 0 for c in checks)  # the NaN counts as a pixel beyond atol
