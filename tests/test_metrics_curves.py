"""pbs_sim.metrics.curves: replications' curves on a common grid, their mean and its interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbs_sim.metrics.curves import curves_summary, mean_curve, on_common_grid, step_values
from pbs_sim.sweep import run_sweep, sweep_from_dict


def test_step_values_right_continuous_and_bins() -> None:
    t = np.array([0.0, 1.0, 5.0])
    v = np.array([0.2, 0.5, 0.9])
    grid = np.array([0.0, 0.5, 1.0, 4.9, 5.0, 9.0])
    assert np.allclose(step_values(t, v, grid), [0.2, 0.2, 0.5, 0.5, 0.9, 0.9])
    later = step_values(t + 0.5, v, grid)
    assert np.isnan(later[0]) and np.allclose(later[1:], [0.2, 0.2, 0.5, 0.5, 0.9])  # from 0.5, 1.5, 5.5
    # bins [0, 0.5), [1, 2), [5, 10): nothing in [0.5, 1) or [2, 5)
    binned = step_values(t, v, grid, t_high=np.array([0.5, 2.0, 10.0]))
    assert np.allclose(binned[[0, 2, 4, 5]], [0.2, 0.5, 0.9, 0.9]) and np.isnan(binned[[1, 3]]).all()


def test_hand_made_grids() -> None:
    """Rep 0 at t = 0, 2; rep 1 at t = 0, 1: rep 0 holds 0.2 until t = 2."""
    frame = pd.DataFrame({"cell": 0, "rep": [0, 0, 1, 1], "t_ms": [0.0, 2.0, 0.0, 1.0],
                          "p_consistent": [0.2, 1.0, 0.4, 1.0], "ci_low": [0.1, 0.9, 0.3, 0.9],
                          "ci_high": [0.3, 1.0, 0.5, 1.0]})
    grid, st = on_common_grid(frame)
    assert grid.tolist() == [0.0, 1.0, 2.0] and st["p_consistent"].shape == (2, 3)
    agg = mean_curve(frame)
    assert np.allclose(agg["p_consistent"], [0.3, 0.6, 1.0]) and (agg["n_reps"] == 2).all()
    cs = curves_summary(frame)
    assert np.allclose(cs["p_consistent_mean"], agg["p_consistent"]) and (cs["n_reps"] == 2).all()
    half = 12.706204736174707 * np.std([0.2, 0.4], ddof=1) / np.sqrt(2)  # t_{0.975, 1}
    assert cs.loc[0, "p_consistent_ci_low"] == pytest.approx(max(0.0, 0.3 - half))
    one = curves_summary(frame[frame["rep"] == 0])
    assert one["p_consistent_ci_low"].tolist() == [0.1, 0.9]  # a single replication: its own interval


def test_predictor_sweep_mean_curve_is_monotone_and_averages_every_replication(tmp_path: Path) -> None:
    """The real predictor, 4 replications per cell: each replication's grid sits around its own
    t-visibility, so the rows of ``curves_summary`` must come from the step functions of all four
    (not from the one or two replications that happen to share an exact t), and a mean of
    non-decreasing step functions is non-decreasing. Before the fix (grouping by exact t_ms) most rows
    had n_reps = 1 and the mean curve went down and up."""
    raw = {
        "sweep": {"engine": "predict", "replications": 4, "seed": 11},
        "base": {"cluster": {"nodes": 3, "replication": 3}, "predict": {"trials": 20000}},
        "grid": {"latency.profile": ["lnkd-disk", "ymmr"]},
    }
    res = run_sweep(sweep_from_dict(raw, source=str(tmp_path / "s.toml"), base_dir=tmp_path, name="s"),
                    workers=1, out=tmp_path / "out", progress=False)
    assert res.ok
    cs = res.curves_summary
    assert (cs["n_reps"] == 4).all()
    for cell, sub in cs.groupby("cell"):
        p = sub.sort_values("t_ms")["p_consistent_mean"].to_numpy()
        assert (np.diff(p) >= 0).all(), cell
        # every row is the mean of the four step functions at that t
        reps = res.curves[res.curves["cell"] == cell]
        for t in sub["t_ms"].to_numpy()[:: max(1, len(sub) // 25)]:
            vals = [float(r.loc[r["t_ms"] <= t, "p_consistent"].iloc[-1]) for _, r in reps.groupby("rep")]
            assert sub.loc[sub["t_ms"] == t, "p_consistent_mean"].item() == pytest.approx(np.mean(vals))
        # the figure draws the same mean (one implementation)
        drawn = mean_curve(reps, max_points=None)
        assert np.allclose(drawn["p_consistent"], sub["p_consistent_mean"])
