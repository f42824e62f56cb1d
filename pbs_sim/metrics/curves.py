"""Several replications' t-visibility curves put on one t grid: their mean and its interval.

Owns: how a tabulated curve is read between its points (:func:`step_values`), the common grid of a
group of replications (:func:`on_common_grid`), their point-wise mean for display
(:func:`mean_curve`, what ``pbs_sim.plots`` draws) and the per-cell mean curve with a Student-t
interval over replications (:func:`curves_summary`, a sweep's ``curves_summary`` table). One
implementation serves both, so a figure and the table it is drawn beside never disagree.
Must not touch: SimPy, engines, files, plotting.

Why a common grid: replications are not tabulated at the same t. The predictor places each
replication's grid around that replication's own t-visibility, so grouping rows by exact ``t_ms``
averages, at nearly every t, one replication with itself. Each replication's table is read as the
right-continuous step function it estimates instead:

* a curve without ``t_high_ms`` (the predictor's empirical CDF of thresholds, probe offsets) holds
  the value of its last point ``<= t`` (a lower bound between points: P(consistent) only grows);
  before its first point it has no value;
* a binned curve (``t_high_ms``: the simulator's [t_ms, t_high_ms) bins) has the value of the bin
  containing t, and none where it has no bin (no reads there).

At each t of the union of the grids, the replications that have a value there are averaged and
counted (``n_reps``); every predictor replication starts at t = 0, so there every row averages all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
    from scipy import stats
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")
    stats = LazyModule("scipy.stats")

VALUE_COLUMNS = ("p_consistent", "ci_low", "ci_high")
SUMMARY_COLUMNS = ("t_ms", "n_reps", "p_consistent_mean", "p_consistent_ci_low", "p_consistent_ci_high")


def step_values(t: np.ndarray, values: np.ndarray, grid: np.ndarray, t_high: np.ndarray | None = None) -> np.ndarray:
    """``values`` (tabulated at sorted ``t``) read at every ``grid`` point as a right-continuous step
    function; NaN before ``t[0]`` and, for binned curves, wherever ``grid`` falls outside every bin
    ``[t[i], t_high[i])``."""
    idx = np.searchsorted(t, grid, side="right") - 1
    safe = np.clip(idx, 0, None)
    out = np.where(idx >= 0, np.asarray(values, dtype=float)[safe] if len(t) else np.nan, np.nan)
    if t_high is not None and len(t):
        out = np.where((idx >= 0) & (grid < np.asarray(t_high, dtype=float)[safe]), out, np.nan)
    return out


def on_common_grid(
    curves: pd.DataFrame, value_cols: Sequence[str] = VALUE_COLUMNS, ids: Sequence[str] = ("cell", "rep"),
    grid: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The replications of ``curves`` (told apart by the ``ids`` columns present) on one grid:
    ``(grid, {column: array of shape (replications, len(grid))})``, NaN where a replication has no
    value (see the module doc). ``grid`` defaults to the union of every replication's ``t_ms``."""
    cols = [c for c in value_cols if c in curves.columns]
    keys = [c for c in ids if c in curves.columns]
    if grid is None:
        grid = np.unique(curves["t_ms"].to_numpy(float))
    groups = curves.groupby(keys, sort=True) if keys else [((), curves)]
    stacks: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    for _, one in groups:
        binned = "t_high_ms" in one.columns and one["t_high_ms"].notna().any()
        # a replication tabulated twice at one t (should not happen) counts once, at its mean
        agg = one.groupby("t_ms", sort=True)[cols + (["t_high_ms"] if binned else [])].mean()
        t = agg.index.to_numpy(float)
        t_high = agg["t_high_ms"].to_numpy(float) if binned else None
        for c in cols:
            stacks[c].append(step_values(t, agg[c].to_numpy(float), grid, t_high))
    return grid, {c: np.vstack(v) if v else np.empty((0, len(grid))) for c, v in stacks.items()}


def _nanmean(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmean(a, axis=0)


def mean_curve(
    curves: pd.DataFrame, value_cols: Sequence[str] = VALUE_COLUMNS, max_points: int | None = 250,
    ids: Sequence[str] = ("cell", "rep"),
) -> pd.DataFrame:
    """The point-wise mean of several replications' curves (probability and CI bounds alike), for
    display: ``t_ms``, the value columns and ``n_reps``. A union grid of more than ``max_points``
    points is thinned evenly in rank (keeping both ends) so figures stay light; ``None`` keeps all.

    Without ``ids`` columns replications cannot be told apart: rows at the same ``t_ms`` are averaged
    (``n_reps`` counts them). A single replication is returned as tabulated (never thinned)."""
    cols = [c for c in value_cols if c in curves.columns]
    keys = [c for c in ids if c in curves.columns]
    if not keys or len(curves[keys].drop_duplicates()) <= 1:
        g = curves.groupby("t_ms", sort=True)
        out = g[cols].mean().reset_index()
        out["n_reps"] = g.size().to_numpy() if not keys else 1
        return out
    grid = np.unique(curves["t_ms"].to_numpy(float))
    if max_points is not None and len(grid) > max_points:
        grid = grid[np.unique(np.linspace(0, len(grid) - 1, max_points).round().astype(int))]
    grid, stacks = on_common_grid(curves, value_cols, ids, grid)
    out = pd.DataFrame({"t_ms": grid})
    for c, a in stacks.items():
        out[c] = _nanmean(a)
    first = next(iter(stacks.values()), None)
    out["n_reps"] = np.isfinite(first).sum(axis=0) if first is not None else 0
    return out


def curves_summary(curves: pd.DataFrame, by: str = "cell", rep: str = "rep", level: float = 0.95) -> pd.DataFrame:
    """Per ``by`` group (a sweep's cell) and t of the union of its replications' grids: ``n_reps``,
    ``p_consistent_mean`` and a Student-t interval over the replications present at t, clipped to
    [0, 1] (with a single replication, that replication's own interval)."""
    columns = [by, *SUMMARY_COLUMNS]
    if curves.empty:
        return pd.DataFrame(columns=columns)
    parts = []
    groups = curves.groupby(by, sort=True) if by in curves.columns else [(0, curves)]
    for key, sub in groups:
        grid, st = on_common_grid(sub, VALUE_COLUMNS, (rep,))
        p = st["p_consistent"]
        n = np.isfinite(p).sum(axis=0).astype(float)
        mean = _nanmean(p)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sd = np.nanstd(p, axis=0, ddof=1)
            half = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        single = n == 1
        own_low = _nanmean(st["ci_low"]) if "ci_low" in st else np.full(len(grid), np.nan)
        own_high = _nanmean(st["ci_high"]) if "ci_high" in st else np.full(len(grid), np.nan)
        parts.append(pd.DataFrame({
            by: key, "t_ms": grid, "n_reps": n.astype(np.int64), "p_consistent_mean": mean,
            "p_consistent_ci_low": np.clip(np.where(single, own_low, mean - half), 0.0, 1.0),
            "p_consistent_ci_high": np.clip(np.where(single, own_high, mean + half), 0.0, 1.0),
        }))
    out = pd.concat(parts, ignore_index=True)
    return out[out["n_reps"] > 0][columns].reset_index(drop=True)
