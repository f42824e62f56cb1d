"""Durability chain (docs/validation.md §5) and epidemic recurrences (docs/validation.md §4): the exact solvers
against the closed forms, the approximations, and small Monte Carlo simulations of the processes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbs_sim.analytic.durability import (
    absorption_times,
    absorption_times_dense,
    mttdl,
    mttdl_approx,
    mttdl_closed_form,
    time_to_below,
    time_to_below_closed_form_n3_m2,
)
from pbs_sim.analytic.epidemic import pittel_rounds, rounds_until, susceptible_fraction
from pbs_sim.errors import ConfigError

RATES = [(1.0, 0.0), (1.0, 1.0), (0.01, 1.0), (1e-4, 0.5), (2.0, 30.0)]


@pytest.mark.parametrize(("lam", "mu"), RATES)
def test_mttdl_matches_closed_forms(lam: float, mu: float) -> None:
    assert mttdl(2, lam, mu) == pytest.approx((3 * lam + mu) / (2 * lam**2), rel=1e-9)
    assert mttdl(3, lam, mu) == pytest.approx((11 * lam**2 + 4 * lam * mu + mu**2) / (6 * lam**3), rel=1e-9)
    assert mttdl(3, lam, mu, "parallel") == pytest.approx(
        (11 * lam**2 + 7 * lam * mu + 2 * mu**2) / (6 * lam**3), rel=1e-9
    )
    assert time_to_below(3, 2, lam, mu) == pytest.approx((5 * lam + mu) / (6 * lam**2), rel=1e-9)
    assert time_to_below(3, 2, lam, mu) == pytest.approx(time_to_below_closed_form_n3_m2(lam, mu))
    for n in (1, 2, 3):
        for rep in ("single", "parallel"):
            assert mttdl(n, lam, mu, rep) == pytest.approx(mttdl_closed_form(n, lam, mu, rep), rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_no_repair_is_a_sum_of_exponentials(n: int) -> None:
    # without repair the copies die one by one at rates n lam, (n-1) lam, ...: E = H_n / lam
    assert mttdl(n, 0.5, 0.0) == pytest.approx(sum(1 / i for i in range(1, n + 1)) / 0.5)


@pytest.mark.parametrize("repair", ["single", "parallel"])
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_mu_much_larger_than_lambda(n: int, repair: str) -> None:
    """The approximation keeps the top power of mu in the chain's exact mean absorption time
    ``sum_{k <= j} 1/(j lam) prod_{m=k}^{j-1} up_m / (m lam)`` (up_m = mu single, (N - m) mu parallel).
    The next power comes from the two terms (k, j) = (1, N - 1) and (2, N): relative to the top term
    they add c1 lam/mu with c1 = N + 1 (single) or N + 1/(N - 1) (parallel), and every further term is
    positive and of order (lam/mu)^2. So, exactly, c1 <= (ratio - 1) mu/lam <= c1 + C lam/mu; C is
    at most 27 for N <= 5 (computed), N^3 is allowed. The old check (ratio within 1e-3 of 1 at
    mu/lam = 1e6) was ~200x looser than the error it bounds, which is 4e-6."""
    lam, mu = 1e-3, 1e3  # mu / lam = 1e6
    x = mu / lam
    c1 = n + 1 if repair == "single" else n + 1 / (n - 1)
    excess = (mttdl(n, lam, mu, repair) / mttdl_approx(n, lam, mu, repair) - 1) * x
    assert c1 * (1 - 1e-9) <= excess <= c1 + n**3 / x, (excess, c1)
    assert mttdl_approx(n, lam, mu) == pytest.approx(mu ** (n - 1) / (math.factorial(n) * lam**n))


@pytest.mark.parametrize(("n", "m"), [(2, 1), (3, 1), (3, 2), (5, 1), (6, 3)])
def test_back_substitution_equals_dense_solve(n: int, m: int) -> None:
    for repair in ("single", "parallel"):
        for lam, mu in RATES[:3]:
            assert absorption_times(n, m, lam, mu, repair) == pytest.approx(
                absorption_times_dense(n, m, lam, mu, repair), rel=1e-8
            )


def test_more_copies_and_faster_repair_help() -> None:
    lam, mu = 0.01, 1.0
    values = [mttdl(n, lam, mu) for n in range(1, 7)]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))
    assert mttdl(4, lam, mu, "parallel") > mttdl(4, lam, mu, "single")
    t = absorption_times(5, 1, lam, mu)
    assert np.all(np.diff(t) > 0)  # more live copies, longer to lose them all


def _simulate_chain(n: int, m: int, lam: float, mu: float, repair: str, runs: int, seed: int) -> np.ndarray:
    """Plain Gillespie simulation of the birth-death chain: time until fewer than m copies."""
    rng = np.random.default_rng(seed)
    out = np.empty(runs)
    for k in range(runs):
        i, t = n, 0.0
        while i >= m:
            down = i * lam
            up = 0.0 if i == n else (mu if repair == "single" else (n - i) * mu)
            total = down + up
            t += rng.exponential(1 / total)
            i += -1 if rng.random() * total < down else 1
        out[k] = t
    return out


@pytest.mark.validation
@pytest.mark.parametrize(("n", "m", "repair"), [(3, 1, "single"), (3, 1, "parallel"), (3, 2, "single"), (4, 2, "parallel")])
def test_chain_against_simulation(n: int, m: int, repair: str) -> None:
    lam, mu = 1.0, 4.0
    times = _simulate_chain(n, m, lam, mu, repair, runs=6000, seed=n * 10 + m)
    exact = time_to_below(n, m, lam, mu, repair)
    assert abs(times.mean() - exact) < 4.5 * times.std() / math.sqrt(len(times))


def test_durability_argument_errors() -> None:
    with pytest.raises(ConfigError):
        mttdl(0, 1.0, 1.0)
    with pytest.raises(ConfigError):
        mttdl(3, 0.0, 1.0)
    with pytest.raises(ConfigError):
        mttdl(3, 1.0, -1.0)
    with pytest.raises(ConfigError):
        mttdl(3, 1.0, 1.0, "serial")
    with pytest.raises(ConfigError):
        time_to_below(3, 4, 1.0, 1.0)
    with pytest.raises(ConfigError):
        mttdl_closed_form(4, 1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Epidemics


def test_recurrences_by_hand() -> None:
    n = 10
    p0 = 0.9
    pull = susceptible_fraction(n, 3, "pull")
    assert pull.tolist() == pytest.approx([p0, p0**2, p0**4, p0**8])
    push = susceptible_fraction(n, 2, "push")
    p1 = p0 * (1 - 1 / n) ** (n * (1 - p0))
    assert push.tolist() == pytest.approx([p0, p1, p1 * (1 - 1 / n) ** (n * (1 - p1))])
    pp = susceptible_fraction(n, 1, "push-pull")
    assert pp[1] == pytest.approx(p0**2 * (1 - 1 / n) ** (n * (1 - p0)))
    approx = susceptible_fraction(n, 1, "push", exact=False)
    assert approx[1] == pytest.approx(p0 * math.exp(-(1 - p0)))


def test_exact_and_large_n_forms_agree_for_large_n() -> None:
    n = 1_000_000
    for mode in ("push", "push-pull"):
        a = susceptible_fraction(n, 40, mode)
        b = susceptible_fraction(n, 40, mode, exact=False)
        assert np.allclose(a, b, rtol=1e-4, atol=1e-12)


def test_push_pull_is_fastest_and_pittel() -> None:
    for n in (1_000, 100_000, 10_000_000):
        push, pull, pp = (rounds_until(n, m) for m in ("push", "pull", "push-pull"))
        assert pp <= min(push, pull)
        # Pittel: push from one site needs about log2 n + ln n rounds
        assert abs(push - pittel_rounds(n)) <= 2.0, (n, push, pittel_rounds(n))
    assert pittel_rounds(1024) == pytest.approx(10 + math.log(1024))


def _simulate_gossip(
    n: int, rounds: int, mode: str, runs: int, rng: np.random.Generator, infected0: int = 1
) -> np.ndarray:
    """Mean susceptible fraction per round over ``runs`` simulated epidemics (one partner per site)."""
    out = np.zeros(rounds + 1)
    for _ in range(runs):
        infected = np.zeros(n, dtype=bool)
        infected[:infected0] = True
        out[0] += 1 - infected0 / n
        for i in range(1, rounds + 1):
            partner = rng.integers(0, n - 1, size=n)
            partner += partner >= np.arange(n)  # a uniform partner other than oneself
            new = infected.copy()
            if mode in ("push", "push-pull"):
                new[partner[infected]] = True
            if mode in ("pull", "push-pull"):
                new |= infected[partner]
            infected = new
            out[i] += 1 - infected.mean()
    return out / runs


@pytest.mark.validation
@pytest.mark.parametrize("mode", ["push", "pull", "push-pull"])
def test_recurrence_against_simulation(mode: str, rng: np.random.Generator) -> None:
    """Once an epidemic has taken off (here: 10 % of the sites infected) the mean-field recurrence
    tracks the simulated mean susceptible fraction round by round."""
    n, rounds, runs = 2000, 12, 40
    sim = _simulate_gossip(n, rounds, mode, runs, rng, infected0=n // 10)
    rec = susceptible_fraction(n, rounds, mode, infected=n // 10)
    assert np.max(np.abs(sim - rec)) < 0.01, (mode, sim, rec)


@pytest.mark.validation
@pytest.mark.parametrize("mode", ["push", "push-pull"])
def test_rounds_from_one_site_against_simulation(mode: str, rng: np.random.Generator) -> None:
    """From a single site the early rounds are noisy (and pull starts slowly); compare the round at
    which the mean susceptible fraction first drops below 1 %."""
    n, rounds = 2000, 25
    sim = _simulate_gossip(n, rounds, mode, runs=60, rng=rng)
    rec = susceptible_fraction(n, rounds, mode)
    assert abs(int(np.argmax(sim < 0.01)) - int(np.argmax(rec < 0.01))) <= 2
