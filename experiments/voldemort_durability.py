"""Driver for experiments/voldemort_durability.toml: durability by key popularity, anti-entropy off vs on.

The experiment is a plain sweep (``pbs-sim sweep experiments/voldemort_durability.toml`` runs it, bulk
load included: ``workload.preload = true`` writes every key once before the workload, so cold keys
exist). This driver runs the same cells through the sweep's own worker
(:func:`pbs_sim.sweep.execute.run_replication_full`) and keeps what the sweep tables do not carry: the
per-popularity-decile breakdown, the cold-vs-hot effect with its CI, and the figure.

Seeds. The sweep gives replication r of cell c the seed ``SeedSequence(seed, spawn_key=(c, r))``, so
its "off" and "merkle" cells see different workload draws (the scripted disk losses are the same in
every cell). By default this driver *pairs* the arms: every cell's replication r uses the seed of the
sweep's cell 0, ``SeedSequence(seed, spawn_key=(0, r))``, so the workload is identical and only
anti-entropy differs (the "off" rows equal the sweep's cell-0 rows; the "merkle" rows are the same
scenario as the sweep's cell 1 under cell 0's seeds). ``--unpaired`` uses the sweep's seeds exactly.

Writes into ``--out`` (default results/voldemort_durability):

- ``by_decile.csv``   mode, rep, decile, keys, reads_per_key, writes, lost_writes, lost_write_fraction,
                      keys_lost, under_replicated_ms_per_key
- ``summary.csv``     mode, rep and the run's summary metrics (the sweep's results row)
- ``effect.csv``      per mode: cold (decile 10) vs hot (decile 1) under-replication and key losses,
                      their difference with a t CI over replications
- ``voldemort_durability.png``

Usage: ``python experiments/voldemort_durability.py [--reps 3] [--duration-ms 125000] [--unpaired] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbs_sim.io import write_table
from pbs_sim.plots import save_figure
from pbs_sim.sweep import Task, load_sweep
from pbs_sim.sweep.execute import run_replication_full

HERE = Path(__file__).resolve().parent
SPEC = HERE / "voldemort_durability.toml"


def _t_ci(x: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h


def run(reps: int | None = None, duration_ms: float | None = None, out: str | Path | None = None,
        spec_path: str | Path = SPEC, paired: bool = True) -> dict[str, pd.DataFrame]:
    spec = load_sweep(spec_path)
    reps = spec.replications if reps is None else reps
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "voldemort_durability"
    dec_rows: list[pd.DataFrame] = []
    sum_rows: list[dict[str, Any]] = []
    for rep in range(reps):
        for cell in spec.cells:
            sc = cell.scenario
            if duration_ms is not None:
                sc = sc.with_overrides({"workload.duration_ms": duration_ms})
            mode = sc.anti_entropy.mode
            seed_cell = 0 if paired else cell.index
            rec, res = run_replication_full(Task(seed_cell, rep, spec.engine, sc, spec.seed))
            if res is None:
                raise RuntimeError(f"cell {cell.index} rep {rep} failed: {rec['error']}")
            dec_rows.append(res.frames["durability_by_decile"].assign(mode=mode, rep=rep))
            sum_rows.append({"mode": mode, "rep": rep, "seed_spawn_key": f"{seed_cell}.{rep}", **res.summary})
    by_decile = pd.concat(dec_rows, ignore_index=True)
    cols = ["mode", "rep"] + [c for c in by_decile.columns if c not in ("mode", "rep")]
    by_decile = by_decile[cols]
    summary = pd.DataFrame(sum_rows)
    effect = _effect(by_decile)
    write_table(by_decile, out_dir / "by_decile.csv")
    write_table(summary, out_dir / "summary.csv")
    write_table(effect, out_dir / "effect.csv")
    _plot(by_decile, out_dir / "voldemort_durability.png")
    return {"by_decile": by_decile, "summary": summary, "effect": effect}


def _effect(by_decile: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for mode, g in by_decile.groupby("mode", sort=False):
        hot = g[g["decile"] == 1].set_index("rep")
        cold = g[g["decile"] == 10].set_index("rep")
        diff = (cold["under_replicated_ms_per_key"] - hot["under_replicated_ms_per_key"]).to_numpy()
        m, lo, hi = _t_ci(diff)
        rows.append({
            "mode": mode,
            "hot_under_replicated_ms_per_key": float(hot["under_replicated_ms_per_key"].mean()),
            "cold_under_replicated_ms_per_key": float(cold["under_replicated_ms_per_key"].mean()),
            "cold_minus_hot_ms": m, "cold_minus_hot_ci_low": lo, "cold_minus_hot_ci_high": hi,
            "hot_keys_lost": float(hot["keys_lost"].sum()), "cold_keys_lost": float(cold["keys_lost"].sum()),
            "keys_lost_total": float(g["keys_lost"].sum()), "lost_writes_total": float(g["lost_writes"].sum()),
            "reps": len(diff),
        })
    return pd.DataFrame(rows)
def _plot(by_decile: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for mode, g in by_decile.groupby("mode", sort=False):
        m = g.groupby("decile")["under_replicated_ms_per_key"].mean() / 1000.0
        axes[0].plot(m.index, m.to_numpy(), marker="o", label=f"anti_entropy = {mode}")
        k = g.groupby("decile")["keys_lost"].sum()
        axes[1].bar(k.index + (-0.2 if mode == "off" else 0.2), k.to_numpy(), width=0.4, label=f"anti_entropy = {mode}")
    axes[0].set(xlabel="key popularity decile (1 = most read)", ylabel="under-replicated time per key (s)",
                title="time with < N live copies")
    axes[1].set(xlabel="key popularity decile (1 = most read)", ylabel="keys that lost every copy",
                title="data loss (all replications)")
    for ax in axes:
        ax.set_xticks(range(1, 11))
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)  # atomic, like every other result file
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--duration-ms", type=float, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--unpaired", action="store_true", help="use the sweep's own seeds (different per cell)")
    a = ap.parse_args()
    res = run(a.reps, a.duration_ms, a.out, paired=not a.unpaired)
    print(res["effect"].to_string(index=False))


if __name__ == "__main__":
    main()
