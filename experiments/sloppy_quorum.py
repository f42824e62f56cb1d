"""Driver for experiments/sloppy_quorum.toml: run the sweep, then tabulate and plot; plus a Jepsen-like run.

Writes the sweep's own tables (results.csv, summary.csv, ...) into ``--out`` (default
results/sloppy_quorum) plus ``sloppy_quorum.csv`` (per cell: design, partition length, crash MTTF,
read / write availability, stale reads and their sloppy-quorum share, lost writes, hints and
hand-off delay, with 95 % t intervals over replications) and ``sloppy_quorum.png``; and
``jepsen_riak.csv``: the setting of Jepsen's Riak run (5 nodes, N = 3, R = W = quorum, last write
wins, one key, clients on every node, a partition {n1, n2} | {n3, n4, n5}) strict vs sloppy, with
the fraction of acknowledged writes a read-modify-write client would lose (see :func:`jepsen_riak`).

Usage: ``python experiments/sloppy_quorum.py [--reps N] [--duration-ms MS] [--workers W] [--out DIR]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.simulation import simulate
from pbs_sim.sweep.experiment import arguments, cell_table, run_experiment

HERE = Path(__file__).resolve().parent
SPEC = HERE / "sloppy_quorum.toml"
METRICS = (
    "write_availability", "read_availability", "stale_read_fraction", "stale_sloppy_quorum_per_read",
    "lost_writes", "lost_write_fraction", "sloppy_writes", "fallback_reads", "hints_stored", "hints_delivered",
    "hints_lost", "hints_refused", "handoff_delay_ms_mean", "handoff_bytes", "committed_writes",
)


def design(sc: Any) -> str:
    if sc.cluster.sloppy_quorum:
        return "sloppy + fallback hints"
    if sc.hinted_handoff.store == "coordinator":
        return "coordinator hints + ANY" if sc.cluster.write_any else "coordinator hints"
    return "strict"


def run(reps: int | None = None, duration_ms: float | None = None, workers: int = 1,
        out: str | Path | None = None) -> pd.DataFrame:
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "sloppy_quorum"
    spec, res = run_experiment(SPEC, "sloppy_quorum", out=out_dir, reps=reps, duration_ms=duration_ms, workers=workers)

    def describe(sc: Any) -> dict[str, Any]:
        part = next((e.duration_ms for e in sc.faults.schedule if e.action == "partition"), 0.0)
        return {"design": design(sc), "partition_ms": part, "crash_mttf_ms": sc.faults.crash_mttf_ms}

    table = cell_table(spec, res, METRICS, describe)
    write_table(table, out_dir / "sloppy_quorum.csv")
    _plot(table, out_dir / "sloppy_quorum.png")
    return table


def jepsen_riak(duration_ms: float = 60_000.0, seed: int = 2013, out: str | Path | None = None) -> pd.DataFrame:
    """Jepsen's Riak setting as far as this model goes: 5 nodes, N = 3, R = W = 2 (quorum), one key,
    writes only (400/s), a random node coordinates each write (clients on every node), and the
    partition {0, 1} | {2, 3, 4} from 25 % to 75 % of the run; strict vs sloppy quorums with
    fallback hints. Last write wins with perfect clocks.

    The model has no read-modify-write clients (issue 10 adds them), so the loss Jepsen measured —
    elements of a set, added by acknowledged writes, missing from the final set — is computed as
    what such clients would lose: a write reads, in effect, the newest version on its side of the
    partition, so after the heal the final value descends only from the side that wrote the
    last-stamped write during the partition; every write acknowledged on the *other* side during the
    partition is missing from it (``rmw_lost_fraction``, of all acknowledged writes)."""
    rows = []
    for sloppy in (False, True):
        raw = {
            "cluster": {"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2, "coordinator": "random",
                        "sloppy_quorum": sloppy, "write_timeout_ms": 1000, "read_timeout_ms": 1000},
            "latency": {"profile": "lnkd-ssd", "other": "exponential(rate=1)"},
            "workload": {"keys": 1, "read_fraction": 0.0, "rate_per_s": 400, "duration_ms": duration_ms,
                         "warmup_ms": 0},
            "faults": {"schedule": [{"at_ms": duration_ms / 4, "action": "partition", "groups": [[0, 1], [2, 3, 4]],
                                     "duration_ms": duration_ms / 2}]},
            "failure_detector": {"mode": "delay", "detect_delay": 1000, "recover_delay": 1000},
            "hinted_handoff": {"store": "fallback" if sloppy else "off", "interval_ms": 1000,
                               "inactivity_timeout_ms": 1000},
            "predict": {"trials": 1000},
            "run": {"seed": seed},
        }
        res = simulate(scenario_from_dict(raw), record_ops=True)
        ops = res.frames()["ops"]
        w = ops[(ops["kind"] == "write") & (ops["status"] == "ok")]
        t0, t1 = duration_ms / 4, 3 * duration_ms / 4
        during = w[(w["issued_at"] >= t0) & (w["issued_at"] < t1)]
        side = np.where(during["coordinator"].to_numpy() <= 1, 0, 1)
        lost = 0
        if len(during):
            last = int(np.argmax(during["version"].to_numpy()))
            lost = int((side != side[last]).sum())
        s = res.summary()
        rows.append({
            "design": "sloppy + fallback hints" if sloppy else "strict",
            "acknowledged_writes": len(w), "acknowledged_during_partition": len(during),
            "acknowledged_minority_side": int((side == 0).sum()), "rmw_lost": lost,
            "rmw_lost_fraction": lost / len(w) if len(w) else math.nan,
            "write_availability": s["write_availability"], "sloppy_writes": s["sloppy_writes"],
            "hints_stored": s["hints_stored"], "hints_delivered": s["hints_delivered"],
            "lost_writes": s["lost_writes"],
        })
    table = pd.DataFrame(rows)
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "sloppy_quorum"
    write_table(table, out_dir / "jepsen_riak.csv")
    return table


def jepsen_riak_rmw(duration_ms: float = 60_000.0, seed: int = 2013, out: str | Path | None = None) -> pd.DataFrame:
    """The same Jepsen setting with real read-modify-write clients (issue 10) adding one element each
    to a set (union merge, issue 11), measured instead of inferred: per versioning (``lww`` / ``dvv``)
    and quorum design (strict / sloppy + fallback hints), the fraction of acknowledged updates lost
    (``lost_update_fraction``, value level: absent from every later version, none of which merged
    them — Jepsen's missing elements under last-write-wins) and, under DVV, ``lost_items`` (elements added by
    acknowledged writes that no later state holds; siblings are merged by union)."""
    rows = []
    for versioning in ("lww", "dvv"):
        for sloppy in (False, True):
            raw = {
                "cluster": {"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                            "coordinator": "random", "sloppy_quorum": sloppy, "write_timeout_ms": 1000,
                            "read_timeout_ms": 1000, "versioning": versioning},
                "latency": {"profile": "lnkd-ssd", "other": "exponential(rate=1)"},
                "workload": {"keys": 1, "read_fraction": 0.0, "rate_per_s": 400, "duration_ms": duration_ms,
                             "warmup_ms": 0, "write_pattern": "rmw", "rmw_gap": "exponential(mean=1)",
                             "merge": "union"},
                "faults": {"schedule": [{"at_ms": duration_ms / 4, "action": "partition",
                                         "groups": [[0, 1], [2, 3, 4]], "duration_ms": duration_ms / 2}]},
                "failure_detector": {"mode": "delay", "detect_delay": 1000, "recover_delay": 1000},
                "hinted_handoff": {"store": "fallback" if sloppy else "off", "interval_ms": 1000,
                                   "inactivity_timeout_ms": 1000},
                "predict": {"trials": 1000},
                "run": {"seed": seed},
            }
            s = simulate(scenario_from_dict(raw)).summary()
            rows.append({
                "versioning": versioning, "design": "sloppy + fallback hints" if sloppy else "strict",
                "writes": s["writes"], "write_availability": s["write_availability"],
                "lost_updates": s["lost_updates"] if versioning == "lww" else math.nan,
                "lost_update_fraction": s["lost_update_fraction"] if versioning == "lww" else math.nan,
                "lost_items": s["lost_items"] if versioning == "dvv" else math.nan,
                "siblings_per_read_mean": s["siblings_per_read_mean"],
            })
    table = pd.DataFrame(rows)
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "sloppy_quorum"
    write_table(table, out_dir / "jepsen_riak_rmw.csv")
    return table


def _plot(t: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = (("write_availability", "write availability"), ("stale_read_fraction", "stale-read fraction"),
              ("lost_write_fraction", "lost-write fraction (durability)"))
    styles = {mttf: ls for mttf, ls in zip(sorted(t["crash_mttf_ms"].unique(), reverse=True), ("-", "--", ":"),
                                           strict=False)}
    for ax, (m, label) in zip(axes, panels, strict=True):
        for i, (name, g) in enumerate(t.groupby("design", sort=False)):
            for mttf, gg in g.groupby("crash_mttf_ms"):
                gg = gg.sort_values("partition_ms")
                x = gg["partition_ms"].to_numpy() / 1000.0
                y = gg[f"{m}_mean"].to_numpy()
                lo = gg.get(f"{m}_ci_low", gg[f"{m}_mean"]).to_numpy()
                hi = gg.get(f"{m}_ci_high", gg[f"{m}_mean"]).to_numpy()
                err = np.nan_to_num(np.vstack([y - lo, hi - y]), nan=0.0)
                ax.errorbar(x, y, yerr=err, color=f"C{i}", ls=styles[mttf], marker="o", capsize=3,
                            label=f"{name}, crash MTTF {mttf / 1000:g} s")
        ax.set(xlabel="partition length (s)", ylabel=label)
        ax.set_xscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    a = arguments(__doc__.splitlines()[0])
    cols = ["design", "partition_ms", "crash_mttf_ms"] + [f"{m}_mean" for m in METRICS[:8]]
    print(run(a.reps, a.duration_ms, a.workers, a.out)[cols].to_string(index=False))
    print(jepsen_riak(out=a.out).to_string(index=False))
    print(jepsen_riak_rmw(out=a.out).to_string(index=False))


if __name__ == "__main__":
    main()
