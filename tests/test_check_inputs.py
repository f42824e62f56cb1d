"""`pbs-sim check` and `pbs-sim export` on damaged results directories (issue 17, item 4).

A real run is written once with `pbs-sim run --ops` (a small DVV run, which writes every side table
the checker reads, and a small LWW run in Parquet); each test damages a copy the way a disk, an
interrupted copy or a hand edit would and expects one line on stderr naming the file and the reason,
exit status 2 and no traceback. ``rehash`` rewrites the manifest's digest of the damaged file, so
the parse-level checks are reached (a malformed file the manifest vouches for, e.g. written by
another tool); without it the digest check must fire first. A run of 0 operations is not damage:
exit 0 and an empty result.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from cli_in_process import run_cli as run_in_process

from pbs_sim.io import file_digest

DVV = """
[cluster]
nodes = 3
versioning = "dvv"
coordinator = "random"
[workload]
keys = 3
duration_ms = 150
rate_per_s = 2000
read_fraction = 0.5
write_pattern = "rmw"
clients = 10
warmup_ms = 0
"""
LWW = """
[cluster]
nodes = 3
[workload]
keys = 20
duration_ms = 150
rate_per_s = 2000
warmup_ms = 0
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("runs")

    from pbs_sim.cli import main  # capsys is per test: the module's runs go through main, quiet

    out: dict[str, Path] = {}
    for name, text, extra in (("dvv", DVV, ()), ("lww", LWW, ("--format", "parquet")),
                              ("zero", LWW, ("--set", "workload.duration_ms=1", "--set", "workload.rate_per_s=1"))):
        sc = tmp / f"{name}.toml"
        sc.write_text(text)
        try:
            main(["run", str(sc), "--ops", "--out", str(tmp / name), "--no-progress", "-q", *extra])
        except SystemExit as exc:
            assert not exc.code
        out[name] = tmp / name
    return out


@pytest.fixture
def copy(runs: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        d = tmp_path / name
        shutil.copytree(runs[name], d)
        return d

    return make


def _manifest(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text())


def _rehash(d: Path, name: str) -> None:
    """Make the manifest vouch for the file's new bytes (its row count stays the run's)."""
    man = _manifest(d)
    man["digests"][name] = {**man["digests"][name], **file_digest(d / name)}
    (d / "manifest.json").write_text(json.dumps(man))


def _drop_digests(d: Path) -> None:
    """A manifest as pbs-sim wrote it before digests (the parse checks alone must still hold)."""
    man = _manifest(d)
    man.pop("digests")
    (d / "manifest.json").write_text(json.dumps(man))


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    code, out, err = run_in_process(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, out, err)
    assert lines[0].startswith("pbs-sim: error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.mark.parametrize("command", [["check"], ["export", "--jepsen"]])
def test_empty_ops_file(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    d = copy("dvv")
    (d / "ops.csv").write_bytes(b"")
    _refused([command[0], str(d), *command[1:]], capsys, str(d / "ops.csv"), "empty")
    _drop_digests(d)
    _refused([command[0], str(d), *command[1:]], capsys, str(d / "ops.csv"), "empty")


def test_header_only_is_truncated_when_the_manifest_counted_rows(copy: Callable[[str], Path],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    p = d / "ops.csv"
    p.write_text(p.read_text().splitlines()[0] + "\n")
    _refused(["check", str(d)], capsys, str(p), "truncated")
    _rehash(d, "ops.csv")  # size and hash agree, the row count does not
    _refused(["check", str(d)], capsys, str(p), "0 rows", "manifest says")


@pytest.mark.parametrize("command", [["check"], ["export", "--elle"]])
def test_missing_column(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    d = copy("dvv")
    p = d / "ops.csv"
    pd.read_csv(p).drop(columns=["completed_event"]).to_csv(p, index=False)
    _rehash(d, "ops.csv")
    _refused([command[0], str(d), *command[1:]], capsys, f"{p}: completed_event: missing column")


def test_not_utf8(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    p = d / "ops.csv"
    raw = p.read_bytes()
    p.write_bytes(raw[:200] + b"\xff\xfe" + raw[202:])
    _refused(["check", str(d)], capsys, str(p), "SHA-256")
    _rehash(d, "ops.csv")
    _refused(["check", str(d)], capsys, str(p), "not UTF-8", "0xff")


def test_truncated_mid_row(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The case that said "OK": the last row cut inside a field parses, and checks clean."""
    d = copy("dvv")
    p = d / "ops.csv"
    text = p.read_text()
    cut = text.rstrip("\n").rfind(",", 0, len(text) - 40)  # inside the last row, before its last fields
    p.write_text(text[:cut])
    _refused(["check", str(d)], capsys, str(p), "truncated")
    _drop_digests(d)  # an old manifest: the blank fields of the cut row still give it away
    _refused(["check", str(d)], capsys, str(p), "an empty value")


def test_edited_value_same_size(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    p = d / "causal_parents.csv"
    lines = p.read_text().splitlines()
    a, b, c = lines[1].split(",")
    lines[1] = ",".join([a, str((int(b) + 1) % 10) if len(b) == 1 else b[:-1] + str((int(b[-1]) + 1) % 10), c])
    p.write_text("\n".join(lines) + "\n")
    _refused(["check", str(d)], capsys, str(p), "SHA-256 differs")


@pytest.mark.parametrize("table", ["causal_parents.csv", "sibling_settings.csv", "read_versions.csv",
                                   "final_versions.csv"])
def test_removed_side_table(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str], table: str) -> None:
    """Without its sibling_settings a DVV run would be checked as LWW; without its parents every
    sibling would look concurrent: a table the manifest lists must be there."""
    d = copy("dvv")
    (d / table).unlink()
    _refused(["check", str(d)], capsys, str(d / table), "listed in the directory's manifest, is missing")


def test_tables_the_checker_does_not_read_do_not_matter(copy: Callable[[str], Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    (d / "applies.csv").write_bytes(b"\xff garbage")
    (d / "reads.csv").unlink()
    code, out, err = run_in_process(["check", str(d)], capsys)
    assert code == 0 and "OK" in out, err


def test_manifest_missing_not_json_or_a_sweep(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    m = d / "manifest.json"
    text = m.read_text()
    m.write_text(text[: len(text) // 2])
    _refused(["check", str(d)], capsys, str(m), "not valid JSON")
    m.write_text(json.dumps({"kind": "pbs-sim sweep", "files": {}}))
    _refused(["check", str(d)], capsys, str(m), "sweep")
    m.unlink()
    _refused(["check", str(d)], capsys, str(m), "missing", "--ops")


def test_a_table_of_another_run(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    pd.read_csv(d / "ops.csv").to_parquet(d / "ops.parquet", index=False)
    _refused(["check", str(d)], capsys, str(d / "ops.parquet"), "mixes the tables of two runs")


def test_a_run_without_ops(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    man = _manifest(d)
    man["files"].remove("ops.csv")
    (d / "ops.csv").unlink()
    (d / "manifest.json").write_text(json.dumps(man))
    _refused(["check", str(d)], capsys, str(d), "no ops table", "--ops")


def test_bad_values(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    p = d / "ops.csv"
    f = pd.read_csv(p, dtype=str)
    f.loc[5, "version"] = "x1"
    f.to_csv(p, index=False)
    _rehash(d, "ops.csv")
    _refused(["check", str(d)], capsys, f"{p}: version: line 7: 'x1' is not a number")
    f = pd.read_csv(p, dtype=str)
    f.loc[5, "version"] = "1"
    f.loc[3, "op_id"] = "7"
    f.to_csv(p, index=False)
    _rehash(d, "ops.csv")
    _refused(["check", str(d)], capsys, f"{p}: op_id: line 5: op_id 7; expected 3")


def test_side_table_names_an_unknown_operation(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("dvv")
    p = d / "read_versions.csv"
    f = pd.read_csv(p)
    f.loc[0, "op_id"] = 10**6
    f.to_csv(p, index=False)
    _rehash(d, "read_versions.csv")
    _refused(["check", str(d)], capsys, f"{p}: op_id: row 1: op_id 1000000 is not an operation of this run")


def test_parquet_truncated_and_garbage(copy: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = copy("lww")
    p = d / "ops.parquet"
    code, out, err = run_in_process(["check", str(d)], capsys)
    assert code == 0, err  # the undamaged Parquet run checks
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    _refused(["check", str(d)], capsys, str(p), "truncated")
    _rehash(d, "ops.parquet")
    _refused(["export", str(d), "--jepsen"], capsys, str(p), "not a readable Parquet file")


def test_zero_operation_run_is_a_clean_empty_result(copy: Callable[[str], Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Once a traceback (``cummax`` on an empty, untyped column): a run of 0 operations checks clean."""
    d = copy("zero")
    assert len(pd.read_csv(d / "ops.csv")) == 0
    code, out, err = run_in_process(["check", str(d)], capsys)
    assert code == 0 and "0 operations checked" in out and "OK" in out, (out, err)
    code, out, err = run_in_process(["check", str(d), "--json"], capsys)
    rep = json.loads(out)
    assert code == 0 and rep["ops"] == 0 and all(c["count"] == 0 for c in rep["checks"].values())
    code, out, err = run_in_process(["export", str(d), "--jepsen"], capsys)
    assert code == 0 and (d / "history.edn").read_text() == "" and "0 events (0 operations" in out, err


def test_through_the_real_entry_point(copy: Callable[[str], Path], run_cli: Callable[..., object]) -> None:
    d = copy("dvv")
    p = d / "ops.csv"
    p.write_text(p.read_text()[:-7])
    res = run_cli("check", str(d))
    assert res.returncode == 2 and res.stdout == "", res  # type: ignore[attr-defined]
    assert res.stderr.count("\n") == 1 and str(p) in res.stderr and "truncated" in res.stderr  # type: ignore[attr-defined]


def test_verbose_names_what_was_read_and_verified(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_in_process(["check", str(runs["dvv"]), "-v"], capsys)
    assert code == 0
    read = [line for line in err.splitlines() if line.startswith("pbs-sim: read ")]
    names = {Path(line.split()[2]).name for line in read}
    assert names == {"ops.csv", "sibling_settings.csv", "causal_parents.csv", "session_parents.csv", "read_versions.csv",
                     "final_versions.csv", "rmw_reads.csv"}, err
    assert all("SHA-256" in line for line in read)
    code, _, err = run_in_process(["check", str(runs["dvv"]), "-q"], capsys)
    assert code == 0 and err == ""
