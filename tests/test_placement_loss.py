"""Analytic data loss (pbs_sim.analytic.placement) against brute-force enumeration, the Monte Carlo
(pbs_sim.analytic.placement_mc) against the analytic within confidence intervals, and the published
figures of docs/validation.md §12."""

from __future__ import annotations

import math
from itertools import combinations, product
from types import SimpleNamespace

import numpy as np
import pytest

from pbs_sim.analytic import placement as ap
from pbs_sim.analytic.placement_mc import monte_carlo
from pbs_sim.errors import ConfigError
from pbs_sim.placement import Placement, PlacementSpec, build


def fm(**kw: object) -> SimpleNamespace:
    d: dict[str, object] = dict(kind="fixed", failed_nodes=None, failed_fraction=0.01, outage_nodes=None, outage_fraction=1.0,
                                no_reboot_probability=0.01, p=0.001, racks_failed=1, burst_sizes=(), burst_weights=(),
                                burst_unit="node")
    d.update(kw)
    return SimpleNamespace(**d)


def _brute_fixed(pl: Placement, f: int) -> tuple[float, float]:
    """Every F-subset: the exact P(loss) and E[fraction lost]."""
    sets = [frozenset(int(x) for x in row) for row in pl.sets]
    lost = frac = 0.0
    total = 0
    for failed in combinations(range(pl.n), f):
        fs = set(failed)
        inside = [i for i, s in enumerate(sets) if s <= fs]
        lost += bool(inside)
        frac += float(pl.weights[inside].sum()) if inside else 0.0
        total += 1
    return lost / total, frac / total


def _brute_independent(pl: Placement, p: float) -> float:
    sets = [frozenset(int(x) for x in row) for row in pl.sets]
    out = 0.0
    for bits in product((0, 1), repeat=pl.n):
        fs = {i for i, b in enumerate(bits) if b}
        if any(s <= fs for s in sets):
            out += p ** len(fs) * (1 - p) ** (pl.n - len(fs))
    return out


SMALL = [
    PlacementSpec(kind="min_copysets", nodes=9, replication=3, seed=1),
    PlacementSpec(kind="min_copysets", nodes=10, replication=3, seed=1),  # a wrapped group: not disjoint
    PlacementSpec(kind="copyset", nodes=10, replication=3, scatter_width=4, seed=1),
    PlacementSpec(kind="token_ring", nodes=10, replication=3, vnodes=3, seed=1),
    PlacementSpec(kind="window", nodes=11, replication=2, scatter_width=3, chunks=500, seed=1),
    PlacementSpec(kind="window", nodes=14, replication=3, scatter_width=3, chunks=5000, seed=1),  # complete: exact
    PlacementSpec(kind="window", nodes=13, replication=3, scatter_width=4, chunks=60, seed=1),  # incomplete: bounds
    PlacementSpec(kind="random", nodes=10, replication=3, chunks=30, seed=1),
]


@pytest.mark.parametrize("spec", SMALL, ids=lambda s: f"{s.kind}-{s.nodes}")
def test_fixed_failures_exact_or_bounded_against_enumeration(spec: PlacementSpec) -> None:
    pl = build(spec)
    for f in range(0, pl.n + 1):
        truth, frac = _brute_fixed(pl, f)
        a = ap.loss_given_failures(pl, f)
        assert a.fraction == pytest.approx(frac, abs=1e-12), "the expected fraction is exact for any placement"
        if a.exact:
            assert a.p == pytest.approx(truth, abs=1e-12), (f, a)
        else:
            assert a.lower - 1e-12 <= truth <= a.upper + 1e-12, (f, truth, a)
            assert a.lower <= a.p <= a.upper


def test_the_window_family_is_recognised_only_when_complete() -> None:
    assert ap.complete_window(build(SMALL[5])) == 3
    assert ap.complete_window(build(SMALL[6])) is None
    assert ap.loss_given_failures(build(SMALL[5]), 6).exact


@pytest.mark.parametrize("spec", [*SMALL[:4], SMALL[5]], ids=lambda s: f"{s.kind}-{s.nodes}")
def test_independent_failures_exact_or_bounded_against_enumeration(spec: PlacementSpec) -> None:
    pl = build(spec)
    for p in (0.05, 0.3, 0.7):
        truth = _brute_independent(pl, p)
        a = ap.loss_independent(pl, p)
        assert a.fraction == pytest.approx(p**3)
        if a.exact:
            assert a.p == pytest.approx(truth, abs=1e-12)
        else:
            assert a.lower - 1e-12 <= truth <= a.upper + 1e-12, (p, truth, a)


def test_overlap_counts_match_pairwise_intersections() -> None:
    pl = build(PlacementSpec(kind="token_ring", nodes=15, replication=3, vnodes=4, seed=2))
    sets = [set(int(x) for x in row) for row in pl.sets]
    ref = np.zeros(3)
    for a, b in combinations(sets, 2):
        ref[len(a & b)] += 1
    assert (ap.overlap_counts(pl) == ref).all()


def test_rack_and_dc_loss_are_exact_by_enumeration() -> None:
    pl = build(PlacementSpec(kind="copyset", nodes=12, replication=3, scatter_width=4, racks=4, seed=3))
    rk = np.arange(12) % 4
    for k in (1, 2, 3, 4):
        lost = frac = 0.0
        combos = list(combinations(range(4), k))
        for c in combos:
            failed = np.isin(rk, c)
            inside = failed[pl.sets].all(axis=1)
            lost += inside.any()
            frac += pl.weights[inside].sum()
        a = ap.loss_racks(pl, k)
        assert a.exact and a.p == pytest.approx(lost / len(combos)) and a.fraction == pytest.approx(frac / len(combos))
    aware = build(PlacementSpec(kind="token_ring", nodes=12, replication=3, vnodes=8, racks=4, seed=3))
    assert ap.loss_racks(aware, 2).p == 0.0, "one replica per rack survives any two racks"
    one_dc = ap.loss_dc(pl)
    assert one_dc.p == 1.0 and one_dc.fraction == 1.0 and "one DC" in one_dc.method


def test_random_chunks_and_the_copysets_papers_own_approximation() -> None:
    # K independent uniform chunks: 1 - (1 - q)^K exactly
    q = math.comb(4, 3) / math.comb(10, 3)
    assert ap.random_chunks_loss(10, 3, 7, 4).p == pytest.approx(1 - (1 - q) ** 7)
    assert ap.random_chunks_loss(10, 3, 7, 4).fraction == pytest.approx(q)


def test_durability_per_year_mttdl_and_nomdl() -> None:
    loss = ap.Loss(0.01, 0.01, 0.01, 1e-4, True, "x")
    d = ap.durability(loss, events_per_year=2.0, mission_years=10.0)
    assert d.p_loss_per_year == pytest.approx(1 - math.exp(-0.02))
    assert d.mttdl_years == pytest.approx(50.0)
    assert d.nomdl == pytest.approx(2.0 * 10.0 * 1e-4)
    with pytest.raises(ConfigError, match="failure_model.p"):
        ap.loss_independent(build(SMALL[0]), 1.5)
    with pytest.raises(ConfigError, match="F = 11"):
        ap.loss_given_failures(build(SMALL[0]), 11)


# -- Monte Carlo against the analytic ------------------------------------------------------------

def _agree(a: ap.Loss, mc, z: float = 4.0) -> None:  # type: ignore[no-untyped-def]
    """|MC - analytic| within z standard errors (the analytic p's binomial se, floored at one
    event's worth), or, for a bounded answer, the MC within [lower, upper] widened by z se."""
    t = mc.trials
    se = max(math.sqrt(max(a.p * (1 - a.p), 1.0 / t) / t), 1.0 / t)
    if a.exact:
        assert abs(mc.p - a.p) <= z * se, (a, mc)
    else:
        assert a.lower - z * se <= mc.p <= a.upper + z * se, (a, mc)
    if a.fraction > 0:
        assert abs(mc.fraction - a.fraction) <= z * max(mc.fraction_se, 1e-15) + 1e-12, (a, mc)


POINTS = [
    (PlacementSpec(kind="min_copysets", nodes=30, seed=1), fm(failed_nodes=9)),
    (PlacementSpec(kind="copyset", nodes=60, scatter_width=4, seed=1), fm(failed_nodes=10)),
    (PlacementSpec(kind="token_ring", nodes=40, vnodes=16, seed=1), fm(kind="independent", p=0.1)),
    (PlacementSpec(kind="token_ring", nodes=60, vnodes=8, racks=6, rack_aware=False, seed=1), fm(kind="rack", racks_failed=2)),
    (PlacementSpec(kind="copyset", nodes=60, scatter_width=4, racks=6, seed=1),
     fm(kind="burst", burst_sizes=(0, 4, 12), burst_weights=(2, 1, 1))),
    (PlacementSpec(kind="window", nodes=100, scatter_width=6, chunks=20_000, seed=1),
     fm(kind="outage", no_reboot_probability=0.05)),
    (PlacementSpec(kind="fixed_ring", nodes=20, ring_size=64, seed=1), fm(failed_nodes=4)),
    (PlacementSpec(kind="token_ring", nodes=50, vnodes=8, seed=1), fm(kind="outage", outage_nodes=25, no_reboot_probability=0.3)),
    (PlacementSpec(kind="copyset", nodes=60, scatter_width=4, datacenters=3, seed=1), fm(kind="dc")),
    # >= 5,000 nodes: copyset replication and minimum copysets at the Copysets paper's point
    (PlacementSpec(kind="copyset", nodes=5000, scatter_width=10, seed=1), fm(failed_nodes=50)),
    (PlacementSpec(kind="min_copysets", nodes=5001, seed=1), fm(failed_nodes=50)),
]


@pytest.mark.validation
@pytest.mark.parametrize(("spec", "model"), POINTS, ids=lambda x: getattr(x, "kind", ""))
def test_monte_carlo_agrees_with_the_analytic(spec: PlacementSpec, model: SimpleNamespace) -> None:
    pl = build(spec)
    a = ap.loss_event(pl, model)
    trials = 4000 if spec.nodes >= 5000 else 3000
    mc = monte_carlo(pl, model, trials, seed=11)
    _agree(a, mc)


@pytest.mark.validation
@pytest.mark.slow
@pytest.mark.parametrize(("spec", "model"), [
    (PlacementSpec(kind="token_ring", nodes=10_000, vnodes=256, seed=2), fm(failed_nodes=100)),
    (PlacementSpec(kind="copyset", nodes=10_000, scatter_width=10, seed=2), fm(failed_nodes=100)),
    (PlacementSpec(kind="token_ring", nodes=5000, vnodes=16, seed=2), fm(failed_nodes=50)),
], ids=["token-ring-10000x256", "copyset-10000", "token-ring-5000x16"])
def test_monte_carlo_agrees_with_the_analytic_at_scale(spec: PlacementSpec, model: SimpleNamespace) -> None:
    pl = build(spec)
    a = ap.loss_event(pl, model)
    mc = monte_carlo(pl, model, 20_000, seed=12)
    _agree(a, mc)
    assert mc.peak_bytes < 512 * 2**20


# -- the published figures (docs/validation.md §12) ---------------------------------------------

@pytest.mark.validation
def test_copysets_paper_headline_probabilities() -> None:
    n, f = 5000, 50  # 1 % of 5,000 nodes do not survive the power outage
    cs = ap.loss_given_failures(build(PlacementSpec(kind="copyset", nodes=n, scatter_width=10, seed=0)), f)
    assert abs(cs.p - 0.0078) < 0.0005 and cs.upper - cs.lower < 1e-4  # paper: 0.78 % (Facebook, S = 10)
    mn = ap.loss_given_failures(build(PlacementSpec(kind="min_copysets", nodes=n - 2, seed=0)), f)
    assert mn.exact and abs(mn.p - 0.0015) < 0.0002  # paper: 0.15 % (RAMCloud with copysets)
    # RAMCloud random replication: 8,000 segments per node on uniform R-sets: paper 99.99 %
    assert ap.random_chunks_loss(n, 3, 8000 * n, f).p > 0.9999
    # Facebook's random placement: the paper's 22.8 % is its own approximation with
    # C(S + 1, R - 1) = 55 copysets per node; with that count our formula reproduces it ...
    assert ap.copysets_paper_estimate(n, 3, 55 * n, f) == pytest.approx(0.228, abs=0.001)
    # ... while the window placement with S = 10 has 45 per node, and its exact loss is lower still
    assert ap.copysets_paper_estimate(n, 3, 45 * n, f) == pytest.approx(0.191, abs=0.001)
    # HDFS-1094's rack window x machine window (2 x C(5, 2) = 20 per node) is further still
    assert ap.copysets_paper_estimate(n, 3, 20 * n, f) == pytest.approx(0.090, abs=0.001)


@pytest.mark.validation
def test_facebook_window_placement_exact_and_monte_carlo() -> None:
    # 1,000 chunks per node: each (primary, pair) set expects ~22 chunks, so every set is drawn
    pl = build(PlacementSpec(kind="window", nodes=5000, scatter_width=10, chunks=5_000_000, seed=0))
    a = ap.loss_given_failures(pl, 50)
    assert a.exact and ap.complete_window(pl) == 10  # every one of the 45 pairs of every window was drawn
    mc = monte_carlo(pl, fm(failed_nodes=50), 3000, seed=5)
    _agree(a, mc)
    # below the approximation 1 - (1 - q)^m for the same 225,000 sets: overlapping windows cluster
    assert a.p < ap.copysets_paper_estimate(5000, 3, pl.m, 50) - 0.01
    assert mc.ci_high < 0.228  # below the paper's figure: the paper over-counts the copysets


@pytest.mark.validation
def test_kleppmann_vnodes_against_fixed_partitions() -> None:
    # Kleppmann (2017): p = 0.001 per node and period, R = 3; vnodes (256 per node) grow the number of
    # replica sets with n, a fixed ring of 64 partitions does not
    p = 0.001
    vn = [ap.loss_independent(build(PlacementSpec(kind="token_ring", nodes=n, vnodes=256, seed=0)), p) for n in (100, 1000)]
    fx = [ap.loss_independent(build(PlacementSpec(kind="fixed_ring", nodes=n, ring_size=64, seed=0)), p) for n in (100, 1000)]
    assert vn[1].p > 5 * vn[0].p and fx[1].p == pytest.approx(fx[0].p, rel=0.05)
    for n, a in zip((100, 1000), vn, strict=True):
        # his independent-partition model with k = 256 n partitions, against our actual ring
        ref = ap.kleppmann_loss(n, 3, 256 * n, p)
        assert a.lower <= ref * 1.05 and ref <= a.upper * 1.05
