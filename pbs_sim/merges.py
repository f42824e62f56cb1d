"""Client merges of siblings (``workload.merge``): what a write's value is made of.

Owns: the item-set model of values and the named merges. Every write adds one item of its own (its
``seq``); what else its value holds is decided by the client's merge of the versions its session
knew when it wrote (its causal parents, ``causal_parents``): ``"none"`` -- nothing else (the
client overwrites); ``"union"`` -- every item of every known version (DDIA's shopping cart: an
add-only set, no item lost while one version holding it survives); ``"lww"`` -- the items of the
newest known version (highest ``seq``: issue order) only; ``"module:function"`` -- a dotted path to
``fn(list[frozenset[int]]) -> frozenset[int]``, imported like sweep engines. Values do not change
what the store does with versions (the versioning policy only sees causal metadata), so the items
are derived from the history (:func:`item_sets`, :func:`surviving_items`), never carried by
messages. Must not touch: SimPy, the store.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence

Merge = Callable[[list[frozenset[int]]], frozenset[int]]
BUILTIN = ("none", "union", "lww")


def load_merge(path: str) -> Merge:
    """The function behind ``"module:function"`` (ValueError naming why it cannot be used)."""
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected none, union, lww or module:function, got {path!r}")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot import merge {path!r}: {exc}") from None
    if not callable(fn):
        raise ValueError(f"merge {path!r} is not callable")
    return fn  # type: ignore[no-any-return]


def item_sets(writes: Sequence[int], parents: Mapping[int, Sequence[int]], merge: str) -> dict[int, frozenset[int]]:
    """Per write ``seq`` of one key (``writes`` in issue order): the items its value holds.

    ``parents[seq]``: the seqs its session knew. Materializes every set (memory grows with the
    items), so use it for small histories and custom merges; :func:`surviving_items` answers the
    lost-item question for the built-in merges in time linear in the edges."""
    fn: Merge | None = None if merge in BUILTIN else load_merge(merge)
    out: dict[int, frozenset[int]] = {}
    for w in writes:
        ps = [p for p in parents.get(w, ()) if p in out]
        if merge == "none" or not ps:
            base: frozenset[int] = frozenset()
        elif merge == "union":
            base = frozenset().union(*(out[p] for p in ps))
        elif merge == "lww":
            base = out[max(ps)]
        else:
            assert fn is not None
            base = frozenset(fn([out[p] for p in ps]))
        out[w] = base | {w}
    return out


def surviving_items(final: Iterable[int], parents: Mapping[int, Sequence[int]], merge: str,
                    writes: Sequence[int] = ()) -> set[int]:
    """The items some version in ``final`` holds (seqs of one key): for ``none`` / ``union`` /
    ``lww`` the versions reachable backwards from ``final`` along the merge's edges; a custom merge
    materializes the sets (``writes``: every seq of the key in issue order)."""
    final = list(final)
    if merge not in BUILTIN:
        sets = item_sets(writes, parents, merge)
        return set().union(*(sets.get(f, frozenset({f})) for f in final)) if final else set()
    seen: set[int] = set()
    stack = list(final)
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        ps = parents.get(x, ())
        if merge == "union":
            stack.extend(ps)
        elif merge == "lww" and ps:
            stack.append(max(ps))
    return seen


__all__ = ["BUILTIN", "item_sets", "load_merge", "surviving_items"]
