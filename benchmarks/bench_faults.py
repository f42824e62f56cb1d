"""Simulator throughput with faults, read repair and anti-entropy on, next to the plain simulator.

Same setup as ``bench_sim.py`` (N = 3 on 3 nodes, R = W = 1, all fan-out, lnkd-disk, open Poisson
workload at 20,000 ops/s, 90 % reads, 10,000 zipf keys), run twice in this process:

- **plain**: no faults, read repair off, anti-entropy off;
- **faults + repair + anti-entropy**: transient crashes (per node every 2 s, 200 ms), disk loss (per
  node every 10 s, replaced after 500 ms), 1 % message loss, asynchronous read repair (window 50 ms),
  Merkle anti-entropy (depth 10, each node every 100 ms on average).

Reports client operations per CPU second of ``Model.run()`` (metrics excluded, as in bench_sim), the
extra messages the mechanisms send, and separately the CPU time of the issue-5 metrics
(durability replay, repair, stale-read causes). Prints a markdown table and writes
``benchmarks/results/faults.json``.

    .venv/bin/python benchmarks/bench_faults.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.metrics import staleness as st_m
from pbs_sim.simulation import mechanism_metrics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import plain_raw, timed_run  # noqa: E402  (the same plain scenario, so "vs plain" compares like with like)

HERE = Path(__file__).resolve().parent
EXTRAS: dict[str, Any] = {
    "faults": {"crash_mttf_ms": 2000, "crash_mttr_ms": 200, "disk_loss_mttf_ms": 10000, "replace_ms": 500,
               "message_loss": 0.01},
    "read_repair": {"mode": "async", "window_ms": 50},
    "anti_entropy": {"mode": "merkle", "interval": "exponential(mean=100)", "tree_depth": 10},
}


def run(ops: int, with_faults: bool, seed: int = 1) -> dict[str, Any]:
    raw = plain_raw(ops, seed)
    if with_faults:
        raw.update(EXTRAS)
    sc = scenario_from_dict(raw)
    model, history, build_s, cpu = timed_run(sc, seed)
    sent = dict(model.network.sent)
    t1 = time.process_time()
    ops_f = history.to_frame("ops")
    outcomes = st_m.read_outcomes(ops_f, 0.0)
    summary, _ = mechanism_metrics(sc, history, ops_f, outcomes, end_at=float(model.env.now))
    metrics_s = time.process_time() - t1
    client_msgs = sum(v for k, v in sent.items() if k in ("W", "A", "R", "S"))
    return {
        "mode": "faults+repair+anti-entropy" if with_faults else "plain", "ops": history.n_ops,
        "cpu_s": cpu, "build_cpu_s": build_s, "ops_per_cpu_s": history.n_ops / cpu,
        "messages": sum(sent.values()), "client_messages": client_msgs,
        "extra_messages": sum(sent.values()) - client_msgs, "messages_by_kind": sent,
        "issue5_metrics_cpu_s": metrics_s,
        "repairs_sent": summary.get("repairs_sent", 0.0), "ae_exchanges": summary.get("ae_exchanges", 0.0),
        "fault_crashes": summary.get("fault_crashes", 0.0), "fault_disk_losses": summary.get("fault_disk_losses", 0.0),
        "lost_writes": summary.get("lost_writes", 0.0),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 x 10^4 operations instead of 10^5")
    args = ap.parse_args()
    ops = 20_000 if args.quick else 100_000
    rows = [run(ops, False), run(ops, True)]
    plain = rows[0]["ops_per_cpu_s"]
    print("| mode | operations | CPU s (run) | ops / CPU s | vs plain | messages (extra) | issue-5 metrics CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | "
              f"{r['ops_per_cpu_s'] / plain:.2f} | {r['messages']:,} ({r['extra_messages']:,}) | "
              f"{r['issue5_metrics_cpu_s']:.2f} |")
    f = rows[1]
    print(f"\nwith faults: {f['fault_crashes']:.0f} crashes, {f['fault_disk_losses']:.0f} disk losses, "
          f"{f['repairs_sent']:.0f} read repairs, {f['ae_exchanges']:.0f} anti-entropy exchanges, "
          f"{f['lost_writes']:.0f} lost writes")
    write_json(HERE / "results" / "faults.json", {
        "benchmark": "bench_faults", "quick": args.quick, "rows": rows, "extras": EXTRAS,
        "provenance": provenance(),
        "setup": "as bench_sim: N=3 on 3 nodes, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, 90% reads, 10^4 zipf keys",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
