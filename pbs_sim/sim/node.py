"""A storage node: per-key stored versions, up/down state, and its replies to write and read requests.

Owns: the node's store (key -> the versioning policy's state, a stamp ``(timestamp, seq)`` under
LWW; what to keep is decided by ``node.policy.merge``, never by comparing stamps here), ``up`` (a down node receives nothing: the network drops it),
``crash()`` / ``recover()`` (transient, data kept) and ``wipe()`` (permanent loss: the store is
emptied; whoever models the replacement calls ``recover()`` when it joins), and the request handlers
``on_write`` (apply, then ack) and ``on_read`` (answer with the state at arrival: the WARS model).
Every state change is recorded in the history's ``applies`` table via :meth:`apply`.
Must not touch: coordinators' decisions, the network's latencies, metrics.

Hooks: ``node.on_apply`` is a list of ``fn(node, key, stamp, via)`` called after each state change
(e.g. hinted handoff, durability tracking); ``node.on_state`` a list of ``fn(node, event)`` called
with ``"crash"``, ``"recover"`` or ``"wipe"``. Other message kinds (repair, anti-entropy, hints) are
handled by the modules that send them: they pass their own handler to ``network.send`` and call
``node.apply(key, stamp, via)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..history import VIA_WRITE, History
from .versioning import DEFAULT_POLICY, Stamp, VersioningPolicy

if TYPE_CHECKING:
    from .network import Message, Network


class Node:
    __slots__ = (
        "node_id", "env", "network", "history", "store", "up", "on_apply", "on_state", "wipes", "policy",
        "_merge", "_version", "_send",
    )

    def __init__(
        self, node_id: int, env: Any, network: Network, history: History, policy: VersioningPolicy = DEFAULT_POLICY,
    ) -> None:
        self.node_id = node_id
        self.policy = policy
        self._merge = policy.merge
        self._version = policy.version
        self.env = env
        self.network = network
        self._send = network.send
        self.history = history
        self.store: dict[int, Stamp] = {}
        self.up = True
        self.wipes = 0
        self.on_apply: list[Callable[[Node, int, Stamp, int], None]] = []
        self.on_state: list[Callable[[Node, str], None]] = []

    # -- state --------------------------------------------------------------------------------
    def apply(self, key: int, stamp: Stamp, via: int = VIA_WRITE) -> bool:
        """Merge ``stamp`` into ``key``'s state (``policy.merge``); True if the state changed (recorded)."""
        new = self._merge(self.store.get(key), stamp)
        if new is None:
            return False
        self.store[key] = new
        self.history.add_apply(self.env._now, self.node_id, key, self._version(new), via)  # noqa: SLF001
        if self.on_apply:
            for fn in self.on_apply:
                fn(self, key, new, via)
        return True

    def get(self, key: int) -> Stamp | None:
        return self.store.get(key)

    def forget(self, key: int) -> None:
        """Drop what is stored for ``key`` (a fallback deleting its hinted copy after hand-off; the
        caller records it: ``pbs_sim.sim.handoff``)."""
        self.store.pop(key, None)

    def crash(self) -> None:
        """Transient failure: stops receiving; data kept."""
        self.up = False
        self._state("crash")

    def recover(self) -> None:
        self.up = True
        self._state("recover")

    def wipe(self) -> None:
        """Permanent data loss: the store is emptied (the up flag is left as it is)."""
        self.store = {}
        self.wipes += 1
        self._state("wipe")

    def _state(self, event: str) -> None:
        for fn in self.on_state:
            fn(self, event)

    # -- request handlers (run on message delivery) ---------------------------------------------
    def on_write(self, msg: Message) -> None:
        """W arrives: apply the write, then ack to the coordinator (acks even if already newer)."""
        op = msg.op
        self.apply(op.key, msg.value)
        self._send(self.node_id, msg.src, "A", op, None, msg.reply, None, msg.extra_ms)  # type: ignore[arg-type]

    def on_read(self, msg: Message) -> None:
        """R arrives: answer with the stamp held right now (None = never written)."""
        op = msg.op
        self._send(self.node_id, msg.src, "S", op, self.store.get(op.key), msg.reply, None, msg.extra_ms)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Node({self.node_id}, {'up' if self.up else 'down'}, {len(self.store)} keys)"
