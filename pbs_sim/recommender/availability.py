"""Availability of quorum operations when nodes are up independently (docs/validation.md §8).

Owns: the availability models the recommender scores configurations with. Must not touch:
latency or staleness (that is the WARS grid), SimPy.

Strict quorums: an operation needing Q of the N preferred replicas succeeds iff at least Q of them
are up, so with each node up with probability ``a`` independently, ``P(Binomial(N, a) >= Q)`` —
reads with Q = R, writes with Q = W.

Sloppy quorums (``cluster.sloppy_quorum = true`` in the simulator, Dynamo §4.6): the operation goes
to the first N nodes of the key's preference list that are up, fallbacks included, so it succeeds
iff at least Q of all M nodes of the list (the ring's distinct nodes) are up:
``P(Binomial(M, a) >= Q)``. The simulator reproduces both forms within confidence intervals
(``tests/test_sloppy_validation.py``). Riak's primary quorums (``pr``/``pw``) are not modelled here.
Any object with the two methods of :class:`AvailabilityModel` can be passed to
``recommend(availability=...)``.
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


@dataclass(frozen=True)
class SloppyQuorum:
    """Sloppy quorums over a preference list of ``nodes`` distinct nodes (fallbacks included), each up
    with probability ``node_availability``, independently; needs ``nodes >= N`` for every N scored."""

    node_availability: float
    nodes: int
    name: str = "sloppy"

    def __post_init__(self) -> None:
        StrictQuorum(self.node_availability)  # the same check of the probability
        m = self.nodes
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ConfigError(None, "nodes", f"must be a whole number of nodes >= 1, got {m!r}")

    def _check(self, n: int) -> None:
        if n > self.nodes:
            raise ConfigError(None, "nodes", f"a ring of {self.nodes} nodes cannot hold N = {n} replicas")

    def read(self, n: int, r: int) -> float:
        self._check(n)
        return binomial_at_least(self.nodes, r, self.node_availability)

    def write(self, n: int, w: int) -> float:
        self._check(n)
        return binomial_at_least(self.nodes, w, self.node_availability)
