"""The ideal-consistency-level counterfactual (issue 19; Cassandra's ``ideal_consistency_level``).

Owns: ``consistency.ideal_write`` (a write level every write is also checked against, whatever
level it was issued at), its validation (:func:`check`), and the ``ideal_cl`` history table: one row
``op_id, at`` per write whose acknowledgements met the ideal level within its write timeout, ``at``
the instant of the ack that met it. Must not touch: the coordinator's code (everything here goes
through the request path: one ``on_ack`` contribution, which sees every ack of every write, before
the quorum test, after the commit and after the timeout too), metrics, latencies.

Semantics, as Cassandra's (``cassandra.yaml`` ``ideal_consistency_level``; the coordinator keeps a
second write-response handler for the ideal level beside the one for the requested level, fed the
same replica responses and expirations; keyspace metrics ``WriteFailedIdealCL`` and
``IdealCLWriteLatency``; docs/design.md, metric table):

- the ideal level is met at the first ack after which the acks from the key's own replicas (its
  preference list: a hinted copy at a fallback does not count, as a hint never counts towards a
  level but ANY, which is refused as an ideal level) satisfy the level's requirement, tested exactly
  as the quorum stage tests replies: ``compile_need(requirement, layout, coordinator DC).met(total,
  per_dc)`` (``pbs_sim.sim.layout``); each replica counts once;
- an ack that arrives after the write's timeout (``issued_at + cluster.write_timeout_ms``, the very
  sum the coordinator's deadline uses) no longer counts: Cassandra's handler has expired the request
  by then;
- ``write_failed_ideal_cl`` (``pbs_sim.metrics.ideal_cl``) counts the measured writes that met their
  own level (status ok) and did not meet the ideal one in time; ``ideal_cl_write_latency_*`` are the
  percentiles of ``at - issued_at`` over the measured writes that met the ideal level (whatever
  became of their own level: Cassandra records the latency when the ideal handler is signalled).

Memory: a write's counts are kept from its first ack until its timeout passes (a FIFO of deadlines
in issue order, as the write timeout is one constant), not for the whole run.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..config import Scenario
from ..errors import ConfigError
from ..rng import Streams
from .layout import Layout, Need, compile_need
from .mechanism import TableSpec

if TYPE_CHECKING:
    from ..levels import Requirement
    from .build import Model
    from .coordinator import Coordinator, WriteOp
    from .network import Message

IDEAL_TABLE = TableSpec("ideal_cl", {"op_id": "q", "at": "d"})


def _rf(sc: Scenario) -> dict[str, int]:
    return sc.topology.replication() if sc.topology.enabled else {"": sc.cluster.replication}


def requirement(sc: Scenario, local_dc: str) -> Requirement:
    """The ideal level's requirement for a coordinator in ``local_dc`` ("" on a flat cluster)."""
    from ..levels import resolve

    name = sc.consistency.ideal_write
    assert name is not None
    return resolve(name, "write", _rf(sc), local_dc if sc.topology.enabled else None)


def check(sc: Scenario) -> None:
    """One ``ConfigError`` line for an ideal level that is unknown, ANY, or one the replicas cannot
    meet from some client datacenter (e.g. LOCAL_QUORUM from a datacenter with RF 0)."""
    name = sc.consistency.ideal_write
    if name is None:
        return
    from ..levels import LevelError, canonical

    if canonical(str(name)) == "ANY":
        raise ConfigError(sc.source, "consistency.ideal_write",
                          "ANY is met by a coordinator hint, and the ideal level counts replica acknowledgements: "
                          "give a level such as ALL, QUORUM or EACH_QUORUM")
    dcs = list(sc.topology.client_weights()) if sc.topology.enabled else [""]
    for dc in dcs:
        try:
            requirement(sc, dc)
        except LevelError as exc:
            raise ConfigError(sc.source, "consistency.ideal_write", str(exc)) from None


class _Tally:
    __slots__ = ("prefs", "seen", "total", "per_dc", "deadline", "met")

    def __init__(self, prefs: frozenset[int], ndc: int, deadline: float) -> None:
        self.prefs = prefs
        self.seen: set[int] = set()
        self.total = 0
        self.per_dc = [0] * ndc
        self.deadline = deadline
        self.met = False


class IdealCL:
    """The running part: counts every write's acks against the ideal level."""

    def __init__(self, model: Model) -> None:
        sc = model.scenario
        self.ring = model.ring
        self.layout: Layout = getattr(model, "layout", None) or Layout.of(sc)
        self.timeout = sc.cluster.write_timeout_ms
        self.add_row = IDEAL_TABLE.create(model.history).append
        self._needs: dict[int, Need] = {}  # coordinator endpoint -> the level compiled for its DC
        self._scenario = sc
        self._open: dict[int, _Tally] = {}  # op_id -> counts, until met or expired
        self._order: deque[tuple[float, int]] = deque()  # (deadline, op_id) in issue order

    def need(self, endpoint: int) -> Need:
        nd = self._needs.get(endpoint)
        if nd is None:
            lay = self.layout
            dc = lay.endpoint_dc(endpoint)
            nd = self._needs[endpoint] = compile_need(requirement(self._scenario, lay.names[dc]), lay, dc)
        return nd

    def _expire(self, now: float) -> None:
        order, open_ = self._order, self._open
        while order and order[0][0] < now:
            open_.pop(order.popleft()[1], None)

    def on_ack(self, coord: Coordinator, op: WriteOp, msg: Message) -> None:
        """The ``reply`` stage (``on_ack``): every ack of every write, before the quorum test."""
        now = coord.env._now  # noqa: SLF001
        self._expire(now)
        op_id = op.op_id
        t = self._open.get(op_id)
        if t is None:
            deadline = op.issued_at + self.timeout  # the sum the coordinator's deadline uses
            if now > deadline:
                return  # the first ack came after the timeout: the ideal level was missed
            t = self._open[op_id] = _Tally(frozenset(self.ring.preference_list(op.key)), len(self.layout.names), deadline)
            self._order.append((deadline, op_id))
        elif t.met or now > t.deadline:
            return
        src = msg.src
        if src not in t.prefs or src in t.seen:
            return  # a fallback's hinted copy, or a replica already counted
        t.seen.add(src)
        t.total += 1
        t.per_dc[self.layout.node_dc[src]] += 1
        if self.need(coord.endpoint).met(t.total, t.per_dc):
            t.met = True  # kept until its deadline, so that later acks are not counted again
            self.add_row(op_id, now)


class IdealCLMechanism:
    """On when ``consistency.ideal_write`` names a level."""

    name = "ideal_cl"
    requires: tuple[str, ...] = ("env", "ring", "history", "coordinators")
    tables: tuple[TableSpec, ...] = (IDEAL_TABLE,)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return scenario.consistency.ideal_write is not None

    def install(self, model: Model, streams: Streams) -> IdealCL:
        ideal = IdealCL(model)
        for coord in model.coordinators.values():
            coord.plug("on_ack", self.name, ideal.on_ack)
        return ideal


MECHANISM = IdealCLMechanism()
