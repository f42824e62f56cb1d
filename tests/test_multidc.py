"""The multi-datacenter WARS predictor (issue 19, pbs_sim.analytic.multidc): single-DC identity,
exact cross-DC traces, EACH_QUORUM write latency against a numeric reference, the PBS paper's WAN
model as a topology, and availability through a DC partition."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbs_sim.analytic.multidc import (
    LINKS_STREAM,
    Layout,
    _kernel,
    availability,
    dc_thresholds,
    level_available,
    predict_dc_pair,
    predict_topology,
)
from pbs_sim.analytic.wars import predict, wars_thresholds
from pbs_sim.analytic.wars.driver import _run
from pbs_sim.config import scenario_from_dict
from pbs_sim.distributions import Constant, Exponential
from pbs_sim.levels import Requirement, resolve
from pbs_sim.profiles import Profile
from pbs_sim.rng import Streams
from pbs_sim.stats import wilson
from pbs_sim.topology import Datacenter, Link, TopologyConfig

Z = 4.5  # |difference| / standard error beyond which a comparison fails (false alarm ~ 7e-6)


def one_dc(rf: int = 3, racks: int = 1) -> TopologyConfig:
    return TopologyConfig(datacenters=(Datacenter("dc1", nodes=max(rf, racks), racks=racks, replication=rf),))


def two_dc(rf1: int = 3, rf2: int = 3, delay: float = 50.0) -> TopologyConfig:
    return TopologyConfig(
        datacenters=(Datacenter("dc1", nodes=rf1, replication=rf1), Datacenter("dc2", nodes=rf2, replication=rf2)),
        links=(Link(("dc1", "dc2"), Constant(delay)),),
    )


# -- single datacenter: today's predictions, bit for bit ---------------------------------------


@pytest.mark.parametrize(
    ("profile", "n", "read", "write", "fanout", "seed"),
    [
        ("lnkd-disk", 3, "ONE", "ONE", "all", 1),
        ("lnkd-disk", 3, "LOCAL_QUORUM", "LOCAL_ONE", "all", 7),
        ("ymmr", 5, "LOCAL_ONE", "EACH_QUORUM", "quorum", 3),
        ("lnkd-ssd", 4, "TWO", "QUORUM", "quorum", 11),
        ("exponential(w=0.2, ars=1)", 3, "ALL", "ANY", "all", 5),
    ],
)
def test_one_datacenter_is_todays_prediction(profile: str, n: int, read: str, write: str, fanout: str, seed: int) -> None:
    topo = one_dc(n)
    rreq = resolve(read, "read", topo.replication(), "dc1")
    wreq = resolve(write, "write", topo.replication(), "dc1")
    got = predict_dc_pair(profile, topo, rreq, wreq, "dc1", "dc1", trials=20_000, seed=seed, fanout=fanout, t_ms=(0, 5))
    want = predict(profile, n, rreq.block_for, wreq.block_for, trials=20_000, seed=seed, fanout=fanout, t_ms=(0, 5))
    assert got.result.to_dict() == want.to_dict()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 7), data=st.data(), seed=st.integers(0, 2**63 - 1),
    profile=st.sampled_from(["lnkd-ssd", "lnkd-disk", "ymmr", "exponential(w=0.5, ars=2)"]),
    fanout=st.sampled_from(["all", "quorum"]), racks=st.integers(1, 3),
)
def test_property_one_datacenter_is_todays_prediction(
    n: int, data: st.DataObject, seed: int, profile: str, fanout: str, racks: int,
) -> None:
    """Hypothesis: any one-DC topology without rack or intra-DC delays (any racks, RF, levels by
    name or by count, fan-out, seed) predicts exactly what today's predictor does."""
    topo = TopologyConfig(datacenters=(Datacenter("x", nodes=max(n, racks), racks=racks, replication=n),))
    rf = topo.replication()
    names = ["ONE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM"] + (["TWO"] if n >= 2 else [])
    read = resolve(data.draw(st.sampled_from(names)), "read", rf, "x")
    write = resolve(data.draw(st.sampled_from([*names, "ANY"])), "write", rf, "x")
    got = predict_dc_pair(profile, topo, read, write, "x", "x", trials=3_000, seed=seed, fanout=fanout).result
    want = predict(profile, n, read.block_for, write.block_for, trials=3_000, seed=seed, fanout=fanout)
    assert got.to_dict() == want.to_dict()


@pytest.mark.parametrize(("n", "r", "w", "fanout"), [(3, 1, 1, "all"), (3, 2, 2, "all"), (5, 2, 3, "quorum"),
                                                     (4, 4, 1, "all"), (5, 1, 5, "quorum")])
def test_the_dc_kernel_draws_and_judges_one_datacenter_as_today(n: int, r: int, w: int, fanout: str) -> None:
    """The multi-DC kernel itself (not the shortcut), run on one datacenter: same draws, same
    thresholds, same latencies, bit for bit — the consistency rule is the single-DC one."""
    topo = one_dc(n)
    rreq, wreq = Requirement("R", total=r), Requirement("W", total=w)
    prof = Profile("e", Exponential(0.3), Exponential(1.0), Exponential(2.0), Exponential(1.5))
    kernel = _kernel(prof, topo, rreq, wreq, "dc1", "dc1", fanout)
    got = _run(prof.sample_wars, "e", n, r, w, trials=30_000, seed=4, target=0.99, t_ms=(1.0,), fanout=fanout, k=1,
               chunk=7_000, exact_max_trials=10**7, curve_points=160, kernel=kernel)
    want = predict(prof, n, r, w, trials=30_000, seed=4, target=0.99, t_ms=(1.0,), fanout=fanout, chunk=7_000)
    assert got.to_dict() == want.to_dict()


def test_dc_thresholds_equal_wars_thresholds_on_one_datacenter() -> None:
    rng = np.random.default_rng(3)
    layout = Layout(("dc1",), (6,), (1,))
    for r in range(1, 7):
        for w in range(1, 7):
            d = [rng.exponential(1.0, (500, 6)) for _ in range(4)]
            want = wars_thresholds(*d, r, w)
            got = dc_thresholds(*d, Requirement("r", total=r), Requirement("w", total=w), layout, "dc1", "dc1")
            for g, x in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, x)


# -- exact traces across datacenters --------------------------------------------------------------

CONST = Profile("const", Constant(1.0), Constant(1.0), Constant(1.0), Constant(1.0))


@pytest.mark.validation
@pytest.mark.parametrize("read", ["LOCAL_ONE", "LOCAL_QUORUM"])
def test_a_local_read_in_dc2_is_stale_until_the_wan_delay_and_apply(read: str) -> None:
    """Every delay 1 ms, dc1-dc2 adds 50 ms: a LOCAL_QUORUM write in dc1 commits at 2 ms (W + A
    locally); dc2's replicas apply it at W + 50 = 51 ms; a read in dc2 started t after commit
    reaches them at 2 + t + 1. So it is stale for t < 48 and consistent from 48 ms on, exactly."""
    topo = two_dc()
    rf = topo.replication()
    res = predict_dc_pair(CONST, topo, resolve(read, "read", rf, "dc2"), resolve("LOCAL_QUORUM", "write", rf, "dc1"),
                          "dc1", "dc2", trials=2_000, seed=1, t_ms=(47.999, 48.0))
    r = res.result
    assert r.p_consistent(47.999) == 0.0 and r.p_consistent(48.0) == 1.0
    assert r.write_latency_ms["p50"] == 2.0 and r.read_latency_ms["p50"] == 2.0
    # the same read in dc1, the write's own datacenter, is consistent at once (R + W > RF there)
    same = predict_dc_pair(CONST, topo, resolve("LOCAL_QUORUM", "read", rf, "dc1"),
                           resolve("LOCAL_QUORUM", "write", rf, "dc1"), "dc1", "dc1", trials=2_000, seed=1)
    assert same.result.p_consistent_at_t0 == 1.0


def test_each_quorum_write_pays_the_wan_and_reads_anywhere_then_see_it() -> None:
    topo = two_dc()
    rf = topo.replication()
    res = predict_dc_pair(CONST, topo, resolve("LOCAL_ONE", "read", rf, "dc2"), resolve("EACH_QUORUM", "write", rf, "dc1"),
                          "dc1", "dc2", trials=2_000, seed=1)
    # acks from dc2 take 1 + 50 + 1 + 50 ms; by then every replica of dc2 has applied the write
    # (at 51 ms), so a LOCAL_ONE read in dc2 sees it at once
    assert res.result.write_latency_ms["p50"] == 102.0
    assert res.result.p_consistent_at_t0 == 1.0


def test_rack_and_intra_dc_delays_apply_to_the_coordinators_own_datacenter() -> None:
    """Two racks, replica j on rack j mod 2, the coordinator's rack uniform: with intra_rack 0 and
    intra_dc 10 ms, a ONE write's latency is 2 ms (its rack has a replica) in every trial, and an
    ALL write's is 22 ms (a replica is always on the other rack)."""
    topo = TopologyConfig(datacenters=(Datacenter("dc1", nodes=4, racks=2, replication=3),), intra_dc=Constant(10.0))
    rf = topo.replication()
    for level, want in (("ONE", 2.0), ("ALL", 22.0)):
        res = predict_dc_pair(CONST, topo, resolve("ONE", "read", rf, "dc1"), resolve(level, "write", rf, "dc1"),
                              "dc1", "dc1", trials=1_000, seed=2).result
        assert res.write_latency_ms["p50"] == want and res.write_latency_ms["p99.9"] == want


# -- EACH_QUORUM write latency = the max over DCs of each DC's q-th order statistic -------------


def _hypo_cdf(x: np.ndarray, lw: float, la: float) -> np.ndarray:
    """CDF of W + A, W ~ Exp(lw), A ~ Exp(la), lw != la."""
    x = np.maximum(x, 0.0)
    return 1.0 - (la * np.exp(-lw * x) - lw * np.exp(-la * x)) / (la - lw)


def _order_cdf(f: np.ndarray, k: int, n: int) -> np.ndarray:
    """P(the k-th smallest of n i.i.d. values with CDF f is <= x)."""
    return sum(math.comb(n, j) * f**j * (1 - f) ** (n - j) for j in range(k, n + 1))


@pytest.mark.validation
def test_each_quorum_write_latency_against_numerical_integration() -> None:
    from scipy import integrate, optimize

    lw, la, shift = 0.4, 1.3, 2 * 15.0  # exponential W and A; dc1-dc2 adds 15 ms each way
    prof = Profile("e", Exponential(lw), Exponential(la), Exponential(1.0), Exponential(1.0))
    topo = TopologyConfig(
        datacenters=(Datacenter("dc1", nodes=5, replication=5), Datacenter("dc2", nodes=3, replication=3)),
        links=(Link(("dc1", "dc2"), Constant(15.0)),),
    )
    rf = topo.replication()
    write = resolve("EACH_QUORUM", "write", rf, "dc1")
    assert write.per_dc == (("dc1", 3), ("dc2", 2))

    def cdf(t: float | np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return _order_cdf(_hypo_cdf(t, lw, la), 3, 5) * _order_cdf(_hypo_cdf(t - shift, lw, la), 2, 3)

    mean_ref = integrate.quad(lambda t: 1.0 - float(cdf(t)), 0.0, 400.0, points=[shift], limit=200)[0]
    # per-trial write latencies straight from the kernel
    step = _kernel(prof, topo, resolve("ONE", "read", rf, "dc1"), write, "dc1", "dc1", "all")(Streams(9))
    s = Streams(9)
    lat = np.concatenate([step(s.get("wars"), s.get("wars-read-replicas"), 100_000)[2] for _ in range(2)])
    se = lat.std() / math.sqrt(len(lat))
    assert abs(lat.mean() - mean_ref) < Z * se, (lat.mean(), mean_ref, se)
    for q in (0.5, 0.9, 0.99):
        ref_q = optimize.brentq(lambda t, q=q: float(cdf(t)) - q, shift, 400.0)
        # the sample's fraction below the reference quantile is Binomial(n, q) / n
        frac = float(np.mean(lat <= ref_q))
        assert abs(frac - q) < Z * math.sqrt(q * (1 - q) / len(lat)), (q, frac)


# -- the PBS paper's WAN model is a topology ------------------------------------------------------


@pytest.mark.validation
def test_wan_profile_equals_three_datacenters_with_75_ms_links() -> None:
    """The ``wan`` profile (lnkd-disk, +75 ms to every replica but one local one, chosen at random
    per operation) is three datacenters of one replica each, 75 ms apart, with the write's and the
    read's coordinators in uniformly random datacenters: the mean of the nine pair curves must
    match it within their confidence intervals."""
    names = ("a", "b", "c")
    topo = TopologyConfig(
        datacenters=tuple(Datacenter(x, nodes=1, replication=1) for x in names),
        inter_dc=Constant(75.0),
    )
    trials = 40_000
    ts = np.array([0.0, 10.0, 50.0, 100.0, 150.0, 200.0])
    mix = np.zeros(len(ts))
    var = np.zeros(len(ts))
    read, write = Requirement("1", total=1), Requirement("1", total=1)
    for wdc in names:
        for rdc in names:
            res = predict_dc_pair("lnkd-disk", topo, read, write, wdc, rdc, trials=trials, seed=21, t_ms=tuple(ts)).result
            p = res.consistent_count(ts) / trials
            mix += p / 9
            var += p * (1 - p) / trials / 81
    wan = predict("wan", 3, 1, 1, trials=200_000, seed=22, t_ms=tuple(ts))
    pw = wan.consistent_count(ts) / wan.trials
    se = np.sqrt(var + pw * (1 - pw) / wan.trials)
    assert np.all(np.abs(mix - pw) <= Z * se + 1e-12), (mix, pw, se)
    assert mix[0] < 0.8 and mix[-1] > 0.99  # the comparison spans the curve


# -- predict_topology over a scenario ------------------------------------------------------------


def test_predict_topology_gives_every_client_pair_with_common_draws() -> None:
    sc = scenario_from_dict({
        "topology": {"datacenters": [{"name": "us-east-1"}, {"name": "eu-west-1"}, {"name": "ap-northeast-1", "clients": 0}],
                     "wan": "aws-2017"},
        "consistency": {"read": "LOCAL_QUORUM", "write": "LOCAL_QUORUM"},
        "predict": {"trials": 5_000},
    })
    out = predict_topology(sc)
    assert [(p.write_dc, p.read_dc) for p in out] == [
        ("us-east-1", "us-east-1"), ("us-east-1", "eu-west-1"), ("eu-west-1", "us-east-1"), ("eu-west-1", "eu-west-1")]
    by = {(p.write_dc, p.read_dc): p.result for p in out}
    assert by[("us-east-1", "us-east-1")].p_consistent_at_t0 == 1.0  # local quorums overlap in one DC
    assert by[("us-east-1", "eu-west-1")].p_consistent_at_t0 < 0.01  # 40 ms of WAN to cross
    # the same seed for every pair: the writes coordinated in one DC have the same commit latencies
    assert by[("us-east-1", "us-east-1")].write_latency_ms == by[("us-east-1", "eu-west-1")].write_latency_ms
    assert out[0].summary()["write_dc"] == "us-east-1"
    assert predict_topology(sc)[1].result.to_dict() == out[1].result.to_dict()  # reproducible


def test_link_draws_have_their_own_stream() -> None:
    """Adding a random link law leaves the profile's draws alone (common random numbers): the
    local pair's read latencies are the same with a constant or a random WAN law."""
    base = two_dc()
    lognormal = TopologyConfig(datacenters=base.datacenters,
                               links=(Link(("dc1", "dc2"), Exponential(1 / 50.0)),))
    rf = base.replication()
    args: dict[str, Any] = dict(trials=5_000, seed=3)
    r, w = resolve("LOCAL_ONE", "read", rf, "dc1"), resolve("LOCAL_ONE", "write", rf, "dc1")
    a = predict_dc_pair("lnkd-ssd", base, r, w, "dc1", "dc1", **args).result
    b = predict_dc_pair("lnkd-ssd", lognormal, r, w, "dc1", "dc1", **args).result
    assert a.read_latency_ms == b.read_latency_ms and a.write_latency_ms == b.write_latency_ms
    assert LINKS_STREAM == "wars-links"


def test_refusals() -> None:
    from pbs_sim.analytic.wars import predict_scenario
    from pbs_sim.errors import ConfigError

    topo = two_dc()
    r = Requirement("1", total=1)
    with pytest.raises(ConfigError, match="adds its own 75 ms"):
        predict_dc_pair("wan", topo, r, r, "dc1", "dc2", trials=10)
    with pytest.raises(ConfigError, match="'dc3' is not a datacenter"):
        predict_dc_pair("lnkd-ssd", topo, r, r, "dc3", "dc2", trials=10)
    with pytest.raises(ConfigError, match="write: X needs 4 replies in dc1, which holds 3 replicas"):
        predict_dc_pair("lnkd-ssd", topo, r, Requirement("X", per_dc=(("dc1", 4),)), "dc1", "dc2", trials=10)
    with pytest.raises(ConfigError, match="read: Y needs 7 replies but there are 6"):
        predict_dc_pair("lnkd-ssd", topo, Requirement("Y", total=7), r, "dc1", "dc2", trials=10)
    sc = scenario_from_dict({"topology": {"datacenters": [{"name": "a"}, {"name": "b"}], "inter_dc": "constant(5)"}})
    with pytest.raises(ConfigError, match="one curve per"):
        predict_scenario(sc)


# -- availability through a DC partition ----------------------------------------------------------


@pytest.mark.validation
def test_availability_through_a_dc_partition() -> None:
    rf2 = {"dc1": 3, "dc2": 3}
    for dc in rf2:  # the WAN is cut: each side reaches only its own three replicas
        assert availability(resolve("LOCAL_QUORUM", "write", rf2, dc), rf2, dc, {dc}) == 1.0
        assert availability(resolve("QUORUM", "write", rf2, dc), rf2, dc, {dc}) == 0.0  # 4 of 6 needed
        assert availability(resolve("EACH_QUORUM", "write", rf2, dc), rf2, dc, {dc}) == 0.0
        assert availability(resolve("ONE", "read", rf2, dc), rf2, dc, {dc}) == 1.0
    rf3 = {"dc1": 3, "dc2": 3, "dc3": 3}  # dc1 cut from dc2 + dc3: QUORUM (5 of 9) lives on the majority side
    q = "QUORUM"
    assert availability(resolve(q, "read", rf3, "dc1"), rf3, "dc1", {"dc1"}) == 0.0
    assert availability(resolve(q, "read", rf3, "dc2"), rf3, "dc2", {"dc2", "dc3"}) == 1.0
    # a DC outage: LOCAL_QUORUM in the other datacenter keeps working
    assert level_available(resolve("LOCAL_QUORUM", "read", rf2, "dc2"), {"dc1": 0, "dc2": 3}, "dc2")
    assert not level_available(resolve("EACH_QUORUM", "read", rf2, "dc2"), {"dc1": 0, "dc2": 3}, "dc2")


@pytest.mark.validation
@pytest.mark.parametrize("level", ["LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "ONE", "ALL"])
def test_availability_with_down_replicas_against_enumeration(level: str) -> None:
    """Each replica down with probability 0.2, dc3 cut off: the closed form (binomial live counts)
    against live counts drawn replica by replica, judged by ``level_available``."""
    rf = {"dc1": 3, "dc2": 5, "dc3": 2}
    reach = {"dc1", "dc2"}
    req = resolve(level, "write", rf, "dc1")
    p = availability(req, rf, "dc1", reach, p_down=0.2)
    rng = np.random.default_rng(5)
    m = 40_000
    live = {dc: (rng.random((m, r)) >= 0.2).sum(axis=1) * (dc in reach) for dc, r in rf.items()}
    ok = sum(level_available(req, {dc: int(live[dc][i]) for dc in rf}, "dc1") for i in range(m))
    lo, hi = wilson(np.asarray([ok]), m, z=Z)
    assert lo[0] <= p <= hi[0], (level, p, ok / m)
    if level == "LOCAL_QUORUM":
        assert p == pytest.approx(0.8**3 + 3 * 0.8**2 * 0.2)  # P(Bin(3, 0.8) >= 2)


@pytest.mark.parametrize(
    ("level", "fanout", "latency"),
    [
        ("QUORUM", "quorum", 102.0),  # 4 of 6: the 3 nearest (dc2's own) and one of dc1's
        ("QUORUM", "all", 102.0),
        ("LOCAL_QUORUM", "quorum", 2.0),
        ("EACH_QUORUM", "all", 102.0),  # 2 in each datacenter: dc1's take 1 + 50 + 1 + 50 ms
        ("EACH_QUORUM", "quorum", 102.0),
        ("ONE", "quorum", 2.0),  # the nearest datacenter first
        ("ALL", "quorum", 102.0),
    ],
)
def test_read_levels_wait_for_the_replies_they_need(level: str, fanout: str, latency: float) -> None:
    topo = two_dc()
    rf = topo.replication()
    res = predict_dc_pair(CONST, topo, resolve(level, "read", rf, "dc2"), resolve("ONE", "write", rf, "dc1"),
                          "dc1", "dc2", trials=500, seed=4, fanout=fanout).result
    assert res.read_latency_ms["p50"] == latency and res.read_latency_ms["p99.9"] == latency
