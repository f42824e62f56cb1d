"""Throughput of the WARS predictor: seconds for the whole t-visibility curve and trials per second.

Runs ``pbs_sim.analytic.wars.predict`` (lnkd-disk, read fan-out all) at 10^6 and 10^7 trials for
N = 3 and N = 10, with R = W = 1 and a majority quorum, on one core; also the wall time of the
real command ``pbs-sim predict`` (process start and imports included) at 10^6 trials; and the
grid engine: ``predict_grid`` for all 385 (R, W) pairs of N = 1..10 at 10^6 trials per N
(lnkd-disk, seed 1), ``--grid-repeats`` times, CPU time (``time.process_time``, user + system,
each part reported) min and median. Prints markdown tables and writes
``benchmarks/results/predict.json``.

    .venv/bin/python benchmarks/bench_predict.py            # the tables (about two minutes)
    .venv/bin/python benchmarks/bench_predict.py --huge     # also 10^8 trials (streaming mode)
    .venv/bin/python benchmarks/bench_predict.py --quick    # 10^5 / 10^6 only (smoke test)
    .venv/bin/python benchmarks/bench_predict.py --grid-only --grid-repeats 7
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pbs_sim.analytic.grid import predict_grid
from pbs_sim.analytic.wars import predict
from pbs_sim.io import provenance, write_json

HERE = Path(__file__).resolve().parent
PROFILE = "lnkd-disk"


def cases(trials_list: list[int]) -> list[tuple[int, int, int, int]]:
    out = []
    for trials in trials_list:
        for n in (3, 10):
            majority = n // 2 + 1
            out += [(trials, n, 1, 1), (trials, n, majority, majority)]
    return out


def time_predict(trials: int, n: int, r: int, w: int, repeats: int) -> dict[str, Any]:
    best = best_cpu = float("inf")
    res = None
    for rep in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = predict(PROFILE, n, r, w, trials=trials, seed=rep + 1)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert res is not None
    return {
        "trials": trials, "n": n, "r": r, "w": w, "profile": PROFILE, "mode": res.mode,
        "seconds": best, "cpu_seconds": best_cpu, "trials_per_s": trials / best, "curve_points": len(res.t_ms),
        "t_visibility_ms": res.t_visibility_ms, "p_consistent_at_t0": res.p_consistent_at_t0,
    }


def time_cli(trials: int) -> float:
    exe = Path(sys.executable).with_name("pbs-sim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pbs_sim"]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [*cmd, "predict", "--profile", PROFILE, "--n", "3", "--r", "1", "--w", "1",
             "--trials", str(trials), "--seed", "1", "--json"],
            check=True, capture_output=True,
        )
        best = min(best, time.perf_counter() - t0)
    return best


def time_grid(trials: int, repeats: int) -> dict[str, Any]:
    """CPU seconds of ``predict_grid`` over N = 1..10 (385 pairs), one run per repeat."""
    predict_grid(PROFILE, n=3, trials=20_000, seed=0)  # warm up imports
    cpu, user, system, wall = [], [], [], []
    for _ in range(repeats):
        r0, c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
        grid = predict_grid(PROFILE, n=range(1, 11), trials=trials, seed=1)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        user.append(r1.ru_utime - r0.ru_utime)
        system.append(r1.ru_stime - r0.ru_stime)
        del grid
    return {
        "profile": PROFILE, "n": [1, 10], "pairs": 385, "trials_per_n": trials, "seed": 1, "repeats": repeats,
        "cpu_s": cpu, "user_s": user, "system_s": system, "wall_s": wall,
        "cpu_min_s": min(cpu), "cpu_median_s": statistics.median(cpu),
        "user_min_s": min(user), "user_median_s": statistics.median(user),
        "system_min_s": min(system), "system_median_s": statistics.median(system),
    }


def grid_lines(g: dict[str, Any], load: tuple[float, float]) -> list[str]:
    return [
        f"predict_grid, {g['profile']}, N = 1..10 ({g['pairs']} pairs), {g['trials_per_n']:,} trials per N, "
        f"{g['repeats']} runs (load average {load[0]:.2f} before, {load[1]:.2f} after; {os.cpu_count()} CPUs)",
        "",
        "| | min | median |",
        "|---|---:|---:|",
        f"| CPU s (user + system) | {g['cpu_min_s']:.2f} | {g['cpu_median_s']:.2f} |",
        f"| user s | {g['user_min_s']:.2f} | {g['user_median_s']:.2f} |",
        f"| system s | {g['system_min_s']:.2f} | {g['system_median_s']:.2f} |",
        f"| wall s | {min(g['wall_s']):.2f} | {statistics.median(g['wall_s']):.2f} |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^5 and 10^6 trials only")
    ap.add_argument("--huge", action="store_true", help="also 10^8 trials, N = 3, R = W = 1")
    ap.add_argument("--grid-repeats", type=int, default=5, help="runs of the N = 1..10 grid (0: skip it)")
    ap.add_argument("--grid-only", action="store_true", help="only the grid (writes --out with no predictor rows)")
    ap.add_argument("--out", default=str(HERE / "results" / "predict.json"))
    args = ap.parse_args()

    grid_trials = 100_000 if args.quick else 1_000_000
    if args.grid_only:
        load0 = os.getloadavg()
        g = time_grid(grid_trials, max(1, args.grid_repeats))
        load1 = os.getloadavg()
        print("\n".join(grid_lines(g, (load0[0], load1[0]))))
        write_json(args.out, {"benchmark": "predict", "grid": g, "grid_loadavg": [load0, load1],
                              "cpus": os.cpu_count(), **provenance()})
        return

    trials_list = [100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    predict(PROFILE, 3, 1, 1, trials=20_000, seed=0)  # warm up imports and caches
    load_before = os.getloadavg()
    rows = [time_predict(t, n, r, w, repeats=3 if t <= 1_000_000 else 1) for t, n, r, w in cases(trials_list)]
    if args.huge:
        rows.append(time_predict(100_000_000, 3, 1, 1, repeats=1))
    cli_s = time_cli(1_000_000)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the grid's 240 MB
    load_grid = os.getloadavg()
    grid = time_grid(grid_trials, args.grid_repeats) if args.grid_repeats > 0 else None
    load_after = os.getloadavg()

    lines = [
        f"WARS predictor, profile {PROFILE}, read fan-out all, one process, best of 3 runs (one run at 10^7 and above) "
        f"(load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs)",
        "",
        "| trials | N | R | W | mode | wall s (whole curve) | CPU s | trials / s (wall) |",
        "|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['trials']:,} | {row['n']} | {row['r']} | {row['w']} | {row['mode']} | "
            f"{row['seconds']:.3f} | {row['cpu_seconds']:.3f} | {row['trials_per_s'] / 1e6:.2f} M |"
        )
    lines += [
        "",
        f"`pbs-sim predict --profile {PROFILE} --n 3 --r 1 --w 1 --trials 1000000 --json`, wall time "
        f"including interpreter start and imports: {cli_s:.2f} s",
        f"peak RSS of this benchmark process: {peak_rss_mb:.0f} MB",
    ]
    if grid is not None:
        lines += ["", *grid_lines(grid, (load_grid[0], load_after[0]))]
    print("\n".join(lines))
    write_json(args.out, {
        "benchmark": "predict", "rows": rows, "cli_1e6_wall_s": cli_s, "peak_rss_mb": peak_rss_mb, "grid": grid,
        "loadavg_before": load_before, "loadavg_after": load_after, "cpus": os.cpu_count(),
        **provenance(),
    })


if __name__ == "__main__":
    main()
