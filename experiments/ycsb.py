"""Driver for experiments/ycsb.toml: run the sweep, then tabulate and plot.

Writes the sweep's own tables into ``--out`` (default results/ycsb) plus ``ycsb.csv`` (per cell:
YCSB workload, versioning policy, client threads, and staleness, lost updates, siblings and latency
with 95 % t intervals over replications) and ``ycsb.png``. Lost updates are defined for
read-modify-writes (workload F); A and B update blind, where ``lww_lost_fraction`` (acknowledged
writes last-writer-wins discarded) is the loss to read.

``LOST_UPDATES`` names the summary metric reported as lost updates: ``lost_update_fraction``, the
value-level definition (docs/design.md; pbs_sim.metrics.causality): a read-modify-write's update
absent from every later version, none of which merged it (its carried context, what its own read
returned). ``OVERWRITTEN`` (``overwritten_update_fraction``, LWW only) is the larger count of
updates whose immediate overwriter missed them, whether or not a later version merged them: in
the table, not in the plot (in this sweep the two coincide: no later write re-merges an overwritten
update).

Usage: ``python experiments/ycsb.py [--reps N] [--duration-ms MS] [--workers W] [--out DIR]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.sweep.experiment import arguments, cell_table, run_experiment

HERE = Path(__file__).resolve().parent
SPEC = HERE / "ycsb.toml"
LOST_UPDATES = "lost_update_fraction"
OVERWRITTEN = "overwritten_update_fraction"
METRICS = (
    "stale_read_fraction", LOST_UPDATES, OVERWRITTEN, "lww_lost_fraction", "siblings_per_read_mean", "siblings_per_read_p99",
    "read_latency_p50_ms", "read_latency_p99_ms", "write_latency_p50_ms", "write_latency_p99_ms", "ops",
)


def run(reps: int | None = None, duration_ms: float | None = None, workers: int = 1,
        out: str | Path | None = None) -> pd.DataFrame:
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "ycsb"
    spec, res = run_experiment(SPEC, "ycsb", out=out_dir, reps=reps, duration_ms=duration_ms, workers=workers)

    def describe(sc: Any) -> dict[str, Any]:
        wl = sc.workload
        return {"workload": wl.ycsb, "policy": sc.cluster.versioning, "clients": wl.clients}

    table = cell_table(spec, res, METRICS, describe).sort_values(["workload", "policy", "clients"])
    write_table(table, out_dir / "ycsb.csv")
    _plot(table, out_dir / "ycsb.png")
    return table


def _plot(t: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("stale_read_fraction_mean", "stale reads (fraction)"),
        (f"{LOST_UPDATES}_mean", "lost updates, value level (F's rmws)"),
        ("lww_lost_fraction_mean", "acknowledged writes LWW discarded"),
        ("siblings_per_read_mean_mean", "siblings per read (mean)"),
        ("read_latency_p99_ms_mean", "read latency p99 (ms)"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(20, 4))
    for ax, (m, label) in zip(axes, panels, strict=True):
        for i, (wl, g) in enumerate(t.groupby("workload", sort=True)):
            for pol, ls in (("lww", "-"), ("dvv", "--")):
                h = g[g["policy"] == pol].sort_values("clients")
                if h.empty or m not in h or (m.startswith("lww_") and pol != "lww"):
                    continue  # (LWW's discarded writes mean nothing where siblings are kept)
                ax.plot(h["clients"], h[m], marker="os^"[i % 3], color=f"C{i}", ls=ls, label=f"YCSB {str(wl).upper()}, {pol}")
        ax.set_xscale("log")
        ticks = sorted(t["clients"].unique())
        ax.set_xticks(ticks, [str(c) for c in ticks])
        ax.minorticks_off()
        ax.set(xlabel="YCSB client threads (5,000 ops/s in all)", ylabel=label)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    a = arguments(__doc__.splitlines()[0])
    table = run(a.reps, a.duration_ms, a.workers, a.out)
    cols = ["workload", "policy", "clients", "stale_read_fraction_mean", f"{LOST_UPDATES}_mean", f"{OVERWRITTEN}_mean", "lww_lost_fraction_mean",
            "siblings_per_read_mean_mean", "read_latency_p99_ms_mean", "write_latency_p99_ms_mean", "ops_mean"]
    with pd.option_context("display.width", 220):
        print(table[[c for c in cols if c in table]].to_string(index=False))


if __name__ == "__main__":
    main()
