"""Latency statistics over warmed-up runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    n: int
    p50: float   # milliseconds
    p90: float
    p99: float
    mean: float

    @classmethod
    def of(cls, ms) -> "LatencyStats":
        a = np.asarray(list(ms), np.float64)
        return cls(int(a.size), *(float(np.percentile(a, q)) for q in (50, 90, 99)), float(a.mean()))

    @property
    def fps(self) -> float:
        return 1000.0 / self.p50 if self.p50 > 0 else float("inf")

    def to_dict(self) -> dict:
        return {**{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()},
                "fps": round(self.fps, 2)}
