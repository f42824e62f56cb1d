"""Simulator throughput with sloppy quorums, hinted handoff and the failure detector on (issue 12).

The scenario of ``bench_sim.py`` (R = W = 1, all fan-out, lnkd-disk, open Poisson workload at
20,000 ops/s, 90 % reads, 10,000 zipf keys) on a 6-node ring (N = 3, so there are fallbacks), run
three times in this process:

- **plain**: no faults, no detector, strict quorums (the figure the others are compared with);
- **strict + crashes**: transient crashes (per node every 2 s, 300 ms) with a detector (50 ms
  detection delay) — what a strict store pays for the same faults;
- **sloppy + hinted handoff + crashes**: the same crashes, sloppy quorums, fallback hints swept
  every 100 ms (no inactivity wait, 1 MiB/s throttle).

Reports client operations per CPU second of ``Model.run()`` (metrics excluded, as in bench_sim)
and, separately, the CPU time of the issue-12 metrics. Prints a markdown table and writes
``benchmarks/results/sloppy.json``.

    .venv/bin/python benchmarks/bench_sloppy.py [--quick]
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
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.simulation import mechanism_metrics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import plain_raw  # noqa: E402  (the same plain scenario)

HERE = Path(__file__).resolve().parent
CRASHES: dict[str, Any] = {"crash_mttf_ms": 2000, "crash_mttr_ms": 300}
DETECTOR: dict[str, Any] = {"mode": "delay", "detect_delay": 50, "recover_delay": 50}
HANDOFF: dict[str, Any] = {"store": "fallback", "interval_ms": 100, "inactivity_timeout_ms": 0}


def scenario(ops: int, mode: str, seed: int = 1) -> dict[str, Any]:
    raw = plain_raw(ops, seed)
    raw["cluster"] = {**raw["cluster"], "nodes": 6}
    if mode != "plain":
        raw["faults"] = CRASHES
        raw["failure_detector"] = DETECTOR
    if mode == "sloppy":
        raw["cluster"]["sloppy_quorum"] = True
        raw["hinted_handoff"] = HANDOFF
    return raw


def run(ops: int, mode: str, seed: int = 1) -> dict[str, Any]:
    sc = scenario_from_dict(scenario(ops, mode, seed))
    model = build(sc, Streams(seed))
    t0 = time.process_time()
    history = model.run()
    cpu = time.process_time() - t0
    t1 = time.process_time()
    ops_f = history.to_frame("ops")
    outcomes = st_m.read_outcomes(ops_f, 0.0)
    summary, _ = mechanism_metrics(sc, history, ops_f, outcomes, end_at=float(model.env.now))
    metrics_s = time.process_time() - t1
    sent = dict(model.network.sent)
    return {
        "mode": mode, "ops": history.n_ops, "cpu_s": cpu, "ops_per_cpu_s": history.n_ops / cpu,
        "messages": sum(sent.values()), "messages_by_kind": sent, "metrics_cpu_s": metrics_s,
        "availability": float((ops_f["status"] == "ok").mean()),
        **{k: summary.get(k, 0.0) for k in ("sloppy_writes", "fallback_reads", "hints_stored", "hints_delivered",
                                            "handoff_bytes", "fault_crashes")},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 x 10^4 operations instead of 10^5")
    args = ap.parse_args()
    ops = 20_000 if args.quick else 100_000
    rows = [run(ops, m) for m in ("plain", "strict", "sloppy")]
    plain = rows[0]["ops_per_cpu_s"]
    print("| mode | operations | CPU s (run) | ops / CPU s | vs plain | availability | hints stored / delivered | metrics CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | "
              f"{r['ops_per_cpu_s'] / plain:.2f} | {r['availability']:.4f} | "
              f"{r['hints_stored']:,.0f} / {r['hints_delivered']:,.0f} | {r['metrics_cpu_s']:.2f} |")
    write_json(HERE / "results" / "sloppy.json", {
        "benchmark": "bench_sloppy", "quick": args.quick, "rows": rows,
        "extras": {"faults": CRASHES, "failure_detector": DETECTOR, "hinted_handoff": HANDOFF},
        "provenance": provenance(),
        "setup": "bench_sim's scenario on 6 nodes: N=3, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, 90% reads",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
