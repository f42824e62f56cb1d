"""The grid engine: every (R, W) of an N from one sample, exactly equal to ``predict`` per pair."""

from __future__ import annotations

import numpy as np
import pytest

from pbs_sim.analytic.grid import predict_grid, wars_grid_sample
from pbs_sim.analytic.wars import EXACT_MAX_TRIALS, predict
from pbs_sim.distributions import Constant, Exponential, Mixture
from pbs_sim.errors import ConfigError
from pbs_sim.profiles import Profile

T_MS = (0.5, 3.0, 40.0)
ZERO = Constant(0.0)


def _predict_row(profile: str | Profile, n: int, r: int, w: int, **kw: object) -> dict[str, float]:
    res = predict(profile, n, r, w, t_ms=T_MS, **kw)  # type: ignore[arg-type]
    lo, hi = res.t_visibility_ci_ms
    out = {
        "p_consistent_at_t0": res.p_consistent_at_t0,
        "t_visibility_ms": res.t_visibility_ms, "t_visibility_ci_low_ms": lo, "t_visibility_ci_high_ms": hi,
        **{f"p_consistent_at_{t:g}_ms": float(res.p_consistent(t)) for t in T_MS},
    }
    for which, lat in (("read", res.read_latency_ms), ("write", res.write_latency_ms)):
        out |= {f"{which}_latency_{k.replace('.', '')}_ms": v for k, v in lat.items()}
    return out


@pytest.mark.parametrize(
    ("profile", "fanout"),
    [
        ("lnkd-disk", "all"),
        ("wan", "quorum"),  # WAN structure + random asked replicas
        ("ymmr", "quorum"),
        # constant A = R = S = 0: every read response ties, so this checks the tie-breaking rule
        (Profile("ties", Exponential(0.5), ZERO, ZERO, ZERO), "all"),
    ],
    ids=["lnkd-disk-all", "wan-quorum", "ymmr-quorum", "ties-all"],
)
def test_grid_equals_predict_for_every_pair_on_the_same_draws(profile: str | Profile, fanout: str) -> None:
    """Not within a tolerance: number for number, since the draws and the definitions are the same.
    Several chunks (chunk=3000 < trials) check that the chunk loop consumes the streams as predict does."""
    kw = {"trials": 10_000, "seed": 12, "fanout": fanout, "chunk": 3_000}
    grid = predict_grid(profile, n=[1, 4], t_ms=T_MS, **kw)  # type: ignore[arg-type]
    assert len(grid) == 1 + 16
    for row in grid.to_dict("records"):
        want = _predict_row(profile, row["n"], row["r"], row["w"], **kw)
        got = {k: row[k] for k in want}
        assert got == want, (row["n"], row["r"], row["w"])


def test_grid_breaks_partial_ties_as_predict_does() -> None:
    """Read responses R + S that tie only sometimes (S is 0 or 1 ms): the grid's fast sort must
    still order tied replicas by index, as predict's stable sort does (numpy's default argsort does
    not, from 5 replicas on), or gap_min — and so tau — differs for some R."""
    some_ties = Profile("some-ties", Exponential(0.5), Exponential(2.0), ZERO,
                        Mixture((0.5, 0.5), (ZERO, Constant(1.0))))
    kw = {"trials": 4_000, "seed": 5, "fanout": "all"}
    grid = predict_grid(some_ties, n=[5, 8], t_ms=T_MS, **kw)  # type: ignore[arg-type]
    for row in grid.to_dict("records"):
        want = _predict_row(some_ties, row["n"], row["r"], row["w"], **kw)
        assert {k: row[k] for k in want} == want, (row["n"], row["r"], row["w"])


def test_strict_quorums_have_zero_thresholds_and_partial_ones_do_not() -> None:
    grid = predict_grid("lnkd-disk", n=3, trials=20_000, seed=3)
    strict = grid[grid.r + grid.w > grid.n]
    assert (strict.p_consistent_at_t0 == 1.0).all() and (strict.t_visibility_ms == 0.0).all()
    one = grid[(grid.r == 1) & (grid.w == 1)].iloc[0]
    assert one.p_consistent_at_t0 < 0.6 and one.t_visibility_ms > 10  # docs/validation.md §3: 43.9 % at t = 0


def test_curve_from_the_sample_equals_predict_curve() -> None:
    res = predict("ymmr", 5, 2, 1, trials=8_000, seed=4)
    sample = wars_grid_sample("ymmr", 5, trials=8_000, seed=4)
    curve = sample.curve(2, 1, res.t_ms)
    for key in ("p_consistent", "ci_low", "ci_high"):
        assert np.array_equal(curve[key], res.curve[key].to_numpy()), key
    assert sample.latency_percentiles("read", 2) == list(res.read_latency_ms.values())


def test_grid_rejects_bad_input_before_sampling() -> None:
    with pytest.raises(ConfigError, match="empty range"):
        predict_grid("lnkd-ssd", n=[])
    with pytest.raises(ConfigError, match="trials"):
        predict_grid("lnkd-ssd", n=3, trials=EXACT_MAX_TRIALS + 1)
    with pytest.raises(ConfigError, match="target"):
        predict_grid("lnkd-ssd", n=3, target=1.5)
    with pytest.raises(ConfigError, match="R = 4"):
        wars_grid_sample("lnkd-ssd", 3, trials=100, seed=1).tau(4, 1)



def test_top_selection_keeps_exact_order_statistics() -> None:
    """The grid partitions only the top of each pair's thresholds: whatever it keeps, the k-th
    smallest of the whole array must come out the same, with heavy ties and without."""
    from pbs_sim.analytic.grid import _top

    rng = np.random.default_rng(5)
    for x in (rng.exponential(1.0, 50_000), np.round(rng.exponential(1.0, 50_000), 1),
              np.concatenate([np.zeros(49_000), np.ones(1_000)]), rng.exponential(1.0, 300)):
        srt = np.sort(x)
        for m in (1, 10, 60, 400):
            top = _top(x, m)
            assert len(top) >= min(m, len(x))
            offset = len(x) - len(top)
            top_sorted = np.sort(top)
            for k in range(max(offset + 1, len(x) - m + 1), len(x) + 1):
                assert top_sorted[k - offset - 1] == srt[k - 1]
