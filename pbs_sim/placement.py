"""Replica placement strategies: which R nodes hold each key.

Owns: the ``[placement]`` settings (:class:`PlacementSpec`, validated into one-line
:class:`~pbs_sim.errors.ConfigError` s), a minimal rack assignment (:func:`rack_of`), and the
generators that turn a spec into a :class:`Placement` — the distinct replica sets ("copysets" in
Cidon et al., USENIX ATC 2013) with the fraction of keys each one holds. The analytic loss engine
(:mod:`pbs_sim.analytic.placement`) and the vectorised Monte Carlo
(:mod:`pbs_sim.analytic.placement_mc`) both read a :class:`Placement`; neither generates one.

Strategies (``kind``):

* ``token_ring`` — V random tokens per node on a [0, 1) ring (Cassandra's ``num_tokens``: 256 before
  4.0, 16 since); a range's replicas are the next R distinct nodes clockwise; with ``racks`` > 0 the
  walk skips nodes whose rack already holds a replica (NetworkTopologyStrategy, one DC).
* ``fixed_ring`` — Riak's ring of Q = ``ring_size`` equal partitions claimed round-robin by the
  nodes (node labels shuffled by the seed); a partition's preference list is the next R distinct
  owners.
* ``copyset`` — Copyset Replication with scatter width S: ceil(S / (R − 1)) random permutations of
  the nodes, each cut into consecutive groups of R (a final short group is completed from the start
  of its permutation); a key's primary is a uniform node and its copyset a uniform one of the
  primary's groups.
* ``min_copysets`` — the same with one permutation (S = R − 1): n / R disjoint sets when R divides n.
* ``random`` — random replication: ``chunks`` chunks, each on a uniform R-subset of the nodes
  (HDFS/RAMCloud "random replication" without rack constraints).
* ``window`` — random replication restricted to scatter width S: a chunk's primary is a uniform node
  i and the other R − 1 replicas a uniform (R − 1)-subset of the S nodes after i (a model of
  Facebook's HDFS "buddy groups"; the Copysets paper's Facebook setting uses S = 10).

Must not touch: loss probabilities (the analytic module) and the simulator's ring (it may build one
from :func:`token_ring` later; nothing here imports SimPy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

KINDS = ("token_ring", "fixed_ring", "copyset", "min_copysets", "random", "window")
# Bound on the replica sets one placement may hold in memory: R int32 per set plus a float64
# weight, ~28 bytes at R = 3, so 2**25 sets is under 1 GB before de-duplication.
MAX_SETS = 2**25


@dataclass(frozen=True)
class PlacementSpec:
    """The ``[placement]`` table. Only the keys of the chosen ``kind`` matter."""

    kind: str = "token_ring"
    nodes: int = 100
    replication: int = 3
    vnodes: int = 256            # token_ring
    ring_size: int = 64          # fixed_ring
    scatter_width: int = 4       # copyset, window
    chunks: int = 0              # random, window: 0 = 1000 per node
    racks: int = 0               # token_ring: rack-aware when > 0 (node i in rack i mod racks)
    seed: int = 0

    def total_chunks(self) -> int:
        return self.chunks if self.chunks > 0 else 1000 * self.nodes


def _int(d: Mapping[str, Any], key: str, default: int, source: str | None) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(source, f"placement.{key}", f"must be an integer, got {v!r}")
    return int(v)


def parse_placement(d: Mapping[str, Any], source: str | None = None) -> PlacementSpec:
    """Validate a ``[placement]`` table (every check before any work; one line each)."""
    known = set(PlacementSpec.__dataclass_fields__)
    for k in d:
        if k not in known:
            raise ConfigError(source, f"placement.{k}", f"unknown key; expected one of {', '.join(sorted(known))}")
    kind = d.get("kind", "token_ring")
    if kind not in KINDS:
        raise ConfigError(source, "placement.kind", f"unknown placement {kind!r}; expected one of {', '.join(KINDS)}")
    defaults = PlacementSpec()
    vals = {k: _int(d, k, getattr(defaults, k), source) for k in known if k != "kind"}
    spec = PlacementSpec(kind=kind, **vals)
    check_placement(spec, source)
    return spec


def check_placement(s: PlacementSpec, source: str | None = None) -> None:
    """Raise the one-line ConfigError a bad spec deserves (also used by the Python API)."""
    def bad(key: str, reason: str) -> ConfigError:
        return ConfigError(source, f"placement.{key}", reason)

    if s.nodes < 1:
        raise bad("nodes", f"must be >= 1, got {s.nodes}")
    if s.replication < 1:
        raise bad("replication", f"must be >= 1, got {s.replication}")
    if s.replication > s.nodes:
        raise bad("replication", f"R = {s.replication} replicas need at least that many nodes, got {s.nodes}")
    if s.seed < 0:
        raise bad("seed", f"must be >= 0, got {s.seed}")
    if s.kind == "token_ring":
        if s.vnodes < 1:
            raise bad("vnodes", f"must be >= 1, got {s.vnodes}")
        if s.racks < 0:
            raise bad("racks", f"must be >= 0, got {s.racks}")
        if s.racks > 0:
            if s.nodes % s.racks:
                raise bad("racks", f"{s.racks} racks do not divide {s.nodes} nodes (node i is in rack i mod racks; "
                                   "give a node count that is a multiple of racks)")
            if s.racks < s.replication:
                raise bad("racks", f"rack-aware placement needs racks >= replication ({s.replication}), got {s.racks}")
        if s.nodes * s.vnodes > MAX_SETS:
            raise bad("vnodes", f"{s.nodes} nodes x {s.vnodes} tokens = {s.nodes * s.vnodes:,} ranges exceeds "
                                f"the in-memory bound of {MAX_SETS:,}")
    if s.kind == "fixed_ring" and s.ring_size < s.replication:
        raise bad("ring_size", f"must be >= replication ({s.replication}), got {s.ring_size}")
    if s.kind in ("copyset", "window"):
        if s.scatter_width < s.replication - 1:
            raise bad("scatter_width", f"S = {s.scatter_width} < R - 1 = {s.replication - 1}: every replica set "
                                       "already scatters a node's data over R - 1 others")
        if s.scatter_width > s.nodes - 1:
            raise bad("scatter_width", f"S = {s.scatter_width} cannot be met: a node has only {s.nodes - 1} others "
                                       f"in a {s.nodes}-node cluster")
    if s.kind in ("random", "window"):
        if s.chunks < 0:
            raise bad("chunks", f"must be >= 0 (0 = 1000 per node), got {s.chunks}")
        if s.total_chunks() > MAX_SETS:
            raise bad("chunks", f"{s.total_chunks():,} chunks exceeds the in-memory bound of {MAX_SETS:,}; "
                                "the analytic engine answers random placement without generating it")


def rack_of(nodes: int, racks: int | Sequence[Sequence[int]]) -> np.ndarray:
    """Rack index of every node: node i in rack ``i mod racks``, or explicit lists of node ids.

    Explicit lists must cover each node exactly once. The small API another placement (datacenters
    of racks) can build on: a DC is a list of racks.
    """
    if isinstance(racks, int):
        if racks < 1:
            raise ConfigError(None, "racks", f"must be >= 1, got {racks}")
        return np.arange(nodes, dtype=np.int64) % racks
    out = np.full(nodes, -1, dtype=np.int64)
    for r, members in enumerate(racks):
        for m in members:
            if not 0 <= int(m) < nodes:
                raise ConfigError(None, "racks", f"node {m} is not in 0..{nodes - 1}")
            if out[int(m)] >= 0:
                raise ConfigError(None, "racks", f"node {m} is in two racks")
            out[int(m)] = r
    if (out < 0).any():
        raise ConfigError(None, "racks", f"node {int(np.argmax(out < 0))} is in no rack")
    return out


@dataclass
class Placement:
    """Distinct replica sets (rows of ``sets``, sorted node ids) and the key fraction on each.

    ``groups`` is set when the sets partition the nodes (minimum copysets with R | n): the analytic
    engine then has an exact closed form.
    """

    spec: PlacementSpec
    sets: np.ndarray      # (m, R) int32, rows sorted ascending, distinct
    weights: np.ndarray   # (m,) float64, sums to 1: fraction of keys (hash space or chunks) per set
    disjoint: bool = False

    @property
    def n(self) -> int:
        return self.spec.nodes

    @property
    def r(self) -> int:
        return self.spec.replication

    def nbytes(self) -> int:
        return int(self.sets.nbytes + self.weights.nbytes)

    def scatter_width(self) -> float:
        """Mean number of distinct other nodes sharing a replica set with a node."""
        n, r = self.n, self.r
        if r < 2:
            return 0.0
        pairs = np.concatenate([self.sets[:, [i, j]] for i in range(r) for j in range(r) if i != j])
        code = np.unique(pairs[:, 0].astype(np.int64) * n + pairs[:, 1])
        return float(len(code) / n)


def _dedup(rows: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row, merge equal rows and add their weights."""
    rows = np.sort(rows, axis=1)
    r = rows.shape[1]
    if n ** r < 2**62:
        code = np.zeros(len(rows), dtype=np.int64)
        for j in range(r):
            code = code * n + rows[:, j]
        _, idx, inv = np.unique(code, return_index=True, return_inverse=True)
    else:
        _, idx, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    weights = np.bincount(inv.ravel(), weights=w, minlength=len(idx))
    return rows[idx].astype(np.int32), weights


def _ring_walk(owner: np.ndarray, r: int, rack: np.ndarray | None) -> np.ndarray:
    """For every position i of a ring of owners, the first r distinct owners from i on (and, when
    ``rack`` is given, in r distinct racks). Vectorised over positions, one step per ring offset."""
    m = len(owner)
    out = np.full((m, r), -1, dtype=np.int64)
    out[:, 0] = owner
    filled = np.ones(m, dtype=np.int64)
    idx = np.arange(m)
    step = 1
    while (filled < r).any():
        if step > m:
            raise ConfigError(None, "placement", "the ring has fewer distinct owners (or racks) than replicas")
        todo = np.nonzero(filled < r)[0]
        cand = owner[(idx[todo] + step) % m]
        have = out[todo]
        ok = ~(have == cand[:, None]).any(axis=1)
        if rack is not None:
            hv = np.where(have >= 0, rack[np.maximum(have, 0)], -1)
            ok &= ~(hv == rack[cand][:, None]).any(axis=1)
        t = todo[ok]
        out[t, filled[t]] = cand[ok]
        filled[t] += 1
        step += 1
    return out


def token_ring(s: PlacementSpec) -> Placement:
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(1,)))
    tokens = rng.random(s.nodes * s.vnodes)
    node = np.repeat(np.arange(s.nodes), s.vnodes)
    order = np.argsort(tokens, kind="stable")
    tok, own = tokens[order], node[order]
    # range i is (tok[i-1], tok[i]] and belongs to the node of token i (Cassandra's convention)
    length = np.diff(np.concatenate([[tok[-1] - 1.0], tok]))
    rack = rack_of(s.nodes, s.racks) if s.racks > 0 else None
    sets = _ring_walk(own, s.replication, rack)
    rows, w = _dedup(sets, length, s.nodes)
    return Placement(s, rows, w / w.sum())


def fixed_ring(s: PlacementSpec) -> Placement:
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(2,)))
    label = rng.permutation(s.nodes)
    owner = label[np.arange(s.ring_size) % s.nodes]
    sets = _ring_walk(owner, s.replication, None)
    rows, w = _dedup(sets, np.full(s.ring_size, 1.0 / s.ring_size), s.nodes)
    return Placement(s, rows, w / w.sum())


def copyset_groups(s: PlacementSpec, permutations: int) -> np.ndarray:
    """The copysets of ``permutations`` random permutations, each cut into ceil(n / R) groups."""
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(3,)))
    n, r = s.nodes, s.replication
    per = math.ceil(n / r)
    out = np.empty((permutations * per, r), dtype=np.int64)
    for p in range(permutations):
        perm = rng.permutation(n)
        ext = np.concatenate([perm, perm[: per * r - n]])  # the short last group wraps to the start
        out[p * per:(p + 1) * per] = ext.reshape(per, r)
    return out


def copyset(s: PlacementSpec, min_sets: bool = False) -> Placement:
    n, r = s.nodes, s.replication
    perms = 1 if min_sets else max(1, math.ceil(s.scatter_width / max(r - 1, 1)))
    groups = copyset_groups(s, perms)
    # key weight: primary uniform over nodes, then uniform over that node's groups (one per permutation)
    member_count = np.zeros(n)
    np.add.at(member_count, groups.ravel(), 1.0)
    w = (1.0 / (n * member_count[groups])).sum(axis=1)
    rows, w = _dedup(groups, w, n)
    disjoint = min_sets and n % r == 0
    return Placement(s, rows, w / w.sum(), disjoint=disjoint)


def random_sets(s: PlacementSpec) -> Placement:
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(4,)))
    k, n, r = s.total_chunks(), s.nodes, s.replication
    # uniform R-subsets without replacement inside a chunk: argpartition of random keys is O(n) per
    # chunk, so draw with rejection of duplicates instead (cheap while R << n)
    rows = rng.integers(0, n, size=(k, r))
    while True:
        srt = np.sort(rows, axis=1)
        dup = (np.diff(srt, axis=1) == 0).any(axis=1)
        if not dup.any():
            break
        rows[dup] = rng.integers(0, n, size=(int(dup.sum()), r))
    rows_, w = _dedup(rows, np.full(k, 1.0 / k), n)
    return Placement(s, rows_, w / w.sum())


def window(s: PlacementSpec) -> Placement:
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(5,)))
    k, n, r, sw = s.total_chunks(), s.nodes, s.replication, s.scatter_width
    primary = rng.integers(0, n, size=k)
    # R-1 distinct offsets in 1..S per chunk: the smallest R-1 of S random keys
    offs = np.argsort(rng.random((k, sw)), axis=1)[:, : r - 1] + 1
    rows = np.concatenate([primary[:, None], (primary[:, None] + offs) % n], axis=1)
    rows_, w = _dedup(rows, np.full(k, 1.0 / k), n)
    return Placement(s, rows_, w / w.sum())


def build(s: PlacementSpec) -> Placement:
    """The placement a spec describes (deterministic in ``s.seed``)."""
    check_placement(s)
    if s.kind == "token_ring":
        return token_ring(s)
    if s.kind == "fixed_ring":
        return fixed_ring(s)
    if s.kind == "copyset":
        return copyset(s)
    if s.kind == "min_copysets":
        return copyset(s, min_sets=True)
    if s.kind == "random":
        return random_sets(s)
    return window(s)
