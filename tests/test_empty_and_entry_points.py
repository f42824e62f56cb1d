"""Issue 17, item 11: ``simulate`` takes a scenario file as ``run_sweep`` and ``check`` do, and a run
that measured nothing prints one clean line instead of an empty t-bin and ``nan``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cli_in_process import run_cli

import pbs_sim
from pbs_sim.config import load_scenario

SCENARIO = """
[cluster]
nodes = 3
[latency]
profile = "lnkd-ssd"
[workload]
kind = "open"
keys = 20
rate_per_s = 2000
duration_ms = 100
warmup_ms = 0
"""
EMPTY = SCENARIO.replace("rate_per_s = 2000", "rate_per_s = 0.001")  # ~1e-7 expected operations


def test_simulate_accepts_a_path_a_string_and_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(SCENARIO)
    want = pbs_sim.simulate(load_scenario(path)).summary()
    for given in (path, str(path)):
        got = pbs_sim.simulate(given).summary()
        assert {k: v for k, v in got.items() if k not in ("wall_s", "cpu_s")} == \
            {k: v for k, v in want.items() if k not in ("wall_s", "cpu_s")}
    assert pbs_sim.simulate(load_scenario(path).to_dict()).summary()["ops"] == want["ops"] > 0
    with pytest.raises(TypeError, match="simulate\\(\\) takes a Scenario, a scenario file path or a dict, not int"):
        pbs_sim.simulate(3)  # type: ignore[arg-type]


def test_simulate_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(pbs_sim.ConfigError, match="file does not exist"):
        pbs_sim.simulate(tmp_path / "nope.toml")


def test_a_run_with_no_operations_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(EMPTY)
    assert pbs_sim.simulate(path).summary()["ops"] == 0
    code, out, err = run_cli(["run", str(path), "--no-progress"], capsys)
    assert code == 0, err
    assert "no measured operations: the workload issued none after its warm-up" in out
    assert "[0, 0)" not in out and "nan" not in out and "n/a" not in out, out
    assert len(out.strip().splitlines()) == 3


def test_a_run_with_no_reads_does_not_print_an_empty_bin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "writes.toml"
    path.write_text(SCENARIO + "read_fraction = 0.0\n")
    code, out, err = run_cli(["run", str(path), "--no-progress"], capsys)
    assert code == 0, err
    assert "no completed measured reads (0 issued)" in out
    assert "[0, 0)" not in out and "nan" not in out, out
    s = pbs_sim.simulate(path).summary()
    assert s["writes"] > 0 and s["measured_reads"] == 0 and math.isnan(s["p_consistent_at_t0"])
