"""The recommender: availability against enumeration, Pareto fronts, feasibility and ranking rules."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from pbs_sim.analytic.grid import predict_grid
from pbs_sim.errors import ConfigError
from pbs_sim.recommender import (
    SloppyQuorum,
    StrictQuorum,
    Targets,
    binomial_at_least,
    pareto_front,
    parse_n_range,
    profile_from_trace,
    recommend,
    score,
)


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize("a", [0.9, 0.999])
def test_strict_availability_equals_enumeration_of_node_states(n: int, a: float) -> None:
    """Exact: sum the probability of every up/down pattern of the N replicas with >= Q up."""
    for q in range(1, n + 1):
        brute = math.fsum(
            math.prod(a if up else 1 - a for up in state)
            for state in itertools.product((True, False), repeat=n) if sum(state) >= q
        )
        assert binomial_at_least(n, q, a) == pytest.approx(brute, rel=1e-12, abs=1e-15)
    model = StrictQuorum(a)
    assert model.read(n, n) == pytest.approx(a**n) and model.write(n, 1) == pytest.approx(1 - (1 - a) ** n)


def test_sloppy_availability_counts_every_node_of_the_preference_list() -> None:
    """Sloppy quorums over M nodes: an operation needing Q succeeds iff >= Q of all M nodes are up
    (enumerated exactly), never less available than strict; a ring smaller than N is refused."""
    a, m = 0.9, 5
    sloppy, strict = SloppyQuorum(a, nodes=m), StrictQuorum(a)
    for n in (1, 3, 5):
        for q in range(1, n + 1):
            brute = math.fsum(math.prod(a if up else 1 - a for up in state)
                              for state in itertools.product((True, False), repeat=m) if sum(state) >= q)
            assert sloppy.write(n, q) == pytest.approx(brute, rel=1e-12)
            assert sloppy.read(n, q) >= strict.read(n, q)
    with pytest.raises(ConfigError, match="cannot hold N = 6"):
        sloppy.read(6, 1)
    rec = recommend("lnkd-ssd", "3", trials=5_000, seed=1, availability=SloppyQuorum(0.99, nodes=6))
    assert rec.availability_model == "sloppy"
    row = rec.table[(rec.table.r == 3) & (rec.table.w == 3)].iloc[0]
    assert row["read_availability"] == pytest.approx(binomial_at_least(6, 3, 0.99))


def test_pareto_front_by_hand() -> None:
    v = np.array([[1, 5, 0], [2, 2, 0], [3, 3, 0], [1, 5, 0], [0, 9, 9]])
    # row 2 is dominated by row 1; rows 0 and 3 tie (neither dominates the other)
    assert pareto_front(v).tolist() == [True, True, False, True, True]


def test_parse_n_range() -> None:
    assert parse_n_range("3..7") == [3, 4, 5, 6, 7]
    assert parse_n_range("3,5, 7") == [3, 5, 7]
    assert parse_n_range(4) == [4]
    for bad, match in (("7..3", "empty range"), ("", "is not N"), ("0", ">= 1"), ("x", "is not N")):
        with pytest.raises(ConfigError, match=match):
            parse_n_range(bad)


def test_targets_reject_bad_values() -> None:
    for kw in ({"target": 1.0}, {"target": 0.0}, {"min_availability": 1.0}, {"max_read_ms": -1.0}):
        with pytest.raises(ConfigError):
            Targets(**kw)  # type: ignore[arg-type]


def test_every_row_is_judged_by_exactly_its_targets() -> None:
    """Feasible rows meet every target; every excluded row names each target it misses; ranks go
    by N, then read + write p99.9; the scored grid is the grid (no number is changed)."""
    tg = Targets(max_read_ms=1.5, max_write_ms=15.0, max_t_visibility_ms=12.0, target=0.999, min_availability=0.9999)
    grid = predict_grid("lnkd-disk", n=[3, 4, 5], trials=20_000, seed=5, target=0.999)
    t = score(grid, tg, StrictQuorum(0.999))
    for col in grid.columns:
        assert t[col].equals(grid[col]), col
    for row in t.to_dict("records"):
        checks = {
            "read p99.9": row["read_latency_p999_ms"] <= 1.5,
            "write p99.9": row["write_latency_p999_ms"] <= 15.0,
            "t-visibility": row["t_visibility_ms"] <= 12.0,
            "read availability": row["read_availability"] >= 0.9999,
            "write availability": row["write_availability"] >= 0.9999,
        }
        assert row["feasible"] == all(checks.values())
        for name, ok in checks.items():
            assert (name in row["misses"]) == (not ok), (row["n"], row["r"], row["w"], name, row["misses"])
    feas = t[t.feasible].sort_values("rank")
    assert list(feas["rank"]) == list(range(1, len(feas) + 1))
    keys = list(zip(feas.n, feas.latency_sum_ms, strict=True))
    assert keys == sorted(keys)


def test_recommend_end_to_end_and_infeasible_gives_closest(tmp_path: Path) -> None:
    rec = recommend("lnkd-ssd", "2..3", max_t_visibility_ms=5.0, trials=20_000, seed=2)
    assert rec.best is not None and rec.best["n"] == 2 and rec.closest is None
    assert len(rec.excluded) == int((~rec.table.feasible).sum())
    none = recommend("lnkd-disk", "3", max_write_ms=0.01, trials=5_000, seed=2)
    assert none.best is None and none.feasible.empty
    closest = none.closest
    assert closest is not None and "write p99.9" in closest["misses"]
    # closest = smallest relative miss: here the fastest write, W = 1
    assert closest["w"] == 1
    d = none.to_dict()
    assert d["best"] is None and d["closest"]["w"] == 1 and len(d["table"]) == 9


def test_trace_profile(tmp_path: Path, rng: np.random.Generator) -> None:
    good = tmp_path / "lat.csv"
    x = rng.exponential(1.0, size=(500, 4))
    good.write_text("w,a,r,s\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in x) + "\n")
    prof = profile_from_trace(good)
    assert prof.name == "lat" and prof.w.mean == pytest.approx(float(np.mean(x[:, 0])), rel=0.05)
    one = tmp_path / "one.csv"
    one.write_text("ms\n1.5\n2.5\n")
    assert profile_from_trace(one).r.mean == pytest.approx(2.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("w,a,r,s\n1,2,3,x\n")
    with pytest.raises(ConfigError, match=r"bad\.csv: s: line 2: 'x' is not a number"):
        profile_from_trace(bad)
    partial = tmp_path / "partial.csv"
    partial.write_text("w,a\n1,2\n")
    with pytest.raises(ConfigError, match="not r, s"):
        profile_from_trace(partial)


def test_availability_is_printed_with_two_significant_digits_of_unavailability() -> None:
    from pbs_sim.recommender.availability import format_availability

    assert format_availability(0.997003) == "99.70%"
    assert format_availability(1 - 6e-6) == "99.99940%"
    assert format_availability(1 - 4e-9) == "99.99999960%"
    assert format_availability(1 - 1e-12) == ">99.99999999%" and format_availability(1.0) == "100%"
