"""Compare a runner with the golden PyTorch outputs: max and mean abs error per check and per frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from edgematte.spec import PipelineSpec
from edgematte.verification.golden import GoldenSet, has_rollout, rollout, single_cases


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

    @property
    def passed(self) -> bool:
        return self.error is None and self.max_abs <= self.atol

    def line(self) -> str:
        status = "PASSED" if self.passed else "FAILED"
        if self.error:
            return f"{status} | {self.reader:<12} | {self.check:<8} | {self.error}"
        frames = f" over {len(self.frames)} frames" if self.frames else ""
        return (f"{status} | {self.reader:<12} | {self.check:<8} | alpha max abs {self.max_abs:.2e}, "
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
    for case in single_cases(spec):
        want = golden.expected(spec, case)
        got = runner.infer(golden.feed(spec, case))[spec.alpha_output]
        if got.shape != want.shape:
            results.append(CheckResult(case, runner.name, float("inf"), float("inf"), atol,
                                       error=f"alpha shape {got.shape}, expected {want.shape}"))
            continue
        results.append(CheckResult(case, runner.name, *_errors(got, want), atol))
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
