"""The simulator's ring under ``[placement]`` (issue 20) and correlated failures in the fault schedule.

* Without ``[placement]`` the ring is exactly today's (every preference list, fallback and token walk).
* With it, every key's preference list is one of the placement's replica sets (the ones
  :mod:`pbs_sim.analytic.placement` counts), keys spread over them by their weights, and the
  contradictions between ``[placement]`` and ``[cluster]`` are one-line errors.
* Power outage, rack loss and DC loss: scripted and random, the nodes they take, bad entries.
* Validation (docs/validation.md §12): under a scripted power outage the simulator's measured
  P(at least one key lost) and fraction of keys lost agree with the analytic answer for the same
  placement (the replica sets the run's keys use) within a confidence interval over seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pbs_sim.analytic import placement as ap
from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.keys import KeySpace
from pbs_sim.placement import Placement, PlacementSpec, build, rack_of, spec_from_config
from pbs_sim.sim.build import build as build_model
from pbs_sim.sim.ring import Ring, scenario_placement
from pbs_sim.simulation import simulate


def _outage_scenario(seed: int, placement: dict[str, Any], cluster_nodes: int = 60, keys: int = 600, q: float = 0.3,
                     **fault: Any) -> Any:
    """``keys`` keys preloaded on ``cluster_nodes`` nodes (R = 3, every replica written), then one power
    outage of every node in which each does not survive the reboot with probability ``q``; no
    repair, no replacement before the end: a key is lost iff its whole replica set was."""
    load_ms = keys * 1000.0 / 100_000.0
    event = {"at_ms": load_ms + 500.0, "action": "outage", "fraction": 1.0, "no_reboot_probability": q,
             "duration_ms": 100.0, **fault}
    return scenario_from_dict({
        "cluster": {"nodes": cluster_nodes, "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "placement": placement,
        "workload": {"kind": "open", "keys": keys, "read_fraction": 1.0, "rate_per_s": 10.0, "duration_ms": 1000.0,
                     "warmup_ms": 0.0, "preload": True, "preload_rate_per_s": 100_000.0},
        "faults": {"replace_ms": 1e7, "schedule": [event]},
        "run": {"seed": seed},
    })


# -- the default ring is today's --------------------------------------------------------------------


def _today_walk(nodes: int, vnodes: int, keys: KeySpace, key: int) -> tuple[int, ...]:
    """The ring as it was before [placement]: hashed tokens, first distinct owners clockwise."""
    from bisect import bisect_left

    points = sorted((keys.node_token(f"node-{i}-vnode-{v}"), i) for i in range(nodes) for v in range(vnodes))
    toks, owners = [p for p, _ in points], [i for _, i in points]
    start = bisect_left(toks, keys.position(key))
    seen: list[int] = []
    for j in range(len(owners)):
        o = owners[(start + j) % len(owners)]
        if o not in seen:
            seen.append(o)
    return tuple(seen)


@pytest.mark.parametrize("key_hash", ["murmur3", "md5", "blake2b"])
def test_without_placement_the_ring_is_todays(key_hash: str) -> None:
    sc = scenario_from_dict({"cluster": {"nodes": 12, "replication": 3, "vnodes": 8, "key_hash": key_hash}})
    assert scenario_placement(sc) is None and "placement" not in sc.to_dict()
    model = build_model(sc)
    assert model.ring.placement is None
    for k in range(300):
        want = _today_walk(12, 8, model.keys, k)
        assert model.ring.full_walk(k) == want
        assert model.ring.preference_list(k) == want[:3]


def test_a_stated_placement_round_trips_and_a_default_one_does_not_appear() -> None:
    sc = scenario_from_dict({"cluster": {"nodes": 30}, "placement": {"kind": "copyset", "scatter_width": 4}})
    assert sc.placement.given and scenario_from_dict(sc.to_dict()) == sc
    assert sc.with_overrides({"placement.scatter_width": 6}).placement.given
    assert not scenario_from_dict({}).placement.given
    assert scenario_from_dict({}).with_overrides({"placement.kind": "fixed_ring"}).placement.given


# -- preference lists are the placement's replica sets ------------------------------------------------


@pytest.mark.parametrize("kind,extra", [
    ("token_ring", {"vnodes": 16}), ("token_ring", {"vnodes": 4, "racks": 4}), ("fixed_ring", {"ring_size": 64}),
    ("copyset", {"scatter_width": 4}), ("min_copysets", {}), ("random", {"chunks": 500}),
    ("window", {"scatter_width": 6, "chunks": 500}),
])
def test_every_preference_list_is_a_replica_set_of_the_placement(kind: str, extra: dict[str, Any]) -> None:
    spec = PlacementSpec(kind=kind, nodes=40, replication=3, **extra)
    pl = build(spec)
    sets = {tuple(r) for r in pl.sets.tolist()}
    weight = dict(zip(map(tuple, pl.sets.tolist()), pl.weights.tolist(), strict=True))
    ring = Ring(40, 3, placement=spec)
    count: dict[tuple[int, ...], int] = {}
    k_total = 8000
    for k in range(k_total):
        prefs = ring.preference_list(k)
        assert len(set(prefs)) == 3 and tuple(sorted(prefs)) in sets
        walk = ring.full_walk(k)
        assert walk[:3] == prefs and sorted(walk) == list(range(40)), "fallbacks: every other node, once"
        assert ring.fallbacks(k, 2) == walk[3:5]
        count[tuple(sorted(prefs))] = count.get(tuple(sorted(prefs)), 0) + 1
    if spec.racks:
        racks = rack_of(40, spec.racks)
        assert all(len({racks[x] for x in s}) == 3 for s in count), "rack-aware: three racks per key"
    # keys spread over the sets by their weights: a chi-square over the sets with expected >= 5
    exp = np.array([weight[s] * k_total for s in weight])
    obs = np.array([count.get(s, 0) for s in weight])
    big = exp >= 5
    if big.sum() >= 5:
        chi2 = float((((obs[big] - exp[big]) ** 2) / exp[big]).sum())
        dof = int(big.sum()) - 1
        assert chi2 < dof + 5 * math.sqrt(2 * dof), (chi2, dof)


def test_a_token_ring_placement_keeps_the_rings_order_and_sets() -> None:
    """token_ring: the same ranges as pbs_sim.placement (its tokens, scaled): each range's first key
    maps to the range's set, in ring order."""
    spec = PlacementSpec(kind="token_ring", nodes=20, replication=3, vnodes=8, seed=3)
    ring = Ring(20, 3, placement=spec)
    assert ring._tokens == sorted(ring._tokens) and len(ring._tokens) == 160
    sets = {tuple(r) for r in build(spec).sets.tolist()}
    # the set of every range, from its token (a key on the token belongs to that range)
    from pbs_sim.placement import _ring_walk

    walks = _ring_walk(np.array(ring._owners), 3, None)
    assert {tuple(sorted(w)) for w in walks.tolist()} == sets


def test_placement_contradicting_the_cluster_is_one_line() -> None:
    bad = scenario_from_dict({"cluster": {"nodes": 30}, "placement": {"kind": "copyset", "nodes": 40}})
    with pytest.raises(ConfigError, match=r"placement.nodes: 40 contradicts cluster.nodes = 30"):
        build_model(bad)
    bad = scenario_from_dict({"cluster": {"nodes": 30, "replication": 3}, "placement": {"replication": 2}})
    with pytest.raises(ConfigError, match=r"placement.replication: 2 contradicts cluster.replication = 3"):
        build_model(bad)
    ok = scenario_from_dict({"cluster": {"nodes": 30}, "placement": {"kind": "copyset", "nodes": 30}})
    assert build_model(ok).ring.placement == spec_from_config(ok.placement, ok.cluster)


def test_cli_run_refuses_a_contradiction_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli_in_process import run_cli

    p = tmp_path / "c.toml"
    p.write_text('[cluster]\nnodes = 30\n[placement]\nkind = "copyset"\nnodes = 40\n'
                 '[workload]\nduration_ms = 100\nrate_per_s = 10\n')
    code, out, err = run_cli(["run", str(p), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "placement.nodes" in err, err


# -- the fault entries -----------------------------------------------------------------------------


def _faults_frame(sc: Any) -> Any:
    res = simulate(sc)
    f = res.frames()["faults"]
    return res, f


def test_a_scripted_outage_takes_f_nodes_and_loses_each_with_its_probability() -> None:
    sc = _outage_scenario(1, {"kind": "copyset"}, fraction=None, count=20, no_reboot_probability=0.5)
    res, f = _faults_frame(sc)
    act = f["action"].astype(str)
    crashed = set(f.loc[act == "crash", "node"])
    wiped = set(f.loc[act == "wipe", "node"])
    back = set(f.loc[act == "recover", "node"])
    assert len(crashed) == 20 and wiped | back == crashed and not wiped & back
    assert 0 < len(wiped) < 20  # 0.5 each: all or none has probability 2 * 2**-20
    assert (act == "outage").sum() == 1 and (f.loc[act == "outage", "node"] == -1).all()
    # the survivors are back after duration_ms, the lost disks are wiped at the reboot
    t0 = float(f.loc[act == "outage", "at"].iloc[0])
    assert np.allclose(f.loc[act.isin(["recover", "wipe"]), "at"], t0 + 100.0)
    again = _faults_frame(sc)[1]
    assert again[["at", "node", "action"]].equals(f[["at", "node", "action"]]), "reproducible"


def test_rack_and_dc_loss_take_every_node_of_theirs() -> None:
    base = {"cluster": {"nodes": 24, "replication": 3},
            "placement": {"kind": "token_ring", "vnodes": 4, "racks": 6, "datacenters": 2},
            "workload": {"duration_ms": 200.0, "rate_per_s": 50.0}}
    sc = scenario_from_dict({**base, "faults": {"schedule": [{"at_ms": 50.0, "action": "rack-loss", "racks": [2]},
                                                             {"at_ms": 60.0, "action": "dc-loss", "dcs": [1]}]}})
    f = simulate(sc).frames()["faults"]
    act = f["action"].astype(str)
    wiped = f.loc[act == "wipe"]
    racks = rack_of(24, 6)
    assert set(wiped.loc[wiped["at"] == 50.0, "node"]) == {i for i in range(24) if racks[i] == 2}
    assert set(wiped.loc[wiped["at"] == 60.0, "node"]) == {i for i in range(24) if racks[i] % 2 == 1}
    assert set(f.loc[act.isin(["rack-loss", "dc-loss"]), "detail"]) == {"rack-2", "dc-1"}


def test_random_outages_and_rack_losses_run_and_reproduce() -> None:
    raw = {"cluster": {"nodes": 20, "replication": 3},
           "placement": {"kind": "copyset", "racks": 5},
           "workload": {"duration_ms": 2000.0, "rate_per_s": 50.0},
           "faults": {"outage_mtbf_ms": 300.0, "outage_nodes": 5, "outage_no_reboot_probability": 0.2,
                      "outage_recovery_ms": 50.0, "rack_loss_mtbf_ms": 700.0, "dc_loss_mtbf_ms": 5000.0,
                      "replace_ms": 100.0}}
    f = simulate(scenario_from_dict(raw)).frames()["faults"]
    act = f["action"].astype(str)
    outages = f.loc[act == "outage", "detail"].tolist()
    assert len(outages) >= 2 and all(d.count(",") == 4 for d in outages), "five nodes each"
    assert (act == "rack-loss").sum() >= 1
    assert simulate(scenario_from_dict(raw)).frames()["faults"][["at", "node", "action"]].equals(
        f[["at", "node", "action"]])


@pytest.mark.parametrize("fault,key,reason", [
    ({"action": "outage", "count": 31}, "faults.schedule[0].count", "larger than the cluster (30 nodes)"),
    ({"action": "outage"}, "faults.schedule[0].nodes", "give exactly one"),
    ({"action": "outage", "count": 3, "nodes": [1]}, "faults.schedule[0].nodes", "give exactly one"),
    ({"action": "outage", "nodes": [30]}, "faults.schedule[0].nodes", "node 30 is not in 0..29"),
    ({"action": "outage", "fraction": 0.01}, "faults.schedule[0].fraction", "rounds to no node"),
    ({"action": "outage", "count": 3, "no_reboot_probability": 1.5}, "faults.schedule[0].no_reboot_probability",
     "must be <= 1"),
    ({"action": "rack-loss", "racks": [5]}, "faults.schedule[0].racks[0]", "rack 5 does not exist"),
    ({"action": "rack-loss"}, "faults.schedule[0].racks", "at least one rack"),
    ({"action": "dc-loss", "dcs": [2]}, "faults.schedule[0].dcs[0]", "datacenter 2 does not exist"),
    ({"action": "crash", "nodes": [1], "count": 2}, "faults.schedule[0].count", "only applies to action = 'outage'"),
    ({"action": "crash", "nodes": [1], "racks": [0]}, "faults.schedule[0].racks", "only applies to action = 'rack-loss'"),
])
def test_bad_correlated_fault_entries_are_one_line(fault: dict[str, Any], key: str, reason: str) -> None:
    raw = {"cluster": {"nodes": 30}, "placement": {"racks": 5, "datacenters": 2},
           "faults": {"schedule": [{"at_ms": 1.0, **fault}]}}
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict(raw)
    assert exc.value.key == key and reason in str(exc.value) and "\n" not in str(exc.value)


def test_rack_loss_without_racks_and_processes_larger_than_the_cluster() -> None:
    with pytest.raises(ConfigError, match="faults.schedule\\[0\\].racks: rack-loss needs racks"):
        scenario_from_dict({"faults": {"schedule": [{"action": "rack-loss", "racks": [0]}]}})
    with pytest.raises(ConfigError, match="faults.rack_loss_mtbf_ms: rack loss needs racks"):
        scenario_from_dict({"faults": {"rack_loss_mtbf_ms": 10.0}})
    with pytest.raises(ConfigError, match="faults.outage_nodes: an outage of 4 nodes is larger than the cluster"):
        scenario_from_dict({"faults": {"outage_mtbf_ms": 10.0, "outage_nodes": 4}})


# -- validation: simulated outage against the analytic ------------------------------------------------


def _used_placement(sc: Any) -> tuple[Placement, int]:
    """The placement restricted to the replica sets the run's keys use, weighted by key counts:
    what the run can lose (a finite key set samples the placement's sets)."""
    model = build_model(sc)
    k = sc.workload.keys
    rows = np.sort(np.array([model.ring.preference_list(i) for i in range(k)]), axis=1)
    sets, counts = np.unique(rows, axis=0, return_counts=True)
    spec = scenario_placement(sc)
    assert spec is not None
    return Placement(spec, sets.astype(np.int32), counts / k), k


def _check_outage_against_analytic(placement: dict[str, Any], q: float, seeds: int, keys: int,
                                   all_sets: bool = False, mc_trials: int = 0) -> dict[str, float]:
    """Simulate ``seeds`` outages and compare with the analytic answer for the run's replica sets:
    the expected fraction of keys lost is exact for every placement (|sim - exact| < 4 se); P(>= 1 key
    lost) is exact for disjoint sets (< 4 se), otherwise the simulator must lie inside the analytic's
    rigorous bounds widened by 4 se and, with ``mc_trials``, within 4 combined se of the Monte Carlo
    over the same sets (pbs_sim.analytic.placement_mc, the bounds being loose)."""
    from pbs_sim.analytic.placement_mc import monte_carlo
    from pbs_sim.config import FailureModelConfig

    sc0 = _outage_scenario(0, placement, keys=keys, q=q)
    pl, k = _used_placement(sc0)
    want = ap.loss_outage(pl, 1.0, q)
    if all_sets:  # the keys use every replica set: the answer is the placement's own
        full = build(pl.spec)
        assert pl.m == full.m
        assert want.p == pytest.approx(ap.loss_outage(full, 1.0, q).p, rel=1e-9)
    any_lost, frac = [], []
    for seed in range(seeds):
        s = simulate(_outage_scenario(seed, placement, keys=keys, q=q)).summary()
        assert s["committed_writes"] == k  # every preloaded key written before the outage
        any_lost.append(s["keys_lost"] > 0)
        frac.append(s["keys_lost"] / k)
    p_hat = float(np.mean(any_lost))
    se_p = math.sqrt(max(want.p * (1 - want.p), 1e-12) / seeds)
    out = {"sets": float(pl.m), "p_analytic": want.p, "p_lower": want.lower, "p_upper": want.upper,
           "exact": float(want.exact), "p_sim": p_hat, "se_p": se_p}
    if want.exact:
        assert abs(p_hat - want.p) < 4 * se_p, out
    else:
        assert want.lower - 4 * se_p < p_hat < want.upper + 4 * se_p, out
    if mc_trials:
        fm = FailureModelConfig(kind="outage", outage_fraction=1.0, no_reboot_probability=q)
        mc = monte_carlo(pl, fm, mc_trials, seed=1)
        out |= {"p_mc": mc.p, "se_mc": mc.se}
        assert abs(p_hat - mc.p) < 4 * math.hypot(se_p, mc.se), out
    f_hat = float(np.mean(frac))
    se_f = float(np.std(frac, ddof=1)) / math.sqrt(seeds)
    out |= {"fraction_analytic": want.fraction, "fraction_sim": f_hat, "se_fraction": se_f}
    assert abs(f_hat - want.fraction) < 4 * max(se_f, 1e-6), out
    return out


@pytest.mark.validation
def test_simulated_outage_loss_agrees_with_the_analytic_min_copysets() -> None:
    """Disjoint replica sets: the analytic P(loss) is exact (inclusion-exclusion per lost count)."""
    _check_outage_against_analytic({"kind": "min_copysets"}, q=0.3, seeds=40, keys=200, all_sets=True)


@pytest.mark.validation
@pytest.mark.slow
@pytest.mark.parametrize("placement,q", [
    ({"kind": "min_copysets"}, 0.3),
    ({"kind": "copyset", "scatter_width": 4}, 0.3),
    ({"kind": "token_ring", "vnodes": 16}, 0.12),
    ({"kind": "fixed_ring", "ring_size": 64}, 0.2),
    ({"kind": "token_ring", "vnodes": 8, "racks": 6}, 0.15),
])
def test_simulated_outage_loss_agrees_with_the_analytic_slow(placement: dict[str, Any], q: float) -> None:
    _check_outage_against_analytic(placement, q=q, seeds=200, keys=600, mc_trials=20_000)


def test_sloppy_quorums_on_a_copyset_placement_park_hints_on_its_fallbacks() -> None:
    """Copysets have no ring: a key's fallbacks are the other nodes in id order after its first
    replica (pbs_sim.sim.ring); a sloppy write whose replicas are down parks hints there."""
    raw = {"cluster": {"nodes": 12, "replication": 3, "write_quorum": 3, "sloppy_quorum": True},
           "placement": {"kind": "copyset", "scatter_width": 4},
           "hinted_handoff": {"store": "fallback"},
           "workload": {"duration_ms": 2000.0, "rate_per_s": 200.0, "read_fraction": 0.5, "keys": 50},
           "faults": {"schedule": [{"at_ms": 200.0, "action": "crash", "nodes": [0, 1], "duration_ms": 1000.0}]}}
    sc = scenario_from_dict(raw)
    res = simulate(sc)
    assert res.summary()["write_availability"] == 1.0
    hints = res.frames()["hints"]
    stored = hints[hints["action"].astype(str) == "stored"]
    assert len(stored) > 0
    ring = build_model(sc).ring
    for key, holder, owner in zip(stored["key"], stored["holder"], stored["owner"], strict=True):
        prefs, walk = ring.preference_list(int(key)), ring.full_walk(int(key))
        assert owner in prefs and owner in (0, 1) and holder in walk[3:]
        # the first healthy fallbacks in the documented order: ids after the first replica
        first = prefs[0]
        assert walk[3:] == tuple(x for x in ((first + d) % 12 for d in range(1, 12)) if x not in prefs)


def test_a_sweep_refuses_a_contradicting_cell_before_any_run(tmp_path: Path) -> None:
    from pbs_sim.sweep.spec import load_sweep

    p = tmp_path / "sw.toml"
    p.write_text('[sweep]\nengine = "simulate"\nreplications = 1\nseed = 1\n[base.cluster]\nnodes = 30\n'
                 '[base.placement]\nkind = "copyset"\n[grid]\n"placement.nodes" = [30, 40]\n')
    with pytest.raises(ConfigError, match=r"placement.nodes: cell 1: 40 contradicts cluster.nodes = 30"):
        load_sweep(p)


def test_an_outage_that_loses_one_whole_replica_set_loses_exactly_its_keys() -> None:
    """Scripted nodes, every disk lost (no_reboot_probability = 1): the keys lost are exactly the
    keys whose replica set lies inside the lost nodes; with probability 0 nothing is lost."""
    placement = {"kind": "min_copysets"}
    sc = _outage_scenario(0, placement, keys=300, fraction=None, nodes=[0], no_reboot_probability=1.0)
    ring = build_model(sc).ring
    target = set(ring.preference_list(0)) | {59}  # key 0's replica set and one node more
    lost_keys = {k for k in range(300) if set(ring.preference_list(k)) <= target}
    sc = _outage_scenario(0, placement, keys=300, fraction=None, nodes=sorted(target), no_reboot_probability=1.0)
    res = simulate(sc)
    s = res.summary()
    assert s["keys_lost"] == len(lost_keys) > 0 and s["lost_writes"] == len(lost_keys)
    assert set(res.frames()["lost_writes"]["key"]) == lost_keys
    safe = _outage_scenario(0, placement, keys=300, fraction=None, nodes=sorted(target), no_reboot_probability=0.0)
    s = simulate(safe).summary()
    assert s["keys_lost"] == 0 and s["lost_writes"] == 0
