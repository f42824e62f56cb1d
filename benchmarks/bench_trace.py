"""Trace replay memory: a large trace streams in constant memory; a replayed run costs what a run costs.

1. **Streaming**: the up-front scan (``pbs_sim.traces.scan_trace``: every row checked) and one full
   pass of the replay's reader over a ``--stream-rows`` CSV trace (default 10^7 operations), in a
   fresh process: peak RSS and CPU time. Constant in the trace's length: only one block is held.
2. **Replay vs generated**: ``simulate`` (with its metrics, as ``pbs-sim run`` does) of a
   ``--run-rows`` trace (default 10^6) against the open workload that issues the same number of
   operations at the same rate, each in a fresh process: peak RSS and CPU time. The run's history
   (~0.5 kB per operation) dominates both; the replay must stay within the generated run's memory.

Prints a markdown table and writes ``benchmarks/results/trace.json``.

    .venv/bin/python benchmarks/bench_trace.py [--stream-rows 10000000] [--run-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RATE_PER_S = 10_000.0

MAKE = """
import sys, numpy as np, pyarrow as pa, pyarrow.csv as pcsv
path, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(1)
with pcsv.CSVWriter(path, pa.schema([("at_ms", pa.float64()), ("client", pa.int64()), ("op", pa.string()),
                                     ("key", pa.int64())])) as w:
    for lo in range(0, n, 1_000_000):
        m = min(1_000_000, n - lo)
        i = np.arange(lo, lo + m)
        ops = np.where(rng.random(m) < 0.9, "read", "write")
        w.write_table(pa.table({"at_ms": i * (1000.0 / rate), "client": i % 100, "op": ops,
                                "key": rng.integers(0, 1000, m)}))
"""

STREAM = """
import json, resource, sys, time
from pbs_sim import traces
t = time.process_time()
info = traces.scan_trace(sys.argv[1], None, None)
rows = sum(len(b.at_ms) for b in traces.batches(info.path, info.fmt, info.columns))
print(json.dumps({"rows": rows, "cpu_s": time.process_time() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN = """
import json, resource, sys, time
from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate
kind, path, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
wl = ({"kind": "trace", "trace": path, "warmup_ms": 0} if kind == "trace" else
      {"kind": "open", "rate_per_s": rate, "keys": 1000, "clients": 100, "read_fraction": 0.9, "warmup_ms": 0,
       "duration_ms": n / rate * 1000})
sc = scenario_from_dict({"cluster": {"nodes": 5, "replication": 3}, "latency": {"profile": "lnkd-ssd"}, "workload": wl})
t = time.process_time()
res = simulate(sc, seed=1)
s = res.summary()
print(json.dumps({"ops": res.history.n_ops, "cpu_s": time.process_time() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream-rows", type=int, default=10_000_000)
    ap.add_argument("--run-rows", type=int, default=1_000_000)
    a = ap.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = str(Path(tmp) / "big.csv")
        subprocess.run([sys.executable, "-c", MAKE, big, str(a.stream_rows), str(RATE_PER_S)], check=True)
        results["stream"] = {**_child(STREAM, big), "file_mb": Path(big).stat().st_size / 2**20}
        Path(big).unlink()
        small = str(Path(tmp) / "run.csv")
        subprocess.run([sys.executable, "-c", MAKE, small, str(a.run_rows), str(RATE_PER_S)], check=True)
        results["replay"] = _child(RUN, "trace", small, str(a.run_rows), str(RATE_PER_S))
        results["generated"] = _child(RUN, "open", small, str(a.run_rows), str(RATE_PER_S))
    print("| what | operations | peak RSS (MB) | CPU (s) |\n|---|---:|---:|---:|")
    s = results["stream"]
    print(f"| scan + stream a {s['file_mb']:.0f} MB CSV trace | {s['rows']:,} | {s['peak_rss_mb']:.0f} | {s['cpu_s']:.1f} |")
    for name in ("replay", "generated"):
        r = results[name]
        label = "simulate: trace replay" if name == "replay" else "simulate: open workload, same ops and rate"
        print(f"| {label} | {r['ops']:,} | {r['peak_rss_mb']:.0f} | {r['cpu_s']:.1f} |")
    out = ROOT / "benchmarks" / "results" / "trace.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
