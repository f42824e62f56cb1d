"""The WARS Monte Carlo predictor of t-visibility (REFERENCE.md §2; Bailis et al., PVLDB 2012, §4-5).

Owns: per-trial consistency thresholds from W/A/R/S delays (``wars_thresholds``), the chunked,
bounded-memory aggregation of many trials into the whole t-visibility curve, latency percentiles
and confidence intervals (``predict``, ``predict_scenario``, ``predict_from_samples``) and the
``PredictResult`` they return. Must not touch: SimPy, metrics, the CLI, global random state (all
randomness comes from ``pbs_sim.rng.Streams(seed).get("wars")``).

Model. Per trial, N replicas draw i.i.d. delays W_i (write to replica), A_i (its ack), R_i (read
request) and S_i (response); the WAN profile adds its local-replica structure (``profiles.py``).
The write commits at ``w_t`` = the W-th smallest ``W_i + A_i``. A read starting ``t`` after commit
is answered by the first R responders (by ``R_i + S_i``) among the replicas it asks and is
consistent iff one of them already holds the write, ``w_t + t + R_i >= W_i``. So each trial has a
threshold ``tau = max(0, min over the first R responders of (W_i - w_t - R_i))`` and
``P(consistent at t) = P(tau <= t)``: one pass over the trials gives the whole curve.

Read fan-out: ``"all"`` (the paper: reads go to all N, the first R answers count) or ``"quorum"``
(Cassandra 1.2's ``nodetool predictconsistency``: the read asks R replicas chosen uniformly at
random, so all R answers count). The R-subset is drawn explicitly per trial: with the WAN profile
the asked replicas may or may not include the read's local one. Writes always go to all N.

Aggregation. Trials are sampled and reduced in chunks (default about 2^20 delay values per delay
array), so memory does not grow with the number of trials beyond what the chosen mode keeps:

* exact mode (``trials <= exact_max_trials``, default 10^7): the positive thresholds (float64) and
  the read/write latencies (float64; float32 above 2e6 trials) are kept; every number is exact
  for the sample.
* streaming mode (more trials): fixed-size histograms on a log grid from 1e-6 ms to 1e9 ms with
  2000 bins per decade (bin width 0.115 % of its value), plus exact counts of ``tau <= t`` at t = 0
  and every requested ``t_ms``. The curve's grid points are snapped to bin edges, where counts are
  exact; quantiles (t-visibility, its CI, latency percentiles) are reported as the upper edge of
  the bin holding the order statistic, i.e. at most 0.115 % above the exact sample value.

Statistics. ``ci_low``/``ci_high`` on the curve are 95 % Wilson score intervals for a binomial
proportion. The t-visibility at ``target`` q is the order statistic ``X_(ceil(q n))`` of the n
thresholds (the smallest t whose empirical P(consistent) reaches q); its 95 % CI is the
distribution-free order-statistic interval ``[X_(l), X_(u)]`` with l, u from Binomial(n, q)
(upper end ``inf`` when n is too small to bound it). Latency percentiles use the same
order-statistic ("inverted CDF") definition. The sequence of random numbers depends on the seed,
N and the chunk size, so a seed reproduces a result only with the same ``chunk``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..profiles import Profile, get_profile
from ..rng import Streams

if TYPE_CHECKING:
    import pandas as pd

    from ..config import Scenario

Seed = int | np.random.SeedSequence | None
Arrays4 = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Sampler = Callable[[np.random.Generator, int, int], Arrays4]

FANOUTS = ("all", "quorum")
CHUNK_VALUES = 1 << 20  # delay values per delay array per chunk (trials per chunk = this // N)
EXACT_MAX_TRIALS = 10_000_000
CI_Z = 1.959963984540054  # two-sided 95 %
CI_METHOD = "wilson"
LATENCY_QUANTILES = (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))

# Streaming histogram: edges e_k = 10**(LOG_LO + k / PER_DECADE), k = 0..M; bin 0 holds (0, e_0],
# bin k holds (e_{k-1}, e_k], bin M + 1 everything above e_M.
LOG_LO, LOG_HI, PER_DECADE = -6.0, 9.0, 2000
HIST_M = int(round((LOG_HI - LOG_LO) * PER_DECADE))
HIST_RESOLUTION = 10 ** (1 / PER_DECADE) - 1  # relative bin width, 0.115 %


# ---------------------------------------------------------------------------------------------
# The per-trial threshold


def wars_thresholds(
    w: np.ndarray,
    a: np.ndarray,
    r: np.ndarray,
    s: np.ndarray,
    n_r: int,
    n_w: int,
    fanout: str = "all",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-trial ``(tau, read_latency, write_latency)`` from delay arrays of shape ``(trials, n)``.

    ``tau`` is the smallest t >= 0 after commit at which a read is consistent; ``read_latency`` the
    R-th fastest ``R_i + S_i`` among the replicas asked; ``write_latency`` the W-th smallest
    ``W_i + A_i`` (the commit instant). ``fanout="quorum"`` needs ``rng`` to pick the R replicas asked.
    """
    trials, n = w.shape
    if not (1 <= n_r <= n and 1 <= n_w <= n):
        raise ValueError(f"need 1 <= R, W <= N = {n}, got R = {n_r}, W = {n_w}")
    wa = w + a
    if n_w == 1:
        w_t = wa.min(axis=1)
    elif n_w == n:
        w_t = wa.max(axis=1)
    else:
        w_t = np.partition(wa, n_w - 1, axis=1)[:, n_w - 1]
    del wa
    gap = w - r  # replica i holds the write for a read started t after commit iff t >= gap_i - w_t
    rs = r + s
    if fanout == "quorum" and n_r < n:
        if rng is None:
            raise ValueError("fanout='quorum' needs rng to choose the replicas a read asks")
        if n_r == 1:
            asked = rng.integers(0, n, size=(trials, 1))
        else:
            asked = np.argpartition(rng.random((trials, n)), n_r - 1, axis=1)[:, :n_r]
        read_latency = np.take_along_axis(rs, asked, axis=1).max(axis=1)
        tau = np.take_along_axis(gap, asked, axis=1).min(axis=1)
    elif fanout not in FANOUTS:
        raise ValueError(f"fanout must be one of {FANOUTS}, got {fanout!r}")
    elif n_r == n:
        read_latency = rs.max(axis=1)
        tau = gap.min(axis=1)
    elif n_r == 1:
        first = rs.argmin(axis=1)[:, None]
        read_latency = np.take_along_axis(rs, first, axis=1)[:, 0]
        tau = np.take_along_axis(gap, first, axis=1)[:, 0]
    else:
        first = np.argpartition(rs, n_r - 1, axis=1)[:, :n_r]
        read_latency = np.take_along_axis(rs, first, axis=1).max(axis=1)
        tau = np.take_along_axis(gap, first, axis=1).min(axis=1)
    tau = tau - w_t
    np.maximum(tau, 0.0, out=tau)
    return tau, read_latency, w_t


# ---------------------------------------------------------------------------------------------
# Aggregation: exact and streaming


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


# ---------------------------------------------------------------------------------------------
# Statistics


def wilson(x: np.ndarray, n: int, z: float = CI_Z) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval for ``x`` successes out of ``n``."""
    p = np.asarray(x, dtype=float) / n
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
    xs = np.asarray(x)
    # at x = 0 (x = n) the bound is exactly 0 (1); the formula only reaches it up to rounding
    low = np.where(xs <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(xs >= n, 1.0, np.clip(center + half, 0.0, 1.0))
    return low, high


def _binom_cdf_window(n: int, p: float) -> tuple[int, np.ndarray]:
    """(lo, cdf) with cdf[j - lo] = P(Binomial(n, p) <= j) over a window holding all but ~1e-30."""
    mode = min(n, int(math.floor((n + 1) * p)))
    sd = math.sqrt(n * p * (1 - p))
    lo = max(0, mode - int(15 * sd) - 30)
    hi = min(n, mode + int(15 * sd) + 30)
    logp = (
        math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
        + mode * math.log(p) + (n - mode) * math.log1p(-p)
    )
    odds = math.log(p) - math.log1p(-p)
    up = np.arange(mode + 1, hi + 1, dtype=float)
    down = np.arange(mode, lo, -1, dtype=float)  # j = mode .. lo+1: log pmf(j-1) - log pmf(j)
    log_up = logp + np.cumsum(np.log((n - up + 1) / up) + odds)
    log_down = logp + np.cumsum(np.log(down / (n - down + 1)) - odds)
    logpmf = np.concatenate([log_down[::-1], [logp], log_up])
    return lo, np.cumsum(np.exp(logpmf))


def quantile_ci_ranks(n: int, q: float, level: float = 0.95) -> tuple[int, int]:
    """1-based ranks (l, u) with P(X_(l) <= xi_q <= X_(u)) >= level, distribution-free.

    ``l = 0`` means no lower bound (use 0 for a non-negative variable), ``u = n + 1`` no upper bound.
    """
    alpha = (1 - level) / 2
    if q >= 1.0:
        return n, n + 1
    if q <= 0.0:
        return 0, 1
    lo, cdf = _binom_cdf_window(n, q)
    # l - 1 = the largest j with P(B <= j) <= alpha; u - 1 = the smallest j with P(B <= j) >= 1 - alpha
    below = np.nonzero(cdf <= alpha)[0]
    lower = (lo + int(below[-1]) + 1) if len(below) else lo
    if lo > 0 and not len(below):
        lower = lo  # window starts far in the tail: P(B <= lo - 1) is negligible
    above = np.nonzero(cdf >= 1 - alpha)[0]
    upper = (lo + int(above[0]) + 1) if len(above) else n + 1
    return lower, min(upper, n + 1)


def _rank(q: float, n: int) -> int:
    """The 1-based rank of the order statistic that is the empirical q-quantile (inverted CDF)."""
    return max(1, min(n, math.ceil(q * n - 1e-9 * max(1.0, q * n))))


# ---------------------------------------------------------------------------------------------
# The result


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


# ---------------------------------------------------------------------------------------------
# Driving the Monte Carlo


def _int_arg(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(None, key, f"must be an integer, got {value!r}")
    if value < low:
        raise ConfigError(None, key, f"must be >= {low}, got {value}")
    return int(value)


def _validate(
    n: int, r: int, w: int, trials: int, target: float, t_ms: Iterable[float], fanout: str, k: int,
    chunk: int | None,
) -> tuple[int, int, int, int, float, tuple[float, ...], int, int]:
    n = _int_arg("n", n, 1)
    r = _int_arg("r", r, 1)
    w = _int_arg("w", w, 1)
    if r > n:
        raise ConfigError(None, "r", f"R = {r} exceeds N = {n}")
    if w > n:
        raise ConfigError(None, "w", f"W = {w} exceeds N = {n}")
    trials = _int_arg("trials", trials, 1)
    k = _int_arg("k", k, 1)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise ConfigError(None, "target", f"must be a probability in (0, 1], got {target!r}")
    ts: list[float] = []
    for i, t in enumerate(t_ms):
        if isinstance(t, bool) or not isinstance(t, int | float | np.floating | np.integer):
            raise ConfigError(None, f"t_ms[{i}]", f"must be a number, got {t!r}")
        if not (math.isfinite(t) and t >= 0):
            raise ConfigError(None, f"t_ms[{i}]", f"must be finite and >= 0, got {t!r}")
        ts.append(float(t))
    if fanout not in FANOUTS:
        raise ConfigError(None, "fanout", f"{fanout!r} is not one of {', '.join(FANOUTS)}")
    chunk_trials = max(1, CHUNK_VALUES // n) if chunk is None else _int_arg("chunk", chunk, 1)
    return n, r, w, trials, float(target), tuple(ts), k, chunk_trials


def _run(
    sampler: Sampler,
    profile_name: str,
    n: int,
    r: int,
    w: int,
    *,
    trials: int,
    seed: Seed,
    target: float,
    t_ms: Iterable[float],
    fanout: str,
    k: int,
    chunk: int | None,
    exact_max_trials: int,
    curve_points: int,
    progress: Callable[[int], object] | None = None,
) -> PredictResult:
    n, r, w, trials, target, ts, k, chunk_trials = _validate(n, r, w, trials, target, t_ms, fanout, k, chunk)
    streams = Streams(seed)
    rng = streams.get("wars")
    exact = trials <= exact_max_trials
    tally: _ExactTally | _HistTally = _ExactTally(trials) if exact else _HistTally(trials, ts)
    done = 0
    while done < trials:
        m = min(chunk_trials, trials - done)
        dw, da, dr, ds = sampler(rng, m, n)
        tau, read, write = wars_thresholds(dw, da, dr, ds, r, w, fanout, rng)
        del dw, da, dr, ds
        tally.add(tau, read, write)
        done += m
        if progress is not None:
            progress(m)  # trials just done (the CLI's progress bar and time-left estimate)
    tally.finish()

    t_vis = tally.tau_order_stat(_rank(target, trials))
    l_rank, u_rank = quantile_ci_ranks(trials, target)
    ci = (tally.tau_order_stat(l_rank) if l_rank >= 1 else 0.0, tally.tau_order_stat(u_rank))
    if r + w > n:
        # every read meets a replica that acked the write, so tau = 0 in every trial by construction
        # (not only in the sample): the CI needs no order statistic beyond the sample
        ci = (0.0, 0.0)
    lat = {}
    for which in ("read", "write"):
        ks = [_rank(q, trials) for _, q in LATENCY_QUANTILES]
        vals = tally.latency_order_stats(which, ks)
        lat[which] = {name: v for (name, _), v in zip(LATENCY_QUANTILES, vals, strict=True)}

    grid = _curve_grid(tally, t_vis, ts, curve_points)
    if not exact:
        grid = np.unique(np.concatenate([_snap_to_edge(grid), [0.0], ts, [t_vis] if math.isfinite(t_vis) else []]))
    counts = tally.count_le(grid)
    p0 = float(tally.zeros / trials)
    entropy = streams.entropy
    seed_out = int(entropy) if isinstance(entropy, int) else None
    return PredictResult(
        n=n, r=r, w=w, profile=profile_name, trials=trials, seed=seed_out, fanout=fanout, target=target,
        k=k, t_visibility_ms=t_vis, t_visibility_ci_ms=ci, p_consistent_at_t0=p0,
        k_staleness=p0 if k == 1 else float(1.0 - (1.0 - p0) ** k),
        read_latency_ms=lat["read"], write_latency_ms=lat["write"],
        t_ms=grid, consistent=np.asarray(counts, dtype=np.int64), requested_t_ms=ts,
        mode="exact" if exact else "streaming",
        seed_spawn_key=tuple(int(x) for x in streams.root.spawn_key),
        _tally=tally.compact(tuple(float(t) for t in grid)),  # curve points stay exact
    )


def _curve_grid(tally: _Tally, t_vis: float, ts: Sequence[float], points: int) -> np.ndarray:
    """t = 0, linear and log-spaced points up to twice the t-visibility, requested t, t_vis."""
    if math.isfinite(t_vis) and t_vis > 0:
        t_hi = 2.0 * t_vis
    else:
        # target met at t = 0 (or unbounded): cover the upper tail of the thresholds instead
        t_hi = tally.tau_order_stat(_rank(0.9999, tally.trials))
        if not (math.isfinite(t_hi) and t_hi > 0):
            t_hi = tally.tau_order_stat(tally.trials)
        if not (math.isfinite(t_hi) and t_hi > 0):
            t_hi = 1.0
    half = max(2, points // 2)
    lin = np.linspace(0.0, t_hi, half + 1)
    # Dense near t = 0, where curves rise fastest: six decades below t_hi (never below 1 us), so a
    # curve drawn on a log axis has no long straight chord from t = 0 to its first point.
    log = np.geomspace(max(t_hi * 1e-6, 1e-3), t_hi, half)
    extra = [t_vis] if math.isfinite(t_vis) else []
    return np.unique(np.concatenate([lin, log, np.asarray(ts, dtype=float), extra]))


def predict(
    profile: Profile | str,
    n: int,
    r: int,
    w: int,
    *,
    trials: int = 100_000,
    seed: Seed = None,
    target: float = 0.999,
    t_ms: Iterable[float] = (),
    fanout: str = "all",
    k: int = 1,
    chunk: int | None = None,
    exact_max_trials: int = EXACT_MAX_TRIALS,
    curve_points: int = 160,
    progress: Callable[[int], object] | None = None,
) -> PredictResult:
    """Predict the t-visibility curve of an (N, R, W) Dynamo-style store with WARS delays ``profile``
    (a ``Profile``, a built-in name, ``exponential(...)`` or a TOML path). ``progress(m)`` is called
    after each chunk of ``m`` trials.

    >>> res = predict("lnkd-ssd", 3, 1, 1, trials=20_000, seed=1)
    >>> 0.95 < res.p_consistent_at_t0 < 1.0
    True
    """
    prof = get_profile(profile, key="profile")
    return _run(
        prof.sample_wars, prof.name, n, r, w, trials=trials, seed=seed, target=target, t_ms=t_ms,
        fanout=fanout, k=k, chunk=chunk, exact_max_trials=exact_max_trials, curve_points=curve_points,
        progress=progress,
    )


def predict_scenario(scenario: Scenario, seed: Seed = None) -> PredictResult:
    """``predict`` with the scenario's N, R, W, latency profile (overrides applied) and ``[predict]``
    settings; the read fan-out is ``predict.fanout`` or else ``cluster.read_fanout``, so one scenario
    means the same store on both engines (WARS writes always go to all N: ``cluster.write_fanout =
    "quorum"`` has no analytic counterpart here); ``seed`` None uses ``run.seed``."""
    c, p = scenario.cluster, scenario.predict
    return predict(
        scenario.latency.wars, c.replication, c.read_quorum, c.write_quorum,
        trials=p.trials, seed=scenario.run.seed if seed is None else seed, target=p.target,
        t_ms=p.t_ms, fanout=p.fanout if p.fanout is not None else c.read_fanout, k=p.k,
    )


def _observed(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size == 0:
        raise ConfigError(None, name, "no observed samples")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ConfigError(None, name, "observed delays must be finite and >= 0")
    return arr


def predict_from_samples(
    w: Any,
    a: Any,
    r: Any,
    s: Any,
    n: int,
    r_: int,
    w_: int,
    *,
    trials: int = 100_000,
    seed: Seed = None,
    target: float = 0.999,
    t_ms: Iterable[float] = (),
    fanout: str = "all",
    k: int = 1,
    chunk: int | None = None,
    exact_max_trials: int = EXACT_MAX_TRIALS,
    curve_points: int = 160,
) -> PredictResult:
    """PBS predicted from observed one-dimensional samples of the W, A, R and S delays (ms), as
    Cassandra 1.2's staleness monitoring does: each delay of each replica in each trial is drawn
    independently, with replacement, from its own samples (bootstrap). ``n, r_, w_`` are N, R, W.

    Per-operation structure (e.g. WAN's one local replica) is not kept: the observed samples are
    treated as i.i.d. per replica. The result's ``profile`` is ``"observed"``.
    """
    obs = [_observed(key, x) for key, x in (("w", w), ("a", a), ("r", r), ("s", s))]

    def sampler(rng: np.random.Generator, m: int, nn: int) -> Arrays4:
        ws, as_, rs, ss = (arr[rng.integers(0, len(arr), size=(m, nn))] for arr in obs)
        return ws, as_, rs, ss

    return _run(
        sampler, "observed", n, r_, w_, trials=trials, seed=seed, target=target, t_ms=t_ms,
        fanout=fanout, k=k, chunk=chunk, exact_max_trials=exact_max_trials, curve_points=curve_points,
    )


__all__ = [
    "CI_METHOD", "HIST_RESOLUTION", "PredictResult", "predict", "predict_from_samples",
    "predict_scenario", "quantile_ci_ranks", "wars_thresholds", "wilson",
]
