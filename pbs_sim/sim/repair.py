"""Read repair: off, asynchronous (after answering the client) or blocking (before answering).

Owns: the coordinator read hook that finds stale responders and sends them the newest version
(message kind ``"repair"``, delay from ``latency.other``), the read-repair chance (a read goes to all
N replicas with probability ``read_repair.chance`` even with ``read_fanout = "quorum"``), the window
during which late responses are still compared, and the ``repairs`` history table: one row per repair
sent ``(at, read_op, node, key, version, late, applied, applied_at)``; ``applied`` is set when the
repair changed the replica's state on delivery (a repair to a down node, or one that lost a race to a
newer write, stays 0).
Must not touch: node stores other than through ``node.apply(..., VIA_REPAIR)``, metrics.

Protocol
--------
- At the R-th response the coordinator knows ``op.best`` (newest of the first R). Every responder so
  far with an older stamp (or none) is stale.
- ``async``: repairs go out at once and the read completes at once.
- ``blocking``: if any of the first R responders is stale, the read completes only when each such
  replica has acknowledged its repair (kind ``"repair-ack"``); a lost repair leaves the read to time
  out, as in Cassandra.
- Late responses (after the R-th) are compared for ``window_ms`` after the quorum: an older one gets an
  asynchronous repair; a *newer* one means the read itself returned stale data — every responder
  older than it (the coordinator's own answer included) gets the newer version.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ..config import ReadRepairConfig, Scenario
from ..history import VIA_REPAIR
from ..rng import Streams
from .mechanism import TableSpec
from .network import Message
from .versioning import Stamp

if TYPE_CHECKING:
    from .build import Model
    from .coordinator import Coordinator, ReadOp
    from .node import Node


class _ReadState:
    __slots__ = ("newest", "sent", "pending_acks", "blocked")

    def __init__(self, newest: Stamp | None) -> None:
        self.newest = newest
        self.sent: dict[int, Stamp] = {}
        self.pending_acks = 0
        self.blocked = False


class ReadRepair:
    """A ``ReadHook`` for every coordinator (see ``pbs_sim.sim.coordinator``)."""

    def __init__(self, env: Any, cfg: ReadRepairConfig, nodes: list[Node], network: Any, history: Any) -> None:
        self.env = env
        self.cfg = cfg
        self.nodes = nodes
        self.network = network
        self.blocking = cfg.mode == "blocking"
        self.table = REPAIRS_TABLE.create(history)
        self._state: dict[int, _ReadState] = {}
        self._expiry: deque[tuple[float, int]] = deque()
        self.sent = 0
        self.applied = 0

    # -- hook ------------------------------------------------------------------------------------
    def on_quorum(self, coord: Coordinator, op: ReadOp) -> bool:
        now = self.env.now
        self._purge(now)
        st = _ReadState(op.best)
        if len(op.targets) > op.need:  # late replies may still come
            self._state[op.op_id] = st
            self._expiry.append((now + self.cfg.window_ms, op.op_id))
        if op.best is None:
            return False
        dominates = coord.policy.dominates
        stale = [n for n, s in op.replies if dominates(op.best, s)]
        if not stale:
            return False
        for node in stale:
            self._send(coord, op, node, op.best, st, late=False)
        if self.blocking:
            st.blocked = True
            return True
        return False

    def on_late(self, coord: Coordinator, op: ReadOp, node: int, stamp: Stamp | None) -> None:
        st = self._state.get(op.op_id)
        if st is None or self.env.now - op.quorum_at > self.cfg.window_ms:
            return
        dominates = coord.policy.dominates
        if dominates(stamp, st.newest):
            assert stamp is not None
            st.newest = stamp
            for n, s in op.replies:
                if n != node and dominates(stamp, s) and dominates(stamp, st.sent.get(n)):
                    self._send(coord, op, n, stamp, st, late=True)
        elif st.newest is not None and dominates(st.newest, stamp) and dominates(st.newest, st.sent.get(node)):
            self._send(coord, op, node, st.newest, st, late=True)

    # -- messages ----------------------------------------------------------------------------------
    def _send(self, coord: Coordinator, op: ReadOp, node: int, stamp: Stamp, st: _ReadState, late: bool) -> None:
        st.sent[node] = stamp
        row = self.table.append(
            float(self.env.now), op.op_id, node, op.key, coord.policy.version(stamp), int(late), 0, float("nan"),
        )
        self.sent += 1
        ack = self.blocking and not late
        if ack:
            st.pending_acks += 1
        self.network.send(coord.endpoint, node, "repair", (op, st, row, ack, coord), stamp, self._deliver)

    def _deliver(self, msg: Message) -> None:
        op, st, row, ack, coord = msg.op
        node = self.nodes[msg.dst]
        if node.apply(op.key, msg.value, VIA_REPAIR):
            cols = self.table.cols
            cols["applied"][row] = 1
            cols["applied_at"][row] = float(self.env.now)
            self.applied += 1
        if ack:
            self.network.send(msg.dst, msg.src, "repair-ack", msg.op, None, self._acked)

    def _acked(self, msg: Message) -> None:
        op, st, _row, _ack, coord = msg.op
        st.pending_acks -= 1
        if st.pending_acks == 0 and st.blocked:
            st.blocked = False
            coord.complete_read(op)

    def _purge(self, now: float) -> None:
        exp, state = self._expiry, self._state
        while exp and exp[0][0] < now:
            state.pop(exp.popleft()[1], None)


REPAIRS_TABLE = TableSpec("repairs", {
    "at": "d", "read_op": "q", "node": "i", "key": "q", "version": "q", "late": "b", "applied": "b",
    "applied_at": "d",
})


class ReadRepairMechanism:
    """Read repair on every coordinator (:class:`ReadRepair`), and the read-repair chance."""

    name = "read_repair"
    requires: tuple[str, ...] = ("env", "nodes", "network", "history", "coordinators")
    tables: tuple[TableSpec, ...] = (REPAIRS_TABLE,)
    moves_data = True

    def enabled(self, scenario: Scenario) -> bool:
        return scenario.read_repair.mode != "off"

    def install(self, model: Model, streams: Streams) -> ReadRepair:
        cfg = model.scenario.read_repair
        rr = ReadRepair(model.env, cfg, model.nodes, model.network, model.history)
        for coord in model.coordinators.values():
            coord.plug("read_hooks", self.name, rr)
            coord.plug("read_all_chance", self.name, cfg.chance)
        return rr


MECHANISM = ReadRepairMechanism()
