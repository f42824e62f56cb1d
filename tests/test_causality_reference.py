"""The bounded causality metrics against a brute-force reference on small random histories.

``pbs_sim.metrics.causality.analyse`` decides the true order only inside the window of writes issued
while a write was in flight, to stay bounded on 10^6-operation histories. The reference here builds
the whole relation per key -- causal-parent edges plus real-time edges (acknowledged before issued,
by event numbers) -- closes it transitively (Warshall) and applies the definitions literally:

* LWW-lost: acknowledged w, some u that may be stored (ok or timed out) is above w in the store's
  order and w does not happen before u; the winner is the lowest such u in the store's order;
* concurrent pairs: acknowledged x, y with neither happening before the other;
* overwritten updates: an acknowledged read-modify-write whose next stored write above it in the
  store's order does not have it in its causal past (the carried contexts' edges only);
* lost updates (value level): an acknowledged read-modify-write with a stored write above it in the
  store's order, none of those having it in its causal past.

The true order's edges are the carried contexts (``causal_parents``) and what the writing session
knew (``session_parents``); the causal past is the contexts' alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.config import scenario_from_dict
from pbs_sim.metrics import causality
from pbs_sim.simulation import simulate


def reference(ops: Any, frames: Any) -> tuple[set[tuple[int, int]], int, set[int], set[int]]:
    w = causality.writes_table(ops, frames)
    cp = frames.get("causal_parents")
    sp = frames.get("session_parents")
    rmw = set(frames["rmw_reads"]["op_id"].tolist()) if frames.get("rmw_reads") is not None else set()
    lost: set[tuple[int, int]] = set()
    pairs = 0
    lost_up: set[int] = set()
    over_up: set[int] = set()
    for _, g in w.groupby("key"):
        g = g.sort_values("issued_event").reset_index(drop=True)
        n = len(g)
        row = {int(s): i for i, s in enumerate(g["seq"])}
        ops_ = g["op_id"].to_numpy()
        par = np.zeros((n, n), bool)
        ses = np.zeros((n, n), bool)
        idx = {int(o): i for i, o in enumerate(ops_)}
        for table, mat in ((cp, par), (sp, ses)):
            if table is not None and len(table):
                sub = table[table["op_id"].isin(ops_)]
                for o, p in zip(sub["op_id"], sub["parent"], strict=True):
                    mat[row[int(p)], idx[int(o)]] = True
        ack, iss = g["ack_event"].to_numpy(), g["issued_event"].to_numpy()
        hb = par | ses | (ack[:, None] < iss[None, :])
        causal = par.copy()
        for m in range(n):  # Warshall
            hb |= hb[:, [m]] & hb[[m], :]
            causal |= causal[:, [m]] & causal[[m], :]
        rank, ok, applied = g["rank"].to_numpy(), g["ok"].to_numpy(), g["applied"].to_numpy()
        order = np.argsort(rank)
        for i in range(n):
            if not ok[i]:
                continue
            beaters = [u for u in order if rank[u] > rank[i] and applied[u] and not hb[i, u]]
            if beaters:
                lost.add((int(ops_[i]), int(ops_[beaters[0]])))
            if int(ops_[i]) in rmw:
                above = [u for u in order if rank[u] > rank[i] and applied[u]]
                if above and not causal[i, above[0]]:
                    over_up.add(int(ops_[i]))
                if above and not any(causal[i, u] for u in above):
                    lost_up.add(int(ops_[i]))
        okr = np.flatnonzero(ok)
        for a in range(len(okr)):
            for b in range(a + 1, len(okr)):
                x, y = okr[a], okr[b]
                if not hb[x, y] and not hb[y, x]:
                    pairs += 1
    return lost, pairs, lost_up, over_up


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sd=st.sampled_from([0.0, 1.0, 10.0]), source=st.sampled_from(["coordinator", "client"]),
    pattern=st.sampled_from(["blind", "rmw"]), keys=st.integers(1, 3), clients=st.integers(1, 6),
    ack=st.sampled_from(["1", "exponential(mean=3)"]), w=st.integers(1, 3), seed=st.integers(0, 1000),
    faults=st.booleans(),
)
def test_bounded_metrics_equal_the_brute_force_definitions(
    sd: float, source: str, pattern: str, keys: int, clients: int, ack: str, w: int, seed: int, faults: bool,
) -> None:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 1, "write_quorum": w, "coordinator": "random",
                    "write_timeout_ms": 30},
        "latency": {"profile": "lnkd-ssd", "a": ack, "w": "exponential(mean=1)"},
        "workload": {"keys": keys, "clients": clients, "rate_per_s": 1500, "read_fraction": 0.5,
                     "duration_ms": 120, "warmup_ms": 0, "write_pattern": pattern, "rmw_gap": "exponential(mean=2)"},
        "clocks": {"offset": f"normal(0, {sd})", "timestamp_source": source, "resolution_ms": 0.5, "causality": "on"},
        "run": {"seed": seed},
    }
    if faults:
        raw["faults"] = {"crash_mttf_ms": 40, "crash_mttr_ms": 20, "message_loss": 0.05}
    res = simulate(scenario_from_dict(raw))
    frames = {name: res.history.to_frame(name) for name in res.history.tables}
    got = causality.analyse(frames["ops"], frames)
    lost, pairs, lost_up, over_up = reference(frames["ops"], frames)
    assert set(zip(got["lww_losses"]["op_id"], got["lww_losses"]["winner_op_id"], strict=True)) == lost
    assert got["concurrent_write_pairs"] == pairs
    assert set(got["lost_updates"]["op_id"]) == lost_up
    assert set(got["overwritten_updates"]["op_id"]) == over_up
