"""The per-pair staleness metric and the ideal-level counterfactual on simulated topologies (issue 19):
exact constant-latency traces worked out by hand, and the simulator's per-pair curves against the
analytic per-pair predictor within confidence intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbs_sim.analytic.multidc import predict_topology
from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate

CONST = {"profile": "exponential", "w": "constant(1)", "a": "constant(1)", "r": "constant(1)", "s": "constant(1)"}


def _two_dc(consistency: dict, workload: dict, latency: dict | None = None, link: str = "constant(40)",
            cluster: dict | None = None) -> dict:
    return {
        "topology": {"datacenters": [{"name": "dc1"}, {"name": "dc2"}],
                     "links": [{"between": ["dc1", "dc2"], "delay": link}]},
        "consistency": consistency, "latency": latency or CONST, "workload": workload, "cluster": cluster or {},
    }


def test_local_one_across_a_40_ms_link_by_hand() -> None:
    """W = R = 1 ms one way inside a datacenter, 40 ms more across. A LOCAL_ONE write from dc1 commits
    at 2 ms (a local ack); dc2's replicas get it at 41 ms, 39 ms after the commit. A LOCAL_ONE read in
    dc2 answers with what its local replica holds 1 ms after it starts: consistent iff t + 2 + 1 >= 41,
    i.e. t >= 38. Read in dc1 it is always consistent. So per pair at t = 0, 37, 39: same DC 1, 1, 1;
    across 0, 0, 1 -- exactly, on every trial."""
    raw = _two_dc({"read": "LOCAL_ONE", "write": "LOCAL_ONE"},
                  {"kind": "pbs-probe", "trials": 200, "probe_offsets_ms": [0, 37, 39]})
    res = simulate(raw, seed=1)
    curve = res.frames()["dc_pairs"]
    got = {(r.write_dc, r.read_dc, r.t_ms): (r.p_consistent, r.n) for r in curve.itertuples()}
    for w in ("dc1", "dc2"):
        for r in ("dc1", "dc2"):
            want = (1.0, 1.0, 1.0) if w == r else (0.0, 0.0, 1.0)
            for t, p in zip((0.0, 37.0, 39.0), want, strict=True):
                assert got[(w, r, t)] == (p, 100), (w, r, t)
    table = res.frames()["dc_pairs_summary"].set_index(["write_dc", "read_dc"])
    assert table.loc[("dc1", "dc2"), "t_visibility_ms"] == 39.0 and table.loc[("dc2", "dc2"), "t_visibility_ms"] == 0.0
    s = res.summary()
    assert s["dc_pairs"] == 4 and s["dc_pair_max_t_visibility_ms"] == 39.0 and s["dc_pair_min_p_consistent_at_t0"] == 0.0


def test_ideal_each_quorum_after_a_local_one_write_by_hand() -> None:
    """LOCAL_ONE writes, ideal EACH_QUORUM: the local quorum acks at 2 ms, the remote one at
    1 + 40 + 40 + 1 = 82 ms, so the ideal level is met at exactly 82 ms on every write; with the
    write timeout at 50 ms it is never met in time and every committed write is counted."""
    wl = {"kind": "open", "rate_per_s": 500, "duration_ms": 1000, "warmup_ms": 0, "keys": 20}
    s = simulate(_two_dc({"read": "LOCAL_ONE", "write": "LOCAL_ONE", "ideal_write": "EACH_QUORUM"}, wl), seed=2).summary()
    assert s["ideal_cl_met_writes"] > 50 and s["write_failed_ideal_cl"] == 0
    for name in ("p50", "p99", "p999"):
        assert s[f"ideal_cl_write_latency_{name}_ms"] == pytest.approx(82.0, abs=1e-9)
    short = simulate(_two_dc({"read": "LOCAL_ONE", "write": "LOCAL_ONE", "ideal_write": "EACH_QUORUM"}, wl,
                             cluster={"write_timeout_ms": 50.0}), seed=2).summary()
    assert short["ideal_cl_met_writes"] == 0
    assert short["write_failed_ideal_cl"] + short["ideal_cl_undecided_writes"] == short["writes"]
    assert short["write_failed_ideal_cl"] > 0.9 * short["writes"] and short["write_failed_ideal_cl_fraction"] == 1.0
    # LOCAL_QUORUM as the ideal level is met by the local replicas at 2 ms: nothing is counted
    local = simulate(_two_dc({"read": "LOCAL_ONE", "write": "LOCAL_ONE", "ideal_write": "LOCAL_QUORUM"}, wl,
                             cluster={"write_timeout_ms": 50.0}), seed=2).summary()
    assert local["write_failed_ideal_cl"] == 0 and local["ideal_cl_write_latency_p99_ms"] == pytest.approx(2.0)


def test_per_pair_curves_agree_with_the_analytic_predictor() -> None:
    """Exponential W, A, R, S (mean 1 ms) and a 10 +- exponential link: each pair's measured
    P(consistent at t) at the probe offsets lies within 4 standard errors (simulator binomial plus
    predictor binomial) of the analytic per-pair prediction (pbs_sim.analytic.multidc)."""
    lat = {"profile": "exponential", "w": "exponential(mean=1)", "a": "exponential(mean=1)",
           "r": "exponential(mean=1)", "s": "exponential(mean=1)"}
    offsets = [0.0, 5.0, 10.0, 15.0, 30.0]
    raw = _two_dc({"read": "LOCAL_ONE", "write": "LOCAL_QUORUM"},
                  {"kind": "pbs-probe", "trials": 4000, "probe_offsets_ms": offsets}, latency=lat,
                  link="shifted(exponential(mean=3), 10)")
    raw["predict"] = {"trials": 40_000}
    res = simulate(raw, seed=3)
    curve = res.frames()["dc_pairs"]
    predicted = {(p.write_dc, p.read_dc): p.result for p in predict_topology(scenario_from_dict(raw), seed=4, t_ms=offsets)}
    checked = 0
    for (w, r), sub in curve.groupby(["write_dc", "read_dc"]):
        pred = predicted[(w, r)]
        for row in sub.itertuples():
            q = float(pred.p_consistent(row.t_ms))
            p = row.p_consistent
            se = math.sqrt(max(q * (1 - q), 1e-4) / row.n + q * (1 - q) / pred.trials)
            assert abs(p - q) <= 4 * se, (w, r, row.t_ms, p, q, se)
            checked += 1
    assert checked == 4 * len(offsets)
    # the pairs differ: across the link a read right after the commit is mostly stale, locally it is not
    at0 = curve[curve["t_ms"] == 0.0].set_index(["write_dc", "read_dc"])["p_consistent"]
    assert at0[("dc1", "dc2")] < 0.2 < 0.5 < at0[("dc1", "dc1")]
    assert np.isfinite(res.summary()["dc_pair_max_stale_read_fraction"])


def test_an_ideal_local_level_from_a_datacenter_without_replicas_is_one_line() -> None:
    from pbs_sim.errors import ConfigError

    raw = _two_dc({"read": "ONE", "write": "ONE", "ideal_write": "LOCAL_QUORUM"},
                  {"kind": "open", "rate_per_s": 100, "duration_ms": 100})
    raw["topology"]["datacenters"][1]["replication"] = 0
    with pytest.raises(ConfigError) as e:
        scenario_from_dict(raw)
    line = str(e.value)
    assert "consistency.ideal_write" in line and "dc2 holds no replicas" in line and "\n" not in line
