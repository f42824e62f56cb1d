"""Common seeds across sweep cells and the paired differences they allow (``[sweep] common_seeds``,
``baseline``; pbs_sim.sweep.paired).

What is checked: a sweep without the settings is exactly today's (seeds, hash, tables); with them,
replication rep of every cell of a seed group runs with one seed, so identical cells give identical
draws (differences exactly 0); each paired row is the difference of the sweep's own results rows,
and its interval is the Student-t interval computed here by hand (Welch's for the unpaired
half-width); rebuild, resume and the executors give the sweep's rows and tables; bad settings are
one-line errors. The validation: on a simulator sweep (read repair off vs async, stale-read
fraction) the paired interval is several times narrower than the unpaired one, a sweep with
independent seeds shows no such gain, and the two sweeps agree on the difference.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_in_process import run_cli
from scipy import stats

from pbs_sim import io
from pbs_sim.errors import ConfigError
from pbs_sim.sweep import load_results, rebuild_run, run_sweep, sweep_from_dict
from pbs_sim.sweep.paired import TIMING, VALUE_COLUMNS, paired_differences
from pbs_sim.sweep.store import PARTS

TOY = "test_sweep_support:engine"


def toy(common: Any = None, baseline: Any = None, reps: int = 4, engine: str = TOY) -> dict[str, Any]:
    """Two profiles x two key counts x three (R, W) rows = 12 cells of the toy engine, whose mean_x
    depends only on the seed and rw only on the cell."""
    head: dict[str, Any] = {"engine": engine, "replications": reps, "seed": 7}
    if common is not None:
        head["common_seeds"] = common
    if baseline is not None:
        head["baseline"] = baseline
    return {
        "sweep": head, "base": {"cluster": {"replication": 3}},
        "grid": {"latency.profile": ["lnkd-ssd", "lnkd-disk"], "workload.keys": [10, 20]},
        "zip": [{"keys": ["cluster.read_quorum", "cluster.write_quorum"], "values": [[1, 1], [2, 2], [3, 1]]}],
    }


def drop_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("wall_s")])


# ---------------------------------------------------------------------------------------------
# The default is today's sweep


def test_without_common_seeds_the_sweep_is_as_before(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy())
    assert not spec.paired and spec.seed_cell(5) == 5 and spec.baseline_cell(5) == 5
    assert set(spec.resolved()) == {"engine", "replications", "seed", "grid", "zip", "base"}
    # the hash is the formula it had before common seeds existed (so no results directory is refused)
    profiles = sorted({json.dumps(c.scenario.latency.wars.to_dict(), sort_keys=True) for c in spec.cells})
    blob = json.dumps({**spec.resolved(), "profiles": profiles, "inputs": sorted(spec.inputs.values())},
                      sort_keys=True, default=str)
    assert spec.hash == hashlib.sha256(blob.encode()).hexdigest()[:16]
    res = run_sweep(spec, workers=1, out=tmp_path / "o", progress=False)
    assert list(res.results["replication_seed"]) == [f"7:{c}.{r}" for c in range(12) for r in range(4)]
    assert "paired" not in res.manifest["files"] and not list(tmp_path.glob("o/paired.*"))
    assert res.paired.empty and "seed_cell" not in res.manifest["cells"][0]
    assert res.manifest["seeds"].startswith("replication (cell, rep) uses")


def test_common_seeds_count_in_the_hash_but_the_baseline_does_not() -> None:
    plain = sweep_from_dict(toy()).hash
    common = sweep_from_dict(toy(True)).hash
    assert common != plain
    assert sweep_from_dict(toy(True, {"workload.keys": 20})).hash == common
    assert sweep_from_dict(toy(["workload.keys"])).hash not in (plain, common)


# ---------------------------------------------------------------------------------------------
# Which cells share seeds, and whom they are compared with


def test_every_cell_shares_cell_0s_seeds_and_identical_draws_differ_by_exactly_zero(tmp_path: Path) -> None:
    res = run_sweep(sweep_from_dict(toy(True)), workers=1, out=tmp_path / "o", progress=False)
    assert list(res.results["replication_seed"]) == [f"7:0.{r}" for _ in range(12) for r in range(4)]
    # cell 0 keeps the seeds it has without common seeds
    plain = run_sweep(sweep_from_dict(toy()), workers=1, out=tmp_path / "plain", progress=False)
    first = res.results[res.results["cell"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(drop_wall(first), drop_wall(plain.results[plain.results["cell"] == 0]))
    # the toy's mean_x is a function of the seed alone: with shared seeds every cell's equals cell 0's
    p = res.paired.set_index(["cell", "metric"])
    assert sorted(set(res.paired["cell"])) == list(range(1, 12))
    assert set(res.paired["baseline_cell"]) == {0}
    for cell in range(1, 12):
        row = p.loc[(cell, "mean_x")]
        assert (row["diff_mean"], row["diff_half_width"], row["diff_ci_low"], row["diff_ci_high"]) == (0, 0, 0, 0)
        assert row["unpaired_half_width"] > 0  # the spread that pairing removes
    # without common seeds the same cells do differ
    spread = plain.results.groupby("rep")["mean_x"].nunique()
    assert (spread == 12).all()


def test_groups_share_seeds_within_the_listed_factors(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy(["cluster.read_quorum"], {"cluster.read_quorum": 2}))
    # cells are (profile, keys, zip row); the zip varies fastest, so each group is 3 consecutive cells
    assert spec.seed_cells == (0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9)
    assert spec.baseline_cells == (1, 1, 1, 4, 4, 4, 7, 7, 7, 10, 10, 10)
    assert spec.replication_seed(8, 2).spawn_key == (6, 2)
    res = run_sweep(spec, workers=1, out=tmp_path / "o", progress=False)
    seeds = res.results.groupby("cell")["replication_seed"].first()
    assert list(seeds) == [f"7:{g}.0" for g in spec.seed_cells]
    assert sorted(set(res.paired["cell"])) == [0, 2, 3, 5, 6, 8, 9, 11]
    rw = res.paired[res.paired["metric"] == "rw"].set_index("cell")["diff_mean"]
    assert list(rw) == [2 - 4, 4 - 4] * 4  # R + W of (1, 1) and (3, 1) minus (2, 2)
    # without a baseline, each cell is compared with its seed cell (the group's first)
    spec2 = sweep_from_dict(toy(["cluster.read_quorum"]))
    assert spec2.baseline_cells == spec2.seed_cells


def test_a_baseline_in_a_grid_factor_keeps_the_other_factors(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy(True, {"latency": {"profile": "lnkd-disk"}}))  # a nested table reads as dotted
    assert spec.baseline == {"latency.profile": "lnkd-disk"}
    for c in spec.cells:
        b = spec.cells[spec.baseline_cell(c.index)].params
        assert b["latency.profile"] == "lnkd-disk"
        assert all(b[k] == v for k, v in c.params.items() if k != "latency.profile")


@pytest.mark.parametrize(("head", "key", "reason"), [
    ({"baseline": {"workload.keys": 10}}, "sweep.baseline", "need cells that share seeds"),
    ({"common_seeds": "yes"}, "sweep.common_seeds", "expected true, false or a list"),
    ({"common_seeds": []}, "sweep.common_seeds", "an empty list shares no seeds"),
    ({"common_seeds": ["cluster.replication"]}, "sweep.common_seeds", "'cluster.replication' is not a swept key"),
    ({"common_seeds": True, "baseline": {"cluster.nodes": 3}}, "sweep.baseline.cluster.nodes", "not a swept key"),
    ({"common_seeds": True, "baseline": {"workload.keys": 30}}, "sweep.baseline.workload.keys",
     "30 is not one of the swept values 10, 20"),
    ({"common_seeds": True, "baseline": {"cluster.write_quorum": 1}}, "sweep.baseline.cluster.write_quorum",
     "2 values of its factor match"),
    ({"common_seeds": ["workload.keys"], "baseline": {"latency.profile": "lnkd-ssd"}},
     "sweep.baseline.latency.profile", "must be in common_seeds"),
    ({"common_seeds": True, "baseline": []}, "sweep.baseline", "expected a table"),
])
def test_bad_settings_are_one_line_errors(head: dict[str, Any], key: str, reason: str) -> None:
    raw = toy()
    raw["sweep"].update(head)
    with pytest.raises(ConfigError) as err:
        sweep_from_dict(raw, source="s.toml")
    assert err.value.key == key and reason in err.value.reason, str(err.value)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# The paired table is the sweep's own rows, differenced; its intervals are the textbook ones


def _hand(c: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean difference, paired t half-width and Welch's half-width, computed directly."""
    d = c - b
    n = len(d)
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)
    vc, vb = c.var(ddof=1) / n, b.var(ddof=1) / n
    if vc + vb == 0:
        return float(d.mean()), float(half), 0.0
    df = (vc + vb) ** 2 / ((vc**2 + vb**2) / (n - 1))  # Welch-Satterthwaite
    if vc > 0 and vb > 0:  # and scipy's own Welch test agrees on it
        assert stats.ttest_ind(c, b, equal_var=False).df == pytest.approx(df)
    return float(d.mean()), float(half), float(stats.t.ppf(0.975, df) * math.sqrt(vc + vb))


def test_paired_rows_are_the_differences_of_the_sweeps_rows_with_hand_computed_intervals(tmp_path: Path) -> None:
    # independent draws per cell within a group would make every difference 0 for mean_x; a baseline
    # in another seed group is refused, so build pairs of independently seeded cells by hand here
    res = run_sweep(sweep_from_dict(toy(reps=6)), workers=1, out=tmp_path / "o", progress=False)
    pairs = {3: 0, 4: 1, 5: 2, 11: 6}
    table = paired_differences(res.results, pairs, ["mean_x", "rw", "flag"])
    assert list(table.columns) == ["cell", "baseline_cell", *VALUE_COLUMNS]
    assert len(table) == 4 * 3
    r = res.results.set_index(["cell", "rep"])
    for row in table.itertuples():
        c = r.loc[row.cell][row.metric].astype(float).to_numpy()
        b = r.loc[row.baseline_cell][row.metric].astype(float).to_numpy()
        mean, half, welch = _hand(c, b)
        assert row.n_pairs == 6
        assert row.diff_mean == pytest.approx(mean, abs=1e-15)
        assert (row.cell_mean, row.baseline_mean) == (pytest.approx(c.mean()), pytest.approx(b.mean()))
        if half > 0:
            assert row.diff_half_width == pytest.approx(half, rel=1e-12)
            assert (row.diff_ci_low, row.diff_ci_high) == (pytest.approx(mean - half), pytest.approx(mean + half))
        else:  # rw: a constant difference
            assert row.diff_half_width == 0 and row.diff_ci_low == row.diff_ci_high == mean
        if welch > 0:
            assert row.unpaired_half_width == pytest.approx(welch, rel=1e-9)


def test_the_sweeps_paired_table_is_its_results_differenced(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy(["workload.keys"], {"workload.keys": 10}, reps=3), name="toy")
    res = run_sweep(spec, workers=1, out=tmp_path / "o", progress=False)
    assert (tmp_path / "o" / "paired.csv").exists() and res.manifest["files"]["paired"] == "paired.csv"
    assert res.manifest["cells"][4] == {"cell": 4, "params": dict(spec.cells[4].params), "seed_cell": 1,
                                        "baseline_cell": 1}
    metrics = set(res.paired["metric"])
    assert metrics == {"mean_x", "rw", "flag", "metric_n"} and not metrics & set(TIMING)
    r = res.results.set_index(["cell", "rep"])
    for row in res.paired.itertuples():
        d = (r.loc[row.cell][row.metric].astype(float) - r.loc[row.baseline_cell][row.metric].astype(float))
        assert row.diff_mean == pytest.approx(d.mean(), abs=1e-15)
        # the cell's parameters are the summary's
        s = res.summary.set_index("cell").loc[row.cell]
        assert (row.workload_keys, row.latency_profile, row.r, row.w) == (
            s["workload_keys"], s["latency_profile"], s["r"], s["w"])
    # the table written is the table returned
    pd.testing.assert_frame_equal(io.read_table(tmp_path / "o" / "paired.csv"), res.paired, check_dtype=False)
    pd.testing.assert_frame_equal(load_results(tmp_path / "o").paired, res.paired, check_dtype=False)


def test_failed_replications_drop_out_of_their_pairs(tmp_path: Path) -> None:
    from test_sweep_support import FAIL_KEYS

    raw = toy(True, {"workload.keys": 10}, reps=3)
    raw["grid"]["workload.keys"] = [10, FAIL_KEYS]
    res = run_sweep(sweep_from_dict(raw), workers=1, out=tmp_path / "o", progress=False)
    failed = res.paired[res.paired["workload_keys"] == FAIL_KEYS]
    assert len(failed) and (failed["n_pairs"] == 0).all() and failed["diff_mean"].isna().all()
    fine = res.paired[res.paired["workload_keys"] == 10]
    assert (fine["n_pairs"] == 3).all()


# ---------------------------------------------------------------------------------------------
# Rebuild, resume, executors, formats


def test_rebuild_gives_the_sweeps_row_under_common_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = toy(True, reps=2)
    path = tmp_path / "s.toml"
    path.write_text(_toml(raw))
    res = run_sweep(path, workers=1, out=tmp_path / "o", progress=False)
    for cell, rep in ((0, 1), (7, 0), (11, 1)):
        row = rebuild_run(path, cell, rep).row
        want = res.results[(res.results["cell"] == cell) & (res.results["rep"] == rep)].iloc[0]
        for k, v in row.items():
            if k != "wall_s":
                assert v == want[k] or (v != v and want[k] != want[k]), k
        assert row["replication_seed"] == f"7:0.{rep}"
    code, out, _ = run_cli(["sweep", str(path), "--only", "7:1"], capsys)
    assert code == 0 and json.loads(out)["replication_seed"] == "7:0.1"


def _toml(raw: dict[str, Any]) -> str:
    """A sweep dict as TOML (enough for ``toy``'s shape)."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    lines = ["[sweep]", *(f"{k} = {value(v)}" for k, v in raw["sweep"].items())]
    for section, table in raw.get("base", {}).items():
        lines += [f"[base.{section}]", *(f"{k} = {value(v)}" for k, v in table.items())]
    lines += ["[grid]", *(f"{json.dumps(k)} = {value(v)}" for k, v in raw.get("grid", {}).items())]
    for z in raw.get("zip", []):
        lines += ["[[zip]]", f"keys = {value(z['keys'])}", f"values = {value(z['values'])}"]
    return "\n".join(lines) + "\n"


def test_resume_after_losing_parts_writes_the_same_tables(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy(True, {"cluster.read_quorum": 2}, reps=3))
    full = run_sweep(spec, workers=1, out=tmp_path / "o", progress=False)
    parts = sorted((tmp_path / "o" / PARTS).iterdir())
    for p in parts[::3]:  # as if the sweep had been killed before these finished
        p.unlink()
    again = run_sweep(spec, workers=2, out=tmp_path / "o", resume=True, progress=False)
    assert again.computed == len(parts[::3])
    pd.testing.assert_frame_equal(drop_wall(again.results), drop_wall(full.results))
    pd.testing.assert_frame_equal(again.paired, full.paired)
    # a resume may choose another baseline: the parts are reused, the paired table is rebuilt
    other = sweep_from_dict(toy(True, {"cluster.read_quorum": 3}, reps=3))
    moved = run_sweep(other, workers=1, out=tmp_path / "o", resume=True, progress=False)
    assert moved.computed == 0 and set(moved.paired["baseline_cell"]) == {2, 5, 8, 11}
    # and a directory of the same sweep without common seeds is another sweep
    with pytest.raises(ConfigError, match="holds a different sweep"):
        run_sweep(sweep_from_dict(toy(reps=3)), workers=1, out=tmp_path / "o", resume=True, progress=False)


def test_serial_pool_and_dask_give_identical_paired_tables(tmp_path: Path) -> None:
    spec = sweep_from_dict(toy(True, {"workload.keys": 20}, reps=3))
    serial = run_sweep(spec, workers=1, out=tmp_path / "serial", progress=False)
    pool = run_sweep(spec, workers=2, out=tmp_path / "pool", progress=False)
    dask = run_sweep(spec, workers=2, scheduler="local", dask_processes=False, out=tmp_path / "dask", progress=False)
    for other in (pool, dask):
        pd.testing.assert_frame_equal(drop_wall(serial.results), drop_wall(other.results))
        pd.testing.assert_frame_equal(serial.paired, other.paired)
        assert (serial.out / "paired.csv").read_bytes() == (other.out / "paired.csv").read_bytes()


def test_parquet_sweeps_write_paired_parquet(tmp_path: Path) -> None:
    res = run_sweep(sweep_from_dict(toy(True, reps=2)), workers=1, out=tmp_path / "o", fmt="parquet", progress=False)
    assert res.manifest["files"]["paired"] == "paired.parquet" and not (tmp_path / "o" / "paired.csv").exists()
    pd.testing.assert_frame_equal(io.read_table(tmp_path / "o" / "paired.parquet"), res.paired, check_dtype=False)


def test_cli_prints_the_paired_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(_toml(toy(True, {"workload.keys": 10}, reps=3)))
    code, out, _ = run_cli(["sweep", str(path), "-j", "1", "--no-progress", "-o", str(tmp_path / "o"),
                            "--paired-metric", "mean_x", "--paired-metric", "rw"], capsys)
    assert code == 0, out
    assert "paired differences, cell - baseline" in out and "paired.csv" in out
    assert "cell 3 - cell 0 (workload.keys=20 vs 10):" in out
    assert "mean_x" in out and "rw" in out and "flag" not in out
    code, out, _ = run_cli(["sweep", str(path), "--dry-run"], capsys)
    assert code == 0 and "common seeds (every cell)" in out and "[seeds of cell 0, baseline cell 0]" in out


# ---------------------------------------------------------------------------------------------
# The simulator: identical cells, and the gain on a real comparison


SIM_BASE = {"cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 1},
            "workload": {"keys": 100, "rate_per_s": 5000, "duration_ms": 150, "warmup_ms": 20}}


def test_simulator_cells_that_differ_in_nothing_it_draws_from_differ_by_exactly_zero(tmp_path: Path) -> None:
    # predict.k only chooses which k-staleness the simulator reports: every draw is the same
    raw = {"sweep": {"engine": "simulate", "replications": 2, "seed": 3, "common_seeds": True},
           "base": {**SIM_BASE, "workload": {**SIM_BASE["workload"], "keys": 10, "duration_ms": 60}},
           "grid": {"predict.k": [1, 2]}}
    res = run_sweep(sweep_from_dict(raw), workers=1, out=tmp_path / "o", progress=False)
    p = res.paired.set_index("metric")
    for m in ("ops", "reads", "messages", "stale_read_fraction", "read_latency_p999_ms", "write_latency_p50_ms",
              "sim_time_ms"):
        assert p.loc[m, "diff_mean"] == 0 and p.loc[m, "diff_half_width"] == 0, m
    assert res.results.loc[res.results["cell"] == 0, "stale_read_fraction"].gt(0).any()  # not trivially 0


def _read_repair(common: bool) -> dict[str, Any]:
    head: dict[str, Any] = {"engine": "simulate", "replications": 8, "seed": 1}
    if common:
        head.update(common_seeds=True, baseline={"read_repair.mode": "off"})
    return {"sweep": head, "base": SIM_BASE, "grid": {"read_repair.mode": ["off", "async"]}}


@pytest.mark.validation
def test_paired_interval_is_much_tighter_on_a_simulator_sweep(tmp_path: Path) -> None:
    """Read repair off vs async (N = 3, R = W = 1, 100 keys, ~700 operations a run, 8 replications):
    the stale-read fraction's paired interval. Measured: unpaired / paired half-width 4.62 here (3.99
    and 4.43 with root seeds 2 and 3; with 20 keys, where repair removes a third of the stale reads,
    1.4-2.3). The control, the same cells with independent seeds, gives 0.72 (1.19 and 0.73 with
    seeds 2 and 3): the gain comes from the shared seeds, not from the formula. Both sweeps estimate
    the same difference (-0.0011 +- 0.0009 paired, -0.0006 +- 0.0047 independent): they agree within
    their combined 95 % half-widths."""
    crn = run_sweep(sweep_from_dict(_read_repair(True)), workers=1, out=tmp_path / "crn", progress=False)
    ind = run_sweep(sweep_from_dict(_read_repair(False)), workers=1, out=tmp_path / "ind", progress=False)
    a = crn.paired.set_index("metric").loc["stale_read_fraction"]
    b = paired_differences(ind.results, {1: 0}, ["stale_read_fraction"]).iloc[0]
    assert a["n_pairs"] == b["n_pairs"] == 8
    assert a["baseline_mean"] > 0.005  # stale reads to remove
    gain = a["unpaired_half_width"] / a["diff_half_width"]
    control = b["unpaired_half_width"] / b["diff_half_width"]
    assert gain >= 2.5, gain
    assert control < 2.0, control
    assert abs(a["diff_mean"] - b["diff_mean"]) <= math.hypot(a["diff_half_width"], b["unpaired_half_width"])
