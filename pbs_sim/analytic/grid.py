"""Every (R, W) of an N from one WARS sample: the grid engine behind the recommender and explorer.

Owns: ``wars_grid_sample`` (one N's common-random-number sample, reduced to what every (R, W)
needs), ``GridSample`` (per-pair thresholds, curves and latency samples from it) and
``predict_grid`` (the tidy frame, one row per (N, R, W)). Must not touch: SimPy, metrics, the CLI,
global random state.

Why one sample serves every pair. In the WARS model (``wars.kernel``) the write's commit is the
W-th smallest ``W_i + A_i`` and a read is answered by its first R responders, the R smallest
``R_i + S_i`` (ties: lower replica index). Sort each trial's replicas once by ``R_i + S_i`` (stably)
and once sort ``W_i + A_i``: then for every R the read's earliest possible consistency is the
running minimum of ``W_i - R_i`` over the sorted order, ``gap_min[R]``, for every W the commit is
the W-th sorted ``W_i + A_i``, and ``tau(R, W) = max(0, gap_min[R] - commit[W])``; read latency is
the R-th sorted ``R_i + S_i``. With read fan-out ``quorum`` the order is instead that of one uniform
key per replica (``wars.kernel.read_replica_keys``): the R asked replicas are the first R of it,
read latency the running maximum. Strict quorums (R + W > N) have ``tau = 0`` in every trial
(the first R responders meet a replica that acked by the commit, whose ``W_j - R_j <= commit``
holds in floating point too), so only R + W <= N pairs need threshold statistics.

The draws are exactly those ``predict`` makes for the same profile, N, seed, trials and chunk
(delays from stream ``"wars"`` chunk by chunk, quorum picks from ``"wars-read-replicas"``), and
every statistic is computed with the same definitions, so each row equals ``predict`` for that pair
number for number (tested). Memory: three ``(N, trials)`` float64 arrays, 24 N bytes per trial
(240 MB at N = 10, 10^6 trials); trials are limited to predict's exact mode (10^7).
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
from ..stats import wilson
from .limits import check_prediction, fresh_seed
from .wars import EXACT_MAX_TRIALS, LATENCY_QUANTILES, Seed
from .wars.kernel import READ_REPLICAS_STREAM, read_replica_keys
from .wars.stats import _rank, quantile_ci_ranks

if TYPE_CHECKING:
    import pandas as pd

LATENCY_COLUMNS = {"p50": "p50", "p99": "p99", "p99.9": "p999"}


@dataclass(eq=False)
class GridSample:
    """One N's sample reduced to per-R and per-W arrays (row i is R = i + 1 or W = i + 1)."""

    profile: str
    n: int
    trials: int
    fanout: str
    seed: int | None
    seed_spawn_key: tuple[int, ...]
    gap_min: np.ndarray = field(repr=False)  # (n, trials): min of W_i - R_i over the first R asked
    read_latency: np.ndarray = field(repr=False)  # (n, trials): read latency with quorum R
    write_latency: np.ndarray = field(repr=False)  # (n, trials): W-th smallest W_i + A_i
    _sorted: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)
    _lat_stats: dict[tuple[str, int], list[float]] = field(default_factory=dict, repr=False)
    _scratch: np.ndarray | None = field(default=None, repr=False)  # one trial-length work array

    def _work(self) -> np.ndarray:
        # rows and percentiles reuse one array: a fresh 8 MB temporary per pair would be
        # allocated and faulted in 385 times for a 10^6-trial grid
        if self._scratch is None:
            self._scratch = np.empty(self.trials)
        return self._scratch

    def _check(self, r: int, w: int) -> None:
        if not (1 <= r <= self.n and 1 <= w <= self.n):
            raise ConfigError(None, "r" if not 1 <= r <= self.n else "w",
                              f"need 1 <= R, W <= N = {self.n}, got R = {r}, W = {w}")

    def tau(self, r: int, w: int) -> np.ndarray:
        """Per-trial thresholds of (R, W): exactly the ``tau`` that ``predict`` computes."""
        self._check(r, w)
        if r + w > self.n:
            return np.zeros(self.trials)
        out = self.gap_min[r - 1] - self.write_latency[w - 1]
        np.maximum(out, 0.0, out=out)
        return out

    def sorted_tau(self, r: int, w: int) -> np.ndarray:
        """``tau(r, w)`` sorted (cached: the explorer draws curves from it)."""
        key = (r, w)
        if key not in self._sorted:
            if len(self._sorted) > 8:
                self._sorted.pop(next(iter(self._sorted)))
            self._sorted[key] = np.sort(self.tau(r, w))
        return self._sorted[key]

    def p_consistent(self, r: int, w: int, t_ms: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fraction of trials consistent at each t (as ``PredictResult.p_consistent``)."""
        srt = self.sorted_tau(r, w)
        return np.searchsorted(srt, np.asarray(t_ms, dtype=float), side="right") / self.trials

    def curve(self, r: int, w: int, t_ms: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
        """``t_ms, p_consistent, ci_low, ci_high`` (95 % Wilson), like ``PredictResult.curve``."""
        t = np.asarray(t_ms, dtype=float)
        counts = np.searchsorted(self.sorted_tau(r, w), t, side="right")
        low, high = wilson(counts, self.trials)
        return {"t_ms": t, "p_consistent": counts / self.trials, "ci_low": low, "ci_high": high}

    def row(self, r: int, w: int, *, target: float, t_ms: Sequence[float] = ()) -> dict[str, Any]:
        """One row of ``predict_grid`` for (R, W)."""
        self._check(r, w)
        n, trials = self.n, self.trials
        k_vis = _rank(target, trials)
        l_rank, u_rank = quantile_ci_ranks(trials, target)
        ts = [float(t) for t in t_ms]
        if r + w > n:
            p0 = 1.0
            p_at = [1.0] * len(ts)
            t_vis, ci = 0.0, (0.0, 0.0)
        else:
            x = np.subtract(self.gap_min[r - 1], self.write_latency[w - 1], out=self._work())  # tau before max(0, .)
            zeros = int(np.count_nonzero(x <= 0.0))
            p0 = zeros / trials
            p_at = [int(np.count_nonzero(x <= t)) / trials for t in ts]
            # order statistics of tau = max(0, x): rank k is 0 when k <= zeros, else the k-th
            # smallest x (positive); only the top of x that holds the needed ranks is partitioned
            needed = sorted({k for k in (k_vis, l_rank, u_rank) if zeros < k <= trials})
            top = _top(x, trials - needed[0] + 1) if needed else x[:0]
            offset = trials - len(top)  # every element left out is below every element of ``top``
            part = _order_stats(top, [k - offset - 1 for k in needed], in_place=True)

            def stat(k: int) -> float:
                if k > trials:
                    return math.inf
                return 0.0 if k <= zeros else part[k - offset - 1]

            t_vis = stat(k_vis)
            ci = (stat(l_rank) if l_rank >= 1 else 0.0, stat(u_rank))
        row: dict[str, Any] = {
            "n": n, "r": r, "w": w, "profile": self.profile, "fanout": self.fanout, "trials": trials,
            "seed": self.seed, "target": target, "strict": r + w > n,
            "p_consistent_at_t0": p0,
            **{f"p_consistent_at_{t:g}_ms": p for t, p in zip(ts, p_at, strict=True)},
            "t_visibility_ms": t_vis, "t_visibility_ci_low_ms": ci[0], "t_visibility_ci_high_ms": ci[1],
        }
        for which, q in (("read", r), ("write", w)):
            for name, value in zip(LATENCY_QUANTILES, self.latency_percentiles(which, q), strict=True):
                row[f"{which}_latency_{LATENCY_COLUMNS[name[0]]}_ms"] = value
        return row

    def latency_percentiles(self, which: str, quorum: int) -> list[float]:
        """p50, p99, p99.9 of read (R = ``quorum``) or write (W = ``quorum``) latency, as predict."""
        key = (which, quorum)
        if key not in self._lat_stats:
            arr = (self.read_latency if which == "read" else self.write_latency)[quorum - 1]
            # predict keeps latencies as float32 above 2e6 trials (``_ExactTally``): do the same
            if self.trials <= 2_000_000:
                vals = self._work()
                np.copyto(vals, arr)
            else:
                vals = arr.astype(np.float32)
            ks = [_rank(q, self.trials) - 1 for _, q in LATENCY_QUANTILES]
            stats = _order_stats(vals, ks, in_place=True)
            self._lat_stats[key] = [stats[k] for k in ks]
        return list(self._lat_stats[key])

    def frame(self, *, target: float = 0.999, t_ms: Sequence[float] = ()) -> pd.DataFrame:
        import pandas as pd

        rows = [self.row(r, w, target=target, t_ms=t_ms) for r in range(1, self.n + 1) for w in range(1, self.n + 1)]
        return pd.DataFrame(rows)


_BLOCK = 4096  # trials per block of a transposed copy: source and target blocks stay in cache


def _put_transposed(dst: np.ndarray, start: int, src: np.ndarray) -> None:
    """``dst[:, start:start + len(src)] = src.T`` in blocks (a whole-chunk strided copy misses the
    cache on every element; the same values either way)."""
    for b in range(0, len(src), _BLOCK):
        block = src[b:b + _BLOCK]
        dst[:, start + b:start + b + len(block)] = block.T


def _stable_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row the stable ascending order of ``keys`` (ties: lower index first), as flat indices
    into ``keys`` (one ``take`` gathers a row-sorted copy of any array of its shape: faster than
    ``take_along_axis``), and the row-sorted keys.

    The default (SIMD) argsort is about twice as fast as the stable one but orders ties
    arbitrarily; when no row has two equal keys the sorting permutation is unique, so both agree.
    Continuous delays practically never tie; constant or empirical ones do, and then the stable
    sort is redone."""
    rows, n = keys.shape
    base = np.arange(0, rows * n, n)[:, None]
    order = np.argsort(keys, axis=1)
    order += base
    srt = keys.ravel().take(order)
    if n > 1 and bool((srt[:, 1:] == srt[:, :-1]).any()):
        order = np.argsort(keys, axis=1, kind="stable")
        order += base
        srt = keys.ravel().take(order)
    return order, srt


def _order_stats(x: np.ndarray, ranks: Iterable[int], *, in_place: bool = False) -> dict[int, float]:
    """The ``k``-th smallest (0-based ``k``) of ``x`` for each of ``ranks`` (``in_place``: reorder
    ``x`` itself instead of a copy).

    One single-rank partition per rank, largest first, each on the part below the previous one:
    numpy's partition with one rank takes its SIMD quickselect, with several a generic introselect
    that is 5-10x slower. The values are order statistics, so exactly those of one partition."""
    out: dict[int, float] = {}
    part = x if in_place else x.copy()
    end = len(x)
    for k in sorted(set(ranks), reverse=True):
        part[:end].partition(k)  # part[:end] holds the ``end`` smallest: the k-th is among them
        out[k] = float(part[k])
        end = k
    return out


def _top(x: np.ndarray, m: int) -> np.ndarray:
    """At least the ``m`` largest elements of ``x``: every element above a threshold, where every
    element left out is <= every element kept (so the k-th smallest of ``x`` for k > len(x) - len(kept)
    is the (k - len(x) + len(kept))-th smallest kept). The threshold comes from a subsample, with a
    margin; if too few pass it, all of ``x`` is returned. Only a speed-up: results are exact."""
    size = len(x)
    if m <= 0 or 20 * m > size:
        return x
    sub = x[:: max(1, size // 20_000)]
    # keep about 3x the needed share, and 4 binomial sd more, of the subsample above the threshold
    share = 3.0 * m / size + 4.0 * math.sqrt(m / size / len(sub))
    idx = int(len(sub) * (1.0 - share))
    if idx <= 0:
        return x
    thr = np.partition(sub, idx)[idx]
    kept = x[x > thr]
    return kept if len(kept) >= m else x


def _validate(n: int, trials: int, target: float, t_ms: Iterable[float], fanout: str,
              chunk: int | None) -> tuple[int, int, float, tuple[float, ...], int]:
    # the same checks, messages and defaults as predict (R = W = 1 is always in range)
    from .wars.driver import _validate as validate_predict

    n, _, _, trials, target, ts, _, chunk_trials = validate_predict(n, 1, 1, trials, target, t_ms, fanout, 1, chunk)
    if trials > EXACT_MAX_TRIALS:
        raise ConfigError(None, "trials", f"the grid keeps every trial: at most {EXACT_MAX_TRIALS:,}, got {trials:,}")
    check_prediction(n, trials, grid=True)  # its memory: 24 bytes per replica-trial
    return n, trials, target, ts, chunk_trials


def wars_grid_sample(
    profile: Profile | str,
    n: int,
    *,
    trials: int = 100_000,
    seed: Seed = None,
    fanout: str = "all",
    chunk: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> GridSample:
    """Draw one N's WARS sample exactly as ``predict`` would and reduce it for every (R, W);
    ``progress(m)`` is called after each chunk of ``m`` trials."""
    prof = get_profile(profile, key="profile")
    n, trials, _, _, chunk_trials = _validate(n, trials, 0.5, (), fanout, chunk)
    check_prediction(seed=seed)
    streams = Streams(fresh_seed() if seed is None else seed)  # a fresh seed below 2**63, reported
    rng = streams.get("wars")
    pick_rng = streams.get(READ_REPLICAS_STREAM)
    gap_min = np.empty((n, trials))
    read_lat = np.empty((n, trials))
    write_lat = np.empty((n, trials))
    done = 0
    while done < trials:
        m = min(chunk_trials, trials - done)
        dw, da, dr, ds = prof.sample_wars(rng, m, n)
        # in place, no temporaries (each chunk array is 8 MB: allocating it means faulting it in)
        wa = np.add(dw, da, out=da)  # W_i + A_i
        gap = np.subtract(dw, dr, out=dw)  # W_i - R_i
        rs = np.add(dr, ds, out=dr)  # R_i + S_i
        wa.sort(axis=1)
        if fanout == "quorum" and n > 1:
            # predict draws these keys only when R < N; R = N asks every replica either way
            order = np.argsort(read_replica_keys(pick_rng, m, n), axis=1)
            order += np.arange(0, m * n, n)[:, None]  # flat indices: one gather per array
            rs_sorted = rs.ravel().take(order)
        else:
            order, rs_sorted = _stable_order(rs)
        _put_transposed(write_lat, done, wa)
        _put_transposed(read_lat, done, rs_sorted)
        # mode="clip": the indices are in range by construction, and with "raise" an ``out`` is buffered
        _put_transposed(gap_min, done, np.take(gap.ravel(), order, out=ds, mode="clip"))
        del dw, da, dr, ds, wa, gap, rs, rs_sorted, order
        # running min / max over replicas, row by row in the (n, trials) layout: contiguous
        # vectors instead of an accumulate along rows of length n (min and max are exact, so the
        # numbers are those of the accumulate)
        sl = slice(done, done + m)
        for i in range(1, n):
            np.minimum(gap_min[i - 1, sl], gap_min[i, sl], out=gap_min[i, sl])
            if fanout == "quorum":
                np.maximum(read_lat[i - 1, sl], read_lat[i, sl], out=read_lat[i, sl])
        done += m
        if progress is not None:
            progress(m)
    entropy = streams.entropy
    return GridSample(
        profile=prof.name, n=n, trials=trials, fanout=fanout,
        seed=int(entropy) if isinstance(entropy, int) else None,
        seed_spawn_key=tuple(int(x) for x in streams.root.spawn_key),
        gap_min=gap_min, read_latency=read_lat, write_latency=write_lat,
    )


def _n_values(n: int | Iterable[int]) -> list[int]:
    values = [n] if isinstance(n, int | np.integer) else list(n)
    if not values:
        raise ConfigError(None, "n", "empty range of N")
    return values


def predict_grid(
    profile: Profile | str,
    n: int | Iterable[int] = 3,
    *,
    trials: int = 100_000,
    seed: Seed = None,
    target: float = 0.999,
    t_ms: Iterable[float] = (),
    fanout: str = "all",
    chunk: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> pd.DataFrame:
    """Every (N, R, W) for N in ``n`` from one sample per N.

    One set of W/A/R/S delays is drawn per trial and each trial's replicas are sorted once, so all
    N² quorum pairs of an N come from the same draws (common random numbers), far faster than
    calling ``predict`` per pair. Each row is exactly what ``predict`` gives for that pair with the
    same profile, N, seed, trials, chunk and fan-out.

    Args:
        profile: a ``Profile``, a built-in name, ``exponential(...)`` or a profile TOML path.
        n: one N or several (e.g. ``range(1, 11)``).
        trials: trials per N; the grid keeps every trial (24 N bytes each), so N x trials is bounded.
        seed: as for ``predict``; None draws one (in the ``seed`` column).
        target: the probability the t-visibility is reported at, in (0, 1).
        t_ms: times after commit at which to add ``p_consistent_at_{t}_ms`` columns.
        fanout: ``"all"`` or ``"quorum"``, as for ``predict``.
        chunk: trials per vectorized chunk; None picks one.
        progress: called with ``m`` after each chunk of ``m`` trials drawn (``trials`` per N in all).

    Returns:
        A DataFrame, one row per (N, R, W): ``strict`` (R + W > N), ``p_consistent_at_t0``,
        ``p_consistent_at_{t}_ms``, ``t_visibility_ms`` with ``t_visibility_ci_low_ms`` /
        ``_high_ms``, and read / write latency ``*_p50_ms``, ``*_p99_ms``, ``*_p999_ms``.

    Raises:
        ConfigError: a bad profile, N, seed, target, fan-out, or too much work (N x trials).

    Example:
        >>> g = predict_grid("lnkd-ssd", n=3, trials=20_000, seed=1)
        >>> len(g), bool(g.loc[g.strict, "t_visibility_ms"].eq(0).all())
        (9, True)
    """
    import pandas as pd

    ns = _n_values(n)
    for nn in ns:  # every N's limits before the first sample is drawn
        _validate(nn, trials, target, t_ms, fanout, chunk)
    if seed is None:
        # one fresh root seed for every N (reported in the ``seed`` column), so the frame can be redone
        seed = fresh_seed()
    frames = []
    for nn in ns:
        _, _, target_, ts, _ = _validate(nn, trials, target, t_ms, fanout, chunk)
        sample = wars_grid_sample(profile, nn, trials=trials, seed=seed, fanout=fanout, chunk=chunk, progress=progress)
        frames.append(sample.frame(target=target_, t_ms=ts))
        del sample
    return pd.concat(frames, ignore_index=True)


__all__ = ["GridSample", "predict_grid", "wars_grid_sample"]
