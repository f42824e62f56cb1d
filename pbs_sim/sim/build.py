"""Model wiring: scenario -> ring, nodes, network, coordinators, workload (desmod style: build, then start).

Owns: constructing the components from a validated :class:`~pbs_sim.config.Scenario` and named random
streams, handing each component only the typed values and streams it needs; ``Model.start()`` launches
the workload and every registered starter; ``Model.run()`` runs until the workload has issued
everything and every operation has finished (and at least until ``model.min_end_at``), and returns the
:class:`~pbs_sim.history.History`. Nothing runs during ``build``: every component can be built and
poked in a test without running the environment.
Must not touch: protocol logic, metrics.

Mechanisms (faults, read repair, anti-entropy, ...): after wiring, ``build`` installs every
mechanism the scenario enables, in registry order, through the one protocol of
:mod:`pbs_sim.sim.mechanism` (declared connections checked, declared tables created, ``install``
called). The list comes from the caller (``pbs_sim.simulation`` passes the registry's simulator
halves, ``pbs_sim.mechanisms.sim_mechanisms()``); ``build`` without one asks the same registry.

Datacenters (``[topology]``, issue 19): ``model.layout`` (:class:`pbs_sim.sim.layout.Layout`) says
where every endpoint is; the ring places replicas with NetworkTopologyStrategy; the network adds each
link class's law (``Network.set_links``); clients, coordinators, targets and requirements per
datacenter are :mod:`pbs_sim.sim.datacenters`'. Without one, everything is today's flat cluster.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy
from simpy.events import Event

from ..config import Scenario
from ..distributions import BufferedSampler, Uniform
from ..history import History, RunFacts
from ..keys import KeySpace
from ..levels import Requirement
from ..rng import Streams
from . import events as _events
from .coordinator import Coordinator, Deadlines, requirement_count
from .layout import Layout
from .mechanism import Mechanism, install_all
from .network import CLIENT, Network
from .node import Node
from .ring import Ring, scenario_placement
from .versioning import VersionCounter, VersioningPolicy, make_policy
from .workload import Workload, make_workload


@dataclass(eq=False)
class Model:
    scenario: Scenario
    streams: Streams
    env: simpy.Environment
    history: History
    ring: Ring
    network: Network
    nodes: list[Node]
    coordinators: dict[int, Coordinator]  # endpoint -> coordinator (CLIENT = -1 for the client side)
    deadlines: Deadlines
    versions: VersionCounter
    workload: Workload
    policy: VersioningPolicy = field(default_factory=make_policy)  # the one order of versions
    keys: KeySpace = field(default_factory=KeySpace)  # key names <-> indices, ring hash (pbs_sim.keys)
    on_start: list[Callable[[Model], None]] = field(default_factory=list)
    on_end: list[Callable[[Model], None]] = field(default_factory=list)  # fn(model) once the run is over
    min_end_at: float = 0.0
    started: bool = False
    _pick: Callable[[int], Coordinator] | None = None
    parts: dict[str, Any] = field(default_factory=dict)  # installed mechanisms' components by name
    layout: Layout | None = None  # where every endpoint is (datacenters, racks); set by build

    def part(self, name: str) -> Any:
        """The component of installed mechanism ``name`` (KeyError if it is not installed)."""
        return self.parts[name]

    def dependency(self, mech: Mechanism, name: str) -> Any:
        """The component of mechanism ``name``, which ``mech`` declares in its ``needs`` or ``uses``
        (None: a ``uses`` that is not installed). An undeclared name is a programming error."""
        from .mechanism import MissingConnection, declared

        needs, uses = declared(mech)
        if name not in needs and name not in uses:
            raise MissingConnection(f"mechanism {mech.name!r} reaches for {name!r} without declaring it")
        if name in needs:
            return self.parts[name]
        return self.parts.get(name)

    def coordinator_for(self, key: int) -> Coordinator:
        """Who coordinates an operation on ``key`` (per ``cluster.coordinator``)."""
        assert self._pick is not None
        return self._pick(key)

    def start(self) -> None:
        """Launch the workload and every registered starter (once)."""
        if self.started:
            return
        self.started = True
        self.workload.start()
        for fn in self.on_start:
            fn(self)

    def run(self, progress: Callable[[float], None] | None = None, slices: int = 200) -> History:
        """Run to the end; ``progress(now_ms)`` is called now and then if given. Returns the history."""
        self.start()
        # Per-message objects are freed by reference counting (no cycles); the cyclic collector
        # would otherwise rescan every in-flight operation thousands of times (~30 % of run time).
        old_gc = gc.get_threshold()
        gc.set_threshold(max(old_gc[0], 50_000), max(old_gc[1], 50), max(old_gc[2], 1000))
        try:
            return self._run(progress, slices)
        finally:
            gc.set_threshold(*old_gc)

    def _run(self, progress: Callable[[float], None] | None, slices: int) -> History:
        env = self.env
        done = env.event()

        def check() -> None:
            if self.workload.issuing_done and self.deadlines.outstanding == 0 and not done.triggered:
                done.succeed()

        self.deadlines.on_idle.append(check)
        self.workload.on_stop.append(check)
        check()
        if progress is None:
            # env.run(until=done), in the project's own loop (sim/events.py); looked up on the module
            # so a test's event budget can put a counting loop in its place
            _events.run_until(env, done)
        else:
            step = max(self.workload.expected_end_ms, 1.0) / slices
            target = env.now
            while not done.processed:
                if env.peek() == float("inf"):
                    raise RuntimeError("simulation ran out of events before the workload finished")
                target += step
                _run_until(env, done, target)
                progress(env.now)
        if env.now < self.min_end_at:
            env.run(until=self.min_end_at)
        for fn in self.on_end:
            fn(self)
        facts = self.history.facts
        facts.sim_time_ms = env.now
        # the measured window starts after the workload's load phase (workload.preload) and warm-up
        facts.warmup_ms = self.workload.measure_from_ms
        facts.load_writes = self.workload.load_writes
        facts.load_end_ms = self.workload.load_end_at
        return self.history


def _run_until(env: simpy.Environment, done: Event, at: float) -> None:
    """Step until ``done`` is processed or the clock would pass ``at``."""
    while not done.processed and env.peek() <= at:
        env.step()


def build(
    scenario: Scenario, streams: Streams | None = None, mechanisms: Sequence[Mechanism] | None = None,
    policy: VersioningPolicy | None = None,
) -> Model:
    """Wire a model for ``scenario`` (nothing runs until ``model.start()`` / ``model.run()``).

    ``mechanisms``: the optional mechanisms that may be installed (each only if the scenario enables
    it); None = every registered one (``pbs_sim.mechanisms``). ``policy``: the versioning policy every
    node and coordinator uses (``pbs_sim.sim.versioning``); None = last-writer-wins."""
    streams = streams or Streams(scenario.run.seed)
    if mechanisms is None:
        from ..mechanisms import sim_mechanisms

        mechanisms = sim_mechanisms()
    c, lat, wl = scenario.cluster, scenario.latency, scenario.workload
    env = simpy.Environment()
    profile = lat.wars
    history = History(RunFacts(
        n=c.replication, r=c.read_quorum, w=c.write_quorum, nodes=c.nodes,
        profile=profile.name, workload=wl.kind,
        warmup_ms=0.0 if wl.kind == "pbs-probe" else wl.warmup_ms,
        read_fanout=c.read_fanout, write_fanout=c.write_fanout,
    ))
    # synthetic keys 0..keys-1 (pbs-probe: one per trial) are named by their index; other names
    # (scripts, a named hot key) are interned after them and recorded in the history's keys table
    keys = KeySpace(wl.trials if wl.kind == "pbs-probe" else wl.keys, c.key_hash, on_new=history.add_key_name)
    if wl.ycsb_spec is not None:  # issue 18: YCSB's records are named as YCSB names them (pbs_sim.ycsb)
        from ..ycsb import YcsbKeySpace

        keys = YcsbKeySpace(wl.ycsb_spec, wl.keys, c.key_hash, on_new=history.add_key_name)
    layout = Layout.of(scenario)
    if not layout.flat:
        from ..topology import check_simulator

        check_simulator(scenario)  # what cannot run on a topology yet: one line, before any work
    # [placement] (issue 20): its replica sets; [topology] (issue 19): NetworkTopologyStrategy;
    # without either, today's ring (pbs_sim.sim.ring)
    ring = Ring(c.nodes, c.replication, c.vnodes, keys=keys, placement=scenario_placement(scenario),
                layout=None if layout.flat else layout)
    network = Network(env, profile, lat.other_delay, streams.get)
    if not layout.flat:
        network.set_links(layout.link_class, layout.link_laws())
    policy = policy if policy is not None else make_policy(c.versioning, c.vv_actor or "node")
    nodes = [Node(i, env, network, history, policy) for i in range(c.nodes)]
    network.nodes = nodes
    versions = VersionCounter()
    deadlines = Deadlines(env)
    # one U(0,1) stream per purpose (docs/design.md, "Randomness and reproducibility")
    uniform = BufferedSampler(Uniform(0.0, 1.0), streams.get("replica-choice"))
    u_local = BufferedSampler(Uniform(0.0, 1.0), streams.get("wan-local"))
    u_chance = BufferedSampler(Uniform(0.0, 1.0), streams.get("read-repair-chance"))

    # the quorum stage's count: the requirement each operation's level sets (pbs_sim.levels; on a flat
    # cluster the config has resolved a named level to its count, and ANY to W = 1 with write_any)
    r_need = requirement_count(Requirement(f"R={c.read_quorum}", total=c.read_quorum))
    w_need = requirement_count(Requirement("ANY" if c.write_any else f"W={c.write_quorum}", total=c.write_quorum,
                                           hint_ok=c.write_any))

    def make(endpoint: int) -> Coordinator:
        return Coordinator(
            endpoint, env, network, ring, nodes, history, versions, deadlines,
            n=c.replication, r=r_need, w=w_need,
            read_fanout=c.read_fanout, write_fanout=c.write_fanout, replica_choice=c.replica_choice,
            read_timeout_ms=c.read_timeout_ms, write_timeout_ms=c.write_timeout_ms,
            uniform=uniform, local_uniform=u_local, chance_uniform=u_chance, remote_extra_ms=profile.remote_extra_ms, policy=policy,
        )

    coordinators: dict[int, Coordinator] = {}
    pick: Callable[[int], Any]
    if not layout.flat:
        pick = _dc_coordinators(scenario, layout, streams, ring, coordinators, make)
    elif c.coordinator == "client":
        client = coordinators[CLIENT] = make(CLIENT)

        def pick(key: int) -> Coordinator:
            return client
    else:
        for i in range(c.nodes):
            coordinators[i] = make(i)
        if c.coordinator == "first-replica":
            def pick(key: int) -> Coordinator:
                return coordinators[ring.preference_list(key)[0]]
        else:
            u_coord = BufferedSampler(Uniform(0.0, 1.0), streams.get("coordinator"))
            n_nodes = c.nodes

            def pick(key: int) -> Coordinator:
                return coordinators[int(u_coord() * n_nodes)]

    workload = make_workload(env, wl, pick, streams.get)
    workload.keyspace = keys
    if hasattr(workload, "coordinators"):  # a script's lines may name their coordinating node
        workload.coordinators = coordinators
    if not layout.flat and hasattr(workload, "read_dcs"):  # pbs-probe: each offset read in every client DC
        workload.read_dcs = tuple(d for d, share in enumerate(layout.clients) if share > 0)
        workload.coordinator_in = pick.pick_in  # type: ignore[attr-defined]
    model = Model(
        scenario=scenario, streams=streams, env=env, history=history, ring=ring, network=network,
        nodes=nodes, coordinators=coordinators, deadlines=deadlines, versions=versions,
        workload=workload, policy=policy, keys=keys, _pick=pick, layout=layout,
    )
    install_all(model, tuple(mechanisms), streams)
    return model


def _dc_coordinators(
    sc: Scenario, layout: Layout, streams: Streams, ring: Ring, coordinators: dict[int, Coordinator],
    make: Callable[[int], Coordinator],
) -> Any:
    """Datacenters: the coordinators (client-side endpoints per rack, or the nodes), each given its
    datacenter's requirements, and the :class:`~pbs_sim.sim.datacenters.Router` the workload asks
    (``pbs_sim.sim.datacenters``: clients in datacenters, coordinators in their client's)."""
    from .datacenters import ClientDCs, Router, wire

    c = sc.cluster
    n_dc = len(layout.names)
    if c.coordinator == "client":
        eps = [[layout.client_endpoint(d, k) for k in range(layout.dc_racks[d])] for d in range(n_dc)]
        for row in eps:
            for ep in row:
                coordinators[ep] = make(ep)
        u_rack = BufferedSampler(Uniform(0.0, 1.0), streams.get("coordinator-rack"))

        def pick_in(d: int, key: int) -> Coordinator:
            row = eps[d]
            return coordinators[row[0] if len(row) == 1 else row[int(u_rack() * len(row))]]
    else:
        for i in range(c.nodes):
            coordinators[i] = make(i)
        members = [layout.nodes_of(d) for d in range(n_dc)]
        u_coord = BufferedSampler(Uniform(0.0, 1.0), streams.get("coordinator"))
        node_dc = layout.node_dc

        def uniform_in(d: int) -> Coordinator:
            m = members[d]
            return coordinators[m[int(u_coord() * len(m))]]

        if c.coordinator == "first-replica":
            def pick_in(d: int, key: int) -> Coordinator:
                for x in ring.preference_list(key):
                    if node_dc[x] == d:
                        return coordinators[x]
                return uniform_in(d)
        else:
            def pick_in(d: int, key: int) -> Coordinator:
                return uniform_in(d)
    wire(sc, layout, coordinators)
    router = Router(ClientDCs(layout.clients), pick_in)

    def pick(key: int) -> Router:
        return router

    pick.pick_in = pick_in  # type: ignore[attr-defined]
    return pick
