"""The scripted workload on the simulator: a :class:`~pbs_sim.scripts.Script` issued line by line.

Owns: issuing each line at its ``at_ms`` through its coordinator (the line's ``coordinator`` column,
else ``cluster.coordinator``'s choice), the contexts a write carries (``none``, ``last-read``,
``last-reply`` or an earlier line's id, resolved when the write is issued to what the client has
received by then) and the read-modify-write lines (read, ``workload.rmw_gap`` after it returns,
write carrying that read). Must not touch: the protocol (coordinators), metrics, the file format
(``pbs_sim.scripts``).

Every operation is measured (a script has no warm-up: ``workload.warmup_ms`` does not apply), and
issuing ends once the last line is issued and every rmw line has written (or its read failed).
Lines are scheduled one at a time (the next line's event is armed when a line is issued), so a long
script costs one pending event, not one per line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from ..config import WorkloadConfig
from ..distributions import BufferedSampler, Constant
from ..history import OK
from ..scripts import LAST_READ, LAST_REPLY, NONE, Script, ScriptOp
from .coordinator import Coordinator, ReadOp, WriteOp
from .events import call_at
from .workload import CoordinatorFor, RngFor, Workload


class ScriptWorkload(Workload):
    """``workload.kind = "script"`` (see the module docstring)."""

    kind = "script"

    def __init__(self, env: simpy.Environment, cfg: WorkloadConfig, coordinator_for: CoordinatorFor,
                 rng_for: RngFor) -> None:
        super().__init__(env, cfg, coordinator_for, rng_for)
        assert cfg.script is not None, "kind = 'script' needs workload.script (the config checks it)"
        self.script: Script = cfg.script
        self.coordinators: dict[int, Coordinator] | None = None  # set by the model builder
        gap = cfg.rmw_gap
        self._gap: Callable[[], float] | None = (
            None if isinstance(gap, Constant) and gap.value == 0.0 else BufferedSampler(gap, rng_for("rmw-gap")))
        self._keys: list[int] = []
        self._next_line = 0
        self._holds = 1  # issuing the lines; + each rmw between its read and its write
        self.last_read: dict[tuple[int, int], Any] = {}  # (client, key) -> the state its latest read returned
        self.last_reply: dict[tuple[int, int], Any] = {}  # (client, key) -> its latest write's reply
        self.by_id: dict[str, ReadOp | WriteOp] = {}  # a line's id -> its operation (an rmw: its write)
        self.issued_ops: list[ReadOp | WriteOp] = []  # per line, the operation it issued (an rmw: its read)
        self.rmw_writes: dict[int, WriteOp] = {}  # line index -> the write an rmw line issued

    @property
    def warmup_ms(self) -> float:
        return 0.0

    @property
    def measure_from_ms(self) -> float:
        return 0.0

    @property
    def expected_end_ms(self) -> float:
        return self.script.end_ms

    def start(self) -> None:
        ks = self.keyspace
        self._keys = [ks.index(o.key) if ks is not None else int(o.key) for o in self.script.ops]
        self._arm()

    def _begin(self) -> None:  # start() does it all (no preload)
        raise NotImplementedError

    # -- issuing ------------------------------------------------------------------------------------
    def _arm(self) -> None:
        ops = self.script.ops
        i = self._next_line
        if i >= len(ops):
            self._release()
            return
        call_at(self.env, max(ops[i].at_ms - self.env.now, 0.0), self._issue_due, None)

    def _issue_due(self, _arg: Any) -> None:
        ops = self.script.ops
        now = self.env.now
        while self._next_line < len(ops) and ops[self._next_line].at_ms <= now:
            i = self._next_line
            self._next_line += 1
            self._issue(i, ops[i])
        self._arm()

    def _coordinator(self, o: ScriptOp, key: int) -> Coordinator:
        if o.coordinator is not None and self.coordinators is not None:
            return self.coordinators[o.coordinator]
        return self.coordinator_for(key)

    def _issue(self, i: int, o: ScriptOp) -> None:
        key = self._keys[i]
        self.issued += 1
        coord = self._coordinator(o, key)
        if o.op == "read":
            op: ReadOp | WriteOp = coord.read(o.client, key, self._read_done)
        elif o.op == "write":
            context, update_of = self._context(o, key)
            op = coord.write(o.client, key, self._write_done, context=context, update_of=update_of, value=o.value)
        else:  # rmw: the read now, the write once it returns
            self._holds += 1
            op = coord.read(o.client, key, self._rmw_callback(i))
        self.issued_ops.append(op)
        if o.id is not None and o.op != "rmw":
            self.by_id[o.id] = op

    def _context(self, o: ScriptOp, key: int) -> tuple[Any, int | None]:
        """(the state the write carries, the read it updates) for a write line, as the client has
        them now: a reference to something not returned (yet) is no context -- a blind write."""
        ck = (o.client, key)
        if o.context == NONE:
            return None, None
        if o.context == LAST_READ:
            got = self.last_read.get(ck)
            return (None, None) if got is None else (got[0], got[1])
        if o.context == LAST_REPLY:
            return self.last_reply.get(ck), None
        ref = self.by_id.get(o.context)
        if ref is None or not ref.done or ref.status != OK:
            return None, None
        if isinstance(ref, ReadOp):
            return ref.best, ref.op_id
        return ref.returned, None

    # -- completions -------------------------------------------------------------------------------
    def _read_done(self, op: ReadOp) -> None:
        if op.status == OK:
            self.last_read[(op.client, op.key)] = (op.best, op.op_id)

    def _write_done(self, op: WriteOp) -> None:
        if op.status == OK:
            self.last_reply[(op.client, op.key)] = op.returned

    def _rmw_callback(self, i: int) -> Callable[[Any], None]:
        def done(op: Any) -> None:
            self._rmw_read_done(i, op)

        return done

    def _rmw_read_done(self, i: int, op: ReadOp) -> None:
        self._read_done(op)
        if op.status != OK:  # the update is abandoned
            self._release()
            return
        if self._gap is None:
            self._rmw_write((i, op))
        else:
            call_at(self.env, self._gap(), self._rmw_write, (i, op))

    def _rmw_write(self, arg: tuple[int, ReadOp]) -> None:
        i, rd = arg
        o = self.script.ops[i]
        key = self._keys[i]
        w = self._coordinator(o, key).write(o.client, key, self._write_done, context=rd.best, update_of=rd.op_id,
                                            value=o.value)
        if o.id is not None:
            self.by_id[o.id] = w
        self.rmw_writes[i] = w
        self._release()

    def _release(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._stop()


__all__ = ["ScriptWorkload"]
