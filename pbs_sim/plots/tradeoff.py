"""The latency-versus-staleness trade-off of the PBS paper: 99.9th percentile read + write latency
against t-visibility, one marker per (profile, R, W).

Input frame: one row per configuration (or per replication: averaged) with ``profile``, ``r``,
``w`` and the metrics ``t_visibility_ms`` (t at the target probability, 99.9% by default),
``read_latency_p999_ms``, ``write_latency_p999_ms``; a sweep ``summary`` frame (``<metric>_mean``,
``<metric>_ci_low``, ``<metric>_ci_high``) works as is.
Must not touch: how any metric is computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .common import _fmt, _groups, _metric_col, _symlog_x, canonical, label_for
from .style import new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def tradeoff_frame(
    frame: pd.DataFrame,
    *,
    t_col: str = "t_visibility_ms",
    read_col: str = "read_latency_p999_ms",
    write_col: str = "write_latency_p999_ms",
    by: Sequence[str] = ("profile", "n", "r", "w"),
) -> pd.DataFrame:
    """The trade-off points for display: one row per ``by`` group with ``t_ms``, ``read_ms``,
    ``write_ms``, ``latency_ms`` (read + write) and, where the input has them, ``t_ci_low/high``.

    Replications (several rows per group) are averaged; a summary frame's ``_mean`` columns are used.
    """
    data = canonical(frame)
    cols = {"t_ms": _metric_col(data, t_col), "read_ms": _metric_col(data, read_col),
            "write_ms": _metric_col(data, write_col)}
    missing = [name for name, c in zip((t_col, read_col, write_col), cols.values(), strict=True) if c is None]
    if missing:
        raise ConfigError(None, "tradeoff", f"missing metric column(s) {', '.join(missing)}")
    keys = [k for k in by if k in data.columns]
    if "status" in data.columns:
        data = data[data["status"].fillna("ok") == "ok"]
    src = {new: data[old] for new, old in cols.items() if old is not None}
    base = t_col.removesuffix("_ms")
    for side in ("low", "high"):
        # across-replication CI of a sweep summary first, else the per-run CI (mean over reps)
        for c in (f"{t_col}_ci_{side}", f"{base}_ci_{side}_ms", f"{base}_ci_{side}_ms_mean"):
            if c in data.columns and data[c].notna().any():
                src[f"t_ci_{side}"] = data[c]
                break
    tidy = pd.DataFrame({**{k: data[k] for k in keys}, **src})
    out = tidy.groupby(keys, sort=True, dropna=False).mean(numeric_only=True).reset_index() if keys else tidy.mean().to_frame().T
    out["latency_ms"] = out["read_ms"] + out["write_ms"]
    return out


def plot_tradeoff(
    frame: pd.DataFrame,
    *,
    hue: str | None = "profile",
    t_col: str = "t_visibility_ms",
    read_col: str = "read_latency_p999_ms",
    write_col: str = "write_latency_p999_ms",
    target: float = 0.999,
    ax: Axes | None = None,
    annotate: bool = True,
    log: bool = True,
    marker: str | None = None,
    label_suffix: str = "",
) -> Axes:
    """Combined 99.9th-percentile read + write latency against t-visibility at ``target``.

    One marker per (profile, R, W), labelled ``R,W``; strict quorums (R + W > N) are hollow. x is
    symlog (strict quorums sit at t = 0), y log. Horizontal error bars show the t CI when given.
    Call twice on one ``ax`` to overlay two sources (e.g. ``marker="x", label_suffix=" (paper)"``);
    colours follow the sorted ``hue`` values, so the same profile gets the same colour both times.
    """
    pts = tradeoff_frame(frame, t_col=t_col, read_col=read_col, write_col=write_col)
    ax = ax if ax is not None else new_axes()
    keys = [hue] if hue and hue in pts.columns else []
    markers = "osD^vP*X"
    for i, (vals, sub) in enumerate(_groups(pts, keys)):
        label = label_for(keys, vals) if keys else None
        color = f"C{i % 10}"
        strict = (sub["r"] + sub["w"] > sub["n"]).to_numpy() if {"r", "w", "n"} <= set(sub.columns) else np.zeros(len(sub), bool)
        x = sub["t_ms"].to_numpy(float)
        y = sub["latency_ms"].to_numpy(float)
        m = marker or markers[i % len(markers)]
        label = f"{label}{label_suffix}" if label else None
        if marker in ("x", "+", "1", "2", "3", "4", "|", "_"):  # unfilled markers: no hollow variant
            ax.scatter(x, y, marker=m, color=color, label=label, zorder=4)
        else:
            ax.scatter(x[~strict], y[~strict], marker=m, color=color, label=label, zorder=3)
            ax.scatter(x[strict], y[strict], marker=m, facecolors="none", edgecolors=color, zorder=3,
                       label=None if (~strict).any() else label)
        if {"t_ci_low", "t_ci_high"} <= set(sub.columns):
            lo = np.clip(x - sub["t_ci_low"].to_numpy(float), 0, None)
            hi = np.clip(sub["t_ci_high"].to_numpy(float) - x, 0, None)
            ax.errorbar(x, y, xerr=np.vstack([lo, hi]), fmt="none", ecolor=color, elinewidth=0.8, capsize=2)
        if annotate and {"r", "w"} <= set(sub.columns):
            for xi, yi, r, w in zip(x, y, sub["r"], sub["w"], strict=True):
                ax.annotate(f"{_fmt(r)},{_fmt(w)}", (xi, yi), xytext=(4, 3), textcoords="offset points",
                            fontsize=7, color=color)
    if log:
        t = pts["t_ms"].to_numpy(float)
        _symlog_x(ax, t, None)
        positive = t[t > 0]
        linthresh = float(10 ** math.floor(math.log10(positive.min()))) if positive.size else 1.0
        ax.set_xlim(left=-0.4 * linthresh)  # keep t = 0 points off the spine
        ax.set_yscale("log")
    ax.set_xlabel(f"t-visibility at p = {target:g} (ms)" + (", symlog" if log else ""))
    ax.set_ylabel("99.9th pct read + write latency (ms)")
    if keys:
        ax.legend(loc="best", title="labels: R,W; hollow: R+W>N")
    return ax
