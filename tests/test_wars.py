"""The WARS predictor: against a plain per-trial loop, hand-computable cases, the closed forms,
docs/validation.md §3 sanity points, and its own exact vs streaming aggregation.

Statistical comparisons use |a - b| < 5 standard errors of the difference (binomial), so they fail
on a real discrepancy and not by chance.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbs_sim.analytic.quorum import p_stale
from pbs_sim.analytic.wars import (
    HIST_RESOLUTION,
    predict,
    predict_from_samples,
    predict_scenario,
    quantile_ci_ranks,
    wars_thresholds,
    wilson,
)
from pbs_sim.config import scenario_from_dict
from pbs_sim.distributions import Constant, Exponential
from pbs_sim.engines import run_engine
from pbs_sim.errors import ConfigError
from pbs_sim.profiles import BUILTIN, Profile

ZERO = Constant(0.0)


def hand_profile(rate: float = 0.5) -> Profile:
    """Writes take Exp(rate); acks, read requests and responses are instantaneous."""
    return Profile("hand", Exponential(rate), ZERO, ZERO, ZERO)


def close(p: float, q: float, n1: int, n2: int | None = None, k: float = 5.0) -> bool:
    """|p - q| within k standard errors (of p alone, or of the difference of two estimates)."""
    pq = (p + q) / 2
    var = pq * (1 - pq) * (1 / n1 + (1 / n2 if n2 else 0.0))
    return abs(p - q) <= k * math.sqrt(var) + 1e-12


# ---------------------------------------------------------------------------------------------
# A deliberately plain reference: loops over trials and over t, straight from the model's words.


def reference_counts(
    w: np.ndarray, a: np.ndarray, r: np.ndarray, s: np.ndarray, n_r: int, n_w: int, ts: list[float],
    asked: list[list[int]] | None = None,
) -> list[int]:
    trials, n = w.shape
    counts = [0] * len(ts)
    for i in range(trials):
        acks = sorted(float(w[i, j] + a[i, j]) for j in range(n))
        commit = acks[n_w - 1]
        replicas = list(range(n)) if asked is None else asked[i]
        by_response = sorted(replicas, key=lambda j: float(r[i, j] + s[i, j]))
        responders = by_response[:n_r]
        for k, t in enumerate(ts):
            read_start = commit + t
            # replica j answers with the write iff the write arrived before the read request did
            if any(w[i, j] <= read_start + r[i, j] for j in responders):
                counts[k] += 1
    return counts


TS = [0.0, 0.3, 1.0, 2.5, 7.0, 20.0, 80.0]


@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (4, 2, 2), (5, 1, 3), (5, 5, 1)])
def test_thresholds_equal_plain_loop_on_the_same_samples(n: int, r: int, w: int) -> None:
    rng = np.random.default_rng(n * 100 + r * 10 + w)
    dw, da, dr, ds = BUILTIN["wan"].sample_wars(rng, 3000, n)
    tau, read, write = wars_thresholds(dw, da, dr, ds, r, w)
    expected = reference_counts(dw, da, dr, ds, r, w, TS)
    assert [int(np.count_nonzero(tau <= t)) for t in TS] == expected
    assert np.allclose(write, np.sort(dw + da, axis=1)[:, w - 1])
    assert np.allclose(read, np.sort(dr + ds, axis=1)[:, r - 1])


@pytest.mark.parametrize("profile", ["lnkd-disk", "wan"])
@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (4, 2, 1)])
def test_quorum_fanout_agrees_with_plain_loop(profile: str, n: int, r: int, w: int) -> None:
    """Independent samples: the loop asks R replicas chosen with rng.choice, the predictor its own way."""
    trials = 20_000
    rng = np.random.default_rng(7)
    dw, da, dr, ds = BUILTIN[profile].sample_wars(rng, trials, n)
    asked = [list(rng.choice(n, size=r, replace=False)) for _ in range(trials)]
    ref = reference_counts(dw, da, dr, ds, r, w, TS, asked)
    res = predict(profile, n, r, w, trials=100_000, seed=3, t_ms=TS, fanout="quorum")
    for t, c in zip(TS, ref, strict=True):
        assert close(float(res.p_consistent(t)), c / trials, res.trials, trials), (t, res.p_consistent(t), c / trials)


def test_predict_agrees_with_plain_loop_all_fanout() -> None:
    trials = 20_000
    rng = np.random.default_rng(11)
    dw, da, dr, ds = BUILTIN["lnkd-disk"].sample_wars(rng, trials, 3)
    ref = reference_counts(dw, da, dr, ds, 1, 1, TS)
    res = predict("lnkd-disk", 3, 1, 1, trials=100_000, seed=5, t_ms=TS)
    for t, c in zip(TS, ref, strict=True):
        assert close(float(res.p_consistent(t)), c / trials, res.trials, trials)


def test_quorum_fanout_with_r_equal_n_is_all_fanout() -> None:
    a = predict("ymmr", 3, 3, 1, trials=20_000, seed=1, fanout="all")
    b = predict("ymmr", 3, 3, 1, trials=20_000, seed=1, fanout="quorum")
    assert a.to_dict() | {"fanout": "x"} == b.to_dict() | {"fanout": "x"}


# ---------------------------------------------------------------------------------------------
# Hand-computable cases and the closed forms


@pytest.mark.parametrize("fanout", ["all", "quorum"])
def test_memoryless_writes_give_a_closed_form_curve(fanout: str) -> None:
    """W ~ Exp(lam), A = R = S = 0, N = 3, R = W = 1: the read hits one replica j; it is consistent
    at t = 0 iff j got the write first (1/N), else after the remaining Exp(lam) wait (memoryless):
    P(t) = 1/N + (1 - 1/N)(1 - e^(-lam t))."""
    lam, n = 0.5, 3
    ts = [0.0, 0.5, 1.0, 2.0, 5.0, 10.0]
    res = predict(hand_profile(lam), n, 1, 1, trials=200_000, seed=2, t_ms=ts, fanout=fanout, target=0.99)
    for t in ts:
        exact = 1 / n + (1 - 1 / n) * (1 - math.exp(-lam * t))
        assert close(float(res.p_consistent(t)), exact, res.trials), (t, res.p_consistent(t), exact)
    t99 = -math.log((1 - 0.99) / (1 - 1 / n)) / lam
    lo, hi = res.t_visibility_ci_ms
    half = (hi - lo) / 2
    assert lo - 2 * half <= t99 <= hi + 2 * half
    assert res.read_latency_ms == {"p50": 0.0, "p99": 0.0, "p99.9": 0.0}
    # write latency = min of N Exp(lam) = Exp(N lam): its median is ln 2 / (N lam)
    assert res.write_latency_ms["p50"] == pytest.approx(math.log(2) / (n * lam), rel=0.02)


@pytest.mark.parametrize("fanout", ["all", "quorum"])
@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (5, 2, 2), (7, 1, 3), (10, 3, 4), (20, 2, 5)])
def test_t0_equals_closed_form_when_only_writes_take_time(fanout: str, n: int, r: int, w: int) -> None:
    """With A = R = S = 0 the write commits when the W-th replica has it, and the R replicas read are
    independent of the write delays, so at t = 0 WARS is the non-expanding quorum: 1 - p_s."""
    res = predict(hand_profile(), n, r, w, trials=100_000, seed=n + r + w, fanout=fanout)
    assert close(res.p_consistent_at_t0, 1 - p_stale(n, r, w), res.trials)


@pytest.mark.parametrize("profile", ["lnkd-ssd", "lnkd-disk", "ymmr", "wan", "exponential"])
@pytest.mark.parametrize(("n", "r", "w"), [(1, 1, 1), (3, 2, 2), (3, 1, 3), (5, 3, 3), (20, 1, 20), (20, 11, 10)])
@pytest.mark.parametrize("fanout", ["all", "quorum"])
def test_strict_quorums_are_consistent_at_t0_exactly(profile: str, n: int, r: int, w: int, fanout: str) -> None:
    res = predict(profile, n, r, w, trials=3000, seed=1, fanout=fanout)
    assert res.p_consistent_at_t0 == 1.0
    assert res.t_visibility_ms == 0.0 and res.t_visibility_ci_ms == (0.0, 0.0)
    assert np.all(res.curve["p_consistent"] == 1.0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9), data=st.data(), fanout=st.sampled_from(["all", "quorum"]),
    rates=st.lists(st.floats(0.01, 100.0), min_size=4, max_size=4), remote=st.sampled_from([0.0, 75.0]),
)
def test_property_strict_quorums_never_stale(
    n: int, data: st.DataObject, fanout: str, rates: list[float], remote: float
) -> None:
    """Any N, any R + W > N, any exponential delays, with or without WAN structure: no stale read."""
    r = data.draw(st.integers(1, n))
    w = data.draw(st.integers(max(1, n + 1 - r), n))
    prof = Profile("p", *(Exponential(x) for x in rates), remote_extra_ms=remote)
    res = predict(prof, n, r, w, trials=500, seed=data.draw(st.integers(0, 2**32)), fanout=fanout)
    assert res.p_consistent_at_t0 == 1.0


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 7), data=st.data(), profile=st.sampled_from(["lnkd-disk", "ymmr", "wan"]))
def test_property_larger_quorums_never_hurt(n: int, data: st.DataObject, profile: str) -> None:
    """Same seed = same delays (read fan-out all): the first R+1 responders include the first R, and a
    later commit (W+1) leaves less to propagate, so every trial's threshold can only shrink."""
    r = data.draw(st.integers(1, n - 1))
    w = data.draw(st.integers(1, n - 1))
    ts = (0.0, 1.0, 5.0, 20.0)
    base = predict(profile, n, r, w, trials=4000, seed=5, t_ms=ts)
    more_r = predict(profile, n, r + 1, w, trials=4000, seed=5, t_ms=ts)
    more_w = predict(profile, n, r, w + 1, trials=4000, seed=5, t_ms=ts)
    for t in ts:
        assert more_r.p_consistent(t) >= base.p_consistent(t)
        assert more_w.p_consistent(t) >= base.p_consistent(t)
    assert more_r.read_latency_ms["p50"] >= base.read_latency_ms["p50"]
    assert more_w.write_latency_ms["p50"] >= base.write_latency_ms["p50"]


def test_constant_equal_latencies_are_consistent() -> None:
    one = Constant(1.0)
    res = predict(Profile("const", one, one, one, one), 5, 1, 1, trials=1000, seed=1)
    assert res.p_consistent_at_t0 == 1.0
    assert res.read_latency_ms["p99.9"] == 2.0 and res.write_latency_ms["p50"] == 2.0


def test_constant_slow_writes_hand_trace() -> None:
    """W_i = 10 except the fastest... all constant: W = 10, A = 1, R = 2, S = 1, N = 3, R = W = 1.
    Commit at 11; read request reaches replicas at 11 + t + 2 >= 10: consistent at t = 0."""
    prof = Profile("c", Constant(10.0), Constant(1.0), Constant(2.0), Constant(1.0))
    res = predict(prof, 3, 1, 1, trials=100, seed=1)
    assert res.p_consistent_at_t0 == 1.0
    assert res.write_latency_ms["p50"] == 11.0 and res.read_latency_ms["p50"] == 3.0


def test_eventually_consistent_and_monotone() -> None:
    res = predict("lnkd-disk", 3, 1, 1, trials=50_000, seed=9, t_ms=(0.5, 45.5, 1000.0))
    curve = res.curve
    assert curve["t_ms"].iloc[0] == 0.0 and curve["t_ms"].is_monotonic_increasing
    assert np.all(np.diff(curve["p_consistent"].to_numpy()) >= 0)
    assert np.all(curve["ci_low"] <= curve["p_consistent"]) and np.all(curve["p_consistent"] <= curve["ci_high"])
    for t in (0.5, 45.5, 1000.0):
        assert t in set(curve["t_ms"])
    assert curve["t_ms"].max() >= res.t_visibility_ms
    assert 100 <= len(curve) <= 250
    assert res.p_consistent(1e15) == 1.0
    # the t-visibility is the smallest t that reaches the target
    assert res.p_consistent(res.t_visibility_ms) >= 0.999
    assert res.p_consistent(res.t_visibility_ms * (1 - 1e-12)) < 0.999
    lo, hi = res.t_visibility_ci_ms
    assert lo <= res.t_visibility_ms <= hi
    assert res.k_staleness == res.p_consistent_at_t0


def test_k_staleness_formula() -> None:
    res = predict("lnkd-disk", 3, 1, 1, trials=20_000, seed=1, k=3)
    assert res.k == 3
    assert res.k_staleness == pytest.approx(1 - (1 - res.p_consistent_at_t0) ** 3)
    assert res.summary()["p_k_staleness"] == res.k_staleness


# ---------------------------------------------------------------------------------------------
# docs/validation.md §3 sanity points (PBS paper §5.6), N = 3, R = W = 1


#: (profile, t_ms, the paper's figure, its last printed digit). YMMR with the authors' code's W alpha
#: (3.5, not Table 3's 3.35): the paper's numbers were computed with it (results/pbs_paper/ymmr_alpha.csv).
SANITY_POINTS = [
    ("lnkd-ssd", 0.0, 0.974, 0.001),
    ("lnkd-disk", 0.0, 0.439, 0.001),
    ("lnkd-disk", 10.0, 0.925, 0.001),
    ("ymmr-alpha-3.5", 0.0, 0.893, 0.001),
    ("wan", 0.0, 0.33, 0.01),
]
SANITY_TRIALS = 200_000
PAPER_TRIALS = 50_000  # the paper's Monte Carlo: 50,000 fresh trials per t (results/pbs_paper/README.md)


def _sanity_profile(name: str) -> Any:
    if name != "ymmr-alpha-3.5":
        return name
    from pbs_sim.distributions import parse
    from pbs_sim.profiles import BUILTIN

    return BUILTIN["ymmr"].with_overrides(
        w=parse("mixture(0.939*pareto(xm=3, alpha=3.5), 0.061*exponential(rate=0.0028))"))


@pytest.mark.validation
@pytest.mark.parametrize(("profile", "t_ms", "paper", "digit"), SANITY_POINTS)
def test_reference_sanity_points(profile: str, t_ms: float, paper: float, digit: float) -> None:
    """docs/validation.md §3 (PBS paper §5.6) within 4 standard errors plus the rounding of the printed figure.

    Both numbers are Monte Carlo estimates of the same probability p: ours from 200,000 trials (se
    sqrt(p(1-p)/200,000), e.g. 0.0011 at p = 0.44) and the paper's from 50,000 (se 0.0022), so their
    difference has se sqrt(p(1-p) (1/200,000 + 1/50,000)); the paper printed it rounded to ``digit``,
    which adds at most digit/2 exactly. Tolerance: 4 combined se + digit/2 -- 0.0037 for lnkd-ssd,
    0.010 for lnkd-disk at t = 0, 0.014 for WAN ("33 %"). The old absolute 0.01 was ~3x too loose
    for lnkd-ssd and ignored that WAN's figure has two digits. YMMR is computed with the W alpha of
    the authors' code (3.5): with Table 3's 3.35, P(consistent at 0) is 0.886, 0.0066 lower -- just
    inside this tolerance (0.0067), so the alpha is chosen for what the paper computed, not to pass."""
    res = predict(_sanity_profile(profile), 3, 1, 1, trials=SANITY_TRIALS, seed=2012, t_ms=(t_ms,))
    p = float(res.p_consistent(t_ms))
    se = math.sqrt(paper * (1 - paper) * (1 / SANITY_TRIALS + 1 / PAPER_TRIALS))
    assert abs(p - paper) < 4 * se + digit / 2, (p, paper, se)


# ---------------------------------------------------------------------------------------------
# Aggregation: exact vs streaming, bounded memory, reproducibility


def test_streaming_path_agrees_with_exact_path() -> None:
    kw = {"trials": 60_000, "seed": 4, "t_ms": (0.5, 3.0, 10.0), "chunk": 7_000, "target": 0.99}
    exact = predict("lnkd-disk", 3, 1, 1, **kw)  # type: ignore[arg-type]
    stream = predict("lnkd-disk", 3, 1, 1, exact_max_trials=1000, **kw)  # type: ignore[arg-type]
    assert exact.mode == "exact" and stream.mode == "streaming"
    assert stream.p_consistent_at_t0 == exact.p_consistent_at_t0
    for t in (0.5, 3.0, 10.0):
        assert stream.p_consistent(t) == exact.p_consistent(t)
    # quantiles: the upper edge of the bin holding the exact order statistic
    pairs = [(stream.t_visibility_ms, exact.t_visibility_ms), *zip(stream.t_visibility_ci_ms, exact.t_visibility_ci_ms, strict=True)]
    for which in ("read_latency_ms", "write_latency_ms"):
        pairs += [(getattr(stream, which)[q], getattr(exact, which)[q]) for q in ("p50", "p99", "p99.9")]
    for s_val, e_val in pairs:
        assert e_val * (1 - 1e-6) <= s_val <= e_val * (1 + HIST_RESOLUTION) + 1e-9, (s_val, e_val)
    # the streaming curve's grid points are bin edges, where its counts are exact
    for t, p in zip(stream.curve["t_ms"], stream.curve["p_consistent"], strict=True):
        assert abs(p - float(exact.p_consistent(t))) <= 2 / kw["trials"]  # type: ignore[operator]


def test_compacted_exact_tally_keeps_curve_points_exact(rng: np.random.Generator) -> None:
    """Results of big exact runs keep a histogram instead of every threshold, plus exact counts at
    the curve's points (so p_consistent(t_visibility) still reaches the target)."""
    from pbs_sim.analytic.wars import _ExactTally

    trials = 50_000
    tau = np.maximum(rng.exponential(3.0, trials) - 1.0, 0.0)
    tally = _ExactTally(trials)
    tally.add(tau, tau, tau)
    tally.finish()
    points = np.array([0.0, 0.37, 1.0, 2.5, 9.99, 30.0])
    small = tally.compact(tuple(points), max_values=100)
    assert type(small).__name__ == "_HistTally"
    assert np.array_equal(small.count_le(points), np.array([np.count_nonzero(tau <= t) for t in points]))


def test_streaming_memory_does_not_grow_with_trials() -> None:
    def peak(trials: int) -> int:
        tracemalloc.start()
        predict("lnkd-ssd", 3, 1, 1, trials=trials, seed=1, chunk=2_000, exact_max_trials=10)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, big = peak(20_000), peak(160_000)
    assert big < 1.2 * small, (small, big)


def test_same_seed_same_result_and_seed_none_is_reproducible() -> None:
    a = predict("wan", 3, 2, 1, trials=20_000, seed=42, fanout="quorum", t_ms=(1.0,))
    b = predict("wan", 3, 2, 1, trials=20_000, seed=42, fanout="quorum", t_ms=(1.0,))
    c = predict("wan", 3, 2, 1, trials=20_000, seed=43, fanout="quorum", t_ms=(1.0,))
    assert a.to_dict() == b.to_dict()
    assert a.to_dict() != c.to_dict()
    fresh = predict("lnkd-disk", 3, 1, 1, trials=5_000)
    assert isinstance(fresh.seed, int)
    again = predict("lnkd-disk", 3, 1, 1, trials=5_000, seed=fresh.seed)
    assert again.to_dict() == fresh.to_dict()
    ss = np.random.SeedSequence(7, spawn_key=(1, 2))
    d1, d2 = (predict("lnkd-disk", 3, 1, 1, trials=5_000, seed=ss).to_dict() for _ in range(2))
    assert d1 == d2 and d1["seed_spawn_key"] == [1, 2]


def test_to_dict_is_json_and_summary_is_flat() -> None:
    res = predict("ymmr", 3, 1, 2, trials=10_000, seed=1, t_ms=(0, 1, 10, 45.5))
    d = json.loads(json.dumps(res.to_dict()))
    for key in ("n", "r", "w", "profile", "trials", "seed", "target", "t_visibility_ms", "t_visibility_ci_ms",
                "p_consistent_at_t0", "curve", "read_latency_ms", "write_latency_ms"):
        assert key in d
    assert len(d["t_visibility_ci_ms"]) == 2
    assert set(d["read_latency_ms"]) == {"p50", "p99", "p99.9"}
    ts = {row["t_ms"] for row in d["curve"]}
    assert {0.0, 1.0, 10.0, 45.5} <= ts
    assert set(d["curve"][0]) == {"t_ms", "p_consistent", "ci_low", "ci_high"}
    summary = res.summary()
    assert all(isinstance(v, int | float | str) for v in summary.values())
    assert summary["read_latency_p999_ms"] == res.read_latency_ms["p99.9"]


def test_small_trials_give_an_unbounded_ci() -> None:
    res = predict("lnkd-disk", 3, 1, 1, trials=100, seed=1, target=0.999)
    assert res.t_visibility_ci_ms[1] == math.inf
    assert res.to_dict()["t_visibility_ci_ms"][1] is None


@pytest.mark.validation
def test_t_visibility_ci_covers_the_true_quantile() -> None:
    """95 % order-statistic CI, hand-computable curve (see above): coverage over 60 seeds."""
    lam, n, q = 0.5, 3, 0.99
    truth = -math.log((1 - q) / (1 - 1 / n)) / lam
    covered = 0
    for seed in range(60):
        res = predict(hand_profile(lam), n, 1, 1, trials=3_000, seed=seed, target=q)
        lo, hi = res.t_visibility_ci_ms
        covered += lo <= truth <= hi
    # Binomial(60, >= 0.95): fewer than 50 covered has probability < 1e-4
    assert covered >= 50, covered


# ---------------------------------------------------------------------------------------------
# Statistics helpers


def test_wilson_known_values() -> None:
    lo, hi = wilson(np.array([0, 5, 10]), 10)
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.2775, abs=1e-4)
    assert lo[1] == pytest.approx(0.2366, abs=1e-4) and hi[1] == pytest.approx(0.7634, abs=1e-4)
    assert hi[2] == 1.0 and lo[2] == pytest.approx(0.7225, abs=1e-4)


@pytest.mark.parametrize(("n", "q"), [(50, 0.9), (1000, 0.5), (100_000, 0.999), (10_000_000, 0.999), (2000, 0.001)])
def test_quantile_ci_ranks_match_binomial(n: int, q: float) -> None:
    from scipy import stats

    lower, upper = quantile_ci_ranks(n, q)
    b = stats.binom(n, q)
    # l - 1 is the largest j with P(B <= j) <= 2.5 %, u - 1 the smallest with P(B <= j) >= 97.5 %
    assert b.cdf(lower - 1) <= 0.025 < b.cdf(lower)
    if upper <= n:
        assert b.cdf(upper - 2) < 0.975 <= b.cdf(upper - 1)


# ---------------------------------------------------------------------------------------------
# Entry points and errors


def test_predict_scenario_and_engine() -> None:
    sc = scenario_from_dict({
        "cluster": {"nodes": 5, "replication": 5, "read_quorum": 2, "write_quorum": 2},
        "latency": {"profile": "lnkd-ssd", "w": "exponential(rate=0.5)"},
        "predict": {"trials": 8000, "fanout": "quorum", "t_ms": [1.5], "k": 2, "target": 0.99},
        "run": {"seed": 77},
    })
    res = predict_scenario(sc)
    assert (res.n, res.r, res.w, res.fanout, res.trials, res.k, res.target) == (5, 2, 2, "quorum", 8000, 2, 0.99)
    assert res.profile == "lnkd-ssd+custom" and res.seed == 77
    assert 1.5 in set(res.curve["t_ms"])
    direct = predict(sc.latency.wars, 5, 2, 2, trials=8000, seed=77, fanout="quorum", t_ms=(1.5,), k=2, target=0.99)
    assert direct.to_dict() == res.to_dict()
    assert predict_scenario(sc, seed=78).seed == 78
    eng = run_engine("predict", sc)
    assert eng.summary == res.summary() and list(eng.curve.columns) == ["t_ms", "p_consistent", "ci_low", "ci_high"]


def test_predict_scenario_read_fanout_follows_the_cluster_unless_set() -> None:
    """One scenario, one store: without predict.fanout the predictor reads like the simulator does
    (cluster.read_fanout); an explicit predict.fanout wins. Checked against explicit-fanout runs on
    the same seed (identical results) and the other fan-out (different results)."""
    base = {
        "cluster": {"replication": 3, "read_quorum": 1, "write_quorum": 1, "read_fanout": "quorum"},
        "latency": {"profile": "lnkd-disk"},
        "predict": {"trials": 4000},
        "run": {"seed": 5},
    }
    follows = predict_scenario(scenario_from_dict(base))
    assert follows.fanout == "quorum"
    explicit_quorum = predict_scenario(scenario_from_dict({**base, "predict": {"trials": 4000, "fanout": "quorum"}}))
    explicit_all = predict_scenario(scenario_from_dict({**base, "predict": {"trials": 4000, "fanout": "all"}}))
    assert follows.to_dict() == explicit_quorum.to_dict()
    assert explicit_all.fanout == "all" and explicit_all.to_dict() != follows.to_dict()


def test_predict_from_samples_matches_the_profile() -> None:
    rng = np.random.default_rng(3)
    prof = BUILTIN["lnkd-disk"]
    samples = [d.sample(rng, 200_000) for d in (prof.w, prof.a, prof.r, prof.s)]
    obs = predict_from_samples(*samples, 3, 1, 1, trials=100_000, seed=1, t_ms=(1.0, 10.0))
    ref = predict(prof, 3, 1, 1, trials=100_000, seed=2, t_ms=(1.0, 10.0))
    assert obs.profile == "observed"
    for t in (0.0, 1.0, 10.0):
        assert close(float(obs.p_consistent(t)), float(ref.p_consistent(t)), obs.trials, ref.trials)
    assert obs.write_latency_ms["p50"] == pytest.approx(ref.write_latency_ms["p50"], rel=0.03)
    with pytest.raises(ConfigError, match="no observed samples"):
        predict_from_samples([], [1.0], [1.0], [1.0], 3, 1, 1)
    with pytest.raises(ConfigError, match=">= 0"):
        predict_from_samples([-1.0], [1.0], [1.0], [1.0], 3, 1, 1)


def test_large_n() -> None:
    res = predict("lnkd-ssd", 25, 3, 4, trials=5_000, seed=1)
    assert 0 < res.p_consistent_at_t0 <= 1 and res.n == 25


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"r": 4}, "r"), ({"w": 0}, "w"), ({"w": 4}, "w"), ({"n": 0}, "n"), ({"trials": 0}, "trials"),
        ({"target": 0.0}, "target"), ({"target": 1.5}, "target"), ({"t_ms": (1.0, -1.0)}, "t_ms[1]"),
        ({"t_ms": (math.nan,)}, "t_ms[0]"), ({"fanout": "some"}, "fanout"), ({"k": 0}, "k"), ({"r": 1.5}, "r"),
    ],
)
def test_bad_arguments(kwargs: dict, key: str) -> None:
    args = {"n": 3, "r": 1, "w": 1, **kwargs}
    n, r, w = args.pop("n"), args.pop("r"), args.pop("w")
    with pytest.raises(ConfigError) as info:
        predict("lnkd-ssd", n, r, w, trials=args.pop("trials", 100), **args)
    assert info.value.key == key


def test_unknown_profile() -> None:
    with pytest.raises(ConfigError, match="unknown profile"):
        predict("lnkd-sdd", 3, 1, 1)
