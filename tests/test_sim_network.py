"""``Network``: per-kind delays, with exact traces on constant latencies."""

from __future__ import annotations

from typing import Any

import simpy

from pbs_sim.distributions import Constant, parse
from pbs_sim.profiles import get_profile
from pbs_sim.rng import Streams
from pbs_sim.sim.network import CLIENT, Message, Network


class _Up:
    up = True


def _network() -> Network:
    env = simpy.Environment()
    net = Network(env, get_profile("exponential(w=1, ars=1)"), Constant(1.0), Streams(7).get)
    net.nodes = [_Up(), _Up()]
    return net


def test_set_delay_gives_a_kind_its_own_delay_exact_trace() -> None:
    """``set_delay("hint", constant(3))`` on a fresh network: a hint sent at 0 and one at 1 arrive at 3
    and 4, a "repair" (no own delay: ``latency.other`` = 1 ms) sent at 0 arrives at 1, and the observed
    delays are recorded per kind. (Before the fix the first send of a kind given its own delay raised
    ``KeyError``: it had a sampler but no samples list.)"""
    net = _network()
    net.set_delay("hint", parse("constant(3)"))
    log: list[tuple[str, float]] = []

    def handler(msg: Message) -> None:
        log.append((msg.kind, net.env.now))

    def later(_e: Any) -> None:
        net.send(CLIENT, 1, "hint", None, None, handler)

    assert net.send(CLIENT, 0, "hint", None, None, handler)
    assert net.send(CLIENT, 1, "repair", None, None, handler)
    net.env.timeout(1.0).callbacks.append(later)
    net.env.run()
    assert log == [("repair", 1.0), ("hint", 3.0), ("hint", 4.0)]
    assert net.samples["hint"] == [3.0, 3.0] and net.samples["repair"] == [1.0]
    assert net.sent == {"hint": 2, "repair": 1}
    assert net.delay_samples()["hint"].tolist() == [3.0, 3.0]


def test_set_delay_replaces_a_kind_already_in_use() -> None:
    """Giving a kind that already sent messages a new delay keeps its samples and uses the new delay."""
    net = _network()
    log: list[tuple[str, float]] = []
    net.send(CLIENT, 0, "ae", None, None, lambda m: log.append((m.kind, net.env.now)))
    net.set_delay("ae", Constant(2.5))
    net.send(CLIENT, 0, "ae", None, None, lambda m: log.append((m.kind, net.env.now)))
    net.env.run()
    assert log == [("ae", 1.0), ("ae", 2.5)]
    assert net.samples["ae"] == [1.0, 2.5]
