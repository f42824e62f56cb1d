"""Staleness metrics on hand-made histories, every number worked out by hand (docs/design.md definitions)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from history_rows import ops_frame

from pbs_sim.history import OK, READ, WRITE, History
from pbs_sim.metrics import siblings as sm
from pbs_sim.metrics import wilson
from pbs_sim.metrics.staleness import (
    k_staleness,
    per_key,
    read_outcomes,
    t_visibility,
    t_visibility_curve,
    versions_behind_counts,
)

# key 1: w1 commits at 5, w2 (issued second) commits late at 20, w3 commits at 10, w4 times out.
ROWS = [
    (9, 1, "write", 0.0, 5.0, "ok", 1),
    (9, 1, "write", 1.0, 20.0, "ok", 2),
    (9, 1, "write", 2.0, 10.0, "ok", 3),
    (9, 1, "write", 3.0, 40.0, "timeout", 4),
    (1, 1, "read", 4.0, 4.5, "ok", 0),    # a: nothing committed yet -> no w*, consistent
    (1, 1, "read", 5.0, 5.5, "ok", 0),    # b: w*=1 committed at 5 (t=0): stale, 1 behind
    (1, 1, "read", 12.0, 13.0, "ok", 1),  # c: committed w1, w3 -> w*=3 (t=2): stale, 1 behind (w3)
    (1, 1, "read", 12.0, 13.0, "ok", 2),  # d: w2 applied but uncommitted: stale, 1 behind (w3)
    (1, 1, "read", 25.0, 26.0, "ok", 3),  # e: w*=3, t=15: consistent
    (1, 1, "read", 25.0, 26.0, "ok", 1),  # f: 2 behind (w2, w3)
    (1, 1, "read", 30.0, 31.0, "ok", 4),  # g: the failed write's version: newer than w*, consistent
    (1, 1, "read", 31.0, 45.0, "timeout", 0),  # not measured: failed
    (1, 2, "read", 6.0, 7.0, "ok", 0),    # h: key 2 never written
]


def test_read_outcomes_by_hand() -> None:
    out = read_outcomes(ops_frame(ROWS))
    assert list(out["op_id"]) == [4, 5, 6, 7, 8, 9, 10, 12]
    assert list(out["w_star"]) == [0, 1, 3, 3, 3, 3, 3, 0]
    t = out["t_ms"].to_numpy()
    assert math.isnan(t[0]) and math.isnan(t[7])
    assert list(t[1:7]) == [0.0, 2.0, 2.0, 15.0, 15.0, 20.0]
    assert list(out["consistent"]) == [True, False, False, False, True, False, True, True]
    assert list(out["versions_behind"]) == [0, 1, 1, 1, 0, 2, 0, 0]


def test_warmup_reads_are_not_measured_but_warmup_writes_count() -> None:
    out = read_outcomes(ops_frame(ROWS), warmup_ms=12.0)
    assert list(out["op_id"]) == [6, 7, 8, 9, 10]
    assert list(out["w_star"]) == [3, 3, 3, 3, 3]


def test_curve_at_offsets_and_bins() -> None:
    out = read_outcomes(ops_frame(ROWS))
    curve = t_visibility_curve(out, at_t=[0.0, 2.0, 15.0, 99.0])
    assert list(curve["n"]) == [1, 2, 2, 0]
    np.testing.assert_allclose(curve["p_consistent"].to_numpy()[:3], [0.0, 0.0, 0.5])
    assert math.isnan(curve["p_consistent"].iloc[3])
    binned = t_visibility_curve(out, edges=[0.0, 1.0, 10.0, 100.0])
    assert list(binned["t_ms"]) == [0.0, 1.0, 10.0]
    assert list(binned["t_high_ms"]) == [1.0, 10.0, 100.0]
    assert list(binned["n"]) == [1, 2, 3]
    np.testing.assert_allclose(binned["p_consistent"], [0.0, 0.0, 2 / 3])


def test_wilson_interval_matches_textbook_values() -> None:
    # 8 successes out of 10: Wilson 95 % interval (0.4902, 0.9433); 0/10: (0, 0.2775)
    lo, hi = wilson(np.array([8, 0]), np.array([10, 10]))
    np.testing.assert_allclose(lo, [0.4902, 0.0], atol=1e-4)
    np.testing.assert_allclose(hi, [0.9433, 0.2775], atol=1e-4)


def test_t_visibility_is_where_the_curve_stays_above_target() -> None:
    curve = pd.DataFrame({"t_ms": [0.0, 1.0, 2.0, 5.0], "p_consistent": [0.5, 0.999, 0.998, 1.0]})
    assert t_visibility(curve, 0.999) == 5.0
    assert t_visibility(curve, 0.4) == 0.0
    assert math.isnan(t_visibility(curve.iloc[:3], 0.9995))


def test_k_staleness_and_versions_behind_counts() -> None:
    out = read_outcomes(ops_frame(ROWS))
    ks = k_staleness(out, (1, 2, 3))
    # versions_behind = [0, 1, 1, 1, 0, 2, 0, 0]
    np.testing.assert_allclose(ks["p"], [4 / 8, 7 / 8, 1.0])
    assert (ks["n"] == 8).all()
    vb = versions_behind_counts(out)
    assert list(vb["versions_behind"]) == [0, 1, 2] and list(vb["count"]) == [4, 3, 1]


def test_per_key() -> None:
    ops = ops_frame(ROWS)
    pk = per_key(read_outcomes(ops), ops)
    assert list(pk["key"]) == [1, 2]
    assert list(pk["reads"]) == [7, 1] and list(pk["stale_reads"]) == [4, 0] and list(pk["writes"]) == [3, 0]
    assert pk["mean_versions_behind"].iloc[0] == pytest.approx(5 / 7)


def test_empty_inputs() -> None:
    empty = ops_frame([])
    out = read_outcomes(empty)
    assert out.empty
    assert t_visibility_curve(out).empty
    only_reads = read_outcomes(ops_frame([(1, 1, "read", 0.0, 1.0, "ok", 0)]))
    assert list(only_reads["consistent"]) == [True]


def test_a_commit_and_a_read_start_at_one_instant_are_ordered_by_event() -> None:
    """A write commits at t = 5 and two reads of its key start at t = 5: one issued before the commit
    was processed (its issue event is earlier), one after. Only the second started after the commit;
    comparing the float instants alone counted the commit for both (the first read, returning the old
    version, was called stale)."""
    h = History()
    w = h.add_op(9, 1, WRITE, -1, 0.0, 3)
    h.set_version(w, 1)
    before = h.add_op(1, 1, READ, -1, 5.0, 3)  # issued at 5, before the commit event below
    h.complete(w, 5.0, OK)
    after = h.add_op(2, 1, READ, -1, 5.0, 3)
    h.complete(before, 6.0, OK, 0)
    h.complete(after, 6.0, OK, 0)
    out = read_outcomes(h.to_frame()).set_index("op_id")
    assert out.loc[before, "w_star"] == 0 and out.loc[before, "consistent"]
    assert np.isnan(out.loc[[before], "t_ms"].to_numpy(float)).all() and out.loc[before, "versions_behind"] == 0
    assert out.loc[after, "w_star"] == 1 and not out.loc[after, "consistent"]
    assert out.loc[after, "t_ms"] == 0.0 and out.loc[after, "versions_behind"] == 1
    # without event columns (a frame from elsewhere) a commit at the read's instant counts, as before
    plain = read_outcomes(h.to_frame().drop(columns=["issued_event", "completed_event"])).set_index("op_id")
    assert list(plain["w_star"]) == [1, 1]


def test_partial_order_staleness_orders_a_tie_by_event_too() -> None:
    """Sibling policies (``siblings.partial_order_outcomes``): write 2 commits at t = 5, the read starts
    at t = 5 but before that commit (events 4 < 5) and returns version 1 only. Write 2 was not
    committed before the read started: consistent, 0 behind (the float comparison said 1 behind)."""
    ops = pd.DataFrame({
        "op_id": [0, 1, 2], "client": [1, 2, 3], "key": 0, "kind": ["write", "write", "read"],
        "coordinator": -1, "issued_at": [0.0, 1.0, 5.0], "completed_at": [2.0, 5.0, 6.0],
        "status": "ok", "version": [1, 2, 1], "issued_event": [1, 3, 4], "completed_event": [2, 5, 6],
    })
    base = read_outcomes(ops)
    assert base["w_star"].tolist() == [1] and base["consistent"].tolist() == [True]
    no_parents = {"causal_parents": pd.DataFrame({"op_id": [], "parent": []}, dtype="int64")}
    out = sm.partial_order_outcomes(base, ops, no_parents)
    assert out["consistent"].tolist() == [True] and out["versions_behind"].tolist() == [0]
    later = ops.assign(issued_event=[1, 3, 7], completed_event=[2, 5, 8])  # the read starts after it
    out = sm.partial_order_outcomes(read_outcomes(later), later, no_parents)
    assert out["consistent"].tolist() == [False] and out["versions_behind"].tolist() == [1]
