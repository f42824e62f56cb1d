"""Fault injection: transient crashes, permanent disk loss, partitions and message loss.

Owns: when nodes go down and come back (``node.crash()`` / ``node.recover()``), when a disk is lost
(``node.wipe()``: the node is down for ``faults.replace_ms`` and then joins again *empty*), which
endpoints cannot reach which (network drop rules), the per-message loss probability, and the
``faults`` history table: one row per event ``(at, node, action, detail)`` with ``node = -1`` for
partitions and heals. Random faults (exponential times to failure per node, exponential repair times)
and scripted ones (``[[faults.schedule]]``) share the same code paths.
Also records every dropped write request in the ``dropped_writes`` table (for stale-read causes).
``faults.on_change``: list of ``fn()`` run after every partition and heal (the failure detector
re-evaluates who can reach whom). Must not touch: coordinators (they time out by themselves: a down node drops what it receives),
node stores other than through ``wipe``, metrics.

Rules
-----
- A node is down while it is crashed *or* being replaced; ``recover`` of a crash does not bring back
  a node whose replacement is still pending (and vice versa).
- Disk loss: ``wipe`` empties the store at once; the node stays down for ``replace_ms`` (0 = an empty
  replacement is a member straight away), then recovers empty. Its clock to the next disk loss starts
  when it is back.
- Scripted ``wipe``: the same disk loss, at a chosen time.
- Partition between groups: every message from a node in one group to a node in another is dropped,
  both when sent and when it would be delivered (a partition that starts while a message is in flight
  drops it). ``one_way``: only messages from the first group to the others. ``nodes`` without
  ``groups``: those nodes against every other node. ``clients = true``: the external client-side
  coordinator (endpoint -1) against ``nodes`` (only matters with ``cluster.coordinator = "client"``);
  one-way then drops the client's requests only.
- ``heal`` with nodes/groups removes the cuts between them; without, every cut. ``duration_ms`` on a
  partition (or crash) heals (recovers) that event after that long.

Correlated failures (issue 20)
------------------------------
- Power outage (``outage``; scripted with ``nodes``, ``count`` F or ``fraction`` f, or the random
  process ``faults.outage_mtbf_ms``): the nodes go down at once (a ``crash`` row each, and one
  ``outage`` row with ``node = -1`` listing them). After the recovery time (``duration_ms``;
  default ``faults.outage_recovery_ms``) each reboots; independently with probability
  ``no_reboot_probability`` it does not survive the reboot: its disk is lost then (a ``wipe`` row,
  the durability metrics' disk-loss path) and an empty replacement joins ``faults.replace_ms``
  later; the others ``recover`` with their data. F nodes are drawn uniformly without replacement.
- Rack loss (``rack-loss``, ``racks``; random: ``faults.rack_loss_mtbf_ms``, one uniform rack) and
  DC loss (``dc-loss``, ``dcs``; random: ``faults.dc_loss_mtbf_ms``, one uniform DC): every node of
  the rack or DC loses its disk at once (``wipe``; replaced after ``faults.replace_ms``). Racks and
  DCs are the placement's (``pbs_sim.placement.racks_of_spec`` / ``dc_of_spec``: node i in rack
  i mod racks, or blocks; rack r in DC r mod datacenters).
- Draws come from named streams (``faults-outage`` for the random process, ``faults-scripted-outage``
  for scripted entries, ``faults-rack-loss``, ``faults-dc-loss``): runs are reproducible, and a
  scenario without these entries draws nothing new.

Datacenter faults (issue 19)
----------------------------
Datacenters and racks are the simulator's :class:`~pbs_sim.sim.layout.Layout` (``model.layout``, or
``Layout.of(scenario)``): a client-side coordinator endpoint is in the datacenter (and on the rack)
it belongs to. Each of these faults is one window: a start row (``node = -1``, action
``dc-partition``, ``dc-outage``, ``rack-outage`` or ``wan-degradation``, detail ``"<id>:<what>"``)
and, when it ends, a ``dc-fault-end`` row with the same detail (no end row: it lasted to the end of
the run). Ids count 1, 2, ... in the order the faults start.

- DC partition (``dc-partition``: ``datacenters`` against the rest, or ``between`` sides; random:
  ``faults.dc_partition_mtbf_ms``, one uniform datacenter against the rest): every message between
  an endpoint (node or client endpoint) of one side and one of another is dropped, at send and at
  delivery, as node partitions are. ``one_way``: only messages from the first side (the named
  datacenters) to the others. A ``heal`` entry does not end it; ``duration_ms`` does.
- DC outage (``dc-outage``, ``datacenters``; random ``faults.dc_outage_mtbf_ms``) and rack outage
  (``rack-outage``, ``racks``: global rack indices of the layout; random
  ``faults.rack_outage_mtbf_ms``): every node of the datacenter or rack goes down and comes back
  with its data after ``duration_ms``. A node is down while crashed, being replaced *or* held down
  by an outage: an outage does not bring up a node that crashed on its own, and a crash's recovery
  does not bring up a node still held down. ``crash`` / ``recover`` rows (node >= 0) mark each
  node's transient down and up as before (the durability metrics' replay reads them).
- WAN degradation (``wan-degradation``, ``factor``, ``datacenters`` or ``between``, or neither: every
  inter-datacenter link; random ``faults.wan_degradation_mtbf_ms``: one uniform datacenter's links
  to the others, times ``faults.wan_degradation_factor``): ``network.link_factor[cls]`` is the
  product of the active degradations' factors on link class ``cls`` (``"<a>|<b>"``), and the key is
  removed when none is active. The factor multiplies the link part of a message's delay only.
- Random processes: the time to the next fault is exponential with mean ``*_mtbf_ms`` from the end
  of the previous one; the duration is a draw of ``*_duration``; streams ``faults-dc-partition``,
  ``faults-dc-outage``, ``faults-rack-outage``, ``faults-wan-degradation``. Scripted entries draw
  nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import DC_FAULT_ACTIONS, FaultEvent, FaultsConfig, Scenario
from ..rng import Streams
from .events import timeout_at
from .layout import Layout
from .mechanism import TableSpec
from .network import CLIENT

if TYPE_CHECKING:
    from .build import Model
    from .node import Node

# new actions go at the end: the codes of the old ones (and so old faults tables) are unchanged
ACTIONS = ("crash", "recover", "wipe", "replace", "partition", "heal", "disk-loss", "outage", "rack-loss", "dc-loss",
           "dc-partition", "dc-outage", "rack-outage", "wan-degradation", "dc-fault-end")
(CRASH, RECOVER, WIPE, REPLACE, PARTITION, HEAL, DISK_LOSS, OUTAGE, RACK_LOSS, DC_LOSS,
 DC_PARTITION, DC_OUTAGE, RACK_OUTAGE, WAN_DEGRADATION, DC_FAULT_END) = range(len(ACTIONS))
#: The actions that open a datacenter-fault window (closed by a ``dc-fault-end`` row with the same detail).
DC_WINDOW_ACTIONS = ("dc-partition", "dc-outage", "rack-outage", "wan-degradation")


class Faults:
    """Fault state of one run; ``start()`` launches the random and scripted fault processes."""

    def __init__(
        self, env: Any, cfg: FaultsConfig, nodes: Sequence[Node], network: Any, history: Any,
        streams: Streams, racks: Sequence[int] | None = None, dcs: Sequence[int] | None = None,
        layout: Layout | None = None,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.nodes = nodes
        self.network = network
        self.table = FAULTS_TABLE.create(history)
        self.streams = streams
        self._crashed = [False] * len(nodes)
        self._replacing = [False] * len(nodes)
        self._blocked: dict[tuple[int, int], int] = {}
        self._cuts: list[tuple[int, list[tuple[int, int]]]] = []
        self._cut_id = 0
        self._rule_on = False
        if cfg.message_loss > 0:
            network.message_loss = cfg.message_loss
        self.counts = {a: 0 for a in ACTIONS}
        self.on_change: list[Callable[[], None]] = []  # after a partition or heal (failure detector)
        # each node's rack and DC (the placement's; None: no racks, one DC)
        self.racks = list(racks) if racks is not None else None
        self.dcs = list(dcs) if dcs is not None else [0] * len(nodes)
        self._outage_rng: np.random.Generator | None = None
        # issue 19: datacenter faults on the layout (a flat one-datacenter layout without one)
        self.layout = layout
        self._held = [0] * len(nodes)            # outages holding each node down
        self._dc_cut: dict[tuple[int, int], int] = {}  # (src DC, dst DC) -> active cuts
        self._dc_rule_on = False
        self._ep_dc: dict[int, int] = {}          # client endpoint -> DC (nodes: layout.node_dc)
        self._node_dc: tuple[int, ...] = layout.node_dc if layout is not None else (0,) * len(nodes)
        self._factors: dict[str, list[float]] = {}
        self._window = 0

    # -- node state ------------------------------------------------------------------------------
    def _record(self, node: int, action: int, detail: str = "") -> None:
        self.table.append(float(self.env.now), node, action, detail)
        self.counts[ACTIONS[action]] += 1

    def _set_up(self, i: int) -> None:
        node = self.nodes[i]
        want_up = not (self._crashed[i] or self._replacing[i] or self._held[i])
        if want_up and not node.up:
            node.recover()
        elif not want_up and node.up:
            node.crash()

    def crash(self, i: int) -> None:
        if self._crashed[i]:
            return
        self._crashed[i] = True
        if not self._held[i]:  # held down by an outage: already down (its crash row is written)
            self._record(i, CRASH)
        self._set_up(i)

    def recover(self, i: int) -> None:
        if not self._crashed[i]:
            return
        self._crashed[i] = False
        if not self._held[i]:  # still held down by an outage: its release writes the recover row
            self._record(i, RECOVER)
        self._set_up(i)

    def hold(self, i: int) -> None:
        """An outage holds node ``i`` down (with its data) until :meth:`release`."""
        self._held[i] += 1
        if self._held[i] == 1 and not self._crashed[i]:
            self._record(i, CRASH)
        self._set_up(i)

    def release(self, i: int) -> None:
        self._held[i] -= 1
        if self._held[i] == 0 and not self._crashed[i]:
            self._record(i, RECOVER)
        self._set_up(i)

    def recover_all(self, nodes: Iterable[int]) -> None:
        for i in nodes:
            self.recover(i)

    def disk_loss(self, i: int) -> Any:
        """Process: the node loses its disk now and rejoins empty after ``replace_ms``."""
        self._replacing[i] = True
        self._record(i, WIPE)
        self._set_up(i)
        self.nodes[i].wipe()
        if self.cfg.replace_ms > 0:
            yield self.env.timeout(self.cfg.replace_ms)
        self._replacing[i] = False
        self._record(i, REPLACE)
        self._set_up(i)

    # -- correlated failures (issue 20) -------------------------------------------------------------
    def outage(self, members: Sequence[int], no_reboot: float, recovery_ms: float, rng: np.random.Generator) -> Any:
        """Process: ``members`` lose power now; after ``recovery_ms`` each reboots, and with probability
        ``no_reboot`` its disk is lost (wiped, an empty replacement after ``replace_ms``)."""
        members = sorted(int(i) for i in members)
        # one draw per member, made now and in member order: the same seed loses the same nodes
        lost = (rng.random(len(members)) < no_reboot).tolist() if no_reboot > 0 else [False] * len(members)
        self._record(-1, OUTAGE, f"nodes-{members}")
        for i in members:
            self.crash(i)
        if recovery_ms > 0:
            yield self.env.timeout(recovery_ms)
        for i, gone in zip(members, lost, strict=True):
            if gone:
                # the crash ends in a lost disk, not a recovery: the node stays down as "replacing"
                # (no recover row: the replay never sees it up with its old data)
                self._crashed[i] = False
                self.env.process(self.disk_loss(i))
            else:
                self.recover(i)

    def lose_group(self, members: Sequence[int], action: int, detail: str) -> None:
        """Every node of a rack or DC loses its disk now (``action``: RACK_LOSS or DC_LOSS)."""
        self._record(-1, action, detail)
        for i in members:
            self.env.process(self.disk_loss(int(i)))

    def rack_members(self, rack: int) -> list[int]:
        assert self.racks is not None
        return [i for i, r in enumerate(self.racks) if r == rack]

    def dc_members(self, dc: int) -> list[int]:
        return [i for i, d in enumerate(self.dcs) if d == dc]

    def _outage_loop(self, rng: np.random.Generator) -> Any:
        cfg, n = self.cfg, len(self.nodes)
        assert cfg.outage_mtbf_ms is not None
        size = cfg.outage_nodes if cfg.outage_nodes is not None else round(cfg.outage_fraction * n)
        while True:
            yield self.env.timeout(rng.exponential(cfg.outage_mtbf_ms))
            members = rng.choice(n, size=size, replace=False) if size < n else np.arange(n)
            # the next outage's clock starts when this one is over (the survivors are back)
            yield from self.outage(members.tolist(), cfg.outage_no_reboot_probability, cfg.outage_recovery_ms, rng)

    def _group_loop(self, mtbf_ms: float, groups: int, members: Callable[[int], list[int]], action: int,
                    name: str, rng: np.random.Generator) -> Any:
        while True:
            yield self.env.timeout(rng.exponential(mtbf_ms))
            g = int(rng.integers(groups))
            self.lose_group(members(g), action, f"{name}-{g}")

    # -- partitions ------------------------------------------------------------------------------
    def _rule(self, src: int, dst: int, kind: str) -> bool:
        return (src, dst) in self._blocked

    def partition(self, pairs: Iterable[tuple[int, int]], detail: str) -> int:
        """Cut these directed (src, dst) pairs; returns the cut's id (for ``heal``)."""
        ps = list(pairs)
        for p in ps:
            self._blocked[p] = self._blocked.get(p, 0) + 1
        self._cut_id += 1
        self._cuts.append((self._cut_id, ps))
        self._record(-1, PARTITION, detail)
        if not self._rule_on:
            self.network.drop_rules.append(self._rule)
            self.network.deliver_rules.append(self._rule)
            self._rule_on = True
        for fn in self.on_change:
            fn()
        return self._cut_id

    def heal(self, cut_ids: Iterable[int] | None = None, detail: str = "") -> None:
        ids = None if cut_ids is None else set(cut_ids)
        keep = []
        for cid, ps in self._cuts:
            if ids is None or cid in ids:
                for p in ps:
                    c = self._blocked[p] - 1
                    if c:
                        self._blocked[p] = c
                    else:
                        del self._blocked[p]
            else:
                keep.append((cid, ps))
        self._cuts = keep
        self._record(-1, HEAL, detail)
        if not self._blocked and self._rule_on:
            self.network.drop_rules.remove(self._rule)
            self.network.deliver_rules.remove(self._rule)
            self._rule_on = False
        for fn in self.on_change:
            fn()

    def pairs_for(self, ev: FaultEvent) -> list[tuple[int, int]]:
        """The directed (src, dst) pairs a scripted partition cuts."""
        n = len(self.nodes)
        if ev.clients:
            side = list(ev.nodes) if ev.nodes else list(range(n))
            pairs = [(CLIENT, j) for j in side]
            if not ev.one_way:
                pairs += [(j, CLIENT) for j in side]
            return pairs
        groups = [list(g) for g in ev.groups] if ev.groups else [
            list(ev.nodes), [j for j in range(n) if j not in set(ev.nodes)]
        ]
        pairs = []
        for gi, ga in enumerate(groups):
            for gj, gb in enumerate(groups):
                if gi == gj or (ev.one_way and gi != 0):
                    continue
                pairs += [(a, b) for a in ga for b in gb if a != b]
        return pairs

    # -- datacenter faults (issue 19) ------------------------------------------------------------
    def _open(self, action: int, what: str) -> str:
        """Record the start row of a datacenter-fault window; returns its detail (for the end row)."""
        self._window += 1
        detail = f"{self._window}:{what}"
        self._record(-1, action, detail)
        return detail

    def _close(self, detail: str) -> None:
        self._record(-1, DC_FAULT_END, detail)

    def _dc_of(self, ep: int) -> int:
        if ep >= 0:
            return self._node_dc[ep]
        d = self._ep_dc.get(ep)
        if d is None:
            d = self._ep_dc[ep] = self.layout.endpoint_dc(ep) if self.layout is not None else 0
        return d

    def _dc_rule(self, src: int, dst: int, kind: str) -> bool:
        return (self._dc_of(src), self._dc_of(dst)) in self._dc_cut

    def _names(self, dcs: Iterable[int]) -> str:
        assert self.layout is not None
        return ",".join(self.layout.names[d] for d in dcs)

    def _sides(self, datacenters: Sequence[str], between: Sequence[Sequence[str]]) -> list[list[int]]:
        """Datacenter indices per side: ``between``'s sides, or ``datacenters`` against the rest."""
        assert self.layout is not None
        names = self.layout.names
        if between:
            return [[names.index(x) for x in side] for side in between]
        first = [names.index(x) for x in datacenters]
        return [first, [d for d in range(len(names)) if d not in first]]

    def dc_partition(self, sides: Sequence[Sequence[int]], one_way: bool, duration_ms: float | None) -> Any:
        """Process: cut every link between datacenters of different ``sides`` (``one_way``: only
        from the first side to the others) now, for ``duration_ms`` (None: to the end of the run)."""
        pairs = [(a, b) for i, sa in enumerate(sides) for j, sb in enumerate(sides)
                 if i != j and not (one_way and i != 0) for a in sa for b in sb]
        what = ("" if not one_way else "one-way ") + "|".join(self._names(side) for side in sides)
        detail = self._open(DC_PARTITION, what)
        for p in pairs:
            self._dc_cut[p] = self._dc_cut.get(p, 0) + 1
        if not self._dc_rule_on:
            self.network.drop_rules.append(self._dc_rule)
            self.network.deliver_rules.append(self._dc_rule)
            self._dc_rule_on = True
        for fn in self.on_change:
            fn()
        if duration_ms is None:
            return
        yield self.env.timeout(duration_ms)
        for p in pairs:
            c = self._dc_cut[p] - 1
            if c:
                self._dc_cut[p] = c
            else:
                del self._dc_cut[p]
        if not self._dc_cut and self._dc_rule_on:
            self.network.drop_rules.remove(self._dc_rule)
            self.network.deliver_rules.remove(self._dc_rule)
            self._dc_rule_on = False
        self._close(detail)
        for fn in self.on_change:
            fn()

    def group_outage(self, members: Sequence[int], action: int, what: str, duration_ms: float | None) -> Any:
        """Process: every node of ``members`` (a datacenter's or a rack's) is down for ``duration_ms``
        (None: to the end of the run), then back with its data."""
        detail = self._open(action, what)
        for i in members:
            self.hold(int(i))
        if duration_ms is None:
            return
        yield self.env.timeout(duration_ms)
        for i in members:
            self.release(int(i))
        self._close(detail)

    def _link_classes(self, sides: Sequence[Sequence[int]]) -> list[str]:
        assert self.layout is not None
        names = self.layout.names
        out: set[str] = set()
        for i, sa in enumerate(sides):
            for sb in sides[i + 1:]:
                for a in sa:
                    for b in sb:
                        lo, hi = min(a, b), max(a, b)
                        out.add(f"{names[lo]}|{names[hi]}")
        return sorted(out)

    def wan_degradation(self, sides: Sequence[Sequence[int]], factor: float, duration_ms: float | None) -> Any:
        """Process: multiply the link part of the delay between datacenters of different ``sides`` by
        ``factor`` (on top of other active degradations) for ``duration_ms``."""
        classes = self._link_classes(sides)
        detail = self._open(WAN_DEGRADATION, f"x{factor:g} " + "|".join(self._names(side) for side in sides))
        for cls in classes:
            self._factors.setdefault(cls, []).append(factor)
            self._apply_factor(cls)
        if duration_ms is None:
            return
        yield self.env.timeout(duration_ms)
        for cls in classes:
            self._factors[cls].remove(factor)
            self._apply_factor(cls)
        self._close(detail)

    def _apply_factor(self, cls: str) -> None:
        active = self._factors.get(cls)
        lf = self.network.link_factor
        if active:
            lf[cls] = float(np.prod(active))
        else:
            self._factors.pop(cls, None)
            lf.pop(cls, None)

    def _dc_loop(self, mtbf_ms: float, duration: Any, rng: np.random.Generator, make: Callable[[int, float], Any],
                 groups: int) -> Any:
        """A random datacenter-fault process: exponential gaps (from the end of the previous fault), a
        uniform group (datacenter or rack), a duration drawn from ``duration``."""
        while True:
            yield self.env.timeout(rng.exponential(mtbf_ms))
            g = int(rng.integers(groups))
            length = float(duration.sample(rng))
            yield from make(g, length)

    def _dc_process(self, kind: str) -> Any:
        cfg, lay = self.cfg, self.layout
        assert lay is not None
        n_dc = len(lay.names)

        def rest(d: int) -> list[list[int]]:
            return [[d], [x for x in range(n_dc) if x != d]]

        if kind == "dc-partition":
            assert cfg.dc_partition_mtbf_ms is not None
            return self._dc_loop(cfg.dc_partition_mtbf_ms, cfg.dc_partition_duration, self.streams.get("faults-dc-partition"),
                                 lambda d, t: self.dc_partition(rest(d), cfg.dc_partition_one_way, t), n_dc)
        if kind == "dc-outage":
            assert cfg.dc_outage_mtbf_ms is not None
            return self._dc_loop(cfg.dc_outage_mtbf_ms, cfg.dc_outage_duration, self.streams.get("faults-dc-outage"),
                                 lambda d, t: self.group_outage(lay.nodes_of(d), DC_OUTAGE, lay.names[d], t), n_dc)
        if kind == "rack-outage":
            assert cfg.rack_outage_mtbf_ms is not None
            racks = max(lay.node_rack) + 1
            return self._dc_loop(cfg.rack_outage_mtbf_ms, cfg.rack_outage_duration, self.streams.get("faults-rack-outage"),
                                 lambda r, t: self.group_outage(lay.rack_members(r), RACK_OUTAGE, f"rack-{r}", t), racks)
        assert cfg.wan_degradation_mtbf_ms is not None
        factor = cfg.wan_degradation_factor
        return self._dc_loop(cfg.wan_degradation_mtbf_ms, cfg.wan_degradation_duration, self.streams.get("faults-wan-degradation"),
                             lambda d, t: self.wan_degradation(rest(d), factor, t), n_dc)

    def _apply_dc(self, ev: FaultEvent) -> None:
        """A scripted datacenter fault (``pbs_sim.config.DC_FAULT_ACTIONS``), started now."""
        env, lay = self.env, self.layout
        assert lay is not None
        if ev.action == "dc-partition":
            env.process(self.dc_partition(self._sides(ev.datacenters, ev.between), ev.one_way, ev.duration_ms))
        elif ev.action == "dc-outage":
            for name in ev.datacenters:
                d = lay.dc_index(name)
                env.process(self.group_outage(lay.nodes_of(d), DC_OUTAGE, name, ev.duration_ms))
        elif ev.action == "rack-outage":
            for r in ev.racks:
                env.process(self.group_outage(lay.rack_members(r), RACK_OUTAGE, f"rack-{r}", ev.duration_ms))
        else:  # wan-degradation: sides, or every datacenter on a side of its own
            sides = (self._sides(ev.datacenters, ev.between) if ev.datacenters or ev.between
                     else [[d] for d in range(len(lay.names))])
            assert ev.factor is not None
            env.process(self.wan_degradation(sides, ev.factor, ev.duration_ms))

    # -- processes -------------------------------------------------------------------------------
    def start(self) -> None:
        env, cfg = self.env, self.cfg
        for i in range(len(self.nodes)):
            if cfg.crash_mttf_ms is not None:
                env.process(self._crash_loop(i, self.streams.get(f"faults-crash-{i}")))
            if cfg.disk_loss_mttf_ms is not None:
                env.process(self._disk_loop(i, self.streams.get(f"faults-disk-{i}")))
        if cfg.outage_mtbf_ms is not None:
            env.process(self._outage_loop(self.streams.get("faults-outage")))
        if cfg.rack_loss_mtbf_ms is not None and self.racks:
            env.process(self._group_loop(cfg.rack_loss_mtbf_ms, max(self.racks) + 1, self.rack_members, RACK_LOSS,
                                         "rack", self.streams.get("faults-rack-loss")))
        if cfg.dc_loss_mtbf_ms is not None:
            env.process(self._group_loop(cfg.dc_loss_mtbf_ms, max(self.dcs) + 1, self.dc_members, DC_LOSS,
                                         "dc", self.streams.get("faults-dc-loss")))
        for kind, mtbf in (("dc-partition", cfg.dc_partition_mtbf_ms), ("dc-outage", cfg.dc_outage_mtbf_ms),
                           ("rack-outage", cfg.rack_outage_mtbf_ms), ("wan-degradation", cfg.wan_degradation_mtbf_ms)):
            if mtbf is not None:
                env.process(self._dc_process(kind))
        if cfg.schedule:
            env.process(self._scripted(sorted(cfg.schedule, key=lambda e: e.at_ms)))

    def _crash_loop(self, i: int, rng: np.random.Generator) -> Any:
        assert self.cfg.crash_mttf_ms is not None
        while True:
            yield self.env.timeout(rng.exponential(self.cfg.crash_mttf_ms))
            self.crash(i)
            yield self.env.timeout(rng.exponential(self.cfg.crash_mttr_ms))
            self.recover(i)

    def _disk_loop(self, i: int, rng: np.random.Generator) -> Any:
        assert self.cfg.disk_loss_mttf_ms is not None
        while True:
            yield self.env.timeout(rng.exponential(self.cfg.disk_loss_mttf_ms))
            yield from self.disk_loss(i)

    def _scripted(self, events: list[FaultEvent]) -> Any:
        env = self.env
        for ev in events:
            if ev.at_ms > env.now:  # timeout_at: env.timeout(at - now) can miss at_ms by an ulp
                yield timeout_at(env, ev.at_ms)
            self.apply(ev)

    def apply(self, ev: FaultEvent) -> None:
        """Carry out one scripted event now (and schedule its undo if it has a duration)."""
        env = self.env
        if ev.action == "crash":
            for i in ev.nodes:
                self.crash(i)
            if ev.duration_ms is not None:
                env.process(self._later(ev.duration_ms, lambda: self.recover_all(ev.nodes)))
        elif ev.action == "recover":
            for i in ev.nodes:
                self.recover(i)
        elif ev.action == "wipe":
            for i in ev.nodes:
                env.process(self.disk_loss(i))
        elif ev.action == "partition":
            detail = f"clients-{list(ev.nodes)}" if ev.clients else (
                f"groups-{[list(g) for g in ev.groups]}" if ev.groups else f"nodes-{list(ev.nodes)}"
            )
            cid = self.partition(self.pairs_for(ev), detail + ("-one-way" if ev.one_way else ""))
            if ev.duration_ms is not None:
                env.process(self._later(ev.duration_ms, lambda: self.heal([cid], detail)))
        elif ev.action == "outage":
            n = len(self.nodes)
            rng = self._scripted_rng()
            if ev.nodes:
                members = list(ev.nodes)
            else:
                size = ev.count if ev.count is not None else round((ev.fraction or 0.0) * n)
                members = rng.choice(n, size=size, replace=False).tolist() if size < n else list(range(n))
            recovery = ev.duration_ms if ev.duration_ms is not None else self.cfg.outage_recovery_ms
            env.process(self.outage(members, ev.no_reboot_probability, recovery, rng))
        elif ev.action == "rack-loss":
            for r in ev.racks:
                self.lose_group(self.rack_members(r), RACK_LOSS, f"rack-{r}")
        elif ev.action == "dc-loss":
            for d in ev.dcs:
                self.lose_group(self.dc_members(d), DC_LOSS, f"dc-{d}")
        elif ev.action in DC_FAULT_ACTIONS:
            self._apply_dc(ev)
        elif ev.action == "heal":
            if not ev.nodes and not ev.groups:
                self.heal(None, "all")
            else:
                pairs = set(self.pairs_for(ev))
                ids = [cid for cid, ps in self._cuts if pairs & set(ps)]
                self.heal(ids, "selected")

    def _scripted_rng(self) -> np.random.Generator:
        """One stream for every scripted outage's draws, made on first use (scenarios without
        outages draw nothing new)."""
        if self._outage_rng is None:
            self._outage_rng = self.streams.get("faults-scripted-outage")
        return self._outage_rng

    def _later(self, delay: float, fn: Any) -> Any:
        yield self.env.timeout(delay)
        fn()


def enabled(cfg: FaultsConfig) -> bool:
    return bool(
        cfg.crash_mttf_ms is not None or cfg.disk_loss_mttf_ms is not None or cfg.message_loss > 0
        or cfg.schedule or cfg.outage_mtbf_ms is not None or cfg.rack_loss_mtbf_ms is not None
        or cfg.dc_loss_mtbf_ms is not None or cfg.dc_partition_mtbf_ms is not None or cfg.dc_outage_mtbf_ms is not None
        or cfg.rack_outage_mtbf_ms is not None or cfg.wan_degradation_mtbf_ms is not None
    )


DROP_REASONS = ("rule", "loss", "down", "deliver-rule")

FAULTS_TABLE = TableSpec("faults", {"at": "d", "node": "i", "action": "b", "detail": "U"}, {"action": ACTIONS})
DROPPED_WRITES_TABLE = TableSpec(
    "dropped_writes", {"at": "d", "op_id": "q", "key": "q", "version": "q", "node": "i", "reason": "b"},
    {"reason": DROP_REASONS},
)


class FaultsMechanism:
    """Crashes, disk loss, partitions, message loss and scripted faults (:class:`Faults`)."""

    name = "faults"
    requires: tuple[str, ...] = ("env", "nodes", "network", "history")
    tables: tuple[TableSpec, ...] = (FAULTS_TABLE, DROPPED_WRITES_TABLE)
    moves_data = True

    def enabled(self, scenario: Scenario) -> bool:
        return enabled(scenario.faults)

    def install(self, model: Model, streams: Streams) -> Faults:
        from ..placement import dc_of_spec, racks_of_spec, spec_from_config

        sc = model.scenario
        spec = spec_from_config(sc.placement, sc.cluster, sc.source)
        rk = racks_of_spec(spec)
        layout = getattr(model, "layout", None) or Layout.of(sc)  # model.layout once the builder sets it
        faults = Faults(model.env, sc.faults, model.nodes, model.network, model.history, streams,
                        racks=None if rk is None else rk.tolist(), dcs=dc_of_spec(spec).tolist(), layout=layout)
        model.on_start.append(lambda m: faults.start())
        record_dropped_writes(model)
        return faults


MECHANISM = FaultsMechanism()


def record_dropped_writes(model: Model) -> None:
    """Record every dropped write request (kind ``W``) in the ``dropped_writes`` table
    ``(at, op_id, key, version, node, reason)``: what stale-read causes need to tell a replica that
    missed a write from one that had it still in flight."""
    table = DROPPED_WRITES_TABLE.create(model.history)
    env = model.env
    codes = {r: i for i, r in enumerate(DROP_REASONS)}

    def on_drop(msg: Any, reason: str) -> None:
        if msg.kind == "W" and msg.op is not None:
            table.append(float(env.now), msg.op.op_id, msg.op.key, msg.op.seq, msg.dst, codes.get(reason, 0))

    model.network.on_drop.append(on_drop)


def time_to_data_loss(scenario: Scenario, streams: Streams, key: int = 0, limit_ms: float = float("inf")) -> float:
    """Run ``scenario``'s faults and anti-entropy (no client workload) on one item until no node holds it.

    The item is written to every replica of ``key`` at time 0; returns the instant its last copy is
    lost, or ``inf`` if that has not happened by ``limit_ms``. This is the simulator side of the
    MTTDL validation (docs/validation.md §5): disk loss empties a node, anti-entropy copies the item back.
    """
    from ..history import VIA_OTHER
    from .build import build

    model = build(scenario, streams)
    env = model.env
    holders = model.ring.preference_list(key)
    # the item's version is the policy's (an LWW stamp, or a sibling policy's state), made once by
    # the first replica and stored on each
    item = model.policy.new_version(key, 1, 0.0, holders[0], None)
    for i in set(holders):
        model.nodes[i].apply(key, item, VIA_OTHER)
    lost = env.event()

    def on_state(node: Node, event: str) -> None:
        if event == "wipe" and not lost.triggered and not any(key in n.store for n in model.nodes):
            lost.succeed(env.now)

    for node in model.nodes:
        node.on_state.append(on_state)
    model.started = True  # start the extensions, not the client workload
    for fn in model.on_start:
        fn(model)
    env.run(until=lost if limit_ms == float("inf") else env.any_of([lost, env.timeout(limit_ms)]))
    return float(env.now) if lost.triggered else float("inf")
