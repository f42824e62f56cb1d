"""YCSB core workloads on the simulator: YCSB's operation mix and key choice on our arrival machinery.

Owns: the workloads ``workload.ycsb`` selects (the generators are :mod:`pbs_sim.ycsb`'s): each
operation is drawn from YCSB's mix and mapped onto the store's operations -- read = a read; update
= a blind write (no context); insert = a write of the next new key (keys ``keys, keys + 1, ...``,
acknowledged when it returns, whatever its status, so ``latest`` and ``nextKeynum`` see it only
then); read-modify-write = the ``rmw`` pattern (read, ``rmw_gap``, then a write carrying what the
read returned). Must not touch: the protocol, metrics, the generators' definitions.

Timing. YCSB is a closed-loop client: ``threadcount`` threads, each issuing its next operation when
the previous one returns, optionally throttled to ``target`` operations per second in all (each
thread then issues its i-th operation at ``start + i * threadcount / target`` seconds, or at once if
it is behind; with at most one operation per ms per thread it first sleeps a uniform fraction of
one tick). Mapping: ``workload.kind = "closed"`` is YCSB's client, ``clients`` its threads, with
``think_time`` between operations (set ``"0"`` for YCSB's back-to-back threads) unless
``ycsb_target_per_s`` throttles it YCSB's way; ``kind = "open"`` issues YCSB's mix as Poisson
arrivals at ``rate_per_s`` instead (an open-loop model YCSB does not have). ``operationcount``
(properties file) ends the run after that many operations (closed: split over the clients as YCSB
does, ``opcount // threads``, one more for the first ``opcount % threads``), or at
``warmup_ms + duration_ms`` (YCSB's ``maxexecutiontime``) if that comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from .. import ycsb as gen
from ..config import WorkloadConfig
from ..distributions import BufferedSampler, Constant
from .events import call_at
from .workload import ClosedWorkload, CoordinatorFor, OpenWorkload, RngFor, _MixedOps


def expected_operations(cfg: WorkloadConfig) -> int:
    """``operationcount`` for YCSB's ``expectednewkeys`` (only zipfian with inserts uses it, and the
    config requires operationcount there, as YCSB does); 0 when the workload does not give it."""
    spec = cfg.ycsb_spec
    assert spec is not None
    return spec.operationcount or 0


class _Ycsb(_MixedOps):
    """YCSB's operations in place of the mixed workload's reads and writes."""

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        spec = cfg.ycsb_spec
        assert spec is not None
        self.spec = spec
        self.chooser = gen.KeyChooser(spec, cfg.keys, expected_operations(cfg), rng_for("ycsb-keys"))
        self.op_chooser = gen.OperationChooser(spec, rng_for("ycsb-ops"))
        gap = cfg.rmw_gap
        # write_pattern is "blind" under YCSB (config), so _MixedOps left no gap sampler: the rmw
        # operations of the mix use this one (hot-key writers still write blind)
        self.rmw_gap = None if isinstance(gap, Constant) and gap.value == 0.0 else BufferedSampler(gap, rng_for("rmw-gap"))
        self.limit = spec.operationcount  # None: the run's duration alone ends it
        self.by_kind = [0, 0, 0, 0, 0]  # issued per YCSB operation (read, update, insert, scan, rmw)

    def issue(self, client: int, on_done: Callable[[Any], None] | None = None) -> None:
        op = self.op_chooser()
        self.issued += 1
        self.by_kind[op] += 1
        if op == gen.INSERT:
            keynum = self.chooser.inserts.next()
            self.coordinator_for(keynum).write(client, keynum, lambda o: self._inserted(o, keynum, on_done))
            return
        keynum = self.chooser()
        if op == gen.READ:
            self.coordinator_for(keynum).read(client, keynum, on_done)
        elif op == gen.UPDATE:
            self.coordinator_for(keynum).write(client, keynum, on_done)
        else:  # read-modify-write: _MixedOps's rmw path, with YCSB's gap (rmw_gap, 0 = at once)
            self._holds += 1
            self.updates += 1
            self.coordinator_for(keynum).read(client, keynum, lambda o: self._read_back(o, on_done))

    def _inserted(self, op: Any, keynum: int, on_done: Callable[[Any], None] | None) -> None:
        self.chooser.inserts.acknowledge(keynum)  # YCSB acknowledges in a finally: any status
        if on_done is not None:
            on_done(op)


class YcsbOpen(_Ycsb, OpenWorkload):
    """YCSB's mix as Poisson arrivals (``kind = "open"``); ``operationcount`` caps the arrivals."""

    def _arrive(self, _ev: Any) -> None:
        if self.limit is not None and sum(self.by_kind) >= self.limit:  # YCSB's operations, not hot-key writes
            self._stop()
            return
        super()._arrive(_ev)


class YcsbClosed(_Ycsb, ClosedWorkload):
    """YCSB's client threads (``kind = "closed"``), throttled YCSB's way by ``ycsb_target_per_s``."""

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        n = cfg.clients
        target = cfg.ycsb_target_per_s
        self.tick_ms = 1000.0 * n / target if target else None  # per-thread spacing of operations
        # Client.java: opcount / threadcount, +1 for the first remainder threads
        self.todo: list[int] | None = (
            None if self.limit is None else [self.limit // n + (1 if c < self.limit % n else 0) for c in range(n)])
        self.done_ops = [0] * n
        self.t0 = [0.0] * n
        self.u_start = rng_for("ycsb-start")

    def _begin(self) -> None:
        # ClientThread: with at most one operation per ms per thread, sleep a uniform fraction of a
        # tick first so the threads do not all start together
        self.t0 = [self.env.now] * self.cfg.clients
        if self.tick_ms is None or self.tick_ms < 1.0:
            super()._begin()
            return
        cfg = self.cfg
        self.end_at = self.load_end_at + cfg.warmup_ms + cfg.duration_ms
        self._start_writers()
        self.active = cfg.clients
        delays = self.u_start.random(cfg.clients) * self.tick_ms
        for c in range(cfg.clients):
            call_at(self.env, float(delays[c]), self._first, c)

    def _first(self, client: int) -> None:
        self.t0[client] = self.env.now  # the thread's ticks count from when it woke
        self._pace(client)

    def _after_think(self, client: int) -> None:
        if self.tick_ms is None:
            if self._spent(client):
                return
            super()._after_think(client)
            return
        self._pace(client)

    def _pace(self, client: int) -> None:
        """The next operation of a throttled thread: at its tick, or now if it is behind."""
        now = self.env.now
        if self._spent(client):
            return
        assert self.tick_ms is not None
        wait = max(self.t0[client] + self.done_ops[client] * self.tick_ms - now, 0.0)
        if now + wait >= self.end_at:
            self._retire()
            return
        call_at(self.env, wait, self._go, client)

    def _spent(self, client: int) -> bool:
        """The thread has issued its share of ``operationcount`` (or the run is over for it)."""
        if self.todo is not None and self.done_ops[client] >= self.todo[client]:
            self._retire()
            return True
        return False

    def _retire(self) -> None:
        self.active -= 1
        if self.active == 0:
            self._stop()

    def _done(self, op: Any) -> None:
        self.done_ops[op.client] += 1
        self._after_think(op.client)


def make(env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> _MixedOps:
    cls = YcsbOpen if cfg.kind == "open" else YcsbClosed
    return cls(env, cfg, coordinator_for, rng_for)


__all__ = ["YcsbClosed", "YcsbOpen", "expected_operations", "make"]
