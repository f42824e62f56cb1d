"""Throughput of the WARS predictor: seconds for the whole t-visibility curve and trials per second.

Runs ``pbs_sim.analytic.wars.predict`` (lnkd-disk, read fan-out all) at 10^6 and 10^7 trials for
N = 3 and N = 10, with R = W = 1 and a majority quorum, on one core; also the wall time of the
real command ``pbs-sim predict`` (process start and imports included) at 10^6 trials. Prints a
markdown table and writes ``benchmarks/results/predict.json``.

    .venv/bin/python benchmarks/bench_predict.py            # the table (about a minute)
    .venv/bin/python benchmarks/bench_predict.py --huge     # also 10^8 trials (streaming mode)
    .venv/bin/python benchmarks/bench_predict.py --quick    # 10^5 / 10^6 only (smoke test)
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^5 and 10^6 trials only")
    ap.add_argument("--huge", action="store_true", help="also 10^8 trials, N = 3, R = W = 1")
    ap.add_argument("--out", default=str(HERE / "results" / "predict.json"))
    args = ap.parse_args()

    trials_list = [100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    predict(PROFILE, 3, 1, 1, trials=20_000, seed=0)  # warm up imports and caches
    load_before = os.getloadavg()
    rows = [time_predict(t, n, r, w, repeats=3 if t <= 1_000_000 else 1) for t, n, r, w in cases(trials_list)]
    if args.huge:
        rows.append(time_predict(100_000_000, 3, 1, 1, repeats=1))
    cli_s = time_cli(1_000_000)
    load_after = os.getloadavg()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

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
    print("\n".join(lines))
    write_json(args.out, {
        "benchmark": "predict", "rows": rows, "cli_1e6_wall_s": cli_s, "peak_rss_mb": peak_rss_mb,
        "loadavg_before": load_before, "loadavg_after": load_after, "cpus": os.cpu_count(),
        **provenance(),
    })


if __name__ == "__main__":
    main()
