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
* :class:`SiblingPolicy` (issue 11): ``"vv"`` (``cluster.vv_actor`` = ``"node"``, ``"client"`` or
  ``"node-naive"``) and ``"dvv"`` keep a sibling set with causal metadata, one of
  :mod:`pbs_sim.vclock`'s algorithms; ``merge`` is the causal sync, ``versions`` lists every
  sibling's ``seq``, ``digest`` covers the whole set and its metadata. See the class docstring.

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

Causal contexts (:class:`SessionContexts`, issue 18): a write carries the context of the one
state it is based on -- its own read (a read-modify-write), an earlier write's reply (Riak's
``return_body``), or nothing (a blind write) -- per operation, as a store passes it; its direct
causal parents are that state's versions (the ``causal_parents`` side table). Separately, each
session's knowledge of a key since its last write (every version its reads and write replies
returned) goes to the ``session_parents`` table: the happened-before edges of the true order. Memory
is one small set per (client, key) a session touched, so the history stays bounded, and the metrics
take transitive closures per key (``pbs_sim.metrics.causality``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ..vclock import Dotted
from .merkle import digest as merkle_digest

Stamp = tuple[float, int]  # (timestamp_ms, seq)


@runtime_checkable
class VersioningPolicy(Protocol):
    """How versions are made, ordered, merged and digested (see the module docstring)."""

    name: str

    def new_version(
        self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1,
    ) -> Any:
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

    def new_version(
        self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1,
    ) -> Stamp:
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


class SiblingPolicy:
    """A sibling-keeping policy over one :class:`pbs_sim.vclock.SiblingClock` (issue 11).

    A replica's state of a key is the clock's state, each sibling's value being its write's ``seq``
    (the items a write adds are derived from the history, ``pbs_sim.metrics.siblings``). ``merge`` is
    the clock's ``sync`` (None when it leaves the held state unchanged); ``dominates(a, b)``: ``a``
    covers ``b`` and ``b`` does not cover ``a`` -- a read's merged state dominates every responder
    that lacks something, so read repair sends the whole merged sibling set, and ``sync`` on the
    receiver keeps every concurrent sibling (a repair never discards one). ``compare`` is partial:
    0 for concurrent states. ``digest`` hashes the canonical sibling set with all its metadata.

    Who takes the write. A write's version is made where it is coordinated, by the clock's ``put``:
    ``actor`` is the coordinating endpoint (``vv_actor = "node"`` / ``"node-naive"`` and ``dvv``: a
    node, or the one client-side coordinator, ``CLIENT``) or the writing client (``"client"``). The
    actor keeps, per key, the state its own ``put`` calls produced (a Riak vnode that coordinates a key
    holds its own writes locally), so its counters never repeat -- also across a disk loss, as Riak
    2.0's vnode epochs guarantee -- and the version it sends to the replicas is that whole state:
    with DVV this is what keeps a context's counters contiguous (a replica that received dot
    ``(a, 3)`` also received every dot ``(a, n < 3)`` not yet superseded), the condition under which
    "the context covers the dot" means "the client saw it" (Preguiça et al. 2010, section 5).
    The write's context is the read state it carries (``write(..., context=state)``: the
    read-modify-write's read, or a write's returned state) turned into one version vector by the
    clock's ``context``; a blind write carries the empty vector. Under ``vv-client`` the client is the
    actor and its counter passes every one of its own earlier versions: the put discards those whose
    other entries the context covers, and they count as the write's causal parents too
    (:attr:`implied`), so the recorded causal order is the one this exact clock implements.

    Variants (``pbs_sim.vclock``'s names): ``vv`` + ``vv_actor="node"`` -> ``vv-node`` (Riak vnode
    vclocks, one clock per sibling set: sibling explosion, false concurrency); ``"node-naive"`` ->
    ``vv-node-naive`` (the coordinator's entry incremented past what it holds: false dominance, lost
    writes); ``"client"`` -> ``vv-client`` (exact, a vector entry per writing client); ``dvv`` ->
    ``dvv`` (Preguiça et al.'s per-sibling dotted version vectors: exact, node actors). DVVSet
    (Almeida et al. 2014) is tested at the algorithm level only: its compact encoding keeps a node's
    newest values contiguous, so it needs the coordinator's full local replica state, which a
    client-side coordinator does not have.
    """

    BYTES_PER_ENTRY = 16  # one version-vector entry or dot: an 8-byte actor id and an 8-byte counter

    def __init__(self, name: str, clock: Any) -> None:
        self.name = name
        self.clock = clock
        self.actor_is_client = clock.name == "vv-client"
        self._actors: dict[tuple[int, int], Any] = {}
        #: the versions the last ``new_version`` superseded beyond its context (vv-client: the client's
        #: own earlier writes), recorded as causal parents with the context's
        self.implied: tuple[int, ...] = ()
        self._sync = clock.sync
        self._values = clock.values

    # -- writes ------------------------------------------------------------------------------------
    def new_version(
        self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1,
    ) -> Any:
        clock = self.clock
        actor = client if self.actor_is_client else origin
        ctx = () if context is None else clock.context(context)
        ak = (key, actor)
        held = self._actors.get(ak)
        state = clock.put(clock.empty() if held is None else held, ctx, seq, node=actor, client=client)
        self._actors[ak] = state
        if self.actor_is_client and held:
            # a client-actor vector covers the client's own earlier writes its counter passes: those the
            # put discarded are in the new version's causal context as the store compares it
            kept = set(self._values(state))
            self.implied = tuple(sorted(v for v in self._values(held) if v not in kept))
        else:
            self.implied = ()
        return state

    # -- order -------------------------------------------------------------------------------------
    def canonical(self, state: Any) -> Any:
        """The state as an order-free value: equal iff the same siblings with the same metadata."""
        if state is None:
            return None
        if hasattr(state, "siblings"):  # vv-node: one clock per sibling set
            return (state.clock, frozenset(state.siblings))
        return frozenset(state)

    def merge(self, held: Any, incoming: Any) -> Any:
        if incoming is None:
            return None
        if held is None:
            return incoming
        s = self._sync(held, incoming)
        return None if self.canonical(s) == self.canonical(held) else s

    def dominates(self, a: Any, b: Any) -> bool:
        if a is None:
            return False
        if b is None:
            return bool(self._values(a))
        return self.merge(b, a) is not None and self.merge(a, b) is None

    def compare(self, a: Any, b: Any) -> int:
        if self.dominates(a, b):
            return 1
        return -1 if self.dominates(b, a) else 0

    def digest(self, key: int, state: Any) -> int:
        if hasattr(state, "siblings"):
            canon: Any = (state.clock, tuple(sorted(state.siblings)))
        else:
            canon = tuple(sorted((repr(getattr(s, "dot", ())), s.context if hasattr(s, "context") else s.clock, s.value)
                                 for s in state))
        return merkle_digest(key, canon)

    def version(self, state: Any) -> int:
        return max(self._values(state), default=0) if state is not None else 0

    def versions(self, state: Any) -> tuple[int, ...]:
        return () if state is None else tuple(sorted(self._values(state)))

    # -- metadata ------------------------------------------------------------------------------------
    def siblings(self, state: Any) -> int:
        """How many values (siblings) the state holds."""
        return 0 if state is None else len(self._values(state))

    def entries(self, state: Any) -> int:
        """Clock entries stored (version-vector entries and dots)."""
        return 0 if state is None else int(self.clock.entries(state))

    def metadata_bytes(self, state: Any) -> int:
        return self.BYTES_PER_ENTRY * self.entries(state)

    def read_facts(self, state: Any) -> tuple[int, int, int]:
        """``(siblings, entries, metadata_bytes)`` of a state (the ``read_siblings`` row)."""
        e = self.entries(state)
        return self.siblings(state), e, self.BYTES_PER_ENTRY * e


class DVVState(tuple):  # type: ignore[type-arg]
    """A ``dvv`` replica state: a tuple of :class:`pbs_sim.vclock.Dotted`, equal to and
    interchangeable with the plain tuple the reference :class:`pbs_sim.vclock.DVV` takes and gives,
    that keeps what :class:`DVVPolicy` derives from it once computed (a state is immutable, and a
    stored state is read, merged into and digested many times): the sorted write ``seq``s, the
    clock entries, the dots, the largest context counter per node, the context version vector and
    the digest's canonical form. No ``__slots__``: a tuple subclass keeps these in its ``__dict__``;
    the class attributes are the "not computed yet" defaults."""

    versions: tuple[int, ...] | None = None
    entries: int = -1
    dots: frozenset[Any] | None = None
    top: dict[Any, int] | None = None
    vv: tuple[tuple[Any, int], ...] | None = None
    canon: tuple[Any, ...] | None = None
    facts: tuple[int, int, int] | None = None
    clean: bool | None = None
    dot_range: tuple[dict[Any, int], dict[Any, int]] | None = None


def _dvv_versions(state: Any) -> tuple[int, ...]:
    if state is None:
        return ()
    v = getattr(state, "versions", None)
    if v is None:
        v = tuple(sorted([s.value for s in state]))
        if type(state) is DVVState:
            state.versions = v
    return v


def _dvv_version(state: Any) -> int:
    if state is None:
        return 0
    v = getattr(state, "versions", None)
    if v is None:
        v = _dvv_versions(state)
    return v[-1] if v else 0


def _dvv_read_facts(state: Any) -> tuple[int, int, int]:
    f = getattr(state, "facts", None)
    if f is None:
        e = sum(len(s.context) + 1 for s in state)
        f = (len(state), e, SiblingPolicy.BYTES_PER_ENTRY * e)
        if type(state) is DVVState:
            state.facts = f
    return f


def _dvv_dots(state: Any) -> frozenset[Any]:
    d = getattr(state, "dots", None)
    if d is None:
        d = frozenset([s.dot for s in state])
        if type(state) is DVVState:
            state.dots = d
    return d


def _dvv_top(state: Any) -> dict[Any, int]:
    """The largest counter of each node over every sibling's context (not the dots): a sibling
    ``(i, n)`` of a set is dominated iff ``n <= top[i]`` (its own context never covers its dot)."""
    t = getattr(state, "top", None)
    if t is None:
        t = _context_tops(state)
        if type(state) is DVVState:
            state.top = t
    return t


def _context_tops(siblings: Any) -> dict[Any, int]:
    """The largest counter of each node over the contexts of ``siblings`` (any iterable of them)."""
    t: dict[Any, int] = {}
    get = t.get
    for x in siblings:
        for a, n in x.context:
            if n > get(a, 0):
                t[a] = n
    return t


def _dvv_within(a: dict[Any, int], b: dict[Any, int]) -> bool:
    """Every counter of ``a`` is at most ``b``'s."""
    get = b.get
    for k, n in a.items():  # noqa: SIM110 (a plain loop: faster than all() over a generator)
        if n > get(k, 0):
            return False
    return True


def _dvv_below(a: dict[Any, int], lowest: dict[Any, int]) -> bool:
    """Every counter of ``a`` is below ``lowest``'s for the same node (no entry: no bound)."""
    get = lowest.get
    for k, n in a.items():
        low = get(k)
        if low is not None and n >= low:
            return False
    return True


def _dvv_dot_range(state: Any) -> tuple[dict[Any, int], dict[Any, int]]:
    """Per node, the smallest and the largest counter of the state's dots."""
    r = getattr(state, "dot_range", None)
    if r is None:
        lo: dict[Any, int] = {}
        hi: dict[Any, int] = {}
        for x in state:
            a, n = x.dot
            if a in lo:
                if n < lo[a]:
                    lo[a] = n
                if n > hi[a]:
                    hi[a] = n
            else:
                lo[a] = hi[a] = n
        r = (lo, hi)
        if type(state) is DVVState:
            state.dot_range = r
    return r


def _dvv_clean(state: Any) -> bool:
    """No sibling of the state is dominated by another's context (every state this module makes)."""
    c = getattr(state, "clean", None)
    if c is None:
        get = _dvv_top(state).get
        c = all(get(x.dot[0], 0) < x.dot[1] for x in state)
        if type(state) is DVVState:
            state.clean = c
    return c


def _dvv_context(state: Any) -> tuple[tuple[Any, int], ...]:
    """``pbs_sim.vclock.DVV.context``: the join of every context and every dot, as a version vector."""
    c = getattr(state, "vv", None)
    if c is None:
        out = dict(_dvv_top(state))  # every context's largest counters, joined with every dot
        get = out.get
        for x in state:
            a, n = x.dot
            if n > get(a, 0):
                out[a] = n
        c = tuple(sorted(out.items()))
        if type(state) is DVVState:
            state.vv = c
    return c


class DVVPolicy(SiblingPolicy):
    """``dvv`` with the clock's algorithms in linear time on :class:`DVVState` states (same
    results, same sibling order as :class:`pbs_sim.vclock.DVV`, which stays the reference;
    ``tests/test_siblings.py`` checks put and sync against it on random states).

    ``merge`` (the reference ``sync`` compares every pair): a dot names one write, so siblings are
    deduplicated by dot, and a sibling is dominated iff some sibling's context covers its dot, i.e.
    iff the largest context entry of its node reaches its counter (a sibling's own context never
    covers its own dot). ``put`` discards the siblings the context covers and takes the dot past
    every counter of the node held or known. Plain tuples of ``Dotted`` are accepted everywhere."""

    def __init__(self, clock: Any) -> None:
        super().__init__("dvv", clock)
        self.versions = _dvv_versions  # type: ignore[method-assign]
        self.read_facts = _dvv_read_facts  # type: ignore[method-assign]
        self.version = _dvv_version  # type: ignore[method-assign]

    def new_version(
        self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1,
    ) -> Any:
        ctx = () if context is None else _dvv_context(context)
        ak = (key, origin)
        actors = self._actors
        held = actors.get(ak)
        covered = dict(ctx)
        m = covered.get(origin, 0)
        if held:
            t = _dvv_top(held).get(origin, 0)
            if t > m:
                m = t
            kept = []
            for x in held:
                a, n = x.dot
                if a == origin and n > m:
                    m = n
                if n > covered.get(a, 0):
                    kept.append(x)
            state = DVVState((*kept, Dotted((origin, m + 1), ctx, seq)))
        else:
            state = DVVState((Dotted((origin, m + 1), ctx, seq),))
        actors[ak] = state
        return state

    def merge(self, held: Any, incoming: Any) -> Any:
        if incoming is None or held is incoming:
            return None
        if held is None:
            return incoming
        dots = _dvv_dots(held)
        idots = _dvv_dots(incoming)
        nh = len(held)
        if (dots <= idots and nh == len(dots) and len(incoming) == len(idots) and _dvv_clean(incoming)
                and _dvv_within(_dvv_top(held), _dvv_top(incoming))):
            # every held sibling is in incoming, whose contexts reach as far as held's and dominate
            # none of its own siblings: nothing is discarded, the join is held, then the rest
            if nh == len(incoming):
                return None
            if incoming[:nh] == held:
                return incoming
            return DVVState((*held, *[x for x in incoming if x.dot not in dots]))
        if (idots and dots.isdisjoint(idots) and _dvv_clean(incoming)
                and _dvv_within(_dvv_dot_range(held)[1], _dvv_top(incoming))
                and _dvv_below(_dvv_top(held), _dvv_dot_range(incoming)[0])):
            # no sibling in common (a session that last read a state every later write superseded),
            # incoming's contexts cover every held dot and held's contexts no incoming dot: the
            # join is exactly incoming
            return incoming
        new = [x for x in incoming if x.dot not in dots]
        if not new:
            return None  # every incoming sibling is held already: nothing can change
        # a sibling survives iff neither held's contexts (th) nor the new siblings' (tn) cover it
        th = _dvv_top(held)
        tn = _dvv_top(incoming) if len(new) == len(incoming) else _context_tops(new)
        hget, nget = th.get, tn.get
        if _dvv_clean(held):  # th covers no held sibling
            kept_held = [x for x in held if nget(x.dot[0], 0) < x.dot[1]]
        else:
            kept_held = [x for x in held if max(hget(x.dot[0], 0), nget(x.dot[0], 0)) < x.dot[1]]
        if _dvv_clean(incoming):  # tn (some of incoming's contexts) covers no incoming sibling
            kept_new = [x for x in new if hget(x.dot[0], 0) < x.dot[1]]
        else:
            kept_new = [x for x in new if max(hget(x.dot[0], 0), nget(x.dot[0], 0)) < x.dot[1]]
        if not kept_new and len(kept_held) == len(held):
            return None
        out = (*kept_held, *kept_new)
        if len(out) == len(incoming) and out == incoming:
            return incoming  # the same siblings in the same order: keep the object (and its caches)
        return DVVState(out)

    def digest(self, key: int, state: Any) -> int:
        canon = getattr(state, "canon", None)
        if canon is None:
            canon = tuple(sorted((repr(s.dot), s.context, s.value) for s in state))
            if type(state) is DVVState:
                state.canon = canon
        return merkle_digest(key, canon)

    def version(self, state: Any) -> int:  # replaced per instance by _dvv_version (no bound method)
        return _dvv_version(state)

    def siblings(self, state: Any) -> int:
        return 0 if state is None else len(state)

    def entries(self, state: Any) -> int:
        if state is None:
            return 0
        e = getattr(state, "entries", -1)
        if e < 0:
            e = sum(len(s.context) + 1 for s in state)
            if type(state) is DVVState:
                state.entries = e
        return int(e)


class Antichain(tuple):  # type: ignore[type-arg]
    """A vv-client / vv-node-naive state that :func:`sync_tagged` built: no two siblings with equal
    clocks, none below another. Equal to (and hashed as) the plain tuple; the type only lets the next
    sync skip the pairs it already knows are unordered."""

    __slots__ = ()


def _below(c: Any, d: dict[Any, int]) -> bool:
    get = d.get
    for x, n in c:  # noqa: SIM110  (a loop, not all() over a generator: 2x faster here)
        if n > get(x, 0):
            return False
    return True


def sync_tagged(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`pbs_sim.vclock._sync_tagged` (vv-client, vv-node-naive): the same siblings in the same
    order, without its pairwise ``vv_leq`` scan (which built a dict per pair: vv-client ran at 0.13 of
    LWW). When ``a`` is an :class:`Antichain` only pairs with a sibling ``a`` lacks are compared; a
    clock with more entries than another is never below it (counters are > 0)."""
    if type(a) is Antichain:
        return _sync_onto(a, b)
    out: list[Any] = []
    seen: set[Any] = set()
    for s in (*a, *b):
        c = s.clock
        if c in seen:
            continue
        seen.add(c)
        out.append(s)
    clocks = [s.clock for s in out]
    dicts: list[dict[Any, int] | None] = [None] * len(out)
    kept = []
    for i, c in enumerate(clocks):
        li = len(c)
        below = False
        for j, cj in enumerate(clocks):
            if j == i or len(cj) < li:
                continue
            d = dicts[j]
            if d is None:
                d = dicts[j] = dict(cj)
            if _below(c, d):  # c <= cj and c != cj (distinct after the dedup)
                below = True
                break
        if not below:
            kept.append(out[i])
    return Antichain(kept)


#: ``(id(c), id(d)) -> (c, d, c <= d)`` for clocks already compared (the same siblings meet again in
#: many syncs); holding ``c`` and ``d`` keeps their ids from being reused while the entry lives. A pure
#: memo (results never depend on it), emptied when it reaches the limit and when a policy is made.
_LEQ: dict[tuple[int, int], tuple[Any, Any, bool]] = {}
_LEQ_LIMIT = 50_000


def _leq(c: Any, d: Any) -> bool:
    """``c <= d`` for version vectors, remembered per pair of clock objects."""
    key = (id(c), id(d))
    hit = _LEQ.get(key)
    if hit is not None:
        return hit[2]
    r = len(c) <= len(d) and _below(c, _as_dict(d))
    if len(_LEQ) >= _LEQ_LIMIT:
        _LEQ.clear()
    _LEQ[key] = (c, d, r)
    return r


#: ``id(d) -> (d, dict(d))``: a clock's entries as a dict, built once per clock object (same memo rules)
_DICTS: dict[int, tuple[Any, dict[Any, int]]] = {}


def _as_dict(d: Any) -> dict[Any, int]:
    hit = _DICTS.get(id(d))
    if hit is not None:
        return hit[1]
    m = dict(d)
    if len(_DICTS) >= _LEQ_LIMIT:
        _DICTS.clear()
    _DICTS[id(d)] = (d, m)
    return m


def _sync_onto(a: Antichain, b: tuple[Any, ...]) -> tuple[Any, ...]:
    """``sync_tagged(a, b)`` for an antichain ``a``: no sibling of ``a`` is below (or equal to) another
    of ``a``, so only the siblings of ``b`` whose clock ``a`` lacks can change anything; clock
    comparisons are remembered per pair of clock objects (:func:`_leq`)."""
    ids = {id(t) for t in a}
    fresh: list[Any] = []
    for s in b:
        if id(s) in ids:
            continue  # the very sibling a holds
        c = s.clock
        n = len(c)
        if any(len(t.clock) == n and t.clock == c for t in a) or any(t.clock == c for t in fresh):
            continue
        fresh.append(s)
    if not fresh:
        return a  # nothing new: a itself, in its order, every sibling kept
    anti_b = type(b) is Antichain
    kept = []
    for s in a:  # an a-sibling can only be below a fresh one
        c = s.clock
        if not any(_leq(c, t.clock) for t in fresh):
            kept.append(s)
    for i, s in enumerate(fresh):
        c = s.clock
        below = any(_leq(c, t.clock) for t in a)
        if not below and not anti_b:  # fresh siblings of one antichain b are unordered among themselves
            below = any(k != i and _leq(c, t.clock) for k, t in enumerate(fresh))
        if not below:
            kept.append(s)
    return Antichain(kept)


class TaggedPolicy(SiblingPolicy):
    """vv-client and vv-node-naive: :class:`SiblingPolicy` with the same merge computed faster
    (:func:`sync_tagged`; an unchanged state recognised by identity or tuple equality, and two
    antichains compared as sets without hashing their long clocks)."""

    def __init__(self, name: str, clock: Any) -> None:
        super().__init__(name, clock)
        self._sync = sync_tagged
        _LEQ.clear()  # a run starts without the previous run's clocks held
        _DICTS.clear()

    def new_version(
        self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1,
    ) -> Any:
        # put's state is an antichain: the actor's state it adds to is one (by induction from the
        # empty state), the new clock's actor entry exceeds every stored one (so it is below and
        # equal to none), and put drops every sibling below it
        return Antichain(super().new_version(key, seq, timestamp_ms, origin, context, client))

    def merge(self, held: Any, incoming: Any) -> Any:
        if incoming is None:
            return None
        if held is None:
            return incoming
        s = sync_tagged(held, incoming)
        if s is held or s == held:  # same siblings in the same order: the same set
            return None
        if type(s) is Antichain and type(held) is Antichain:
            # no duplicates on either side: equal sets iff equal sizes and one inside the other
            # (by identity first: ``x in held`` would call Tagged.__eq__ on every sibling before x)
            same = len(s) == len(held)
            if same:
                ids = {id(t) for t in held}
                same = all(id(x) in ids or x in held for x in s)
        else:
            same = frozenset(s) == frozenset(held)
        return None if same else s


#: ``cluster.vv_actor`` -> the :mod:`pbs_sim.vclock` algorithm of ``versioning = "vv"``.
VV_ACTORS: dict[str, str] = {"node": "vv-node", "client": "vv-client", "node-naive": "vv-node-naive"}


def _sibling(clock_name: str) -> Callable[[], VersioningPolicy]:
    def make() -> VersioningPolicy:
        from ..vclock import CLOCKS

        if clock_name == "dvv":
            return DVVPolicy(CLOCKS[clock_name])
        if clock_name in ("vv-client", "vv-node-naive"):
            return TaggedPolicy(clock_name, CLOCKS[clock_name])
        return SiblingPolicy(clock_name, CLOCKS[clock_name])

    return make


#: Policies by name: ``cluster.versioning`` ("lww", "dvv") or, for "vv", the variant's clock name.
POLICIES: dict[str, Callable[[], VersioningPolicy]] = {
    "lww": LWW, "dvv": _sibling("dvv"), **{v: _sibling(v) for v in VV_ACTORS.values()},
}

DEFAULT_POLICY: VersioningPolicy = LWW()


def policy_name(versioning: str = "lww", vv_actor: str = "node") -> str:
    """The policy a scenario's ``cluster.versioning`` and ``cluster.vv_actor`` select (the
    shorthands ``"vv-node"``, ``"vv-client"``, ``"vv-node-naive"`` name the variant directly)."""
    return VV_ACTORS[vv_actor] if versioning == "vv" else versioning


def make_policy(name: str = "lww", vv_actor: str = "node") -> VersioningPolicy:
    return POLICIES[policy_name(name, vv_actor)]()


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


class Session(set):  # type: ignore[type-arg]
    """What one session knows of one key: the write ``seq``s it learnt since its last write."""

    __slots__ = ()


class SessionContexts:
    """Causal contexts as the stores pass them, per operation (issue 18), and what each session knows.

    Two relations, two tables:

    * ``causal_parents`` -- the context a write *carried*: the versions of the state it is based on
      (``write(..., context=state)``: a read-modify-write's own read, the reply of an earlier write,
      any earlier read a script names), nothing for a blind write. This is what the store's clocks
      compare (sibling policies turn the same state into the new version's causal context), what the
      write's value is made of (``pbs_sim.merges``), and so the store's order under sibling policies
      and the value-level lost updates. Two overlapping operations of one client do not pool their
      knowledge: each carries its own read.
    * ``session_parents`` -- what the writing *session* knew when it issued the write (Lamport's
      happened-before): every version its reads and write replies returned since its last write, and
      that write (the session's knowledge collapses to each write it issues; its rows cover the rest
      transitively). With ``causal_parents`` this is the true order of ``pbs_sim.metrics.causality``
      (LWW loss: did the store drop a write its overwriter's client knew about?). Only seqs the
      causal context does not already hold are recorded here.

    ``learn(client, key, seqs)`` when a read or a write's reply returns; ``record(client, key, op_id,
    seq, context)`` when a write is issued: records both and returns the write's causal parents;
    ``update(op_id, read_op)`` (the ``rmw_reads`` table) marks a read-modify-write and its read.
    Memory: one small set per (client, key) a session touched.
    """

    __slots__ = ("sessions", "extend", "session_extend", "add_update", "_versions")

    def __init__(self, extend: Callable[[int, Sequence[int]], None],
                 add_update: Callable[..., Any] | None = None,
                 versions: Callable[[Any], tuple[int, ...]] | None = None,
                 session_extend: Callable[[int, Sequence[int]], None] | None = None) -> None:
        self.sessions: dict[tuple[int, int], Session] = {}
        self.extend = extend  # (op_id, parents): the causal_parents rows of one write
        self.session_extend = session_extend  # (op_id, seqs): the session_parents rows of one write
        self.add_update = add_update  # (write op_id, read op_id): the read a read-modify-write carries
        self._versions = versions if versions is not None else DEFAULT_POLICY.versions

    @property
    def known(self) -> dict[tuple[int, int], set[int]]:
        """(client, key) -> the seqs the session knows (a copy)."""
        return {ck: set(e) for ck, e in self.sessions.items()}

    def update(self, op_id: int, read_op: int) -> None:
        if self.add_update is not None:
            self.add_update(op_id, read_op)

    def learn(self, client: int, key: int, seqs: tuple[int, ...]) -> None:
        """The session read (or a write's reply returned) the versions ``seqs`` of ``key``."""
        if not seqs:
            return
        e = self.sessions.get((client, key))
        if e is None:
            self.sessions[(client, key)] = Session(seqs)
        else:
            e.update(seqs)

    def record(self, client: int, key: int, op_id: int, seq: int, context: Any,
               implied: tuple[int, ...] = ()) -> tuple[int, ...]:
        """A write ``seq`` of ``key`` issued with the causal ``context`` state (None: blind): record its
        causal parents (the context's versions, and ``implied``: what the policy's version supersedes
        beyond them, :attr:`SiblingPolicy.implied`) and its session's other knowledge; return the parents."""
        ck = (client, key)
        s = self.sessions.get(ck)
        self.sessions[ck] = Session((seq,))
        out = () if context is None else self._versions(context)
        if implied:
            out = tuple(sorted({*out, *implied}))
        if out:
            self.extend(op_id, out)
        if s and self.session_extend is not None:
            rest = sorted(s.difference(out)) if out else sorted(s)
            if rest:
                self.session_extend(op_id, rest)
        return out
