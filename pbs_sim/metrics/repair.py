"""Read-repair and anti-entropy metrics, pure functions of a run's history frames.

Owns: the read-repair rate (DESIGN.md: repairs sent per read; fraction of reads that found at least one
stale responder), repairs applied, repair rate per key, and anti-entropy exchange cost totals.
Must not touch: SimPy, the simulator. Inputs: ``ops``, ``repairs`` (``pbs_sim.sim.repair``) and
``anti_entropy`` (``pbs_sim.sim.anti_entropy``) frames.

A read "found a stale responder" if the coordinator sent at least one repair for it: a responder
among the first R older than the answer, or a late response (within ``read_repair.window_ms``) older
than the newest seen — with read repair off nothing is compared, so these figures are 0.
"""

from __future__ import annotations

import pandas as pd


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


def anti_entropy_summary(ae: pd.DataFrame | None) -> dict[str, float]:
    """Totals and means of the anti-entropy exchanges of a run."""
    if ae is None or ae.empty:
        return {"ae_exchanges": 0.0, "ae_aborted": 0.0, "ae_messages": 0.0, "ae_hashes_compared": 0.0,
                "ae_keys_sent": 0.0, "ae_keys_repaired": 0.0, "ae_bytes_sent": 0.0, "ae_exchange_ms_mean": 0.0}
    ok = ae["status"].astype(str) == "ok"
    return {
        "ae_exchanges": float(len(ae)),
        "ae_aborted": float((ae["status"].astype(str) == "aborted").sum()),
        "ae_messages": float(ae["messages"].sum()),
        "ae_hashes_compared": float(ae["hashes_compared"].sum()),
        "ae_keys_sent": float(ae["keys_sent"].sum()),
        "ae_keys_repaired": float(ae["keys_repaired"].sum()),
        "ae_bytes_sent": float(ae["bytes_sent"].sum()),
        "ae_exchange_ms_mean": float(ae.loc[ok, "duration_ms"].mean()) if ok.any() else 0.0,
    }


def extension_metrics(
    frames: dict[str, pd.DataFrame], meta: dict[str, object], outcomes: pd.DataFrame, *, warmup_ms: float,
    n: int, r: int, w: int, non_expanding: bool, end_at: float, max_causes_without_faults: int = 20_000,
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Summary scalars and frames of faults, read repair, anti-entropy, durability and stale-read causes.

    Always returns every summary name (zeros where a mechanism is off). Durability is replayed when
    faults, read repair or anti-entropy ran; stale-read causes too, or when there are at most
    ``max_causes_without_faults`` stale reads (the per-read classification is a Python loop).
    """
    from . import causes as causes_m
    from . import durability as dur_m

    ops = frames["ops"]
    out: dict[str, float] = {}
    extra: dict[str, pd.DataFrame] = {}
    out.update(repair_summary(ops, frames.get("repairs"), warmup_ms))
    out.update(anti_entropy_summary(frames.get("anti_entropy")))
    faults = frames.get("faults")
    for action, name in (("crash", "fault_crashes"), ("wipe", "fault_disk_losses")):
        out[name] = float((faults["action"].astype(str) == action).sum()) if faults is not None else 0.0
    active = any(meta.get(k) for k in ("faults", "read_repair", "anti_entropy"))
    if active:
        d = dur_m.durability(frames, n, end_at)
        s = dur_m.summary(frames, n, end_at, start_at=warmup_ms)
        out.update(s)
        extra["lost_writes"] = d["writes"][d["writes"]["lost"]].reset_index(drop=True)
        extra["durability_by_decile"] = dur_m.by_decile(frames, d, n, end_at)
        extra["under_replication"] = d["exposure"]
        if frames.get("repairs") is not None:
            extra["repairs_per_key"] = repairs_per_key(ops, frames.get("repairs"), warmup_ms)
    else:
        out.update({"lost_writes": 0.0, "lost_write_fraction": 0.0, "keys_lost": 0.0})
    n_stale = int((~outcomes["consistent"].astype(bool)).sum()) if len(outcomes) else 0
    if active or n_stale <= max_causes_without_faults:
        c = causes_m.stale_read_causes(outcomes, ops, frames["applies"], faults, n, r, w,
                                       dropped_writes=frames.get("dropped_writes"), non_expanding=non_expanding)
        counts = causes_m.cause_counts(c, len(outcomes))
        extra["stale_reads"] = c
        extra["stale_causes"] = counts
        for cause, per_read in zip(counts["cause"], counts["per_read"].to_numpy(float), strict=True):
            out[f"stale_{str(cause).replace('-', '_')}_per_read"] = float(per_read)
    return out, extra
