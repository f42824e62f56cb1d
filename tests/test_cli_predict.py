"""``pbs-sim predict`` through its real entry point (``python -m pbs_sim``), good and bad input."""

from __future__ import annotations

import json
import re
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


# ---------------------------------------------------------------------------------------------
# issue 17: seeds round-trip, one limit on N x trials, one target rule, one profile loader,
# integers printed as integers


def _printed_seed(first_line: str) -> str:
    m = re.search(r"seed (\d+)", first_line)
    assert m, first_line
    return m.group(1)


@pytest.mark.parametrize("cmd", ["predict", "recommend"])
def test_a_printed_seed_is_accepted_back_and_reproduces_the_numbers(run_cli: Run, cmd: str) -> None:
    args = (("predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1", "--trials", "3000")
            if cmd == "predict" else ("recommend", "--profile", "lnkd-ssd", "--n", "3", "--trials", "3000"))
    first = run_cli(*args)  # no --seed: a fresh one, printed
    assert first.returncode == 0, first.stderr
    seed = _printed_seed(first.stdout.splitlines()[0])
    assert int(seed) < 2**63
    again = run_cli(*args, "--seed", seed)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    # JSON carries the seed losslessly, and a CSV of the recommender's table reads back as int64
    js = json.loads(run_cli(*args, "--seed", seed, "--json").stdout)
    assert (js["seed"] if cmd == "predict" else js["table"][0]["seed"]) == int(seed)


def test_recommend_table_csv_keeps_the_seed_exactly(run_cli: Run, tmp_path: Path) -> None:
    out = run_cli("recommend", "--profile", "lnkd-ssd", "--n", "3", "--trials", "2000", "--out", str(tmp_path / "t.csv"))
    assert out.returncode == 0, out.stderr
    seed = int(_printed_seed(out.stdout.splitlines()[0]))
    col = pd.read_csv(tmp_path / "t.csv")["seed"]
    assert str(col.dtype) == "int64" and set(col) == {seed}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--n", "1000000", "--r", "1", "--w", "1", "--trials", "1000"), "--n: must be <= 10,000, got 1,000,000"),
        (("--n", "10000", "--r", "1", "--w", "1", "--trials", "1000000000"),
         "--trials: N x trials = 10,000 x 1,000,000,000"),
        (("--n", "3", "--r", "1", "--w", "1", "--trials", str(10**13)), "--trials: must be <= 1,000,000,000,000"),
        (("--n", "3", "--r", "1", "--w", "1", "--seed", str(2**63)), "--seed: must be < 2**63"),
        (("--n", "3", "--r", "1", "--w", "1", "--target", "1"), "--target: must be a probability in (0, 1), got 1"),
    ],
)
def test_limits_shared_with_recommend(run_cli: Run, args: tuple[str, ...], needle: str) -> None:
    out = run_cli("predict", "--profile", "lnkd-ssd", *args)
    assert out.returncode == 2 and out.stdout == "", out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and needle in out.stderr, out.stderr


def test_predict_reads_a_csv_trace_as_recommend_does(run_cli: Run, tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("w,a,r,s\n" + "\n".join(f"{1 + i % 7},0.2,0.3,{0.4 + i % 3}" for i in range(300)) + "\n")
    out = run_cli("predict", "--profile", str(trace), "--n", "3", "--r", "1", "--w", "1", "--trials", "2000",
                  "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["profile"] == "trace"
    bad = tmp_path / "bad.csv"
    bad.write_text("w,a,r,s\n1,1,1,1\n2,oops,1,1\n")
    out = run_cli("predict", "--profile", str(bad), "--n", "3", "--r", "1", "--w", "1")
    assert out.returncode == 2 and f"{bad}: a: line 3: 'oops' is not a number" in out.stderr, out.stderr
    assert "TOML" not in out.stderr


def test_whole_numbers_are_printed_in_full(run_cli: Run) -> None:
    out = run_cli(*BASE, "--t-ms", "0,1000000")
    assert out.returncode == 0, out.stderr
    assert "e+" not in out.stdout
    assert re.search(r"^\s+1000000\s+100\.000%", out.stdout, re.M), out.stdout


@pytest.mark.parametrize(
    ("args", "long"),
    [
        (("predict", "--profile", "lnkd-ssd", "--n", "100", "--r", "1", "--w", "1", "--trials", "20000"), True),
        (("predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1", "--trials", "20000"), False),
        (("recommend", "--profile", "lnkd-ssd", "--n", "20..30", "--trials", "5000"), True),
        (("recommend", "--profile", "lnkd-ssd", "--n", "3", "--trials", "5000"), False),
    ],
    ids=["predict-large-N", "predict-short", "recommend-large-N", "recommend-short"],
)
def test_long_calls_show_progress_off_a_terminal(args: tuple[str, ...], long: bool, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """N x trials decides 'long' (not trials alone), for predict and recommend alike; off a
    terminal progress is a plain line. The threshold and the delays are lowered so that the test
    decides by counts, not by time."""
    from cli_in_process import run_cli as run_in_process

    from pbs_sim.analytic import limits
    from pbs_sim.cli import progress as prog

    monkeypatch.setattr(limits, "PROGRESS_MIN_WORK", 10**6)
    monkeypatch.setattr(prog, "FIRST_NOTE_S", 0.0)
    monkeypatch.setattr(prog, "EVERY_S", 0.0)
    code, out, err = run_in_process([*args, "--seed", "1"], capsys)
    assert code in (0, 1), err
    notes = [line for line in err.splitlines() if line.startswith(f"pbs-sim: {args[0]}: ")]
    assert bool(notes) == long, err
    if long:
        assert " % of " in notes[0] and "left" in notes[0]
