"""Logical clocks for keeping concurrent writes as siblings: version vectors, DVV and DVVSet.

Owns: the pure algorithms (no SimPy, no history) that a sibling-keeping versioning policy runs on a
replica's state for one key, behind one small interface, :class:`SiblingClock`:

- ``empty()``: the state of a key never written;
- ``put(state, context, value, node=, client=)``: the coordinator (or replica) ``node`` takes a write
  of ``value`` from ``client`` that carries the causal ``context`` the client read;
- ``sync(a, b)``: two replicas' states joined (read merge, read repair, anti-entropy, handoff):
  what is dominated is dropped, what is concurrent is kept;
- ``context(state)``: the causal context a read returns (one version vector);
- ``values(state)``: the siblings; ``entries(state)``: clock entries stored (metadata size).

The variants, named as the sources describe them, each with its known behaviour:

``vv-client`` (client-id vector clocks, Riak before 1.0 and Voldemort's client-side clocks): one
    version vector per sibling, the *client* increments its own entry. Exact, but a vector grows with
    the number of clients that ever wrote the key.
``vv-node`` (Riak's vnode vclocks, 1.0 until DVV: one clock per sibling *set*): the coordinating node
    increments its entry in the set's clock merged with the write's context; a write whose context
    descends the set's clock replaces every sibling, any other write is *added* as a sibling. Writes
    with stale contexts through the same node therefore pile up as siblings although the true order
    supersedes them: false concurrency, Riak's "sibling explosion".
``vv-node-naive`` (the naive server-side alternative): one vector per sibling, the coordinator gives
    the new version the client's context with its own entry incremented past what it stores, and
    discards what that dominates. Two concurrent blind writes through one node then look ordered:
    the first is silently dropped (false dominance, lost updates).
``dvv`` (dotted version vectors, Preguiça, Baquero, Almeida, Fonte, Gonçalves, "Dotted Version
    Vectors: Logical Clocks for Optimistic Replication", arXiv:1011.5808, 2010): each sibling carries
    a *dot* ``(node, counter)`` naming its own write and the version vector of its context; a write
    discards exactly the siblings whose dot its context covers. Exact with node actors, one entry
    per node per sibling.
``dvvset`` (the compact DVVSet of Almeida, Baquero, Gonçalves, Preguiça, Fonte, "Scalable and
    Accurate Causality Tracking for Eventually Consistent Stores", DAIS 2014, and Riak's
    ``dvvset.erl``): one clock for the whole sibling set, ``[(node, counter, [values newest
    first])]`` sorted by node, plus anonymous values; exact, with at most one entry per replica node.

Dominance used by ``sync`` and the metrics: a version vector ``a <= b`` iff ``a[i] <= b[i]`` for every
actor; a dot ``(i, n)`` is covered by ``b`` iff ``n <= b[i]``.
Must not touch: SimPy, timestamps (last-writer-wins is ``pbs_sim.sim.versioning``'s business), metrics.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Actor = Hashable
VV = tuple[tuple[Any, int], ...]  # a version vector: (actor, counter) pairs sorted by actor, counters > 0

EMPTY_VV: VV = ()


# -- version vectors -------------------------------------------------------------------------------
def vv(mapping: Mapping[Any, int] | Iterable[tuple[Any, int]] = ()) -> VV:
    """A normalized version vector (sorted, zero entries dropped) from a mapping or pairs."""
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple(sorted((a, int(n)) for a, n in items if n > 0))


def vv_get(v: VV, actor: Any) -> int:
    for a, n in v:
        if a == actor:
            return n
    return 0


def vv_merge(*vs: VV) -> VV:
    """Pointwise maximum."""
    out: dict[Any, int] = {}
    for v in vs:
        for a, n in v:
            if n > out.get(a, 0):
                out[a] = n
    return vv(out)


def vv_leq(a: VV, b: VV) -> bool:
    """``a <= b``: every event of ``a`` is in ``b``."""
    d = dict(b)
    return all(n <= d.get(x, 0) for x, n in a)


def vv_increment(v: VV, actor: Any, to: int | None = None) -> VV:
    """``v`` with ``actor``'s entry set to ``to`` (default: one more)."""
    d = dict(v)
    d[actor] = d.get(actor, 0) + 1 if to is None else to
    return vv(d)


def vv_compare(a: VV, b: VV) -> str:
    """``"equal"``, ``"before"`` (a < b), ``"after"`` (a > b) or ``"concurrent"``."""
    le, ge = vv_leq(a, b), vv_leq(b, a)
    if le and ge:
        return "equal"
    if le:
        return "before"
    if ge:
        return "after"
    return "concurrent"


def covers(v: VV, dot: tuple[Any, int]) -> bool:
    """True if the event ``dot = (actor, n)`` is in the history summarized by ``v``."""
    return dot[1] <= vv_get(v, dot[0])


# -- the interface ----------------------------------------------------------------------------------
class SiblingClock(Protocol):
    """One sibling-keeping causality algorithm over a key's replica state (see the module docstring)."""

    name: str

    def empty(self) -> Any: ...

    def put(self, state: Any, context: VV, value: Any, *, node: Any, client: Any) -> Any: ...

    def sync(self, a: Any, b: Any) -> Any: ...

    def context(self, state: Any) -> VV: ...

    def values(self, state: Any) -> list[Any]: ...

    def entries(self, state: Any) -> int: ...


def sync_all(clock: SiblingClock, states: Iterable[Any]) -> Any:
    """Fold ``sync`` over several states (a read's responses)."""
    out = clock.empty()
    for s in states:
        out = clock.sync(out, s)
    return out


# -- per-sibling version vectors: vv-client and vv-node-naive --------------------------------------
@dataclass(frozen=True)
class Tagged:
    """A sibling with its own version vector."""

    clock: VV
    value: Any


def _sync_tagged(a: tuple[Tagged, ...], b: tuple[Tagged, ...]) -> tuple[Tagged, ...]:
    """Union, dropping a sibling whose clock is strictly dominated by another's (or a duplicate)."""
    out: list[Tagged] = []
    for s in (*a, *b):
        if any(t.clock == s.clock for t in out):
            continue
        out.append(s)
    return tuple(s for s in out if not any(vv_leq(s.clock, t.clock) and s.clock != t.clock for t in out))


class _TaggedClock:
    name = "tagged"

    def empty(self) -> tuple[Tagged, ...]:
        return ()

    def sync(self, a: tuple[Tagged, ...], b: tuple[Tagged, ...]) -> tuple[Tagged, ...]:
        return _sync_tagged(a, b)

    def context(self, state: tuple[Tagged, ...]) -> VV:
        return vv_merge(*(s.clock for s in state))

    def values(self, state: tuple[Tagged, ...]) -> list[Any]:
        return [s.value for s in state]

    def entries(self, state: tuple[Tagged, ...]) -> int:
        return sum(len(s.clock) for s in state)

    def _add(self, state: tuple[Tagged, ...], new: Tagged) -> tuple[Tagged, ...]:
        kept = tuple(s for s in state if not vv_leq(s.clock, new.clock))
        return (*kept, new)


class ClientVV(_TaggedClock):
    """``vv-client``: the writing client increments its own entry (past any it has stored here, so a
    client that writes twice from one stale context still gets two distinct events)."""

    name = "vv-client"

    def put(self, state: tuple[Tagged, ...], context: VV, value: Any, *, node: Any, client: Any) -> tuple[Tagged, ...]:
        mine = max([vv_get(context, client), *(vv_get(s.clock, client) for s in state)])
        return self._add(state, Tagged(vv_increment(context, client, mine + 1), value))


class NaiveNodeVV(_TaggedClock):
    """``vv-node-naive``: the coordinating node increments its own entry of the client's context past
    every counter it stores, and the new version dominates whatever that covers — including
    concurrent writes it has not seen in the context (false dominance)."""

    name = "vv-node-naive"

    def put(self, state: tuple[Tagged, ...], context: VV, value: Any, *, node: Any, client: Any) -> tuple[Tagged, ...]:
        # the node's entry goes past every counter of it stored here, so every sibling this node
        # coordinated before looks dominated — whether or not the client had seen it
        mine = max([vv_get(context, node), *(vv_get(s.clock, node) for s in state)])
        return self._add(state, Tagged(vv_increment(context, node, mine + 1), value))


# -- one clock per sibling set: vv-node (Riak vnode vclocks) ----------------------------------------
@dataclass(frozen=True)
class SetClock:
    """A sibling set under one clock."""

    clock: VV
    siblings: tuple[Any, ...]


class VnodeVV:
    """``vv-node``: Riak's vnode vclocks. A write whose context descends the set's clock replaces the
    siblings; any other write joins them. Either way the set's clock becomes the merge of both with
    the coordinator's entry incremented, so later stale-context writes keep adding siblings."""

    name = "vv-node"

    def empty(self) -> SetClock:
        return SetClock(EMPTY_VV, ())

    def put(self, state: SetClock, context: VV, value: Any, *, node: Any, client: Any) -> SetClock:
        merged = vv_merge(state.clock, context)
        clock = vv_increment(merged, node)
        if vv_leq(state.clock, context):
            return SetClock(clock, (value,))
        return SetClock(clock, (*state.siblings, value))

    def sync(self, a: SetClock, b: SetClock) -> SetClock:
        if vv_leq(a.clock, b.clock):
            return b
        if vv_leq(b.clock, a.clock):
            return a
        sibs = list(a.siblings)
        sibs.extend(v for v in b.siblings if v not in sibs)
        return SetClock(vv_merge(a.clock, b.clock), tuple(sibs))

    def context(self, state: SetClock) -> VV:
        return state.clock

    def values(self, state: SetClock) -> list[Any]:
        return list(state.siblings)

    def entries(self, state: SetClock) -> int:
        return len(state.clock)


# -- dotted version vectors, one per sibling (Preguiça et al. 2010) ---------------------------------
@dataclass(frozen=True, slots=True)
class Dotted:
    """A sibling: its own event ``dot = (node, counter)`` and the version vector of its context."""

    dot: tuple[Any, int]
    context: VV
    value: Any

    def history_covers(self, dot: tuple[Any, int]) -> bool:
        return dot == self.dot or covers(self.context, dot)


class DVV:
    """``dvv``: a write at ``node`` gets the dot ``(node, m + 1)``, ``m`` the largest counter of
    ``node`` in the context or in any stored sibling; it discards exactly the siblings whose dot the
    context covers. ``sync`` keeps a sibling unless another's history contains its dot."""

    name = "dvv"

    def empty(self) -> tuple[Dotted, ...]:
        return ()

    def put(self, state: tuple[Dotted, ...], context: VV, value: Any, *, node: Any, client: Any) -> tuple[Dotted, ...]:
        m = max([vv_get(context, node),
                 *(s.dot[1] for s in state if s.dot[0] == node),
                 *(vv_get(s.context, node) for s in state)])
        kept = tuple(s for s in state if not covers(context, s.dot))
        return (*kept, Dotted((node, m + 1), context, value))

    def sync(self, a: tuple[Dotted, ...], b: tuple[Dotted, ...]) -> tuple[Dotted, ...]:
        out: list[Dotted] = []
        for s in (*a, *b):
            if any(t.dot == s.dot for t in out):
                continue
            out.append(s)
        return tuple(s for s in out if not any(t.dot != s.dot and t.history_covers(s.dot) for t in out))

    def context(self, state: tuple[Dotted, ...]) -> VV:
        return vv_merge(*(s.context for s in state), *((s.dot,) for s in state))

    def values(self, state: tuple[Dotted, ...]) -> list[Any]:
        return [s.value for s in state]

    def entries(self, state: tuple[Dotted, ...]) -> int:
        return sum(len(s.context) + 1 for s in state)


# -- DVVSet (Almeida et al. 2014; Riak's dvvset.erl) ------------------------------------------------
Entry = tuple[Any, int, tuple[Any, ...]]  # (node, counter, values newest first)


@dataclass(frozen=True)
class DVVSetState:
    """``entries``: ``(node, counter, values)`` sorted by node, the values being that node's newest
    ``len(values)`` events (newest first); ``anonymous``: values without a dot (a client's new value
    before a node stamps it)."""

    entries: tuple[Entry, ...] = ()
    anonymous: tuple[Any, ...] = ()


def _dvvset_merge(node: Any, n1: int, l1: tuple[Any, ...], n2: int, l2: tuple[Any, ...]) -> Entry:
    if n1 >= n2:
        if n1 - len(l1) >= n2 - len(l2):
            return (node, n1, l1)
        return (node, n1, l1[: n1 - n2 + len(l2)])
    if n2 - len(l2) >= n1 - len(l1):
        return (node, n2, l2)
    return (node, n2, l2[: n2 - n1 + len(l1)])


def _dvvset_sync_entries(e1: tuple[Entry, ...], e2: tuple[Entry, ...]) -> tuple[Entry, ...]:
    out: list[Entry] = []
    i = j = 0
    while i < len(e1) and j < len(e2):
        a, b = e1[i], e2[j]
        if a[0] == b[0]:
            out.append(_dvvset_merge(a[0], a[1], a[2], b[1], b[2]))
            i += 1
            j += 1
        elif _before(a[0], b[0]):
            out.append(a)
            i += 1
        else:
            out.append(b)
            j += 1
    out.extend(e1[i:])
    out.extend(e2[j:])
    return tuple(out)


def _before(x: Any, y: Any) -> bool:
    return bool(x < y)


def _dvvset_greater(c1: tuple[Entry, ...], c2: tuple[Entry, ...]) -> bool:
    """``dvvset.erl``'s ``greater(C1, C2, false)``: C1's history strictly contains C2's."""
    strict = False
    i = j = 0
    while True:
        if i == len(c1) and j == len(c2):
            return strict
        if j == len(c2):
            return True
        if i == len(c1):
            return False
        a, b = c1[i], c2[j]
        if a[0] == b[0]:
            if a[1] < b[1]:
                return False
            if a[1] > b[1]:
                strict = True
            i += 1
            j += 1
        elif _before(a[0], b[0]):
            strict = True
            i += 1
        else:
            return False


def dvvset_less(a: DVVSetState, b: DVVSetState) -> bool:
    """True if ``a``'s causal history is strictly contained in ``b``'s (``a``'s values are outdated)."""
    return _dvvset_greater(b.entries, a.entries)


def dvvset_join(state: DVVSetState) -> VV:
    """The version vector of the state's causal history (what a read returns as its context)."""
    return tuple((node, n) for node, n, _ in state.entries)


def dvvset_sync(a: DVVSetState, b: DVVSetState) -> DVVSetState:
    if dvvset_less(a, b):
        anon = b.anonymous
    elif dvvset_less(b, a):
        anon = a.anonymous
    else:
        anon = tuple(dict.fromkeys((*a.anonymous, *b.anonymous)))
    return DVVSetState(_dvvset_sync_entries(a.entries, b.entries), anon)


def _dvvset_event(entries: tuple[Entry, ...], node: Any, value: Any) -> tuple[Entry, ...]:
    out: list[Entry] = []
    done = False
    for e in entries:
        if not done and e[0] == node:
            out.append((node, e[1] + 1, (value, *e[2])))
            done = True
        elif not done and _before(node, e[0]):
            out.append((node, 1, (value,)))
            out.append(e)
            done = True
        else:
            out.append(e)
    if not done:
        out.append((node, 1, (value,)))
    return tuple(out)


def dvvset_new(context: VV, value: Any) -> DVVSetState:
    """A client's write: the value anonymous, under the context's causal history."""
    return DVVSetState(tuple((node, n, ()) for node, n in sorted(context)), (value,))


def dvvset_update(client: DVVSetState, server: DVVSetState, node: Any) -> DVVSetState:
    """``dvvset:update/3``: sync the client's clock (without its new value) with the server's, then
    make the new value an event of ``node``; synced anonymous values remain."""
    (value,) = client.anonymous
    synced = dvvset_sync(DVVSetState(client.entries, ()), server)
    return DVVSetState(_dvvset_event(synced.entries, node, value), synced.anonymous)


class DVVSet:
    """``dvvset``: the sibling-keeping interface over :class:`DVVSetState`."""

    name = "dvvset"

    def empty(self) -> DVVSetState:
        return DVVSetState()

    def put(self, state: DVVSetState, context: VV, value: Any, *, node: Any, client: Any) -> DVVSetState:
        return dvvset_update(dvvset_new(context, value), state, node)

    def sync(self, a: DVVSetState, b: DVVSetState) -> DVVSetState:
        return dvvset_sync(a, b)

    def context(self, state: DVVSetState) -> VV:
        return dvvset_join(state)

    def values(self, state: DVVSetState) -> list[Any]:
        return [*state.anonymous, *(v for _, _, vals in state.entries for v in vals)]

    def entries(self, state: DVVSetState) -> int:
        return len(state.entries)


CLOCKS: dict[str, SiblingClock] = {c.name: c for c in (ClientVV(), VnodeVV(), NaiveNodeVV(), DVV(), DVVSet())}


__all__ = [
    "CLOCKS", "DVV", "VV", "ClientVV", "DVVSet", "DVVSetState", "Dotted", "NaiveNodeVV", "SetClock",
    "SiblingClock", "Tagged", "VnodeVV", "covers", "dvvset_join", "dvvset_less", "dvvset_new", "dvvset_sync",
    "dvvset_update", "sync_all", "vv", "vv_compare", "vv_get", "vv_increment", "vv_leq", "vv_merge",
]
