"""Throughput under DVV next to LWW in the same run, and the checker's throughput (issue 11).

The scenario is bench_sim.py's (N = 3 on 3 nodes, R = W = 1, all fan-out, lnkd-disk, open 20,000
ops/s, 90 % reads, 10^4 zipf keys, one client-side coordinator). "dvv" sets
``cluster.versioning = "dvv"`` (sibling sets on replicas, session contexts as policy states, the
causal_parents / read_versions / read_siblings / write_siblings / final_versions tables). Runs
alternate (lww, dvv, lww, dvv, ...) and each keeps its best CPU time (``Model.run()`` only).
Then ``pbs_sim.check`` runs on a DVV history and on an LWW history of ``--check-ops`` operations
(default 10^6 asked, about 1.5 x 10^6 recorded: a hot-key read-modify-write mix on 1,000 zipf keys
from 1,000 clients through random coordinators on 5 nodes, so that siblings, parents and LWW losses
exist), each timed in CPU seconds from the History (conversion to frames included), one cold call
in a fresh process (peak RSS: its growth over the simulation's).
Writes ``benchmarks/results/siblings.json``.

    .venv/bin/python benchmarks/bench_siblings.py            # 2 x 10^5 ops, 3 rounds; check 10^6
    .venv/bin/python benchmarks/bench_siblings.py --quick    # 2 x 10^4, 2 rounds; check 10^5
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pbs_sim.checker import check
from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_sim import plain_raw  # noqa: E402


def run(ops: int, versioning: str) -> dict[str, Any]:
    raw = plain_raw(ops)
    raw["cluster"]["versioning"] = versioning
    model = build(scenario_from_dict(raw), Streams(1))
    t0 = time.process_time()
    history = model.run()
    cpu = time.process_time() - t0
    return {"ops": history.n_ops, "cpu_s": cpu, "ops_per_cpu_s": history.n_ops / cpu,
            "history_bytes_per_op": history.nbytes() / max(1, history.n_ops)}


def checker(ops: int, versioning: str = "dvv") -> dict[str, Any]:
    raw = plain_raw(ops)
    raw["cluster"].update(versioning=versioning, coordinator="random", nodes=5)
    raw["workload"].update(keys=1000, read_fraction=0.5, write_pattern="rmw", clients=1000)
    model = build(scenario_from_dict(raw), Streams(2))
    t0 = time.process_time()
    history = model.run()
    sim_cpu = time.process_time() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    report = check(history)
    cpu = time.process_time() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"versioning": versioning, "ops": history.n_ops, "sim_cpu_s": sim_cpu, "check_cpu_s": cpu, "ops_per_cpu_s": history.n_ops / cpu,
            "peak_rss_increase_mb": (rss1 - rss0) / 1024, "ok": report.ok,
            "findings": {k: f.count for k, f in report.findings.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--check-ops", type=int, default=None)
    args = ap.parse_args()
    ops, rounds = (20_000, 2) if args.quick else (200_000, 3)
    check_ops = args.check_ops or (100_000 if args.quick else 1_000_000)
    best: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for v in ("lww", "dvv"):
            r = run(ops, v)
            if v not in best or r["cpu_s"] < best[v]["cpu_s"]:
                best[v] = r
    ratio = best["dvv"]["ops_per_cpu_s"] / best["lww"]["ops_per_cpu_s"]
    print("| policy | operations | CPU s | ops / CPU s | history B/op |")
    print("|---|---:|---:|---:|---:|")
    for v in ("lww", "dvv"):
        r = best[v]
        print(f"| {v} | {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | {r['history_bytes_per_op']:.0f} |")
    print(f"\nratio dvv / lww: {ratio:.2f} (aim >= 0.6: {'met' if ratio >= 0.6 else 'NOT met'})")
    checks = {}
    for v in ("dvv", "lww"):  # each in a fresh process: its own peak RSS, no heap left by the other
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            checks[v] = pool.submit(checker, check_ops, v).result()
    for v, c in checks.items():
        print(f"checker on a {c['ops']:,}-operation {v.upper()} history: {c['check_cpu_s']:.2f} CPU s = "
              f"{c['ops_per_cpu_s']:,.0f} ops per CPU s (aim >= 100,000: "
              f"{'met' if c['ops_per_cpu_s'] >= 100_000 else 'NOT met'}); peak RSS +{c['peak_rss_increase_mb']:.0f} MB; "
              f"ok = {c['ok']}")
    write_json(HERE / "results" / "siblings.json", {
        "benchmark": "bench_siblings", "quick": args.quick, "rounds": rounds, "lww": best["lww"], "dvv": best["dvv"],
        "ratio": ratio, "checker": checks["dvv"], "checker_lww": checks["lww"], "provenance": provenance(),
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
