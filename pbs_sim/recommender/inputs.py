"""What a user hands the recommender and the explorer: a profile or a latency trace, and N ranges.

Owns: reading a measured latency trace (CSV) into a WARS ``Profile`` of empirical distributions,
resolving ``NAME|PATH|TRACE`` profile specs, and parsing ``3..7`` style N ranges — each mistake one
``ConfigError`` naming the option or file and the reason. Must not touch: computation.

A trace is a ``.csv`` file of one-way delays in milliseconds: either columns ``w, a, r, s`` (the
WARS delays: write, ack, read request, response; extra columns are ignored) or one single column
used for all four. Every replica's delay in every trial is then drawn independently from the
trace's samples (``empirical``: inverse CDF with linear interpolation), so per-operation structure
(a WAN's local replica) is not kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..distributions import Empirical
from ..errors import ConfigError
from ..profiles import Profile, get_profile

TRACE_SUFFIXES = (".csv",)
WARS_COLUMNS = ("w", "a", "r", "s")


def is_trace(spec: str) -> bool:
    return spec.strip().lower().endswith(TRACE_SUFFIXES)


def profile_from_trace(path: str | Path, name: str | None = None) -> Profile:
    """A profile of empirical W, A, R, S distributions from a CSV trace (see module docstring)."""
    import pandas as pd

    p = Path(path)
    where = str(path)
    if not p.exists():
        raise ConfigError(where, None, "trace file does not exist")
    try:
        frame = pd.read_csv(p)
    except Exception as exc:  # unreadable or not CSV: one line, no traceback
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(where, None, f"trace does not parse as CSV: {reason}") from None
    cols = {str(c).strip().lower(): c for c in frame.columns}
    wanted = [c for c in WARS_COLUMNS if c in cols]
    if wanted and len(wanted) < 4:
        missing = ", ".join(c for c in WARS_COLUMNS if c not in cols)
        raise ConfigError(where, None, f"trace has some of the columns w, a, r, s but not {missing}")
    if not wanted and frame.shape[1] != 1:
        raise ConfigError(
            where, None,
            f"trace needs columns w, a, r, s (or a single column), found {', '.join(map(str, frame.columns)) or 'none'}",
        )
    dists = {}
    for key in WARS_COLUMNS:
        col = cols[key] if wanted else frame.columns[0]
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(values) & frame[col].notna().to_numpy()
        if bad.any():
            row = int(np.nonzero(bad)[0][0]) + 2  # 1-based, after the header line
            raise ConfigError(where, str(col), f"line {row}: {frame[col].iloc[row - 2]!r} is not a number")
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise ConfigError(where, str(col), "no samples")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ConfigError(where, str(col), "delays must be finite and >= 0 ms")
        dists[key] = Empirical(str(p), None if not wanted else str(col), np.sort(values))
    return Profile(
        name or p.stem, dists["w"], dists["a"], dists["r"], dists["s"],
        description=f"measured trace {p.name} ({'w, a, r, s columns' if wanted else 'one column for all four delays'})",
    )


def resolve_profile(spec: str | Profile, source: str | None = "--profile") -> Profile:
    """A built-in name, ``exponential(...)``, a profile TOML file or a CSV trace."""
    if isinstance(spec, Profile):
        return spec
    if isinstance(spec, str) and is_trace(spec):
        return profile_from_trace(spec)
    return get_profile(spec, source=source)


_RANGE = re.compile(r"^\s*(\d+)\s*(?:(?:\.\.|-|:)\s*(\d+))?\s*$")


def parse_n_range(text: str | int, source: str = "--n") -> list[int]:
    """``"3..7"`` -> [3, 4, 5, 6, 7]; ``"3"``; ``"3,5,7"``. Empty or non-positive ranges are errors."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    out: list[int] = []
    for part in str(text).split(","):
        m = _RANGE.match(part)
        if not m:
            raise ConfigError(source, None, f"{part.strip()!r} is not N or a range like 3..7")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ConfigError(source, None, f"empty range {lo}..{hi} (the first N must be <= the last)")
        if lo < 1:
            raise ConfigError(source, None, "N must be >= 1")
        out.extend(range(lo, hi + 1))
    ns = sorted(set(out))
    if not ns:
        raise ConfigError(source, None, "empty range of N")
    if ns[-1] > 30:
        raise ConfigError(source, None, f"N up to 30 is supported here, got {ns[-1]}")
    return ns
