"""Driver for experiments/ddia_cart.ops: replay DDIA's shopping cart (figure 5-13) under every
versioning policy, with the two clients through different coordinators (the file's coordinator
column) and through one node, and print every sibling set the replicas hold after each write.

``replay(policy, one_coordinator=False)`` returns, per script line, the sibling sets every replica
holds once that write has reached them (a sorted list of item lists; the same on every replica, or
the replicas' differing sets), plus the final sets. Values: with ``workload.merge = "union"`` a
version's items are its own and every item of the versions its context held (``pbs_sim.merges``),
named by the script's values. tests/test_ddia_cart.py checks each set against DDIA.

What comes out (docs/validation.md): ``dvv`` and ``vv-client`` reproduce DDIA's five sets exactly
in both arrangements; ``vv-node`` (Riak's vnode clocks, one clock per sibling set) keeps superseded
siblings (milk after flour; five siblings at the end: false concurrency, "sibling explosion");
``vv-node-naive`` is exact through two coordinators, but through one it gives each concurrent blind
write the node's next counter, so eggs drops milk and every later write drops what it never saw
(false dominance: one sibling, [milk, flour, bacon], at the end).

Usage: ``python experiments/ddia_cart.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC = HERE / "ddia_cart.toml"
POLICIES: dict[str, dict[str, Any]] = {
    "dvv": {"cluster.versioning": "dvv"},
    "vv-client": {"cluster.versioning": "vv", "cluster.vv_actor": "client"},
    "vv-node": {"cluster.versioning": "vv", "cluster.vv_actor": "node"},
    "vv-node-naive": {"cluster.versioning": "vv", "cluster.vv_actor": "node-naive"},
}
#: DDIA figure 5-13: the sibling sets after each of the five writes.
DDIA = [
    [["milk"]],
    [["eggs"], ["milk"]],
    [["eggs"], ["flour", "milk"]],
    [["eggs", "ham", "milk"], ["flour", "milk"]],
    [["bacon", "eggs", "flour", "milk"], ["eggs", "ham", "milk"]],
]


def replay(policy: str, one_coordinator: bool = False) -> dict[str, Any]:
    """Run the cart under ``policy``; ``one_coordinator``: every write through node 0.

    Returns ``{"steps": [sets after line 1, ...], "final": sets, "replies": [the sets each write's
    reply returned], "lost_writes": the values of acknowledged writes nothing kept descends from,
    "false_concurrency": ordered sibling pairs reads returned}``; a "sets" value is the sorted list
    of sorted item lists (one per sibling), or, where replicas differ, the list of each replica's."""
    from pbs_sim.config import load_scenario
    from pbs_sim.keys import write_values
    from pbs_sim.mechanisms import sim_mechanisms
    from pbs_sim.merges import item_sets
    from pbs_sim.metrics import siblings as sm
    from pbs_sim.rng import Streams
    from pbs_sim.sim.build import build

    sc = load_scenario(SPEC, POLICIES[policy])
    if one_coordinator:
        from dataclasses import replace

        assert sc.workload.script is not None
        sc = replace(sc, workload=replace(sc.workload, script=sc.workload.script.with_coordinator(0)))
    m = build(sc, Streams(sc.run.seed), sim_mechanisms())
    m.start()
    wl = m.workload
    lines = sc.workload.script.ops if sc.workload.script is not None else ()
    held: list[list[tuple[int, ...]]] = []
    for i, line in enumerate(lines):
        # every message takes 1 ms: a write is on every replica 1 ms after it is issued, and the next
        # line's write 1 ms after that line (eggs, the second, is issued 1 ms after milk)
        m.env.run(until=line.at_ms + 1.5)
        held.append([tuple(m.policy.versions(n.store.get(wl._keys[i]))) for n in m.nodes])  # noqa: SLF001
    m.run()
    replies = [tuple(m.policy.versions(op.returned)) for op in wl.issued_ops]  # type: ignore[attr-defined]
    frames = {k: m.history.to_frame(k) for k in m.history.tables}
    ops = frames["ops"]
    pk = sm.key_parents(ops, frames)
    key = wl._keys[0] if lines else 0  # noqa: SLF001
    seqs = ops.loc[ops["kind"] == "write", "version"].tolist()
    vals = write_values(ops, frames.get("values"))
    name = dict(zip(ops["version"].tolist(), vals, strict=True))
    items = item_sets(seqs, pk.get(key, {}), "union")

    def named(vs: tuple[int, ...]) -> list[list[str]]:
        return sorted(sorted(str(name[i]) for i in items[v]) for v in vs)

    def sets(per_node: list[tuple[int, ...]]) -> Any:
        out = [named(vs) for vs in per_node]
        return out[0] if all(o == out[0] for o in out) else out

    final = [tuple(m.policy.versions(n.store.get(key))) for n in m.nodes]
    lost = sm.lost_writes(ops, frames, pk)["version"].tolist()
    fc = sm.false_concurrency(ops, frames, pk)
    return {"steps": [sets(h) for h in held], "final": sets(final), "replies": [named(r) for r in replies],
            "lost_writes": sorted(str(name[v]) for v in lost), "false_concurrency": len(fc)}


def main() -> None:
    for one in (False, True):
        print(f"== {'every write through node 0' if one else 'client 1 through node 0, client 2 through node 1'}")
        for policy in POLICIES:
            res = replay(policy, one)
            mark = "DDIA exactly" if res["steps"] == DDIA else "differs from DDIA"
            print(f"-- {policy}: {mark}; writes lost: {res['lost_writes'] or 'none'}")
            for i, s in enumerate(res["steps"], start=1):
                print(f"   after write {i}: {s}")


if __name__ == "__main__":
    main()
