"""Driver for experiments/siblings.toml: run the sweep, then tabulate and plot.

Writes the sweep's own tables into ``--out`` (default results/siblings) plus ``siblings.csv`` (per
cell: policy, per-key update rate, clients, faults, and the sibling metrics with 95 % t intervals
over replications; ``lost_write_fraction`` is LWW's lost fraction under lww and the false-dominance
losses per measured write under the sibling policies) and ``siblings.png``.

Usage: ``python experiments/siblings.py [--reps N] [--duration-ms MS] [--workers W] [--out DIR]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.sweep.experiment import arguments, cell_table, run_experiment

HERE = Path(__file__).resolve().parent
SPEC = HERE / "siblings.toml"
METRICS = (
    "siblings_per_read_mean", "siblings_per_read_p99", "siblings_per_read_max", "multi_version_read_fraction",
    "false_concurrency", "false_dominance_lost_writes", "lost_items", "clock_entries_mean", "metadata_bytes_mean",
    "lww_lost_fraction", "lww_lost_writes", "lost_update_fraction", "write_sibling_fraction", "writes",
    "sibling_limit_exceeded",
)


def run(reps: int | None = None, duration_ms: float | None = None, workers: int = 1,
        out: str | Path | None = None) -> pd.DataFrame:
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "siblings"
    spec, res = run_experiment(SPEC, "siblings", out=out_dir, reps=reps, duration_ms=duration_ms, workers=workers)

    def describe(sc: Any) -> dict[str, Any]:
        wl = sc.workload
        return {"policy": sc.cluster.versioning, "per_key_updates_per_s": wl.rate_per_s * (1 - wl.read_fraction) / wl.keys,
                "clients": wl.clients, "faults": sc.faults.message_loss > 0}

    def derive(sc: Any, row: Mapping[str, Any]) -> dict[str, float]:
        writes = row.get("writes_mean", 0.0) or float("nan")
        return {"lost_write_fraction_mean": row.get("lww_lost_fraction_mean", float("nan")) if row["policy"] == "lww"
                else row.get("false_dominance_lost_writes_mean", 0.0) / writes}

    table = cell_table(spec, res, METRICS, describe, derive).sort_values(
        ["faults", "clients", "policy", "per_key_updates_per_s"])
    write_table(table, out_dir / "siblings.csv")
    _plot(table, out_dir / "siblings.png")
    return table


def _plot(t: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = (
        ("siblings_per_read_mean_mean", "siblings per read (mean)", "linear"),
        ("lost_write_fraction_mean", "acknowledged writes lost (fraction)", "linear"),
        ("metadata_bytes_mean_mean", "metadata per stored version (bytes)", "log"),
    )
    policies = ["lww", "vv-node", "vv-client", "dvv"]
    for ax, (m, label, scale) in zip(axes, panels, strict=True):
        for (clients, faults), g in t.groupby(["clients", "faults"], sort=True):
            for i, pol in enumerate(policies):
                h = g[g["policy"] == pol].sort_values("per_key_updates_per_s")
                if h.empty or m not in h:
                    continue
                ax.plot(h["per_key_updates_per_s"], h[m], marker="os^D"[i], color=f"C{i}",
                        ls="-" if clients == 100 else ":", alpha=1.0 if not faults else 0.5,
                        label=f"{pol}, {clients} clients{', faults' if faults else ''}")
        ax.set_xscale("log")
        if scale == "log":
            ax.set_yscale("symlog", linthresh=10.0)
        ax.set(xlabel="updates per second per key", ylabel=label)
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    a = arguments(__doc__.splitlines()[0])
    cols = ["policy", "per_key_updates_per_s", "clients", "faults", "siblings_per_read_mean",
            "multi_version_read_fraction_mean", "lost_write_fraction_mean", "metadata_bytes_mean",
            "false_concurrency_mean", "lost_items_mean"]
    table = run(a.reps, a.duration_ms, a.workers, a.out)
    table = table.rename(columns={"siblings_per_read_mean_mean": "siblings_per_read_mean",
                                  "metadata_bytes_mean_mean": "metadata_bytes_mean"})
    with pd.option_context("display.width", 220):
        print(table[[c for c in cols if c in table]].to_string(index=False))


if __name__ == "__main__":
    main()
