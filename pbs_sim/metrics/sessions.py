"""Session guarantees per client: monotonic reads and read-your-writes.

Owns: per-read violation flags and their rates. Must not touch: SimPy, plotting.

Definitions (DESIGN.md), for a measured read (status ok, issued at or after ``warmup_ms``) by client c
of key k starting at ``start_at``:

* **monotonic-read violation**: it returns a version older than one c *already read* for k, i.e. than
  the newest version returned by c's earlier reads of k that completed at or before ``start_at``
  (reads still in flight when this one starts have not been "already read").
* **read-your-writes violation**: it returns a version older than c's own last committed write to k,
  i.e. the newest version among c's writes to k that committed at or before ``start_at``.

Warm-up operations count as history (what was read or written before) but are not measured. Rates
are violations per measured read; ``eligible`` counts the measured reads that had something to
violate (an earlier completed read, or an own committed write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .staleness import _is

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


def _prior_max(
    reads: pd.DataFrame, events: pd.DataFrame, at_col: str, value_col: str
) -> np.ndarray:
    """For each read, the max ``value_col`` of same (client, key) events with ``at_col`` <= its start."""
    if reads.empty or events.empty:
        return np.full(len(reads), np.nan)
    ev = events.sort_values(at_col, kind="stable").copy()
    ev["prior"] = ev.groupby(["client", "key"], sort=False)[value_col].cummax()
    left = reads[["client", "key", "start_at"]].assign(i=np.arange(len(reads))).sort_values("start_at", kind="stable")
    m = pd.merge_asof(
        left, ev[["client", "key", at_col, "prior"]], left_on="start_at", right_on=at_col,
        by=["client", "key"], direction="backward", allow_exact_matches=True,
    ).sort_values("i")
    return m["prior"].to_numpy(float)


def session_violations(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    """One row per measured read: ``op_id, client, key, start_at, version, prior_read_version,
    own_write_version, monotonic_read_violation, read_your_writes_violation`` (prior versions nan if none)."""
    is_read_ok = _is(ops["kind"], "read") & _is(ops["status"], "ok")
    all_reads = ops.loc[is_read_ok, ["op_id", "client", "key", "issued_at", "completed_at", "version"]]
    all_reads = all_reads.rename(columns={"issued_at": "start_at"})
    measured = all_reads[all_reads["start_at"].to_numpy() >= warmup_ms].reset_index(drop=True)
    writes = ops.loc[_is(ops["kind"], "write") & _is(ops["status"], "ok"), ["client", "key", "completed_at", "version"]]
    prior_read = _prior_max(measured, all_reads, "completed_at", "version")
    own_write = _prior_max(measured, writes, "completed_at", "version")
    v = measured["version"].to_numpy(float)
    return pd.DataFrame({
        "op_id": measured["op_id"].to_numpy(np.int64),
        "client": measured["client"].to_numpy(),
        "key": measured["key"].to_numpy(),
        "start_at": measured["start_at"].to_numpy(float),
        "version": measured["version"].to_numpy(np.int64),
        "prior_read_version": prior_read,
        "own_write_version": own_write,
        "monotonic_read_violation": np.nan_to_num(v < prior_read, nan=False).astype(bool),
        "read_your_writes_violation": np.nan_to_num(v < own_write, nan=False).astype(bool),
    })


def session_summary(violations: pd.DataFrame) -> dict[str, float]:
    """Rates per measured read and the eligible counts."""
    n = len(violations)
    mr = int(violations["monotonic_read_violation"].sum()) if n else 0
    ryw = int(violations["read_your_writes_violation"].sum()) if n else 0
    return {
        "monotonic_read_violation_rate": mr / n if n else float("nan"),
        "read_your_writes_violation_rate": ryw / n if n else float("nan"),
        "monotonic_read_violations": mr,
        "read_your_writes_violations": ryw,
        "monotonic_read_eligible": int(violations["prior_read_version"].notna().sum()) if n else 0,
        "read_your_writes_eligible": int(violations["own_write_version"].notna().sum()) if n else 0,
    }
