"""Speculative retry (issue 19, item 7): exact traces, the config key's errors, and the extra-read
fraction against the latency law's tail probability.

Traces: constant 1 ms per message, a 4-node ring, N = 3, R = 1, read fan-out ``quorum`` with the
preference-list choice, so a read asks the key's first replica only. Key ``KEY`` has preference list
(2, 1, 0) (asserted). Crashing node 2 makes it the slow replica: it never answers."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.history import OK, TIMEOUT
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.network import CLIENT
from pbs_sim.sim.speculative import EVERY, Estimate, parse
from pbs_sim.simulation import simulate

KEY = 5


def model(retry: str, fanout: str = "quorum", coordinator: str = "client") -> Model:
    raw: dict[str, Any] = {
        "cluster": {"nodes": 4, "replication": 3, "read_quorum": 1, "write_quorum": 1, "read_fanout": fanout,
                    "coordinator": coordinator,
                    "replica_choice": "preference", "read_timeout_ms": 50, "speculative_retry": retry},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"kind": "open", "warmup_ms": 0},
    }
    m = build(scenario_from_dict(raw))
    assert m.ring.preference_list(KEY) == (2, 1, 0)
    m.started = True  # the test issues the operation itself
    for fn in m.on_start:
        fn(m)
    return m


def one_read(m: Model, slow: bool = True) -> Any:
    if slow:
        m.nodes[2].crash()
    op = m.coordinators[CLIENT].read(0, KEY)
    m.env.run(until=100)
    return op


def rows(m: Model) -> list[tuple[float, int, float, bool]]:
    t = m.history.tables.get("speculative_reads")
    if t is None:
        return []
    f = t.to_frame()
    return [(float(a), int(n), float(x), bool(s)) for a, n, x, s in
            zip(f["at"], f["node"], f["threshold_ms"], f["sent"], strict=True)]


def test_a_slow_replica_triggers_one_extra_read_at_the_threshold() -> None:
    m = model("7ms")
    op = one_read(m)
    # at 7 ms no answer: one request to the next replica, 1; its answer is back 2 ms later
    assert rows(m) == [(7.0, 1, 7.0, True)]
    assert op.status == OK and op.completed_at == 9.0
    assert [n for n, _ in op.replies] == [1]


def test_a_fast_replica_triggers_nothing() -> None:
    m = model("7ms")
    op = one_read(m, slow=False)
    assert rows(m) == [] and op.completed_at == 2.0


def test_none_sends_no_extra_read() -> None:
    m = model("NONE")
    op = one_read(m)
    assert "speculative_reads" not in m.history.tables
    assert op.status == TIMEOUT and op.replies == []


def test_always_sends_one_at_once() -> None:
    m = model("ALWAYS")
    op = one_read(m)
    assert rows(m) == [(0.0, 1, 0.0, True)]
    assert op.status == OK and op.completed_at == 2.0


def test_a_coordinator_that_crashed_before_the_threshold_sends_nothing() -> None:
    m = model("7ms", coordinator="random")
    m.nodes[2].crash()
    m.coordinators[3].read(0, KEY)  # node 3 coordinates (not a replica of KEY) and crashes at 1 ms
    m.env.timeout(1.0).callbacks.append(lambda _e: m.nodes[3].crash())
    m.env.run(until=100)
    assert rows(m) == []


def test_fanout_all_has_no_replica_left_to_ask() -> None:
    m = model("1ms", fanout="all")
    m.nodes[2].crash()
    m.nodes[1].crash()
    m.nodes[0].crash()
    one_read(m, slow=False)
    assert rows(m) == [(1.0, -1, 1.0, False)]


def test_percentile_estimate_is_the_nearest_rank_of_the_window() -> None:
    est = Estimate(90)
    for i in range(EVERY - 1):
        est.add(float(i))
    assert est.threshold == math.inf  # no estimate before EVERY reads
    est.add(float(EVERY - 1))
    assert est.threshold == float(math.ceil(0.9 * EVERY) - 1)


@pytest.mark.parametrize(("text", "why"), [
    ("fast", "expected NONE, ALWAYS, Xms"), ("-3ms", ">= 0"), ("100p", "strictly between 0 and 100"),
    ("0p", "strictly between"), ("nanms", "expected NONE"),
])
def test_bad_values_are_one_line_errors(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as e:
        scenario_from_dict({"cluster": {"speculative_retry": text}})
    line = str(e.value)
    assert "cluster.speculative_retry" in line and why in line and "\n" not in line


def test_spellings() -> None:
    assert parse("99p").spec() == "99p" and parse("99PERCENTILE").spec() == "99p"
    assert parse("20ms").spec() == "20ms" and parse("always").spec() == "ALWAYS"


def test_extra_read_fraction_is_the_tail_probability_of_the_first_response() -> None:
    """R = 1, read fan-out quorum: a read sends one extra request iff its one replica's response has not
    come back by X, i.e. iff R + S > X. With R ~ exponential(mean 2 ms) and S = 0.5 ms constant,
    P(extra) = exp(-(X - 0.5) / 2). Reads only (no writes), 4000 reads: the fraction must lie within a
    99.9 % binomial interval of that probability."""
    x = 3.0
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, "read_fanout": "quorum",
                    "speculative_retry": f"{x:g}ms"},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": "exponential(mean=2)", "s": "constant(0.5)"},
        "workload": {"kind": "open", "rate_per_s": 4000, "duration_ms": 1000, "warmup_ms": 0, "read_fraction": 1.0,
                     "keys": 100},
    }
    res = simulate(scenario_from_dict(raw), seed=11, record_ops=True)
    s = res.summary()
    n = s["measured_reads"]
    p = math.exp(-(x - 0.5) / 2.0)
    half = 3.29 * math.sqrt(p * (1 - p) / n)
    assert n >= 3000
    assert abs(s["speculative_read_fraction"] - p) <= half, (s["speculative_read_fraction"], p, half)
    # the tail: latency = min(R1 + S, X + R2 + S), so for t > X + 0.5
    # P(latency > t) = exp(-(t - 0.5) / 2) * exp(-(t - X - 0.5) / 2) = 0.01 at t = (X + 1 + 2 ln 100) / 2
    t99 = (x + 1.0 + 2.0 * math.log(100.0)) / 2.0
    ops = res.frames()["ops"]
    reads = ops[(ops["kind"].astype(str) == "read") & (ops["status"].astype(str) == "ok")]
    over = float(((reads["completed_at"] - reads["issued_at"]) > t99).mean())
    assert abs(over - 0.01) <= 3.29 * math.sqrt(0.01 * 0.99 / len(reads)), (over, t99)
    # without speculation the same quantile would be 0.5 + 2 ln 100 = 9.7 ms: the extra read cut it
    assert s["read_latency_p99_ms"] < 0.5 + 2.0 * math.log(100.0) - 2.0


def test_a_percentile_threshold_speculates_on_the_complementary_fraction_of_reads() -> None:
    """``90p``: a read past the coordinator's running 90th percentile sends an extra request. A read
    that triggers has a latency of at least the threshold whatever the extra request does, so the
    latencies above the estimate are those of reads that would have been above it anyway: the
    estimate is the 90th percentile of the unspeculated law and about 10 % of reads trigger. Bound:
    binomial sd sqrt(0.09 / n) plus the estimate's coverage error (a 1,024-read window: sd
    sqrt(0.09 / 1024) per window, about n / 1024 independent windows), 3.29 sd in all."""
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, "read_fanout": "quorum",
                    "speculative_retry": "90p"},
        "latency": {"profile": "exponential", "w": 1, "a": 1, "r": "exponential(mean=2)", "s": "constant(0.5)"},
        "workload": {"kind": "open", "rate_per_s": 4000, "duration_ms": 2000, "warmup_ms": 200, "read_fraction": 1.0,
                     "keys": 100},
    }
    s = simulate(scenario_from_dict(raw), seed=5).summary()
    n = s["measured_reads"]
    sd = math.sqrt(0.09 / n) + math.sqrt(0.09 / 1024) / math.sqrt(max(n / 1024, 1.0))
    assert abs(s["speculative_triggered_fraction"] - 0.10) <= 3.29 * sd, (s["speculative_triggered_fraction"], sd)
    assert s["speculative_read_fraction"] == s["speculative_triggered_fraction"]  # a replica is always left
