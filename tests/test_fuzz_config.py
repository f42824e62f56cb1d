"""Fuzzing the configuration front door (issue 9): random but syntactically valid scenario and sweep
files — random sections and keys (known and unknown), types and magnitudes (inf, nan, huge,
negative, zero, tiny) — through ``pbs-sim validate``. Each must either be accepted, and then a
bounded run of it (the work-size settings capped, see ``bounded``) finishes within an event budget
(``MAX_SIM_EVENTS`` SimPy events, counted, not timed) with exit status 0, or be refused with exit
status 2 and exactly one ``pbs-sim: error:`` line, never a traceback. Sweep files are validated and
dry-run (``sweep --dry-run``).

No wall-clock limit judges an example (one did, and failed a clean-clone ``make test`` on a loaded
machine): a run that does not end within the budget fails deterministically, whatever the machine.

Examples come from the loaded hypothesis profile (``tests/conftest.py``): ``ci``, the default, is
derandomized, so ``make test`` tries the same ``EXAMPLES`` scenario files and ``EXAMPLES // 2``
sweep files everywhere; ``make fuzz`` explores at random with the ``fuzz`` profile's count and keeps
what fails in ``.hypothesis/``; ``-m slow`` runs ten times as many.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import typing
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import simpy
from cli_in_process import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbs_sim.config import SECTIONS, load_scenario
from pbs_sim.distributions import parse
from pbs_sim.sim import events as sim_events

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = max(120, settings().max_examples)  # the loaded profile's count, at least the ci 120
#: What a bounded run may process. ``bounded`` keeps a run to at most a few hundred operations on at
#: most 20 replicas (~2 x 10^4 events at worst; the ci and fuzz profiles' examples peak below 10^3,
#: printed by test_fuzz_tally), so this is a tenfold margin over the worst case that still ends in
#: well under a second.
MAX_SIM_EVENTS = 200_000
SEEN: Counter[str] = Counter()
PEAK: Counter[str] = Counter()  # the most events one bounded run took (printed by test_fuzz_tally)

# ---------------------------------------------------------------------------------------------
# TOML text (no writer in the standard library; inf and nan are TOML floats)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):  # JSON escapes are TOML escapes (DEL must be escaped too)
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else toml_value(k)


def toml_text(doc: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for section, table in doc.items():
        lines.append(f"[{toml_key(section)}]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Values: type-appropriate most of the time, anything sometimes

MAGNITUDES = st.sampled_from([0, 1, 2, 3, 5, 10, 1000, -1, -1000, 10**6, 10**9, 10**12, 2**63 - 1, 2**63, 10**30])
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.5, 100.0, 1e4, 1e-9, 1e-300, 1e300, -1.0, -1e9,
                     math.inf, -math.inf, math.nan]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
NUMBERS = st.one_of(MAGNITUDES, FLOATS)
DIST_SPECS = st.one_of(
    st.builds(lambda x: f"exponential(rate={x!r})", FLOATS),
    st.builds(lambda x: f"exponential(mean={x!r})", FLOATS),
    st.builds(lambda a, b: f"pareto(xm={a!r}, alpha={b!r})", FLOATS, FLOATS),
    st.builds(lambda a, b: f"lognormal(mu={a!r}, sigma={b!r})", FLOATS, FLOATS),
    st.builds(lambda a, b: f"uniform(low={a!r}, high={b!r})", FLOATS, FLOATS),
    st.builds(lambda a, b: f"shifted(constant({a!r}), by={b!r})", FLOATS, FLOATS),
    st.builds(lambda w: f"mixture({w!r}*constant(1), {1 - w!r}*exponential(rate=1))", FLOATS),
    st.sampled_from(["constant(0)", "0", "1.5", "weibull(shape=1.5, scale=2)", "nan", "inf",
                     "exponential(rate=nan)", "pareto(1, 2", "bogus(1)", "", 'empirical(path="none.csv")']),
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
ANY = st.one_of(NUMBERS, st.booleans(), TEXT, st.lists(NUMBERS, max_size=3), DIST_SPECS)


def field_value(tp: Any, meta: dict[str, Any]) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and type(None) in args:
        inner = [a for a in args if a is not type(None)][0]
        return st.one_of(field_value(inner, meta), st.just("none"))
    if origin is tuple:
        return st.lists(field_value(args[0], {}), max_size=4)
    name = getattr(tp, "__name__", str(tp))
    if name == "Distribution":
        return DIST_SPECS
    if name == "KeyDistribution":
        return st.one_of(st.just("uniform"), st.builds(lambda s: f"zipf(s={s!r})", FLOATS), TEXT)
    if dataclasses.is_dataclass(tp):
        return table_for(tp)
    if tp is bool:
        return st.booleans()
    if tp is int:  # half the time a sane small value, so that whole files are often valid
        return st.one_of(st.integers(1, 5), MAGNITUDES)
    if tp is float:
        return st.one_of(st.floats(0.0, 100.0), NUMBERS)
    if tp is str:
        choices = meta.get("choices")
        return st.sampled_from(list(choices)) if choices else st.sampled_from(["lnkd-ssd", "lnkd-disk", "wan", "ymmr",
                                                                             "exponential(ars=1)", "nope", "x.toml"])
    return ANY


def table_for(cls: Any) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        chosen = draw(st.lists(st.sampled_from(fields), max_size=min(5, len(fields)), unique_by=lambda f: f.name))
        table = {}
        for f in chosen:
            typed = draw(st.booleans()) or draw(st.booleans())  # 3 in 4: a value of the field's own type
            table[f.name] = draw(field_value(hints[f.name], dict(f.metadata)) if typed else ANY)
        if draw(st.integers(0, 19)) == 0:
            table[draw(st.sampled_from(["bogus", "read_qourum", "rate"]))] = draw(ANY)
        return table

    return build()


@st.composite
def scenario_doc(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(list(SECTIONS)), max_size=5, unique=True))
    doc = {name: draw(table_for(SECTIONS[name])) for name in names}
    if "faults" in doc and "schedule" in doc["faults"] and not isinstance(doc["faults"]["schedule"], list):
        doc["faults"]["schedule"] = [doc["faults"]["schedule"]]
    if draw(st.integers(0, 19)) == 0:
        doc["bogus_section"] = {"x": 1}
    return doc


SWEEPABLE = [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)
             if not f.metadata.get("internal")]


@st.composite
def sweep_doc(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    head: dict[str, Any] = {"engine": draw(st.sampled_from(["predict", "simulate", "predict", "nope", 3]))}
    if draw(st.booleans()):
        head["replications"] = draw(st.one_of(st.integers(1, 3), MAGNITUDES))
    if draw(st.booleans()):
        head["seed"] = draw(st.one_of(st.integers(0, 10), MAGNITUDES, FLOATS))
    doc: dict[str, Any] = {"sweep": head}
    base = draw(scenario_doc())
    for name, table in base.items():
        doc[f"base.{name}"] = table
    grid = {}
    for key in draw(st.lists(st.sampled_from([*SWEEPABLE, "run.seed", "nope.key"]), max_size=3, unique=True)):
        section, name = (key.split(".") + [""])[:2]
        cls = SECTIONS.get(section)
        hint = typing.get_type_hints(cls).get(name) if cls is not None else None
        meta = {f.name: dict(f.metadata) for f in dataclasses.fields(cls)}.get(name, {}) if cls is not None else {}
        values = field_value(hint, meta) if hint is not None else ANY
        grid[key] = draw(st.one_of(st.lists(values, max_size=3), st.lists(ANY, max_size=3), ANY))
    if grid:
        doc["grid"] = grid
    return doc


def sweep_text(doc: dict[str, Any]) -> str:
    lines = []
    for section, table in doc.items():
        lines.append("[" + ".".join(section.split(".")) + "]")
        lines += [f"{toml_value(k) if '.' in k else toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The properties


class TooManyEvents(BaseException):
    """Not an ``Exception``: the CLI's error handling must not turn it into an exit status."""


@contextmanager
def event_budget(limit: int) -> Iterator[None]:
    """Count every SimPy event processed inside (every ``Environment``, through ``step``, which
    ``Environment.run`` and the model's progress loop call; the model's own fast loop is swapped for
    ``Environment.run`` meanwhile); past ``limit``, stop the run."""
    original = simpy.Environment.step
    count = 0

    def step(env: simpy.Environment) -> None:
        nonlocal count
        count += 1
        if count > limit:
            raise TooManyEvents(f"the run did not end within {limit:,} simulation events")
        original(env)

    # the model runs in the project's own loop (pbs_sim.sim.events.run_until), which does not call
    # step: inside the budget it runs through SimPy's run, which does (the same events, counted)
    fast_loop = sim_events.run_until

    def counted_loop(env: simpy.Environment, until: simpy.Event) -> object:
        return env.run(until=until)

    simpy.Environment.step = step  # type: ignore[method-assign]
    sim_events.run_until = counted_loop  # type: ignore[assignment]
    try:
        yield
    finally:
        simpy.Environment.step = original  # type: ignore[method-assign]
        sim_events.run_until = fast_loop  # type: ignore[assignment]
        PEAK["events"] = max(PEAK["events"], count)


def assert_accepted_or_one_line(code: int, out: str, err: str, what: str) -> bool:
    assert "Traceback" not in err and "Traceback" not in out, err
    if code == 0:
        return True
    assert code == 2, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("pbs-sim: error: "), (what, err)
    return False


def bounded(raw: dict[str, Any]) -> dict[str, Any]:
    """The scenario with every setting that sizes the work capped (what a fuzz run may afford): a
    few hundred operations, and background processes over a span of ~25 ms plus the timeouts."""
    wl = raw.setdefault("workload", {})
    kind = wl.get("kind", "open")
    rate = wl.get("rate_per_s", 1000.0)
    per_op_ms = 1000.0 / rate  # open: ~150 operations in the warm-up and ~150 in the duration at most
    wl["warmup_ms"] = min(wl.get("warmup_ms", 1000.0), 5.0, 150 * per_op_ms if kind == "open" else 5.0)
    wl["duration_ms"] = min(wl.get("duration_ms", 10_000.0), 20.0, 150 * per_op_ms if kind == "open" else 20.0)
    wl["trials"] = min(wl.get("trials", 10_000), 20)
    wl["clients"] = min(wl.get("clients", 100), 10)
    wl["keys"] = min(wl.get("keys", 1000), 1000)
    wl["probe_interval_ms"] = min(wl.get("probe_interval_ms", 1.0), 1.0)
    if isinstance(wl.get("probe_offsets_ms"), list):
        wl["probe_offsets_ms"] = [min(x, 20.0) for x in wl["probe_offsets_ms"]]
    if isinstance(wl.get("hot_key_writers_per_s"), list):
        wl["hot_key_writers_per_s"] = [min(x, 1000.0) for x in wl["hot_key_writers_per_s"]]
    if wl.get("preload") is True:  # 1000 keys at >= 10^5 writes/s: at most 10 ms of load phase
        given = wl.get("preload_rate_per_s")
        wl["preload_rate_per_s"] = max(given if isinstance(given, int | float) else rate, 1e5)
    if kind == "closed" and not parse(wl.get("think_time", "exponential(mean=10)")).mean >= 1.0:
        wl["think_time"] = "exponential(mean=1)"  # 10 clients cycling at least every 1 ms
    if "rmw_gap" in wl and not parse(wl["rmw_gap"]).mean <= 10.0:
        wl["rmw_gap"] = "exponential(mean=1)"  # rmw writes follow their reads within the span
    cl = raw.setdefault("cluster", {})
    cl["vnodes"] = min(cl.get("vnodes", 8), 8)
    cl["nodes"] = min(cl.get("nodes", 3), max(cl.get("replication", 3), 20))
    for k in ("read_timeout_ms", "write_timeout_ms"):  # the run lasts until the last timeout at most
        cl[k] = min(cl.get(k, 10_000.0), 1000.0)
    fa = raw.setdefault("faults", {})
    for k in ("crash_mttf_ms", "disk_loss_mttf_ms"):
        if isinstance(fa.get(k), float | int):
            fa[k] = max(fa[k], 100.0)
    ae = raw.setdefault("anti_entropy", {})
    if ae.get("mode", "off") != "off":
        ae["interval"] = "exponential(mean=10)"
    fd = raw.get("failure_detector", {})
    if isinstance(fd.get("false_suspicion_rate_per_s"), int | float):
        fd["false_suspicion_rate_per_s"] = min(fd["false_suspicion_rate_per_s"], 10.0)
    hh = raw.get("hinted_handoff", {})
    if isinstance(hh.get("interval_ms"), int | float):
        hh["interval_ms"] = max(hh["interval_ms"], 10.0)
    return raw


def numbers_in(v: Any) -> Iterator[float]:
    if isinstance(v, dict):
        for x in v.values():
            yield from numbers_in(x)
    elif isinstance(v, list):
        for x in v:
            yield from numbers_in(x)
    elif isinstance(v, float):
        yield v


def check_scenario(doc: dict[str, dict[str, Any]], tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp / "fuzz.toml"
    path.write_text(toml_text(doc))
    raw = tomllib.loads(path.read_text())  # syntactically valid by construction
    code, out, err = run_cli(["validate", str(path)], capsys)
    if not assert_accepted_or_one_line(code, out, err, "validate"):
        SEEN["scenario refused"] += 1
        return
    SEEN["scenario accepted"] += 1
    # what was accepted holds only finite numbers (inf passed validation once, and the run never ended)
    resolved = load_scenario(path).to_dict()
    assert all(math.isfinite(x) for x in numbers_in(resolved)), resolved
    small = tmp / "bounded.toml"
    small.write_text(toml_text(bounded(raw)))
    with event_budget(MAX_SIM_EVENTS):
        code, out, err = run_cli(["run", str(small), "--no-progress", "--json"], capsys)
    assert code == 0, (toml_text(bounded(raw)), err)  # a smaller version of an accepted scenario runs
    json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    SEEN["bounded run ok"] += 1


def check_sweep(doc: dict[str, Any], tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp / "fuzz_sweep.toml"
    path.write_text(sweep_text(doc))
    tomllib.loads(path.read_text())
    code, out, err = run_cli(["validate", str(path)], capsys)  # no simulation: bounded by the sweep's checks
    ok = assert_accepted_or_one_line(code, out, err, "validate sweep")
    SEEN["sweep accepted" if ok else "sweep refused"] += 1
    if ok:
        code, out, err = run_cli(["sweep", str(path), "--dry-run"], capsys)
        assert code == 0, err


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                              HealthCheck.function_scoped_fixture])
FUZZ_SWEEP = settings(FUZZ, max_examples=EXAMPLES // 2)
SLOW = settings(FUZZ, max_examples=EXAMPLES * 10)


@FUZZ
@given(doc=scenario_doc())
def test_fuzz_scenarios(doc: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_scenario(doc, tmp_path, capsys)


@FUZZ_SWEEP
@given(doc=sweep_doc())
def test_fuzz_sweeps(doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_sweep(doc, tmp_path, capsys)


@pytest.mark.slow
@SLOW
@given(doc=scenario_doc())
def test_fuzz_scenarios_long(doc: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_scenario(doc, tmp_path, capsys)


def test_fuzz_tally(capsys: pytest.CaptureFixture[str]) -> None:
    """Print what the fuzz tests saw (run with -s), and that they saw both outcomes."""
    with capsys.disabled():
        print(f"\nfuzz: {dict(sorted(SEEN.items()))}; most events in one bounded run: {PEAK['events']:,}")
    if SEEN:
        assert SEEN["scenario refused"] > 0


def test_ci_runs_hypothesis_derandomized_without_a_deadline() -> None:
    """``make test`` (no HYPOTHESIS_PROFILE) draws the same examples everywhere and never judges one
    by its duration; ``make fuzz`` sets the random profile."""
    import os

    current = settings()
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert current.derandomize and current.database is None and current.deadline is None
    fuzz = settings.get_profile("fuzz")
    assert not fuzz.derandomize and fuzz.deadline is None and fuzz.max_examples > EXAMPLES // 2


def test_the_event_budget_stops_a_run_that_would_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The budget counts the simulator's events (if a change to the event loop bypassed
    ``Environment.step``, this fails instead of the fuzz test silently losing its bound)."""
    path = tmp_path / "s.toml"
    path.write_text('[latency]\nprofile = "lnkd-ssd"\n[workload]\nduration_ms = 50\nwarmup_ms = 0\n')
    with pytest.raises(TooManyEvents, match="did not end within 100 simulation events"), event_budget(100):
        run_cli(["run", str(path), "--no-progress", "--json"], capsys)
    with event_budget(MAX_SIM_EVENTS):
        code, _, err = run_cli(["run", str(path), "--no-progress", "--json"], capsys)
    assert code == 0, err
