"""What every figure shares: column aliases, legend labels, grouping by hue, required columns and
the symlog t axis.

Owns: :data:`ALIASES` (display columns and the sweep-table names they also appear under),
:func:`canonical`, :func:`label_for`, :func:`rw_label` and the private helpers of the figure modules.
Must not touch: metrics, files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Display columns and the sweep-table names they may also appear under.
ALIASES: dict[str, tuple[str, ...]] = {
    "profile": ("profile", "latency_profile"),
    "r": ("r", "cluster_read_quorum", "read_quorum"),
    "w": ("w", "cluster_write_quorum", "write_quorum"),
    "n": ("n", "cluster_replication", "replication"),
}


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


def _symlog_x(ax: Axes, t: np.ndarray, linthresh: float | None) -> None:
    positive = t[t > 0]
    if linthresh is None:
        linthresh = float(10 ** math.floor(math.log10(positive.min()))) if positive.size else 1.0
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    ax.set_xlim(left=0)
