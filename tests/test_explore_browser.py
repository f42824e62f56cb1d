"""``pbs-sim explore`` in a real browser: headless Chromium drives the page served by the command.

The test starts the real command on a free port, changes N, R, W and the profile through the
page's own input elements, and checks that the displayed P(consistent) and t-visibility equal
``pbs_sim.predict`` for the same settings and seed (exactly: the page carries the floats in
``data-value`` attributes, and the text is their rounding); it also checks that bad input shows a
message in the page, that the URL carries the state and that opening such a URL restores it. A
screenshot goes to the test's temporary directory.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``; ``.ci/run``
installs them) and Selenium (dev extras). Skipped, saying which is missing, only without them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import pbs_sim
from pbs_sim.explore.state import DEFAULT_TRIALS

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 300  # subprocess and page-load guards against a hang: nothing is decided by them
POLLS = 1_000  # looks at the page before a state that never shows up fails the test

# Elements live in nested shadow roots (Bokeh/Panel components): search them all.
FIND_JS = """
function find(root, sel) {
  const e = root.querySelector(sel); if (e) return e;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
  }
  return null;
}
"""
READ_JS = FIND_JS + """
const e = find(document, arguments[0]);
if (!e) return null;
return {value: e.getAttribute('data-value'), text: e.textContent, state: e.getAttribute('data-state'),
        visible: e.offsetParent !== null || e.getClientRects().length > 0};
"""
SET_JS = FIND_JS + """
const host = find(document, arguments[0]);
if (!host) return false;
const input = (host.shadowRoot || host).querySelector('input, select');
if (!input) return false;
input.value = arguments[1];
input.dispatchEvent(new Event('input', {bubbles: true}));
input.dispatchEvent(new Event('change', {bubbles: true}));
return true;
"""
MESSAGE_JS = FIND_JS + """
const host = find(document, '.pbs-message');
if (!host) return null;
const style = getComputedStyle(host);
return {text: host.shadowRoot ? host.shadowRoot.textContent : host.textContent,
        shown: style.display !== 'none' && host.getClientRects().length > 0};
"""


def _browser_paths() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver") if os.path.exists(p)), None)
    if browser is None or driver is None:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver (.ci/run does)")
    return browser, driver


@contextmanager
def headless_chrome(width: int, page_load_timeout_s: float = HANG_GUARD_S) -> Iterator[Any]:
    """Debian's headless Chromium through its own chromedriver (no download), ``width`` x 1000 px."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (dev extras)")
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = _browser_paths()
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},1000", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.binary_location = browser
    d = webdriver.Chrome(service=Service(chromedriver), options=opts)  # explicit driver: no download
    d.set_page_load_timeout(page_load_timeout_s)
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture
def driver() -> Iterator[Any]:
    with headless_chrome(1600) as d:
        yield d


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbs_sim", "explore", "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = f"http://localhost:{port}/"
    try:
        assert proc.stdout is not None
        said = []
        for line in proc.stdout:  # the command says "serving at" once its port is bound
            said.append(line)
            if "serving at" in line:
                break
        if not said or "serving at" not in said[-1]:
            pytest.fail(f"pbs-sim explore did not start (exit {proc.poll()}): {''.join(said)[-2000:]}")
        with urllib.request.urlopen(url, timeout=HANG_GUARD_S) as resp:  # answered once it serves
            assert resp.status == 200
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait(d: Any, js: str, arg: str, ok: Any, polls: int = POLLS) -> Any:
    """Look at the page until ``ok`` holds, at most ``polls`` times (a bound on work, a guard
    against a page that never gets there; no outcome depends on how long a look takes)."""
    got = None
    for _ in range(polls):
        got = d.execute_script(js, arg)
        if got is not None and ok(got):
            return got
        time.sleep(0.1)  # a pause between looks, so the server gets the CPU
    raise AssertionError(f"{polls} looks at {arg or 'the message'}: never as expected, last {got!r}")


def _state_of(d: Any, **expected: Any) -> dict[str, list[str]]:
    """Wait until the headline shows a state with these values; return the full query."""

    def matches(got: dict[str, Any]) -> bool:
        q = parse_qs(got["state"] or "")
        return all(q.get(k, [str(default)])[0] == str(v) for k, (v, default) in expected.items())

    got = _wait(d, READ_JS, "#pbs-headline", matches)
    return parse_qs(got["state"] or "")


def _url_query(d: Any, **expected: str) -> dict[str, list[str]]:
    """Wait until the page's URL carries these values (it is pushed after the figures, so it may
    trail the headline by a message); return its query."""
    query: dict[str, list[str]] = {}
    for _ in range(POLLS):
        query = parse_qs(urlparse(d.current_url).query)
        if all(query.get(k, [None])[0] == v for k, v in expected.items()):
            return query
        time.sleep(0.1)
    raise AssertionError(f"{POLLS} looks at the URL: never {expected}, last {query}")


def _check_against_predict(d: Any, profile: str, n: int, r: int, w: int) -> None:
    res = pbs_sim.predict(profile, n, r, w, trials=DEFAULT_TRIALS, seed=1, target=0.999, t_ms=[10.0])
    p = d.execute_script(READ_JS, "#pbs-p-consistent")
    t = d.execute_script(READ_JS, "#pbs-t-visibility")
    assert float(p["value"]) == float(res.p_consistent(10.0)), (profile, n, r, w, p)
    assert p["text"] == f"{100 * float(res.p_consistent(10.0)):.3f} %"
    assert float(t["value"]) == res.t_visibility_ms, (profile, n, r, w, t)
    assert t["text"] == f"{res.t_visibility_ms:.4g} ms"


def _set(d: Any, key: str, value: str) -> None:
    assert d.execute_script(SET_JS, f".pbs-{key}", value), f"no input for {key}"


def test_explorer_in_headless_chromium(driver: Any, server: str, tmp_path: Path) -> None:
    d = driver
    d.get(server)
    _state_of(d, n=(3, 3))
    _check_against_predict(d, "lnkd-disk", 3, 1, 1)

    _set(d, "n", "5")
    _state_of(d, n=(5, 3))
    _set(d, "r", "2")
    _set(d, "w", "2")
    _state_of(d, n=(5, 3), r=(2, 1), w=(2, 1))
    _check_against_predict(d, "lnkd-disk", 5, 2, 2)

    _set(d, "profile", "ymmr")
    _state_of(d, profile=("ymmr", "lnkd-disk"), n=(5, 3), r=(2, 1), w=(2, 1))
    _check_against_predict(d, "ymmr", 5, 2, 2)
    # the URL carries the state
    _url_query(d, profile="ymmr", n="5", r="2", w="2")

    # bad input: a message in the page, the last good numbers stay
    _set(d, "r", "7")
    msg = _wait(d, MESSAGE_JS, "", lambda m: m["shown"] and "R = 7 exceeds N = 5" in m["text"])
    assert "Traceback" not in msg["text"]
    _check_against_predict(d, "ymmr", 5, 2, 2)
    _set(d, "r", "1")
    _wait(d, MESSAGE_JS, "", lambda m: not m["shown"])
    _state_of(d, profile=("ymmr", "lnkd-disk"), r=(1, 1))
    _check_against_predict(d, "ymmr", 5, 1, 2)
    d.save_screenshot(str(tmp_path / "explorer.png"))
    assert (tmp_path / "explorer.png").stat().st_size > 10_000

    # a shared URL opens the same view
    d.get(server + "?profile=wan&n=4&r=1&w=3")
    _state_of(d, profile=("wan", "lnkd-disk"), n=(4, 3), r=(1, 1), w=(3, 1))
    _check_against_predict(d, "wan", 4, 1, 3)
    # and a URL with a bad value shows the message, not a traceback
    d.get(server + "?n=2&r=3")
    _wait(d, MESSAGE_JS, "", lambda m: m["shown"] and "R = 3 exceeds N = 2" in m["text"])
    _state_of(d, n=(2, 3), r=(1, 1))  # drawn with the default R, which the control shows
    d.get(server + "?n=abc")
    _wait(d, MESSAGE_JS, "", lambda m: m["shown"] and "n=abc: must be a whole number, got 'abc'" in m["text"])
    _state_of(d, n=(3, 3))
    _check_against_predict(d, "lnkd-disk", 3, 1, 1)
    d.get(server + "?profile=nosuch&r=2")
    _wait(d, MESSAGE_JS, "", lambda m: m["shown"] and "profile=nosuch: unknown profile 'nosuch'" in m["text"])
    _state_of(d, profile=("lnkd-disk", "lnkd-disk"), r=(2, 1))
    _check_against_predict(d, "lnkd-disk", 3, 2, 1)
    shown = d.execute_script(FIND_JS + "return find(document, '.pbs-profile').shadowRoot.querySelector('select').value;")
    assert shown == "lnkd-disk"  # the control shows the profile drawn


TABLE_JS = FIND_JS + """
const host = find(document, '.pbs-table');
if (!host) return null;
return {text: host.shadowRoot ? host.shadowRoot.textContent : host.textContent};
"""


def _check_against_predict_dc(d: Any, dcs: str, wan: str, read_level: str, write_level: str, wdc: str, rdc: str) -> None:
    from pbs_sim.analytic.multidc import predict_dc_pair
    from pbs_sim.explore.state import ExplorerState, topology_of
    from pbs_sim.levels import resolve

    topo = topology_of(ExplorerState(mode="topology", dcs=dcs, wan=wan, read_level=read_level, write_level=write_level))
    rf = topo.replication()
    res = predict_dc_pair("lnkd-disk", topo, resolve(read_level, "read", rf, rdc), resolve(write_level, "write", rf, wdc),
                          wdc, rdc, trials=DEFAULT_TRIALS, seed=1, target=0.999, t_ms=[10.0]).result
    p = d.execute_script(READ_JS, "#pbs-p-consistent")
    t = d.execute_script(READ_JS, "#pbs-t-visibility")
    assert float(p["value"]) == float(res.p_consistent(10.0)), (read_level, write_level, wdc, rdc, p)
    assert float(t["value"]) == res.t_visibility_ms, (read_level, write_level, wdc, rdc, t)
    assert d.execute_script(READ_JS, "#pbs-read-dc")["text"] == rdc
    assert d.execute_script(READ_JS, "#pbs-write-dc")["text"] == wdc


def test_explorer_topology_mode_in_headless_chromium(driver: Any, server: str, tmp_path: Path) -> None:
    """Switch the page to datacenters, change the read level, the read DC and the datacenters
    through the page's own inputs, and see the pair's numbers (predict_dc_pair's, exactly), the
    per-pair table and the URL follow."""
    d = driver
    d.get(server)
    _state_of(d, n=(3, 3))
    _set(d, "mode", "topology")
    _state_of(d, mode=("topology", "flat"))
    _check_against_predict_dc(d, "east:3,west:3", "constant(40)", "LOCAL_QUORUM", "LOCAL_QUORUM", "east", "west")
    # a local-quorum read 40 ms away from the write: stale at 10 ms, so the table's east -> west row says so
    table = _wait(d, TABLE_JS, "", lambda m: "write DC" in m["text"] and "west" in m["text"])
    assert "east" in table["text"]

    local = float(d.execute_script(READ_JS, "#pbs-p-consistent")["value"])
    _set(d, "read-level", "QUORUM")  # 4 of 6: the read waits for an east reply, which nearly always has the write
    _state_of(d, mode=("topology", "flat"), read_level=("QUORUM", "LOCAL_QUORUM"))
    _check_against_predict_dc(d, "east:3,west:3", "constant(40)", "QUORUM", "LOCAL_QUORUM", "east", "west")
    assert float(d.execute_script(READ_JS, "#pbs-p-consistent")["value"]) > local + 0.5

    _set(d, "read-dc", "east")  # the write's own datacenter
    _state_of(d, mode=("topology", "flat"), read_dc=("east", ""))
    _check_against_predict_dc(d, "east:3,west:3", "constant(40)", "QUORUM", "LOCAL_QUORUM", "east", "east")

    _set(d, "dcs", "us:3,eu:2,ap:1")  # new datacenters: the selects offer them, the last one reads
    _state_of(d, dcs=("us:3,eu:2,ap:1", "east:3,west:3"), read_dc=("", ""))
    _check_against_predict_dc(d, "us:3,eu:2,ap:1", "constant(40)", "QUORUM", "LOCAL_QUORUM", "us", "ap")
    _wait(d, TABLE_JS, "", lambda m: "ap" in m["text"] and "eu" in m["text"])
    _url_query(d, mode="topology", dcs="us:3,eu:2,ap:1", read_level="QUORUM")

    # a level the replicas cannot meet: a message in the page, the last good numbers stay
    _set(d, "write-level", "EACH_QUORUM")
    _state_of(d, write_level=("EACH_QUORUM", "LOCAL_QUORUM"))
    _set(d, "read-level", "LOCAL_ONE")
    _state_of(d, write_level=("EACH_QUORUM", "LOCAL_QUORUM"), read_level=("LOCAL_ONE", "LOCAL_QUORUM"))
    _check_against_predict_dc(d, "us:3,eu:2,ap:1", "constant(40)", "LOCAL_ONE", "EACH_QUORUM", "us", "ap")
    _set(d, "dcs", "us:3,eu:0")
    _wait(d, MESSAGE_JS, "", lambda m: m["shown"] and "read level: LOCAL_ONE from eu: eu holds no replicas" in m["text"])
    _check_against_predict_dc(d, "us:3,eu:2,ap:1", "constant(40)", "LOCAL_ONE", "EACH_QUORUM", "us", "ap")
    d.save_screenshot(str(tmp_path / "explorer-topology.png"))

    # a shared URL opens the same topology view
    d.get(server + "?mode=topology&dcs=a:1,b:2&read_level=LOCAL_ONE&write_level=EACH_QUORUM&write_dc=b&read_dc=a")
    _state_of(d, mode=("topology", "flat"), dcs=("a:1,b:2", "east:3,west:3"), write_dc=("b", ""), read_dc=("a", ""))
    _check_against_predict_dc(d, "a:1,b:2", "constant(40)", "LOCAL_ONE", "EACH_QUORUM", "b", "a")
