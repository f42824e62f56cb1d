"""Throughput with clocks and causality tracking on, next to the plain simulator in the same run.

The scenario is bench_sim.py's (N = 3 on 3 nodes, R = W = 1, all fan-out, lnkd-disk, open 20,000
ops/s, 90 % reads, 10^4 zipf keys). "clocks + causality" adds client-side timestamps from one clock
per client (offsets normal(0, 10) ms, drift normal(0, 50) ppm, resynchronised every second with a
normal(0, 1) ms residual) and records every write's causal context (``causal_parents``,
``write_stamps``). Runs alternate (plain, tracked, plain, tracked, ...) and each variant keeps its
best CPU time (``time.process_time`` of ``Model.run()`` only), so machine noise hits both alike.
Also times the causality metrics (``pbs_sim.metrics.causality.analyse``: both orders, LWW loss,
lost updates, concurrent pairs) on the tracked history. Writes ``benchmarks/results/clocks.json``.

    .venv/bin/python benchmarks/bench_clocks.py            # 2 x 10^5 operations, 3 rounds
    .venv/bin/python benchmarks/bench_clocks.py --quick    # 2 x 10^4, 2 rounds (smoke test)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.metrics import causality
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_sim import plain_raw  # noqa: E402

CLOCKS = {"timestamp_source": "client", "offset": "normal(0, 10)", "drift_ppm": "normal(0, 50)",
          "resync_interval_ms": 1000, "resync_error": "normal(0, 1)", "causality": "on"}


def run(ops: int, tracked: bool) -> dict[str, Any]:
    raw = plain_raw(ops)
    if tracked:
        raw["clocks"] = CLOCKS
    model = build(scenario_from_dict(raw), Streams(1))
    t0 = time.process_time()
    history = model.run()
    cpu = time.process_time() - t0
    return {"ops": history.n_ops, "cpu_s": cpu, "ops_per_cpu_s": history.n_ops / cpu,
            "history_bytes_per_op": history.nbytes() / max(1, history.n_ops), "history": history}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    ops, rounds = (20_000, 2) if args.quick else (200_000, 3)
    best: dict[bool, dict[str, Any]] = {}
    for _ in range(rounds):
        for tracked in (False, True):
            r = run(ops, tracked)
            if tracked not in best or r["cpu_s"] < best[tracked]["cpu_s"]:
                best[tracked] = r
    hist = best[True].pop("history")
    best[False].pop("history")
    frames = hist.frames()
    t0 = time.process_time()
    res = causality.analyse(frames["ops"], frames)
    metrics_cpu = time.process_time() - t0
    ratio = best[True]["ops_per_cpu_s"] / best[False]["ops_per_cpu_s"]
    print("| variant | operations | CPU s | ops / CPU s | history B/op |")
    print("|---|---:|---:|---:|---:|")
    for name, tracked in (("plain", False), ("clocks + causality", True)):
        r = best[tracked]
        print(f"| {name} | {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | {r['history_bytes_per_op']:.0f} |")
    print(f"\nratio tracked / plain: {ratio:.2f} (aim >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}); causality "
          f"metrics on the tracked history: {metrics_cpu:.2f} CPU s = {hist.n_ops / metrics_cpu:,.0f} ops per CPU s "
          f"({len(res['lww_losses'])} LWW losses, {res['concurrent_write_pairs']} concurrent pairs)")
    write_json(HERE / "results" / "clocks.json", {
        "benchmark": "bench_clocks", "quick": args.quick, "rounds": rounds,
        "plain": best[False], "tracked": best[True], "ratio": ratio,
        "causality_metrics_cpu_s": metrics_cpu, "causality_metrics_ops_per_cpu_s": hist.n_ops / metrics_cpu,
        "clocks": CLOCKS, "provenance": provenance(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
