"""Common random numbers in the simulator: per-link latency and loss streams, the coordinator's
uniform draws split by purpose, and ``Network.set_links`` / ``link_factor`` (issue 19).

docs/design.md, "Randomness and reproducibility": switching a mechanism on (which sends its own
message kinds, or more messages on other links) must leave every other component's draws as they
were. The first two tests run one seeded scenario twice, with a mechanism off and on, and ask that
what the mechanism does not touch is identical (not merely close): the client messages lost, and
every write's latency. The last ones check ``set_links`` on a bare network: exact sums for constant
laws, and a non-constant law's mean within a stated confidence interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import simpy

from pbs_sim.config import scenario_from_dict
from pbs_sim.distributions import Constant, Exponential
from pbs_sim.profiles import get_profile
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.sim.network import CLIENT, Message, Network

CLIENT_KINDS = ("W", "A", "R", "S")


def _raw(coordinator: str, **sections: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2,
                    "coordinator": coordinator},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"kind": "open", "keys": 40, "read_fraction": 0.6, "rate_per_s": 3000.0,
                     "duration_ms": 400.0, "warmup_ms": 0.0},
        "faults": {"message_loss": 0.05},
        "run": {"seed": 11},
    }
    raw.update(sections)
    return raw


def _dropped_client_messages(raw: dict[str, Any]) -> tuple[set[tuple[str, int, int, int]], int]:
    """(the W/A/R/S messages dropped at send time, as (kind, src, dst, op id); how many "ae" were sent)."""
    model = build(scenario_from_dict(raw))
    lost: set[tuple[str, int, int, int]] = set()

    def note(msg: Message, reason: str) -> None:
        if msg.kind in CLIENT_KINDS and reason == "loss":
            lost.add((msg.kind, msg.src, msg.dst, msg.op.op_id))

    model.network.on_drop.append(note)
    model.run()
    return lost, model.network.sent.get("ae", 0)


@pytest.mark.parametrize("coordinator", ["client", "random"])
def test_anti_entropy_leaves_the_lost_client_messages_unchanged(coordinator: str) -> None:
    """With 5 % message loss, turning Merkle anti-entropy on (it sends "ae" messages between the
    nodes, on the links node coordinators use too) loses exactly the same client messages: loss is
    drawn per (kind, link) stream, so the exchanges take no draw from the requests' streams. (On a
    network with one loss stream for every message, the exchanges' draws shift every later loss.)"""
    off, ae_off = _dropped_client_messages(_raw(coordinator))
    on, ae_on = _dropped_client_messages(_raw(coordinator, anti_entropy={
        "mode": "merkle", "interval": "exponential(mean=5)", "tree_depth": 4}))
    assert ae_off == 0 and ae_on > 100  # the mechanism did run, and sent plenty
    assert len(off) > 50  # enough losses for a shift to show
    assert on == off


def _write_latencies(raw: dict[str, Any]) -> tuple[dict[int, float], int]:
    model = build(scenario_from_dict(raw))
    hist = model.run()
    ops = hist.to_frame()
    writes = ops[ops.kind == "write"]
    lat = dict(zip(writes.op_id.tolist(), (writes.completed_at - writes.issued_at).tolist(), strict=True))
    return lat, int((ops[ops.kind == "read"].asked == 3).sum())


@pytest.mark.parametrize("profile", ["lnkd-disk", "wan"])
def test_read_repair_chance_leaves_write_latencies_unchanged(profile: str) -> None:
    """A read-repair chance of 0.1 (with ``read_fanout = "quorum"``: a tenth of the reads ask all N)
    changes which reads fan out and adds repair traffic, but no write's latency: the chance draws
    from its own stream ("read-repair-chance"), so write subsets and (on the WAN profile) the
    WAN-local replica stay as they were, and each link's latency stream is its own. (With one
    "replica-choice" stream for all three, the WAN-local choices of later writes shift.)"""
    cluster = {"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2, "coordinator": "client",
               "read_fanout": "quorum", "write_fanout": "quorum"}
    base = _raw("client", cluster=cluster, latency={"profile": profile}, faults={})
    off, asked_all_off = _write_latencies({**base, "read_repair": {"mode": "async", "chance": 0.0}})
    on, asked_all_on = _write_latencies({**base, "read_repair": {"mode": "async", "chance": 0.1}})
    assert asked_all_off == 0 and asked_all_on > 20  # the chance did send reads to all N
    assert len(off) > 300
    assert on == off


# -- set_links on a bare network ------------------------------------------------------------------

class _Up:
    up = True


def _network(seed: int = 7) -> Network:
    env = simpy.Environment()
    net = Network(env, get_profile("exponential(w=1, ars=1)"), Constant(1.0), Streams(seed).get)
    net.nodes = [_Up() for _ in range(4)]
    return net


def _classify(src: int, dst: int) -> str:
    """Nodes 0, 1 (and the client) in DC "a", nodes 2, 3 in DC "b"."""
    def dc(ep: int) -> str:
        return "a" if ep < 2 else "b"

    a, b = sorted((dc(src), dc(dst)))
    return "intra_dc" if a == b else f"{a}|{b}"


def _arrivals(net: Network, sends: list[tuple[int, int, str]]) -> list[float]:
    """Send each (src, dst, kind) at time 0 (``latency.other`` = 1 ms for kind "x"); arrival times in order."""
    got: dict[int, float] = {}
    for i, (src, dst, kind) in enumerate(sends):
        net.send(src, dst, kind, i, None, lambda m: got.__setitem__(m.op, net.env.now))
    net.env.run()
    return [got[i] for i in range(len(sends))]


def test_constant_link_laws_add_exactly_their_value_and_the_factor_scales_it() -> None:
    """Kind "x" takes 1 ms (``latency.other``); the link a|b adds a constant 5 ms and intra-DC links
    a constant 0: a message inside a DC arrives at 1, across at 6; with ``link_factor["a|b"] = 3``
    across at 16 (only the link part is scaled); cleared, at 6 again."""
    net = _network()
    net.set_links(_classify, {"intra_dc": Constant(0.0), "a|b": Constant(5.0)})
    assert _arrivals(net, [(0, 1, "x"), (0, 2, "x"), (CLIENT, 3, "x"), (3, 2, "x")]) == [1.0, 6.0, 6.0, 1.0]
    net.link_factor["a|b"] = 3.0
    t0 = net.env.now
    assert [t - t0 for t in _arrivals(net, [(0, 1, "x"), (1, 3, "x")])] == [1.0, 16.0]
    net.link_factor = {}  # assigning replaces the contents the samplers read
    t0 = net.env.now
    assert [t - t0 for t in _arrivals(net, [(1, 3, "x")])] == [6.0]
    assert net.samples["x"] == [1.0, 6.0, 6.0, 1.0, 1.0, 16.0, 6.0]


def test_constant_zero_links_draw_nothing() -> None:
    """All-zero constant laws give exactly the delays of a network without links (same streams, no
    draw taken from them), for the profile's random W latencies."""
    sends = [(CLIENT, d % 4, "W") for d in range(50)] + [(d % 4, CLIENT, "A") for d in range(50)]
    plain = _arrivals(_network(), sends)
    net = _network()
    net.set_links(_classify, {"intra_dc": Constant(0.0), "a|b": Constant(0.0)})
    assert _arrivals(net, sends) == plain
    assert len(set(plain)) > 50  # random delays indeed


def test_a_missing_link_class_is_a_clear_error() -> None:
    net = _network()
    net.set_links(_classify, {"intra_dc": Constant(0.0)})
    with pytest.raises(KeyError, match="no law for link class 'a|b'"):
        net.send(0, 2, "x", None, None, lambda m: None)


def test_a_random_link_law_has_its_mean_and_the_factor_scales_it() -> None:
    """Link a|b draws exponential(mean=10) on top of kind "x"'s 1 ms: over n = 4000 messages the
    mean extra delay is within 4 standard errors (sd = mean for an exponential: 4 * 10 / sqrt(4000)
    = 0.63 ms; a false failure has probability about 6e-5) of 10, and with ``link_factor = 2`` of 20
    (4 * 20 / sqrt(4000))."""
    n = 4000
    for factor, mean in ((1.0, 10.0), (2.0, 20.0)):  # law mean 10, scaled
        net = _network(seed=3 if factor == 1.0 else 4)
        net.set_links(_classify, {"intra_dc": Constant(0.0), "a|b": Exponential(1.0 / 10.0)})
        if factor != 1.0:
            net.link_factor["a|b"] = factor
        extra = np.asarray(_arrivals(net, [(i % 2, 2 + i % 2, "x") for i in range(n)])) - 1.0
        se = mean / math.sqrt(n)
        assert abs(extra.mean() - mean) < 4 * se, (factor, extra.mean())
        assert extra.min() > 0.0


def test_each_link_has_its_own_stream() -> None:
    """The delays of the messages on link client -> 0 are the same whether or not messages (of
    the same kind) go to other nodes in between; and two links' delays differ."""
    alone = _arrivals(_network(), [(CLIENT, 0, "W") for _ in range(30)])
    mixed = _arrivals(_network(), [(CLIENT, i % 3, "W") for i in range(90)])
    assert mixed[0::3] == alone
    assert mixed[1::3] != alone


def test_loss_is_drawn_per_link_and_kind() -> None:
    """With message loss, which W messages on link client -> 0 are lost does not depend on "ae"
    messages sent on the same link, nor on W messages to other nodes."""
    def lost(sends: list[tuple[int, int, str]]) -> list[int]:
        net = _network()
        net.message_loss = 0.3
        out: list[int] = []
        net.on_drop.append(lambda m, r: out.append(m.op))
        _arrivals_lossy(net, sends)
        return [i for i in out if sends[i] == (CLIENT, 0, "W")]

    alone = [(CLIENT, 0, "W")] * 100
    mixed = [s for _ in range(100) for s in ((CLIENT, 0, "W"), (CLIENT, 0, "ae"), (CLIENT, 1, "W"))]
    a, m = lost(alone), lost(mixed)
    assert 10 < len(a) < 60
    assert [i // 3 for i in m] == a


def _arrivals_lossy(net: Network, sends: list[tuple[int, int, str]]) -> None:
    for i, (src, dst, kind) in enumerate(sends):
        net.send(src, dst, kind, i, None, lambda m: None)
    net.env.run()
