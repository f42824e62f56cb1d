"""Hinted handoff: hints kept by fallbacks (Dynamo, Riak) or coordinators (Cassandra), and their replay.

Owns: every hint of a run (holder, owner, key, the write it came from, when it was stored), the
replay sessions that hand hints to their owners, and the ``hints`` history table: one row per hint
event ``(at, holder, owner, key, version, op_id, action, bytes, log)`` with actions ``stored``,
``refused`` (coordinator: owner seen down longer than ``max_window_ms``), ``sent`` (a hand-off
message, ``bytes`` = ``hint_bytes``), ``delivered`` (the hinted state arrived at the owner: ``at`` is
that instant), ``expired`` (TTL), ``lost`` (its holder lost its disk first) and ``dropped`` (a
fallback deleted its hinted copy after a successful hand-off; ``owner`` -1); ``log`` is 1 for a
coordinator's hint (kept in its hint log, not in its data store), 0 for a fallback's.
Must not touch: target choice and quorum accounting (``pbs_sim.sim.sloppy``), replica state other
than ``node.apply(key, state, VIA_HINT)`` on the owner and ``node.forget(key)`` on a fallback, metrics.

What a hint carries. The payload is opaque: a fallback hands off *what it stores for the key* when
the hand-off message leaves (``node.get(key)``) — the latest of every hinted write it holds for the
key, in whatever form the node's versioning policy keeps it — and the owner takes it through
``node.apply``; a coordinator hint carries the write's own payload (``op.stamp``). Nothing here
compares versions.

Rules
-----
- ``store = "fallback"``: a fallback that stored a hinted write keeps a hint for the owner. It hands
  its hints for an owner off only while it believes the owner up (its own failure-detector view)
  *and* no hinted write for that owner has reached it for ``inactivity_timeout_ms`` (Riak's vnode
  inactivity timeout). After the owner's ack, every hint for that (owner, key) covered by the
  payload is done; when the fallback holds no more hints for the key, is not itself one of the key's
  primaries and still stores the very state it handed off, it deletes its copy (``dropped``).
- ``store = "coordinator"``: the coordinator keeps the hint (``pbs_sim.sim.sloppy`` says when). It
  refuses hints for an owner it has seen down longer than ``max_window_ms``. The client-side
  coordinator (endpoint -1) can hold hints too; it never loses its disk.
- Replay: coordinator hints as soon as the holder's detector sees the owner come back (Cassandra),
  and on a periodic sweep every ``interval_ms`` per holder; fallbacks on their sweep only (Dynamo's
  periodic scan, Riak's handoff timer), once idle for the inactivity timeout.
  A session sends the holder's hints for that owner one key at a time, spaced by
  ``hint_bytes / rate_bytes_per_s`` (the throttle), and stops when the owner looks down. A hint sent
  but not acknowledged by the next sweep is sent again.
- A hint older than ``ttl_ms`` is dropped unsent (``expired``; checked at each sweep). A holder's disk loss (``wipe``)
  destroys every hint it holds (``lost``); a crash keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config import HintedHandoffConfig, Scenario
from ..history import VIA_HINT
from ..rng import Streams
from .events import call_at
from .mechanism import TableSpec
from .network import CLIENT

if TYPE_CHECKING:
    from .build import Model
    from .coordinator import WriteOp
    from .failure_detector import FailureDetector
    from .network import Message
    from .node import Node
    from .ring import Ring

ACTIONS = ("stored", "refused", "sent", "delivered", "expired", "lost", "dropped")
STORED, REFUSED, SENT, DELIVERED, EXPIRED, LOST, DROPPED = range(len(ACTIONS))
HINTS_TABLE = TableSpec(
    "hints",
    {"at": "d", "holder": "i", "owner": "i", "key": "q", "version": "q", "op_id": "q", "action": "b", "bytes": "q",
     "log": "b"},
    {"action": ACTIONS},
)

PENDING, IN_FLIGHT = 0, 1


class Hint:
    __slots__ = ("holder", "owner", "key", "op_id", "seq", "stored_at", "payload", "state", "delivered", "sent_at")

    def __init__(self, holder: int, owner: int, key: int, op_id: int, seq: int, stored_at: float,
                 payload: Any) -> None:
        self.holder = holder
        self.owner = owner
        self.key = key
        self.op_id = op_id
        self.seq = seq
        self.stored_at = stored_at
        self.payload = payload  # coordinator hints only: the write's payload
        self.state = PENDING
        self.delivered = False
        self.sent_at = 0.0


class HintedHandoff:
    """The :class:`~pbs_sim.sim.sloppy.HintSink` of a run, with its replay sessions."""

    def __init__(self, env: Any, cfg: HintedHandoffConfig, nodes: Sequence[Node], network: Any, history: Any,
                 fd: FailureDetector, ring: Ring) -> None:
        self.env = env
        self.cfg = cfg
        self.nodes = nodes
        self.network = network
        self.fd = fd
        self.ring = ring
        self.fallback = cfg.store == "fallback"
        self._log = 0 if self.fallback else 1  # the table's ``log`` column: a coordinator's hint log
        self.table = HINTS_TABLE.create(history)
        # holder -> owner -> key -> hints (insertion order: oldest first)
        self.held: dict[int, dict[int, dict[int, list[Hint]]]] = {}
        self._last_hint_at: dict[tuple[int, int], float] = {}
        self._session: set[tuple[int, int]] = set()
        self._spacing = 1000.0 * cfg.hint_bytes / cfg.rate_bytes_per_s

    def _row(self, h: Hint, action: int, nbytes: int = 0) -> None:
        self.table.append(float(self.env.now), h.holder, h.owner, h.key, h.seq, h.op_id, action, nbytes, self._log)

    def _keep(self, h: Hint) -> None:
        self.held.setdefault(h.holder, {}).setdefault(h.owner, {}).setdefault(h.key, []).append(h)
        self._row(h, STORED)

    # -- the HintSink --------------------------------------------------------------------------------
    def fallback_stored(self, holder: Node, owner: int, op: WriteOp) -> None:
        if not self.fallback:
            return
        now = float(self.env.now)
        self._keep(Hint(holder.node_id, owner, op.key, op.op_id, op.seq, now, None))
        self._last_hint_at[(holder.node_id, owner)] = now

    def coordinator_hint(self, holder: int, owner: int, op: WriteOp) -> bool:
        now = float(self.env.now)
        h = Hint(holder, owner, op.key, op.op_id, op.seq, now, op.stamp)
        if now - self.fd.down_since(holder, owner) > self.cfg.max_window_ms:
            self._row(h, REFUSED)
            return False
        self._keep(h)
        if self.fd.up(holder, owner):
            self._schedule(holder, owner)
        return True

    # -- replay --------------------------------------------------------------------------------------
    def start(self) -> None:
        holders = [CLIENT, *range(len(self.nodes))]
        for i, h in enumerate(holders):
            # sweeps of different holders are spread over the interval (deterministically)
            offset = self.cfg.interval_ms * (1.0 + i / len(holders))
            call_at(self.env, offset, self._sweep, h)

    def _holder_up(self, holder: int) -> bool:
        return holder < 0 or self.nodes[holder].up

    def _sweep(self, holder: int) -> None:
        call_at(self.env, self.cfg.interval_ms, self._sweep, holder)
        if not self._holder_up(holder):
            return
        now = float(self.env.now)
        for owner, keys in list(self.held.get(holder, {}).items()):
            for hints in keys.values():
                for h in hints:
                    if h.state == IN_FLIGHT and now - h.sent_at >= self.cfg.interval_ms:
                        h.state = PENDING  # its hand-off (or the ack) was lost: send again
            self._expire(holder, owner)
            if owner in self.held.get(holder, {}) and self.fd.up(holder, owner):
                self._schedule(holder, owner)

    def on_view(self, observer: int, target: int, up: bool) -> None:
        """Coordinator hints replay as soon as the holder sees the owner back (Cassandra); fallbacks
        wait for their periodic sweep (Dynamo's periodic scan, Riak's handoff timer)."""
        if up and not self.fallback and target in self.held.get(observer, {}):
            self._schedule(observer, target)

    def _schedule(self, holder: int, owner: int) -> None:
        if (holder, owner) in self._session:
            return
        now = float(self.env.now)
        start = now
        if self.fallback:
            start = max(now, self._last_hint_at.get((holder, owner), -float("inf")) + self.cfg.inactivity_timeout_ms)
        self._session.add((holder, owner))
        call_at(self.env, start - now, self._step, (holder, owner))

    def _expire(self, holder: int, owner: int) -> None:
        keys = self.held.get(holder, {}).get(owner)
        if not keys:
            return
        now = float(self.env.now)
        for key in list(keys):
            left = []
            for h in keys[key]:
                if now - h.stored_at > self.cfg.ttl_ms and not h.delivered:
                    self._row(h, EXPIRED)
                else:
                    left.append(h)
            if left:
                keys[key] = left
            else:
                del keys[key]
                self._maybe_drop(holder, key, None)
        if not keys:
            del self.held[holder][owner]

    def _step(self, arg: tuple[int, int]) -> None:
        """One hand-off message of a session (holder -> owner), then the next after the throttle."""
        holder, owner = arg
        now = float(self.env.now)
        if self.fallback and now < self._last_hint_at.get((holder, owner), -float("inf")) + self.cfg.inactivity_timeout_ms:
            # a hinted write arrived meanwhile: wait for the fallback to be idle again
            self._session.discard((holder, owner))
            self._schedule(holder, owner)
            return
        keys = self.held.get(holder, {}).get(owner)
        if not keys or not self._holder_up(holder) or not self.fd.up(holder, owner):
            self._session.discard((holder, owner))
            return
        key = next((k for k, hs in keys.items() if any(h.state == PENDING for h in hs)), None)
        if key is None:  # everything is in flight: the sweep re-sends what is not acknowledged
            self._session.discard((holder, owner))
            return
        hints = [h for h in keys[key] if h.state == PENDING]
        for h in hints:
            h.state = IN_FLIGHT
            h.sent_at = now
        if self.fallback:
            # one message per key: what the fallback stores now covers every hint it holds for it
            payload = self.nodes[holder].get(key)
            self._row(hints[-1], SENT, self.cfg.hint_bytes)
            if payload is not None:
                self.network.send(holder, owner, "hint", None, (payload, hints), self._deliver)
            gap = self._spacing
        else:
            # coordinator hints: one message per hint, each with its own write's payload
            for h in hints:
                self._row(h, SENT, self.cfg.hint_bytes)
                self.network.send(holder, owner, "hint", None, (h.payload, [h]), self._deliver)
            gap = self._spacing * len(hints)
        call_at(self.env, gap, self._step, (holder, owner))

    def _deliver(self, msg: Message) -> None:
        payload, hints = msg.value
        node = self.nodes[msg.dst]
        node.apply(hints[0].key, payload, VIA_HINT)
        for h in hints:
            if not h.delivered and h.state != LOST:
                h.delivered = True
                self.table.append(float(self.env.now), h.holder, h.owner, h.key, h.seq, h.op_id, DELIVERED, 0, self._log)
        self.network.send(msg.dst, msg.src, "hint-ack", None, (payload, hints), self._acked)

    def _acked(self, msg: Message) -> None:
        payload, hints = msg.value
        holder = msg.dst
        owner, key = hints[0].owner, hints[0].key
        keys = self.held.get(holder, {}).get(owner)
        if not keys or key not in keys:
            return
        done = {id(h) for h in hints}
        left = [h for h in keys[key] if id(h) not in done]
        if left:
            keys[key] = left
            return
        del keys[key]
        if not keys:
            del self.held[holder][owner]
        self._maybe_drop(holder, key, payload if self.fallback else None)

    def _maybe_drop(self, holder: int, key: int, payload: Any) -> None:
        """A fallback deletes its hinted copy once nothing more is to be handed off from it."""
        if not self.fallback or holder < 0:
            return
        if any(key in keys for keys in self.held.get(holder, {}).values()):
            return
        if holder in self.ring.preference_list(key):
            return
        node = self.nodes[holder]
        cur = node.get(key)
        if cur is None or (payload is not None and cur is not payload):
            return  # something newer came (a repair, another hint): keep it
        node.forget(key)
        self.table.append(float(self.env.now), holder, -1, key, 0, -1, DROPPED, 0, 0)

    # -- disk loss -----------------------------------------------------------------------------------
    def on_node_state(self, node: Node, event: str) -> None:
        if event != "wipe":
            return
        owners = self.held.pop(node.node_id, {})
        for keys in owners.values():
            for hints in keys.values():
                for h in hints:
                    if not h.delivered:
                        h.state = LOST
                        self._row(h, LOST)


def enabled(scenario: Scenario) -> bool:
    return scenario.hinted_handoff.store != "off"


class HintedHandoffMechanism:
    """Hint storage and replay (:class:`HintedHandoff`)."""

    name = "hinted_handoff"
    requires: tuple[str, ...] = ("env", "nodes", "network", "history", "ring")
    tables: tuple[TableSpec, ...] = (HINTS_TABLE,)
    moves_data = True
    needs: tuple[str, ...] = ("failure_detector",)
    uses: tuple[str, ...] = ("sloppy_quorum",)  # on with sloppy quorums, coordinator hints and ANY

    def enabled(self, scenario: Scenario) -> bool:
        return enabled(scenario)

    def install(self, model: Model, streams: Streams) -> HintedHandoff:
        fd = model.dependency(self, "failure_detector")
        placement = model.dependency(self, "sloppy_quorum")
        if placement is None and model.scenario.cluster.sloppy_quorum:
            from .mechanism import MissingConnection

            raise MissingConnection("mechanism 'hinted_handoff' with sloppy quorums needs mechanism 'sloppy_quorum'")
        hh = HintedHandoff(model.env, model.scenario.hinted_handoff, model.nodes, model.network, model.history,
                           fd, model.ring)
        if placement is not None:
            placement.hints = hh
        fd.on_change.append(hh.on_view)
        for node in model.nodes:
            node.on_state.append(hh.on_node_state)
        model.on_start.append(lambda m: hh.start())
        return hh


MECHANISM = HintedHandoffMechanism()
