"""Staleness per (write datacenter, read datacenter) pair: one P(consistent at t) curve per pair with
its 95 % band (the ``dc-pairs`` kind of ``pbs-sim plot``; issue 19, the Cosmos DB view).

Input (one row per pair and t): ``write_dc``, ``read_dc``, ``t_ms``, ``p_consistent`` and, for the
band, ``ci_low`` / ``ci_high``. Both engines write this shape: the simulator's ``dc_pairs`` table of a
run (``pbs_sim.metrics.dc_pairs``: binned or probe-offset curves, with ``n`` and ``t_high_ms``) and
``pbs-sim predict --scenario FILE --out TABLE`` on a topology (the predictor's curve per pair,
``pbs_sim.cli.predict_dc``). Several replications of one pair (``cell`` / ``rep`` columns) are averaged
as step functions by :func:`pbs_sim.metrics.curves.mean_curve`, like every other curve figure.
Must not touch: how any metric is computed, files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ConfigError
from ..metrics.curves import mean_curve
from .common import _symlog_x
from .style import new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PAIR_COLUMNS = ("write_dc", "read_dc", "t_ms", "p_consistent")
LINESTYLES = ("-", "--", ":", "-.")


def pair_label(write_dc: Any, read_dc: Any) -> str:
    """``dc1 → dc2``; a flat cluster's one pair ``("", "")`` is ``one datacenter``."""
    w, r = ("" if pd.isna(write_dc) else str(write_dc)), ("" if pd.isna(read_dc) else str(read_dc))
    if not w and not r:
        return "one datacenter"
    return f"write {w or '?'} → read {r or '?'}"


def plot_dc_pairs(frame: pd.DataFrame, *, ax: Axes | None = None, log_x: bool = True, band: bool = True,
                  target: float | None = 0.999, title: str | None = None) -> Axes:
    """P(consistent read) against t, one line per (write DC, read DC) pair in the order the pairs first
    appear, coloured per pair, one line style per write DC; a 95 % band where ``ci_low`` / ``ci_high``
    are given; ``target`` a horizontal guide."""
    missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(None, "dc-pairs", f"missing column(s) {', '.join(missing)}; have "
                                            f"{', '.join(map(str, frame.columns))} (expected a dc_pairs table or "
                                            "the --out table of `pbs-sim predict --scenario` on a topology)")
    if frame.empty:
        raise ConfigError(None, "dc-pairs", "the table has no rows")
    data = frame.copy()
    for col in ("write_dc", "read_dc"):  # a flat run's "" reads back from CSV as a missing value
        data[col] = data[col].astype(object).where(data[col].notna(), "").astype(str)
    has_ci = band and {"ci_low", "ci_high"} <= set(data.columns)
    cols = ["p_consistent", *(["ci_low", "ci_high"] if has_ci else [])]
    ax = ax if ax is not None else new_axes()
    writers = list(dict.fromkeys(data["write_dc"].tolist()))
    for i, ((w, r), sub) in enumerate(data.groupby(["write_dc", "read_dc"], sort=False)):
        agg = mean_curve(sub.drop(columns=["write_dc", "read_dc"]), cols)
        t = agg["t_ms"].to_numpy(float)
        style: dict[str, Any] = {"color": f"C{i % 10}", "linestyle": LINESTYLES[writers.index(w) % len(LINESTYLES)]}
        if len(t) <= 40:
            style.update(marker="o", markersize=3)
        (line,) = ax.plot(t, agg["p_consistent"].to_numpy(float), label=pair_label(w, r), **style)
        if has_ci:
            ax.fill_between(t, agg["ci_low"].to_numpy(float), agg["ci_high"].to_numpy(float),
                            color=line.get_color(), alpha=0.15, linewidth=0)
    if target is not None:
        ax.axhline(target, color="0.4", linestyle=":", linewidth=1.0, label=f"p = {target:g}")
    if log_x:
        _symlog_x(ax, data["t_ms"].to_numpy(float), None)
    else:
        ax.set_xlim(left=0)
    ax.set_ylim(top=1.005)
    ax.set_xlabel("t since commit (ms)" + (", symlog scale" if log_x else ""))
    ax.set_ylabel("P(consistent read)")
    ax.set_title(title if title is not None else "P(consistent at t) per (write DC, read DC)")
    ax.legend(loc="best", fontsize="small")
    return ax


def figure_dc_pairs(frame: pd.DataFrame) -> Figure:
    """The ``dc-pairs`` figure: one panel of :func:`plot_dc_pairs`, wider with many pairs."""
    from matplotlib.figure import Figure

    pairs = len(frame[["write_dc", "read_dc"]].drop_duplicates()) if {"write_dc", "read_dc"} <= set(frame.columns) else 1
    fig = Figure(figsize=(6.4 if pairs <= 4 else 8.0, 4.2 if pairs <= 4 else 5.2))
    plot_dc_pairs(frame, ax=fig.add_subplot(), target=0.999)
    return fig


__all__ = ["PAIR_COLUMNS", "figure_dc_pairs", "pair_label", "plot_dc_pairs"]
