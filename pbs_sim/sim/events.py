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
Must not touch: what any event does (callers pass their callbacks), processes (real SimPy events and
processes remain fine everywhere else).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.core import NORMAL


class BareEvent:
    """The fields SimPy's ``step`` reads: ``callbacks`` (a tuple of ``fn(event)``), ``_ok``, ``_value``.

    Subclasses add their own ``__slots__`` (e.g. a message's fields)."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callbacks: tuple[Callable[[Any], None], ...]) -> None:
        self.callbacks = callbacks
        self._ok = True
        self._value = None


def schedule(env: simpy.Environment, event: BareEvent, delay: float) -> None:
    """Put ``event`` on ``env``'s heap to fire ``delay`` ms from now (normal priority)."""
    env.schedule(event, NORMAL, delay)  # type: ignore[arg-type]


def scheduler(env: simpy.Environment) -> Callable[[BareEvent, float], None]:
    """A fast ``schedule(event, delay)`` bound to ``env`` (for per-message hot paths)."""
    push = env.schedule

    def sched(event: BareEvent, delay: float) -> None:
        push(event, NORMAL, delay)  # type: ignore[arg-type]

    return sched


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


def schedule_at(env: simpy.Environment, event: BareEvent | simpy.Event, at: float) -> None:
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
