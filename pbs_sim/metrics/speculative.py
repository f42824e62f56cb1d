"""Speculative-retry metrics (issue 19), pure functions of a run's history frames.

Owns: the speculative-retry reporter (docs/design.md, "Speculative retry"): per measured read, the
fraction that passed the threshold without a quorum (``speculative_triggered_fraction``), that sent
an extra read (``speculative_read_fraction``; ``speculative_reads`` counts them), whose extra
replica answered before the read completed (``speculative_useful_fraction``), the stale-read
fraction of reads with and without an extra read, and the read latency p99 of each.
Must not touch: SimPy, the simulator. Inputs: ``ops``, ``speculative_reads``, ``speculative_useful``
(``pbs_sim.sim.speculative``) and the per-read outcomes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .._lazy import LazyModule
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = LazyModule("pandas")

NAMES = ("speculative_reads", "speculative_read_fraction", "speculative_triggered_fraction",
         "speculative_useful_fraction", "speculative_stale_read_fraction", "unspeculated_stale_read_fraction",
         "speculative_read_latency_p99_ms", "unspeculated_read_latency_p99_ms")


def speculative_summary(ops: pd.DataFrame, spec: pd.DataFrame | None, useful: pd.DataFrame | None,
                        outcomes: pd.DataFrame, warmup_ms: float) -> dict[str, float]:
    m = (ops["kind"].astype(str) == "read") & (ops["status"].astype(str) == "ok") & (ops["issued_at"] >= warmup_ms)
    reads = ops[m]
    n = len(reads)
    if spec is None or n == 0:
        return {k: 0.0 for k in NAMES}
    ids = reads["op_id"]
    trig = spec[spec["op_id"].isin(ids)]
    sent = trig[trig["sent"].astype(bool)]
    sent_ids = set(sent["op_id"].tolist())
    used = 0 if useful is None else int(useful["op_id"].isin(ids).sum())
    lat = (reads["completed_at"] - reads["issued_at"]).to_numpy(float)
    is_spec = ids.isin(sent_ids).to_numpy(bool)

    def p99(x: object) -> float:
        import numpy as np

        a = np.asarray(x, float)
        return float(np.quantile(a, 0.99)) if len(a) else math.nan

    out = {
        "speculative_reads": float(len(sent_ids)),
        "speculative_read_fraction": len(sent_ids) / n,
        "speculative_triggered_fraction": trig["op_id"].nunique() / n,
        "speculative_useful_fraction": used / n,
        "speculative_read_latency_p99_ms": p99(lat[is_spec]),
        "unspeculated_read_latency_p99_ms": p99(lat[~is_spec]),
        "speculative_stale_read_fraction": math.nan,
        "unspeculated_stale_read_fraction": math.nan,
    }
    if "op_id" in outcomes and "consistent" in outcomes and len(outcomes):
        s = outcomes["op_id"].isin(sent_ids)
        stale = ~outcomes["consistent"].astype(bool)
        out["speculative_stale_read_fraction"] = float(stale[s].mean()) if s.any() else math.nan
        out["unspeculated_stale_read_fraction"] = float(stale[~s].mean()) if (~s).any() else math.nan
    return out


class SpeculativeReporter:
    """Speculative-retry figures (zeros when it is off)."""

    name = "speculative_retry"
    names = NAMES

    def report(self, run: RunView) -> Report:
        return speculative_summary(run.ops, run.table("speculative_reads"), run.table("speculative_useful"),
                                   run.outcomes, run.warmup_ms), {}


REPORTER = SpeculativeReporter()
