"""Validation of the sibling policies (issue 11, 6(c) and 6(d)).

6(c) compares a measured fraction p_hat over n writes with a closed form p within 4 standard errors
sqrt(p (1 - p) / n), as tests/test_causality_validation.py does; 6(d) is a hypothesis property over
random scenarios with faults and repair.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.checker import check
from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate

TINY = "constant(0.001)"  # negligible latencies


def _within(p_hat: float, p: float, n: int, k: float = 4.0) -> None:
    se = math.sqrt(p * (1 - p) / n)
    assert abs(p_hat - p) <= k * se, f"measured {p_hat:.4f} vs closed form {p:.4f} (n = {n}, se = {se:.4f})"


def _rmw(versioning: str, lam_per_ms: float, delta_ms: float, n_target: int, seed: int) -> dict[str, Any]:
    return {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2, "versioning": versioning},
        "latency": {"profile": "lnkd-ssd", "w": TINY, "a": TINY, "r": TINY, "s": TINY, "other": TINY},
        "workload": {"kind": "open", "keys": 1, "read_fraction": 0.0, "rate_per_s": lam_per_ms * 1000.0,
                     "clients": 100_000, "duration_ms": n_target / lam_per_ms, "warmup_ms": 0,
                     "write_pattern": "rmw", "rmw_gap": f"constant({delta_ms})"},
        "run": {"seed": seed},
    }


@pytest.mark.validation
@pytest.mark.parametrize("lam_per_ms,delta_ms", [(0.05, 10.0), (0.02, 30.0), (0.1, 3.0)])
def test_dvv_sibling_creating_writes_are_one_minus_exp_lambda_delta(lam_per_ms: float, delta_ms: float) -> None:
    """6(c). Read-modify-write clients on one key under DVV: updates start (with their read) as a
    Poisson process of rate lambda and write delta after the read returned; strict quorums (N = 3,
    R = W = 2), negligible latencies, one client-side coordinator (one actor).

    Derivation. Update V starts at s (its read returns every write applied before s: a strict quorum
    with negligible latency) and writes at s + delta carrying that state as its context. The
    coordinator's put discards exactly what the context covers -- every version stored at s -- and
    keeps every version written in (s, s + delta), which V's read did not see: they are concurrent
    with V, so V leaves siblings iff some write lands in (s, s + delta). Writes land delta after their
    starts, so that is iff some other update started in (s - delta, s): with Poisson starts, the
    probability is ``1 - exp(-lambda delta)`` (the number of starts in a window of length delta is
    Poisson(lambda delta)), the same value as LWW's lost-update fraction (issue 10, 7(b)).
    And the same writes: under LWW, update U (start u) is lost iff the next start s lies in
    (u, u + delta), and its overwriter is that next update; under DVV, that next update is exactly
    one whose window (s - delta, s) holds U's start. So, on the same schedule (same seed: the
    policy draws no random numbers), the DVV writes that leave siblings are exactly the overwriters
    of LWW's lost updates.
    """
    n_target = 1500
    dvv = simulate(scenario_from_dict(_rmw("dvv", lam_per_ms, delta_ms, n_target, 11)), record_ops=True)
    lww = simulate(scenario_from_dict(_rmw("lww", lam_per_ms, delta_ms, n_target, 11)), record_ops=True)
    fd, fl = dvv.frames(), lww.frames()
    ws = fd["write_siblings"]
    n = len(ws)
    p_hat = dvv.summary()["write_sibling_fraction"]
    assert p_hat == pytest.approx(float((ws["siblings"] > 1).mean()))
    _within(p_hat, 1.0 - math.exp(-lam_per_ms * delta_ms), n)
    assert fd["ops"][["kind", "issued_at", "version"]].equals(fl["ops"][["kind", "issued_at", "version"]])
    creators = set(ws.loc[ws["siblings"] > 1, "op_id"].tolist())
    assert creators == set(fl["overwritten_updates"]["overwriter_op_id"].tolist())
    # and DVV itself loses nothing: every update survives as a sibling or in a successor's past
    s = dvv.summary()
    assert s["false_dominance_lost_writes"] == 0 and s["lost_items"] == 0 and s["false_concurrency"] == 0


SCENARIO = st.fixed_dictionaries({
    "n": st.integers(1, 3), "r": st.integers(1, 3), "w": st.integers(1, 3),
    "coordinator": st.sampled_from(["client", "random", "first-replica"]),
    "pattern": st.sampled_from(["blind", "rmw"]), "keys": st.integers(1, 4),
    "loss": st.sampled_from([0.0, 0.05, 0.2]), "crash": st.booleans(), "partition": st.booleans(),
    "repair": st.sampled_from(["off", "async", "blocking"]),
    "ae": st.sampled_from(["off", "merkle", "gossip-push-pull"]),
    "versioning": st.sampled_from(["dvv", "vv-client"]), "seed": st.integers(0, 10_000),
})


@pytest.mark.validation
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=SCENARIO)
def test_dvv_never_loses_an_acknowledged_write_nor_reports_false_concurrency(p: dict[str, Any]) -> None:
    """6(d). DVV (and client-id vectors), over random scenarios with crashes, partitions, message
    loss, read repair and anti-entropy: no acknowledged write is lost (the final state holds it or a
    version descending from it), no read returns siblings that are ordered, and under union merge
    no item of an acknowledged write is lost. The checker agrees (exit status 0)."""
    n = p["n"]
    versioning, actor = ("vv", "client") if p["versioning"] == "vv-client" else ("dvv", None)
    cluster: dict[str, Any] = {"nodes": 4, "replication": n, "read_quorum": min(p["r"], n),
                               "write_quorum": min(p["w"], n), "coordinator": p["coordinator"],
                               "versioning": versioning, "read_timeout_ms": 50, "write_timeout_ms": 50}
    if actor:
        cluster["vv_actor"] = actor
    faults: dict[str, Any] = {"message_loss": p["loss"]}
    if p["crash"]:
        faults.update(crash_mttf_ms=80, crash_mttr_ms=20)
    if p["partition"]:
        faults["schedule"] = [{"at_ms": 50, "action": "partition", "groups": [[0, 1], [2, 3]], "duration_ms": 60}]
    ae: dict[str, Any] = {"mode": p["ae"]}
    if p["ae"] != "off":
        ae["interval"] = "exponential(mean=20)"
    raw = {
        "cluster": cluster, "latency": {"profile": "lnkd-disk"},
        "workload": {"keys": p["keys"], "duration_ms": 300, "rate_per_s": 1500, "read_fraction": 0.5,
                     "warmup_ms": 0, "clients": 8, "write_pattern": p["pattern"], "merge": "union"},
        "read_repair": {"mode": p["repair"]}, "anti_entropy": ae, "faults": faults, "run": {"seed": p["seed"]},
    }
    res = simulate(scenario_from_dict(raw), record_ops=True)
    s = res.summary()
    assert s["false_dominance_lost_writes"] == 0, s
    assert s["false_concurrency"] == 0
    assert s["lost_items"] == 0
    rep = check(res)
    assert rep.ok, rep.render()
