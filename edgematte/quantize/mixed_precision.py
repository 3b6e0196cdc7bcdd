"""INT8 with an accuracy budget: keep the convolutions the alpha is most sensitive to in FP32.

0. The fully quantized model is measured; if it meets ``max_error``, that is the plan.
1. Sensitivity: each :class:`~edgematte.quantize.quantizer.QuantUnit` is quantized alone (the rest of the
   graph FP32) and the alpha error that causes is measured.
2. Plan: units are kept in FP32 from the most sensitive down, and the smallest such prefix whose fully
   quantized rest meets ``max_error`` is found by bisection (error falls, nearly monotonically, as more
   is kept in FP32). If even one unit in INT8 misses the budget, everything stays FP32 and the plan says so.

The error is the larger of the portrait's and the clip rollout's mean abs alpha error against FP32
(:class:`~edgematte.quantize.accuracy.AlphaErrorProbe`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.quantize.accuracy import AlphaErrorProbe
from edgematte.quantize.quantizer import QuantUnit, Int8Quantizer


def budget_error(measured: dict) -> float:
    """The number the budget is checked against: the worse of portrait and clip mean abs error."""
    return max(measured["portrait"]["mean_abs"], measured["clip"]["mean_abs"])


@dataclass
class MixedPrecisionPlan:
    max_error: float
    error: float                      # budget_error of the planned model
    keep_fp32: list[QuantUnit]
    units: list[QuantUnit]
    sensitivity: dict[str, float]     # unit node -> budget_error with only that unit in INT8
    met: bool
    error_all_int8: float             # budget_error with every unit in INT8

    @property
    def int8_mac_fraction(self) -> float:
        kept = {u.node for u in self.keep_fp32}
        return sum(u.macs for u in self.units if u.node not in kept) / sum(u.macs for u in self.units)

    def to_dict(self) -> dict:
        ranked = sorted(self.sensitivity.items(), key=lambda kv: -kv[1])
        return {"max_error": self.max_error, "error": round(self.error, 6), "met": self.met,
                "error_all_int8": round(self.error_all_int8, 6),
                "units": len(self.units), "nodes_fp32": [u.node for u in self.keep_fp32],
                "int8_mac_fraction": round(self.int8_mac_fraction, 4),
                "most_sensitive": [{"node": name, "error_alone": round(e, 6)} for name, e in ranked[:10]]}


def plan_mixed_precision(quantizer: Int8Quantizer, probe: AlphaErrorProbe, max_error: float,
                         runner_for: Callable[[Path], object], progress: Callable[[], None] = lambda: None,
                         ) -> MixedPrecisionPlan:
    """Find the plan (see the module doc). ``runner_for(path)`` opens an ONNX for inference; ``progress``
    is called once per quantized model tried: 1 if everything in INT8 meets the budget, otherwise
    ``len(units)`` more and at most ``log2(len(units)) + 1`` for the bisection."""
    units = quantizer.units
    with tempfile.TemporaryDirectory(prefix="edgematte-mixed-") as tmp:
        candidate = Path(tmp) / "candidate.onnx"

        def error_of(**kw) -> float:
            measured = probe.measure(runner_for(quantizer.quantize(candidate, **kw)))
            progress()
            return budget_error(measured)

        errors: dict[int, float] = {0: error_of(keep_fp32=[])}  # k most sensitive kept in FP32 -> error
        if errors[0] <= max_error:
            return MixedPrecisionPlan(max_error, errors[0], [], units, {}, True, errors[0])
        sensitivity = {u.node: error_of(only=[u]) for u in units}
        order = sorted(units, key=lambda u: -sensitivity[u.node])
        lo, hi = 0, len(units) - 1            # errors[lo] misses; is one unit in INT8 enough?
        errors[hi] = error_of(keep_fp32=order[:hi])
        if errors[hi] > max_error:
            return MixedPrecisionPlan(max_error, 0.0, list(units), units, sensitivity, False, errors[0])
        while hi - lo > 1:
            mid = (lo + hi) // 2
            errors[mid] = error_of(keep_fp32=order[:mid])
            lo, hi = (lo, mid) if errors[mid] <= max_error else (mid, hi)
        return MixedPrecisionPlan(max_error, errors[hi], order[:hi], units, sensitivity, True, errors[0])


def plan_summary(plan: dict) -> str:
    """One line on a plan's record (as the manifest and the bench report hold it)."""
    head = (f"INT8 mixed precision: {len(plan['nodes_fp32'])} of {plan['units']} units kept FP32, "
            f"{100 * plan['int8_mac_fraction']:.0f}% of the MACs in INT8; ")
    if plan["met"]:
        return head + (f"alpha error {plan['error']:.4f} <= budget {plan['max_error']:g} "
                       f"(all INT8: {plan['error_all_int8']:.4f})")
    return head + (f"no unit can be INT8 within the budget {plan['max_error']:g}: the model is FP32 "
                   f"(the budget is below what one quantized convolution costs)")


def int8_summary(record: dict) -> list[str]:
    """The lines export prints about its INT8 model: the plan, then its error beside the floor."""
    e, floor = record["alpha_vs_fp32"], record["camera_rounding_floor"]
    lines = [plan_summary(record["mixed_precision"])] if "mixed_precision" in record else []
    return lines + [f"INT8 vs FP32 alpha, mean abs: portrait {e['portrait']['mean_abs']:.4f}, clip "
                    f"{e['clip']['mean_abs']:.4f} (camera rounding of the input alone: "
                    f"{floor['portrait']['mean_abs']:.4f}, {floor['clip']['mean_abs']:.4f})"]
