"""Consistency levels by name (issue 19): Cassandra's and Riak's, resolved to a requirement.

Owns: the level names, which are valid for reads and for writes, and ``resolve(name, ...)``: the
``Requirement`` a named level sets on a given replica layout (replication factor per datacenter and
the coordinator's datacenter). Must not touch: configs (``pbs_sim.config`` calls ``resolve`` and
turns a ``LevelError`` into its one-line ``ConfigError``), SimPy, sampling.

Definitions (Cassandra's ``db/ConsistencyLevel.java``, ``blockFor`` and ``localQuorumFor``;
docs/design.md, "Consistency levels"). ``RF_d`` is the replication factor of datacenter d
(NetworkTopologyStrategy's ``{dc1: 3, dc2: 3}``), ``ΣRF`` their sum:

* ``ONE``, ``TWO``, ``THREE`` — 1, 2, 3 replies from replicas in any datacenter;
* ``QUORUM`` — ``floor(ΣRF / 2) + 1`` replies from any datacenters;
* ``ALL`` — ``ΣRF`` replies;
* ``LOCAL_ONE`` — 1 reply from the coordinator's datacenter;
* ``LOCAL_QUORUM`` — ``floor(RF_local / 2) + 1`` replies from the coordinator's datacenter;
* ``EACH_QUORUM`` — ``floor(RF_d / 2) + 1`` replies from *each* datacenter d with ``RF_d > 0``
  (``blockFor`` is their sum). Valid for reads since Cassandra 3.0 (CASSANDRA-9602);
* ``ANY`` — writes only (Cassandra's ``validateForRead`` refuses it): one ack, and a hint stored by
  the coordinator counts as one.

Without datacenters (a flat cluster, Cassandra's SimpleStrategy) ``localQuorumFor`` falls back to
the whole cluster's quorum, so ``LOCAL_QUORUM`` and ``EACH_QUORUM`` mean ``QUORUM`` and
``LOCAL_ONE`` means ``ONE``: every level is a plain count, the R or W the simulator takes.
``SERIAL``, ``LOCAL_SERIAL`` (Paxos) and ``NODE_LOCAL`` are Cassandra levels this model does not
have; they are refused by name.

Riak's named values for ``r``, ``w``, ``pr`` and ``pw`` (Riak KV's replication properties): ``one``
(1), ``quorum`` (``floor(n_val / 2) + 1``), ``all`` (``n_val``) and ``default`` (the bucket default:
``quorum`` for r and w, 0 for pr and pw). Riak has no datacenters in this sense, so over a topology
``n_val`` is ``ΣRF``. Names are case-insensitive: where Cassandra and Riak share a name (one,
quorum, all) they mean the same count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CASSANDRA_LEVELS = (
    "ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM",
)
RIAK_VALUES = ("one", "quorum", "all", "default")
#: Cassandra levels that exist but that this model has no mechanism for (refused by name)
UNMODELLED = {
    "SERIAL": "a Paxos (lightweight transaction) level",
    "LOCAL_SERIAL": "a Paxos (lightweight transaction) level",
    "NODE_LOCAL": "a node-local testing level",
}
WRITE_ONLY = frozenset({"ANY"})
KINDS = ("read", "write", "pr", "pw")


class LevelError(ValueError):
    """A level that is unknown, invalid for its kind, or that the replicas cannot meet."""


@dataclass(frozen=True)
class Requirement:
    """What an operation waits for: every part must hold (in practice a level sets one of them).

    ``total`` replies from replicas anywhere; ``local`` replies from the coordinator's datacenter;
    ``per_dc`` ``(dc, count)`` replies from each named datacenter; ``hint_ok``: a hint stored by the
    coordinator counts as an ack (``ANY``)."""

    level: str
    total: int = 0
    local: int = 0
    per_dc: tuple[tuple[str, int], ...] = ()
    hint_ok: bool = False

    @property
    def block_for(self) -> int:
        """Cassandra's ``blockFor``: how many replies the operation waits for in all."""
        return self.total + self.local + sum(c for _, c in self.per_dc)

    @property
    def is_count(self) -> bool:
        """Only a count over all replicas: the R or W of the single-datacenter model."""
        return not self.local and not self.per_dc

    def describe(self) -> str:
        if self.per_dc:
            return f"{self.level}: " + " and ".join(f"{c} in {dc}" for dc, c in self.per_dc)
        if self.local:
            return f"{self.level}: {self.local} in the coordinator's datacenter"
        return f"{self.level}: {self.total} from any replicas" + (" (a coordinator hint counts)" if self.hint_ok else "")


def quorum(rf: int) -> int:
    """``floor(rf / 2) + 1``: Cassandra's ``quorumFor`` / ``localQuorumFor`` and Riak's quorum."""
    return rf // 2 + 1


def canonical(name: str) -> str:
    """The level's canonical spelling: Cassandra's upper case; ``default`` for Riak's own value."""
    n = name.strip().replace("-", "_")
    return "default" if n.lower() == "default" else n.upper()


def resolve(
    name: str,
    kind: str,
    rf: Mapping[str, int],
    local_dc: str | None = None,
) -> Requirement:
    """The requirement level ``name`` sets for ``kind`` ("read", "write", "pr", "pw") on replicas
    laid out as ``rf`` (datacenter -> replication factor; one entry = a flat cluster), for a
    coordinator in ``local_dc`` (needed by LOCAL_* levels when there are several datacenters).

    >>> resolve("LOCAL_QUORUM", "read", {"dc1": 3, "dc2": 3}, "dc2").local
    2
    >>> resolve("QUORUM", "write", {"dc1": 3, "dc2": 3}).total
    4
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(name, str) or not name.strip():
        raise LevelError(f"expected a level name like QUORUM or LOCAL_QUORUM, got {name!r}")
    lvl = canonical(name)
    n = sum(rf.values())
    flat = len(rf) <= 1
    if lvl in UNMODELLED:
        raise LevelError(f"{lvl} is {UNMODELLED[lvl]}; pbs-sim models {', '.join(CASSANDRA_LEVELS)}")
    if kind in ("pr", "pw"):
        # Riak's primaries: one / quorum / all / default (0), counts over n_val
        counts = {"ONE": 1, "QUORUM": quorum(n), "ALL": n, "default": 0}
        if lvl not in counts:
            raise LevelError(f"{name!r} is not a Riak {kind} value; expected one of {', '.join(RIAK_VALUES)} "
                             "or a number")
        return _met(Requirement(lvl, total=counts[lvl]), n, name)
    if lvl not in CASSANDRA_LEVELS and lvl != "default":
        raise LevelError(f"unknown consistency level {name!r}; expected one of {', '.join(CASSANDRA_LEVELS)} "
                         f"(Cassandra) or {', '.join(RIAK_VALUES)} (Riak)")
    if lvl in WRITE_ONLY and kind == "read":
        raise LevelError(f"{lvl} is only supported for writes (Cassandra refuses it for reads)")
    if lvl == "default":  # Riak's bucket default for r and w
        lvl = "QUORUM"
    if lvl in ("ONE", "TWO", "THREE"):
        req = Requirement(lvl, total={"ONE": 1, "TWO": 2, "THREE": 3}[lvl])
    elif lvl == "ANY":
        req = Requirement(lvl, total=1, hint_ok=True)
    elif lvl == "QUORUM":
        req = Requirement(lvl, total=quorum(n))
    elif lvl == "ALL":
        req = Requirement(lvl, total=n)
    elif flat:  # SimpleStrategy: the local and each-DC quorums are the cluster's quorum
        req = Requirement(lvl, total=1 if lvl == "LOCAL_ONE" else quorum(n))
    elif lvl == "EACH_QUORUM":
        req = Requirement(lvl, per_dc=tuple((dc, quorum(r)) for dc, r in rf.items() if r > 0))
    else:  # LOCAL_ONE, LOCAL_QUORUM
        if local_dc is None:
            raise LevelError(f"{lvl} needs the coordinator's datacenter")
        if local_dc not in rf:
            raise LevelError(f"{lvl}: datacenter {local_dc!r} is not in the topology")
        rl = rf[local_dc]
        if rl == 0:
            raise LevelError(f"{lvl} from {local_dc}: {local_dc} holds no replicas (replication 0), so no "
                             "local reply can ever come (Cassandra: Unavailable)")
        req = Requirement(lvl, local=1 if lvl == "LOCAL_ONE" else quorum(rl))
    return _met(req, n, name)


def _met(req: Requirement, n: int, name: str) -> Requirement:
    if req.total > n:
        raise LevelError(f"{name} needs {req.total} replies but there are {n} replicas"
                         + (" (the sum of the datacenters' replication)" if n else ""))
    return req
