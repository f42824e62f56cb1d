"""Datacenters, racks and the links between them (``[topology]``, issue 19): pure data and validation.

Owns: the ``[topology]`` and ``[consistency]`` section dataclasses (the loader in
``pbs_sim.config`` converts and type-checks their fields like every other section's), the rules
across them (``check_topology``), the lookups both engines share (replication per datacenter,
client weights, the delay law of a link), the measured inter-region table ``aws-2017``, and what
the simulator cannot run with a topology yet (``check_simulator``). Must not touch:
SimPy, sampling, metrics.

Latency model (docs/design.md, "Datacenters and consistency levels"). A message's one-way delay is
the latency profile's law for its kind (W, A, R or S: a node's service time and its local network,
what the PBS paper's single-datacenter fits measure) *plus* the law of its link class: same rack
(``intra_rack``), same datacenter (``intra_dc``), or the pair of datacenters (a
``[[topology.links]]`` entry, else the ``wan`` table, else ``inter_dc``). Link laws are symmetric;
each message draws its own delay. The PBS paper's ``wan`` profile is this model with three
datacenters of one replica each and a constant 75 ms between them.

Racks: the replicas of a datacenter go on distinct racks first, as NetworkTopologyStrategy places
them (replica j of a datacenter with k racks is on rack ``j mod k``); a coordinator is on a rack of
its datacenter chosen uniformly per operation.

Clients: ``clients`` weights place the clients in datacenters (0: none there); each client's
coordinator is in its own datacenter, so a (write DC, read DC) pair is a pair of client DCs. The
simulator gives client id c the datacenter of the c-th Sainte-Laguë seat over the weights
(``pbs_sim.sim.datacenters``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .distributions import Constant, Distribution
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Scenario
    from .levels import Requirement

MAX_DATACENTERS = 64


def _opt(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
         choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    """A field with the metadata ``pbs_sim.config``'s loader reads (same form as ``config.opt``)."""
    meta = {"choices": choices, "ge": ge, "gt": gt, "le": le, "lt": None, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Datacenter:
    name: str = _opt("", doc="datacenter name (a region code such as us-east-1 to use topology.wan)")
    nodes: int = _opt(3, ge=1, le=10_000, doc="nodes in this datacenter")
    racks: int = _opt(1, ge=1, le=10_000, doc="racks the nodes are spread over (replicas on distinct racks first)")
    replication: int = _opt(3, ge=0, doc="replicas per key here (NetworkTopologyStrategy's {dc: RF}); 0 = none")
    clients: float = _opt(1.0, ge=0, doc="share of the clients placed here (weights; 0 = no clients; the simulator "
                                         "gives client ids their datacenters by Sainte-Lague seats of the weights)")


@dataclass(frozen=True)
class Link:
    between: tuple[str, ...] = _opt((), doc="the two datacenters this law connects")
    delay: Distribution = _opt(Constant(0.0), doc="one-way delay added to every message between them (ms)")


@dataclass(frozen=True)
class TopologyConfig:
    """``[topology]``: empty ``datacenters`` (the default) means today's flat cluster."""

    datacenters: tuple[Datacenter, ...] = _opt(
        (), doc="[[topology.datacenters]]: name, nodes, racks, replication, clients (none: one flat cluster)",
    )
    intra_rack: Distribution = _opt(Constant(0.0), doc="one-way delay added between nodes on the same rack (ms)")
    intra_dc: Distribution = _opt(Constant(0.0), doc="one-way delay added between racks of one datacenter (ms)")
    inter_dc: Distribution | None = _opt(None, doc="one-way delay added between datacenters no link or wan entry covers")
    wan: str | None = _opt(
        None, choices=("aws-2017",),
        doc="measured inter-region table for the DC pairs (datacenters named by region code): aws-2017",
    )
    links: tuple[Link, ...] = _opt((), doc="[[topology.links]]: between = [dc, dc], delay = law (overrides wan)")

    @property
    def enabled(self) -> bool:
        return bool(self.datacenters)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.datacenters)

    def replication(self) -> dict[str, int]:
        """Datacenter -> replication factor, in topology order."""
        return {d.name: d.replication for d in self.datacenters}

    def client_weights(self) -> dict[str, float]:
        """Datacenter -> share of the clients (sums to 1; only datacenters with clients)."""
        tot = sum(d.clients for d in self.datacenters)
        return {d.name: d.clients / tot for d in self.datacenters if d.clients > 0}

    def dc(self, name: str) -> Datacenter:
        for d in self.datacenters:
            if d.name == name:
                return d
        raise KeyError(name)

    def link(self, a: str, b: str) -> Distribution:
        """The one-way delay law added between datacenters ``a`` and ``b`` (``intra_dc`` if equal)."""
        if a == b:
            return self.intra_dc
        for ln in self.links:
            if set(ln.between) == {a, b}:
                return ln.delay
        if self.wan is not None:
            rtt = wan_rtt_ms(self.wan, a, b)
            if rtt is not None:
                return Constant(rtt / 2.0)
        if self.inter_dc is not None:
            return self.inter_dc
        raise KeyError((a, b))


@dataclass(frozen=True)
class ConsistencyConfig:
    """``[consistency]``: levels by name (``pbs_sim.levels``); unset keeps cluster.read_quorum etc."""

    read: str | None = _opt(
        None, doc="read level: ONE TWO THREE QUORUM ALL LOCAL_ONE LOCAL_QUORUM EACH_QUORUM (Cassandra) or "
                  "one quorum all default (Riak); default: cluster.read_quorum as a count",
    )
    write: str | None = _opt(None, doc="write level: as read, plus ANY; default: cluster.write_quorum")
    pr: str | None = _opt(None, doc="Riak PR by name: one quorum all default (0); default: cluster.pr")
    pw: str | None = _opt(None, doc="Riak PW by name: one quorum all default (0); default: cluster.pw")
    ideal_write: str | None = _opt(
        None, doc="Cassandra's ideal_consistency_level: a write level every write is also checked against "
                  "(write_failed_ideal_cl, ideal_cl_write_latency_*; pbs_sim.sim.ideal_cl); none: off",
    )


# ---------------------------------------------------------------------------------------------
# Measured inter-region round trips

#: Mean round-trip times (ms) between AWS regions, from the "Latency Between AWS Global Regions"
#: measurements as tabulated in "AWS Regions", A Computer Scientist Learns AWS (April 2017),
#: https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html (average latency
#: from each region to each other; docs/validation.md, "Inter-region latency table"). Each pair is
#: the mean of its two directions where the table gives both (they differ by under 2 ms). Only
#: means were published, so a pair's law is the constant RTT / 2; the profile's own W/A/R/S laws
#: add the spread.
AWS_2017_RTT_MS: dict[tuple[str, str], float] = {
    ("us-east-1", "us-west-1"): 72.185, ("us-east-1", "us-west-2"): 87.83,
    ("us-east-1", "eu-west-1"): 80.535, ("us-east-1", "eu-central-1"): 88.64,
    ("us-east-1", "ap-northeast-1"): 145.3, ("us-east-1", "ap-northeast-2"): 177.5,
    ("us-east-1", "ap-southeast-1"): 216.7, ("us-east-1", "ap-southeast-2"): 229.85,
    ("us-east-1", "sa-east-1"): 119.5,
    ("us-west-1", "us-west-2"): 19.33, ("us-west-1", "eu-west-1"): 153.2,
    ("us-west-1", "eu-central-1"): 166.6, ("us-west-1", "ap-northeast-1"): 102.5,
    ("us-west-1", "ap-northeast-2"): 132.05, ("us-west-1", "ap-southeast-1"): 173.95,
    ("us-west-1", "ap-southeast-2"): 157.65, ("us-west-1", "sa-east-1"): 192.7,
    ("us-west-2", "eu-west-1"): 137.0, ("us-west-2", "eu-central-1"): 159.5,
    ("us-west-2", "ap-northeast-1"): 89.13, ("us-west-2", "ap-northeast-2"): 118.25,
    ("us-west-2", "ap-southeast-1"): 161.4, ("us-west-2", "ap-southeast-2"): 162.05,
    ("us-west-2", "sa-east-1"): 182.7,
    ("eu-west-1", "eu-central-1"): 19.555, ("eu-west-1", "ap-northeast-1"): 212.4,
    ("eu-west-1", "ap-northeast-2"): 242.4, ("eu-west-1", "ap-southeast-1"): 238.55,
    ("eu-west-1", "ap-southeast-2"): 309.6, ("eu-west-1", "sa-east-1"): 191.3,
    ("eu-central-1", "ap-northeast-1"): 236.55, ("eu-central-1", "ap-northeast-2"): 265.75,
    ("eu-central-1", "ap-southeast-1"): 325.9, ("eu-central-1", "ap-southeast-2"): 323.35,
    ("eu-central-1", "sa-east-1"): 194.9,
    ("ap-northeast-1", "ap-northeast-2"): 31.38, ("ap-northeast-1", "ap-southeast-1"): 73.8,
    ("ap-northeast-1", "ap-southeast-2"): 103.9, ("ap-northeast-1", "sa-east-1"): 256.8,
    ("ap-northeast-2", "ap-southeast-1"): 71.58, ("ap-northeast-2", "ap-southeast-2"): 134.0,
    ("ap-northeast-2", "sa-east-1"): 286.3,
    ("ap-southeast-1", "ap-southeast-2"): 175.35, ("ap-southeast-1", "sa-east-1"): 328.1,
    ("ap-southeast-2", "sa-east-1"): 322.5,
}
WAN_TABLES: dict[str, dict[tuple[str, str], float]] = {"aws-2017": AWS_2017_RTT_MS}


def wan_regions(table: str) -> tuple[str, ...]:
    return tuple(sorted({r for pair in WAN_TABLES[table] for r in pair}))


def wan_rtt_ms(table: str, a: str, b: str) -> float | None:
    """The measured mean RTT between regions ``a`` and ``b`` (None if the table lacks the pair)."""
    t = WAN_TABLES[table]
    return t.get((a, b), t.get((b, a)))


# ---------------------------------------------------------------------------------------------
# Validation


def fill_cluster_defaults(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``cluster.nodes`` and ``cluster.replication`` default to the topology's sums (ΣRF), so a
    scenario with datacenters need not repeat them; given, they must agree (``check_topology``)."""
    topo = raw.get("topology")
    if not isinstance(topo, Mapping):
        return raw
    dcs = topo.get("datacenters")
    if not isinstance(dcs, list) or not dcs or not all(isinstance(d, Mapping) for d in dcs):
        return raw
    cl = raw.get("cluster", {})
    if not isinstance(cl, Mapping):
        return raw
    defaults = Datacenter()
    add: dict[str, Any] = {}
    nodes = [d.get("nodes", defaults.nodes) for d in dcs]
    rfs = [d.get("replication", defaults.replication) for d in dcs]
    if "nodes" not in cl and all(isinstance(x, int) and not isinstance(x, bool) for x in nodes):
        add["nodes"] = sum(nodes)
    # (a sum of 0 is left to check_topology, which names the datacenters rather than cluster.replication)
    if "replication" not in cl and all(isinstance(x, int) and not isinstance(x, bool) for x in rfs) and sum(rfs) > 0:
        add["replication"] = sum(rfs)
    return {**raw, "cluster": {**cl, **add}} if add else raw


def check_topology(sc: Scenario) -> None:
    """The rules across ``[topology]``, ``[consistency]`` and ``[cluster]``; each names its key."""
    from .levels import LevelError, resolve

    src, topo, cons, c = sc.source, sc.topology, sc.consistency, sc.cluster
    if not topo.enabled:
        for key in ("links", "wan", "inter_dc"):
            if getattr(topo, key):
                raise ConfigError(src, f"topology.{key}", "needs [[topology.datacenters]]")
        if topo.intra_rack != Constant(0.0) or topo.intra_dc != Constant(0.0):
            raise ConfigError(src, "topology.intra_dc", "needs [[topology.datacenters]]")
        return
    if len(topo.datacenters) > MAX_DATACENTERS:
        raise ConfigError(src, "topology.datacenters", f"{len(topo.datacenters)} datacenters; at most {MAX_DATACENTERS}")
    seen: set[str] = set()
    for i, d in enumerate(topo.datacenters):
        key = f"topology.datacenters[{i}]"
        if not d.name.strip() or d.name != d.name.strip() or any(ch in d.name for ch in ",=[]\"'"):
            raise ConfigError(src, f"{key}.name", f"needs a name without spaces at its ends or ,=[]\"' (got {d.name!r})")
        if d.name in seen:
            raise ConfigError(src, f"{key}.name", f"datacenter {d.name!r} is named twice")
        seen.add(d.name)
        if d.racks > d.nodes:
            raise ConfigError(src, f"{key}.racks", f"{d.racks} racks for {d.nodes} nodes; at most one rack per node")
        if d.replication > d.nodes:
            raise ConfigError(src, f"{key}.replication", f"RF {d.replication} exceeds the {d.nodes} nodes of {d.name}")
        if not math.isfinite(d.clients):
            raise ConfigError(src, f"{key}.clients", "must be finite")
    prof = sc.latency.wars
    if prof.is_wan:
        raise ConfigError(src, "latency.profile", f"{prof.name} adds its own {prof.remote_extra_ms:g} ms to remote "
                                                  "replicas; with [topology] give the local profile (e.g. lnkd-disk) "
                                                  "and let the links carry the WAN")
    n_total = sum(d.nodes for d in topo.datacenters)
    rf_total = sum(d.replication for d in topo.datacenters)
    if rf_total == 0:
        raise ConfigError(src, "topology.datacenters", "no datacenter holds replicas (every replication is 0)")
    if not topo.client_weights():
        raise ConfigError(src, "topology.datacenters", "no datacenter has clients (every clients weight is 0)")
    if c.nodes != n_total:
        raise ConfigError(src, "cluster.nodes", f"{c.nodes} disagrees with the topology's {n_total} nodes "
                                                "(leave it out: it defaults to the sum)")
    if c.replication != rf_total:
        raise ConfigError(src, "cluster.replication", f"N = {c.replication} disagrees with the topology's "
                                                      f"ΣRF = {rf_total} (leave it out: it defaults to the sum)")
    for i, ln in enumerate(topo.links):
        key = f"topology.links[{i}].between"
        if len(ln.between) != 2 or ln.between[0] == ln.between[1]:
            raise ConfigError(src, key, f"expected two different datacenters, got {list(ln.between)}")
        for name in ln.between:
            if name not in seen:
                raise ConfigError(src, key, f"{name!r} is not a datacenter of the topology ({', '.join(topo.names)})")
        for j in range(i):
            if set(topo.links[j].between) == set(ln.between):
                raise ConfigError(src, key, f"the link {ln.between[0]}-{ln.between[1]} is given twice")
    names = topo.names
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            try:
                topo.link(a, b)
            except KeyError:
                raise ConfigError(
                    src, "topology.links",
                    f"no delay law between {a} and {b}: add a [[topology.links]] entry, topology.inter_dc"
                    + (f", or name the datacenters by region code for topology.wan = {topo.wan!r}"
                       if topo.wan else ", or topology.wan"),
                ) from None
    rf = topo.replication()
    for kind in ("read", "write", "pr", "pw"):
        name = getattr(cons, kind)
        if name is None:
            continue
        for dc in topo.client_weights():
            try:
                resolve(name, kind, rf, dc)
            except LevelError as exc:
                raise ConfigError(src, f"consistency.{kind}", str(exc)) from None


def requirements(sc: Scenario, local_dc: str | None) -> tuple[Requirement, Requirement]:
    """(read, write) requirements of the scenario for a coordinator in ``local_dc``: the named
    levels, else ``cluster.read_quorum`` / ``write_quorum`` as counts over all replicas."""
    from .levels import Requirement, resolve

    rf = sc.topology.replication() if sc.topology.enabled else {"": sc.cluster.replication}
    cons, c = sc.consistency, sc.cluster
    read = (resolve(cons.read, "read", rf, local_dc) if cons.read is not None
            else Requirement(str(c.read_quorum), total=c.read_quorum))
    write = (resolve(cons.write, "write", rf, local_dc) if cons.write is not None
             else Requirement("ANY" if c.write_any else str(c.write_quorum), total=c.write_quorum, hint_ok=c.write_any))
    return read, write


def check_simulator(sc: Scenario) -> None:
    """What the simulator cannot run on a topology yet, refused with one line naming the key, before
    any work: mechanisms that assume one flat ring of primaries and fallbacks, or count quorums
    (sloppy quorums, detector-aware quorums, coordinator hints, ANY, Riak's PR / PW), and a
    ``[placement]`` beside ``[topology]`` (both would place the replicas)."""
    if not sc.topology.enabled:
        return
    src, c = sc.source, sc.cluster
    why = "not supported with [topology] in the simulator yet (it assumes one flat ring and count quorums)"
    if c.sloppy_quorum:
        raise ConfigError(src, "cluster.sloppy_quorum", f"sloppy quorums are {why}")
    if sc.failure_detector.mode != "off":
        raise ConfigError(src, "failure_detector.mode", f"detector-aware quorums are {why}")
    if sc.hinted_handoff.store == "coordinator":
        raise ConfigError(src, "hinted_handoff.store", f"coordinator hints are {why}")
    if sc.consistency.write is not None and sc.consistency.write.strip().upper() == "ANY":
        raise ConfigError(src, "consistency.write", f"ANY (a coordinator hint counts as an ack) is {why}")
    if c.write_any:
        raise ConfigError(src, "cluster.write_quorum", f"ANY (a coordinator hint counts as an ack) is {why}")
    for key in ("pr", "pw"):
        name = getattr(sc.consistency, key)
        if name is not None and name.strip().lower() != "default":
            raise ConfigError(src, f"consistency.{key}", f"Riak's {key.upper()} (primaries) is {why}")
        if getattr(c, key):
            raise ConfigError(src, f"cluster.{key}", f"Riak's {key.upper()} (primaries) is {why}")
    if sc.placement.given:
        raise ConfigError(src, "placement", "[placement] and [topology] both place replicas: the simulator's ring "
                                            "uses NetworkTopologyStrategy with [topology]; give one of them")
