"""The simulator against theory (docs/validation.md §1-2) and the analytic engine, within confidence intervals.

(a) pbs-probe, N=3, R=W=1: measured P(consistent at t) = the WARS predictor's at every probe offset,
    |diff| < 4 * sqrt(se_sim^2 + se_pred^2) (binomial standard errors).
(b) non-expanding quorums (reads and writes to R / W uniformly random replicas): measured
    k-staleness = 1 - p_s^k with p_s = C(N-W, R) / C(N, R).
(c) property: R + W > N and no faults -> no read is ever stale.
(d) exact traces of the protocol are in test_sim_protocol.py.
(e) read and write latency distributions = the WARS order statistics (two-sample KS).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.analytic.wars import predict
from pbs_sim.config import scenario_from_dict
from pbs_sim.metrics.staleness import read_outcomes
from pbs_sim.simulation import simulate

PROBE_CASES = {
    "exponential": ("exponential(w=0.2, ars=1)", (0.0, 1.0, 2.0, 5.0, 10.0, 20.0)),
    "lnkd-disk": ("lnkd-disk", (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)),
    "lnkd-ssd": ("lnkd-ssd", (0.0, 0.25, 0.5, 1.0, 2.0)),
    "ymmr": ("ymmr", (0.0, 2.0, 10.0, 50.0, 200.0, 1000.0)),
    "wan": ("wan", (0.0, 5.0, 50.0, 75.0, 80.0, 100.0)),
}


def _se(p: np.ndarray, n: np.ndarray) -> np.ndarray:
    # standard error with the Laplace-adjusted p, so an observed 0 % or 100 % still has a width
    q = (p * n + 1) / (n + 2)
    return np.sqrt(q * (1 - q) / n)


def probe_vs_predictor(profile: str, offsets: tuple[float, ...], trials: int, fanout: str = "all",
                       r: int = 1, w: int = 1) -> dict[str, Any]:
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": r, "write_quorum": w,
                    "read_fanout": fanout, "write_fanout": "all", "coordinator": "client"},
        "latency": {"profile": profile},
        "workload": {"kind": "pbs-probe", "trials": trials, "probe_offsets_ms": list(offsets)},
        "run": {"seed": 11},
    })
    res = simulate(sc)
    curve = res.curve
    pred_trials = 200_000
    pred = predict(sc.latency.wars, 3, r, w, trials=pred_trials, seed=12, t_ms=offsets, fanout=fanout)
    p_sim = curve["p_consistent"].to_numpy(float)
    n_sim = curve["n"].to_numpy(float)
    p_pred = np.asarray(pred.p_consistent(np.asarray(offsets)), float)
    se = np.sqrt(_se(p_sim, n_sim) ** 2 + _se(p_pred, np.full(len(offsets), pred_trials)) ** 2)
    diff = np.abs(p_sim - p_pred)
    return {"t": offsets, "sim": p_sim, "pred": p_pred, "diff": diff, "se": se, "n": n_sim}


def _check(out: dict[str, Any]) -> None:
    rows = [f"t={t:g}: sim {s:.4f} pred {p:.4f} |d| {d:.4f} 4se {4 * e:.4f}"
            for t, s, p, d, e in zip(out["t"], out["sim"], out["pred"], out["diff"], out["se"], strict=True)]
    assert (out["n"] > 0).all()
    assert (out["diff"] < 4 * out["se"]).all(), "\n".join(rows)


@pytest.mark.validation
@pytest.mark.parametrize("case", ["exponential", "lnkd-disk"])
def test_probe_matches_wars_predictor(case: str) -> None:
    profile, offsets = PROBE_CASES[case]
    _check(probe_vs_predictor(profile, offsets, trials=15_000))


@pytest.mark.validation
def test_probe_quorum_read_fanout_matches_cassandra_style_predictor() -> None:
    _check(probe_vs_predictor("exponential(w=0.2, ars=1)", (0.0, 2.0, 5.0, 10.0), trials=8_000, fanout="quorum", r=2, w=1))


@pytest.mark.validation
@pytest.mark.slow
@pytest.mark.parametrize("case", list(PROBE_CASES))
def test_probe_matches_wars_predictor_large(case: str) -> None:
    profile, offsets = PROBE_CASES[case]
    _check(probe_vs_predictor(profile, offsets, trials=100_000))


# --- (b) k-staleness of non-expanding partial quorums ------------------------------------------


def p_s(n: int, r: int, w: int) -> float:
    return math.comb(n - w, r) / math.comb(n, r)


def batch_se(x: np.ndarray, batches: int = 20) -> float:
    """Standard error of the mean from batch means: consecutive reads share replica state, so they are
    correlated; batches of thousands of reads are nearly independent."""
    means = np.array([b.mean() for b in np.array_split(x, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


@pytest.mark.validation
@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (3, 1, 2), (5, 2, 2)])
def test_k_staleness_matches_closed_form(n: int, r: int, w: int) -> None:
    """docs/validation.md §1: a write reaches exactly W uniformly random replicas (write fan-out "quorum",
    replica choice random) and a read asks exactly R random replicas and returns the newest they hold.
    The closed form 1 - p_s^k needs: (1) each write's W-set independent of the others and of the read's
    R-set — true by construction; (2) no operation in flight when a read starts, so replica state is
    exactly "the W-sets of all earlier writes" — latencies are 1 microsecond and ops arrive 10 ms apart
    on average (overlap probability ~ 1e-4); (3) nothing else spreads writes (no repair, no
    anti-entropy). One key, so every read's last k versions are the last k writes. The first 100 ms
    are warm-up, so at least a few writes precede every measured read."""
    sc = scenario_from_dict({
        "cluster": {"nodes": n, "replication": n, "read_quorum": r, "write_quorum": w,
                    "read_fanout": "quorum", "write_fanout": "quorum", "replica_choice": "random"},
        "latency": {"profile": "exponential", "w": "constant(value=0.001)", "a": "constant(value=0.001)",
                    "r": "constant(value=0.001)", "s": "constant(value=0.001)"},
        "workload": {"kind": "open", "keys": 1, "read_fraction": 0.5, "rate_per_s": 100,
                     "duration_ms": 300_000, "warmup_ms": 100},
        "run": {"seed": 3},
    })
    res = simulate(sc)
    ops = res.history.to_frame()
    out = read_outcomes(ops, warmup_ms=100)
    assert len(out) > 12_000
    vb = out["versions_behind"].to_numpy()
    ps = p_s(n, r, w)
    for k in (1, 2, 3):
        hit = (vb < k).astype(float)
        est, se = hit.mean(), batch_se(hit)
        ref = 1 - ps**k
        assert abs(est - ref) < 4 * se, f"k={k}: measured {est:.4f} +- {se:.4f}, closed form {ref:.4f}"


# --- (c) strict quorums never return stale data without faults ---------------------------------


@st.composite
def strict_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    r = draw(st.integers(1, n))
    w = draw(st.integers(max(1, n - r + 1), n))
    profile = draw(st.sampled_from(["lnkd-ssd", "lnkd-disk", "ymmr", "wan", "exponential"]))
    rates = draw(st.tuples(*[st.floats(0.05, 5.0) for _ in range(4)]))
    latency: dict[str, Any] = {"profile": profile}
    if profile == "exponential":
        latency.update({k: f"exponential(rate={v:.3g})" for k, v in zip("wars", rates, strict=True)})
    return {
        "cluster": {
            "nodes": n + draw(st.integers(0, 2)), "replication": n, "read_quorum": r, "write_quorum": w,
            "read_fanout": draw(st.sampled_from(["all", "quorum"])),
            "write_fanout": draw(st.sampled_from(["all", "quorum"])),
            "replica_choice": draw(st.sampled_from(["random", "preference"])),
            "coordinator": draw(st.sampled_from(["client", "random", "first-replica"])),
        },
        "latency": latency,
        "workload": {"kind": "open", "keys": draw(st.integers(1, 5)), "read_fraction": draw(st.floats(0.3, 0.9)),
                     "rate_per_s": draw(st.floats(500, 20_000)), "duration_ms": 40, "warmup_ms": 0},
        "run": {"seed": draw(st.integers(0, 2**31))},
    }


@pytest.mark.validation
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strict_scenarios())
def test_strict_quorum_never_stale(raw: dict[str, Any]) -> None:
    res = simulate(scenario_from_dict(raw))
    out = res.outcomes
    assert out["consistent"].all()
    assert (out["versions_behind"] == 0).all()
    assert res.summary()["stale_read_fraction"] in (0.0,) or math.isnan(res.summary()["stale_read_fraction"])


@pytest.mark.validation
@pytest.mark.parametrize("profile", ["lnkd-disk", "wan"])
def test_probe_latencies_follow_wars_order_statistics(profile: str) -> None:
    """Write latency = W-th smallest W_i + A_i, read latency = R-th smallest R_i + S_i (docs/validation.md §2):
    the simulated latency distributions against direct draws of those order statistics, by a
    two-sample Kolmogorov-Smirnov test (rejecting only at p < 1e-4)."""
    from scipy import stats

    from pbs_sim.metrics.latency import latencies
    from pbs_sim.profiles import get_profile

    n, r, w, trials = 3, 2, 2, 8_000
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": n, "read_quorum": r, "write_quorum": w},
        "latency": {"profile": profile},
        "workload": {"kind": "pbs-probe", "trials": trials, "probe_offsets_ms": [0.0]},
        "run": {"seed": 21},
    })
    ops = simulate(sc).history.to_frame()
    dw, da, dr, ds = get_profile(profile).sample_wars(np.random.default_rng(22), 50_000, n)
    theory_w = np.sort(dw + da, axis=1)[:, w - 1]
    theory_r = np.sort(dr + ds, axis=1)[:, r - 1]
    for kind, theory in (("write", theory_w), ("read", theory_r)):
        sim = latencies(ops, kind)
        assert len(sim) == trials
        assert stats.ks_2samp(sim, theory).pvalue > 1e-4, kind
