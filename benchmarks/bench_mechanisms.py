"""Every mechanism's simulator throughput next to plain, in the same process (issue 21, target 2).

The scenario is bench_sim's (N = 3 on 3 nodes, R = W = 1, all fan-out, lnkd-disk, open Poisson
workload at 20,000 ops/s, 90 % reads, 10,000 zipf keys) with one mechanism turned on at a time.
Plain runs before every mechanism and its median is the reference, so a load change on the shared
machine moves both sides. Reported: client operations per CPU second of ``Model.run()`` (metrics
excluded, as in bench_sim) and the ratio to plain; the target is >= 0.6 for every row. Prints a
markdown table and writes ``benchmarks/results/mechanisms.json``.

    .venv/bin/python benchmarks/bench_mechanisms.py            # 10^5 operations per run
    .venv/bin/python benchmarks/bench_mechanisms.py --quick    # 3 x 10^4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import plain_raw  # noqa: E402  (the one plain scenario every row is compared with)

HERE = Path(__file__).resolve().parent
TARGET = 0.6

#: name -> the sections a mechanism adds to (or changes in) the plain scenario
MECHANISMS: dict[str, dict[str, dict[str, Any]]] = {
    "dvv": {"cluster": {"versioning": "dvv"}},
    "vv-client": {"cluster": {"versioning": "vv-client"}},
    "vv-node-naive": {"cluster": {"versioning": "vv-node-naive"}},
    "vv-node": {"cluster": {"versioning": "vv-node"}},
    "read repair (async)": {"read_repair": {"mode": "async", "window_ms": 50}},
    "merkle anti-entropy": {"anti_entropy": {"mode": "merkle", "interval": "exponential(mean=100)", "tree_depth": 10}},
    "gossip anti-entropy": {"anti_entropy": {"mode": "gossip-push-pull", "interval": "exponential(mean=100)"}},
    "crashes + message loss": {"faults": {"crash_mttf_ms": 2000, "crash_mttr_ms": 200, "message_loss": 0.01}},
    "skewed clocks": {"clocks": {"offset": "normal(0, 5)", "drift_ppm": "normal(0, 50)"}},
    "sloppy quorum + hints": {
        "cluster": {"sloppy_quorum": True},
        "failure_detector": {"mode": "delay", "detect_delay": "constant(5)"},
        "hinted_handoff": {"store": "fallback", "inactivity_timeout_ms": 10, "interval_ms": 100},
        "faults": {"crash_mttf_ms": 2000, "crash_mttr_ms": 200},
    },
    "read-modify-write": {"workload": {"write_pattern": "rmw"}},
    "preload": {"workload": {"preload": True, "preload_rate_per_s": 200_000}},
}


def raw_for(ops: int, extra: dict[str, dict[str, Any]], seed: int = 1) -> dict[str, Any]:
    raw = plain_raw(ops, seed)
    for section, body in extra.items():
        raw[section] = {**raw.get(section, {}), **body}
    return raw


def ops_per_cpu_s(raw: dict[str, Any], seed: int = 1) -> tuple[float, int]:
    model = build(scenario_from_dict(raw), Streams(seed))
    t0 = time.process_time()
    history = model.run()
    cpu = time.process_time() - t0
    return history.n_ops / cpu, history.n_ops


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 x 10^4 operations per run")
    ap.add_argument("--only", action="append", default=[], help="run only this mechanism (repeatable)")
    args = ap.parse_args()
    ops = 30_000 if args.quick else 100_000
    plain_runs: list[float] = []
    rows: list[dict[str, Any]] = []
    for name, extra in MECHANISMS.items():
        if args.only and name not in args.only:
            continue
        plain_runs.append(ops_per_cpu_s(raw_for(ops, {}))[0])
        rate, n = ops_per_cpu_s(raw_for(ops, extra))
        rows.append({"mechanism": name, "ops": n, "ops_per_cpu_s": rate, "plain_before": plain_runs[-1]})
    plain_runs.append(ops_per_cpu_s(raw_for(ops, {}))[0])
    plain = statistics.median(plain_runs)
    print(f"plain: median {plain:,.0f} ops / CPU s over {len(plain_runs)} runs "
          f"({min(plain_runs):,.0f}-{max(plain_runs):,.0f})\n")
    print("| mechanism | ops / CPU s | vs plain (median) | vs the plain run just before |")
    print("|---|---:|---:|---:|")
    for r in rows:
        r["ratio"] = r["ops_per_cpu_s"] / plain
        r["ratio_adjacent"] = r["ops_per_cpu_s"] / r["plain_before"]
        print(f"| {r['mechanism']} | {r['ops_per_cpu_s']:,.0f} | {r['ratio']:.2f} | {r['ratio_adjacent']:.2f} |")
    short = [r["mechanism"] for r in rows if r["ratio"] < TARGET]
    print(f"\ntarget >= {TARGET} of plain for every mechanism: {'met' if not short else 'NOT met: ' + ', '.join(short)}")
    write_json(HERE / "results" / "mechanisms.json", {
        "benchmark": "bench_mechanisms", "quick": args.quick, "ops": ops, "plain_median_ops_per_cpu_s": plain,
        "plain_runs": plain_runs, "rows": rows, "target": TARGET, "provenance": provenance(),
        "setup": "bench_sim's scenario (N=3 on 3 nodes, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, 90% reads, "
                 "10^4 zipf keys) with one mechanism on at a time",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
