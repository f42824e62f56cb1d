"""`pbs-sim plot` through its real entry point (``pbs_sim.cli.main``; once as a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_in_process import run_cli
from test_plots import write_sweep_dir


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pbs-sim: error:")
    for n in needles:
        assert n in lines[0]


def test_curves_default_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_sweep_dir(tmp_path / "sweep")
    code, out, err = run_cli(["plot", str(d)], capsys)
    assert code == 0, err
    assert (d / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert out.strip() == str(d / "curves.png")


def test_tradeoff_svg_by_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_sweep_dir(tmp_path / "sweep", fmt="parquet")
    out_file = tmp_path / "figs" / "t.svg"
    code, _, err = run_cli(["plot", str(d), "--kind", "tradeoff", "--out", str(out_file)], capsys)
    assert code == 0, err
    assert "<svg" in out_file.read_text()


def test_versions_and_durability_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_sweep_dir(tmp_path / "sweep")
    code, _, err = run_cli(["plot", str(d), "--kind", "durability"], capsys)
    assert_one_line_error(code, err, "durability")
    pd.DataFrame({"versions_behind": [0, 1, 2, 0]}).to_csv(d / "versions_behind.csv", index=False)
    pd.DataFrame({"popularity_decile": range(1, 11), "lost_writes": range(10)}).to_csv(d / "durability.csv", index=False)
    for kind in ("versions", "durability"):
        code, _, err = run_cli(["plot", str(d), "--kind", kind], capsys)
        assert code == 0, err
        assert (d / f"{kind}.png").exists()


def test_durability_by_decile_table_of_the_durability_driver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "dur"
    d.mkdir()
    rows = [{"mode": m, "rep": r, "decile": k, "keys": 10, "reads_per_key": 11 - k, "writes": 5,
             "lost_writes": (k if m == "off" else 0), "lost_write_fraction": 0.0, "keys_lost": 0,
             "under_replicated_ms_per_key": 1.0} for m in ("off", "merkle") for r in range(2) for k in range(1, 11)]
    pd.DataFrame(rows).to_csv(d / "by_decile.csv", index=False)
    code, _, err = run_cli(["plot", str(d), "--kind", "durability"], capsys)
    assert code == 0, err


def test_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "run"
    d.mkdir()
    pd.DataFrame({"t_ms": [0.0, 1.0, 5.0], "p_consistent": [0.4, 0.9, 1.0], "ci_low": [0.3, 0.8, 0.99],
                  "ci_high": [0.5, 0.95, 1.0]}).to_csv(d / "curve.csv", index=False)
    pd.DataFrame({"t_visibility_ms": [4.0], "read_latency_p999_ms": [1.0], "write_latency_p999_ms": [2.0],
                  "profile": ["lnkd-disk"], "r": [1], "w": [1], "n": [3]}).to_csv(d / "summary.csv", index=False)
    for kind in ("curves", "tradeoff"):
        code, _, err = run_cli(["plot", str(d), "--kind", kind], capsys)
        assert code == 0, err
    code, _, err = run_cli(["plot", str(d), "--kind", "durability"], capsys)  # one run: nothing to plot against
    assert_one_line_error(code, err, "durability")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["plot", str(tmp_path / "absent")], capsys)
    assert_one_line_error(code, err, "no such results directory")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["plot", str(tmp_path / "empty")], capsys)
    assert_one_line_error(code, err, "no results here")
    d = write_sweep_dir(tmp_path / "sweep")
    code, _, err = run_cli(["plot", str(d), "--kind", "pie"], capsys)  # a usage error: Click's format
    assert code == 2 and err.startswith("Usage: pbs-sim plot") and "Error: Invalid value for '--kind': 'pie'" in err
    code, _, err = run_cli(["plot", str(d), "--out", str(tmp_path / "x.pdf")], capsys)
    assert_one_line_error(code, err, ".png or .svg")
    code, _, err = run_cli(["plot", str(d), "--kind", "versions"], capsys)
    assert_one_line_error(code, err, "versions_behind")
    (tmp_path / "file.txt").write_text("x")
    code, _, err = run_cli(["plot", str(tmp_path / "file.txt")], capsys)
    assert_one_line_error(code, err, "not a directory")


def test_console_script_subprocess(tmp_path: Path) -> None:
    d = write_sweep_dir(tmp_path / "sweep")
    ok = subprocess.run([sys.executable, "-m", "pbs_sim", "plot", str(d), "--kind", "tradeoff"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert (d / "tradeoff.png").exists()
    bad = subprocess.run([sys.executable, "-m", "pbs_sim", "plot", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


DC_SCENARIO = """
[topology]
wan = "aws-2017"
[[topology.datacenters]]
name = "us-east-1"
[[topology.datacenters]]
name = "eu-west-1"
[consistency]
read = "LOCAL_QUORUM"
write = "LOCAL_QUORUM"
[predict]
trials = 2000
"""


def test_dc_pairs_from_the_predictor_table_and_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pbs-sim predict --scenario --out TABLE` on a topology, then `plot TABLE --kind dc-pairs`; and a
    simulated run's directory (one pair on a flat cluster)."""
    sc = tmp_path / "dc.toml"
    sc.write_text(DC_SCENARIO)
    table = tmp_path / "pairs.csv"
    code, _, err = run_cli(["predict", "--scenario", str(sc), "--out", str(table), "--seed", "2"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["plot", str(table), "--kind", "dc-pairs"], capsys)
    assert code == 0, err
    png = tmp_path / "pairs-dc-pairs.png"
    assert out.strip() == str(png) and png.read_bytes()[:4] == b"\x89PNG"
    run = tmp_path / "run"
    quick = tmp_path / "quick.toml"
    quick.write_text("[workload]\nrate_per_s = 1000\nduration_ms = 300\nwarmup_ms = 50\n")
    code, _, err = run_cli(["run", str(quick), "--out", str(run)], capsys)
    assert code == 0, err
    code, _, err = run_cli(["plot", str(run), "--kind", "dc-pairs", "--out", str(tmp_path / "p.svg")], capsys)
    assert code == 0, err
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")


def test_dc_pairs_bad_tables_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"write_dc": ["a"], "read_dc": ["a"], "t_ms": ["soon"], "p_consistent": [1.0]}).to_csv(bad, index=False)
    code, _, err = run_cli(["plot", str(bad), "--kind", "dc-pairs"], capsys)
    assert_one_line_error(code, err, "bad.csv", "t_ms", "'soon' is not a number")
    lacks = tmp_path / "lacks.csv"
    pd.DataFrame({"t_ms": [0.0], "p_consistent": [1.0]}).to_csv(lacks, index=False)
    code, _, err = run_cli(["plot", str(lacks), "--kind", "dc-pairs"], capsys)
    assert_one_line_error(code, err, "lacks.csv", "missing column(s) write_dc, read_dc")
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = run_cli(["plot", str(tmp_path / "notes.txt"), "--kind", "dc-pairs"], capsys)
    assert_one_line_error(code, err, "not a directory or a .csv / .parquet table")
