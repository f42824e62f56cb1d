"""Elle (github.com/jepsen-io/elle) next to ``pbs_sim.check`` on the same simulated histories.

For each size it simulates bench_sim's scenario (N = 3, R = W = 1, all fan-out, lnkd-disk, open
20,000 ops/s, 90 % reads, 10,000 zipf keys) under LWW with the ops recorded, times
``pbs_sim.check`` on it (CPU s, ``time.process_time``), writes it with
``pbs_sim.export.write_jepsen(..., elle=True)`` (the shape of ``pbs-sim export DIR --elle``) and
runs Elle's ``elle.rw-register/check`` on it through ``benchmarks/elle_runner.clj`` -- in one JVM,
a 10^4-operation history first (JIT warm-up), then the history itself. Reported for Elle: the
check's own wall and CPU s (all threads; warm JVM, parsing excluded) and the whole JVM's wall and
CPU s (start, loading Elle, parsing, warm-up and check: what a user waits for). Sizes grow while
Elle's check takes under ``--stop-after`` seconds. Prints a markdown table and writes
``benchmarks/results/elle.json``.

This script never builds or downloads Elle: ``--elle CMD`` (or ``$ELLE_CMD``) is a command that
starts ``clojure.main`` with Elle and its dependencies on the classpath (e.g.
``java -Xmx8g -Djava.awt.headless=true -cp CLASSPATH clojure.main``); the script appends the runner,
Elle's options and the files. Without it, it says so in one line and exits 0.

    .venv/bin/python benchmarks/bench_elle.py --elle /path/to/elle-launcher
    .venv/bin/python benchmarks/bench_elle.py --quick          # 10^4 and 10^5 only
    .venv/bin/python benchmarks/bench_elle.py --sizes 10000 --elle-opts \\
        '{:consistency-models [:strict-serializable] :linearizable-keys? true}'
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_sim import plain_raw

from pbs_sim import check
from pbs_sim.config import scenario_from_dict
from pbs_sim.export import write_jepsen
from pbs_sim.io import provenance, write_json
from pbs_sim.simulation import simulate

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "elle_runner.clj"
SIZES = [10_000, 100_000, 300_000, 1_000_000]
#: Strict serializability over one-micro-op transactions: Elle's realtime graph plus the wr / ww /
#: rw edges it can infer without assuming anything of the keys (no ``:linearizable-keys?``).
DEFAULT_OPTS = "{:consistency-models [:strict-serializable]}"


def history(ops: int, versioning: str, seed: int = 1) -> dict[str, Any]:
    raw = plain_raw(ops, seed)
    raw["cluster"]["versioning"] = versioning
    return simulate(scenario_from_dict(raw), record_ops=True).frames()


def ours(frames: dict[str, Any]) -> dict[str, Any]:
    t0 = time.process_time()
    rep = check(frames)
    cpu = time.process_time() - t0
    n = len(frames["ops"])
    return {"cpu_s": cpu, "ops_per_cpu_s": n / cpu,
            "findings": {k: f.count for k, f in rep.findings.items()}}


def run_elle(cmd: list[str], opts: str, files: list[Path], timeout: float, cwd: Path) -> dict[str, Any]:
    """One JVM over ``files``; ``cwd`` a scratch folder (dom-top's loopr writes classes under ./classes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    try:
        proc = subprocess.run([*cmd, str(RUNNER), opts, *map(str, files)], capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=cwd)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or len(lines) != len(files):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:300]}"}
    return {"jvm_wall_s": wall, "jvm_cpu_s": cpu, "runs": lines}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elle", default=os.environ.get("ELLE_CMD"),
                    help="command starting clojure.main with Elle on the classpath (default $ELLE_CMD)")
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 operations only")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help=f"operations (default {SIZES})")
    ap.add_argument("--versioning", default="lww", help="cluster.versioning of the histories (default lww)")
    ap.add_argument("--elle-opts", default=DEFAULT_OPTS, help=f"options of elle.rw-register/check (EDN, default "
                    f"{DEFAULT_OPTS})")
    ap.add_argument("--stop-after", type=float, default=300.0,
                    help="stop growing once Elle's check takes longer than this (s, default 300)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="kill one Elle JVM after this (s, default 1800)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "elle.json")
    args = ap.parse_args()
    if not args.elle:
        print("bench_elle: no Elle given (pass --elle CMD or set ELLE_CMD); nothing measured.")
        return 0
    cmd = shlex.split(args.elle)
    if "/" in cmd[0] and Path(cmd[0]).exists():
        cmd[0] = str(Path(cmd[0]).resolve())  # the JVM runs in a scratch folder
    sizes = args.sizes or ([10_000, 100_000] if args.quick else SIZES)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-elle-") as tmp:
        warm = Path(tmp) / "warmup.edn"
        write_jepsen(history(10_000, args.versioning, seed=2), warm, elle=True)
        for n in sizes:
            frames = history(n, args.versioning)
            path = Path(tmp) / f"h{n}.edn"
            events = write_jepsen(frames, path, elle=True)
            row: dict[str, Any] = {"target_ops": n, "ops": len(frames["ops"]), "events": events,
                                   "ours": ours(frames)}
            del frames
            row["elle"] = run_elle(cmd, args.elle_opts, [warm, path], args.timeout, Path(tmp))
            rows.append(row)
            path.unlink()
            e = row["elle"]
            print(f"# {row['ops']:,} ops: " + (e["error"] if "error" in e else
                  f"Elle check {e['runs'][-1]['check_wall_s']:.1f} s wall, JVM {e['jvm_wall_s']:.1f} s; "
                  f"ours {row['ours']['cpu_s']:.2f} CPU s"), flush=True)
            if "error" in e or e["runs"][-1]["check_wall_s"] > args.stop_after:
                break
    print(f"\nElle options: {args.elle_opts}; versioning {args.versioning}\n")
    print("| operations | Elle check wall s | Elle check CPU s | Elle ops / s (wall) | Elle JVM wall / CPU s "
          "| ours CPU s | ours ops / CPU s | Elle anomalies | our findings |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        e, o = r["elle"], r["ours"]
        found = ", ".join(f"{k} {v:,}" for k, v in o["findings"].items() if v) or "none"
        if "error" in e:
            cells = f"{e['error']} | | | |"
            anomalies = ""
        else:
            run = e["runs"][-1]
            cells = (f"{run['check_wall_s']:.2f} | {run['check_cpu_s']:.2f} | {r['ops'] / run['check_wall_s']:,.0f} | "
                     f"{e['jvm_wall_s']:.1f} / {e['jvm_cpu_s']:.1f}")
            anomalies = ", ".join(f"{k} {v:,}" for k, v in run["anomalies"].items()) or "none"
        print(f"| {r['ops']:,} | {cells} | {o['cpu_s']:.2f} | {o['ops_per_cpu_s']:,.0f} | {anomalies} | {found} |")
    write_json(args.out, {
        "benchmark": "bench_elle", "elle_cmd": args.elle, "elle_opts": args.elle_opts,
        "versioning": args.versioning, "rows": rows, "provenance": provenance(),
        "setup": "bench_sim's scenario (N=3 on 3 nodes, R=W=1, all fan-out, lnkd-disk, open 20k ops/s, 90% reads, "
                 "10^4 zipf keys); Elle in one JVM: a 10^4-op warm-up history, then the history",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
