"""Fault injection: exact traces with constant latencies, and the random processes against their rates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.sim.network import CLIENT


def _model(faults: dict[str, Any], **cluster: Any) -> Any:
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1,
                    "write_timeout_ms": 50, "read_timeout_ms": 50, **cluster},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0},
        "faults": faults,
    })
    return build(sc, Streams(1))


def _start(m: Any) -> None:
    m.started = True
    for fn in m.on_start:
        fn(m)


def test_scripted_crash_drops_writes_and_recovers() -> None:
    m = _model({"schedule": [{"at_ms": 10, "action": "crash", "nodes": [2], "duration_ms": 20}]})
    _start(m)
    coord = m.coordinators[CLIENT]
    m.env.run(until=15)
    coord.write(0, 0)  # at 15: W reaches nodes at 16; node 2 is down
    m.env.run(until=40)
    assert [n.store.get(0) is not None for n in m.nodes] == [True, True, False]
    f = m.history.to_frame("faults")
    assert f[["at", "node"]].values.tolist() == [[10.0, 2], [30.0, 2]]
    assert f["action"].astype(str).tolist() == ["crash", "recover"]
    assert m.nodes[2].up
    d = m.history.to_frame("dropped_writes")
    assert d[["at", "node", "version"]].values.tolist() == [[16.0, 2, 1]]
    assert d["reason"].astype(str).tolist() == ["down"]


def test_wipe_empties_node_and_replacement_joins_after_replace_ms() -> None:
    m = _model({"replace_ms": 5, "schedule": [{"at_ms": 10, "action": "wipe", "nodes": [1]}]})
    _start(m)
    m.coordinators[CLIENT].write(0, 0)
    m.env.run(until=11)
    assert m.nodes[1].store == {} and not m.nodes[1].up
    m.env.run(until=16)
    assert m.nodes[1].up and m.nodes[1].store == {}
    f = m.history.to_frame("faults")
    assert f["action"].astype(str).tolist() == ["wipe", "replace"] and f["at"].tolist() == [10.0, 15.0]


def test_partition_symmetric_one_way_and_heal() -> None:
    m = _model({"schedule": [
        {"at_ms": 0, "action": "partition", "groups": [[0], [1, 2]], "one_way": True},
        {"at_ms": 5, "action": "heal"},
        {"at_ms": 6, "action": "partition", "nodes": [2], "clients": True, "duration_ms": 4},
    ]})
    _start(m)
    m.env.run(until=1)
    got: list[tuple[int, int]] = []
    net = m.network
    for src, dst in ((0, 1), (1, 0), (2, 0), (0, 2)):
        net.send(src, dst, "x", None, None, lambda msg: got.append((msg.src, msg.dst)))
    m.env.run(until=4)
    assert sorted(got) == [(1, 0), (2, 0)]  # one-way: only 0 -> others dropped
    m.env.run(until=7)
    got.clear()
    for src, dst in ((0, 1), (CLIENT, 2), (2, CLIENT), (CLIENT, 1)):
        net.send(src, dst, "x", None, None, lambda msg: got.append((msg.src, msg.dst)))
    m.env.run(until=9)
    assert sorted(got) == [(CLIENT, 1), (0, 1)]
    m.env.run(until=11)
    got.clear()
    net.send(CLIENT, 2, "x", None, None, lambda msg: got.append((msg.src, msg.dst)))
    m.env.run(until=13)
    assert got == [(CLIENT, 2)]
    actions = m.history.to_frame("faults")["action"].astype(str).tolist()
    assert actions == ["partition", "heal", "partition", "heal"]


def test_partition_drops_messages_in_flight() -> None:
    m = _model({"schedule": [{"at_ms": 0.5, "action": "partition", "groups": [[0], [1]]}]})
    _start(m)
    got: list[int] = []
    m.network.send(0, 1, "x", None, None, lambda msg: got.append(1))  # sent at 0, due at 1
    m.env.run(until=2)
    assert got == [] and m.network.dropped["x"] == 1


def test_crash_and_recover_rates_give_expected_downtime() -> None:
    mttf, mttr = 200.0, 50.0
    m = _model({"crash_mttf_ms": mttf, "crash_mttr_ms": mttr})
    _start(m)
    horizon = 200_000.0
    m.env.run(until=horizon)
    f = m.history.to_frame("faults")
    crashes = int((f["action"].astype(str) == "crash").sum())
    # alternating renewal process: cycles of mean mttf + mttr per node
    expect = 3 * horizon / (mttf + mttr)
    assert abs(crashes - expect) < 4 * np.sqrt(expect)


def test_message_loss_probability() -> None:
    m = _model({"message_loss": 0.2})
    _start(m)
    got: list[int] = []
    for _ in range(5000):
        m.network.send(0, 1, "x", None, None, lambda msg: got.append(1))
    m.env.run(until=5)
    assert abs(len(got) / 5000 - 0.8) < 4 * np.sqrt(0.16 / 5000)


def test_failed_ops_counted_when_quorum_unreachable() -> None:
    m = _model({"schedule": [{"at_ms": 0, "action": "crash", "nodes": [0, 1, 2]}]})
    _start(m)
    m.env.run(until=1)
    op = m.coordinators[CLIENT].write(0, 0)
    m.env.run(until=100)
    assert op.status == 2  # timeout: no W acks while every replica is down


def test_bad_fault_schedule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"faults.schedule\[0\].nodes"):
        _model({"schedule": [{"at_ms": 0, "action": "crash", "nodes": [7]}]})
