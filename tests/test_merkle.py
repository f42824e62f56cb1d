"""Merkle tree and exchange: exact finds, incremental updates, and cost that scales with differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbs_sim.sim.merkle import MerkleTree, exchange


def _pair(n_keys: int, differing: set[int], depth: int = 8, fanout: int = 2) -> tuple[MerkleTree, MerkleTree]:
    a = MerkleTree.from_items({k: 1 for k in range(n_keys)}, depth, fanout)
    b = MerkleTree.from_items({k: (2 if k in differing else 1) for k in range(n_keys)}, depth, fanout)
    return a, b


def test_identical_trees_cost_one_round_trip() -> None:
    a, b = _pair(1000, set())
    r = exchange(a, b)
    assert r.differing_keys == frozenset()
    assert (r.messages, r.round_trips, r.hashes_compared, r.keys_sent) == (2, 1, 1, 0)


@pytest.mark.parametrize("depth,fanout", [(1, 2), (6, 2), (4, 4), (3, 16)])
def test_exchange_finds_exactly_the_differing_keys(depth: int, fanout: int) -> None:
    rng = np.random.default_rng(3)
    diff = {int(x) for x in rng.choice(5000, size=37, replace=False)}
    a, b = _pair(5000, diff, depth, fanout)
    r = exchange(a, b)
    assert r.differing_keys == frozenset(diff)
    # every differing key is streamed, from both sides (each holds a version)
    assert diff <= set(r.keys_a_to_b) and diff <= set(r.keys_b_to_a)
    assert r.round_trips == depth + 1
    assert r.messages == 2 * (depth + 1) + 2


def test_missing_and_extra_keys_are_found() -> None:
    a = MerkleTree.from_items({k: 1 for k in range(200)}, 6, 2)
    b = MerkleTree.from_items({k: 1 for k in range(200) if k not in (5, 50)}, 6, 2)
    b.set(999, 4)
    r = exchange(a, b)
    assert r.differing_keys == frozenset({5, 50, 999})
    assert {5, 50} <= set(r.keys_a_to_b) and 999 in r.keys_b_to_a


def test_incremental_update_equals_rebuild() -> None:
    t = MerkleTree(depth=7, fanout=3)
    for k in range(300):
        t.set(k, 1)
    for k in range(0, 300, 7):
        t.set(k, 5)
    for k in range(0, 300, 11):
        t.remove(k)
    ref = MerkleTree.from_items({k: (5 if k % 7 == 0 else 1) for k in range(300) if k % 11}, 7, 3)
    assert t.levels == ref.levels
    t.clear()
    assert t.root == 0 and len(t) == 0


def test_cost_grows_with_differences_not_with_range_size() -> None:
    depth, fanout = 12, 2
    small = exchange(*_pair(2_000, {1, 2, 3}, depth, fanout))
    large = exchange(*_pair(50_000, {1, 2, 3}, depth, fanout))
    bound = 1 + 3 * depth * fanout
    assert small.hashes_compared <= bound and large.hashes_compared <= bound
    # with d differing keys the comparisons are at most 1 + d * depth * fanout, and more keys differ -> more
    many = exchange(*_pair(50_000, set(range(0, 50_000, 500)), depth, fanout))
    assert large.hashes_compared < many.hashes_compared <= 1 + 100 * depth * fanout


@settings(max_examples=40, deadline=None)
@given(
    keys=st.dictionaries(st.integers(0, 10_000), st.integers(1, 4), max_size=200),
    changes=st.dictionaries(st.integers(0, 10_000), st.one_of(st.none(), st.integers(1, 4)), max_size=30),
    depth=st.integers(0, 6),
    fanout=st.integers(2, 5),
)
def test_property_exchange_finds_exact_symmetric_difference(
    keys: dict[int, int], changes: dict[int, int | None], depth: int, fanout: int
) -> None:
    other = dict(keys)
    for k, v in changes.items():
        if v is None:
            other.pop(k, None)
        else:
            other[k] = v
    a = MerkleTree.from_items(keys, depth, fanout)
    b = MerkleTree.from_items(other, depth, fanout)
    want = {k for k in set(keys) | set(other) if keys.get(k) != other.get(k)}
    assert exchange(a, b).differing_keys == frozenset(want)
    assert exchange(b, a).differing_keys == frozenset(want)
