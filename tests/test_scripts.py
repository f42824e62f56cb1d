"""Scripted workloads (issue 18, item 2): the format, its errors, the Python form, the contexts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.simulation import simulate
from pbs_sim.workload import Script, read_script, script

HEADER = "at_ms,client,op,key,value,id,context\n"
CLUSTER = {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2, "coordinator": "first-replica"}
ONE_MS = {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1}


def scenario(s: Any, **cluster: Any) -> Any:
    return scenario_from_dict({"cluster": {**CLUSTER, **cluster}, "latency": ONE_MS,
                               "workload": {"kind": "script", "script": s}})


@pytest.mark.parametrize("body,line,needle", [
    (HEADER + "0,1,delete,k,,,\n", "line 2", "unknown op 'delete'"),
    (HEADER + "5,1,write,k,a,,\n3,1,write,k,b,,\n", "line 3", "comes before the previous line's 5"),
    (HEADER + "0,1,write,k,a,,x\n1,1,read,k,,x,\n", "line 2", "'x' names line 3, which comes later"),
    (HEADER + "0,1,write,k,a,,nope\n", "line 2", "not none, last-read, last-reply or an earlier line's id"),
    ("at_ms,client,op,value\n0,1,read,\n", "line 1", "missing column key"),
    ("at_ms,client,op,key,value,colour\n0,1,read,k,,red\n", "line 1", "unknown column 'colour'"),
    (HEADER + "0,1,read,k,,,last-read\n", "line 2", "only a write carries one"),
    (HEADER + "0,1,read,k,,a,\n1,1,write,j,v,,a\n", "line 3", "is of key 'k', not 'j'"),
    (HEADER + "0,1,read,k,,a,\n1,1,read,k,,a,\n", "line 3", "already line 2's"),
    (HEADER + "x,1,read,k,,,\n", "line 2", "at_ms: expected a number"),
    (HEADER + "0,-1,read,k,,,\n", "line 2", "client: expected an integer"),
    (HEADER + "0,1,read,k,oops,,\n", "line 2", "a read writes nothing"),
    (HEADER + "0,1,read,k,,\n", "line 2", "6 fields, the header has 7"),
    ('{"at_ms": 0, "client": 1, "op": "read", "key": "k", "value": ""}\n{"at_ms": 1, "client": 1\n', "line 2",
     "not a JSON object"),
    ('{"at_ms": 0, "client": 1, "op": "read", "key": "k"}\n', "line 1", "missing column value"),
])
def test_a_bad_script_is_one_line_naming_file_line_and_reason_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, line: str, needle: str) -> None:
    from cli_in_process import run_cli

    (tmp_path / "ops.csv").write_text(body)
    f = tmp_path / "s.toml"
    f.write_text('[workload]\nkind = "script"\nscript = "ops.csv"\n[cluster]\ncoordinator = "random"\n')
    rc, out, err = run_cli(["run", str(f), "--no-progress", "--out", str(tmp_path / "out")], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert "ops.csv" in lines[0] and line in lines[0] and needle in lines[0], err
    assert out == "" and not (tmp_path / "out").exists()  # before any work


@pytest.mark.parametrize("toml,key,needle", [
    ('kind = "script"\nscript = "missing.ops"\n', "missing.ops", "script file not found"),
    ('kind = "script"\n', "workload.script", "needs the script"),
    ('kind = "open"\nscript = "ops.csv"\n', "workload.script", "only applies to workload.kind = 'script'"),
    ('kind = "script"\nscript = "ops.csv"\nwrite_pattern = "rmw"\n', "workload.write_pattern", "op = rmw"),
])
def test_bad_script_settings_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str,
                                                 key: str, needle: str) -> None:
    from cli_in_process import run_cli

    (tmp_path / "ops.csv").write_text(HEADER + "0,1,write,k,a,,\n")
    f = tmp_path / "s.toml"
    f.write_text("[workload]\n" + toml)
    rc, out, err = run_cli(["run", str(f), "--no-progress"], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and key in lines[0] and needle in lines[0], err


def test_a_coordinator_column_needs_node_coordinators_in_range() -> None:
    s = script([{"at_ms": 0, "client": 1, "op": "write", "key": "k", "value": "a", "coordinator": 3}])
    with pytest.raises(ConfigError, match="line 1: coordinator: node 3 is not in 0..2"):
        scenario(s)
    with pytest.raises(ConfigError, match="has no node coordinators"):
        scenario(s.with_coordinator(0), coordinator="client")


def test_the_python_form_and_the_file_forms_are_one_script(tmp_path: Path) -> None:
    rows = [{"at_ms": 0, "client": 1, "op": "write", "key": "cart", "value": "milk", "id": "m"},
            {"at_ms": 5, "client": 2, "op": "read", "key": "cart", "id": "r"},
            {"at_ms": 10, "client": 2, "op": "write", "key": "cart", "value": "eggs", "context": "r"}]
    py = script(rows)
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({**r, "value": r.get("value", "")}) + "\n" for r in rows))
    (tmp_path / "a.csv").write_text(HEADER + "0,1,write,cart,milk,m,\n5,2,read,cart,,r,\n10,2,write,cart,eggs,,r\n")
    for f in ("a.jsonl", "a.csv"):
        assert [(o.at_ms, o.client, o.op, o.key, o.value, o.id, o.context) for o in read_script(tmp_path / f).ops] == \
            [(o.at_ms, o.client, o.op, o.key, o.value, o.id, o.context) for o in py.ops]
    # a scenario takes the Script, the list, or the path; the same run each way
    a = simulate(scenario(py), record_ops=True).frames()["ops"]
    b = simulate(scenario(rows), record_ops=True).frames()["ops"]
    c = simulate(scenario_from_dict({"cluster": CLUSTER, "latency": ONE_MS,
                                     "workload": {"kind": "script", "script": "a.csv"}}, base_dir=tmp_path),
                 record_ops=True).frames()["ops"]
    assert a.equals(b) and a.equals(c)
    assert a["kind"].tolist() == ["write", "read", "write"] and a["issued_at"].tolist() == [0.0, 5.0, 10.0]
    assert a.loc[a["kind"] == "write", "value"].tolist() == ["milk", "eggs"]
    assert isinstance(scenario(rows).workload.script, Script)


def _run(rows: list[dict[str, Any]], **cluster: Any) -> dict[str, Any]:
    res = simulate(scenario(script(rows), **cluster), record_ops=True)
    return {k: res.history.to_frame(k) for k in res.history.tables}


def _parents(fr: dict[str, Any], table: str = "causal_parents") -> dict[int, list[int]]:
    cp = fr[table]
    return {int(o): sorted(g["parent"].tolist()) for o, g in cp.groupby("op_id")}


def test_contexts_last_read_last_reply_and_ids_carry_what_was_returned_by_then() -> None:
    """DVV, every message 1 ms. Client 1 writes a (op 0, seq 1) at 0. Client 2 reads at 5 (op 1:
    returns a) and writes b at 10 with last-read (op 2: parent a, an update of read 1; b supersedes
    a). Client 1 writes c at 20 with last-reply (the reply to a: parent a). Client 2 writes d at 30
    naming the read line (parent a, an update of read 1) and e at 31 naming b (b's reply held b
    only: parent 2). Client 3 writes f blind at 40 (no parents) and g at 40.5 with last-reply while
    f is still in flight (acknowledged at 42): no reply yet, so g is blind too."""
    rows = [
        {"at_ms": 0, "client": 1, "op": "write", "key": "k", "value": "a"},
        {"at_ms": 5, "client": 2, "op": "read", "key": "k", "id": "r"},
        {"at_ms": 10, "client": 2, "op": "write", "key": "k", "value": "b", "context": "last-read", "id": "b"},
        {"at_ms": 20, "client": 1, "op": "write", "key": "k", "value": "c", "context": "last-reply"},
        {"at_ms": 30, "client": 2, "op": "write", "key": "k", "value": "d", "context": "r"},
        {"at_ms": 31, "client": 2, "op": "write", "key": "k", "value": "e", "context": "b"},
        {"at_ms": 40, "client": 3, "op": "write", "key": "k", "value": "f"},
        {"at_ms": 40.5, "client": 3, "op": "write", "key": "k", "value": "g", "context": "last-reply"},
    ]
    fr = _run(rows, versioning="dvv")
    assert _parents(fr) == {2: [1], 3: [1], 4: [1], 5: [2]}
    assert sorted(fr["rmw_reads"][["op_id", "read_op"]].values.tolist()) == [[2, 1], [4, 1]]


def test_an_rmw_line_writes_its_own_read_and_a_failed_read_writes_nothing() -> None:
    rows = [{"at_ms": 0, "client": 1, "op": "write", "key": "k", "value": "a"},
            {"at_ms": 5, "client": 2, "op": "rmw", "key": "k", "value": "b"},
            {"at_ms": 5, "client": 3, "op": "rmw", "key": "k", "value": "c"}]
    fr = _run(rows)
    ops = fr["ops"]
    assert ops["kind"].tolist() == ["write", "read", "read", "write", "write"]
    # both rmws read a (at 5, answered at 7) and write at 7: each carries its own read, neither the other's
    assert _parents(fr) == {3: [1], 4: [1]}
    assert sorted(fr["rmw_reads"][["op_id", "read_op"]].values.tolist()) == [[3, 1], [4, 2]]


def test_two_overlapping_rmws_of_one_client_do_not_pool_their_reads() -> None:
    """Client 1's first rmw reads at 0 (answered at 2: nothing) and its second at 3 (client 2's
    write x, issued at 1, is on the replicas at 2: answered with x at 5). With rmw_gap 10 they write
    at 12 and 15. The first write's context is its own empty read -- a blind write, no parents --
    although its session had read x by then: that knowledge is session_parents, not the context
    (the old per-session context credited u1 with x)."""
    rows = [{"at_ms": 0, "client": 1, "op": "rmw", "key": "k", "value": "u1"},
            {"at_ms": 1, "client": 2, "op": "write", "key": "k", "value": "x"},
            {"at_ms": 3, "client": 1, "op": "rmw", "key": "k", "value": "u2"}]
    res = simulate(scenario_from_dict({"cluster": CLUSTER, "latency": ONE_MS,
                                       "workload": {"kind": "script", "script": script(rows),
                                                    "rmw_gap": "constant(10)"}}), record_ops=True)
    fr = {k: res.history.to_frame(k) for k in res.history.tables}
    ops = res.frames()["ops"]
    w = ops[ops["kind"] == "write"].set_index("value")
    u1, u2, x = (int(w.loc[v, "op_id"]) for v in ("u1", "u2", "x"))
    cp = _parents(fr)
    assert u1 not in cp and cp[u2] == [int(w.loc["x", "version"])]
    assert _parents(fr, "session_parents")[u1] == [int(w.loc["x", "version"])]
    assert x not in cp


@pytest.mark.parametrize("versioning,actor,lost", [("lww", None, 1), ("dvv", None, 0), ("vv", "client", 0),
                                                   ("vv", "node-naive", 1)])
def test_two_concurrent_updates_through_one_node_lose_one_under_lww_and_the_naive_vector(
        versioning: str, actor: str | None, lost: int) -> None:
    """Two clients' rmws both read nothing and write through node 0 at the same time, neither merging
    the other: LWW keeps one, so one update is lost at value level; DVV and client vectors keep both as
    siblings (nothing lost); the naive node vector gives the second the node's next counter, so it
    discards the first although it never merged it (false dominance: one lost)."""
    rows = [{"at_ms": 0, "client": 1, "op": "rmw", "key": "k", "value": "a", "coordinator": 0},
            {"at_ms": 0, "client": 2, "op": "rmw", "key": "k", "value": "b", "coordinator": 0}]
    cluster: dict[str, Any] = {"versioning": versioning}
    if actor is not None:
        cluster["vv_actor"] = actor
    s = simulate(scenario(script(rows), **cluster)).summary()
    assert s["lost_updates"] == lost and s["lost_update_fraction"] == lost / 2


def _sibling_counts(rows: list[dict[str, Any]], versioning: str, actor: str | None) -> list[int]:
    """Siblings node 0 holds 5 ms after each line (N = 3, W = R = 3, every message 1 ms)."""
    from pbs_sim.mechanisms import sim_mechanisms
    from pbs_sim.rng import Streams
    from pbs_sim.sim.build import build

    cl: dict[str, Any] = {**CLUSTER, "read_quorum": 3, "write_quorum": 3, "versioning": versioning}
    if actor is not None:
        cl["vv_actor"] = actor
    sc = scenario_from_dict({"cluster": cl, "latency": ONE_MS, "read_repair": {"mode": "off"},
                             "workload": {"kind": "script", "script": script(rows)}})
    m = build(sc, Streams(1), sim_mechanisms())
    m.start()
    counts = []
    for o in rows:
        if o["at_ms"] + 5 > m.env.now:
            m.env.run(until=o["at_ms"] + 5)
        counts.append(len(m.policy.versions(m.nodes[0].store.get(m.workload.keyspace.index("k")))))
    return counts


@pytest.mark.parametrize("versioning,actor,alternating,blind", [
    ("vv", "node", list(range(1, 9)), 5), ("dvv", None, [1] + [2] * 7, 5), ("vv", "client", [1] + [2] * 7, 5),
    ("vv", "node-naive", [1] * 8, 1)])
def test_alternating_and_blind_writers_as_scripts(versioning: str, actor: str | None, alternating: list[int],
                                                  blind: int) -> None:
    """Two clients alternate writes through node 0 every 10 ms, each carrying its own last reply:
    vnode clocks pile up one sibling a write (false concurrency), DVV and client vectors keep at most
    two, the naive node vector drops the other client's write every time (false dominance). Five
    clients write blind at the same instant through node 0: all five are siblings, except under the
    naive vector, which keeps the last."""
    alt = [{"at_ms": 10 * j, "client": 1 + j % 2, "op": "write", "key": "k", "value": f"v{j}",
            "context": "last-reply", "coordinator": 0} for j in range(8)]
    assert _sibling_counts(alt, versioning, actor) == alternating
    five = [{"at_ms": 0, "client": c, "op": "write", "key": "k", "value": f"b{c}", "coordinator": 0} for c in range(5)]
    assert _sibling_counts(five, versioning, actor)[-1] == blind
