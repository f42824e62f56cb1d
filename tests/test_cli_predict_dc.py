"""``pbs-sim predict --scenario FILE`` (issue 19): per (write DC, read DC) curves, and its refusals."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

SCENARIO = """
[topology]
wan = "aws-2017"
[[topology.datacenters]]
name = "us-east-1"
[[topology.datacenters]]
name = "eu-west-1"
[[topology.datacenters]]
name = "ap-northeast-1"
clients = 0
[consistency]
read = "LOCAL_QUORUM"
write = "LOCAL_QUORUM"
[predict]
trials = 4000
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    f = tmp_path / "dc.toml"
    f.write_text(SCENARIO)
    return f


def test_predict_scenario_prints_every_client_pair(run_cli: Run, scenario: Path) -> None:
    out = run_cli("predict", "--scenario", str(scenario), "--t-ms", "0,50", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "the simulator runs the same scenario too: pbs-sim run FILE" in out.stdout
    for w in ("us-east-1", "eu-west-1"):
        for r in ("us-east-1", "eu-west-1"):
            assert f"write in {w} at LOCAL_QUORUM, read in {r} at LOCAL_QUORUM" in out.stdout
    assert "ap-northeast-1 at" not in out.stdout  # no clients there
    assert ("if the WAN is cut (each datacenter alone, its replicas up): us-east-1 reads available, writes "
            "available; eu-west-1 reads available, writes available") in out.stdout


def test_predict_scenario_json_and_csv(run_cli: Run, scenario: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "curves.csv"
    out = run_cli("predict", "--scenario", str(scenario), "--json", "--trials", "3000", "--out", str(csv_path),
                  "--seed", "5")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    pairs = {(p["write_dc"], p["read_dc"]): p for p in doc["pairs"]}
    assert len(pairs) == 4 and all(p["trials"] == 3000 for p in pairs.values())  # --trials overrides [predict]
    assert doc["wan_cut"] == [{"dc": "us-east-1", "read_available": True, "write_available": True},
                              {"dc": "eu-west-1", "read_available": True, "write_available": True}]
    assert pairs[("us-east-1", "us-east-1")]["p_consistent_at_t0"] == 1.0
    assert pairs[("us-east-1", "eu-west-1")]["p_consistent_at_t0"] < 0.01
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["write_dc"], r["read_dc"]) for r in rows} == set(pairs)
    assert {"t_ms", "p_consistent", "ci_low", "ci_high"} <= set(rows[0])


def test_predict_scenario_without_topology_is_predict_scenario(run_cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "flat.toml"
    f.write_text('[consistency]\nread = "QUORUM"\nwrite = "ONE"\n[predict]\ntrials = 2000\n')
    out = run_cli("predict", "--scenario", str(f), "--json", "--seed", "1")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["n"], doc["r"], doc["w"]) == (3, 2, 1)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--n", "3"), "--scenario: the scenario sets the profile, N, R and W; drop --n"),
        (("--trials", "0"), "--trials: must be >= 1"),
        (("--seed", "-1"), "--seed: must be >= 0"),
    ],
)
def test_predict_scenario_refusals_are_one_line(run_cli: Run, scenario: Path, extra: tuple[str, ...], needle: str) -> None:
    out = run_cli("predict", "--scenario", str(scenario), *extra)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


def test_predict_scenario_bad_topology_is_one_line(run_cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(SCENARIO.replace('wan = "aws-2017"', ""))
    out = run_cli("predict", "--scenario", str(f))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "topology.links: no delay law between us-east-1 and eu-west-1" in out.stderr


def test_the_dc_pairs_experiment_predicts(run_cli: Run) -> None:
    out = run_cli("predict", "--scenario", "experiments/dc_pairs.toml", "--trials", "2000", "--json")
    assert out.returncode == 0, out.stderr
    pairs = json.loads(out.stdout)["pairs"]
    assert len(pairs) == 9
    for p in pairs:  # LOCAL_QUORUM both ways: consistent at once in the write's region, not across
        assert (p["p_consistent_at_t0"] == 1.0) == (p["write_dc"] == p["read_dc"])


def test_a_wan_cut_stops_quorum_writes(run_cli: Run, tmp_path: Path) -> None:
    f = tmp_path / "q.toml"
    f.write_text(SCENARIO.replace('write = "LOCAL_QUORUM"', 'write = "QUORUM"'))
    out = run_cli("predict", "--scenario", str(f), "--json", "--trials", "500")
    assert out.returncode == 0, out.stderr
    # QUORUM is 5 of 9: one region's 3 replicas cannot make it; LOCAL_QUORUM reads still can
    assert all(c["read_available"] and not c["write_available"] for c in json.loads(out.stdout)["wan_cut"])
