"""Workloads: exact traces with constant delays, and arrival/key/mix statistics against their laws."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pbs_sim.config import KeyDistribution, scenario_from_dict
from pbs_sim.sim.build import Model, build
from pbs_sim.sim.workload import KeyChooser

CONST = {"profile": "exponential", "w": 2, "a": 1, "r": 0.5, "s": 0.25}


def model(workload: dict[str, Any], latency: dict[str, Any] | None = None, **cluster: Any) -> Model:
    raw = {
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1, **cluster},
        "latency": latency or CONST,
        "workload": workload,
    }
    return build(scenario_from_dict(raw))


def test_probe_reads_exactly_at_offsets_after_commit() -> None:
    m = model({"kind": "pbs-probe", "trials": 3, "probe_offsets_ms": [0, 1.5], "probe_interval_ms": 10})
    ops = m.run().to_frame()
    w = ops[ops["kind"] == "write"]
    r = ops[ops["kind"] == "read"]
    # trial i: write issued at 10 i, applied at 10 i + 2, committed at 10 i + 3 (W + A)
    assert list(w["issued_at"]) == [0.0, 10.0, 20.0] and list(w["completed_at"]) == [3.0, 13.0, 23.0]
    assert list(w["key"]) == [0, 1, 2]
    assert sorted(r["issued_at"]) == [3.0, 4.5, 13.0, 14.5, 23.0, 24.5]
    assert (r["version"] == 1).all()  # constant delays: every replica applied before commit
    assert list(r["completed_at"] - r["issued_at"]) == [0.75] * 6


def test_probe_with_offset_distribution_reads_once_per_trial() -> None:
    m = model({"kind": "pbs-probe", "trials": 200, "probe_offset": "uniform(low=0, high=5)"})
    ops = m.run().to_frame()
    reads = ops[ops["kind"] == "read"]
    assert len(reads) == 200 and reads["key"].nunique() == 200
    commits = ops[ops["kind"] == "write"].set_index("key")["completed_at"]
    offsets = reads["issued_at"].to_numpy() - commits.loc[reads["key"]].to_numpy()
    assert offsets.min() >= 0 and offsets.max() <= 5 and abs(offsets.mean() - 2.5) < 4 * 5 / math.sqrt(12 * 200)


def test_closed_clients_alternate_op_and_think_time() -> None:
    m = model({"kind": "closed", "clients": 2, "think_time": "constant(value=10)", "read_fraction": 1.0,
               "duration_ms": 35, "warmup_ms": 0})
    ops = m.run().to_frame()
    # each client: think 10, read (0.75 ms), think 10, ... issue at 10, 20.75, 31.5; the next (42.25) is past 35
    for c in (0, 1):
        assert list(ops[ops["client"] == c]["issued_at"]) == [10.0, 20.75, 31.5]


def test_open_arrivals_and_read_fraction_follow_their_laws() -> None:
    m = model({"kind": "open", "rate_per_s": 5000, "duration_ms": 2000, "warmup_ms": 0, "read_fraction": 0.7,
               "keys": 100, "clients": 10}, latency={"profile": "lnkd-ssd"})
    ops = m.run().to_frame()
    n = len(ops)
    assert abs(n - 10_000) < 4 * math.sqrt(10_000)  # Poisson count
    reads = int((ops["kind"] == "read").sum())
    assert abs(reads / n - 0.7) < 4 * math.sqrt(0.21 / n)
    gaps = np.diff(ops["issued_at"].to_numpy())
    assert abs(gaps.mean() - 0.2) < 4 * 0.2 / math.sqrt(len(gaps))  # exponential mean 1/rate
    assert abs(gaps.std() - 0.2) < 0.02  # exponential: sd = mean
    per_client = ops["client"].value_counts()
    assert len(per_client) == 10 and per_client.min() > 800


def test_key_chooser_zipf_and_uniform() -> None:
    rng = np.random.default_rng(1)
    z = KeyChooser(50, KeyDistribution("zipf", 1.0), rng)
    draws = np.array([z() for _ in range(100_000)])
    probs = z.probabilities()
    assert abs(probs.sum() - 1) < 1e-12 and abs(probs[0] / probs[1] - 2.0) < 1e-9
    for k in (0, 1, 9, 49):
        p = probs[k]
        assert abs((draws == k).mean() - p) < 4 * math.sqrt(p * (1 - p) / draws.size)
    u = KeyChooser(7, KeyDistribution(), rng)
    ud = np.array([u() for _ in range(70_000)])
    assert set(ud) == set(range(7)) and abs((ud == 3).mean() - 1 / 7) < 4 * math.sqrt(1 / 7 * 6 / 7 / 70_000)


def test_random_coordinator_spreads_ops_over_nodes() -> None:
    m = model({"kind": "open", "rate_per_s": 3000, "duration_ms": 1000, "warmup_ms": 0}, coordinator="random")
    ops = m.run().to_frame()
    counts = ops["coordinator"].value_counts()
    assert set(counts.index) == {0, 1, 2}
    n = len(ops)
    assert (abs(counts - n / 3) < 4 * math.sqrt(n * 2 / 9)).all()


def test_same_seed_same_history() -> None:
    wl = {"kind": "open", "rate_per_s": 3000, "duration_ms": 300, "warmup_ms": 0}
    a = model(wl, latency={"profile": "ymmr"}).run().to_frame()
    b = model(wl, latency={"profile": "ymmr"}).run().to_frame()
    assert a.equals(b)


def test_closed_workload_follows_the_interactive_response_time_law() -> None:
    """Operational law for a closed system (Little's law over a client's cycle): throughput
    X = clients / (Z + R) with Z the mean think time and R the mean response time. Each client is a
    renewal process with cycle mean mu = Z + R and variance ~ Z^2 (exponential think time, latencies
    tiny in comparison), so the op count over T has variance clients * T * var / mu^3."""
    clients, z, duration = 50, 10.0, 10_000.0
    m = model({"kind": "closed", "clients": clients, "think_time": f"exponential(mean={z})", "read_fraction": 0.9,
               "duration_ms": duration, "warmup_ms": 0}, latency={"profile": "lnkd-ssd"})
    ops = m.run().to_frame()
    r = float((ops["completed_at"] - ops["issued_at"]).mean())
    mu = z + r
    expected = clients * duration / mu
    sd = math.sqrt(clients * duration * z**2 / mu**3)
    assert abs(len(ops) - expected) < 4 * sd, (len(ops), expected, sd)


def test_preload_exact_trace_with_constant_delays() -> None:
    # 4 keys at 1000/s: load writes at 0, 1, 2, 3 ms by client 2 (= clients), each committed W + A = 3 ms
    # later; the interval ends at 4 ms but the last write commits at 6 ms, so the closed workload starts
    # at 6: each client thinks 10 ms, reads (0.75 ms), ... issued at 16, 26.75, 37.5 (48.25 > 6 + 5 + 35)
    m = model({"kind": "closed", "clients": 2, "think_time": "constant(value=10)", "read_fraction": 1.0,
               "duration_ms": 35, "warmup_ms": 5, "keys": 4, "preload": True, "preload_rate_per_s": 1000})
    h = m.run()
    ops = h.to_frame()
    load = ops[ops["client"] == 2]
    assert list(load["kind"]) == ["write"] * 4 and list(load["key"]) == [0, 1, 2, 3]
    assert list(load["issued_at"]) == [0.0, 1.0, 2.0, 3.0] and list(load["completed_at"]) == [3.0, 4.0, 5.0, 6.0]
    assert (load["status"] == "ok").all() and list(load["version"]) == [1, 1, 1, 1]
    assert m.workload.load_end_at == 6.0 and h.meta["load_writes"] == 4
    assert h.meta["warmup_ms"] == 11.0  # load end + warm-up: where the measured window starts
    for c in (0, 1):
        assert list(ops[ops["client"] == c]["issued_at"]) == [16.0, 26.75, 37.5]
    # every read sees the preloaded version: the key exists even though the workload never wrote it
    assert (ops[ops["kind"] == "read"]["version"] == 1).all()


def test_preload_interval_bounds_the_load_phase() -> None:
    # 3 keys at 100/s: writes at 0, 10, 20 ms, committed by 23; the interval (30 ms) ends later
    m = model({"kind": "open", "rate_per_s": 100, "duration_ms": 50, "warmup_ms": 0, "keys": 3, "clients": 1,
               "preload": True})
    h = m.run()
    ops = h.to_frame()
    load = ops[ops["client"] == 1]
    assert list(load["issued_at"]) == [0.0, 10.0, 20.0] and m.workload.load_end_at == 30.0
    rest = ops[ops["client"] == 0]
    assert rest["issued_at"].min() > 30.0 and rest["issued_at"].max() < 80.0


def test_preload_writes_every_key_once_and_commits_before_the_measured_window() -> None:
    from pbs_sim.simulation import simulate

    sc = scenario_from_dict({
        "cluster": {"nodes": 5, "replication": 3, "read_quorum": 2, "write_quorum": 2},
        "latency": {"profile": "lnkd-disk"},
        "workload": {"kind": "open", "keys": 500, "key_distribution": "zipf(s=1.0)", "rate_per_s": 2000,
                     "duration_ms": 1000, "warmup_ms": 100, "clients": 20, "preload": True,
                     "preload_rate_per_s": 5000},
    })
    res = simulate(sc, seed=3)
    ops = res.history.to_frame()
    load = ops[ops["client"] == 20]
    assert len(load) == 500 and sorted(load["key"]) == list(range(500)) and (load["kind"] == "write").all()
    assert (load["status"] == "ok").all()
    start = res.history.meta["warmup_ms"]
    assert start >= 100 + 100  # 500 keys at 5000/s: the load interval is 100 ms, then 100 ms warm-up
    assert load["completed_at"].max() <= start - 100  # every load write finished before warm-up began
    rest = ops[ops["client"] != 20]
    assert rest["issued_at"].min() >= start - 100
    # load writes are not measured: the summary counts only ops issued in the measured window
    measured = rest[rest["issued_at"] >= start]
    assert res.summary()["writes"] == int((measured["kind"] == "write").sum())
    assert res.summary()["ops"] == len(measured)


def test_preload_off_changes_nothing_and_probe_rejects_it() -> None:
    import pytest

    from pbs_sim.errors import ConfigError

    wl = {"kind": "open", "rate_per_s": 3000, "duration_ms": 200, "warmup_ms": 50, "keys": 50}
    a = model(wl, latency={"profile": "lnkd-ssd"})
    ha = a.run()
    assert ha.meta["warmup_ms"] == 50.0 and ha.meta["load_writes"] == 0
    b = model({**wl, "preload": True}, latency={"profile": "lnkd-ssd"})
    ob = b.run().to_frame()
    # the same random streams: after the load phase, the same keys and op kinds in the same order
    oa = ha.to_frame()
    rest = ob[ob["client"] != 100]
    assert list(rest["key"]) == list(oa["key"]) and list(rest["kind"]) == list(oa["kind"])
    with pytest.raises(ConfigError, match="workload.preload"):
        scenario_from_dict({"workload": {"kind": "pbs-probe", "preload": True}})
