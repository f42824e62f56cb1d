"""Consistent-hashing ring: which nodes hold which key.

Owns: token positions (``vnodes`` virtual nodes per physical node, at deterministic positions derived
from ``"node-{i}-vnode-{v}"``, :func:`pbs_sim.keys.node_token`), key positions (the hash of the key's NAME,
:meth:`pbs_sim.keys.KeySpace.position`: Cassandra's Murmur3 token by default, Dynamo's MD5 with
``cluster.key_hash = "md5"``; node tokens are placed in that hash's token space), the
per-key preference list (the first N distinct nodes clockwise from the key) and the fallbacks (the
next distinct nodes after those N, in ring order: where a sloppy quorum would send hints). Keys are
the simulator's int indices; the ring asks the run's key space for their names. No randomness: the
same cluster gives the same ring in every run. Must not touch: SimPy, messages, node state.

With a ``[placement]`` (:class:`pbs_sim.placement.PlacementSpec`, ``placement=``) the preference lists
are the placement's replica sets, the ones the analytic loss engine (:mod:`pbs_sim.analytic.placement`)
reads, so that a simulated outage and the analytic answer describe the same cluster:

* ``token_ring``: the placement's V seeded random tokens per node (``pbs_sim.placement.token_ring_layout``),
  scaled monotonically into the key hash's token space; the walk is today's (the first N
  distinct nodes clockwise), skipping nodes of racks already used for the first N when the
  placement is rack-aware; fallbacks continue the ring walk over the remaining distinct nodes.
* ``fixed_ring``: Q equal partitions owned as ``pbs_sim.placement.fixed_ring_owners`` assigns them; key
  position p falls in the partition whose upper bound is the first >= p; the walk as above.
* ``copyset``, ``min_copysets``, ``random``, ``window``: no ring: the placement's distinct replica
  sets, each holding the fraction of the token space its weight says (cumulative weights cut [0, 1)
  into consecutive intervals; the key's position scaled to [0, 1) picks one). The first replica is
  the set's member at index ``position mod N`` (so "first replica" is spread over the set, not always
  its lowest id). Fallbacks (sloppy quorums) are the other nodes in id order after the first
  replica (first + 1, first + 2, ... mod nodes), skipping the set: no ring to walk, and an order that
  is deterministic and the same for every key of one first replica. Riak's partition walk
  (``token_walk``) is then that same order: these placements have no partitions.

Without ``placement`` the ring is exactly the one described first (``cluster.vnodes`` hashed tokens).

Datacenters (``[topology]``, issue 19; ``layout=``, a :class:`pbs_sim.sim.layout.Layout`): the same
hashed tokens, and Cassandra's NetworkTopologyStrategy for the replicas (as its 1.2-2.x
``calculateNaturalEndpoints`` places them). Walking clockwise from the key's token, a node of
datacenter d is taken while d still has fewer than RF_d replicas: if every rack of d already holds
one of them, at once; else if its rack holds none yet, at once (and once that makes every rack of d
used, the nodes of d skipped so far join, in the order they were met, until RF_d); else it is
skipped (kept in order for later). The preference list is the replicas in the order they were taken
(datacenters interleaved as the walk meets them), ``ΣRF`` long. One datacenter on one rack takes the
first N distinct nodes clockwise: today's preference lists exactly. Fallbacks and walks past the N
continue over the remaining distinct nodes in ring order (sloppy quorums are refused with a
topology, so nothing sends hints there yet).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

from ..keys import LONG_MIN, KeySpace

if TYPE_CHECKING:
    from ..placement import PlacementSpec
    from .layout import Layout

RING_KINDS = ("token_ring", "fixed_ring")


class Ring:
    """``nodes`` physical nodes, ``vnodes`` tokens each, replication factor ``replication``; with
    ``placement`` the placement's replica sets instead (module docstring)."""

    __slots__ = (
        "nodes", "replication", "vnodes", "_tokens", "_owners", "_walk_cache", "_cache_limit", "_full_cache",
        "_token_cache", "keys", "placement", "_rack", "_sets", "_cum", "_space", "layout",
    )

    def __init__(self, nodes: int, replication: int, vnodes: int = 8, cache_limit: int = 1_000_000,
                 keys: KeySpace | None = None, placement: PlacementSpec | None = None,
                 layout: Layout | None = None) -> None:
        if not 1 <= replication <= nodes:
            raise ValueError(f"replication {replication} must be in 1..{nodes}")
        if placement is not None and (placement.nodes, placement.replication) != (nodes, replication):
            raise ValueError(f"placement of {placement.nodes} nodes, R = {placement.replication} on a ring of "
                             f"{nodes} nodes, N = {replication}")
        self.nodes = nodes
        self.replication = replication
        self.vnodes = vnodes
        # the run's key space (names and hash); without one, key i is named str(i), Murmur3-placed
        self.keys = keys if keys is not None else KeySpace()
        self.placement = placement
        if layout is not None and (layout.flat or placement is not None or layout.nodes != nodes
                                   or sum(layout.rf) != replication):
            raise ValueError("a NetworkTopologyStrategy ring needs a topology layout of the ring's nodes and N, "
                             "and no [placement]")
        self.layout = layout  # not None: NetworkTopologyStrategy over its datacenters and racks
        self._rack: list[int] | None = None
        self._sets: list[tuple[int, ...]] = []
        self._cum: list[float] = []
        # the key hash's token space: positions are LONG_MIN .. LONG_MAX, or 0 .. 2**128 - 1 (md5)
        self._space = (0, 1 << 128) if self.keys.key_hash == "md5" else (LONG_MIN, 1 << 64)
        if placement is None:
            label = self.keys.node_token
            points = sorted((label(f"node-{i}-vnode-{v}"), i) for i in range(nodes) for v in range(vnodes))
            self._tokens = [p for p, _ in points]
            self._owners = [i for _, i in points]
        elif placement.kind in RING_KINDS:
            self._tokens, self._owners = self._placement_ring(placement)
        else:
            self._tokens, self._owners = [], []
            self._placement_sets(placement)
        self._walk_cache: dict[int, tuple[int, ...]] = {}
        self._cache_limit = cache_limit
        self._full_cache: dict[int, tuple[int, ...]] = {}
        self._token_cache: dict[int, tuple[int, ...]] = {}

    # -- placements (pbs_sim.placement) --------------------------------------------------------------
    def _scale(self, u: float) -> int:
        """A point of [0, 1] in the key hash's token space (monotone: the ring's order is kept)."""
        lo, width = self._space
        return lo + min(int(u * width), width - 1)

    def _placement_ring(self, s: PlacementSpec) -> tuple[list[int], list[int]]:
        """The tokens and owners of a token_ring or fixed_ring placement, in ring order: the layout
        ``pbs_sim.placement`` builds its sets from, so every range has the replica set the analytic
        engine counts."""
        from ..placement import fixed_ring_owners, racks_of_spec, token_ring_layout

        if s.kind == "token_ring":
            tokens, node = token_ring_layout(s)
            toks = [self._scale(float(t)) for t in tokens]
            owners = node.tolist()
            rk = racks_of_spec(s) if s.rack_aware else None
            self._rack = None if rk is None else rk.tolist()
        else:
            owners = fixed_ring_owners(s).tolist()
            # partition j is (j / Q, (j + 1) / Q] of the space: its token is its upper bound
            lo, width = self._space
            toks = [lo + ((j + 1) * width) // s.ring_size - 1 for j in range(s.ring_size)]
        return toks, [int(o) for o in owners]

    def _placement_sets(self, s: PlacementSpec) -> None:
        from ..placement import build

        pl = build(s)
        self._sets = [tuple(int(x) for x in row) for row in pl.sets]
        cum, acc = [], 0.0
        for w in pl.weights.tolist():
            acc += w
            cum.append(acc)
        self._cum = cum

    def _set_walk(self, key: int) -> tuple[int, ...]:
        """A set placement's order for ``key``: its replica set, rotated to start at the member
        ``position mod N``, then every other node in id order after that first replica."""
        pos = self.key_position(key)
        lo, width = self._space
        u = (pos - lo) / width
        j = min(bisect_right(self._cum, u * self._cum[-1]), len(self._sets) - 1)
        members = self._sets[j]
        start = pos % len(members)
        prefs = members[start:] + members[:start]
        first, taken = prefs[0], set(prefs)
        rest = tuple(x for x in ((first + d) % self.nodes for d in range(1, self.nodes)) if x not in taken)
        return prefs + rest

    # -- walks -------------------------------------------------------------------------------------
    def key_position(self, key: int) -> int:
        """The ring position of key index ``key``: the hash of its name."""
        return self.keys.position(key)

    def _nts(self, start: int) -> list[int]:
        """NetworkTopologyStrategy's replicas from token index ``start`` (module docstring)."""
        lay = self.layout
        assert lay is not None
        node_dc, node_rack, rf, n_racks = lay.node_dc, lay.node_rack, lay.rf, lay.dc_racks
        owners, n_tok = self._owners, len(self._owners)
        n_dc = len(rf)
        count = [0] * n_dc
        seen_racks: list[set[int]] = [set() for _ in range(n_dc)]
        skipped: list[list[int]] = [[] for _ in range(n_dc)]
        out: list[int] = []
        taken: set[int] = set()
        left = sum(rf)
        for j in range(n_tok):
            node = owners[(start + j) % n_tok]
            d = node_dc[node]
            if count[d] >= rf[d] or node in taken:
                continue
            racks = seen_racks[d]
            if len(racks) == n_racks[d]:
                out.append(node)
                taken.add(node)
                count[d] += 1
                left -= 1
            elif node_rack[node] in racks:
                if node not in skipped[d]:
                    skipped[d].append(node)
                continue
            else:
                out.append(node)
                taken.add(node)
                racks.add(node_rack[node])
                count[d] += 1
                left -= 1
                if len(racks) == n_racks[d]:  # every rack used: the skipped nodes join, in walk order
                    for sk in skipped[d]:
                        if count[d] >= rf[d]:
                            break
                        out.append(sk)
                        taken.add(sk)
                        count[d] += 1
                        left -= 1
            if left == 0:
                break
        return out

    def walk(self, key: int, count: int | None = None) -> tuple[int, ...]:
        """The first ``count`` distinct nodes (default: all) met walking clockwise from the key."""
        want = self.nodes if count is None else min(count, self.nodes)
        if self._sets:
            return self._set_walk(key)[:want]
        if self.layout is not None:
            start = bisect_left(self._tokens, self.key_position(key))
            reps = self._nts(start)
            if want <= len(reps):
                return tuple(reps[:want])
            owners, n_tok, taken = self._owners, len(self._owners), set(reps)
            for j in range(n_tok):
                node = owners[(start + j) % n_tok]
                if node not in taken:
                    reps.append(node)
                    taken.add(node)
                    if len(reps) == want:
                        break
            return tuple(reps)
        # the first token >= the key's: token ranges are (previous token, token], as in Cassandra
        # (and ranges() below); bisect_right gave a key sitting on a token to the next node
        start = bisect_left(self._tokens, self.key_position(key))
        seen: list[int] = []
        owners, n_tok = self._owners, len(self._owners)
        rack = self._rack
        if rack is not None:
            # rack-aware (NetworkTopologyStrategy): the N replicas are the first N distinct nodes of
            # distinct racks; the walk then goes on over the nodes it skipped, in ring order
            used: set[int] = set()
            for j in range(n_tok):
                node = owners[(start + j) % n_tok]
                if node not in seen and rack[node] not in used:
                    seen.append(node)
                    used.add(rack[node])
                    if len(seen) == min(want, self.replication):
                        break
            if want <= self.replication:
                return tuple(seen)
        for j in range(n_tok):
            node = owners[(start + j) % n_tok]
            if node not in seen:
                seen.append(node)
                if len(seen) == want:
                    break
        return tuple(seen)

    def preference_list(self, key: int) -> tuple[int, ...]:
        """The N distinct nodes that own ``key``, first replica first (cached per key)."""
        prefs = self._walk_cache.get(key)
        if prefs is None:
            prefs = self.walk(key, self.replication)
            if len(self._walk_cache) < self._cache_limit:
                self._walk_cache[key] = prefs
        return prefs

    def fallbacks(self, key: int, count: int | None = None) -> tuple[int, ...]:
        """The distinct nodes after the N owners, in ring order (sloppy-quorum stand-ins)."""
        extra = None if count is None else self.replication + count
        return self.walk(key, extra)[self.replication :]

    def full_walk(self, key: int) -> tuple[int, ...]:
        """Every node in ring order from the key: the N owners, then the distinct fallbacks (cached)."""
        out = self._full_cache.get(key)
        if out is None:
            out = self.walk(key)
            if len(self._full_cache) < self._cache_limit:
                self._full_cache[key] = out
        return out

    def token_walk(self, key: int) -> tuple[int, ...]:
        """Riak's walk over partitions: the owner of every token clockwise from the key, once round
        the ring, duplicates kept (one node owns several partitions), cached. Fallbacks taken from it
        can put several replicas of a key on one physical node."""
        out = self._token_cache.get(key)
        if out is None and self._sets:  # a set placement has no partitions: its one walk
            out = self._set_walk(key)
        if out is None:
            start = bisect_left(self._tokens, self.key_position(key))
            owners, n_tok = self._owners, len(self._owners)
            out = tuple(owners[(start + j) % n_tok] for j in range(n_tok))
            if len(self._token_cache) < self._cache_limit:
                self._token_cache[key] = out
        return out

    def ranges(self) -> list[tuple[int, int, int]]:
        """Token ranges ``(start_exclusive, end_inclusive, owner)`` of the ring, in order."""
        out = []
        for j, tok in enumerate(self._tokens):
            prev = self._tokens[j - 1]
            out.append((prev, tok, self._owners[j]))
        return out


def scenario_placement(scenario: Any) -> PlacementSpec | None:
    """The placement the simulator's ring uses: the scenario's ``[placement]`` when it has one
    (``placement.given``), joined with ``[cluster]``; None keeps today's ring.

    One source of truth: ``placement.nodes`` and ``placement.replication`` default to ``cluster.nodes``
    and ``cluster.replication``; given and different, the scenario contradicts itself and this
    raises the one-line ConfigError (exit status 2), before anything is built. (The ``loss`` command
    reads ``[placement]`` alone and may describe a larger cluster; the simulator runs one.)"""
    from ..errors import ConfigError
    from ..placement import check_placement, spec_from_config

    pl, c, src = scenario.placement, scenario.cluster, scenario.source
    if not pl.given:
        return None
    for key, mine, theirs in (("nodes", pl.nodes, c.nodes), ("replication", pl.replication, c.replication)):
        if mine is not None and mine != theirs:
            raise ConfigError(src, f"placement.{key}", f"{mine} contradicts cluster.{key} = {theirs}: the simulator "
                                                      f"runs one cluster; state it once (cluster.{key})")
    spec = spec_from_config(pl, c, src)
    check_placement(spec, src)
    return spec
