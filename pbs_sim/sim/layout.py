"""Where every endpoint is: each node's and each client endpoint's datacenter and rack (issue 19).

Owns: numbering the simulator's endpoints on a topology and the link class of a pair of them. Must
not touch: SimPy, sampling, protocol logic (the network asks :meth:`Layout.link_class`; the builder,
faults and metrics ask where an endpoint is).

Numbering. Nodes are ``0..nodes-1`` in datacenter blocks, in topology order (datacenter d holds
``range(node_start[d], node_start[d] + nodes_d)``); node j of a datacenter with k racks is on its
rack ``j mod k``. Racks get one global index each, datacenter by datacenter (``rack_start[d] +
local rack``). Client-side coordinators (``cluster.coordinator = "client"``) are one endpoint per
rack: ``-1 - global rack``, so a flat cluster's single client endpoint is ``CLIENT`` (-1) as before.

Without ``[topology]`` the layout is one datacenter named ``""`` holding every node, with the racks
and datacenters of ``[placement]`` when it sets them (``pbs_sim.placement.racks_of_spec`` /
``dc_of_spec``: what correlated faults use) and no link laws: :attr:`Layout.flat` is True and
:meth:`link_class` is never asked.

Link classes (docs/design.md, "Datacenters and consistency levels"): ``"intra_rack"`` (both ends on
one rack of one datacenter), ``"intra_dc"`` (one datacenter, other racks), or ``"<a>|<b>"`` for
datacenters a and b in topology order (a before b: links are symmetric). :meth:`link_laws` maps each
class to its law from ``[topology]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Scenario
    from ..distributions import Distribution
    from ..levels import Requirement
    from ..topology import TopologyConfig

INTRA_RACK = "intra_rack"
INTRA_DC = "intra_dc"


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]          # datacenter names, topology order ("" for a flat cluster)
    node_dc: tuple[int, ...]        # node -> datacenter index
    node_rack: tuple[int, ...]      # node -> global rack index
    dc_racks: tuple[int, ...]       # racks per datacenter
    rf: tuple[int, ...]             # replication factor per datacenter (flat: (N,))
    clients: tuple[float, ...]      # share of the clients per datacenter (sums to 1)
    flat: bool = True               # no [topology]: no link laws, one datacenter
    topology: TopologyConfig | None = None

    # -- construction ---------------------------------------------------------------------------
    @staticmethod
    def of(sc: Scenario) -> Layout:
        topo = sc.topology
        if topo.enabled:
            node_dc: list[int] = []
            node_rack: list[int] = []
            start = 0
            for d, dc in enumerate(topo.datacenters):
                node_dc += [d] * dc.nodes
                node_rack += [start + j % dc.racks for j in range(dc.nodes)]
                start += dc.racks
            w = topo.client_weights()
            return Layout(
                names=topo.names, node_dc=tuple(node_dc), node_rack=tuple(node_rack),
                dc_racks=tuple(dc.racks for dc in topo.datacenters),
                rf=tuple(dc.replication for dc in topo.datacenters),
                clients=tuple(w.get(name, 0.0) for name in topo.names), flat=False, topology=topo,
            )
        return Layout.flat_of(sc)

    @staticmethod
    def flat_of(sc: Scenario) -> Layout:
        """A flat cluster: one datacenter, with ``[placement]``'s racks (all on rack 0 without)."""
        from ..placement import racks_of_spec, spec_from_config

        c = sc.cluster
        racks = None
        if sc.placement.racks:
            rk = racks_of_spec(spec_from_config(sc.placement, c, sc.source))
            racks = None if rk is None else tuple(int(x) for x in rk)
        node_rack = racks if racks is not None else (0,) * c.nodes
        return Layout(names=("",), node_dc=(0,) * c.nodes, node_rack=node_rack,
                      dc_racks=(max(node_rack) + 1 if node_rack else 1,), rf=(c.replication,), clients=(1.0,))

    # -- lookups --------------------------------------------------------------------------------
    @property
    def nodes(self) -> int:
        return len(self.node_dc)

    @property
    def rack_start(self) -> tuple[int, ...]:
        out, s = [], 0
        for k in self.dc_racks:
            out.append(s)
            s += k
        return tuple(out)

    def dc_index(self, name: str) -> int:
        return self.names.index(name)

    def nodes_of(self, dc: int) -> list[int]:
        """The nodes of datacenter ``dc`` (index), ascending."""
        return [i for i, d in enumerate(self.node_dc) if d == dc]

    def rack_members(self, rack: int) -> list[int]:
        """The nodes on global rack ``rack``, ascending."""
        return [i for i, r in enumerate(self.node_rack) if r == rack]

    def client_endpoint(self, dc: int, rack: int = 0) -> int:
        """The client-side coordinator endpoint on rack ``rack`` (local index) of datacenter ``dc``."""
        return -1 - (self.rack_start[dc] + rack)

    def endpoint_dc(self, ep: int) -> int:
        """The datacenter (index) of a node or client endpoint."""
        if ep >= 0:
            return self.node_dc[ep]
        g = -1 - ep
        for d, s in enumerate(self.rack_start):
            if s <= g < s + self.dc_racks[d]:
                return d
        return 0

    def endpoint_rack(self, ep: int) -> int:
        """The global rack of a node or client endpoint."""
        return self.node_rack[ep] if ep >= 0 else -1 - ep

    def link_class(self, src: int, dst: int) -> str:
        """``"intra_rack"``, ``"intra_dc"`` or ``"<a>|<b>"`` (topology order) for a message src -> dst."""
        a, b = self.endpoint_dc(src), self.endpoint_dc(dst)
        if a == b:
            return INTRA_RACK if self.endpoint_rack(src) == self.endpoint_rack(dst) else INTRA_DC
        if a > b:
            a, b = b, a
        return f"{self.names[a]}|{self.names[b]}"

    def link_laws(self) -> dict[str, Distribution]:
        """Every link class's law from ``[topology]`` (empty for a flat cluster)."""
        topo = self.topology
        if topo is None:
            return {}
        laws: dict[str, Distribution] = {INTRA_RACK: topo.intra_rack, INTRA_DC: topo.intra_dc}
        for i, a in enumerate(self.names):
            for b in self.names[i + 1:]:
                laws[f"{a}|{b}"] = topo.link(a, b)
        return laws




@dataclass(frozen=True)
class Need:
    """A level's requirement compiled for one coordinator datacenter on a layout: what the quorum
    stage (and the ideal-level counterfactual) test reply by reply.

    ``total`` replies from anywhere, and ``by_dc[d]`` replies from datacenter index d (the LOCAL_*
    part lands on the coordinator's datacenter; EACH_QUORUM sets every datacenter with RF > 0)."""

    level: str
    total: int
    by_dc: tuple[tuple[int, int], ...]  # (datacenter index, replies needed there)
    hint_ok: bool = False

    @property
    def block_for(self) -> int:
        return self.total + sum(c for _, c in self.by_dc)

    @property
    def is_count(self) -> bool:
        return not self.by_dc

    def met(self, total: int, per_dc: list[int]) -> bool:
        """Whether ``total`` replies, ``per_dc[d]`` of them from datacenter d, meet the requirement."""
        if total < self.total:
            return False
        for d, c in self.by_dc:  # noqa: SIM110  (a loop: cheaper than all() per reply)
            if per_dc[d] < c:
                return False
        return True


def compile_need(req: Requirement, layout: Layout, local_dc: int) -> Need:
    """``req`` (``pbs_sim.levels``) as a :class:`Need` for a coordinator in datacenter ``local_dc``.
    On a flat layout the LOCAL_* and each-DC parts are counts over the cluster (``pbs_sim.levels``
    has already resolved them so)."""
    parts: dict[int, int] = {}
    if req.local:
        parts[local_dc] = parts.get(local_dc, 0) + req.local
    for name, c in req.per_dc:
        d = layout.dc_index(name)
        parts[d] = parts.get(d, 0) + c
    if layout.flat and parts:  # one datacenter: every part is a count
        return Need(req.level, req.total + sum(parts.values()), (), req.hint_ok)
    return Need(req.level, req.total, tuple(sorted(parts.items())), req.hint_ok)


__all__ = ["INTRA_DC", "INTRA_RACK", "Layout", "Need", "compile_need"]
