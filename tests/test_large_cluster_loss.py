"""The large-cluster loss tools: the experiment (reduced), plot kind loss-vs-size, ``pbs-sim loss``,
the recommender's durability target, and their one-line errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from pbs_sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXP = ROOT / "experiments" / "large_cluster_loss.py"


def _driver():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("large_cluster_loss", EXP)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["large_cluster_loss"] = mod
    spec.loader.exec_module(mod)
    return mod


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # click's standalone mode
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return int(code or 0), out.out, out.err


def test_experiment_runs_reduced_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drv = _driver()
    table = drv.run(out=tmp_path, sizes=[30, 300], mc_trials=200, plot=False)  # one render below suffices
    assert set(table["series"]) >= {"Copyset Replication, S = 10", "vnodes, 256 tokens/node", "fixed ring, 64 partitions"}
    assert ((table["p_loss_lower"] <= table["p_loss"] + 1e-15) & (table["p_loss"] <= table["p_loss_upper"] + 1e-15)).all()
    fb = table[(table["series"] == "Facebook, window S = 10") & (table["nodes"] == 300)].iloc[0]
    assert fb["reference_p_loss"] > fb["p_loss_upper"], "the paper's approximation over-counts the copysets"
    assert (tmp_path / "loss_vs_size.csv").is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"] == ["loss_vs_size.csv"] and manifest["sizes"] == [30, 300]
    code, out, err = run_cli(["plot", str(tmp_path), "--kind", "loss-vs-size", "--out", str(tmp_path / "k.png")], capsys)
    assert code == 0 and (tmp_path / "k.png").stat().st_size > 0, err


@pytest.mark.parametrize(("edit", "line"), [
    (("failed_fraction = 0.01 }", "failed_nodes = 100000 }"), "failure_model.failed_nodes: F = 100000 exceeds"),
    (('{ kind = "copyset", scatter_width = 10 }', '{ kind = "copyset", scatter_width = 1 }'), "S = 1 < R - 1 = 2"),
    (('{ kind = "copyset", scatter_width = 10 }', '{ kind = "copyset", scatter_width = 25 }'), "S = 25 cannot be met"),
    (("p = 0.001 }", "p = 1.5 }"), "failure_model.p: must be <= 1"),
    (('{ kind = "min_copysets" }', '{ kind = "min_copysets", racks = 7, rack_assignment = "blocks" }'),
     "placement.racks: 7 racks do not divide 20 nodes"),
])
def test_experiment_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      edit: tuple[str, str], line: str) -> None:
    drv = _driver()
    text = (ROOT / "experiments" / "large_cluster_loss.toml").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    code = drv.main(["--config", str(bad), "--sizes", "20,30", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and line in err and str(bad) in err, err
    assert not (tmp_path / "o").exists(), "nothing written before the check"


def _scenario(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "c.toml"
    p.write_text('[placement]\nkind = "copyset"\nnodes = 600\nscatter_width = 4\n'
                 '[failure_model]\nkind = "fixed"\nfailed_nodes = 12\ntrials = 400\n' + extra)
    return p


def test_pbs_sim_loss_prints_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = _scenario(tmp_path)
    code, out, err = run_cli(["loss", str(sc), "--mc"], capsys)
    assert code == 0 and "P(loss) per event" in out and "Monte Carlo" in out and "NOMDL_t" in out, err
    code, out, _ = run_cli(["loss", str(sc), "--json"], capsys)
    row = json.loads(out)
    assert code == 0 and row["placement"] == "copyset" and row["nodes"] == 600 and "mc_p_loss" not in row
    assert row["p_loss_lower"] <= row["p_loss"] <= row["p_loss_upper"]


@pytest.mark.parametrize(("args", "line"), [
    (["--set", "failure_model.failed_nodes=601"], "failure_model.failed_nodes: F = 601 exceeds the 600 nodes"),
    (["--set", "placement.scatter_width=1"], "placement.scatter_width: S = 1 < R - 1 = 2"),
    (["--set", "placement.scatter_width=700"], "placement.scatter_width: S = 700 cannot be met"),
    (["--set", "failure_model.kind=independent", "--set", "failure_model.p=-0.5"], "failure_model.p: must be >= 0"),
    (["--set", "placement.racks=7", "--set", "placement.rack_assignment=blocks"], "placement.racks: 7 racks do not divide"),
    (["--mc-trials", "0"], "--mc-trials: must be >= 1"),
])
def test_pbs_sim_loss_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str) -> None:
    code, out, err = run_cli(["loss", str(_scenario(tmp_path)), *args], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and line in err and not out, err


def test_validate_keys_lists_the_loss_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["validate", "--keys"], capsys)
    for key in ("placement.kind", "placement.scatter_width", "placement.racks", "placement.datacenters",
                "failure_model.kind", "failure_model.p", "failure_model.no_reboot_probability", "failure_model.burst_sizes"):
        assert key in out, key


def test_recommender_durability_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pbs_sim.recommender import DurabilityModel, recommend

    model = DurabilityModel.from_file(_scenario(tmp_path))
    rec = recommend("lnkd-ssd", "2..4", trials=2000, seed=1, max_loss_per_year=1e-3, durability=model)
    t = rec.table
    per_n = t.groupby("n")["p_loss_per_year"].first()
    assert per_n[2] > per_n[3] > per_n[4], "more replicas, fewer losses"
    assert (t.feasible == (t.p_loss_per_year <= 1e-3)).all()  # the only target
    assert all("P(data loss per year)" in m for m in t[~t.feasible].misses)
    # the answer is the analytic engine's, for the same cluster at that N
    from pbs_sim.loss import loss_point

    direct = loss_point({"kind": "copyset", "scatter_width": 4}, {"kind": "fixed", "failed_nodes": 12}, 600, 3)
    assert per_n[3] == pytest.approx(direct["p_loss_per_year"])
    code, out, err = run_cli(["recommend", "--profile", "lnkd-ssd", "--n", "3", "--trials", "2000", "--seed", "1",
                              "--no-progress", "--durability", str(_scenario(tmp_path)), "--max-loss-per-year", "0.5"], capsys)
    assert code == 0 and "P(loss)/yr" in out, err
    code, _, err = run_cli(["recommend", "--profile", "lnkd-ssd", "--max-loss-per-year", "0.5"], capsys)
    assert code == 2 and "needs --durability" in err
    code, _, err = run_cli(["recommend", "--profile", "lnkd-ssd", "--n", "3..700", "--durability", str(_scenario(tmp_path))], capsys)
    assert code == 2


def test_the_committed_results_match_the_table_shape() -> None:
    t = pd.read_csv(ROOT / "results" / "large_cluster_loss" / "loss_vs_size.csv")
    assert {"panel", "series", "nodes", "p_loss", "p_loss_lower", "p_loss_upper", "mc_p_loss", "reference_p_loss"} <= set(t.columns)
    cs = t[(t.series == "Copyset Replication, S = 10") & (t.nodes == 5000)].iloc[0]
    assert abs(cs.p_loss - 0.0078) < 0.0005
