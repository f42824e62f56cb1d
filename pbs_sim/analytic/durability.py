"""Durability of one replicated item as a birth-death chain (docs/validation.md §5).

Owns: the mean time until an item with N copies loses all of them (MTTDL), or drops below m copies,
when each live copy fails permanently at rate ``lam`` and repair restores one missing copy at rate
``mu`` (single repairer) or ``i * mu`` while i copies are missing (parallel repair); solved exactly
from the chain's linear system for any N, plus the closed forms and the mu >> lam approximation.
Must not touch: sampling, SimPy. Rates are per ms (or any one time unit: results come back in it).

Expected absorption times T_i from state i (live copies) satisfy, for i above the absorbing state,
``(i lam + up_i) T_i - i lam T_{i-1} - up_i T_{i+1} = 1`` with ``T_absorbing = 0`` and
``up_N = 0`` (``up_i = mu`` single, ``(N - i) mu`` parallel).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError

REPAIRS = ("single", "parallel")


def _check(n: int, m: int, lam: float, mu: float, repair: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(None, "n", f"N must be an integer >= 1, got {n!r}")
    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= n:
        raise ConfigError(None, "m", f"m must be an integer in 1..N = 1..{n}, got {m!r}")
    if not (isinstance(lam, int | float) and math.isfinite(lam) and lam > 0):
        raise ConfigError(None, "lam", f"failure rate must be > 0, got {lam!r}")
    if not (isinstance(mu, int | float) and math.isfinite(mu) and mu >= 0):
        raise ConfigError(None, "mu", f"repair rate must be >= 0, got {mu!r}")
    if repair not in REPAIRS:
        raise ConfigError(None, "repair", f"{repair!r} is not one of {', '.join(REPAIRS)}")


def _up(i: int, n: int, mu: float, repair: str) -> float:
    return 0.0 if i == n else (mu if repair == "single" else (n - i) * mu)


def absorption_times(n: int, m: int, lam: float, mu: float, repair: str = "single") -> np.ndarray:
    """Expected time until fewer than ``m`` copies remain, from each state i = m..N (index i - m).

    Solves the chain's linear system through its birth-death structure: with ``D_i = T_i - T_{i-1}``
    (``T_{m-1} = 0``) the system reads ``i lam D_i = 1 + up_i D_{i+1}``, ``D_N = 1 / (N lam)``, so
    ``D`` follows by back substitution — exact, and free of cancellation even for mu / lam ~ 1e9
    (a dense solve loses digits there). ``absorption_times_dense`` solves the same system directly.
    """
    _check(n, m, lam, mu, repair)
    d = np.empty(n - m + 1)
    nxt = 0.0
    for i in range(n, m - 1, -1):
        nxt = (1.0 + _up(i, n, mu, repair) * nxt) / (i * lam)
        d[i - m] = nxt
    return np.cumsum(d)


def absorption_times_dense(n: int, m: int, lam: float, mu: float, repair: str = "single") -> np.ndarray:
    """The same as ``absorption_times`` by ``numpy.linalg.solve`` on the full system (a cross-check)."""
    _check(n, m, lam, mu, repair)
    states = list(range(m, n + 1))
    size = len(states)
    a = np.zeros((size, size))
    b = np.ones(size)
    for row, i in enumerate(states):
        up = _up(i, n, mu, repair)
        a[row, row] = i * lam + up
        if row > 0:
            a[row, row - 1] = -i * lam  # state i - 1 >= m is transient; i - 1 = m - 1 absorbs (T = 0)
        if up:
            a[row, row + 1] = -up
    return np.linalg.solve(a, b)


def mttdl(n: int, lam: float, mu: float, repair: str = "single") -> float:
    """Mean time to losing every copy, starting from N copies (exact, any N)."""
    return float(absorption_times(n, 1, lam, mu, repair)[-1])


def time_to_below(n: int, m: int, lam: float, mu: float, repair: str = "single") -> float:
    """Mean time until fewer than ``m`` copies remain, from N (e.g. a W = m quorum becomes impossible)."""
    return float(absorption_times(n, m, lam, mu, repair)[-1])


def mttdl_closed_form(n: int, lam: float, mu: float, repair: str = "single") -> float:
    """docs/validation.md §5 closed forms: N = 1, 2, 3 (single repair) and N = 3 (parallel)."""
    _check(n, 1, lam, mu, repair)
    if n == 1:
        return 1.0 / lam
    if repair == "single" and n == 2:
        return (3 * lam + mu) / (2 * lam**2)
    if repair == "parallel" and n == 2:
        return (3 * lam + mu) / (2 * lam**2)  # one missing copy: parallel = single
    if n == 3:
        if repair == "single":
            return (11 * lam**2 + 4 * lam * mu + mu**2) / (6 * lam**3)
        return (11 * lam**2 + 7 * lam * mu + 2 * mu**2) / (6 * lam**3)
    raise ConfigError(None, "n", f"no closed form for N = {n}; use mttdl()")


def time_to_below_closed_form_n3_m2(lam: float, mu: float) -> float:
    """N = 3, time until fewer than 2 copies: ``(5 lam + mu) / (6 lam^2)``."""
    return (5 * lam + mu) / (6 * lam**2)


def mttdl_approx(n: int, lam: float, mu: float, repair: str = "single") -> float:
    """For mu >> lam: ``1/(N lam) * prod_{i=1}^{N-1} up_i / (i lam)``; single repair gives
    ``mu^(N-1) / (N! lam^N)``, parallel ``mu^(N-1) / (N lam^N)``."""
    _check(n, 1, lam, mu, repair)
    if repair == "single":
        return mu ** (n - 1) / (math.factorial(n) * lam**n)
    return mu ** (n - 1) / (n * lam**n)


__all__ = [
    "absorption_times", "absorption_times_dense", "mttdl", "mttdl_approx", "mttdl_closed_form", "time_to_below",
    "time_to_below_closed_form_n3_m2",
]
