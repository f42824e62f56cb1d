"""``PredictResult``: what a WARS prediction returns (curve, headline numbers, latency percentiles).

Owns: the result dataclass, its curve frame, ``p_consistent(t)``, the flat ``summary()`` row and
the JSON form. Must not touch: sampling or aggregation (it only reads a finished tally).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...stats import wilson
from .stats import CI_METHOD
from .tallies import _Tally

if TYPE_CHECKING:
    import pandas as pd


@dataclass(eq=False)  # holds arrays; compare results through to_dict()
class PredictResult:
    """A WARS prediction: the t-visibility curve, its headline numbers and latency percentiles.

    ``k_staleness`` is ``1 - (1 - p0)^k`` with ``p0 = P(consistent at t = 0)``: the probability that
    a read returns one of the last k committed versions *assuming* each of those writes was
    (in)consistently visible independently of the others (PBS paper §4: a pessimistic bound, since
    older writes have had longer to propagate).
    """

    n: int
    r: int
    w: int
    profile: str
    trials: int
    seed: int | None
    fanout: str
    target: float
    k: int
    t_visibility_ms: float
    t_visibility_ci_ms: tuple[float, float]
    p_consistent_at_t0: float
    k_staleness: float
    read_latency_ms: dict[str, float]
    write_latency_ms: dict[str, float]
    t_ms: np.ndarray = field(repr=False)
    consistent: np.ndarray = field(repr=False)  # count of trials with tau <= t_ms[i]
    requested_t_ms: tuple[float, ...] = ()
    mode: str = "exact"
    seed_spawn_key: tuple[int, ...] = ()
    _tally: _Tally | None = field(default=None, repr=False, compare=False)
    _curve: Any = field(default=None, repr=False, compare=False)

    @property
    def curve(self) -> pd.DataFrame:
        """Columns ``t_ms, p_consistent, ci_low, ci_high`` (95 % Wilson) on ~160 points plus t = 0,
        every requested t and the t-visibility."""
        if self._curve is None:
            import pandas as pd

            self._curve = pd.DataFrame(self.curve_columns())
        return self._curve  # type: ignore[no-any-return]

    def curve_columns(self) -> dict[str, np.ndarray]:
        low, high = wilson(self.consistent, self.trials)
        return {
            "t_ms": self.t_ms,
            "p_consistent": self.consistent / self.trials,
            "ci_low": low,
            "ci_high": high,
        }

    def consistent_count(self, t: np.ndarray) -> np.ndarray:
        """Number of trials consistent at each t (see ``p_consistent``)."""
        if self._tally is None:
            raise ValueError("this result carries no threshold tally")
        return np.asarray(self._tally.count_le(np.atleast_1d(np.asarray(t, dtype=float))), dtype=np.int64)

    def p_consistent(self, t: float | np.ndarray) -> float | np.ndarray:
        """P(consistent at t) for any t >= 0. Exact for the sample at every point of the curve
        (requested t and the t-visibility included). Between them: exact when the run kept every
        threshold (exact mode with at most 2e6 positive thresholds), otherwise the value at the
        histogram edge just below t (edges are 0.115 % apart)."""
        if self._tally is None:
            raise ValueError("this result carries no threshold tally")
        arr = np.asarray(t, dtype=float)
        vals = self._tally.count_le(np.atleast_1d(arr)) / self.trials
        return float(vals[0]) if arr.ndim == 0 else vals

    def summary(self) -> dict[str, Any]:
        """One flat row of scalars (sweeps)."""
        lo, hi = self.t_visibility_ci_ms
        return {
            "n": self.n, "r": self.r, "w": self.w, "profile": self.profile, "fanout": self.fanout,
            "trials": self.trials, "target": self.target,
            "t_visibility_ms": self.t_visibility_ms,
            "t_visibility_ci_low_ms": lo, "t_visibility_ci_high_ms": hi,
            "p_consistent_at_t0": self.p_consistent_at_t0,
            "read_latency_p50_ms": self.read_latency_ms["p50"],
            "read_latency_p99_ms": self.read_latency_ms["p99"],
            "read_latency_p999_ms": self.read_latency_ms["p99.9"],
            "write_latency_p50_ms": self.write_latency_ms["p50"],
            "write_latency_p99_ms": self.write_latency_ms["p99"],
            "write_latency_p999_ms": self.write_latency_ms["p99.9"],
            "k": self.k, "p_k_staleness": self.k_staleness,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (infinite values become ``None``)."""
        cols = self.curve_columns()
        curve = [
            {key: _finite(float(cols[key][i])) for key in ("t_ms", "p_consistent", "ci_low", "ci_high")}
            for i in range(len(self.t_ms))
        ]
        return {
            "n": self.n, "r": self.r, "w": self.w, "profile": self.profile, "fanout": self.fanout,
            "trials": self.trials, "seed": self.seed,
            **({"seed_spawn_key": list(self.seed_spawn_key)} if self.seed_spawn_key else {}),
            "target": self.target,
            "t_visibility_ms": _finite(self.t_visibility_ms),
            "t_visibility_ci_ms": [_finite(x) for x in self.t_visibility_ci_ms],
            "p_consistent_at_t0": self.p_consistent_at_t0,
            "k": self.k, "p_k_staleness": self.k_staleness,
            "read_latency_ms": {k: _finite(v) for k, v in self.read_latency_ms.items()},
            "write_latency_ms": {k: _finite(v) for k, v in self.write_latency_ms.items()},
            "ci_method": CI_METHOD, "mode": self.mode,
            "curve": curve,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
