"""Per-trial cost of the multi-datacenter WARS predictor against the single-DC one (issue 19).

For each case, the multi-DC prediction (``pbs_sim.analytic.multidc.predict_dc_pair``, one (write DC,
read DC) pair) and the single-DC prediction (``pbs_sim.analytic.wars.predict``) with the same N,
profile (lnkd-disk) and trials, in the same run, one core; CPU seconds (``time.process_time``),
the minimum of ``--repeats``. The ratio multi / single is the figure README quotes (the issue asks
for at most 2x). Cases: 2 DCs (RF 3 + 3) and 3 DCs (RF 3 + 3 + 3) on the measured aws-2017 links
(constant laws), 2 DCs with a random (lognormal) WAN law and 3 racks per DC, at LOCAL_QUORUM /
EACH_QUORUM / QUORUM. Prints a markdown table and writes ``benchmarks/results/multidc.json``.

    .venv/bin/python benchmarks/bench_multidc.py            # 10^6 trials per prediction (~1 minute)
    .venv/bin/python benchmarks/bench_multidc.py --quick    # 10^5 (smoke test)
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from typing import Any

from pbs_sim.analytic.multidc import predict_dc_pair
from pbs_sim.analytic.wars import predict
from pbs_sim.distributions import parse
from pbs_sim.io import provenance, write_json
from pbs_sim.levels import resolve
from pbs_sim.topology import Datacenter, Link, TopologyConfig

HERE = Path(__file__).resolve().parent
PROFILE = "lnkd-disk"
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")


def topology(dcs: int, racks: int = 1, wan_law: str | None = None) -> TopologyConfig:
    names = REGIONS[:dcs]
    links = ()
    if wan_law is not None:
        links = tuple(Link((a, b), parse(wan_law)) for i, a in enumerate(names) for b in names[i + 1:])
    return TopologyConfig(
        datacenters=tuple(Datacenter(x, nodes=3, racks=racks, replication=3) for x in names),
        intra_dc=parse("constant(0.25)") if racks > 1 else parse("constant(0)"),
        wan="aws-2017", links=links,
    )


CASES: list[tuple[str, int, int, str | None, str, str]] = [
    # label, DCs, racks, WAN law override, read level, write level
    ("2 DCs, LOCAL_QUORUM / LOCAL_QUORUM", 2, 1, None, "LOCAL_QUORUM", "LOCAL_QUORUM"),
    ("2 DCs, LOCAL_QUORUM / EACH_QUORUM", 2, 1, None, "LOCAL_QUORUM", "EACH_QUORUM"),
    ("2 DCs, 3 racks, lognormal WAN, QUORUM / QUORUM", 2, 3, "lognormal(median=40, sigma=0.2)", "QUORUM", "QUORUM"),
    ("3 DCs, LOCAL_ONE / EACH_QUORUM", 3, 1, None, "LOCAL_ONE", "EACH_QUORUM"),
    ("3 DCs, 3 racks, lognormal WAN, LOCAL_QUORUM / QUORUM", 3, 3, "lognormal(median=60, sigma=0.2)",
     "LOCAL_QUORUM", "QUORUM"),
]


def cpu(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    trials = 100_000 if args.quick else 1_000_000
    predict(PROFILE, 3, 1, 1, trials=10_000, seed=0)  # warm up imports
    rows = []
    for label, dcs, racks, law, rl, wl in CASES:
        topo = topology(dcs, racks, law)
        rf = topo.replication()
        read = resolve(rl, "read", rf, REGIONS[1])
        write = resolve(wl, "write", rf, REGIONS[0])
        n = sum(rf.values())
        predict_dc_pair(PROFILE, topo, read, write, REGIONS[0], REGIONS[1], trials=trials // 10, seed=0)  # warm up
        multi = cpu(functools.partial(predict_dc_pair, PROFILE, topo, read, write, REGIONS[0], REGIONS[1],
                                      trials=trials, seed=1), args.repeats)
        single = cpu(functools.partial(predict, PROFILE, n, min(read.block_for, n), min(write.block_for, n),
                                       trials=trials, seed=1), args.repeats)
        rows.append({"case": label, "n": n, "trials": trials, "multi_cpu_s": multi, "single_cpu_s": single,
                     "ratio": multi / single, "multi_us_per_trial": 1e6 * multi / trials,
                     "single_us_per_trial": 1e6 * single / trials})
    print(f"| case (write in {REGIONS[0]}, read in {REGIONS[1]}) | N | multi-DC µs/trial | single-DC µs/trial | ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['n']} | {r['multi_us_per_trial']:.2f} | {r['single_us_per_trial']:.2f} | "
              f"{r['ratio']:.2f} |")
    if not args.quick:
        write_json(HERE / "results" / "multidc.json", {"profile": PROFILE, "rows": rows, "provenance": provenance()})


if __name__ == "__main__":
    main()
