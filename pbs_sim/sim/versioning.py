"""Versions of a key and how replicas order them.

Owns: the per-key write sequence (a write's ``seq`` is assigned when it is issued: 1, 2, 3, ... per
key, so ``seq`` names the write) and the stamp a replica stores, ``(timestamp, seq)``, ordered
last-writer-wins: the larger timestamp wins, ``seq`` breaks ties. Timestamps come from the
coordinator's clock; clocks are perfect in this version, so LWW order equals issue order.
Must not touch: SimPy, messages, metrics.

Later (siblings): a node keeps one stamp per key; a version-vector policy would keep a tuple of
sibling stamps instead and merge on apply. ``Node.apply`` is the single place that calls
:func:`newer`, so a policy object can replace it there.
"""

from __future__ import annotations

Stamp = tuple[float, int]  # (timestamp_ms, seq)

NO_STAMP: Stamp = (float("-inf"), 0)


def newer(a: Stamp, b: Stamp | None) -> bool:
    """True if ``a`` supersedes ``b`` under last-writer-wins (``b`` None = nothing stored)."""
    return b is None or a > b


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
