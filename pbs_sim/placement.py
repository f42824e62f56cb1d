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

Must not touch: loss probabilities (the analytic module) and the simulator's ring (nothing here imports
SimPy). :mod:`pbs_sim.sim.ring` places its tokens from :func:`token_ring_layout` and
:func:`fixed_ring_owners`, so the simulator's ranges are this module's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._lazy import LazyModule
from .errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")  # checking a config (check_placement) does not import numpy

KINDS = ("token_ring", "fixed_ring", "copyset", "min_copysets", "random", "window")
# Bound on the replica sets one placement may hold in memory: R int32 per set plus a float64
# weight, ~20 bytes at R = 3, so 2**25 sets is under 1 GB before de-duplication.
MAX_SETS = 2**25
# Chunks are drawn in batches of this many (random, window): the draw's memory stays bounded while
# the de-duplicated result is what grows.
_BATCH = 2**20


@dataclass(frozen=True)
class PlacementSpec:
    """A resolved placement: ``[placement]`` with nodes and replication filled in (see
    :func:`spec_from_config`). Only the keys of the chosen ``kind`` matter. Defaults mirror
    :class:`pbs_sim.config.PlacementConfig`, where the scenario's defaults live."""

    kind: str = "token_ring"
    nodes: int = 100
    replication: int = 3
    vnodes: int = 256            # token_ring
    ring_size: int = 64          # fixed_ring
    scatter_width: int = 4       # copyset, window
    chunks: int = 0              # random, window: 0 = 1000 per node
    racks: int = 0               # 0 = no racks
    rack_assignment: str = "round_robin"   # node i in rack i mod racks, or "blocks": i // (nodes / racks)
    rack_aware: bool = True      # token_ring with racks: one replica per rack
    datacenters: int = 1         # rack r (node i without racks) in DC r mod datacenters
    seed: int = 0

    def total_chunks(self) -> int:
        return self.chunks if self.chunks > 0 else 1000 * self.nodes


def spec_from_config(cfg: Any, cluster: Any, source: str | None = None) -> PlacementSpec:
    """The :class:`PlacementSpec` of a scenario's ``[placement]`` (a
    :class:`pbs_sim.config.PlacementConfig`), nodes and replication defaulting to ``[cluster]``'s."""
    return PlacementSpec(
        kind=cfg.kind, nodes=cfg.nodes if cfg.nodes is not None else cluster.nodes,
        replication=cfg.replication if cfg.replication is not None else cluster.replication,
        vnodes=cfg.vnodes, ring_size=cfg.ring_size, scatter_width=cfg.scatter_width, chunks=cfg.chunks,
        racks=cfg.racks, rack_assignment=cfg.rack_assignment, rack_aware=cfg.rack_aware,
        datacenters=cfg.datacenters, seed=cfg.seed,
    )


def parse_placement(d: Mapping[str, Any], source: str | None = None) -> PlacementSpec:
    """Validate a ``[placement]`` table on its own (every check before any work; one line each).
    ``nodes`` and ``replication`` default to 100 and 3 here; in a scenario they default to
    ``[cluster]``'s (:func:`spec_from_config`)."""
    known = set(PlacementSpec.__dataclass_fields__)
    for k in d:
        if k not in known:
            raise ConfigError(source, f"placement.{k}", f"unknown key; expected one of {', '.join(sorted(known))}")
    defaults = PlacementSpec()
    vals: dict[str, Any] = {}
    for k in known:
        v = d.get(k, getattr(defaults, k))
        want = type(getattr(defaults, k))
        if want is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise ConfigError(source, f"placement.{k}", f"must be an integer, got {v!r}")
        if want is str and not isinstance(v, str):
            raise ConfigError(source, f"placement.{k}", f"must be a string, got {v!r}")
        if want is bool and not isinstance(v, bool):
            raise ConfigError(source, f"placement.{k}", f"must be true or false, got {v!r}")
        vals[k] = v
    spec = PlacementSpec(**vals)
    check_placement(spec, source)
    return spec


def check_placement(s: PlacementSpec, source: str | None = None) -> None:
    """Raise the one-line ConfigError a bad spec deserves (also used by the Python API). Cheap: it
    builds nothing."""
    def bad(key: str, reason: str) -> ConfigError:
        return ConfigError(source, f"placement.{key}", reason)

    if s.kind not in KINDS:
        raise bad("kind", f"unknown placement {s.kind!r}; expected one of {', '.join(KINDS)}")
    if s.nodes < 1:
        raise bad("nodes", f"must be >= 1, got {s.nodes}")
    if s.replication < 1:
        raise bad("replication", f"must be >= 1, got {s.replication}")
    if s.replication > s.nodes:
        raise bad("replication", f"R = {s.replication} replicas need at least that many nodes, got {s.nodes}")
    if s.seed < 0:
        raise bad("seed", f"must be >= 0, got {s.seed}")
    if s.racks < 0:
        raise bad("racks", f"must be >= 0, got {s.racks}")
    if s.rack_assignment not in ("round_robin", "blocks"):
        raise bad("rack_assignment", f"{s.rack_assignment!r} is not one of round_robin, blocks")
    if s.racks > s.nodes:
        raise bad("racks", f"{s.racks} racks cannot all hold a node of {s.nodes}")
    if s.racks > 0 and s.rack_assignment == "blocks" and s.nodes % s.racks:
        raise bad("racks", f"{s.racks} racks do not divide {s.nodes} nodes into equal blocks "
                           "(rack_assignment = blocks); give a multiple, or rack_assignment = round_robin")
    if s.datacenters < 1:
        raise bad("datacenters", f"must be >= 1, got {s.datacenters}")
    units = s.racks if s.racks > 0 else s.nodes
    if s.datacenters > units:
        raise bad("datacenters", f"{s.datacenters} DCs cannot each hold one of the {units} "
                                 f"{'racks' if s.racks else 'nodes'}")
    if s.kind == "token_ring":
        if s.vnodes < 1:
            raise bad("vnodes", f"must be >= 1, got {s.vnodes}")
        if s.racks > 0 and s.rack_aware and s.racks < s.replication:
            raise bad("racks", f"rack-aware placement needs racks >= replication ({s.replication}), got {s.racks} "
                               "(or rack_aware = false)")
        if s.nodes * s.vnodes > MAX_SETS:
            raise bad("vnodes", f"{s.nodes} nodes x {s.vnodes} tokens = {s.nodes * s.vnodes:,} ranges exceeds "
                                f"the in-memory bound of {MAX_SETS:,}")
    if s.kind == "fixed_ring":
        if s.ring_size < s.replication:
            raise bad("ring_size", f"must be >= replication ({s.replication}), got {s.ring_size}")
        if s.ring_size > MAX_SETS:
            raise bad("ring_size", f"{s.ring_size:,} partitions exceed the in-memory bound of {MAX_SETS:,}")
    if s.kind in ("copyset", "window"):
        if s.scatter_width < s.replication - 1:
            raise bad("scatter_width", f"S = {s.scatter_width} < R - 1 = {s.replication - 1}: every replica set "
                                       "already scatters a node's data over R - 1 others")
        if s.scatter_width > s.nodes - 1:
            raise bad("scatter_width", f"S = {s.scatter_width} cannot be met: a node has only {s.nodes - 1} others "
                                       f"in a {s.nodes}-node cluster")
        if s.kind == "copyset":
            perms = math.ceil(s.scatter_width / max(s.replication - 1, 1))
            if perms * math.ceil(s.nodes / s.replication) > MAX_SETS:
                raise bad("scatter_width", f"{perms} permutations x {math.ceil(s.nodes / s.replication):,} copysets "
                                           f"exceed the in-memory bound of {MAX_SETS:,}")
    if s.kind in ("random", "window"):
        if s.chunks < 0:
            raise bad("chunks", f"must be >= 0 (0 = 1000 per node), got {s.chunks}")
        if s.total_chunks() > MAX_SETS:
            raise bad("chunks", f"{s.total_chunks():,} chunks exceeds the in-memory bound of {MAX_SETS:,}; "
                                "the analytic engine answers random placement without generating it "
                                "(pbs_sim.analytic.placement.random_chunks_loss)")


def rack_of(nodes: int, racks: int | Sequence[Sequence[int]], assignment: str = "round_robin") -> np.ndarray:
    """Rack index of every node: node i in rack ``i mod racks`` (``round_robin``) or
    ``i // (nodes / racks)`` (``blocks``, racks must divide nodes), or explicit lists of node ids.

    Explicit lists must cover each node exactly once. The small API another placement (datacenters
    of racks) can build on: a DC is a list of racks.
    """
    if isinstance(racks, int):
        if racks < 1:
            raise ConfigError(None, "racks", f"must be >= 1, got {racks}")
        if assignment == "blocks":
            if nodes % racks:
                raise ConfigError(None, "racks", f"{racks} racks do not divide {nodes} nodes into equal blocks")
            return np.arange(nodes, dtype=np.int64) // (nodes // racks)
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


def racks_of_spec(s: PlacementSpec) -> np.ndarray | None:
    """Each node's rack under the spec's rack model, or None without racks."""
    return rack_of(s.nodes, s.racks, s.rack_assignment) if s.racks > 0 else None


def dc_of_spec(s: PlacementSpec) -> np.ndarray:
    """Each node's datacenter: rack r in DC r mod datacenters (node i in DC i mod datacenters
    without racks). One DC (the default) holds every node."""
    rk = racks_of_spec(s)
    base = rk if rk is not None else np.arange(s.nodes, dtype=np.int64)
    return base % s.datacenters


@dataclass
class Placement:
    """Distinct replica sets (rows of ``sets``, sorted node ids) and the key fraction on each.

    Rows come out of :func:`_dedup` in lexicographic order. :meth:`is_disjoint` says whether the
    sets are pairwise disjoint (minimum copysets with R | n): the analytic engine then has an exact
    closed form.
    """

    spec: PlacementSpec
    sets: np.ndarray      # (m, R) int32, rows sorted ascending, distinct
    weights: np.ndarray   # (m,) float64, sums to 1: fraction of keys (hash space or chunks) per set

    @property
    def n(self) -> int:
        return self.spec.nodes

    @property
    def r(self) -> int:
        return self.spec.replication

    @property
    def m(self) -> int:
        return int(len(self.sets))

    def is_disjoint(self) -> bool:
        """True when no node is in two replica sets."""
        return bool(len(np.unique(self.sets)) == self.sets.size)

    def nbytes(self) -> int:
        return int(self.sets.nbytes + self.weights.nbytes)

    def scatter_width(self) -> float:
        """Mean number of distinct other nodes sharing a replica set with a node (2 x the distinct
        unordered node pairs inside sets, over n; one int64 code per pair, rows being sorted)."""
        n, r = self.n, self.r
        if r < 2:
            return 0.0
        sets = self.sets.astype(np.int64)
        codes = np.concatenate([sets[:, i] * n + sets[:, j] for i in range(r) for j in range(i + 1, r)])
        return float(2 * len(np.unique(codes)) / n)


def _codes(rows: np.ndarray, n: int) -> np.ndarray:
    """One int64 per row of sorted node ids (base-n digits): equal rows, equal codes."""
    code = np.zeros(len(rows), dtype=np.int64)
    for j in range(rows.shape[1]):
        code = code * n + rows[:, j]
    return code


def _decode(code: np.ndarray, n: int, r: int) -> np.ndarray:
    out = np.empty((len(code), r), dtype=np.int64)
    c = code.copy()
    for j in range(r - 1, -1, -1):
        out[:, j] = c % n
        c //= n
    return out


def _dedup(rows: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row, merge equal rows and add their weights (rows come out in lexicographic order,
    which the Monte Carlo's index by first node relies on)."""
    rows = np.sort(rows, axis=1)
    r = rows.shape[1]
    if float(n) ** r < 2.0**62:
        _, idx, inv = np.unique(_codes(rows, n), return_index=True, return_inverse=True)
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


def token_ring_layout(s: PlacementSpec) -> tuple[np.ndarray, np.ndarray]:
    """The token ring's V seeded random tokens per node on [0, 1), sorted, and each one's node (the
    simulator's ring, :mod:`pbs_sim.sim.ring`, places its tokens from the same layout)."""
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(1,)))
    tokens = rng.random(s.nodes * s.vnodes)
    node = np.repeat(np.arange(s.nodes), s.vnodes)
    order = np.argsort(tokens, kind="stable")
    return tokens[order], node[order]


def fixed_ring_owners(s: PlacementSpec) -> np.ndarray:
    """The owner of each of the Q partitions of Riak's ring: claimed round-robin in a seeded random
    order of the nodes (shared with :mod:`pbs_sim.sim.ring`)."""
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(2,)))
    label = rng.permutation(s.nodes)
    return label[np.arange(s.ring_size) % s.nodes]


def token_ring(s: PlacementSpec) -> Placement:
    """V random tokens per node; range i is (tok[i-1], tok[i]] and belongs to the node of token i
    (Cassandra's convention); its replicas are the next R distinct nodes clockwise (SimpleStrategy),
    skipping nodes of racks already used when rack-aware (NetworkTopologyStrategy in one DC, with
    racks >= R so that the walk never has to fall back to a used rack)."""
    tok, own = token_ring_layout(s)
    length = np.diff(np.concatenate([[tok[-1] - 1.0], tok]))
    rack = racks_of_spec(s) if s.rack_aware else None
    sets = _ring_walk(own, s.replication, rack)
    rows, w = _dedup(sets, length, s.nodes)
    return Placement(s, rows, w / w.sum())


def fixed_ring(s: PlacementSpec) -> Placement:
    """Riak's ring of Q equal partitions, claimed round-robin by the nodes in a seeded random order
    (Riak's claim aims at the same property: any R consecutive partitions on distinct nodes); a
    partition's preference list is the next R distinct owners. With Q < n only Q nodes own data."""
    owner = fixed_ring_owners(s)
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
    """Copyset Replication (Cidon et al. 2013): P = ceil(S / (R - 1)) random permutations, each cut
    into consecutive groups of R; a key's primary is a uniform node and its copyset a uniform one
    of the primary's groups. ``min_sets``: one permutation (minimum copysets)."""
    n, r = s.nodes, s.replication
    perms = 1 if min_sets else max(1, math.ceil(s.scatter_width / max(r - 1, 1)))
    groups = copyset_groups(s, perms)
    # key weight: primary uniform over nodes, then uniform over that node's groups (one per permutation)
    member_count = np.zeros(n)
    np.add.at(member_count, groups.ravel(), 1.0)
    w = (1.0 / (n * member_count[groups])).sum(axis=1)
    rows, w = _dedup(groups, w, n)
    return Placement(s, rows, w / w.sum())


def _distinct_draws(rng: np.random.Generator, k: int, r: int, low: int, high: int) -> np.ndarray:
    """k rows of r distinct integers in [low, high): uniform r-subsets (in random order), by
    rejection of rows with a repeat (cheap while r is small against high - low)."""
    rows = rng.integers(low, high, size=(k, r))
    while r > 1:
        srt = np.sort(rows, axis=1)
        dup = (np.diff(srt, axis=1) == 0).any(axis=1)
        if not dup.any():
            break
        rows[dup] = rng.integers(low, high, size=(int(dup.sum()), r))
    return rows


def _chunked(s: PlacementSpec, rows_of: Any, stream: int) -> Placement:
    """Draw ``total_chunks`` chunks in batches, keep only their codes, and de-duplicate."""
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(stream,)))
    k, n, r = s.total_chunks(), s.nodes, s.replication
    if float(n) ** r >= 2.0**62:
        raise ConfigError(None, "placement.replication", f"{n}^{r} replica sets do not fit the 64-bit set codes")
    codes = np.empty(k, dtype=np.int64)
    for lo in range(0, k, _BATCH):
        b = min(_BATCH, k - lo)
        codes[lo:lo + b] = _codes(np.sort(rows_of(rng, b), axis=1), n)
    uniq, counts = np.unique(codes, return_counts=True)
    return Placement(s, _decode(uniq, n, r).astype(np.int32), counts / k)


def random_sets(s: PlacementSpec) -> Placement:
    """Random replication: each chunk on a uniform R-subset of the nodes."""
    return _chunked(s, lambda rng, b: _distinct_draws(rng, b, s.replication, 0, s.nodes), 4)


def window(s: PlacementSpec) -> Placement:
    """A chunk's primary is a uniform node i and its other R - 1 replicas a uniform (R - 1)-subset
    of the S nodes i+1 .. i+S (mod n): random replication with scatter width S forward of the
    primary (a node also receives replicas from the S nodes before it)."""
    n, r, sw = s.nodes, s.replication, s.scatter_width

    def rows_of(rng: np.random.Generator, b: int) -> np.ndarray:
        primary = rng.integers(0, n, size=b)
        offs = _distinct_draws(rng, b, r - 1, 1, sw + 1) if r > 1 else np.empty((b, 0), dtype=np.int64)
        return np.concatenate([primary[:, None], (primary[:, None] + offs) % n], axis=1)

    return _chunked(s, rows_of, 5)


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
