"""Issue 12, validation (c): exact traces of sloppy quorums, hints, hand-off, ANY and the hint window.

Constant latencies (every message 1 ms, hand-off messages too), a perfect failure detector, operations
issued by hand at chosen instants, and every expected row worked out by hand in the docstrings.
Key ``KEY`` (index 5, named "5": Murmur3-placed, it falls in the ring arc key 0 had before keys were
placed by their names' hash) on a 4-node ring with N = 3 has preference list (2, 1, 0) and fallback 3
(asserted first).
"""

from __future__ import annotations

from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import OK
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.network import CLIENT
from pbs_sim.simulation import analyse

KEY = 5  # the key every trace writes and reads (module docstring)


def model(cluster: dict[str, Any], **sections: Any) -> Model:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                    "read_timeout_ms": 50, "write_timeout_ms": 50, **cluster},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"kind": "open", "warmup_ms": 0},
        "predict": {"trials": 100},
        **sections,
    }
    m = build(scenario_from_dict(raw))
    if m.ring.nodes == 4:
        assert m.ring.preference_list(KEY) == (2, 1, 0) and m.ring.fallbacks(KEY) == (3,)
    m.started = True  # start the mechanisms only: the test issues every operation itself
    for fn in m.on_start:
        fn(m)
    return m


def at(m: Model, t: float, fn: Any) -> None:
    ev = m.env.timeout(t - m.env.now)
    ev.callbacks.append(lambda _e: fn())


def applies(m: Model) -> list[tuple[float, int, int, str]]:
    f = m.history.to_frame("applies")
    return [(float(a), int(n), int(v), str(via)) for a, n, v, via in
            zip(f["at"], f["node"], f["version"], f["via"], strict=True)]


def hints(m: Model) -> list[tuple[float, int, int, int, str]]:
    f = m.history.to_frame("hints")
    return [(float(a), int(h), int(o), int(v), str(x)) for a, h, o, v, x in
            zip(f["at"], f["holder"], f["owner"], f["version"], f["action"], strict=True)]


def test_partition_sloppy_write_stale_read_then_handoff_and_delete() -> None:
    """N = 3, W = R = 2, sloppy, fallback hints swept every 100 ms (holder 3's sweeps at
    100 * (1 + 4/5) = 180, 280, ...), no inactivity wait.

    - t = 0: node 2 coordinates write v1: W messages arrive at 1 on 2, 1, 0; acks at 2: commit at 2.
    - t = 10: partition {2, 3} | {1, 0}; the detector (perfect) sees it at once, per side.
    - t = 20: node 2 writes v2: believed healthy in walk order (2, 1, 0, 3) are 2 and 3, so v2 goes to
      primary 2 and to fallback 3 with a hint for 1 (the first believed-down primary). Both apply at 21
      (3 via hint), acks at 22: v2 commits with one fallback ack — a sloppy write.
    - t = 30: node 1 reads (the other side): believed healthy are 1 and 0 (3 is cut off too), both hold
      v1: the read returns v1 at 32 although v2 committed at 22 and R + W > N: stale, and its quorum
      {1, 0} shares no node with v2's acknowledgers {2, 3}: cause ``sloppy-quorum``.
    - t = 40: heal. Holder 3's sweep at 180 hands v2 to 1 (arrives 181, applied via hint: the
      hint is delivered 181 - 22 = 159 ms after commit); the ack is back at 182 and 3, not a replica
      of the key, deletes its copy (``dropped``).
    - t = 200: node 1 reads again from 1 and 0... 1 now holds v2: returns v2 at 202.
    """
    m = model({"sloppy_quorum": True, "coordinator": "random"},
              hinted_handoff={"store": "fallback", "interval_ms": 100, "inactivity_timeout_ms": 0},
              faults={"schedule": [{"at_ms": 10, "action": "partition", "groups": [[2, 3], [1, 0]]},
                                   {"at_ms": 40, "action": "heal"}]})
    c = m.coordinators
    ops: dict[str, Any] = {}
    at(m, 0, lambda: ops.setdefault("w1", c[2].write(0, KEY)))
    at(m, 20, lambda: ops.setdefault("w2", c[2].write(0, KEY)))
    at(m, 30, lambda: ops.setdefault("r1", c[1].read(0, KEY)))
    at(m, 200, lambda: ops.setdefault("r2", c[1].read(0, KEY)))
    m.env.run(until=300)
    assert ops["w1"].completed_at == 2.0 and ops["w2"].completed_at == 22.0 and ops["w2"].status == OK
    assert list(ops["w2"].targets) == [2, 3] and ops["w2"].targets.owners == [2, 1]
    assert ops["r1"].completed_at == 32.0 and ops["r1"].version == 1  # stale
    assert ops["r2"].version == 2
    assert applies(m) == [
        (1.0, 2, 1, "write"), (1.0, 1, 1, "write"), (1.0, 0, 1, "write"),
        (21.0, 2, 2, "write"), (21.0, 3, 2, "hint"),
        (181.0, 1, 2, "hint"),
    ]
    assert hints(m) == [
        (21.0, 3, 1, 2, "stored"), (180.0, 3, 1, 2, "sent"), (181.0, 3, 1, 2, "delivered"),
        (182.0, 3, -1, 0, "dropped"),
    ]
    assert 0 not in m.nodes[3].store  # the fallback's copy is gone
    m.history.facts.sim_time_ms = 300.0
    res = analyse(m, m.history, seed=1, wall_s=0.0, cpu_s=0.0, record_ops=False, streams=m.streams)
    stale = res.frames()["stale_reads"]
    assert list(stale["op_id"]) == [ops["r1"].op_id] and list(stale["cause"]) == ["sloppy-quorum"]
    s = res.summary()
    assert (s["sloppy_writes"], s["fallback_reads"], s["hints_stored"], s["hints_delivered"]) == (1, 0, 1, 1)
    assert s["handoff_delay_ms_mean"] == pytest.approx(159.0) and s["hinted_copies_dropped"] == 1
    assert s["handoff_bytes"] == 1024 and s["lost_writes"] == 0


def test_strict_quorum_fails_the_same_write() -> None:
    """The same partition with strict quorums: v2 reaches only 2 (1 and 0 are cut off), gets one ack,
    and times out at 20 + 50 = 70; the read from the other side finds nothing newer to miss (no write
    committed)."""
    m = model({"coordinator": "random"},
              faults={"schedule": [{"at_ms": 10, "action": "partition", "groups": [[2, 3], [1, 0]]}]})
    ops: list[Any] = []
    at(m, 20, lambda: ops.append(m.coordinators[2].write(0, KEY)))
    at(m, 30, lambda: ops.append(m.coordinators[1].read(0, KEY)))
    m.env.run(until=100)
    w2, r1 = ops
    assert w2.status != OK and w2.completed_at == 70.0 and w2.acks == 1
    assert r1.status == OK and r1.version == 0


def test_riak_partition_walk_can_put_two_replicas_on_one_node() -> None:
    """The key's token walk is (2, 1, 0, 3, 0, 1, ...): the partitions after the third primary are owned
    by 3, 0, 1, ... With 2 and 1 crashed, distinct fallbacks give targets (0, 3): two physical
    nodes. Riak's partition walk gives 0 (primary), then the partitions owned by 3 and 0: node 0 holds
    two of the three replicas (one as primary, one as fallback for 1)."""
    for walk, targets, owners in (("distinct", [0, 3], [0, 2]), ("partitions", [0, 3, 0], [0, 2, 1])):
        m = model({"sloppy_quorum": True, "fallback_walk": walk, "write_quorum": 1},
                  faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2, 1]}]})
        ops: list[Any] = []
        at(m, 1, lambda m=m, ops=ops: ops.append(m.coordinators[CLIENT].write(0, KEY)))
        m.env.run(until=10)
        assert list(ops[0].targets) == targets and ops[0].targets.owners == owners
        assert ops[0].status == OK and ops[0].acks == len(targets)


def test_any_acknowledges_with_no_replica_reachable_and_replays_on_heal() -> None:
    """Cassandra's ANY, coordinator hints on the client-side coordinator: clients are cut from every
    node at 0, so at 5 the write sees all three primaries down: three hints are kept at once and the
    first counts as the ack — committed at 5 with zero replicas. The heal at 50 is seen at once, the
    hints replay at once (one session per owner, one message each) and arrive 1 ms later."""
    m = model({"write_quorum": "any", "nodes": 3},
              hinted_handoff={"store": "coordinator", "interval_ms": 1000},
              faults={"schedule": [{"at_ms": 0, "action": "partition", "clients": True, "nodes": [0, 1, 2],
                                    "duration_ms": 50}]})
    ops: list[Any] = []
    at(m, 5, lambda: ops.append(m.coordinators[CLIENT].write(0, KEY)))
    m.env.run(until=100)
    w = ops[0]
    assert w.status == OK and w.completed_at == 5.0 and w.acks == 1 and list(w.targets) == []
    h = hints(m)
    owners = list(m.ring.preference_list(KEY))
    assert h[:3] == [(5.0, CLIENT, o, 1, "stored") for o in owners]
    sent = [r for r in h if r[4] == "sent"]
    delivered = [r for r in h if r[4] == "delivered"]
    assert [r[0] for r in sent] == [50.0] * 3
    assert sorted((r[0], r[2]) for r in delivered) == [(51.0, o) for o in sorted(owners)]
    assert sorted(n for _a, n, _v, _via in applies(m)) == sorted(owners)


def test_hint_window_refuses_hints_for_a_node_down_too_long() -> None:
    """Coordinator hints, W = 1 of N = 3 on 3 nodes, node 0 crashed at 0, max_window_ms = 100.
    Write A at 10 commits at 12 (the first ack): node 0 has been seen down for 12 ms, so a hint is
    kept. Write B at 150 commits at 152: 152 ms > 100 ms, the hint is refused. Node 0 recovers at 300:
    the detector sees it at once and A's hint is sent at 300 and delivered at 301; B never reaches 0."""
    m = model({"nodes": 3, "write_quorum": 1, "read_quorum": 1},
              hinted_handoff={"store": "coordinator", "max_window_ms": 100, "interval_ms": 10_000},
              faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [0], "duration_ms": 300}]})
    ops: list[Any] = []
    at(m, 10, lambda: ops.append(m.coordinators[CLIENT].write(0, KEY)))
    at(m, 150, lambda: ops.append(m.coordinators[CLIENT].write(0, KEY)))
    m.env.run(until=400)
    assert [o.completed_at for o in ops] == [12.0, 152.0]
    assert hints(m) == [
        (12.0, CLIENT, 0, 1, "stored"), (152.0, CLIENT, 0, 2, "refused"),
        (300.0, CLIENT, 0, 1, "sent"), (301.0, CLIENT, 0, 1, "delivered"),
    ]
    assert m.nodes[0].get(KEY) is not None and m.nodes[0].get(KEY)[1] == 1  # type: ignore[index]


def test_hints_die_with_the_holders_disk() -> None:
    """A fallback that loses its disk before its sweep loses the hint (``lost``), and the owner
    never gets the write: node 3 holds v1's hint for 2 (crashed 0..100) and is wiped at 50."""
    m = model({"sloppy_quorum": True, "write_quorum": 1},
              hinted_handoff={"store": "fallback", "interval_ms": 100, "inactivity_timeout_ms": 0},
              faults={"replace_ms": 0, "schedule": [{"at_ms": 0, "action": "crash", "nodes": [2], "duration_ms": 100},
                                                    {"at_ms": 50, "action": "wipe", "nodes": [3]}]})
    ops: list[Any] = []
    at(m, 1, lambda: ops.append(m.coordinators[CLIENT].write(0, KEY)))
    m.env.run(until=400)
    assert ops[0].status == OK and list(ops[0].targets) == [1, 0, 3]
    assert hints(m) == [(2.0, 3, 2, 1, "stored"), (50.0, 3, 2, 1, "lost")]
    assert m.nodes[2].get(KEY) is None


def test_inactivity_timeout_delays_handoff_until_the_fallback_is_idle() -> None:
    """Riak: hand-off waits until no hinted write has reached the fallback for the inactivity timeout.
    Node 2 is down 0..50; hinted writes reach fallback 3 at 2 and 12; with a 300 ms timeout the
    sweeps at 180 and 280 find it busy (last hint at 12: idle from 312), so the session starts at 312
    and one message carries what 3 stores (v2) for both hints."""
    m = model({"sloppy_quorum": True, "write_quorum": 1},
              hinted_handoff={"store": "fallback", "interval_ms": 100, "inactivity_timeout_ms": 300,
                              "rate_bytes_per_s": 1e9},
              faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2], "duration_ms": 50}]})
    at(m, 1, lambda: m.coordinators[CLIENT].write(0, KEY))
    at(m, 11, lambda: m.coordinators[CLIENT].write(0, KEY))
    m.env.run(until=500)
    assert hints(m) == [
        (2.0, 3, 2, 1, "stored"), (12.0, 3, 2, 2, "stored"), (312.0, 3, 2, 2, "sent"),
        (313.0, 3, 2, 1, "delivered"), (313.0, 3, 2, 2, "delivered"), (314.0, 3, -1, 0, "dropped"),
    ]


@pytest.mark.parametrize("wipe", [False, True])
def test_durability_counts_a_hinted_copy_only_where_it_is_stored(wipe: bool) -> None:
    """Two nodes, N = W = 1, the key's owner is node p, the other node f its fallback. p is down 0..100,
    so the write at 1 lands on f only (via hint), commits at 3. Without a wipe, f's sweep at
    100 * (1 + (f + 1)/3) hands it to p and f deletes its copy: one copy (on p), nothing lost. With f
    wiped at 50, the hint and the only copy die together: the write is lost (``lost_writes`` 1,
    ``hints_lost`` 1) — the hint never counted as a copy on p."""
    raw: dict[str, Any] = {
        "cluster": {"nodes": 2, "replication": 1, "read_quorum": 1, "write_quorum": 1, "sloppy_quorum": True},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"kind": "open", "warmup_ms": 0}, "predict": {"trials": 100},
        "hinted_handoff": {"store": "fallback", "interval_ms": 100, "inactivity_timeout_ms": 0},
    }
    p = build(scenario_from_dict(raw)).ring.preference_list(KEY)[0]
    f = 1 - p
    sched = [{"at_ms": 0, "action": "crash", "nodes": [p], "duration_ms": 100}]
    if wipe:
        sched.append({"at_ms": 50, "action": "wipe", "nodes": [f]})
    raw["faults"] = {"replace_ms": 0, "schedule": sched}
    m = build(scenario_from_dict(raw))
    m.started = True
    for fn in m.on_start:
        fn(m)
    at(m, 1, lambda: m.coordinators[CLIENT].write(0, KEY))
    m.env.run(until=500)
    m.history.facts.sim_time_ms = 500.0
    s = analyse(m, m.history, seed=1, wall_s=0.0, cpu_s=0.0, record_ops=False, streams=m.streams).summary()
    assert s["committed_writes"] == 1 and s["hints_stored"] == 1
    if wipe:
        assert (s["lost_writes"], s["hints_lost"], s["hints_delivered"]) == (1, 1, 0)
        assert m.nodes[p].get(KEY) is None
    else:
        sweep = 100 * (1 + (f + 1) / 3)
        assert (s["lost_writes"], s["hints_lost"], s["hints_delivered"]) == (0, 0, 1)
        assert s["handoff_delay_ms_mean"] == pytest.approx(sweep + 1 - 3)
        assert m.nodes[p].get(KEY) is not None and m.nodes[f].get(KEY) is None


@pytest.mark.parametrize("wipe", [False, True])
def test_a_coordinator_hint_keeps_an_any_write_until_its_holder_loses_its_disk(wipe: bool) -> None:
    """ANY, coordinator hints: node 3 (not a replica of the key) is cut off from 0, 1, 2 at 0 and
    coordinates a write at 5: three hints on 3, committed with zero replicas. While 3 keeps them, the
    write is not lost (but no key is fully replicated: hints are not replicas); if 3 loses its disk at
    50, the hints and the write are lost."""
    sched: list[dict[str, Any]] = [{"at_ms": 0, "action": "partition", "groups": [[3], [0, 1, 2]]}]
    if wipe:
        sched.append({"at_ms": 50, "action": "wipe", "nodes": [3]})
    m = model({"write_quorum": "any", "coordinator": "random"}, hinted_handoff={"store": "coordinator"},
              faults={"replace_ms": 0, "schedule": sched})
    ops: list[Any] = []
    at(m, 5, lambda: ops.append(m.coordinators[3].write(0, KEY)))
    m.env.run(until=100)
    assert ops[0].status == OK and ops[0].completed_at == 5.0 and list(ops[0].targets) == []
    m.history.facts.sim_time_ms = 100.0
    res = analyse(m, m.history, seed=1, wall_s=0.0, cpu_s=0.0, record_ops=False, streams=m.streams)
    s = res.summary()
    assert s["hints_stored"] == 3 and s["committed_writes"] == 1
    assert (s["lost_writes"], s["hints_lost"], s["hints_pending"]) == ((1, 3, 0) if wipe else (0, 0, 3))
    assert s["replication_incomplete_fraction"] == 1.0
