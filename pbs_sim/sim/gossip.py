"""Gossip rounds: push, pull and push-pull anti-entropy between random peers (Demers et al. 1987).

Owns: the round logic every gossip mode shares — who contacts whom in a round and which side learns
what — as (1) a vectorized synchronous model over ``n`` sites holding one update (``spread``), used to
study the epidemic directly and as a fast reference. The recurrences these rounds follow (exact for
this peer choice, and docs/validation.md's forms) live in one place, ``pbs_sim.analytic.epidemic``
(``next_fraction(..., others=True)``). The cluster simulator's
gossip modes (``pbs_sim.sim.anti_entropy``) use ``pick_peer`` / ``learns`` from here, so the SimPy runs
and the vectorized runs follow the same rules. Must not touch: SimPy, nodes, metrics.

Rules of a round (synchronous, as in the paper): every site picks one partner uniformly among the
*other* ``n - 1`` sites and they exchange state *as it was at the start of the round*:

- push: the initiator sends what it has; the partner learns it;
- pull: the initiator asks; it learns what the partner had;
- push-pull: both.

With partners drawn among the other ``n - 1`` sites, given ``S`` susceptible sites and ``I = n - S``:
``E[S' | S]`` is ``S (S-1)/(n-1)`` (pull), ``S (1 - 1/(n-1))^I`` (push) and the product of both
factors (push-pull). docs/validation.md §4 writes the same recurrences with ``n`` in place of ``n - 1``
(``p^2``, ``p (1-1/n)^(n(1-p))``, ``p^2 e^-(1-p)``); the two differ by O(1/n).
"""

from __future__ import annotations

import numpy as np

MODES = ("push", "pull", "push-pull")


def _check_mode(mode: str) -> str:
    m = mode.removeprefix("gossip-")
    if m not in MODES:
        raise ValueError(f"gossip mode must be one of {', '.join(MODES)}, got {mode!r}")
    return m


def pick_peer(rng: np.random.Generator, me: int, n: int) -> int:
    """A peer uniformly among the ``n - 1`` others (the round's partner of site ``me``)."""
    r = int(rng.integers(0, n - 1))
    return r + 1 if r >= me else r


def learns(mode: str) -> tuple[bool, bool]:
    """(partner learns from initiator, initiator learns from partner) for a gossip mode."""
    m = _check_mode(mode)
    return (m in ("push", "push-pull"), m in ("pull", "push-pull"))


def partners(rng: np.random.Generator, n: int, size: tuple[int, ...] | int) -> np.ndarray:
    """For each site (last axis of ``size`` = n sites) a partner among the other ``n - 1``."""
    shape = (size,) if isinstance(size, int) else size
    r = rng.integers(0, n - 1, size=shape)
    me = np.arange(n)
    return r + (r >= me)


def gossip_round(infected: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """One synchronous round over ``infected`` (``reps x n`` booleans); returns the new state."""
    m = _check_mode(mode)
    reps, n = infected.shape
    peer = partners(rng, n, (reps, n))
    rows = np.arange(reps)[:, None]
    new = infected.copy()
    if m in ("pull", "push-pull"):
        new |= infected[rows, peer]
    if m in ("push", "push-pull"):
        hit = np.zeros_like(infected)
        r_idx, s_idx = np.nonzero(infected)
        hit[r_idx, peer[r_idx, s_idx]] = True
        new |= hit
    return new


def spread(
    n: int, mode: str, rounds: int, reps: int, rng: np.random.Generator, initial: int = 1
) -> np.ndarray:
    """Fraction of sites still without the update after rounds 0..``rounds``: a ``reps x (rounds+1)`` array.

    ``initial`` sites hold the update before round 1 (sites ``0..initial-1``; by symmetry which ones
    does not matter).
    """
    _check_mode(mode)
    if not 1 <= initial <= n or n < 2:
        raise ValueError("need n >= 2 and 1 <= initial <= n")
    state = np.zeros((reps, n), dtype=bool)
    state[:, :initial] = True
    out = np.empty((reps, rounds + 1))
    out[:, 0] = 1.0 - initial / n
    for i in range(1, rounds + 1):
        state = gossip_round(state, mode, rng)
        out[:, i] = 1.0 - state.mean(axis=1)
    return out
