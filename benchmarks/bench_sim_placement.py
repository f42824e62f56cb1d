"""The simulator on 200 nodes with a ``[placement]`` ring, next to the plain (hashed-token) ring.

bench_sim's workload (R = W = 1, all fan-out, lnkd-disk, open Poisson at 20,000 ops/s, 90 % reads,
10,000 zipf keys) on a 200-node cluster with N = 3, run once per ring in this process:

- **plain**: today's ring (``cluster.vnodes = 8`` hashed tokens per node);
- **token_ring V = 256** (Cassandra's old ``num_tokens``), **token_ring V = 16**, **fixed_ring Q = 256**,
  **copyset S = 10**, **random 1000 chunks/node**: ``[placement]`` rings (pbs_sim.sim.ring);
- **copyset S = 10 + outage**: the same with a scripted power outage of every node at mid-run (1 %
  do not survive the reboot), and the durability metrics' replay of the run.

Reports the CPU seconds of building the model (the ring's construction is most of it), of
``Model.run()`` and client operations per CPU second of the run. Prints a markdown table and writes
``benchmarks/results/sim_placement.json``. A benchmark, not a timed test.

    .venv/bin/python benchmarks/bench_sim_placement.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.metrics import durability as dur_m
from pbs_sim.metrics.order import store_order

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import plain_raw, timed_run  # noqa: E402  (the same workload, so "vs plain" compares like with like)

HERE = Path(__file__).resolve().parent
NODES = 200
RINGS: list[tuple[str, dict[str, Any] | None]] = [
    ("plain (8 hashed tokens/node)", None),
    ("token_ring V = 256", {"kind": "token_ring", "vnodes": 256}),
    ("token_ring V = 16", {"kind": "token_ring", "vnodes": 16}),
    ("fixed_ring Q = 256", {"kind": "fixed_ring", "ring_size": 256}),
    ("copyset S = 10", {"kind": "copyset", "scatter_width": 10}),
    ("random 1000 chunks/node", {"kind": "random"}),
]


def run(label: str, placement: dict[str, Any] | None, ops: int, outage: bool = False, seed: int = 1) -> dict[str, Any]:
    raw = plain_raw(ops, seed)
    raw["cluster"]["nodes"] = NODES
    if placement is not None:
        raw["placement"] = placement
    if outage:
        mid = raw["workload"]["duration_ms"] / 2
        raw["faults"] = {"replace_ms": 1e9, "schedule": [
            {"at_ms": mid, "action": "outage", "fraction": 1.0, "no_reboot_probability": 0.01, "duration_ms": 50.0}]}
    sc = scenario_from_dict(raw)
    model, history, build_s, cpu = timed_run(sc, seed)
    row = {"ring": label + (" + outage" if outage else ""), "ops": history.n_ops, "build_cpu_s": build_s,
           "run_cpu_s": cpu, "ops_per_cpu_s": history.n_ops / cpu}
    if outage:
        t1 = time.process_time()
        frames = history.frames()
        d = dur_m.durability(frames, 3, float(model.env.now), order=store_order(frames))
        row["durability_cpu_s"] = time.process_time() - t1
        row["lost_writes"] = int(d["writes"]["lost"].sum())
        row["keys_lost"] = len(d["losses"])
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 x 10^4 operations instead of 10^5")
    args = ap.parse_args()
    ops = 20_000 if args.quick else 100_000
    rows = [run(label, pl, ops) for label, pl in RINGS]
    rows.append(run("copyset S = 10", {"kind": "copyset", "scatter_width": 10}, ops, outage=True))
    plain = rows[0]["ops_per_cpu_s"]
    print("| ring (200 nodes, N = 3) | operations | build CPU s | run CPU s | ops / CPU s | vs plain |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['ring']} | {r['ops']:,} | {r['build_cpu_s']:.2f} | {r['run_cpu_s']:.2f} | "
              f"{r['ops_per_cpu_s']:,.0f} | {r['ops_per_cpu_s'] / plain:.2f} |")
    o = rows[-1]
    print(f"\noutage: {o['keys_lost']} keys lost, {o['lost_writes']} lost writes; durability replay "
          f"{o['durability_cpu_s']:.2f} CPU s")
    write_json(HERE / "results" / "sim_placement.json", {
        "benchmark": "bench_sim_placement", "quick": args.quick, "rows": rows, "provenance": provenance(),
        "setup": f"bench_sim's workload on {NODES} nodes, N=3, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, "
                 "90% reads, 10^4 zipf keys",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
