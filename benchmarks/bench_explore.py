"""How long one explorer update takes at the default trials (target: under 200 ms).

Two measurements:

1. server side, in process: ``ExplorerApp.update()`` after each control change of a fixed
   sequence (R, W, N, profile, fan-out, target, t, custom delays, recommender targets) — the
   computation plus writing the new data into the Bokeh models; CPU time (``time.process_time``)
   and wall time per update. The first update of a new (profile, N) draws a grid sample; later
   ones re-read it: both kinds are in the sequence, each change starts from a cold cache for its
   new key.
2. in a real browser (when headless Chromium and Selenium are available): the wall time from
   changing an input in the page to the new numbers being shown, through the websocket, for the
   same kinds of change, with the server started by ``pbs-sim explore``.

Writes ``benchmarks/results/explore.json``.

    .venv/bin/python benchmarks/bench_explore.py [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pbs_sim.explore.state import DEFAULT_TRIALS, ExplorerState
from pbs_sim.io import provenance, write_json

HERE = Path(__file__).resolve().parent

CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("R", {"r": 2}), ("W", {"w": 2}), ("N", {"n": 4}), ("R", {"r": 3}),
    ("profile (new samples)", {"profile": "ymmr"}), ("fan-out (new samples)", {"fanout": "quorum"}),
    ("target", {"target": 0.99}), ("t", {"t_ms": 25.0}), ("profile (new samples)", {"profile": "wan"}),
    ("N", {"n": 5}), ("N (outside the recommender's range: new sample)", {"n": 7}),
    ("custom delays (new samples)", {"profile": "custom"}),
    ("recommender targets", {"max_read_ms": "5", "max_t_visibility_ms": "20"}), ("W", {"w": 1}),
]


def server_side() -> list[dict[str, Any]]:
    from pbs_sim.explore.app import ExplorerApp

    app = ExplorerApp(ExplorerState(), sync_url=False)  # first view: imports and caches warm up
    st = app.state()
    rows = []
    for label, change in CHANGES:
        st = replace(st, **change)
        c0, t0 = time.process_time(), time.perf_counter()
        app.set_state(st)
        rows.append({"change": label, "cpu_ms": 1000 * (time.process_time() - c0),
                     "wall_ms": 1000 * (time.perf_counter() - t0), "ok": not app.alert.visible})
    return rows


BROWSER_CHANGES = [
    ("R", "r", "2"), ("W", "w", "2"), ("N", "n", "4"), ("R", "r", "3"), ("profile (new samples)", "profile", "ymmr"),
    ("target", "target", "0.99"), ("t", "t-ms", "25"), ("profile (new samples)", "profile", "wan"), ("W", "w", "1"),
]

TIMED_JS = """
const done = arguments[arguments.length - 1];
function find(root, sel) {
  const e = root.querySelector(sel); if (e) return e;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
  }
  return null;
}
const pane = find(document, '.pbs-headline');
const read = () => { const h = find(pane.shadowRoot || pane, '#pbs-headline'); return h ? h.getAttribute('data-state') : null; };
const before = read();
const host = find(document, arguments[0]);
const input = (host.shadowRoot || host).querySelector('input, select');
const t0 = performance.now();
input.value = arguments[1];
input.dispatchEvent(new Event('input', {bubbles: true}));
input.dispatchEvent(new Event('change', {bubbles: true}));
function poll() {
  if (read() !== before) { requestAnimationFrame(() => done(performance.now() - t0)); return; }
  if (performance.now() - t0 > 20000) { done(-1); return; }
  requestAnimationFrame(poll);
}
requestAnimationFrame(poll);
"""


def in_browser() -> list[dict[str, Any]] | str:
    import shutil
    import socket
    import subprocess

    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return "selenium not installed"
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver_path):
        return "chromium / chromedriver not installed"
    sys.path.insert(0, str(HERE.parent / "tests"))
    from test_explore_browser import READ_JS  # the same page helpers as the test

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "pbs_sim", "explore", "--port", str(port), "--no-browser"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        opts.add_argument(arg)
    opts.binary_location = browser
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    rows: list[dict[str, Any]] = []
    try:
        url = f"http://localhost:{port}/"
        for _ in range(100):
            try:
                d.get(url)
                break
            except Exception:
                time.sleep(0.2)

        def state() -> str | None:
            got = d.execute_script(READ_JS, "#pbs-headline")
            return got["state"] if got else None

        deadline = time.monotonic() + 60
        while state() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        d.set_script_timeout(30)
        for label, key, value in BROWSER_CHANGES:
            # timed inside the page: change the input, then watch the headline every animation frame
            ms = d.execute_async_script(TIMED_JS, f".pbs-{key}", value)
            rows.append({"change": label, "wall_ms": float(ms)})
    finally:
        d.quit()
        proc.terminate()
        proc.wait(timeout=10)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "explore.json"))
    args = ap.parse_args()
    load_before = os.getloadavg()
    server = server_side()
    browser = "skipped" if args.no_browser else in_browser()
    load_after = os.getloadavg()
    cpu = [r["cpu_ms"] for r in server]
    wall = [r["wall_ms"] for r in server]
    lines = [
        f"explorer updates at the default {DEFAULT_TRIALS:,} trials (load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; {os.cpu_count()} CPUs)",
        "",
        "| change | server CPU ms | server wall ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['change']} | {r['cpu_ms']:.0f} | {r['wall_ms']:.0f} |" for r in server]
    if isinstance(browser, list):
        lines += ["", "| change in the page | until the new numbers are shown, ms |", "|---|---:|"]
        lines += [f"| {r['change']} | {r['wall_ms']:.0f} |" for r in browser]
    lines += ["", f"server side: median {statistics.median(cpu):.0f} ms CPU, max {max(cpu):.0f} ms CPU; "
                  f"median {statistics.median(wall):.0f} ms wall, max {max(wall):.0f} ms wall"]
    if isinstance(browser, list):
        bw = [r["wall_ms"] for r in browser]
        lines.append(f"browser round trip: median {statistics.median(bw):.0f} ms, max {max(bw):.0f} ms")
    else:
        lines.append(f"browser round trip: not measured ({browser})")
    print("\n".join(lines))
    write_json(args.out, {
        "benchmark": "explore", "trials": DEFAULT_TRIALS, "server": server, "browser": browser,
        "server_cpu_ms_median": statistics.median(cpu), "server_cpu_ms_max": max(cpu),
        "server_wall_ms_median": statistics.median(wall), "server_wall_ms_max": max(wall),
        "loadavg_before": load_before, "loadavg_after": load_after, "cpus": os.cpu_count(), **provenance(),
    })


if __name__ == "__main__":
    main()
