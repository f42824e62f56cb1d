"""Scenario configuration: frozen, validated dataclasses — the only place defaults live.

Owns: the scenario sections (cluster, latency, workload, run, predict, faults, read_repair,
anti_entropy), loading them from TOML or a dict, validation with one-line errors naming the file,
the dotted key and the reason, and ``to_dict()`` / dotted overrides for manifests and sweeps.
Must not touch: SimPy, metrics, sweeps. Components receive these typed values and never read a dict
by string key.

Adding a setting: add a field with ``opt(default, ...)`` to its section; the loader, unknown-key
detection, type checks, ``to_dict`` and ``pbs-sim validate`` pick it up. Cross-field rules go in
``_check_scenario``.

Every number is finite (``inf``, ``1e400`` and ``nan`` are refused for every numeric key), every
integer fits a signed 64-bit column (``MAX_INT``, so Parquet and CSV readers hold it), every time (a
key ending in ``_ms``, list elements included, and every delay law) stays within ``MAX_DELAY_MS``,
and settings that mean work have an upper bound: the counts (``nodes``, ``keys``, ``clients``,
``trials``) by their field, the work they multiply into by ``_check_work``, one bound for every
source of work: the expected operations of the main workload *plus* every hot-key writer (each
element of ``workload.hot_key_writers_per_s``) at most ``MAX_OPS``; the run's horizon (warm-up,
duration, preload at its rate, probe spacing) at most ``MAX_DELAY_MS``; anti-entropy exchanges,
fault events, hint replay sweeps and false suspicions at most ``MAX_EVENTS`` each, over the span
the run can last (the horizon plus the operation timeouts, :func:`background_span_ms`); one hint's replay
time (``hint_bytes / rate_bytes_per_s``) at most ``MAX_DELAY_MS``. Each refusal is one line naming
the key (list elements by index). A run that would loop forever at one instant (zero think time or
anti-entropy interval with zero latencies) is refused.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from . import inputs
from .distributions import Constant, Distribution, Exponential, Normal, parse
from .errors import ConfigError, DistributionError
from .keys import KEY_HASHES, is_numeric_name
from .numbers import num
from .profiles import Profile, get_profile
from .scripts import Script, read_script
from .scripts import script as script_from_rows
from .topology import ConsistencyConfig, TopologyConfig, check_topology, fill_cluster_defaults

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


MAX_INT = 2**63 - 1  # every integer setting (seeds included) fits an int64 column
# Work bounds of one simulated run. A run's peak memory grows by ~0.5 kB per operation (docs/guide/performance.md,
# benchmarks/bench_startup.py: 618 MB at 10^6), so MAX_OPS is ~5 GB; MAX_EVENTS bounds the
# background processes (anti-entropy exchanges, fault events).
MAX_OPS = 10**7
MAX_EVENTS = 10**8
MAX_DELAY_MS = 1e15  # a delay or interval beyond this (~30,000 years) breaks float time arithmetic
MAX_RING_TOKENS = 10**6  # nodes x vnodes: the ring is built (and sorted) before the run
MAX_CLIENTS = 10**6  # sessions, hot-key writers included: each has its own state (and clock)
MAX_PREDICT_TRIALS = 10**12  # streamed in constant memory; long runs show progress and time left


def opt(
    default: Any,
    *,
    choices: tuple[str, ...] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    doc: str = "",
) -> Any:
    """A config field: default, allowed choices or numeric bounds, one-line doc."""
    meta = {"choices": choices, "ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc}
    if isinstance(default, list | dict | set):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata=meta)


class KeyName(str):
    """A key's name in the config (``pbs_sim.keys``): a non-empty string; an integer ``k`` given
    for it means the key named ``str(k)``. Dumped back as an integer when it is one's decimal form,
    so scenarios that gave integers round-trip unchanged."""

    __slots__ = ()


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class KeyDistribution:
    """Key popularity: ``uniform`` or ``zipf(s=0.99)`` over ``workload.keys`` keys (rank 1 hottest)."""

    kind: str = "uniform"
    s: float = 0.0

    def spec(self) -> str:
        return "uniform" if self.kind == "uniform" else f"zipf(s={self.s:g})"

    @staticmethod
    def parse(text: str) -> KeyDistribution:
        t = text.strip().replace(" ", "")
        if t == "uniform":
            return KeyDistribution()
        if t.startswith("zipf(") and t.endswith(")"):
            inner = t[5:-1]
            val = inner.split("=", 1)[1] if "=" in inner else inner
            if "=" in inner and inner.split("=", 1)[0] != "s":
                raise ValueError(f"zipf takes s=EXPONENT, got {inner!r}")
            try:
                s = float(val) if val else 1.0
            except ValueError:
                raise ValueError(f"zipf exponent {val!r} is not a number") from None
            if not (math.isfinite(s) and s >= 0):
                raise ValueError("zipf exponent s must be >= 0")
            return KeyDistribution("zipf", s)
        raise ValueError(f"expected 'uniform' or 'zipf(s=EXPONENT)', got {text!r}")


@dataclass(frozen=True)
class ClusterConfig:
    nodes: int = opt(3, ge=1, le=10_000, doc="ring size (>= replication)")
    replication: int = opt(3, ge=1, doc="N: replicas per key")
    read_quorum: int = opt(1, ge=1, doc="R: responses a read waits for")
    write_quorum: int = opt(1, ge=1, doc="W: acks a write waits for (\"any\": Cassandra's ANY, a stored hint counts)")
    read_fanout: str = opt("all", choices=("all", "quorum"), doc="send reads to all N or only R")
    write_fanout: str = opt("all", choices=("all", "quorum"), doc="send writes to all N or only W")
    replica_choice: str = opt(
        "random", choices=("random", "preference"),
        doc="which replicas a 'quorum' fan-out picks: uniformly at random (PBS) or the first in the preference list",
    )
    vnodes: int = opt(8, ge=1, le=4096, doc="virtual nodes per physical node on the ring")
    key_hash: str = opt(
        "murmur3", choices=KEY_HASHES,
        doc="where a key sits on the ring: murmur3 (Cassandra's Murmur3Partitioner token of the key name), md5 "
            "(Dynamo: the MD5 of the key name as a 128-bit number), or blake2b (pbs_sim's placement before keys "
            "had names: reproduces earlier results); node tokens lie in the same token space",
    )
    coordinator: str = opt(
        "client", choices=("client", "random", "first-replica"),
        doc="who coordinates: an external client-side coordinator (PBS model), a random node, or the key's first replica",
    )
    read_timeout_ms: float = opt(10_000.0, gt=0, doc="a read fails if R responses have not arrived by then")
    write_timeout_ms: float = opt(10_000.0, gt=0, doc="a write fails if W acks have not arrived by then")
    versioning: str = opt(
        "lww", choices=("lww", "vv", "dvv", "vv-node", "vv-client", "vv-node-naive"),
        doc="how replicas order versions: lww (last-writer-wins on (timestamp, issue order)); vv (version "
            "vectors, siblings; see vv_actor); dvv (dotted version vectors, siblings, node actors); "
            "vv-node / vv-client / vv-node-naive: shorthands for vv with that vv_actor (one key for sweeps)",
    )
    # -- sloppy quorums (issue 12; pbs_sim.sim.handoff) --
    sloppy_quorum: bool = opt(
        False, doc="writes and reads go to the first N believed-healthy nodes of the ring walk, fallbacks included",
    )
    pw: int = opt(0, ge=0, doc="sloppy quorums: acks that must come from primaries (Riak PW; <= W)")
    pr: int = opt(0, ge=0, doc="sloppy quorums: read responses that must come from primaries (Riak PR; <= R)")
    fallback_walk: str = opt(
        "distinct", choices=("distinct", "partitions"),
        doc="fallbacks: distinct physical nodes (Dynamo) or Riak's walk over partitions (one node may hold several replicas)",
    )
    write_any: bool = field(default=False, metadata={"internal": True})  # cluster.write_quorum = "any"
    # -- siblings (issue 11)
    vv_actor: str | None = opt(
        None, choices=("node", "client", "node-naive"),
        doc="versioning = vv: who increments the vector: node (Riak vnode clocks, one per sibling set: "
            "false concurrency), client (exact; one entry per client), node-naive (false dominance); default node",
    )
    max_siblings: int = opt(100, ge=1, doc="reads returning more siblings count as sibling_limit_exceeded (Riak: 100)")
    siblings_warning: int = opt(25, ge=1, doc="reads returning more siblings than this are counted as warnings (Riak: 25)")
    # -- speculative retry (issue 19; pbs_sim.sim.speculative)
    speculative_retry: str = opt(
        "NONE", doc="Cassandra's speculative_retry: NONE | ALWAYS (one extra read at once) | Xms (one more read if "
                    "no quorum after X ms) | Xp (X = the p-th percentile of the coordinator's read latency)",
    )


@dataclass(frozen=True)
class LatencyConfig:
    profile: str = opt("lnkd-disk", doc="built-in profile name, exponential(w=..,ars=..), or a profile .toml path")
    w: Distribution | None = opt(None, doc="override: coordinator -> replica write delay")
    a: Distribution | None = opt(None, doc="override: replica -> coordinator ack delay")
    r: Distribution | None = opt(None, doc="override: coordinator -> replica read request delay")
    s: Distribution | None = opt(None, doc="override: replica -> coordinator read response delay")
    other: Distribution | None = opt(
        None, doc="delay of other traffic (repair, anti-entropy, hints); default: the profile's W"
    )
    resolved: Profile | None = field(default=None, compare=False, repr=False, metadata={"internal": True})

    @property
    def wars(self) -> Profile:
        """The profile with this section's w/a/r/s overrides applied."""
        if self.resolved is None:  # built without the loader
            return get_profile(self.profile).with_overrides(w=self.w, a=self.a, r=self.r, s=self.s)
        return self.resolved

    @property
    def other_delay(self) -> Distribution:
        return self.other if self.other is not None else self.wars.w


@dataclass(frozen=True)
class WorkloadConfig:
    kind: str = opt("open", choices=("open", "closed", "pbs-probe", "trace", "script"),
                    doc="open (Poisson) | closed (think time) | pbs-probe | trace (replay workload.trace) | "
                        "script (workload.script: an exact schedule)")
    script: Script | None = opt(
        None,
        doc="kind = script: the operations, one a line (pbs_sim.scripts): a CSV or JSON Lines file (path relative "
            "to the scenario file) with at_ms, client, op (read | write | rmw), key, value, and optional id, "
            "context (none | last-read | last-reply | an earlier id), coordinator; or a list of such tables",
    )
    keys: int = opt(1000, ge=1, le=10**8, doc="number of keys")
    key_distribution: KeyDistribution = opt(KeyDistribution(), doc="uniform | zipf(s=0.99)")
    read_fraction: float = opt(0.9, ge=0, le=1, doc="fraction of operations that are reads")
    rate_per_s: float = opt(1000.0, gt=0, doc="open workload: Poisson arrival rate of operations per second")
    clients: int = opt(100, ge=1, le=MAX_CLIENTS, doc="number of clients (sessions); closed: each issues one op at a time")
    think_time: Distribution = opt(Exponential(0.1), doc="closed workload: pause between a client's ops")
    duration_ms: float = opt(10_000.0, gt=0, doc="length of the measured run (after warm-up)")
    warmup_ms: float = opt(
        1000.0, ge=0,
        doc="operations issued before this (counted from the end of the preload, if any) are not measured",
    )
    preload: bool = opt(
        False,
        doc="open/closed: first write every key once (a load phase: key k at k / preload_rate_per_s s, by "
            "client id = clients); warm-up and the measured run start once every load write has finished",
    )
    preload_rate_per_s: float | None = opt(
        None, gt=0, doc="preload: load writes per second, evenly spaced (default: rate_per_s)"
    )
    trials: int = opt(10_000, ge=1, le=MAX_OPS, doc="pbs-probe: independent write-then-read trials (each on its own key)")
    probe_offsets_ms: tuple[float, ...] = opt(
        (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0), doc="pbs-probe: read this long after the write's commit"
    )
    probe_offset: Distribution | None = opt(None, doc="pbs-probe: draw one read offset per trial from this instead")
    probe_interval_ms: float = opt(1.0, ge=0, doc="pbs-probe: spacing between trial starts")
    # -- write patterns and contention (issue 10)
    write_pattern: str = opt(
        "blind", choices=("blind", "rmw"),
        doc="blind: a write is issued as is; rmw: read the key, wait rmw_gap after the read returns, then "
            "write carrying what the read returned (read-modify-write)",
    )
    rmw_gap: Distribution = opt(Constant(0.0), doc="rmw: time from a read's return to its write")
    hot_key: KeyName = opt(
        KeyName("0"),
        doc="the key the hot_key_writers_per_s writers write: a name, or an integer k for the workload's key k "
            "(named str(k), 0..keys-1); another name is a key of its own outside the workload's keys (not preloaded)",
    )
    hot_key_writers_per_s: tuple[float, ...] = opt(
        (), doc="extra writers of hot_key, one per entry, each a Poisson process at its own rate (writes/s); "
                "writer i is client clients + 1 + i; they follow write_pattern and start after warm-up",
    )
    # -- client merges (issue 11)
    merge: str = opt(
        "union",
        doc="what a write's value is made of (values are item sets; each write adds its own item): none (its "
            "item only), union (its item and every sibling it knew: add-only sets), lww (its item and the newest "
            "sibling), or module:function taking a list of frozensets and returning one",
    )
    # -- YCSB core workloads and trace replay (issue 18; pbs_sim.ycsb, pbs_sim.traces)
    ycsb: str | None = opt(
        None,
        doc="open/closed: YCSB core workload a | b | c | d | f, or a YCSB properties file (recordcount, operationcount, "
            "*proportion, requestdistribution = zipfian | uniform | latest | hotspot, ...): its operation mix and "
            "key choice replace read_fraction and key_distribution (docs/guide/workloads.md, YCSB)",
    )
    ycsb_target_per_s: float | None = opt(
        None, gt=0, doc="ycsb, closed: YCSB's -target, operations per second over all clients (each client paced)",
    )
    trace: str | None = opt(
        None, doc="kind = trace: the operations table to replay (CSV, Parquet or JSONL: at_ms, client, op, key[, "
                  "value]; or a run's own ops table), relative to the scenario's folder (docs/guide/workloads.md, Traces)",
    )
    trace_time_scale: float = opt(1.0, gt=0, doc="trace: an operation recorded at t is issued at t * trace_time_scale")
    trace_keys: str = opt(
        "as-is", choices=("as-is", "dense", "modulo"),
        doc="trace: as-is (each key by its name; an integer k is the key named k) | dense (distinct keys "
            "renamed 0, 1, ... by first use) | modulo (integer key mod workload.keys)",
    )
    ycsb_spec: Any = field(default=None, compare=False, metadata={"internal": True})  # resolved workload.ycsb
    trace_info: Any = field(default=None, compare=False, metadata={"internal": True})  # workload.trace's scan


@dataclass(frozen=True)
class RunConfig:
    seed: int = opt(1, ge=0, le=MAX_INT, doc="root seed of every random stream (< 2**63)")


@dataclass(frozen=True)
class PredictConfig:
    trials: int = opt(100_000, ge=1, le=MAX_PREDICT_TRIALS, doc="WARS Monte Carlo trials")
    fanout: str | None = opt(
        None, choices=("all", "quorum"),
        doc="reads to all N (the paper) or R (Cassandra 1.2); default: cluster.read_fanout, as the simulator does",
    )
    # open at 1, as predict and recommend (pbs_sim.analytic.limits says why)
    target: float = opt(0.999, gt=0, lt=1, doc="probability whose t-visibility is reported")
    t_ms: tuple[float, ...] = opt((), doc="extra points of the curve to report")
    k: int = opt(1, ge=1, le=10**9, doc="k for k-staleness")


#: Issue 19: scripted datacenter faults (``pbs_sim.sim.faults``).
DC_FAULT_ACTIONS = ("dc-partition", "dc-outage", "rack-outage", "wan-degradation")


@dataclass(frozen=True)
class FaultEvent:
    at_ms: float = opt(0.0, ge=0, doc="when")
    action: str = opt(
        "crash", choices=("crash", "recover", "wipe", "partition", "heal", "clock-jump", "outage", "rack-loss", "dc-loss",
                          *DC_FAULT_ACTIONS),
        doc="what",
    )
    nodes: tuple[int, ...] = opt((), doc="nodes affected (crash, recover, wipe, outage; partition side A)")
    groups: tuple[tuple[int, ...], ...] = opt((), doc="partition: node groups cut from each other")
    clients: bool = opt(False, doc="partition: cut clients from `nodes` instead of node groups")
    one_way: bool = opt(False, doc="partition: only messages from the first group to the others are dropped")
    duration_ms: float | None = opt(None, gt=0, doc="undo (recover / heal; outage: reboot, default faults.outage_recovery_ms) after this long")
    jump_ms: float = opt(0.0, doc="clock-jump: add this (ms, negative = backwards) to the clocks of `nodes`")
    clock_clients: tuple[int, ...] = opt((), doc="clock-jump: client clocks to jump too (clocks.timestamp_source = client)")
    # -- issue 20: correlated failures (pbs_sim.sim.faults) --
    count: int | None = opt(None, ge=1, doc="outage: this many uniformly chosen nodes lose power (instead of nodes)")
    fraction: float | None = opt(None, gt=0, le=1, doc="outage: round(fraction x nodes) uniformly chosen nodes lose power")
    no_reboot_probability: float = opt(
        0.0, ge=0, le=1, doc="outage: probability each node does not survive the reboot (its disk is lost)",
    )
    racks: tuple[int, ...] = opt((), doc="rack-loss: rack indices (placement.racks) whose nodes all lose their disks")
    dcs: tuple[int, ...] = opt((), doc="dc-loss: datacenter indices (placement.datacenters) whose nodes all lose their disks")
    # -- issue 19: datacenter faults on a [topology] (pbs_sim.sim.faults) --
    datacenters: tuple[str, ...] = opt(
        (), doc="dc-partition: these datacenters (names) cut off from the rest; dc-outage: their nodes go down; "
                "wan-degradation: their links to the other datacenters are slowed",
    )
    between: tuple[tuple[str, ...], ...] = opt(
        (), doc="dc-partition / wan-degradation: two or more sides (lists of datacenter names); every link between "
                "sides is cut / slowed",
    )
    factor: float | None = opt(None, gt=0, doc="wan-degradation: multiplier on the link part of the delay")


@dataclass(frozen=True)
class FaultsConfig:
    crash_mttf_ms: float | None = opt(None, gt=0, doc="per node: exponential time to a transient crash")
    crash_mttr_ms: float = opt(60_000.0, gt=0, doc="mean time to recover from a crash (data kept)")
    disk_loss_mttf_ms: float | None = opt(None, gt=0, doc="per node: exponential time to permanent disk loss")
    replace_ms: float = opt(600_000.0, ge=0, doc="time until an empty replacement joins")
    message_loss: float = opt(0.0, ge=0, le=1, doc="probability any message is dropped")
    schedule: tuple[FaultEvent, ...] = opt(
        (), doc="scripted faults ([[faults.schedule]]: at_ms, action crash|recover|wipe|partition|heal|clock-jump|"
                "outage|rack-loss|dc-loss|dc-partition|dc-outage|rack-outage|wan-degradation, nodes, groups, clients, "
                "one_way, duration_ms; clock-jump: jump_ms, clock_clients; outage: nodes, count or fraction, "
                "no_reboot_probability; rack-loss: racks; dc-loss: dcs; dc-partition: datacenters or between, one_way; "
                "dc-outage: datacenters; rack-outage: racks; wan-degradation: factor, datacenters or between)",
    )
    # -- issue 20: correlated failures as random processes (pbs_sim.sim.faults) --
    outage_mtbf_ms: float | None = opt(None, gt=0, doc="cluster-wide: exponential time between power outages")
    outage_nodes: int | None = opt(None, ge=1, doc="outage: nodes that lose power (default: outage_fraction)")
    outage_fraction: float = opt(1.0, gt=0, le=1, doc="outage: fraction of the nodes that lose power")
    outage_no_reboot_probability: float = opt(
        0.01, ge=0, le=1, doc="outage: probability a node does not survive the reboot (its disk is lost)",
    )
    outage_recovery_ms: float = opt(60_000.0, ge=0, doc="outage: time until the surviving nodes are back up")
    rack_loss_mtbf_ms: float | None = opt(None, gt=0, doc="cluster-wide: exponential time between losses of a uniform rack")
    dc_loss_mtbf_ms: float | None = opt(None, gt=0, doc="cluster-wide: exponential time between losses of a uniform DC")
    # -- issue 19: datacenter faults as random processes (pbs_sim.sim.faults; need [topology], racks: or placement.racks).
    # Each is exponential with mean *_mtbf_ms from the end of the previous one, and lasts a draw of *_duration.
    dc_partition_mtbf_ms: float | None = opt(
        None, gt=0, doc="exponential time between partitions cutting a uniform datacenter off from the rest",
    )
    dc_partition_duration: Distribution = opt(Exponential(1 / 60_000), doc="dc partition: how long each lasts (ms)")
    dc_partition_one_way: bool = opt(False, doc="dc partition: only messages from the chosen datacenter are dropped")
    dc_outage_mtbf_ms: float | None = opt(
        None, gt=0, doc="exponential time between outages of a uniform datacenter (every node down, data kept)",
    )
    dc_outage_duration: Distribution = opt(Exponential(1 / 60_000), doc="dc outage: how long each lasts (ms)")
    rack_outage_mtbf_ms: float | None = opt(
        None, gt=0, doc="exponential time between outages of a uniform rack (every node down, data kept)",
    )
    rack_outage_duration: Distribution = opt(Exponential(1 / 60_000), doc="rack outage: how long each lasts (ms)")
    wan_degradation_mtbf_ms: float | None = opt(
        None, gt=0, doc="exponential time between slowdowns of a uniform datacenter's links to the others",
    )
    wan_degradation_duration: Distribution = opt(Exponential(1 / 60_000), doc="wan degradation: how long each lasts (ms)")
    wan_degradation_factor: float = opt(10.0, gt=0, doc="wan degradation: multiplier on the link part of the delay")


@dataclass(frozen=True)
class ReadRepairConfig:
    mode: str = opt("off", choices=("off", "async", "blocking"), doc="off | async (after answering) | blocking")
    chance: float = opt(0.0, ge=0, le=1, doc="probability a read asks all N replicas even with quorum fan-out")
    window_ms: float = opt(100.0, ge=0, doc="how long late responses are awaited to find stale replicas")


@dataclass(frozen=True)
class AntiEntropyConfig:
    mode: str = opt(
        "off", choices=("off", "merkle", "gossip-push", "gossip-pull", "gossip-push-pull"),
        doc="off (Voldemort) | merkle | gossip-*",
    )
    interval: Distribution = opt(Exponential(1e-4), doc="time between a node's exchanges")
    tree_depth: int = opt(10, ge=1, le=30, doc="Merkle tree depth")
    tree_fanout: int = opt(2, ge=2, le=64, doc="Merkle tree branching factor")
    jitter_ms: float = opt(0.0, ge=0, doc="uniform 0..jitter_ms added to every interval (desynchronises nodes)")
    timeout_ms: float = opt(1_000.0, gt=0, doc="an exchange whose next message has not arrived by then is abandoned")
    value_bytes: int = opt(1024, ge=0, le=2**40, doc="bytes per streamed value (cost accounting; keys count 16, hashes 8)")


@dataclass(frozen=True)
class ClocksConfig:
    """Clocks that stamp writes (issue 10). All defaults: perfect clocks, identical results."""

    offset: Distribution | None = opt(None, doc="node clocks: offset from true time at start, ms (e.g. normal(0, 20))")
    offsets_ms: tuple[float, ...] = opt((), doc="node clocks: explicit offsets, one per node (instead of offset)")
    client_offset: Distribution | None = opt(
        None, doc="client clocks (timestamp_source = client): offset at start, ms; default: offset"
    )
    client_offsets_ms: tuple[float, ...] = opt(
        (), doc="client clocks: explicit offsets for client ids 0, 1, ... (others drawn from client_offset)"
    )
    drift_ppm: Distribution | None = opt(None, doc="per-clock drift rate, parts per million (e.g. normal(0, 50))")
    resync_interval_ms: float | None = opt(
        None, gt=0, doc="NTP-like: every clock is reset this often (at its own random phase) to true time + resync_error"
    )
    resync_error: Distribution | None = opt(None, doc="residual offset right after a resync, ms (default 0)")
    timestamp_source: str = opt(
        "coordinator", choices=("coordinator", "client"),
        doc="who stamps a write: the coordinator's clock (Dynamo/Riak; one clock when cluster.coordinator = "
            "client) or the client's own clock (Cassandra drivers)",
    )
    resolution_ms: float = opt(0.0, ge=0, doc="timestamps are rounded down to a multiple of this (0 = exact); ties follow")
    causality: str = opt(
        "auto", choices=("auto", "on", "off"),
        doc="record each write's causal context (causal_parents table); auto = on with imperfect clocks, "
            "rmw writes or hot-key writers",
    )

    @property
    def perfect(self) -> bool:
        return (self.offset is None and not self.offsets_ms and self.client_offset is None
                and not self.client_offsets_ms and self.drift_ppm is None and self.resync_interval_ms is None
                and self.resolution_ms == 0.0 and self.timestamp_source == "coordinator")


#: Distribution-valued settings that may be negative (normal(...)); every other one must not be.
SIGNED_DISTRIBUTIONS = frozenset({"clocks.offset", "clocks.client_offset", "clocks.drift_ppm", "clocks.resync_error"})


@dataclass(frozen=True)
class FailureDetectorConfig:
    """How coordinators and hint holders learn that a node is down or unreachable (issue 12)."""

    mode: str = opt(
        "off", choices=("off", "perfect", "delay"),
        doc="off (strict quorums ignore liveness; sloppy quorums and hints then see perfectly) | perfect | delay",
    )
    detect_delay: Distribution = opt(Constant(0.0), doc="delay: time until an observer sees a node down/unreachable")
    recover_delay: Distribution = opt(Constant(0.0), doc="delay: time until an observer sees a node back")
    false_suspicion_rate_per_s: float = opt(0.0, ge=0, doc="per observer and node: rate of false suspicions")
    false_suspicion_ms: Distribution = opt(Exponential(1e-3), doc="how long a false suspicion lasts")


@dataclass(frozen=True)
class HintedHandoffConfig:
    """Hinted handoff (issue 12): who keeps hints and how they are replayed."""

    store: str = opt(
        "off", choices=("off", "fallback", "coordinator"),
        doc="off | fallback (Dynamo, Riak: the fallback keeps the hinted copy) | coordinator (Cassandra)",
    )
    inactivity_timeout_ms: float = opt(
        60_000.0, ge=0, doc="fallback: hand-off starts only after no hinted write arrived for this long (Riak)",
    )
    max_window_ms: float = opt(
        10_800_000.0, ge=0, doc="coordinator: no hints for a node seen down longer than this (max_hint_window)",
    )
    interval_ms: float = opt(10_000.0, gt=0, doc="periodic replay sweep of every hint holder")
    rate_bytes_per_s: float = opt(1_048_576.0, gt=0, doc="replay throttle per holder (bytes per second)")
    hint_bytes: int = opt(1024, ge=0, doc="bytes per replayed hint (cost accounting and throttle)")
    ttl_ms: float = opt(864_000_000.0, gt=0, doc="a hint not delivered by then expires (Cassandra: gc_grace)")


# -- issue 20: placement and correlated failures (pbs_sim.placement, pbs_sim.analytic.placement) --------
# Self-contained block: the two sections below, their cross-field rules (_check_loss_model) and nothing
# else. The durability engines read them; the simulator's ring follows a stated [placement]
# (placement.given; pbs_sim.sim.ring.scenario_placement joins it with [cluster] and refuses a
# contradiction when a model is built), so for the `loss` command alone [placement] may describe a
# larger cluster than [cluster].
MAX_PLACEMENT_NODES = 100_000
PLACEMENT_KINDS = ("token_ring", "fixed_ring", "copyset", "min_copysets", "random", "window")
FAILURE_KINDS = ("fixed", "outage", "independent", "rack", "dc", "burst")


@dataclass(frozen=True)
class PlacementConfig:
    """Which R nodes hold each key (``[placement]``; pbs_sim.placement builds the replica sets)."""

    kind: str = opt(
        "token_ring", choices=PLACEMENT_KINDS,
        doc="token_ring (Cassandra num_tokens) | fixed_ring (Riak ring_size) | copyset (scatter width S) | "
            "min_copysets | random (chunks on uniform R-sets) | window (R-1 replicas among the S nodes after the primary)",
    )
    nodes: int | None = opt(None, ge=1, le=MAX_PLACEMENT_NODES, doc="cluster size (default: cluster.nodes)")
    replication: int | None = opt(None, ge=1, le=16, doc="R replicas per key (default: cluster.replication)")
    vnodes: int = opt(256, ge=1, le=4096, doc="token_ring: random tokens per node (Cassandra: 256 before 4.0, 16 since)")
    ring_size: int = opt(64, ge=1, le=2**25, doc="fixed_ring: partitions Q of Riak's ring (ring_size)")
    scatter_width: int = opt(4, ge=0, doc="copyset, window: S, the nodes a node's data is scattered over")
    chunks: int = opt(0, ge=0, le=2**25, doc="random, window: chunks placed (0 = 1000 per node)")
    racks: int = opt(0, ge=0, doc="racks (0 = none); token_ring walks the ring skipping used racks when > 0")
    rack_assignment: str = opt(
        "round_robin", choices=("round_robin", "blocks"),
        doc="node i is in rack i mod racks (round_robin) or i // (nodes / racks) (blocks)",
    )
    rack_aware: bool = opt(True, doc="token_ring with racks > 0: one replica per rack (NetworkTopologyStrategy)")
    datacenters: int = opt(1, ge=1, doc="DCs: rack r (node i without racks) is in DC r mod datacenters")
    seed: int = opt(0, ge=0, doc="seed of the placement's random choices (tokens, permutations, chunks)")
    # set when the scenario has a [placement] table: the simulator's ring then uses it (pbs_sim.sim.ring)
    given: bool = field(default=False, metadata={"internal": True})


@dataclass(frozen=True)
class FailureModelConfig:
    """What fails in one event (``[failure_model]``; pbs_sim.analytic.placement answers it)."""

    kind: str = opt(
        "fixed", choices=FAILURE_KINDS,
        doc="fixed (exactly F nodes) | outage (a fraction reboots, each lost w.p. no_reboot_probability) | "
            "independent (each node lost w.p. p per period) | rack | dc | burst (sizes from a pmf)",
    )
    failed_nodes: int | None = opt(None, ge=0, doc="fixed: F nodes fail at once")
    failed_fraction: float = opt(0.01, ge=0, le=1, doc="fixed: F = round(fraction x nodes) when failed_nodes is unset")
    outage_nodes: int | None = opt(None, ge=0, doc="outage: nodes that lose power and reboot (default: outage_fraction)")
    outage_fraction: float = opt(1.0, ge=0, le=1, doc="outage: fraction of nodes that lose power and reboot")
    no_reboot_probability: float = opt(0.01, ge=0, le=1, doc="outage: probability a rebooted node does not come back")
    p: float = opt(0.001, ge=0, le=1, doc="independent: probability a node is lost in one period (Kleppmann)")
    racks_failed: int = opt(1, ge=1, doc="rack: racks lost at once (uniformly chosen)")
    burst_sizes: tuple[int, ...] = opt((), doc="burst: sizes (nodes, or racks with burst_unit = rack) of a burst")
    burst_weights: tuple[float, ...] = opt((), doc="burst: relative frequency of each size (Ford et al. OSDI 2010)")
    burst_unit: str = opt("node", choices=("node", "rack"), doc="burst: a burst's members are nodes or whole racks")
    events_per_year: float = opt(1.0, ge=0, le=1e9, doc="events (periods, for independent) per year")
    mission_years: float = opt(1.0, gt=0, le=1e6, doc="mission time t of NOMDL_t")
    trials: int = opt(10_000, ge=1, le=10**9, doc="Monte Carlo trials (pbs_sim.analytic.placement_mc)")
    seed: int = opt(0, ge=0, doc="Monte Carlo seed")


def _check_loss_model(sc: Scenario) -> None:
    """Placement and failure-model rules that span keys (issue 20); each names the key to fix."""
    from .placement import check_placement, spec_from_config

    src = sc.source
    spec = spec_from_config(sc.placement, sc.cluster, src)
    check_placement(spec, src)
    fm, n = sc.failure_model, spec.nodes
    if fm.kind == "fixed" and fm.failed_nodes is not None and fm.failed_nodes > n:
        raise ConfigError(src, "failure_model.failed_nodes", f"F = {fm.failed_nodes} exceeds the {n} nodes of the cluster")
    if fm.kind == "outage" and fm.outage_nodes is not None and fm.outage_nodes > n:
        raise ConfigError(src, "failure_model.outage_nodes", f"{fm.outage_nodes} rebooting nodes exceed the {n} nodes of the cluster")
    if (fm.kind == "rack" or (fm.kind == "burst" and fm.burst_unit == "rack")) and spec.racks == 0:
        raise ConfigError(src, "placement.racks", f"failure_model.kind = {fm.kind!r} needs racks (placement.racks > 0)")
    if fm.kind == "rack" and fm.racks_failed > spec.racks:
        raise ConfigError(src, "failure_model.racks_failed", f"{fm.racks_failed} racks exceed the {spec.racks} racks")
    if fm.kind == "burst":
        if not fm.burst_sizes:
            raise ConfigError(src, "failure_model.burst_sizes", "burst needs at least one size")
        if len(fm.burst_weights) != len(fm.burst_sizes):
            raise ConfigError(src, "failure_model.burst_weights",
                              f"{len(fm.burst_weights)} weights for {len(fm.burst_sizes)} sizes; give one weight per size")
        limit = spec.racks if fm.burst_unit == "rack" else n
        for i, size in enumerate(fm.burst_sizes):
            if not 0 <= size <= limit:
                raise ConfigError(src, f"failure_model.burst_sizes[{i}]",
                                  f"{size} is not in 0..{limit} ({'racks' if fm.burst_unit == 'rack' else 'nodes'})")
        for i, w in enumerate(fm.burst_weights):
            if not (w >= 0 and math.isfinite(w)):
                raise ConfigError(src, f"failure_model.burst_weights[{i}]", f"must be a finite number >= 0, got {w!r}")
        if not sum(fm.burst_weights) > 0:
            raise ConfigError(src, "failure_model.burst_weights", "the weights sum to 0")


@dataclass(frozen=True)
class Scenario:
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    run: RunConfig = field(default_factory=RunConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    read_repair: ReadRepairConfig = field(default_factory=ReadRepairConfig)
    anti_entropy: AntiEntropyConfig = field(default_factory=AntiEntropyConfig)
    clocks: ClocksConfig = field(default_factory=ClocksConfig)
    failure_detector: FailureDetectorConfig = field(default_factory=FailureDetectorConfig)
    hinted_handoff: HintedHandoffConfig = field(default_factory=HintedHandoffConfig)
    # -- issue 19: datacenters and named consistency levels (pbs_sim.topology, pbs_sim.levels)
    topology: TopologyConfig = field(default_factory=TopologyConfig)
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)
    placement: PlacementConfig = field(default_factory=PlacementConfig)  # issue 20
    failure_model: FailureModelConfig = field(default_factory=FailureModelConfig)  # issue 20
    source: str = field(default="<inline>", compare=False, metadata={"internal": True})
    base_dir: str | None = field(default=None, compare=False, metadata={"internal": True})
    # data files this scenario read (empirical() traces, profile TOMLs): absolute path -> sha256
    inputs: Mapping[str, str] = field(default_factory=dict, compare=False, metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        """Every setting, defaults included, as plain TOML/JSON-able values (round-trips)."""
        out = {f.name: _dump(getattr(self, f.name)) for f in _public_fields(Scenario)}
        if self.cluster.write_any:  # issue 12: ANY round-trips as written
            out["cluster"]["write_quorum"] = "any"
        _levels_to_dict(self, out)
        if not self.placement.given:  # round trip: a scenario without [placement] keeps today's ring
            out.pop("placement", None)
        return out

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted keys replaced, e.g. ``{"cluster.read_quorum": 2}`` (validated)."""
        raw = self.to_dict()
        for key, value in overrides.items():
            set_dotted(raw, key, value, source=self.source)
        return scenario_from_dict(raw, source=self.source, base_dir=self.base_dir)


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else typing.get_type_hints(Scenario)[f.name]
    for f in dataclasses.fields(Scenario)
    if not f.metadata.get("internal")
}


def _public_fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _dump(v: Any) -> Any:
    if isinstance(v, Script):  # a file by its path; an inline script by its lines
        return v.path if v.path is not None else v.rows()
    if isinstance(v, KeyName):
        return int(v) if is_numeric_name(v) else str(v)
    if isinstance(v, Distribution):
        return v.spec()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        if isinstance(v, KeyDistribution):
            return v.spec()
        return {f.name: _dump(getattr(v, f.name)) for f in _public_fields(type(v)) if getattr(v, f.name) is not None}
    if isinstance(v, tuple):
        return [_dump(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------
# Loading


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is a ``ConfigError`` naming it."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(p), None, "file does not exist")
    if p.is_dir():
        raise ConfigError(str(p), None, "is a directory, expected a TOML file")
    if not p.is_file():  # a device or a pipe: reading /dev/zero would never end
        raise ConfigError(str(p), None, "is not a regular file, expected a TOML file")
    try:
        return tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(p), None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), None, f"not valid TOML (not UTF-8 text): {exc}") from None


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario TOML file, with optional dotted-key overrides.

    Every key is checked before anything runs: unknown keys and sections, types, bounds, choices,
    R and W against N, the work a run would mean; relative paths in the file (``empirical()``
    traces, a profile ``.toml``) resolve against the file's folder. The keys and their defaults are
    listed by ``pbs-sim validate --keys`` and on the site's scenario-keys page.

    Args:
        path: the scenario TOML file.
        overrides: settings to replace, by dotted key, as ``pbs-sim run --set`` gives them, e.g.
            ``{"cluster.read_quorum": 2}``; values are checked like the file's.

    Returns:
        The validated, immutable ``Scenario`` (one frozen dataclass per section:
        ``scenario.cluster.replication``, ``scenario.workload.rate_per_s``, ...).

    Raises:
        ConfigError: the file is missing, not TOML, or any setting is wrong; the message is one line
            naming the file, the key and the reason.

    Example:
        >>> sc = load_scenario("experiments/quickstart.toml", {"cluster.read_quorum": 2})
        >>> sc.cluster.replication, sc.cluster.read_quorum, sc.latency.profile
        (3, 2, 'lnkd-disk')
        >>> load_scenario("experiments/quickstart.toml", {"cluster.read_quorum": 5})
        Traceback (most recent call last):
        pbs_sim.errors.ConfigError: experiments/quickstart.toml: cluster.read_quorum: R = 5 exceeds N = 3
    """
    p = Path(path)
    raw = read_toml(p)
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value, source=str(p))
    return scenario_from_dict(raw, source=str(p), base_dir=str(p.resolve().parent))


def set_dotted(raw: dict[str, Any], key: str, value: Any, source: str | None = None) -> None:
    """``raw["a"]["b"] = value`` for key ``"a.b"``; unknown sections and keys are caught at build."""
    parts = key.split(".")
    if len(parts) < 2 or not all(parts):
        raise ConfigError(source, key, "expected a dotted key like 'cluster.read_quorum'")
    node = raw
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(source, key, f"{part!r} is not a table")
        node = nxt
    node[parts[-1]] = value


def scenario_from_dict(
    raw: Mapping[str, Any], source: str = "<inline>", base_dir: str | Path | None = None
) -> Scenario:
    """Build and validate a Scenario from a plain dict, shaped as the TOML file would be.

    Args:
        raw: sections to settings, e.g. ``{"cluster": {"replication": 3}, "workload": {...}}``;
            missing sections and keys take their defaults.
        source: the name to give the scenario in error messages.
        base_dir: the folder relative paths resolve against (the current directory when None).

    Returns:
        The validated ``Scenario``; the data files it read (``empirical()`` traces, profile TOMLs),
        with their SHA-256, are in ``Scenario.inputs``.

    Raises:
        ConfigError: an unknown key or a bad value, in one line naming ``source``, the key and why.

    Example:
        >>> sc = scenario_from_dict({"cluster": {"replication": 5, "nodes": 5, "write_quorum": 3}})
        >>> sc.cluster.replication, sc.cluster.write_quorum, sc.cluster.read_quorum
        (5, 3, 1)
    """
    with inputs.recording() as seen:
        scenario = _scenario_from_dict(raw, source, base_dir)
    return dataclasses.replace(scenario, inputs=dict(sorted(seen.items())))


def _scenario_from_dict(raw: Mapping[str, Any], source: str, base_dir: str | Path | None) -> Scenario:
    bd = Path(base_dir) if base_dir is not None else None
    if not isinstance(raw, Mapping):
        raise ConfigError(source, None, "expected a table of sections")
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(source, name, f"unknown section; expected one of {', '.join(SECTIONS)}")
    raw = _write_any(raw, source)
    raw = fill_cluster_defaults(raw)
    built: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(source, name, "must be a table")
        built[name] = _build(cls, table, source, name, bd)
    lat: LatencyConfig = built["latency"]
    profile = get_profile(lat.profile, bd, source, "latency.profile")
    for name in "wars":  # a profile file's laws, checked like the scenario's own
        check_delay(getattr(profile, name), source, f"latency.profile ({lat.profile}: {name})")
    resolved = profile.with_overrides(w=lat.w, a=lat.a, r=lat.r, s=lat.s)
    built["latency"] = dataclasses.replace(lat, resolved=resolved)
    if raw.get("_write_any"):
        built["cluster"] = dataclasses.replace(built["cluster"], write_any=True)
    built["cluster"] = _apply_levels(built["cluster"], built["consistency"], built["topology"], raw, source)
    if "placement" in raw:  # issue 20: the simulator's ring follows a stated [placement] (pbs_sim.sim.ring)
        built["placement"] = dataclasses.replace(built["placement"], given=True)
    built["workload"] = _resolve_workload_files(built["workload"], raw.get("workload", {}), source, bd)
    scenario = Scenario(**built, source=source, base_dir=str(bd) if bd else None)
    _check_scenario(scenario)
    return scenario


def _write_any(raw: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """Issue 12: ``cluster.write_quorum = "any"`` (Cassandra's ANY) becomes W = 1 with ``write_any``;
    ``"any"`` for reads is an error."""
    cl = raw.get("cluster")
    if not isinstance(cl, Mapping):
        return raw
    rq = cl.get("read_quorum")
    if isinstance(rq, str) and rq.strip().lower() == "any":
        raise ConfigError(source, "cluster.read_quorum", "ANY is a write consistency level (Cassandra); reads need R >= 1")
    wq = cl.get("write_quorum")
    if not (isinstance(wq, str) and wq.strip().lower() == "any"):
        return raw
    return {**raw, "cluster": {**cl, "write_quorum": 1}, "_write_any": True}


def _build(cls: type, table: Mapping[str, Any], source: str, prefix: str, base_dir: Path | None) -> Any:
    fields = {f.name: f for f in _public_fields(cls)}
    hints = typing.get_type_hints(cls)
    for k in table:
        if k not in fields:
            raise ConfigError(source, f"{prefix}.{k}", f"unknown key; expected one of {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in table:
            continue
        key = f"{prefix}.{name}"
        kwargs[name] = _convert(hints[name], table[name], f.metadata, source, key, base_dir)
    return cls(**kwargs)


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _convert(tp: Any, value: Any, meta: Mapping[str, Any], source: str, key: str, base_dir: Path | None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType) and type(None) in args:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "off", "")):
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, meta, source, key, base_dir)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(source, key, f"expected a list, got {value!r}")
        elem = args[0]
        return tuple(_convert(elem, v, {}, source, f"{key}[{i}]", base_dir) for i, v in enumerate(value))
    if tp is Distribution:
        try:
            dist = parse(value, base_dir=base_dir)
        except DistributionError as exc:
            raise exc.at(source, key) from None
        if isinstance(dist, Normal) and key not in SIGNED_DISTRIBUTIONS:
            raise ConfigError(source, key, f"{dist.spec()} can be negative; use absnormal(...) here")
        check_delay(dist, source, key)
        return dist
    if tp is Script:
        if isinstance(value, Script):
            return value
        if isinstance(value, str | Path):
            return read_script(value, base_dir)
        if isinstance(value, list | tuple):
            return script_from_rows(value, source=f"{source}: {key}")
        raise ConfigError(source, key, f"expected a script file's path or a list of operations, got {value!r}")
    if tp is KeyName:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(source, key, f"expected a key name (a string) or an integer key, got {value!r}")
        if isinstance(value, int) and value < 0:
            raise ConfigError(source, key, f"an integer key is >= 0, got {value}")
        if isinstance(value, int) and value > MAX_INT:
            raise ConfigError(source, key, f"must be < 2**63 (a 64-bit integer), got {value}")
        if value == "":
            raise ConfigError(source, key, "a key name is a non-empty string")
        return KeyName(str(value))
    if tp is KeyDistribution:
        if not isinstance(value, str):
            raise ConfigError(source, key, "expected 'uniform' or 'zipf(s=EXPONENT)'")
        try:
            return KeyDistribution.parse(value)
        except ValueError as exc:
            raise ConfigError(source, key, str(exc)) from None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(source, key, "expected a table")
        return _build(tp, value, source, key, base_dir)  # type: ignore[arg-type]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ConfigError(source, key, f"expected an integer, got {value!r}")
        value = int(value)
        if abs(value) > MAX_INT:
            raise ConfigError(source, key, f"must be < 2**63 (a 64-bit integer), got {value}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, key, f"expected a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the float range
            raise ConfigError(source, key, f"must be a finite number, got {value}") from None
        if not math.isfinite(value):
            raise ConfigError(source, key, f"must be a finite number, got {value!r}")
        if _is_time(key) and abs(value) > MAX_DELAY_MS:
            raise ConfigError(source, key, f"{num(value)} ms is beyond {num(MAX_DELAY_MS)} ms (~30,000 years): times "
                                           "that large break the simulator's float time arithmetic")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, f"expected a string, got {value!r}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(source, key, f"{value!r} is not one of {', '.join(choices)}")
        return value
    else:  # pragma: no cover - a field type the loader does not know
        raise TypeError(f"config field {key} has unsupported type {tp!r}")
    ge, gt, le = meta.get("ge"), meta.get("gt"), meta.get("le")
    if ge is not None and value < ge:
        raise ConfigError(source, key, f"must be >= {num(ge)}, got {num(value)}")
    if gt is not None and value <= gt:
        raise ConfigError(source, key, f"must be > {num(gt)}, got {num(value)}")
    if le is not None and value > le:
        raise ConfigError(source, key, f"must be <= {num(le)}, got {num(value)}")
    lt = meta.get("lt")
    if lt is not None and value >= lt:
        raise ConfigError(source, key, f"must be < {num(lt)}, got {num(value)}")
    return value


_INDEX = re.compile(r"(\[\d+\])+$")


def _is_time(key: str) -> bool:
    """A key (or a list element of one) in milliseconds: ``workload.duration_ms``, ``clocks.offsets_ms[2]``."""
    return _INDEX.sub("", key).endswith("_ms")


def check_delay(dist: Distribution, source: str | None, key: str) -> None:
    """A delay law's samples must stay far below float overflow: its 1 - 10^-12 quantile at most
    ``MAX_DELAY_MS`` (``pareto(alpha=1e-9)`` draws inf, and a run then computes with inf times)."""
    tail = dist.tail()
    if not tail <= MAX_DELAY_MS:
        raise ConfigError(
            source, key,
            f"{dist.spec()} draws values up to {num(tail, 3)} ms (its 1 - 1e-12 quantile); delays and intervals "
            f"must stay below {num(MAX_DELAY_MS)} ms",
        )


def _check_scenario(sc: Scenario) -> None:
    """Rules that span fields; each names the key to fix."""
    src, c = sc.source, sc.cluster
    check_topology(sc)  # issue 19: datacenters and named levels first (pbs_sim.topology)
    if sc.consistency.ideal_write is not None:
        from .sim.ideal_cl import check as check_ideal

        check_ideal(sc)  # consistency.ideal_write: one line for a level it cannot be
    if c.speculative_retry != "NONE":
        from .sim.speculative import parse as parse_speculative

        try:
            parse_speculative(c.speculative_retry)
        except ValueError as e:
            raise ConfigError(src, "cluster.speculative_retry", str(e)) from None
    if c.replication > c.nodes:
        raise ConfigError(src, "cluster.replication", f"N = {c.replication} exceeds cluster.nodes = {c.nodes}")
    if c.read_quorum > c.replication:
        raise ConfigError(src, "cluster.read_quorum", f"R = {c.read_quorum} exceeds N = {c.replication}")
    if c.write_quorum > c.replication:
        raise ConfigError(src, "cluster.write_quorum", f"W = {c.write_quorum} exceeds N = {c.replication}")
    w = sc.workload
    if w.kind == "pbs-probe" and not w.probe_offsets_ms and w.probe_offset is None:
        raise ConfigError(src, "workload.probe_offsets_ms", "pbs-probe needs read offsets (or workload.probe_offset)")
    if w.kind == "pbs-probe" and w.preload:
        raise ConfigError(src, "workload.preload", "pbs-probe writes a fresh key per trial; preload is for open and closed")
    _check_script(sc)
    for i, t in enumerate(w.probe_offsets_ms):
        if t < 0:
            raise ConfigError(src, f"workload.probe_offsets_ms[{i}]", f"offsets must be >= 0, got {num(t)}")
    for i, t in enumerate(sc.predict.t_ms):
        if t < 0:
            raise ConfigError(src, f"predict.t_ms[{i}]", f"must be >= 0, got {num(t)}")
    for i, ev in enumerate(sc.faults.schedule):
        key = f"faults.schedule[{i}]"
        for n in (*ev.nodes, *(x for g in ev.groups for x in g)):
            if not 0 <= n < c.nodes:
                raise ConfigError(src, f"{key}.nodes", f"node {n} is not in 0..{c.nodes - 1}")
        if ev.action in ("crash", "recover", "wipe") and not ev.nodes:
            raise ConfigError(src, f"{key}.nodes", f"{ev.action} needs at least one node")
        if ev.action == "clock-jump":
            for j, cl in enumerate(ev.clock_clients):
                if cl < 0:
                    raise ConfigError(src, f"{key}.clock_clients[{j}]", f"client ids are >= 0, got {cl}")
            if not ev.nodes and not ev.clock_clients:
                raise ConfigError(src, f"{key}.nodes", "clock-jump needs at least one node (or clock_clients)")
            if ev.clock_clients and sc.clocks.timestamp_source != "client":
                raise ConfigError(src, f"{key}.clock_clients",
                                  "client clocks stamp nothing unless clocks.timestamp_source = 'client'")
        if ev.action == "partition" and not ev.nodes and len(ev.groups) < 2:
            raise ConfigError(src, f"{key}.groups", "partition needs two or more groups (or nodes with clients = true)")
        _check_correlated_event(sc, ev, key)
    _check_clocks(sc)
    _check_work(sc)
    _check_sloppy(sc)
    _check_siblings(sc)
    _check_loss_model(sc)
    _check_correlated_processes(sc)
    _check_dc_processes(sc)


def _check_correlated_event(sc: Scenario, ev: FaultEvent, key: str) -> None:
    """Issue 20: an outage, rack-loss or dc-loss entry names nodes, racks or DCs that exist."""
    src, n, pl = sc.source, sc.cluster.nodes, sc.placement
    outage_keys = ev.count is not None or ev.fraction is not None or ev.no_reboot_probability > 0
    if ev.action != "outage" and outage_keys:
        raise ConfigError(src, f"{key}.count" if ev.count is not None else (
            f"{key}.fraction" if ev.fraction is not None else f"{key}.no_reboot_probability"),
            f"only applies to action = 'outage', not {ev.action!r}")
    if ev.action not in ("rack-loss", "rack-outage") and ev.racks:
        raise ConfigError(src, f"{key}.racks", f"only applies to action = 'rack-loss' or 'rack-outage', not {ev.action!r}")
    if ev.action != "dc-loss" and ev.dcs:
        hint = " (datacenter faults name their datacenters: datacenters = [...])" if ev.action in DC_FAULT_ACTIONS else ""
        raise ConfigError(src, f"{key}.dcs", f"only applies to action = 'dc-loss', not {ev.action!r}{hint}")
    _check_dc_event(sc, ev, key)
    if ev.action == "outage":
        given = sum((bool(ev.nodes), ev.count is not None, ev.fraction is not None))
        if given != 1:
            raise ConfigError(src, f"{key}.nodes", "an outage takes nodes, a count or a fraction of the nodes: give exactly one")
        if ev.count is not None and ev.count > n:
            raise ConfigError(src, f"{key}.count", f"an outage of {ev.count} nodes is larger than the cluster ({n} nodes)")
        if ev.fraction is not None and round(ev.fraction * n) < 1:
            raise ConfigError(src, f"{key}.fraction", f"{num(ev.fraction)} x {n} nodes rounds to no node")
    elif ev.action == "rack-loss":
        if not ev.racks:
            raise ConfigError(src, f"{key}.racks", "rack-loss needs at least one rack index")
        if pl.racks == 0:
            raise ConfigError(src, f"{key}.racks", "rack-loss needs racks: set placement.racks > 0")
        for j, r in enumerate(ev.racks):
            if not 0 <= r < pl.racks:
                raise ConfigError(src, f"{key}.racks[{j}]", f"rack {r} does not exist (placement.racks = {pl.racks}: 0..{pl.racks - 1})")
    elif ev.action == "dc-loss":
        if not ev.dcs:
            raise ConfigError(src, f"{key}.dcs", "dc-loss needs at least one datacenter index")
        for j, d in enumerate(ev.dcs):
            if not 0 <= d < pl.datacenters:
                raise ConfigError(src, f"{key}.dcs[{j}]",
                                  f"datacenter {d} does not exist (placement.datacenters = {pl.datacenters}: 0..{pl.datacenters - 1})")


def _check_dc_event(sc: Scenario, ev: FaultEvent, key: str) -> None:
    """Issue 19: a dc-partition, dc-outage, rack-outage or wan-degradation entry names datacenters
    of the [topology] (or racks of its layout) and cuts or slows something."""
    src, topo = sc.source, sc.topology
    if ev.action not in ("dc-partition", "wan-degradation") and ev.between:
        raise ConfigError(src, f"{key}.between", f"only applies to action = 'dc-partition' or 'wan-degradation', not {ev.action!r}")
    if ev.action not in ("dc-partition", "dc-outage", "wan-degradation") and ev.datacenters:
        raise ConfigError(src, f"{key}.datacenters",
                          f"only applies to action = 'dc-partition', 'dc-outage' or 'wan-degradation', not {ev.action!r}")
    if ev.action != "wan-degradation" and ev.factor is not None:
        raise ConfigError(src, f"{key}.factor", f"only applies to action = 'wan-degradation', not {ev.action!r}")
    if ev.one_way and ev.action not in ("partition", "dc-partition"):
        raise ConfigError(src, f"{key}.one_way", f"only applies to action = 'partition' or 'dc-partition', not {ev.action!r}")
    if ev.action not in DC_FAULT_ACTIONS:
        return
    if ev.action != "rack-outage":
        if not topo.enabled:
            raise ConfigError(src, f"{key}.action", f"{ev.action} needs datacenters: add [[topology.datacenters]]")
        if ev.nodes or ev.groups or ev.clients:
            bad = "nodes" if ev.nodes else ("groups" if ev.groups else "clients")
            raise ConfigError(src, f"{key}.{bad}", f"{ev.action} names datacenters (datacenters = [...]), not {bad}")
    names = topo.names
    for j, name in enumerate(ev.datacenters):
        if name not in names:
            raise ConfigError(src, f"{key}.datacenters[{j}]",
                              f"{name!r} is not a datacenter of the topology ({', '.join(names)})")
    for j, side in enumerate(ev.between):
        if not side:
            raise ConfigError(src, f"{key}.between[{j}]", "a side names at least one datacenter")
        for m, name in enumerate(side):
            if name not in names:
                raise ConfigError(src, f"{key}.between[{j}][{m}]",
                                  f"{name!r} is not a datacenter of the topology ({', '.join(names)})")
    seen: dict[str, int] = {}
    for j, side in enumerate(ev.between):
        for name in side:
            if name in seen and seen[name] != j:
                raise ConfigError(src, f"{key}.between", f"datacenter {name!r} is on two sides ({seen[name]} and {j})")
            seen[name] = j
    if ev.action in ("dc-partition", "wan-degradation"):
        if ev.datacenters and ev.between:
            raise ConfigError(src, f"{key}.between", "give datacenters (against the rest) or between (sides), not both")
        if ev.between and len(ev.between) < 2:
            raise ConfigError(src, f"{key}.between", f"needs two or more sides, got {len(ev.between)}")
        if ev.action == "dc-partition" and not ev.datacenters and not ev.between:
            raise ConfigError(src, f"{key}.datacenters", "dc-partition needs datacenters (cut off from the rest) or between")
        if ev.datacenters and set(ev.datacenters) >= set(names):
            raise ConfigError(src, f"{key}.datacenters", "names every datacenter: there is no rest to cut them from")
        if len(names) < 2:
            raise ConfigError(src, f"{key}.action", f"{ev.action} needs two or more datacenters (the topology has one)")
        if ev.action == "wan-degradation" and ev.factor is None:
            raise ConfigError(src, f"{key}.factor", "wan-degradation needs factor (the multiplier on the link delay)")
    elif ev.action == "dc-outage":
        if not ev.datacenters:
            raise ConfigError(src, f"{key}.datacenters", "dc-outage needs at least one datacenter name")
    else:  # rack-outage: racks of the layout ([topology], or [placement] racks on a flat cluster)
        if ev.nodes or ev.groups or ev.clients:
            raise ConfigError(src, f"{key}.nodes", "rack-outage names racks (racks = [...]), not nodes")
        if not ev.racks:
            raise ConfigError(src, f"{key}.racks", "rack-outage needs at least one rack index")
        total = _layout_racks(sc)
        if total is None:
            raise ConfigError(src, f"{key}.racks", "rack-outage needs racks: [[topology.datacenters]] racks, or placement.racks > 0")
        for j, r in enumerate(ev.racks):
            if not 0 <= r < total:
                raise ConfigError(src, f"{key}.racks[{j}]", f"rack {r} does not exist (racks 0..{total - 1}, datacenter by datacenter)")


def _layout_racks(sc: Scenario) -> int | None:
    """How many racks the simulator's layout has (``pbs_sim.sim.layout``): the topology's, DC by DC,
    or placement.racks on a flat cluster; None for a flat cluster without racks."""
    if sc.topology.enabled:
        return sum(d.racks for d in sc.topology.datacenters)
    return sc.placement.racks or None


def _check_dc_processes(sc: Scenario) -> None:
    """Issue 19: the random datacenter fault processes have what they need, and a bounded count."""
    src, f, topo = sc.source, sc.faults, sc.topology
    for name, mtbf, need in (("dc_partition_mtbf_ms", f.dc_partition_mtbf_ms, 2), ("dc_outage_mtbf_ms", f.dc_outage_mtbf_ms, 1),
                             ("wan_degradation_mtbf_ms", f.wan_degradation_mtbf_ms, 2), ("rack_outage_mtbf_ms", f.rack_outage_mtbf_ms, 0)):
        if mtbf is None:
            continue
        key = f"faults.{name}"
        if need == 0:
            if _layout_racks(sc) is None:
                raise ConfigError(src, key, "rack outages need racks: [[topology.datacenters]] racks, or placement.racks > 0")
        elif not topo.enabled:
            raise ConfigError(src, key, "needs datacenters: add [[topology.datacenters]]")
        elif len(topo.datacenters) < need:
            raise ConfigError(src, key, f"needs two or more datacenters (the topology has {len(topo.datacenters)})")
        events = background_span_ms(sc) / mtbf
        if events > MAX_EVENTS:
            raise ConfigError(src, key, f"{num(mtbf)} ms over {num(background_span_ms(sc), 3)} ms is ~{num(events, 3)} "
                                        f"fault events; at most {num(MAX_EVENTS)} per run")


def _check_correlated_processes(sc: Scenario) -> None:
    """Issue 20: the random outage, rack-loss and dc-loss processes fit the cluster."""
    src, f, n = sc.source, sc.faults, sc.cluster.nodes
    if f.outage_nodes is not None and f.outage_nodes > n:
        raise ConfigError(src, "faults.outage_nodes", f"an outage of {f.outage_nodes} nodes is larger than the cluster ({n} nodes)")
    if f.outage_mtbf_ms is not None and f.outage_nodes is None and round(f.outage_fraction * n) < 1:
        raise ConfigError(src, "faults.outage_fraction", f"{num(f.outage_fraction)} x {n} nodes rounds to no node")
    if f.rack_loss_mtbf_ms is not None and sc.placement.racks == 0:
        raise ConfigError(src, "faults.rack_loss_mtbf_ms", "rack loss needs racks: set placement.racks > 0")


def _check_script(sc: Scenario) -> None:
    """A scripted workload (``pbs_sim.scripts``): the script is given, fits the cluster, and the
    synthetic generators' options that would add operations of their own are off."""
    src, w, c = sc.source, sc.workload, sc.cluster
    if w.kind != "script":
        if w.script is not None:
            raise ConfigError(src, "workload.script", f"only applies to workload.kind = 'script' (kind is {w.kind!r})")
        return
    if w.script is None:
        raise ConfigError(src, "workload.script", "kind = 'script' needs the script: a file's path or a list of operations")
    if w.preload:
        raise ConfigError(src, "workload.preload", "a script is the whole schedule; preload is for open and closed")
    if w.hot_key_writers_per_s:
        raise ConfigError(src, "workload.hot_key_writers_per_s", "a script is the whole schedule; write them as lines")
    if w.write_pattern != "blind":
        raise ConfigError(src, "workload.write_pattern", "a script says per line: op = rmw for a read-modify-write")
    if sc.clocks.causality == "off":
        raise ConfigError(src, "clocks.causality", "cannot be 'off' with a script: its writes carry causal contexts "
                          "and write replies (leave it 'auto')")
    w.script.check_cluster(c.nodes, c.coordinator)


def _check_siblings(sc: Scenario) -> None:
    src, c = sc.source, sc.cluster
    if c.vv_actor is not None and c.versioning != "vv":
        raise ConfigError(src, "cluster.vv_actor", f"only applies to versioning = 'vv', not {c.versioning!r}")
    if c.versioning != "lww" and sc.clocks.causality == "off":
        raise ConfigError(src, "clocks.causality", f"versioning = {c.versioning!r} carries causal contexts; "
                          "it cannot be 'off'")
    m = sc.workload.merge
    if m not in ("none", "union", "lww"):
        from .merges import load_merge

        try:
            load_merge(m)
        except ValueError as exc:
            raise ConfigError(src, "workload.merge", str(exc)) from None


def _resolve_workload_files(
    w: WorkloadConfig, table: Mapping[str, Any], source: str, base_dir: Path | None
) -> WorkloadConfig:
    """Issue 18: ``workload.ycsb`` (a YCSB core workload or properties file, ``pbs_sim.ycsb``) and
    ``workload.trace`` (``pbs_sim.traces``) name data; read and check it now, once, so a bad file is
    one line before anything runs. A properties file's ``recordcount``, ``threadcount`` and
    ``target`` become ``keys``, ``clients`` and ``ycsb_target_per_s`` (giving both, differently, is
    an error). The trace is scanned whole (streamed): every row is checked here."""
    if not isinstance(table, Mapping):  # pragma: no cover - _build refused it already
        return w
    if w.ycsb is None:
        if w.ycsb_target_per_s is not None:
            raise ConfigError(source, "workload.ycsb_target_per_s", "paces YCSB's clients: it needs workload.ycsb")
    else:
        from .ycsb import check_hotspot, load_spec

        if w.kind not in ("open", "closed"):
            raise ConfigError(source, "workload.ycsb", f"YCSB's workloads run on open or closed clients, not kind = {w.kind!r}")
        defaults = WorkloadConfig()
        for name in ("read_fraction", "key_distribution", "write_pattern"):
            # a value other than the default (to_dict writes every key, so presence says nothing)
            if getattr(w, name) != getattr(defaults, name):
                raise ConfigError(source, f"workload.{name}",
                                  "workload.ycsb sets the operation mix, the key choice and which writes read first; "
                                  "remove this key")
        spec = load_spec(w.ycsb, base_dir, source)
        changes: dict[str, Any] = {"ycsb_spec": spec}
        for prop, name, value in (("recordcount", "keys", spec.recordcount), ("threadcount", "clients", spec.threadcount),
                                  ("target", "ycsb_target_per_s", spec.target)):
            if value is None:
                continue
            if name in table and table[name] != value:
                raise ConfigError(source, f"workload.{name}",
                                  f"the YCSB properties file sets {prop} = {num(value)}; give one of the two")
            changes[name] = value
        keys = changes.get("keys", w.keys)
        if spec.distribution == "hotspot":
            check_hotspot(keys, spec.hot_data_fraction, spec.hot_opn_fraction, source, "workload.ycsb")
        if spec.distribution == "latest" and keys < 2:
            raise ConfigError(source, "workload.keys", "YCSB's latest distribution needs at least 2 records")
        if spec.distribution == "zipfian" and spec.insert > 0 and spec.operationcount is None:
            raise ConfigError(source, "workload.ycsb", "zipfian with inserts sizes its key space from operationcount "
                                                      "(YCSB's expectednewkeys): the properties file must give it")
        if changes.get("ycsb_target_per_s", w.ycsb_target_per_s) is not None and w.kind != "closed":
            raise ConfigError(source, "workload.ycsb_target_per_s", "paces closed-loop clients: it needs kind = 'closed'")
        w = dataclasses.replace(w, **changes)
    if w.kind != "trace":
        if w.trace is not None:
            raise ConfigError(source, "workload.trace", "a trace is replayed by kind = 'trace'")
        return w
    if w.trace is None:
        raise ConfigError(source, "workload.trace", "kind = 'trace' needs workload.trace (the operations table to replay)")
    if w.preload:
        raise ConfigError(source, "workload.preload", "a trace holds its own load phase; preload is for open and closed")
    if w.write_pattern != "blind":
        raise ConfigError(source, "workload.write_pattern", "a trace says which writes read first (op = rmw)")
    from .traces import scan_trace

    info = scan_trace(w.trace, base_dir, source)
    if not info.int_keys and w.trace_keys == "modulo":
        raise ConfigError(source, "workload.trace_keys", f"{info.path} has key names that are not integers: "
                                                         "modulo folds integer keys (use as-is or dense)")
    if info.rows > MAX_OPS:
        raise ConfigError(source, "workload.trace", f"{info.path} has {info.rows:,} operations; at most {num(MAX_OPS)} per run")
    return dataclasses.replace(w, trace_info=info)


def _check_clocks(sc: Scenario) -> None:
    src, k = sc.source, sc.clocks
    if k.offsets_ms and len(k.offsets_ms) != sc.cluster.nodes:
        raise ConfigError(src, "clocks.offsets_ms", f"needs one offset per node ({sc.cluster.nodes}), got {len(k.offsets_ms)}")
    if k.offsets_ms and k.offset is not None:
        raise ConfigError(src, "clocks.offsets_ms", "give clocks.offset or clocks.offsets_ms, not both")
    for i, x in enumerate((*k.offsets_ms, *k.client_offsets_ms)):
        if not math.isfinite(x):
            raise ConfigError(src, "clocks.offsets_ms" if i < len(k.offsets_ms) else "clocks.client_offsets_ms",
                              f"offsets must be finite, got {x!r}")
    if k.resync_error is not None and k.resync_interval_ms is None:
        raise ConfigError(src, "clocks.resync_error", "needs clocks.resync_interval_ms")
    if (k.client_offset is not None or k.client_offsets_ms) and k.timestamp_source != "client":
        raise ConfigError(src, "clocks.client_offset" if k.client_offset is not None else "clocks.client_offsets_ms",
                          "client clocks stamp nothing unless clocks.timestamp_source = 'client'")
    w = sc.workload
    if w.hot_key_writers_per_s and is_numeric_name(w.hot_key) and int(w.hot_key) >= w.keys:
        raise ConfigError(src, "workload.hot_key", f"key {w.hot_key} is not in 0..{w.keys - 1} (the workload's "
                          "keys; a key outside them needs a name that is not a number, e.g. 'hot')")
    for i, r in enumerate(w.hot_key_writers_per_s):
        if not (math.isfinite(r) and r > 0):
            raise ConfigError(src, f"workload.hot_key_writers_per_s[{i}]", f"rates must be > 0, got {r!r}")
    if (w.write_pattern != "blind" or w.hot_key_writers_per_s) and w.kind == "pbs-probe":
        raise ConfigError(src, "workload.write_pattern" if w.write_pattern != "blind" else "workload.hot_key_writers_per_s",
                          "pbs-probe has its own write pattern (one write per trial)")


def _round_trip_ms(sc: Scenario) -> float:
    """Mean of the fastest request-response path (a read's R + S or a write's W + A)."""
    p = sc.latency.wars
    return min(p.r.mean + p.s.mean, p.w.mean + p.a.mean)


def run_horizon_ms(sc: Scenario) -> float:
    """How long the workload issues operations (ms): preload (at its rate), warm-up and duration, or
    a pbs-probe's trial spacing and its longest read offset. Background processes (anti-entropy,
    faults, hint sweeps, false suspicions) run over this span, so their work is bounded over it."""
    w = sc.workload
    if w.kind == "pbs-probe":
        return w.trials * w.probe_interval_ms + max((*w.probe_offsets_ms, 0.0))
    if w.kind == "trace" and w.trace_info is not None:  # issue 18: the trace's own span
        return float(w.trace_info.last_ms * w.trace_time_scale)
    if w.kind == "script":
        return w.script.end_ms if w.script is not None else 0.0
    h = w.warmup_ms + w.duration_ms
    if w.preload:
        rate = w.preload_rate_per_s if w.preload_rate_per_s is not None else w.rate_per_s
        h += w.keys / rate * 1000
    return h


def background_span_ms(sc: Scenario) -> float:
    """An upper bound on when the run ends (ms): the workload's horizon plus the longest an
    operation issued at its end can stay outstanding (its timeout; an rmw write waits for its read
    and the gap first). Anti-entropy, faults, hint sweeps and false suspicions go on until the run
    ends, so their work is bounded over this span, not over the horizon alone."""
    c, w = sc.cluster, sc.workload
    tail = max(c.read_timeout_ms, c.write_timeout_ms)
    if w.write_pattern == "rmw" or w.kind == "script":  # a script's rmw lines too
        tail += c.read_timeout_ms + w.rmw_gap.mean
    return run_horizon_ms(sc) + tail


def _check_work(sc: Scenario) -> None:
    """The work one simulated run means is finite and bounded; each error names the key to change.

    Counts are expected values (an open workload's operations are Poisson), so a run near a bound
    may exceed it a little; the point is to refuse a run that cannot finish, before it starts."""
    src, w, c = sc.source, sc.workload, sc.cluster
    if c.nodes * c.vnodes > MAX_RING_TOKENS:
        raise ConfigError(
            src, "cluster.vnodes",
            f"{c.nodes} nodes x {c.vnodes} vnodes = {c.nodes * c.vnodes:,} ring tokens; at most {MAX_RING_TOKENS:,}",
        )
    span_ms = w.warmup_ms + w.duration_ms
    if w.kind == "open":
        ops = w.rate_per_s * span_ms / 1000
        if ops > MAX_OPS:
            raise ConfigError(
                src, "workload.rate_per_s",
                f"{num(w.rate_per_s)} ops/s over warmup_ms + duration_ms = {num(span_ms)} ms is ~{num(ops, 3)} operations; "
                f"at most {num(MAX_OPS)} per run (lower the rate or the duration)",
            )
    elif w.kind == "closed":
        cycle_ms = w.think_time.mean + _round_trip_ms(sc)
        paced = w.ycsb_target_per_s is not None  # issue 18: YCSB's -target spaces each client's operations
        if cycle_ms <= 0 and not paced:
            raise ConfigError(
                src, "workload.think_time",
                "a zero think time with zero latencies loops forever at one instant; give either a positive mean",
            )
        ops = w.clients * span_ms / cycle_ms if cycle_ms > 0 else math.inf
        if w.ycsb_target_per_s is not None:
            ops = min(ops, w.ycsb_target_per_s * span_ms / 1000 + w.clients)
        if w.ycsb_spec is not None and w.ycsb_spec.operationcount is not None:
            ops = min(ops, w.ycsb_spec.operationcount)
        if ops > MAX_OPS:
            raise ConfigError(
                src, "workload.duration_ms",
                f"{w.clients} clients cycling every ~{num(cycle_ms, 3)} ms for {num(span_ms)} ms is ~{num(ops, 3)} operations; "
                f"at most {num(MAX_OPS)} per run",
            )
    elif w.kind == "trace":
        ops = w.trace_info.rows if w.trace_info is not None else 0  # bounded by _resolve_workload_files
    elif w.kind == "script":
        ops = 2 * len(w.script) if w.script is not None else 0  # an rmw line is two operations
        if ops > MAX_OPS:
            raise ConfigError(src, "workload.script", f"{len(w.script or ()):,} lines; at most {num(MAX_OPS // 2)} per run")
    else:
        offsets = 1 if w.probe_offset is not None else len(w.probe_offsets_ms)
        ops = w.trials * (1 + offsets)
        if ops > MAX_OPS:
            raise ConfigError(
                src, "workload.trials",
                f"{w.trials:,} trials x (1 write + {offsets} reads) is {num(ops, 3)} operations; at most {num(MAX_OPS)} per run",
            )
    if w.preload:
        if w.kind == "open" and ops + w.keys > MAX_OPS:
            raise ConfigError(src, "workload.keys", f"preloading {w.keys:,} keys brings the run over {num(MAX_OPS)} operations")
        ops += w.keys
    # hot-key writers write from the end of the warm-up to the end of the run, on top of the rest
    if len(w.hot_key_writers_per_s) + w.clients > MAX_CLIENTS:
        raise ConfigError(src, "workload.hot_key_writers_per_s",
                          f"{len(w.hot_key_writers_per_s):,} writers + {w.clients:,} clients; at most {MAX_CLIENTS:,} in all")
    for i, rate in enumerate(w.hot_key_writers_per_s):
        writes = rate * w.duration_ms / 1000
        ops += writes
        if ops > MAX_OPS:
            raise ConfigError(
                src, f"workload.hot_key_writers_per_s[{i}]",
                f"{num(rate)} writes/s over duration_ms = {num(w.duration_ms)} ms is ~{num(writes, 3)} writes, bringing the run "
                f"to ~{num(ops, 3)} operations; at most {num(MAX_OPS)} per run (lower the rate or the duration)",
            )
    horizon_ms = run_horizon_ms(sc)
    if horizon_ms > MAX_DELAY_MS:
        if w.kind == "trace":
            key = "workload.trace_time_scale"
        elif w.kind == "pbs-probe":
            key = "workload.probe_interval_ms"
        elif w.kind == "script":
            key = "workload.script"
        elif horizon_ms - span_ms > span_ms:  # the preload is the longer part
            key = "workload.preload_rate_per_s" if w.preload_rate_per_s is not None else "workload.rate_per_s"
        else:
            key = "workload.duration_ms"
        raise ConfigError(src, key, f"the run would issue operations for ~{num(horizon_ms, 3)} ms; at most "
                                    f"{num(MAX_DELAY_MS)} ms (float time arithmetic breaks beyond)")
    horizon_ms = background_span_ms(sc)
    ae = sc.anti_entropy
    if ae.mode != "off":
        period = ae.interval.mean + ae.jitter_ms / 2
        if period <= 0:
            raise ConfigError(
                src, "anti_entropy.interval",
                f"{ae.interval.spec()} with jitter_ms = 0 is a zero interval: exchanges would loop forever at one "
                "instant; give the interval a positive mean (or set jitter_ms > 0)",
            )
        exchanges = c.nodes * horizon_ms / period
        if exchanges > MAX_EVENTS:
            raise ConfigError(
                src, "anti_entropy.interval",
                f"a mean interval of {num(period, 3)} ms on {c.nodes} nodes over {num(horizon_ms, 3)} ms is ~{num(exchanges, 3)} "
                f"exchanges; at most {num(MAX_EVENTS)} per run",
            )
    f = sc.faults
    for name, mttf in (("crash_mttf_ms", f.crash_mttf_ms), ("disk_loss_mttf_ms", f.disk_loss_mttf_ms)):
        if mttf is not None and c.nodes * horizon_ms / mttf > MAX_EVENTS:
            raise ConfigError(
                src, f"faults.{name}",
                f"{num(mttf)} ms on {c.nodes} nodes over {num(horizon_ms, 3)} ms is ~{num(c.nodes * horizon_ms / mttf, 3)} "
                f"fault events; at most {num(MAX_EVENTS)} per run",
            )


def _check_sloppy(sc: Scenario) -> None:
    """Issue 12: sloppy quorums, hinted handoff and the failure detector."""
    src, c, hh = sc.source, sc.cluster, sc.hinted_handoff
    if c.pw > c.write_quorum:
        raise ConfigError(src, "cluster.pw", f"PW = {c.pw} exceeds W = {c.write_quorum}")
    if c.pr > c.read_quorum:
        raise ConfigError(src, "cluster.pr", f"PR = {c.pr} exceeds R = {c.read_quorum}")
    if c.write_any and hh.store != "coordinator":
        raise ConfigError(src, "cluster.write_quorum",
                          "\"any\" counts a stored hint as an ack: it needs hinted_handoff.store = \"coordinator\"")
    if c.write_any and c.pw:
        raise ConfigError(src, "cluster.pw", "PW needs acks from primaries; it cannot be combined with ANY")
    if hh.store == "coordinator" and c.sloppy_quorum:
        raise ConfigError(src, "hinted_handoff.store",
                          "coordinator hints are Cassandra's design, with strict quorums: set cluster.sloppy_quorum = false")
    if hh.store == "fallback" and not c.sloppy_quorum:
        # a fallback holds a hint only when a sloppy quorum sent it a write: with strict quorums
        # there are no fallbacks, and the setting would validate and silently do nothing
        raise ConfigError(src, "hinted_handoff.store",
                          "fallback hints are kept by the fallbacks of sloppy quorums: set cluster.sloppy_quorum = true "
                          "(or store = \"coordinator\" for hints with strict quorums)")
    if hh.store != "off" and 1000.0 * hh.hint_bytes / hh.rate_bytes_per_s > MAX_DELAY_MS:
        raise ConfigError(src, "hinted_handoff.rate_bytes_per_s",
                          f"{hh.hint_bytes:,} bytes per hint at {num(hh.rate_bytes_per_s)} bytes/s is "
                          f"{num(1000.0 * hh.hint_bytes / hh.rate_bytes_per_s, 3)} ms per hint; at most {num(MAX_DELAY_MS)} ms")
    horizon_ms = background_span_ms(sc)  # the span _check_work bounds (preload and timeouts included)
    if hh.store != "off" and (c.nodes + 1) * horizon_ms / hh.interval_ms > MAX_EVENTS:
        raise ConfigError(src, "hinted_handoff.interval_ms",
                          f"{num(hh.interval_ms)} ms sweeps on {c.nodes + 1} holders over {num(horizon_ms, 3)} ms exceed "
                          f"{num(MAX_EVENTS)} events per run")
    fd = sc.failure_detector
    pairs = c.nodes * c.nodes
    if fd.false_suspicion_rate_per_s * pairs * horizon_ms / 1000 > MAX_EVENTS:
        raise ConfigError(src, "failure_detector.false_suspicion_rate_per_s",
                          f"{num(fd.false_suspicion_rate_per_s)}/s on {pairs} observer-node pairs over {num(horizon_ms, 3)} ms "
                          f"exceeds {num(MAX_EVENTS)} events per run")


# -- issue 19: named consistency levels on a flat cluster become today's counts ------------------

_LEVEL_KEYS = (("read", "read_quorum"), ("write", "write_quorum"), ("pr", "pr"), ("pw", "pw"))


def _apply_levels(
    c: ClusterConfig, cons: ConsistencyConfig, topo: TopologyConfig, raw: Mapping[str, Any], source: str
) -> ClusterConfig:
    """Without datacenters every level is a count over the N replicas (``pbs_sim.levels``): it
    becomes ``cluster.read_quorum`` (``write_quorum``, ``pr``, ``pw``), so both engines run it as
    they run R and W; ANY becomes W = 1 with ``write_any``. A count given as well must agree. With
    datacenters the levels stay DC-aware (``pbs_sim.topology.requirements``)."""
    from .levels import LevelError, resolve

    if topo.enabled:
        return c
    given = raw.get("cluster", {})
    changes: dict[str, Any] = {}
    for kind, attr in _LEVEL_KEYS:
        name = getattr(cons, kind)
        if name is None:
            continue
        try:
            req = resolve(name, kind, {"": c.replication})
        except LevelError as exc:
            raise ConfigError(source, f"consistency.{kind}", str(exc)) from None
        if kind == "write" and c.write_any and not req.hint_ok:
            raise ConfigError(source, "cluster.write_quorum", f"\"any\" disagrees with consistency.write = {name!r}; "
                                                             "give one of them")
        if attr in given and getattr(c, attr) != req.total and not (kind == "write" and c.write_any and req.hint_ok):
            raise ConfigError(source, f"cluster.{attr}", f"{getattr(c, attr)} disagrees with consistency.{kind} = "
                                                        f"{name!r} ({req.total} of N = {c.replication}); give one of them")
        changes[attr] = req.total
        if kind == "write" and req.hint_ok:
            changes["write_any"] = True
    return dataclasses.replace(c, **changes) if changes else c


def _levels_to_dict(sc: Scenario, out: dict[str, Any]) -> None:
    """Round trip: a count a level set is left out (it follows N when a sweep changes N), and so are
    ``cluster.nodes`` and ``replication`` with datacenters (their sums); the
    topology and consistency sections are left out when unused, so a scenario without them has
    the same settings (and sweep identity) as before they existed."""
    if sc.topology.enabled:
        # N and the node count follow the datacenters (a changed topology re-derives them)
        out["cluster"].pop("nodes", None)
        out["cluster"].pop("replication", None)
    else:
        out.pop("topology", None)
        for kind, attr in _LEVEL_KEYS:
            if getattr(sc.consistency, kind) is not None:
                out["cluster"].pop(attr, None)
                if kind == "write":
                    out["cluster"].pop("write_quorum", None)
    if not out.get("consistency"):
        out.pop("consistency", None)


def describe_fields(cls: type = Scenario) -> list[tuple[str, str, str]]:
    """(dotted key, default, doc) for every setting: documentation and ``pbs-sim validate --keys``."""
    out: list[tuple[str, str, str]] = []
    for sec_name, sec in SECTIONS.items():
        hints = typing.get_type_hints(sec)
        for f in _public_fields(sec):
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append((f"{sec_name}.{f.name}", repr(_dump(default)), f.metadata.get("doc", "")))
            # a list of tables ([[topology.datacenters]], [[faults.schedule]]): each entry's keys too
            args = typing.get_args(hints[f.name])
            if typing.get_origin(hints[f.name]) is tuple and args and dataclasses.is_dataclass(args[0]):
                elem = args[0]
                for g in _public_fields(elem):  # type: ignore[arg-type]
                    out.append((f"{sec_name}.{f.name}[].{g.name}", repr(_dump(g.default)), g.metadata.get("doc", "")))
    return out
