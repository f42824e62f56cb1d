"""Clocks that stamp writes: offsets, drift, NTP-like resynchronisation, scripted jumps.

Owns: one :class:`Clock` per node (and per client with ``clocks.timestamp_source = "client"``), the
timestamp function it installs on every coordinator (``coordinator.timestamp``), the scripted
``clock-jump`` events of ``[[faults.schedule]]``, and two history tables: ``write_stamps`` (one row
per write: ``op_id, timestamp_ms``; the metrics read the store's LWW order from it) and
``clock_events`` (one row per jump: ``at, node, client, jump_ms``; ``node``/``client`` = -1 where it
does not apply). Must not touch: replica state, the versioning policy's order (it only supplies the
timestamp a policy stamps with), metrics.

The clock model. A clock reads ``t + offset + drift_ppm * 1e-6 * (t - synced_at)`` at true time
``t``. ``offset`` starts from ``clocks.offsets_ms`` / ``clocks.offset`` (nodes) or
``client_offsets_ms`` / ``client_offset`` (clients; default: the node distribution); ``drift_ppm`` is
drawn once per clock. With ``resync_interval_ms``, each clock resynchronises at its own uniformly
random phase and then every interval: its offset becomes a fresh ``resync_error`` draw (0 if none)
and ``synced_at`` the resync instant, so drift error grows again from there (NTP-like: residual
error plus drift between polls). A jump adds ``jump_ms`` to the offset at once (backwards if
negative); the next resync corrects it. Resyncs are evaluated lazily when a clock is read, so they
cost nothing between writes. ``resolution_ms`` rounds every timestamp down to a multiple of it
(coarse clocks), which makes equal timestamps, and so ties, common.

Who stamps. ``"coordinator"``: the coordinating endpoint's clock -- a node's clock for node
coordinators, and one clock of its own for the external client-side coordinator
(``cluster.coordinator = "client"``: one process, one clock, so no skew between writers).
``"client"``: the issuing client's clock.

Ties. The policy breaks equal timestamps by issue order (``seq``): see ``pbs_sim.sim.versioning``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import ClocksConfig, FaultEvent, Scenario
from ..rng import Streams
from .mechanism import TableSpec

if TYPE_CHECKING:
    from .build import Model


class Clock:
    """One clock (see the module docstring for the model)."""

    __slots__ = ("offset", "drift", "synced_at", "interval", "next_sync", "resync")

    def __init__(self, offset: float, drift_ppm: float, interval: float | None, phase: float,
                 resync: Any) -> None:
        self.offset = offset
        self.drift = drift_ppm * 1e-6
        self.synced_at = 0.0
        self.interval = interval
        self.next_sync = phase if interval is not None else math.inf
        self.resync = resync  # () -> residual offset after a resync

    def read(self, t: float) -> float:
        if t >= self.next_sync:
            assert self.interval is not None
            k = math.floor((t - self.next_sync) / self.interval)
            self.synced_at = self.next_sync + k * self.interval
            self.next_sync = self.synced_at + self.interval
            self.offset = self.resync()
        if self.drift:
            return t + self.offset + self.drift * (t - self.synced_at)
        return t + self.offset

    def jump(self, t: float, by: float) -> None:
        self.read(t)  # bring resyncs up to date first
        self.offset += by


class Clocks:
    """The clocks of one run and the coordinators' timestamp function."""

    def __init__(self, env: Any, cfg: ClocksConfig, n_nodes: int, history: Any, streams: Streams,
                 jumps: tuple[FaultEvent, ...] = ()) -> None:
        self.env = env
        self.cfg = cfg
        self.jumps = jumps  # the scripted clock-jump events ([[faults.schedule]])
        self.stamps = WRITE_STAMPS_TABLE.create(history)
        self.events = CLOCK_EVENTS_TABLE.create(history)
        self._rng = streams.get("clocks")
        self._resync_rng = streams.get("clocks-resync")
        self.nodes = [self._make(cfg.offsets_ms[i] if cfg.offsets_ms else self._draw(cfg.offset))
                      for i in range(n_nodes)]
        self.external = self._make(self._draw(cfg.offset))  # the client-side coordinator's own clock
        self.clients: dict[int, Clock] = {}
        self._add = self.stamps.append
        self.res = cfg.resolution_ms

    def _draw(self, dist: Any) -> float:
        return float(dist.sample(self._rng)) if dist is not None else 0.0

    def _make(self, offset: float) -> Clock:
        cfg = self.cfg
        drift = self._draw(cfg.drift_ppm)
        interval = cfg.resync_interval_ms
        phase = float(self._rng.uniform(0.0, interval)) if interval is not None else 0.0
        err = cfg.resync_error
        rng = self._resync_rng

        def resync() -> float:
            return float(err.sample(rng)) if err is not None else 0.0

        return Clock(offset, drift, interval, phase, resync)

    def client(self, c: int) -> Clock:
        clock = self.clients.get(c)
        if clock is None:
            cfg = self.cfg
            if c < len(cfg.client_offsets_ms):
                off = cfg.client_offsets_ms[c]
            else:
                off = self._draw(cfg.client_offset if cfg.client_offset is not None else cfg.offset)
            clock = self.clients[c] = self._make(off)
        return clock

    def stamper(self, endpoint: int) -> Any:
        """The ``coordinator.timestamp`` function for coordinating ``endpoint``."""
        by_client = self.cfg.timestamp_source == "client"
        own = self.nodes[endpoint] if endpoint >= 0 else self.external
        add, res, client = self._add, self.res, self.client

        def timestamp(op_id: int, c: int, now: float) -> float:
            ts = (client(c) if by_client else own).read(now)
            if res > 0.0:
                ts = math.floor(ts / res) * res
            add(op_id, ts)
            return ts

        return timestamp

    def jump(self, ev: FaultEvent) -> None:
        now = float(self.env.now)
        for i in ev.nodes:
            self.nodes[i].jump(now, ev.jump_ms)
            self.events.append(now, i, -1, ev.jump_ms)
        for c in ev.clock_clients:
            self.client(c).jump(now, ev.jump_ms)
            self.events.append(now, -1, c, ev.jump_ms)

    def start(self) -> None:
        for ev in self.jumps:
            self.env.process(self._at(ev))

    def _at(self, ev: FaultEvent) -> Any:
        if ev.at_ms > self.env.now:
            yield self.env.timeout(ev.at_ms - self.env.now)
        self.jump(ev)

    def offsets(self) -> np.ndarray:
        """Current offsets of the node clocks (for tests and printing)."""
        return np.asarray([c.offset for c in self.nodes])


WRITE_STAMPS_TABLE = TableSpec("write_stamps", {"op_id": "q", "timestamp_ms": "d"})
CLOCK_EVENTS_TABLE = TableSpec("clock_events", {"at": "d", "node": "i", "client": "i", "jump_ms": "d"})


def clock_jumps(scenario: Scenario) -> tuple[FaultEvent, ...]:
    return tuple(ev for ev in scenario.faults.schedule if ev.action == "clock-jump")


class ClocksMechanism:
    """Imperfect clocks (:class:`Clocks`), on when ``[clocks]`` is not perfect or a clock jumps."""

    name = "clocks"
    requires: tuple[str, ...] = ("env", "coordinators", "nodes", "history", "policy")
    tables: tuple[TableSpec, ...] = (WRITE_STAMPS_TABLE, CLOCK_EVENTS_TABLE)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return not scenario.clocks.perfect or bool(clock_jumps(scenario))

    def install(self, model: Model, streams: Streams) -> Clocks:
        clocks = Clocks(model.env, model.scenario.clocks, len(model.nodes), model.history, streams,
                        clock_jumps(model.scenario))
        for endpoint, coord in model.coordinators.items():
            coord.plug("timestamp", self.name, clocks.stamper(endpoint))
        model.on_start.append(lambda m: clocks.start())
        return clocks


MECHANISM = ClocksMechanism()
