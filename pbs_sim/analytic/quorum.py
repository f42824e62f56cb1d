"""Closed forms for non-expanding partial quorums (docs/validation.md §1; Bailis et al., PVLDB 2012, §3).

Owns: the exact probability that a read of R random replicas misses a write held by W random
replicas of N (``p_stale``), k-staleness and monotonic-reads violation probabilities. Exact for any
N, R, W (integer binomials; no floating-point cancellation).
Must not touch: sampling, SimPy, profiles.

Dynamo-style (expanding) quorums keep propagating a write after it commits, so for them these
numbers are upper bounds on staleness at t = 0 (the WARS predictor in ``wars.py`` gives the rest).
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..errors import ConfigError


def _check(n: int, r: int, w: int) -> None:
    for key, value in (("n", n), ("r", r), ("w", w)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(None, key, f"must be an integer, got {value!r}")
    if n < 1:
        raise ConfigError(None, "n", f"N must be >= 1, got {n}")
    if not 1 <= r <= n:
        raise ConfigError(None, "r", f"R must be in 1..N = 1..{n}, got {r}")
    if not 1 <= w <= n:
        raise ConfigError(None, "w", f"W must be in 1..N = 1..{n}, got {w}")


def p_stale_exact(n: int, r: int, w: int) -> Fraction:
    """``C(N-W, R) / C(N, R)`` as an exact fraction (0 when R + W > N)."""
    _check(n, r, w)
    return Fraction(math.comb(n - w, r), math.comb(n, r))


def p_stale(n: int, r: int, w: int) -> float:
    """Probability that a read of R random replicas sees none of the W replicas holding the latest
    write: ``C(N-W, R) / C(N, R)``; 0 when R + W > N (strict quorum).

    >>> round(p_stale(3, 1, 1), 6)
    0.666667
    """
    return float(p_stale_exact(n, r, w))


def k_staleness(n: int, r: int, w: int, k: int) -> float:
    """P(a read returns one of the last k versions) = ``1 - p_s^k``.

    Assumes each of the last k writes reached an independent random W-subset (PBS paper §3.2).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(None, "k", f"k must be an integer >= 1, got {k!r}")
    return float(1 - p_stale_exact(n, r, w) ** k)


def monotonic_reads(n: int, r: int, w: int, client_rate: float, write_rate: float) -> float:
    """Probability that a read violates monotonic reads: ``p_s^(1 + g/c)``.

    ``client_rate`` c is the client's read rate to the key, ``write_rate`` g the global write rate to
    it (same time unit); between two reads of the client about g/c writes happen, so the client must
    see a version at most ``1 + g/c`` behind (PBS paper §3.3).
    """
    for key, v in (("client_rate", client_rate), ("write_rate", write_rate)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(None, key, f"must be a finite number, got {v!r}")
    if client_rate <= 0:
        raise ConfigError(None, "client_rate", f"must be > 0, got {client_rate!r}")
    if write_rate < 0:
        raise ConfigError(None, "write_rate", f"must be >= 0, got {write_rate!r}")
    ps = p_stale(n, r, w)
    if ps == 0.0:
        return 0.0
    return float(ps ** (1.0 + write_rate / client_rate))


__all__ = ["k_staleness", "monotonic_reads", "p_stale", "p_stale_exact"]
