"""Staleness figures: P(consistent) against t (one panel, or one panel per profile) and the CCDF of
``versions_behind``.

Input frames (column names as the sweep and engines write them):

* **curves** — ``t_ms, p_consistent, ci_low, ci_high`` plus the columns that tell lines apart
  (``profile``, ``r``, ``w``, ``n``, ``engine``, ... ; sweep names such as ``latency_profile`` and
  ``cluster_read_quorum`` are understood too). Several replications of one line are averaged
  point-wise (probability and CI bounds alike) for display, each read as a step function on a
  common grid by :func:`pbs_sim.metrics.curves.mean_curve` -- the same implementation as the
  sweep's ``curves_summary`` table.
* **versions** — ``versions_behind`` (integer >= 0), one row per read, or one row per value with a
  weight column ``count`` (or ``reads``); optional hue columns.

Must not touch: how any metric is computed (averaging replications is ``pbs_sim.metrics.curves``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..metrics.curves import mean_curve
from .common import _groups, _require, _resolve_hue, _symlog_x, canonical, label_for
from .style import new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["mean_curve", "plot_curves", "plot_curves_facets", "plot_versions_ccdf"]


def plot_curves(
    curves: pd.DataFrame,
    *,
    hue: str | Sequence[str] | None = "auto",
    ax: Axes | None = None,
    log_x: bool = False,
    linthresh: float | None = None,
    band: bool = True,
    target: float | None = None,
    title: str | None = None,
    label_prefix: str = "",
    y_scale: str = "linear",
    legend: bool = True,
    colors: Mapping[tuple[Any, ...], str] | None = None,
    steps: bool = False,
) -> Axes:
    """P(consistent read) against t (ms since the commit), one line per ``hue`` group, 95% band.

    ``hue="auto"`` splits by whichever of profile, engine, N, R, W take several values. With
    ``log_x`` the x axis is symlog (linear below ``linthresh``, default the decade of the smallest
    positive t) so t = 0 stays on the plot. ``target`` draws a horizontal guide (e.g. 0.999).
    ``y_scale="logit"`` spreads out the tail (0.99, 0.999, 0.9999 evenly spaced); p = 1 is clipped.
    """
    if y_scale not in ("linear", "logit"):
        raise ConfigError(None, "y_scale", f"{y_scale!r} is not one of linear, logit")
    frame = canonical(curves)
    _require(frame, ("t_ms", "p_consistent"), "curves")
    keys = _resolve_hue(frame, hue)
    ax = ax if ax is not None else new_axes()
    has_ci = band and {"ci_low", "ci_high"} <= set(frame.columns)
    value_cols = ["p_consistent", *(["ci_low", "ci_high"] if has_ci else [])]
    for vals, sub in _groups(frame, keys):
        agg = mean_curve(sub, value_cols)
        t = agg["t_ms"].to_numpy(float)
        label = label_prefix + (label_for(keys, vals) if keys else "P(consistent)")
        style_kw: dict[str, Any] = {"color": colors[vals]} if colors and vals in colors else {}
        # steps=True draws the estimate as the right-continuous step function it is (exact between
        # grid points only as a lower bound); the default joins the grid points.
        if len(t) <= 40:  # sparse curves (e.g. probe offsets): show where the estimates are
            style_kw.update(marker="o", markersize=3)
        (line,) = ax.plot(t, agg["p_consistent"].to_numpy(float), label=label,
                          drawstyle="steps-post" if steps else "default", **style_kw)
        if has_ci:
            ax.fill_between(
                t, agg["ci_low"].to_numpy(float), agg["ci_high"].to_numpy(float),
                color=line.get_color(), alpha=0.2, linewidth=0, step="post" if steps else None,
            )
    if target is not None:
        ax.axhline(target, color="0.4", linestyle=":", linewidth=1.0, label=f"p = {target:g}")
    if log_x:
        _symlog_x(ax, frame["t_ms"].to_numpy(float), linthresh)
    else:
        ax.set_xlim(left=0)
    ax.set_xlabel("t since commit (ms)" + (", symlog scale" if log_x else ""))
    ax.set_ylabel("P(consistent read)")
    if y_scale == "logit":
        ax.set_yscale("logit", nonpositive="clip")
        p = frame["p_consistent"].to_numpy(float)
        inner = p[(p > 0) & (p < 1)]
        low = min(0.5, float(inner.min())) if inner.size else 0.5
        ax.set_ylim(low, 1 - 1e-5)
    else:
        ax.set_ylim(top=1.005)
    if title:
        ax.set_title(title)
    if legend and (keys or target is not None):
        ax.legend(loc="best")
    return ax


def plot_curves_facets(
    curves: pd.DataFrame,
    *,
    facet: str = "profile",
    hue: str | Sequence[str] | None = ("r", "w"),
    fig: Figure | None = None,
    ncols: int = 2,
    log_x: bool = True,
    target: float | None = 0.999,
    band: bool = True,
    y_scale: str = "linear",
) -> list[Axes]:
    """One panel of :func:`plot_curves` per value of ``facet`` (default: per profile, lines per (R, W)),
    each with its own y range, and one legend for the figure (colours are the same in every panel
    because every panel lists the same ``hue`` values in the same order)."""
    frame = canonical(curves)
    _require(frame, (facet,), "curves")
    values = list(pd.unique(frame[facet]))
    ncols = max(1, min(ncols, len(values)))
    nrows = math.ceil(len(values) / ncols)
    if fig is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.0 * ncols, 3.4 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    keys = _resolve_hue(frame, hue)
    # the same colour for the same hue value in every panel, even where a panel lacks some values
    colors = {vals: f"C{i % 10}" for i, (vals, _) in enumerate(_groups(frame, keys))} if keys else None
    for ax, value in zip(axes, values, strict=False):
        sub = frame[frame[facet] == value]
        plot_curves(sub, hue=keys, ax=ax, log_x=log_x, target=target, band=band, y_scale=y_scale,
                    title=label_for([facet], [value]), legend=False, colors=colors)
    for ax in axes[len(values):]:
        ax.set_visible(False)
    if len(values):
        handles, labels = axes[0].get_legend_handles_labels()
        by_label = dict(zip(labels, handles, strict=True))
        for ax in axes[1: len(values)]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                by_label.setdefault(lab, h)
        fig.legend(list(by_label.values()), list(by_label.keys()), loc="outside right upper")
    return list(axes[: len(values)])


# ---------------------------------------------------------------------------------------------
# k-staleness: CCDF of versions_behind


def plot_versions_ccdf(
    frame: pd.DataFrame,
    *,
    hue: str | Sequence[str] | None = "auto",
    ax: Axes | None = None,
    log_y: bool = True,
    weight: str | None = None,
) -> Axes:
    """P(versions_behind >= k) against k >= 1: the share of reads at least k versions stale.

    ``frame``: one row per read with ``versions_behind``, or one row per value with a weight column
    (``count`` or ``reads``, or ``weight=``). 1 - CCDF(k) is the k-staleness P(versions_behind < k).
    """
    data = canonical(frame)
    _require(data, ("versions_behind",), "versions")
    wcol = weight or next((c for c in ("count", "reads") if c in data.columns), None)
    keys = [k for k in _resolve_hue(data, hue) if k != "versions_behind"]
    ax = ax if ax is not None else new_axes()
    kmax = 1
    for vals, sub in _groups(data, keys):
        vb = sub["versions_behind"].to_numpy(float)
        wts = sub[wcol].to_numpy(float) if wcol else np.ones_like(vb)
        ok = np.isfinite(vb) & (vb >= 0)
        vb, wts = vb[ok].astype(int), wts[ok]
        total = wts.sum()
        if total <= 0:
            continue
        counts = np.bincount(vb, weights=wts)
        ccdf = counts[::-1].cumsum()[::-1] / total  # ccdf[k] = P(X >= k)
        k = np.arange(1, len(ccdf))
        p = ccdf[1:]
        if log_y:
            k, p = k[p > 0], p[p > 0]
        kmax = max(kmax, int(k.max()) if k.size else 1)
        ax.plot(k, p, marker="o", drawstyle="steps-post" if not log_y else "default",
                label=label_for(keys, vals) if keys else "reads")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("k (versions behind the newest committed write)")
    ax.set_ylabel("P(versions_behind ≥ k)")
    ax.set_xlim(0.5, max(kmax, 3) + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper right")
    return ax
