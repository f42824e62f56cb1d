"""The ideal-consistency-level counterfactual (``consistency.ideal_write``; pbs_sim.sim.ideal_cl and
pbs_sim.metrics.ideal_cl): exact traces, a numeric reference for its latency percentiles, its
validation, and that switching it on changes nothing else in a run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.simulation import simulate

CONSTANT = {"profile": "exponential", "w": "constant(1)", "a": "constant(2)", "r": "constant(1)", "s": "constant(1)"}


def _run(cluster: dict, ideal: str | None, *, latency: dict | None = None, faults: dict | None = None,
         seed: int = 1, duration_ms: float = 1000.0, rate: float = 1000.0):
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, "write_timeout_ms": 50.0,
                    **cluster},
        "latency": latency or CONSTANT,
        "workload": {"kind": "open", "rate_per_s": rate, "duration_ms": duration_ms, "warmup_ms": 0.0,
                     "read_fraction": 0.5, "keys": 50},
    }
    if ideal is not None:
        raw["consistency"] = {"ideal_write": ideal}
    if faults is not None:
        raw["faults"] = faults
    return simulate(scenario_from_dict(raw), seed=seed, record_ops=True)


def _committed_writes(res) -> int:
    ops = res.frames()["ops"]
    return int(((ops["kind"].astype(str) == "write") & (ops["status"].astype(str) == "ok")).sum())


def test_w_one_with_ideal_all_and_a_node_down_counts_every_write() -> None:
    """W = ONE, ideal ALL, node 2 down for the whole run: every write commits at its first ack (3 ms:
    W 1 + A 2), and no write can ever hear from node 2, so every decided committed write is counted;
    ideal QUORUM instead is met by the two live replicas at exactly 3 ms."""
    down = {"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2], "duration_ms": 1e9}]}
    res = _run({}, "ALL", faults=down)
    s = res.summary()
    assert s["ideal_cl_met_writes"] == 0
    committed = _committed_writes(res)
    assert committed > 300
    # writes issued within the 50 ms timeout of the run's end cannot be judged yet
    assert s["write_failed_ideal_cl"] + s["ideal_cl_undecided_writes"] == committed
    assert s["write_failed_ideal_cl"] > 0.9 * committed
    assert s["write_failed_ideal_cl_fraction"] == 1.0
    assert math.isnan(s["ideal_cl_write_latency_p50_ms"])

    q = _run({}, "QUORUM", faults=down).summary()
    assert q["write_failed_ideal_cl"] == 0 and q["ideal_cl_undecided_writes"] == 0
    for name in ("p50", "p99", "p999"):
        assert q[f"ideal_cl_write_latency_{name}_ms"] == pytest.approx(3.0, abs=1e-9)


def test_acks_after_the_timeout_do_not_count() -> None:
    """Write timeout 2.5 ms, below the 3 ms round trip: every write times out at W = ONE, and the
    acks that would meet QUORUM arrive after the timeout, so the ideal level is never met; no write
    is counted, as none met its own level (Cassandra counts only writes that did)."""
    down = {"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2], "duration_ms": 1e9}]}
    s = _run({"write_timeout_ms": 2.5}, "QUORUM", faults=down).summary()
    assert s["writes"] > 300 and s["write_failed_ideal_cl"] == 0  # no write met its own level in time
    assert s["ideal_cl_met_writes"] == 0  # and the quorum's acks, at 3 ms, came after the timeout


def test_ideal_level_equal_to_the_own_level_gives_the_write_latencies_exactly() -> None:
    """Ideal = the write's own level (W = 2, ideal QUORUM of N = 3): the ideal level is met by the
    ack that commits the write, so its percentiles are the write latency percentiles and no write
    is counted."""
    lat = {"profile": "lnkd-disk"}
    s = _run({"write_quorum": 2}, "QUORUM", latency=lat, seed=3).summary()
    assert s["write_failed_ideal_cl"] == 0
    for name in ("p50", "p99", "p999"):
        assert s[f"ideal_cl_write_latency_{name}_ms"] == s[f"write_latency_{name}_ms"]


def _erlang2_max3_quantile(q: float, mean: float) -> float:
    """The q-quantile of max over 3 replicas of W + A, W and A exponential with ``mean``: the CDF is
    F(x)^3 with F the Erlang(2) CDF 1 - exp(-x/m)(1 + x/m)."""
    def f(x: float) -> float:
        return (1.0 - math.exp(-x / mean) * (1.0 + x / mean)) ** 3 - q

    return float(optimize.brentq(f, 1e-9, 100.0 * mean))


def test_ideal_all_latency_percentiles_match_the_max_of_three_round_trips() -> None:
    """Client coordinator, W = ONE, ideal ALL, W and A exponential (mean 1 ms): the time to meet ALL
    is max over the 3 replicas of W_i + A_i. The true p50 / p99 must lie within the distribution-free
    99.9 % order-statistic interval of the sample (binomial ranks), and the reported figures are the
    order statistics X(ceil(q n))."""
    lat = {"profile": "exponential", "w": "exponential(mean=1)", "a": "exponential(mean=1)",
           "r": "constant(0.5)", "s": "constant(0.5)"}
    res = _run({"write_timeout_ms": 1000.0}, "ALL", latency=lat, seed=7, duration_ms=4000.0, rate=2000.0)
    s = res.summary()
    frames = res.frames()
    ideal, ops = frames["ideal_cl"], frames["ops"]
    issued = ops.set_index("op_id")["issued_at"]
    x = np.sort(ideal["at"].to_numpy(float) - issued.reindex(ideal["op_id"]).to_numpy(float))
    n = len(x)
    assert n > 3000 and s["ideal_cl_met_writes"] == n
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        assert s[f"ideal_cl_write_latency_{name}_ms"] == x[math.ceil(q * n) - 1]
        lo, hi = stats.binom.ppf([0.0005, 0.9995], n, q).astype(int)
        true = _erlang2_max3_quantile(q, 1.0)
        assert x[max(lo - 1, 0)] <= true <= x[min(hi, n - 1)], (name, true, x[lo - 1], x[hi])


def test_switching_it_on_changes_no_other_figure() -> None:
    """The counterfactual only listens: every other summary figure of the run is the same with it off."""
    lat = {"profile": "lnkd-disk"}
    off = _run({}, None, latency=lat, seed=5).summary()
    on = _run({}, "ALL", latency=lat, seed=5).summary()
    for k, v in off.items():
        if k in ("wall_s", "cpu_s") or "ideal" in k:
            continue
        assert (v == on[k]) or (isinstance(v, float) and math.isnan(v) and math.isnan(on[k])), k
    assert math.isnan(off["write_failed_ideal_cl"]) and on["ideal_cl_met_writes"] > 0


@pytest.mark.parametrize(("level", "why"), [
    ("QUORUMM", "unknown consistency level"),
    ("ANY", "ANY is met by a coordinator hint"),
    ("SERIAL", "Paxos"),
])
def test_a_bad_ideal_level_is_one_line(level: str, why: str) -> None:
    with pytest.raises(ConfigError) as e:
        scenario_from_dict({"consistency": {"ideal_write": level}})
    line = str(e.value)
    assert "consistency.ideal_write" in line and why in line and "\n" not in line


def test_an_ideal_level_the_replicas_cannot_meet_is_refused() -> None:
    with pytest.raises(ConfigError, match="consistency.ideal_write.*THREE needs 3 replies but there are 2"):
        scenario_from_dict({"cluster": {"replication": 2, "read_quorum": 1, "write_quorum": 1},
                            "consistency": {"ideal_write": "THREE"}})


def test_with_sloppy_quorums_only_the_keys_own_replicas_count() -> None:
    """Sloppy quorums on 5 nodes, node 2 down: W = 2 writes commit on fallbacks' hinted copies too,
    but ALL over the preference list counts only the key's own replicas, so a key with node 2 among
    its replicas never meets it, and one without always does (constant delays: within 3 ms)."""
    down = {"schedule": [{"at_ms": 0, "action": "crash", "nodes": [2], "duration_ms": 1e9}]}
    raw = {
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 2, "write_timeout_ms": 50.0,
                    "sloppy_quorum": True},
        "failure_detector": {"mode": "perfect"},
        "latency": CONSTANT,
        "workload": {"kind": "open", "rate_per_s": 1000.0, "duration_ms": 1000.0, "warmup_ms": 0.0,
                     "read_fraction": 0.5, "keys": 50},
        "consistency": {"ideal_write": "ALL"},
        "faults": down,
    }
    res = simulate(scenario_from_dict(raw), seed=3, record_ops=True)
    f = res.frames()
    ops, ideal = f["ops"], f["ideal_cl"]
    from pbs_sim.rng import Streams
    from pbs_sim.sim.build import build

    ring = build(scenario_from_dict(raw), Streams(3)).ring  # the run's ring, rebuilt (deterministic)
    writes = ops[(ops["kind"].astype(str) == "write") & (ops["status"].astype(str) == "ok")]
    met = set(ideal["op_id"].tolist())
    with_2 = writes["key"].map(lambda k: 2 in ring.preference_list(int(k))).to_numpy(bool)
    assert with_2.any() and (~with_2).any()
    assert not (set(writes["op_id"][with_2]) & met)
    decided = writes["issued_at"].to_numpy(float) + 50.0 <= res.summary()["sim_time_ms"]
    assert set(writes["op_id"][~with_2 & decided]) <= met
