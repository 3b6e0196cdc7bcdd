"""How far an exported artifact may be from PyTorch: the network's own FP32 noise, measured, not a constant.

Two correct FP32 implementations of one network (PyTorch and onnxruntime, or our Caffe executors) sum in
different orders, so each lands at some distance from the exact result. We measure that distance for
PyTorch itself: the same weights run in float64 on the golden single-frame inputs, against the FP32
golden outputs.
An artifact may differ from PyTorch by both implementations' noise plus a margin::

    atol = clip(NOISE_FACTOR * noise, FLOOR, CEILING)

Measured on random-weight official-architecture checkpoints at 512x288 (2026-12-02): onnxruntime against
PyTorch FP32 was 1.0–2.3x PyTorch FP32 against float64 on the same inputs (with BatchNorm variances scaled
down 10–100x: onnxruntime 1.3e-4 from PyTorch, noise 5.7e-5, the case the old fixed 1e-4 refused).
FLOOR is the old fixed tolerance: below it any FP32 path agrees. CEILING is half an 8-bit alpha level:
an error above it can change what the user sees, whatever the noise. A network whose FP32 result is
itself that far from float64 is numerically unstable (e.g. a BatchNorm with a near-zero variance feeding a
saturated sigmoid) and is refused, with the noise in the message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from edgematte.errors import SpecError
from edgematte.spec import PipelineSpec
from edgematte.verification.golden import SINGLE_CASES, GoldenSet

FLOOR = 1e-4
CEILING = 0.5 / 255
NOISE_FACTOR = 4.0


@dataclass(frozen=True)
class Tolerance:
    atol: float
    noise: float | None  # max |PyTorch FP32 - PyTorch float64| over the golden cases (None: not measured)
    source: str          # "measured" (from the noise) or "--atol" (the user's)

    @classmethod
    def from_noise(cls, noise: float, atol: float | None = None) -> "Tolerance":
        if atol is not None:
            return cls(check_atol(atol), noise, "--atol")
        return cls(float(min(max(NOISE_FACTOR * noise, FLOOR), CEILING)), noise, "measured")

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.source == "--atol":
            return f"--atol {self.atol:.1e}"
        return f"{NOISE_FACTOR:g} x PyTorch's own FP32 noise {self.noise:.1e}, within [{FLOOR:.0e}, {CEILING:.1e}]"


def check_atol(atol: float) -> float:
    if not 0 < atol <= CEILING:
        raise SpecError(f"--atol {atol:g} is outside (0, {CEILING:.2e}]: above half an 8-bit alpha level an error "
                        f"can change what the user sees; leave --atol out to use the measured FP32 noise")
    return float(atol)


def fp32_noise(model, spec: PipelineSpec, golden: GoldenSet) -> float:
    """Max abs difference between the golden (PyTorch FP32) alphas and the same weights run in float64 on
    the same inputs, over the single-frame cases (random and portrait). The rollout's frames are left out:
    float64 on the CPU costs about as much as the rest of an export, and the two cases already span random
    and real input (the 4x margin covers the rollout's feedback, whose readers' errors are of the same size).
    M-Net's golden alphas are PyTorch's float64 ones (verification/golden.py says why): its noise is the FP32
    run's distance from them outside the reach of the FP32 run's own near-tie flips (verification/near_ties.py)."""
    import copy

    import torch

    network = spec.network
    other = model.eval() if network.float64_reference else copy.deepcopy(model).eval().double()
    worst = 0.0
    for case in SINGLE_CASES:
        feed = golden.feed(spec, case)
        with torch.no_grad():
            inputs = [torch.from_numpy(feed[name]) for name in spec.input_names]
            alpha = other(*(x.to(next(other.parameters()).dtype) for x in inputs)).float().numpy()
        diff = np.abs(alpha - golden.expected(spec, case))[0, 0]
        if network.unpooling:  # a near-tie flip is a jump, not noise
            from edgematte.verification.near_ties import fp32_reach

            diff = np.where(fp32_reach(model, golden, spec, case), 0.0, diff)
        worst = max(worst, float(diff.max()))
    return worst
