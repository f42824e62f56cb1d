"""The static explorer (docs/explorer.md): its JavaScript WARS kernel against ``pbs_sim.predict``,
and the built page in headless Chromium.

1. ``docs/explorer/wars.js`` runs under node for every built-in profile (exported by the docs hook,
   as the page gets them) and several (N, R, W) and fan-outs, and its figures are held to
   ``pbs_sim.predict`` with the same number of trials within Monte-Carlo error. The two engines
   use different random streams (xoshiro128** against numpy's PCG64), so each comparison is
   between two independent samples:

   * P(consistent at t), at fixed t: |p_js - p_py| <= Z sqrt(v_js/n + v_py/n) + 1/n, with v the
     binomial variance p(1-p) taken at the add-one estimate (k+1)/(n+2), so that p near 0 or 1
     still gets an interval;
   * a quantile x_q (t-visibility at the target, read and write latency p50/p99/p99.9) of one
     engine, put into the other's empirical CDF F: F(x_q) >= q - band and F(x_q-) <= q + band with
     band = Z sqrt(2 q(1-q)/n) + 1/n (F(x_q) of a q-quantile of an independent sample has variance
     about q(1-q)/n on top of F's own; the two-sided form allows atoms, e.g. tau = 0).

   Z = 4.5, about 300 comparisons: a correct port fails by chance with probability about 0.2 %
   (Bonferroni). The runs are seeded, so the outcome is reproducible.
2. The site built as ``make docs`` builds it (strict), served from a loopback static server
   (``http.server`` in a thread), opened in headless Chromium (the flags of
   tests/test_explore_browser.py); the test changes the profile, N, R and W through the page's
   controls as a person would (select, typing into the number fields), and checks that the numbers
   and the curve update and equal the kernel's under node for the same settings. The page's own
   time to first result and per-update latency are printed (reported, not asserted).

Needs node (Debian's nodejs) for both, and Chromium, chromedriver and Selenium for the second;
skipped, saying which is missing, only without them.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_explore_browser import (  # the live explorer test's browser and its bounded looks
    _wait,
    headless_chrome,
)

import pbs_sim
from pbs_sim.distributions import families
from pbs_sim.profiles import BUILTIN

ROOT = Path(__file__).resolve().parents[1]
WARS_JS = ROOT / "docs" / "explorer" / "wars.js"
HANG_GUARD_S = 600  # guards against a hang only: no outcome depends on time
Z = 4.5
TRIALS = 100_000
CASES = [  # (N, R, W, fan-out): partial quorums of several sizes, a strict one, a random-R read
    (3, 1, 1, "all"), (3, 1, 2, "all"), (5, 2, 2, "all"), (3, 2, 2, "all"), (5, 2, 1, "quorum"),
]

NODE_DRIVER = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const W = require(input.wars);
const out = input.cases.map((c) => {
  const sim = W.simulate(input.profiles[c.profile], c.n, c.r, c.w, {trials: c.trials, seed: c.seed, fanout: c.fanout});
  const at = (arr, xs) => xs.map((x) => W.countAt(arr, x));
  const s = W.summarize(sim, {target: c.target, t_ms: c.t_ms});
  return {
    summary: {p_consistent_at_t: s.p_consistent_at_t, p_consistent_at_t0: s.p_consistent_at_t0,
              t_visibility_ms: s.t_visibility_ms, read_latency_ms: s.read_latency_ms,
              write_latency_ms: s.write_latency_ms, curve_points: s.curve.t_ms.length},
    p_at: c.ts.map((t) => W.summarize(sim, {target: c.target, t_ms: t}).p_consistent_at_t),
    tau_at: at(sim.tau, c.tau_at), read_at: at(sim.read, c.read_at), write_at: at(sim.write, c.write_at),
  };
});
process.stdout.write(JSON.stringify(out));
"""


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node: install Debian's nodejs to run the static explorer's kernel")
    return node


def _hook() -> Any:
    spec = importlib.util.spec_from_file_location("pbs_docs_hook", ROOT / "docs" / "hooks" / "pbs_docs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_js(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run wars.js under node on ``cases`` with the profiles the docs hook exports."""
    payload = json.dumps({"wars": str(WARS_JS), "profiles": _hook().profiles_json(), "cases": cases})
    res = subprocess.run([_node(), "-e", NODE_DRIVER], input=payload, capture_output=True, text=True,
                         timeout=HANG_GUARD_S)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)  # type: ignore[no-any-return]


# -- the exported profiles are the engine's ---------------------------------------------------------

CLASSES = {"constant": families.Constant, "exponential": families.Exponential, "pareto": families.Pareto,
           "uniform": families.Uniform, "lognormal": families.LogNormal, "weibull": families.Weibull}


def _rebuild(tree: dict[str, Any]) -> families.Distribution:
    params = {k: v for k, v in tree.items() if k != "family"}
    if tree["family"] == "mixture":
        return families.Mixture(tuple(params["weights"]), tuple(_rebuild(c) for c in params["components"]))
    if tree["family"] == "shifted":
        return families.Shifted(_rebuild(params["base"]), params["by"])
    return CLASSES[tree["family"]](**params)  # type: ignore[abstract]


def test_the_exported_profiles_are_the_builtin_ones() -> None:
    exported = _hook().profiles_json()
    assert list(exported) == list(BUILTIN)
    for name, prof in BUILTIN.items():
        got = exported[name]
        assert got["remote_extra_ms"] == prof.remote_extra_ms
        for k in "wars":
            assert _rebuild(got[k]) == getattr(prof, k), (name, k)


def test_a_family_the_port_cannot_draw_fails_the_export() -> None:
    hook = _hook()
    assert hook.distribution_tree(families.Shifted(families.Constant(1.0), 2.0)) == {
        "family": "shifted", "base": {"family": "constant", "value": 1.0}, "by": 2.0}
    with pytest.raises(ValueError, match="cannot draw the normal family"):
        hook.distribution_tree(families.Normal(1.0, 1.0))


# -- the kernel against pbs_sim.predict ---------------------------------------------------------------


def _var(k: float, n: int) -> float:
    p = (k * n + 1) / (n + 2)  # k here is a proportion: add-one on the count
    return p * (1 - p)


def _check_p(what: str, p_js: float, p_py: float, n: int, failures: list[str]) -> None:
    band = Z * math.sqrt((_var(p_js, n) + _var(p_py, n)) / n) + 1 / n
    if abs(p_js - p_py) > band:
        failures.append(f"{what}: JS {p_js:.6f} vs predict {p_py:.6f}, allowed ±{band:.6f}")


def _check_quantile(what: str, q: float, le: float, lt: float, n: int, failures: list[str]) -> None:
    band = Z * math.sqrt(2 * _var(q, n) / n) + 1 / n
    if le < q - band or lt > q + band:
        failures.append(f"{what}: the other engine's CDF there is [{lt:.6f}, {le:.6f}], "
                        f"not within ±{band:.6f} of {q}")


@pytest.mark.validation
def test_the_javascript_kernel_agrees_with_predict_for_every_profile() -> None:
    cases, refs = [], []
    for pi, name in enumerate(BUILTIN):
        for ci, (n, r, w, fanout) in enumerate(CASES):
            res = pbs_sim.predict(name, n, r, w, trials=TRIALS, seed=100 + 10 * pi + ci, fanout=fanout,
                                  target=0.999, t_ms=[10.0])
            tv = res.t_visibility_ms
            ts = sorted({0.0, 10.0, 0.1 * tv, 0.5 * tv} if math.isfinite(tv) else {0.0, 10.0})
            qs = ("p50", "p99", "p99.9")
            cases.append({"profile": name, "n": n, "r": r, "w": w, "fanout": fanout, "trials": TRIALS,
                          "seed": 7 + 10 * pi + ci, "target": 0.999, "t_ms": 10.0, "ts": ts, "tau_at": [tv],
                          "read_at": [res.read_latency_ms[q] for q in qs],
                          "write_at": [res.write_latency_ms[q] for q in qs]})
            refs.append(res)
    out = run_js(cases)
    failures: list[str] = []
    compared = 0
    for case, res, js in zip(cases, refs, out, strict=True):
        tag = f"{case['profile']} N={case['n']} R={case['r']} W={case['w']} {case['fanout']}"
        n = TRIALS
        for t, p_js in zip(case["ts"], js["p_at"], strict=True):
            _check_p(f"{tag}: P(consistent at t={t:.4g})", p_js, float(res.p_consistent(t)), n, failures)
            compared += 1
        _check_p(f"{tag}: P(consistent at t=0)", js["summary"]["p_consistent_at_t0"], res.p_consistent_at_t0,
                 n, failures)
        # JS's t-visibility in predict's sample, and predict's in JS's
        tv_js = js["summary"]["t_visibility_ms"]
        le = float(res.p_consistent(tv_js))
        lt = float(res.p_consistent(math.nextafter(tv_js, -math.inf))) if tv_js > 0 else 0.0
        _check_quantile(f"{tag}: JS t-visibility {tv_js:.4g} ms", 0.999, le, lt, n, failures)
        c = js["tau_at"][0]
        _check_quantile(f"{tag}: predict's t-visibility {res.t_visibility_ms:.4g} ms", 0.999, c["le"] / n,
                        c["lt"] / n, n, failures)
        for which in ("read", "write"):
            for (qname, q), c in zip((("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)), js[f"{which}_at"], strict=True):
                _check_quantile(f"{tag}: predict's {which} {qname}", q, c["le"] / n, c["lt"] / n, n, failures)
        compared += 9
        if case["r"] + case["w"] > case["n"]:  # strict quorum: exactly consistent, in both
            assert js["summary"]["t_visibility_ms"] == 0.0 and js["summary"]["p_consistent_at_t0"] == 1.0
    assert compared > 150
    assert not failures, "\n".join(failures)


# -- the built page in headless Chromium --------------------------------------------------------------

READ_JS = """
const e = document.getElementById(arguments[0]);
if (!e) return null;
return {value: e.getAttribute('data-value'), text: e.textContent, state: e.getAttribute('data-state'),
        updates: e.getAttribute('data-updates'), first: e.getAttribute('data-first-ms'),
        last: e.getAttribute('data-last-ms'), hidden: e.hidden};
"""
CURVE_JS = """
const doc = Bokeh.documents[Bokeh.documents.length - 1];  // the figure drawn last
if (!doc) return null;
for (const m of doc.all_models) {
  if (m.type === 'ColumnDataSource' || (m.data && m.data.p_consistent)) {
    const d = m.data; if (!d.p_consistent) continue;
    return {n: d.t_ms.length, t_first: d.t_ms[0], t_last: d.t_ms[d.t_ms.length - 1], p_first: d.p_consistent[0],
            p_last: d.p_consistent[d.p_consistent.length - 1]};
  }
}
return null;
"""


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def test_the_built_site_carries_the_explorer_and_no_cdn(built_site: Path) -> None:
    page = (built_site / "explorer.html").read_text(encoding="utf-8")
    for name in ("bokeh.min.js", "bokeh-api.min.js", "profiles.js", "wars.js", "page.js"):
        assert f'src="explorer/{name}"' in page
        assert (built_site / "explorer" / name).stat().st_size > 1000
    assert "cdn.bokeh.org" not in page and "cdn.jsdelivr" not in page
    # BokehJS is the installed bokeh's own, byte for byte (the version the Python side draws with)
    for name in _hook().BOKEH_JS:
        assert (built_site / "explorer" / name).read_bytes() == (_hook().bokeh_js_dir() / name).read_bytes()


@pytest.fixture
def static_server(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture
def driver() -> Iterator[Any]:
    with headless_chrome(1400, HANG_GUARD_S) as d:
        yield d


def _state(d: Any, **kv: Any) -> dict[str, Any]:
    want = [f"{k}={v}" for k, v in kv.items()]
    return _wait(d, READ_JS, "pbs-headline", lambda g: g["state"] and all(w in g["state"].split("&") for w in want))


def _type(d: Any, ident: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    el = d.find_element(By.ID, ident)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(value, Keys.TAB)  # typed, then the field left: input and change events


def _expect(d: Any, profile: str, n: int, r: int, w: int) -> dict[str, Any]:
    """The page's numbers equal the kernel's under node for the same settings."""
    ref = run_js([{"profile": profile, "n": n, "r": r, "w": w, "fanout": "all", "trials": TRIALS, "seed": 1,
                   "target": 0.999, "t_ms": 10.0, "ts": [], "tau_at": [], "read_at": [], "write_at": []}])[0]["summary"]
    p = d.execute_script(READ_JS, "pbs-p-consistent")
    t = d.execute_script(READ_JS, "pbs-t-visibility")
    assert float(p["value"]) == pytest.approx(ref["p_consistent_at_t"], rel=1e-12, abs=1e-12)
    assert p["text"] == f"{100 * ref['p_consistent_at_t']:.3f} %"
    assert float(t["value"]) == pytest.approx(ref["t_visibility_ms"], rel=1e-12)
    read = d.execute_script(READ_JS, "pbs-read-p999")
    assert float(read["value"]) == pytest.approx(ref["read_latency_ms"]["p99.9"], rel=1e-12)
    curve = _wait(d, CURVE_JS, "", lambda c: c["n"] > 10)
    return curve  # type: ignore[no-any-return]


def test_the_static_explorer_in_headless_chromium(driver: Any, static_server: str, capsys: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = driver
    d.get(static_server + "explorer.html")
    timing = _wait(d, READ_JS, "pbs-timing", lambda g: g["updates"] == "1")
    _state(d, profile="lnkd-disk", n=3, r=1, w=1)
    curve0 = _expect(d, "lnkd-disk", 3, 1, 1)
    first_ms = float(timing["first"])
    per_update: list[tuple[str, float]] = [("first", float(timing["last"]))]

    def changed(label: str, before: int) -> int:
        g = _wait(d, READ_JS, "pbs-timing", lambda g: int(g["updates"]) > before)
        per_update.append((label, float(g["last"])))
        return int(g["updates"])

    updates = 1
    _type(d, "pbs-n", "5")
    updates = changed("N=5", updates)
    _state(d, n=5)
    _type(d, "pbs-r", "2")
    updates = changed("R=2", updates)
    _type(d, "pbs-w", "2")
    updates = changed("W=2", updates)
    _state(d, profile="lnkd-disk", n=5, r=2, w=2)
    curve = _expect(d, "lnkd-disk", 5, 2, 2)
    assert curve != curve0  # the curve's data changed with N, R, W

    Select(d.find_element(By.ID, "pbs-profile")).select_by_value("ymmr")
    updates = changed("profile=ymmr", updates)
    _state(d, profile="ymmr", n=5, r=2, w=2)
    _expect(d, "ymmr", 5, 2, 2)

    # bad input: a message, the last good numbers stay
    _type(d, "pbs-r", "7")
    msg = _wait(d, READ_JS, "pbs-message", lambda g: not g["hidden"] and "R = 7 exceeds N = 5" in g["text"])
    assert msg is not None
    _expect(d, "ymmr", 5, 2, 2)
    _type(d, "pbs-r", "1")
    _wait(d, READ_JS, "pbs-message", lambda g: g["hidden"])
    _state(d, profile="ymmr", n=5, r=1, w=2)
    _expect(d, "ymmr", 5, 1, 2)
    # the t axis: log by default (no t = 0 on it); unticked, linear from t = 0
    log_curve = _wait(d, CURVE_JS, "", lambda c: c["n"] > 10)
    assert log_curve["t_first"] > 0
    d.find_element(By.ID, "pbs-log").click()
    updates = changed("linear t axis", updates)
    lin = _wait(d, CURVE_JS, "", lambda c: c["t_first"] == 0)
    assert d.execute_script("return Bokeh.documents.length") == 1  # the log figure's document is gone
    assert lin["p_first"] == pytest.approx(float(d.execute_script(READ_JS, "pbs-p0")["value"]))

    # a link with a query opens those settings
    d.get(static_server + "explorer.html?profile=wan&n=4&r=1&w=3")
    _wait(d, READ_JS, "pbs-timing", lambda g: g["updates"] == "1")
    _state(d, profile="wan", n=4, r=1, w=3)
    _expect(d, "wan", 4, 1, 3)
    with capsys.disabled():
        print(f"\nstatic explorer: first result {first_ms:.0f} ms after navigation start; per update (ms): "
              + ", ".join(f"{k} {v:.0f}" for k, v in per_update))
