"""Consistent-hashing ring: which nodes hold which key.

Owns: token positions (``vnodes`` virtual nodes per physical node, at deterministic positions derived
from ``"node-{i}-vnode-{v}"``, :func:`pbs_sim.keys.node_token`), key positions (the hash of the key's NAME,
:meth:`pbs_sim.keys.KeySpace.position`: Cassandra's Murmur3 token by default, Dynamo's MD5 with
``cluster.key_hash = "md5"``; node tokens are placed in that hash's token space), the
per-key preference list (the first N distinct nodes clockwise from the key) and the fallbacks (the
next distinct nodes after those N, in ring order: where a sloppy quorum would send hints). Keys are
the simulator's int indices; the ring asks the run's key space for their names. No randomness: the
same cluster gives the same ring in every run. Must not touch: SimPy, messages, node state.
"""

from __future__ import annotations

from bisect import bisect_left

from ..keys import KeySpace


class Ring:
    """``nodes`` physical nodes, ``vnodes`` tokens each, replication factor ``replication``."""

    __slots__ = (
        "nodes", "replication", "vnodes", "_tokens", "_owners", "_walk_cache", "_cache_limit", "_full_cache",
        "_token_cache", "keys",
    )

    def __init__(self, nodes: int, replication: int, vnodes: int = 8, cache_limit: int = 1_000_000,
                 keys: KeySpace | None = None) -> None:
        if not 1 <= replication <= nodes:
            raise ValueError(f"replication {replication} must be in 1..{nodes}")
        self.nodes = nodes
        self.replication = replication
        self.vnodes = vnodes
        # the run's key space (names and hash); without one, key i is named str(i), Murmur3-placed
        self.keys = keys if keys is not None else KeySpace()
        label = self.keys.node_token
        points = sorted((label(f"node-{i}-vnode-{v}"), i) for i in range(nodes) for v in range(vnodes))
        self._tokens = [p for p, _ in points]
        self._owners = [i for _, i in points]
        self._walk_cache: dict[int, tuple[int, ...]] = {}
        self._cache_limit = cache_limit
        self._full_cache: dict[int, tuple[int, ...]] = {}
        self._token_cache: dict[int, tuple[int, ...]] = {}

    def key_position(self, key: int) -> int:
        """The ring position of key index ``key``: the hash of its name."""
        return self.keys.position(key)

    def walk(self, key: int, count: int | None = None) -> tuple[int, ...]:
        """The first ``count`` distinct nodes (default: all) met walking clockwise from the key."""
        want = self.nodes if count is None else min(count, self.nodes)
        # the first token >= the key's: token ranges are (previous token, token], as in Cassandra
        # (and ranges() below); bisect_right gave a key sitting on a token to the next node
        start = bisect_left(self._tokens, self.key_position(key))
        seen: list[int] = []
        owners, n_tok = self._owners, len(self._owners)
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
