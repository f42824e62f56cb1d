"""Anti-entropy in the simulator: Merkle exchanges (exact trace, aborts, cost) and the gossip modes
against the epidemic recurrences of docs/validation.md §4 (n = 1000 nodes, one update)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pbs_sim.analytic.epidemic import conditional_variance, expected_next
from pbs_sim.config import scenario_from_dict
from pbs_sim.history import VIA_OTHER
from pbs_sim.rng import Streams, seed_sequence
from pbs_sim.sim.build import build


def _model(ae: dict[str, Any], nodes: int = 3, n: int = 3, keys: int = 1, seed: Any = 1, **lat: Any) -> Any:
    sc = scenario_from_dict({
        "cluster": {"nodes": nodes, "replication": n, "vnodes": 1 if nodes > 50 else 8},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1, **lat},
        "workload": {"keys": keys, "duration_ms": 1, "rate_per_s": 1},
        "anti_entropy": ae,
    })
    m = build(sc, Streams(seed))
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


def test_off_is_voldemort() -> None:
    m = _model({"mode": "off"})
    assert "anti_entropy" not in m.parts and "anti_entropy" not in m.history.tables


def test_merkle_exchange_trace_and_cost() -> None:
    """Only node a holds the key. Every node starts an exchange at t=1000 (constant interval, the next
    ones at 2000); an exchange with a is depth+1 = 4 round trips of 2 ms (tree differences are fixed at
    the start), then a 1 ms stream: 9 messages, 9 ms; the empty nodes get the key at t=1009."""
    m = _model({"mode": "merkle", "interval": 1000, "tree_depth": 3, "tree_fanout": 2}, keys=1)
    # the first exchanges start at 1000; inject divergence before
    a = m.ring.preference_list(0)[0]
    m.nodes[a].apply(0, (0.0, 1), VIA_OTHER)
    m.env.run(until=1020)
    assert all(n.store.get(0) == (0.0, 1) for n in m.nodes)
    ae = m.history.to_frame("anti_entropy")
    assert len(ae) == 3 and (ae["started_at"] == 1000.0).all()
    assert (ae["status"].astype(str) == "ok").all()
    streamed = ae[ae["keys_sent"] > 0]
    assert len(streamed) >= 1 and ((ae["node"] == a) | (ae["peer"] == a)).sum() == len(streamed)
    assert (streamed["round_trips"] == 4).all()
    assert (streamed["messages"] == 9).all() and (streamed["duration_ms"] == 9.0).all()
    assert set(streamed["hashes_compared"]) == {1 + 3 * 2}
    # two empty nodes compare equal roots: one round trip, nothing streamed
    idle = ae[ae["keys_sent"] == 0]
    assert (idle["round_trips"] == 1).all() and (idle["duration_ms"] == 2.0).all()
    ap = m.history.to_frame("applies")
    assert (ap["via"].astype(str) == "anti-entropy").sum() == 2  # each empty node applied it once
    assert set(ap.loc[ap["via"].astype(str) == "anti-entropy", "at"]) == {1009.0}


def test_exchange_with_a_down_peer_is_abandoned() -> None:
    m = _model({"mode": "merkle", "interval": 1000, "tree_depth": 2, "timeout_ms": 50}, nodes=2, n=2)
    m.nodes[0].apply(0, (0.0, 1), VIA_OTHER)
    m.nodes[1].crash()
    m.env.run(until=1100)
    ae = m.history.to_frame("anti_entropy")
    # node 1 is down: it skips its turn; node 0's exchange times out waiting for the first reply
    assert ae["status"].astype(str).tolist() == ["aborted"] and ae["duration_ms"].tolist() == [50.0]
    assert m.nodes[1].store == {}


def test_merkle_repairs_many_keys_and_streams_only_differing_leaves() -> None:
    m = _model({"mode": "merkle", "interval": "exponential(rate=0.01)", "tree_depth": 8}, nodes=4, n=3, keys=400)
    rng = np.random.default_rng(0)
    for k in range(400):
        for node in m.ring.preference_list(k):
            if rng.random() < 0.9:
                m.nodes[node].apply(k, (0.0, 1), VIA_OTHER)
    m.env.run(until=3000)
    for k in range(400):
        for node in m.ring.preference_list(k):
            assert m.nodes[node].store.get(k) == (0.0, 1)
    ae = m.history.to_frame("anti_entropy")
    # fewer keys streamed than a full copy of every range per exchange
    assert ae["keys_sent"].sum() < 0.25 * ae["range_keys"].sum()


def _gossip_rounds(mode: str, n: int, rounds: int, seed: Any) -> np.ndarray:
    """Susceptible fraction after rounds 0..rounds in one simulator run (rounds every 10 ms, 1 ms messages)."""
    m = _model({"mode": f"gossip-{mode}", "interval": 10}, nodes=n, n=n, seed=seed)
    m.nodes[0].apply(0, (0.0, 1), VIA_OTHER)
    m.env.run(until=10 * rounds + 5)
    ap = m.history.to_frame("applies")
    first = ap.groupby("node")["at"].min().to_numpy()
    return np.array([1.0 - np.count_nonzero(first <= 10 * k + 5) / n for k in range(rounds + 1)])


def _check_gossip(reps: int, n: int = 1000) -> None:
    rounds = {"pull": 22, "push": 24, "push-pull": 12}
    for mode, r in rounds.items():
        p = np.array([_gossip_rounds(mode, n, r, seed_sequence(99, (len(mode), i))) for i in range(reps)])
        prev, nxt = p[:, :-1], p[:, 1:]
        resid = (nxt - expected_next(prev, n, mode)).sum(axis=0)
        sd = np.sqrt(conditional_variance(prev, n, mode).sum(axis=0))
        for i in range(r):
            if sd[i] == 0:
                assert resid[i] == pytest.approx(0.0, abs=1e-12), (mode, i)
            else:
                assert abs(resid[i]) < 4 * sd[i], (mode, i + 1, resid[i], sd[i])
        assert p[:, -1].mean() < 0.01, mode


@pytest.mark.validation
def test_gossip_modes_follow_recurrences_round_by_round() -> None:
    """Simulator gossip (SimPy rounds, messages through the network at 1 ms, rounds every 10 ms), n = 1000:
    for every round, the summed residual of p_{i+1} against the recurrence applied to p_i is within 4
    standard deviations of the conditional law (see tests/test_gossip.py for why one-round means)."""
    _check_gossip(reps=3)


@pytest.mark.slow
@pytest.mark.validation
def test_gossip_modes_follow_recurrences_round_by_round_many() -> None:
    _check_gossip(reps=25)


def test_gossip_rows_account_for_what_they_repaired() -> None:
    m = _model({"mode": "gossip-push-pull", "interval": 10}, nodes=20, n=20)
    m.nodes[0].apply(0, (0.0, 1), VIA_OTHER)
    m.env.run(until=205)
    ae = m.history.to_frame("anti_entropy")
    ap = m.history.to_frame("applies")
    assert all(0 in n.store for n in m.nodes)
    assert ae["keys_repaired"].sum() == (ap["via"].astype(str) == "anti-entropy").sum() == 19
    assert len(ae) == 20 * 20  # every node, every round


def test_jitter_spreads_exchange_starts() -> None:
    m = _model({"mode": "merkle", "interval": 100, "jitter_ms": 20, "tree_depth": 2}, nodes=6, n=3, keys=50)
    m.env.run(until=150)  # exchanges are logged when they end (a few ms after they start)
    starts = m.history.to_frame("anti_entropy")["started_at"].to_numpy()
    assert len(starts) == 6 and np.all((starts >= 100) & (starts <= 120)) and len(set(starts)) == 6


def test_negative_jitter_is_a_config_error() -> None:
    from pbs_sim.errors import ConfigError

    with pytest.raises(ConfigError, match="anti_entropy.jitter_ms"):
        scenario_from_dict({"anti_entropy": {"mode": "merkle", "jitter_ms": -1}})


@pytest.mark.parametrize("mode", ["merkle", "gossip-push-pull", "gossip-pull"])
def test_keys_that_enter_the_key_space_mid_run_are_repaired(mode: str) -> None:
    """Anti-entropy covers every key of the run's key space, not only 0..keys-1: a YCSB workload D
    insert (record ``keys + 3``, named as YCSB names it) and a name interned mid-run (a trace's or
    script's key) each written on one replica only reach the key's other replicas through exchanges
    (and only through them: the workload is not started)."""
    sc = scenario_from_dict({
        "cluster": {"nodes": 4, "replication": 3},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"kind": "closed", "ycsb": "d", "keys": 10, "clients": 1, "duration_ms": 1},
        "anti_entropy": {"mode": mode, "interval": 100, "tree_depth": 4},
    })
    m = build(sc, Streams(1))
    m.started = True
    for fn in m.on_start:
        fn(m)
    inserted = 10 + 3
    assert m.keys.name(inserted).startswith("user")
    m.env.run(until=50)  # trees and ranges exist before the keys appear
    named = m.keys.index("cart")
    for k in (inserted, named):
        m.nodes[m.ring.preference_list(k)[0]].apply(k, (0.0, 1), VIA_OTHER)
    m.env.run(until=2000)
    for k in (inserted, named):
        holders = [n for n in m.nodes if n.store.get(k) == (0.0, 1)]
        assert sorted(n.node_id for n in holders) == sorted(m.ring.preference_list(k)), (mode, k)
    ap = m.history.to_frame("applies")
    assert set(ap.loc[ap["via"].astype(str) == "anti-entropy", "key"]) == {inserted, named}
