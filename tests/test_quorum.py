"""Closed forms for partial quorums against docs/validation.md §1 and against direct enumeration."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from pbs_sim.analytic.quorum import k_staleness, monotonic_reads, p_stale, p_stale_exact
from pbs_sim.errors import ConfigError


def test_reference_values() -> None:
    assert p_stale(3, 1, 1) == pytest.approx(2 / 3)
    assert p_stale(100, 30, 30) == pytest.approx(1.88e-6, rel=0.01)
    assert k_staleness(3, 1, 1, 2) == pytest.approx(0.5556, abs=5e-5)
    assert k_staleness(3, 1, 1, 3) == pytest.approx(0.7037, abs=5e-5)
    assert k_staleness(3, 1, 2, 2) == pytest.approx(0.8889, abs=5e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 20])
def test_strict_quorums_are_never_stale(n: int) -> None:
    for r in range(1, n + 1):
        for w in range(1, n + 1):
            if r + w > n:
                assert p_stale(n, r, w) == 0.0
                assert k_staleness(n, r, w, 1) == 1.0
            else:
                assert p_stale(n, r, w) > 0.0


@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (5, 2, 2), (6, 1, 3), (7, 3, 2)])
def test_p_stale_by_enumeration(n: int, r: int, w: int) -> None:
    """Count every (write set, read set) pair: the read misses iff the sets are disjoint."""
    miss = total = 0
    for ws in itertools.combinations(range(n), w):
        for rs in itertools.combinations(range(n), r):
            total += 1
            miss += not set(ws) & set(rs)
    assert p_stale_exact(n, r, w) == Fraction(miss, total)


def test_p_stale_by_sampling(rng: np.random.Generator) -> None:
    n, r, w, trials = 10, 2, 3, 200_000
    ranks_w = rng.random((trials, n)).argsort(axis=1)[:, :w]
    ranks_r = rng.random((trials, n)).argsort(axis=1)[:, :r]
    miss = ~(ranks_w[:, :, None] == ranks_r[:, None, :]).any(axis=(1, 2))
    p = p_stale(n, r, w)
    assert abs(miss.mean() - p) < 5 * math.sqrt(p * (1 - p) / trials)


def test_monotonic_reads() -> None:
    ps = 2 / 3
    assert monotonic_reads(3, 1, 1, client_rate=1.0, write_rate=0.0) == pytest.approx(ps)
    assert monotonic_reads(3, 1, 1, client_rate=1.0, write_rate=2.0) == pytest.approx(ps**3)
    assert monotonic_reads(3, 2, 2, client_rate=1.0, write_rate=5.0) == 0.0


@pytest.mark.parametrize(
    ("args", "key"),
    [((3, 4, 1), "r"), ((3, 1, 0), "w"), ((0, 1, 1), "n"), ((3, 1.0, 1), "r"), ((3, 1, 4), "w")],
)
def test_bad_arguments(args: tuple, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        p_stale(*args)
    assert info.value.key == key
    with pytest.raises(ValueError):  # ConfigError is a ValueError too
        p_stale(*args)


def test_bad_k_and_rates() -> None:
    with pytest.raises(ConfigError):
        k_staleness(3, 1, 1, 0)
    with pytest.raises(ConfigError):
        monotonic_reads(3, 1, 1, client_rate=0.0, write_rate=1.0)
    with pytest.raises(ConfigError):
        monotonic_reads(3, 1, 1, client_rate=1.0, write_rate=-1.0)
