"""Paired differences between sweep cells that share seeds (common random numbers).

Owns: the ``paired`` table of a sweep with ``[sweep] common_seeds`` — for every cell that is not its
own baseline and every numeric summary metric but the wall times, the mean over replications of
(cell − baseline), pairing replication ``rep`` of the cell with replication ``rep`` of its baseline
(the two ran with the same seed), its 95 % Student-t interval, and beside it the half-width of the
interval the same replications give when the pairing is ignored (Welch's two-sample interval), so the
gain of sharing seeds is on every row. Also the lower-level :func:`paired_differences`, which takes
any results table and any cell -> baseline map (the tests use it on a sweep with independent seeds).
Must not touch: running engines, the results directory (``store`` writes the table), seeds.

A pair counts when both replications are ok and both values are numbers (not NaN); a boolean metric
counts as 0/1. With fewer than two pairs, or an infinite value in a pair (a t-visibility never
reached), the interval is NaN, as in the ``summary`` table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .._lazy import LazyModule

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy import stats

    from .spec import SweepSpec
else:  # imported on first use (pbs_sim._lazy): checking a sweep file does not pay for them
    np = LazyModule("numpy")
    pd = LazyModule("pandas")
    stats = LazyModule("scipy.stats")

LEVEL = 0.95
# the wall and CPU times of a replication: they differ between executors and machines, so a paired
# difference of them means nothing (and would make the table differ between executors)
TIMING = ("wall_s", "metric_wall_s", "cpu_s")
# the columns after ``cell, baseline_cell`` and the cell's parameters
VALUE_COLUMNS = ("metric", "n_pairs", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_half_width",
                 "unpaired_half_width", "cell_mean", "baseline_mean")


def paired_metrics(results: pd.DataFrame, spec: SweepSpec) -> list[str]:
    """The metrics the ``paired`` table covers: every numeric (or boolean) summary metric of
    ``store.numeric_metrics`` but the timings (``TIMING``)."""
    from .store import numeric_metrics

    return [m for m in numeric_metrics(results, spec) if m not in TIMING]


def _matrix(ok: pd.DataFrame, metric: str, n_cells: int, n_reps: int) -> np.ndarray:
    """``metric`` as an array [cell, rep]; NaN where a replication failed, is missing or has none."""
    x = np.full((n_cells, n_reps), np.nan)
    values = pd.to_numeric(ok[metric].astype(float), errors="coerce").to_numpy(dtype=float)
    x[ok["cell"].to_numpy(dtype=int), ok["rep"].to_numpy(dtype=int)] = values
    return x


def _t(df: np.ndarray) -> np.ndarray:
    return np.asarray(stats.t.ppf(0.5 + LEVEL / 2, df), dtype=float)


def paired_differences(
    results: pd.DataFrame, pairs: Mapping[int, int], metrics: Sequence[str], *, n_cells: int | None = None,
    n_reps: int | None = None,
) -> pd.DataFrame:
    """Paired differences of ``metrics`` for each ``cell -> baseline`` in ``pairs``.

    Args:
        results: a sweep's results table (``cell``, ``rep``, ``status`` and the metric columns).
        pairs: cell -> the cell it is compared with; rows come in the order of ``pairs``, then of
            ``metrics``.
        metrics: metric columns of ``results``.
        n_cells, n_reps: the sweep's shape (default: from ``results``).

    Returns:
        One row per (cell, metric): ``cell, baseline_cell`` and ``VALUE_COLUMNS`` — ``n_pairs``,
        ``diff_mean`` (mean of cell − baseline over the pairs), ``diff_ci_low`` / ``diff_ci_high``
        (95 % Student-t, n_pairs − 1 degrees of freedom), ``diff_half_width``,
        ``unpaired_half_width`` (Welch's 95 % half-width for the difference of the two means of the
        same replications, treated as independent samples), ``cell_mean`` and ``baseline_mean``.
    """
    cells = np.fromiter(pairs.keys(), dtype=int, count=len(pairs))
    bases = np.fromiter(pairs.values(), dtype=int, count=len(pairs))
    ok = results[results["status"] == "ok"]
    nc = int(n_cells if n_cells is not None else (int(results["cell"].max()) + 1 if len(results) else 0))
    nr = int(n_reps if n_reps is not None else (int(results["rep"].max()) + 1 if len(results) else 0))
    blocks = []
    for m in metrics:
        x = _matrix(ok, m, nc, nr)
        c, b = x[cells], x[bases]
        valid = ~np.isnan(c) & ~np.isnan(b)
        n = valid.sum(axis=1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            d = np.where(valid, c - b, 0.0)
            finite = np.where(valid, np.isfinite(c) & np.isfinite(b), True).all(axis=1)
            good = (n >= 2) & finite
            n_safe = np.where(n > 0, n, np.nan)
            mean = d.sum(axis=1) / n_safe
            mc = np.where(valid, c, 0.0).sum(axis=1) / n_safe
            mb = np.where(valid, b, 0.0).sum(axis=1) / n_safe
            dof = np.where(good, n - 1, 1.0)

            def var(v: np.ndarray, mu: np.ndarray) -> np.ndarray:
                return np.where(valid, (v - mu[:, None]) ** 2, 0.0).sum(axis=1) / dof  # noqa: B023

            half = np.where(good, _t(dof) * np.sqrt(var(d, mean) / n_safe), np.nan)
            # Welch: se^2 = s_c^2/n + s_b^2/n, Welch-Satterthwaite degrees of freedom
            vc, vb = var(c, mc) / n_safe, var(b, mb) / n_safe
            se2 = vc + vb
            welch_df = np.where(se2 > 0, se2**2 / ((vc**2 + vb**2) / dof), dof)
            unpaired = np.where(good, _t(np.where(good, welch_df, 1.0)) * np.sqrt(se2), np.nan)
        blocks.append(pd.DataFrame({
            "cell": cells, "baseline_cell": bases, "metric": m, "n_pairs": n.astype(int),
            "diff_mean": mean, "diff_ci_low": np.where(good, mean - half, np.nan),
            "diff_ci_high": np.where(good, mean + half, np.nan), "diff_half_width": half,
            "unpaired_half_width": unpaired, "cell_mean": mc, "baseline_mean": mb,
        }))
    columns = ["cell", "baseline_cell", *VALUE_COLUMNS]
    if not blocks:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(blocks, ignore_index=True)
    order = {int(c): i for i, c in enumerate(cells)}
    frame["_o"] = frame["cell"].map(order)
    frame = frame.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return frame[columns]


def paired_frame(spec: SweepSpec, results: pd.DataFrame) -> pd.DataFrame:
    """The ``paired`` table of ``spec``: each cell that is not its own baseline, in cell order, with
    its parameters (as in ``summary``) after ``cell, baseline_cell``, one row per metric of
    :func:`paired_metrics`."""
    from .store import cell_columns

    pairs = {c.index: spec.baseline_cell(c.index) for c in spec.cells if spec.baseline_cell(c.index) != c.index}
    frame = paired_differences(results, pairs, paired_metrics(results, spec), n_cells=len(spec.cells),
                               n_reps=spec.replications)
    params = cell_columns(spec)
    out = frame[["cell", "baseline_cell"]].merge(params, on="cell", how="left", sort=False)
    out = pd.concat([out.reset_index(drop=True), frame[list(VALUE_COLUMNS)].reset_index(drop=True)], axis=1)
    return out


def headline(paired: pd.DataFrame, metrics: Sequence[str] = ()) -> list[str]:
    """The metrics a summary shows: ``metrics`` if given, else the first of ``HEADLINE`` the table
    has (at most three), else its first three."""
    have = list(dict.fromkeys(paired["metric"])) if len(paired) else []
    if metrics:
        return [m for m in metrics if m in have]
    chosen = [m for m in HEADLINE if m in have][:3]
    return chosen or have[:3]


HEADLINE = ("stale_read_fraction", "p_consistent_at_t0", "t_visibility_ms", "read_latency_p999_ms",
            "write_latency_p999_ms")


def gain(paired: pd.DataFrame) -> float:
    """The median over rows with both half-widths positive of unpaired / paired half-width (NaN if
    there is none): how many times narrower sharing seeds made the intervals."""
    if not len(paired):
        return float("nan")
    p = paired["diff_half_width"].to_numpy(dtype=float)
    u = paired["unpaired_half_width"].to_numpy(dtype=float)
    keep = np.isfinite(p) & np.isfinite(u) & (p > 0) & (u > 0)
    return float(np.median(u[keep] / p[keep])) if keep.any() else float("nan")


__all__ = ["HEADLINE", "TIMING", "VALUE_COLUMNS", "gain", "headline", "paired_differences", "paired_frame",
           "paired_metrics"]
