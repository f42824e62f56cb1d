"""Mechanisms built in separate issues, on together: dotted version vectors (issue 11) with sloppy
quorums and hinted handoff under a partition (issue 12). Hinted copies carry the node's stored state,
so a handoff moves whole sibling sets: DVV must still lose no acknowledged write, report no
siblings that are ordered, and no causal violation (what the checker says DVV promises), while the
partition does make the session guarantees fail (reads answered by the other side's fallbacks)."""

from __future__ import annotations

from pbs_sim import check
from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate


def test_dvv_with_sloppy_quorums_and_hinted_handoff_through_a_partition() -> None:
    raw = {
        "cluster": {"nodes": 6, "replication": 3, "read_quorum": 2, "write_quorum": 2, "versioning": "dvv",
                    "sloppy_quorum": True, "coordinator": "random"},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"kind": "open", "keys": 20, "read_fraction": 0.5, "rate_per_s": 2000, "duration_ms": 2500,
                     "warmup_ms": 0, "write_pattern": "rmw", "rmw_gap": "exponential(mean=1)"},
        "failure_detector": {"mode": "delay", "detect_delay": "constant(5)"},
        "hinted_handoff": {"store": "fallback", "inactivity_timeout_ms": 10, "interval_ms": 50},
        "faults": {"schedule": [{"at_ms": 500, "action": "partition", "groups": [[0, 1, 2], [3, 4, 5]],
                                 "duration_ms": 1000}]},
        "run": {"seed": 4},
    }
    res = simulate(scenario_from_dict(raw), record_ops=True)
    s = res.summary()
    assert s["sloppy_writes"] > 0 and s["hints_delivered"] > 0  # the partition forced fallbacks and handoffs
    assert s["hints_delivered"] == s["hints_stored"]  # all handed back after the heal
    assert s["lost_writes"] == 0 and s["false_dominance_lost_writes"] == 0
    report = check(res.history)
    for promise in ("lost_writes", "non_concurrent_siblings", "causal_violations"):
        assert report.findings[promise].count == 0, (promise, report.findings[promise])
    assert report.findings["read_your_writes"].count > 0  # sloppy quorums do not promise sessions
