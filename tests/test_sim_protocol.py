"""Exact traces of the write and read protocol with constant latencies, worked out by hand.

Constant delays W = 2 ms, A = 1 ms, R = 0.5 ms, S = 0.25 ms unless a test says otherwise. Events at the
same instant run in the order they were scheduled (SimPy's heap is FIFO among equal times).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import FAILED, OK, TIMEOUT
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.network import CLIENT
from pbs_sim.sim.ring import Ring


def model(**cluster: Any) -> Model:
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, **cluster},
        "latency": {"profile": "exponential", "w": 2, "a": 1, "r": 0.5, "s": 0.25},
        "workload": {"kind": "open"},
    }
    return build(scenario_from_dict(raw))


def at(m: Model, t: float, fn: Any) -> None:
    """Run ``fn()`` at simulated time ``t`` (test helper: a timeout with a callback)."""
    ev = m.env.timeout(t - m.env.now)
    ev.callbacks.append(lambda _e: fn())


def applies(m: Model) -> list[tuple[float, int, int, int]]:
    f = m.history.to_frame("applies")
    return [(float(a), int(n), int(k), int(v)) for a, n, k, v in zip(f["at"], f["node"], f["key"], f["version"], strict=True)]


def test_write_applies_at_w_and_commits_at_w_plus_a() -> None:
    m = model(write_quorum=2)
    coord = m.coordinators[CLIENT]
    op = coord.write(client=7, key=5)
    m.env.run()
    prefs = m.ring.preference_list(5)
    assert applies(m) == [(2.0, prefs[0], 5, 1), (2.0, prefs[1], 5, 1), (2.0, prefs[2], 5, 1)]
    assert op.status == OK and op.completed_at == 3.0 and op.acks == 3
    row = m.history.to_frame().iloc[0]
    assert (row.kind, row.status, row.version, row.asked, row.answered) == ("write", "ok", 1, 3, 3)
    assert (row.issued_at, row.completed_at, row.client, row.coordinator) == (0.0, 3.0, 7, CLIENT)


def test_read_sees_state_when_request_arrives() -> None:
    m = model()
    coord = m.coordinators[CLIENT]
    coord.write(0, 5)  # applied everywhere at 2.0
    reads: list[Any] = []
    at(m, 1.0, lambda: reads.append(coord.read(1, 5)))  # R arrives at 1.5: before the apply
    at(m, 1.6, lambda: reads.append(coord.read(1, 5)))  # arrives at 2.1: after it
    m.env.run()
    assert [(r.version, r.completed_at) for r in reads] == [(0, 1.75), (1, 2.35)]
    ops = m.history.to_frame()
    assert list(ops.version) == [1, 0, 1]


def test_read_returns_newest_of_first_r_responses_only() -> None:
    m = model(read_quorum=2)
    prefs = m.ring.preference_list(9)
    # replicas hold different versions; with equal delays the responses arrive in send order
    for i, node in enumerate(prefs):
        m.nodes[node].store[9] = (float(i), i + 1)
    op = m.coordinators[CLIENT].read(0, 9)
    m.env.run()
    assert op.version == 2  # first two responders hold seq 1 and 2; seq 3 came third
    assert op.completed_at == 0.75
    assert [n for n, _ in op.replies] == list(prefs)


def test_non_expanding_preference_quorum_writes_only_w_replicas() -> None:
    m = model(write_fanout="quorum", read_fanout="quorum", replica_choice="preference", write_quorum=1)
    coord = m.coordinators[CLIENT]
    coord.write(0, 3)
    m.env.run()
    first = m.ring.preference_list(3)[0]
    assert applies(m) == [(2.0, first, 3, 1)]
    assert {n: node.get(3) for n, node in enumerate(m.nodes)} == {
        n: ((0.0, 1) if n == first else None) for n in range(3)
    }


def test_random_quorum_choice_is_uniform_subset() -> None:
    m = model(write_fanout="quorum", write_quorum=2)
    coord = m.coordinators[CLIENT]
    counts = {n: 0 for n in range(3)}
    for _ in range(3000):
        op = coord.write(0, 0)
        assert len(set(op.targets)) == 2
        for t in op.targets:
            counts[t] += 1
    # each node is in a random 2-of-3 subset with probability 2/3: 2000 +- 4 sd (sd ~ 25.8)
    for c in counts.values():
        assert abs(c - 2000) < 4 * math.sqrt(3000 * 2 / 3 * 1 / 3)


def test_write_times_out_when_a_replica_is_down_and_is_not_rolled_back() -> None:
    m = model(write_quorum=3, write_timeout_ms=50.0)
    prefs = m.ring.preference_list(4)
    m.nodes[prefs[2]].crash()
    op = m.coordinators[CLIENT].write(0, 4)
    m.env.run()
    assert op.status == TIMEOUT and op.completed_at == 50.0 and op.acks == 2
    assert applies(m) == [(2.0, prefs[0], 4, 1), (2.0, prefs[1], 4, 1)]  # partial write stays
    assert m.network.dropped == {"W": 1}
    assert m.history.to_frame().status.iloc[0] == "timeout"


def test_read_times_out_and_timeouts_use_few_timer_events() -> None:
    m = model(read_quorum=3, read_timeout_ms=10.0)
    node = m.ring.preference_list(1)[0]
    m.nodes[node].crash()
    coord = m.coordinators[CLIENT]
    ops: list[Any] = []
    for i in range(5):
        at(m, float(i), lambda: ops.append(coord.read(0, 1)))
    m.env.run()
    assert [(o.status, o.completed_at) for o in ops] == [(TIMEOUT, 10.0 + i) for i in range(5)]
    assert m.deadlines.outstanding == 0


def test_down_node_coordinator_fails_the_op_at_once() -> None:
    m = model(coordinator="random")
    m.nodes[0].crash()
    op = m.coordinators[0].write(0, 1)
    assert op.status == FAILED and op.completed_at == 0.0


def test_node_coordinator_sends_to_replicas_including_itself() -> None:
    m = model(coordinator="first-replica", write_quorum=3)
    first = m.ring.preference_list(2)[0]
    assert m.coordinator_for(2) is m.coordinators[first]
    op = m.coordinator_for(2).write(0, 2)
    m.env.run()
    assert op.completed_at == 3.0
    assert m.history.to_frame().coordinator.iloc[0] == first


def test_wan_extra_delay_on_all_but_one_local_replica() -> None:
    m = model(write_quorum=1)
    coord = m.coordinators[CLIENT]
    coord.remote_extra_ms = 75.0
    op = coord.write(0, 6)
    m.env.run()
    times = sorted(a for a, *_ in applies(m))
    assert times == [2.0, 77.0, 77.0]
    assert op.completed_at == 3.0  # the local replica's ack (2 + 1)
    assert sorted(m.network.samples["A"]) == [1.0, 76.0, 76.0]


def test_versions_count_per_key_and_lww_keeps_newest() -> None:
    m = model()
    coord = m.coordinators[CLIENT]
    a = coord.write(0, 1)
    b = coord.write(0, 1)
    c = coord.write(0, 2)
    assert (a.seq, b.seq, c.seq) == (1, 2, 1)
    node = m.nodes[0]
    assert node.apply(1, (5.0, 2)) is True
    assert node.apply(1, (4.0, 1)) is False  # older: ignored, not recorded
    assert node.get(1) == (5.0, 2)


def test_network_drop_rules_loss_and_samples() -> None:
    m = model(write_quorum=3, write_timeout_ms=20.0)
    m.network.drop_rules.append(lambda src, dst, kind: kind == "A" and dst == CLIENT and src == 0)
    dropped: list[str] = []
    m.network.on_drop.append(lambda msg, reason: dropped.append(f"{msg.kind}:{reason}"))
    op = m.coordinators[CLIENT].write(0, 8)
    m.env.run()
    assert op.status == TIMEOUT and op.acks == 2 and dropped == ["A:rule"]
    assert m.network.samples["W"] == [2.0, 2.0, 2.0]
    m2 = model()
    m2.network.message_loss = 1.0
    op2 = m2.coordinators[CLIENT].write(0, 8)
    m2.env.run()
    assert op2.status == TIMEOUT and m2.network.dropped == {"W": 3}


def test_crash_recover_wipe() -> None:
    m = model()
    events: list[str] = []
    n = m.nodes[1]
    n.on_state.append(lambda node, ev: events.append(ev))
    n.store[3] = (1.0, 1)
    n.crash()
    assert not n.up and n.get(3) == (1.0, 1)
    n.recover()
    n.wipe()
    assert n.up and n.get(3) is None and events == ["crash", "recover", "wipe"]


def test_ring_preference_lists() -> None:
    ring = Ring(nodes=10, replication=3, vnodes=16)
    again = Ring(nodes=10, replication=3, vnodes=16)
    counts = [0] * 10
    for key in range(5000):
        prefs = ring.preference_list(key)
        fb = ring.fallbacks(key)
        assert len(set(prefs)) == 3 and len(fb) == 7 and not set(prefs) & set(fb)
        assert ring.fallbacks(key, 2) == fb[:2]
        assert again.preference_list(key) == prefs  # deterministic: no randomness in the ring
        counts[prefs[0]] += 1
    assert min(counts) > 200  # every node is first replica for a fair share (500 expected)


def test_build_does_not_run() -> None:
    m = model()
    assert m.env.now == 0 and m.history.n_ops == 0 and not m.started
    assert m.env.peek() == math.inf


@pytest.mark.parametrize("kind", ["open", "closed", "pbs-probe"])
def test_run_finishes_every_op(kind: str) -> None:
    raw = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 2},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"kind": kind, "duration_ms": 200, "warmup_ms": 10, "rate_per_s": 2000,
                     "clients": 10, "trials": 50, "think_time": "exponential(mean=5)"},
    }
    m = build(scenario_from_dict(raw))
    h = m.run()
    ops = h.to_frame()
    assert len(ops) > 20 and (ops.status == "ok").all()
    assert m.deadlines.outstanding == 0
    if kind == "pbs-probe":
        assert (ops.kind == "write").sum() == 50 and (ops.kind == "read").sum() == 50 * 8


def test_run_with_progress_slices_gives_the_same_history() -> None:
    raw = {
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 2, "write_quorum": 1},
        "latency": {"profile": "ymmr"},
        "workload": {"kind": "open", "duration_ms": 300, "warmup_ms": 0, "rate_per_s": 3000},
    }
    seen: list[float] = []
    a = build(scenario_from_dict(raw)).run(progress=seen.append, slices=20)
    b = build(scenario_from_dict(raw)).run()
    assert a.to_frame().equals(b.to_frame())
    assert a.to_frame("applies").equals(b.to_frame("applies"))
    assert len(seen) >= 10 and seen == sorted(seen)
    assert a.meta["sim_time_ms"] == b.meta["sim_time_ms"]


def test_simulate_with_progress_bar_and_seed_sequence() -> None:
    import numpy as np

    from pbs_sim.simulation import simulate

    sc = scenario_from_dict({"workload": {"kind": "pbs-probe", "trials": 100}, "latency": {"profile": "lnkd-ssd"}})
    a = simulate(sc, progress=True)
    b = simulate(sc, seed=sc.run.seed)
    assert a.curve.equals(b.curve)
    c = simulate(sc, seed=np.random.SeedSequence(1, spawn_key=(0, 1)))
    assert c.summary()["seed"] == "1:0.1" and c.summary()["ops"] == 900
