"""Coordinators: the quorum write and read protocols, per-operation timeouts.

Owns: turning a client's request into messages to replicas and a result: a write gets the key's next
``seq`` and a timestamp from the coordinator's clock, goes to all N replicas of the key's preference
list (``write_fanout = "all"``) or to W of them (``"quorum"``: a uniformly random W-subset — the PBS
non-expanding quorum — or the first W of the preference list, per ``replica_choice``), and commits at
the W-th ack; a read goes to all N (or R) replicas and returns the newest of the FIRST R responses.
Each replica answers with its state when the request arrives (the WARS model). An operation that has
not gathered W acks / R responses by its timeout fails with status ``timeout``; partial writes are
never rolled back. Every operation is one row of the history's ``ops`` table.
Must not touch: replica state (nodes apply writes themselves), latencies (the network), metrics.

Who coordinates (``cluster.coordinator``): ``"client"`` — one external client-side coordinator,
endpoint ``CLIENT`` (-1), so W/A/R/S are client <-> replica delays exactly as in WARS; ``"random"`` —
a node chosen uniformly per operation; ``"first-replica"`` — the key's first preferred node. A node
coordinator that is down when an operation arrives fails it at once (status ``failed``).

WAN profiles (``profile.remote_extra_ms > 0``): per operation one of the key's N replicas, chosen
uniformly, is local to the coordinator; every other replica's request and reply get the extra delay.

The request path (issue 19)
---------------------------
An operation passes named stages, in this order (docs/design.md, "The request path"):

1. ``targets`` -- target selection: the key's preference list, the fan-out (``all`` / ``quorum``) and
   the replica choice. Slots: ``placement`` (one owner: a :class:`Placement` that chooses targets and
   sends writes itself; sloppy quorums) and ``read_all_chance`` (one owner: read repair's chance).
2. ``stamp`` -- what a write carries: slots ``timestamp`` (one owner: clocks) and ``contexts`` (one
   owner: causality's session contexts).
3. ``issue`` -- list ``read_issued``: ``fn(coord, op)`` after a read's requests are sent (speculative
   retry arms its timer here and sends more requests with :meth:`Coordinator.send_read`).
4. ``quorum`` -- the quorum condition: slot ``quorum`` (one owner; None = the level's requirement:
   the count ``op.need``, the ``Requirement.block_for`` of a count level, :func:`requirement_count`,
   or on a topology a DC-aware :class:`~pbs_sim.sim.layout.Need` tallied per datacenter, see
   "Datacenters" below), or a condition that decides ack by ack / response by response
   (``ack_ready`` / ``response_ready``: PW/PR, ANY).
5. ``reply`` -- lists ``on_ack`` (``fn(coord, op, msg)`` for every write ack, after commit and after
   the timeout too, before the quorum test: the ideal-level counterfactual, ``pbs_sim.sim.ideal_cl``),
   ``read_hooks`` (read repair, at the quorum and for late replies), ``on_quorum`` (recorders at the
   quorum) and ``on_commit`` (recorders at a write's commit), run in the order their mechanisms were
   installed (the registry order, ``pbs_sim.mechanisms``).

Mechanisms contribute only through :meth:`Coordinator.plug` (``plug(slot, by=name, value)``): a slot
already owned by another mechanism is a :class:`StageConflict`, so no mechanism overwrites another's
contribution; list contributions compose in installation order. ``coord.contributions`` records who
contributed what (slot -> mechanism names).

Datacenters (``[topology]``; :mod:`pbs_sim.sim.datacenters` configures the coordinators)
----------------------------------------------------------------------------------------
A coordinator sits in one datacenter. Its level's requirement for that datacenter is compiled once
(``compile_need``): a count keeps today's path (``op.need`` is the count; nothing is tallied per
datacenter), anything else sets ``op.need = -1`` and the coordinator's ``r_need`` / ``w_need``
decide: each ack or response adds one to ``op.tally[dc of its sender]`` and ``Need.met(count,
tally)`` is the quorum test. Targets then come from ``dc_targets`` (a
:class:`~pbs_sim.sim.datacenters.DCTargets`: writes to every replica, reads to every replica or
the local ones for LOCAL_* levels, or with fan-out ``quorum`` just as many as the requirement
needs, nearest datacenters first).

Extension points
----------------
- **Read repair** plugs in through ``coordinator.read_hooks`` (a list of :class:`ReadHook`):
  ``on_quorum(coord, op)`` runs when the R-th response arrives, before the read completes; ``op.replies``
  holds ``(node, stamp)`` for every reply so far and ``op.best`` the newest stamp among the first R.
  Return True to defer completion (blocking repair) and call ``coord.complete_read(op)`` later.
  ``on_late(coord, op, node, stamp)`` runs for each reply that arrives after the R-th response (or
  after the read timed out: check ``op.status``); the hook applies its own window, e.g.
  ``env.now - op.quorum_at <= window_ms``. Stale responders are those whose stamp is older than
  ``op.best`` (or None). Repairs are sent with ``network.send(coord.endpoint, node, "repair", op,
  stamp, handler)`` and applied with ``node.apply(key, stamp, VIA_REPAIR)``.
- **Read-repair chance**: ``coordinator.read_all_chance`` — with this probability a read goes to all N
  even when ``read_fanout = "quorum"``.
- **Target choice** (sloppy quorums, hinted handoff): override or wrap :meth:`Coordinator.write_targets`
  / :meth:`Coordinator.read_targets` (they return ``(targets, local)``).
- **Placement** (``coordinator.placement``, a :class:`Placement`; None = the plain protocol above):
  chooses targets instead of ``write_targets`` / ``read_targets``, sends the write itself
  (``send_write``: hinted copies to fallbacks, coordinator hints, ANY) and decides, ack by ack and
  response by response, when a write may commit and a read has its quorum (``ack_ready`` /
  ``response_ready``: Riak's PW / PR). Used by ``pbs_sim.sim.sloppy`` (sloppy quorums and
  failure-detector-aware strict quorums). It finishes operations with :meth:`Coordinator.commit_write`
  and :meth:`Coordinator.fail`.
- ``coordinator.on_commit``: list of ``fn(op)`` run when a write commits.
- ``coordinator.on_quorum``: list of ``fn(op)`` run when a read has its quorum, right after the read
  hooks' ``on_quorum`` and before the read completes (a recorder that needs no late replies).
- ``coordinator.clock_offset_ms``: added to timestamps (a constant skew; 0 = perfect clocks).
- ``coordinator.timestamp``: None (timestamps are the coordinator's clock: ``now + clock_offset_ms``)
  or ``fn(op_id, client, now) -> timestamp_ms`` (``pbs_sim.sim.clocks``: skewed, drifting, jumping
  node or client clocks).
- ``coordinator.contexts``: None, or the run's :class:`~pbs_sim.sim.versioning.SessionContexts`
  (``pbs_sim.sim.causality``): a read's returned versions, and a write's reply, are learnt by its
  client's session, and a write records its causal parents. ``write(..., context=state)``: the state
  this one write is based on -- the read a read-modify-write made, or an earlier write's reply
  (``op.returned``) -- as a store passes it, per operation; None: a blind write, no context. Sibling
  policies build the new version's causal context from exactly that state.
- Write replies (Riak's ``return_body``; on while ``contexts`` is installed): every replica the write
  reaches records its state right after applying it, and each ack merges that state into
  ``op.reply``; what the client has at commit is the merge over the W acks (``op.returned``).

Versions. Every comparison goes through ``coordinator.policy`` (``pbs_sim.sim.versioning``): the
stamp a write carries is ``policy.new_version(...)``, a read's best response is the ``policy.merge``
of the first R responses, and the history records ``policy.version(best)`` (and, when a read
returns more than one version, every one of them in the ``read_versions`` table).
- ``op.on_done``: a callback ``fn(op)`` when the operation completes or fails (used by closed
  workloads and the pbs-probe workload).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from ..distributions import BufferedSampler
from ..history import FAILED, OK, READ, TIMEOUT, WRITE, History
from .events import BareEvent, schedule_at
from .network import CLIENT, Message, Network
from .versioning import DEFAULT_POLICY, SessionContexts, Stamp, VersionCounter, VersioningPolicy

if TYPE_CHECKING:
    from ..levels import Requirement
    from .datacenters import DCTargets
    from .layout import Need

if TYPE_CHECKING:
    from .node import Node
    from .ring import Ring

INF = float("inf")

#: The stages of the request path, in the order an operation passes them, and each stage's contribution
#: points: a slot (one owner) or a list (contributions composed in installation order).
STAGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("targets", (("placement", "slot"), ("read_all_chance", "slot"))),
    ("stamp", (("timestamp", "slot"), ("contexts", "slot"))),
    ("issue", (("read_issued", "list"),)),
    ("quorum", (("quorum", "slot"),)),
    ("reply", (("on_ack", "list"), ("read_hooks", "list"), ("on_quorum", "list"), ("on_commit", "list"))),
)
_POINTS: dict[str, str] = {point: kind for _, points in STAGES for point, kind in points}


class StageConflict(RuntimeError):
    """Two mechanisms claim one slot of the request path (a programming error)."""


def requirement_count(req: Requirement) -> int:
    """The replies a coordinator waits for under a count requirement ``req`` (a level's requirement,
    :mod:`pbs_sim.levels`): its ``block_for``. DC-local and each-DC parts are not a count: they are
    compiled for the coordinator's datacenter (``pbs_sim.sim.layout.compile_need``) and tallied per
    datacenter (:meth:`Coordinator.set_needs`); asking for their count is a programming error.
    ``hint_ok`` (ANY) is a count of 1 whose hint acceptance is the ``quorum`` slot's
    (``pbs_sim.sim.sloppy``)."""
    if not req.is_count:
        raise ValueError(f"level {req.level}: a DC-local or each-DC requirement is no count; compile it "
                         "with pbs_sim.sim.layout.compile_need for the coordinator's datacenter")
    return req.total


class WriteOp:
    __slots__ = (
        "op_id", "key", "seq", "stamp", "client", "coordinator", "issued_at", "need", "targets",
        "acks", "acked_by", "done", "completed_at", "status", "on_done", "reply", "at_replica", "tally",
    )
    tally: list[int]  # acks per datacenter: set only under a DC-aware need (Coordinator.set_needs)

    def __init__(self, op_id: int, key: int, seq: int, stamp: Stamp, client: int, coordinator: Coordinator,
                 issued_at: float, need: int, targets: Sequence[int]) -> None:
        self.op_id = op_id
        self.key = key
        self.seq = seq
        self.stamp = stamp
        self.client = client
        self.coordinator = coordinator
        self.issued_at = issued_at
        self.need = need
        self.targets = targets
        self.acks = 0
        self.acked_by: list[int] = []
        self.done = False
        self.completed_at = INF
        self.status = 0
        self.on_done: Callable[[Any], None] | None = None
        # return_body: the merge of the states the acknowledging replicas held right after applying
        # the write (None until the first such ack; see Coordinator.write)
        self.reply: Any = None
        self.at_replica: dict[int, Any] | None = None  # replica -> its state after the apply, until its ack

    @property
    def kind(self) -> str:
        return "write"

    @property
    def returned(self) -> Any:
        """What the write's reply hands the client (Riak's ``return_body``): the merged state of the
        replicas that acknowledged it by its commit (sloppy quorums' fallbacks included), or, where no
        replica state came back (an ANY write committed on a coordinator hint), the version it made."""
        return self.stamp if self.reply is None else self.reply

    def expire(self, at: float) -> None:
        self.coordinator.expire(self, at)


class ReadOp:
    __slots__ = (
        "op_id", "key", "client", "coordinator", "issued_at", "need", "targets", "count", "best",
        "replies", "done", "quorum_at", "completed_at", "status", "on_done", "local", "tally",
    )
    tally: list[int]  # responses per datacenter: set only under a DC-aware need (Coordinator.set_needs)

    def __init__(self, op_id: int, key: int, client: int, coordinator: Coordinator, issued_at: float,
                 need: int, targets: Sequence[int]) -> None:
        self.op_id = op_id
        self.key = key
        self.client = client
        self.coordinator = coordinator
        self.issued_at = issued_at
        self.need = need
        self.targets = targets
        self.count = 0
        self.best: Any = None  # the policy's merge of the responses so far (None: nothing yet)
        self.replies: list[tuple[int, Stamp | None]] = []
        self.done = False
        self.quorum_at = INF
        self.completed_at = INF
        self.status = 0
        self.on_done: Callable[[Any], None] | None = None
        self.local = -2  # the WAN-local replica (set only when an ``issue``-stage contribution needs it)

    @property
    def kind(self) -> str:
        return "read"

    @property
    def version(self) -> int:
        return self.coordinator.policy.version(self.best)

    def expire(self, at: float) -> None:
        self.coordinator.expire(self, at)


Op = WriteOp | ReadOp


class ReadHook(Protocol):
    def on_quorum(self, coord: Coordinator, op: ReadOp) -> bool:
        """At the R-th response; True defers completion (the hook completes the read later)."""
        ...

    def on_late(self, coord: Coordinator, op: ReadOp, node: int, stamp: Stamp | None) -> None:
        """A reply that arrived after the read completed."""
        ...


class Placement(Protocol):
    """Target choice and quorum accounting beyond the plain protocol (``coordinator.placement``)."""

    def write_targets(self, coord: Coordinator, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        ...

    def read_targets(self, coord: Coordinator, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        ...

    def send_write(self, coord: Coordinator, op: WriteOp, local: int) -> None:
        """Send (or fail, or commit at once) a write whose op is registered and whose timeout runs."""
        ...

    def ack_ready(self, op: WriteOp, msg: Message) -> bool:
        """Called on every ack (``op.acks`` already counts it); True: the write may commit now."""
        ...

    def response_ready(self, op: ReadOp, msg: Message) -> bool:
        """Called on every response before the quorum (``op.count`` counts it); True: quorum."""
        ...


class Deadlines:
    """Operation timeouts with about one SimPy event per timeout period, not one per operation.

    Deadlines of one kind are issued in time order (constant timeout), so they queue in a deque;
    any out-of-order deadline goes to a heap. One timer event is armed for the earliest deadline
    of a still-pending operation; when it fires, finished operations are skipped and pending ones
    whose deadline has passed expire. Also counts outstanding operations and fires ``on_idle``
    callbacks when the count drops to zero.

    Staleness is decided by identity, never by comparing times: a timer superseded by an earlier one
    is recognised because it is no longer ``self._timer``. SimPy lands a timer at ``now + (at -
    now)``, which can be one ulp before ``at``; the old test ``now < armed_at`` took such a timer for
    a stale one and dropped it, and with nothing left to re-arm it the pending operations never
    expired. Timers are armed with :func:`~pbs_sim.sim.events.schedule_at`, so they land on the
    deadline itself; and should one still land early, the timer that fires expires everything due by
    the deadline it was armed for (or by ``now``, if later), not only what is due by ``now``.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._fifo: deque[tuple[float, Op]] = deque()
        self._heap: list[tuple[float, int, Op]] = []
        self._seq = 0
        self._armed_at = INF
        self._timer: BareEvent | None = None  # the one live timer; any other that fires is stale
        self._callbacks = (self._fire,)
        self.outstanding = 0
        self.on_idle: list[Callable[[], None]] = []

    def add(self, deadline: float, op: Op) -> None:
        self.outstanding += 1
        fifo = self._fifo
        if not fifo or fifo[-1][0] <= deadline:
            fifo.append((deadline, op))
            if len(fifo) & 1023 == 0:
                # drop finished operations from the head now and then, so memory holds only the
                # operations still in flight rather than everything issued within one timeout
                while fifo and fifo[0][1].done:
                    fifo.popleft()
        else:
            self._seq += 1
            heappush(self._heap, (deadline, self._seq, op))
        if deadline < self._armed_at:
            self._arm(deadline)

    def finished(self) -> None:
        """One operation completed or failed."""
        self.outstanding -= 1
        if self.outstanding == 0 and self.on_idle:
            for fn in self.on_idle:
                fn()

    def _arm(self, at: float) -> None:
        self._armed_at = at
        self._timer = timer = BareEvent(self._callbacks)
        schedule_at(self.env, timer, at)

    def _fire(self, event: Any) -> None:
        if event is not self._timer:  # a stale timer superseded by an earlier one
            return
        now = self.env._now  # noqa: SLF001
        # the timer may land an ulp before the deadline it was armed for: that deadline is due too
        due = self._armed_at if self._armed_at > now else now
        self._timer = None
        self._armed_at = INF
        fifo, heap = self._fifo, self._heap
        while fifo and (fifo[0][1].done or fifo[0][0] <= due):
            _, op = fifo.popleft()
            if not op.done:
                op.expire(now)
        while heap and (heap[0][2].done or heap[0][0] <= due):
            _, _, op = heappop(heap)
            if not op.done:
                op.expire(now)
        nxt = min(fifo[0][0] if fifo else INF, heap[0][0] if heap else INF)
        if nxt < INF:
            self._arm(nxt)


class Coordinator:
    """Runs quorum writes and reads for one coordinating endpoint (``CLIENT`` or a node id)."""

    def __init__(
        self,
        endpoint: int,
        env: simpy.Environment,
        network: Network,
        ring: Ring,
        nodes: Sequence[Node],
        history: History,
        versions: VersionCounter,
        deadlines: Deadlines,
        *,
        n: int,
        r: int,
        w: int,
        read_fanout: str = "all",
        write_fanout: str = "all",
        replica_choice: str = "random",
        read_timeout_ms: float = 10_000.0,
        write_timeout_ms: float = 10_000.0,
        uniform: BufferedSampler | None = None,
        local_uniform: BufferedSampler | None = None,
        chance_uniform: BufferedSampler | None = None,
        remote_extra_ms: float = 0.0,
        policy: VersioningPolicy = DEFAULT_POLICY,
    ) -> None:
        self.endpoint = endpoint
        self.env = env
        self.network = network
        self.ring = ring
        self.nodes = nodes
        self.history = history
        self.versions = versions
        self.deadlines = deadlines
        self.n, self.r, self.w = n, r, w
        self.read_fanout = read_fanout
        self.write_fanout = write_fanout
        self.replica_choice = replica_choice
        self.read_timeout_ms = read_timeout_ms
        self.write_timeout_ms = write_timeout_ms
        # U(0,1) draws, one stream per purpose (build: "replica-choice", "wan-local",
        # "read-repair-chance"), so read repair's chance leaves the subsets as they were; a
        # coordinator built with only ``uniform`` draws all three from it
        self.uniform = uniform  # replica subsets
        self.u_local = local_uniform if local_uniform is not None else uniform  # the WAN-local replica
        self.u_chance = chance_uniform if chance_uniform is not None else uniform  # read-repair chance
        self.remote_extra_ms = remote_extra_ms
        self.read_all_chance = 0.0
        self.clock_offset_ms = 0.0
        self.policy = policy
        self.timestamp: Callable[[int, int, float], float] | None = None
        self.contexts: SessionContexts | None = None
        self.read_hooks: list[ReadHook] = []
        self.on_ack: list[Callable[[Coordinator, WriteOp, Message], None]] = []
        self.on_commit: list[Callable[[WriteOp], None]] = []
        self.on_quorum: list[Callable[[ReadOp], None]] = []
        self.read_issued: list[Callable[[Coordinator, ReadOp], None]] = []
        self.placement: Placement | None = None
        self.quorum: Placement | None = None  # None: the count op.need
        self.contributions: dict[str, list[str]] = {}
        # datacenters (set_needs): this coordinator's datacenter (index; 0 on a flat cluster) and its
        # DC-aware requirements, None = the counts r and w
        self.dc = 0
        self.r_need: Need | None = None
        self.w_need: Need | None = None
        self._rn, self._wn = r, w  # what op.need starts at: the count, or -1 (a DC-aware need)
        self._node_dc: Sequence[int] = ()
        self._n_dc = 1
        self.dc_targets: DCTargets | None = None
        self._send = network.send
        self._fanout = network.fanout
        self._writers = [nd.on_write for nd in nodes]  # request handlers by node id, bound once
        self._readers = [nd.on_read for nd in nodes]
        self._answered = history.answered_counts()
        self._ack = self._on_ack
        self._resp = self._on_response

    def set_needs(self, dc: int, read: Need, write: Need, node_dc: Sequence[int], n_dc: int,
                  targets: DCTargets) -> None:
        """Datacenters: this coordinator's read and write requirements compiled for its datacenter
        (``pbs_sim.sim.layout.compile_need``), each node's datacenter, and its target choice. A count
        need keeps today's path (``op.need`` the count); others are tallied per datacenter."""
        self.dc = dc
        self.r, self.w = read.block_for, write.block_for
        self.r_need = None if read.is_count else read
        self.w_need = None if write.is_count else write
        self._rn = self.r if read.is_count else -1
        self._wn = self.w if write.is_count else -1
        self._node_dc, self._n_dc = node_dc, n_dc
        self.dc_targets = targets

    # -- the request path's contribution points ---------------------------------------------------
    def plug(self, point: str, by: str, value: Any) -> None:
        """Mechanism ``by`` contributes ``value`` to ``point`` of the request path (:data:`STAGES`): a
        slot takes one owner (a second is a :class:`StageConflict`); a list appends, so contributions
        run in the order their mechanisms were installed."""
        kind = _POINTS.get(point)
        if kind is None:
            raise StageConflict(f"{by!r} plugs into {point!r}, which is no point of the request path "
                                f"({', '.join(_POINTS)})")
        owners = self.contributions.setdefault(point, [])
        if kind == "slot":
            if owners and owners[0] != by:
                raise StageConflict(f"{by!r} cannot take the {point!r} slot: mechanism {owners[0]!r} owns it")
            if not owners:
                owners.append(by)
            setattr(self, point, value)
        else:
            owners.append(by)
            getattr(self, point).append(value)

    # -- target choice ------------------------------------------------------------------------
    def _subset(self, prefs: Sequence[int], k: int) -> list[int]:
        """``k`` of ``prefs`` uniformly at random (partial Fisher-Yates on buffered uniforms)."""
        pool = list(prefs)
        u = self.uniform
        assert u is not None, "random replica choice needs a uniform sampler"
        m = len(pool)
        for i in range(k):
            j = i + int(u() * (m - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def _local(self, prefs: Sequence[int]) -> int:
        if self.remote_extra_ms <= 0.0:
            return -2
        assert self.u_local is not None
        return prefs[int(self.u_local() * len(prefs))]

    def write_targets(self, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        """(replicas to send the write to, the WAN-local replica or -2)."""
        if self.dc_targets is not None:
            return self.dc_targets.write(self, prefs), -2
        local = self._local(prefs)
        if self.write_fanout == "all":
            return prefs, local
        if self.replica_choice == "preference":
            return prefs[: self.w], local
        return self._subset(prefs, self.w), local

    def read_targets(self, key: int, prefs: Sequence[int]) -> tuple[Sequence[int], int]:
        if self.dc_targets is not None:
            return self.dc_targets.read(self, prefs), -2
        local = self._local(prefs)
        if self.read_fanout == "all":
            return prefs, local
        # the R-subset is drawn even for a read the chance sends to all N, so read repair's chance
        # takes no draw from the replica-choice stream: every other operation's subset stays put
        chosen = prefs[: self.r] if self.replica_choice == "preference" else self._subset(prefs, self.r)
        if self.read_all_chance > 0.0:
            assert self.u_chance is not None
            if self.u_chance() < self.read_all_chance:
                return prefs, local
        return chosen, local

    def _up(self) -> bool:
        return self.endpoint < 0 or self.nodes[self.endpoint].up

    # -- writes -------------------------------------------------------------------------------
    def write(
        self, client: int, key: int, on_done: Callable[[Any], None] | None = None, context: Any = None,
        update_of: int | None = None, value: str | None = None,
    ) -> WriteOp:
        """Issue a write of ``key`` now; the op commits at the W-th ack. ``context``: the state this
        write is based on (a read's ``op.best``, an earlier write's ``op.returned``; None: blind).
        ``update_of``: the op id of the read this write updates (read-modify-write clients).
        ``value``: the value it writes (scripted workloads); None = the default ``client:seq``
        (``pbs_sim.keys``), which costs nothing to record."""
        env = self.env
        now = env._now  # noqa: SLF001
        seq = self.versions.next(key)
        prefs = self.ring.preference_list(key)
        placement = self.placement
        if placement is None:
            targets, local = self.write_targets(key, prefs)
        else:
            targets, local = placement.write_targets(self, key, prefs)
        op_id = self.history.add_op(client, key, WRITE, self.endpoint, now, len(targets))
        self.history.set_version(op_id, seq)
        if value is not None:
            self.history.set_value(op_id, value)
        ts = now + self.clock_offset_ms if self.timestamp is None else self.timestamp(op_id, client, now)
        # the context is this operation's own (its read, or a reply it names), never the session's
        # pooled knowledge: two overlapping operations of one client do not share what they read
        stamp = self.policy.new_version(key, seq, ts, self.endpoint, context, client=client)
        contexts = self.contexts
        if contexts is not None:
            contexts.record(client, key, op_id, seq, context, getattr(self.policy, "implied", ()))
            if update_of is not None:
                contexts.update(op_id, update_of)
        op = WriteOp(op_id, key, seq, stamp, client, self, now, self._wn, targets)
        if self._wn < 0:  # a DC-aware need: acks tallied per datacenter
            op.tally = [0] * self._n_dc
        op.on_done = on_done
        self.deadlines.add(now + self.write_timeout_ms, op)
        if placement is not None:
            placement.send_write(self, op, local)
            return op
        if not self._up() or len(targets) < self.w:
            self._finish(op, now, FAILED)
            return op
        extra = self.remote_extra_ms
        if contexts is not None:  # return_body: the replicas' states come back with their acks
            op.at_replica = {}
            at = self._write_at
            self._fanout(self.endpoint, targets, "W", op, op.stamp, [at] * len(self.nodes), self._ack,
                         None if extra == 0.0 else [0.0 if d == local else extra for d in targets])
            return op
        self._fanout(self.endpoint, targets, "W", op, op.stamp, self._writers, self._ack,
                     None if extra == 0.0 else [0.0 if d == local else extra for d in targets])
        return op

    def _write_at(self, msg: Message) -> None:
        """A write reaches a replica (return_body): the replica applies and acks it, and its state right
        after the apply is what its ack carries back."""
        node = self.nodes[msg.dst]
        node.on_write(msg)
        op: WriteOp = msg.op
        if op.at_replica is not None and not op.done:
            op.at_replica[msg.dst] = node.store.get(op.key)

    def _on_ack(self, msg: Message) -> None:
        op: WriteOp = msg.op
        op.acks += 1
        op.acked_by.append(msg.src)
        at = op.at_replica
        if at is not None and not op.done:
            state = at.pop(msg.src, None)
            merged = self.policy.merge(op.reply, state)
            if merged is not None:
                op.reply = merged
        self._answered[op.op_id] += 1  # history.answered(op.op_id), without the call
        if self.on_ack:
            for fn in self.on_ack:
                fn(self, op, msg)
        quorum = self.quorum
        if quorum is not None:
            if quorum.ack_ready(op, msg) and not op.done:
                self.commit_write(op)
            return
        need = op.need
        if need > 0:
            if op.acks == need and not op.done:
                self.commit_write(op)
            return
        tally = op.tally
        tally[self._node_dc[msg.src]] += 1
        w_need = self.w_need
        assert w_need is not None
        if not op.done and w_need.met(op.acks, tally):
            self.commit_write(op)

    def commit_write(self, op: WriteOp) -> None:
        """The write has its quorum: finish it now and run ``on_commit``."""
        self._finish(op, self.env._now, OK)  # noqa: SLF001
        for fn in self.on_commit:
            fn(op)

    def fail(self, op: Op) -> None:
        """Fail an operation at once (status ``failed``: no quorum could be asked)."""
        if not op.done:
            self._finish(op, self.env._now, FAILED)  # noqa: SLF001

    # -- reads --------------------------------------------------------------------------------
    def read(self, client: int, key: int, on_done: Callable[[Any], None] | None = None) -> ReadOp:
        """Issue a read of ``key`` now; it returns the newest of the first R responses."""
        now = self.env._now  # noqa: SLF001
        prefs = self.ring.preference_list(key)
        if self.placement is None:
            targets, local = self.read_targets(key, prefs)
        else:
            targets, local = self.placement.read_targets(self, key, prefs)
        op_id = self.history.add_op(client, key, READ, self.endpoint, now, len(targets))
        op = ReadOp(op_id, key, client, self, now, self._rn, targets)
        if self._rn < 0:  # a DC-aware need: responses tallied per datacenter
            op.tally = [0] * self._n_dc
        op.on_done = on_done
        self.deadlines.add(now + self.read_timeout_ms, op)
        if not self._up() or len(targets) < self.r:
            self._finish(op, now, FAILED)
            return op
        extra = self.remote_extra_ms
        self._fanout(self.endpoint, targets, "R", op, None, self._readers, self._resp,
                     None if extra == 0.0 else [0.0 if d == local else extra for d in targets])
        if self.read_issued:
            op.local = local
            for fn in self.read_issued:
                fn(self, op)
        return op

    def send_read(self, op: ReadOp, dst: int) -> None:
        """Ask one more replica ``dst`` for ``op`` (the ``issue`` stage: speculative retry). Its reply is
        handled like any other: counted towards the quorum if it comes first, late otherwise."""
        extra = self.remote_extra_ms
        self.history.asked_more(op.op_id)
        self._send(self.endpoint, dst, "R", op, None, self.nodes[dst].on_read, self._resp,
                   0.0 if dst == op.local or extra == 0.0 else extra)

    def _on_response(self, msg: Message) -> None:
        op: ReadOp = msg.op
        stamp: Stamp | None = msg.value
        op.replies.append((msg.src, stamp))
        self._answered[op.op_id] += 1  # history.answered(op.op_id), without the call
        if op.done or op.quorum_at != INF:
            # a late reply: only the read hooks (read repair) want it
            if self.read_hooks:
                for hook in self.read_hooks:
                    hook.on_late(self, op, msg.src, stamp)
            return
        op.count += 1
        merged = self.policy.merge(op.best, stamp)
        if merged is not None:
            op.best = merged
        need = op.need
        if self.quorum is not None:
            ready = self.quorum.response_ready(op, msg)
        elif need > 0:
            ready = op.count == need
        else:  # a DC-aware need (set_needs)
            op.tally[self._node_dc[msg.src]] += 1
            r_need = self.r_need
            assert r_need is not None
            ready = r_need.met(op.count, op.tally)
        if ready:
            op.quorum_at = self.env._now  # noqa: SLF001
            deferred = False
            for hook in self.read_hooks:
                deferred = hook.on_quorum(self, op) or deferred
            for fn in self.on_quorum:
                fn(op)
            if not deferred:
                self.complete_read(op)

    def complete_read(self, op: ReadOp) -> None:
        """Finish a read with ``op.best`` (called at once, or later by a deferring read hook)."""
        if not op.done:
            self._finish(op, self.env._now, OK)  # noqa: SLF001

    # -- completion -----------------------------------------------------------------------------
    def _finish(self, op: Op, at: float, status: int) -> None:
        op.done = True
        op.completed_at = at
        op.status = status
        if isinstance(op, ReadOp):
            if status == OK:
                versions = self.policy.versions(op.best)
                self.history.complete(op.op_id, at, status, self.policy.version(op.best))
                if len(versions) > 1:
                    self.history.add_read_versions(op.op_id, versions)
                if self.contexts is not None:
                    self.contexts.learn(op.client, op.key, versions)
            else:
                self.history.complete(op.op_id, at, status, 0)
        else:
            self.history.complete(op.op_id, at, status)
            if status == OK and self.contexts is not None:
                op.at_replica = None  # the reply is what the client has now; later acks change nothing
                if op.reply is not None:
                    self.contexts.learn(op.client, op.key, self.policy.versions(op.reply))
        self.deadlines.finished()
        if op.on_done is not None:
            op.on_done(op)

    def expire(self, op: Op, at: float) -> None:
        """The op's timeout passed without enough replies."""
        if not op.done:
            self._finish(op, at, TIMEOUT)


__all__ = [
    "CLIENT", "STAGES", "Coordinator", "Deadlines", "Placement", "ReadHook", "ReadOp", "StageConflict", "WriteOp",
    "requirement_count",
]
