"""Compare a runner with the golden PyTorch outputs: max and mean abs error per check and per frame.

M-Net is held to the same tolerance on all but :data:`~edgematte.networks.FLIP_BUDGET` of its
pixels. Its max-unpooling puts each
value where its pooling window's maximum was; where two values of a window are within rounding of each other,
which one wins depends on how an implementation rounds, and the value lands one pixel over: a jump in the
alpha, not a small error, and no tolerance from FP32 noise covers it. Measured on random weights at 320x320
(docs/mnet.md): PyTorch's FP32 run picked the other winner than float64 at one near-tie (108 pixels, 0.1 %,
moved by up to 0.018), and OpenCV's FP32 convolutions did at full width. A wrong export (weights, the tie
rule, the trimap's one-hot) moves far more of the picture; the share and size of what moved are reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from edgematte.spec import PipelineSpec
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
    allowed: float = 0.0    # how large that fraction may be (the network's flip_budget)

    @property
    def passed(self) -> bool:
        """Within atol everywhere, or (a network with a flip budget) on all but that share of the pixels; a
        non-finite output never passes."""
        finite = math.isfinite(self.max_abs) and math.isfinite(self.mean_abs)
        return self.error is None and finite and (self.max_abs <= self.atol
                                                  or 0 < self.allowed and self.beyond <= self.allowed)

    def line(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        if self.error:
            return f"{status} | {self.reader:<12} | {self.check:<13} | {self.error}"
        frames = f" over {len(self.frames)} frames" if self.frames else ""
        if self.beyond:
            frames += (f", {100 * self.beyond:.2f} % of pixels beyond atol (max-unpooling near-tie flips may move "
                       f"up to {100 * self.allowed:g} %)")
        return (f"{status} | {self.reader:<12} | {self.check:<13} | alpha max abs {self.max_abs:.2e}, "
                f"mean abs {self.mean_abs:.2e}{frames} (atol {self.atol:.1e})")

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _errors(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return float(d.max()), float(d.mean())


def compare_runner(runner, golden: GoldenSet, spec: PipelineSpec, atol: float) -> list[CheckResult]:
    """Run every golden case through ``runner`` and compare its alpha with PyTorch's (``atol``: see
    :mod:`edgematte.verification.tolerance`)."""
    results = []
    for case in SINGLE_CASES:
        want = golden.expected(spec, case)
        got = runner.infer(golden.feed(spec, case))[spec.alpha_output]
        if got.shape != want.shape:
            results.append(CheckResult(case, runner.name, float("inf"), float("inf"), atol,
                                       error=f"alpha shape {got.shape}, expected {want.shape}"))
            continue
        beyond = float(np.mean(~(np.abs(got.astype(np.float64) - want) <= atol)))  # NaN counts as beyond
        results.append(CheckResult(case, runner.name, *_errors(got, want), atol, beyond=beyond,
                                   allowed=spec.network.flip_budget))
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
