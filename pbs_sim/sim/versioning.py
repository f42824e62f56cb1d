"""Versions of a key, and the one policy object that orders them.

Owns: the per-key write sequence (a write's ``seq`` is assigned when it is issued: 1, 2, 3, ... per
key, so ``seq`` names the write), the :class:`VersioningPolicy` protocol, and its first
implementation :class:`LWW` (last-writer-wins). Must not touch: SimPy, messages, metrics.

The policy decides everything about order. Nodes (``Node.apply``), coordinators (merging read
responses), read repair (who is stale), anti-entropy (Merkle digests, applying streamed entries)
and gossip all call the model's policy; no module compares stamps with ``>`` on its own
(``tests/test_versioning.py`` swaps the policy for one that counts calls and inverts the order, and
checks every call site follows it). A replica's *state* of a key is whatever the policy keeps:

* ``LWW``: one stamp ``(timestamp_ms, seq)``. The larger timestamp wins; equal timestamps are broken
  by ``seq`` -- the write issued later (in the simulation's event order) wins. That tie-break is
  deterministic and documented, but, like Cassandra's (which compares the values), arbitrary with
  respect to causality; the causality metrics report such losses with cause ``tie``. With perfect
  clocks the timestamp is the issue instant, so LWW order equals ``seq`` (issue) order.
* next (issue 11): ``"vv"`` / ``"dvv"`` keep a sibling set with causal metadata; ``merge`` is the
  causal sync, ``versions`` lists every sibling's ``seq``, ``digest`` covers the whole set. The call
  sites stay as they are.

Operations (``state`` may be None = nothing stored / nothing received):

* ``new_version(key, seq, timestamp_ms, origin, context)`` -- the state a write carries;
* ``merge(held, incoming)`` -- what a replica keeps after receiving ``incoming`` while holding
  ``held``, or None if ``held`` already covers ``incoming`` (no change, nothing recorded);
* ``dominates(a, b)`` -- ``a`` strictly supersedes ``b`` (read repair's "is b stale?");
* ``compare(a, b)`` -- -1 / 0 / 1 in a total order when the policy has one (LWW), for sorting;
* ``digest(key, state)`` -- the 64-bit Merkle leaf digest of a replica's entry;
* ``version(state)`` / ``versions(state)`` -- the newest write ``seq`` it holds (the history's
  single-version columns) / every write it holds (more than one only for sibling policies: the
  history's ``read_versions`` side table).

Causal contexts (:class:`SessionContexts`): what each client's session knows of each key -- the
versions it read (every version a read returned) and its own writes -- since its last write to
that key. A write's direct causal parents are that set; after the write, the session's knowledge
of the key collapses to the write itself (its parents already cover the rest). Memory is one small
set per (client, key) a session touched, so the history stays bounded: parents go to the
``causal_parents`` side table as ``(op_id, parent_seq)`` rows, and the metrics take transitive
closures per key (``pbs_sim.metrics.causality``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .merkle import digest as merkle_digest

Stamp = tuple[float, int]  # (timestamp_ms, seq)

#: Kept for old callers: "nothing held" as a stamp below every real one. New code uses None.
NO_STAMP: Stamp = (float("-inf"), 0)


@runtime_checkable
class VersioningPolicy(Protocol):
    """How versions are made, ordered, merged and digested (see the module docstring)."""

    name: str

    def new_version(self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any) -> Any:
        ...

    def merge(self, held: Any, incoming: Any) -> Any:
        ...

    def dominates(self, a: Any, b: Any) -> bool:
        ...

    def compare(self, a: Any, b: Any) -> int:
        ...

    def digest(self, key: int, state: Any) -> int:
        ...

    def version(self, state: Any) -> int:
        ...

    def versions(self, state: Any) -> tuple[int, ...]:
        ...


class LWW:
    """Last-writer-wins over ``(timestamp_ms, seq)`` stamps; ties go to the later-issued write."""

    name = "lww"

    def new_version(self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any) -> Stamp:
        return (timestamp_ms, seq)

    def merge(self, held: Stamp | None, incoming: Stamp | None) -> Stamp | None:
        if incoming is None or (held is not None and not incoming > held):
            return None
        return incoming

    def dominates(self, a: Stamp | None, b: Stamp | None) -> bool:
        return a is not None and (b is None or a > b)

    def compare(self, a: Stamp | None, b: Stamp | None) -> int:
        if a == b:
            return 0
        return 1 if self.dominates(a, b) else -1

    def digest(self, key: int, state: Stamp) -> int:
        return merkle_digest(key, state)

    def version(self, state: Stamp | None) -> int:
        return 0 if state is None else state[1]

    def versions(self, state: Stamp | None) -> tuple[int, ...]:
        return () if state is None else (state[1],)


#: Policies by ``cluster.versioning`` name (issue 11 adds "vv" and "dvv" here).
POLICIES: dict[str, Callable[[], VersioningPolicy]] = {"lww": LWW}

DEFAULT_POLICY: VersioningPolicy = LWW()


def make_policy(name: str = "lww") -> VersioningPolicy:
    return POLICIES[name]()


def newer(a: Stamp, b: Stamp | None) -> bool:
    """True if ``a`` supersedes ``b`` under last-writer-wins (``b`` None = nothing stored)."""
    return DEFAULT_POLICY.dominates(a, b)


class VersionCounter:
    """Per-key write sequence numbers, shared by every coordinator of a run."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def next(self, key: int) -> int:
        seq = self._next.get(key, 0) + 1
        self._next[key] = seq
        return seq

    def last(self, key: int) -> int:
        """The newest seq issued for ``key`` (0 if none)."""
        return self._next.get(key, 0)


class SessionContexts:
    """Per (client, key): the write ``seq``s the client's session knows since its last write.

    ``learn(client, key, seqs)`` after a read returns; ``parents(client, key, seq)`` when a write is
    issued: returns its direct causal parents (sorted) and resets the session's knowledge of the
    key to that write. ``append(op_id, parent_seq)`` (the ``causal_parents`` table) records them;
    ``update(op_id, read_op)`` (the ``rmw_reads`` table) marks a read-modify-write and its read.
    """

    __slots__ = ("known", "append", "add_update")

    def __init__(self, append: Callable[..., int], add_update: Callable[..., int] | None = None) -> None:
        self.known: dict[tuple[int, int], set[int]] = {}
        self.append = append
        self.add_update = add_update  # (write op_id, read op_id): the read a read-modify-write carries

    def update(self, op_id: int, read_op: int) -> None:
        if self.add_update is not None:
            self.add_update(op_id, read_op)

    def learn(self, client: int, key: int, seqs: tuple[int, ...]) -> None:
        if not seqs:
            return
        s = self.known.get((client, key))
        if s is None:
            self.known[(client, key)] = set(seqs)
        else:
            s.update(seqs)

    def parents(self, client: int, key: int, op_id: int, seq: int) -> tuple[int, ...]:
        ck = (client, key)
        s = self.known.get(ck)
        self.known[ck] = {seq}
        if not s:
            return ()
        out = tuple(sorted(s))
        add = self.append
        for p in out:
            add(op_id, p)
        return out
