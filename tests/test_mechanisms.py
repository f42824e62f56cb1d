"""The one way a mechanism plugs in: declared connections and tables, installation, reporters."""

from __future__ import annotations

from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import OK
from pbs_sim.mechanisms import MECHANISMS, reporters, sim_mechanisms
from pbs_sim.metrics.mechanism import Report, Reporter, RunView
from pbs_sim.metrics.staleness import read_outcomes
from pbs_sim.rng import Streams
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.mechanism import Mechanism, MissingConnection, TableSpec
from pbs_sim.simulation import simulate

CORE_TABLES = {"ops", "applies"}


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
        "sloppy_quorum", "hinted_handoff",
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
    assert manifest["provenance"]["results_schema"] == manifest["results_schema"] == RESULTS_SCHEMA == 2
