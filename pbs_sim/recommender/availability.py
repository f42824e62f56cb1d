"""Availability of quorum operations when nodes are up independently (REFERENCE.md §8).

Owns: the availability models the recommender scores configurations with. Must not touch:
latency or staleness (that is the WARS grid), SimPy.

Strict quorums (the only model implemented): an operation needing Q of the N preferred replicas
succeeds iff at least Q of them are up, so with each node up with probability ``a`` independently,
``P(Binomial(N, a) >= Q)`` — reads with Q = R, writes with Q = W.

Hook for sloppy quorums (a later issue, not built): a model with the same two methods, e.g.
``SloppyQuorum(a, candidates=M)`` giving ``P(Binomial(M, a) >= Q)`` over the M distinct nodes a
coordinator may fall back to (REFERENCE §8), can be passed to ``recommend(availability=...)``
unchanged; it should also say which (N, R, W) it cannot judge (Riak's ``pr``/``pw``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from ..errors import ConfigError


class AvailabilityModel(Protocol):
    """What the recommender asks of an availability model."""

    @property
    def name(self) -> str:
        """Shown in reports, e.g. ``"strict"``."""
        ...

    def read(self, n: int, r: int) -> float:
        """Probability that a read with quorum R on N replicas can gather R responses."""
        ...

    def write(self, n: int, w: int) -> float:
        """Probability that a write with quorum W on N replicas can gather W acknowledgements."""
        ...


def format_availability(x: float) -> str:
    """Two significant digits of the unavailability: 99.70%, 99.99940%; above 1 - 1e-10,
    ">99.99999999%" (the binomial model is not that exact about real machines anyway)."""
    if x >= 1.0:
        return "100%"
    u = 1.0 - x
    if u < 1e-10:
        return ">99.99999999%"
    digits = max(2, math.floor(-math.log10(u))) if u < 1 else 2
    return f"{100 * x:.{digits}f}%"


def binomial_at_least(n: int, q: int, a: float) -> float:
    """``P(Binomial(n, a) >= q)``, summed exactly (n is a replication factor: small)."""
    if q <= 0:
        return 1.0
    if q > n:
        return 0.0
    return math.fsum(math.comb(n, k) * a**k * (1 - a) ** (n - k) for k in range(q, n + 1))


@dataclass(frozen=True)
class StrictQuorum:
    """Each of the N preferred replicas up with probability ``node_availability``, independently."""

    node_availability: float
    name: str = "strict"

    def __post_init__(self) -> None:
        a = self.node_availability
        if isinstance(a, bool) or not isinstance(a, int | float) or not 0 < a <= 1:
            raise ConfigError(None, "node_availability", f"must be a probability in (0, 1], got {a!r}")

    def read(self, n: int, r: int) -> float:
        return binomial_at_least(n, r, self.node_availability)

    def write(self, n: int, w: int) -> float:
        return binomial_at_least(n, w, self.node_availability)
