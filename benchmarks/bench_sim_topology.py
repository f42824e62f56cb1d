"""Cost of datacenters in the simulator (issue 19): client operations per CPU second, single-DC and
3-DC, measured in the same run.

Three scenarios on ``bench_sim.plain_raw``'s workload (open Poisson at 20,000 ops/s, 90 % reads,
10,000 zipf keys, lnkd-disk, client-side coordinators), timed with ``bench_sim.timed_run`` (CPU time
of ``Model.run()`` only, metrics excluded), best of ``--repeats`` runs each, interleaved:

* ``flat``: N = 3 on 3 nodes, R = W = 1, fan-out all -- bench_sim's own scenario;
* ``one-dc``: the same as a one-datacenter topology (one rack, zero links): the same operations
  row for row (tests/test_sim_topology.py), through the topology's code path;
* ``3-dc``: three datacenters of 3 nodes on 3 racks, RF 3 each (N = 9), LOCAL_QUORUM reads and
  writes (each write still goes to all 9 replicas; each read to its 3 local ones), the AWS 2017
  inter-region delays between us-east-1, eu-west-1 and ap-northeast-1, 0.5 ms between racks.

Prints a markdown table and writes ``benchmarks/results/sim_topology.json``.

    .venv/bin/python benchmarks/bench_sim_topology.py            # 2 x 10^5 operations per run
    .venv/bin/python benchmarks/bench_sim_topology.py --quick    # 2 x 10^4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench_sim import plain_raw, timed_run

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json

HERE = Path(__file__).resolve().parent


def scenarios(ops: int) -> dict[str, dict[str, Any]]:
    flat = plain_raw(ops)
    one = {**flat, "topology": {"datacenters": [{"name": "dc1", "nodes": 3, "racks": 1, "replication": 3}]}}
    three = {
        **flat,
        "cluster": {**flat["cluster"], "nodes": 9, "replication": 9},
        "topology": {"wan": "aws-2017", "intra_dc": "constant(0.5)", "datacenters": [
            {"name": name, "nodes": 3, "racks": 3, "replication": 3}
            for name in ("us-east-1", "eu-west-1", "ap-northeast-1")]},
        "consistency": {"read": "LOCAL_QUORUM", "write": "LOCAL_QUORUM"},
    }
    three["cluster"].pop("read_quorum")
    three["cluster"].pop("write_quorum")
    return {"flat": flat, "one-dc": one, "3-dc": three}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 x 10^4 operations per run")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ops = 20_000 if args.quick else 200_000
    raws = scenarios(ops)
    best: dict[str, dict[str, Any]] = {}
    for rep in range(args.repeats):
        for name, raw in raws.items():
            sc = scenario_from_dict(raw)
            model, history, _, run_s = timed_run(sc, 1 + rep)
            row = {"ops": history.n_ops, "cpu_s": run_s, "ops_per_cpu_s": history.n_ops / run_s,
                   "messages_per_op": sum(model.network.sent.values()) / max(1, history.n_ops)}
            if name not in best or row["ops_per_cpu_s"] > best[name]["ops_per_cpu_s"]:
                best[name] = row
    print("| scenario | operations | CPU s | ops / CPU s | messages / op | vs flat |")
    print("|---|---:|---:|---:|---:|---:|")
    base = best["flat"]["ops_per_cpu_s"]
    for name, r in best.items():
        print(f"| {name} | {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | {r['messages_per_op']:.1f} | "
              f"{r['ops_per_cpu_s'] / base:.2f} |")
    write_json(HERE / "results" / "sim_topology.json", {
        "benchmark": "bench_sim_topology", "quick": args.quick, "repeats": args.repeats, "rows": best,
        "provenance": provenance(),
        "setup": "bench_sim's open workload; flat N=3; the same as one DC; 3 DCs x 3 nodes x 3 racks, RF 3 each, "
                 "LOCAL_QUORUM, aws-2017 links, 0.5 ms between racks",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
