"""Clocks, causal contexts and the two orders: exact traces with constant latencies (SimPy style).

Every latency is a constant 1 ms unless a test says otherwise, N = 3 replicas on 3 nodes, W = R = 1,
writes and reads to all three. A write issued at t is applied on every replica at t + 1 and
acknowledged at t + 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_in_process import run_cli

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.metrics import causality
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.simulation import simulate


def _raw(clocks: dict[str, Any] | None = None, schedule: list[dict[str, Any]] | None = None,
         lat: dict[str, Any] | None = None, **cluster: Any) -> dict[str, Any]:
    return {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, **cluster},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1, **(lat or {})},
        "workload": {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0},
        "clocks": {"causality": "on", **(clocks or {})},
        "faults": {"schedule": schedule or []},
    }


def _model(raw: dict[str, Any]) -> Any:
    m = build(scenario_from_dict(raw), Streams(1))
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


def _at(m: Any, t: float, fn: Any) -> Any:
    if t > m.env.now:
        m.env.run(until=t)
    return fn()


def _frames(m: Any) -> dict[str, pd.DataFrame]:
    return {name: m.history.to_frame(name) for name in m.history.tables}


def _losses(m: Any) -> list[tuple[Any, ...]]:
    fr = _frames(m)
    res = causality.analyse(fr["ops"], fr)
    return [tuple(r) for r in res["lww_losses"][["op_id", "version", "timestamp_ms", "winner_op_id",
                                                  "winner_version", "cause"]].itertuples(index=False)]


def test_a_later_write_with_a_smaller_timestamp_is_dropped_everywhere_and_reported() -> None:
    """Client timestamps; client 1's clock is 10 ms behind client 0's. Client 0 writes at 0 (stamp
    0): applied on all three replicas at 1, acked at 2. Client 1 writes at 5 (stamp -5): every replica
    refuses it at 6 (the policy keeps (0, 1)), yet it is acknowledged at 7 -- an acknowledged write
    that no replica keeps: lww-lost to op 0, cause clock-skew (op 0 was issued earlier but stamped
    later). A read at 10 returns version 1 and is *consistent* in the store's order."""
    m = _model(_raw({"timestamp_source": "client", "client_offsets_ms": [0, -10]}))
    c = m.coordinator_for(0)
    w0 = _at(m, 0, lambda: c.write(0, 0))
    w1 = _at(m, 5, lambda: c.write(1, 0))
    r = _at(m, 10, lambda: c.read(2, 0))
    m.env.run(until=20)
    assert (w0.completed_at, w1.completed_at, r.completed_at) == (2.0, 7.0, 12.0)
    assert w1.status == 1 and r.version == 1
    assert all(n.store[0] == (0.0, 1) for n in m.nodes)
    ap = m.history.to_frame("applies")
    assert ap[["at", "version"]].values.tolist() == [[1.0, 1]] * 3
    assert m.history.to_frame("write_stamps")[["op_id", "timestamp_ms"]].values.tolist() == [[0, 0.0], [1, -5.0]]
    assert _losses(m) == [(1, 2, -5.0, 0, 1, "clock-skew")]


def test_a_clock_jumping_backwards_loses_the_next_write_and_breaks_monotonic_writes() -> None:
    """Coordinator timestamps, every write coordinated by the key's first replica p. Client 0 writes
    at 0 (stamp 0); p's clock jumps back 10 ms at 3; client 0 writes again at 5 (stamp -5): dropped,
    lww-lost to its own earlier write (clock-skew), and a monotonic-writes violation of its session."""
    probe = build(scenario_from_dict(_raw()), Streams(1))
    p = probe.ring.preference_list(0)[0]
    m = _model(_raw(schedule=[{"at_ms": 3, "action": "clock-jump", "nodes": [p], "jump_ms": -10}],
                    coordinator="first-replica"))
    assert "clocks" in m.history.mechanisms
    c = m.coordinator_for(0)
    _at(m, 0, lambda: c.write(0, 0))
    _at(m, 5, lambda: c.write(0, 0))
    m.env.run(until=20)
    assert m.history.to_frame("clock_events")[["at", "node", "client", "jump_ms"]].values.tolist() == [
        [3.0, p, -1, -10.0]]
    assert m.history.to_frame("write_stamps")["timestamp_ms"].tolist() == [0.0, -5.0]
    assert all(n.store[0] == (0.0, 1) for n in m.nodes)
    assert _losses(m) == [(1, 2, -5.0, 0, 1, "clock-skew")]
    sv = causality.session_write_violations(m.history.to_frame("ops"), _frames(m))
    assert sv["monotonic_write_violation"].tolist() == [False, True]
    assert sv["writes_follow_reads_violation"].tolist() == [False, False]


def test_ties_are_broken_by_issue_order_and_reported_when_they_decide() -> None:
    """Timestamps rounded down to 10 ms (one external coordinator clock). Client 0 writes at 1 and
    client 1 at 2: both stamped 0. The tie goes to the later-issued write (seq 2); the first was
    still in flight (acked at 3) and is not in the second's causal past: lww-lost, cause tie. Client 0
    writes at 30 (stamp 30, acked 32) and client 1 at 35 (stamp 30 too): the tie again goes to the
    later write, which this time follows the first in real time -- no loss. One concurrent pair."""
    m = _model(_raw({"resolution_ms": 10}))
    c = m.coordinator_for(0)
    for t, client in ((1, 0), (2, 1), (30, 0), (35, 1)):
        _at(m, t, lambda client=client: c.write(client, 0))
    m.env.run(until=50)
    assert m.history.to_frame("write_stamps")["timestamp_ms"].tolist() == [0.0, 0.0, 30.0, 30.0]
    assert all(n.store[0] == (30.0, 4) for n in m.nodes)
    assert _losses(m) == [(0, 1, 0.0, 1, 2, "tie")]
    fr = _frames(m)
    assert causality.analyse(fr["ops"], fr)["concurrent_write_pairs"] == 1


@pytest.mark.parametrize("reads_first", [True, False])
def test_a_write_that_read_the_one_in_flight_follows_it(reads_first: bool) -> None:
    """Acks take 10 ms: client 0's write at 0 is applied at 1 and acknowledged at 11. Client 1 writes
    at 5, while it is in flight. If client 1 first read the key (at 2, answered at 4 with version 1),
    its write has version 1 as causal parent: it follows client 0's write in the true order, and
    nothing is lost. A blind write at 5 is concurrent: client 0's acknowledged write is lww-lost,
    cause concurrency, and the two form one concurrent pair."""
    m = _model(_raw(lat={"a": 10}))
    c = m.coordinator_for(0)
    _at(m, 0, lambda: c.write(0, 0))
    if reads_first:
        r = _at(m, 2, lambda: c.read(1, 0))
    _at(m, 5, lambda: c.write(1, 0))
    m.env.run(until=30)
    cp = m.history.to_frame("causal_parents")
    sp = m.history.to_frame("session_parents")
    fr = _frames(m)
    res = causality.analyse(fr["ops"], fr)
    assert cp.empty  # a blind write carries no context (issue 18); what its session knew is session_parents
    if reads_first:
        assert r.completed_at == 4.0 and r.version == 1
        assert sp[["op_id", "parent"]].values.tolist() == [[2, 1]]
        assert _losses(m) == [] and res["concurrent_write_pairs"] == 0
        assert causality.true_order(fr["ops"], fr, 0, 2) == "before"
        assert causality.true_order(fr["ops"], fr, 2, 0) == "after"
    else:
        assert sp.empty
        assert _losses(m) == [(0, 1, 0.0, 1, 2, "concurrency")] and res["concurrent_write_pairs"] == 1
        assert causality.true_order(fr["ops"], fr, 0, 1) == "concurrent"


def test_session_contexts_record_reads_and_own_writes_as_parents() -> None:
    """Client 0 writes blind (no parents). Client 1 reads it, then writes (session parent: 1), then
    writes again (session parent: its own 2 only -- its knowledge collapsed to its last write). Client
    0 writes again: its session knows its own first write (session parent 1). All four writes are
    blind, so none carries a causal context (issue 18): the session's knowledge is happened-before
    (``session_parents``), not a context the store saw."""
    m = _model(_raw())
    c = m.coordinator_for(0)
    _at(m, 0, lambda: c.write(0, 0))
    _at(m, 5, lambda: c.read(1, 0))
    _at(m, 10, lambda: c.write(1, 0))
    _at(m, 15, lambda: c.write(1, 0))
    _at(m, 20, lambda: c.write(0, 0))
    m.env.run(until=30)
    assert m.history.to_frame("causal_parents").empty
    sp = m.history.to_frame("session_parents")
    assert sp[["op_id", "parent"]].values.tolist() == [[2, 1], [3, 2], [4, 1]]


def test_read_modify_write_clients_write_after_the_gap_carrying_what_they_read() -> None:
    """rmw with a 5 ms gap: every write is issued exactly 5 ms after its read returned, by the same
    client, is listed in rmw_reads with its read, and has the read's version as a causal parent."""
    raw = _raw()
    raw["workload"] = {"keys": 3, "duration_ms": 200, "rate_per_s": 200, "warmup_ms": 0, "read_fraction": 0.0,
                       "write_pattern": "rmw", "rmw_gap": "constant(5)", "clients": 50}
    res = simulate(scenario_from_dict(raw))
    fr = res.history.frames()
    ops = res.history.to_frame("ops").set_index("op_id")
    rr = fr["rmw_reads"]
    assert len(rr) > 10 and len(rr) == int((ops["kind"] == "write").sum())
    w, r = ops.loc[rr["op_id"]], ops.loc[rr["read_op"]]
    assert np.allclose(w["issued_at"].to_numpy() - r["completed_at"].to_numpy(), 5.0)
    assert (w["client"].to_numpy() == r["client"].to_numpy()).all() and (r["kind"] == "read").all()
    parents = fr["causal_parents"].groupby("op_id")["parent"].apply(set)
    for wid, rid in zip(rr["op_id"], rr["read_op"], strict=True):
        v = int(ops.loc[rid, "version"])
        assert (v == 0 and wid not in parents.index) or v in parents.get(wid, set())


def test_hot_key_writers_write_only_their_key_at_their_own_rates() -> None:
    raw = _raw()
    raw["workload"] = {"keys": 50, "duration_ms": 2000, "rate_per_s": 100, "warmup_ms": 0, "read_fraction": 1.0,
                       "hot_key": 7, "hot_key_writers_per_s": [500, 100], "clients": 10}
    res = simulate(scenario_from_dict(raw))
    ops = res.history.to_frame("ops")
    w = ops[ops["kind"] == "write"]
    assert set(w["key"]) == {7} and set(w["client"]) == {11, 12}
    n0, n1 = (w["client"] == 11).sum(), (w["client"] == 12).sum()
    # Poisson counts over 2 s: 1000 +- 3 sd (sd ~ 32) and 200 +- 3 sd (sd ~ 14)
    assert abs(n0 - 1000) < 3 * 1000**0.5 and abs(n1 - 200) < 3 * 200**0.5
    assert res.summary()["causality_tracked"] == 1.0


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,key,reason", [
    ({"clocks": {"offset": "normal(0, -5)"}}, "clocks.offset", "'sd' must be >= 0"),
    ({"clocks": {"timestamp_source": "gps"}}, "clocks.timestamp_source", "not one of coordinator, client"),
    ({"faults": {"schedule": [{"action": "clock-jump", "nodes": [9], "jump_ms": -5}]}},
     "faults.schedule[0].nodes", "node 9 is not in 0..2"),
    ({"faults": {"schedule": [{"action": "clock-jump", "jump_ms": -5}]}}, "faults.schedule[0].nodes", "needs at least one"),
    ({"clocks": {"offsets_ms": [0, 1]}}, "clocks.offsets_ms", "one offset per node"),
    ({"latency": {"w": "normal(1, 1)"}}, "latency.w", "can be negative"),
    ({"clocks": {"client_offsets_ms": [0, 5]}}, "clocks.client_offsets_ms", "timestamp_source = 'client'"),
    ({"workload": {"hot_key": 5000, "hot_key_writers_per_s": [1]}}, "workload.hot_key", "not in 0..999"),
])
def test_bad_clock_settings_name_file_key_and_reason(raw: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict(raw, source="s.toml")
    msg = str(exc.value)
    assert msg.startswith(f"s.toml: {key}:") and reason in msg and "\n" not in msg


@pytest.mark.parametrize("toml,needle", [
    ('[clocks]\noffset = "normal(0, -5)"\n', "clocks.offset: normal: 'sd' must be >= 0"),
    ('[clocks]\ntimestamp_source = "atomic"\n', "clocks.timestamp_source: 'atomic' is not one of"),
    ('[[faults.schedule]]\naction = "clock-jump"\nnodes = [5]\njump_ms = -3\n', "faults.schedule[0].nodes: node 5"),
])
def test_bad_clock_settings_exit_2_with_one_line_before_any_work(
    toml: str, needle: str, tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    for cmd in ("run", "validate"):
        code, out, err = run_cli([cmd, str(path)], capsys)
        assert code == 2 and f"{path}: {needle}" in err and len(err.strip().splitlines()) == 1 and out == ""
