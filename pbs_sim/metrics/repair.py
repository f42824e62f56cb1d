"""Read-repair and anti-entropy metrics, pure functions of a run's history frames.

Owns: the read-repair rate (docs/design.md: repairs sent per read; fraction of reads that found at least one
stale responder), repairs applied and the repair rate per key; the read-repair mechanism's reporter.
Must not touch: SimPy, the simulator. Inputs: ``ops`` and ``repairs`` (``pbs_sim.sim.repair``) frames.

A read "found a stale responder" if the coordinator sent at least one repair for it: a responder
among the first R older than the answer, or a late response (within ``read_repair.window_ms``) older
than the newest seen — with read repair off nothing is compared, so these figures are 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import LazyModule
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


def _measured_reads(ops: pd.DataFrame, warmup_ms: float) -> pd.DataFrame:
    m = (ops["kind"].astype(str) == "read") & (ops["status"].astype(str) == "ok") & (ops["issued_at"] >= warmup_ms)
    return ops[m]


def repair_summary(ops: pd.DataFrame, repairs: pd.DataFrame | None, warmup_ms: float = 0.0) -> dict[str, float]:
    """``repairs_sent, repairs_applied, repairs_per_read, stale_responder_read_fraction, ...`` over measured reads."""
    reads = _measured_reads(ops, warmup_ms)
    n = len(reads)
    if repairs is None or repairs.empty or n == 0:
        return {"repairs_sent": 0.0, "repairs_applied": 0.0, "repairs_per_read": 0.0,
                "repairs_applied_per_read": 0.0, "stale_responder_read_fraction": 0.0,
                "late_repair_fraction": 0.0}
    rp = repairs[repairs["read_op"].isin(reads["op_id"])]
    return {
        "repairs_sent": float(len(rp)),
        "repairs_applied": float(rp["applied"].sum()),
        "repairs_per_read": len(rp) / n,
        "repairs_applied_per_read": float(rp["applied"].sum()) / n,
        "stale_responder_read_fraction": rp["read_op"].nunique() / n,
        "late_repair_fraction": float(rp["late"].mean()) if len(rp) else 0.0,
    }


def repairs_per_key(ops: pd.DataFrame, repairs: pd.DataFrame | None, warmup_ms: float = 0.0) -> pd.DataFrame:
    """Per key: measured reads, repairs sent and applied, and repairs per read."""
    reads = _measured_reads(ops, warmup_ms)
    out = reads.groupby("key").size().rename("reads").to_frame()
    if repairs is not None and not repairs.empty:
        rp = repairs[repairs["read_op"].isin(reads["op_id"])]
        g = rp.groupby("key")
        out = out.join(g.size().rename("repairs_sent")).join(g["applied"].sum().rename("repairs_applied"))
    else:
        out["repairs_sent"] = 0
        out["repairs_applied"] = 0
    out = out.fillna(0)
    out["repairs_per_read"] = out["repairs_sent"] / out["reads"]
    return out.reset_index()


class ReadRepairReporter:
    """Read-repair figures of a run (zeros with read repair off); ``repairs_per_key`` when it ran."""

    name = "read_repair"
    names = ("repairs_sent", "repairs_applied", "repairs_per_read", "repairs_applied_per_read",
             "stale_responder_read_fraction", "late_repair_fraction")

    def report(self, run: RunView) -> Report:
        repairs = run.table("repairs")
        out = repair_summary(run.ops, repairs, run.warmup_ms)
        frames = {} if repairs is None else {"repairs_per_key": repairs_per_key(run.ops, repairs, run.warmup_ms)}
        return out, frames


REPORTER = ReadRepairReporter()
