"""Datacenters in the simulator (issue 19): clients in datacenters, coordinators in their client's
datacenter, DC-aware targets and requirements.

Owns: which datacenter a client is in (:class:`ClientDCs`), routing each operation to a
coordinator in its client's datacenter (:class:`Router`, what the workload's
``coordinator_for(key)`` returns on a topology), the replicas a coordinator asks under a DC-aware
level (:class:`DCTargets`), configuring every coordinator with its datacenter's compiled
requirements (:func:`wire`). The mechanisms that cannot run on a topology yet are refused before
any work by ``pbs_sim.topology.check_simulator``. Must not touch: the quorum protocol itself (the
coordinator tallies replies per datacenter, :meth:`Coordinator.set_needs`), latencies (the network's
link laws), metrics.

The model is docs/design.md's "Datacenters and consistency levels", the one the analytic engine
(``pbs_sim.analytic.multidc``) computes:

* **Clients.** Client ``c``'s datacenter is the ``c``-th seat of the Sainte-Laguë (Webster)
  sequential apportionment over the datacenters' ``clients`` weights: seat ``c`` goes to the
  datacenter with the largest ``weight / (seats so far + 1/2)``, ties to the earlier datacenter in
  topology order. The rule is deterministic, draws nothing, and is house-monotone: the first C ids
  (``workload.clients`` = C) are apportioned as closely to the weights as integer seats allow, and
  ids past them (the preload client ``C``, hot-key writers ``C + 1 + i``) continue the same
  sequence. Weights 1 and 1 alternate dc1, dc2, dc1, ...; weight 0 gets no client. Every workload
  (open, closed, YCSB, trace, script, pbs-probe's writers) names its clients by int id, so one rule
  places them all.
* **Coordinators** are in their client's datacenter. ``cluster.coordinator = "client"``: the
  client-side endpoint of that datacenter on a rack chosen uniformly per operation (stream
  ``coordinator-rack``; no draw with one rack); ``"random"``: a node of that datacenter, uniform per
  operation (stream ``coordinator``); ``"first-replica"``: the first replica of the key's
  preference list in that datacenter, else (RF 0 there) a uniform node of it.
* **pbs-probe** on a topology with clients in several datacenters: trial ``i``'s write is by
  client ``i`` (so in the datacenter its seat says) and every probe offset is read once from *each*
  datacenter with clients (its reads keep client ``i``, as the probe's reads always have): every
  trial gives one read per (write DC, read DC) pair, the Cosmos DB view, with the pairs sharing the
  write (paired comparisons). One client datacenter: exactly today's probe.
* **Targets.** A write goes to every replica of the key (``write_fanout = "all"``), or with
  ``write_fanout = "quorum"`` to just the replicas its requirement needs, chosen like a quorum
  read's. A read with ``read_fanout = "all"`` asks every replica, or only the coordinator's
  datacenter's for a LOCAL_* level; with ``"quorum"`` it asks just as many as its requirement
  needs: for a count, the nearest datacenters first (own first, then by the mean of the link law,
  then topology order), uniformly within a datacenter; for each datacenter's part, that many of its
  replicas, uniformly (``replica_choice = "preference"``: in preference-list order instead of
  uniformly). A read-repair chance sends the read to every replica.
* **Quorum.** The read returns the merge of the responses that met the requirement (every response
  that arrived by the reply that met it); the write commits at the ack that meets its requirement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Scenario
    from .coordinator import Coordinator
    from .layout import Layout, Need


class ClientDCs:
    """Client id -> datacenter index: the Sainte-Laguë sequence over the client weights."""

    __slots__ = ("weights", "_seq", "_seats")

    def __init__(self, weights: Sequence[float]) -> None:
        if not any(w > 0 for w in weights):
            raise ValueError("no datacenter has clients")
        self.weights = tuple(float(w) for w in weights)
        self._seq: list[int] = []
        self._seats = [0] * len(self.weights)

    def __call__(self, client: int) -> int:
        seq = self._seq
        if client < len(seq):
            return seq[client]
        w, seats = self.weights, self._seats
        while len(seq) <= client:
            best, pri = 0, -1.0
            for d, wd in enumerate(w):
                if wd > 0:
                    p = wd / (seats[d] + 0.5)
                    if p > pri:
                        best, pri = d, p
            seats[best] += 1
            seq.append(best)
        return seq[client]


class Router:
    """What ``coordinator_for(key)`` returns on a topology: one shared object whose ``read`` /
    ``write`` send the operation to a coordinator in its client's datacenter."""

    __slots__ = ("client_dc", "pick_in")

    def __init__(self, client_dc: Callable[[int], int], pick_in: Callable[[int, int], Coordinator]) -> None:
        self.client_dc = client_dc
        self.pick_in = pick_in  # (datacenter, key) -> coordinator

    def write(self, client: int, key: int, on_done: Callable[[Any], None] | None = None, context: Any = None,
              update_of: int | None = None, value: str | None = None) -> Any:
        return self.pick_in(self.client_dc(client), key).write(client, key, on_done, context, update_of, value)

    def read(self, client: int, key: int, on_done: Callable[[Any], None] | None = None) -> Any:
        return self.pick_in(self.client_dc(client), key).read(client, key, on_done)


class DCTargets:
    """The replicas a coordinator in datacenter ``local`` asks (module docstring, "Targets")."""

    __slots__ = ("local", "node_dc", "rank", "read_need", "write_need", "read_local_only", "read_fanout",
                 "write_fanout", "preference", "n_dc")

    def __init__(self, layout: Layout, local: int, read_need: Need, write_need: Need, read_local_only: bool,
                 read_fanout: str, write_fanout: str, replica_choice: str) -> None:
        topo = layout.topology
        assert topo is not None
        names = layout.names
        self.local = local
        self.node_dc = layout.node_dc
        self.n_dc = len(names)
        # nearness order: own datacenter, then by the link law's mean, then topology order (as multidc._dc_rank)
        self.rank = sorted(range(self.n_dc), key=lambda d: (d != local, topo.link(names[local], names[d]).mean, d))
        self.read_need, self.write_need = read_need, write_need
        self.read_local_only = read_local_only
        self.read_fanout, self.write_fanout = read_fanout, write_fanout
        self.preference = replica_choice == "preference"

    def write(self, coord: Coordinator, prefs: Sequence[int]) -> Sequence[int]:
        if self.write_fanout == "all":
            return prefs
        return self._quorum(coord, prefs, self.write_need)

    def read(self, coord: Coordinator, prefs: Sequence[int]) -> Sequence[int]:
        if self.read_fanout != "all" and coord.read_all_chance > 0.0:
            u = coord.uniform
            assert u is not None
            if u() < coord.read_all_chance:
                return prefs
        if self.read_fanout == "all":
            if self.read_local_only:
                dc, local = self.node_dc, self.local
                return [x for x in prefs if dc[x] == local]
            return prefs
        return self._quorum(coord, prefs, self.read_need)

    def _quorum(self, coord: Coordinator, prefs: Sequence[int], need: Need) -> list[int]:
        """Just the replicas ``need`` needs: per datacenter the larger of its part and what the count
        takes there (nearest datacenters first), uniformly within it (or in preference order)."""
        by_dc: list[list[int]] = [[] for _ in range(self.n_dc)]
        dc = self.node_dc
        for x in prefs:
            by_dc[dc[x]].append(x)
        take = [0] * self.n_dc
        left = need.total
        for d in self.rank:
            if left <= 0:
                break
            k = min(left, len(by_dc[d]))
            take[d] = k
            left -= k
        for d, c in need.by_dc:
            take[d] = max(take[d], c)
        out: list[int] = []
        for d in range(self.n_dc):
            k = take[d]
            if k:
                out += by_dc[d][:k] if self.preference else coord._subset(by_dc[d], k)  # noqa: SLF001
        return out


def wire(sc: Scenario, layout: Layout, coordinators: dict[int, Coordinator]) -> None:
    """Give every coordinator its datacenter's compiled read and write requirements and targets."""
    from ..levels import LevelError
    from ..topology import requirements
    from .layout import compile_need

    c = sc.cluster
    per_dc: dict[int, tuple[Need, Need, DCTargets]] = {}
    for d, name in enumerate(layout.names):
        try:
            read, write = requirements(sc, name)
        except LevelError:  # a LOCAL_* level from a datacenter without replicas: it has no clients
            continue          # (check_topology refuses the level where clients are)
        rn, wn = compile_need(read, layout, d), compile_need(write, layout, d)
        per_dc[d] = (rn, wn, DCTargets(layout, d, rn, wn, bool(read.local), c.read_fanout, c.write_fanout,
                                       c.replica_choice))
    for ep, coord in coordinators.items():
        d = layout.endpoint_dc(ep)
        if d in per_dc:
            rn, wn, targets = per_dc[d]
            coord.set_needs(rn, wn, layout.node_dc, len(layout.names), targets)


__all__ = ["ClientDCs", "DCTargets", "Router", "wire"]
