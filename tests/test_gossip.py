"""Gossip round logic against the epidemic recurrences of docs/validation.md §4 (Demers et al. 1987).

The recurrences are *one-round conditional means*: given the fraction ``p_i`` of sites still without
the update, ``E[p_{i+1} | p_i] = f(p_i)``. That is what is compared here, round by round, over many
replications: the residual ``p_{i+1} - f(p_i)`` summed over replications must be within 4 standard
deviations of 0 for every round, the deviation coming from the conditional law (binomial: exact for
pull, conservative for push) rather than from the sample, which is very skewed near the end.

Iterating ``f`` from ``p_0 = 1 - 1/n`` is *not* the mean trajectory of the random process: starting
from one site the early rounds are a branching process whose random size shifts the whole curve in
time, and ``E[p^2] != E[p]^2`` (at n = 1000, pull is 0.45 +- 0.008 after 10 rounds against the
iterated 0.36). The iterated recurrence is checked only where the mean-field is tight (push, a few
rounds, loose tolerance) — see ``test_push_trajectory_is_close_to_mean_field``.
"""

from __future__ import annotations

import numpy as np
import pytest

from pbs_sim.analytic.epidemic import conditional_variance, expected_next, reference_next
from pbs_sim.sim.gossip import learns, partners, pick_peer, spread

N = 1000


def test_partners_never_self_and_uniform() -> None:
    rng = np.random.default_rng(0)
    p = partners(rng, 5, (20000, 5))
    assert not (p == np.arange(5)).any()
    counts = np.bincount(p[:, 0], minlength=5)[1:] / 20000
    # each of the 4 others is picked with probability 1/4: binomial sd sqrt(1/4 * 3/4 / 20000) = 0.0031
    assert np.all(np.abs(counts - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 20000))
    assert {pick_peer(rng, 2, 3) for _ in range(50)} == {0, 1}


def test_learns_table() -> None:
    assert learns("gossip-push") == (True, False)
    assert learns("pull") == (False, True)
    assert learns("push-pull") == (True, True)
    with pytest.raises(ValueError):
        learns("merkle")


@pytest.mark.validation
@pytest.mark.parametrize("mode,rounds", [("pull", 20), ("push", 24), ("push-pull", 11)])
def test_one_round_means_follow_recurrences(mode: str, rounds: int) -> None:
    rng = np.random.default_rng(20261126)
    reps = 600
    p = spread(N, mode, rounds, reps, rng)
    prev, nxt = p[:, :-1], p[:, 1:]
    # summed over replications, the residual of each round has the conditional law's variance
    sd = np.sqrt(conditional_variance(prev, N, mode).sum(axis=0))
    # docs/validation.md's forms use n where partners are drawn from n - 1: allow their known O(1/n) gap
    gap = np.abs(expected_next(prev, N, mode) - reference_next(prev, N, mode)).sum(axis=0)
    assert np.all(gap <= reps * 0.5 / N)
    for name, f, slack in (("exact n-1 form", expected_next, 0.0), ("REFERENCE form", reference_next, gap)):
        resid = (nxt - f(prev, N, mode)).sum(axis=0)
        bad = np.nonzero(np.abs(resid) > 4 * sd + slack + 1e-9)[0]
        assert bad.size == 0, f"{mode} {name}: rounds {bad + 1} off: {resid[bad]} vs sd {sd[bad]}"
    # and the update does spread everywhere
    assert p[:, -1].mean() < 1e-3


@pytest.mark.validation
def test_push_trajectory_is_close_to_mean_field() -> None:
    """Push from one site, 300 replications: the mean fraction still uninformed after each round
    against docs/validation.md's push recurrence iterated from p_0 = 1 - 1/n, within 4 standard errors of
    the mean (the replications' sd / sqrt(300), up to 0.0011 mid-spread, never below the conditional
    law's) plus the exact, computed
    difference between docs/validation.md's form (partners among n) and the n - 1 form the simulator follows
    (iterated alike; up to 0.0015). The iterated map is not exactly the mean trajectory (a Jensen term,
    see the module doc); for push it stays below the sampling error at this size (largest |z| about 2
    over seeds 7-9). The old absolute 0.01 was ~10 se mid-spread and ~1000 se in the first rounds."""
    rng = np.random.default_rng(7)
    reps = 300
    p = spread(N, "push", 16, reps, rng)
    ref = [1 - 1 / N]
    exact = [1 - 1 / N]
    for _ in range(16):
        ref.append(float(reference_next(ref[-1], N, "push")))
        exact.append(float(np.asarray(expected_next(np.asarray([exact[-1]]), N, "push")).ravel()[0]))
    # the variance of p_i is at least the mean one-round conditional variance (law of total variance):
    # it matters in the first rounds, where 300 replications can all be equal (sample variance 0)
    floor = np.concatenate([[0.0], conditional_variance(p[:, :-1], N, "push").mean(axis=0)])
    se = np.sqrt(np.maximum(p.var(axis=0, ddof=1), floor) / reps)
    form_gap = np.abs(np.asarray(exact) - np.asarray(ref))
    assert np.all(np.abs(p.mean(axis=0) - np.asarray(ref)) <= 4 * se + form_gap + 1e-12)


@pytest.mark.validation
def test_push_from_one_site_completes_in_about_log2n_plus_ln_n_rounds() -> None:
    rng = np.random.default_rng(11)
    p = spread(N, "push", 40, 200, rng)
    done = (p == 0).argmax(axis=1)
    assert (p[:, -1] == 0).all()
    pittel = np.log2(N) + np.log(N)  # 16.9; Pittel: log2 n + ln n + O(1)
    # not a statistical tolerance: the se of the mean is about 0.07 rounds; Pittel's theorem leaves
    # an unspecified O(1), for which 4 rounds are allowed (measured: 18.2, i.e. +1.3)
    assert abs(done.mean() - pittel) < 4.0, done.mean()
