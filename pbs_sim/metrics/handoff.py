"""Metrics of sloppy quorums, hinted handoff and failure detection (issue 12).

Owns: the reporters of the ``failure_detector``, ``sloppy_quorum`` and ``hinted_handoff`` mechanisms
(``pbs_sim.sim.failure_detector``, ``pbs_sim.sim.sloppy``, ``pbs_sim.sim.handoff``). Must not touch:
SimPy, the simulator. Every reporter returns all its names, zeros (or nan for a delay nobody
measured) when its mechanism was off, so a sweep's columns never depend on which cells turned it on.

Definitions (measured window: operations issued at or after the warm-up; hints of those writes)
-------------------------------------------------------------------------------------------------
- ``sloppy_writes``: committed writes with at least one fallback among their acknowledgers;
  ``fallback_reads``: reads whose quorum included at least one fallback's response.
- ``read_availability`` / ``write_availability``: fraction of measured reads / writes that
  completed ok (docs/design.md's availability, per kind), so strict and sloppy cells of one sweep can be
  set side by side.
- ``hints_stored``, ``hints_refused`` (coordinator hints beyond ``max_window_ms``),
  ``hints_delivered`` (reached the owner), ``hints_expired`` (TTL), ``hints_lost`` (the holder lost
  its disk before delivery), ``hints_pending`` (none of these by the end of the run),
  ``hinted_copies_dropped`` (fallback copies deleted after hand-off).
- ``handoff_delay_ms_mean`` / ``_p99``: from the write's commit to the arrival of its hint on the
  owner (delivered hints of committed writes).
- ``handoff_bytes``: bytes of hand-off messages sent (``hint_bytes`` each, re-sends included).
- ``fd_false_suspicions`` / ``fd_view_changes``: from the detector's table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


def _measured_op_ids(run: RunView) -> np.ndarray:
    ops = run.ops
    return ops["op_id"].to_numpy(np.int64)[ops["issued_at"].to_numpy(float) >= run.warmup_ms]


class FailureDetectorReporter:
    name = "failure_detector"
    names = ("fd_false_suspicions", "fd_view_changes")

    def report(self, run: RunView) -> Report:
        t = run.table("detector")
        if t is None or t.empty:
            return {"fd_false_suspicions": 0.0, "fd_view_changes": 0.0}, {}
        reason = t["reason"].astype(str)
        return {"fd_false_suspicions": float((reason == "false-suspicion").sum()),
                "fd_view_changes": float(len(t))}, {}


class SloppyReporter:
    name = "sloppy_quorum"
    names = ("read_availability", "write_availability", "sloppy_writes", "fallback_reads")

    def report(self, run: RunView) -> Report:
        ops = run.ops
        measured = ops["issued_at"].to_numpy(float) >= run.warmup_ms
        kind = ops["kind"].astype(str).to_numpy()
        ok = (ops["status"].astype(str) == "ok").to_numpy()
        out: dict[str, float] = {}
        for k in ("read", "write"):
            m = measured & (kind == k)
            out[f"{k}_availability"] = float(ok[m].mean()) if m.any() else math.nan
        t = run.table("sloppy_ops")
        if t is None or t.empty:
            out.update(sloppy_writes=0.0, fallback_reads=0.0)
            return out, {}
        t = t[t["op_id"].isin(_measured_op_ids(run))]
        kinds = t["kind"].astype(str).to_numpy()
        out["sloppy_writes"] = float((kinds == "write").sum())
        out["fallback_reads"] = float((kinds == "read").sum())
        return out, {}


HINT_NAMES = ("hints_stored", "hints_refused", "hints_delivered", "hints_expired", "hints_lost", "hints_pending",
              "hinted_copies_dropped", "handoff_delay_ms_mean", "handoff_delay_ms_p99", "handoff_bytes")


def handoff_delays(hints: pd.DataFrame, ops: pd.DataFrame) -> pd.DataFrame:
    """One row per delivered hint of a committed write: ``op_id, holder, owner, key, version,
    commit_at, delivered_at, delay_ms``."""
    d = hints[hints["action"].astype(str) == "delivered"]
    commit = pd.Series(ops["completed_at"].to_numpy(float), index=ops["op_id"].to_numpy(np.int64))
    ok = pd.Series((ops["status"].astype(str) == "ok").to_numpy(), index=ops["op_id"].to_numpy(np.int64))
    ids = d["op_id"].to_numpy(np.int64)
    keep = ok.reindex(ids).fillna(False).to_numpy(bool)
    out = pd.DataFrame({
        "op_id": ids[keep], "holder": d["holder"].to_numpy()[keep], "owner": d["owner"].to_numpy()[keep],
        "key": d["key"].to_numpy()[keep], "version": d["version"].to_numpy()[keep],
        "commit_at": commit.reindex(ids[keep]).to_numpy(float), "delivered_at": d["at"].to_numpy(float)[keep],
    })
    out["delay_ms"] = out["delivered_at"] - out["commit_at"]
    return out


class HandoffReporter:
    name = "hinted_handoff"
    names = HINT_NAMES

    def report(self, run: RunView) -> Report:
        h = run.table("hints")
        if h is None or h.empty:
            out = {n: 0.0 for n in HINT_NAMES}
            out["handoff_delay_ms_mean"] = out["handoff_delay_ms_p99"] = math.nan
            return out, {}
        ids = _measured_op_ids(run)
        action = h["action"].astype(str)
        mine = h["op_id"].isin(ids).to_numpy()
        counts = {a: int(((action == a).to_numpy() & mine).sum()) for a in
                  ("stored", "refused", "delivered", "expired", "lost")}
        out = {f"hints_{a}": float(c) for a, c in counts.items()}
        out["hints_pending"] = float(counts["stored"] - counts["delivered"] - counts["expired"] - counts["lost"])
        out["hinted_copies_dropped"] = float((action == "dropped").sum())
        delays = handoff_delays(h[mine], run.ops)
        dm = delays["delay_ms"].to_numpy(float)
        out["handoff_delay_ms_mean"] = float(dm.mean()) if len(dm) else math.nan
        out["handoff_delay_ms_p99"] = float(np.quantile(dm, 0.99)) if len(dm) else math.nan
        out["handoff_bytes"] = float(h["bytes"].sum())
        return out, {"handoff_delays": delays}


FD_REPORTER = FailureDetectorReporter()
SLOPPY_REPORTER = SloppyReporter()
REPORTER = HandoffReporter()
