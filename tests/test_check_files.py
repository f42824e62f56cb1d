"""``pbs_sim.check(path)`` in Python takes what ``pbs-sim check PATH`` takes: a run directory or a
history file (Jepsen EDN, the JSONL / CSV history format), with the same findings, and a missing or
malformed file is the same one-line ``ConfigError``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_in_process import run_cli
from test_history_import import _csv_from_jsonl  # the CSV form of a JSONL history

import pbs_sim
from pbs_sim.checker import CheckReport
from pbs_sim.errors import ConfigError
from pbs_sim.export import write_jepsen
from pbs_sim.histories import ValueReport, check_run_values

SCENARIO = ('[cluster]\nnodes = 3\nversioning = "dvv"\ncoordinator = "random"\nread_quorum = 1\n'
            'write_quorum = 1\n[workload]\nkeys = 4\nduration_ms = 200\nrate_per_s = 2000\n'
            'read_fraction = 0.7\nclients = 4\n[faults]\nmessage_loss = 0.1\n')




def test_python_check_on_history_files_is_the_clis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(SCENARIO)
    out = tmp_path / "res"
    assert run_cli(["run", str(toml), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0
    run_report = pbs_sim.check(out)
    assert isinstance(run_report, CheckReport) and run_report.policy == "dvv"
    by_values = pbs_sim.check(out, values=True)
    assert isinstance(by_values, ValueReport)
    assert sum(by_values.counts().values()) > 0  # stale reads and session violations: findings to compare
    write_jepsen(pbs_sim.checker.load_frames(out), out / "h.edn")
    write_jepsen(pbs_sim.checker.load_frames(out), out / "h.jsonl", jsonl=True)
    _csv_from_jsonl(out / "h.jsonl", out / "h.csv")
    for name in ("h.edn", "h.jsonl", "h.csv"):
        for path in (out / name, str(out / name)):
            rep = pbs_sim.check(path)
            assert isinstance(rep, ValueReport), name
            assert rep.findings == by_values.findings, name
        rc, text, err = run_cli(["check", str(out / name), "--json"], capsys)
        assert rc == 0, err
        assert json.loads(text)["checks"] == pbs_sim.check(out / name).to_dict()["checks"], name
    # a history with its version metadata: the run's own version-level findings
    write_jepsen(pbs_sim.checker.load_frames(out), out / "v.edn", versions=True)
    rep_v = pbs_sim.check(out / "v.edn")
    assert isinstance(rep_v, CheckReport)
    assert {k: f.examples for k, f in rep_v.findings.items()} == {k: f.examples for k, f in run_report.findings.items()}
    assert isinstance(pbs_sim.check(out / "v.edn", values=True), ValueReport)
    assert pbs_sim.check(out / "v.edn", values=True).findings == check_run_values(pbs_sim.checker.load_frames(out)).findings


def test_python_check_on_a_bad_history_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.edn"):
        pbs_sim.check(tmp_path / "missing.edn")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"process": 0, "type": "invoke", "f": "scan", "key": "x", "value": null, "time": 0}\n')
    with pytest.raises(ConfigError, match="bad.jsonl") as e:
        pbs_sim.check(bad)
    assert "\n" not in str(e.value)
    with pytest.raises(pbs_sim.errors.PbsSimError, match="fmt"):
        pbs_sim.check({"ops": None}, fmt="edn")
