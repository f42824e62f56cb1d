"""Start-up of the error path and of each command's work, and peak memory per operation of a run.

1. **Error path**: the wall time of whole ``pbs-sim`` commands that stop at a bad input (interpreter
   start and imports included), each run ``--repeat`` times in a fresh process; the minimum is the
   figure (the least disturbed by other load), the median is printed beside it. Target < 0.5 s.
2. **Memory per operation**: ``pbs-sim run``-equivalent runs (``simulate`` + its metrics, as the CLI
   does; the quickstart scenario, lnkd-disk, N = 3 on 5 nodes, open workload, 90 % reads) at two
   sizes, each in a fresh process; the peak RSS of each, and the slope between the two sizes —
   the marginal peak memory per operation — which, unlike peak / ops, excludes the fixed cost of the
   interpreter and libraries. ``--ops`` sets the larger size (default 2 x 10^5; 10^6 takes about a
   minute of CPU and ~0.7 GB).
3. **Import time of each command's start** (issue 21 item 6): in a fresh interpreter, the time to
   import what ``run``, ``sweep`` and ``check`` import before their work begins (the CLI group, the
   command module and the modules its function imports before the first simulated event,
   replication or checked operation; the lists of ``tests/test_startup_imports.py``), with the
   number of modules loaded and the heavy libraries among them; minimum and median over
   ``--repeat`` processes. ``--src DIR`` imports ``pbs_sim`` from another checkout (a before/after
   comparison).

Prints markdown tables and writes ``benchmarks/results/startup.json`` (``--imports-only``: only
part 3, written to ``startup_imports.json``).

    .venv/bin/python benchmarks/bench_startup.py                 # error paths + 10^5 / 2x10^5 ops
    .venv/bin/python benchmarks/bench_startup.py --ops 1000000   # the 10^6-operation run of the issue
    .venv/bin/python benchmarks/bench_startup.py --imports-only --repeat 9 [--src ../old-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pbs_sim.io import provenance, write_json

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

BAD_SWEEP = '[sweep]\nengine = "predict"\nreplications = 0\n'
BAD_CELL = '[sweep]\nengine = "simulate"\n[grid]\n"cluster.read_quorum" = [1, 4]\n'
BAD_SCENARIO = "[cluster]\nwirte_quorum = 1\n"


def error_paths(tmp: Path) -> dict[str, list[str]]:
    (tmp / "bad_sweep.toml").write_text(BAD_SWEEP)
    (tmp / "bad_cell.toml").write_text(BAD_CELL)
    (tmp / "bad.toml").write_text(BAD_SCENARIO)
    return {
        "sweep, bad [sweep] value": ["sweep", str(tmp / "bad_sweep.toml")],
        "sweep, R > N in one cell": ["sweep", str(tmp / "bad_cell.toml")],
        "run, unknown key": ["run", str(tmp / "bad.toml")],
        "validate, unknown key": ["validate", str(tmp / "bad.toml")],
        "predict, R > N": ["predict", "--profile", "lnkd-disk", "--n", "3", "--r", "4", "--w", "1"],
    }


def time_command(argv: list[str], repeat: int) -> dict[str, Any]:
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pbs_sim", *argv], capture_output=True, text=True, cwd=REPO)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 2 or len(proc.stderr.strip().splitlines()) != 1:
            raise SystemExit(f"expected one error line and exit 2 from {argv}: {proc.returncode} {proc.stderr}")
    return {"min_s": min(walls), "median_s": statistics.median(walls), "repeat": repeat}


MEMORY_CHILD = """
import json, resource, sys, time
from pbs_sim import load_scenario, simulate
ops = int(sys.argv[1])
sc = load_scenario("experiments/quickstart.toml", {
    "workload.rate_per_s": 10000.0, "workload.warmup_ms": 0.0, "workload.duration_ms": ops / 10.0})
t0 = time.process_time()
res = simulate(sc)
s = res.summary()
frames = res.frames()
cpu = time.process_time() - t0
print(json.dumps({"ops": s["ops"], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cpu_s": cpu}))
"""


# what each command imports before its work begins (kept equal to tests/test_startup_imports.py)
STARTS: dict[str, tuple[str, ...]] = {
    "run": ("pbs_sim.cli", "pbs_sim.cli.run", "pbs_sim.config", "pbs_sim.io", "pbs_sim.simulation"),
    "sweep": ("pbs_sim.cli", "pbs_sim.cli.sweep", "pbs_sim.io", "pbs_sim.sweep.spec", "pbs_sim.sweep.run"),
    "check": ("pbs_sim.cli", "pbs_sim.cli.check", "pbs_sim.checker"),
}
HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "simpy", "matplotlib", "bokeh", "panel", "dask")
IMPORT_CHILD = """
import importlib, json, sys, time
t0 = time.perf_counter()
for name in sys.argv[2:]:
    importlib.import_module(name)
dt = time.perf_counter() - t0
heavy = json.loads(sys.argv[1])
print(json.dumps({"s": dt, "modules": len(sys.modules),
                  "heavy": [h for h in heavy if h in {m.split(".")[0] for m in sys.modules}]}))
"""


def import_times(src: Path, repeat: int) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out: dict[str, dict[str, Any]] = {}
    for command, modules in STARTS.items():
        runs = []
        for _ in range(repeat):
            proc = subprocess.run([sys.executable, "-c", IMPORT_CHILD, json.dumps(HEAVY), *modules],
                                  capture_output=True, text=True, cwd=src, env=env, check=True)
            runs.append(json.loads(proc.stdout))
        secs = [r["s"] for r in runs]
        out[command] = {"modules_imported": list(modules), "min_s": min(secs), "median_s": statistics.median(secs),
                        "repeat": repeat, "modules": runs[0]["modules"], "heavy": runs[0]["heavy"]}
    return out


def print_imports(times: dict[str, dict[str, Any]], src: Path) -> None:
    print(f"import time of each command's start ({src}; load average {os.getloadavg()[0]:.2f})\n")
    print("| command | min s | median s | modules | heavy libraries loaded |\n|---|---:|---:|---:|---|")
    for command, t in times.items():
        print(f"| {command} | {t['min_s']:.3f} | {t['median_s']:.3f} | {t['modules']} | {', '.join(t['heavy'])} |")


def memory(ops: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(ops)], capture_output=True, text=True, cwd=REPO,
                          check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ops", type=int, default=200_000, help="the larger run's operations (the smaller is half)")
    ap.add_argument("--quick", action="store_true", help="2 repeats, 2x10^4 operations (smoke test)")
    ap.add_argument("--imports-only", action="store_true", help="only the import time of each command's start")
    ap.add_argument("--src", type=Path, default=REPO, help="the checkout whose pbs_sim is imported (part 3)")
    args = ap.parse_args()
    repeat, big = (2, 20_000) if args.quick else (args.repeat, args.ops)
    src = args.src.resolve()

    imports = import_times(src, repeat)
    print_imports(imports, src)
    if args.imports_only:
        write_json(HERE / "results" / "startup_imports.json", {
            "benchmark": "startup-imports", "src": str(src), "imports": imports,
            "loadavg": os.getloadavg(), "provenance": provenance(),
        })
        return 0
    print()

    with tempfile.TemporaryDirectory() as tmp:
        timings = {name: time_command(argv, repeat) for name, argv in error_paths(Path(tmp)).items()}
    print("| error path (whole command) | min s | median s |\n|---|---:|---:|")
    for name, t in timings.items():
        print(f"| {name} | {t['min_s']:.2f} | {t['median_s']:.2f} |")

    small, large = memory(big // 2), memory(big)
    slope_kb = (large["peak_rss_mb"] - small["peak_rss_mb"]) * 1024 / (large["ops"] - small["ops"])
    print("\n| operations | peak RSS MB | peak / op kB | CPU s |\n|---:|---:|---:|---:|")
    for m in (small, large):
        print(f"| {m['ops']:,} | {m['peak_rss_mb']:.0f} | {m['peak_rss_mb'] * 1024 / m['ops']:.2f} | {m['cpu_s']:.1f} |")
    print(f"\nmarginal peak memory per operation: {slope_kb:.2f} kB (slope between the two runs); "
          f"10^6 operations -> ~{slope_kb * 1e6 / 1024 ** 2:.2f} GB above start-up")
    write_json(HERE / "results" / "startup.json", {
        "benchmark": "startup",
        "error_paths": timings,
        "memory": {"runs": [small, large], "marginal_kb_per_op": slope_kb},
        "imports": imports,
        "note": "measured on a shared, loaded 2-core machine (other engineers' test runs); min over repeats",
        "provenance": provenance(),
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
