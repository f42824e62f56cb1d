"""Driver for experiments/anti_entropy_interval.toml: run the sweep, then tabulate and plot.

Writes the sweep's own tables (results.csv, summary.csv, ...) into ``--out`` (default
results/anti_entropy_interval) plus ``anti_entropy_interval.csv`` (per cell: mean exchange interval,
stale-read fraction and its causes, under-replicated keys, lost writes, anti-entropy cost per second,
with 95 % t intervals over replications where the sweep gives them) and ``anti_entropy_interval.png``.

Usage: ``python experiments/anti_entropy_interval.py [--reps N] [--duration-ms MS] [--workers W] [--out DIR]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.sweep.experiment import arguments, cell_table, run_experiment

HERE = Path(__file__).resolve().parent
SPEC = HERE / "anti_entropy_interval.toml"
METRICS = (
    "stale_read_fraction", "stale_replica_missed_write_per_read", "stale_replica_restored_empty_per_read",
    "stale_partial_quorum_per_read", "under_replicated_keys_mean", "lost_writes", "keys_lost",
    "replication_completion_ms_mean", "ae_exchanges", "ae_keys_repaired", "ae_bytes_sent", "ae_messages",
)


def run(reps: int | None = None, duration_ms: float | None = None, workers: int = 1,
        out: str | Path | None = None) -> pd.DataFrame:
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "anti_entropy_interval"
    spec, res = run_experiment(SPEC, "anti_entropy_interval", out=out_dir, reps=reps, duration_ms=duration_ms, workers=workers)

    def describe(sc: Any) -> dict[str, Any]:
        ae = sc.anti_entropy
        return {"anti_entropy": ae.mode, "interval_mean_ms": ae.interval.mean if ae.mode != "off" else math.inf}

    def derive(sc: Any, row: Mapping[str, Any]) -> dict[str, float]:
        run_s = (sc.workload.duration_ms + sc.workload.warmup_ms) / 1000.0
        return {"ae_bytes_per_s_mean": row.get("ae_bytes_sent_mean", 0.0) / run_s,
                "ae_messages_per_s_mean": row.get("ae_messages_mean", 0.0) / run_s}

    table = cell_table(spec, res, METRICS, describe, derive)
    write_table(table, out_dir / "anti_entropy_interval.csv")
    _plot(table, out_dir / "anti_entropy_interval.png")
    return table


def _plot(t: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    on = t[t["anti_entropy"] != "off"].sort_values("interval_mean_ms")
    off = t[t["anti_entropy"] == "off"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (
        ("stale_read_fraction", "stale-read fraction"),
        ("under_replicated_keys_mean", "mean under-replicated keys"),
        ("lost_writes", "lost writes (per run)"),
    )
    for ax, (m, label) in zip(axes, panels, strict=True):
        x = on["interval_mean_ms"].to_numpy()
        y = on[f"{m}_mean"].to_numpy()
        lo = on.get(f"{m}_ci_low", on[f"{m}_mean"]).to_numpy()
        hi = on.get(f"{m}_ci_high", on[f"{m}_mean"]).to_numpy()
        ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o", capsize=3, label="Merkle anti-entropy")
        if len(off):
            ax.axhline(float(off[f"{m}_mean"].iloc[0]), color="C3", ls="--", label="off (Voldemort)")
        ax.set_xscale("log")
        ax.set(xlabel="mean interval between a node's exchanges (ms)", ylabel=label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)  # atomic, like every other result file
    plt.close(fig)


def main() -> None:
    a = arguments(__doc__.splitlines()[0])
    cols = ["anti_entropy", "interval_mean_ms"] + [f"{m}_mean" for m in METRICS[:7]] + ["ae_bytes_per_s_mean"]
    print(run(a.reps, a.duration_ms, a.workers, a.out)[cols].to_string(index=False))


if __name__ == "__main__":
    main()
