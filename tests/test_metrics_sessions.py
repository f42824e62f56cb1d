"""Session guarantees and latency percentiles on hand-made histories (worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from history_rows import ops_frame

from pbs_sim.metrics.latency import availability, latency_table, outcome_counts
from pbs_sim.metrics.sessions import session_summary, session_violations

ROWS = [
    (1, 1, "read", 0.0, 1.0, "ok", 2),    # 0: client 1 reads v2
    (1, 1, "read", 0.5, 1.5, "ok", 1),    # 1: overlaps read 0 (not yet completed): no violation
    (1, 1, "read", 2.0, 3.0, "ok", 1),    # 2: older than v2 already read: monotonic-read violation
    (1, 2, "read", 2.0, 3.0, "ok", 0),    # 3: another key: nothing to violate
    (2, 1, "write", 5.0, 10.0, "ok", 3),  # 4: client 2 commits v3 at 10
    (2, 1, "read", 9.0, 9.5, "ok", 2),    # 5: before its write committed: fine
    (2, 1, "read", 11.0, 12.0, "ok", 2),  # 6: older than its own committed v3: RYW violation
    (3, 1, "read", 11.0, 12.0, "ok", 2),  # 7: someone else's write: no RYW violation
    (2, 1, "read", 13.0, 14.0, "ok", 3),  # 8: fine
    (2, 1, "write", 15.0, 99.0, "timeout", 4),  # 9: never committed
    (2, 1, "read", 16.0, 17.0, "ok", 3),  # 10: fine (v4 not committed); MR: prior max 3 -> fine
]


def test_session_violations_by_hand() -> None:
    v = session_violations(ops_frame(ROWS))
    assert list(v["op_id"]) == [0, 1, 2, 3, 5, 6, 7, 8, 10]
    assert list(v["monotonic_read_violation"]) == [False, False, True, False, False, False, False, False, False]
    assert list(v["read_your_writes_violation"]) == [False, False, False, False, False, True, False, False, False]
    s = session_summary(v)
    assert s["monotonic_read_violation_rate"] == pytest.approx(1 / 9)
    assert s["read_your_writes_violation_rate"] == pytest.approx(1 / 9)
    # eligible: reads with an earlier completed read by the same client on the key / an own committed write
    assert s["monotonic_read_eligible"] == 4  # ops 2, 6, 8, 10 (op 1 starts before op 0 completes)
    assert s["read_your_writes_eligible"] == 3  # ops 6, 8, 10


def test_warmup_history_counts_for_sessions() -> None:
    v = session_violations(ops_frame(ROWS), warmup_ms=2.0)
    assert list(v["op_id"]) == [2, 3, 5, 6, 7, 8, 10]
    assert v["monotonic_read_violation"].sum() == 1  # op 2 still sees warm-up read 0


def test_latency_percentiles_are_order_statistics() -> None:
    rows = [(0, k, "read", 0.0, float(k + 1), "ok", 0) for k in range(1000)]  # latencies 1..1000
    rows += [(0, 0, "write", 0.0, 4.0, "ok", 1), (0, 0, "write", 0.0, 2.0, "ok", 2), (0, 0, "write", 0.0, None, "timeout", 3)]
    ops = ops_frame(rows)
    t = latency_table(ops).set_index("kind")
    assert (t.loc["read", "p50_ms"], t.loc["read", "p99_ms"], t.loc["read", "p999_ms"]) == (500.0, 990.0, 999.0)
    assert t.loc["read", "mean_ms"] == pytest.approx(500.5)
    assert (t.loc["write", "n"], t.loc["write", "p50_ms"], t.loc["write", "p999_ms"]) == (2, 2.0, 4.0)
    assert availability(ops) == pytest.approx(1002 / 1003)
    counts = outcome_counts(ops)
    assert counts[(counts.kind == "write") & (counts.status == "timeout")]["count"].iloc[0] == 1
    assert np.isnan(latency_table(ops_frame([])).loc[0, "p50_ms"])
