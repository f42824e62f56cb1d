"""Driver for experiments/clock_skew.toml: run the sweep, then tabulate and plot.

Writes the sweep's own tables into ``--out`` (default results/clock_skew) plus ``clock_skew.csv``
(per cell: nominal offset sd, realised ``clock_offset_sd_ms``, per-key write rate, timestamp source,
LWW-lost fraction of acknowledged writes and its causes, stale-read fraction, concurrent pairs,
monotonic-writes and writes-follow-reads violation rates, with 95 % t intervals over replications)
and ``clock_skew.png``.

Usage: ``python experiments/clock_skew.py [--reps N] [--duration-ms MS] [--workers W] [--out DIR]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.sweep.experiment import arguments, cell_table, run_experiment

HERE = Path(__file__).resolve().parent
SPEC = HERE / "clock_skew.toml"
METRICS = (
    "lww_lost_fraction", "lww_lost_writes", "lww_lost_clock_skew", "lww_lost_concurrency", "lww_lost_tie",
    "stale_read_fraction", "concurrent_write_pairs", "clock_offset_sd_ms", "monotonic_write_violation_rate",
    "writes_follow_reads_violation_rate", "read_your_writes_violation_rate", "writes",
)


def run(reps: int | None = None, duration_ms: float | None = None, workers: int = 1,
        out: str | Path | None = None) -> pd.DataFrame:
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "clock_skew"
    spec, res = run_experiment(SPEC, "clock_skew", out=out_dir, reps=reps, duration_ms=duration_ms, workers=workers)

    def describe(sc: Any) -> dict[str, Any]:
        wl, off = sc.workload, sc.clocks.offset
        return {"timestamp_source": sc.clocks.timestamp_source,
                "offset_sd_ms": float(off.var ** 0.5) if off is not None else 0.0,
                "per_key_writes_per_s": wl.rate_per_s * (1 - wl.read_fraction) / wl.keys}

    table = cell_table(spec, res, METRICS, describe).sort_values(
        ["timestamp_source", "per_key_writes_per_s", "offset_sd_ms"])
    write_table(table, out_dir / "clock_skew.csv")
    _plot(table, out_dir / "clock_skew.png")
    return table


def _plot(t: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = (
        ("lww_lost_fraction", "acknowledged writes lost to LWW"),
        ("stale_read_fraction", "stale-read fraction (store's order)"),
        ("writes_follow_reads_violation_rate", "writes-follow-reads violations per write"),
    )
    for ax, (m, label) in zip(axes, panels, strict=True):
        for i, ((src, rate), g) in enumerate(t.groupby(["timestamp_source", "per_key_writes_per_s"], sort=True)):
            x = g["offset_sd_ms"].to_numpy(float)
            x = x.copy()
            x[x == 0] = 0.3  # perfect clocks, drawn at the left edge of the log axis
            y = g[f"{m}_mean"].to_numpy()
            lo = g.get(f"{m}_ci_low", g[f"{m}_mean"]).to_numpy()
            hi = g.get(f"{m}_ci_high", g[f"{m}_mean"]).to_numpy()
            ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o" if src == "coordinator" else "s", capsize=2,
                        ls="-" if src == "coordinator" else "--", color=f"C{i % 3}",
                        label=f"{src} stamps, {rate:g} writes/s/key")
        ax.set_xscale("log")
        ax.set(xlabel="clock offset sd (ms; 0.3 = perfect)", ylabel=label)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main() -> None:
    a = arguments(__doc__.splitlines()[0])
    cols = ["timestamp_source", "per_key_writes_per_s", "offset_sd_ms"] + [f"{m}_mean" for m in METRICS[:8]]
    with pd.option_context("display.width", 200):
        print(run(a.reps, a.duration_ms, a.workers, a.out)[cols].to_string(index=False))


if __name__ == "__main__":
    main()
