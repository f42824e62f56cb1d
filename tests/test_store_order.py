"""One store order (issue 17): every metric that compares versions asks ``pbs_sim.metrics.order``.

* durability and siblings agree: over random fault schedules (crashes, disk wipes, partitions,
  message loss) and every policy, the durability replay's lost writes are exactly the writes the
  siblings metric counts lost (sibling policies: the final replica state neither holds them nor a
  version above them in the causal order), and under LWW exactly the writes no replica's final
  stamp reaches, asked through the policy itself -- the simulator's own stores are the reference;
* the DVV disagreement that motivated it: a replica holding a higher-numbered but *concurrent*
  version does not hold a lower one (the old replay compared numbers and counted the write safe);
* the run summary's session counts are the checker's (``pbs_sim.check``) on sibling histories.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.checker import check
from pbs_sim.config import scenario_from_dict
from pbs_sim.mechanisms import sim_mechanisms
from pbs_sim.metrics import durability as dur_m
from pbs_sim.metrics.order import StoreOrder, store_order
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.simulation import SimResult, analyse

POLICIES = [("lww", "node"), ("vv", "node"), ("vv", "client"), ("vv", "node-naive"), ("dvv", "node")]


def _scenario(versioning: str, actor: str, seed: int, schedule: list[dict[str, Any]], loss: float,
              disk_mttf: float | None, ops_rate: float = 1500.0) -> Any:
    return scenario_from_dict({
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 1, "write_quorum": 1, "coordinator": "random",
                    "versioning": versioning, **({"vv_actor": actor} if versioning == "vv" else {})},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"kind": "open", "keys": 3, "read_fraction": 0.5, "write_pattern": "rmw", "merge": "union",
                     "duration_ms": 150, "warmup_ms": 0, "rate_per_s": ops_rate, "clients": 6},
        "read_repair": {"mode": "async"},
        "faults": {"message_loss": loss, "schedule": schedule,
                   **({"disk_loss_mttf_ms": disk_mttf, "replace_ms": 5.0} if disk_mttf else {})},
        "run": {"seed": seed},
    })


def _run(sc: Any) -> tuple[SimResult, Any]:
    streams = Streams(sc.run.seed)
    model = build(sc, streams, sim_mechanisms())
    history = model.run()
    res = analyse(model, history, seed=sc.run.seed, wall_s=0.0, cpu_s=0.0, record_ops=True, streams=streams)
    return res, model


def _lost(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["key"].astype(int).tolist(), frame["version"].astype(int).tolist(), strict=True))


def _lww_reference(res: SimResult, model: Any) -> set[tuple[int, int]]:
    """Committed writes whose stamp no replica's final state reaches -- asked of the LWW policy."""
    ops = res.frames()["ops"]
    stamps = res.frames().get("write_stamps")
    ts = dict(zip(ops["op_id"].tolist(), ops["issued_at"].tolist(), strict=True))
    if stamps is not None:
        ts.update(zip(stamps["op_id"].tolist(), stamps["timestamp_ms"].tolist(), strict=True))
    policy = model.policy
    w = ops[(ops["kind"].astype(str) == "write") & (ops["status"].astype(str) == "ok")]
    out = set()
    for op, k, s in zip(w["op_id"].tolist(), w["key"].tolist(), w["version"].tolist(), strict=True):
        mine = policy.new_version(k, s, ts[op], 0, None)
        if not any(k in nd.store and policy.merge(nd.store[k], mine) is None for nd in model.nodes):
            out.add((int(k), int(s)))
    return out


faults = st.lists(st.one_of(
    st.fixed_dictionaries({"at_ms": st.integers(0, 140), "action": st.just("wipe"),
                           "nodes": st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True)}),
    st.fixed_dictionaries({"at_ms": st.integers(0, 140), "action": st.just("crash"),
                           "nodes": st.lists(st.integers(0, 3), min_size=1, max_size=1),
                           "duration_ms": st.integers(1, 60)}),
    st.fixed_dictionaries({"at_ms": st.integers(0, 140), "action": st.just("partition"),
                           "groups": st.just([[0, 1], [2, 3]]), "duration_ms": st.integers(1, 60)}),
), max_size=4)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(policy=st.sampled_from(POLICIES), seed=st.integers(0, 10_000), schedule=faults,
       loss=st.sampled_from([0.0, 0.05, 0.2]), disk=st.sampled_from([None, 100.0]))
def test_durability_and_siblings_lose_the_same_writes(policy: tuple[str, str], seed: int,
                                                      schedule: list[dict[str, Any]], loss: float,
                                                      disk: float | None) -> None:
    sc = _scenario(*policy, seed, schedule, loss, disk)
    res, model = _run(sc)
    fr = res.frames()
    lost = _lost(fr["lost_writes"])  # the durability reporter's frame (read repair moves data: always there)
    if policy[0] == "lww":
        assert lost == _lww_reference(res, model)
    else:
        assert lost == _lost(fr["sibling_lost_writes"])
    assert res.summary()["lost_writes"] == len(lost)


def test_a_higher_but_concurrent_version_does_not_hold_a_lower_one() -> None:
    """Writes 1 and 2 of key 0 are concurrent (no causal parents): a node holding only 2 holds no
    copy of 1. The replay of the old code compared numbers (2 >= 1) and counted 1 safe."""
    ops = pd.DataFrame({"op_id": [0, 1], "client": [0, 1], "key": [0, 0], "kind": ["write", "write"],
                        "issued_at": [0.0, 0.0], "completed_at": [1.0, 1.0], "status": ["ok", "ok"],
                        "version": [1, 2], "issued_event": [1, 2], "completed_event": [5, 6]})
    applies = pd.DataFrame({"at": [0.5, 0.5, 2.0], "node": [0, 1, 1], "key": [0, 0, 0], "version": [1, 2, 2],
                            "via": ["write"] * 3, "event": [3, 4, 8]})
    faults = pd.DataFrame({"at": [1.5], "node": [0], "action": ["wipe"], "event": [7]})
    frames = {"ops": ops, "applies": applies, "faults": faults,
              "sibling_settings": pd.DataFrame([{"policy": "dvv", "merge": "union", "max_siblings": 100,
                                                 "siblings_warning": 25}]),
              "causal_parents": pd.DataFrame({"op_id": pd.Series(dtype="int64"), "parent": pd.Series(dtype="int64"),
                                              "event": pd.Series(dtype="int64")})}
    order = store_order(frames)
    assert order.relation(0, 1, 2) == "concurrent"
    d = dur_m.durability(frames, 1, order=order)
    assert d["writes"]["lost"].tolist() == [True, False]
    assert len(d["losses"]) == 1  # the key's newest committed versions {1, 2}: 1 had no copy left
    # with 2 descending from 1 (its context held 1), 2 covers it
    frames["causal_parents"] = pd.DataFrame({"op_id": [1], "parent": [1], "event": [9]})
    d = dur_m.durability(frames, 1, order=store_order({**frames, "ops": ops.copy()}))
    assert d["writes"]["lost"].tolist() == [False, False]


def test_lww_order_is_stamp_order() -> None:
    order = StoreOrder("lww", ranks={(0, 1): 2, (0, 2): 1})  # write 2 stamped before write 1
    assert order.relation(0, 2, 1) == "below"
    assert order.covers(0, (1,), 2) and not order.covers(0, (2,), 1)
    assert order.maximal(0, [1, 2]) == [1]


@pytest.mark.parametrize("policy", [("dvv", "node"), ("vv", "node"), ("vv", "client")])
def test_summary_session_counts_are_the_checkers(policy: tuple[str, str]) -> None:
    sc = _scenario(*policy, 7, [{"at_ms": 20, "action": "partition", "groups": [[0, 1], [2, 3]], "duration_ms": 80}],
                   0.1, None, ops_rate=3000.0)
    res, _ = _run(sc)
    ses = res.frames()["sessions"].iloc[0]
    rep = check(res)
    assert rep.findings["read_your_writes"].count + rep.findings["monotonic_reads"].count > 0  # something to compare
    assert int(ses["read_your_writes_violations"]) == rep.findings["read_your_writes"].count
    assert int(ses["monotonic_read_violations"]) == rep.findings["monotonic_reads"].count
    ws = res.frames()["write_sessions"]  # the causality reporter's write guarantees: the checker's too
    assert int(ws["monotonic_write_violation"].sum()) == rep.findings["monotonic_writes"].count
    assert int(ws["writes_follow_reads_violation"].sum()) == rep.findings["writes_follow_reads"].count


@pytest.mark.parametrize("versioning", ["lww", "vv", "dvv"])
def test_time_to_data_loss_stores_the_policys_version(versioning: str) -> None:
    """The MTTDL item is made by the policy: under a sibling policy the old hard-coded LWW stamp
    ``(0.0, 1)`` was not a state the policy could merge."""
    from pbs_sim.sim.faults import time_to_data_loss

    sc = scenario_from_dict({
        "cluster": {"nodes": 2, "replication": 2, "versioning": versioning},
        "latency": {"profile": "lnkd-ssd", "other": "constant(value=0)"},
        "workload": {"keys": 1},
        "faults": {"disk_loss_mttf_ms": 1000.0, "replace_ms": 0},
        "anti_entropy": {"mode": "merkle", "interval": "exponential(rate=0.002)", "tree_depth": 1},
    })
    t = time_to_data_loss(sc, Streams(5))
    assert 0.0 < t < float("inf")


def test_stale_read_cause_asks_the_store_order() -> None:
    """Under DVV a node that held write 3, concurrent with w* = 2, never held w*: its disk loss is not
    the cause of a stale read of w*'s key (the old classifier compared numbers, 3 >= 2)."""
    from pbs_sim.metrics.causes import CausesReporter
    from pbs_sim.metrics.mechanism import RunView

    ops = pd.DataFrame({
        "op_id": [0, 1, 2, 3], "client": [0, 0, 1, 2], "key": [0, 0, 0, 0],
        "kind": pd.Categorical(["write", "write", "write", "read"]), "coordinator": [0, 1, 0, 2],
        "issued_at": [0.0, 2.0, 2.0, 10.0], "completed_at": [1.0, 3.0, float("nan"), 11.0],
        "status": pd.Categorical(["ok", "ok", "timeout", "ok"]), "version": [1, 2, 3, 1],
        "asked": [3] * 4, "answered": [3] * 4, "issued_event": [1, 4, 5, 12], "completed_event": [3, 9, 0, 13]})
    applies = pd.DataFrame({"at": [0.5, 0.5, 0.5, 2.5, 2.5], "node": [0, 1, 2, 0, 1], "key": [0] * 5,
                            "version": [1, 1, 1, 3, 2], "via": pd.Categorical(["write"] * 5), "event": [2, 6, 7, 8, 10]})
    frames = {
        "ops": ops, "applies": applies,
        "faults": pd.DataFrame({"at": [5.0], "node": [0], "action": ["wipe"], "event": [11]}),
        "sibling_settings": pd.DataFrame([{"policy": "dvv", "merge": "union", "max_siblings": 100,
                                           "siblings_warning": 25}]),
        "causal_parents": pd.DataFrame({"op_id": [1, 2], "parent": [1, 1], "event": [4, 5]}),  # 2 and 3 concurrent
    }
    outcomes = pd.DataFrame({"op_id": [3], "client": [2], "key": [0], "start_at": [10.0], "completed_at": [11.0],
                             "version": [1], "w_star": [2], "w_star_commit_at": [3.0], "t_ms": [7.0],
                             "consistent": [False], "versions_behind": [1]})
    run = RunView(frames=frames, outcomes=outcomes, mechanisms={"faults": True}, n=3, r=1, w=1, end_at=12.0)
    _, out = CausesReporter().report(run)
    assert out["stale_reads"]["cause"].tolist() == ["partial-quorum"]
