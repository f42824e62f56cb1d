"""Failure detection: what each observer believes about which nodes are up and reachable.

Owns: one view per *observer* (the client-side coordinator, endpoint -1, and every node) of every
node: believed up or down, since when, and the ``detector`` history table ``(at, observer, target,
up, reason)`` with one row per change of a view. Must not touch: node state, the network's rules
(it only reads them), coordinators (they ask :meth:`FailureDetector.up`), metrics.

The model: detection delays, not heartbeats
-------------------------------------------
Ground truth for an ordered pair (observer o, target t) is *reachable*: t is up and no network rule
cuts o -> t or t -> o (a heartbeat and its answer must both get through), so a partition is seen per
side: a node cut off from one group looks down to that group only, and a one-way cut makes both
ends suspect each other, as a heartbeat protocol would. When the truth of a pair changes, the
observer's view follows after a delay drawn from ``failure_detector.detect_delay`` (going down) or
``recover_delay`` (coming back); a change that is undone before its delay has passed is never seen.
``mode = "perfect"`` flips views at once (the instantaneous, perfect detector of validation 5(a)).
False suspicions: each (observer, node) pair is suspected at Poisson rate
``false_suspicion_rate_per_s`` for a time drawn from ``false_suspicion_ms``; a suspected node looks
down whatever the truth.

Why not a phi-accrual detector driven by heartbeats (Cassandra, Akka): with heartbeats every second
between every pair of n nodes, the simulator would spend n^2 events per simulated second on
detection alone, more than on client traffic in most scenarios, and what the quorum protocols see of
it is only *when* a view flips. A phi-accrual detector with threshold phi and heartbeat interval h
suspects a silent node after roughly ``h * phi * ln 10`` (exponential inter-arrival estimate);
feed that — or any measured distribution of detection times — to ``detect_delay`` and the protocols
see the same thing at no per-heartbeat cost. False suspicions stand for phi crossing its threshold
on a live node (GC pauses, network jitter).

Hooks: ``detector.on_change`` is a list of ``fn(observer, target, up)`` called whenever what
:meth:`up` answers for that pair changes (hinted handoff replays when a holder sees an owner back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..config import FailureDetectorConfig, Scenario
from ..distributions import BufferedSampler
from ..rng import Streams
from .events import call_at
from .mechanism import TableSpec
from .network import CLIENT

if TYPE_CHECKING:
    from .build import Model
    from .node import Node

REASONS = ("detected", "false-suspicion", "suspicion-cleared")
DETECTED, SUSPECTED, CLEARED = range(len(REASONS))

DETECTOR_TABLE = TableSpec(
    "detector", {"at": "d", "observer": "i", "target": "i", "up": "b", "reason": "b"}, {"reason": REASONS},
)
INF = float("inf")


class FailureDetector:
    """Per-observer views of node liveness; ``start()`` launches false suspicions (if any)."""

    def __init__(
        self, env: Any, cfg: FailureDetectorConfig, nodes: Sequence[Node], network: Any, history: Any,
        streams: Streams, *, perfect: bool,
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.nodes = nodes
        self.network = network
        self.perfect = perfect
        self.table = DETECTOR_TABLE.create(history)
        n = len(nodes)
        self.observers: tuple[int, ...] = (CLIENT, *range(n))
        self._truth = {o: [True] * n for o in self.observers}
        self._view = {o: [True] * n for o in self.observers}
        self._suspected = {o: [0] * n for o in self.observers}
        self._down_since = {o: [INF] * n for o in self.observers}  # when up() turned False
        self._token = {o: [0] * n for o in self.observers}
        self._detect = BufferedSampler(cfg.detect_delay, streams.get("failure_detector-detect"))
        self._recover = BufferedSampler(cfg.recover_delay, streams.get("failure_detector-recover"))
        self._streams = streams
        self.on_change: list[Callable[[int, int, bool], None]] = []
        self.false_suspicions = 0

    # -- queries -----------------------------------------------------------------------------------
    def up(self, observer: int, target: int) -> bool:
        """Whether ``observer`` believes ``target`` up and reachable right now."""
        return observer == target or (self._view[observer][target] and not self._suspected[observer][target])

    def down_since(self, observer: int, target: int) -> float:
        """When ``observer`` began to believe ``target`` down (inf while it believes it up)."""
        return INF if self.up(observer, target) else self._down_since[observer][target]

    def reachable(self, observer: int, target: int) -> bool:
        """Ground truth for the pair (what a perfect detector would say)."""
        if observer == target:
            return True
        if not self.nodes[target].up:
            return False
        for rule in self.network.drop_rules:
            if rule(observer, target, "fd") or rule(target, observer, "fd"):
                return False
        return True

    # -- ground truth changes ------------------------------------------------------------------------
    def on_node_state(self, node: Node, event: str) -> None:
        t = node.node_id
        for o in self.observers:
            self._update(o, t)

    def recompute(self) -> None:
        """After a partition or heal: every pair."""
        for o in self.observers:
            for t in range(len(self.nodes)):
                self._update(o, t)

    def _update(self, o: int, t: int) -> None:
        if o == t:
            return
        truth = self.reachable(o, t)
        if truth == self._truth[o][t]:
            return
        self._truth[o][t] = truth
        self._token[o][t] += 1
        delay = 0.0 if self.perfect else (self._recover() if truth else self._detect())
        if delay <= 0.0:
            self._set_view(o, t, truth)
        else:
            call_at(self.env, delay, self._flip, (o, t, self._token[o][t], truth))

    def _flip(self, arg: tuple[int, int, int, bool]) -> None:
        o, t, token, truth = arg
        if self._token[o][t] == token:  # not superseded by a later change
            self._set_view(o, t, truth)

    def _set_view(self, o: int, t: int, up: bool) -> None:
        before = self.up(o, t)
        self._view[o][t] = up
        self._changed(o, t, before, DETECTED)

    def _changed(self, o: int, t: int, before: bool, reason: int) -> None:
        after = self.up(o, t)
        if after == before:
            return
        now = float(self.env.now)
        if not after:
            self._down_since[o][t] = now
        self.table.append(now, o, t, int(after), reason)
        for fn in self.on_change:
            fn(o, t, after)

    # -- false suspicions ----------------------------------------------------------------------------
    def start(self) -> None:
        rate = self.cfg.false_suspicion_rate_per_s
        n = len(self.nodes)
        pairs = n + n * (n - 1)  # the client-side observer sees all n; a node the other n - 1
        if rate <= 0.0 or pairs <= 0:
            return
        rng = self._streams.get("failure_detector-suspect")
        length = BufferedSampler(self.cfg.false_suspicion_ms, self._streams.get("failure_detector-suspect-ms"))
        total_per_ms = rate * pairs / 1000.0

        def next_suspicion(_: Any) -> None:
            pick = int(rng.integers(pairs))  # uniform over pairs: the client-side observer has n of them
            o = CLIENT if pick < n else (pick - n) // (n - 1)
            if o == CLIENT:
                t = int(rng.integers(n))
            else:
                t = int(rng.integers(n - 1))
                t += t >= o  # a node never suspects itself
            before = self.up(o, t)
            self._suspected[o][t] += 1
            self.false_suspicions += 1
            self._changed(o, t, before, SUSPECTED)
            call_at(self.env, length(), clear, (o, t))
            call_at(self.env, float(rng.exponential(1.0 / total_per_ms)), next_suspicion)

        def clear(arg: tuple[int, int]) -> None:
            o, t = arg
            before = self.up(o, t)
            self._suspected[o][t] -= 1
            self._changed(o, t, before, CLEARED)

        call_at(self.env, float(rng.exponential(1.0 / total_per_ms)), next_suspicion)


def needed(scenario: Scenario) -> bool:
    """A detector runs when configured, and whenever sloppy quorums or hinted handoff need one."""
    return (scenario.failure_detector.mode != "off" or scenario.cluster.sloppy_quorum
            or scenario.hinted_handoff.store != "off")


class FailureDetectorMechanism:
    """Per-observer liveness views (:class:`FailureDetector`). ``mode = "off"`` with sloppy quorums
    or hinted handoff on gives them a perfect detector."""

    name = "failure_detector"
    requires: tuple[str, ...] = ("env", "nodes", "network", "history")
    tables: tuple[TableSpec, ...] = (DETECTOR_TABLE,)
    moves_data = False
    uses: tuple[str, ...] = ("faults",)  # crashes and partitions change what it sees

    def enabled(self, scenario: Scenario) -> bool:
        return needed(scenario)

    def install(self, model: Model, streams: Streams) -> FailureDetector:
        cfg = model.scenario.failure_detector
        fd = FailureDetector(model.env, cfg, model.nodes, model.network, model.history, streams,
                             perfect=cfg.mode != "delay")
        for node in model.nodes:
            node.on_state.append(fd.on_node_state)
        faults = model.dependency(self, "faults")
        if faults is not None:
            faults.on_change.append(fd.recompute)
        model.on_start.append(lambda m: fd.start())
        return fd


MECHANISM = FailureDetectorMechanism()
