"""The history checker and the Jepsen export (issue 11, validation 6(e) and deliverable 5).

Planted violations are hand-made histories: ops with their instants (events are numbered in time
order, as the simulator numbers them), parents, final replica state and the policy. Each planted
history must produce exactly its one finding and nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_in_process import run_cli

from pbs_sim import check
from pbs_sim.checker import CHECKS, load_frames
from pbs_sim.config import scenario_from_dict
from pbs_sim.export import elle_lines, jepsen_lines
from pbs_sim.simulation import simulate

Op = tuple[int, str, float, float, str, int]  # client, kind, issued_at, completed_at, status, version


def frames_of(ops: list[Op], *, policy: str, parents: dict[int, list[int]] | None = None,
              final: list[int] | None = None, stamps: dict[int, float] | None = None,
              read_versions: dict[int, list[int]] | None = None) -> dict[str, pd.DataFrame]:
    """One key (0). ``parents``: op id -> parent seqs; ``final``: versions held at the end."""
    instants = sorted({t for o in ops for t in (o[2], o[3])})
    event = {t: i for i, t in enumerate(instants)}
    frame = pd.DataFrame({
        "op_id": range(len(ops)), "client": [o[0] for o in ops], "key": 0,
        "kind": [o[1] for o in ops], "coordinator": -1,
        "issued_at": [o[2] for o in ops], "completed_at": [o[3] for o in ops],
        "status": [o[4] for o in ops], "version": [o[5] for o in ops],
        "issued_event": [2 * event[o[2]] for o in ops], "completed_event": [2 * event[o[3]] + 1 for o in ops],
    })
    out: dict[str, pd.DataFrame] = {"ops": frame}
    out["causal_parents"] = pd.DataFrame(
        [(o, p) for o, ps in (parents or {}).items() for p in ps], columns=["op_id", "parent"])
    if policy != "lww":
        out["sibling_settings"] = pd.DataFrame([{"policy": policy, "merge": "union", "max_siblings": 100,
                                                 "siblings_warning": 25}])
        out["final_versions"] = pd.DataFrame([(0, 0, v) for v in final or []], columns=["node", "key", "version"])
    if stamps:
        out["write_stamps"] = pd.DataFrame(list(stamps.items()), columns=["op_id", "timestamp_ms"])
    if read_versions:
        out["read_versions"] = pd.DataFrame([(o, v) for o, vs in read_versions.items() for v in vs],
                                            columns=["op_id", "version"])
    return out


def found(report: Any) -> dict[str, list[int]]:
    return {k: f.examples for k, f in report.findings.items() if f.count}


def test_planted_lost_write_under_dvv() -> None:
    """Clients 1 and 2 write blind and concurrently (0 -> 2), both acknowledged; the final state
    holds only write 2. Write 1 (op 0) is lost although nothing descends from it: a DVV defect."""
    fr = frames_of([(1, "write", 0, 2, "ok", 1), (2, "write", 0, 2, "ok", 2)], policy="dvv", final=[2])
    rep = check(fr)
    assert found(rep) == {"lost_writes": [0]} and not rep.ok


def test_planted_monotonic_read_violation() -> None:
    """Client 1 writes 1, then 2 (which knows 1). Client 3 reads 2 at 4, then 1 at 6: 1 is below
    the 2 it already read. Reported, not a DVV promise (no exit 1) unless required."""
    fr = frames_of([(1, "write", 0, 1, "ok", 1), (1, "write", 2, 3, "ok", 2),
                    (3, "read", 4, 5, "ok", 2), (3, "read", 6, 7, "ok", 1)],
                   policy="dvv", parents={1: [1]}, final=[2])
    rep = check(fr)
    assert found(rep) == {"monotonic_reads": [3]} and rep.ok
    assert not check(fr, require=["monotonic_reads"]).ok


def test_planted_causal_violation_under_lww() -> None:
    """Client 1's write 1 (stamp 10) is acknowledged at 12; client 2 reads it and writes 2 knowing
    it, but its clock stamps 5 (the write times out after reaching replicas: not acknowledged, so
    no LWW loss to report). Client 3 then reads 2: it sees 2 without 1, which happened before 2
    and is above 2 in the store's order -- a causal violation."""
    fr = frames_of([(1, "write", 10, 12, "ok", 1), (2, "read", 13, 14, "ok", 1),
                    (2, "write", 15, 100, "timeout", 2), (3, "read", 20, 21, "ok", 2)],
                   policy="lww", parents={2: [1]}, stamps={0: 10.0, 2: 5.0})
    rep = check(fr)
    assert found(rep) == {"causal_violations": [3]}


def test_planted_non_concurrent_siblings() -> None:
    """A read returns siblings 1 and 2 although 2 knew 1: not pairwise concurrent (DVV promise)."""
    fr = frames_of([(1, "write", 0, 1, "ok", 1), (2, "write", 2, 3, "ok", 2), (3, "read", 4, 5, "ok", 2)],
                   policy="dvv", parents={1: [1]}, final=[2], read_versions={2: [1, 2]})
    rep = check(fr)
    assert found(rep) == {"non_concurrent_siblings": [2]} and not rep.ok


def test_clean_history_reports_nothing() -> None:
    fr = frames_of([(1, "write", 0, 1, "ok", 1), (1, "read", 2, 3, "ok", 1), (1, "write", 4, 5, "ok", 2)],
                   policy="dvv", parents={2: [1]}, final=[2])
    rep = check(fr)
    assert found(rep) == {} and rep.ok and set(rep.findings) == set(CHECKS)


def _run(tmp_path: Path, versioning: str, actor: str | None = None) -> Path:
    cl: dict[str, Any] = {"nodes": 3, "versioning": versioning, "coordinator": "random"}
    if actor:
        cl["vv_actor"] = actor
    toml = tmp_path / f"{versioning}-{actor}.toml"
    lines = ["[cluster]", *(f"{k} = {v!r}".replace("'", '"') for k, v in cl.items()),
             "[workload]", "keys = 3", "duration_ms = 300", "rate_per_s = 2000", "read_fraction = 0.5",
             'write_pattern = "rmw"', "clients = 10", "warmup_ms = 0"]
    toml.write_text("\n".join(lines) + "\n")
    return toml


@pytest.mark.parametrize("versioning,actor,code", [
    ("dvv", None, 0), ("vv", "client", 0), ("vv", "node-naive", 1), ("vv", "node", 1), ("lww", None, 0)])
def test_cli_check_exit_status_follows_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  versioning: str, actor: str | None, code: int) -> None:
    """Read-modify-write clients through random coordinators: DVV and client vectors keep their
    promises (exit 0); naive node vectors lose acknowledged writes, vnode vectors return ordered
    siblings (exit 1); LWW promises neither."""
    out = tmp_path / "res"
    rc, _, err = run_cli(["run", str(_run(tmp_path, versioning, actor)), "--ops", "--out", str(out),
                          "--no-progress"], capsys)
    assert rc == 0, err
    rc, text, _ = run_cli(["check", str(out)], capsys)
    assert rc == code, text
    assert "lost_writes" in text


def test_check_without_ops_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.csv").write_text("a\n1\n")
    rc, _, err = run_cli(["check", str(tmp_path)], capsys)
    assert rc == 2 and "--ops" in err and len(err.strip().splitlines()) == 1


# -- the Jepsen export ---------------------------------------------------------------------------
EDN_OP = re.compile(r"^\{(:[a-z-]+ [^,]+(?:, :[a-z-]+ [^,]+)*)\}$")


def parse_edn_map(line: str) -> dict[str, str]:
    """A flat EDN map of keyword keys (our lines: values hold no commas)."""
    m = EDN_OP.match(line)
    assert m, line
    out = {}
    for part in m.group(1).split(", "):
        k, _, v = part.partition(" ")
        out[k] = v
    return out


def test_jepsen_export_has_the_documented_shape(tmp_path: Path) -> None:
    """jepsen.history's README ("Operation Structure"): every op has :type in :invoke / :ok / :fail /
    :info, :f, :value, :process (single-threaded: one outstanding invocation at a time, and a
    process that got :info never invokes again), :time (long nanoseconds) and :index (0, 1, ...
    ascending). Every invocation is completed once, on its process, with the same :f; reads
    complete with the vector of the values they returned (strings "client:seq")."""
    sc = scenario_from_dict({"cluster": {"versioning": "dvv", "coordinator": "random", "read_timeout_ms": 2,
                                         "write_timeout_ms": 2},
                             "workload": {"keys": 3, "duration_ms": 200, "rate_per_s": 3000, "read_fraction": 0.5},
                             "faults": {"message_loss": 0.2}})
    res = simulate(sc, record_ops=True)
    lines = list(jepsen_lines(res.frames()))
    ops = [parse_edn_map(x) for x in lines]
    assert len(ops) == 2 * len(res.frames()["ops"])
    outstanding: dict[str, str] = {}
    dead: set[str] = set()
    last_time = -1
    types = set()
    for i, op in enumerate(ops):
        assert {":type", ":f", ":value", ":process", ":time", ":index"} <= set(op)
        assert op[":type"] in (":invoke", ":ok", ":fail", ":info") and op[":f"] in (":read", ":write")
        assert int(op[":index"]) == i
        t = int(op[":time"])
        assert t >= last_time
        last_time = t
        p = op[":process"]
        types.add(op[":type"])
        if op[":type"] == ":invoke":
            assert p not in outstanding and p not in dead
            outstanding[p] = op[":f"]
        else:
            assert outstanding.pop(p) == op[":f"]
            if op[":type"] == ":info":
                dead.add(p)
            if op[":f"] == ":read" and op[":type"] == ":ok":
                assert re.fullmatch(r'\[\d+ \[("\d+:\d+"( "\d+:\d+")*)?\]\]', op[":value"])
    assert not outstanding and {":invoke", ":ok", ":info"} <= types


def test_cli_export_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    assert run_cli(["run", str(_run(tmp_path, "dvv")), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0
    rc, text, _ = run_cli(["export", str(out), "--jepsen"], capsys)
    assert rc == 0 and (out / "history.edn").exists()
    n = len((out / "history.edn").read_text().splitlines())
    assert n == 2 * len(load_frames(out)["ops"])



def test_interrupted_export_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that fails half-way (here: after 3 lines) writes nothing: the file already there
    is untouched and no partial or temporary file is left beside it."""
    import pbs_sim.export as export_mod

    fr = frames_of([(1, "write", 0, 1, "ok", 1), (2, "read", 2, 3, "ok", 1)], policy="dvv", final=[1])
    path = tmp_path / "history.edn"
    path.write_text("old\n")

    def failing(frames: Any) -> Any:
        yield from list(jepsen_lines(frames))[:3]
        raise KeyboardInterrupt

    monkeypatch.setattr(export_mod, "jepsen_lines", failing)
    with pytest.raises(KeyboardInterrupt):
        export_mod.write_jepsen(fr, path)
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["history.edn"]

# -- the Elle export -----------------------------------------------------------------------------
ELLE_MOP = re.compile(r'\[\[:(r|w) (\d+) ("\d+:\d+"|nil)\]\]')


def test_elle_export_has_the_rw_register_shape() -> None:
    """elle.rw-register's docstring (and Elle's README): a transaction's :value is a vector of
    micro-ops, [:r x 1] a read of x observing 1, [:w x 2] a write of 2 to x, written values unique
    per key (ours: the writes' values, "client:seq"); :f :txn; a read's invocation does not know its value (nil). Each of our operations is
    a one-micro-op transaction; the events, types, processes, times and indices are those of the
    --jepsen export; a read observes a written value of its key or nil."""
    sc = scenario_from_dict({"cluster": {"versioning": "lww", "coordinator": "random", "read_timeout_ms": 2,
                                         "write_timeout_ms": 2},
                             "workload": {"keys": 3, "duration_ms": 200, "rate_per_s": 3000, "read_fraction": 0.5},
                             "faults": {"message_loss": 0.2}})
    frames = simulate(sc, record_ops=True).frames()
    elle = [parse_edn_map(x) for x in elle_lines(frames)]
    plain = [parse_edn_map(x) for x in jepsen_lines(frames)]
    assert len(elle) == len(plain) == 2 * len(frames["ops"])
    written: dict[tuple[str, str], str] = {}
    reads: list[tuple[str, str]] = []
    for e, p in zip(elle, plain, strict=True):
        assert {k: e[k] for k in (":type", ":process", ":time", ":index", ":op-id")} == \
            {k: p[k] for k in (":type", ":process", ":time", ":index", ":op-id")}
        assert e[":f"] == ":txn"
        m = ELLE_MOP.fullmatch(e[":value"])
        assert m, e[":value"]
        f, k, v = m.groups()
        assert f == ("r" if p[":f"] == ":read" else "w")
        if f == "w":
            assert v != "nil" and p[":value"] == f"[{k} {v}]"
            if e[":type"] == ":invoke":
                assert written.setdefault((k, v), e[":op-id"]) == e[":op-id"]  # unique per key
        elif e[":type"] == ":ok":
            reads.append((k, v))
            assert p[":value"] == (f"[{k} []]" if v == "nil" else f"[{k} [{v}]]")  # LWW: one version
        else:
            assert v == "nil"
    assert reads and all(v == "nil" or (k, v) in written for k, v in reads)
    assert any(v == "nil" for _, v in reads) and any(v != "nil" for _, v in reads)


def test_elle_export_reads_the_newest_sibling() -> None:
    """Register reads observe one value: a read that returned siblings 1 and 2 is a read of 2 (the
    value of client 2's first write, "2:1")."""
    fr = frames_of([(1, "write", 0, 1, "ok", 1), (2, "write", 0.5, 3, "ok", 2), (3, "read", 4, 5, "ok", 2)],
                   policy="dvv", final=[1, 2], read_versions={2: [1, 2]})
    lines = [parse_edn_map(x) for x in elle_lines(fr)]
    assert [(x[":type"], x[":value"]) for x in lines] == [
        (":invoke", '[[:w 0 "1:1"]]'), (":invoke", '[[:w 0 "2:1"]]'), (":ok", '[[:w 0 "1:1"]]'),
        (":ok", '[[:w 0 "2:1"]]'), (":invoke", "[[:r 0 nil]]"), (":ok", '[[:r 0 "2:1"]]')]


def test_cli_export_elle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "res"
    assert run_cli(["run", str(_run(tmp_path, "lww")), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0
    rc, text, _ = run_cli(["export", str(out), "--elle"], capsys)
    assert rc == 0 and "history-elle.edn" in text
    lines = (out / "history-elle.edn").read_text().splitlines()
    assert len(lines) == 2 * len(load_frames(out)["ops"]) and all(":f :txn" in x for x in lines)
    rc, _, err = run_cli(["export", str(out)], capsys)
    assert rc == 2 and "--jepsen" in err
    assert run_cli(["export", str(out), "--jepsen", "--elle"], capsys)[0] == 2


BENCH_ELLE = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_elle.py"
FAKE_ELLE = """import json, sys
for f in sys.argv[3:]:
    n = sum(1 for _ in open(f))
    print(json.dumps({"file": f, "events": n, "parse_s": 0.1, "check_wall_s": 0.5, "check_cpu_s": 0.7,
                      "valid": "true", "anomalies": {}}))
"""


def test_bench_elle_without_elle_says_so_and_exits_0() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ELLE_CMD"}
    p = subprocess.run([sys.executable, str(BENCH_ELLE)], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0 and len(p.stdout.strip().splitlines()) == 1 and "Elle" in p.stdout


def test_bench_elle_times_both_checkers_on_one_history(tmp_path: Path) -> None:
    """With a stand-in for Elle's JVM (prints the runner's JSON lines): one row per size, Elle's
    figures from the last file (the history, after the warm-up file), ours from pbs_sim.check."""
    import json
    import shlex
    import subprocess
    import sys

    fake = tmp_path / "fake_elle.py"
    fake.write_text(FAKE_ELLE)
    out = tmp_path / "elle.json"
    p = subprocess.run([sys.executable, str(BENCH_ELLE), "--elle", f"{shlex.quote(sys.executable)} {fake}",
                        "--sizes", "2000", "--out", str(out)], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1 and rows[0]["elle"]["runs"][-1]["events"] == rows[0]["events"] == 2 * rows[0]["ops"]
    assert rows[0]["ours"]["cpu_s"] > 0 and "| 2," in p.stdout
