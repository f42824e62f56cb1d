"""Staleness per (write DC, read DC) pair (pbs_sim.metrics.dc_pairs): hand-computed histories, a
brute-force reference on a simulated history split into two datacenters, and the flat cluster's one
pair ("", "") equal to the whole-run figures exactly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from history_rows import ops_frame_at

from pbs_sim.metrics import dc_pairs as dp
from pbs_sim.metrics import staleness as st_m
from pbs_sim.sim.layout import Layout
from pbs_sim.simulation import simulate
from pbs_sim.stats import wilson

#: two datacenters of three nodes, one rack each: client endpoints -1 (dc1) and -2 (dc2)
TWO_DC = Layout(names=("dc1", "dc2"), node_dc=(0, 0, 0, 1, 1, 1), node_rack=(0, 0, 0, 1, 1, 1), dc_racks=(1, 1),
                rf=(3, 3), clients=(0.5, 0.5), flat=False)
DC1, DC2 = -1, -2


def _hand_history() -> pd.DataFrame:
    # (client, key, kind, issued, completed, status, version, coordinator)
    return ops_frame_at([
        (0, 0, "write", 0.0, 1.0, "ok", 1, DC1),   # w1 from dc1, commits at 1
        (1, 0, "read", 0.5, 0.6, "ok", 0, DC2),    # r3: before any commit
        (0, 0, "read", 1.2, 1.3, "ok", 0, DC1),    # r4: misses w1 (t = 0.2 after it)
        (1, 0, "write", 2.0, 3.0, "ok", 2, DC2),   # w2 from dc2, commits at 3
        (1, 0, "read", 3.5, 3.6, "ok", 2, DC2),    # r2: returns w2
        (0, 0, "read", 4.0, 4.1, "ok", 1, DC1),    # r1: returns w1, misses w2
        (0, 0, "write", 5.0, math.nan, "timeout", 3, DC1),  # never committed: judged against by nobody
    ])


def _tables(ops: pd.DataFrame, layout: Layout | None = TWO_DC, **kw):
    frames = {"ops": ops}
    return dp.dc_pair_tables(ops, frames, layout, 0.0, **kw)


def test_each_pair_judges_its_read_dc_against_its_write_dc_by_hand() -> None:
    curves, table = _tables(_hand_history())
    t = table.set_index(["write_dc", "read_dc"])
    # (dc1, dc1): r4 t = 0.2 stale, r1 t = 3 consistent
    # (dc1, dc2): r3 has no dc1 commit before it, r2 t = 2.5 consistent
    # (dc2, dc1): r4 no dc2 commit before it, r1 t = 1 stale (returned 1 < 2)
    # (dc2, dc2): r3 none, r2 t = 0.5 consistent
    expect = {("dc1", "dc1"): (2, 2, 1), ("dc1", "dc2"): (2, 1, 0), ("dc2", "dc1"): (2, 1, 1), ("dc2", "dc2"): (2, 1, 0)}
    for pair, (reads, judged, stale) in expect.items():
        row = t.loc[pair]
        assert (row["measured_reads"], row["judged_reads"], row["stale_reads"]) == (reads, judged, stale), pair
        assert row["stale_read_fraction"] == stale / reads
    bins = {pair: sub[["t_ms", "t_high_ms", "p_consistent", "n"]].to_numpy().tolist()
            for pair, sub in curves.groupby(["write_dc", "read_dc"])}
    assert bins[("dc1", "dc1")] == [[0.0, 0.5, 0.0, 1], [2.0, 5.0, 1.0, 1]]
    assert bins[("dc1", "dc2")] == [[2.0, 5.0, 1.0, 1]]
    assert bins[("dc2", "dc1")] == [[1.0, 2.0, 0.0, 1]]
    assert bins[("dc2", "dc2")] == [[0.5, 1.0, 1.0, 1]]
    low, high = wilson(np.array([0, 1]), np.array([1, 1]))
    one = curves[(curves["write_dc"] == "dc1") & (curves["read_dc"] == "dc1")]
    assert one["ci_low"].tolist() == pytest.approx(low.tolist()) and one["ci_high"].tolist() == pytest.approx(high.tolist())
    # P(consistent) at t = 0 only where the first bin starts at 0; t-visibility at 90 %: from 2 ms on
    assert t.loc[("dc1", "dc1"), "p_consistent_at_t0"] == 0.0 and math.isnan(t.loc[("dc1", "dc2"), "p_consistent_at_t0"])
    assert t.loc[("dc1", "dc1"), "t_visibility_p90_ms"] == 2.0
    assert math.isnan(t.loc[("dc2", "dc1"), "t_visibility_p90_ms"])  # its only bin is stale: never reached
    assert t.loc[("dc2", "dc2"), "t_visibility_ms"] == 0.5
    s = dp.pair_summary(table)
    assert s["dc_pairs"] == 4 and s["dc_pair_max_stale_read_fraction"] == 0.5
    # a pair without a t = 0 bin, and a pair that never reaches the target: the worst is unknown
    assert math.isnan(s["dc_pair_min_p_consistent_at_t0"]) and math.isnan(s["dc_pair_max_t_visibility_ms"])


def test_probe_offsets_give_exact_t_per_pair() -> None:
    curves, _ = _tables(_hand_history(), at_t=[0.2, 1.0, 3.0])
    got = {pair: dict(zip(sub["t_ms"], zip(sub["p_consistent"], sub["n"], strict=True), strict=True))
           for pair, sub in curves.groupby(["write_dc", "read_dc"])}
    assert got[("dc1", "dc1")][0.2] == (0.0, 1) and got[("dc1", "dc1")][3.0] == (1.0, 1)
    assert got[("dc2", "dc1")][1.0] == (0.0, 1)
    assert got[("dc2", "dc2")][1.0][1] == 0  # nothing at exactly t = 1 there


def test_without_a_layout_or_on_one_datacenter_there_is_one_pair_equal_to_the_whole_history() -> None:
    ops = _hand_history()
    whole = st_m.t_visibility_curve(st_m.read_outcomes(ops))
    curves, table = _tables(ops, None)
    assert table[["write_dc", "read_dc"]].to_numpy().tolist() == [["", ""]]
    pd.testing.assert_frame_equal(curves[list(whole.columns)].reset_index(drop=True), whole)


def _brute_force(ops: pd.DataFrame, dc: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """(reads in b with a committed write from a before them, how many of those are consistent),
    LWW with perfect clocks: the read must return the newest such write or a newer version."""
    judged = consistent = 0
    w = ops[(ops["kind"].astype(str) == "write") & (ops["status"].astype(str) == "ok") & (dc == a)]
    r = ops[(ops["kind"].astype(str) == "read") & (ops["status"].astype(str) == "ok") & (dc == b)]
    for row in r.itertuples():
        before = w[(w["key"] == row.key) & ((w["completed_at"] < row.issued_at) | (
            (w["completed_at"] == row.issued_at) & (w["completed_event"] < row.issued_event)))]
        if before.empty:
            continue
        judged += 1
        consistent += int(row.version >= before["version"].max())
    return judged, consistent


def test_a_simulated_history_split_into_two_datacenters_matches_a_brute_force_count() -> None:
    """A flat run's operations relabelled: even clients coordinate in dc1, odd ones in dc2. Each
    pair's reads and consistent reads (summed over its curve) equal a loop over the reads."""
    res = simulate({"workload": {"rate_per_s": 3000, "duration_ms": 600, "warmup_ms": 0, "keys": 20}}, seed=4,
                   record_ops=True)
    ops = res.frames()["ops"].copy()
    ops["coordinator"] = np.where(ops["client"].to_numpy() % 2 == 0, DC1, DC2)
    dc = dp.op_datacenters(ops, TWO_DC)
    curves, _ = _tables(ops, TWO_DC)
    for (wdc, rdc), sub in curves.groupby(["write_dc", "read_dc"]):
        a, b = TWO_DC.dc_index(wdc), TWO_DC.dc_index(rdc)
        judged, consistent = _brute_force(ops, dc, a, b)
        assert judged > 100
        assert int(sub["n"].sum()) == judged
        assert int(round((sub["p_consistent"] * sub["n"]).sum())) == consistent


@pytest.mark.parametrize("raw", [
    {"workload": {"rate_per_s": 3000, "duration_ms": 800, "warmup_ms": 100}},
    {"workload": {"kind": "pbs-probe", "trials": 1500, "probe_offsets_ms": [0, 0.5, 2, 10]}},
    {"cluster": {"versioning": "dvv"}, "workload": {"rate_per_s": 2000, "duration_ms": 600, "warmup_ms": 100, "keys": 5}},
    {"clocks": {"offset": "normal(mean=0, sd=2)"},
     "workload": {"rate_per_s": 3000, "duration_ms": 600, "warmup_ms": 100, "keys": 5}},
], ids=["open", "probe", "dvv", "skewed-lww"])
def test_a_flat_run_has_one_pair_equal_to_the_whole_run(raw: dict) -> None:
    res = simulate(raw, seed=3, record_ops=True)
    f, s = res.frames(), res.summary()
    curve = f["dc_pairs"]
    assert set(zip(curve["write_dc"], curve["read_dc"], strict=True)) == {("", "")}
    cols = [c for c in res.curve.columns]
    pd.testing.assert_frame_equal(curve[cols].reset_index(drop=True), res.curve.reset_index(drop=True))
    row = f["dc_pairs_summary"].iloc[0]
    assert row["measured_reads"] == s["measured_reads"]
    assert row["stale_read_fraction"] == s["stale_read_fraction"]
    assert s["dc_pair_max_stale_read_fraction"] == s["stale_read_fraction"]
    for ours, theirs in (("dc_pair_min_p_consistent_at_t0", "p_consistent_at_t0"),
                         ("dc_pair_max_t_visibility_ms", "t_visibility_ms")):
        assert (s[ours] == s[theirs]) or (math.isnan(s[ours]) and math.isnan(s[theirs]))
    # the per-pair path itself (not the reuse of the run's outcomes) gives the run's outcomes too
    frames = {"ops": res.history.to_frame("ops"),
              **{k: res.history.to_frame(k) for k in res.history.tables if k != "ops"}}
    ops = frames["ops"]
    again = dp.pair_outcomes(ops, frames, float(res.history.facts.warmup_ms), np.ones(len(ops), bool))
    whole = st_m.store_order_outcomes(ops, frames, float(res.history.facts.warmup_ms))
    pd.testing.assert_frame_equal(again, whole)
