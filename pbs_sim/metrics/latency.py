"""Operation latency percentiles.

Owns: read and write latency (``completed_at - issued_at`` of measured operations with status ok;
for a write that is its commit latency), summarised as p50, p99 and p99.9 — order statistics
(``numpy`` "inverted_cdf": the smallest sample with at least q of the samples at or below it, as the
analytic engine reports them) — plus the mean and count; and operation outcome counts
(availability). Must not touch: SimPy, plotting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

QUANTILES = (("p50_ms", 0.5), ("p99_ms", 0.99), ("p999_ms", 0.999))


def _is(col: pd.Series, name: str) -> np.ndarray:
    return np.asarray(col == name, dtype=bool)


def latencies(ops: pd.DataFrame, kind: str, warmup_ms: float = 0.0) -> np.ndarray:
    """Latencies (ms) of measured ``kind`` ("read" or "write") operations that succeeded."""
    m = _is(ops["kind"], kind) & _is(ops["status"], "ok") & (ops["issued_at"].to_numpy() >= warmup_ms)
    return (ops["completed_at"].to_numpy(float) - ops["issued_at"].to_numpy(float))[m]


def latency_table(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    """One row per kind: ``kind, n, mean_ms, p50_ms, p99_ms, p999_ms`` (nan when there is no sample)."""
    rows = []
    for kind in ("read", "write"):
        x = latencies(ops, kind, warmup_ms)
        row: dict[str, object] = {"kind": kind, "n": int(x.size), "mean_ms": float(x.mean()) if x.size else np.nan}
        for name, q in QUANTILES:
            row[name] = float(np.quantile(x, q, method="inverted_cdf")) if x.size else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def outcome_counts(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    """Measured operations by kind and status: ``kind, status, count``."""
    m = ops["issued_at"].to_numpy() >= warmup_ms
    sub = ops.loc[m, ["kind", "status"]]
    counts = sub.value_counts().rename("count").reset_index()
    counts = counts[counts["count"] > 0].astype({"kind": str, "status": str})
    return counts.sort_values(["kind", "status"]).reset_index(drop=True)


def availability(ops: pd.DataFrame, warmup_ms: float = 0.0) -> float:
    """Fraction of measured operations that succeeded (gathered R or W replies before the timeout)."""
    m = ops["issued_at"].to_numpy() >= warmup_ms
    total = int(m.sum())
    return float(_is(ops["status"], "ok")[m].sum() / total) if total else float("nan")
