"""Figures of a recommendation: the latency/staleness Pareto front of every (N, R, W).

Owns: ``plot_pareto`` (a scored table -> matplotlib Axes). Must not touch: computation (it only
reads the table ``pbs_sim.recommend`` made).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def plot_pareto(table: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                label_front: bool = True) -> Axes:
    """Read + write p99.9 latency against t-visibility for every configuration of a scored table
    (``Recommendation.table``): feasible ones filled, the Pareto front (of read p99.9, write p99.9,
    t-visibility) ringed and labelled, the recommended one starred. Infinite t-visibility is left out."""
    import numpy as np
    from matplotlib import colormaps

    from .style import new_axes

    if ax is None:
        ax = new_axes(figsize=(7, 4.5))
    t = table[np.isfinite(table.t_visibility_ms)]
    latency = t.read_latency_p999_ms + t.write_latency_p999_ms
    cmap = colormaps["viridis"]
    ns = sorted(t.n.unique())
    for i, n in enumerate(ns):
        sel = t.n == n
        color = cmap(i / max(1, len(ns) - 1))
        feas = sel & t.feasible
        ax.scatter(t.t_visibility_ms[feas], latency[feas], color=color, s=28, label=f"N = {n}")
        ax.scatter(t.t_visibility_ms[sel & ~t.feasible], latency[sel & ~t.feasible], facecolors="none",
                   edgecolors=[color], s=28, alpha=0.6)
    front = t[t.pareto]
    ax.scatter(front.t_visibility_ms, front.read_latency_p999_ms + front.write_latency_p999_ms, s=110,
               facecolors="none", edgecolors="black", linewidths=1.0, label="Pareto front")
    if label_front:
        for row in front.itertuples():
            ax.annotate(f"{row.n},{row.r},{row.w}", (row.t_visibility_ms, row.read_latency_p999_ms + row.write_latency_p999_ms),
                        textcoords="offset points", xytext=(5, 4), fontsize=7)
    best = t[t["rank"] == 1]
    if not best.empty:
        ax.scatter(best.t_visibility_ms, best.read_latency_p999_ms + best.write_latency_p999_ms, marker="*",
                   s=260, color="crimson", zorder=5, label="recommended")
    ax.set_xscale("symlog", linthresh=max(1e-3, _smallest_positive(t.t_visibility_ms)))
    ax.set_yscale("log")
    ax.set_xlabel("t-visibility at target (ms)")
    ax.set_ylabel("read p99.9 + write p99.9 (ms)")
    ax.set_title(title or "every (N, R, W): filled = feasible, labels N,R,W on the Pareto front")
    ax.legend(fontsize=8, loc="best")
    return ax


def _smallest_positive(values: pd.Series) -> float:
    pos = [float(v) for v in values if v > 0 and math.isfinite(v)]
    return min(pos) if pos else 1.0
