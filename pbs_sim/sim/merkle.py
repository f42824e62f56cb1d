"""Merkle trees over one key range, and the top-down exchange that finds where two replicas differ.

Owns: a sparse Merkle tree of configurable depth and fan-out over ``key -> version digest``, kept up to
date incrementally (one key's change touches ``depth + 1`` node hashes), and ``exchange()`` — the
comparison two replicas run level by level, with its cost (messages, hashes compared, keys and bytes
streamed, round trips). Pure data structure and algorithm: no SimPy, no RNG, no configs.
Must not touch: nodes, the network, metrics. ``pbs_sim.sim.anti_entropy`` drives it.

Hashing. A leaf's hash is the sum (mod 2**64) of its keys' 64-bit digests of ``(key, version)``, and
an inner node's hash is the sum of its children's. A sum is what makes updates O(depth) without
re-hashing siblings; with 64-bit well-mixed digests two different leaf contents collide with
probability ~2**-64, which is as good as a cryptographic hash for a simulation (real systems hash the
concatenation of children; the *shape* of the exchange, and so its cost, is the same).

Leaves cover contiguous slices of the range's token space (as in Cassandra): a key goes to leaf
``token(key) * leaves >> 64`` where ``token`` is a 64-bit mix of the key. Only non-empty nodes are
stored, so depth 30 with fan-out 64 costs memory proportional to the keys, not to the tree.
The key is the simulator's int index (pbs_sim.keys), mixed: not the ring token of its name, which
Cassandra's trees are built on. Within one range the two spread keys over leaves alike (uniformly,
independently of versions), so what an exchange finds and costs has the same distribution; the
ring token would only group a range's keys by arc, and would move every seeded anti-entropy figure
(keys streamed per exchange) already published. A key that enters the key space mid-run (a YCSB
insert) lands in its leaf like any other.

The exchange protocol, as counted:

1. the initiator sends its root hash, the peer compares it (1 hash) and answers "same" or "differs":
   one round trip, 2 messages;
2. for each further level, the initiator sends the hashes of every child of the nodes found different
   at the level above (``fanout`` per node, in one message), the peer compares them and answers which
   differ: one round trip per level, 2 messages;
3. at the leaves found different, each side streams *every* key it holds under those leaves to the
   other (Cassandra streams whole differing ranges): at most one message each way. The receiver keeps
   whichever version is newer. ``differing_keys`` is the exact set of keys whose digests differ — the
   keys that needed repair — which is a subset of the keys streamed.

So the cost grows with the number of differing keys ``d`` times ``depth * fanout``, not with the range.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

_MASK = (1 << 64) - 1


def _mix64(x: int) -> int:
    """splitmix64 finaliser: a bijective, well-mixed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _as_int(v: Hashable) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v & _MASK
    if isinstance(v, float):
        return _mix64(hash(v) & _MASK)
    if isinstance(v, tuple):
        acc = 0x12345
        for x in v:
            acc = _mix64(acc ^ _as_int(x))
        return acc
    # strings and anything else: Python's hash of str is salted per process, so use a stable one
    import hashlib

    return int.from_bytes(hashlib.blake2b(repr(v).encode(), digest_size=8).digest(), "little")


def key_token(key: Hashable) -> int:
    """The 64-bit token of a key (where it sits in the range's token space)."""
    return _mix64(_as_int(key) ^ 0x5DEECE66D)


def digest(key: Hashable, version: Hashable) -> int:
    """64-bit digest of a replica's entry for ``key`` (its version); never 0 for a present key."""
    d = _mix64(_mix64(_as_int(key)) ^ _as_int(version))
    return d or 1


@dataclass
class MerkleTree:
    """Sparse Merkle tree for one replica's copy of one key range.

    ``levels[0]`` is the root level (index 0), ``levels[depth]`` the leaves (``fanout**depth`` slots).
    ``entries`` maps key -> digest, ``leaf_keys`` leaf index -> keys in it.
    """

    depth: int = 10
    fanout: int = 2
    levels: list[dict[int, int]] = field(default_factory=list)
    entries: dict[Hashable, int] = field(default_factory=dict)
    leaf_keys: dict[int, set[Hashable]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.depth < 0 or self.fanout < 2:
            raise ValueError("a Merkle tree needs depth >= 0 and fanout >= 2")
        if not self.levels:
            self.levels = [{} for _ in range(self.depth + 1)]
        self.n_leaves = self.fanout**self.depth

    @classmethod
    def from_items(
        cls, items: Mapping[Hashable, Hashable] | Iterable[tuple[Hashable, Hashable]], depth: int = 10, fanout: int = 2
    ) -> MerkleTree:
        """Build from ``key -> version`` pairs."""
        tree = cls(depth, fanout)
        pairs = items.items() if isinstance(items, Mapping) else items
        for k, v in pairs:
            tree.set(k, v)
        return tree

    def leaf_of(self, key: Hashable) -> int:
        return (key_token(key) * self.n_leaves) >> 64

    def _add(self, leaf: int, delta: int) -> None:
        idx = leaf
        for lvl in range(self.depth, -1, -1):
            level = self.levels[lvl]
            h = (level.get(idx, 0) + delta) & _MASK
            if h:
                level[idx] = h
            else:
                level.pop(idx, None)
            idx //= self.fanout

    def set(self, key: Hashable, version: Hashable) -> None:
        """Record that this replica holds ``version`` of ``key``: O(depth)."""
        self.set_digest(key, digest(key, version))

    def set_digest(self, key: Hashable, new: int) -> None:
        """Record ``key``'s entry by its digest (the versioning policy's ``digest``): O(depth)."""
        old = self.entries.get(key)
        if old == new:
            return
        leaf = self.leaf_of(key)
        if old is None:
            self.leaf_keys.setdefault(leaf, set()).add(key)
            self._add(leaf, new)
        else:
            self._add(leaf, (new - old) & _MASK)
        self.entries[key] = new

    def remove(self, key: Hashable) -> None:
        """Forget ``key`` (e.g. the replica lost it): O(depth)."""
        old = self.entries.pop(key, None)
        if old is None:
            return
        leaf = self.leaf_of(key)
        ks = self.leaf_keys[leaf]
        ks.discard(key)
        if not ks:
            del self.leaf_keys[leaf]
        self._add(leaf, (-old) & _MASK)

    def clear(self) -> None:
        """Empty the tree (the replica came back without its disk)."""
        for level in self.levels:
            level.clear()
        self.entries.clear()
        self.leaf_keys.clear()

    def node_hash(self, level: int, index: int) -> int:
        return self.levels[level].get(index, 0)

    @property
    def root(self) -> int:
        return self.node_hash(0, 0)

    def keys_under(self, leaf: int) -> Iterator[Hashable]:
        return iter(self.leaf_keys.get(leaf, ()))

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class ExchangeResult:
    """What one Merkle exchange found and cost."""

    differing_leaves: tuple[int, ...]
    differing_keys: frozenset[Hashable]
    keys_a_to_b: tuple[Hashable, ...]  # keys the initiator streams (all it holds under differing leaves)
    keys_b_to_a: tuple[Hashable, ...]
    messages: int
    round_trips: int
    hashes_compared: int
    hash_bytes_sent: int
    bytes_sent: int

    @property
    def keys_sent(self) -> int:
        return len(self.keys_a_to_b) + len(self.keys_b_to_a)


def exchange(
    a: MerkleTree, b: MerkleTree, *, hash_bytes: int = 8, key_bytes: int = 16, value_bytes: int = 1024
) -> ExchangeResult:
    """Compare ``a`` (initiator) with ``b`` top-down; see the module docstring for the protocol."""
    if (a.depth, a.fanout) != (b.depth, b.fanout):
        raise ValueError("both replicas must use the same tree shape")
    f = a.fanout
    messages, round_trips, compared, hbytes = 2, 1, 1, hash_bytes
    if a.root == b.root:
        return ExchangeResult((), frozenset(), (), (), messages, round_trips, compared, hbytes, hbytes)
    frontier = [0]
    for lvl in range(1, a.depth + 1):
        la, lb = a.levels[lvl], b.levels[lvl]
        nxt: list[int] = []
        for parent in frontier:
            base = parent * f
            for c in range(base, base + f):
                if la.get(c, 0) != lb.get(c, 0):
                    nxt.append(c)
        n_sent = f * len(frontier)
        compared += n_sent
        hbytes += n_sent * hash_bytes
        messages += 2
        round_trips += 1
        frontier = nxt
    leaves = tuple(frontier)
    to_b: list[Hashable] = []
    to_a: list[Hashable] = []
    diff: set[Hashable] = set()
    for leaf in leaves:
        ka = a.leaf_keys.get(leaf, set())
        kb = b.leaf_keys.get(leaf, set())
        to_b.extend(ka)
        to_a.extend(kb)
        for k in ka | kb:
            if a.entries.get(k) != b.entries.get(k):
                diff.add(k)
    messages += (1 if to_b else 0) + (1 if to_a else 0)
    data = (len(to_b) + len(to_a)) * (key_bytes + value_bytes)
    return ExchangeResult(
        leaves, frozenset(diff), tuple(to_b), tuple(to_a), messages, round_trips, compared, hbytes, hbytes + data
    )
