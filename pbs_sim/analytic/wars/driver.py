"""Driving the WARS Monte Carlo: validation, chunked sampling, and ``predict`` and its variants.

Owns: ``predict``, ``predict_scenario``, ``predict_from_samples`` and the chunk loop that feeds the
kernel's per-trial thresholds into a tally and turns the tally into a ``PredictResult``. Must not
touch: SimPy, metrics, the CLI, global random state (all randomness comes from
``pbs_sim.rng.Streams(seed)``: ``"wars"`` for the delays, ``"wars-read-replicas"`` for the replicas
a quorum read asks).

The sequence of random numbers depends on the seed, N and the chunk size, so a seed reproduces a
result only with the same ``chunk``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ConfigError
from ...profiles import Profile, get_profile
from ...rng import Streams
from ..limits import check_prediction, fresh_seed
from .kernel import FANOUTS, READ_REPLICAS_STREAM, Arrays4, Sampler, Seed, wars_thresholds
from .result import PredictResult
from .stats import _rank, quantile_ci_ranks
from .tallies import _ExactTally, _HistTally, _snap_to_edge, _Tally

if TYPE_CHECKING:
    from ...config import Scenario

#: ``kernel(streams)`` -> ``step(rng, pick_rng, m)`` -> ``(tau, read_latency, write_latency)`` of m trials
ChunkKernel = Callable[[Streams], Callable[[np.random.Generator, np.random.Generator, int], tuple[np.ndarray, np.ndarray, np.ndarray]]]

CHUNK_VALUES = 1 << 20  # delay values per delay array per chunk (trials per chunk = this // N)
EXACT_MAX_TRIALS = 10_000_000
LATENCY_QUANTILES = (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))


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
    # N, trials, N x trials and the target: the limits the CLI and the explorer check too
    check_prediction(n, trials, target=target)
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
    kernel: ChunkKernel | None = None,
) -> PredictResult:
    n, r, w, trials, target, ts, k, chunk_trials = _validate(n, r, w, trials, target, t_ms, fanout, k, chunk)
    check_prediction(seed=seed)
    # no seed: a fresh one below 2**63, so the seed reported (and printed) can be given back
    streams = Streams(fresh_seed() if seed is None else seed)
    rng = streams.get("wars")
    # the replicas a quorum read asks come from their own stream, so the delay draws are the same
    # for every (R, W) and fan-out (the grid engine relies on it)
    pick_rng = streams.get(READ_REPLICAS_STREAM)
    # a multi-datacenter kernel (pbs_sim.analytic.multidc) draws and judges a chunk itself, from
    # the same "wars" and read-replica streams plus its own; None: today's kernel, unchanged
    step = kernel(streams) if kernel is not None else None
    exact = trials <= exact_max_trials
    tally: _ExactTally | _HistTally = _ExactTally(trials) if exact else _HistTally(trials, ts)
    done = 0
    while done < trials:
        m = min(chunk_trials, trials - done)
        if step is None:
            dw, da, dr, ds = sampler(rng, m, n)
            tau, read, write = wars_thresholds(dw, da, dr, ds, r, w, fanout, pick_rng)
            del dw, da, dr, ds
        else:
            tau, read, write = step(rng, pick_rng, m)
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
    """Predict the t-visibility curve of an (N, R, W) Dynamo-style store with the WARS Monte Carlo.

    Each trial draws W (write), A (ack), R (read request) and S (response) delays for the N
    replicas from ``profile`` and computes the time after commit from which a read is consistent,
    so one pass over the trials gives the whole curve P(consistent at t), its 95 % Wilson
    intervals, the t-visibility at ``target`` with a distribution-free 95 % interval, and the read
    and write latency percentiles. Up to ``exact_max_trials`` every figure is exact for the sample;
    beyond, fixed log histograms keep memory bounded (exact counts at t = 0 and at every ``t_ms``).

    Args:
        profile: a ``Profile``, a built-in name, ``exponential(...)``, or a profile TOML path.
        n: replicas per key (N).
        r: read responses waited for (R, 1..N).
        w: write acks waited for (W, 1..N).
        trials: Monte Carlo trials; N x trials is bounded (refused before any work beyond it).
        seed: an int below 2**63, a ``numpy.random.SeedSequence`` or its entropy sequence; None
            draws one, reported as ``result.seed`` so the run can be repeated.
        target: the probability the t-visibility is reported at, in (0, 1).
        t_ms: times after commit (ms) at which to report P(consistent) exactly.
        fanout: ``"all"`` (reads ask all N, the paper's model) or ``"quorum"`` (R random replicas,
            Cassandra's ``nodetool predictconsistency``).
        k: also report k-staleness, 1 - (1 - p0)^k, assuming independent writes (the paper's §4).
        chunk: trials per vectorized chunk (memory against speed); None picks one.
        exact_max_trials: above this many trials the curve is streamed through histograms.
        curve_points: points in ``result.curve``.
        progress: called with ``m`` after each chunk of ``m`` trials.

    Returns:
        A ``PredictResult``: ``p_consistent_at_t0``, ``p_consistent(t)``, ``t_visibility_ms`` and its
        ``t_visibility_ci_ms``, ``curve`` (a DataFrame ``t_ms, p_consistent, ci_low, ci_high``),
        ``summary()`` (the flat dict sweeps tabulate) and ``to_dict()`` (what ``--json`` prints).

    Raises:
        ConfigError: R or W outside 1..N, a bad profile, seed, target, fan-out or trial count.

    Example:
        >>> res = predict("lnkd-ssd", 3, 1, 1, trials=20_000, seed=1)
        >>> 0.95 < res.p_consistent_at_t0 < 1.0
        True
        >>> predict("lnkd-ssd", 3, 2, 2, trials=20_000, seed=1).t_visibility_ms   # R + W > N
        0.0
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
    if scenario.topology.enabled:  # one flat curve would hide the datacenters (issue 19)
        raise ConfigError(scenario.source, "topology",
                          "a scenario with datacenters has one curve per (write DC, read DC) pair: "
                          "use pbs_sim.analytic.multidc.predict_topology (pbs-sim predict --scenario FILE)")
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
