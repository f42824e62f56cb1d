"""Every stale read carries a cause (issue 5, validation d), and the causes are the right ones."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.metrics.causes import CAUSES, cause_counts, stale_read_causes
from pbs_sim.simulation import simulate


def _run(r: int, w: int, faults: dict[str, Any] | None = None, seed: int = 1, **extra: Any) -> Any:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": r, "write_quorum": w,
                    "read_timeout_ms": 200, "write_timeout_ms": 200},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"keys": 40, "rate_per_s": 3000, "duration_ms": 4000, "warmup_ms": 0,
                     "key_distribution": "zipf(s=0.99)", "read_fraction": 0.7},
        **extra,
    }
    if faults:
        raw["faults"] = faults
    return simulate(scenario_from_dict(raw), seed=seed)


@pytest.mark.validation
def test_strict_quorum_with_disk_loss_every_stale_read_has_a_cause() -> None:
    """R + W > N: quorums intersect, so a stale read needs a copy that vanished — the only cause
    possible here is a disk loss (crashes, partitions and message loss only make operations fail)."""
    res = _run(2, 2, {"disk_loss_mttf_ms": 3000, "replace_ms": 50, "crash_mttf_ms": 2000,
                      "crash_mttr_ms": 100, "message_loss": 0.02})
    fr = res.frames()
    stale = fr["stale_reads"]
    s = res.summary()
    assert s["fault_disk_losses"] > 0
    assert len(stale) == round(s["stale_read_fraction"] * s["measured_reads"])
    assert len(stale) > 0, "the scenario should produce stale reads through disk loss"
    assert set(stale["cause"]) == {"replica-restored-empty"}


def test_strict_quorum_without_faults_has_no_stale_reads() -> None:
    res = _run(2, 2)
    assert len(res.frames()["stale_reads"]) == 0


def test_partial_quorum_without_faults_is_partial_quorum() -> None:
    res = _run(1, 1)
    stale = res.frames()["stale_reads"]
    assert len(stale) > 0 and set(stale["cause"]) == {"partial-quorum"}
    assert res.summary()["stale_partial_quorum_per_read"] == pytest.approx(res.summary()["stale_read_fraction"])


@pytest.mark.validation
def test_partial_quorum_with_crashes_and_loss_has_no_unknown_cause() -> None:
    res = _run(1, 1, {"crash_mttf_ms": 1000, "crash_mttr_ms": 300, "message_loss": 0.05})
    stale = res.frames()["stale_reads"]
    causes = set(stale["cause"])
    assert "unknown" not in causes and causes <= set(CAUSES)
    assert "replica-missed-write" in causes and "partial-quorum" in causes
    counts = res.frames()["stale_causes"]
    assert counts["stale_reads"].sum() == len(stale)


def test_hand_made_trace() -> None:
    """N = 3, R = W = 1. Write v1 of key 0 commits at 2; replica 2 gets it at 9 (in flight when read A
    starts at 5 -> partial-quorum). Write v2 commits at 12, its W to replica 1 was dropped; read B at 20
    returns v1 -> replica-missed-write. Replica 0, which held v2, loses its disk at 30; read C at 31
    returns v1 -> replica-restored-empty."""
    ops = pd.DataFrame({
        "op_id": [0, 1, 2, 3, 4], "key": [0] * 5, "kind": ["write", "read", "write", "read", "read"],
        "status": ["ok"] * 5, "issued_at": [0.0, 5.0, 10.0, 20.0, 31.0],
        "completed_at": [2.0, 6.0, 12.0, 21.0, 32.0], "version": [1, 0, 2, 1, 1], "client": [0] * 5,
    })
    applies = pd.DataFrame({
        "at": [1.0, 1.5, 9.0, 11.0, 11.5], "node": [0, 1, 2, 0, 2], "key": [0] * 5,
        "version": [1, 1, 1, 2, 2], "via": ["write"] * 5,
    })
    faults = pd.DataFrame({"at": [30.0], "node": [0], "action": ["wipe"], "detail": [""]})
    dropped = pd.DataFrame({"at": [10.5], "op_id": [2], "key": [0], "version": [2], "node": [1], "reason": ["loss"]})
    outcomes = pd.DataFrame({
        "op_id": [1, 3, 4], "key": [0, 0, 0], "start_at": [5.0, 20.0, 31.0], "completed_at": [6.0, 21.0, 32.0],
        "version": [0, 1, 1], "w_star": [1, 2, 2], "t_ms": [3.0, 8.0, 19.0], "consistent": [False, False, False],
    })
    c = stale_read_causes(outcomes, ops, applies, faults, 3, 1, 1, dropped_writes=dropped)
    # read C: node 2 still holds v2, but node 0 (a holder) was wiped before the read ended
    assert c["cause"].tolist() == ["partial-quorum", "replica-missed-write", "replica-restored-empty"]
    assert c["overlaps_write"].tolist() == [False, False, False]
    counts = cause_counts(c, 3).set_index("cause")
    assert counts.loc["partial-quorum", "per_read"] == pytest.approx(1 / 3)
