"""The network: delivers each message after a latency drawn for its kind on its link.

Owns: message objects, the latency samplers (one per message kind and link), the link laws of a
topology, the message-drop hooks and the per-kind samples of observed delays (for staleness
monitoring). Must not touch: node state, protocol logic, metrics.

Endpoints are ints: nodes are ``0..nodes-1``; client-side coordinators are negative, :data:`CLIENT`
(-1) the only one of a flat cluster (the PBS/WARS model: W/A/R/S are client <-> replica delays; on a
topology one per rack, ``pbs_sim.sim.layout``).

Delay of a message ``src -> dst`` of kind ``kind``::

    delay = kind part + extra_ms + link_factor[class] * link part

- kind part: ``"W"`` write request, ``"A"`` write ack, ``"R"`` read request, ``"S"`` read response
  draw from the profile's W/A/R/S; any other kind (``"repair"``, ``"ae"``, ``"hint"``, ...) from
  ``latency.other``, unless :meth:`Network.set_delay` gives the kind its own distribution.
- ``extra_ms``: the WAN-profile surcharge (``profile.remote_extra_ms``) the sender passes; a node
  repeats its request's ``extra_ms`` on the ack / response (``Message.extra_ms``).
- link part (only after :meth:`Network.set_links`): a draw of the law of the link's class,
  ``laws[classify(src, dst)]`` (the builder passes ``Layout.link_class`` / ``Layout.link_laws()``;
  classes ``"intra_rack"``, ``"intra_dc"``, ``"<a>|<b>"``). A constant law adds its value and draws
  nothing; a constant 0 costs nothing at all. ``network.link_factor`` (class -> multiplier, empty by
  default = 1 everywhere) scales the link part: WAN degradation (set and cleared by faults).

Random streams (common random numbers; docs/design.md, "Randomness and reproducibility"). Every
(kind, src, dst) link has its own generators, children of a named stream keyed by the two
endpoints (``SeedSequence`` spawn key ``(..., name, zz(src), zz(dst))``, ``zz`` mapping ``0, -1, 1,
-2, ...`` to ``0, 1, 2, 3, ...``; collision-free, unlike one hashed name per link):

- ``latency-<kind>`` (W/A/R/S in lower case: ``latency-w`` ...; ``latency-repair``, ``latency-ae``
  ...): the kind part;
- ``link-<kind>``: the link part (non-constant laws only);
- ``message-loss-<kind>``: the loss draw (only while ``message_loss > 0``).

So the n-th message of a kind on a link always gets the same draws, whatever else is sent: a
mechanism that sends its own kinds, or more messages on other links, shifts no other message's
latency or loss. A message dropped at send time still takes its latency and loss draws (a partition
or loss leaves the draws of the messages that do go through as they were). Generators and samplers
are made on a link's first message (a 10,000-node cluster never holds 10^8 of them); the samplers'
blocks start small (``BufferedSampler``: 64 values, doubling to 4096).

Performance: a message is one small ``__slots__`` object pushed directly onto the SimPy heap (the
entry ``env.schedule`` would push, normal priority) with a shared callback tuple (no process, no
per-message list); when it fires, :meth:`Network._deliver` calls ``msg.handler(msg)``. Per message:
the kind's state (one dict lookup), the source's row (one), the link's sampler (one); for
:meth:`Network.fanout` the first two once per block. Without links a link's sampler is the kind
part's ``BufferedSampler`` itself (a C call).

Hooks (used by faults, anti-entropy, ...)
-----------------------------------------
- ``network.drop_rules``: list of ``rule(src, dst, kind) -> bool``; consulted at send time; True drops.
- ``network.deliver_rules``: same signature, consulted at delivery time (e.g. a partition that begins
  while a message is in flight).
- ``network.message_loss``: probability each message is lost (streams ``message-loss-<kind>`` per link).
- a message to a node whose ``up`` is False is dropped on delivery (``network.nodes`` is the node list,
  set by the model builder).
- ``network.on_drop``: list of ``fn(msg, reason)`` called for every dropped message (reason: "rule",
  "loss", "down", "deliver-rule").
- ``network.link_factor``: class -> multiplier on the link part (assigning a new dict replaces the
  contents of the one the samplers read).
- ``network.send(...)`` returns False if the message was dropped at send time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from heapq import heappush
from typing import Any

import numpy as np
import simpy

from ..distributions import BufferedSampler, Constant, Distribution, Uniform
from ..profiles import Profile
from .events import FastEvent

CLIENT = -1
WARS_KINDS = ("W", "A", "R", "S")
SAMPLE_CAP = 200_000

Handler = Callable[["Message"], None]
DropRule = Callable[[int, int, str], bool]
Classify = Callable[[int, int], str]
Draw = Callable[[], float]
_U01 = Uniform(0.0, 1.0)


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


def _zz(ep: int) -> int:
    """An endpoint as a non-negative spawn-key entry: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ..."""
    return 2 * ep if ep >= 0 else -2 * ep - 1


def _stream_name(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind.lower() if kind in WARS_KINDS else kind}"


def _with_link(s: Draw, link: Draw, cls: str, factor: dict[str, float]) -> float:
    return s() + factor.get(cls, 1.0) * link()


def _with_const(s: Draw, c: float, cls: str, factor: dict[str, float]) -> float:
    return s() + factor.get(cls, 1.0) * c


class Network:
    """Latency-by-kind-and-link message delivery on a SimPy environment."""

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
        self._dists: dict[str, Distribution] = {k: getattr(profile, k.lower()) for k in WARS_KINDS}
        self.sample_cap = sample_cap
        self.samples: dict[str, list[float]] = {k: [] for k in WARS_KINDS}
        self.sent: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.nodes: list[Any] = []  # set by the builder; a node with up False drops deliveries
        self.drop_rules: list[DropRule] = []
        self.deliver_rules: list[DropRule] = []
        self.on_drop: list[Callable[[Message, str], None]] = []
        self.message_loss = 0.0
        self._callbacks = (self._deliver,)
        self._queue: list[Any] = env._queue  # noqa: SLF001  (sim/events.py: messages go on SimPy's heap directly)
        self._eid = env._eid  # noqa: SLF001
        # per kind: (src -> (dst -> the link's draw), observed-delay samples), made on first use
        self._kinds: dict[str, tuple[dict[int, dict[int, Draw]], list[float]]] = {}
        self._seeds: dict[str, np.random.SeedSequence] = {}  # named stream -> its SeedSequence
        self._loss: dict[tuple[str, int, int], Draw] = {}
        self._classify: Classify | None = None
        self._laws: dict[str, Distribution] = {}
        self._link_factor: dict[str, float] = {}

    # -- configuration --------------------------------------------------------------------------
    @property
    def link_factor(self) -> dict[str, float]:
        """Link class -> multiplier on the link part of the delay (empty: 1 everywhere)."""
        return self._link_factor

    @link_factor.setter
    def link_factor(self, value: Mapping[str, float]) -> None:
        if value is not self._link_factor:
            self._link_factor.clear()
            self._link_factor.update(value)

    def set_links(self, classify: Classify, laws: Mapping[str, Distribution]) -> None:
        """Every later message ``src -> dst`` (every kind) adds a draw of ``laws[classify(src, dst)]``.

        A constant law adds its value without drawing (a constant 0 adds nothing and costs nothing);
        another law draws from the link's own stream ``link-<kind>`` (module docstring). A class
        ``classify`` returns that ``laws`` lacks is a ``KeyError`` at the link's first message."""
        self._classify = classify
        self._laws = dict(laws)
        self._rebuild(None)

    def set_delay(self, kind: str, dist: Distribution) -> None:
        """Give message kind ``kind`` its own delay distribution (streams ``latency-<kind>``).

        Observed delays of the kind are recorded like any other (samples already taken are kept);
        links already in use keep their generators and draw the new distribution from now on."""
        self._dists[kind] = dist
        self.samples.setdefault(kind, [])
        self._rebuild(kind)

    def _rebuild(self, kind: str | None) -> None:
        """Remake the draws of links in use (of ``kind``; None: all) on the generators they have."""
        for k, (rows, _) in self._kinds.items():
            if kind is not None and k != kind:
                continue
            for src, row in rows.items():
                for dst, draw in list(row.items()):
                    if isinstance(draw, BufferedSampler):
                        s_rng, l_rng = draw.rng, None
                    else:
                        assert isinstance(draw, partial)
                        s_rng = draw.args[0].rng
                        link = draw.args[1]
                        l_rng = link.rng if isinstance(link, BufferedSampler) else None
                    row[dst] = self._make_draw(k, src, dst, s_rng, l_rng)

    def _seed(self, name: str) -> np.random.SeedSequence:
        ss = self._seeds.get(name)
        if ss is None:
            seq = self._rng_for(name).bit_generator.seed_seq
            assert isinstance(seq, np.random.SeedSequence), "network streams must come from SeedSequences"
            ss = self._seeds[name] = seq
        return ss

    def link_rng(self, prefix: str, kind: str, src: int, dst: int) -> np.random.Generator:
        """The generator of stream ``<prefix>-<kind>`` (``latency``, ``link``, ``message-loss``) on link
        ``src -> dst``: a child of the named stream keyed by the two endpoints."""
        ss = self._seed(_stream_name(prefix, kind))
        child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, _zz(src), _zz(dst)),
                                       pool_size=ss.pool_size)
        return np.random.Generator(np.random.PCG64(child))

    def _make_draw(
        self, kind: str, src: int, dst: int, s_rng: np.random.Generator | None = None,
        l_rng: np.random.Generator | None = None,
    ) -> Draw:
        dist = self._dists.get(kind, self.other)
        s = BufferedSampler(dist, s_rng if s_rng is not None else self.link_rng("latency", kind, src, dst))
        if self._classify is None:
            return s
        cls = self._classify(src, dst)
        try:
            law = self._laws[cls]
        except KeyError:
            raise KeyError(f"network.set_links: no law for link class {cls!r} (message {kind} {src} -> {dst})") from None
        if isinstance(law, Constant):
            if law.value == 0.0:
                return s
            return partial(_with_const, s, float(law.value), cls, self._link_factor)
        link = BufferedSampler(law, l_rng if l_rng is not None else self.link_rng("link", kind, src, dst))
        return partial(_with_link, s, link, cls, self._link_factor)

    def _kind(self, kind: str) -> tuple[dict[int, dict[int, Draw]], list[float]]:
        k = self._kinds[kind] = ({}, self.samples.setdefault(kind, []))
        return k

    def _link(self, kind: str, src: int, dst: int) -> Draw:
        """The draw of link ``src -> dst`` for ``kind`` (made on first use)."""
        k = self._kinds.get(kind) or self._kind(kind)
        row = k[0].get(src)
        if row is None:
            row = k[0][src] = {}
        draw = row.get(dst)
        if draw is None:
            draw = row[dst] = self._make_draw(kind, src, dst)
        return draw

    def sampler(self, kind: str, src: int = CLIENT, dst: int = 0) -> Draw:
        """The delay draw of ``kind`` on link ``src -> dst`` (made on first use)."""
        return self._link(kind, src, dst)

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
        k = self._kinds.get(kind) or self._kind(kind)
        row = k[0].get(src)
        draw = None if row is None else row.get(dst)
        if draw is None:
            draw = self._link(kind, src, dst)
        delay = draw() + extra_ms
        if self.drop_rules or self.message_loss > 0.0:
            reason = self._send_drop(src, dst, kind)
            if reason:
                self._drop(Message(src, dst, kind, op, value, handler, reply, extra_ms), reason)
                return False
        samples = k[1]
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
        ``send`` each, the kind's and the source's state looked up once for the block."""
        if self.drop_rules or self.message_loss > 0.0:
            send = self.send
            for i, dst in enumerate(dsts):
                send(src, dst, kind, op, value, handlers[dst], reply, 0.0 if extras is None else extras[i])
            return
        sent = self.sent
        sent[kind] = sent.get(kind, 0) + len(dsts)
        k = self._kinds.get(kind) or self._kind(kind)
        rows, samples = k
        row = rows.get(src)
        if row is None:
            row = rows[src] = {}
        queue, eid, cbs, cap, now = self._queue, self._eid, self._callbacks, self.sample_cap, self.env._now  # noqa: SLF001
        for i, dst in enumerate(dsts):
            draw = row.get(dst)
            if draw is None:
                draw = self._link(kind, src, dst)
            extra = 0.0 if extras is None else extras[i]
            delay = draw() + extra
            if len(samples) < cap:
                samples.append(delay)
            heappush(queue, (now + delay, 1, next(eid), Message(src, dst, kind, op, value, handlers[dst], reply, extra, cbs)))

    def _send_drop(self, src: int, dst: int, kind: str) -> str | None:
        """Why a message is dropped at send time (None: it is not). The loss draw is taken whether or
        not a rule drops the message, so a rule leaves every other message's loss draw unchanged."""
        lost = False
        if self.message_loss > 0.0:
            u = self._loss.get((kind, src, dst))
            if u is None:
                u = self._loss[(kind, src, dst)] = BufferedSampler(_U01, self.link_rng("message-loss", kind, src, dst))
            lost = u() < self.message_loss
        for rule in self.drop_rules:
            if rule(src, dst, kind):
                return "rule"
        return "loss" if lost else None

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
