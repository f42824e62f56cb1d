"""Throughput of the discrete-event simulator: client operations per CPU second, next to bare SimPy.

Simulates N = 3 replicas on 3 nodes, reads and writes both sent to all N (R = W = 1, lnkd-disk
latencies, client-side coordinator), an open Poisson workload (90 % reads, 10,000 zipf keys), for
10^5 and 10^6 operations, and measures the CPU time (``time.process_time``) of ``Model.run()`` only
(metrics excluded). In the same process it times a bare SimPy loop — one ``env.timeout`` whose
callback schedules the next — as the reference event rate; the ratio of the simulator's message
events per CPU second to that rate shows how close to raw SimPy the model runs (each operation is
6 messages plus one arrival). Also reports the history's memory per operation, the peak RSS, the
ratio of simulated time to CPU time, and (issue 21) the whole ``pbs-sim run --ops`` command on the
same scenario — simulate, metrics, every table written — as operations per CPU second of the child
process. Issue 19: the same scenario with a 3-DC link table (``Network.set_links``; constant laws,
and random inter-DC laws), each next to a plain run, as the cost of per-link latency. Prints
markdown tables and writes ``benchmarks/results/sim.json``. Targets (issue 21):
>= 70,000 ops per CPU s for the run, >= 35,000 end to end.

    .venv/bin/python benchmarks/bench_sim.py            # 10^5 and 10^6 operations (about a minute)
    .venv/bin/python benchmarks/bench_sim.py --quick    # 10^4 and 10^5 (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import simpy

from pbs_sim.config import scenario_from_dict
from pbs_sim.io import provenance, write_json
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build

HERE = Path(__file__).resolve().parent
RATE_PER_S = 20_000.0


def bare_simpy(events: int) -> float:
    """Events per CPU second of a bare SimPy callback loop (timeout + callback that re-schedules)."""
    env = simpy.Environment()
    count = 0

    def tick(_ev: Any) -> None:
        nonlocal count
        count += 1
        if count < events:
            env.timeout(1.0).callbacks.append(tick)

    env.timeout(1.0).callbacks.append(tick)
    t0 = time.process_time()
    env.run()
    return events / (time.process_time() - t0)


def plain_raw(ops: int, seed: int = 1) -> dict[str, Any]:
    """The benchmark scenario (N = 3, R = W = 1, all fan-out, lnkd-disk, open zipf workload, 90 % reads)
    as a raw dict; bench_faults.py adds its mechanisms on top of the same one."""
    return {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1,
                    "read_fanout": "all", "write_fanout": "all", "coordinator": "client"},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"kind": "open", "keys": 10_000, "key_distribution": "zipf(s=0.99)", "read_fraction": 0.9,
                     "rate_per_s": RATE_PER_S, "duration_ms": ops / RATE_PER_S * 1000.0, "warmup_ms": 0.0},
        "run": {"seed": seed},
    }


def timed_run(sc: Any, seed: int) -> tuple[Any, Any, float, float]:
    """Build and run ``sc``: (model, history, build CPU s, run CPU s) -- the metrics are not timed."""
    t_build = time.process_time()
    model = build(sc, Streams(seed))
    build_s = time.process_time() - t_build
    t0 = time.process_time()
    history = model.run()
    return model, history, build_s, time.process_time() - t0


#: 3-DC link tables on the benchmark's 3 nodes (node d in DC d; the client endpoint -1 in DC 0): what
#: ``Network.set_links`` costs next to the plain network. "tiny-constant" and "tiny-random" add
#: delays too small to change the run's dynamics (about 0.01-0.05 ms), so they show the per-message
#: cost of the link part alone (a constant added without a draw; a draw from the link's own stream);
#: "wan" is a realistic table (10-40 ms between DCs): its operations stay in flight longer, so the
#: heap and the pending operations grow, and the run slows for that reason too.
LINK_LAWS: dict[str, dict[str, str]] = {
    "tiny-constant": {"intra_rack": "constant(0)", "intra_dc": "constant(0.01)", "a|b": "constant(0.02)",
                      "a|c": "constant(0.03)", "b|c": "constant(0.05)"},
    "tiny-random": {"intra_rack": "constant(0)", "intra_dc": "constant(0.01)", "a|b": "exponential(mean=0.02)",
                    "a|c": "exponential(mean=0.03)", "b|c": "exponential(mean=0.05)"},
    "wan": {"intra_rack": "constant(0)", "intra_dc": "constant(0.2)", "a|b": "shifted(exponential(mean=1), 10)",
            "a|c": "shifted(exponential(mean=2), 40)", "b|c": "lognormal(mu=3.55, sigma=0.1)"},
}


def _three_dc(src: int, dst: int) -> str:
    names = "abc"
    a, b = sorted((names[max(src, 0)], names[max(dst, 0)]))
    return "intra_rack" if a == b else f"{a}|{b}"


def simulate_ops(ops: int, seed: int = 1, links: str | None = None) -> dict[str, Any]:
    sc = scenario_from_dict(plain_raw(ops, seed))
    model = build(sc, Streams(seed))
    if links is not None:
        from pbs_sim.distributions import parse

        model.network.set_links(_three_dc, {k: parse(v) for k, v in LINK_LAWS[links].items()})
    t0, w0 = time.process_time(), time.perf_counter()
    history = model.run()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    messages = sum(model.network.sent.values())
    return {
        "links": links or "none", "ops": history.n_ops, "messages": messages, "cpu_s": cpu, "wall_s": wall,
        "sim_time_ms": history.facts.sim_time_ms, "sim_to_cpu": history.facts.sim_time_ms / 1000.0 / cpu,
        "ops_per_cpu_s": history.n_ops / cpu, "messages_per_cpu_s": messages / cpu,
        "history_bytes_per_op": history.nbytes() / max(1, history.n_ops),
        "history_mb": history.nbytes() / 2**20,
    }


def _toml(raw: dict[str, Any]) -> str:
    """The scenario dict as TOML (flat sections of numbers and strings: all plain_raw holds)."""
    lines = []
    for section, body in raw.items():
        lines.append(f"[{section}]")
        for k, v in body.items():
            lines.append(f"{k} = {json.dumps(v) if isinstance(v, str) else repr(v)}")
    return "\n".join(lines) + "\n"


def run_ops_cli(ops: int, seed: int = 1) -> dict[str, Any]:
    """``pbs-sim run SCENARIO --ops --out DIR`` in a child process: its user + system CPU seconds
    (interpreter start and imports included) and operations per CPU second."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(_toml(plain_raw(ops, seed)))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pbs_sim", "run", str(path), "--ops", "--out", str(Path(tmp) / "out"),
                        "--no-progress"], check=True, stdout=subprocess.DEVNULL, env={**os.environ}, cwd=tmp)
        # (cwd: ``-m`` puts the working directory first on sys.path; PYTHONPATH must pick the code)
        wall = time.perf_counter() - w0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"ops": ops, "cpu_s": cpu, "wall_s": wall, "ops_per_cpu_s": ops / cpu,
            "peak_rss_mb": after.ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 operations only")
    args = ap.parse_args()
    sizes = [10_000, 100_000] if args.quick else [100_000, 1_000_000]
    bare = max(bare_simpy(500_000) for _ in range(3))
    rows = [simulate_ops(ops) for ops in sizes]
    # the cost of per-link laws (Network.set_links), on the smaller size, each next to a plain run
    link_rows = []
    for kind in LINK_LAWS:
        plain = simulate_ops(sizes[0])
        linked = simulate_ops(sizes[0], links=kind)
        link_rows.append({**linked, "plain_ops_per_cpu_s": plain["ops_per_cpu_s"],
                          "vs_plain": linked["ops_per_cpu_s"] / plain["ops_per_cpu_s"]})
    cli = run_ops_cli(sizes[-1])
    bare = max(bare, *(bare_simpy(500_000) for _ in range(3)))  # best of runs before and after
    for r in rows:
        r["ratio_to_bare_simpy"] = r["messages_per_cpu_s"] / bare
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| operations | CPU s | ops / CPU s | messages / CPU s | vs bare SimPy events / CPU s | history MB (B/op) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['ops']:,} | {r['cpu_s']:.2f} | {r['ops_per_cpu_s']:,.0f} | {r['messages_per_cpu_s']:,.0f} | "
              f"{r['ratio_to_bare_simpy']:.2f} x {bare:,.0f} | {r['history_mb']:.1f} ({r['history_bytes_per_op']:.0f}) |")
    for r in rows:
        print(f"{r['ops']:,} operations: {r['sim_time_ms'] / 1000:.1f} s simulated in {r['cpu_s']:.2f} CPU s "
              f"= {r['sim_to_cpu']:.2f} simulated s per CPU s")
    print("\n| 3-DC link laws (set_links) | operations | ops / CPU s | plain run just before | ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in link_rows:
        print(f"| {r['links']} | {r['ops']:,} | {r['ops_per_cpu_s']:,.0f} | {r['plain_ops_per_cpu_s']:,.0f} | "
              f"{r['vs_plain']:.2f} |")
    print(f"\n`pbs-sim run --ops`, {cli['ops']:,} operations: {cli['cpu_s']:.2f} CPU s = {cli['ops_per_cpu_s']:,.0f} ops "
          f"per CPU s (target >= 35,000: {'met' if cli['ops_per_cpu_s'] >= 35_000 else 'NOT met'}), "
          f"peak RSS {cli['peak_rss_mb']:,.0f} MB")
    print(f"bare SimPy callback loop: {bare:,.0f} events per CPU second; peak RSS {peak_rss_mb:,.0f} MB; "
          f"target >= 70,000 ops per CPU second: {'met' if min(r['ops_per_cpu_s'] for r in rows) >= 70_000 else 'NOT met'}")
    write_json(HERE / "results" / "sim.json", {
        "benchmark": "bench_sim", "quick": args.quick, "bare_simpy_events_per_cpu_s": bare,
        "rows": rows, "link_rows": link_rows, "run_ops_cli": cli, "peak_rss_mb": peak_rss_mb, "provenance": provenance(),
        "setup": "N=3 on 3 nodes, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, 90% reads, 10^4 zipf keys",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
