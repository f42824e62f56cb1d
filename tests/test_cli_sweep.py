"""``pbs-sim sweep`` through its real entry point: exit statuses (0 / 1 / 2), one-line errors, --only,
--dry-run, and a sweep killed with SIGKILL part way then resumed: nothing lost, nothing duplicated."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_gate_support import GATE_FREE
from test_sweep_support import FAIL_KEYS, TESTS

from pbs_sim import io
from pbs_sim.cli import main
from pbs_sim.sweep import run_sweep
from pbs_sim.sweep.store import PARTS

REPO = TESTS.parent
HANG_GUARD_S = 300  # a guard against a hang only: no test here decides anything by time


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), e.get("PYTHONPATH", "")])
    return e


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pbs_sim", "sweep", *args], capture_output=True, text=True,
                          cwd=cwd, env=env(), timeout=timeout)


def sweep_file(tmp_path: Path, engine: str = "test_sweep_support:engine", reps: int = 2, keys: str = "[10, 20]",
               name: str = "toy") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[sweep]
engine = "{engine}"
replications = {reps}
seed = 3
[grid]
workload.keys = {keys}
[[zip]]
keys = ["cluster.read_quorum", "cluster.write_quorum"]
values = [[1, 1], [2, 2]]
""")
    return path


def test_ok_sweep_exits_0_into_the_default_directory(tmp_path: Path) -> None:
    sweep_file(tmp_path)
    proc = cli("toy.toml", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "8 runs (8 ok, 0 error, 0 missing" in proc.stdout
    out = tmp_path / "results" / "toy"
    assert {p.name for p in out.iterdir()} >= {"results.csv", "curves.csv", "summary.csv", "manifest.json"}
    # the same command again refuses to overwrite (2), --resume reloads it (0)
    again = cli("toy.toml", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--resume" in again.stderr
    resumed = cli("toy.toml", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0 and "0 computed now" in resumed.stdout


def test_failed_replications_exit_1_after_writing_every_row(tmp_path: Path) -> None:
    sweep_file(tmp_path, keys=f"[10, {FAIL_KEYS}]")
    proc = cli("toy.toml", "-j", "2", "--out", "o", cwd=tmp_path)
    assert proc.returncode == 1
    assert "4 of 8 replications failed" in proc.stderr and "RuntimeError: unlucky" in proc.stderr
    results = io.read_table(tmp_path / "o" / "results.csv")
    assert len(results) == 8 and (results["status"] == "error").sum() == 4


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        ('[sweep]\nengine = "predict"\n[grid]\n"cluster.replication" = [3, 2]\n"cluster.read_quorum" = [3]\n',
         "cluster.read_quorum: R = 3 exceeds N = 2 (in cell 1"),
        ('[sweep]\nengine = "predict"\n[[zip]]\nkeys = ["cluster.read_quorum", "cluster.write_quorum"]\n'
         'values = [[1, 1], [2, 2, 2]]\n', "zip[0].values[1]: expected 2 values (one per key), got 3"),
        ('[sweep]\nengine = "predict"\n[grid]\n"cluster.read_quorums" = [1]\n', "grid.cluster.read_quorums: unknown key"),
        ('[sweep]\nengine = "predict"\n[grid]\n"latency.profile" = []\n', "grid.latency.profile: empty list"),
    ],
)
def test_bad_sweep_file_is_one_line_and_exit_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expect: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"pbs-sim: error: {path}: ") and expect in err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_bad_sweep_file_through_the_console_entry_point(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[sweep]\nengine = "predict"\nreplications = -1\n')
    proc = cli("bad.toml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "pbs-sim: error: bad.toml: sweep.replications: must be >= 1, got -1\n"
    usage = cli("bad.toml", "--resume", "--force", cwd=tmp_path)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1


def test_only_rebuilds_one_run_and_dry_run_lists_cells(tmp_path: Path) -> None:
    sweep_file(tmp_path)
    full = run_sweep(tmp_path / "toy.toml", workers=1, out=tmp_path / "o", progress=False)
    proc = cli("toy.toml", "--only", "2:1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    expected = full.results[(full.results["cell"] == 2) & (full.results["rep"] == 1)].iloc[0]
    for key in ("cell", "rep", "root_seed", "status", "mean_x", "rw", "flag", "metric_n", "workload_keys"):
        assert row[key] == expected[key], key
    assert not (tmp_path / "results").exists()  # --only writes nothing
    bad = cli("toy.toml", "--only", "9:0", cwd=tmp_path)
    assert bad.returncode == 2 and "--only: cell 9 is not in 0..3" in bad.stderr
    dry = cli("toy.toml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "4 cells x 2 replications = 8 runs" in dry.stdout
    assert "cell 3: workload.keys=20, cluster.read_quorum=2, cluster.write_quorum=2" in dry.stdout


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _parts(out: Path) -> int:
    d = out / PARTS
    return len(list(d.glob("*.json"))) if d.exists() else 0


def _wait_exit(pid: int) -> bool:
    """Block until process ``pid`` (not our child: no ``waitpid``) has exited, by its pidfd;
    False only if it outlives the hang guard."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # gone already
    try:
        return bool(select.select([fd], [], [], HANG_GUARD_S)[0])
    finally:
        os.close(fd)


def test_kill_9_part_way_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # 4 cells x 10 reps; the gate lets GATE_FREE runs through and holds the rest, so the sweep is
    # certainly part way when it is killed, however slowly this test is scheduled
    sweep_file(tmp_path, engine="sweep_gate_support:gated", reps=10)
    reference = run_sweep(sweep_file(tmp_path, reps=10, name="ref"), workers=1, out=tmp_path / "ref",
                          progress=False)
    out, gate = tmp_path / "o", tmp_path / "gate"
    gate.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbs_sim", "sweep", "toy.toml", "-j", "2", "--out", str(out)],
        cwd=tmp_path, env={**env(), "PBS_TEST_GATE": str(gate)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        # until the runs let through are stored (a bounded number of looks: a hang guard only)
        for _ in range(HANG_GUARD_S * 50):
            if _parts(out) >= GATE_FREE or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert _parts(out) == GATE_FREE
        workers = _children(proc.pid)
        assert len(workers) >= 2  # the pool's processes, each held at the gate
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process only, mid-flight
        proc.wait(timeout=HANG_GUARD_S)
        assert all(_wait_exit(w) for w in workers), "orphaned pool workers outlived the sweep"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the session we started
        proc.wait(timeout=HANG_GUARD_S)
    done_before = _parts(out)
    assert done_before == GATE_FREE  # nothing more was stored after the kill
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running" and manifest["finished_at"] is None
    assert not (out / "results.csv").exists()

    resumed = cli("toy.toml", "-j", "2", "--out", str(out), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{40 - done_before} computed now" in resumed.stdout
    results = io.read_table(out / "results.csv")
    pairs = list(zip(results["cell"], results["rep"], strict=True))
    assert pairs == [(c, r) for c in range(4) for r in range(10)]  # every run exactly once, in order
    drop = ["wall_s", "engine"]
    ref_results = io.read_table(reference.out / "results.csv")
    pd.testing.assert_frame_equal(results.drop(columns=drop), ref_results.drop(columns=drop))
    for table in ("curves", "curves_summary"):  # byte for byte
        assert (out / f"{table}.csv").read_bytes() == (reference.out / f"{table}.csv").read_bytes()
    final = json.loads((out / "manifest.json").read_text())
    assert final["status"] == "complete" and final["counts"] == {"ok": 40, "error": 0, "missing": 0}
    assert final["started_at"] == manifest["started_at"] and len(final["resumed_at"]) == 1


@pytest.mark.slow
def test_dask_local_cluster_of_processes_through_the_cli(tmp_path: Path) -> None:
    """``--scheduler local`` with real worker processes (spawned, so they import the toy engine by
    name) writes the same results as a serial run."""
    sweep_file(tmp_path)
    serial = cli("toy.toml", "-j", "1", "--out", "serial", cwd=tmp_path)
    dask = cli("toy.toml", "-j", "2", "--scheduler", "local", "--out", "dask", cwd=tmp_path, timeout=300)
    assert serial.returncode == 0 and dask.returncode == 0, dask.stderr
    assert "dask x2" in dask.stdout
    a = io.read_table(tmp_path / "serial" / "results.csv").drop(columns="wall_s")
    b = io.read_table(tmp_path / "dask" / "results.csv").drop(columns="wall_s")
    pd.testing.assert_frame_equal(a, b)
