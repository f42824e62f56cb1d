"""Epidemic (gossip) anti-entropy recurrences (docs/validation.md §4; Demers et al., PODC 1987).

Owns: the expected fraction ``p_i`` of n sites still without an update after round i, when one
site starts with it and every site contacts one uniformly random partner per round, for pull, push
and push-pull; and Pittel's estimate of rounds for push. Must not touch: SimPy, sampling.

Exact forms (mean-field over the fraction, as in the paper):

* pull: a susceptible site stays susceptible iff its partner is susceptible: ``p' = p^2``;
* push: it stays susceptible iff none of the ``n (1 - p)`` infected sites pushes to it:
  ``p' = p (1 - 1/n)^(n (1 - p))``, about ``p e^-(1 - p)`` for large n;
* push-pull: both must fail: ``p' = p^2 (1 - 1/n)^(n (1 - p))`` — the exact-form analogue of the
  paper's ``p^2 e^-(1 - p)`` (the two agree as n grows; the exact form is what an n-site
  simulation approaches).

Partners among the *other* ``n - 1`` sites (what ``pbs_sim.sim.gossip`` and the cluster simulator do):
given ``S = p n`` susceptible sites and ``I = n - S``, ``E[S' | S]`` is ``S (S-1)/(n-1)`` (pull),
``S (1 - 1/(n-1))^I`` (push) and the product of both factors (push-pull); these differ from the
forms above by O(1/n). :func:`next_fraction` is the one implementation of every variant.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError

MODES = ("pull", "push", "push-pull")


def susceptible_fraction(
    n: int, rounds: int, mode: str = "push", exact: bool = True, infected: int = 1
) -> np.ndarray:
    """``p_0 .. p_rounds`` starting from ``infected`` sites (default one: ``p_0 = 1 - 1/n``).

    ``exact=False`` uses the large-n forms with ``e^-(1 - p)`` instead of ``(1 - 1/n)^(n (1 - p))``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(None, "n", f"need an integer n >= 2 sites, got {n!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ConfigError(None, "rounds", f"must be an integer >= 0, got {rounds!r}")
    if mode not in MODES:
        raise ConfigError(None, "mode", f"{mode!r} is not one of {', '.join(MODES)}")
    if isinstance(infected, bool) or not isinstance(infected, int) or not 1 <= infected <= n:
        raise ConfigError(None, "infected", f"must be an integer in 1..n = 1..{n}, got {infected!r}")
    out = np.empty(rounds + 1)
    p = 1.0 - infected / n
    out[0] = p
    for i in range(1, rounds + 1):
        p = float(next_fraction(p, n, mode, large_n=not exact))
        out[i] = p
    return out


def next_fraction(
    p: np.ndarray | float, n: int, mode: str, *, others: bool = False, large_n: bool = False,
) -> np.ndarray:
    """``E[p_{i+1} | p_i = p]`` (vectorized over ``p``).

    ``others=False``: the paper's mean-field forms (partner uniform over n sites): pull ``p^2``,
    push ``p (1 - 1/n)^(n (1 - p))``, push-pull the product; ``large_n`` replaces the push factor
    by ``e^-(1 - p)``. ``others=True``: exact for partners drawn among the other ``n - 1`` sites
    (``large_n`` ignored)."""
    if mode not in MODES:
        raise ValueError(f"unknown gossip mode {mode!r}")
    p = np.asarray(p, dtype=float)
    if others:
        s = p * n
        pull = (s - 1).clip(min=0) / (n - 1)
        push = (1.0 - 1.0 / (n - 1)) ** (n - s)
    else:
        pull = p
        push = np.exp(-(1.0 - p)) if large_n else (1.0 - 1.0 / n) ** (n * (1.0 - p))
    if mode == "pull":
        return p * pull
    if mode == "push":
        return p * push
    return p * pull * push


def reference_next(p: np.ndarray | float, n: int, mode: str) -> np.ndarray:
    """The recurrences exactly as docs/validation.md §4 writes them: pull ``p^2``, push with the exact
    ``(1-1/n)`` form, push-pull ``p^2 e^-(1-p)``."""
    return next_fraction(p, n, mode, large_n=mode == "push-pull")


def expected_next(p: np.ndarray | float, n: int, mode: str) -> np.ndarray:
    """Exact ``E[p_{i+1} | p_i = p]`` for partners drawn among the other ``n - 1`` sites (the simulator's rule)."""
    return next_fraction(p, n, mode, others=True)


def conditional_variance(p: np.ndarray | float, n: int, mode: str) -> np.ndarray:
    """Binomial variance of ``p_{i+1}`` given ``p_i = p`` (partners among the other n - 1): exact for
    pull (susceptible sites stay susceptible independently), an upper bound where pushes are involved
    (a site hit by one push is not hit by the same push elsewhere, so misses are negatively correlated)."""
    p = np.asarray(p, dtype=float)
    s = p * n
    q = np.where(p > 0, expected_next(p, n, mode) / np.where(p > 0, p, 1.0), 0.0)
    return s * q * (1.0 - q) / n**2


def rounds_until(n: int, mode: str = "push", remaining: float = 0.5, max_rounds: int = 10_000) -> int:
    """First round after which the expected number of susceptible sites ``n p_i`` is below ``remaining``."""
    p = susceptible_fraction(n, 0, mode)[0]
    for i in range(1, max_rounds + 1):
        p = float(susceptible_fraction_step(n, p, mode))
        if n * p < remaining:
            return i
    raise ConfigError(None, "max_rounds", f"{mode} did not finish within {max_rounds} rounds")


def susceptible_fraction_step(n: int, p: float, mode: str = "push") -> float:
    """One round of the exact recurrence from fraction ``p``."""
    return float(next_fraction(p, n, mode))


def pittel_rounds(n: int) -> float:
    """Rounds for push from a single site to reach all n sites: about ``log2 n + ln n`` (Pittel 1987)."""
    return math.log2(n) + math.log(n)


__all__ = [
    "MODES", "conditional_variance", "expected_next", "next_fraction", "pittel_rounds", "reference_next",
    "rounds_until", "susceptible_fraction", "susceptible_fraction_step",
]
