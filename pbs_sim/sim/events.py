"""Bare events: objects that sit on SimPy's event heap without being ``simpy.Event`` instances.

Owns: the one place that relies on SimPy internals. The simulator's hot paths (every message, every
timer, every workload arrival) schedule a small ``__slots__`` object straight onto the heap instead
of creating a ``simpy.Event`` or a process: about three times fewer allocations and no generator
frames per message. This works because ``Environment.step`` (SimPy 4) only

1. pops ``(time, priority, eid, event)`` from ``env._queue`` (pushed by ``env.schedule``, or by
   :func:`schedule_at` with an absolute time),
2. swaps ``event.callbacks`` for None and calls each callback with the event,
3. reads ``event._ok`` (and, if it is False, ``event._value`` to raise the failure).

``tests/test_events.py`` pins exactly that behaviour, and pyproject.toml bounds simpy below 5, so a
SimPy that changes it fails loudly in the tests instead of silently mis-scheduling.
The run loop (:func:`run_until`) is the project's own copy of ``Environment.run(until=event)``
with ``step`` inlined: the same heap, the same order, the same treatment of failed events and of a
callback that stops the simulation, without a method call and an exception frame per event (SimPy's
step was about a fifth of a plain run's time). Processes and real SimPy events run in it unchanged.
Must not touch: what any event does (callers pass their callbacks), processes (real SimPy events and
processes remain fine everywhere else).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, StopSimulation


class FastEvent:
    """An event that never fails: ``callbacks`` per instance, ``_ok`` / ``_value`` class constants
    (what SimPy's ``step`` reads). Subclasses add their own ``__slots__`` (a message's fields)."""

    __slots__ = ("callbacks",)
    _ok = True
    _value = None


class BareEvent(FastEvent):
    """The fields SimPy's ``step`` reads: ``callbacks`` (a tuple of ``fn(event)``), ``_ok``, ``_value``.

    Subclasses add their own ``__slots__``."""

    __slots__ = ("_ok", "_value")

    def __init__(self, callbacks: tuple[Callable[[Any], None], ...]) -> None:
        self.callbacks = callbacks
        self._ok = True
        self._value = None


def schedule(env: simpy.Environment, event: FastEvent, delay: float) -> None:
    """Put ``event`` on ``env``'s heap to fire ``delay`` ms from now (normal priority)."""
    env.schedule(event, NORMAL, delay)  # type: ignore[arg-type]


def scheduler(env: simpy.Environment) -> Callable[[FastEvent, float], None]:
    """A fast ``schedule(event, delay)`` bound to ``env`` (for per-message hot paths)."""
    push = env.schedule

    def sched(event: FastEvent, delay: float) -> None:
        push(event, NORMAL, delay)  # type: ignore[arg-type]

    return sched


def run_until(env: simpy.Environment, until: simpy.Event) -> Any:
    """Run ``env`` until ``until`` has been processed; its value. Exactly ``env.run(until=until)``
    (SimPy 4.1's ``run`` and ``step``), one loop instead of a ``step`` call per event."""
    if until.callbacks is None:  # already processed
        return until.value
    until.callbacks.append(StopSimulation.callback)
    queue = env._queue  # noqa: SLF001
    try:
        while True:
            if not queue:
                raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
            env._now, _, _, event = heappop(queue)  # noqa: SLF001
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            try:
                for callback in callbacks:
                    callback(event)
            except StopSimulation:
                # as SimPy does: the remaining callbacks run when the simulation resumes
                event.callbacks = callbacks[callbacks.index(callback) + 1:]
                env.schedule(event, -1)  # type: ignore[arg-type]
                raise
            if not event._ok and not hasattr(event, "_defused"):  # noqa: SLF001
                exc = type(event._value)(*event._value.args)  # noqa: SLF001
                exc.__cause__ = event._value  # noqa: SLF001
                raise exc
    except StopSimulation as stop:
        return stop.args[0]


def _fire(ev: Call) -> None:
    ev.fn(ev.arg)


_FIRE = (_fire,)


class Call(BareEvent):
    """A bare event that calls ``fn(arg)`` when it fires (one shared callback tuple, no closure)."""

    __slots__ = ("fn", "arg")

    def __init__(self, fn: Callable[[Any], None], arg: Any) -> None:
        self.callbacks = _FIRE
        self._ok = True
        self._value = None
        self.fn = fn
        self.arg = arg


def call_at(env: simpy.Environment, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
    """Run ``fn(arg)`` after ``delay`` ms of simulated time (no process, one heap entry)."""
    env.schedule(Call(fn, arg), NORMAL, delay)  # type: ignore[arg-type]


def schedule_at(env: simpy.Environment, event: FastEvent | simpy.Event, at: float) -> None:
    """Put ``event`` on ``env``'s heap to fire at the instant ``at`` exactly (normal priority; ``at``
    before now: now). ``env.schedule`` takes a delay and fires at ``now + delay``; with ``delay = at -
    now`` both steps round, and when ``at`` is much larger than ``now`` the sum can miss ``at`` by an
    ulp — with no delay that lands on it at all (``now = 1027.0870586627352``, ``at =
    100013.24566378786``). This pushes the heap entry ``env.schedule`` would, with the time itself."""
    n = env._now  # noqa: SLF001
    heappush(env._queue, (at if at > n else n, NORMAL, next(env._eid), event))  # type: ignore[misc]  # noqa: SLF001


def timeout_at(env: simpy.Environment, at: float) -> simpy.Event:
    """A triggered event, like ``env.timeout``, that a process can yield to resume at ``at`` exactly."""
    ev = simpy.Event(env)
    ev._ok = True  # noqa: SLF001  (what Timeout.__init__ sets: a triggered, successful event)
    ev._value = None  # noqa: SLF001
    schedule_at(env, ev, at)
    return ev


def now(env: simpy.Environment) -> float:
    """``env.now`` without the property call (hot paths)."""
    return env._now  # type: ignore[no-any-return]  # noqa: SLF001
