"""Issue 9 through the real entry point: every bad input refused with one line and a documented exit
status before any work, every output directory written as a unit, every JSON output strict.

Exit statuses (docs/guide/scenarios.md, "Exit statuses"): 0 ok; 1 a sweep replication failed or did not run; 2 bad
input (config file, option, value) or a usage error, before any work; 3 the operating system refused
a file operation (read-only file system, permission, name too long, not a directory); 130 interrupted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_in_process import run_cli

SMALL = """
[cluster]
nodes = 3
[latency]
profile = "lnkd-ssd"
[workload]
keys = 20
rate_per_s = 2000
duration_ms = 200
warmup_ms = 10
[run]
seed = 3
"""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strict_loads(text: str) -> Any:
    """A strict parser: NaN, Infinity and -Infinity are errors (as in JavaScript, Go, jq...)."""
    return json.loads(text, parse_constant=_reject_constant)


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("pbs-sim: error: "), err
    return lines[0]


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[..., Path]:
    def make(extra: str = "", name: str = "s.toml", body: str = SMALL) -> Path:
        p = tmp_path / name
        p.write_text(body + extra)
        return p

    return make


# ---------------------------------------------------------------------------------------------
# item 6: strict JSON everywhere


def test_run_json_and_manifest_are_strict_json(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a disk-loss rate so low that nothing is lost: the MTTDL estimate is infinite
    sc = scenario("[faults]\ndisk_loss_mttf_ms = 1e9\n")
    code, out, err = run_cli(["run", str(sc), "--json", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    summary = strict_loads(out)
    assert summary["mttdl_ms_estimate"] is None
    manifest = strict_loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["summary"]["mttdl_ms_estimate"] is None


def test_sweep_parts_are_strict_json_and_keep_infinities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = tmp_path / "sw.toml"
    sw.write_text(
        '[sweep]\nengine = "predict"\nreplications = 1\nseed = 1\n'
        '[base.latency]\nprofile = "lnkd-ssd"\n[base.predict]\ntrials = 2000\ntarget = 0.9999999\n'
    )
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    for part in (tmp_path / "o" / ".parts").iterdir():
        strict_loads(part.read_text())
    strict_loads((tmp_path / "o" / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------
# item 1: every number finite, every work-meaning value bounded (validate and run refuse alike)


@pytest.mark.parametrize(
    ("extra", "key", "needle"),
    [
        ("[workload]\nrate_per_s = inf\n", "workload.rate_per_s", "must be a finite number, got inf"),
        ("[workload]\nrate_per_s = 1e400\n", "workload.rate_per_s", "must be a finite number, got inf"),
        ("[workload]\nduration_ms = inf\n", "workload.duration_ms", "finite"),
        ("[workload]\nwarmup_ms = inf\n", "workload.warmup_ms", "finite"),
        ("[workload]\nwarmup_ms = -inf\n", "workload.warmup_ms", "finite"),
        ("[cluster]\nread_timeout_ms = inf\n", "cluster.read_timeout_ms", "finite"),
        ("[workload]\nprobe_offsets_ms = [1.0, inf]\n", "workload.probe_offsets_ms[1]", "finite"),
        ("[workload]\nrate_per_s = 1e9\n", "workload.rate_per_s", "operations; at most 10,000,000 per run"),
        ("[workload]\nduration_ms = 1e300\n", "workload.duration_ms", "beyond 1e+15 ms"),
        ("[workload]\nkind = \"pbs-probe\"\ntrials = 100000000\n", "workload.trials", "must be <="),
        ("[workload]\nkeys = 1000000000000\n", "workload.keys", "must be <="),
        ("[workload]\nkeys = 100000000000000000000\n", "workload.keys", "64-bit"),
        ("[predict]\ntrials = 10000000000000\n", "predict.trials", "must be <="),
        ("[faults]\ncrash_mttf_ms = 1e-300\n", "faults.crash_mttf_ms", "fault events"),
        ("[run]\nseed = 9223372036854775808\n", "run.seed", "64-bit"),
        ("[anti_entropy]\nmode = \"merkle\"\ninterval = \"constant(0)\"\n", "anti_entropy.interval", "zero interval"),
        ("[anti_entropy]\nmode = \"gossip-push\"\ninterval = 0\n", "anti_entropy.interval", "loop forever"),
        ("[anti_entropy]\nmode = \"merkle\"\ninterval = \"exponential(rate=1e9)\"\n", "anti_entropy.interval",
         "exchanges"),
        ("[latency]\nw = \"lognormal(mu=nan, sigma=1)\"\n", "latency.w", "'mu' must be a finite number, got nan"),
        ("[latency]\nw = \"constant(inf)\"\n", "latency.w", "must be a finite number, got inf"),
        # found by the fuzz test: finite parameters whose samples overflow to inf
        ("[latency]\nw = \"pareto(xm=0.5, alpha=1e-09)\"\n", "latency.w", "draws values up to inf ms"),
        ("[latency]\nw = \"lognormal(mu=0, sigma=1000)\"\n", "latency.w", "must stay below 1e+15 ms"),
        ("[workload]\nkind = \"closed\"\nthink_time = \"exponential(rate=1e-20)\"\n", "workload.think_time",
         "draws values up to"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_out_of_range_values_are_refused(
    scenario: Callable[..., Path], capsys: pytest.CaptureFixture[str], command: str, extra: str, key: str,
    needle: str,
) -> None:
    section, settings = extra.split("\n", 1)
    keys = {ln.split("=")[0].strip() for ln in settings.splitlines() if "=" in ln}
    body = "\n".join(ln for ln in SMALL.splitlines() if ln.split("=")[0].strip() not in keys) + "\n"
    if section in body:  # merge into the existing table (TOML forbids defining it twice)
        body = body.replace(section + "\n", extra)
    else:
        body = body + extra
    sc = scenario(body=body)
    code, out, err = run_cli([command, str(sc)], capsys)
    assert code == 2, (out, err)
    line = one_error_line(err)
    assert f"{sc}: {key}: " in line and needle in line, line
    assert out == ""


def test_closed_loop_without_time_is_refused(scenario: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    body = SMALL.replace('profile = "lnkd-ssd"', 'profile = "lnkd-ssd"\nw = 0\na = 0\nr = 0\ns = 0').replace(
        "[workload]\n", '[workload]\nkind = "closed"\nthink_time = 0\n'
    )
    code, _, err = run_cli(["validate", str(scenario(body=body))], capsys)
    assert code == 2 and "workload.think_time" in one_error_line(err) and "loops forever" in err


def test_sweep_size_is_bounded_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = tmp_path / "sw.toml"
    sw.write_text('[sweep]\nengine = "predict"\nreplications = 100000000\n')
    code, _, err = run_cli(["sweep", str(sw), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "sweep.replications: must be <= 1,000,000" in one_error_line(err)
    assert not (tmp_path / "o").exists()
    sw.write_text('[sweep]\nengine = "predict"\nreplications = 20\n[grid]\n"predict.k" = '
                  f"{list(range(1, 100_001))}\n")
    code, _, err = run_cli(["validate", str(sw)], capsys)
    assert code == 2 and "sweep.replications" in one_error_line(err) and "runs; at most" in err


# ---------------------------------------------------------------------------------------------
# item 5: seeds an output format cannot hold are refused up front, the same way everywhere


@pytest.mark.parametrize("command", ["run", "predict"])
def test_seed_beyond_int64_is_refused(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = (["run", str(scenario())] if command == "run"
            else ["predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1", "--trials", "1000"])
    out_dir = tmp_path / "o"
    code, _, err = run_cli([*args, "--seed", str(2**63), "--format" if command == "run" else "--out",
                            "parquet" if command == "run" else str(tmp_path / "c.parquet"),
                            *(["--out", str(out_dir)] if command == "run" else [])], capsys)
    assert code == 2 and "--seed: must be < 2**63" in one_error_line(err)
    assert not out_dir.exists() and not (tmp_path / "c.parquet").exists()
    code, _, err = run_cli([*args, "--seed", str(2**63 - 1)], capsys)
    assert code == 0, err


# ---------------------------------------------------------------------------------------------
# item 8: Click's conventions for usage errors and a bare `pbs-sim`


def test_bare_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([], capsys)
    text = out + err
    assert code == 2  # click's convention for a group called without a command
    assert text.startswith("Usage: pbs-sim [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in text and "error:" not in text
    assert len(text.splitlines()) > 10


def test_usage_errors_keep_clicks_usage_and_try_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["predict", "--n", "3"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "Usage: pbs-sim predict [OPTIONS]"
    assert lines[1] == "Try 'pbs-sim predict --help' for help."
    assert lines[-1] == "Error: Missing option '--profile'."
    code, out, err = run_cli(["nonsense"], capsys)
    assert code == 2 and "Error: No such command 'nonsense'." in err and "Usage: pbs-sim" in err


# ---------------------------------------------------------------------------------------------
# item 9: smaller ones


def test_predict_out_needs_a_table_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "c.xlsx"
    code, out, err = run_cli(["predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1",
                              "--trials", "1000", "--out", str(target)], capsys)
    assert code == 2 and "extension must be .csv or .parquet" in one_error_line(err)
    assert not target.exists() and out == ""


def test_zip_row_that_is_a_scalar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = tmp_path / "sw.toml"
    sw.write_text('[sweep]\nengine = "predict"\n[[zip]]\nkeys = ["cluster.read_quorum", "cluster.write_quorum"]\n'
                  "values = [1, 2]\n")
    code, _, err = run_cli(["validate", str(sw)], capsys)
    line = one_error_line(err)
    assert code == 2 and "zip[0].values[0]: expected a list of 2 values (one per key), got the single value 1" in line


def test_empirical_trace_with_nan_rows_is_refused_with_a_count(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "trace.csv").write_text("latency_ms\n1.0\nnan\n2.0\n\n3.0\nx\n")
    sc = scenario(body=SMALL.replace('profile = "lnkd-ssd"',
                                     'profile = "lnkd-ssd"\nw = \'empirical(path="trace.csv", column="latency_ms")\''))
    code, _, err = run_cli(["validate", str(sc)], capsys)
    line = one_error_line(err)
    assert code == 2 and "latency.w" in line and "has 2 value(s) that are not numbers (first: sample 2)" in line


def test_relative_paths_resolve_against_the_scenario_folder_and_the_error_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sc").mkdir()
    sc = tmp_path / "sc" / "s.toml"
    sc.write_text(SMALL)
    (tmp_path / "trace.csv").write_text("1.0\n2.0\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["validate", str(sc), "--set", 'latency.w=empirical(path="trace.csv")'], capsys)
    line = one_error_line(err)
    assert code == 2 and "latency.w" in line
    assert f"relative paths resolve against '{tmp_path / 'sc'}'" in line
    code, _, err = run_cli(["validate", str(sc), "--set", "latency.profile=mine.toml"], capsys)
    assert code == 2 and f"relative paths resolve against '{tmp_path / 'sc'}'" in one_error_line(err)


# ---------------------------------------------------------------------------------------------
# item 2 and issue 8 defect 5: resume reuses parts only when computed the same way


def _trace_sweep(tmp_path: Path) -> Path:
    (tmp_path / "trace.csv").write_text("w_ms\n" + "\n".join(str(0.5 + i / 100) for i in range(50)) + "\n")
    (tmp_path / "prof.toml").write_text("w = 'empirical(path=\"trace.csv\", column=\"w_ms\")'\na = 0.2\nr = 0.2\ns = 0.2\n")
    sw = tmp_path / "sw.toml"
    sw.write_text('[sweep]\nengine = "predict"\nreplications = 2\nseed = 1\n'
                  '[base.latency]\nprofile = "prof.toml"\n[base.predict]\ntrials = 2000\n')
    return sw


def test_resume_refuses_parts_computed_from_another_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw, out = _trace_sweep(tmp_path), tmp_path / "o"
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out)], capsys)
    assert code == 0, err
    manifest = strict_loads((out / "manifest.json").read_text())
    trace = str((tmp_path / "trace.csv").resolve())
    assert set(manifest["identity"]["inputs"]) == {trace, str((tmp_path / "prof.toml").resolve())}
    # the same sweep, same files: resume reloads it
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out), "--resume"], capsys)
    assert code == 0, err
    (tmp_path / "trace.csv").write_text("w_ms\n" + "\n".join(str(200 + i) for i in range(50)) + "\n")
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out), "--resume"], capsys)
    line = one_error_line(err)
    assert code == 2 and f"{trace} has changed since the parts in {out} were computed" in line
    assert "--force" in line
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out), "--force"], capsys)
    assert code == 0, err
    assert strict_loads((out / "manifest.json").read_text())["identity"]["inputs"][trace] != \
        manifest["identity"]["inputs"][trace]


@pytest.mark.parametrize("field", ["pbs_sim_version", "results_schema", None])
def test_resume_refuses_parts_of_another_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str | None
) -> None:
    sw, out = _trace_sweep(tmp_path), tmp_path / "o"
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out)], capsys)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    if field is None:  # a manifest written before versions were recorded
        del manifest["identity"]
    else:
        manifest["identity"][field] = "0.0.1" if field == "pbs_sim_version" else 0
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out), "--resume"], capsys)
    line = one_error_line(err)
    assert code == 2 and "holds results of pbs_sim" in line and "pass --force to recompute" in line
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out), "--force"], capsys)
    assert code == 0, err


def test_sweep_names_root_and_replication_seeds_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = tmp_path / "sw.toml"
    sw.write_text('[sweep]\nengine = "simulate"\nreplications = 2\nseed = 7\n'
                  '[base.cluster]\nnodes = 3\n[base.workload]\nkeys = 10\nrate_per_s = 500\nduration_ms = 50\n'
                  "warmup_ms = 0\n")
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    import pandas as pd

    r = pd.read_csv(tmp_path / "o" / "results.csv")
    assert "seed" not in r.columns and "metric_seed" not in r.columns
    assert list(r["root_seed"]) == [7, 7]
    assert list(r["replication_seed"]) == ["7:0.0", "7:0.1"]  # SeedSequence(7, spawn_key=(cell, rep))


# ---------------------------------------------------------------------------------------------
# item 3: a run's output directory is one unit


def _files(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()} - {".lock"}  # the lock run and sweep take (pbs_sim.io.LOCK)


def test_run_refuses_a_sweep_directory_unless_forced(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sw, out = _trace_sweep(tmp_path), tmp_path / "o"
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(out)], capsys)
    assert code == 0, err
    before = {n: (out / n).read_bytes() for n in _files(out) if (out / n).is_file()}
    code, out_text, err = run_cli(["run", str(scenario()), "--out", str(out)], capsys)
    assert code == 2 and f"--out: {out} holds a pbs-sim sweep; choose another --out, or pass --force" in one_error_line(err)
    assert out_text == ""
    assert {n: (out / n).read_bytes() for n in _files(out) if (out / n).is_file()} == before
    # files the user put there are refused the same way
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    code, _, err = run_cli(["run", str(scenario()), "--out", str(tmp_path / "mine")], capsys)
    assert code == 2 and "holds files pbs-sim run did not write (e.g. notes.txt)" in one_error_line(err)
    # forced: the sweep's files are gone, the run's are there, the manifest lists exactly them
    code, _, err = run_cli(["run", str(scenario()), "--out", str(out), "--force"], capsys)
    assert code == 0, err
    manifest = strict_loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "pbs-sim run"
    assert _files(out) == {*manifest["files"], "manifest.json"}
    code, _, err = run_cli(["run", str(scenario()), "--out", str(tmp_path / "mine"), "--force"], capsys)
    assert code == 0 and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_rerun_replaces_the_previous_run_whole(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc, out = scenario(), tmp_path / "o"
    code, _, err = run_cli(["run", str(sc), "--out", str(out), "--ops"], capsys)
    assert code == 0 and "ops.csv" in _files(out)
    code, _, err = run_cli(["plot", str(out), "--out", str(out / "curve.png")], capsys)  # what `make run` does
    assert code == 0, err
    code, _, err = run_cli(["run", str(sc), "--out", str(out)], capsys)  # without --ops
    assert code == 0, err
    assert "ops.csv" not in _files(out) and "curve.png" not in _files(out)
    code, _, err = run_cli(["run", str(sc), "--out", str(out), "--format", "parquet"], capsys)
    assert code == 0, err
    manifest = strict_loads((out / "manifest.json").read_text())
    assert _files(out) == {*manifest["files"], "manifest.json"}
    assert not any(n.endswith(".csv") for n in _files(out))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_run_killed_while_writing_leaves_the_previous_run(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sc, out = scenario(), tmp_path / "o"
    code, _, err = run_cli(["run", str(sc), "--out", str(out)], capsys)
    assert code == 0, err
    before = {n: (out / n).read_bytes() for n in _files(out)}
    from pbs_sim import io

    real, calls = io.write_table, []

    def dying(frame: Any, path: Any, fmt: Any = None) -> Any:
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if killed mid-write
        return real(frame, path, fmt)

    monkeypatch.setattr(io, "write_table", dying)
    code, _, err = run_cli(["run", str(sc), "--out", str(out), "--seed", "9", "--ops"], capsys)
    assert code == 130 and len(calls) == 3
    assert {n: (out / n).read_bytes() for n in _files(out)} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_plot_refuses_a_run_directory_that_does_not_match_its_manifest(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code, _, err = run_cli(["run", str(scenario()), "--out", str(out)], capsys)
    assert code == 0, err
    (out / "curve.parquet").write_bytes(b"PAR1")  # a table of some other run
    code, _, err = run_cli(["plot", str(out)], capsys)
    assert code == 2 and "curve.parquet is not listed in its manifest" in one_error_line(err)
    (out / "curve.parquet").unlink()
    (out / "curve.csv").unlink()
    code, _, err = run_cli(["plot", str(out)], capsys)
    assert code == 2 and "curve.csv, listed in its manifest, is missing" in one_error_line(err)


# ---------------------------------------------------------------------------------------------
# item 4: operating-system errors are one line naming the path, exit status 3, in every command


def _os_error(err: str, path: str) -> str:
    """One line naming ``path`` (or the ancestor of it the OS refused) and the OS's reason."""
    line = one_error_line(err)
    named = line.removeprefix("pbs-sim: error: ").split(": ")[0]
    assert path.startswith(named) and len(named) > 4, line
    assert line.count(": ") >= 2, line  # a reason follows the path
    return line


@pytest.mark.parametrize("where", ["sys", "proc", "below-file", "too-long"])
def test_unwritable_outputs_are_one_line_exit_3(
    where: str, scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file.txt").write_text("x")
    out = {
        "sys": Path("/sys/pbs-sim-test-out"),
        "proc": Path("/proc/pbs-sim-test/out"),
        "below-file": tmp_path / "file.txt" / "out",
        "too-long": tmp_path / ("a" * 300),
    }[where]
    if where == "sys" and not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    sw = _trace_sweep(tmp_path)
    table = str(out / "c.csv") if where != "too-long" else str(out) + ".csv"
    commands = [
        ["run", str(scenario()), "--out", str(out)],
        ["sweep", str(sw), "-j", "1", "--out", str(out)],
        ["predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1", "--trials", "1000", "--out", table],
    ]
    for argv in commands:
        code, stdout, err = run_cli(argv, capsys)
        assert code == 3, (argv, err)
        _os_error(err, argv[-1])
        if argv[0] == "run":
            assert stdout == ""  # refused before the run
    sweep_dir = tmp_path / "plot-me"
    assert run_cli(["sweep", str(sw), "-j", "1", "--out", str(sweep_dir)], capsys)[0] == 0
    target = out / "x.png" if where != "too-long" else Path(str(out) + ".png")
    code, _, err = run_cli(["plot", str(sweep_dir), "--out", str(target)], capsys)
    assert code == 3, err
    one_error_line(err)


def test_reading_a_device_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("run", "validate", "sweep"):
        code, _, err = run_cli([command, "/dev/zero"], capsys)
        assert code == 2 and "/dev/zero: is not a regular file" in one_error_line(err)


# ---------------------------------------------------------------------------------------------
# item 7: plot input


@pytest.mark.parametrize("kind", ["curves", "tradeoff"])
def test_plot_refuses_a_non_numeric_value(
    kind: str, scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert run_cli(["run", str(scenario()), "--out", str(out)], capsys)[0] == 0
    table = "curve.csv" if kind == "curves" else "summary.csv"
    column = "p_consistent" if kind == "curves" else "t_visibility_ms"
    import pandas as pd

    frame = pd.read_csv(out / table)
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = "abc"
    frame.to_csv(out / table, index=False)
    code, _, err = run_cli(["plot", str(out), "--kind", kind], capsys)
    assert code == 2 and f"{out / table}: {column}: row 1: 'abc' is not a number" in one_error_line(err)
    assert not (out / f"{kind}.png").exists()


# ---------------------------------------------------------------------------------------------
# item 9: `make run` leaves a fresh clone clean


def test_make_run_writes_only_where_git_ignores() -> None:
    import shutil
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    if shutil.which("make") is None or shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("needs make and a git checkout")
    recipe = subprocess.run(["make", "-n", "-s", "-W", "pyproject.toml", "run"], cwd=repo, capture_output=True,
                            text=True, check=True).stdout
    outs = []
    for line in recipe.splitlines():
        words = line.split()
        if "pbs-sim" in line and "--out" in words:
            outs.append(words[words.index("--out") + 1])
    assert len(outs) == 3, recipe
    for out in outs:
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", out], cwd=repo)
        assert ignored.returncode == 0, f"make run writes {out}, which git tracks"


# ---------------------------------------------------------------------------------------------
# item 10 (and item 1's long work): a bad file is reported without the heavy imports; long
# predictions say how long they have left


HEAVY = ("numpy", "scipy", "pandas", "simpy", "matplotlib", "pyarrow")


@pytest.mark.parametrize("argv", [
    ["sweep", "{bad_sweep}"], ["sweep", "{bad_cell}"], ["run", "{bad}"], ["validate", "{bad}"],
    ["validate", "{bad_cell}"],
])
def test_error_path_imports_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "bad_sweep.toml").write_text('[sweep]\nengine = "simulate"\nreplications = 0\n')
    (tmp_path / "bad_cell.toml").write_text('[sweep]\nengine = "simulate"\n[grid]\n"cluster.read_quorum" = [1, 4]\n')
    (tmp_path / "bad.toml").write_text("[cluster]\nwirte_quorum = 1\n")
    args = [a.format(bad_sweep=tmp_path / "bad_sweep.toml", bad_cell=tmp_path / "bad_cell.toml",
                     bad=tmp_path / "bad.toml") for a in argv]
    probe = (
        "import sys\nfrom pbs_sim.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split(" ", 1) == ["2", "[]\n"], (proc.stdout, proc.stderr)


def test_long_prediction_reports_time_left_off_a_terminal(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from pbs_sim.analytic import limits
    from pbs_sim.cli import progress

    monkeypatch.setattr(limits, "PROGRESS_MIN_WORK", 1)
    monkeypatch.setattr(progress, "FIRST_NOTE_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    code, out, err = run_cli(["predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1",
                              "--trials", "1500000", "--seed", "1", "--json"], capsys)
    assert code == 0, err
    strict_loads(out)
    notes = err.strip().splitlines()
    assert notes and all(n.startswith("pbs-sim: predict: ") and "% of 1,500,000 trials after" in n
                         and n.endswith(" left") for n in notes), err


def test_progress_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    from pbs_sim.cli.progress import Progress

    p = Progress(10**12, "trial", "predict", tty=False, first_note_s=0.0)
    p.started -= 400.0  # 400 s in, 10^9 trials done: 1000x as long to go
    p(10**9)
    p.close()
    assert capsys.readouterr().err == (
        "pbs-sim: predict: 0.1 % of 1,000,000,000,000 trials after 7 min; about 4.6 days left\n")


def test_run_into_the_current_directory(scenario: Callable[..., Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scenario()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for _ in range(2):  # empty, then a previous run
        code, _, err = run_cli(["run", str(sc), "--out", "."], capsys)
        assert code == 0, err
        assert "manifest.json" in _files(here)


# -- issue 17, item 6: one writer per output directory; export's files belong to the run -------------
def test_run_refused_while_another_run_or_sweep_holds_the_out_lock(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
) -> None:
    """Two `run --out D` at once both said "results written" and one result set was lost. The lock is
    held here (as a run or a sweep in progress holds it); no timing is involved."""
    from pbs_sim import io

    sc, out = scenario(), tmp_path / "o"
    assert run_cli(["run", str(sc), "--out", str(out)], capsys)[0] == 0
    before = {n: (out / n).read_bytes() for n in _files(out)}
    for holder in ("pbs-sim run", "pbs-sim sweep"):
        with io.out_lock(out, holder):
            code, text, err = run_cli(["run", str(sc), "--out", str(out), "--seed", "9"], capsys)
            assert code == 2 and text == ""
            assert f"--out: another {holder} is writing to {out} right now" in one_error_line(err)
            sub = request.getfixturevalue("run_cli")("run", str(sc), "--out", str(out))  # another process
            assert sub.returncode == 2 and "right now" in one_error_line(sub.stderr), sub.stderr
        assert {n: (out / n).read_bytes() for n in _files(out)} == before  # untouched
    fresh = tmp_path / "fresh"
    with io.out_lock(fresh, "pbs-sim run"):  # a run that has just created its --out
        assert run_cli(["run", str(sc), "--out", str(fresh)], capsys)[0] == 2
    assert run_cli(["run", str(sc), "--out", str(out), "--seed", "9"], capsys)[0] == 0  # released


def test_run_holds_the_lock_from_start_to_commit(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a run simulates, and after its new directory has replaced the old one but before it is
    done, a sweep or a second run into the same --out is refused."""
    from pbs_sim import io, simulation
    from pbs_sim.errors import ConfigError
    from pbs_sim.sweep import store

    sc, out = scenario(), tmp_path / "o"
    assert run_cli(["run", str(sc), "--out", str(out)], capsys)[0] == 0
    refused: list[str] = []

    def try_to_write(where: str) -> None:
        for attempt in (lambda: store.locked(out), lambda: io.unit_dir(out)):
            try:
                with attempt():
                    refused.append(f"{where}: got in")
            except ConfigError as exc:
                refused.append(f"{where}: {exc.reason.split(' is writing')[0]}")

    real_sim, real_remove = simulation.simulate, io._remove_run_dir

    def sim(*a: Any, **k: Any) -> Any:
        try_to_write("simulating")
        return real_sim(*a, **k)

    def remove(old: Path) -> None:  # called after the swap, before the lock is released
        try_to_write("swapped")
        real_remove(old)

    monkeypatch.setattr(simulation, "simulate", sim)
    monkeypatch.setattr(io, "_remove_run_dir", remove)
    assert run_cli(["run", str(sc), "--out", str(out), "--seed", "8"], capsys)[0] == 0
    assert refused == ["simulating: another pbs-sim run"] * 2 + ["swapped: another pbs-sim run"] * 2


def test_exported_history_is_part_of_the_run_directory(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """`export` writes into the run directory; a later `run --out` there was refused without
    --force. Exported .edn files count among what is derived from the run (like figures): the rerun
    replaces them with the directory."""
    sc, out = scenario(), tmp_path / "o"
    assert run_cli(["run", str(sc), "--out", str(out), "--ops"], capsys)[0] == 0
    for flag in ("--jepsen", "--elle"):
        code, text, err = run_cli(["export", str(out), flag], capsys)
        assert code == 0 and " events (" in text, err
    assert {"history.edn", "history-elle.edn"} <= _files(out)
    code, _, err = run_cli(["run", str(sc), "--out", str(out), "--ops"], capsys)
    assert code == 0, err
    assert not {"history.edn", "history-elle.edn"} & _files(out)  # replaced whole, like figures
    code, _, err = run_cli(["export", str(out), "--jepsen", "--out", str(out / "ops.csv")], capsys)
    assert code == 2 and "one of the run's own files" in one_error_line(err)
    code, _, err = run_cli(["check", str(out)], capsys)
    assert code == 0, err  # ops.csv untouched


def test_export_counts_events_not_operations(scenario: Callable[..., Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert run_cli(["run", str(scenario()), "--out", str(out), "--ops"], capsys)[0] == 0
    code, text, _ = run_cli(["export", str(out), "--jepsen"], capsys)
    lines = len((out / "history.edn").read_text().splitlines())
    ops = len((out / "ops.csv").read_text().splitlines()) - 1
    assert code == 0 and lines == 2 * ops
    assert text.strip() == f"{lines:,} events ({ops:,} operations, an invocation and a completion each) written to " \
                           f"{out / 'history.edn'}"


# -- issue 17, item 11 --------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["predict", "--profile", "lnkd-ssd", "--n", "3", "--r", "1", "--w", "1", "--out", "{f}/x.csv"],
    ["run", "{sc}", "--out", "{f}/x"],
    ["plot", "{run}", "--out", "{f}/x.png"],
    ["export", "{run}", "--jepsen", "--out", "{f}/x.edn"],
    ["sweep", "{sw}", "-j", "1", "--out", "{f}/x"],
    ["recommend", "--profile", "lnkd-ssd", "--n", "3", "--max-read-ms", "100", "--trials", "2000", "--out", "{f}/x.csv"],
])
def test_out_below_a_file_says_not_a_directory(argv: list[str], scenario: Callable[..., Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`--out afile/x.csv` said "File exists" (of afile); it is "Not a directory"."""
    f = tmp_path / "afile"
    f.write_text("")
    run = tmp_path / "r"
    assert run_cli(["run", str(scenario()), "--out", str(run), "--ops"], capsys)[0] == 0
    args = [a.format(f=f, sc=scenario(), run=run, sw=_trace_sweep(tmp_path)) for a in argv]
    code, _, err = run_cli(args, capsys)
    assert code == 3 and one_error_line(err) == f"pbs-sim: error: {f}: Not a directory"


def test_plot_out_onto_a_directory(scenario: Callable[..., Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Once an error naming a hidden ``.tmp`` file; now a bad --out before any plotting."""
    run = tmp_path / "r"
    assert run_cli(["run", str(scenario()), "--out", str(run)], capsys)[0] == 0
    (tmp_path / "fig.png").mkdir()
    code, _, err = run_cli(["plot", str(run), "--out", str(tmp_path / "fig.png")], capsys)
    line = one_error_line(err)
    assert code == 2 and "is a directory" in line and ".tmp" not in line
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_every_command_takes_quiet_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    import click

    from pbs_sim.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"-q", "--quiet", "-v", "--verbose"} <= opts, name
        for flag in ("-q", "-v", "-vv"):
            code, out, err = run_cli([name, flag, "--help"], capsys)
            assert code == 0 and "--quiet" in out and "--verbose" in out, (name, flag, err)


def test_progress_lines_off_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Progress was shown only on a terminal. Off one (here: captured stderr), a long-ish run prints
    a line per tenth of its simulated time -- counted, not timed -- and -q silences them."""
    from pbs_sim.simulation import SIM_PROGRESS_MIN_OPS

    sc = tmp_path / "long.toml"
    duration = 1000 * SIM_PROGRESS_MIN_OPS / 40_000  # just long enough at 40,000 ops/s
    sc.write_text(SMALL.replace("rate_per_s = 2000", "rate_per_s = 40000")
                  .replace("duration_ms = 200", f"duration_ms = {duration:g}").replace("keys = 20", "keys = 2000"))
    code, _, err = run_cli(["run", str(sc), "--json"], capsys)
    notes = [ln for ln in err.splitlines() if ln.startswith("pbs-sim: simulating: ")]
    assert code == 0 and len(notes) == 9 and err.strip() == "\n".join(notes), err
    assert notes[0].startswith("pbs-sim: simulating: 10.0 % of ") and "simulated ms after" in notes[0]
    assert run_cli(["run", str(sc), "--json", "-q"], capsys)[2] == ""
    assert run_cli(["run", str(sc), "--json", "--no-progress"], capsys)[2] == ""
    short = tmp_path / "short.toml"
    short.write_text(SMALL)
    assert run_cli(["run", str(short), "--json"], capsys)[2] == ""  # short work: nothing extra


def test_sweep_progress_lines_off_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep of 10 runs off a terminal: a line after each tenth (runs 1..9), none with -q."""
    sw = _trace_sweep(tmp_path)
    sw.write_text(sw.read_text().replace("replications = 2", "replications = 10"))
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(tmp_path / "o")], capsys)
    notes = [ln for ln in err.splitlines() if ln.startswith("pbs-sim: sw: ")]
    assert code == 0 and [n.split(": ")[2].split(" %")[0] for n in notes] == [f"{10 * i}.0" for i in range(1, 10)], err
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(tmp_path / "q"), "-q"], capsys)
    assert code == 0 and err == ""
