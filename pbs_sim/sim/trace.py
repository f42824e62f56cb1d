"""Trace replay on the simulator (``workload.kind = "trace"``): recorded operations at recorded times.

Owns: issuing each operation of ``workload.trace`` (streamed batch by batch from
:func:`pbs_sim.traces.batches`, one batch in memory) at ``at_ms * trace_time_scale``, by its
recorded client, on its key as ``trace_keys`` maps it (``as-is``: the key's name in the run's key
space, ``pbs_sim.keys``): ``read`` a read; ``write`` a blind write (no context) of the trace's value
if it gives one (else the default ``client:seq``); ``rmw`` a read-modify-write (the read,
``rmw_gap``, then the write carrying what the read returned). Operations with equal times are issued in the order of the file. Each issue is one heap
entry at its exact instant (``schedule_at``), so a run's own ``ops`` table replays at the very
times it recorded. Must not touch: the protocol, metrics, trace parsing.

The whole trace was checked before the run was built (``pbs_sim.traces.scan_trace``); the replay
checks every batch again as it reads it, so a file changed in between still ends the run with the
one-line :class:`~pbs_sim.traces.TraceError` (file, row, reason), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import simpy

from .. import traces
from ..config import WorkloadConfig
from .events import Call, call_at, schedule_at
from .workload import CoordinatorFor, RngFor, _MixedOps


class TraceWorkload(_MixedOps):
    """Replays a trace; issuing ends after its last row (and every pending read-modify-write)."""

    kind = "trace"

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        info = cfg.trace_info
        assert info is not None, "workload.trace was not scanned (config)"
        self.info: traces.TraceInfo = info
        self.scale = cfg.trace_time_scale
        self.mode = cfg.trace_keys
        self.dense: dict[Any, int] = {}
        self._batches: Iterator[traces.Batch] | None = None
        self._at: list[float] = []
        self._client: list[int] = []
        self._op: list[int] = []
        self._key: list[Any] = []
        self._value: list[str | None] | None = None
        self._i = 0
        self.by_op = [0, 0, 0]
        gap = cfg.rmw_gap
        from ..distributions import BufferedSampler, Constant

        # write_pattern stays "blind" (config): the trace's rmw rows use this gap sampler
        self.rmw_gap = None if isinstance(gap, Constant) and gap.value == 0.0 else BufferedSampler(gap, rng_for("rmw-gap"))

    @property
    def expected_end_ms(self) -> float:
        return self.info.last_ms * self.scale

    def _begin(self) -> None:
        self.end_at = self.expected_end_ms
        self._start_writers()
        self._batches = traces.batches(self.info.path, self.info.fmt, self.info.columns)
        self._next()

    def _load(self, _key: int) -> None:  # pragma: no cover - preload is refused with traces (config)
        raise AssertionError("kind = trace has no preload")

    def _fill(self) -> bool:
        assert self._batches is not None
        index = self.key_index  # the run's key space: names -> indices (pbs_sim.keys)
        numeric = self.cfg.keys  # integer keys below this are their own index (numeric names)
        for b in self._batches:
            keys: list[int]
            if self.mode == "modulo":
                keys = (b.key % self.cfg.keys).tolist()
            elif self.mode == "dense":
                d = self.dense
                ks = b.key.tolist() if self.info.int_keys else [str(k) for k in b.key.tolist()]
                keys = [n if (n := d.setdefault(k, len(d))) < numeric else index(n) for k in ks]
            elif b.key.dtype == np.int64:
                keys = [k if k < numeric else index(k) for k in b.key.tolist()]
            else:
                keys = [index(k) for k in b.key.tolist()]
            self._at = (b.at_ms * self.scale).tolist() if self.scale != 1.0 else b.at_ms.tolist()
            self._client = b.client.tolist()
            self._op = b.op.tolist()
            self._key = keys
            self._value = b.value if self.info.form == "user" else None
            self._i = 0
            if self._at:
                return True
        return False

    def _next(self) -> None:
        if self._i >= len(self._at) and not self._fill():
            self._stop()
            return
        schedule_at(self.env, Call(self._fire, None), self._at[self._i])

    def _fire(self, _arg: Any) -> None:
        # issue every row recorded for this instant, in file order, then schedule the next instant
        now = self.env._now  # noqa: SLF001
        while True:
            i = self._i
            client, key, op = self._client[i], self._key[i], self._op[i]
            value = (self._value[i] or None) if self._value is not None else None  # empty: client:seq
            self._i = i + 1
            self.issued += 1
            self.by_op[op] += 1
            if op == traces.READ:
                self.coordinator_for(key).read(client, key)
            elif op == traces.WRITE:
                self.coordinator_for(key).write(client, key, value=value)
            else:
                self._holds += 1
                self.updates += 1
                self.coordinator_for(key).read(client, key, partial(self._updated, value=value))
            if self._i >= len(self._at) and not self._fill():
                self._stop()
                return
            if self._at[self._i] != now:
                break
        schedule_at(self.env, Call(self._fire, None), self._at[self._i])


    def _updated(self, read: Any, *, value: str | None) -> None:
        """A trace's read-modify-write: its read returned; write (after ``rmw_gap``) what it read."""
        if read.status != 1:  # history.OK: the update is abandoned, as the rmw pattern does
            self._release()
            return
        arg = (read.client, read.key, read.op_id, read.best, value)
        if self.rmw_gap is None:
            self._rmw_value_write(arg)
        else:
            call_at(self.env, self.rmw_gap(), self._rmw_value_write, arg)

    def _rmw_value_write(self, arg: tuple[int, int, int, Any, str | None]) -> None:
        client, key, read_op, context, value = arg
        self.coordinator_for(key).write(client, key, None, context=context, update_of=read_op, value=value)
        self._release()


def make(env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor, rng_for: RngFor) -> TraceWorkload:
    return TraceWorkload(env, cfg, coordinator_for, rng_for)
