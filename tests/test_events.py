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


def _trace_model(env: simpy.Environment, log: list[Any]) -> simpy.Event:
    """Processes, bare events, calls and a done event at once: the trace both loops must give."""
    done = env.event()

    def proc(env: simpy.Environment, name: str, gap: float) -> Any:
        for _ in range(3):
            yield env.timeout(gap)
            log.append((name, env.now))

    env.process(proc(env, "p", 1.5))
    env.process(proc(env, "q", 1.0))
    def note(t: float) -> None:
        log.append(("call", t))

    def finish(_: Any) -> None:
        done.succeed("v")

    for t in (0.5, 1.0, 3.0, 9.0):
        call_at(env, t, note, t)
    schedule(env, BareEvent((lambda e: log.append(("bare", env.now)),)), 1.0)
    call_at(env, 4.0, finish)
    return done


def test_run_until_is_simpys_run_until_an_event() -> None:
    from pbs_sim.sim.events import run_until

    logs: list[list[Any]] = [[], []]
    env_a, env_b = simpy.Environment(), simpy.Environment()
    done_a, done_b = _trace_model(env_a, logs[0]), _trace_model(env_b, logs[1])
    assert env_a.run(until=done_a) == run_until(env_b, done_b) == "v"
    assert logs[0] == logs[1] and env_a.now == env_b.now == 4.0
    assert ("call", 9.0) not in logs[1]  # stopped at the done event, later events left on the heap
    assert run_until(env_b, done_b) == "v"  # already processed: its value at once


def test_run_until_raises_a_failed_event_and_an_empty_schedule() -> None:
    from pbs_sim.sim.events import run_until

    env = simpy.Environment()
    ev = env.event()
    ev.fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        run_until(env, env.event())
    env = simpy.Environment()
    call_at(env, 1.0, lambda _: None)
    with pytest.raises(RuntimeError, match="No scheduled events left"):
        run_until(env, env.event())
