"""Placement generators (pbs_sim.placement) against brute-force references, and their bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.placement import (
    PlacementSpec,
    build,
    check_placement,
    dc_of_spec,
    parse_placement,
    rack_of,
)


def _well_formed(pl) -> None:  # type: ignore[no-untyped-def]
    s = pl.sets
    assert s.shape[1] == pl.r
    assert (np.diff(s, axis=1) > 0).all(), "rows sorted, R distinct nodes"
    assert len(np.unique(s, axis=0)) == len(s), "rows distinct"
    assert ((s >= 0) & (s < pl.n)).all()
    assert math.isclose(pl.weights.sum(), 1.0) and (pl.weights > 0).all()
    order = np.lexsort(s.T[::-1])
    assert (order == np.arange(len(s))).all(), "lexicographic order (the Monte Carlo's index needs it)"


def _naive_ring(tokens: np.ndarray, owner: np.ndarray, r: int, rack: np.ndarray | None) -> dict[tuple[int, ...], float]:
    """Walk the ring one range at a time, as the Cassandra docs describe SimpleStrategy / NTS."""
    order = np.argsort(tokens, kind="stable")
    tok, own = tokens[order], owner[order]
    out: dict[tuple[int, ...], float] = {}
    m = len(tok)
    for i in range(m):
        length = tok[i] - (tok[i - 1] if i else tok[-1] - 1.0)
        reps: list[int] = []
        j = i
        while len(reps) < r:
            c = int(own[j % m])
            if c not in reps and (rack is None or rack[c] not in {rack[x] for x in reps}):
                reps.append(c)
            j += 1
        key = tuple(sorted(reps))
        out[key] = out.get(key, 0.0) + length
    return out


@pytest.mark.parametrize("racks", [0, 4])
def test_token_ring_matches_a_naive_ring_walk(racks: int) -> None:
    spec = PlacementSpec(kind="token_ring", nodes=12, replication=3, vnodes=5, racks=racks, seed=7)
    pl = build(spec)
    _well_formed(pl)
    rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(1,)))  # the generator's stream
    tokens = rng.random(12 * 5)
    ref = _naive_ring(tokens, np.repeat(np.arange(12), 5), 3, rack_of(12, racks) if racks else None)
    got = {tuple(int(x) for x in row): float(w) for row, w in zip(pl.sets, pl.weights, strict=True)}
    assert got.keys() == ref.keys()
    for k, w in ref.items():
        assert got[k] == pytest.approx(w)
    if racks:
        rk = rack_of(12, racks)[pl.sets]
        assert (np.sort(rk, axis=1)[:, 1:] != np.sort(rk, axis=1)[:, :-1]).all(), "one replica per rack"


def test_fixed_ring_is_riaks_round_robin_claim() -> None:
    pl = build(PlacementSpec(kind="fixed_ring", nodes=4, replication=3, ring_size=8, seed=1))
    _well_formed(pl)
    # 8 partitions claimed round-robin by 4 nodes: the preference lists are the 4 windows of 3
    # consecutive owners, each twice (weight 2/8)
    assert len(pl.sets) == 4 and np.allclose(pl.weights, 0.25)


def test_min_copysets_partition_the_nodes_and_copysets_meet_the_scatter_width() -> None:
    mn = build(PlacementSpec(kind="min_copysets", nodes=30, replication=3, seed=2))
    _well_formed(mn)
    assert mn.is_disjoint() and sorted(mn.sets.ravel().tolist()) == list(range(30))
    assert np.allclose(mn.weights, 1 / 10)
    cs = build(PlacementSpec(kind="copyset", nodes=300, replication=3, scatter_width=10, seed=2))
    _well_formed(cs)
    # 5 permutations of 100 groups; a node shares sets with at most S = 10 others, nearly always exactly
    assert len(cs.sets) <= 500 and not cs.is_disjoint()
    assert 9.5 < cs.scatter_width() <= 10
    # a key's primary is uniform: every node is the primary of 1/n of the keys, spread over its groups
    share = np.zeros(300)
    np.add.at(share, cs.sets.ravel(), np.repeat(cs.weights, 3))
    assert share.min() >= 1 / 300 - 1e-12


def test_random_and_window_placements() -> None:
    rnd = build(PlacementSpec(kind="random", nodes=8, replication=3, chunks=20_000, seed=3))
    _well_formed(rnd)
    assert len(rnd.sets) == math.comb(8, 3)  # 20,000 chunks hit all 56 sets
    assert np.allclose(rnd.weights, 1 / 56, rtol=0.25)
    win = build(PlacementSpec(kind="window", nodes=50, replication=3, scatter_width=5, chunks=50_000, seed=3))
    _well_formed(win)
    assert len(win.sets) == 50 * math.comb(5, 2)  # every primary, every pair of its window
    span = (win.sets[:, None, :] - win.sets[:, :, None]) % 50
    assert (span.max(axis=(1, 2)) > 0).all()
    # every set lies within S + 1 consecutive nodes (mod n)
    width = np.array([min(((row - a) % 50).max() for a in row) for row in win.sets])
    assert width.max() <= 5
    assert win.scatter_width() == 10  # 5 ahead, 5 behind


def test_same_seed_same_placement_other_seed_other() -> None:
    a = build(PlacementSpec(kind="copyset", nodes=60, scatter_width=4, seed=5))
    b = build(PlacementSpec(kind="copyset", nodes=60, scatter_width=4, seed=5))
    c = build(PlacementSpec(kind="copyset", nodes=60, scatter_width=4, seed=6))
    assert (a.sets == b.sets).all() and (a.weights == b.weights).all()
    assert a.sets.shape != c.sets.shape or (a.sets != c.sets).any()


def test_rack_and_dc_models() -> None:
    assert rack_of(6, 3).tolist() == [0, 1, 2, 0, 1, 2]
    assert rack_of(6, 3, "blocks").tolist() == [0, 0, 1, 1, 2, 2]
    assert dc_of_spec(PlacementSpec(nodes=12, racks=6, datacenters=2)).tolist() == [0, 1] * 6
    assert dc_of_spec(PlacementSpec(nodes=12, racks=6, rack_assignment="blocks", datacenters=2)).tolist() == \
        [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]


@pytest.mark.parametrize(("spec", "key", "reason"), [
    (dict(kind="copyset", nodes=30, replication=3, scatter_width=1), "placement.scatter_width", "S = 1 < R - 1 = 2"),
    (dict(kind="copyset", nodes=10, replication=3, scatter_width=12), "placement.scatter_width", "cannot be met"),
    (dict(kind="window", nodes=10, replication=3, scatter_width=10), "placement.scatter_width", "cannot be met"),
    (dict(nodes=10, racks=4, rack_assignment="blocks"), "placement.racks", "do not divide 10 nodes"),
    (dict(nodes=10, racks=2), "placement.racks", "racks >= replication"),
    (dict(nodes=10, racks=11), "placement.racks", "cannot all hold a node"),
    (dict(nodes=2, replication=3), "placement.replication", "R = 3"),
    (dict(nodes=12, racks=4, datacenters=5), "placement.datacenters", "5 DCs"),
])
def test_bad_placements_are_one_line_errors(spec: dict, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        check_placement(PlacementSpec(**spec), "x.toml")
    assert e.value.key == key and reason in e.value.reason and "\n" not in str(e.value)
    assert str(e.value).startswith(f"x.toml: {key}: ")


def test_parse_placement_checks_keys_and_types() -> None:
    assert parse_placement({"kind": "copyset", "scatter_width": 6}).scatter_width == 6
    with pytest.raises(ConfigError, match="placement.bogus: unknown key"):
        parse_placement({"bogus": 1})
    with pytest.raises(ConfigError, match="placement.vnodes: must be an integer"):
        parse_placement({"vnodes": "many"})


@pytest.mark.parametrize(("raw", "key", "reason"), [
    ({"placement": {"nodes": 10}, "failure_model": {"failed_nodes": 11}}, "failure_model.failed_nodes", "exceeds the 10 nodes"),
    ({"failure_model": {"kind": "independent", "p": 1.5}}, "failure_model.p", "must be <= 1"),
    ({"placement": {"nodes": 10}, "failure_model": {"kind": "outage", "outage_nodes": 11}}, "failure_model.outage_nodes",
     "exceed the 10 nodes"),
    ({"failure_model": {"kind": "outage", "no_reboot_probability": 1.01}}, "failure_model.no_reboot_probability",
     "must be <= 1"),
    ({"failure_model": {"kind": "independent", "p": -0.1}}, "failure_model.p", "must be >= 0"),
    ({"placement": {"kind": "copyset", "nodes": 30, "scatter_width": 1}}, "placement.scatter_width", "< R - 1"),
    ({"placement": {"nodes": 10, "racks": 3, "rack_assignment": "blocks"}}, "placement.racks", "do not divide"),
    ({"failure_model": {"kind": "rack"}}, "placement.racks", "needs racks"),
    ({"placement": {"nodes": 12, "racks": 4}, "failure_model": {"kind": "rack", "racks_failed": 5}},
     "failure_model.racks_failed", "exceed the 4 racks"),
    ({"failure_model": {"kind": "burst", "burst_sizes": [1, 2], "burst_weights": [1]}},
     "failure_model.burst_weights", "1 weights for 2 sizes"),
    ({"placement": {"nodes": 10}, "failure_model": {"kind": "burst", "burst_sizes": [11], "burst_weights": [1]}},
     "failure_model.burst_sizes[0]", "not in 0..10"),
])
def test_scenario_loss_keys_are_checked_at_load(raw: dict, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as e:
        scenario_from_dict({"cluster": {"nodes": 10}, **raw}, source="s.toml")
    assert e.value.key == key and reason in e.value.reason, str(e.value)


@pytest.mark.parametrize("kind", ["window", "random"])
def test_chunked_placements_build_in_bounded_memory(kind: str) -> None:
    """2,000,000 chunks on 2,000 nodes: the first version held every chunk's rows and sort keys at
    once (~300 MiB); chunks are now drawn in batches and only their 8-byte codes kept (< 160 MiB,
    the result itself included). Counted by tracemalloc, not timed."""
    import tracemalloc

    tracemalloc.start()
    try:
        pl = build(PlacementSpec(kind=kind, nodes=2000, replication=3, scatter_width=10, chunks=2_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert math.isclose(pl.weights.sum(), 1.0)
    assert peak < 160 * 2**20, f"{peak / 2**20:.0f} MiB"
