"""Compare a runner with the golden PyTorch outputs: max and mean abs error per check and per frame.

A continuous network (MODNet) is held to atol on every pixel. M-Net's max-unpooling is not continuous: where two
values of a pooling window are within rounding of each other, which one wins depends on how an implementation
rounds, and the value lands one pixel over. Its check is flip-aware (:mod:`edgematte.verification.near_ties`):
each reader returns its own winners beside the alpha; a winner that differs from PyTorch's where rounding cannot
explain it fails the check (a wrong export: weights, the tie rule, the trimap's one-hot), and the alpha is held
to atol everywhere but the reach of the reader's near-tie flips, whose count and effect are reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from edgematte.spec import PipelineSpec
from edgematte.verification import near_ties
from edgematte.verification.golden import SINGLE_CASES, GoldenSet, has_rollout, rollout


@dataclass
class CheckResult:
    """One comparison of a reader's alpha with PyTorch's."""

    check: str              # a golden case: "random" | "portrait" | "rollout" | "flat" (M-Net)
    reader: str             # "onnxruntime", ...
    max_abs: float
    mean_abs: float
    atol: float
    frames: list[dict] = field(default_factory=list)  # rollout: per-frame max/mean abs
    error: str | None = None  # set when the reader's output could not be compared at all
    beyond: float = 0.0     # the fraction of pixels farther than atol from PyTorch
    # M-Net (near_ties.py): pooling windows the reader decided otherwise within rounding (flips), and where
    # rounding cannot (a wrong export); the share of pixels the flips may move, and the max abs error elsewhere
    flips: int = 0
    wrong_winners: int = 0
    reach: float = 0.0
    max_abs_outside: float | None = None  # None: no near-ties to leave out (max_abs is held to atol)

    @property
    def passed(self) -> bool:
        """Within atol on every pixel no near-tie flip of the reader's can move, with no winner that rounding
        cannot explain; a non-finite output never passes."""
        held = self.max_abs if self.max_abs_outside is None else self.max_abs_outside
        finite = math.isfinite(self.max_abs) and math.isfinite(self.mean_abs) and math.isfinite(held)
        return self.error is None and finite and self.wrong_winners == 0 and held <= self.atol

    def line(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        if self.error:
            return f"{status} | {self.reader:<12} | {self.check:<13} | {self.error}"
        frames = f" over {len(self.frames)} frames" if self.frames else ""
        if self.wrong_winners:
            frames += (f", {self.wrong_winners} pooling windows won by another position than in PyTorch where "
                       f"rounding cannot decide it (a wrong export: its weights or its tie rule)")
        if self.max_abs_outside is not None and (self.flips or self.beyond):
            frames += (f", {self.flips} near-tie flips (max-unpooling windows decided otherwise within rounding) "
                       f"may move {100 * self.reach:.2f} % of the pixels, {100 * self.beyond:.2f} % moved beyond "
                       f"atol; elsewhere max abs {self.max_abs_outside:.2e}")
        return (f"{status} | {self.reader:<12} | {self.check:<13} | alpha max abs {self.max_abs:.2e}, "
                f"mean abs {self.mean_abs:.2e}{frames} (atol {self.atol:.1e})")

    def brief(self, usual_atol: float) -> str:
        """What failed, in a few words (export's error line; ``usual_atol``: the one the line names already)."""
        if self.error:
            return f"{self.reader}/{self.check} ({self.error})"
        held = self.max_abs if self.max_abs_outside is None else self.max_abs_outside
        what = [f"{held:.2e}" + (f" > {self.atol:.1e}" if self.atol != usual_atol else "")
                + ("" if self.max_abs_outside is None else f" outside the reach of {self.flips} near-tie flips")]
        if self.wrong_winners:
            what.append(f"{self.wrong_winners} pooling windows won by another position where rounding cannot "
                        f"decide it")
        return f"{self.reader}/{self.check} ({', '.join(what)})"

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _errors(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return float(d.max()), float(d.mean())


def _tie_check(outputs: dict, ties: tuple[str, ...], golden: GoldenSet, spec: PipelineSpec, case: str,
               diff: np.ndarray, atol: float) -> dict:
    """CheckResult fields for a max-unpooling network: the reader's winners (``ties``: its winner-mask outputs)
    judged against the golden ones, and the alpha's largest error outside its flips' reach."""
    stages = near_ties.stages_of(golden.arrays, case)
    if len(ties) != stages:
        raise ValueError(f"the graph holds {len(ties)} unpooling winner masks, {spec.network.short} has {stages}")
    mine = near_ties.winners_from_masks([outputs[name] for name in ties], golden.arrays, case)
    verdict = near_ties.judge(mine, golden.arrays, case, near_ties.unknown_band(golden, spec, case))
    outside = np.where(verdict.reach, 0.0, diff)
    return {"flips": verdict.flips, "wrong_winners": verdict.wrong, "reach": float(verdict.reach.mean()),
            "max_abs_outside": float(np.max(np.nan_to_num(outside, nan=np.inf)))}


def compare_runner(runner, golden: GoldenSet, spec: PipelineSpec, atol: float,
                   ties: tuple[str, ...] = ()) -> list[CheckResult]:
    """Run every golden case through ``runner`` and compare its alpha with PyTorch's (``atol``: see
    :mod:`edgematte.verification.tolerance`); for a max-unpooling network, ``ties`` names the runner's
    winner-mask outputs (:mod:`edgematte.verification.near_ties`)."""
    results = []
    for case in SINGLE_CASES:
        want = golden.expected(spec, case)
        outputs = runner.infer(golden.feed(spec, case), ties) if spec.network.unpooling else \
            runner.infer(golden.feed(spec, case))
        got = outputs[spec.alpha_output]
        if got.shape != want.shape:
            results.append(CheckResult(case, runner.name, float("inf"), float("inf"), atol,
                                       error=f"alpha shape {got.shape}, expected {want.shape}"))
            continue
        diff = np.abs(got.astype(np.float64) - want)
        beyond = float(np.mean(~(diff <= atol)))  # NaN counts as beyond
        fields = {}
        if spec.network.unpooling:
            try:
                fields = _tie_check(outputs, ties, golden, spec, case, diff[0, 0], atol)
            except ValueError as e:
                results.append(CheckResult(case, runner.name, float("inf"), float("inf"), atol, error=str(e)))
                continue
        results.append(CheckResult(case, runner.name, *_errors(got, want), atol, beyond=beyond, **fields))
    if not has_rollout(spec):
        return results
    feed = golden.feed(spec, "rollout")
    want = golden.expected(spec, "rollout")
    got = rollout(runner, spec, feed[spec.image_input], feed[spec.alpha_input])
    if got.shape != want.shape:
        results.append(CheckResult("rollout", runner.name, float("inf"), float("inf"), atol,
                                   error=f"alpha shape {got.shape[1:]}, expected {want.shape[1:]}"))
    else:
        frames = [dict(zip(("max_abs", "mean_abs"), _errors(g, w))) for g, w in zip(got, want)]
        results.append(CheckResult("rollout", runner.name, max(f["max_abs"] for f in frames),
                                   float(np.mean([f["mean_abs"] for f in frames])), atol, frames))
    return results
