"""Workloads: who issues which operation on which key, and when.

Owns: the client request streams — ``open`` (Poisson arrivals at ``rate_per_s``), ``closed`` (each of
``clients`` clients issues one operation at a time with a think time between), and ``pbs-probe`` (the
PBS experiment: per trial a fresh key, one write, then reads at fixed offsets after its commit, or at
one offset per trial drawn from ``probe_offset``; trials start every ``probe_interval_ms``). Keys are
``0..keys-1`` with key 0 the most popular under ``zipf(s)``; every operation belongs to a client
(its session). Must not touch: the protocol (coordinators), metrics.

A workload gets a function ``coordinator_for(key)`` and named random streams; ``start()`` schedules its
first events (bare SimPy events with callbacks, no processes); ``issuing_done`` becomes True when it
will issue nothing more, and ``on_stop`` callbacks then run (the model uses them to end the run once
every operation has finished).

Preload (``workload.preload``, open and closed): a load phase before everything else, as a store
holds all its keys however cold they are. Key ``k`` (k = 0..keys-1) is written once, at
``k * 1000 / preload_rate_per_s`` ms, by a client of its own (id ``clients``), through the normal write
path, so the writes are committed, replicated and recorded like any other. The mixed workload (its
warm-up, then its measured ``duration_ms``) starts at ``load_end_at``: the later of
``keys * 1000 / preload_rate_per_s`` ms and the moment the last load write finished (committed or
timed out). ``measure_from_ms = load_end_at + warmup_ms`` is the run's measured-window start (the
model records it as ``history.facts.warmup_ms``), so load writes are never measured operations;
they are still history (the version a read should see) and still count in the durability metrics.
Fault schedules stay in absolute run time. The load draws no random numbers, so the workload's own
streams are the same with preload on or off.

Write patterns and contention (open and closed; issue 10). ``write_pattern = "blind"`` issues a
write as is (what every earlier version did). ``"rmw"`` makes every write a read-modify-write: the
client reads the key, waits ``rmw_gap`` after the read returns, then writes; the write carries what
that one read returned (its causal context, per operation: two overlapping updates of one client do
not pool their reads; ``pbs_sim.sim.causality``). A read that fails ends the update
without a write. ``hot_key_writers_per_s = [r0, r1, ...]`` adds one writer per entry on
``hot_key``, writer i being client ``clients + 1 + i`` with Poisson writes at ``r_i`` per second,
from the end of the warm-up to the end of the run, following ``write_pattern``. The run's issuing
ends when the main stream, every writer and every pending update is done. Each writer draws from its
own stream (``hot-writer-<i>``), the gaps from ``rmw-gap``: the main stream's numbers are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from ..config import KeyDistribution, WorkloadConfig
from ..distributions import BufferedSampler, Constant, Exponential, Uniform
from ..keys import KeySpace
from .coordinator import Coordinator, WriteOp
from .events import BareEvent, call_at, schedule

CoordinatorFor = Callable[[int], Coordinator]
RngFor = Callable[[str], np.random.Generator]


class KeyChooser:
    """Draws keys 0..keys-1, uniformly or zipf(s) (rank 1 = key 0), in buffered blocks."""

    __slots__ = ("keys", "rng", "cdf", "block", "_buf", "_i")

    def __init__(self, keys: int, dist: KeyDistribution, rng: np.random.Generator, block: int = 4096) -> None:
        self.keys = keys
        self.rng = rng
        self.block = block
        if dist.kind == "zipf" and keys > 1:
            weights = 1.0 / np.arange(1, keys + 1, dtype=float) ** dist.s
            self.cdf: np.ndarray | None = np.cumsum(weights / weights.sum())
        else:
            self.cdf = None
        self._buf: list[int] = []
        self._i = 0

    def probabilities(self) -> np.ndarray:
        if self.cdf is None:
            return np.full(self.keys, 1.0 / self.keys)
        return np.diff(self.cdf, prepend=0.0)

    def __call__(self) -> int:
        i = self._i
        if i >= len(self._buf):
            if self.cdf is None:
                self._buf = self.rng.integers(0, self.keys, self.block).tolist()
            else:
                u = self.rng.random(self.block)
                self._buf = np.minimum(np.searchsorted(self.cdf, u, side="right"), self.keys - 1).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class Workload:
    """Base: the stop bookkeeping shared by every workload."""

    kind = ""
    keyspace: KeySpace | None = None  # the run's key names (set by the model builder)

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        self.env = env
        self.cfg = cfg
        self.coordinator_for = coordinator_for
        self.rng_for = rng_for
        self.issuing_done = False
        self.on_stop: list[Callable[[], None]] = []
        self.issued = 0
        self.load_writes = 0  # preload writes issued
        self._load_pending = 0
        self.load_end_at = 0.0  # when the mixed workload started (0 without preload)
        self.preload_ms = cfg.keys * 1000.0 / self.preload_rate_per_s if cfg.preload else 0.0

    @property
    def preload_rate_per_s(self) -> float:
        c = self.cfg
        return c.preload_rate_per_s if c.preload_rate_per_s is not None else c.rate_per_s

    @property
    def warmup_ms(self) -> float:
        return self.cfg.warmup_ms

    @property
    def measure_from_ms(self) -> float:
        """Operations issued from this instant on are measured (load phase + warm-up before it)."""
        return self.load_end_at + self.warmup_ms

    @property
    def expected_end_ms(self) -> float:
        """Roughly when issuing ends (for progress bars)."""
        return self.preload_ms + self.cfg.warmup_ms + self.cfg.duration_ms

    def start(self) -> None:
        """The load phase if ``preload``, then the workload proper (``_begin``)."""
        if self.cfg.preload and self.cfg.keys > 0:
            self._load(0)
        else:
            self._begin()

    def _begin(self) -> None:
        raise NotImplementedError

    # -- preload
    def _load(self, key: int) -> None:
        self.load_writes += 1
        self._load_pending += 1
        self.coordinator_for(key).write(self.cfg.clients, key, self._loaded)
        if key + 1 < self.cfg.keys:
            gap = 1000.0 / self.preload_rate_per_s
            call_at(self.env, max((key + 1) * gap - self.env.now, 0.0), self._load, key + 1)
        else:  # the end of the load interval counts as one more thing to wait for
            self._load_pending += 1
            call_at(self.env, max(self.preload_ms - self.env.now, 0.0), self._loaded, None)

    def _loaded(self, _op: Any) -> None:
        """A load write finished (``_op``), or the load interval ended (``None``)."""
        self._load_pending -= 1
        if self._load_pending == 0 and self.load_writes == self.cfg.keys:
            self.load_end_at = self.env.now
            self._begin()

    def _stop(self) -> None:
        if not self.issuing_done:
            self.issuing_done = True
            for fn in self.on_stop:
                fn()


class _MixedOps(Workload):
    """Reads and writes on popular keys by many clients (open and closed share this)."""

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        self.keys = KeyChooser(cfg.keys, cfg.key_distribution, rng_for("keys"))
        self.u_kind = BufferedSampler(Uniform(0.0, 1.0), rng_for("op-kind"))
        self.end_at = cfg.warmup_ms + cfg.duration_ms  # from load_end_at (set in _begin)
        self.rmw = cfg.write_pattern == "rmw"
        gap = cfg.rmw_gap
        self._gap0 = isinstance(gap, Constant) and gap.value == 0.0
        self.rmw_gap = BufferedSampler(gap, rng_for("rmw-gap")) if self.rmw and not self._gap0 else None
        self._holds = 1  # the main stream; + each hot-key writer and each update between read and write
        self._main_done = False
        self.updates = 0
        self._hot_key = 0  # index of workload.hot_key (set when the writers start)

    def issue(self, client: int, on_done: Callable[[Any], None] | None = None) -> None:
        key = self.keys()
        self.issued += 1
        if self.u_kind() < self.cfg.read_fraction:
            self.coordinator_for(key).read(client, key, on_done)
        else:
            self.write(client, key, on_done)

    def write(self, client: int, key: int, on_done: Callable[[Any], None] | None = None) -> None:
        """A write of ``key`` by ``client`` in the configured pattern (blind, or read-modify-write)."""
        if not self.rmw:
            self.coordinator_for(key).write(client, key, on_done)
            return
        self._holds += 1
        self.updates += 1
        self.coordinator_for(key).read(client, key, lambda op: self._read_back(op, on_done))

    def _read_back(self, op: Any, on_done: Callable[[Any], None] | None) -> None:
        if op.status != 1:  # history.OK: the update is abandoned
            self._release()
            if on_done is not None:
                on_done(op)
            return
        arg = (op.client, op.key, on_done, op.op_id, op.best)
        if self.rmw_gap is None:
            self._rmw_write(arg)
        else:
            call_at(self.env, self.rmw_gap(), self._rmw_write, arg)

    def _rmw_write(self, arg: tuple[int, int, Callable[[Any], None] | None, int, Any]) -> None:
        client, key, on_done, read_op, context = arg
        # the write carries what the read returned: its causal context (LWW ignores it; sibling
        # policies build the new version from it)
        self.coordinator_for(key).write(client, key, on_done, context=context, update_of=read_op)
        self._release()

    # -- hot-key writers
    def key_index(self, key: int | str) -> int:
        """The index of a key given by name (or integer) in the config: the run's key space interns
        it; without one (a workload built by hand) a key must be an integer or a numeric name."""
        if self.keyspace is not None:
            return self.keyspace.index(key)
        return int(key)

    def _start_writers(self) -> None:
        cfg = self.cfg
        if cfg.hot_key_writers_per_s:
            self._hot_key = self.key_index(cfg.hot_key)
        start = self.load_end_at + cfg.warmup_ms
        for i, rate in enumerate(cfg.hot_key_writers_per_s):
            gap = BufferedSampler(Exponential(rate / 1000.0), self.rng_for(f"hot-writer-{i}"))
            first = max(start - self.env.now, 0.0) + gap()
            if self.env.now + first < self.end_at:
                self._holds += 1
                call_at(self.env, first, self._hot_write, (cfg.clients + 1 + i, gap))

    def _hot_write(self, arg: tuple[int, BufferedSampler]) -> None:
        client, gap = arg
        self.issued += 1
        self.write(client, self._hot_key)
        g = gap()
        if self.env._now + g >= self.end_at:  # noqa: SLF001
            self._release()
            return
        call_at(self.env, g, self._hot_write, arg)

    def _release(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            Workload._stop(self)

    def _stop(self) -> None:
        """The main stream is done; issuing ends when the writers and pending updates are too."""
        if not self._main_done:
            self._main_done = True
            self._release()


class OpenWorkload(_MixedOps):
    """Poisson arrivals at ``rate_per_s``; each op from a uniformly chosen client."""

    kind = "open"

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        self.gap = BufferedSampler(Exponential(cfg.rate_per_s / 1000.0), rng_for("arrivals"))
        self.u_client = BufferedSampler(Uniform(0.0, 1.0), rng_for("clients"))
        self._cbs = (self._arrive,)

    def _begin(self) -> None:
        self.end_at = self.load_end_at + self.cfg.warmup_ms + self.cfg.duration_ms
        self._start_writers()
        self._next()

    def _next(self) -> None:
        gap = self.gap()
        if self.env._now + gap >= self.end_at:  # noqa: SLF001
            self._stop()
            return
        schedule(self.env, BareEvent(self._cbs), gap)

    def _arrive(self, _ev: Any) -> None:
        self.issue(int(self.u_client() * self.cfg.clients))
        self._next()


class ClosedWorkload(_MixedOps):
    """``clients`` clients; each issues an op, waits for it, thinks (``think_time``), repeats."""

    kind = "closed"

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        self.think = BufferedSampler(cfg.think_time, rng_for("think"))
        self.active = 0

    def _begin(self) -> None:
        self.end_at = self.load_end_at + self.cfg.warmup_ms + self.cfg.duration_ms
        self._start_writers()
        self.active = self.cfg.clients
        for c in range(self.cfg.clients):
            self._after_think(c)

    def _after_think(self, client: int) -> None:
        t = self.think()
        if self.env._now + t >= self.end_at:  # noqa: SLF001
            self.active -= 1
            if self.active == 0:
                self._stop()
            return
        call_at(self.env, t, self._go, client)

    def _go(self, client: int) -> None:
        self.issue(client, self._done)

    def _done(self, op: Any) -> None:
        self._after_think(op.client)


class ProbeWorkload(Workload):
    """The PBS experiment: per trial a fresh key (= the trial number), one write, then reads.

    Trial ``i`` starts at ``i * probe_interval_ms`` with a write by client ``i``; when it commits at
    ``commit_at``, a read of that key is issued at ``commit_at + t`` for each ``t`` in
    ``probe_offsets_ms`` (or for one ``t`` drawn from ``probe_offset``). A write that times out ends
    its trial without reads. Keys differ, so trials are independent however they overlap in time.

    Datacenters (``[topology]`` with clients in several datacenters; the builder sets ``read_dcs``
    and ``coordinator_in``): each offset is read once from every datacenter in ``read_dcs``, by a
    coordinator there, still as client ``i`` (``pbs_sim.sim.datacenters``).
    """

    kind = "pbs-probe"

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        self.offset = BufferedSampler(cfg.probe_offset, rng_for("probe-offset")) if cfg.probe_offset else None
        self.started = 0
        self.open_trials = 0
        self.failed_trials = 0
        self.read_dcs: tuple[int, ...] = ()  # datacenters that read every offset (set by the builder)
        self.coordinator_in: Callable[[int, int], Coordinator] | None = None

    @property
    def warmup_ms(self) -> float:
        return 0.0

    @property
    def measure_from_ms(self) -> float:
        return 0.0

    @property
    def expected_end_ms(self) -> float:
        c = self.cfg
        last = max(c.probe_offsets_ms) if c.probe_offsets_ms and c.probe_offset is None else 0.0
        return c.trials * c.probe_interval_ms + last

    def start(self) -> None:
        self._trial(None)

    def _trial(self, _arg: Any) -> None:
        i = self.started
        self.started += 1
        self.open_trials += 1
        self.issued += 1
        self.coordinator_for(i).write(i, i, self._committed)
        if self.started < self.cfg.trials:
            call_at(self.env, self.cfg.probe_interval_ms, self._trial)

    def _committed(self, op: WriteOp) -> None:
        if op.status != 1:  # history.OK
            self.failed_trials += 1
            self._close()
            return
        offsets = (self.offset(),) if self.offset is not None else self.cfg.probe_offsets_ms
        pending = [len(offsets)]
        for t in offsets:
            call_at(self.env, t, self._read, (op.key, pending))

    def _read(self, arg: tuple[int, list[int]]) -> None:
        key, pending = arg
        if len(self.read_dcs) > 1:
            assert self.coordinator_in is not None
            for d in self.read_dcs:
                self.issued += 1
                self.coordinator_in(d, key).read(key, key)
        else:
            self.issued += 1
            self.coordinator_for(key).read(key, key)
        pending[0] -= 1
        if pending[0] == 0:
            self._close()

    def _close(self) -> None:
        self.open_trials -= 1
        if self.open_trials == 0 and self.started >= self.cfg.trials:
            self._stop()


def make_workload(env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> Workload:
    if cfg.ycsb_spec is not None or cfg.kind == "trace":  # issue 18: YCSB's workloads, trace replay
        from . import trace, ycsb

        return ycsb.make(env, cfg, coordinator_for, rng_for) if cfg.kind != "trace" else trace.make(
            env, cfg, coordinator_for, rng_for)
    if cfg.kind == "script":  # pbs_sim.sim.script builds on this module
        from .script import ScriptWorkload

        return ScriptWorkload(env, cfg, coordinator_for, rng_for)
    cls = {"open": OpenWorkload, "closed": ClosedWorkload, "pbs-probe": ProbeWorkload}[cfg.kind]
    return cls(env, cfg, coordinator_for, rng_for)
