"""The checker's fast paths against brute force (issue 11, the checker's speed).

``CausalIndex`` answers "is write x in write s's causal past?" from a window bitset, a floor (every
seq up to F(s) is in the past) or an exact search that stops where a window or floor decides; the
session pass finds each session's last write and read with one sort and inlines those tests. Both
are compared here, over random causal graphs and random histories, with the plain definitions: the
transitive closure of the parent edges, and the event-by-event session loop the checker used
before it was made fast. Small windows (1, 2, 3, 5) make every path -- bit, floor, search, and the
search's own window and floor stops -- decide some of the questions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbs_sim.checker as checker_mod
from pbs_sim import check
from pbs_sim.metrics import siblings as sib_m


def closure(parents: dict[int, list[int]], n: int) -> dict[int, set[int]]:
    past: dict[int, set[int]] = {}
    for s in range(1, n + 1):
        acc: set[int] = set()
        for p in parents.get(s, ()):
            acc |= past[p] | {p}
        past[s] = acc
    return past


@st.composite
def dags(draw: Any) -> tuple[int, dict[int, list[int]]]:
    """A key's writes 1..n, each with parents among the earlier ones: dense (read-modify-write
    chains), sparse (blind writes) or mixed, so that floors stall at some writes and not others."""
    n = draw(st.integers(1, 30))
    density = draw(st.sampled_from([0.0, 0.1, 0.4, 0.9]))
    parents: dict[int, list[int]] = {}
    for s in range(2, n + 1):
        ps = [p for p in range(1, s) if draw(st.floats(0, 1)) < density]
        if draw(st.booleans()) and s > 1:
            ps.append(s - 1)
        if ps:
            parents[s] = sorted(set(ps), reverse=draw(st.booleans()))
    return n, parents


@settings(max_examples=300, deadline=None)
@given(dags(), st.sampled_from([1, 2, 3, 5, None]))
def test_index_answers_as_the_closure(dag: tuple[int, dict[int, list[int]]], window: int | None) -> None:
    n, parents = dag
    past = closure(parents, n)
    index = sib_m.CausalIndex({0: parents}, window=window)
    floors = index.floors(0)
    for s in range(1, n + 1):
        f = floors.get(s, 0)
        assert all(x in past[s] for x in range(1, f + 1)), (s, f)  # the floor never claims too much
        if window is None:  # exact bits: the floor is the longest prefix
            assert f + 1 not in past[s] or f + 1 >= s
        for x in range(1, n + 1):
            assert index.below(0, x, s) == (x in past[s]), (x, s)


@settings(max_examples=200, deadline=None)
@given(dags(), st.sampled_from([1, 2, 3, None]), st.data())
def test_seen_is_returned_or_in_the_past(dag: tuple[int, dict[int, list[int]]], window: int | None,
                                         data: Any) -> None:
    n, parents = dag
    past = closure(parents, n)
    index = sib_m.CausalIndex({0: parents}, window=window)
    seqs = st.integers(1, n)
    for _ in range(10):
        ret = data.draw(st.sets(seqs, max_size=3))
        want = data.draw(st.sets(seqs, min_size=1, max_size=3))
        expect = all(x in ret or any(x in past[r] for r in ret) for x in want)
        assert index.seen(0, ret, want) == expect


# -- the session pass against the plain loop --------------------------------------------------------
def reference_sessions(frames: dict[str, pd.DataFrame]) -> dict[str, list[int]]:
    """The definition, event by event: each acknowledged operation's start is judged against its
    session's last acknowledged write and last read that returned something, completed before it."""
    ops = frames["ops"]
    pk = sib_m.key_parents(ops, frames)
    pasts = {k: closure(ps, int(ops.loc[ops["key"] == k, "version"].max())) for k, ps in pk.items()}
    sets = sib_m.read_sets(frames)
    out: dict[str, list[int]] = {c: [] for c in ("read_your_writes", "monotonic_reads", "monotonic_writes",
                                                 "writes_follow_reads")}

    def seen(k: int, ret: set[int], want: set[int]) -> bool:
        p = pasts.get(k, {})
        return all(x in ret or any(x in p.get(r, set()) for r in ret) for x in want)

    events = sorted([(int(o.issued_event), 0, i) for i, o in enumerate(ops.itertuples())]
                    + [(int(o.completed_event), 1, i) for i, o in enumerate(ops.itertuples())])
    last_w: dict[tuple[int, int], int] = {}
    last_r: dict[tuple[int, int], set[int]] = {}
    for _, done, i in events:
        o = ops.iloc[i]
        if o["status"] != "ok":
            continue
        ck, k, s = (int(o["client"]), int(o["key"])), int(o["key"]), int(o["version"])
        if o["kind"] == "write":
            if done:
                last_w[ck] = s
                continue
            if ck in last_w and not seen(k, {s}, {last_w[ck]}):
                out["monotonic_writes"].append(int(o["op_id"]))
            if ck in last_r and not seen(k, {s}, last_r[ck]):
                out["writes_follow_reads"].append(int(o["op_id"]))
            continue
        ret = set(sets.get(int(o["op_id"]), [s] if s > 0 else []))
        if done:
            if ret:
                last_r[ck] = ret
            continue
        if ck in last_w and not seen(k, ret, {last_w[ck]}):
            out["read_your_writes"].append(int(o["op_id"]))
        if ck in last_r and not seen(k, ret, last_r[ck]):
            out["monotonic_reads"].append(int(o["op_id"]))
    return out


@st.composite
def histories(draw: Any) -> dict[str, pd.DataFrame]:
    """Random sibling-policy histories: 1-4 clients on 1-2 keys, overlapping operations, failures
    and timeouts, reads returning any set of the key's writes, writes with any earlier parents."""
    n_ops = draw(st.integers(1, 24))
    clients = draw(st.integers(1, 4))
    keys = draw(st.integers(1, 2))
    slots = draw(st.permutations(list(range(2 * n_ops))))
    rows: list[dict[str, Any]] = []
    spans = sorted((min(slots[2 * i], slots[2 * i + 1]), max(slots[2 * i], slots[2 * i + 1])) for i in range(n_ops))
    n_w = {k: 0 for k in range(keys)}
    parents: list[tuple[int, int]] = []
    rv: list[tuple[int, int]] = []
    for i, (a, b) in enumerate(spans):  # op ids in issue order, as the simulator numbers them
        k = draw(st.integers(0, keys - 1))
        status = draw(st.sampled_from(["ok", "ok", "ok", "failed", "timeout"]))
        if draw(st.booleans()):
            n_w[k] += 1
            s = n_w[k]
            for p in draw(st.sets(st.integers(1, max(1, s - 1)), max_size=3)) if s > 1 else ():
                parents.append((i, p))
            kind = "write"
        else:
            got = sorted(draw(st.sets(st.integers(1, n_w[k]), max_size=3))) if n_w[k] else []
            s = got[-1] if got else 0
            if len(got) > 1:
                rv.extend((i, v) for v in got)
            kind = "read"
        rows.append({"op_id": i, "client": draw(st.integers(0, clients - 1)), "key": k, "kind": kind,
                     "coordinator": -1, "issued_at": float(a), "completed_at": float(b), "status": status,
                     "version": s, "issued_event": a, "completed_event": b})
    return {"ops": pd.DataFrame(rows), "causal_parents": pd.DataFrame(parents, columns=["op_id", "parent"]),
            "read_versions": pd.DataFrame(rv, columns=["op_id", "version"]),
            "sibling_settings": pd.DataFrame([{"policy": "dvv", "merge": "union", "max_siblings": 100,
                                               "siblings_warning": 25}]),
            "final_versions": pd.DataFrame(columns=["node", "key", "version"])}


@pytest.mark.parametrize("window", [1, 3, 1024])
@settings(max_examples=150, deadline=None)
@given(fr=histories())
def test_session_pass_matches_the_plain_loop(fr: dict[str, pd.DataFrame], window: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checker_mod, "WINDOW", window)
        rep = check(fr)
    expect = reference_sessions(fr)
    for name, ids in expect.items():
        f = rep.findings[name]
        assert f.count == len(ids), (name, f.examples, ids)
        assert f.examples == sorted(ids)[: checker_mod.EXAMPLES], name


def test_old_targets_are_answered_by_floor_or_search() -> None:
    """A 5,000-write chain with one blind write (seq 10) that nothing descends from: above it the
    floors stop at 9, so a question about seq 10 from far above the window takes the search; one
    about seq 5 is the floor's."""
    parents = {s: [s - 1] for s in range(2, 5001) if s not in (10, 11)}
    parents[11] = [9]
    index = sib_m.CausalIndex({0: parents}, window=64)
    assert index.floors(0)[5000] == 9
    assert index.below(0, 5, 5000) and not index.below(0, 10, 5000) and index.below(0, 11, 5000)
    assert not index.seen(0, {5000}, {10}) and index.seen(0, {5000, 10}, {10, 4})
    assert np.all([index.below(0, x, 5000) for x in range(11, 5000)])


@pytest.mark.parametrize("window", [1, 2, 1024])
@settings(max_examples=100, deadline=None)
@given(fr=histories())
def test_partial_order_staleness_matches_the_definition(fr: dict[str, pd.DataFrame], window: int) -> None:
    """versions_behind under a sibling policy: the writes committed before the read started that
    are neither returned nor in a returned version's causal past -- counted with windowed bitsets,
    floors and searches, against the closure."""
    ops = fr["ops"]
    reads = ops[(ops["kind"] == "read") & (ops["status"] == "ok")]
    outcomes = pd.DataFrame({"op_id": reads["op_id"], "key": reads["key"], "version": reads["version"],
                             "start_at": reads["issued_at"]}).reset_index(drop=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sib_m, "WINDOW", window)
        got = sib_m.partial_order_outcomes(outcomes, ops, fr)
    pk = sib_m.key_parents(ops, fr)
    sets = sib_m.read_sets(fr)
    for row in got.itertuples():
        k = int(row.key)
        past = closure(pk.get(k, {}), int(ops.loc[ops["key"] == k, "version"].max()))
        ret = set(sets.get(int(row.op_id), [int(row.version)] if row.version > 0 else []))
        cov = ret.union(*(past.get(r, set()) for r in ret))
        done = ops[(ops["kind"] == "write") & (ops["status"] == "ok") & (ops["key"] == k)
                   & (ops["completed_at"] <= row.start_at)]
        assert row.versions_behind == len(set(done["version"].tolist()) - cov), row
        assert row.consistent == (row.versions_behind == 0)
