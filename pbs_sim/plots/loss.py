"""Data-loss figures: P(loss) against cluster size, one line per placement (issue 20).

Owns: :func:`plot_loss_vs_size` (one panel) and :func:`figure_loss_vs_size` (one panel per study),
the ``loss-vs-size`` kind of ``pbs-sim plot``. Must not touch: how a loss is computed
(:mod:`pbs_sim.analytic.placement` and the Monte Carlo do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .style import new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The columns a loss-vs-size frame must have.
LOSS_COLUMNS = ("series", "nodes", "p_loss")
PANEL_TITLES = {
    "copysets": "1 % of nodes lost at once (Cidon et al. 2013, Fig. 1)",
    "kleppmann": "each node lost w.p. 0.001 per period (Kleppmann 2017)",
}


def plot_loss_vs_size(frame: pd.DataFrame, *, ax: Axes | None = None, log_y: bool = True) -> Axes:
    """P(at least one key loses every replica) against the number of nodes.

    Input (one row per series and size): ``series``, ``nodes``, ``p_loss``; optional
    ``p_loss_lower`` / ``p_loss_upper`` (drawn as a band: the analytic bounds where the answer is
    not exact), ``mc_p_loss`` with ``mc_ci_low`` / ``mc_ci_high`` (Monte Carlo points with 95 %
    intervals) and ``reference_p_loss`` (the published model's own number, dashed).
    """
    missing = [c for c in LOSS_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(None, "loss-vs-size", f"the frame lacks {', '.join(missing)}")
    ax = ax if ax is not None else new_axes()
    for i, (name, g) in enumerate(frame.groupby("series", sort=False)):
        g = g.sort_values("nodes")
        if log_y:  # a zero cannot be drawn on a log axis (no loss is possible there, F < R)
            g = g[g["p_loss"] > 0]
            if g.empty:
                continue
        color = f"C{i % 10}"
        x = g["nodes"].to_numpy(dtype=float)
        ax.plot(x, g["p_loss"], marker="o", ms=3, color=color, label=str(name))
        if {"p_loss_lower", "p_loss_upper"} <= set(g.columns):
            lo, hi = g["p_loss_lower"].to_numpy(dtype=float), g["p_loss_upper"].to_numpy(dtype=float)
            if np.any(hi - lo > 1e-12):
                ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
        if "mc_p_loss" in g.columns and g["mc_p_loss"].notna().any():
            m = g[g["mc_p_loss"].notna() & ((g["mc_p_loss"] > 0) | (not log_y))]
            yerr = None
            if {"mc_ci_low", "mc_ci_high"} <= set(m.columns):
                yerr = np.vstack([m["mc_p_loss"] - m["mc_ci_low"], m["mc_ci_high"] - m["mc_p_loss"]]).clip(0)
            ax.errorbar(m["nodes"], m["mc_p_loss"], yerr=yerr, fmt="x", ms=5, color=color, capsize=2, lw=0.8)
        if "reference_p_loss" in g.columns and g["reference_p_loss"].notna().any():
            r = g[g["reference_p_loss"].notna()]
            ax.plot(r["nodes"], r["reference_p_loss"], ls="--", lw=1, color=color)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("nodes")
    ax.set_ylabel("P(data loss) per event")
    ax.legend(fontsize="small")
    return ax


def figure_loss_vs_size(frame: pd.DataFrame) -> Figure:
    """One panel per value of ``panel`` (or one panel): lines analytic, bands its bounds, crosses
    the Monte Carlo with 95 % intervals, dashed the published model's own number."""
    from matplotlib.figure import Figure

    panels = list(dict.fromkeys(frame["panel"])) if "panel" in frame.columns else [None]
    fig = Figure(figsize=(6.0 * len(panels), 4.2), layout="constrained")
    for j, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), j + 1)
        sub = frame if panel is None else frame[frame["panel"] == panel]
        plot_loss_vs_size(sub, ax=ax)
        if panel is not None:
            ax.set_title(PANEL_TITLES.get(str(panel), str(panel)), fontsize="medium")
    return fig
