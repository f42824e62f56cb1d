"""Writes through a sloppy-quorum placement return the acknowledging replicas' merged state (Riak's
``return_body``), as strict writes do, not only the version they made.

Key ``KEY`` on a 4-node ring with N = 3: preference list (2, 1, 0), fallback 3 (asserted by
``tests/test_sloppy_traces.model``). Node 2 is down (a perfect detector sees it), so writes go to
1, 0 and the fallback 3. Constant 1 ms per message, dotted version vectors, causal contexts on, node
coordinators. Client 0 writes A blind at 0 through node 1; client 1 writes B blind at 0.5 through
node 3. A reaches 1, 0, 3 at 1; B at 1.5, where
each replica then holds the siblings {A, B}; B's acks (W = 2) come back at 2.5 carrying them."""

from __future__ import annotations

from typing import Any

from test_sloppy_traces import KEY, at, model

from pbs_sim.history import OK


def test_a_sloppy_write_returns_the_merged_siblings_of_its_acks() -> None:
    m = model({"sloppy_quorum": True, "versioning": "dvv", "coordinator": "random"},
              failure_detector={"mode": "perfect"}, clocks={"causality": "on"})
    assert m.coordinators[1].contexts is not None  # return_body is on while contexts are
    m.nodes[2].crash()
    ops: dict[str, Any] = {}
    at(m, 0.0, lambda: ops.__setitem__("a", m.coordinators[1].write(0, KEY)))
    at(m, 0.5, lambda: ops.__setitem__("b", m.coordinators[3].write(1, KEY)))
    m.env.run(until=20)
    a, b = ops["a"], ops["b"]
    assert a.status == OK and b.status == OK and b.completed_at == 2.5
    versions = m.policy.versions
    assert versions(a.returned) == (a.seq,)  # A's acks left before B arrived anywhere
    assert versions(b.returned) == (a.seq, b.seq)  # B's acks carry the siblings {A, B}
