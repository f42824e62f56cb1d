"""`pbs-sim run` and `pbs-sim validate` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_in_process import run_cli

SMALL = """
[cluster]
nodes = 3
replication = 3
read_quorum = 1
write_quorum = 1

[latency]
profile = "lnkd-ssd"

[workload]
kind = "open"
keys = 50
rate_per_s = 2000
duration_ms = 300
warmup_ms = 20

[run]
seed = 5
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def test_run_writes_results(scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "res"
    code, out, err = run_cli(["run", str(scenario), "--out", str(out_dir), "--ops"], capsys)
    assert code == 0, err
    assert "lnkd-ssd: N=3 R=1 W=1" in out and "results written to" in out
    for name in ("summary", "curve", "ops", "applies", "versions_behind", "latency", "monitoring"):
        assert (out_dir / f"{name}.csv").exists(), name
    summary = pd.read_csv(out_dir / "summary.csv")
    assert len(summary) == 1
    assert summary["cluster_replication"].iloc[0] == 3 and summary["n"].iloc[0] == 3
    assert summary["run_seed"].iloc[0] == 5 and summary["seed"].iloc[0] == 5
    curve = pd.read_csv(out_dir / "curve.csv")
    assert {"t_ms", "p_consistent", "ci_low", "ci_high", "n"} <= set(curve.columns)
    ops = pd.read_csv(out_dir / "ops.csv")
    assert len(ops) >= summary["ops"].iloc[0] and set(ops["status"]) == {"ok"}
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["config"]["cluster"]["replication"] == 3 and manifest["seed"] == 5
    assert "versions" in manifest["provenance"] and "summary.csv" in manifest["files"]
    assert not list(out_dir.glob(".*.tmp"))


def test_same_seed_same_results_and_seed_option(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def summary(*extra: str) -> dict:
        code, out, err = run_cli(["run", str(scenario), "--json", "--no-progress", *extra], capsys)
        assert code == 0, err
        s = json.loads(out)
        for k in ("wall_s", "cpu_s"):
            s.pop(k)
        return s

    a, b, c = summary(), summary(), summary("--seed", "6")
    assert a == b
    assert c["seed"] == 6 and c != a


def test_parquet_and_overrides(scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "pq"
    code, out, err = run_cli(
        ["run", str(scenario), "--out", str(out_dir), "--format", "parquet", "--set", "cluster.read_quorum=2",
         "--set", "cluster.write_quorum=2"], capsys,
    )
    assert code == 0, err
    s = pd.read_parquet(out_dir / "summary.parquet")
    assert (s["r"].iloc[0], s["w"].iloc[0]) == (2, 2)
    assert s["stale_read_fraction"].iloc[0] == 0.0  # R + W > N, no faults


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "missing.toml"], "missing.toml: file does not exist"),
        (["run", "{sc}", "--set", "cluster.read_quorum=9"], "cluster.read_quorum: R = 9 exceeds N = 3"),
        (["run", "{sc}", "--set", "nonsense"], "--set: expected KEY=VALUE"),
        (["run", "{sc}", "--seed", "-1"], "--seed: must be >= 0"),
        (["run", "{sc}", "--set", "workload.bogus=1"], "workload.bogus: unknown key"),
    ],
)
def test_errors_are_one_line_exit_2(argv: list[str], needle: str, scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([a.replace("{sc}", str(scenario)) for a in argv], capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_usage_error_follows_click(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["validate", str(scenario), "--zzz"], capsys)  # no near name: Click adds no hint
    lines = err.strip().splitlines()
    assert code == 2 and lines[0].startswith("Usage: pbs-sim validate") and lines[-1] == "Error: No such option '--zzz'."


def test_validate(scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["validate", str(scenario)], capsys)
    assert code == 0 and out.startswith(f"ok: {scenario}")
    assert "N=3 R=1 W=1" in out and "partial" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('profile = "lnkd-ssd"', 'profile = "nope"'))
    code, out, err = run_cli(["validate", str(bad)], capsys)
    assert code == 2 and "latency.profile: unknown profile 'nope'" in err
    code, out, err = run_cli(["validate", "--keys"], capsys)
    assert code == 0 and "cluster.read_quorum" in out


def test_run_refuses_a_sweep_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nengine = "simulate"\n')
    code, out, err = run_cli(["run", str(sweep)], capsys)
    assert code == 2 and "this is a sweep file; run it with `pbs-sim sweep`" in err
