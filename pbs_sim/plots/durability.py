"""Durability figures: a durability metric against key popularity or the anti-entropy interval.

Owns: which columns a durability frame is recognised by (:data:`DURABILITY_METRIC_PREFIXES`,
:data:`DURABILITY_X`, :func:`durability_metric`) and :func:`plot_durability`.
Must not touch: how any metric is computed (``pbs_sim.metrics.durability`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .common import _auto_hue, _groups, _metric_col, _resolve_hue, canonical, label_for
from .style import new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Columns a durability frame's y axis is recognised by (``pbs-sim plot --kind durability``).
DURABILITY_METRIC_PREFIXES = ("lost_write", "under_replicat", "keys_lost", "lww_loss", "mttdl")
#: Preferred x columns for durability plots, in order.
DURABILITY_X = ("popularity_decile", "decile", "anti_entropy_interval_ms", "anti_entropy_interval")


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
    from ..distributions import parse
    from ..errors import DistributionError

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
