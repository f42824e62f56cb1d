"""Issue 19: datacenters in the simulator, validated (docs/validation.md, "Datacenters in the simulator").

* Placement: NetworkTopologyStrategy against an independent reading of Cassandra's walk, and one
  datacenter on one rack is today's ring exactly.
* Clients: the Sainte-Laguë seats of client ids.
* Exact traces with constant latencies: a LOCAL_QUORUM read in dc2 is stale before the WAN delay has
  passed after a dc1 write and fresh after delay + apply; an outage of every node of dc1 leaves
  LOCAL_QUORUM in dc2 working while dc1's operations fail.
* EACH_QUORUM write latency is the maximum over datacenters of each one's W-th order statistic:
  the simulator's latencies against a numpy Monte Carlo of those order statistics (two-sample KS).
* The simulator against the analytic predictor (``pbs_sim.analytic.multidc``) on three multi-DC
  settings: P(consistent at t) per (write DC, read DC) pair within a stated band.
* A hypothesis property: a one-DC topology (one rack, zero links, nodes = N) gives today's flat
  results row for row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbs_sim.analytic.multidc import predict_topology
from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.history import FAILED, OK, TIMEOUT
from pbs_sim.metrics.staleness import read_outcomes
from pbs_sim.rng import Streams
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.datacenters import ClientDCs
from pbs_sim.sim.layout import Layout
from pbs_sim.sim.ring import Ring


def dcs(*specs: tuple[str, int, int, int], **extra: Any) -> dict[str, Any]:
    """A [topology] with datacenters (name, nodes, racks, replication) and the given links."""
    return {"datacenters": [{"name": n, "nodes": k, "racks": r, "replication": rf} for n, k, r, rf in specs], **extra}


# -- placement: NetworkTopologyStrategy -------------------------------------------------------------

def _reference_nts(ring: Ring, layout: Layout, key: int) -> list[int]:
    """Cassandra 2.x NetworkTopologyStrategy.calculateNaturalEndpoints, read independently: per DC a
    set of replicas, the racks seen, and the skipped endpoints (a LinkedHashSet)."""
    tokens, owners = ring._tokens, ring._owners  # noqa: SLF001
    pos = ring.key_position(key)
    start = next((j for j, t in enumerate(tokens) if t >= pos), 0)
    rf = dict(enumerate(layout.rf))
    racks_in = {d: {layout.node_rack[i] for i in layout.nodes_of(d)} for d in rf}
    dc_reps: dict[int, list[int]] = {d: [] for d in rf}
    seen: dict[int, set[int]] = {d: set() for d in rf}
    skipped: dict[int, list[int]] = {d: [] for d in rf}
    out: list[int] = []
    for j in range(len(tokens)):
        if all(len(dc_reps[d]) >= rf[d] for d in rf):
            break
        ep = owners[(start + j) % len(tokens)]
        d = layout.node_dc[ep]
        if len(dc_reps[d]) >= rf[d] or ep in dc_reps[d]:
            continue
        rack = layout.node_rack[ep]
        if len(seen[d]) == len(racks_in[d]):
            dc_reps[d].append(ep)
            out.append(ep)
        elif rack in seen[d]:
            if ep not in skipped[d]:
                skipped[d].append(ep)
        else:
            dc_reps[d].append(ep)
            out.append(ep)
            seen[d].add(rack)
            if len(seen[d]) == len(racks_in[d]):
                for sk in skipped[d]:
                    if len(dc_reps[d]) >= rf[d]:
                        break
                    if sk not in dc_reps[d]:
                        dc_reps[d].append(sk)
                        out.append(sk)
    return out


@pytest.mark.parametrize("topology", [
    dcs(("dc1", 6, 3, 3), ("dc2", 6, 3, 3), inter_dc="constant(10)"),
    dcs(("a", 5, 2, 3), ("b", 4, 4, 2), ("c", 3, 1, 1), inter_dc="constant(10)"),
    dcs(("a", 7, 3, 5), ("b", 2, 1, 0), inter_dc="constant(10)"),
])
def test_network_topology_strategy_is_cassandras_walk(topology: dict[str, Any]) -> None:
    sc = scenario_from_dict({"topology": topology, "cluster": {"vnodes": 4}})
    m = build(sc)
    lay = m.layout
    assert lay is not None and not lay.flat
    for key in range(400):
        prefs = m.ring.preference_list(key)
        assert list(prefs) == _reference_nts(m.ring, lay, key), key
        assert len(set(prefs)) == sum(lay.rf)
        for d, rf in enumerate(lay.rf):
            mine = [x for x in prefs if lay.node_dc[x] == d]
            assert len(mine) == rf
            # distinct racks first: as many racks as replicas allow
            assert len({lay.node_rack[x] for x in mine}) == min(rf, lay.dc_racks[d])


def test_one_dc_on_one_rack_places_replicas_as_todays_ring() -> None:
    flat = build(scenario_from_dict({"cluster": {"nodes": 7, "replication": 3, "vnodes": 8}}))
    topo = build(scenario_from_dict({"cluster": {"replication": 3, "vnodes": 8},
                                     "topology": dcs(("dc1", 7, 1, 3))}))
    for key in range(2000):
        assert topo.ring.preference_list(key) == flat.ring.preference_list(key)


def test_clients_take_their_datacenters_seats_by_sainte_lague() -> None:
    seq = ClientDCs((1.0, 1.0))
    assert [seq(i) for i in range(6)] == [0, 1, 0, 1, 0, 1]
    seq = ClientDCs((2.0, 1.0, 0.0))
    got = [seq(i) for i in range(300)]
    assert 2 not in got  # weight 0: no clients
    for n in (3, 30, 300):  # every prefix within one seat of its quota (two parties: Webster stays in quota)
        c = got[:n].count(0)
        assert abs(c - 2 * n / 3) < 1
    assert ClientDCs((2.0, 1.0, 0.0))(299) == got[299]  # the same for any order of asking


# -- exact traces ------------------------------------------------------------------------------------

WAN = 20.0  # one-way dc1 <-> dc2
TRACE = {
    "cluster": {"coordinator": "client", "read_timeout_ms": 100, "write_timeout_ms": 100},
    "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1},
    "topology": dcs(("dc1", 3, 1, 3), ("dc2", 3, 1, 3), inter_dc=f"constant({WAN:g})"),
    "consistency": {"read": "LOCAL_QUORUM", "write": "LOCAL_QUORUM"},
    "workload": {"kind": "open", "warmup_ms": 0},
    "predict": {"trials": 100},
}


def _trace_model(**extra: Any) -> Model:
    m = build(scenario_from_dict({**TRACE, **extra}))
    m.started = True  # start the mechanisms only: the test issues every operation itself
    for fn in m.on_start:
        fn(m)
    return m


def _at(m: Model, t: float, fn: Any) -> None:
    ev = m.env.timeout(t - m.env.now)
    ev.callbacks.append(lambda _e: fn())


def test_local_quorum_read_in_dc2_is_stale_until_the_wan_delay_and_the_apply_have_passed() -> None:
    """Write in dc1 at 0: its dc1 replicas apply at 1 (W), ack at 2 (commit at the second ack); its
    dc2 replicas apply at W + WAN = 21. A dc2 read issued at t reaches its replicas at t + 1: stale
    iff t + 1 < 21. Reads in dc1 see the write as soon as it committed."""
    m = _trace_model()
    lay = m.layout
    assert lay is not None
    c1, c2 = m.coordinators[lay.client_endpoint(0)], m.coordinators[lay.client_endpoint(1)]
    key = 3
    _at(m, 0.0, lambda: c1.write(0, key))
    reads = {}
    for t in (2.5, 5.0, 19.5, 20.5, 30.0):
        _at(m, t, lambda t=t: reads.__setitem__(("dc2", t), c2.read(1, key)))
    _at(m, 2.5, lambda: reads.__setitem__(("dc1", 2.5), c1.read(0, key)))
    m.env.run()
    ops = m.history.to_frame("ops")
    w = ops.iloc[0]
    assert (w["kind"], w["status"], w["completed_at"]) == ("write", "ok", 2.0)
    for (dc, t), op in reads.items():
        assert op.status == OK and op.completed_at == t + 2.0  # R + S, no WAN: only local replicas asked
        assert len(op.targets) == 3 and {lay.node_dc[x] for x in op.targets} == {0 if dc == "dc1" else 1}
        fresh = dc == "dc1" or t + 1.0 > 1.0 + WAN
        assert op.version == (1 if fresh else 0), (dc, t)
    # the staleness metric agrees: the dc2 reads before 20 ms after the write are the stale ones
    out = read_outcomes(ops)
    stale_at = sorted(float(x) for x in out.loc[~out["consistent"], "start_at"])
    assert stale_at == [2.5, 5.0, 19.5]


def test_a_dc1_outage_leaves_local_quorum_in_dc2_working() -> None:
    """Every node of dc1 loses power at 0 for 500 ms: LOCAL_QUORUM writes and reads coordinated in dc1
    time out (no local replica answers), dc2's complete in 2 ms; QUORUM (4 of 6) in dc2 times out."""
    m = _trace_model(faults={"schedule": [{"at_ms": 0.0, "action": "outage", "nodes": [0, 1, 2],
                                           "duration_ms": 500.0}]})
    lay = m.layout
    assert lay is not None
    c1, c2 = m.coordinators[lay.client_endpoint(0)], m.coordinators[lay.client_endpoint(1)]
    ops: dict[str, Any] = {}
    _at(m, 10.0, lambda: ops.__setitem__("w1", c1.write(0, 7)))
    _at(m, 10.0, lambda: ops.__setitem__("w2", c2.write(1, 8)))
    _at(m, 20.0, lambda: ops.__setitem__("r1", c1.read(0, 8)))
    _at(m, 20.0, lambda: ops.__setitem__("r2", c2.read(1, 8)))
    m.env.run(until=400.0)
    assert ops["w1"].status == TIMEOUT and ops["r1"].status == TIMEOUT
    assert (ops["w2"].status, ops["w2"].completed_at) == (OK, 12.0)
    assert (ops["r2"].status, ops["r2"].completed_at, ops["r2"].version) == (OK, 22.0, 1)
    assert ops["r1"].status in (TIMEOUT, FAILED)

    q = _trace_model(consistency={"read": "QUORUM", "write": "QUORUM"},
                     faults={"schedule": [{"at_ms": 0.0, "action": "outage", "nodes": [0, 1, 2], "duration_ms": 500.0}]})
    qlay = q.layout
    assert qlay is not None
    box: dict[str, Any] = {}
    _at(q, 10.0, lambda: box.__setitem__("w", q.coordinators[qlay.client_endpoint(1)].write(1, 8)))
    q.env.run(until=400.0)
    assert box["w"].status == TIMEOUT  # 3 live replicas cannot give QUORUM's 4 acks


# -- EACH_QUORUM write latency: max over DCs of each DC's W-th order statistic -----------------------

def test_each_quorum_write_latency_is_the_max_over_dcs_of_each_dcs_quorum_order_statistic() -> None:
    """Writes from dc1 at EACH_QUORUM on RF {dc1: 3, dc2: 3, dc3: 2}: the commit waits for the 2nd ack
    of dc1 and dc2 and the 2nd of dc3. Reference: numpy draws of the same laws (profile W + A per
    replica, plus the link law out and back for a remote DC), the per-DC 2nd order statistic, the
    maximum. Two-sample KS at alpha = 0.001 (critical D = 1.949 sqrt((n + m) / (n m)))."""
    raw = {
        "cluster": {"coordinator": "client"},
        "latency": {"profile": "lnkd-disk"},
        "topology": {**dcs(("dc1", 3, 1, 3), ("dc2", 3, 1, 3), ("dc3", 2, 1, 2)),
                     "links": [{"between": ["dc1", "dc2"], "delay": "uniform(5, 15)"},
                               {"between": ["dc1", "dc3"], "delay": "exponential(8)"},
                               {"between": ["dc2", "dc3"], "delay": "constant(30)"}]},
        "consistency": {"read": "LOCAL_ONE", "write": "EACH_QUORUM"},
        "workload": {"kind": "pbs-probe", "trials": 4000, "probe_offsets_ms": [0.0], "probe_interval_ms": 1.0},
        "run": {"seed": 5},
    }
    raw["topology"]["datacenters"][1]["clients"] = 0  # every write from dc1
    raw["topology"]["datacenters"][2]["clients"] = 0
    sc = scenario_from_dict(raw)
    ops = build(sc).run().to_frame("ops")
    w = ops[ops["kind"] == "write"]
    assert (w["status"] == "ok").all() and set(w["coordinator"]) == {-1}
    sim = (w["completed_at"] - w["issued_at"]).to_numpy(float)

    rng = np.random.default_rng(20261206)
    m = 200_000
    prof = sc.latency.wars
    wd, ad, _, _ = prof.sample_wars(rng, m, 8)
    lat = wd + ad
    topo = sc.topology
    out12, back12 = (topo.link("dc1", "dc2").sample(rng, (m, 3)) for _ in range(2))
    out13, back13 = (topo.link("dc1", "dc3").sample(rng, (m, 2)) for _ in range(2))
    lat[:, 3:6] += out12 + back12
    lat[:, 6:8] += out13 + back13
    kth = [np.sort(lat[:, sl], axis=1)[:, 1] for sl in (slice(0, 3), slice(3, 6), slice(6, 8))]
    ref = np.maximum.reduce(kth)
    d, _ = stats.ks_2samp(sim, ref)
    crit = 1.949 * math.sqrt((len(sim) + m) / (len(sim) * m))
    assert d < crit, (d, crit)
    # and it is not the local quorum alone (the test can tell the two apart)
    d_local, _ = stats.ks_2samp(sim, kth[0])
    assert d_local > 5 * crit


# -- the simulator against the analytic engine ------------------------------------------------------

T_MS = (0.0, 2.0, 5.0, 10.0, 20.0, 40.0)
Z = 4.0  # the band: |p_sim - p_ana| <= Z * sqrt(var_sim + var_ana) (binomial variances), per (pair, t)


def _pairs_sim(sc: Any, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per read of a pbs-probe run: its write's DC, its own DC, t and whether it was consistent; and
    per operation its kind, DC and latency."""
    m = build(sc, Streams(seed))
    ops = m.run().to_frame("ops")
    lay = m.layout
    assert lay is not None
    dc = np.array([lay.endpoint_dc(int(e)) for e in ops["coordinator"]])
    writes = ops["kind"].to_numpy() == "write"
    wdc = pd.Series(dc[writes], index=ops.loc[writes, "key"].to_numpy())
    out = read_outcomes(ops)
    out["read_dc"] = pd.Series(dc, index=ops["op_id"]).loc[out["op_id"]].to_numpy()
    out["write_dc"] = wdc.loc[out["key"]].to_numpy()
    lat = pd.DataFrame({"kind": ops["kind"].astype(str).to_numpy(), "dc": dc,
                        "latency": (ops["completed_at"] - ops["issued_at"]).to_numpy(float)})
    return out, lat


SETTINGS = {
    "local-quorum write dc1, local-quorum read dc2": {
        "topology": dcs(("dc1", 3, 1, 3), ("dc2", 3, 1, 3), inter_dc="uniform(2, 12)"),
        "consistency": {"read": "LOCAL_QUORUM", "write": "LOCAL_QUORUM"},
    },
    "each-quorum write, local-one read": {
        "topology": dcs(("dc1", 3, 1, 3), ("dc2", 3, 1, 3), inter_dc="exponential(6)"),
        "consistency": {"read": "LOCAL_ONE", "write": "EACH_QUORUM"},
    },
    "quorum/quorum, 3 DCs on racks, quorum fan-out": {
        "topology": {**dcs(("a", 4, 2, 2), ("b", 4, 2, 2), ("c", 2, 1, 2)), "intra_dc": "constant(0.5)",
                     "links": [{"between": ["a", "b"], "delay": "constant(3)"},
                               {"between": ["a", "c"], "delay": "uniform(5, 15)"},
                               {"between": ["b", "c"], "delay": "exponential(4)"}]},
        "consistency": {"read": "QUORUM", "write": "QUORUM"},
        "cluster": {"coordinator": "client", "read_fanout": "quorum"},
    },
}


STRICT = {"quorum/quorum, 3 DCs on racks, quorum fan-out"}  # R + W > N: every read consistent


def _quantile_agrees(sim: np.ndarray, q_ana: float, p: float, n_ana: int) -> bool:
    """The analytic p-quantile q_ana against the simulated latencies: the fraction of them <= q_ana
    is p within Z standard errors (binomial, the simulator's sample plus the analytic quantile's own
    error on the probability scale, p (1 - p) / n_ana)."""
    frac = float(np.mean(sim <= q_ana))
    return abs(frac - p) <= Z * math.sqrt(p * (1 - p) / len(sim) + p * (1 - p) / n_ana)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_simulator_agrees_with_the_analytic_predictor_per_dc_pair(name: str) -> None:
    """P(consistent at t) per (write DC, read DC) pair and t, and the median and 99th percentile of
    read and write latency, within Z = 4 standard errors of the difference (binomial variances of
    both estimates; about 40 comparisons per setting, so a familywise false alarm well under 1 %)."""
    setting = SETTINGS[name]
    raw = {
        "cluster": {"coordinator": "client", **setting.get("cluster", {})},
        "latency": {"profile": "lnkd-disk"},
        "topology": setting["topology"],
        "consistency": setting["consistency"],
        "workload": {"kind": "pbs-probe", "trials": 3000, "probe_offsets_ms": list(T_MS), "probe_interval_ms": 1.0},
        "predict": {"trials": 100_000, "t_ms": list(T_MS)},
        "run": {"seed": 11},
    }
    sc = scenario_from_dict(raw)
    sim, ops_lat = _pairs_sim(sc, 11)
    names = sc.topology.names
    checked = 0
    moved = False
    for res in predict_topology(sc, seed=3):
        a, b = names.index(res.write_dc), names.index(res.read_dc)
        sub = sim[(sim["write_dc"] == a) & (sim["read_dc"] == b)]
        assert len(sub) > 500, (res.write_dc, res.read_dc)
        n_ana = res.result.trials
        for t in T_MS:
            at = sub[np.isclose(sub["t_ms"].to_numpy(float), t)]
            n = len(at)
            p_sim = float(at["consistent"].mean())
            p_ana = float(res.result.p_consistent(t))
            var = p_sim * (1 - p_sim) / n + p_ana * (1 - p_ana) / n_ana
            tol = Z * math.sqrt(max(var, 0.25 / n ** 2))  # a floor at half a read for p = 0 or 1
            assert abs(p_sim - p_ana) <= tol, (name, res.write_dc, res.read_dc, t, p_sim, p_ana, tol)
            moved = moved or 0.02 < p_ana < 0.98
            checked += 1
        for kind, dc, lat in (("read", b, res.result.read_latency_ms), ("write", a, res.result.write_latency_ms)):
            mine = ops_lat[(ops_lat["kind"] == kind) & (ops_lat["dc"] == dc)]["latency"].to_numpy(float)
            for label, p in (("p50", 0.5), ("p99", 0.99)):
                assert _quantile_agrees(mine, lat[label], p, n_ana), (name, kind, names[dc], label, lat[label])
    assert checked >= 4 * len(T_MS)
    assert moved or name in STRICT  # a curve that is not trivially 0 or 1 was compared


# -- one DC is today's flat cluster, row for row -------------------------------------------------------

@st.composite
def small_scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    cluster = {
        "nodes": n, "replication": n,
        "read_quorum": draw(st.integers(1, n)), "write_quorum": draw(st.integers(1, n)),
        "read_fanout": draw(st.sampled_from(["all", "quorum"])),
        "write_fanout": draw(st.sampled_from(["all", "quorum"])),
        "replica_choice": draw(st.sampled_from(["random", "preference"])),
        "coordinator": draw(st.sampled_from(["client", "random", "first-replica"])),
    }
    kind = draw(st.sampled_from(["open", "closed", "pbs-probe"]))
    if kind == "pbs-probe":
        wl: dict[str, Any] = {"kind": kind, "trials": draw(st.integers(1, 60)), "probe_offsets_ms": [0.0, 3.0]}
    else:
        wl = {"kind": kind, "duration_ms": draw(st.sampled_from([50.0, 150.0])), "warmup_ms": 0.0,
              "keys": draw(st.integers(1, 20)), "clients": draw(st.integers(1, 5)),
              "read_fraction": draw(st.sampled_from([0.2, 0.5, 0.9]))}
        if kind == "open":
            wl["rate_per_s"] = 2000.0
    return {"cluster": cluster, "latency": {"profile": draw(st.sampled_from(["lnkd-disk", "ymmr"]))},
            "workload": wl, "run": {"seed": draw(st.integers(0, 2**31))}}


@settings(max_examples=25)
@given(small_scenarios())
def test_one_dc_topology_is_todays_flat_cluster_row_for_row(raw: dict[str, Any]) -> None:
    flat = build(scenario_from_dict(raw)).run().to_frame("ops")
    n = raw["cluster"]["replication"]
    one = {**raw, "topology": dcs(("dc1", n, 1, n))}
    topo_model = build(scenario_from_dict(one))
    assert topo_model.layout is not None and not topo_model.layout.flat
    topo = topo_model.run().to_frame("ops")
    pd.testing.assert_frame_equal(flat, topo)


def test_what_cannot_run_on_a_topology_is_refused_naming_its_key() -> None:
    base = {"topology": dcs(("dc1", 3, 1, 3), ("dc2", 3, 1, 3), inter_dc="constant(5)")}
    for extra, key in (
        ({"cluster": {"sloppy_quorum": True}}, "cluster.sloppy_quorum"),
        ({"failure_detector": {"mode": "perfect"}}, "failure_detector.mode"),
        ({"consistency": {"write": "ANY"}}, "consistency.write"),
        ({"consistency": {"pr": "quorum"}}, "consistency.pr"),
    ):
        try:
            sc = scenario_from_dict({**base, **extra})
        except ConfigError as exc:  # refused at load already: also one line naming a key
            pytest.fail(f"{extra} refused at load: {exc}")
        with pytest.raises(ConfigError) as info:
            build(sc)
        assert info.value.key == key, info.value.line()
