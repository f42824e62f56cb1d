"""Plots: tidy DataFrames in, matplotlib Axes out.

Owns: the figures pbs_sim draws (t-visibility curves with confidence bands, the CCDF of
``versions_behind``, the latency-versus-staleness trade-off of the PBS paper, durability plots), the
shipped style (``pbs_sim.mplstyle``, applied only inside :func:`style`), reading a results directory
for display (:func:`load_results_dir`) and writing PNG/SVG atomically (:func:`save_figure`).

Must not touch: how any metric is computed. Functions here only select, group, average over
replications and reshape what the engines, metrics and sweeps already produced. Importing this module
changes no global matplotlib state and selects no backend: figures made without an ``ax`` are bare
``matplotlib.figure.Figure`` objects (no pyplot), which render headless; only the CLI calls
``matplotlib.use("Agg")``.

Input frames (column names as the sweep and engines write them):

* **curves** — ``t_ms, p_consistent, ci_low, ci_high`` plus the columns that tell lines apart
  (``profile``, ``r``, ``w``, ``n``, ``engine``, ... ; sweep names such as ``latency_profile`` and
  ``cluster_read_quorum`` are understood too). Several replications of one line are averaged
  point-wise (probability and CI bounds alike) for display, each read as a step function on a
  common grid (:func:`pbs_sim.metrics.curves.mean_curve`, which the sweep's ``curves_summary`` uses too).
* **versions** — ``versions_behind`` (integer >= 0), one row per read, or one row per value with a
  weight column ``count`` (or ``reads``); optional hue columns.
* **trade-off** — one row per configuration (or per replication: averaged) with ``profile``, ``r``,
  ``w`` and the metrics ``t_visibility_ms`` (t at the target probability, 99.9% by default),
  ``read_latency_p999_ms``, ``write_latency_p999_ms``; a sweep ``summary`` frame
  (``<metric>_mean``, ``<metric>_ci_low``, ``<metric>_ci_high``) works as is.
* **durability** — see :func:`plot_durability`.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .io import atomic_path, read_table
from .metrics.curves import mean_curve

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE_PATH = Path(__file__).with_name("pbs_sim.mplstyle")

#: Display columns and the sweep-table names they may also appear under.
ALIASES: dict[str, tuple[str, ...]] = {
    "profile": ("profile", "latency_profile"),
    "r": ("r", "cluster_read_quorum", "read_quorum"),
    "w": ("w", "cluster_write_quorum", "write_quorum"),
    "n": ("n", "cluster_replication", "replication"),
}

FIGURE_FORMATS = ("png", "svg")

#: Columns a durability frame's y axis is recognised by (``pbs-sim plot --kind durability``).
DURABILITY_METRIC_PREFIXES = ("lost_write", "under_replicat", "keys_lost", "lww_loss", "mttdl")
#: Preferred x columns for durability plots, in order.
DURABILITY_X = ("popularity_decile", "decile", "anti_entropy_interval_ms", "anti_entropy_interval")


# ---------------------------------------------------------------------------------------------
# Style, figures, saving


@contextlib.contextmanager
def style(overrides: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Apply the shipped ``pbs_sim.mplstyle`` (plus ``overrides``) inside a ``with`` block only."""
    from matplotlib import style as mpl_style

    with mpl_style.context([str(STYLE_PATH), dict(overrides or {})]):
        yield


def new_axes(figsize: tuple[float, float] | None = None) -> Axes:
    """One Axes on a fresh pyplot-free Figure (rcParams, e.g. :func:`style`, apply as usual)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize).add_subplot()


def save_figure(fig: Figure | Axes, path: str | Path, formats: Sequence[str] | None = None) -> list[Path]:
    """Write ``fig`` atomically; the suffix of ``path`` (``.png``/``.svg``) picks the format.

    With ``formats`` (e.g. ``("png", "svg")``) one file per format is written beside ``path`` (its
    suffix replaced). Returns the paths written. SVGs carry no date, so reruns diff cleanly.
    """
    figure = _figure_of(fig)
    target = Path(path)
    if formats is None:
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in FIGURE_FORMATS:
            raise ConfigError(None, "--out", f"{str(target)!r}: the extension must be .png or .svg")
        plan = [(target, fmt)]
    else:
        bad = [f for f in formats if f not in FIGURE_FORMATS]
        if bad:
            raise ConfigError(None, "formats", f"unknown figure format(s) {', '.join(bad)}; use png or svg")
        stem = target.with_suffix("") if target.suffix.lower().lstrip(".") in FIGURE_FORMATS else target
        plan = [(stem.with_name(f"{stem.name}.{f}"), f) for f in formats]
    written = []
    for out, fmt in plan:
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
        with atomic_path(out) as tmp:
            figure.savefig(tmp, format=fmt, metadata=metadata)
        written.append(out)
    return written


def _figure_of(obj: Figure | Axes) -> Figure:
    fig = obj.get_figure() if hasattr(obj, "get_figure") and not hasattr(obj, "savefig") else obj
    if fig is None or not hasattr(fig, "savefig"):
        raise TypeError("expected a matplotlib Figure or Axes")
    return fig  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Column helpers and labels


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``profile, r, w, n`` present when any alias of theirs is (sweep names kept)."""
    out = frame.copy()
    for name, aliases in ALIASES.items():
        if name in out.columns:
            continue
        for alias in aliases:
            if alias in out.columns:
                out[name] = out[alias]
                break
    return out


def _metric_col(frame: pd.DataFrame, name: str) -> str | None:
    """``name`` itself, or a summary frame's ``name_mean``."""
    for c in (name, f"{name}_mean"):
        if c in frame.columns:
            return c
    return None


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, float | np.floating):
        return f"{float(v):g}"
    return str(v)


def label_for(keys: Sequence[str], values: Sequence[Any]) -> str:
    """A legend label: ``lnkd-ssd``, ``R=1, W=2``, ``lnkd-ssd, R=1, W=2``, ``engine=predict``."""
    parts = []
    for k, v in zip(keys, values, strict=True):
        if k in ("profile", "latency_profile"):
            parts.append(str(v))
        elif k in ("r", "w", "n"):
            parts.append(f"{k.upper()}={_fmt(v)}")
        elif k in ("engine", "source", "label", "series"):
            parts.append(str(v))
        else:
            parts.append(f"{k}={_fmt(v)}")
    return ", ".join(parts)


def rw_label(r: Any, w: Any) -> str:
    return f"R={_fmt(r)}, W={_fmt(w)}"


def _auto_hue(frame: pd.DataFrame, candidates: Sequence[str] = ("profile", "engine", "n", "r", "w")) -> list[str]:
    keys = [c for c in candidates if c in frame.columns and frame[c].nunique(dropna=False) > 1]
    if ("r" in keys or "w" in keys) and {"r", "w"} <= set(frame.columns):
        keys = [k for k in keys if k not in ("r", "w")] + ["r", "w"]  # always label "R=.., W=.."
    return keys


def _resolve_hue(frame: pd.DataFrame, hue: str | Sequence[str] | None) -> list[str]:
    if hue is None:
        return []
    if isinstance(hue, str):
        return _auto_hue(frame) if hue == "auto" else [hue]
    return list(hue)


def _groups(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[tuple[Any, ...], pd.DataFrame]]:
    if not keys:
        yield (), frame
        return
    for vals, sub in frame.groupby(keys, sort=True, dropna=False):
        yield (vals if isinstance(vals, tuple) else (vals,)), sub


def _require(frame: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ConfigError(None, what, f"missing column(s) {', '.join(missing)}; have {', '.join(map(str, frame.columns))}")


# ---------------------------------------------------------------------------------------------
# t-visibility curves


def _symlog_x(ax: Axes, t: np.ndarray, linthresh: float | None) -> None:
    positive = t[t > 0]
    if linthresh is None:
        linthresh = float(10 ** math.floor(math.log10(positive.min()))) if positive.size else 1.0
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.set_xlim(left=0)


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


# ---------------------------------------------------------------------------------------------
# Latency versus staleness


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


# ---------------------------------------------------------------------------------------------
# Durability


def plot_durability(
    frame: pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    hue: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    log_x: bool | None = None,
    log_y: bool = False,
) -> Axes:
    """A durability metric against key popularity or against the anti-entropy interval.

    Input frame (one row per point; several rows per point, e.g. replications, are averaged):

    * ``x`` — ``popularity_decile`` or ``decile`` (1 = the 10% most-accessed keys ... 10 = the 10%
      least-accessed, as ``pbs_sim.metrics.durability.by_decile`` writes it), or
      ``anti_entropy_interval_ms`` (mean time between a node's anti-entropy exchanges), or a sweep's
      ``anti_entropy_interval`` column of distribution specs (plotted at each spec's mean, in ms),
      or any numeric column. Default: the first of those present.
    * ``y`` — the metric, e.g. ``lost_writes`` (count), ``lost_write_fraction`` (of committed
      writes), ``under_replication_exposure`` (time-weighted keys below N copies); summary names
      ``<y>_mean`` are accepted. Default: the first column starting with ``lost_write``,
      ``under_replication``, ``lww_loss`` or ``mttdl``.
    * optional ``<y>_ci_low`` / ``<y>_ci_high`` (drawn as error bars) and hue columns such as
      ``anti_entropy_mode`` or ``read_repair_mode``.
    """
    data = canonical(frame)
    x = x or next((c for c in DURABILITY_X if c in data.columns), None)
    if x is None or x not in data.columns:
        raise ConfigError(None, "durability", f"no x column; expected one of {', '.join(DURABILITY_X)}")
    y = y or durability_metric(data)
    if y is None:
        raise ConfigError(None, "durability", "no durability metric column (lost_write*, under_replication*, ...)")
    ycol = _metric_col(data, y)
    if ycol is None:
        raise ConfigError(None, "durability", f"missing column {y!r}")
    base = y.removesuffix("_mean")
    if not pd.api.types.is_numeric_dtype(data[x]):
        data = data.assign(**{x: _spec_means(data[x], x)})
    keys = _resolve_hue(data, hue) if hue != "auto" else _auto_hue(
        data, ("mode", "anti_entropy_mode", "read_repair_mode", "profile", "engine"))
    ci = [c for c in (f"{base}_ci_low", f"{base}_ci_high") if c in data.columns]
    ax = ax if ax is not None else new_axes()
    for vals, sub in _groups(data, keys):
        agg = sub.groupby(x, sort=True)[[ycol, *ci]].mean(numeric_only=True).reset_index()
        xv = agg[x].to_numpy(float)
        yv = agg[ycol].to_numpy(float)
        (line,) = ax.plot(xv, yv, marker="o", label=label_for(keys, vals) if keys else base)
        if len(ci) == 2:
            err = np.vstack([np.clip(yv - agg[ci[0]].to_numpy(float), 0, None),
                             np.clip(agg[ci[1]].to_numpy(float) - yv, 0, None)])
            ax.errorbar(xv, yv, yerr=err, fmt="none", ecolor=line.get_color(), elinewidth=0.8, capsize=2)
    xs = data[x].to_numpy(float)
    if log_x is None:
        log_x = (x.endswith("_ms") or x == "anti_entropy_interval") and bool(np.all(xs > 0))
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if "decile" in x:
        ax.set_xticks(sorted(set(int(v) for v in xs if np.isfinite(v))))
        ax.set_xlabel("key popularity decile (1 = most accessed)")
    elif x == "anti_entropy_interval":
        ax.set_xlabel("mean anti-entropy interval (ms)")
    else:
        ax.set_xlabel(x.replace("_", " ").replace(" ms", " (ms)"))
    ax.set_ylabel(base.replace("_", " "))
    if keys:
        ax.legend(loc="best")
    return ax


def _spec_means(col: pd.Series, name: str) -> pd.Series:
    """Distribution specs (a sweep's ``anti_entropy_interval`` column) -> their means, for an x axis."""
    from .distributions import parse
    from .errors import DistributionError

    def one(v: Any) -> float:
        try:
            return float(v)
        except (TypeError, ValueError):
            pass
        try:
            return float(parse(str(v)).mean)
        except DistributionError as exc:
            raise ConfigError(None, name, f"{v!r} is neither a number nor a distribution spec: {exc.reason}") from None

    return col.map(one).astype(float)


def durability_metric(frame: pd.DataFrame) -> str | None:
    """The first column that names a durability metric (without a ``_mean``/CI suffix)."""
    for c in frame.columns:
        name = str(c)
        if name.startswith(DURABILITY_METRIC_PREFIXES) and not name.endswith(("_ci_low", "_ci_high")):
            return name.removesuffix("_mean")
    return None


# ---------------------------------------------------------------------------------------------
# Reading a results directory for display


@dataclass
class ResultsDir:
    """The tables of a ``pbs-sim sweep`` or ``pbs-sim run`` output directory, ready to plot."""

    path: Path
    kind: str  # "sweep" (results + curves + summary) or "run" (one summary row + curve)
    results: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def metrics(self) -> pd.DataFrame | None:
        """Per-configuration metrics: the sweep summary if any, else per-replication results."""
        return self.summary if self.summary is not None else self.results


def _find_table(directory: Path, stem: str) -> Path | None:
    for ext in ("parquet", "csv"):
        p = directory / f"{stem}.{ext}"
        if p.is_file():
            return p
    return None


def _read(directory: Path, stem: str) -> pd.DataFrame | None:
    p = _find_table(directory, stem)
    if p is None:
        return None
    try:
        return read_table(p)
    except Exception as exc:  # a corrupt or empty table is a user-facing problem, not a crash
        raise ConfigError(str(p), None, f"cannot read table: {exc}".splitlines()[0]) from None


def _scenario_in(obj: Any) -> dict[str, Any] | None:
    """The first nested dict that looks like a scenario (has cluster and latency tables)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("cluster"), dict) and isinstance(obj.get("latency"), dict):
            return obj
        for v in obj.values():
            found = _scenario_in(v)
            if found is not None:
                return found
    return None


def _run_params(manifest: dict[str, Any]) -> dict[str, Any]:
    sc = _scenario_in(manifest)
    if sc is None:
        return {}
    cl, lat = sc["cluster"], sc["latency"]
    out = {"profile": lat.get("profile"), "r": cl.get("read_quorum"), "w": cl.get("write_quorum"),
           "n": cl.get("replication")}
    return {k: v for k, v in out.items() if v is not None}


def _swept_columns(manifest: dict[str, Any]) -> list[str]:
    """Result columns of the swept keys named in a sweep manifest (dotted -> underscores)."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "grid" and isinstance(v, dict):
                    found.extend(str(key).replace(".", "_") for key in v)
                elif k in ("zip", "zipped") and isinstance(v, list):
                    for z in v:
                        if isinstance(z, dict) and isinstance(z.get("keys"), list):
                            found.extend(str(key).replace(".", "_") for key in z["keys"])
                else:
                    walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(manifest)
    return list(dict.fromkeys(found))


def load_results_dir(path: str | Path) -> ResultsDir:
    """Read a results directory: sweep (``results``, ``curves``, ``summary``, ``manifest.json``) or
    single run (``summary`` + ``curve``); tables may be CSV or Parquet. Extra tables found there
    (``versions_behind``, ``durability``) land in ``frames``. Curves get their configuration's
    parameter columns (profile, r, w, n, engine, swept keys) joined on ``cell``; a curve's own count
    column ``n`` is renamed ``count`` so it cannot be confused with N.
    """
    d = Path(path)
    if not d.exists():
        raise ConfigError(str(d), None, "no such results directory")
    if not d.is_dir():
        raise ConfigError(str(d), None, "not a directory; expected a pbs-sim sweep or run output directory")
    manifest: dict[str, Any] = {}
    mpath = d / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(str(mpath), None, f"not valid JSON: {exc}") from None
    results, summary = _read(d, "results"), _read(d, "summary")
    curves = _read(d, "curves")
    frames = {stem: t for stem in ("versions_behind", "durability", "by_decile") if (t := _read(d, stem)) is not None}
    if curves is not None or results is not None:
        kind = "sweep"
        if curves is not None:
            curves = curves.rename(columns={"n": "count"}) if "n" in curves.columns else curves
            if results is not None and "cell" in curves.columns and "cell" in results.columns:
                params = canonical(results)
                keep = [c for c in ("profile", "r", "w", "n", "engine", *_swept_columns(manifest))
                        if c in params.columns and c not in curves.columns]
                per_cell = params.drop_duplicates("cell")[["cell", *dict.fromkeys(keep)]]
                curves = curves.merge(per_cell, on="cell", how="left")
    else:
        curve = _read(d, "curve")
        if curve is None and summary is None and not frames:
            raise ConfigError(
                str(d), None,
                "no results here: expected results/curves/summary tables (pbs-sim sweep), summary + curve (pbs-sim run), "
                "versions_behind, durability or by_decile tables",
            )
        kind = "run"
        run_params = _run_params(manifest)
        if curve is not None:
            curves = curve.rename(columns={"n": "count"}) if "n" in curve.columns else curve
            for k, v in run_params.items():
                if k not in curves.columns:
                    curves[k] = v
        if summary is not None:
            summary = canonical(summary)
            for k, v in run_params.items():
                if k not in summary.columns:
                    summary[k] = v
    return ResultsDir(d, kind, canonical(results) if results is not None else None,
                      canonical(summary) if summary is not None else None,
                      canonical(curves) if curves is not None else None, manifest, frames)


# ---------------------------------------------------------------------------------------------
# One figure per kind (what `pbs-sim plot` draws)

KINDS = ("curves", "tradeoff", "durability", "versions")


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
    raise ConfigError(None, "--kind", f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
