"""Histories from real stores (issue 18, item 6): `pbs-sim check` on a Jepsen EDN history or the
JSONL / CSV history format, judged by values alone (pbs_sim.histories).

* Round trip: a simulated run's history exported (EDN jepsen.independent, JSONL, CSV; Elle's
  rw-register shape under LWW) and imported gives exactly the findings -- every flagged op id, per
  check -- that the run's own tables give (``check_run_values``), under LWW, DVV and client vectors.
* Planted histories: each value-level check, on a hand-made history of a few lines, finds exactly
  its planted violation.
* Cross-check with the version-level checker: a value-level read-your-writes or monotonic-read
  violation is one in the store's order too (derivations in the test docstrings).
* Our EDN reader agrees with edn_format on every line shape; malformed files get one line naming
  the file, the line and the reason, exit 2.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_in_process import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import pbs_sim.checker as checker_mod
from pbs_sim import check
from pbs_sim.checker import CheckReport
from pbs_sim.config import scenario_from_dict
from pbs_sim.export import history_events, write_jepsen
from pbs_sim.histories import VALUE_CHECKS, check_file, check_history, check_run_values
from pbs_sim.histories.edn import Keyword, _fallback, _parse_line
from pbs_sim.histories.versions import run_frames
from pbs_sim.simulation import simulate


def _frames(policy: str, *, offset: str | None = None, seed: int = 3, hot: str | None = None,
            pattern: str = "blind") -> dict[str, pd.DataFrame]:
    """R = W = 1 of N = 3 through random coordinators, message loss and tight timeouts: stale reads,
    read-your-writes and monotonic-read violations, timeouts (:info) and failures all occur. With
    ``hot``, two more writers write a key of that name (a string key beside the numbered ones).
    ``pattern``: the workload's write pattern (``rmw``: each write carries its own read's context)."""
    d: dict[str, Any] = {
        "cluster": {"versioning": policy, "coordinator": "random", "read_timeout_ms": 3, "write_timeout_ms": 3,
                    "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "workload": {"keys": 8, "duration_ms": 300, "rate_per_s": 2000, "read_fraction": 0.8, "clients": 6,
                     "write_pattern": pattern},
        "faults": {"message_loss": 0.05}}
    if offset is not None:
        d["clocks"] = {"offset": offset}
    if hot is not None:
        d["workload"].update(hot_key=hot, hot_key_writers_per_s=[200.0, 200.0])
    return simulate(scenario_from_dict(d), record_ops=True, seed=seed).frames()


def _csv_from_jsonl(src: Path, dst: Path) -> None:
    """The same history in the CSV form: a read's siblings joined by '|', nothing as an empty field."""
    with src.open() as fh, dst.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["process", "client", "type", "f", "key", "value", "time", "op_id"])
        for line in fh:
            r = json.loads(line)
            v = r["value"]
            v = "" if v is None else "|".join(map(str, v)) if isinstance(v, list) else v
            w.writerow([r["process"], r["client"], r["type"], r["f"], r["key"], v, r["time"], r["op_id"]])


# -- round trip ----------------------------------------------------------------------------------
@pytest.mark.parametrize("policy,offset,hot", [("lww", "normal(0, 50)", None), ("dvv", None, None),
                                               ("vv-client", None, None), ("dvv", None, 'cart "x"')])
def test_export_then_import_gives_the_same_findings(tmp_path: Path, policy: str, offset: str | None,
                                                    hot: str | None) -> None:
    fr = _frames(policy, offset=offset, hot=hot)
    if hot is not None:
        assert any(e.key == hot for e in history_events(fr))  # the string key is in the history
    direct = check_run_values(fr)
    counts = direct.counts()
    # the history exercises the checks: a round trip of empty findings would prove nothing
    assert counts["stale_reads"] > 0 and counts["read_your_writes"] > 0 and counts["monotonic_reads"] > 0, counts
    if policy == "lww":
        assert counts["lost_writes"] > 0, counts  # skewed LWW clocks drop later writes
    shapes = [("edn", {}), ("jsonl", {"jsonl": True})]
    if policy == "lww":  # Elle's shape keeps one value a read (the newest sibling): exact where reads return one
        shapes.append(("elle.edn", {"elle": True}))
    for suffix, how in shapes:
        path = tmp_path / f"h.{suffix}"
        write_jepsen(fr, path, **how)
        rep = check_file(path)
        assert rep.findings == direct.findings, (suffix, rep.counts(), counts)
        assert (rep.ops, rep.reads, rep.writes) == (direct.ops, direct.reads, direct.writes)
        assert rep.refs == "ops"
    _csv_from_jsonl(tmp_path / "h.jsonl", tmp_path / "h.csv")
    assert check_file(tmp_path / "h.csv").findings == direct.findings


def test_cli_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pbs-sim export --jsonl` / `--jepsen` then `pbs-sim check FILE` reports what
    `pbs-sim check RUN --values` reports on the run."""
    toml = tmp_path / "s.toml"
    toml.write_text('[cluster]\nnodes = 3\nversioning = "dvv"\ncoordinator = "random"\nread_quorum = 1\n'
                    'write_quorum = 1\n[workload]\nkeys = 4\nduration_ms = 200\nrate_per_s = 2000\n'
                    'read_fraction = 0.7\nclients = 4\n[faults]\nmessage_loss = 0.1\n')
    out = tmp_path / "res"
    assert run_cli(["run", str(toml), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0
    rc, text, err = run_cli(["check", str(out), "--values", "--json"], capsys)
    assert rc == 0, err
    want = json.loads(text)["checks"]
    for flag, name in (("--jsonl", "history.jsonl"), ("--jepsen", "history.edn")):
        assert run_cli(["export", str(out), flag], capsys)[0] == 0
        rc, text, err = run_cli(["check", str(out / name), "--json"], capsys)
        assert rc == 0, err
        got = json.loads(text)
        assert got["checks"] == want and got["judged_by"] == "values"
        assert "non_concurrent_siblings" in got["skipped"] and "causal_violations" in got["skipped"]


@pytest.mark.parametrize("policy,offset,hot,pattern", [
    ("lww", "normal(0, 50)", None, "blind"), ("dvv", None, None, "blind"), ("vv-client", None, None, "blind"),
    ("vv-node-naive", None, None, "blind"), ("vv-node", None, None, "rmw"), ("dvv", None, None, "rmw"),
    ("dvv", None, "cart", "blind"), ("lww", "normal(0, 50)", "cart", "blind")])
def test_export_with_versions_then_import_gives_the_runs_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  policy: str, offset: str | None,
                                                                  hot: str | None, pattern: str) -> None:
    """A history exported with its version metadata (--versions) is checked as its run is: the same
    policy, promises and every flagged op id of every version-level check, in each export shape.
    The flawed vector policies break their promises in the file as in the run. vv-node's is ordered
    siblings, which needs writes that carry contexts (read-modify-writes): a blind write carries none,
    so blind siblings are concurrent under every policy and pile up under DVV as under vnode clocks;
    the rmw cases also carry ``causal_parents`` and ``rmw_reads`` through the file."""
    monkeypatch.setattr(checker_mod, "EXAMPLES", 10**9)
    fr = _frames(policy, offset=offset, hot=hot, pattern=pattern)
    if pattern == "rmw":
        assert len(fr["causal_parents"]) and len(fr["rmw_reads"])
    want = check(fr)
    flagged = {k: f.examples for k, f in want.findings.items()}
    assert sum(map(len, flagged.values())) > 0
    for suffix, how in (("edn", {}), ("elle.edn", {"elle": True}), ("jsonl", {"jsonl": True})):
        path = tmp_path / f"h.{suffix}"
        write_jepsen(fr, path, versions=True, **how)
        # both tables of the true order come back row for row: the carried contexts and what each
        # writing session knew otherwise (LWW losses and concurrent pairs read their union)
        back = run_frames(path)
        for name in ("causal_parents", "session_parents"):
            assert (name in back) == (name in fr), (suffix, name)
            if name in fr:
                assert sorted(back[name][["op_id", "parent"]].itertuples(index=False, name=None)) == \
                    sorted(fr[name][["op_id", "parent"]].itertuples(index=False, name=None)), (suffix, name)
        got = check_history(path)
        assert isinstance(got, CheckReport), suffix
        assert (got.policy, got.ops, got.promised, got.ok) == (want.policy, want.ops, want.promised, want.ok), suffix
        assert {k: f.examples for k, f in got.findings.items()} == flagged, suffix
        # the same file judged by values alone: what a history without the metadata gets (Elle's
        # shape keeps one value a read, so only where reads return one)
        if not how.get("elle") or policy == "lww":
            assert check_history(path, values=True).findings == check_run_values(fr).findings, suffix
    assert want.ok == (policy not in ("vv-node-naive", "vv-node"))


def test_cli_export_versions_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pbs-sim export --versions` then `pbs-sim check FILE` prints the report `pbs-sim check RUN`
    prints (every line but the timing), with its exit status: vnode vectors' ordered siblings fail.
    A hot key named "cart" writes a string key into the run's tables and the files."""
    toml = tmp_path / "s.toml"
    toml.write_text('[cluster]\nnodes = 3\nversioning = "vv"\nvv_actor = "node"\ncoordinator = "random"\n'
                    '[workload]\nkeys = 3\nduration_ms = 200\nrate_per_s = 2000\nread_fraction = 0.5\n'
                    'write_pattern = "rmw"\nclients = 10\nwarmup_ms = 0\nhot_key = "cart"\n'
                    'hot_key_writers_per_s = [300.0]\n')
    out = tmp_path / "res"
    assert run_cli(["run", str(toml), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0
    rc, want, _ = run_cli(["check", str(out)], capsys)
    assert rc == 1
    for flag, name in (("--jepsen", "history.edn"), ("--elle", "history-elle.edn"), ("--jsonl", "history.jsonl")):
        assert run_cli(["export", str(out), flag, "--versions"], capsys)[0] == 0
        assert '"cart"' in (out / name).read_text()
        rc, got, err = run_cli(["check", str(out / name)], capsys)
        assert rc == 1, err
        assert got.splitlines()[1:] == want.splitlines()[1:], name
    # a run directory holding its exports is still the run's: a new run may replace it
    assert run_cli(["run", str(toml), "--ops", "--out", str(out), "--no-progress"], capsys)[0] == 0


# -- the version-level checker as a cross-check --------------------------------------------------------
@pytest.mark.parametrize("policy,offset", [("lww", None), ("dvv", None), ("dvv", "normal(0, 50)")])
def test_value_violations_are_violations_in_the_store_order(monkeypatch: pytest.MonkeyPatch, policy: str,
                                                            offset: str | None) -> None:
    """A value-level read-your-writes violation returns only values x whose writes completed before
    the session's own write w was invoked. Under DVV x's context -- the one it carried, its own
    read's, fixed when x was issued -- was fixed before w existed, so w is neither returned nor in a
    returned version's causal past: a violation in the causal order, with any clocks. Under LWW with
    perfect clocks x was stamped before x completed and w after w was invoked, so x ranks below w:
    a violation in the store's order. So each value-level read-your-writes finding must be a
    version-level one; the converse need not hold (concurrent writes).
    Monotonic reads: a value-level violation r returns only values older than a value y an earlier
    read r0 of its session returned. LWW's version level compares r with the highest rank of every
    earlier read (y's among them): the same argument makes r a version-level violation. Under sibling
    policies the version level compares r with the session's last read only; if neither r nor any
    read of the session between r0 and r is flagged, each saw all its predecessor saw and r sees y,
    which the argument above rules out. So r is flagged, or an earlier read of its session is.
    Likewise a value-level stale read misses a write committed before it started that no returned
    version has below it: it is inconsistent by the simulator's own t-visibility definition (the
    ``reads`` table, measured reads). The writers read-modify-write: blind writes carry no context,
    so under DVV their siblings pile up and a read after the warm-up returns nearly every version
    (no stale read to compare)."""
    monkeypatch.setattr(checker_mod, "EXAMPLES", 10**9)  # every flagged op, not ten examples
    fr = _frames(policy, offset=offset, pattern="rmw")
    by_value = check_run_values(fr)
    by_version = check(fr)
    ops = fr["ops"]
    for name in ("read_your_writes", "monotonic_reads"):
        v = set(by_value.findings[name])
        mine = set(by_version.findings[name].examples)
        assert v, name
        rest = v - mine
        if name == "monotonic_reads" and policy != "lww":
            flagged = ops[ops["op_id"].isin(list(mine))]
            rest = {o for o in rest if not (
                (flagged["client"] == ops.at[o, "client"]) & (flagged["key"] == ops.at[o, "key"])
                & (flagged["completed_event"] < ops.at[o, "issued_event"])).any()}
        assert not rest, (name, sorted(rest))
    reads = fr["reads"]
    stale = set(by_value.findings["stale_reads"]) & set(reads["op_id"])
    assert stale and stale <= set(reads.loc[~reads["consistent"], "op_id"])


# -- planted histories ----------------------------------------------------------------------------------
def _history(tmp_path: Path, rows: list[tuple[Any, ...]], name: str = "h.jsonl") -> Path:
    """rows: (process, type, f, key, value); time = 10 x line; the client is the process."""
    path = tmp_path / name
    path.write_text("".join(json.dumps({"process": p, "type": t, "f": f, "key": k, "value": v, "time": 10 * i})
                            + "\n" for i, (p, t, f, k, v) in enumerate(rows)))
    return path


def _found(path: Path) -> dict[str, list[int]]:
    rep = check_file(path)
    assert rep.refs == "lines"
    return {k: v for k, v in rep.findings.items() if v}


def W(p: Any, v: Any, k: str = "x", t: str = "ok") -> list[tuple[Any, ...]]:
    return [(p, "invoke", "write", k, v), (p, t, "write", k, v)]


def R(p: Any, vals: Any, k: str = "x") -> list[tuple[Any, ...]]:
    return [(p, "invoke", "read", k, None), (p, "ok", "read", k, vals)]


def test_planted_stale_read(tmp_path: Path) -> None:
    """a writes 1 then 2; b then reads 1 (line 5): behind the acknowledged 2, not b's own write, and
    b had read nothing before. A later read of 2 makes it no lost write."""
    h = _history(tmp_path, [*W("a", 1), *W("a", 2), *R("b", 1), *R("b", 2)])
    assert _found(h) == {"stale_reads": [5]}


def test_planted_read_your_writes(tmp_path: Path) -> None:
    h = _history(tmp_path, [*W("a", 1), *R("a", None), *R("a", [1])])
    assert _found(h) == {"stale_reads": [3], "read_your_writes": [3]}


def test_planted_monotonic_read(tmp_path: Path) -> None:
    """a writes 1, then 2; c writes 3 concurrently with both (invoked first, completed last);
    b reads 2, then 1: behind the 2 it read. b's next read of 3 ends the history: nothing lost."""
    rows = [("c", "invoke", "write", "x", 3), *W("a", 1), *W("a", 2), *R("b", 2), *R("b", 1),
            ("c", "ok", "write", "x", 3), *R("b", [3])]
    h = _history(tmp_path, rows)
    assert _found(h) == {"stale_reads": [8], "monotonic_reads": [8]}


def test_planted_lost_write(tmp_path: Path) -> None:
    """a writes 1, b writes 2 after it; every final read returns 1: write 2 (line 3) is lost."""
    h = _history(tmp_path, [*W("a", 1), *W("b", 2), *R("c", 1), *R("a", [1])])
    assert _found(h) == {"stale_reads": [5, 7], "lost_writes": [3]}


def test_concurrent_overwrite_is_not_lost_and_siblings_are_not_stale(tmp_path: Path) -> None:
    """Overlapping writes 1 and 2 (LWW may keep either): a final read of 1 loses nothing it can
    show. A read returning siblings [1 2] is not behind anything."""
    rows = [("a", "invoke", "write", "x", 1), ("b", "invoke", "write", "x", 2), ("b", "ok", "write", "x", 2),
            ("a", "ok", "write", "x", 1), *R("c", [1]), *R("c", [2, 1])]
    assert _found(_history(tmp_path, rows)) == {}


def test_planted_aborted_and_garbage_reads(tmp_path: Path) -> None:
    """A :fail write's 9 is read (line 3); 7 is never written (line 5); 5 is read before the write
    of 5 is invoked (line 7, a future read). A timed-out write's 4 may take effect: reading it is fine."""
    rows = [*W("a", 9, t="fail"), *R("b", 9), *R("b", 7), *R("b", 5), *W("a", 5), *W("d", 4, t="info"),
            *R("b", [4, 5])]
    assert _found(_history(tmp_path, rows)) == {"aborted_reads": [3], "garbage_reads": [5, 7]}


def test_a_value_written_twice_skips_its_key(tmp_path: Path) -> None:
    rows = [*W("a", 1), *W("a", 2), *W("a", 1), *R("b", 1), *W("a", 1, k="y"), *W("a", 2, k="y"),
            *R("b", 1, k="y")]
    rep = check_file(_history(tmp_path, rows))
    assert {k: v for k, v in rep.findings.items() if v} == {"stale_reads": [13], "lost_writes": [11]}
    assert any("written twice" in n for n in rep.notes)


def test_pending_and_info_ops(tmp_path: Path) -> None:
    """An invocation never completed is indeterminate (like :info): its value may be read any time
    later, and a read of the older 1 beside it is not stale, nor is 1 or 2 lost."""
    rows = [*W("a", 1), ("a", "invoke", "write", "x", 2), *R("b", [1]), *R("b", [2])]
    rep = check_file(_history(tmp_path, rows))
    assert {k: v for k, v in rep.findings.items() if v} == {}
    assert rep.ops == 4


# -- formats ------------------------------------------------------------------------------------------------
JEPSEN_STYLE = """\
[{:type :invoke, :f :txn, :value [[:w 2 1]], :time 3291485317, :process 0, :index 0}
 {:type :invoke, :f :txn, :value [[:r 2 nil] [:w 3 1]], :time 3296209422, :process 2, :index 1}
 {:type :info, :f :start-partition, :value nil, :process :nemesis, :time 3300000000, :index 2}
 {:type :fail, :f :txn, :value [[:r 2 nil] [:w 3 1]], :time 3565403674, :process 2, :index 3, :error [:duplicate-key "etcd, said: \\"no\\""]}
 {:type :ok, :f :txn, :value [[:w 2 1]], :time 3767733708, :process 0, :index 4}
 {:type :invoke, :f :txn, :value [[:r 2 nil]], :time 3800000000, :process 2, :index 5}
 {:type :ok, :f :txn, :value [[:r 2 1]], :time 3900000000, :process 2, :index 6}]
"""


def test_jepsen_vector_of_transactions_with_a_nemesis(tmp_path: Path) -> None:
    """The shape jepsen.history's README prints: one vector, a map a line, Elle rw-register
    transactions of several micro-ops, an :error, a :nemesis line (skipped)."""
    p = tmp_path / "history.edn"
    p.write_text(JEPSEN_STYLE)
    rep = check_file(p)
    assert (rep.ops, rep.reads, rep.writes) == (4, 2, 2) and not any(rep.findings.values())
    assert rep.refs == "lines"


def test_independent_shape_with_scalar_reads(tmp_path: Path) -> None:
    """jepsen.independent as Jepsen's register tests write it: a read completes with one value."""
    p = tmp_path / "h.edn"
    p.write_text('{:type :invoke, :f :write, :value ["k" 1], :process 0}\n{:type :ok, :f :write, :value ["k" 1], '
                 ':process 0}\n{:type :invoke, :f :write, :value ["k" 2], :process 0}\n{:type :ok, :f :write, '
                 ':value ["k" 2], :process 0}\n{:type :invoke, :f :read, :value ["k" nil], :process 1}\n'
                 '{:type :ok, :f :read, :value ["k" 1], :process 1}\n')
    assert {k: v for k, v in check_file(p).findings.items() if v} == {"stale_reads": [5], "lost_writes": [3]}


EDN_SAMPLES = [
    '{:type :ok, :f :read, :value [3 [1 2]], :process 4, :time 12, :index 7, :client 2, :op-id 9}',
    '{:type :ok, :f :txn, :value [[:r "cart" "milk"] [:w :k2 -3]], :process 0}',
    '{:a "q\\"uote\\\\ \\n", :b #{1 2}, :c (1 2.5 -3e2), :d nil, :e true, :f false, :g sym/bol, :h \\c}',
    '{:a #_ :ignored 1, :b [#_ [x] 2]} ; a comment',
    '{:x 12N, :y 1.5M, :z :ns/kw}',
]


@pytest.mark.parametrize("line", EDN_SAMPLES)
def test_our_edn_reader_agrees_with_edn_format(line: str) -> None:
    """Our reader reads these itself (no fallback: _parse_line raises where it would fall back)
    and gets what edn_format gets."""
    assert _parse_line(line) == _fallback(line)


@pytest.mark.parametrize("versions", [False, True])
def test_our_edn_reader_agrees_on_exported_lines(versions: bool) -> None:
    """Every exported line is read by our reader (a fallback to edn_format would cost 0.4 ms a
    line), and a sample agrees with edn_format."""
    from pbs_sim.export import elle_lines, jepsen_lines

    fr = _frames("dvv", seed=5)
    for lines in (jepsen_lines(fr, versions=versions), elle_lines(fr, versions=versions)):
        for i, line in enumerate(lines):
            if line.startswith(";"):
                line = line.split(" ", 1)[1]
            got = _parse_line(line)
            if i % 29 == 0:  # edn_format: 0.4 ms a line
                assert got == _fallback(line), line


@pytest.mark.parametrize("text,line,reason", [
    ('{:type :invoke, :f :read, :value [1 nil], :process 0}\n{:type :ok, :f :read\n', 2, "not EDN"),
    ('{:type :invoke, :f :read, :value [1 nil], :process 0}\n\n[1 2]\n', 3, "a vector; expected an operation map"),
    ('{:type :done, :f :read, :value [1 nil], :process 0}\n', 1, ":type :done"),
    ('{:type :invoke, :f :cas, :value [1 [2 3]], :process 0}\n', 1, ":f :cas"),
    ('{:type :invoke, :f :txn, :value [[:append 1 2]], :process 0}\n', 1, "list-append"),
    ('{:type :invoke, :f :write, :value 5, :process 0}\n', 1, "jepsen.independent tuple"),
    ('{:type :ok, :f :write, :value [1 5], :process 0}\n', 1, "no operation outstanding"),
    ('{:type :invoke, :f :write, :value [1 5], :process 0}\n{:type :invoke, :f :read, :value [1 nil], '
     ':process 0}\n', 2, "outstanding"),
    ('{:type :invoke, :f :write, :value [1 5], :process 0}\n{:type :ok, :f :read, :value [1 nil], :process 0}\n',
     2, "invoked write"),
    ('{:type :invoke, :f :write, :value [1 5], :process 0, :index 4}\n{:type :ok, :f :write, :value [1 5], '
     ':process 0, :index 4}\n', 2, ":index 4 after 4"),
    ('{:type :invoke, :f :write, :value [1 5]}\n', 1, "no :process"),
    ('{:type :invoke, :f :write, :value [1 5], :process 0} {:type :ok}\n', 1, "2 forms"),
    ('[{:type :invoke, :f :write, :value [1 5], :process 0}\n', 1, "not closed"),
    ('{:type :invoke, :f :write, :value [1 5], :process 0}\n{:a "\xff"}\n', 2, "UTF-8"),
])
def test_malformed_edn_is_one_line_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                   line: int, reason: str) -> None:
    p = tmp_path / "bad.edn"
    p.write_bytes(text.encode("utf-8").replace("\xff".encode(), b"\xff"))
    code, out, err = run_cli(["check", str(p)], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and not out, (code, out, err)
    assert lines[0].startswith(f"pbs-sim: error: {p}: line {line}: "), lines[0]
    assert reason in lines[0], lines[0]


@pytest.mark.parametrize("name,text,needle", [
    ("h.jsonl", '{"process": 0, "type": "invoke", "f": "read", "key": "k", "value": null, "time": 5}\n{"process"',
     "line 2: not JSON"),
    ("h.jsonl", '{"process": 0, "type": "invoke", "f": "read", "key": "k", "time": 5}\n'
                '{"process": 0, "type": "ok", "f": "read", "key": "k", "value": null, "time": 4}\n',
     "line 2: time 4 is before the previous line's 5"),
    ("h.jsonl", '{"process": 0, "type": "invoke", "f": "delete", "key": "k", "time": 5}\n', "line 1: f 'delete'"),
    ("h.jsonl", '{"process": 0, "type": "invoke", "f": "write", "key": "k", "time": 5}\n', "line 1: a write's value"),
    ("h.jsonl", '{"type": "invoke", "f": "read", "key": "k", "time": 5}\n', "line 1: no 'process'"),
    ("h.csv", "process,type,f,key,time\n0,invoke,read,k,5\n", "value: missing column"),
    ("h.csv", "process,type,f,key,value,time\n0,invoke,read,k,,5\n0,ok,read\n", "line 3: 6 fields expected"),
    ("h.csv", "op_id,client,key,kind,issued_at,issued_event\n", "a run's ops table"),
    ("h.txt", "", "unknown history format '.txt'"),
])
def test_malformed_tabular_history(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str,
                                   needle: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    code, out, err = run_cli(["check", str(p)], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, out, err)
    assert f"{p}: {needle}" in lines[0], lines[0]


def test_cli_on_a_history_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report lists every value check and names the skipped version checks with their reason;
    no check is promised unless required, and a required one that finds something exits 1."""
    h = _history(tmp_path, [*W("a", 1), *W("b", 2), *R("c", 1), *R("a", [1])])
    code, out, err = run_cli(["check", str(h)], capsys)
    assert code == 0, err
    for name in VALUE_CHECKS:
        assert name in out
    assert "skipped" in out and "non_concurrent_siblings" in out and "needs the causal order" in out
    assert "monotonic_writes" in out and "writes_follow_reads" in out
    assert run_cli(["check", str(h), "--require", "lost_writes"], capsys)[0] == 1
    assert run_cli(["check", str(h), "--require", "monotonic_reads"], capsys)[0] == 0
    code, _, err = run_cli(["check", str(h), "--require", "non_concurrent_siblings"], capsys)
    assert code == 2 and "needs the causal order" in err
    code, _, err = run_cli(["check", str(tmp_path / "none.edn")], capsys)
    assert code == 2 and "no such history file" in err


def test_history_events_are_what_the_exports_write() -> None:
    """The one event stream: every op an invocation and a completion, op ids and clients kept."""
    fr = _frames("lww", seed=7)
    evs = list(history_events(fr))
    assert len(evs) == 2 * len(fr["ops"])
    assert sorted(e.op_id for e in evs if not e.done) == list(range(len(fr["ops"])))


@pytest.mark.parametrize("damage,needle", [
    ("truncate_lines", "never completes (a truncated file?)"),
    ("truncate_mid_line", "not EDN"),
    ("invoke_twice", "invoked twice"),
    ("bad_version", "version metadata missing or not a number"),
])
def test_damaged_history_with_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str,
                                       needle: str) -> None:
    """A history exported with --versions and then cut or edited: one line naming the line (where
    there is one) and the reason, exit 2, before any report."""
    fr = _frames("dvv", seed=11)
    path = tmp_path / "h.edn"
    write_jepsen(fr, path, versions=True)
    lines = path.read_text().splitlines()
    ops_lines = [i for i, x in enumerate(lines) if x.startswith("{")]
    if damage == "truncate_lines":
        lines = lines[:ops_lines[len(ops_lines) // 2]]
        while lines and ":type :invoke" not in lines[-1]:
            lines.pop()
    elif damage == "truncate_mid_line":
        lines = [*lines[:ops_lines[10]], lines[ops_lines[10]][:40]]
    elif damage == "invoke_twice":
        lines.insert(ops_lines[3], lines[ops_lines[0]])
    else:
        i = next(i for i in ops_lines if ":type :ok" in lines[i])
        lines[i] = lines[i].replace(":version ", ":version x")
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(["check", str(path)], capsys)
    one = err.strip().splitlines()
    assert code == 2 and len(one) == 1 and not out and "Traceback" not in err, (code, out, err)
    assert one[0].startswith(f"pbs-sim: error: {path}: ") and needle in one[0], one[0]


def test_the_documented_example_history(tmp_path: Path) -> None:
    """docs/design.md's JSONL example reads as documented: two overlapping writes and a final read
    returning both as siblings -- nothing stale, nothing lost; with a later read of milk alone by
    process 0, eggs (line 2) is not lost either (the writes overlapped), but a read of nothing is
    stale and loses both."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text()
    section = text[text.index("## History files"):]
    block = section.split("```")[1].strip()
    path = tmp_path / "cart.jsonl"
    path.write_text(block + "\n")
    rep = check_file(path)
    assert (rep.ops, rep.reads, rep.writes) == (3, 1, 2)
    assert not any(rep.findings.values()) and rep.refs == "lines"
    more = [json.dumps({"process": 0, "type": t, "f": "read", "key": "cart", "value": v, "time": 3000000 + i})
            for i, (t, v) in enumerate([("invoke", None), ("ok", ["milk"])])]
    path.write_text(block + "\n" + "\n".join(more) + "\n")
    assert not any(check_file(path).findings.values())
    path.write_text(block.replace('["milk", "eggs"]', "[]") + "\n")
    assert {k: v for k, v in check_file(path).findings.items() if v} == {"stale_reads": [5], "lost_writes": [1, 2]}


# -- our EDN reader against edn_format on generated forms ----------------------------------------------
def _edn_text(x: Any) -> str:
    if x is None:
        return "nil"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, Keyword):
        return f":{x}"
    if isinstance(x, str):
        return json.dumps(x, ensure_ascii=False)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, tuple):  # a map, as (key, value) pairs
        return "{" + ", ".join(f"{_edn_text(k)} {_edn_text(v)}" for k, v in x) + "}"
    return "[" + " ".join(_edn_text(v) for v in x) + "]"


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                     st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
                     st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True).map(Keyword))
_forms = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.lists(st.tuples(st.from_regex(r"[a-z][a-z-]{0,5}", fullmatch=True).map(Keyword), inner), max_size=4,
             unique_by=lambda kv: str(kv[0])).map(tuple)), max_leaves=12)


@given(_forms)
@settings(max_examples=150, deadline=None)
def test_our_edn_reader_agrees_with_edn_format_on_generated_forms(form: Any) -> None:
    """Nested maps, vectors, keywords, strings (any non-surrogate character, escapes included),
    integers, nil and booleans, printed as EDN: our reader reads them itself, as edn_format does."""
    line = _edn_text(form)
    assert _parse_line(line) == _fallback(line), line
