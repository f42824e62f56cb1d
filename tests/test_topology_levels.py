"""[topology] and [consistency] (issue 19): the level definitions, the config rules, the refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pbs_sim.config import load_scenario, scenario_from_dict
from pbs_sim.distributions import Constant
from pbs_sim.errors import ConfigError
from pbs_sim.levels import LevelError, Requirement, resolve
from pbs_sim.topology import AWS_2017_RTT_MS, requirements, wan_rtt_ms

TWO_DC = {"dc1": 3, "dc2": 3}


def topo(*dcs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"topology": {"datacenters": list(dcs), **extra}}


def dc(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **kw}


# -- level definitions (Cassandra's ConsistencyLevel.blockFor / localQuorumFor) ---------------


@pytest.mark.parametrize(
    ("name", "rf", "local", "total", "loc", "per_dc"),
    [
        ("ONE", TWO_DC, "dc1", 1, 0, ()),
        ("TWO", TWO_DC, "dc1", 2, 0, ()),
        ("THREE", TWO_DC, "dc1", 3, 0, ()),
        ("QUORUM", TWO_DC, "dc1", 4, 0, ()),  # floor(6 / 2) + 1 over all datacenters
        ("QUORUM", {"dc1": 3, "dc2": 2}, "dc1", 3, 0, ()),  # floor(5 / 2) + 1
        ("ALL", TWO_DC, "dc2", 6, 0, ()),
        ("LOCAL_ONE", TWO_DC, "dc2", 0, 1, ()),
        ("LOCAL_QUORUM", {"dc1": 5, "dc2": 2}, "dc2", 0, 2, ()),  # the coordinator's DC: floor(2 / 2) + 1
        ("LOCAL_QUORUM", {"dc1": 5, "dc2": 2}, "dc1", 0, 3, ()),
        ("EACH_QUORUM", {"dc1": 5, "dc2": 1}, "dc1", 0, 0, (("dc1", 3), ("dc2", 1))),
        ("EACH_QUORUM", {"dc1": 3, "dc2": 0, "dc3": 3}, "dc1", 0, 0, (("dc1", 2), ("dc3", 2))),
        ("local_quorum", TWO_DC, "dc1", 0, 2, ()),  # case-insensitive
        # a flat cluster (SimpleStrategy): the local and each-DC quorums are the cluster's quorum
        ("LOCAL_QUORUM", {"": 5}, None, 3, 0, ()),
        ("EACH_QUORUM", {"": 5}, None, 3, 0, ()),
        ("LOCAL_ONE", {"": 5}, None, 1, 0, ()),
        # Riak's named values: default is the bucket default, quorum
        ("default", {"": 5}, None, 3, 0, ()),
        ("quorum", {"": 4}, None, 3, 0, ()),
        ("all", {"": 4}, None, 4, 0, ()),
    ],
)
def test_levels_resolve_as_cassandra_and_riak_define_them(
    name: str, rf: dict[str, int], local: str | None, total: int, loc: int, per_dc: tuple[tuple[str, int], ...],
) -> None:
    req = resolve(name, "read", rf, local)
    assert (req.total, req.local, req.per_dc) == (total, loc, per_dc)
    assert req.block_for == total + loc + sum(q for _, q in per_dc)


def test_any_is_a_write_level_and_counts_a_hint() -> None:
    w = resolve("ANY", "write", TWO_DC, "dc1")
    assert w.total == 1 and w.hint_ok
    with pytest.raises(LevelError, match="only supported for writes"):
        resolve("ANY", "read", TWO_DC, "dc1")


def test_riak_primaries_by_name() -> None:
    assert resolve("default", "pr", {"": 3}).total == 0
    assert resolve("quorum", "pw", {"": 5}).total == 3
    assert resolve("all", "pr", {"": 5}).total == 5
    with pytest.raises(LevelError, match="not a Riak pr value"):
        resolve("LOCAL_QUORUM", "pr", {"": 3})


@pytest.mark.parametrize(
    ("name", "rf", "local", "needle"),
    [
        ("FOO", TWO_DC, "dc1", "unknown consistency level 'FOO'"),
        ("SERIAL", TWO_DC, "dc1", "Paxos"),
        ("THREE", {"dc1": 1, "dc2": 1}, "dc1", "needs 3 replies but there are 2 replicas"),
        ("LOCAL_QUORUM", {"dc1": 3, "dc2": 0}, "dc2", "dc2 holds no replicas"),
        ("", TWO_DC, "dc1", "expected a level name"),
    ],
)
def test_levels_refused_with_a_reason(name: str, rf: dict[str, int], local: str, needle: str) -> None:
    with pytest.raises(LevelError, match=needle):
        resolve(name, "read", rf, local)


# -- [consistency] on a flat cluster: today's counts ----------------------------------------------


def test_levels_on_a_flat_cluster_become_r_and_w() -> None:
    sc = scenario_from_dict({"cluster": {"replication": 5, "nodes": 5}, "consistency": {"read": "QUORUM", "write": "ALL"}})
    assert (sc.cluster.read_quorum, sc.cluster.write_quorum) == (3, 5)
    # the count follows N when a sweep changes N (to_dict leaves it out)
    assert "read_quorum" not in sc.to_dict()["cluster"]
    assert sc.with_overrides({"cluster.replication": 3}).cluster.read_quorum == 2
    assert scenario_from_dict(sc.to_dict()) == sc


def test_a_count_given_with_a_level_must_agree() -> None:
    ok = scenario_from_dict({"cluster": {"read_quorum": 2}, "consistency": {"read": "QUORUM"}})
    assert ok.cluster.read_quorum == 2
    with pytest.raises(ConfigError, match="cluster.read_quorum: 1 disagrees with consistency.read = 'QUORUM'"):
        scenario_from_dict({"cluster": {"read_quorum": 1}, "consistency": {"read": "QUORUM"}})


def test_any_by_name_is_the_existing_write_any() -> None:
    sc = scenario_from_dict({"consistency": {"write": "ANY"}, "hinted_handoff": {"store": "coordinator"}})
    assert sc.cluster.write_any and sc.cluster.write_quorum == 1
    assert scenario_from_dict(sc.to_dict()) == sc
    with pytest.raises(ConfigError, match="cluster.write_quorum: \"any\" disagrees with consistency.write = 'ONE'"):
        scenario_from_dict({"cluster": {"write_quorum": "any"}, "consistency": {"write": "ONE"},
                            "hinted_handoff": {"store": "coordinator"}})
    with pytest.raises(ConfigError, match="hinted_handoff.store"):
        scenario_from_dict({"consistency": {"write": "ANY"}})


def test_scenarios_without_the_new_sections_keep_their_settings() -> None:
    d = scenario_from_dict({}).to_dict()
    assert "topology" not in d and "consistency" not in d


# -- [topology] ---------------------------------------------------------------------------------


def test_topology_sums_and_link_laws() -> None:
    sc = scenario_from_dict(topo(dc("us-east-1", nodes=4, replication=3), dc("eu-west-1", nodes=5, replication=2),
                                 wan="aws-2017", intra_dc="constant(0.3)"))
    assert (sc.cluster.nodes, sc.cluster.replication) == (9, 5)
    t = sc.topology
    assert t.link("us-east-1", "eu-west-1") == Constant(80.535 / 2)  # measured RTT / 2, either order
    assert t.link("eu-west-1", "us-east-1") == Constant(80.535 / 2)
    assert t.link("us-east-1", "us-east-1") == Constant(0.3)
    assert scenario_from_dict(sc.to_dict()) == sc  # round trip
    bigger = sc.with_overrides({"topology.datacenters": [{"name": "us-east-1", "nodes": 5, "replication": 5},
                                                         {"name": "eu-west-1", "nodes": 5, "replication": 2}]})
    assert (bigger.cluster.nodes, bigger.cluster.replication) == (10, 7)  # the sums follow the datacenters


def test_a_link_entry_overrides_the_table() -> None:
    sc = scenario_from_dict(topo(dc("us-east-1"), dc("eu-west-1"), wan="aws-2017",
                                 links=[{"between": ["eu-west-1", "us-east-1"], "delay": "lognormal(median=40, sigma=0.1)"}]))
    assert sc.topology.link("us-east-1", "eu-west-1").spec().startswith("lognormal")


def test_aws_table_is_symmetric_and_complete() -> None:
    regions = sorted({r for pair in AWS_2017_RTT_MS for r in pair})
    assert len(regions) == 10 and len(AWS_2017_RTT_MS) == 45  # every pair once
    for a in regions:
        for b in regions:
            if a != b:
                x = wan_rtt_ms("aws-2017", a, b)
                assert x is not None and x == wan_rtt_ms("aws-2017", b, a) and 15 < x < 340


def test_requirements_per_coordinator_dc() -> None:
    sc = scenario_from_dict({**topo(dc("a", replication=3), dc("b", nodes=5, replication=5), inter_dc="constant(10)"),
                             "consistency": {"read": "LOCAL_QUORUM", "write": "EACH_QUORUM"}})
    read_b, write_b = requirements(sc, "b")
    assert read_b == Requirement("LOCAL_QUORUM", local=3)
    assert write_b == Requirement("EACH_QUORUM", per_dc=(("a", 2), ("b", 3)))
    # no level: cluster.read_quorum / write_quorum stay counts over all replicas
    flat = scenario_from_dict({**topo(dc("a"), dc("b"), inter_dc="constant(10)"), "cluster": {"read_quorum": 2}})
    assert requirements(flat, "a")[0] == Requirement("2", total=2)


@pytest.mark.parametrize(
    ("raw", "key", "needle"),
    [
        (topo(dc("a"), dc("a"), inter_dc="constant(1)"), "topology.datacenters[1].name", "named twice"),
        (topo(dc(""), inter_dc="constant(1)"), "topology.datacenters[0].name", "needs a name"),
        (topo(dc("a"), dc("b")), "topology.links", "no delay law between a and b"),
        (topo(dc("a"), dc("b"), wan="aws-2017"), "topology.links", "name the datacenters by region code"),
        (topo(dc("a", nodes=2, racks=3)), "topology.datacenters[0].racks", "at most one rack per node"),
        (topo(dc("a", nodes=2, replication=3)), "topology.datacenters[0].replication", "exceeds the 2 nodes"),
        (topo(dc("a", clients=0)), "topology.datacenters", "no datacenter has clients"),
        (topo(dc("a", replication=0)), "topology.datacenters", "no datacenter holds replicas"),
        (topo(dc("a"), dc("b"), links=[{"between": ["a", "c"], "delay": "constant(1)"}]),
         "topology.links[0].between", "'c' is not a datacenter"),
        (topo(dc("a"), dc("b"), links=[{"between": ["a", "a"], "delay": "constant(1)"}]),
         "topology.links[0].between", "two different datacenters"),
        (topo(dc("a"), dc("b"), links=[{"between": ["a", "b"], "delay": "normal(1, 1)"}]),
         "topology.links[0].delay", "can be negative"),
        ({**topo(dc("a")), "cluster": {"nodes": 4}}, "cluster.nodes", "disagrees with the topology's 3 nodes"),
        ({**topo(dc("a")), "cluster": {"replication": 2}}, "cluster.replication", "ΣRF = 3"),
        ({**topo(dc("a"), dc("b", replication=0), inter_dc="constant(1)"), "consistency": {"read": "LOCAL_ONE"}},
         "consistency.read", "b holds no replicas"),
        ({**topo(dc("a", replication=1), dc("b", replication=1), inter_dc="constant(1)"),
          "consistency": {"write": "THREE"}}, "consistency.write", "needs 3 replies but there are 2"),
        ({"topology": {"inter_dc": "constant(1)"}}, "topology.inter_dc", "needs [[topology.datacenters]]"),
        ({**topo(dc("a")), "latency": {"profile": "wan"}}, "latency.profile", "adds its own 75 ms"),
        ({"topology": {"datacenters": [{"name": "a", "color": 1}]}}, "topology.datacenters[0].color", "unknown key"),
    ],
)
def test_topology_mistakes_are_one_line_naming_the_key(raw: dict[str, Any], key: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw, source="s.toml")
    assert info.value.key == key, info.value.line()
    assert needle in info.value.reason, info.value.line()


# -- datacenters on the simulator: what it runs, and what it refuses on a topology --------------

TOPO_TOML = """
[topology]
inter_dc = "constant(40)"
[[topology.datacenters]]
name = "dc1"
[[topology.datacenters]]
name = "dc2"
[consistency]
read = "LOCAL_QUORUM"
write = "LOCAL_QUORUM"
[predict]
trials = 2000
"""


def test_the_simulator_runs_a_topology_and_refuses_what_it_cannot_run_on_one(tmp_path: Path) -> None:
    """[topology] runs on the simulator (every op's coordinator in its client's datacenter); a mechanism
    that assumes one flat ring (sloppy quorums) is refused with one line, before any work."""
    from pbs_sim.simulation import simulate

    f = tmp_path / "t.toml"
    f.write_text(TOPO_TOML + '[workload]\nduration_ms = 200\nwarmup_ms = 0\nrate_per_s = 500\n')
    res = simulate(load_scenario(f))
    ops = res.history.frames()["ops"]
    assert len(ops) > 0 and (ops["status"] == "ok").all()
    assert set(ops["coordinator"]) <= {-1, -2}  # the client-side endpoints of dc1 and dc2 (one rack each)
    with pytest.raises(ConfigError, match=r"cluster.sloppy_quorum: sloppy quorums is not supported with \[topology\]"):
        simulate(load_scenario(f, {"cluster.sloppy_quorum": True}))
    out = subprocess.run([sys.executable, "-m", "pbs_sim", "run", str(f), "--out", str(tmp_path / "out"),
                          "--set", "cluster.sloppy_quorum=true"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert "cluster.sloppy_quorum: sloppy quorums is not supported with [topology]" in out.stderr
    assert not (tmp_path / "out").exists()  # refused before any work


def test_sweeps_of_a_topology_run_on_the_simulator_only(tmp_path: Path) -> None:
    from pbs_sim.sweep.spec import load_sweep

    (tmp_path / "t.toml").write_text(TOPO_TOML)
    (tmp_path / "s.toml").write_text('[sweep]\nengine = "simulate"\nscenario = "t.toml"\n[grid]\n"predict.k" = [1, 2]\n')
    assert len(load_sweep(tmp_path / "s.toml").cells) == 2
    (tmp_path / "s.toml").write_text('[sweep]\nengine = "simulate"\nscenario = "t.toml"\n[grid]\n'
                                     '"cluster.sloppy_quorum" = [false, true]\n')
    with pytest.raises(ConfigError, match=r"cluster.sloppy_quorum: cell 1: sloppy quorums is not supported"):
        load_sweep(tmp_path / "s.toml")
    (tmp_path / "s.toml").write_text('[sweep]\nengine = "predict"\nscenario = "t.toml"\n[grid]\n"predict.k" = [1, 2]\n')
    with pytest.raises(ConfigError, match=r"sweep.engine: cell 0: \[topology\] is not supported by sweeps on engine 'predict'"):
        load_sweep(tmp_path / "s.toml")


def test_validate_lists_the_topology(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(TOPO_TOML)
    out = subprocess.run([sys.executable, "-m", "pbs_sim", "validate", str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "topology  dc1 (3 nodes, 1 racks, RF 3" in out.stdout
    assert "quorum    DC-aware" in out.stdout and "partial" not in out.stdout
    assert "levels    read LOCAL_QUORUM: 2 in the coordinator's datacenter" in out.stdout
    keys = subprocess.run([sys.executable, "-m", "pbs_sim", "validate", "--keys"], capture_output=True, text=True)
    for key in ("topology.datacenters", "topology.datacenters[].replication", "topology.links[].delay",
                "topology.intra_rack", "topology.wan", "topology.links", "consistency.read",
                "consistency.pw"):
        assert key in keys.stdout
