"""Operation timeouts (``pbs_sim.sim.coordinator.Deadlines``): a timer is stale by identity, never by
comparing float times, so no operation is left outstanding.

SimPy lands a timer armed at ``now`` for deadline ``at`` at ``now + (at - now)``, which can be one
ulp before ``at``. The old queue took such a timer for a superseded one, dropped it and never re-armed:
the run raised SimPy's "No scheduled events left" (or, with anti-entropy keeping the clock going,
never ended). Every run here is bounded by a count of events, never by wall-clock time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import simpy

from pbs_sim.config import scenario_from_dict
from pbs_sim.rng import Streams
from pbs_sim.sim import coordinator
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.coordinator import Deadlines
from pbs_sim.sim.events import BareEvent, schedule, schedule_at, timeout_at


class _Op:
    """The part of an operation ``Deadlines`` uses: ``done`` and ``expire(at)``."""

    def __init__(self, deadlines: Deadlines, deadline: float) -> None:
        self.deadlines = deadlines
        self.deadline = deadline
        self.done = False
        self.expired_at = math.nan

    def expire(self, at: float) -> None:
        self.done = True
        self.expired_at = at
        self.deadlines.finished()


# A pair SimPy rounds badly: a timer armed at NOW0 for deadline D lands one ulp before D (found in the
# run below: seed 172, a read's 100 s deadline re-armed after a write's 1 s one expired).
NOW0 = 1027.0870586627352
D = 100013.24566378786


def _rearmed(env: simpy.Environment) -> tuple[Deadlines, _Op, _Op]:
    dl = Deadlines(env)
    first, second = _Op(dl, NOW0), _Op(dl, D)
    dl.add(NOW0, first)  # type: ignore[arg-type]  # armed at 0 for NOW0: lands exactly
    dl.add(D, second)  # type: ignore[arg-type]  # queued behind it; re-armed at NOW0 for D when the first expires
    return dl, first, second


def test_rearmed_timer_landing_one_ulp_early_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer for D is armed with SimPy's plain delay ``D - NOW0``, which lands one ulp early: the
    queue must take it for the live timer (identity), not for a stale one (time), and expire D."""
    landed = NOW0 + (D - NOW0)  # where SimPy puts a timer armed at NOW0 with delay D - NOW0
    assert landed == math.nextafter(D, -math.inf)  # the premise: one ulp early
    monkeypatch.setattr(coordinator, "schedule_at", lambda env, ev, at: schedule(env, ev, max(0.0, at - env.now)))
    env = simpy.Environment()
    dl, first, second = _rearmed(env)
    env.run()
    assert first.expired_at == NOW0
    assert second.done, "the re-armed timer was dropped as stale"
    assert second.expired_at == landed
    assert dl.outstanding == 0


def test_rearmed_timer_lands_on_its_deadline() -> None:
    env = simpy.Environment()
    dl, first, second = _rearmed(env)
    env.run()
    assert (first.expired_at, second.expired_at, dl.outstanding) == (NOW0, D, 0)


def test_schedule_at_lands_exactly_where_a_delay_cannot() -> None:
    """No delay lands an event scheduled at NOW0 on D (the sums round to the ulps either side); an
    absolute heap entry does, and keeps SimPy's FIFO order among simultaneous events."""
    near, up, down = {D - NOW0}, D - NOW0, D - NOW0
    for _ in range(3):
        up, down = math.nextafter(up, math.inf), math.nextafter(down, -math.inf)
        near |= {up, down}
    assert all(NOW0 + d != D for d in near)
    env = simpy.Environment()
    env.run(until=NOW0)
    log: list[tuple[str, float]] = []
    schedule_at(env, BareEvent((lambda e: log.append(("bare", env.now)),)), D)
    env.timeout(D - NOW0).callbacks.append(lambda e: log.append(("timeout", env.now)))  # type: ignore[union-attr]

    def proc() -> Any:
        yield timeout_at(env, D)
        log.append(("process", env.now))

    env.process(proc())
    schedule_at(env, BareEvent((lambda e: log.append(("past", env.now)),)), 1.0)  # before now: now
    env.run()
    assert log == [("past", NOW0), ("timeout", math.nextafter(D, -math.inf)), ("bare", D), ("process", D)]


def test_scripted_fault_and_clock_jump_happen_at_at_ms() -> None:
    """A scripted crash / recover / clock jump at ``at_ms`` happens at exactly that instant. The
    faults run their schedule in one process, so the recover at D was a timeout of D - NOW0 from the
    crash at NOW0 and happened one ulp early; clock jumps each wait from t = 0 (exact either way)."""
    sc = scenario_from_dict({
        "workload": {"keys": 2, "duration_ms": 1, "rate_per_s": 1000, "warmup_ms": 0},
        "faults": {"schedule": [{"at_ms": NOW0, "action": "crash", "nodes": [0]},
                                {"at_ms": D, "action": "recover", "nodes": [0]},
                                {"at_ms": NOW0, "action": "clock-jump", "nodes": [1], "jump_ms": 5.0},
                                {"at_ms": D, "action": "clock-jump", "nodes": [1], "jump_ms": 5.0}]},
    })
    m = build(sc, Streams(1))
    m.start()
    m.env.run(until=D + 1.0)
    faults = m.history.to_frame("faults")
    assert list(faults["at"]) == [NOW0, D]
    assert list(m.history.to_frame("clock_events")["at"]) == [NOW0, D]


def test_superseded_timer_is_ignored_and_deadlines_expire_in_order() -> None:
    """An out-of-order (earlier) deadline re-arms the timer; the superseded timer still fires at its
    time and must neither expire anything early nor re-arm twice."""
    env = simpy.Environment()
    dl = Deadlines(env)
    fires: list[float] = []
    fire = dl._fire  # noqa: SLF001

    def counted(event: Any) -> None:
        if event is dl._timer:  # noqa: SLF001  (the live timer; stale ones are ignored by _fire)
            fires.append(env.now)
        fire(event)

    dl._callbacks = (counted,)  # noqa: SLF001
    late, early, between = _Op(dl, 100.0), _Op(dl, 50.0), _Op(dl, 75.0)
    dl.add(100.0, late)  # type: ignore[arg-type]  # a stand-in op
    dl.add(50.0, early)  # type: ignore[arg-type]  # out of order: the heap; supersedes the timer armed for 100
    dl.add(75.0, between)  # type: ignore[arg-type]  # a stand-in op
    env.run()
    assert (early.expired_at, between.expired_at, late.expired_at) == (50.0, 75.0, 100.0)
    assert fires == [50.0, 75.0, 100.0]
    assert dl.outstanding == 0


def _lossy(seed: int, merkle: bool) -> Model:
    """The setting of the report: read timeout 100 s, write timeout 1 s, 30 % message loss; a few
    operations on a few keys, so hundreds of seeds stay cheap."""
    raw: dict[str, Any] = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                    "read_timeout_ms": 100_000.0, "write_timeout_ms": 1_000.0},
        "workload": {"keys": 5, "duration_ms": 30, "rate_per_s": 1000, "warmup_ms": 0},
        "faults": {"message_loss": 0.3},
        "run": {"seed": seed},
    }
    if merkle:
        raw["anti_entropy"] = {"mode": "merkle", "interval": 1000}
    return build(scenario_from_dict(raw), Streams(seed))


MAX_EVENTS = 20_000  # a finished run of this setting takes < 2,000 events (merkle on)


def _run_bounded(m: Model) -> str:
    """Step ``m`` until every operation is issued and finished; why it stopped otherwise."""
    env = m.env
    m.start()
    for _ in range(MAX_EVENTS):
        if m.workload.issuing_done and m.deadlines.outstanding == 0:
            return "done"
        if env.peek() == math.inf:
            return f"no scheduled events left with {m.deadlines.outstanding} operations outstanding"
        env.step()
    return f"{MAX_EVENTS} events and {m.deadlines.outstanding} operations still outstanding"


@pytest.mark.parametrize(("merkle", "seeds"), [(False, range(500)), (True, range(300))])
def test_lossy_runs_finish_every_operation(merkle: bool, seeds: range) -> None:
    """Seeds 172 and 402 (of these 500) left operations outstanding forever before the fix."""
    stuck = []
    timed_out = 0
    for seed in seeds:
        m = _lossy(seed, merkle)
        why = _run_bounded(m)
        ops = m.history.to_frame("ops")
        status = ops["status"].astype(str)
        if why != "done" or not status.isin(["ok", "timeout"]).all():
            stuck.append((seed, why, status.value_counts().to_dict()))
            continue
        assert np.isfinite(ops["completed_at"]).all()
        # a timeout is recorded at its deadline (or within rounding of it), never early
        t = ops[status == "timeout"]
        limit = np.where(t["kind"].astype(str) == "read", 100_000.0, 1_000.0)
        deadline = t["issued_at"].to_numpy() + limit
        assert np.all(np.abs(t["completed_at"].to_numpy() - deadline) <= 2 * np.spacing(deadline))
        timed_out += len(t)
    assert not stuck, stuck
    assert timed_out > len(seeds)  # the setting really exercises the timeouts
