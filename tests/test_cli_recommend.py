"""``pbs-sim recommend`` through the real entry point and in process: report, JSON, CSV, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pandas as pd
import pytest
from cli_in_process import run_cli as run_in_process

Run = Callable[..., CompletedProcess[str]]
BASE = ("recommend", "--profile", "lnkd-disk", "--trials", "5000", "--seed", "3")


def test_report_json_and_csv(run_cli: Run, tmp_path: Path) -> None:
    out = run_cli(*BASE, "--n", "3..4", "--max-t-visibility-ms", "20", "--min-availability", "0.9999",
                  "--out", str(tmp_path / "t.csv"))
    assert out.returncode == 0, out.stderr
    assert "recommended: N=" in out.stdout and "excluded (" in out.stdout
    assert "t-visibility at 99.9 %" in out.stdout  # an exclusion sentence
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 9 + 16 and {"feasible", "pareto", "misses", "read_availability"} <= set(table.columns)
    js = run_cli(*BASE, "--n", "3", "--max-read-ms", "5", "--json")
    assert js.returncode == 0, js.stderr
    d = json.loads(js.stdout)
    assert d["best"]["n"] == 3 and len(d["table"]) == 9 and d["availability_model"] == "strict"


def test_sloppy_nodes_scores_sloppy_availability(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process([*BASE, "--n", "3", "--sloppy-nodes", "6", "--node-availability", "0.9",
                                     "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["availability_model"] == "sloppy"
    full = [row for row in d["table"] if row["r"] == 3 and row["w"] == 3][0]
    assert full["read_availability"] == pytest.approx(0.99873, abs=1e-5)  # P(Bin(6, 0.9) >= 3)


def test_no_feasible_configuration_exits_1_with_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process([*BASE, "--n", "3", "--max-write-ms", "0.001"], capsys)
    assert code == 1, err
    assert "no configuration meets every target" in out and "closest: N=3 R=" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--n", "7..3"), "--n: empty range 7..3"),
        (("--n", "3", "--target", "1.5"), "--target: must be a probability in (0, 1)"),
        (("--n", "3", "--target", "0"), "--target: must be a probability in (0, 1)"),
        (("--n", "3", "--min-availability", "1"), "--min-availability: must be a probability in (0, 1)"),
        (("--n", "3", "--node-availability", "0"), "--node-availability"),
        (("--n", "3", "--max-read-ms", "-1"), "--max-read-ms: must be a finite number"),
        (("--n", "3..5", "--sloppy-nodes", "4"), "--sloppy-nodes: a ring of 4 nodes cannot hold N = 5"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args: tuple[str, ...], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process([*BASE, *args], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_trace_that_does_not_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "trace.csv"
    bad.write_text("w,a,r,s\n1,1,1,1\n2,oops,1,1\n")
    code, _, err = run_in_process(["recommend", "--profile", str(bad), "--n", "3", "--trials", "500"], capsys)
    assert code == 2 and f"{bad}: a: line 3: 'oops' is not a number" in err, err
    good = tmp_path / "good.csv"
    good.write_text("ms\n" + "\n".join(str(0.5 + 0.01 * i) for i in range(200)) + "\n")
    code, out, err = run_in_process(["recommend", "--profile", str(good), "--n", "3", "--trials", "2000",
                                     "--seed", "1"], capsys)
    assert code == 0, err
    assert out.startswith("good: N = 3")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--n", "3", "--target", "1"), "--target: must be a probability in (0, 1), got 1"),
        (("--n", "3", "--seed", str(2**63)), "--seed: must be < 2**63"),
        (("--n", "3", "--seed", "-1"), "--seed: must be >= 0"),
        (("--n", "3..30", "--trials", "10000000"), "--trials: N x trials = 30 x 10,000,000"),
    ],
)
def test_same_limits_as_predict(args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(["recommend", "--profile", "lnkd-ssd", *args], capsys)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_whole_number_targets_print_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process([*BASE, "--n", "3", "--max-read-ms", "1000000"], capsys)
    assert code == 0, err
    assert "read p99.9 <= 1000000 ms" in out and "e+" not in out
