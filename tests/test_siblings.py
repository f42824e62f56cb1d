"""Sibling policies through the simulator: exact traces (issue 11, validation 6(a) and 6(b)).

Fixed delays of 1 ms for every message; writes are scripted on a built model, so every instant,
version, sibling set and item set below is traced by hand in the docstrings.
"""

from __future__ import annotations

from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.mechanisms import sim_mechanisms
from pbs_sim.merges import item_sets
from pbs_sim.metrics import siblings as sm
from pbs_sim.rng import Streams
from pbs_sim.sim.build import Model, build


def model(versioning: str, actor: str | None = None, *, nodes: int = 1, n: int = 1, w: int = 1,
          r: int = 1, **extra: Any) -> Model:
    cluster: dict[str, Any] = {"nodes": nodes, "replication": n, "read_quorum": r, "write_quorum": w,
                               "versioning": versioning, "coordinator": "first-replica"}
    if actor is not None:
        cluster["vv_actor"] = actor
    sc = scenario_from_dict({
        "cluster": cluster,
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0},
        "read_repair": {"mode": "off"}, "anti_entropy": {"mode": "off"}, **extra,
    })
    m = build(sc, Streams(1), sim_mechanisms())
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


def finish(m: Model) -> dict[str, Any]:
    for fn in m.on_end:
        fn(m)
    return {k: m.history.to_frame(k) for k in m.history.tables}


def write(m: Model, client: int, at: float, context: Any = None) -> Any:
    """A write of key 0 by ``client`` at ``at`` through the key's first replica; ``context``: the
    state it is based on (an earlier write's ``op.returned``, a read's ``op.best``; None: blind)."""
    if at > m.env.now:
        m.env.run(until=at)
    return m.coordinators[m.ring.preference_list(0)[0]].write(client, 0, context=context)


def held(m: Model, node: int = 0) -> list[int]:
    return list(m.policy.versions(m.nodes[node].store.get(0)))


# -- 6(a): DDIA's shopping cart ---------------------------------------------------------------------
ITEMS = {1: "milk", 2: "eggs", 3: "flour", 4: "ham", 5: "bacon"}


class DDIAServer:
    """The algorithm of DDIA (Kleppmann 2017, section "Detecting Concurrent Writes", figure 5-13),
    one replica: a version number per key; a write carries the version it last received; the
    server overwrites every value with that version or lower, keeps the higher ones, and returns
    every value it now holds with the new version number."""

    def __init__(self) -> None:
        self.version = 0
        self.values: dict[int, int] = {}  # version -> write id

    def put(self, context: int, value: int) -> tuple[int, list[int]]:
        self.version += 1
        self.values = {v: x for v, x in self.values.items() if v > context}
        self.values[self.version] = value
        return self.version, sorted(self.values.values())


def test_ddia_shopping_cart_exact_trace_matches_the_hand_algorithm() -> None:
    """One replica (node 0 coordinates), DVV. Client 1 adds milk (write 1) at 0 and client 2 eggs
    (write 2) at 0: neither has seen anything. Client 1 adds flour at 10 carrying what write 1
    returned ([milk], version 1): it supersedes milk, not eggs. Client 2 adds ham at 20 carrying what
    write 2 returned ([milk], [eggs], version 2). Client 1 adds bacon at 30 carrying what write 3
    returned (version 3). Each write arrives at its replica 1 ms after issue. With union merge each
    value is the client's merge of what it knew plus its item -- DDIA's values exactly:
    [milk] [eggs] | [eggs] [milk, flour] | [milk, flour] [eggs, milk, ham] |
    [eggs, milk, ham] [milk, flour, eggs, bacon]. The dots are DDIA's version numbers."""
    m = model("dvv")
    ddia = DDIAServer()
    ctx = {1: 0, 2: 0}
    script = [(1, 0.0), (2, 0.0), (1, 10.0), (2, 20.0), (1, 30.0)]
    observed, expected, replies = [], [], []
    last: dict[int, Any] = {}
    ops = []
    for seq, (client, at) in enumerate(script, start=1):
        op = write(m, client, at, None if client not in last else last[client].returned)
        last[client] = op
        ops.append(op)
        assert op.seq == seq
        ctx[client], returned = ddia.put(ctx[client], seq)
        replies.append(returned)
        if seq == 1:  # write 2 is issued at the same instant
            continue
        m.env.run(until=at + 3)
        observed.append(held(m))
        expected.append(sorted(ddia.values.values()))
    assert observed == expected == [[1, 2], [2, 3], [3, 4], [4, 5]]
    # the state each write returns (what its client carries next: return_body) is what DDIA's server returns
    assert [list(m.policy.versions(op.returned)) for op in ops] == replies == [[1], [1, 2], [2, 3], [3, 4], [4, 5]]
    state = m.nodes[0].store[0]
    assert sorted((s.dot, s.value) for s in state) == [((0, 4), 4), ((0, 5), 5)]  # DDIA's versions 4 and 5
    frames = finish(m)
    applies = frames["applies"]
    assert list(zip(applies["at"].tolist(), applies["version"].tolist(), strict=True)) == [
        (1.0, 1), (1.0, 2), (11.0, 3), (21.0, 4), (31.0, 5)]
    pk = sm.key_parents(frames["ops"], frames)
    items = item_sets([1, 2, 3, 4, 5], pk.get(0, {}), "union")
    named = {w: sorted(ITEMS[i] for i in s) for w, s in items.items()}
    assert named == {1: ["milk"], 2: ["eggs"], 3: ["flour", "milk"], 4: ["eggs", "ham", "milk"],
                     5: ["bacon", "eggs", "flour", "milk"]}
    assert sm.lost_item_writes(frames["ops"], frames, pk, "union").empty  # the final [4, 5] hold every item
    # without a client merge the superseded siblings' items are gone: milk, eggs, flour
    assert sorted(sm.lost_item_writes(frames["ops"], frames, pk, "none")["version"]) == [1, 2, 3]
    assert sm.lost_writes(frames["ops"], frames, pk).empty
    assert sm.false_concurrency(frames["ops"], frames, pk).empty


# -- 6(b): k blind writes, alternating writers ---------------------------------------------------------
@pytest.mark.parametrize("versioning,actor,kept", [
    ("dvv", None, 5), ("vv", "client", 5), ("vv", "node", 5), ("vv", "node-naive", 1)])
def test_k_blind_concurrent_writes_through_one_coordinator(versioning: str, actor: str | None, kept: int) -> None:
    """k = 5 clients each write the key once at 0 through node 0 (N = 3, W = 3): no write knows any
    other. DVV, client vectors and vnode vectors keep all five as siblings on every replica; the
    naive node vector gives write j the node's entry j, so each dominates the one before: one
    survives and k - 1 = 4 acknowledged writes are lost (false dominance)."""
    k = 5
    m = model(versioning, actor, nodes=3, n=3, w=3, r=3)
    ops = [write(m, c, 0.0) for c in range(k)]
    m.env.run(until=10)
    assert all(op.status == 1 for op in ops)
    assert all(len(held(m, i)) == kept for i in range(3))
    frames = finish(m)
    lost = sm.lost_writes(frames["ops"], frames, sm.key_parents(frames["ops"], frames))
    assert len(lost) == k - kept
    if kept == 1:
        assert held(m) == [k] and sorted(lost["version"]) == [1, 2, 3, 4]
    # a read returns the siblings in one state
    rd = m.coordinators[0].read(9, 0)
    m.env.run(until=20)
    assert list(m.policy.versions(rd.best)) == held(m)


@pytest.mark.parametrize("versioning,actor", [("vv", "node"), ("dvv", None)])
def test_alternating_writers_through_one_node(versioning: str, actor: str | None) -> None:
    """Clients 1 and 2 alternate writes through node 0 every 10 ms (1 at 0, 2 at 10, 1 at 20, ...),
    each carrying the state its own previous write returned, never re-reading. Vnode vectors: write
    j's context never descends the set's clock (the other client's write is always newer), so it
    joins the siblings: j siblings after write j (false concurrency: write j + 2 supersedes j).
    DVV: write j + 2 discards exactly write j (its context covers j's dot): at most 2."""
    m = model(versioning, actor)
    counts = []
    last: dict[int, Any] = {}
    for j in range(8):
        c = 1 + j % 2
        last[c] = write(m, c, 10.0 * j, None if c not in last else last[c].returned)
        m.env.run(until=10.0 * j + 5)
        counts.append(len(held(m)))
    if versioning == "vv":
        assert counts == [1, 2, 3, 4, 5, 6, 7, 8]
    else:
        assert counts == [1, 2, 2, 2, 2, 2, 2, 2]
    rd = m.coordinators[0].read(9, 0)
    m.env.run(until=100)
    frames = finish(m)
    pk = sm.key_parents(frames["ops"], frames)
    fc = sm.false_concurrency(frames["ops"], frames, pk)
    assert list(m.policy.versions(rd.best)) == held(m)
    # under vnode vectors write j - 2 returned the whole set {1..j-2} to write j's client, so every
    # pair of the read's 8 siblings at least 2 apart is ordered: 1 + 2 + ... + 6 = 21 pairs
    if versioning == "vv":
        assert sorted(zip(fc["lower"], fc["upper"], strict=True)) == sorted([
            (x, y) for y in range(1, 9) for x in range(1, y - 1)])
    else:
        assert fc.empty


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body,key,needle", [
    ('[cluster]\nversioning = "crdt"\n', "cluster.versioning", "not one of"),
    ('[cluster]\nvv_actor = "client"\n', "cluster.vv_actor", "only applies to versioning = 'vv'"),
    ('[cluster]\nversioning = "dvv"\nvv_actor = "node"\n', "cluster.vv_actor", "only applies"),
    ('[workload]\nmerge = "no_such_module_xyz:merge"\n', "workload.merge", "cannot import"),
    ('[workload]\nmerge = "os.path:nothing_here"\n', "workload.merge", "cannot import"),
    ('[workload]\nmerge = "intersect"\n', "workload.merge", "module:function"),
    ('[cluster]\nmax_siblings = 0\n', "cluster.max_siblings", ">= 1"),
    ('[cluster]\nversioning = "dvv"\n[clocks]\ncausality = "off"\n', "clocks.causality", "cannot be 'off'"),
])
def test_bad_sibling_settings_are_one_line_exit_2(tmp_path: Any, capsys: pytest.CaptureFixture[str], body: str,
                                                  key: str, needle: str) -> None:
    from cli_in_process import run_cli

    f = tmp_path / "bad.toml"
    f.write_text(body)
    rc, out, err = run_cli(["run", str(f), "--no-progress"], capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and str(f) in lines[0] and key in lines[0] and needle in lines[0], err
    assert out == ""


def test_custom_merge_is_imported_and_applied() -> None:
    """``module:function`` merges: a merge keeping only the smallest sibling's items."""
    sets = item_sets([1, 2, 3], {3: [1, 2]}, "tests.test_siblings:keep_smallest")
    assert sets == {1: frozenset({1}), 2: frozenset({2}), 3: frozenset({1, 3})}


def keep_smallest(siblings: list[frozenset[int]]) -> frozenset[int]:
    return min(siblings, key=min)


def test_staleness_over_the_partial_order_counts_a_missed_concurrent_sibling() -> None:
    """Writes 1 and 2 (clients 1 and 2, blind, concurrent) both commit at 2; a read starting at 5
    returns only 2: write 1 is neither returned nor below 2, so the read is stale, one version
    behind -- although 2 is the newest seq (the total order would call it consistent). Returning
    both siblings, or 2 having 1 in its causal past, makes it consistent."""
    import pandas as pd

    from pbs_sim.metrics.staleness import read_outcomes

    ops = pd.DataFrame({
        "op_id": [0, 1, 2], "client": [1, 2, 3], "key": 0, "kind": ["write", "write", "read"],
        "coordinator": -1, "issued_at": [0.0, 0.0, 5.0], "completed_at": [2.0, 2.0, 6.0],
        "status": "ok", "version": [1, 2, 2], "issued_event": [0, 1, 4], "completed_event": [2, 3, 5],
    })
    base = read_outcomes(ops)
    assert base["consistent"].tolist() == [True]
    no_parents = {"causal_parents": pd.DataFrame({"op_id": [], "parent": []}, dtype="int64")}
    out = sm.partial_order_outcomes(base, ops, no_parents)
    assert out["consistent"].tolist() == [False] and out["versions_behind"].tolist() == [1]
    both = {**no_parents, "read_versions": pd.DataFrame({"op_id": [2, 2], "version": [1, 2]})}
    assert sm.partial_order_outcomes(base, ops, both)["consistent"].tolist() == [True]
    below = {"causal_parents": pd.DataFrame({"op_id": [1], "parent": [1]})}
    out = sm.partial_order_outcomes(base, ops, below)
    assert out["consistent"].tolist() == [True] and out["versions_behind"].tolist() == [0]


def test_fast_dvv_merge_equals_the_reference_sync() -> None:
    """SiblingPolicy's linear-time DVV merge against pbs_sim.vclock.DVV.sync on random states built
    by random puts at 3 nodes from random contexts: same siblings in the same order, and None
    exactly when the reference leaves the held state unchanged."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pbs_sim.sim.versioning import make_policy
    from pbs_sim.vclock import DVV

    ref = DVV()

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.sets(st.integers(0, 7))), min_size=1,
                    max_size=12), st.data())
    def prop(puts: list[tuple[int, int, set[int]]], data: Any) -> None:
        pol = make_policy("dvv")
        states: list[Any] = [None, None]
        made: list[Any] = []
        for node, replica, known in puts:
            ctx_state = None
            for i in sorted(known):
                if i < len(made):
                    ctx_state = made[i] if ctx_state is None else ref.sync(ctx_state, made[i])
            st_ = pol.new_version(0, len(made) + 1, 0.0, node, ctx_state)
            made.append(st_)
            held = states[replica]
            states[replica] = st_ if held is None else ref.sync(held, st_)
        a, b = states
        if a is None or b is None:
            return
        fast = pol.merge(a, b)
        slow = ref.sync(a, b)
        if pol.canonical(slow) == pol.canonical(a):
            assert fast is None
        else:
            assert fast is not None and tuple(fast) == tuple(slow)

    prop()


def test_fast_dvv_put_and_derived_facts_equal_the_reference() -> None:
    """DVVPolicy's put (``new_version``) and every fact it caches on a state (versions, newest
    version, sibling count, clock entries, digest, dominance; the context via put) against pbs_sim.vclock.DVV
    and the generic SiblingPolicy over the same clock, on random puts at 3 nodes from random
    contexts, merged into 2 replicas by both merges; asked twice (cached the second time)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pbs_sim.sim.versioning import DVVPolicy, DVVState, SiblingPolicy, make_policy
    from pbs_sim.vclock import DVV

    ref = DVV()

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.sets(st.integers(0, 7))), min_size=1,
                    max_size=12))
    def prop(puts: list[tuple[int, int, set[int]]]) -> None:
        pol = make_policy("dvv")
        assert isinstance(pol, DVVPolicy)
        slow = SiblingPolicy("dvv", ref)
        actors: dict[int, Any] = {}
        fast_rep: list[Any] = [None, None]
        slow_rep: list[Any] = [None, None]
        made: list[Any] = []
        for node, replica, known in puts:
            ctx = None
            for i in sorted(known):
                if i < len(made):
                    ctx = made[i] if ctx is None else pol.merge(ctx, made[i]) or ctx
            got = pol.new_version(0, len(made) + 1, 0.0, node, ctx)
            want = ref.put(actors.get(node, ()), () if ctx is None else ref.context(ctx), len(made) + 1,
                           node=node, client=-1)
            actors[node] = want
            assert type(got) is DVVState and tuple(got) == tuple(want)
            made.append(got)
            fast_rep[replica] = pol.merge(fast_rep[replica], got) or fast_rep[replica]
            slow_rep[replica] = slow.merge(slow_rep[replica], want) or slow_rep[replica]
            assert tuple(fast_rep[replica]) == tuple(slow_rep[replica])
        for state in (*made, *fast_rep):
            if state is None:
                continue
            plain = tuple(state)
            for _ in range(2):
                assert pol.versions(state) == slow.versions(plain)
                assert pol.version(state) == slow.version(plain)
                assert pol.siblings(state) == slow.siblings(plain)
                assert pol.entries(state) == slow.entries(plain)
                assert pol.read_facts(state) == slow.read_facts(plain)
                assert pol.digest(3, state) == slow.digest(3, plain)
        a, b = fast_rep
        if a is not None and b is not None:
            assert pol.dominates(a, b) == slow.dominates(tuple(a), tuple(b))
            assert pol.compare(b, a) == slow.compare(tuple(b), tuple(a))

    prop()


def test_read_repair_and_merkle_move_whole_sibling_sets_and_keep_concurrent_siblings() -> None:
    """DVV on 3 nodes (N = 3). Node 0 holds write 1, node 1 the concurrent write 2, node 2 nothing
    (each applied directly). A read with R = 3 at 10 gets the three states at 12 and returns both
    siblings; read repair sends the merged set, applied at 13: every replica then holds {1, 2} --
    nothing concurrent discarded. Separately, Merkle anti-entropy between replicas holding {1} and
    {1, 2} (same newest seq on one of them is not enough: the leaf digest covers the whole set)
    ends with both holding {1, 2}."""
    from pbs_sim.history import VIA_OTHER

    m = model("dvv", nodes=3, n=3, w=1, r=3, read_repair={"mode": "async", "window_ms": 100})
    pol = m.policy
    a = pol.new_version(0, 1, 0.0, 0, None, client=1)
    b = pol.new_version(0, 2, 0.0, 1, None, client=2)
    p = m.ring.preference_list(0)
    m.nodes[p[0]].apply(0, a, VIA_OTHER)
    m.nodes[p[1]].apply(0, b, VIA_OTHER)
    m.env.run(until=10)
    rd = m.coordinators[p[0]].read(5, 0)
    m.env.run(until=30)
    assert list(pol.versions(rd.best)) == [1, 2]
    assert [held(m, i) for i in range(3)] == [[1, 2]] * 3
    rp = m.history.to_frame("repairs")
    assert sorted(rp["node"].tolist()) == sorted([p[0], p[1], p[2]]) and rp["applied"].all()
    # digests differ for {1} and {1, 2}, and anti-entropy joins them
    both = pol.merge(a, b)
    assert pol.digest(0, a) != pol.digest(0, both) and pol.version(b) == pol.version(both)
    m2 = model("dvv", nodes=3, n=3, anti_entropy={"mode": "merkle", "interval": 1000, "tree_depth": 2})
    pol2 = m2.policy
    a2 = pol2.new_version(0, 1, 0.0, 0, None, client=1)
    b2 = pol2.new_version(0, 2, 0.0, 1, None, client=2)
    m2.nodes[0].apply(0, a2, VIA_OTHER)
    m2.nodes[1].apply(0, pol2.merge(a2, b2), VIA_OTHER)
    m2.nodes[2].apply(0, b2, VIA_OTHER)
    m2.env.run(until=3100)
    assert [held(m2, i) for i in range(3)] == [[1, 2]] * 3
