"""Datacenter faults (issue 19): DC partitions (one-way too), DC and rack outages, WAN degradation;
the availability-per-datacenter metric; and availability through a DC partition checked against
the analytic per-DC live-replica derivation (``pbs_sim.analytic.multidc``).

Mechanics are exact traces with constant latencies on models built from ``[topology]`` scenarios
(``pbs_sim.sim.build.build``); the random processes are checked against their rates; the
validation runs the simulator on topologies and compares within confidence intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.metrics.availability import availability_by_dc, fault_windows
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.sim.layout import Layout
from pbs_sim.sim.network import Network

# WAN degradation drives the network's per-link latency (Network.link_factor / set_links, docs/design.md
# "Datacenters and consistency levels"), which the crn branch adds to pbs_sim/sim/network.py
NEEDS_LINKS = pytest.mark.skipif(not hasattr(Network, "set_links") or not hasattr(Network, "link_factor"),
                                 reason="needs per-link latency in the network (Network.set_links / link_factor)")
LAT = {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1}
WL = {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0}
# dc a: nodes 0, 1 on racks 0, 1; dc b: nodes 2, 3 on rack 2; dc c: node 4 on rack 3
TOPO = {"datacenters": [{"name": "a", "nodes": 2, "replication": 2, "racks": 2},
                        {"name": "b", "nodes": 2, "replication": 2},
                        {"name": "c", "nodes": 1, "replication": 1}],
        "inter_dc": "constant(value=0)"}  # links add nothing: every message takes its kind's 1 ms
TOPO_WAN = {**TOPO, "inter_dc": "constant(value=5)"}


def _scenario(faults: dict[str, Any], topology: dict[str, Any] | None = TOPO, **extra: Any) -> Any:
    raw: dict[str, Any] = {"latency": LAT, "workload": WL, "faults": faults, **extra}
    if topology is not None:
        raw["topology"] = topology
    return scenario_from_dict(raw)


def _model(faults: dict[str, Any], topology: dict[str, Any] | None = TOPO, **extra: Any) -> Any:
    m = build(_scenario(faults, topology, **extra), Streams(1))
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


def _faults(m: Any) -> Any:
    return m.parts["faults"]


def _rows(m: Any) -> list[tuple[float, int, str, str]]:
    f = m.history.to_frame("faults")
    return list(zip(f["at"].tolist(), f["node"].tolist(), f["action"].astype(str).tolist(), f["detail"].astype(str).tolist(),
                    strict=True))


def _reach(m: Any, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of the messages src -> dst sent now arrive (each takes 1 ms: links add 0 in TOPO)."""
    got: set[tuple[int, int]] = set()
    for src, dst in pairs:
        m.network.send(src, dst, "x", None, None, lambda msg: got.add((msg.src, msg.dst)))
    m.env.run(until=m.env.now + 1.5)
    return got


# -- DC partition -------------------------------------------------------------------------------

ALL_PAIRS = [(s, d) for s in (*range(5), -1, -3, -4) for d in range(5) if s != d]


def _dc(lay: Layout, ep: int) -> str:
    return lay.names[lay.endpoint_dc(ep)]


def test_dc_partition_cuts_every_link_across_sides_clients_included_and_heals() -> None:
    m = _model({"schedule": [{"at_ms": 1, "action": "dc-partition", "datacenters": ["a"], "duration_ms": 10}]})
    lay = Layout.of(m.scenario)
    assert [_dc(lay, ep) for ep in (-1, -2, -3, -4)] == ["a", "a", "b", "c"]
    m.env.run(until=2)
    got = _reach(m, ALL_PAIRS)
    want = {(s, d) for s, d in ALL_PAIRS if (_dc(lay, s) == "a") == (_dc(lay, d) == "a")}
    assert got == want
    assert (-1, 0) in got and (-1, 2) not in got and (-3, 2) in got and (-3, 0) not in got and (2, 4) in got
    m.env.run(until=12)  # healed at 11
    assert _reach(m, ALL_PAIRS) == set(ALL_PAIRS)
    assert _rows(m) == [(1.0, -1, "dc-partition", "1:a|b,c"), (11.0, -1, "dc-fault-end", "1:a|b,c")]
    assert not m.network.drop_rules and not m.network.deliver_rules


def test_dc_partition_one_way_and_between_sides() -> None:
    m = _model({"schedule": [
        {"at_ms": 0, "action": "dc-partition", "datacenters": ["b"], "one_way": True, "duration_ms": 4},
        {"at_ms": 5, "action": "dc-partition", "between": [["a"], ["b"], ["c"]], "duration_ms": 4},
    ]})
    lay = Layout.of(m.scenario)
    m.env.run(until=1)
    got = _reach(m, ALL_PAIRS)  # one-way: only b -> others dropped
    assert got == {(s, d) for s, d in ALL_PAIRS if not (_dc(lay, s) == "b" and _dc(lay, d) != "b")}
    assert (0, 2) in got and (2, 0) not in got and (-3, 4) not in got and (4, 2) in got
    m.env.run(until=6)
    got = _reach(m, ALL_PAIRS)  # three sides: only same-DC messages pass
    assert got == {(s, d) for s, d in ALL_PAIRS if _dc(lay, s) == _dc(lay, d)}
    m.env.run(until=10)
    assert [r[2:] for r in _rows(m)] == [("dc-partition", "1:one-way b|a,c"), ("dc-fault-end", "1:one-way b|a,c"),
                                         ("dc-partition", "2:a|b|c"), ("dc-fault-end", "2:a|b|c")]


def test_dc_partition_drops_messages_in_flight_and_overlapping_cuts_count() -> None:
    m = _model({"schedule": [
        {"at_ms": 2, "action": "dc-partition", "datacenters": ["a"], "duration_ms": 10},
        {"at_ms": 4, "action": "dc-partition", "datacenters": ["a"], "duration_ms": 10},
    ]})
    got: list[int] = []
    m.env.run(until=1.5)
    m.network.send(0, 2, "x", None, None, lambda msg: got.append(1))  # arrives at 2.5: cut at 2
    m.env.run(until=13)  # the first cut ended at 12, the second still holds
    assert got == [] and _reach(m, [(0, 2), (0, 1)]) == {(0, 1)}
    m.env.run(until=15)
    assert _reach(m, [(0, 2)]) == {(0, 2)}


def test_dc_partition_tells_who_listens_for_reachability_changes() -> None:
    """The failure detector re-evaluates on ``faults.on_change`` (its ground truth asks the drop rules)."""
    m = _model({"schedule": [{"at_ms": 1, "action": "dc-partition", "datacenters": ["c"], "duration_ms": 5}]})
    f = _faults(m)
    seen: list[tuple[float, bool]] = []
    f.on_change.append(lambda: seen.append((m.env.now, any(rule(0, 4, "fd") for rule in m.network.drop_rules))))
    m.env.run(until=10)
    assert seen == [(1.0, True), (6.0, False)]


# -- DC and rack outages ----------------------------------------------------------------------

def test_dc_outage_takes_a_dc_down_and_brings_it_back_with_its_data() -> None:
    m = _model({"schedule": [{"at_ms": 5, "action": "dc-outage", "datacenters": ["b"], "duration_ms": 10}]})
    m.coordinators[-1].write(0, 0)
    m.env.run(until=6)
    assert [n.up for n in m.nodes] == [True, True, False, False, True]
    held = {i: dict(m.nodes[i].store) for i in (2, 3)}
    m.env.run(until=16)
    assert all(n.up for n in m.nodes)
    assert {i: dict(m.nodes[i].store) for i in (2, 3)} == held
    assert _rows(m) == [(5.0, -1, "dc-outage", "1:b"), (5.0, 2, "crash", ""), (5.0, 3, "crash", ""),
                        (15.0, 2, "recover", ""), (15.0, 3, "recover", ""), (15.0, -1, "dc-fault-end", "1:b")]


def test_outage_and_crash_hold_a_node_down_independently() -> None:
    """A crash inside a DC outage does not end it, and the outage's end does not undo the crash:
    one crash row when the node goes down, one recover row when it is up again."""
    m = _model({"schedule": [
        {"at_ms": 2, "action": "crash", "nodes": [2], "duration_ms": 4},       # down 2..6
        {"at_ms": 4, "action": "dc-outage", "datacenters": ["b"], "duration_ms": 6},  # down 4..10
        {"at_ms": 12, "action": "dc-outage", "datacenters": ["b"], "duration_ms": 6},  # down 12..18
        {"at_ms": 14, "action": "crash", "nodes": [3], "duration_ms": 10},     # down 14..24
    ]})
    ups: dict[float, list[bool]] = {}
    for t in (3, 5, 7, 11, 13, 19, 25):
        m.env.run(until=t)
        ups[t] = [m.nodes[2].up, m.nodes[3].up]
    assert ups == {3: [False, True], 5: [False, False], 7: [False, False], 11: [True, True], 13: [False, False],
                   19: [True, False], 25: [True, True]}
    node_rows = [(at, node, a) for at, node, a, _ in _rows(m) if node >= 0]
    assert node_rows == [(2.0, 2, "crash"), (4.0, 3, "crash"), (10.0, 2, "recover"), (10.0, 3, "recover"),
                         (12.0, 2, "crash"), (12.0, 3, "crash"), (18.0, 2, "recover"), (24.0, 3, "recover")]


def test_rack_outage_on_topology_racks_and_on_placement_racks() -> None:
    m = _model({"schedule": [{"at_ms": 1, "action": "rack-outage", "racks": [1, 2], "duration_ms": 3}]})
    m.env.run(until=2)
    assert [n.up for n in m.nodes] == [True, False, False, False, True]  # rack 1: node 1; rack 2: nodes 2, 3
    m.env.run(until=5)
    assert all(n.up for n in m.nodes)
    assert [r[2:] for r in _rows(m) if r[1] < 0] == [("rack-outage", "1:rack-1"), ("rack-outage", "2:rack-2"),
                                                      ("dc-fault-end", "1:rack-1"), ("dc-fault-end", "2:rack-2")]
    flat = _model({"schedule": [{"at_ms": 1, "action": "rack-outage", "racks": [0], "duration_ms": 3}]}, topology=None,
                  cluster={"nodes": 6, "replication": 3}, placement={"racks": 3})
    flat.env.run(until=2)
    assert [n.up for n in flat.nodes] == [False, True, True, False, True, True]  # node i on rack i mod 3


# -- WAN degradation ----------------------------------------------------------------------------

def _factors_over(m: Any, times: list[float]) -> list[dict[str, float]]:
    out = []
    for t in times:
        m.env.run(until=t)
        out.append(dict(m.network.link_factor))
    return out


@NEEDS_LINKS
def test_wan_degradation_sets_and_restores_link_factors_and_composes() -> None:
    m = _model({"schedule": [
        {"at_ms": 1, "action": "wan-degradation", "factor": 3, "datacenters": ["a"], "duration_ms": 10},  # 1..11
        {"at_ms": 5, "action": "wan-degradation", "factor": 2, "between": [["a", "b"], ["c"]], "duration_ms": 10},  # 5..15
        {"at_ms": 20, "action": "wan-degradation", "factor": 4, "duration_ms": 1},  # every link 20..21
    ]})
    assert _factors_over(m, [0.5, 2, 6, 12, 16, 20.5, 22]) == [
        {}, {"a|b": 3.0, "a|c": 3.0}, {"a|b": 3.0, "a|c": 6.0, "b|c": 2.0}, {"a|c": 2.0, "b|c": 2.0}, {},
        {"a|b": 4.0, "a|c": 4.0, "b|c": 4.0}, {},
    ]
    details = [d for _, node, a, d in _rows(m) if a == "wan-degradation"]
    assert details == ["1:x3 a|b,c", "2:x2 a,b|c", "3:x4 a|b|c"]


@NEEDS_LINKS
def test_wan_degradation_multiplies_the_link_part_of_the_delay() -> None:
    """With links on, a message a -> b takes kind part (1 ms) + factor x link part (5 ms)."""
    m = _model({"schedule": [{"at_ms": 10, "action": "wan-degradation", "factor": 3, "between": [["a"], ["b"]],
                              "duration_ms": 20}]}, topology=TOPO_WAN)
    lay = Layout.of(m.scenario)
    m.network.set_links(lay.link_class, lay.link_laws())  # what the builder does on a topology
    arrivals: dict[tuple[int, int], float] = {}

    def send(src: int, dst: int) -> None:
        t0 = m.env.now
        m.network.send(src, dst, "x", None, None, lambda msg: arrivals.__setitem__((msg.src, msg.dst), m.env.now - t0))

    send(0, 2)
    m.env.run(until=12)
    assert arrivals == {(0, 2): pytest.approx(6.0)}
    for src, dst in ((0, 2), (2, 0), (0, 4), (0, 1)):
        send(src, dst)
    m.env.run(until=40)
    assert arrivals == {(0, 2): pytest.approx(16.0), (2, 0): pytest.approx(16.0), (0, 4): pytest.approx(6.0),
                        (0, 1): pytest.approx(1.0)}
    send(0, 2)
    m.env.run(until=50)
    assert arrivals[(0, 2)] == pytest.approx(6.0)


# -- random processes ---------------------------------------------------------------------------

def _random_windows(faults: dict[str, Any], seed: int, until: float, topology: dict[str, Any] | None = TOPO,
                    **extra: Any) -> pd.DataFrame:
    sc = _scenario(faults, topology, **extra)
    m = build(sc, Streams(seed))
    m.started = True
    for fn in m.on_start:
        fn(m)
    m.env.run(until=until)
    return fault_windows(m.history.to_frame("faults"), until)


@pytest.mark.parametrize("kind", ["dc_partition", "dc_outage", pytest.param("wan_degradation", marks=NEEDS_LINKS),
                                  "rack_outage"])
def test_random_dc_fault_processes_follow_their_rates(kind: str) -> None:
    """Gaps exponential with mean MTBF from the end of the previous fault, durations from their law:
    windows per unit time = 1 / (MTBF + mean duration), and the group is uniform."""
    mtbf, dur, until = 400.0, 100.0, 200_000.0
    w = _random_windows({f"{kind}_mtbf_ms": mtbf, f"{kind}_duration": f"constant(value={dur})"}, seed=3, until=until)
    n = len(w)
    expect = until / (mtbf + dur)
    assert abs(n - expect) < 4 * np.sqrt(expect)  # a renewal count: sd below sqrt(mean) (regular durations)
    lengths = (w["end_ms"] - w["start_ms"]).to_numpy()
    assert np.allclose(lengths[:-1], dur) and lengths[-1] <= dur + 1e-9  # the last may be cut by the end
    gaps = w["start_ms"].to_numpy()[1:] - w["end_ms"].to_numpy()[:-1]
    se = gaps.std() / np.sqrt(len(gaps))
    assert abs(gaps.mean() - mtbf) < 4 * se
    groups = {"dc_partition": 3, "dc_outage": 3, "wan_degradation": 3, "rack_outage": 4}[kind]
    counts = w["detail"].value_counts().to_numpy()
    assert len(counts) == groups
    expect_each = n / groups  # chi-square, df = groups - 1; 99.9 % point of chi2(3) is 16.3
    assert ((counts - expect_each) ** 2 / expect_each).sum() < 16.3


def test_random_dc_partition_one_way_and_streams_are_separate() -> None:
    w = _random_windows({"dc_partition_mtbf_ms": 1000, "dc_partition_one_way": True}, seed=5, until=50_000)
    assert len(w) and all(d.startswith("one-way ") for d in w["detail"])
    # switching another process on leaves this one's draws unchanged (its own stream)
    both = _random_windows({"dc_partition_mtbf_ms": 1000, "dc_partition_one_way": True, "dc_outage_mtbf_ms": 700},
                           seed=5, until=50_000)
    mine = both[both["fault"] == "dc-partition"].reset_index(drop=True)
    assert mine[["start_ms", "end_ms", "detail"]].equals(w[["start_ms", "end_ms", "detail"]])
    again = _random_windows({"dc_partition_mtbf_ms": 1000, "dc_partition_one_way": True}, seed=5, until=50_000)
    assert again.equals(w)


# -- validation of bad input --------------------------------------------------------------------

@pytest.mark.parametrize(("faults", "topology", "extra", "key", "words"), [
    ({"schedule": [{"action": "dc-partition", "datacenters": ["x"]}]}, TOPO, {}, "faults.schedule[0].datacenters[0]",
     "'x' is not a datacenter"),
    ({"schedule": [{"action": "dc-partition", "between": [["a"], ["a", "b"]]}]}, TOPO, {}, "faults.schedule[0].between",
     "on two sides"),
    ({"schedule": [{"action": "dc-partition", "between": [["a", "b"]]}]}, TOPO, {}, "faults.schedule[0].between",
     "two or more sides"),
    ({"schedule": [{"action": "dc-partition", "between": [["a"], ["q"]]}]}, TOPO, {}, "faults.schedule[0].between[1][0]",
     "'q' is not a datacenter"),
    ({"schedule": [{"action": "dc-partition"}]}, TOPO, {}, "faults.schedule[0].datacenters", "needs datacenters"),
    ({"schedule": [{"action": "dc-partition", "datacenters": ["a", "b", "c"]}]}, TOPO, {},
     "faults.schedule[0].datacenters", "no rest"),
    ({"schedule": [{"action": "dc-partition", "datacenters": ["a"], "duration_ms": -5}]}, TOPO, {},
     "faults.schedule[0].duration_ms", "must be > 0"),
    ({"schedule": [{"action": "dc-partition", "datacenters": ["a"]}]}, None, {}, "faults.schedule[0].action",
     "needs datacenters"),
    ({"schedule": [{"action": "dc-outage", "dcs": [0]}]}, TOPO, {}, "faults.schedule[0].dcs", "datacenters = [...]"),
    ({"schedule": [{"action": "dc-outage"}]}, TOPO, {}, "faults.schedule[0].datacenters", "at least one"),
    ({"schedule": [{"action": "dc-outage", "datacenters": ["a"], "nodes": [1]}]}, TOPO, {}, "faults.schedule[0].nodes",
     "names datacenters"),
    ({"schedule": [{"action": "rack-outage", "racks": [4]}]}, TOPO, {}, "faults.schedule[0].racks[0]", "rack 4 does not exist"),
    ({"schedule": [{"action": "rack-outage", "racks": [0]}]}, None, {}, "faults.schedule[0].racks", "needs racks"),
    ({"schedule": [{"action": "wan-degradation", "datacenters": ["a"]}]}, TOPO, {}, "faults.schedule[0].factor", "needs factor"),
    ({"schedule": [{"action": "wan-degradation", "factor": 0}]}, TOPO, {}, "faults.schedule[0].factor", "must be > 0"),
    ({"schedule": [{"action": "crash", "nodes": [0], "factor": 2}]}, TOPO, {}, "faults.schedule[0].factor", "only applies"),
    ({"schedule": [{"action": "crash", "nodes": [0], "datacenters": ["a"]}]}, TOPO, {}, "faults.schedule[0].datacenters",
     "only applies"),
    ({"schedule": [{"action": "dc-outage", "datacenters": ["a"], "one_way": True}]}, TOPO, {}, "faults.schedule[0].one_way",
     "only applies"),
    ({"dc_partition_mtbf_ms": 1000}, None, {}, "faults.dc_partition_mtbf_ms", "needs datacenters"),
    ({"wan_degradation_mtbf_ms": 1000}, {"datacenters": [{"name": "a"}]}, {}, "faults.wan_degradation_mtbf_ms",
     "two or more datacenters"),
    ({"rack_outage_mtbf_ms": 1000}, None, {}, "faults.rack_outage_mtbf_ms", "need racks"),
    ({"dc_outage_mtbf_ms": 1e-6}, TOPO, {}, "faults.dc_outage_mtbf_ms", "fault events; at most"),
    ({"dc_outage_duration": "normal(mean=1, sd=1)"}, TOPO, {}, "faults.dc_outage_duration", "can be negative"),
])
def test_bad_dc_fault_input_is_one_line_naming_the_key(faults: dict[str, Any], topology: Any, extra: dict[str, Any],
                                                     key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _scenario(faults, topology, **extra)
    msg = str(info.value)
    assert key in msg and words in msg and "\n" not in msg


def test_flat_cluster_may_use_placement_racks_for_rack_outages() -> None:
    sc = _scenario({"rack_outage_mtbf_ms": 1000, "schedule": [{"action": "rack-outage", "racks": [2]}]}, None,
                   cluster={"nodes": 6, "replication": 3}, placement={"racks": 3})
    assert sc.faults.rack_outage_mtbf_ms == 1000


# -- availability per datacenter: the metric ----------------------------------------------------

def test_availability_by_dc_counts_by_coordinator_dc_and_window() -> None:
    lay = Layout.of(_scenario({}))
    # coordinators: client endpoints -1 (a), -3 (b), -4 (c), and node 2 (b)
    ops = pd.DataFrame({
        "issued_at": [0.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 12.0],
        "kind": ["read", "read", "read", "write", "write", "read", "write", "read"],
        "status": ["ok", "ok", "timeout", "ok", "timeout", "ok", "ok", "pending"],
        "coordinator": [-1, -1, -1, -3, -3, 2, -4, -1],
    })
    faults = pd.DataFrame({"at": [2.5, 7.5, 11.0], "node": [-1, -1, -1],
                           "action": ["dc-partition", "dc-fault-end", "wan-degradation"],
                           "detail": ["1:a|b,c", "1:a|b,c", "2:x3 a|b,c"]})
    f = availability_by_dc(ops, faults, lay, warmup_ms=1.0, end_at=20.0)
    got = {(r.window, r.dc, r.kind): (r.ops, r.ok) for r in f.itertuples()}
    assert got[(0, "a", "read")] == (3, 1)      # 2.0 ok, 3.0 timeout, 12.0 pending (0.5 is in the warm-up)
    assert got[(0, "b", "read")] == (1, 1) and got[(0, "b", "write")] == (2, 1) and got[(0, "c", "write")] == (1, 1)
    assert got[(1, "a", "read")] == (1, 0) and got[(1, "b", "write")] == (2, 1) and got[(1, "c", "write")] == (1, 1)
    assert got[(2, "a", "read")] == (1, 0) and got[(2, "b", "read")] == (0, 0)
    w2 = f[f["window"] == 2].iloc[0]
    assert (w2["fault"], w2["detail"], w2["start_ms"], w2["end_ms"]) == ("wan-degradation", "x3 a|b,c", 11.0, 20.0)
    row = f[(f["window"] == 1) & (f["dc"] == "b") & (f["kind"] == "write")].iloc[0]
    assert row["availability"] == 0.5 and 0 < row["ci_low"] < 0.5 < row["ci_high"] < 1
    assert np.isnan(f[(f["window"] == 2) & (f["dc"] == "b") & (f["kind"] == "read")]["availability"].iloc[0])


def test_availability_report_on_a_flat_run_with_a_rack_outage() -> None:
    """End to end on a flat cluster (the simulator runs it today): with every replica's rack out, the
    operations issued in the window fail and the others do not."""
    from pbs_sim.simulation import simulate

    res = simulate({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                    "read_timeout_ms": 50, "write_timeout_ms": 50},
        "placement": {"racks": 3},
        "latency": LAT,
        "workload": {"keys": 10, "rate_per_s": 1000, "duration_ms": 2000, "warmup_ms": 100},
        "faults": {"schedule": [{"at_ms": 1000, "action": "rack-outage", "racks": [0], "duration_ms": 500},
                                {"at_ms": 1100, "action": "rack-outage", "racks": [1], "duration_ms": 200}]},
    }, seed=4, record_ops=True)
    s, f, ops = res.summary(), res.frames()["availability_by_dc"], res.frames()["ops"]
    assert s["dc_fault_windows"] == 2
    w2 = f[f["window"] == 2]
    assert (w2["ops"] > 10).all()
    # two racks of three out: no quorum of 2 for what is issued in the window, except an operation
    # issued in its last millisecond (its requests, 1 ms on the way, arrive after the racks are back)
    late = (ops["issued_at"] >= 1299) & (ops["issued_at"] < 1300)
    ok = ops["status"] == "ok"
    assert not (ok & (ops["issued_at"] >= 1100) & (ops["issued_at"] < 1299)).any()
    assert w2["ok"].sum() == (ok & late).sum()
    w1 = f[f["window"] == 1]
    assert 0 < (w1["ok"] / w1["ops"]).min() < 1  # quorum of 2 with one rack out, except while the second is
    run = f[f["window"] == 0]
    assert list(run["dc"]) == ["", ""] and run["ops"].sum() == s["ops"]
    assert run["ok"].sum() / run["ops"].sum() == pytest.approx(s["availability"])
    assert s["dc_fault_min_dc_availability"] == 0.0


# -- validation: availability through a DC partition (docs/validation.md) ---------------------------
#
# Three datacenters of three nodes, RF 3 each (so every node is a replica of every key), clients in
# all three, fan-out to every replica (a LOCAL_* read asks its own datacenter's). Nodes crash and
# recover independently (exponential up 60 ms, down 20 ms: down with probability 1/4 in steady
# state); from 7 to 17 s dc1 is cut off from dc2 and dc3. Latencies are 0.01 ms per message and
# 0.02 ms per WAN link, so an operation is over (or its requests dropped) within 0.06 ms: far
# shorter than the fault process's times.

LEVELS = ("LOCAL_QUORUM", "QUORUM", "EACH_QUORUM")
DCS = ("dc1", "dc2", "dc3")
P_DOWN = 20 / (60 + 20)
PART = (7_000.0, 17_000.0)
SETTLE_MS = 0.1  # an operation's fate is sealed within 0.06 ms of its issue (every message delivered or dropped)


def _partition_raw(level: str, duration_ms: float = 20_000, rate: float = 500) -> dict[str, Any]:
    return {
        "topology": {"datacenters": [{"name": n, "nodes": 3, "replication": 3} for n in DCS],
                     "inter_dc": "constant(value=0.02)"},
        "consistency": {"read": level, "write": level},
        "cluster": {"coordinator": "client", "read_timeout_ms": 1, "write_timeout_ms": 1},
        "latency": {"profile": "lnkd-ssd", "w": 0.01, "a": 0.01, "r": 0.01, "s": 0.01, "other": 0.01},
        "workload": {"keys": 20, "rate_per_s": rate, "duration_ms": duration_ms, "warmup_ms": 2_000, "clients": 30,
                     "read_fraction": 0.5},
        "faults": {"crash_mttf_ms": 60, "crash_mttr_ms": 20,
                   "schedule": [{"at_ms": PART[0], "action": "dc-partition", "datacenters": ["dc1"],
                                 "duration_ms": PART[1] - PART[0]}]},
    }


def _run_partition(level: str, seed: int, **kw: Any) -> tuple[Any, Any, pd.DataFrame, pd.DataFrame]:
    """Build and run the scenario (the model only: the metrics a full ``simulate`` adds, durability
    above all, are not what is checked here). Returns (scenario, layout, ops, faults)."""
    sc = scenario_from_dict(_partition_raw(level, **kw))
    m = build(sc, Streams(seed))
    history = m.run()
    assert m.layout is not None
    return sc, m.layout, history.to_frame("ops"), history.to_frame("faults")


def _expected_per_op(sc: Any, lay: Layout, ops: pd.DataFrame, faults: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For every operation: whether its level can be met by the replicas that are up and reachable
    from its coordinator's datacenter at the instant it is issued (``level_available`` on per-DC
    live counts, replayed from the faults table in event order), and whether it is *settled*: no
    node changed state and no partition started or ended within ``SETTLE_MS`` after its issue."""
    from pbs_sim.analytic.multidc import level_available
    from pbs_sim.topology import requirements

    reqs = {(d, kind): requirements(sc, d)[0 if kind == "read" else 1] for d in DCS for kind in ("read", "write")}
    ev = faults.sort_values("event")
    changes = list(zip(ev["event"].to_numpy(int).tolist(), ev["node"].to_numpy(int).tolist(),
                       ev["action"].astype(str).tolist(), strict=True))
    times = np.sort(ev["at"].to_numpy(float))
    up = [True] * lay.nodes
    cut = False
    order = np.argsort(ops["issued_event"].to_numpy(int), kind="stable")
    issued_event = ops["issued_event"].to_numpy(int)
    issued = ops["issued_at"].to_numpy(float)
    kinds = ops["kind"].astype(str).to_numpy()
    coord_dc = [lay.names[lay.endpoint_dc(int(c))] for c in ops["coordinator"].to_numpy(int)]
    expect = np.zeros(len(ops), dtype=bool)
    settled = np.zeros(len(ops), dtype=bool)
    j = 0
    for i in order:
        while j < len(changes) and changes[j][0] < issued_event[i]:
            _, node, action = changes[j]
            if node >= 0 and action in ("crash", "recover"):
                up[node] = action == "recover"
            elif action == "dc-partition":
                cut = True
            elif action == "dc-fault-end":
                cut = False
            j += 1
        dc = coord_dc[i]
        reach = ({"dc1"} if dc == "dc1" else {"dc2", "dc3"}) if cut else set(DCS)
        live = {name: sum(up[x] for x in lay.nodes_of(d)) if name in reach else 0 for d, name in enumerate(lay.names)}
        expect[i] = level_available(reqs[(dc, kinds[i])], live, dc)
        k = np.searchsorted(times, issued[i], side="right")
        settled[i] = k == len(times) or times[k] > issued[i] + SETTLE_MS
    return expect, settled


@pytest.mark.validation
@pytest.mark.parametrize("level", LEVELS)
def test_each_operation_succeeds_iff_its_level_is_met_by_live_reachable_replicas(level: str) -> None:
    """Operation by operation, through crashes and a DC partition: the simulator's outcome is the
    analytic rule (``level_available`` on the per-DC replicas up and reachable when it is issued),
    exactly, for every operation no fault touched while it was on its way."""
    sc, lay, ops, faults = _run_partition(level, seed=11)
    measured = (ops["issued_at"] >= 2_000).to_numpy()
    expect, settled = _expected_per_op(sc, lay, ops, faults)
    ok = (ops["status"] == "ok").to_numpy(bool)
    sel = measured & settled
    assert sel.sum() > 0.95 * measured.sum() > 5_000
    assert 0.05 < expect[sel].mean() < 0.95  # the faults matter: both outcomes are common
    assert (ok[sel] == expect[sel]).all(), ops[sel & (ok != expect)].head()
    # and the metric's per-(window, DC, kind) availability is what the rule predicts, within its
    # Wilson interval, counting the unsettled operations too
    frame = availability_by_dc(ops, faults, lay, warmup_ms=2_000.0, end_at=float(ops["completed_at"].max()))
    dc_of = np.array([lay.names[lay.endpoint_dc(int(c))] for c in ops["coordinator"].to_numpy(int)])
    issued = ops["issued_at"].to_numpy(float)
    kinds = ops["kind"].astype(str).to_numpy()
    for r in frame[frame["window"] == 1].to_dict("records"):
        mask = measured & (dc_of == r["dc"]) & (kinds == r["kind"]) & (issued >= PART[0]) & (issued < PART[1])
        assert r["ops"] == mask.sum() and r["ops"] > 200
        assert r["ci_low"] <= expect[mask].mean() <= r["ci_high"], (r["dc"], r["kind"])


def _window_availability(sc: Any, lay: Layout, ops: pd.DataFrame) -> dict[tuple[bool, str], float]:
    """Per run: (in the partition?, coordinator DC) -> fraction of measured operations (reads and
    writes: both at the one level) that succeeded."""
    dc_of = np.array([lay.names[lay.endpoint_dc(int(c))] for c in ops["coordinator"].to_numpy(int)])
    issued = ops["issued_at"].to_numpy(float)
    kinds = ops["kind"].astype(str).to_numpy()
    ok = (ops["status"] == "ok").to_numpy(bool)
    inside = (issued >= PART[0]) & (issued < PART[1])
    measured = issued >= 2_000
    assert set(kinds) == {"read", "write"}
    out = {}
    for part in (True, False):
        for dc in DCS:
            mask = measured & (inside == part) & (dc_of == dc)
            out[(part, dc)] = float(ok[mask].mean())
    return out


@pytest.mark.validation
@pytest.mark.parametrize("level", LEVELS)
def test_availability_through_a_dc_partition_matches_per_dc_live_replicas(level: str) -> None:
    """Over replications, each coordinator datacenter's availability in and out of the partition
    against ``pbs_sim.analytic.multidc.availability``: live replicas of each datacenter
    Binomial(3, 3/4), none in a datacenter cut off. A run's figure is one draw of the (correlated)
    fault process, so the interval is over runs: the mean of 10 runs +- t(0.9995, 9) x its standard
    error (99.9 %). Reads and writes are at the one level (the same requirement), so they pool."""
    from pbs_sim.analytic.multidc import availability
    from pbs_sim.topology import requirements

    runs = [_window_availability(*_run_partition(level, seed=100 + s, duration_ms=20_000, rate=200)[:3]) for s in range(10)]
    sc = scenario_from_dict(_partition_raw(level))
    rf = sc.topology.replication()
    t_crit = 4.781  # scipy.stats.t.ppf(0.9995, 9)
    checked = 0
    for cell in runs[0]:
        part, dc = cell
        reach = ({"dc1"} if dc == "dc1" else {"dc2", "dc3"}) if part else set(DCS)
        read, write = requirements(sc, dc)
        assert (read.total, read.local, read.per_dc) == (write.total, write.local, write.per_dc)
        want = availability(read, rf, dc, reach, P_DOWN)
        vals = np.array([r[cell] for r in runs])
        if want in (0.0, 1.0):
            assert (vals == want).all(), (cell, vals)  # no live replica can answer: none succeeds
            continue
        half = t_crit * vals.std(ddof=1) / np.sqrt(len(vals))
        assert abs(vals.mean() - want) <= half, (cell, vals.mean(), want, half)
        assert half < 0.08  # the check has teeth: an error of 0.08 in the rule would show (measured: 0.01-0.06)
        checked += 1
    assert checked == {"LOCAL_QUORUM": 6, "QUORUM": 5, "EACH_QUORUM": 3}[level]


def test_a_dc_outage_leaves_local_quorum_elsewhere_working() -> None:
    """dc1 is out from 5 to 15 s (no other fault): LOCAL_QUORUM in dc2 and dc3 keeps working, dc1's
    operations all fail while it is out and all succeed once it is back (that its nodes keep their
    data is checked exactly above, in the DC outage trace)."""
    raw = _partition_raw("LOCAL_QUORUM", duration_ms=18_000, rate=300)
    raw["faults"] = {"schedule": [{"at_ms": 5_000, "action": "dc-outage", "datacenters": ["dc1"], "duration_ms": 10_000}]}
    sc = scenario_from_dict(raw)
    m = build(sc, Streams(2))
    history = m.run()
    lay = m.layout
    assert lay is not None
    ops = history.to_frame("ops")
    frame = availability_by_dc(ops, history.to_frame("faults"), lay, 2_000.0, float(ops["completed_at"].max()))
    out = frame[frame["window"] == 1]
    in_dc1 = (out["dc"] == "dc1").to_numpy(bool)
    assert (out["ops"].to_numpy() > 200).all() and len(out) == 6
    assert (out["ok"].to_numpy()[in_dc1] == 0).all() and (out["availability"].to_numpy()[~in_dc1] == 1.0).all()
    issued = ops["issued_at"].to_numpy(float)
    dc1 = np.array([lay.endpoint_dc(int(c)) == 0 for c in ops["coordinator"].to_numpy(int)])
    after = (issued > 15_001) & dc1
    assert after.sum() > 200 and (ops["status"].to_numpy()[after] == "ok").all()


def test_simulate_reports_availability_per_dc_through_a_partition() -> None:
    """End to end through ``simulate``: the frame has a row per (window, DC, kind), the summary its
    dc_fault_* figures; during the partition QUORUM fails in the cut-off dc1 and works elsewhere
    (6 of 9 replicas reachable, none down)."""
    from pbs_sim.simulation import simulate

    raw = _partition_raw("QUORUM", duration_ms=3_000, rate=400)
    raw["faults"] = {"schedule": [{"at_ms": 3_000, "action": "dc-partition", "datacenters": ["dc1"], "duration_ms": 1_000}]}
    res = simulate(raw, seed=3)
    s, f = res.summary(), res.frames()["availability_by_dc"]
    assert len(f) == 2 * 3 * 2 and set(f["dc"]) == set(DCS)
    w = f[f["window"] == 1]
    assert (w["fault"] == "dc-partition").all() and (w["detail"] == "dc1|dc2,dc3").all()
    assert (w["start_ms"] == 3_000).all() and (w["end_ms"] == 4_000).all()
    in_dc1 = (w["dc"] == "dc1").to_numpy(bool)
    assert (w["ok"].to_numpy()[in_dc1] == 0).all() and (w["availability"].to_numpy()[~in_dc1] == 1.0).all()
    assert (w["ops"].to_numpy() > 20).all()
    assert s["dc_fault_windows"] == 1 and s["dc_fault_min_dc_availability"] == 0.0
    inside = w["ops"].sum()
    assert s["dc_fault_read_availability"] == pytest.approx(
        w[(w["kind"] == "read") & ~in_dc1]["ops"].sum() / w[w["kind"] == "read"]["ops"].sum())
    assert inside < s["ops"]
    run = f[f["window"] == 0]
    assert run["ok"].sum() / run["ops"].sum() == pytest.approx(s["availability"])


def test_the_guides_datacenter_fault_example_validates_on_a_topology() -> None:
    """docs/guide/faults.md's "Datacenter faults" block, on a three-DC topology with two racks each."""
    import re
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    page = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "faults.md").read_text()
    section = page.split("## Datacenter faults", 1)[1]
    raw = tomllib.loads(re.findall(r"```toml\n(.*?)```", section, re.S)[0])
    raw["topology"] = {"datacenters": [{"name": n, "nodes": 6, "racks": 2, "replication": 3} for n in ("dc1", "dc2", "dc3")],
                       "inter_dc": "constant(value=40)"}
    raw["workload"] = {"duration_ms": 120_000}
    sc = scenario_from_dict(raw)
    assert [e.action for e in sc.faults.schedule] == ["dc-partition", "dc-outage", "rack-outage", "wan-degradation"]
    assert sc.faults.dc_partition_mtbf_ms == 3_600_000 and sc.faults.wan_degradation_factor == 10
