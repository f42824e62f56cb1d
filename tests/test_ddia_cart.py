"""experiments/ddia_cart.ops replayed under every versioning policy (issue 18, items 2, 5 and 7).

DDIA (Kleppmann 2017), figure 5-13: two clients add items to one cart, each sending back the context
of the reply to its own previous write. N = 3 on three nodes, every message 1 ms, union merge. The
expected sibling sets are DDIA's; the failures are the ones pbs_sim.vclock documents for each clock.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ddia_cart", ROOT / "experiments" / "ddia_cart.py")
assert spec is not None and spec.loader is not None
cart: Any = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cart)

DDIA = [
    [["milk"]],
    [["eggs"], ["milk"]],
    [["eggs"], ["flour", "milk"]],
    [["eggs", "ham", "milk"], ["flour", "milk"]],
    [["bacon", "eggs", "flour", "milk"], ["eggs", "ham", "milk"]],
]
#: What each write's reply returned (return_body: the acknowledging replicas' merged siblings).
DDIA_REPLIES = [
    [["milk"]],
    [["eggs"], ["milk"]],
    [["eggs"], ["flour", "milk"]],
    [["eggs", "ham", "milk"], ["flour", "milk"]],
    [["bacon", "eggs", "flour", "milk"], ["eggs", "ham", "milk"]],
]
#: Riak's vnode clocks (one clock per sibling set): flour's context descends milk's set clock only,
#: not the set's, so milk stays beside flour; every later write adds to the pile (false concurrency).
VNODE = [
    [["milk"]],
    [["eggs"], ["milk"]],
    [["eggs"], ["flour", "milk"], ["milk"]],
    [["eggs"], ["eggs", "ham", "milk"], ["flour", "milk"], ["milk"]],
    [["bacon", "eggs", "flour", "milk"], ["eggs"], ["eggs", "ham", "milk"], ["flour", "milk"], ["milk"]],
]
#: The naive node vector through one node: each blind or stale write gets the node's next counter and
#: dominates everything the node coordinated before (false dominance): eggs drops milk, flour drops
#: eggs, ham drops flour, bacon drops ham.
NAIVE_ONE_NODE = [
    [["milk"]],
    [["eggs"]],
    [["flour", "milk"]],
    [["eggs", "ham"]],
    [["bacon", "flour", "milk"]],
]


@pytest.mark.parametrize("one_coordinator", [False, True])
@pytest.mark.parametrize("policy", ["dvv", "vv-client"])
def test_dvv_and_client_vectors_reproduce_figure_5_13_exactly(policy: str, one_coordinator: bool) -> None:
    """Every intermediate sibling set, every reply and the final [milk, flour, eggs, bacon],
    [eggs, milk, ham] -- whether the two clients write through different nodes or the same one."""
    res = cart.replay(policy, one_coordinator)
    assert res["steps"] == DDIA
    assert res["replies"] == DDIA_REPLIES
    assert res["final"] == [["bacon", "eggs", "flour", "milk"], ["eggs", "ham", "milk"]]
    assert res["lost_writes"] == [] and res["false_concurrency"] == 0


@pytest.mark.parametrize("one_coordinator", [False, True])
def test_vnode_clocks_pile_up_superseded_siblings(one_coordinator: bool) -> None:
    res = cart.replay("vv-node", one_coordinator)
    assert res["steps"] == VNODE
    assert res["lost_writes"] == []


def test_naive_node_vector_is_exact_through_two_nodes_and_drops_writes_through_one() -> None:
    """Its failure needs concurrent writes coordinated by one node: through two it is exact."""
    assert cart.replay("vv-node-naive")["steps"] == DDIA
    res = cart.replay("vv-node-naive", one_coordinator=True)
    assert res["steps"] == NAIVE_ONE_NODE
    # eggs and ham are acknowledged, gone, and in the past of nothing kept (milk and flour live on
    # in bacon's value, which took them up)
    assert res["lost_writes"] == ["eggs", "ham"]


@pytest.mark.parametrize("policy", ["vv-client", "dvv"])
def test_ham_carries_milk_and_eggs_from_the_reply_to_eggs(policy: str) -> None:
    """Issue 18: the reply to client 2's blind eggs write is the coordinator's merged siblings
    ([milk], [eggs]: Riak's return_body), so ham's context -- and its causal parents -- hold both.
    (The old session context gave ham the client's own eggs only: parents [2], value [eggs, ham].)"""
    from pbs_sim.config import load_scenario
    from pbs_sim.simulation import simulate

    sc = load_scenario(cart.SPEC, cart.POLICIES[policy])
    res = simulate(sc, record_ops=True)
    fr = res.frames()
    cp = fr["causal_parents"]
    parents = {o: sorted(cp.loc[cp["op_id"] == o, "parent"].tolist()) for o in range(5)}
    assert parents == {0: [], 1: [], 2: [1], 3: [1, 2], 4: [2, 3]}
    assert fr["ops"]["value"].tolist() == ["milk", "eggs", "flour", "ham", "bacon"]
    assert sorted(fr["final_versions"]["version"].unique().tolist()) == [4, 5]
