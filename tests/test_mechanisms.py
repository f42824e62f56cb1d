"""The one way a mechanism plugs in: declared connections and tables, installation, reporters."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import OK
from pbs_sim.mechanisms import (
    MECHANISMS,
    NameCollision,
    Registered,
    register,
    reporters,
    sim_mechanisms,
    summary_names,
)
from pbs_sim.metrics import causes as causes_metrics
from pbs_sim.metrics import durability as durability_metrics
from pbs_sim.metrics.mechanism import Report, Reporter, ReportMismatch, RunView, collect
from pbs_sim.metrics.staleness import read_outcomes
from pbs_sim.rng import Streams
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.mechanism import Mechanism, MissingConnection, TableSpec
from pbs_sim.simulation import CORE_NAMES, SUMMARY_NAMES, simulate

CORE_TABLES = {"ops", "applies"}
REPO = Path(__file__).resolve().parent.parent


def _raw(**extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "latency": {"profile": "lnkd-ssd"},
        "workload": {"kind": "open", "keys": 20, "read_fraction": 0.5, "rate_per_s": 2000,
                     "duration_ms": 200, "warmup_ms": 0},
        "run": {"seed": 3},
    }
    raw.update(extra)
    return raw


COMMITS = TableSpec("commits", {"at": "d", "op_id": "q"})


class CommitLog:
    """A toy mechanism written only against the protocol: logs every commit."""

    name = "commit_log"
    requires: tuple[str, ...] = ("coordinators", "history")
    tables: tuple[TableSpec, ...] = (COMMITS,)
    moves_data = False

    def enabled(self, scenario: Any) -> bool:
        return True

    def install(self, model: Model, streams: Streams) -> list[int]:
        table = COMMITS.create(model.history)
        seen: list[int] = []

        def on_commit(op: Any) -> None:
            table.append(op.completed_at, op.op_id)
            seen.append(op.op_id)

        for coord in model.coordinators.values():
            coord.on_commit.append(on_commit)
        return seen


class CommitLogReporter:
    name = "commit_log"
    names = ("logged_commits",)

    def report(self, run: RunView) -> Report:
        t = run.table("commits")
        return {"logged_commits": float(0 if t is None else len(t))}, {}


def test_a_new_mechanism_plugs_in_through_the_protocol_alone() -> None:
    """Toy mechanism + reporter, no edit anywhere else: installed, declared table created, its
    component kept under its name, and its reporter sees exactly the commits of the run."""
    mech = CommitLog()
    assert isinstance(mech, Mechanism) and isinstance(CommitLogReporter(), Reporter)
    sc = scenario_from_dict(_raw())
    model = build(sc, Streams(1), mechanisms=(mech,))
    assert "commits" in model.history.tables and model.history.mechanisms == {"commit_log": False}
    history = model.run()
    ops = history.to_frame("ops")
    committed = ops[(ops["kind"] == "write") & (ops["status"] == "ok")]
    assert sorted(model.part("commit_log")) == list(committed["op_id"])
    run = RunView(frames={"ops": ops, "commits": history.to_frame("commits")},
                  outcomes=read_outcomes(ops, 0.0), mechanisms=history.mechanisms)
    summary, _ = CommitLogReporter().report(run)
    assert summary["logged_commits"] == len(committed) > 0
    assert not run.data_moved


def test_a_missing_connection_is_an_error_at_build_time() -> None:
    class NeedsClock(CommitLog):
        name = "needs_clock"
        requires: tuple[str, ...] = ("clock_that_does_not_exist",)

    with pytest.raises(MissingConnection, match="needs_clock.*clock_that_does_not_exist"):
        build(scenario_from_dict(_raw()), Streams(1), mechanisms=(NeedsClock(),))


def test_disabled_mechanisms_install_nothing() -> None:
    model = build(scenario_from_dict(_raw()), Streams(1))
    assert model.history.mechanisms == {} and set(model.history.tables) == CORE_TABLES
    assert model.parts == {}


def test_registry_pairs_each_simulator_half_with_a_reporter_of_the_same_name() -> None:
    names = [m.sim.name for m in MECHANISMS if m.sim is not None]
    assert names == [m.name for m in sim_mechanisms()] == [
        "faults", "read_repair", "anti_entropy", "clocks", "causality", "siblings", "failure_detector",
        "sloppy_quorum", "hinted_handoff", "speculative_retry", "ideal_cl",
    ]
    for entry in MECHANISMS:
        if entry.sim is not None:
            assert entry.reporter.name == entry.sim.name
    assert len({r.name for r in reporters()}) == len(reporters())


def test_every_table_a_run_writes_is_declared_by_an_installed_mechanism() -> None:
    """Faults, read repair and anti-entropy all on: the history holds the core tables plus exactly
    the tables the installed mechanisms declare, and the summary carries every reporter's names."""
    raw = _raw(
        faults={"crash_mttf_ms": 100, "crash_mttr_ms": 20, "message_loss": 0.01},
        read_repair={"mode": "async"},
        anti_entropy={"mode": "merkle", "interval": "exponential(mean=20)", "tree_depth": 4},
    )
    res = simulate(scenario_from_dict(raw))
    installed = res.history.mechanisms
    assert set(installed) == {"faults", "read_repair", "anti_entropy"} and all(installed.values())
    declared = {spec.name for m in sim_mechanisms() if m.name in installed for spec in m.tables}
    assert set(res.history.tables) == CORE_TABLES | declared
    s = res.summary()
    for name in ("fault_crashes", "repairs_sent", "ae_exchanges", "lost_writes", "committed_writes"):
        assert name in s
    ops = res.history.to_frame("ops")
    assert (ops["status"] == "ok").any() and OK == 1


def test_reporters_give_their_names_with_every_mechanism_off() -> None:
    s = simulate(scenario_from_dict(_raw())).summary()
    for name in ("fault_crashes", "fault_disk_losses", "repairs_sent", "ae_exchanges", "lost_writes"):
        assert s[name] == 0.0


def test_every_manifest_carries_the_results_schema(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Run manifests (and every other manifest, through ``io.provenance``) name the results schema."""
    import json
    from pathlib import Path

    from cli_in_process import run_cli

    from pbs_sim.schema import RESULTS_SCHEMA

    out = tmp_path / "run"
    scenario = Path(__file__).resolve().parent.parent / "experiments" / "quickstart.toml"
    code, _, err = run_cli(["run", str(scenario), "--set", "workload.duration_ms=200", "--out", str(out),
                            "--no-progress"], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["provenance"]["results_schema"] == manifest["results_schema"] == RESULTS_SCHEMA == 5


# -- declared summary names (issue 17): collisions refused at import, reports checked on every run


class Toy:
    """A reporter that declares ``names`` and returns ``gives`` (and ``frames``)."""

    def __init__(self, name: str, names: tuple[str, ...], gives: tuple[str, ...] | None = None,
                 frames: tuple[str, ...] = ()) -> None:
        self.name, self.names = name, names
        self.gives = names if gives is None else gives
        self.frames = frames

    def report(self, run: RunView) -> Report:
        return {n: 1.0 for n in self.gives}, {f: pd.DataFrame() for f in self.frames}


EMPTY_RUN = RunView(frames={"ops": pd.DataFrame()}, outcomes=pd.DataFrame())


def test_two_reporters_declaring_one_name_are_refused_by_the_registry() -> None:
    a, b = Toy("alpha", ("x", "shared")), Toy("beta", ("shared", "y"))
    assert isinstance(a, Reporter)
    with pytest.raises(NameCollision, match="'shared' is declared by both reporter 'alpha' and reporter 'beta'"):
        register(Registered(None, a), Registered(None, b))
    with pytest.raises(NameCollision, match="two reporters are named 'alpha'"):
        register(Registered(None, a), Registered(None, Toy("alpha", ("z",))))
    with pytest.raises(NameCollision, match="'alpha' declares 'x' twice"):
        register(Registered(None, Toy("alpha", ("x", "x"))))
    assert register(Registered(None, a), Registered(None, Toy("beta", ("y",)))) is not None


def test_a_reporter_claiming_a_core_summary_name_is_refused() -> None:
    with pytest.raises(NameCollision, match="'ops' is declared by both 'simulate' .* and reporter 'alpha'"):
        summary_names((Registered(None, Toy("alpha", ("ops",))),), reserved=CORE_NAMES)


def test_the_registry_refuses_a_collision_when_it_is_imported() -> None:
    """The real registry, with the clocks reporter also claiming the faults reporter's name: the
    module does not import (a fresh interpreter, so this process's registry stays as it is)."""
    probe = ("from pbs_sim.metrics import clocks\n"
             "clocks.ClocksReporter.names += ('fault_crashes',)\n"
             "import pbs_sim.mechanisms\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode != 0 and "pbs_sim.mechanisms.NameCollision: summary name 'fault_crashes' is declared " \
        "by both reporter 'faults' and reporter 'clocks'" in proc.stderr, proc.stderr


def test_a_report_missing_a_declared_name_or_adding_one_fails() -> None:
    ok, _ = collect([Toy("alpha", ("x", "y"))], EMPTY_RUN)
    assert ok == {"x": 1.0, "y": 1.0}
    with pytest.raises(ReportMismatch, match="reporter 'alpha': missing declared name\\(s\\) y$"):
        collect([Toy("alpha", ("x", "y"), gives=("x",))], EMPTY_RUN)
    with pytest.raises(ReportMismatch, match="reporter 'alpha': returned undeclared name\\(s\\) z$"):
        collect([Toy("alpha", ("x",), gives=("x", "z"))], EMPTY_RUN)
    with pytest.raises(ReportMismatch, match="missing declared name\\(s\\) y; returned undeclared name\\(s\\) z"):
        collect([Toy("alpha", ("x", "y"), gives=("x", "z"))], EMPTY_RUN)


def test_a_frame_named_like_another_is_an_error_not_an_overwrite() -> None:
    with pytest.raises(ReportMismatch, match="reporter 'beta': frame\\(s\\) f already taken"):
        collect([Toy("alpha", ("x",), frames=("f",)), Toy("beta", ("y",), frames=("f",))], EMPTY_RUN)
    with pytest.raises(ReportMismatch, match="frame\\(s\\) curve already taken"):
        collect([Toy("alpha", ("x",), frames=("curve",))], EMPTY_RUN, taken_frames=("curve",))


def test_summary_is_assembled_in_declaration_order_not_report_order() -> None:
    summary, _ = collect([Toy("alpha", ("x", "y"), gives=("y", "x")), Toy("beta", ("a",))], EMPTY_RUN)
    assert list(summary) == ["x", "y", "a"]


SCENARIOS = {
    "every mechanism off": {},
    "faults, read repair, anti-entropy": dict(
        faults={"crash_mttf_ms": 100, "crash_mttr_ms": 20, "message_loss": 0.01},
        read_repair={"mode": "async"},
        anti_entropy={"mode": "merkle", "interval": "exponential(mean=20)", "tree_depth": 4},
    ),
    "version vectors, skewed clocks": dict(
        cluster={"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, "versioning": "vv"},
        clocks={"offset": "normal(0, 5)"},
    ),
    "sloppy quorums, hinted handoff": dict(
        cluster={"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2, "sloppy_quorum": True},
        faults={"schedule": [{"at_ms": 50, "action": "crash", "nodes": [0], "duration_ms": 60}]},
        hinted_handoff={"store": "fallback", "interval_ms": 20, "inactivity_timeout_ms": 0},
        failure_detector={"mode": "perfect"},
    ),
}


@pytest.mark.parametrize("label", list(SCENARIOS))
def test_summary_columns_are_the_union_of_declarations_in_order(label: str) -> None:
    """Whatever a run turns on, its summary has exactly the core names then every reporter's
    declared names in registry order (on the old code durability and causes dropped names when
    nothing moved data, so the columns depended on the cell)."""
    declared = [*CORE_NAMES, *(n for r in reporters() for n in r.names)]
    assert list(SUMMARY_NAMES) == declared and len(set(declared)) == len(declared)
    assert list(simulate(scenario_from_dict(_raw(**SCENARIOS[label]))).summary()) == declared


def test_the_cross_cutting_reporters_give_every_name_when_they_do_not_compute() -> None:
    """Durability without data movement and causes beyond their classification budget: the loss
    counts are zero, the figures not computed are nan, and every declared name is there."""
    res = simulate(scenario_from_dict(_raw()))
    ops = res.history.to_frame("ops")
    run = RunView(frames={"ops": ops, "applies": res.history.to_frame("applies")}, outcomes=res.outcomes)
    s, frames = durability_metrics.REPORTER.report(run)
    assert tuple(s) == durability_metrics.REPORTER.names and frames == {}
    assert s["lost_writes"] == s["keys_lost"] == 0.0 and math.isnan(s["committed_writes"])
    s, frames = causes_metrics.CausesReporter(max_without_faults=-1).report(run)  # skips even 0 stale reads
    assert tuple(s) == causes_metrics.REPORTER.names and frames == {}
    assert all(math.isnan(v) for v in s.values())
