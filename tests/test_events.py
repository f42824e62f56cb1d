"""Pin the SimPy behaviour that the bare events of ``pbs_sim.sim.events`` rely on.

If a SimPy release changes how ``Environment.step`` treats the objects on its heap, these tests fail
(and pyproject.toml bounds simpy below 5 so such a release is not picked up silently)."""

from __future__ import annotations

from typing import Any

import pytest
import simpy

from pbs_sim.sim.events import BareEvent, Call, call_at, now, schedule, scheduler


def test_a_bare_event_fires_its_callbacks_once_at_its_time_with_itself() -> None:
    env = simpy.Environment()
    seen: list[tuple[float, Any]] = []
    ev = BareEvent((lambda e: seen.append((env.now, e)), lambda e: seen.append((env.now, "second"))))
    schedule(env, ev, 2.5)
    env.run()
    assert seen == [(2.5, ev), (2.5, "second")]
    assert ev.callbacks is None  # SimPy swaps the callbacks out before calling them


def test_simultaneous_bare_events_fire_in_scheduling_order_among_real_events() -> None:
    """Same instant, same priority: FIFO by SimPy's event id, bare and real events alike."""
    env = simpy.Environment()
    log: list[str] = []
    sched = scheduler(env)
    sched(BareEvent((lambda e: log.append("bare-1"),)), 1.0)
    env.timeout(1.0).callbacks.append(lambda e: log.append("timeout"))  # type: ignore[union-attr]
    call_at(env, 1.0, log.append, "call")
    sched(BareEvent((lambda e: log.append("bare-2"),)), 1.0)
    env.run()
    assert log == ["bare-1", "timeout", "call", "bare-2"]


def test_a_process_can_wait_for_time_while_bare_events_run() -> None:
    env = simpy.Environment()
    log: list[tuple[str, float]] = []

    def proc(env: simpy.Environment) -> Any:
        yield env.timeout(3.0)
        log.append(("proc", env.now))

    env.process(proc(env))
    call_at(env, 1.0, lambda _: log.append(("call", now(env))))
    env.run(until=10.0)
    assert log == [("call", 1.0), ("proc", 3.0)]


def test_run_until_an_event_stops_between_bare_events() -> None:
    env = simpy.Environment()
    done = env.event()
    log: list[float] = []
    for t in (1.0, 2.0, 3.0):
        call_at(env, t, lambda _, t=t: log.append(t))
    call_at(env, 2.0, lambda _: done.succeed())
    env.run(until=done)
    assert log == [1.0, 2.0] and env.now == 2.0


def test_a_failed_bare_event_crashes_the_run_like_a_failed_simpy_event() -> None:
    """SimPy reads ``_ok``/``_value``: the fields must exist and mean what they mean for Event."""
    env = simpy.Environment()
    ev = Call(lambda _: None, None)
    ev._ok = False  # noqa: SLF001
    ev._value = ValueError("boom")  # type: ignore[assignment]  # noqa: SLF001
    schedule(env, ev, 0.0)
    with pytest.raises(ValueError, match="boom"):
        env.run()


def test_simpy_is_the_major_version_we_pinned() -> None:
    assert simpy.__version__.split(".")[0] == "4"
