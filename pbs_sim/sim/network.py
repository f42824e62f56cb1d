"""The network: delivers each message after a latency drawn by its kind.

Owns: message objects, per-kind latency samplers, the message-drop hooks and the per-kind samples of
observed delays (for staleness monitoring). Must not touch: node state, protocol logic, metrics.

Endpoints are ints: nodes are ``0..nodes-1``; :data:`CLIENT` (-1) is the external client-side
coordinator (the PBS/WARS model: W/A/R/S are client <-> replica delays).

Kinds: ``"W"`` write request, ``"A"`` write ack, ``"R"`` read request, ``"S"`` read response draw
from the profile's W/A/R/S; any other kind (``"repair"``, ``"ae"``, ``"hint"``, ...) draws from
``latency.other`` (its own sampler per kind, all from that distribution, unless ``set_delay`` gives
the kind its own distribution).

Performance: a message is one small ``__slots__`` object pushed directly onto the SimPy heap (the
entry ``env.schedule`` would push, normal priority) with a shared callback tuple (no process, no
per-message list); when it fires, :meth:`Network._deliver` calls ``msg.handler(msg)``. Each kind's
sampler and sample list are looked up once per message (a block of them for :meth:`Network.fanout`).

Hooks (used by faults, anti-entropy, ...)
-----------------------------------------
- ``network.drop_rules``: list of ``rule(src, dst, kind) -> bool``; consulted at send time; True drops.
- ``network.deliver_rules``: same signature, consulted at delivery time (e.g. a partition that begins
  while a message is in flight).
- ``network.message_loss``: probability each message is lost (drawn from stream ``"message-loss"``).
- a message to a node whose ``up`` is False is dropped on delivery (``network.nodes`` is the node list,
  set by the model builder).
- ``network.on_drop``: list of ``fn(msg, reason)`` called for every dropped message (reason: "rule",
  "loss", "down", "deliver-rule").
- ``network.send(...)`` returns False if the message was dropped at send time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappush
from typing import Any

import numpy as np
import simpy

from ..distributions import BufferedSampler, Distribution
from ..profiles import Profile
from .events import FastEvent

CLIENT = -1
WARS_KINDS = ("W", "A", "R", "S")
SAMPLE_CAP = 200_000

Handler = Callable[["Message"], None]
DropRule = Callable[[int, int, str], bool]


class Message(FastEvent):
    """One message in flight: a bare event (``pbs_sim.sim.events``) that sits on the heap directly.

    ``op`` is the operation it belongs to (or None), ``value`` the payload, ``handler`` what the
    receiver runs on delivery, ``reply`` the handler a response should be sent to, ``extra_ms`` the
    WAN surcharge to repeat on the reply. A message is never failed, so ``_ok`` / ``_value`` (what
    SimPy's step reads) are class constants, not per-message fields.
    """

    __slots__ = ("src", "dst", "kind", "op", "value", "handler", "reply", "extra_ms")

    def __init__(
        self, src: int, dst: int, kind: str, op: Any, value: Any, handler: Handler,
        reply: Handler | None, extra_ms: float, callbacks: tuple[Callable[[Message], None], ...] = (),
    ) -> None:
        self.callbacks = callbacks
        self.src = src
        self.dst = dst
        self.kind = kind
        self.op = op
        self.value = value
        self.handler = handler
        self.reply = reply
        self.extra_ms = extra_ms

    def __repr__(self) -> str:
        return f"Message({self.kind} {self.src}->{self.dst})"


class Network:
    """Latency-by-kind message delivery on a SimPy environment."""

    def __init__(
        self,
        env: simpy.Environment,
        profile: Profile,
        other: Distribution,
        rng_for: Callable[[str], np.random.Generator],
        sample_cap: int = SAMPLE_CAP,
    ) -> None:
        self.env = env
        self.profile = profile
        self.other = other
        self._rng_for = rng_for
        self._samplers: dict[str, BufferedSampler] = {
            k: BufferedSampler(getattr(profile, k.lower()), rng_for(f"latency-{k.lower()}")) for k in WARS_KINDS
        }
        self._other_dists: dict[str, Distribution] = {}
        self.sample_cap = sample_cap
        self.samples: dict[str, list[float]] = {k: [] for k in WARS_KINDS}
        self.sent: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.nodes: list[Any] = []  # set by the builder; a node with up False drops deliveries
        self.drop_rules: list[DropRule] = []
        self.deliver_rules: list[DropRule] = []
        self.on_drop: list[Callable[[Message, str], None]] = []
        self.message_loss = 0.0
        self._loss_rng: np.random.Generator | None = None
        self._callbacks = (self._deliver,)
        self._queue: list[Any] = env._queue  # noqa: SLF001  (sim/events.py: messages go on SimPy's heap directly)
        self._eid = env._eid  # noqa: SLF001
        # per kind: (sampler, observed-delay samples), looked up once per message
        self._kinds: dict[str, tuple[BufferedSampler, list[float]]] = {}

    # -- configuration --------------------------------------------------------------------------
    def set_delay(self, kind: str, dist: Distribution) -> None:
        """Give message kind ``kind`` its own delay distribution (stream ``latency-<kind>``).

        Observed delays of the kind are recorded like any other (samples already taken are kept)."""
        self._other_dists[kind] = dist
        self._samplers[kind] = BufferedSampler(dist, self._rng_for(f"latency-{kind}"))
        self.samples.setdefault(kind, [])
        self._kinds.pop(kind, None)

    def sampler(self, kind: str) -> BufferedSampler:
        s = self._samplers.get(kind)
        if s is None:
            s = self._samplers[kind] = BufferedSampler(self.other, self._rng_for(f"latency-{kind}"))
            self.samples.setdefault(kind, [])
        return s

    # -- sending ------------------------------------------------------------------------------
    def send(
        self, src: int, dst: int, kind: str, op: Any, value: Any, handler: Handler,
        reply: Handler | None = None, extra_ms: float = 0.0,
    ) -> bool:
        """Send a message; ``handler(msg)`` runs at ``dst`` after the drawn delay (+ ``extra_ms``).

        Returns False if the message was dropped at send time (rules or loss).
        """
        sent = self.sent
        sent[kind] = sent.get(kind, 0) + 1
        if self.drop_rules or self.message_loss > 0.0:
            reason = self._send_drop(src, dst, kind)
            if reason:
                self._drop(Message(src, dst, kind, op, value, handler, reply, extra_ms), reason)
                return False
        k = self._kinds.get(kind)
        if k is None:
            k = self._kinds[kind] = (self._samplers.get(kind) or self.sampler(kind), self.samples[kind])
        sampler, samples = k
        delay = sampler() + extra_ms
        if len(samples) < self.sample_cap:
            samples.append(delay)
        # env.schedule(msg, NORMAL, delay), without the two calls
        heappush(self._queue, (self.env._now + delay, 1, next(self._eid),  # noqa: SLF001  (1: NORMAL)
                               Message(src, dst, kind, op, value, handler, reply, extra_ms, self._callbacks)))
        return True

    def fanout(
        self, src: int, dsts: Sequence[int], kind: str, op: Any, value: Any, handlers: Sequence[Handler],
        reply: Handler | None = None, extras: Sequence[float] | None = None,
    ) -> None:
        """``send(src, dsts[i], kind, op, value, handlers[dsts[i]], reply, extras[i])`` for each ``i`` in
        order (``handlers`` is indexed by the destination node; ``extras`` None = no WAN surcharge): a
        coordinator's requests of one operation, with the same draws, heap entries and counts as one
        ``send`` each, the per-kind state looked up once for the block."""
        if self.drop_rules or self.message_loss > 0.0:
            send = self.send
            for i, dst in enumerate(dsts):
                send(src, dst, kind, op, value, handlers[dst], reply, 0.0 if extras is None else extras[i])
            return
        sent = self.sent
        sent[kind] = sent.get(kind, 0) + len(dsts)
        k = self._kinds.get(kind)
        if k is None:
            k = self._kinds[kind] = (self._samplers.get(kind) or self.sampler(kind), self.samples[kind])
        sampler, samples = k
        queue, eid, cbs, cap, now = self._queue, self._eid, self._callbacks, self.sample_cap, self.env._now  # noqa: SLF001
        for i, dst in enumerate(dsts):
            extra = 0.0 if extras is None else extras[i]
            delay = sampler() + extra
            if len(samples) < cap:
                samples.append(delay)
            heappush(queue, (now + delay, 1, next(eid), Message(src, dst, kind, op, value, handlers[dst], reply, extra, cbs)))

    def _send_drop(self, src: int, dst: int, kind: str) -> str | None:
        for rule in self.drop_rules:
            if rule(src, dst, kind):
                return "rule"
        if self.message_loss > 0.0:
            if self._loss_rng is None:
                self._loss_rng = self._rng_for("message-loss")
            if self._loss_rng.random() < self.message_loss:
                return "loss"
        return None

    def _deliver(self, msg: Message) -> None:
        dst = msg.dst
        if dst >= 0 and not self.nodes[dst].up:
            self._drop(msg, "down")
            return
        if self.deliver_rules:
            for rule in self.deliver_rules:
                if rule(msg.src, dst, msg.kind):
                    self._drop(msg, "deliver-rule")
                    return
        msg.handler(msg)

    def _drop(self, msg: Message, reason: str) -> None:
        self.dropped[msg.kind] = self.dropped.get(msg.kind, 0) + 1
        for fn in self.on_drop:
            fn(msg, reason)

    def delay_samples(self) -> dict[str, np.ndarray]:
        """Observed delays per kind (the first ``sample_cap`` messages of each), as arrays."""
        return {k: np.asarray(v, dtype=float) for k, v in self.samples.items()}
