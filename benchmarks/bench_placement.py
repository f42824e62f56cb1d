"""Cost of the placement engines at 5,000 and 10,000 nodes: build, analytic, Monte Carlo, memory.

One point per placement: a token ring of 5,000 nodes x 256 tokens (Cassandra's old default; 1.28
million distinct replica sets), copyset replication (S = 10) and the Facebook-style window (S = 10,
1,000 chunks per node), each with 1 % of the nodes lost at once (F = 50) and 10,000 Monte Carlo
trials; with ``--large`` also 10,000 nodes x 256 tokens. Reports the CPU time of building the
placement, of the analytic answer (overlap counts and bounds) and of the Monte Carlo, the Monte
Carlo's own reported peak working set (``peak_bytes``) and the peak of Python allocations measured
by ``tracemalloc`` over the whole point (numpy's arrays included). Prints a markdown table and writes
``benchmarks/results/placement.json``.

    .venv/bin/python benchmarks/bench_placement.py [--quick] [--large]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pbs_sim.analytic.placement import loss_given_failures
from pbs_sim.analytic.placement_mc import monte_carlo
from pbs_sim.io import provenance, write_json
from pbs_sim.placement import PlacementSpec, build

HERE = Path(__file__).resolve().parent


def point(spec: PlacementSpec, f: int, trials: int) -> dict[str, Any]:
    tracemalloc.start()
    t0 = time.process_time()
    pl = build(spec)
    t1 = time.process_time()
    a = loss_given_failures(pl, f)
    t2 = time.process_time()
    mc = monte_carlo(pl, SimpleNamespace(kind="fixed", failed_nodes=f), trials, seed=1)
    t3 = time.process_time()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"placement": spec.kind, "nodes": spec.nodes, "vnodes": spec.vnodes if spec.kind == "token_ring" else None,
            "replica_sets": pl.m, "failed_nodes": f, "trials": trials, "build_s": t1 - t0, "analytic_s": t2 - t1,
            "monte_carlo_s": t3 - t2, "total_s": t3 - t0, "p_loss": a.p, "p_loss_lower": a.lower,
            "p_loss_upper": a.upper, "mc_p_loss": mc.p, "mc_ci_low": mc.ci_low, "mc_ci_high": mc.ci_high,
            "mc_peak_mib": mc.peak_bytes / 2**20, "tracemalloc_peak_mib": peak / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 trials per point")
    ap.add_argument("--large", action="store_true", help="also 10,000 nodes x 256 tokens")
    args = ap.parse_args()
    trials = 1000 if args.quick else 10_000
    specs = [PlacementSpec(kind="token_ring", nodes=5000, vnodes=256),
             PlacementSpec(kind="copyset", nodes=5000, scatter_width=10),
             PlacementSpec(kind="window", nodes=5000, scatter_width=10, chunks=5_000_000)]
    if args.large:
        specs.append(PlacementSpec(kind="token_ring", nodes=10_000, vnodes=256))
    rows = [point(s, s.nodes // 100, trials) for s in specs]
    print(f"One point, 1 % of the nodes lost at once, {trials:,} Monte Carlo trials (CPU seconds, one core)\n")
    print("| placement | nodes | replica sets | build s | analytic s | Monte Carlo s | total s | P(loss) analytic | "
          "Monte Carlo (95 % CI) | MC peak MiB | tracemalloc peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for r in rows:
        name = f"token ring x {r['vnodes']}" if r["vnodes"] else r["placement"]
        print(f"| {name} | {r['nodes']:,} | {r['replica_sets']:,} | {r['build_s']:.2f} | {r['analytic_s']:.2f} | "
              f"{r['monte_carlo_s']:.2f} | {r['total_s']:.2f} | {r['p_loss']:.4g} [{r['p_loss_lower']:.4g}, "
              f"{r['p_loss_upper']:.4g}] | {r['mc_p_loss']:.4g} [{r['mc_ci_low']:.4g}, {r['mc_ci_high']:.4g}] | "
              f"{r['mc_peak_mib']:.0f} | {r['tracemalloc_peak_mib']:.0f} |")
    write_json(HERE / "results" / "placement.json", {"benchmark": "bench_placement", "quick": args.quick,
                                                     "rows": rows, "provenance": provenance()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
