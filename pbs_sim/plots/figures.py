"""One standard figure per kind of results directory: what ``pbs-sim plot --kind`` draws.

Must not touch: metrics, files (the CLI saves what :func:`figure_for` returns).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .common import _metric_col
from .curves import plot_curves, plot_curves_facets, plot_versions_ccdf
from .dc_pairs import figure_dc_pairs
from .durability import DURABILITY_X, durability_metric, plot_durability
from .loss import figure_loss_vs_size
from .results import ResultsDir
from .tradeoff import plot_tradeoff

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


KINDS = ("curves", "tradeoff", "durability", "versions", "loss-vs-size", "dc-pairs")


def figure_for(res: ResultsDir, kind: str) -> Figure:
    """The standard figure of ``kind`` for a results directory (raises ``ConfigError`` when the
    directory lacks what that kind needs). Call inside :func:`style` for the shipped look."""
    from matplotlib.figure import Figure

    where = str(res.path)
    if kind == "curves":
        if res.curves is None or res.curves.empty:
            raise ConfigError(where, None, "no curves table (curves.csv / curve.csv) to plot")
        c = res.curves
        multi_profile = "profile" in c.columns and c["profile"].nunique() > 1
        multi_rw = {"r", "w"} <= set(c.columns) and len(c[["r", "w"]].drop_duplicates()) > 1
        if multi_profile and multi_rw:
            nprof = c["profile"].nunique()
            ncols = 2 if nprof > 1 else 1
            fig = Figure(figsize=(5.0 * ncols, 3.4 * math.ceil(nprof / ncols)))
            plot_curves_facets(c, facet="profile", hue=("r", "w"), fig=fig, ncols=ncols)
            return fig
        fig = Figure()
        plot_curves(c, hue="auto", ax=fig.add_subplot(), log_x=True, target=0.999)
        return fig
    if kind == "tradeoff":
        m = res.metrics()
        if m is None or _metric_col(m, "t_visibility_ms") is None:
            raise ConfigError(where, None, "no summary/results table with t_visibility_ms and p999 latencies")
        fig = Figure()
        plot_tradeoff(m, ax=fig.add_subplot())
        return fig
    if kind == "durability":
        frame = res.frames.get("durability", res.frames.get("by_decile"))
        if frame is None:
            m = res.metrics()
            xcol = next((c for c in DURABILITY_X if m is not None and c in m.columns), None)
            if m is not None and xcol is not None and durability_metric(m) is not None and m[xcol].nunique() > 1:
                frame = m
        if frame is None:
            raise ConfigError(where, None, "no durability table: durability.csv or by_decile.csv, or a sweep summary "
                                           "with lost_write*/under_replicat* metrics over several anti_entropy.interval values")
        fig = Figure()
        plot_durability(frame, hue="auto", ax=fig.add_subplot())
        return fig
    if kind == "versions":
        frame = res.frames.get("versions_behind")
        if frame is None:
            raise ConfigError(where, None, "no versions_behind table (versions_behind.csv) to plot")
        fig = Figure()
        plot_versions_ccdf(frame, ax=fig.add_subplot())
        return fig
    if kind == "loss-vs-size":  # issue 20: experiments/large_cluster_loss.py writes loss_vs_size.csv
        frame = res.frames.get("loss_vs_size")
        if frame is None or frame.empty:
            raise ConfigError(where, None, "no loss_vs_size table (loss_vs_size.csv) to plot")
        return figure_loss_vs_size(frame)
    if kind == "dc-pairs":  # issue 19: a run's dc_pairs table, or a predict --scenario table read as a file
        frame = res.frames.get("dc_pairs")
        if frame is None or frame.empty:
            raise ConfigError(where, None, "no dc_pairs table (dc_pairs.csv, written by pbs-sim run) to plot; for "
                                           "`pbs-sim predict --scenario FILE --out TABLE` give TABLE itself")
        return figure_dc_pairs(frame)
    raise ConfigError(None, "--kind", f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
