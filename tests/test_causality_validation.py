"""Validation of the LWW-loss and lost-update metrics against closed forms (issue 10, 7(a), 7(b)), and
the property that perfect clocks with one writer per key lose nothing and change nothing (7(d)).

Intervals: each measured fraction p_hat over n independent trials is compared with the closed form
p within 4 standard errors, sqrt(p (1 - p) / n) -- wide enough not to flake across seeds, narrow
enough that a wrong formula (say, the window doubled or halved) lands far outside.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate

TINY = "constant(0.001)"  # negligible latencies


def _within(p_hat: float, p: float, n: int, k: float = 4.0) -> None:
    se = math.sqrt(p * (1 - p) / n)
    assert abs(p_hat - p) <= k * se, f"measured {p_hat:.4f} vs closed form {p:.4f} (n = {n}, se = {se:.4f})"


@pytest.mark.validation
@pytest.mark.parametrize("lam_per_ms,d_ms", [(0.05, 10.0), (0.1, 10.0), (0.02, 20.0)])
def test_blind_writer_behind_by_d_loses_one_minus_exp_lambda_d(lam_per_ms: float, d_ms: float) -> None:
    """7(a). Two clients write one key blindly with client-side timestamps: A (client 2) as a Poisson
    process of rate lambda, B (client 3) at 10 writes/s, B's clock d behind A's (A's is exact).
    Latencies are negligible, so a write is applied and acknowledged the instant it is issued.

    Derivation. B's write w issued at t carries stamp t - d. A write u of A beats it in the store's
    order iff stamp(u) > t - d; u does not follow w in the true order iff u was issued before w was
    acknowledged (~t): there is no causal link between the two clients (neither reads). So w is lost
    iff A issued at least one write in (t - d, t) -- A's writes issued after t are stamped after
    t > t - d but follow w in real time; B's own earlier writes are stamped lower. For a Poisson
    process the count in a window of length d is Poisson(lambda d), hence
    ``P(lost) = 1 - exp(-lambda d)``. B's writes are 100 ms apart on average, far more than d, so the
    windows of successive B writes barely overlap and the trials are close to independent; the
    first d ms after the writers start (a truncated window) are a fraction d / T < 0.03 % of the run.
    """
    raw = {
        "cluster": {"nodes": 1, "replication": 1, "read_quorum": 1, "write_quorum": 1},
        "latency": {"profile": "lnkd-ssd", "w": TINY, "a": TINY, "r": TINY, "s": TINY, "other": TINY},
        "workload": {"kind": "open", "keys": 1, "read_fraction": 1.0, "rate_per_s": 1, "clients": 1,
                     "duration_ms": 150_000, "warmup_ms": 0,
                     "hot_key_writers_per_s": [lam_per_ms * 1000.0, 10.0]},
        "clocks": {"timestamp_source": "client", "client_offsets_ms": [0.0, 0.0, 0.0, -d_ms]},
        "run": {"seed": 7},
    }
    res = simulate(scenario_from_dict(raw))
    ops = res.history.to_frame("ops")
    b = ops[(ops["kind"] == "write") & (ops["client"] == 3) & (ops["status"] == "ok")]
    lost = res.frames()["lww_losses"]
    lost_b = lost[lost["op_id"].isin(b["op_id"])]
    assert (lost_b["cause"] == "clock-skew").all()
    _within(len(lost_b) / len(b), 1.0 - math.exp(-lam_per_ms * d_ms), len(b))
    # A's clock is ahead of B's: A's acknowledged writes lose only to... nothing B stamps later than them
    a = ops[(ops["kind"] == "write") & (ops["client"] == 2)]
    assert lost["op_id"].isin(a["op_id"]).sum() == 0


@pytest.mark.validation
@pytest.mark.parametrize("lam_per_ms,delta_ms", [(0.05, 10.0), (0.02, 30.0), (0.1, 3.0)])
def test_read_modify_write_loses_one_minus_exp_lambda_delta(lam_per_ms: float, delta_ms: float) -> None:
    """7(b). Read-modify-write clients on one key: updates start (with their read) as a Poisson
    process of rate lambda; each writes delta after its read returned. Strict quorums (N = 3,
    R = W = 2), negligible latencies, perfect clocks; 10^5 clients, so two updates of one session are
    practically never adjacent.

    Derivation. With perfect clocks the store's order is issue order, and with a constant gap the
    writes are issued in the order of their starts. Update U starts at s and writes at s + delta; its
    overwriter V is the next write above it, i.e. the next update to start, at s' > s. V's read (a
    strict quorum with negligible latency) returns the newest write issued before s': it includes U
    iff U's write came first, s + delta < s'. Otherwise it returned an older version, whose past does
    not contain U (U came later), so V's causal past misses U: a lost update. Inter-start gaps of a
    Poisson process are Exp(lambda) and independent, so the overwriter misses U with
    ``P(s' - s < delta) = 1 - exp(-lambda delta)`` (``overwritten_update_fraction``) -- with perfect
    clocks. U's value is lost only if no later write took it up either (issue 18: value level):
    ``(1 - exp(-2 lambda delta)) / 2`` (tests/test_lost_updates_validation.py derives it).
    """
    n_target = 1500
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2},
        "latency": {"profile": "lnkd-ssd", "w": TINY, "a": TINY, "r": TINY, "s": TINY, "other": TINY},
        "workload": {"kind": "open", "keys": 1, "read_fraction": 0.0, "rate_per_s": lam_per_ms * 1000.0,
                     "clients": 100_000, "duration_ms": n_target / lam_per_ms, "warmup_ms": 0,
                     "write_pattern": "rmw", "rmw_gap": f"constant({delta_ms})"},
        "run": {"seed": 11},
    }
    res = simulate(scenario_from_dict(raw))
    s = res.summary()
    assert s["clock_offset_sd_ms"] == 0.0 and s["causality_tracked"] == 1.0
    n = int(len(res.frames()["rmw_reads"]))
    _within(s["overwritten_update_fraction"], 1.0 - math.exp(-lam_per_ms * delta_ms), n)
    _within(s["lost_update_fraction"], (1.0 - math.exp(-2.0 * lam_per_ms * delta_ms)) / 2.0, n)


STALENESS_AND_SESSIONS = (
    "stale_read_fraction", "mean_versions_behind", "p_k_staleness", "p_consistent_at_t0", "t_visibility_ms",
    "monotonic_read_violation_rate", "read_your_writes_violation_rate", "reads", "writes", "failed_ops",
)


@pytest.mark.validation
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 3), r=st.integers(1, 3), w=st.integers(1, 3), profile=st.sampled_from(["lnkd-ssd", "lnkd-disk", "ymmr"]),
    kind=st.sampled_from(["open", "closed"]), keys=st.integers(1, 20), coordinator=st.sampled_from(["client", "random"]),
    faults=st.booleans(), repair=st.sampled_from(["off", "async"]), seed=st.integers(0, 10_000),
)
def test_perfect_clocks_and_one_writer_per_key_lose_nothing_and_change_nothing(
    n: int, r: int, w: int, profile: str, kind: str, keys: int, coordinator: str, faults: bool, repair: str, seed: int,
) -> None:
    """7(d). Perfect clocks, one client (so one writer per key), random quorums, latencies, workload,
    faults and read repair: no acknowledged write is lost to LWW (the client's later writes carry its
    earlier ones in their causal context, and are stamped later), no write session guarantee is
    broken, and every staleness and session figure equals the plain run's -- the total-order
    definitions -- although the tracked run computes them through the store-rank path."""
    raw: dict[str, Any] = {
        "cluster": {"nodes": 3, "replication": n, "read_quorum": min(r, n), "write_quorum": min(w, n),
                    "coordinator": coordinator},
        "latency": {"profile": profile},
        "workload": {"kind": kind, "keys": keys, "clients": 1, "rate_per_s": 2000, "read_fraction": 0.6,
                     "duration_ms": 150, "warmup_ms": 10, "think_time": "exponential(mean=0.5)"},
        "read_repair": {"mode": repair},
        "run": {"seed": seed},
    }
    if faults:
        raw["faults"] = {"crash_mttf_ms": 60, "crash_mttr_ms": 20, "message_loss": 0.02}
    plain = simulate(scenario_from_dict(raw)).summary()
    raw["clocks"] = {"offset": "constant(0)", "causality": "on"}
    tracked = simulate(scenario_from_dict(raw))
    s = tracked.summary()
    assert s["lww_lost_writes"] == 0 and s["lost_updates"] == 0
    assert s["monotonic_write_violation_rate"] in (0.0,) or math.isnan(s["monotonic_write_violation_rate"])
    assert s["writes_follow_reads_violation_rate"] in (0.0,) or math.isnan(s["writes_follow_reads_violation_rate"])
    for k in STALENESS_AND_SESSIONS:
        a, b = plain[k], s[k]
        assert (a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), k


def test_lww_loss_needs_no_clock_skew_to_happen_under_concurrency() -> None:
    """A sanity check on the definitions with perfect clocks and many writers of one key: losses do
    occur (concurrent writes), and all of them are caused by concurrency or ties, never clock skew."""
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"keys": 1, "rate_per_s": 2000, "read_fraction": 0.5, "duration_ms": 300, "warmup_ms": 0},
        "clocks": {"causality": "on"},
    }
    res = simulate(scenario_from_dict(raw))
    lost = res.frames()["lww_losses"]
    assert len(lost) > 0 and set(lost["cause"]) <= {"concurrency", "tie"}
    assert res.summary()["clock_offset_sd_ms"] == 0.0


def test_metrics_frames_are_consistent_with_the_summary() -> None:
    raw = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 1, "coordinator": "random"},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"keys": 3, "rate_per_s": 3000, "read_fraction": 0.5, "duration_ms": 300, "warmup_ms": 0},
        "clocks": {"offset": "normal(0, 5)", "drift_ppm": "normal(0, 100)", "resync_interval_ms": 50,
                   "resync_error": "normal(0, 1)"},
    }
    res = simulate(scenario_from_dict(raw))
    s, fr = res.summary(), res.frames()
    assert s["lww_lost_writes"] == len(fr["lww_losses"]) > 0
    assert s["lww_lost_clock_skew"] + s["lww_lost_concurrency"] + s["lww_lost_tie"] == s["lww_lost_writes"]
    assert 1.0 < s["clock_offset_sd_ms"] < 10.0
    assert s["stale_unknown_per_read"] == 0.0  # every stale read still gets a cause, in the store's order
    ops = res.history.to_frame("ops").set_index("op_id")
    lost = fr["lww_losses"]
    # every winner is stamped higher than its loser, and was issued before the loser was acknowledged
    assert (lost["winner_timestamp_ms"].to_numpy() >= lost["timestamp_ms"].to_numpy()).all()
    assert (ops.loc[lost["winner_op_id"], "issued_at"].to_numpy() <= ops.loc[lost["op_id"], "completed_at"].to_numpy()).all()
    # the summary's sessions figures come from the frame of per-write flags
    sv = fr["write_sessions"]
    assert s["monotonic_write_violation_rate"] == sv["monotonic_write_violation"].mean()


def test_writes_lost_to_lww_are_not_durability_losses() -> None:
    """Skewed clocks, no data-destroying fault (the faults mechanism is on but never fires): many
    acknowledged writes are lost to LWW, yet no write is a durability loss -- the durability replay
    compares versions in the store's order, where the newest stored version covers the dropped one."""
    raw = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 1, "coordinator": "random"},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"keys": 5, "rate_per_s": 3000, "read_fraction": 0.7, "duration_ms": 500, "warmup_ms": 0},
        "clocks": {"offset": "normal(0, 20)"}, "faults": {"crash_mttf_ms": 1e9},
    }
    s = simulate(scenario_from_dict(raw)).summary()
    assert s["lww_lost_writes"] > 50
    assert s["lost_writes"] == 0 and s["keys_lost"] == 0
