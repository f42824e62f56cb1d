"""Epidemic (gossip) anti-entropy recurrences (REFERENCE.md §4; Demers et al., PODC 1987).

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
    log_miss = math.log1p(-1.0 / n)
    for i in range(1, rounds + 1):
        no_push = math.exp(n * (1 - p) * log_miss) if exact else math.exp(-(1 - p))
        if mode == "pull":
            p = p * p
        elif mode == "push":
            p = p * no_push
        else:
            p = p * p * no_push
        out[i] = p
    return out


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
    no_push = (1.0 - 1.0 / n) ** (n * (1.0 - p))
    if mode == "pull":
        return p * p
    if mode == "push":
        return p * no_push
    return p * p * no_push


def pittel_rounds(n: int) -> float:
    """Rounds for push from a single site to reach all n sites: about ``log2 n + ln n`` (Pittel 1987)."""
    return math.log2(n) + math.log(n)


__all__ = ["MODES", "pittel_rounds", "rounds_until", "susceptible_fraction", "susceptible_fraction_step"]
