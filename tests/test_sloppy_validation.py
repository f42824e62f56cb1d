"""Issue 12, validation (a), (b) and (d): availability and hand-off delay against closed forms derived
here, within confidence intervals stated in standard errors; and sloppy quorums off = today's model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate

Z = 3.0  # |estimate - reference| < Z standard errors


def p_at_least(m: int, a: float, k: int) -> float:
    """P(Binomial(m, a) >= k)."""
    return sum(math.comb(m, i) * a**i * (1 - a) ** (m - i) for i in range(k, m + 1))


def batch_mean_se(times: np.ndarray, values: np.ndarray, batches: int = 25) -> tuple[float, float]:
    """Mean of ``values`` and its standard error from ``batches`` consecutive time batches (batch
    means: each batch spans many times the correlation time of the node states, so batch means are
    close to independent)."""
    edges = np.linspace(times.min(), times.max() + 1e-9, batches + 1)
    idx = np.digitize(times, edges) - 1
    means = np.array([values[idx == b].mean() for b in range(batches) if (idx == b).any()])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(len(means)))


def _availability_run(nodes: int, n: int, w: int, r: int, mttf: float, mttr: float, sloppy: bool) -> pd.DataFrame:
    raw: dict[str, Any] = {
        "cluster": {"nodes": nodes, "replication": n, "write_quorum": w, "read_quorum": r,
                    "sloppy_quorum": sloppy, "write_timeout_ms": 5, "read_timeout_ms": 5},
        "latency": {"profile": "exponential", "w": 0.001, "a": 0.001, "r": 0.001, "s": 0.001, "other": 0.001},
        "workload": {"keys": 500, "rate_per_s": 1500, "duration_ms": 40_000, "warmup_ms": 2_000, "read_fraction": 0.5},
        "faults": {"crash_mttf_ms": mttf, "crash_mttr_ms": mttr},
        "failure_detector": {"mode": "perfect"},
        "predict": {"trials": 1000},
        "run": {"seed": 12},
    }
    res = simulate(scenario_from_dict(raw), record_ops=True)
    ops = res.frames()["ops"]
    return ops[ops["issued_at"] >= 2_000]


@pytest.mark.validation
@pytest.mark.parametrize(("nodes", "n", "w", "r", "mttf", "mttr"), [(5, 3, 2, 2, 300.0, 100.0), (6, 3, 3, 1, 150.0, 100.0)])
def test_availability_strict_vs_sloppy(nodes: int, n: int, w: int, r: int, mttf: float, mttr: float) -> None:
    """Every node alternates up Exp(MTTF) / down Exp(MTTR) independently, so at a random instant it is
    up with probability a = MTTF / (MTTF + MTTR), independently of the others (the warm-up, 2 s, is
    many times the relaxation time MTTF MTTR / (MTTF + MTTR) of each node's chain). Latencies are
    1 µs, so an operation's fate is decided by the node states at its issue instant. With a perfect,
    instantaneous detector and the client-side coordinator (never down):

    - strict: a write succeeds iff at least W of its key's N primaries are up: P(Bin(N, a) >= W);
      a read iff at least R are: P(Bin(N, a) >= R);
    - sloppy: the write goes to the first N up nodes of the key's walk over all M = nodes nodes, so it
      succeeds iff at least W of the M are up: P(Bin(M, a) >= W) (reads: >= R).

    Standard errors from 25 time-batch means (node states are correlated over ~75 ms; a batch is 1.5 s).
    """
    a = mttf / (mttf + mttr)
    for sloppy in (False, True):
        ops = _availability_run(nodes, n, w, r, mttf, mttr, sloppy)
        m = nodes if sloppy else n
        for kind, k in (("write", w), ("read", r)):
            sub = ops[ops["kind"] == kind]
            ok = (sub["status"] == "ok").to_numpy(float)
            mean, se = batch_mean_se(sub["issued_at"].to_numpy(float), ok)
            ref = p_at_least(m, a, k)
            assert abs(mean - ref) < Z * se + 1e-9, (sloppy, kind, mean, ref, se)
            # the two references differ by far more than the interval: the test can tell them apart
            other = p_at_least(n if sloppy else nodes, a, k)
            assert abs(other - ref) < 1e-12 or abs(mean - other) > Z * se, (sloppy, kind, mean, other, se)


def _outages(count: int, spacing: float, mean_down: float, interval: float, seed: int) -> list[dict[str, Any]]:
    """Scripted outages of node 0: the k-th starts at k * spacing + U_k * interval (U uniform, so the
    outage ends at a uniformly random phase of the sweep grid) and lasts Exp(mean_down)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        start = 1_000.0 + k * spacing + rng.uniform() * interval
        out.append({"at_ms": start, "action": "crash", "nodes": [0], "duration_ms": float(rng.exponential(mean_down))})
    return out


@pytest.mark.validation
@pytest.mark.parametrize(("mean_down", "interval"), [(200.0, 100.0), (50.0, 400.0)])
def test_handoff_delay_matches_closed_form(mean_down: float, interval: float) -> None:
    """Two nodes, N = W = 1, sloppy quorums, fallback hints, no inactivity wait, no throttle; node 0
    (the only one that fails) is down for Exp(D) at a time, and the fallback's sweeps come every I ms.
    Every message takes exactly 1 ms (w = a = 1 for the write, 1 for the hand-off).

    A write issued at t while its owner is down goes to the fallback (W arrives t + 1, commit t + 2).
    The owner comes back at t + X, where X ~ Exp(D): the outage is exponential, so its residual at
    any instant — in particular at a Poisson write's issue — is Exp(D) (memorylessness). The hint then
    waits for the fallback's next sweep: the outage ends at a phase of the sweep grid that is uniform
    (each outage starts at a uniformly random phase, independent of its length), so the wait V is
    Uniform(0, I), independent of X. The hint is sent at that sweep and arrives 1 ms later. So

        delay = (t + X + V + 1) - (t + 2) = X + V - 1,    E[delay] = D + I / 2 - 1.

    Hints of one outage share X's end and V, so the standard error is the cluster-robust one of a
    ratio estimator with one cluster per outage.
    """
    spacing = 2_000.0
    count = 120
    raw: dict[str, Any] = {
        "cluster": {"nodes": 2, "replication": 1, "write_quorum": 1, "read_quorum": 1, "sloppy_quorum": True},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"keys": 1000, "rate_per_s": 400, "duration_ms": count * spacing + 1_000, "warmup_ms": 0,
                     "read_fraction": 0.0},
        "faults": {"schedule": _outages(count, spacing, mean_down, interval, seed=int(mean_down + interval))},
        "hinted_handoff": {"store": "fallback", "interval_ms": interval, "inactivity_timeout_ms": 0,
                           "hint_bytes": 0, "ttl_ms": 1e12},
        "predict": {"trials": 1000},
    }
    res = simulate(scenario_from_dict(raw))
    d = res.frames()["handoff_delays"]
    assert len(d) > 300
    starts = np.array([e["at_ms"] for e in raw["faults"]["schedule"]])
    cluster = np.searchsorted(starts, d["commit_at"].to_numpy(float)) - 1
    y = d["delay_ms"].to_numpy(float)
    mean = y.mean()
    sums = pd.Series(y).groupby(cluster).sum().to_numpy()
    sizes = pd.Series(y).groupby(cluster).size().to_numpy()
    se = math.sqrt(((sums - mean * sizes) ** 2).sum()) / sizes.sum()
    ref = mean_down + interval / 2 - 1
    assert abs(mean - ref) < Z * se, (mean, ref, se)
    s = res.summary()
    assert s["hints_delivered"] == s["hints_stored"] - s["hints_pending"] and s["hints_lost"] == 0
    assert s["handoff_delay_ms_mean"] == pytest.approx(mean)


# -- (d): sloppy quorums off = today's strict model --------------------------------------------------


def _frames(raw: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """ops and applies with their event numbers replaced by their joint rank: the added mechanisms'
    own records (detector views, quorum members) take numbers from the history's shared counter, so
    only the order of the ops' and applies' events among themselves must agree."""
    res = simulate(scenario_from_dict(raw), record_ops=True)
    fr = res.frames()
    ops, ap = fr["ops"].copy(), fr["applies"].copy()
    ev = np.concatenate([ops["issued_event"], ops["completed_event"], ap["event"]])
    rank = pd.Series(ev).rank(method="dense").to_numpy(np.int64)
    rank[ev == 0] = 0  # pending
    k = len(ops)
    ops["issued_event"], ops["completed_event"], ap["event"] = rank[:k], rank[k:2 * k], rank[2 * k:]
    return ops, ap, res.summary()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # a shrink re-runs simulations for minutes
@given(
    n=st.integers(1, 3), extra=st.integers(0, 2), data=st.data(), seed=st.integers(0, 10_000),
    fanout=st.sampled_from(["all", "quorum"]), choice=st.sampled_from(["random", "preference"]),
    faults=st.booleans(), mode=st.sampled_from(["perfect", "delay"]),
    coordinator=st.sampled_from(["client", "random", "first-replica"]),
)
def test_sloppy_off_is_todays_strict_model(
    n: int, extra: int, data: Any, seed: int, fanout: str, choice: str, faults: bool, mode: str, coordinator: str,
) -> None:
    """Over random clusters, quorums, fan-outs, coordinators and seeds: (1) a failure detector with
    sloppy quorums off changes nothing with ``fanout = "all"`` — not even under crashes and message
    loss (requests still go to all N; the detector only picks replicas for ``"quorum"`` fan-out) — and
    nothing with ``"quorum"`` fan-out while every node is up; (2) sloppy quorums on a ring of exactly
    N nodes (no fallbacks) with every node up change nothing either. "Nothing": the same ops and
    applies, row for row (events in the same order), and the same staleness summary."""
    r = data.draw(st.integers(1, n))
    w = data.draw(st.integers(1, n))
    base: dict[str, Any] = {
        "cluster": {"nodes": n + extra, "replication": n, "read_quorum": r, "write_quorum": w,
                    "read_fanout": fanout, "write_fanout": fanout, "replica_choice": choice,
                    "coordinator": coordinator, "read_timeout_ms": 30, "write_timeout_ms": 30},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"keys": 20, "rate_per_s": 2000, "duration_ms": 400, "warmup_ms": 0},
        "predict": {"trials": 500},
        "run": {"seed": seed},
    }
    with_faults = faults and fanout == "all"
    if with_faults:
        base["faults"] = {"crash_mttf_ms": 100, "crash_mttr_ms": 30, "message_loss": 0.02}
    ops0, ap0, s0 = _frames(base)
    fd = {**base, "failure_detector": {"mode": mode, "detect_delay": "exponential(mean=5)"}}
    ops1, ap1, s1 = _frames(fd)
    pd.testing.assert_frame_equal(ops0, ops1)
    pd.testing.assert_frame_equal(ap0, ap1)
    for k in ("stale_read_fraction", "availability", "t_visibility_ms", "mean_versions_behind"):
        assert s0[k] == s1[k] or (math.isnan(s0[k]) and math.isnan(s1[k]))
    if not with_faults:
        exact = {**base, "cluster": {**base["cluster"], "nodes": n, "sloppy_quorum": True}}
        plain = {**base, "cluster": {**base["cluster"], "nodes": n}}
        ops2, ap2, _ = _frames(exact)
        ops3, ap3, _ = _frames(plain)
        pd.testing.assert_frame_equal(ops2, ops3)
        pd.testing.assert_frame_equal(ap2, ap3)


@pytest.mark.validation
@pytest.mark.parametrize(("sloppy", "store", "walk", "quorum"), [
    (True, "fallback", "distinct", 2), (True, "fallback", "partitions", 2), (True, "off", "partitions", 2),
    (False, "coordinator", "distinct", "any"),
])
def test_every_stale_read_has_a_cause_with_everything_on(sloppy: bool, store: str, walk: str, quorum: Any) -> None:
    """Sloppy quorums (both walks) or coordinator hints with ANY, under crashes, disk losses, message
    loss, a partition, false suspicions, read repair and Merkle anti-entropy: every stale read gets a
    cause (none ``unknown``) and the hint counts add up. (Riak's partition walk used to leave some
    reads ``unknown``: a primary answering a second time stands in for another primary.)"""
    raw = {"cluster": {"nodes": 6, "replication": 3, "read_quorum": 2, "write_quorum": quorum, "sloppy_quorum": sloppy,
                       "fallback_walk": walk, "coordinator": "random", "read_timeout_ms": 100, "write_timeout_ms": 100},
           "latency": {"profile": "lnkd-ssd"},
           "workload": {"keys": 30, "rate_per_s": 2000, "duration_ms": 3000, "warmup_ms": 100},
           "faults": {"crash_mttf_ms": 800, "crash_mttr_ms": 200, "disk_loss_mttf_ms": 3000, "replace_ms": 100,
                      "message_loss": 0.02,
                      "schedule": [{"at_ms": 500, "action": "partition", "groups": [[0, 1], [2, 3, 4, 5]],
                                    "duration_ms": 800}]},
           "read_repair": {"mode": "async", "chance": 0.2},
           "anti_entropy": {"mode": "merkle", "interval": "exponential(mean=100)", "tree_depth": 4},
           "failure_detector": {"mode": "delay", "detect_delay": "exponential(mean=30)", "recover_delay": 20,
                                "false_suspicion_rate_per_s": 0.5, "false_suspicion_ms": "exponential(mean=50)"},
           "hinted_handoff": {"store": store, "interval_ms": 200, "inactivity_timeout_ms": 50, "max_window_ms": 500,
                              "ttl_ms": 2000},
           "predict": {"trials": 500}, "run": {"seed": 24}}
    res = simulate(scenario_from_dict(raw))
    s = res.summary()
    stale = res.frames()["stale_reads"]
    assert len(stale) > 0 and "unknown" not in set(stale["cause"])
    assert s["hints_stored"] == s["hints_delivered"] + s["hints_expired"] + s["hints_lost"] + s["hints_pending"]
    if store != "off":
        assert s["hints_stored"] > 0 and s["hints_delivered"] > 0
