"""Sloppy quorums, primary quorums (PW / PR), ANY, and failure-detector-aware replica choice.

Owns: the coordinators' :class:`~pbs_sim.sim.coordinator.Placement` — which nodes an operation is
sent to and when its quorum is met — the handler a fallback runs for a hinted write, and the
``sloppy_ops`` (operations that used a fallback: ``op_id, kind, primaries, fallbacks``) and
``quorum_members`` (with sloppy quorums or ANY: every write's acknowledgers up to its commit and every
read's responders up to its quorum: ``op_id, node, fallback``; an ANY write acknowledged by its own
hint lists the hint's holder, the coordinator, as a fallback) history tables.
Must not touch: replica state other than ``node.apply(key, state, VIA_HINT)`` on a fallback, hint
bookkeeping and replay (``pbs_sim.sim.handoff``, reached through :class:`HintSink`), metrics.

Rules
-----
- **Strict quorums with a failure detector** (``cluster.sloppy_quorum = false``): with
  ``fanout = "quorum"`` the W (R) replicas are chosen among the preference list's nodes the
  coordinator believes up (uniformly, or the first ones, per ``replica_choice``); if fewer than W (R)
  are believed up the operation fails at once (Cassandra's ``UnavailableException``). With
  ``fanout = "all"`` requests go to all N, as without a detector (a down node simply never answers).
- **Sloppy quorums** (Dynamo §4.6, Riak): the targets are the first N nodes of the key's ring walk
  that the coordinator believes healthy. The walk is the N primaries, then the distinct physical
  nodes after them (``fallback_walk = "distinct"``, Dynamo), or — Riak — the owners of the
  partitions (tokens) after the N-th primary, duplicates kept (``"partitions"``): one physical node
  can then stand in for several primaries, or for a primary while being another primary itself.
  Each believed-down primary, in preference order, is replaced by the next believed-healthy fallback;
  the write goes to that fallback with a *hint* naming the primary (the fallback stores the value
  through ``node.apply(..., VIA_HINT)`` and acks). With ``fanout = "quorum"`` W (R) of those N are
  asked. Reads ask the same way; a fallback answers from what it stores.
- **PW / PR** (Riak): a write commits once it has W acks *and* ``pw`` of them came from primaries; a
  read has its quorum once it has R responses and ``pr`` from primaries. If fewer primaries than
  ``pw`` (``pr``) are believed up, the operation fails at once.
- **Coordinator hints** (``hinted_handoff.store = "coordinator"``, Cassandra, strict quorums): when
  the write commits, the coordinator keeps a hint for every primary it believed down at issue; at
  the write's timeout, one for every target that has not acked — both only if the write committed
  (its consistency level was met by real replicas). **ANY** (``cluster.write_quorum = "any"``): a
  hint the coordinator stores for a believed-down primary counts as the write's ack, so the write
  commits at once, even with no replica reachable; with every primary believed up it waits for one
  replica ack, and at the timeout hints are kept for the non-ackers whether or not it committed.
- The first N believed-healthy nodes are read from the coordinator's own view (per observer:
  ``pbs_sim.sim.failure_detector``); the client-side coordinator is observer -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from ..config import ClusterConfig, Scenario
from ..history import OK, READ, VIA_HINT, WRITE
from ..rng import Streams
from .events import call_at
from .mechanism import TableSpec

if TYPE_CHECKING:
    from .build import Model
    from .coordinator import Coordinator, ReadOp, WriteOp
    from .failure_detector import FailureDetector
    from .network import Message
    from .node import Node
    from .ring import Ring

SLOPPY_OPS_TABLE = TableSpec(
    "sloppy_ops", {"op_id": "q", "kind": "b", "primaries": "h", "fallbacks": "h"}, {"kind": ("read", "write")},
)
MEMBERS_TABLE = TableSpec("quorum_members", {"op_id": "q", "node": "i", "fallback": "b"})


class HintSink(Protocol):
    """Where hints go (``pbs_sim.sim.handoff``)."""

    def fallback_stored(self, holder: Node, owner: int, op: WriteOp) -> None:
        """A fallback has stored a hinted write for ``owner``."""
        ...

    def coordinator_hint(self, holder: int, owner: int, op: WriteOp) -> bool:
        """The coordinator ``holder`` keeps a hint of ``op`` for ``owner``; False if refused."""
        ...


class Plan(list[int]):
    """One operation's targets; ``owners[i]`` is the primary ``self[i]`` stands in for (itself for a
    primary). Also counts the acks / responses from primaries and fallbacks."""

    __slots__ = ("owners", "prefs", "primary", "fallback")

    def __init__(self, targets: Sequence[int], owners: Sequence[int], prefs: Sequence[int]) -> None:
        super().__init__(targets)
        self.owners = list(owners)
        self.prefs = prefs
        self.primary = 0
        self.fallback = 0

    @property
    def primaries(self) -> int:
        return sum(1 for t, o in zip(self, self.owners, strict=True) if t == o)


class SloppyPlacement:
    """The ``Placement`` of every coordinator of a run (see the module docstring)."""

    def __init__(self, env: Any, cluster: ClusterConfig, ring: Ring, nodes: Sequence[Node], network: Any,
                 history: Any, fd: FailureDetector, *, coordinator_hints: bool) -> None:
        self.env = env
        self.ring = ring
        self.nodes = nodes
        self.network = network
        self.fd = fd
        self.sloppy = cluster.sloppy_quorum
        self.partitions = cluster.fallback_walk == "partitions"
        self.n, self.r, self.w = cluster.replication, cluster.read_quorum, cluster.write_quorum
        self.pw, self.pr = cluster.pw, cluster.pr
        self.write_any = cluster.write_any
        self.coordinator_hints = coordinator_hints
        self.hints: HintSink | None = None
        self.ops_table = SLOPPY_OPS_TABLE.create(history)
        self.members = MEMBERS_TABLE.create(history) if self.sloppy or self.write_any else None

    # -- target choice -----------------------------------------------------------------------------
    def _healthy(self, observer: int, key: int, prefs: Sequence[int]) -> tuple[list[int], list[int]]:
        """(targets, owners): the first N believed-healthy nodes of the walk (sloppy) or the
        believed-up primaries (strict)."""
        up = self.fd.up
        alive = [p for p in prefs if up(observer, p)]
        if not self.sloppy or len(alive) == len(prefs):
            return alive, list(alive)
        down = [p for p in prefs if p not in alive]
        if self.partitions:
            tokens = self.ring.token_walk(key)
            seen: set[int] = set()
            start = len(tokens)
            for j, owner in enumerate(tokens):
                seen.add(owner)
                if len(seen) == len(prefs):
                    start = j + 1
                    break
            candidates: Sequence[int] = tokens[start:]
        else:
            candidates = self.ring.full_walk(key)[len(prefs):]
        subs: list[int] = []
        for c in candidates:
            if len(subs) == len(down):
                break
            if up(observer, c):
                subs.append(c)
        targets = alive + subs
        owners = alive + down[: len(subs)]
        return targets, owners

    def _choose(self, coord: Coordinator, key: int, prefs: Sequence[int], fanout: str, k: int,
                need_primaries: int, local: int) -> tuple[Plan, int]:
        """Random draws in the plain protocol's order (WAN-local replica, read-all chance, subset),
        so that with every node up the same operations go to the same replicas."""
        targets, owners = self._healthy(coord.endpoint, key, prefs)
        if fanout == "quorum" and len(targets) >= k:
            if coord.replica_choice == "preference":
                idx: Sequence[int] = range(k)
            else:
                idx = coord._subset(range(len(targets)), k)  # noqa: SLF001
            targets = [targets[i] for i in idx]
            owners = [owners[i] for i in idx]
        plan = Plan(targets, owners, prefs)
        if need_primaries and plan.primaries < need_primaries:
            return Plan((), (), prefs), local  # PW / PR cannot be met: fail at once
        return plan, local

    def write_targets(self, coord: Coordinator, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        if not self.sloppy and coord.write_fanout == "all" and not self.coordinator_hints:
            return Plan(prefs, prefs, prefs), coord._local(prefs)  # noqa: SLF001
        if not self.sloppy and coord.write_fanout == "all":
            # Cassandra sends to the replicas it believes alive
            local = coord._local(prefs)  # noqa: SLF001
            alive, owners = self._healthy(coord.endpoint, key, prefs)
            return Plan(alive, owners, prefs), local
        local = coord._local(prefs)  # noqa: SLF001
        return self._choose(coord, key, prefs, coord.write_fanout, self.w, self.pw, local)

    def read_targets(self, coord: Coordinator, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        if not self.sloppy and coord.read_fanout == "all":
            return Plan(prefs, prefs, prefs), coord._local(prefs)  # noqa: SLF001
        local = coord._local(prefs)  # noqa: SLF001
        fanout = coord.read_fanout
        if fanout == "quorum" and coord.read_all_chance > 0.0:
            assert coord.u_chance is not None
            if coord.u_chance() < coord.read_all_chance:
                fanout = "all"
                if coord.replica_choice != "preference":  # the subset's draws, as the plain protocol
                    coord._subset(range(self.r), self.r)  # noqa: SLF001  takes them (so do all N reads)
        return self._choose(coord, key, prefs, fanout, self.r, self.pr, local)

    # -- writes ------------------------------------------------------------------------------------
    def send_write(self, coord: Coordinator, op: WriteOp, local: int) -> None:
        plan: Plan = op.targets  # type: ignore[assignment]
        if not coord._up():  # noqa: SLF001
            coord.fail(op)
            return
        hinted_now = 0
        if self.write_any:
            assert self.hints is not None
            for owner in plan.prefs:
                if owner not in plan and self.hints.coordinator_hint(coord.endpoint, owner, op):
                    hinted_now += 1
            if not plan and not hinted_now:
                coord.fail(op)
                return
        elif len(plan) < self.w or plan.primaries < self.pw:
            coord.fail(op)
            return
        send, nodes, stamp, src = self.network.send, self.nodes, op.stamp, coord.endpoint
        extra = coord.remote_extra_ms
        ack = coord._on_ack  # noqa: SLF001
        # return_body (on while contexts are): each replica's state right after the apply comes back
        # with its ack, and the coordinator merges it into the reply, as for strict writes
        body = coord.contexts is not None
        if body:
            op.at_replica = {}
        at_owner = coord._write_at if body else None  # noqa: SLF001
        for dst, owner in zip(plan, plan.owners, strict=True):
            x = 0.0 if dst == local or extra == 0.0 else extra
            if dst == owner:
                send(src, dst, "W", op, stamp, nodes[dst].on_write if at_owner is None else at_owner, ack, x)
            else:
                send(src, dst, "W", op, stamp, partial(self._on_hinted_write, owner), ack, x)
        if self.coordinator_hints and plan:
            call_at(self.env, coord.write_timeout_ms, self._timeout_hints, op)
        if hinted_now and not op.done:
            op.acks += 1  # Cassandra's ANY: the stored hint is the ack
            if self.members is not None:  # the hint's holder acknowledged, as a stand-in
                self.members.append(op.op_id, coord.endpoint, 1)
            coord.commit_write(op)

    def _on_hinted_write(self, owner: int, msg: Message) -> None:
        """A fallback receives a hinted write: store it, note the hint, ack (value = the owner)."""
        node = self.nodes[msg.dst]
        op = msg.op
        node.apply(op.key, msg.value, VIA_HINT)
        if op.at_replica is not None and not op.done:  # return_body: the fallback's state comes back too
            op.at_replica[node.node_id] = node.store.get(op.key)
        if self.hints is not None:
            self.hints.fallback_stored(node, owner, op)
        assert msg.reply is not None
        self.network.send(node.node_id, msg.src, "A", op, owner, msg.reply, None, msg.extra_ms)

    def _tally(self, op: WriteOp | ReadOp, src: int, fallback: bool) -> Plan:
        """Count one ack or response from ``src`` as a primary's or a fallback's (and record it)."""
        plan: Plan = op.targets  # type: ignore[assignment]
        if fallback:
            plan.fallback += 1
        else:
            plan.primary += 1
        if self.members is not None:
            self.members.append(op.op_id, src, int(fallback))
        return plan

    def ack_ready(self, op: WriteOp, msg: Message) -> bool:
        if op.done:
            return False
        plan = self._tally(op, msg.src, msg.value is not None)
        if op.acks >= op.need and plan.primary >= self.pw:
            if plan.fallback:
                self.ops_table.append(op.op_id, WRITE, plan.primary, plan.fallback)
            if self.coordinator_hints:
                assert self.hints is not None
                for owner in plan.prefs:
                    if owner not in plan:
                        self.hints.coordinator_hint(op.coordinator.endpoint, owner, op)
            return True
        return False

    def _timeout_hints(self, op: WriteOp) -> None:
        if not (op.status == OK or self.write_any):  # committed, or ANY
            return
        assert self.hints is not None
        acked = set(op.acked_by)
        for t in op.targets:
            if t not in acked:
                self.hints.coordinator_hint(op.coordinator.endpoint, t, op)

    # -- reads -------------------------------------------------------------------------------------
    def response_ready(self, op: ReadOp, msg: Message) -> bool:
        plan: Plan = op.targets  # type: ignore[assignment]
        # a node that is not a primary answers as a fallback; so does a primary answering a second
        # time (Riak's partition walk sent it a second request, standing in for another primary)
        src = msg.src
        self._tally(op, src, src not in plan.prefs or any(n == src for n, _ in op.replies[:-1]))
        if op.count >= op.need and plan.primary >= self.pr:
            if plan.fallback:
                self.ops_table.append(op.op_id, READ, plan.primary, plan.fallback)
            return True
        return False


def enabled(scenario: Scenario) -> bool:
    c = scenario.cluster
    return (c.sloppy_quorum or scenario.failure_detector.mode != "off"
            or scenario.hinted_handoff.store == "coordinator" or c.write_any)


class SloppyMechanism:
    """Sloppy quorums, PW / PR, ANY and detector-aware strict quorums (:class:`SloppyPlacement`)."""

    name = "sloppy_quorum"
    requires: tuple[str, ...] = ("env", "nodes", "network", "history", "ring", "coordinators")
    tables: tuple[TableSpec, ...] = (SLOPPY_OPS_TABLE, MEMBERS_TABLE)
    moves_data = True  # hinted copies land on nodes that are not replicas
    needs: tuple[str, ...] = ("failure_detector",)

    def enabled(self, scenario: Scenario) -> bool:
        return enabled(scenario)

    def install(self, model: Model, streams: Streams) -> SloppyPlacement:
        fd = model.dependency(self, "failure_detector")
        sc = model.scenario
        placement = SloppyPlacement(
            model.env, sc.cluster, model.ring, model.nodes, model.network, model.history, fd,
            coordinator_hints=sc.hinted_handoff.store == "coordinator",
        )
        for coord in model.coordinators.values():
            # it chooses the targets (and sends writes) and decides quorums ack by ack: PW/PR, ANY
            coord.plug("placement", self.name, placement)
            coord.plug("quorum", self.name, placement)
        return placement


MECHANISM = SloppyMechanism()
