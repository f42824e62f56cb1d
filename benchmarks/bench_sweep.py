"""Sweep speed-up with local workers: the same CPU-bound sweep with 1 worker and with 2 (and more).

The sweep: the WARS predictor (engine ``predict``) over 2 profiles x 4 (R, W) pairs, N = 3, with
``--trials`` trials per run (default 10^6: about a second per run on one core) and ``--reps``
replications, so the cells are CPU-bound and independent. Each configuration runs the whole sweep
the way ``pbs-sim sweep`` does (fresh results directory, parts, tables, manifest; process start-up
included) and reports the wall time, the speed-up over 1 worker, and ``cores used`` = CPU seconds
(this process and its workers) / wall seconds: near the worker count on idle cores, lower when other
processes compete for them. Also checks that every configuration wrote identical results. Prints a markdown table and writes ``benchmarks/results/sweep.json``.

    .venv/bin/python benchmarks/bench_sweep.py             # 1 and 2 workers (about a minute)
    .venv/bin/python benchmarks/bench_sweep.py --dask      # also a Dask LocalCluster of 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --quick     # 10^5 trials (a smoke test)

The target is a speed-up of at least 1.8x with 2 workers on 2 otherwise idle cores; on a loaded
machine the figure is depressed, so the load average before and after is recorded with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.io import provenance, write_json
from pbs_sim.sweep import run_sweep, sweep_from_dict

HERE = Path(__file__).resolve().parent


def sweep_spec(trials: int, reps: int) -> dict[str, Any]:
    return {
        "sweep": {"engine": "predict", "replications": reps, "seed": 1},
        "base": {"cluster": {"replication": 3}, "predict": {"trials": trials}},
        "grid": {"latency.profile": ["lnkd-ssd", "lnkd-disk"]},
        "zip": [{"keys": ["cluster.read_quorum", "cluster.write_quorum"],
                 "values": [[1, 1], [1, 2], [2, 1], [2, 2]]}],
    }


def time_sweep(raw: dict[str, Any], workers: int, scheduler: str | None, repeats: int) -> dict[str, Any]:
    spec = sweep_from_dict(raw, name="bench_sweep")
    best = float("inf")
    best_cpu = 0.0
    results = None
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp(prefix="pbs-bench-sweep-"))
        try:
            cpu0 = _cpu_s()
            t0 = time.perf_counter()
            res = run_sweep(spec, workers=workers, scheduler=scheduler, out=out, progress=False)
            wall = time.perf_counter() - t0
            cpu = _cpu_s() - cpu0
        finally:
            shutil.rmtree(out, ignore_errors=True)
        assert res.ok, res.counts
        if wall < best:
            best, best_cpu, results = wall, cpu, res.results
    assert results is not None
    return {
        "executor": "dask-local" if scheduler else ("serial" if workers == 1 else "process-pool"),
        "workers": workers, "runs": spec.n_runs, "wall_s": best, "cpu_s": best_cpu,
        "cores_used": best_cpu / best, "_results": results,
    }


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (pool workers are reaped at shutdown)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1_000_000, help="WARS trials per run (default 10^6)")
    ap.add_argument("--reps", type=int, default=6, help="replications per cell (default 6: 48 runs, so pool start-up is amortized as in a real sweep)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    ap.add_argument("--repeats", type=int, default=2, help="time each configuration this often; keep the best")
    ap.add_argument("--dask", action="store_true", help="also a Dask LocalCluster with the largest worker count")
    ap.add_argument("--quick", action="store_true", help="10^5 trials, one repeat")
    ap.add_argument("--out", default=str(HERE / "results" / "sweep.json"))
    args = ap.parse_args()
    trials = 100_000 if args.quick else args.trials
    repeats = 1 if args.quick else args.repeats
    raw = sweep_spec(trials, args.reps)

    load_before = os.getloadavg()
    rows = [time_sweep(raw, w, None, repeats) for w in args.workers]
    if args.dask:
        rows.append(time_sweep(raw, max(args.workers), "local", repeats))
    load_after = os.getloadavg()

    base = next((r for r in rows if r["workers"] == 1), rows[0])
    reference = base.pop("_results")
    for r in rows:
        other = r.pop("_results", reference)
        drop = ["wall_s"]
        r["identical_results"] = bool(reference.drop(columns=drop).equals(other.drop(columns=drop)))
        r["speedup"] = base["wall_s"] / r["wall_s"]

    cpus = len(os.sched_getaffinity(0))
    print(f"Sweep: predict engine, 8 cells x {args.reps} reps = {rows[0]['runs']} runs, {trials:,} trials each; "
          f"{cpus} CPUs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n")
    print("| executor | workers | wall (s) | speed-up vs 1 | CPU (s) | cores used | identical results |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['executor']} | {r['workers']} | {r['wall_s']:.2f} | {r['speedup']:.2f}x | "
              f"{r['cpu_s']:.1f} | {r['cores_used']:.2f} | {'yes' if r['identical_results'] else 'NO'} |")
    frame = pd.DataFrame(rows)
    write_json(args.out, {
        "benchmark": "sweep speed-up with local workers",
        "sweep": raw, "trials": trials, "repeats": repeats, "cpus": cpus,
        "load_average_before": load_before, "load_average_after": load_after,
        "rows": frame.to_dict(orient="records"),
        "provenance": provenance(),
    })
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
