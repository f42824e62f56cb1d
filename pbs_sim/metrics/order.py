"""The store's order of each key's writes, as one object per run: the only definition the metrics use.

Owns: :class:`StoreOrder` and :func:`store_order` (build it from a run's frames, once per run: the
object is cached for the ``ops`` frame it was built from). Every metric that asks whether one version
of a key is newer than, equal to, below or concurrent with another -- the durability replay, stale-read
causes, staleness, the session guarantees, the siblings and causality metrics, the checker -- asks it
here, in *seq* names (a write's per-key sequence number names it), never by comparing version numbers
itself (``tests/test_versioning.py`` scans ``pbs_sim/metrics/`` for raw comparisons).

Which order (docs/design.md, "two orders"): the run's versioning policy, recorded in the history
(``sibling_settings.policy``; none recorded: ``lww``), decides.

* ``lww``: the total order of stamps ``(timestamp_ms, seq)`` -- a write's *rank* is its 1-based place
  in its key's order (``pbs_sim.metrics.causality.store_ranks``, from the ``write_stamps`` table);
  with perfect clocks (no table) the rank is the seq. Two writes are never concurrent.
* sibling policies (``vv-*``, ``dvv``): the causal order of the recorded contexts -- u is below v iff
  u is in v's causal past (``causal_parents``, transitively; ``pbs_sim.metrics.siblings.CausalIndex``).
  This is the order the exact clocks (``vv-client``, ``dvv``) implement; the flawed ones differ from
  it exactly where the siblings metrics say (false concurrency: a replica keeps two versions of which
  one is below the other; false dominance: it discards a version that nothing it keeps is above).
  A replica's state is a *set* of versions (``applies`` plus the ``apply_versions`` side table), and
  a write is *covered* by a state iff the state holds it or a version above it.

Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .causality import store_ranks
from .siblings import WINDOW, CausalIndex, key_parents, settings
from .staleness import _is

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

BELOW, EQUAL, ABOVE, CONCURRENT = "below", "equal", "above", "concurrent"


class StoreOrder:
    """The store's order of a run's writes, per key, in seq names (see the module docstring).

    ``below(key, u, v)``: u is strictly below v; ``covers(key, held, s)``: a replica state holding the
    versions ``held`` holds s or a version above it; ``relation(key, u, v)``: ``"below"``,
    ``"equal"``, ``"above"`` or ``"concurrent"``; ``rank(key, s)`` (LWW only): s's place in the total
    order; ``maximal(key, seqs)``: the versions of ``seqs`` no other one of them is above."""

    def __init__(self, policy: str, ranks: dict[tuple[int, int], int] | None = None,
                 index: CausalIndex | None = None) -> None:
        self.policy = policy
        self.total = index is None  # LWW: a total order (ranks); sibling policies: a partial one
        self._ranks = ranks  # (key, seq) -> rank; None: ranks are seqs (perfect clocks)
        self.index = index
        self._back: dict[tuple[int, int], int] | None = None

    # -- the one comparison -------------------------------------------------------------------------
    def rank(self, key: int, s: int) -> int:
        """LWW: the 1-based place of write s in its key's store order (0 for 0, "nothing")."""
        if self._ranks is None:
            return s
        return self._ranks.get((key, s), 0)

    def below(self, key: int, u: int, v: int) -> bool:
        if u == v or u <= 0 or v <= 0:  # store-order: names, not order
            return u <= 0 < v  # store-order: "nothing" is below every write
        if self.index is not None:
            return self.index.below(key, u, v)
        if self._ranks is None:
            return u < v  # store-order: perfect-clock LWW, ranks are seqs
        r = self._ranks
        return r.get((key, u), 0) < r.get((key, v), 0)  # store-order: LWW ranks

    def relation(self, key: int, u: int, v: int) -> str:
        if u == v:
            return EQUAL
        if self.below(key, u, v):
            return BELOW
        if self.below(key, v, u):
            return ABOVE
        return CONCURRENT

    def covers(self, key: int, held: Iterable[int], s: int) -> bool:
        """Does a state holding the versions ``held`` hold ``s`` or a version above it?"""
        if isinstance(held, (tuple, list, set, frozenset)) and s in held:
            return True  # the common case, without a comparison per held version
        below = self.below
        return any(h == s or below(key, s, h) for h in held)

    def maximal(self, key: int, seqs: Iterable[int]) -> list[int]:
        """The versions of ``seqs`` that no other of them is above (one under LWW), in seq order."""
        vs = sorted(set(seqs))
        if self.total:
            return [max(vs, key=lambda s: self.rank(key, s))] if vs else []
        below = self.below
        return [s for s in vs if not any(below(key, s, t) for t in vs if t != s)]

    def covers_each(self, key: int, versions: np.ndarray, s: int,
                    sets: Mapping[int, tuple[int, ...]] | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Per replica state of ``key`` -- its highest version ``versions[i]``, and, under sibling
        policies, every version it holds ``sets[rows[i]]`` when there are several -- does it hold ``s``
        or a version above it? Vectorized on ranks under LWW; under a partial order only states whose
        highest seq reaches ``s`` can (a write's causal past holds only lower seqs) and are asked."""
        v = np.asarray(versions, np.int64)
        if self.total:
            if self._ranks is None:
                return v >= s  # store-order: perfect-clock LWW, ranks are seqs
            r = self._ranks
            mine = r.get((key, s), 0)
            return np.asarray([r.get((key, x), 0) for x in v.tolist()], np.int64) >= mine  # store-order: ranks
        out = np.zeros(len(v), bool)
        cand = np.flatnonzero(v >= s)  # store-order: seqs, the causal past is below
        rl = rows.tolist() if rows is not None else None
        for i in cand.tolist():
            held = (sets or {}).get(rl[i], ()) if rl is not None else ()
            out[i] = self.covers(key, held or (int(v[i]),), s)
        return out

    def next_write(self, key: int, s: int) -> int:
        """The write right after ``s`` in the key's order: the next rank under LWW, the next seq
        (the next write issued) under a partial order (0: none known)."""
        if self.total and self._ranks is not None:
            return self.seq_of_rank(key, self.rank(key, s) + 1)
        return s + 1

    # -- frames in ranks (LWW metrics written for a total order) -------------------------------------
    def seq_of_rank(self, key: int, rank: int) -> int:
        """LWW: the write at ``rank`` in its key's order (0 for 0)."""
        if self._ranks is None or not rank:
            return rank
        back = self._back
        if back is None:
            back = self._back = {kr: s for (k, s), r in self._ranks.items() for kr in ((k, r),)}
        return back.get((key, rank), 0)

    def outcomes_to_seq(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """Read outcomes computed on ranks, with ``version`` and ``w_star`` named by seq again."""
        if self._ranks is None or outcomes.empty:
            return outcomes
        keys = outcomes["key"].to_numpy(np.int64).tolist()
        back = self.seq_of_rank
        return outcomes.assign(**{col: np.asarray([back(k, v) for k, v in zip(
            keys, outcomes[col].to_numpy(np.int64).tolist(), strict=True)], np.int64) for col in ("version", "w_star")})

    def ranked_ops(self, ops: pd.DataFrame) -> pd.DataFrame:
        """LWW: ``ops`` with ``version`` replaced by the store rank (``ops`` itself with perfect clocks)."""
        if self._ranks is None:
            return ops
        key = ops["key"].to_numpy(np.int64).tolist()
        r = self._ranks
        return ops.assign(version=np.asarray(
            [r.get((k, v), 0) for k, v in zip(key, ops["version"].to_numpy(np.int64).tolist(), strict=True)], np.int64))


#: The frames an order is made of: a cached order is reused only for the very same frames objects.
_INPUTS = ("ops", "sibling_settings", "causal_parents", "write_stamps")
_CACHE: list[tuple[tuple[weakref.ref[pd.DataFrame] | None, ...], StoreOrder]] = []


def store_order(frames: Mapping[str, pd.DataFrame]) -> StoreOrder:
    """The run's :class:`StoreOrder`, built on first use and cached for the frames it was built from
    (``ops``, ``sibling_settings``, ``causal_parents``, ``write_stamps``: the same objects give the same
    order, so every metric of a run shares one)."""
    ins = [frames.get(t) for t in _INPUTS]
    for refs, order in _CACHE:
        if all((r is None and f is None) or (r is not None and r() is f) for r, f in zip(refs, ins, strict=True)):
            return order
    order = _build(frames["ops"], frames)
    _CACHE[:] = [(r, o) for r, o in _CACHE if r[0] is not None and r[0]() is not None][-3:]
    _CACHE.append((tuple(None if f is None else weakref.ref(f) for f in ins), order))
    return order


def _build(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> StoreOrder:
    policy = settings(frames)["policy"]
    if policy != "lww":
        return StoreOrder(policy, index=CausalIndex(key_parents(ops, frames), window=WINDOW))
    ranks = store_ranks(ops, frames.get("write_stamps"))
    if ranks is None:
        return StoreOrder(policy)
    w = _is(ops["kind"], "write")
    lookup = dict(zip(zip(ops["key"].to_numpy(np.int64)[w].tolist(), ops["version"].to_numpy(np.int64)[w].tolist(),
                          strict=True), ranks[w].tolist(), strict=True))
    return StoreOrder(policy, ranks=lookup)


def apply_sets(frames: Mapping[str, pd.DataFrame]) -> dict[int, tuple[int, ...]]:
    """applies row -> every version the replica's state held after it, for applies whose state held
    more than one (``apply_versions``: sibling policies); any other apply's state is its ``version``."""
    av = frames.get("apply_versions")
    if av is None or av.empty:
        return {}
    out: dict[int, list[int]] = {}
    for row, v in zip(av["apply"].to_numpy(np.int64).tolist(), av["version"].to_numpy(np.int64).tolist(), strict=True):
        out.setdefault(row, []).append(v)
    return {r: tuple(vs) for r, vs in out.items()}


def seq_order() -> StoreOrder:
    """LWW with perfect clocks (seq order): for callers that have no run's frames (unit tests)."""
    return StoreOrder("lww")


__all__ = ["ABOVE", "BELOW", "CONCURRENT", "EQUAL", "StoreOrder", "apply_sets", "seq_order", "store_order"]
