"""Aggregation of many WARS trials into what the result needs: exact and streaming tallies.

Owns: the exact tally (every positive threshold and latency kept) and the fixed log-grid histogram
of the streaming mode, with their counts of ``tau <= t`` and order statistics. Must not touch:
sampling, the kernel, confidence intervals, the result's presentation.


Aggregation. Trials are sampled and reduced in chunks (default about 2^20 delay values per delay
array), so memory does not grow with the number of trials beyond what the chosen mode keeps:

* exact mode (``trials <= exact_max_trials``, default 10^7): the positive thresholds (float64) and
  the read/write latencies (float64; float32 above 2e6 trials) are kept; every number is exact
  for the sample.
* streaming mode (more trials): fixed-size histograms on a log grid from 1e-6 ms to 1e9 ms with
  2000 bins per decade (bin width 0.115 % of its value), plus exact counts of ``tau <= t`` at t = 0
  and every requested ``t_ms``. The curve's grid points are snapped to bin edges, where counts are
  exact; quantiles (t-visibility, its CI, latency percentiles) are reported as the upper edge of
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

# Streaming histogram: edges e_k = 10**(LOG_LO + k / PER_DECADE), k = 0..M; bin 0 holds (0, e_0],
# bin k holds (e_{k-1}, e_k], bin M + 1 everything above e_M.
LOG_LO, LOG_HI, PER_DECADE = -6.0, 9.0, 2000
HIST_M = int(round((LOG_HI - LOG_LO) * PER_DECADE))
HIST_RESOLUTION = 10 ** (1 / PER_DECADE) - 1  # relative bin width, 0.115 %


def _log_bin(x: np.ndarray) -> np.ndarray:
    """Histogram bin of positive values (see LOG_LO); values <= e_0 go to bin 0."""
    with np.errstate(divide="ignore"):
        k = np.ceil((np.log10(x) - LOG_LO) * PER_DECADE)
    np.clip(k, 0, HIST_M + 1, out=k)
    return k.astype(np.int64)


def _edge(k: np.ndarray | int) -> np.ndarray:
    kk = np.asarray(k, dtype=float)
    return np.where(kk > HIST_M, np.inf, 10.0 ** (LOG_LO + kk / PER_DECADE))


def _snap_to_edge(t: np.ndarray) -> np.ndarray:
    """Nearest histogram edge to each positive t (0 stays 0)."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    pos = t > 0
    with np.errstate(divide="ignore"):
        k = np.clip(np.round((np.log10(t[pos]) - LOG_LO) * PER_DECADE), 0, HIST_M)
    out[pos] = _edge(k)
    return out


class _Tally:
    """What the aggregation leaves behind: counts of ``tau <= t`` and order statistics."""

    trials: int
    zeros: int

    def count_le(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def tau_order_stat(self, k: int) -> float:
        raise NotImplementedError

    def latency_order_stats(self, which: str, ks: Sequence[int]) -> list[float]:
        raise NotImplementedError


class _ExactTally(_Tally):
    exact = True

    def __init__(self, trials: int) -> None:
        self.trials = trials
        self.zeros = 0
        self._pos = np.empty(trials, dtype=np.float64)
        self._npos = 0
        # float64 up to 2e6 trials (32 MB); above, float32 (relative error 6e-8) halves the memory
        lat_dtype = np.float64 if trials <= 2_000_000 else np.float32
        self._lat = {"read": np.empty(trials, dtype=lat_dtype), "write": np.empty(trials, dtype=lat_dtype)}
        self._filled = 0

    def add(self, tau: np.ndarray, read: np.ndarray, write: np.ndarray) -> None:
        m = len(tau)
        pos = tau[tau > 0]
        self._pos[self._npos:self._npos + len(pos)] = pos
        self._npos += len(pos)
        self.zeros += m - len(pos)
        self._lat["read"][self._filled:self._filled + m] = read
        self._lat["write"][self._filled:self._filled + m] = write
        self._filled += m

    def finish(self) -> _ExactTally:
        self._pos = np.sort(self._pos[:self._npos])
        return self

    def count_le(self, t: np.ndarray) -> np.ndarray:
        return self.zeros + np.searchsorted(self._pos, np.asarray(t, dtype=float), side="right")

    def tau_order_stat(self, k: int) -> float:
        if k <= self.zeros:
            return 0.0
        if k > self.trials:
            return math.inf
        return float(self._pos[k - self.zeros - 1])

    def latency_order_stats(self, which: str, ks: Sequence[int]) -> list[float]:
        arr = self._lat[which]
        idx = sorted({min(max(k, 1), self.trials) - 1 for k in ks})
        part = np.partition(arr, idx)
        return [float(part[min(max(k, 1), self.trials) - 1]) for k in ks]

    def compact(self, requested: Sequence[float] = (), max_values: int = 2_000_000) -> _Tally:
        """Drop the latencies; keep exact thresholds only if few enough (else a histogram that is
        still exact at the requested t and at bin edges)."""
        self._lat = {}
        if self._npos <= max_values:
            return self
        hist = _HistTally(self.trials, ())
        hist.add(self._pos, None, None)
        hist.zeros = self.zeros
        hist._req = {float(t): int(self.count_le(np.asarray([t]))[0]) for t in requested if t > 0}
        return hist.finish().compact()


class _HistTally(_Tally):
    exact = False

    def __init__(self, trials: int, requested: Iterable[float]) -> None:
        self.trials = trials
        self.zeros = 0
        self._req = {float(t): 0 for t in requested if t > 0}
        self._hist = {k: np.zeros(HIST_M + 2, dtype=np.int64) for k in ("tau", "read", "write")}
        self._cum: dict[str, np.ndarray] = {}

    def add(self, tau: np.ndarray, read: np.ndarray | None, write: np.ndarray | None) -> None:
        pos = tau[tau > 0]
        self.zeros += len(tau) - len(pos)
        for t in self._req:
            self._req[t] += int(np.count_nonzero(tau <= t))
        self._hist["tau"] += np.bincount(_log_bin(pos), minlength=HIST_M + 2)
        for key, x in (("read", read), ("write", write)):
            if x is not None:
                self._hist[key] += np.bincount(_log_bin(np.maximum(x, 0.0)), minlength=HIST_M + 2)

    def finish(self) -> _HistTally:
        self._cum = {k: np.cumsum(h) for k, h in self._hist.items()}
        return self

    def count_le(self, t: np.ndarray) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.empty(t.shape, dtype=np.int64)
        cum = self._cum["tau"]
        for i, ti in enumerate(t):
            if ti in self._req:
                out[i] = self._req[ti]
            elif ti <= 0:
                out[i] = self.zeros
            else:
                # the largest edge <= t (a lower bound on the count between edges; exact on edges)
                k = math.floor((math.log10(ti) - LOG_LO) * PER_DECADE + 1e-9)
                out[i] = self.zeros + (int(cum[min(k, HIST_M + 1)]) if k >= 0 else 0)
        return out

    def _order_stat(self, key: str, k: int, zeros: int) -> float:
        if k <= zeros:
            return 0.0
        if k > self.trials:
            return math.inf
        j = int(np.searchsorted(self._cum[key], k - zeros, side="left"))
        return float(_edge(j))

    def tau_order_stat(self, k: int) -> float:
        return self._order_stat("tau", k, self.zeros)

    def latency_order_stats(self, which: str, ks: Sequence[int]) -> list[float]:
        return [self._order_stat(which, k, 0) for k in ks]

    def compact(self, requested: Sequence[float] = ()) -> _HistTally:
        self._hist = {"tau": self._hist["tau"]}
        self._cum = {"tau": self._cum["tau"]}
        return self
