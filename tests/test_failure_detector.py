"""Issue 12, deliverable 1: the failure detector (per-observer views, detection delays, false
suspicions), strict quorums choosing replicas with it, and Riak's PW / PR. Exact traces with
constant 1 ms latencies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import FAILED, OK, TIMEOUT
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.network import CLIENT
from pbs_sim.simulation import simulate

# the key the traces use: on the 4-node ring its preference list is (2, 1, 0) (index 5, named "5",
# Murmur3-placed in the ring arc key 0 had before keys were placed by their names' hash)
KEY = 5


def model(cluster: dict[str, Any], **sections: Any) -> Model:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                    "read_timeout_ms": 50, "write_timeout_ms": 50, **cluster},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"kind": "open", "warmup_ms": 0},
        **sections,
    }
    m = build(scenario_from_dict(raw))
    assert m.ring.preference_list(KEY) == (2, 1, 0)
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


def at(m: Model, t: float, fn: Any) -> None:
    ev = m.env.timeout(t - m.env.now)
    ev.callbacks.append(lambda _e: fn())


def views(m: Model) -> list[tuple[float, int, int, int, str]]:
    f = m.history.to_frame("detector")
    return [(float(a), int(o), int(t), int(u), str(r)) for a, o, t, u, r in
            zip(f["at"], f["observer"], f["target"], f["up"], f["reason"], strict=True)]


def test_detection_delay_per_observer_and_undone_changes_are_never_seen() -> None:
    """detect_delay 10, recover_delay 5. Node 0 crashes at 20: every observer (client -1, nodes 1-3)
    sees it down at 30. It recovers at 40: seen up at 45. It crashes again at 100 and recovers at 105,
    before the 10 ms delay: nobody ever sees that outage."""
    m = model({}, failure_detector={"mode": "delay", "detect_delay": 10, "recover_delay": 5},
              faults={"schedule": [{"at_ms": 20, "action": "crash", "nodes": [0], "duration_ms": 20},
                                   {"at_ms": 100, "action": "crash", "nodes": [0], "duration_ms": 5}]})
    fd = m.part("failure_detector")
    m.env.run(until=35)
    assert not fd.up(CLIENT, 0) and fd.down_since(CLIENT, 0) == 30.0 and fd.up(0, 0)
    m.env.run(until=200)
    assert views(m) == [(30.0, o, 0, 0, "detected") for o in (-1, 1, 2, 3)] + [
        (45.0, o, 0, 1, "detected") for o in (-1, 1, 2, 3)]


def test_partition_is_seen_per_side() -> None:
    """Partition {0} | {1, 2, 3} at 10 with a perfect detector: 0 sees 1, 2, 3 down and they see 0
    down; the client-side coordinator still reaches everyone; a one-way cut is seen by both ends."""
    m = model({}, failure_detector={"mode": "perfect"},
              faults={"schedule": [{"at_ms": 10, "action": "partition", "nodes": [0]},
                                   {"at_ms": 20, "action": "heal"},
                                   {"at_ms": 30, "action": "partition", "groups": [[1], [2]], "one_way": True}]})
    fd = m.part("failure_detector")
    m.env.run(until=15)
    assert [fd.up(0, t) for t in range(4)] == [True, False, False, False]
    assert [fd.up(o, 0) for o in range(4)] == [True, False, False, False]
    assert all(fd.up(CLIENT, t) for t in range(4)) and fd.up(1, 2)
    m.env.run(until=25)
    assert all(fd.up(o, t) for o in range(4) for t in range(4))
    m.env.run(until=35)
    assert not fd.up(1, 2) and not fd.up(2, 1) and fd.up(1, 3) and fd.up(0, 2)


def test_strict_quorum_fanout_keeps_sending_to_an_undetected_node_then_avoids_it() -> None:
    """N = 3, W = 2, write_fanout = "quorum", preference choice: the first W believed up. Node 2 (key
    0's first replica) crashes at 0; detect_delay 30. A write at 10 still goes to (2, 1): one ack, it
    times out at 60. A write at 40 (node 2 seen down since 30) goes to (1, 0) and commits at 42. With
    two primaries believed down, a write fails at once (Cassandra's Unavailable)."""
    m = model({"write_fanout": "quorum", "replica_choice": "preference"},
              failure_detector={"mode": "delay", "detect_delay": 30},
              faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2]},
                                   {"at_ms": 70, "action": "crash", "nodes": [1]}]})
    ops: list[Any] = []
    for t in (10, 40, 120):
        at(m, t, lambda: ops.append(m.coordinators[CLIENT].write(0, KEY)))
    m.env.run(until=200)
    a, b, c = ops
    assert list(a.targets) == [2, 1] and a.status == TIMEOUT and a.completed_at == 60.0 and a.acks == 1
    assert list(b.targets) == [1, 0] and b.status == OK and b.completed_at == 42.0
    assert list(c.targets) == [0] and c.status == FAILED and c.completed_at == 120.0


def test_pw_and_pr_count_primaries_only() -> None:
    """Sloppy, W = R = 2, node 2 crashed: targets (1, 0, 3 for 2). PW = 2: the fallback's ack does not
    count toward it, the write still commits (two primaries ack). With node 1 crashed too, PW = 2 is
    unsatisfiable: the write fails at once, although the sloppy quorum (0, 3) could give W = 2
    acks; without PW it commits with one fallback ack. PR = 2 likewise fails the read at once."""
    for pw, status in ((2, FAILED), (0, OK), (1, OK)):
        m = model({"sloppy_quorum": True, "pw": pw, "pr": min(pw, 2)},
                  faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2, 1]}]})
        ops: list[Any] = []
        at(m, 5, lambda m=m, ops=ops: ops.append(m.coordinators[CLIENT].write(0, KEY)))
        at(m, 20, lambda m=m, ops=ops: ops.append(m.coordinators[CLIENT].read(0, KEY)))
        m.env.run(until=100)
        w, r = ops
        assert w.status == status and r.status == status, (pw, w.status, r.status)
        if status == OK:
            assert list(w.targets) == [0, 3] and w.completed_at == 7.0 and r.version == 1
    m = model({"sloppy_quorum": True, "pw": 2, "write_quorum": 2},
              faults={"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2]}]})
    late: list[Any] = []
    at(m, 1, lambda: late.append(m.coordinators[CLIENT].write(0, KEY)))
    m.env.run(until=100)
    w = late[0]
    assert list(w.targets) == [1, 0, 3] and w.status == OK and w.completed_at == 3.0


@pytest.mark.validation
def test_false_suspicions_arrive_at_the_configured_rate_and_cost_availability() -> None:
    """False suspicions are a Poisson process per (observer, node) pair: 3 nodes -> 3 + 3 * 2 = 9
    pairs, rate 2/s each, over the run length T: the count is Poisson with mean 9 * 2 * T / 1000
    (within 3 standard errors, sqrt of the mean). Each lasts 20 ms on average; with strict quorums
    and quorum fan-out a suspected replica is skipped, so availability stays 1 with N = 3, W = 2
    unless two are suspected at once; they never cause a stale read with R + W > N."""
    raw = {"cluster": {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                       "write_fanout": "quorum", "read_fanout": "quorum"},
           "latency": {"profile": "lnkd-ssd"},
           "workload": {"keys": 50, "rate_per_s": 500, "duration_ms": 20_000, "warmup_ms": 0},
           "failure_detector": {"mode": "perfect", "false_suspicion_rate_per_s": 2.0,
                                "false_suspicion_ms": "exponential(mean=20)"},
           "predict": {"trials": 1000}}
    res = simulate(scenario_from_dict(raw))
    s = res.summary()
    mean = 9 * 2.0 * s["sim_time_ms"] / 1000.0
    assert abs(s["fd_false_suspicions"] - mean) < 3 * np.sqrt(mean)
    assert s["stale_read_fraction"] == 0.0 and s["availability"] > 0.99
