"""``pbs-sim predict`` through its real entry point (``python -m pbs_sim``), good and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pandas as pd
import pytest

from pbs_sim.cli.predict import parse_t_ms
from pbs_sim.errors import ConfigError

Run = Callable[..., CompletedProcess[str]]
BASE = ("predict", "--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--trials", "20000", "--seed", "1")


def test_json_output(run_cli: Run) -> None:
    out = run_cli(*BASE, "--t-ms", "0,1,10,45.5", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    for key in ("n", "r", "w", "profile", "trials", "seed", "target", "t_visibility_ms", "t_visibility_ci_ms",
                "p_consistent_at_t0", "curve", "read_latency_ms", "write_latency_ms"):
        assert key in d, key
    assert (d["n"], d["r"], d["w"], d["profile"], d["trials"], d["seed"], d["target"]) == (
        3, 1, 1, "lnkd-disk", 20000, 1, 0.999)
    assert len(d["t_visibility_ci_ms"]) == 2
    assert {0.0, 1.0, 10.0, 45.5} <= {row["t_ms"] for row in d["curve"]}
    assert set(d["write_latency_ms"]) == {"p50", "p99", "p99.9"}
    # the paper's lnkd-disk point (43.9 % at t = 0), loosely: 20000 trials
    assert abs(d["p_consistent_at_t0"] - 0.439) < 0.02


def test_table_output_and_csv(run_cli: Run, tmp_path: Path) -> None:
    csv = tmp_path / "sub" / "curve.csv"
    out = run_cli(*BASE, "--t-ms", "0,10", "--fanout", "quorum", "--k", "2", "--out", str(csv))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "t-visibility @ 99.9 %" in text and "P(consistent at t=0)" in text
    assert "read fan-out quorum" in text and "P(one of last 2 versions" in text
    assert "latency (ms)" in text and "write" in text
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["t_ms", "p_consistent", "ci_low", "ci_high"]
    assert {0.0, 10.0} <= set(frame["t_ms"])
    assert frame["p_consistent"].is_monotonic_increasing
    assert not list(csv.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_same_seed_same_output(run_cli: Run) -> None:
    a, b = (run_cli(*BASE, "--json").stdout for _ in range(2))
    assert a == b


def test_user_profile_file(run_cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('w = "exponential(rate=0.5)"\na = 0\nr = 0\ns = 0\n')
    out = run_cli("predict", "--profile", str(f), "--n", "3", "--r", "1", "--w", "1", "--trials", "5000",
                  "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["profile"] == "p"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--profile", "lnkd-disk", "--n", "3", "--r", "4", "--w", "1"), "--r: R = 4 exceeds N = 3"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "0"), "--w: must be >= 1, got 0"),
        (("--profile", "lnkd-sdd", "--n", "3", "--r", "1", "--w", "1"), "--profile: unknown profile 'lnkd-sdd'"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--t-ms", "0,x"), "--t-ms: 'x' is not a number"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--t-ms", "0,,1"), "--t-ms: empty value"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--t-ms", "-1"), "--t-ms: '-1'"),
        (("--profile", "missing.toml", "--n", "3", "--r", "1", "--w", "1"), "does not exist"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--fanout", "some"), "--fanout: 'some'"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--target", "2"), "--target: must be a probability"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--trials", "0"), "--trials: must be >= 1"),
        (("--profile", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1", "--k", "0"), "--k: must be >= 1"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_cli: Run, args: tuple[str, ...], needle: str) -> None:
    out = run_cli("predict", *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--profile", "lnkd-disk", "--n", "x", "--r", "1", "--w", "1"), "'x' is not a valid integer"),
        (("--n", "3", "--r", "1", "--w", "1"), "Missing option '--profile'"),
    ],
)
def test_usage_errors_follow_click(run_cli: Run, args: tuple[str, ...], needle: str) -> None:
    out = run_cli("predict", *args)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0] == "Usage: pbs-sim predict [OPTIONS]" and lines[-1].startswith("Error: ") and needle in lines[-1]


def test_malformed_distribution_in_profile_file(run_cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('w = "mixture(0.5*exponential(1), 0.4*pareto(1, 2))"\na = 1\nr = 1\ns = 1\n')
    out = run_cli("predict", "--profile", str(f), "--n", "3", "--r", "1", "--w", "1")
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert str(f) in line and "w: mixture weights sum to 0.9" in line


def test_parse_t_ms() -> None:
    assert parse_t_ms("0, 1,10,45.5") == (0.0, 1.0, 10.0, 45.5)
    assert parse_t_ms(None) == ()
    with pytest.raises(ConfigError):
        parse_t_ms("1,inf")
