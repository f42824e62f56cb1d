"""Cost of one Merkle exchange against the number of differing keys.

Two replicas of one key range of 100,000 keys differ in d keys (d = 0 .. 10,000, chosen at random);
for several tree shapes (depth x fan-out, leaves = fanout**depth) reports what ``pbs_sim.sim.merkle.exchange``
counts — messages, round trips, hashes compared, keys streamed (all keys under differing leaves, both
ways), bytes (8-byte hashes, 16-byte keys, 1,024-byte values) — and the CPU time of the comparison
itself. The simulated time of an exchange is ``2 * round_trips + 1`` one-way delays of ``latency.other``.
Also times the O(depth) incremental update. Prints markdown tables and writes
``benchmarks/results/merkle.json``.

    .venv/bin/python benchmarks/bench_merkle.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pbs_sim.io import provenance, write_json
from pbs_sim.sim.merkle import MerkleTree, exchange

HERE = Path(__file__).resolve().parent
SHAPES = ((10, 2), (16, 2), (5, 4), (3, 16))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    keys = 10_000 if args.quick else 100_000
    diffs = [0, 1, 10, 100, 1000] + ([] if args.quick else [10_000])
    rng = np.random.default_rng(1)
    rows: list[dict[str, Any]] = []
    update_us: dict[str, float] = {}
    for depth, fanout in SHAPES:
        base = {k: 1 for k in range(keys)}
        a = MerkleTree.from_items(base, depth, fanout)
        t0 = time.process_time()
        for k in range(20_000):
            a.set(k % keys, 2)
            a.set(k % keys, 1)
        update_us[f"{depth}x{fanout}"] = (time.process_time() - t0) / 40_000 * 1e6
        for d in diffs:
            b = MerkleTree.from_items(base, depth, fanout)
            for k in rng.choice(keys, size=d, replace=False):
                b.set(int(k), 2)
            reps = 5
            t0 = time.process_time()
            for _ in range(reps):
                r = exchange(a, b)
            cpu_ms = (time.process_time() - t0) / reps * 1e3
            assert len(r.differing_keys) == d
            rows.append({
                "depth": depth, "fanout": fanout, "leaves": fanout**depth, "keys": keys, "differing_keys": d,
                "differing_leaves": len(r.differing_leaves), "messages": r.messages, "round_trips": r.round_trips,
                "hashes_compared": r.hashes_compared, "keys_sent": r.keys_sent, "bytes_sent": r.bytes_sent,
                "hash_bytes_sent": r.hash_bytes_sent, "cpu_ms": cpu_ms,
            })
    print(f"One exchange between two replicas of a {keys:,}-key range differing in d keys\n")
    print("| depth x fanout (leaves) | d | differing leaves | messages | round trips | hashes compared | keys sent | bytes sent | CPU ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['depth']} x {r['fanout']} ({r['leaves']:,}) | {r['differing_keys']:,} | {r['differing_leaves']:,} | "
              f"{r['messages']} | {r['round_trips']} | {r['hashes_compared']:,} | {r['keys_sent']:,} | "
              f"{r['bytes_sent']:,} | {r['cpu_ms']:.2f} |")
    print("\nincremental update (one key's leaf-to-root path), microseconds: "
          + ", ".join(f"{k}: {v:.1f}" for k, v in update_us.items()))
    write_json(HERE / "results" / "merkle.json", {
        "benchmark": "bench_merkle", "quick": args.quick, "rows": rows, "update_us": update_us,
        "provenance": provenance(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
