"""Read repair: exact traces with constant 1 ms latencies, the read-repair chance, and the metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.metrics.repair import repair_summary, repairs_per_key
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.sim.network import CLIENT
from pbs_sim.simulation import simulate


def _model(rr: dict[str, Any], **cluster: Any) -> Any:
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1,
                    "write_fanout": "quorum", "replica_choice": "preference", **cluster},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0},
        "read_repair": rr,
    })
    m = build(sc, Streams(1))
    m.started = True
    return m


def test_async_repair_of_late_stale_responders() -> None:
    """Write at 0 reaches only the first preferred replica p0 (t=1). Read at 10 asks all three; all
    replies land at 12, p0's first (sent first): the read returns v1 at 12; the two late replies are
    empty -> async repairs sent at 12, applied at 13."""
    m = _model({"mode": "async", "window_ms": 100})
    c = m.coordinators[CLIENT]
    prefs = m.ring.preference_list(0)
    c.write(0, 0)
    m.env.run(until=10)
    op = c.read(1, 0)
    m.env.run(until=20)
    assert op.completed_at == 12.0 and op.best[1] == 1
    rp = m.history.to_frame("repairs")
    assert rp[["at", "node", "version", "late", "applied", "applied_at"]].values.tolist() == [
        [12.0, prefs[1], 1, 1, 1, 13.0], [12.0, prefs[2], 1, 1, 1, 13.0]]
    assert all(n.store.get(0) == (0.0, 1) for n in m.nodes)
    ap = m.history.to_frame("applies")
    assert ap["via"].astype(str).tolist() == ["write", "repair", "repair"]


def test_blocking_repair_delays_the_answer_until_acked() -> None:
    """R = 2: the first two replies (p0 with v1, p1 empty) land at 12; p1 is stale, so the read waits
    for the repair (sent 12, applied 13, acked 14) and completes at 14."""  # noqa: D401
    m = _model({"mode": "blocking", "window_ms": 100}, read_quorum=2)
    c = m.coordinators[CLIENT]
    prefs = m.ring.preference_list(0)
    c.write(0, 0)
    m.env.run(until=10)
    op = c.read(1, 0)
    m.env.run(until=20)
    assert op.completed_at == 14.0 and op.best[1] == 1
    rp = m.history.to_frame("repairs")
    # p2's reply (also at 12, after the R-th) is late: it gets an asynchronous repair
    assert rp[["node", "late", "applied"]].values.tolist() == [[prefs[1], 0, 1], [prefs[2], 1, 1]]


def test_window_limits_late_repairs() -> None:
    """Replies within window_ms of the quorum are compared; a reply after it is ignored."""
    m = _model({"mode": "async", "window_ms": 0.5}, read_quorum=1)
    c = m.coordinators[CLIENT]
    rr = m.parts["read_repair"]
    prefs = m.ring.preference_list(0)
    c.write(0, 0)
    m.env.run(until=10)
    op = c.read(1, 0)
    m.env.run(until=20)
    assert len(m.history.to_frame("repairs")) == 2  # both late replies came at 12 = the quorum time
    m.nodes[prefs[1]].store.clear()
    rr.on_late(c, op, prefs[1], None)  # a reply 8 ms after the quorum: outside the 0.5 ms window
    assert len(m.history.to_frame("repairs")) == 2


def test_off_mode_installs_nothing_and_chance_fans_out() -> None:
    m = _model({"mode": "off"})
    assert "read_repair" not in m.parts and not m.coordinators[CLIENT].read_hooks
    m2 = _model({"mode": "async", "chance": 1.0}, read_fanout="quorum")
    op = m2.coordinators[CLIENT].read(0, 0)
    assert len(op.targets) == 3


def test_read_repair_chance_is_a_probability() -> None:
    m = _model({"mode": "async", "chance": 0.3}, read_fanout="quorum")
    c = m.coordinators[CLIENT]
    fan = np.array([len(c.read(0, 0).targets) == 3 for _ in range(4000)])
    assert abs(fan.mean() - 0.3) < 4 * np.sqrt(0.21 / 4000)


def test_repair_metrics_in_a_run() -> None:
    sc = scenario_from_dict({
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"keys": 50, "rate_per_s": 2000, "duration_ms": 3000, "warmup_ms": 0},
        "read_repair": {"mode": "async", "window_ms": 200},
    })
    res = simulate(sc, seed=3)
    s = res.summary()
    fr = res.frames()
    assert s["repairs_sent"] == len(fr["repairs"]) > 0
    assert 0 < s["repairs_applied"] <= s["repairs_sent"]
    assert s["repairs_per_read"] >= s["stale_responder_read_fraction"] > 0
    ops = res.history.to_frame("ops")
    per_key = repairs_per_key(ops, fr["repairs"])
    assert per_key["repairs_sent"].sum() == pytest.approx(s["repairs_sent"])
    assert repair_summary(ops, None)["repairs_per_read"] == 0.0
