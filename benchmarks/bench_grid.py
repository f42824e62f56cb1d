"""The grid engine against pair-by-pair prediction: every (R, W) for N = 1..10 (385 pairs).

Times ``pbs_sim.predict_grid`` (lnkd-disk, read fan-out all, one sample per N) and, in the same
run, the same grid done pair by pair with ``predict`` on the same seed (so the same draws), and
reports CPU time (``time.process_time``: the process is single-threaded, so this is one core's
time, and less disturbed than wall time on a shared machine), wall time, the ratio, and whether
the two grids agree number for number. Writes ``benchmarks/results/grid.json``.

    .venv/bin/python benchmarks/bench_grid.py                 # 10^6 trials per N (about 5 min)
    .venv/bin/python benchmarks/bench_grid.py --trials 100000 # quicker
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from pbs_sim.analytic.grid import predict_grid
from pbs_sim.analytic.wars import predict
from pbs_sim.io import provenance, write_json

HERE = Path(__file__).resolve().parent
PROFILE = "lnkd-disk"
COMPARED = [
    "p_consistent_at_t0", "t_visibility_ms", "t_visibility_ci_low_ms", "t_visibility_ci_high_ms",
    "read_latency_p999_ms", "write_latency_p999_ms",
]


def pair_by_pair(ns: range, trials: int, seed: int) -> pd.DataFrame:
    rows = []
    for n in ns:
        for r in range(1, n + 1):
            for w in range(1, n + 1):
                res = predict(PROFILE, n, r, w, trials=trials, seed=seed)
                s = res.summary()
                rows.append({
                    "n": n, "r": r, "w": w, "p_consistent_at_t0": s["p_consistent_at_t0"],
                    "t_visibility_ms": s["t_visibility_ms"],
                    "t_visibility_ci_low_ms": s["t_visibility_ci_low_ms"],
                    "t_visibility_ci_high_ms": s["t_visibility_ci_high_ms"],
                    "read_latency_p999_ms": s["read_latency_p999_ms"],
                    "write_latency_p999_ms": s["write_latency_p999_ms"],
                })
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--n-max", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "results" / "grid.json"))
    args = ap.parse_args()
    ns = range(1, args.n_max + 1)

    predict_grid(PROFILE, n=3, trials=20_000, seed=0)  # warm up imports
    load_before = os.getloadavg()
    c0, t0 = time.process_time(), time.perf_counter()
    grid = predict_grid(PROFILE, n=ns, trials=args.trials, seed=args.seed)
    grid_cpu, grid_wall = time.process_time() - c0, time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    pairs = pair_by_pair(ns, args.trials, args.seed)
    pair_cpu, pair_wall = time.process_time() - c0, time.perf_counter() - t0
    load_after = os.getloadavg()

    merged = grid.merge(pairs, on=["n", "r", "w"], suffixes=("", "_pair"))
    equal = all(bool((merged[c] == merged[c + "_pair"]).all()) for c in COMPARED)
    lines = [
        f"predict_grid vs pair-by-pair predict: {PROFILE}, N = {ns.start}..{ns.stop - 1} "
        f"({len(grid)} pairs), {args.trials:,} trials per N, seed {args.seed} "
        f"(load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs)",
        "",
        "| | CPU s | wall s |",
        "|---|---:|---:|",
        f"| predict_grid (one sample per N) | {grid_cpu:.2f} | {grid_wall:.2f} |",
        f"| predict, pair by pair | {pair_cpu:.1f} | {pair_wall:.1f} |",
        f"| ratio | {pair_cpu / grid_cpu:.1f}x | {pair_wall / grid_wall:.1f}x |",
        "",
        f"identical results for every pair ({', '.join(COMPARED)}): {equal}",
    ]
    print("\n".join(lines))
    write_json(args.out, {
        "benchmark": "grid", "profile": PROFILE, "n": [ns.start, ns.stop - 1], "pairs": len(grid),
        "trials_per_n": args.trials, "seed": args.seed,
        "grid_cpu_s": grid_cpu, "grid_wall_s": grid_wall, "pairwise_cpu_s": pair_cpu, "pairwise_wall_s": pair_wall,
        "ratio_cpu": pair_cpu / grid_cpu, "ratio_wall": pair_wall / grid_wall, "identical": equal,
        "loadavg_before": load_before, "loadavg_after": load_after, "cpus": os.cpu_count(), **provenance(),
    })


if __name__ == "__main__":
    main()
