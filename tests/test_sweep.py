"""Sweeps: grid expansion and zipped factors, validation up front, addressable seeds, identical results
on every executor, error rows, the results directory (schema, resume, refusals)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_sweep_support import FAIL_KEYS, expected_mean_x

from pbs_sim import io
from pbs_sim.errors import ConfigError
from pbs_sim.sweep import (
    expand,
    load_results,
    load_sweep,
    rebuild_run,
    replication_seed,
    run_sweep,
    sweep_from_dict,
)
from pbs_sim.sweep.store import PARTS

TOY = "test_sweep_support:engine"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def toy_sweep(tmp_path: Path, *, reps: int = 2, keys: str = "[10, 20]", engine: str = TOY, extra: str = "") -> Path:
    return write(tmp_path / "toy.toml", f"""
[sweep]
engine = "{engine}"
replications = {reps}
seed = 7

[base.cluster]
replication = 3

[grid]
"latency.profile" = ["lnkd-ssd", "lnkd-disk"]
workload.keys = {keys}

[[zip]]
keys = ["cluster.read_quorum", "cluster.write_quorum"]
values = [[1, 1], [2, 2], [3, 1]]
{extra}
""")


def drop_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c.startswith("wall_s")])


# ---------------------------------------------------------------------------------------------
# Expansion


def test_grid_and_zip_expand_to_the_cartesian_product_in_file_order(tmp_path: Path) -> None:
    spec = load_sweep(toy_sweep(tmp_path))
    cells = expand(spec)
    profiles, keys, rw = ["lnkd-ssd", "lnkd-disk"], [10, 20], [(1, 1), (2, 2), (3, 1)]
    expected = [
        {"latency.profile": p, "workload.keys": k, "cluster.read_quorum": r, "cluster.write_quorum": w}
        for p, k, (r, w) in itertools.product(profiles, keys, rw)
    ]
    assert [dict(c.params) for c in cells] == expected
    assert [c.index for c in cells] == list(range(12))
    for c in cells:  # each cell's scenario really carries its values; the rest is the base
        sc = c.scenario
        assert (sc.latency.profile, sc.workload.keys) == (c.params["latency.profile"], c.params["workload.keys"])
        assert (sc.cluster.read_quorum, sc.cluster.write_quorum) == (
            c.params["cluster.read_quorum"], c.params["cluster.write_quorum"])
        assert sc.cluster.replication == 3
    assert spec.n_runs == 24 and spec.swept_keys == list(expected[0])
    # zipped factors vary together: never (R, W) = (2, 1) or (1, 2)
    assert {(c.scenario.cluster.read_quorum, c.scenario.cluster.write_quorum) for c in cells} == set(rw)


def test_no_factors_is_one_cell_of_the_base(tmp_path: Path) -> None:
    spec = sweep_from_dict({"sweep": {"engine": TOY, "replications": 3}, "base": {"cluster": {"read_quorum": 2}}})
    assert len(spec.cells) == 1 and spec.cells[0].params == {}
    assert spec.cells[0].scenario.cluster.read_quorum == 2
    assert spec.seed == spec.base.run.seed  # default root seed: the base scenario's run.seed


def test_scenario_file_with_base_tables_on_top(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", '[cluster]\nnodes = 5\nreplication = 5\nread_quorum = 2\n[latency]\nprofile = "ymmr"\n')
    sw = write(tmp_path / "s.toml", f"""
[sweep]
engine = "{TOY}"
scenario = "base.toml"
[base.cluster]
write_quorum = 3
[grid]
"cluster.read_quorum" = [1, 4]
""")
    cells = expand(sw)
    assert [(c.scenario.cluster.replication, c.scenario.cluster.read_quorum, c.scenario.cluster.write_quorum,
             c.scenario.latency.profile) for c in cells] == [(5, 1, 3, "ymmr"), (5, 4, 3, "ymmr")]


def test_hash_is_stable_and_changes_with_the_sweep(tmp_path: Path) -> None:
    a = load_sweep(toy_sweep(tmp_path))
    assert a.hash == load_sweep(toy_sweep(tmp_path)).hash
    assert a.hash != load_sweep(toy_sweep(tmp_path, reps=3)).hash
    assert a.hash != load_sweep(toy_sweep(tmp_path, keys="[10, 30]")).hash


BAD: list[tuple[str, str, str]] = [
    # (sweep file body, key named in the error, words of the reason)
    ('[sweep]\nengine = "predict"\n[grids]\n', "grids", "unknown section"),
    ('[sweep]\nengine = "predict"\nreplicas = 2\n', "sweep.replicas", "unknown key"),
    ('[sweep]\nreplications = 2\n', "sweep.engine", "missing"),
    ('[sweep]\nengine = "quantum"\n', "sweep.engine", "unknown engine"),
    ('[sweep]\nengine = "no_such_module_x:run"\n', "sweep.engine", "cannot import"),
    ('[sweep]\nengine = "predict"\nreplications = 0\n', "sweep.replications", ">= 1"),
    ('[sweep]\nengine = "predict"\nseed = "one"\n', "sweep.seed", "integer"),
    ('[sweep]\nengine = "predict"\nscenario = "missing.toml"\n', "sweep.scenario", "does not exist"),
    ('[sweep]\nengine = "predict"\n[base.cluster]\nquorum = 2\n', "base.cluster.quorum", "unknown key"),
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.read_quorum" = []\n', "grid.cluster.read_quorum", "empty"),
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.quorum" = [1]\n', "grid.cluster.quorum", "unknown key"),
    ('[sweep]\nengine = "predict"\n[grid]\n"clusters.read_quorum" = [1]\n', "grid.clusters.read_quorum", "unknown section"),
    ('[sweep]\nengine = "predict"\n[grid]\n"run.seed" = [1, 2]\n', "grid.run.seed", "replication seeds"),
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.read_quorum" = 2\n', "grid.cluster.read_quorum", "list"),
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.read_quorum" = [1, 1]\n', "grid.cluster.read_quorum", "twice"),
    ('[sweep]\nengine = "predict"\n[[zip]]\nkeys = ["cluster.read_quorum", "cluster.write_quorum"]\n'
     'values = [[1, 1], [2]]\n', "zip[0].values[1]", "expected 2 values"),
    ('[sweep]\nengine = "predict"\n[[zip]]\nkeys = ["cluster.read_quorum"]\nvalues = []\n', "zip[0].values", "non-empty"),
    ('[sweep]\nengine = "predict"\n[[zip]]\nkeys = ["cluster.read_quorum"]\nvalue = [[1]]\n', "zip[0].value", "unknown key"),
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.read_quorum" = [1]\n[[zip]]\nkeys = ["cluster.read_quorum"]\n'
     'values = [[2]]\n', "zip[0].keys", "already varied"),
    # a valid-looking grid with one invalid corner: R = 3 > N = 2 only in the last cell
    ('[sweep]\nengine = "predict"\n[grid]\n"cluster.replication" = [3, 2]\n"cluster.read_quorum" = [1, 3]\n',
     "cluster.read_quorum", "R = 3 exceeds N = 2 (in cell 3"),
    ('[sweep]\nengine = "predict"\n[grid]\n"latency.profile" = ["lnkd-ssd", "nope"]\n', "latency.profile", "cell 1"),
    ('[sweep]\nengine = "predict"\n[grid]\n"workload.rate_per_s" = [10, -1]\n', "workload.rate_per_s", "must be > 0"),
    ('[sweep\nengine = "predict"\n', "", "not valid TOML"),
]


@pytest.mark.parametrize(("body", "key", "reason"), BAD, ids=[b[1] or b[2] for b in BAD])
def test_bad_sweep_files_are_one_line_errors_naming_file_key_and_reason(
    tmp_path: Path, body: str, key: str, reason: str
) -> None:
    path = write(tmp_path / "bad.toml", body)
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(str(path))
    assert f": {key}: " in line if key else True
    assert reason in line


# ---------------------------------------------------------------------------------------------
# Seeds


def test_replication_seed_is_the_spawn_key_of_cell_and_rep() -> None:
    ss = replication_seed(7, 3, 2)
    assert ss.entropy == 7 and tuple(ss.spawn_key) == (3, 2)
    draws = {(c, r): np.random.default_rng(replication_seed(7, c, r)).random() for c in range(3) for r in range(3)}
    assert len(set(draws.values())) == 9  # every replication its own stream


def test_each_row_is_what_its_seed_gives_and_rebuilds_alone(tmp_path: Path) -> None:
    spec = load_sweep(toy_sweep(tmp_path, keys="[10]"))
    res = run_sweep(spec, workers=1, out=tmp_path / "out", progress=False)
    for _, row in res.results.iterrows():
        assert row["mean_x"] == expected_mean_x(np.random.SeedSequence(7, spawn_key=(row["cell"], row["rep"])))
    target = res.results.iloc[7]
    rebuilt = rebuild_run(spec, int(target["cell"]), int(target["rep"]))
    got = pd.Series(rebuilt.row).drop("wall_s")
    pd.testing.assert_series_equal(got, target.drop("wall_s"), check_names=False, check_dtype=False)
    sweep_curve = res.curves[(res.curves["cell"] == target["cell"]) & (res.curves["rep"] == target["rep"])]
    pd.testing.assert_frame_equal(rebuilt.curve, sweep_curve.reset_index(drop=True))
    assert rebuilt.result is not None and rebuilt.result.summary["mean_x"] == target["mean_x"]


#: a predict-engine sweep of two cells, two replications each
PREDICT_TWO_CELLS = """
[sweep]
engine = "predict"
replications = 2
seed = 11
[base.predict]
trials = 2000
[[zip]]
keys = ["cluster.read_quorum", "cluster.write_quorum"]
values = [[1, 1], [2, 1]]
"""


def test_predict_rows_rebuild_alone(tmp_path: Path) -> None:
    sw = write(tmp_path / "p.toml", PREDICT_TWO_CELLS)
    res = run_sweep(sw, workers=1, out=tmp_path / "out", progress=False)
    assert res.ok and len(res.results) == 4
    row = res.results.iloc[3]
    rebuilt = rebuild_run(sw, 1, 1)
    for col in ("t_visibility_ms", "p_consistent_at_t0", "read_latency_p999_ms", "r", "w"):
        assert rebuilt.row[col] == row[col]
    # the two replications of a cell are different draws of the same estimator
    a, b = res.results[res.results["cell"] == 0]["p_consistent_at_t0"]
    assert a != b


def test_predict_tables_name_each_replications_seed(tmp_path: Path) -> None:
    """The predictor reports no seed of its own; its results rows still carry ``replication_seed``,
    and each is the seed that replication ran with: predicting that cell's scenario with it gives
    the row's numbers, and no other replication's seed does."""
    from pbs_sim.analytic.wars import predict_scenario

    sw = write(tmp_path / "p.toml", PREDICT_TWO_CELLS)
    res = run_sweep(sw, workers=1, out=tmp_path / "out", progress=False)
    on_disk = io.read_table(tmp_path / "out" / "results.csv")
    assert "replication_seed" in on_disk.columns and "metric_seed" not in on_disk.columns
    assert list(on_disk["replication_seed"]) == ["11:0.0", "11:0.1", "11:1.0", "11:1.1"]
    assert (on_disk["root_seed"] == 11).all()
    spec = load_sweep(sw)
    for _, row in res.results.iterrows():
        cell, rep = int(row["cell"]), int(row["rep"])
        entropy, key = str(row["replication_seed"]).split(":")
        seed = np.random.SeedSequence(int(entropy), spawn_key=tuple(int(k) for k in key.split(".")))
        again = predict_scenario(spec.cells[cell].scenario, seed=seed)
        assert again.p_consistent_at_t0 == row["p_consistent_at_t0"]
        assert again.t_visibility_ms == row["t_visibility_ms"]
        other = predict_scenario(spec.cells[cell].scenario, seed=replication_seed(11, cell, 1 - rep))
        assert other.p_consistent_at_t0 != row["p_consistent_at_t0"]


def test_simulate_reports_its_seed_as_the_sweep_writes_it() -> None:
    """The simulator writes its own ``seed``; the sweep fills the same label in for engines that do
    not, so the column means one thing whatever the engine."""
    from pbs_sim.config import scenario_from_dict
    from pbs_sim.rng import seed_label
    from pbs_sim.simulation import simulate

    sc = scenario_from_dict({"cluster": {"nodes": 3}, "workload": {"keys": 10, "rate_per_s": 200,
                                                                   "duration_ms": 20, "warmup_ms": 0}})
    seed = replication_seed(5, 2, 3)
    assert seed_label(seed) == "5:2.3"
    assert simulate(sc, seed=seed).summary()["seed"] == seed_label(seed)
    assert seed_label(7) == 7 and seed_label(np.random.SeedSequence(7)) == 7


# ---------------------------------------------------------------------------------------------
# Executors


def test_serial_process_pool_and_dask_give_identical_tables(tmp_path: Path) -> None:
    path = toy_sweep(tmp_path, reps=3)
    serial = run_sweep(path, workers=1, out=tmp_path / "serial", progress=False)
    pool = run_sweep(path, workers=2, out=tmp_path / "pool", progress=False)
    dask = run_sweep(path, workers=2, scheduler="local", dask_processes=False, out=tmp_path / "dask", progress=False)
    assert [r.manifest["executor"]["kind"] for r in (serial, pool, dask)] == ["serial", "process", "dask"]
    for other in (pool, dask):
        for name in ("results", "summary"):
            pd.testing.assert_frame_equal(drop_wall(getattr(serial, name)), drop_wall(getattr(other, name)))
        for name in ("curves", "curves_summary"):
            pd.testing.assert_frame_equal(getattr(serial, name), getattr(other, name))
        # and the files on disk, byte for byte (wall_s aside)
        a = io.read_table(serial.out / "results.csv")
        b = io.read_table(other.out / "results.csv")
        pd.testing.assert_frame_equal(drop_wall(a), drop_wall(b))
        assert (serial.out / "curves.csv").read_bytes() == (other.out / "curves.csv").read_bytes()


def test_dask_scheduler_given_by_address(tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = toy_sweep(tmp_path)
    serial = run_sweep(path, workers=1, out=tmp_path / "serial", progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        remote = run_sweep(path, scheduler=cluster.scheduler_address, out=tmp_path / "remote", progress=False)
    assert remote.manifest["executor"] == {"kind": "dask", "workers": 2, "address": cluster.scheduler_address}
    pd.testing.assert_frame_equal(drop_wall(serial.results), drop_wall(remote.results))


def test_unreachable_scheduler_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pbs_sim.sweep import execute

    monkeypatch.setattr(execute, "CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(ConfigError, match="--scheduler: cannot reach Dask scheduler"):
        run_sweep(toy_sweep(tmp_path), scheduler="tcp://127.0.0.1:9", out=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_predict_engine_identical_on_serial_and_pool(tmp_path: Path) -> None:
    sw = write(tmp_path / "p.toml", """
[sweep]
engine = "predict"
replications = 2
[base.predict]
trials = 3000
[grid]
"latency.profile" = ["lnkd-ssd", "wan"]
""")
    a = run_sweep(sw, workers=1, out=tmp_path / "a", progress=False)
    b = run_sweep(sw, workers=2, out=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(drop_wall(a.results), drop_wall(b.results))
    pd.testing.assert_frame_equal(a.curves, b.curves)


def test_simulate_engine_identical_on_serial_and_pool_and_rebuilds_alone(tmp_path: Path) -> None:
    sw = write(tmp_path / "sim.toml", """
[sweep]
engine = "simulate"
replications = 2
seed = 5
[base.cluster]
nodes = 3
[base.workload]
keys = 50
rate_per_s = 2000
duration_ms = 200
warmup_ms = 20
[[zip]]
keys = ["cluster.read_quorum", "cluster.write_quorum"]
values = [[1, 1], [2, 2]]
""")
    a = run_sweep(sw, workers=1, out=tmp_path / "a", progress=False)
    b = run_sweep(sw, workers=2, out=tmp_path / "b", progress=False)
    assert a.ok and len(a.results) == 4
    assert "metric_engine" not in a.results.columns  # the engine's echo of its name is dropped
    timing = [c for c in a.results.columns if c in ("wall_s", "metric_wall_s", "cpu_s")]
    pd.testing.assert_frame_equal(a.results.drop(columns=timing), b.results.drop(columns=timing))
    pd.testing.assert_frame_equal(a.curves, b.curves)
    row = a.results.iloc[3]
    rebuilt = rebuild_run(sw, 1, 1)
    for col in ("ops", "reads", "stale_read_fraction", "messages", "read_latency_p999_ms", "t_visibility_ms"):
        assert rebuilt.row[col] == row[col] or (np.isnan(rebuilt.row[col]) and np.isnan(row[col])), col
    # strict quorums (R + W > N) never read stale without faults; R = W = 1 does, sometimes
    strict = a.results[a.results["r"] + a.results["w"] > a.results["n"]]
    assert (strict["stale_read_fraction"] == 0).all()


# ---------------------------------------------------------------------------------------------
# Error rows and the schema


def test_a_failing_replication_is_an_error_row_and_the_sweep_goes_on(tmp_path: Path) -> None:
    res = run_sweep(toy_sweep(tmp_path, keys=f"[10, {FAIL_KEYS}]"), workers=2, out=tmp_path / "out", progress=False)
    bad = res.results["workload_keys"] == FAIL_KEYS
    assert bad.sum() == 12 and (~bad).sum() == 12
    assert (res.results.loc[bad, "status"] == "error").all()
    assert (res.results.loc[~bad, "status"] == "ok").all()
    assert res.results.loc[bad, "error"].str.startswith("RuntimeError: unlucky number of keys second line").all()
    assert res.results.loc[bad, "mean_x"].isna().all() and res.results.loc[~bad, "mean_x"].notna().all()
    assert (res.results.loc[~bad, "error"] == "").all()
    assert res.counts == {"ok": 12, "error": 12, "missing": 0} and not res.ok
    assert res.manifest["status"] == "complete"
    summ = res.summary.set_index("cell")
    assert (summ.loc[summ["workload_keys"] == FAIL_KEYS, ["n_ok", "n_error"]].to_numpy() == [0, 2]).all()
    assert summ.loc[summ["workload_keys"] == FAIL_KEYS, "mean_x_mean"].isna().all()
    # the part keeps the traceback for debugging
    part = json.loads((res.out / PARTS / "c000003-r0000.json").read_text())
    assert part["status"] == "error" and "RuntimeError" in part["traceback"]
    assert set(res.curves["cell"]) == set(res.results.loc[~bad, "cell"])


RESULTS_COLUMNS = [
    "cell", "rep", "root_seed", "status", "error", "engine",
    "latency_profile", "workload_keys", "cluster_read_quorum", "cluster_write_quorum",
    "n", "r", "w", "profile",
    "mean_x", "rw", "flag", "metric_n",  # the engine's summary; its "r" equals the r column: dropped
    "replication_seed",  # the toy reports no seed: the sweep names the one it handed over
    "wall_s",
]


def test_stable_table_schemas(tmp_path: Path) -> None:
    res = run_sweep(toy_sweep(tmp_path), workers=1, out=tmp_path / "out", progress=False)
    files = {name: io.read_table(tmp_path / "out" / f"{name}.csv") for name in
             ("results", "curves", "summary", "curves_summary")}
    assert list(files["results"].columns) == RESULTS_COLUMNS
    assert list(files["curves"].columns) == ["cell", "rep", "t_ms", "p_consistent", "ci_low", "ci_high", "n"]
    params = RESULTS_COLUMNS[6:14]
    stats = [f"{m}_{s}" for m in ("mean_x", "rw", "flag", "metric_n", "wall_s") for s in ("mean", "ci_low", "ci_high")]
    assert list(files["summary"].columns) == ["cell", *params, "n_ok", "n_error", *stats]
    assert list(files["curves_summary"].columns) == [
        "cell", "t_ms", "n_reps", "p_consistent_mean", "p_consistent_ci_low", "p_consistent_ci_high"]
    r = files["results"]
    assert list(zip(r["cell"], r["rep"], strict=True)) == [(c, k) for c in range(12) for k in range(2)]
    assert (r["metric_n"] == 99).all() and (r["root_seed"] == 7).all() and (r["engine"] == TOY).all()
    assert (r["n"] == 3).all() and (r["r"] == r["cluster_read_quorum"]).all()
    assert len(files["curves"]) == 24 * 3 and len(files["summary"]) == 12
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    for key in ("sweep_hash", "sweep", "provenance", "started_at", "finished_at", "counts", "cells"):
        assert key in man
    assert man["sweep"]["base"]["cluster"]["replication"] == 3
    assert man["cells"][5] == {"cell": 5, "params": res.spec.cells[5].params if res.spec else None}
    assert "git_commit" in man["provenance"] and "numpy" in man["provenance"]["versions"]
    assert man["sweep_hash"] == load_sweep(tmp_path / "toy.toml").hash


def test_summary_ci_is_the_student_t_interval(tmp_path: Path) -> None:
    from scipy import stats

    res = run_sweep(toy_sweep(tmp_path, reps=5, keys="[10]"), workers=1, out=tmp_path / "out", progress=False)
    for cell, sub in res.results.groupby("cell"):
        x = sub["mean_x"].to_numpy()
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        row = res.summary.set_index("cell").loc[cell]
        assert row["mean_x_mean"] == pytest.approx(x.mean())
        assert row["mean_x_ci_low"] == pytest.approx(x.mean() - half)
        assert row["mean_x_ci_high"] == pytest.approx(x.mean() + half)
        assert row["flag_mean"] == pytest.approx(sub["flag"].astype(float).mean())
    cs = res.curves_summary
    assert (cs["n_reps"] == 5).all()
    assert ((cs["p_consistent_ci_low"] >= 0) & (cs["p_consistent_ci_high"] <= 1)).all()


def test_parquet_format(tmp_path: Path) -> None:
    csv = run_sweep(toy_sweep(tmp_path), workers=1, out=tmp_path / "csv", progress=False)
    pq = run_sweep(toy_sweep(tmp_path), workers=1, out=tmp_path / "pq", fmt="parquet", progress=False)
    assert pq.manifest["files"]["results"] == "results.parquet"
    assert sorted(p.name for p in (tmp_path / "pq").iterdir() if not p.name.startswith(".")) == [
        "curves.parquet", "curves_summary.parquet", "manifest.json", "results.parquet", "summary.parquet"]
    back = load_results(tmp_path / "pq")
    pd.testing.assert_frame_equal(drop_wall(back.results), drop_wall(csv.results), check_dtype=False)


# ---------------------------------------------------------------------------------------------
# The results directory: resume and refusals


def _resume_case(tmp_path: Path) -> tuple[Path, Any]:
    path = toy_sweep(tmp_path, reps=3)
    full = run_sweep(path, workers=1, out=tmp_path / "full", progress=False)
    return path, full


def test_resume_computes_only_what_is_missing(tmp_path: Path) -> None:
    path, full = _resume_case(tmp_path)
    out = tmp_path / "part"
    run_sweep(path, workers=1, out=out, progress=False)
    parts = sorted((out / PARTS).iterdir())
    for p in parts[::4]:  # lose a quarter of the runs, and the tables, as a kill would
        p.unlink()
    for t in ("results", "summary", "curves", "curves_summary"):
        (out / f"{t}.csv").unlink()
    (out / PARTS / ".c000000-r0000.json.abcd.tmp").write_text("{half a rec")  # a writer killed mid-write
    parts[1].write_text("")  # a part an OS crash left empty: unreadable, so recomputed
    res = run_sweep(path, workers=2, out=out, resume=True, progress=False)
    assert res.computed == len(parts[::4]) + 1
    assert res.manifest["resumed_at"] and res.manifest["status"] == "complete"
    assert not list((out / PARTS).glob("*.tmp"))
    pd.testing.assert_frame_equal(drop_wall(res.results), drop_wall(full.results))
    pd.testing.assert_frame_equal(res.curves, full.curves)
    # resuming a finished sweep computes nothing and rewrites the same tables
    again = run_sweep(path, workers=1, out=out, resume=True, progress=False)
    assert again.computed == 0
    pd.testing.assert_frame_equal(again.results, res.results)


def test_out_dir_refusals_and_force(tmp_path: Path) -> None:
    path = toy_sweep(tmp_path)
    out = tmp_path / "out"
    run_sweep(path, workers=1, out=out, progress=False)
    with pytest.raises(ConfigError, match="already holds a finished run of this sweep; pass --resume"):
        run_sweep(path, workers=1, out=out, progress=False)
    (tmp_path / "o").mkdir()
    other = toy_sweep(tmp_path / "o", reps=3)
    with pytest.raises(ConfigError, match="holds a different sweep"):
        run_sweep(other, workers=1, out=out, resume=True, progress=False)
    res = run_sweep(other, workers=1, out=out, force=True, progress=False)
    assert res.computed == 36
    assert len(list((out / PARTS).iterdir())) == 36  # the old sweep's parts are gone
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty and holds no sweep manifest"):
        run_sweep(path, workers=1, out=foreign, progress=False)
    run_sweep(path, workers=1, out=foreign, force=True, progress=False)
    assert (foreign / "notes.txt").read_text() == "mine"  # --force removes only sweep files


def test_a_dying_worker_leaves_the_rest_missing_for_resume(tmp_path: Path) -> None:
    path = toy_sweep(tmp_path, engine="test_sweep_support:crash", keys=f"[10, {FAIL_KEYS}]")
    res = run_sweep(path, workers=2, out=tmp_path / "out", progress=False)
    assert res.n_missing > 0 and not res.ok and res.manifest["status"] == "incomplete"
    assert (res.results["status"] == "ok").all()  # what finished is kept; nothing is blamed wrongly
    assert res.n_ok + res.n_missing == 24
    assert len(list((tmp_path / "out" / PARTS).glob("*.json"))) == res.n_ok


def test_two_sweeps_never_write_one_directory_at_once(tmp_path: Path) -> None:
    from pbs_sim.sweep import store

    out = tmp_path / "out"
    with store.locked(out), pytest.raises(ConfigError, match="another pbs-sim sweep is writing"):
        run_sweep(toy_sweep(tmp_path), workers=1, out=out, progress=False)
    assert run_sweep(toy_sweep(tmp_path), workers=1, out=out, progress=False).ok  # lock released


def test_retry_errors_reruns_only_failed_replications(tmp_path: Path) -> None:
    import test_sweep_support

    path = toy_sweep(tmp_path, keys=f"[10, {FAIL_KEYS}]")
    out = tmp_path / "out"
    first = run_sweep(path, workers=1, out=out, progress=False)
    assert first.n_error == 12
    again = run_sweep(path, workers=1, out=out, resume=True, progress=False)
    assert again.computed == 0 and again.n_error == 12  # plain --resume keeps error rows
    old = test_sweep_support.FAIL_KEYS
    test_sweep_support.FAIL_KEYS = -1  # "fix the bug", then retry the failures only
    try:
        fixed = run_sweep(path, workers=1, out=out, resume=True, retry_errors=True, progress=False)
    finally:
        test_sweep_support.FAIL_KEYS = old
    assert fixed.computed == 12 and fixed.ok
    ok_before = first.results[first.results["status"] == "ok"]
    pd.testing.assert_frame_equal(
        drop_wall(fixed.results.loc[ok_before.index]), drop_wall(ok_before), check_dtype=False)


def test_bad_options_fail_before_any_work(tmp_path: Path) -> None:
    path = toy_sweep(tmp_path)
    with pytest.raises(ConfigError, match="--format"):
        run_sweep(path, out=tmp_path / "o1", fmt="xlsx")
    with pytest.raises(ConfigError, match="--workers"):
        run_sweep(path, workers=0, out=tmp_path / "o2")
    with pytest.raises(ConfigError, match="--only"):
        rebuild_run(path, 12, 0)


def test_the_shipped_example_sweep_runs_reduced(tmp_path: Path) -> None:
    """experiments/sweep_example.toml, with fewer trials: strict quorums (R + W > N) are consistent
    from t = 0 in every replication, and at R = W = 1 the cell means match docs/validation.md section 3
    (P(consistent at t = 0) about 97.4% lnkd-ssd, 43.9% lnkd-disk) within 4 standard errors."""
    from pbs_sim.config import read_toml

    path = Path(__file__).resolve().parents[1] / "experiments" / "sweep_example.toml"
    raw = read_toml(path)
    raw["base"]["predict"]["trials"] = 2000
    spec = sweep_from_dict(raw, source=str(path), base_dir=path.parent, name=path.stem)
    assert len(spec.cells) == 8 and spec.replications == 3
    res = run_sweep(spec, workers=1, out=tmp_path / "example", progress=False)
    assert res.ok
    strict = res.results["r"] + res.results["w"] > res.results["n"]
    assert (res.results.loc[strict, "p_consistent_at_t0"] == 1.0).all()
    summ = res.summary.set_index(["profile", "r", "w"])
    for profile, ref in (("lnkd-ssd", 0.974), ("lnkd-disk", 0.439)):
        se = np.sqrt(ref * (1 - ref) / (2000 * 3))
        assert abs(summ.loc[(profile, 1, 1), "p_consistent_at_t0_mean"] - ref) < 4 * se + 0.001  # + rounding
