"""Speculative retry (issue 19; Cassandra's ``speculative_retry`` table option): a read whose first
responses are slower than a threshold asks one more replica.

Owns: the policy (``NONE``, ``ALWAYS``, ``Xms``, ``Xp``; :func:`parse`), the per-coordinator running
latency estimate for ``Xp``, and the ``speculative_reads`` / ``speculative_useful`` history tables.
Must not touch: the coordinator's code (everything here goes through its request path: one ``issue``
contribution that arms the threshold, one ``on_quorum`` contribution that feeds the estimate and
notes whether the extra replica's answer was among the quorum), metrics, latencies.

Semantics, as Cassandra's ``AbstractReadExecutor`` (``SpeculatingReadExecutor``):
- ``NONE``: never (the mechanism is not installed).
- ``ALWAYS``: the extra request is sent together with the first ones, at issue.
- ``Xms``: if the read has not reached its quorum X ms after issue, one more request is sent.
- ``Xp``: the same with X the p-th percentile of this coordinator's observed read latency (issue to
  quorum, successful reads only). Cassandra keeps it per table from a decaying latency histogram; here
  each coordinator keeps the last ``WINDOW`` latencies and recomputes the nearest-rank percentile every
  ``EVERY`` reads. Until the first ``EVERY`` reads have completed there is no estimate and no
  speculation (Cassandra starts from its histogram's empty state in the same way).
The extra request goes to the next replica of the key's preference list that the read has not asked.
With ``read_fanout = "all"`` every replica is already asked, so nothing is sent: the trigger is counted
(``sent = false``) and that is all speculative retry means there. At most one extra request per read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Scenario
from ..rng import Streams
from .events import call_at
from .mechanism import TableSpec

if TYPE_CHECKING:
    from .build import Model
    from .coordinator import Coordinator, ReadOp

INF = float("inf")
WINDOW = 1024  # latencies per coordinator behind an Xp estimate
EVERY = 64  # reads between two recomputations of the estimate

SPECULATIVE_TABLE = TableSpec("speculative_reads", {
    "op_id": "q", "at": "d", "node": "i", "threshold_ms": "d", "sent": "b",
})
USEFUL_TABLE = TableSpec("speculative_useful", {"op_id": "q"})


@dataclass(frozen=True)
class Policy:
    """``kind``: none | always | ms | percentile; ``value``: the ms or the percentile (0-100)."""

    kind: str
    value: float = 0.0

    def spec(self) -> str:
        if self.kind in ("none", "always"):
            return self.kind.upper()
        return f"{self.value:g}{'ms' if self.kind == 'ms' else 'p'}"


def parse(text: str) -> Policy:
    """``NONE``, ``ALWAYS``, ``Xms`` (X >= 0) or ``Xp`` (0 < X < 100, Cassandra's ``99p`` / ``99PERCENTILE``),
    case-insensitive; ValueError with the reason otherwise."""
    t = str(text).strip().lower().replace(" ", "")
    if t in ("none", "always"):
        return Policy(t)
    for suffix, kind in (("percentile", "percentile"), ("ms", "ms"), ("p", "percentile")):
        if t.endswith(suffix):
            num = t[: -len(suffix)]
            try:
                x = float(num)
            except ValueError:
                break
            if not math.isfinite(x):
                break
            if kind == "ms" and x < 0:
                raise ValueError(f"a threshold in ms must be >= 0, got {text!r}")
            if kind == "percentile" and not 0 < x < 100:
                raise ValueError(f"a percentile must lie strictly between 0 and 100, got {text!r}")
            return Policy(kind, x)
    raise ValueError(f"expected NONE, ALWAYS, Xms (e.g. 20ms) or Xp (e.g. 99p), got {text!r}")


class Estimate:
    """A coordinator's running read-latency percentile (the ``Xp`` threshold)."""

    __slots__ = ("q", "window", "pos", "seen", "threshold")

    def __init__(self, percentile: float) -> None:
        self.q = percentile / 100.0
        self.window: list[float] = []
        self.pos = 0
        self.seen = 0
        self.threshold = INF  # no estimate yet: no speculation

    def add(self, latency: float) -> None:
        w = self.window
        if len(w) < WINDOW:
            w.append(latency)
        else:
            w[self.pos] = latency
            self.pos = (self.pos + 1) % WINDOW
        self.seen += 1
        if self.seen % EVERY == 0:
            ordered = sorted(w)
            self.threshold = ordered[max(0, math.ceil(self.q * len(ordered)) - 1)]  # nearest rank


class SpeculativeRetry:
    """The running part: arms each read's threshold and sends the one extra request."""

    def __init__(self, model: Model, policy: Policy) -> None:
        self.env = model.env
        self.ring = model.ring
        self.policy = policy
        self.add_row = SPECULATIVE_TABLE.create(model.history).append
        self.add_useful = USEFUL_TABLE.create(model.history).append
        self.extra: dict[int, int] = {}  # op_id -> the extra replica, until the read's quorum
        self.estimates: dict[int, Estimate] = {}

    def threshold(self, coord: Coordinator) -> float:
        p = self.policy
        if p.kind == "always":
            return 0.0
        if p.kind == "ms":
            return p.value
        est = self.estimates.get(coord.endpoint)
        return INF if est is None else est.threshold

    def issued(self, coord: Coordinator, op: ReadOp) -> None:
        """The ``issue`` stage: right after the read's requests went out."""
        if op.done:
            return
        x = self.threshold(coord)
        if x == INF:
            return
        if self.policy.kind == "always":
            self._fire((coord, op, x))
        else:
            call_at(self.env, x, self._fire, (coord, op, x))

    def _fire(self, arg: tuple[Coordinator, ReadOp, float]) -> None:
        coord, op, x = arg
        if op.done or op.quorum_at != INF:
            return  # answered in time
        if not coord._up():  # noqa: SLF001  # a coordinator that crashed meanwhile sends nothing
            return
        asked = set(op.targets)
        dst = next((n for n in self.ring.preference_list(op.key) if n not in asked), -1)
        now = self.env.now
        self.add_row(op.op_id, now, dst, x, dst >= 0)
        if dst < 0:
            return  # every replica already asked (read_fanout = "all")
        self.extra[op.op_id] = dst
        coord.send_read(op, dst)

    def at_quorum(self, op: ReadOp) -> None:
        """The ``reply`` stage (``on_quorum``): feed the estimate, note whether the extra replica counted."""
        dst = self.extra.pop(op.op_id, None)
        if dst is not None and any(n == dst for n, _ in op.replies):
            self.add_useful(op.op_id)
        if self.policy.kind == "percentile":
            est = self.estimates.get(op.coordinator.endpoint)
            if est is None:
                est = self.estimates[op.coordinator.endpoint] = Estimate(self.policy.value)
            est.add(op.quorum_at - op.issued_at)


class SpeculativeMechanism:
    """Speculative retry on every coordinator, on unless ``cluster.speculative_retry = "NONE"``."""

    name = "speculative_retry"
    requires: tuple[str, ...] = ("env", "ring", "history", "coordinators")
    tables: tuple[TableSpec, ...] = (SPECULATIVE_TABLE, USEFUL_TABLE)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return parse(scenario.cluster.speculative_retry).kind != "none"

    def install(self, model: Model, streams: Streams) -> SpeculativeRetry:
        spec = SpeculativeRetry(model, parse(model.scenario.cluster.speculative_retry))
        for coord in model.coordinators.values():
            coord.plug("read_issued", self.name, spec.issued)
            coord.plug("on_quorum", self.name, spec.at_quorum)
        return spec


MECHANISM = SpeculativeMechanism()
