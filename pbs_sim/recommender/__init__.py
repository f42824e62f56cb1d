"""Choosing N, R and W: every configuration scored against service-level targets.

(The package is ``recommender`` so that ``pbs_sim.recommend`` stays the function: a subpackage of
that name would replace it as soon as it was imported.)

Owns: ``recommend`` and the ``Recommendation`` it returns — the WARS grid of every (N, R, W)
(``pbs_sim.analytic.grid``) joined with quorum availability (``availability``), each configuration
checked against the targets, the feasible ones ranked, the Pareto front marked and one sentence
per excluded configuration. Must not touch: printing, exit codes (the CLI), SimPy.

Targets (all optional): read and write latency at the 99.9th percentile, t-visibility at the
probability ``target`` (the time after commit from which a read is consistent with probability
``target``), the minimum availability of both reads and writes, and the maximum probability of
losing data in a year (``max_loss_per_year``, with a :class:`~.durability.DurabilityModel` stating
the cluster's placement and failure model; the analytic engine answers it for each N). A configuration is feasible
when its point estimates meet every target; ``borderline`` marks feasible ones whose t-visibility
95 % CI reaches beyond the bound (more trials would settle it).

Ranking, cheapest first: fewest replicas N, then the sum of read and write p99.9 latency, then the
t-visibility. The Pareto front is over (read p99.9, write p99.9, t-visibility) among all
configurations: a configuration is on it when no other is at least as good on all three and better
on one. With no feasible configuration the *closest* is the one with the smallest total relative
miss (sum over targets of how far beyond the bound it is, relative to the bound; for availability
the ratio of unavailabilities).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..profiles import Profile
from .availability import (
    AvailabilityModel,
    SloppyQuorum,
    StrictQuorum,
    binomial_at_least,
    format_availability,
)
from .durability import DurabilityModel
from .inputs import parse_n_range, profile_from_trace, resolve_profile
from .ranked import Ranked

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Targets:
    """Service-level targets; ``None`` leaves one out."""

    max_read_ms: float | None = None
    max_write_ms: float | None = None
    max_t_visibility_ms: float | None = None
    target: float = 0.999
    min_availability: float | None = None
    max_loss_per_year: float | None = None  # issue 20: P(data loss in a year) <= this

    def __post_init__(self) -> None:
        for key in ("max_read_ms", "max_write_ms", "max_t_visibility_ms"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not (v >= 0 and math.isfinite(v))):
                raise ConfigError(None, key, f"must be a finite number of ms >= 0, got {v!r}")
        t = self.target
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t < 1:
            raise ConfigError(None, "target", f"must be a probability in (0, 1), got {t!r}")
        m = self.min_availability
        if m is not None and (isinstance(m, bool) or not isinstance(m, int | float) or not 0 < m < 1):
            raise ConfigError(None, "min_availability", f"must be a probability in (0, 1), got {m!r}")
        x = self.max_loss_per_year
        if x is not None and (isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x < 1):
            raise ConfigError(None, "max_loss_per_year", f"must be a probability in (0, 1), got {x!r}")


def _pct(x: float) -> str:
    return format_availability(x)


def _ms(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3g} ms"


def _misses(row: dict[Any, Any], tg: Targets) -> list[tuple[str, float]]:
    """(sentence fragment, relative miss) for each target the row misses."""
    out: list[tuple[str, float]] = []

    def rel(value: float, bound: float) -> float:
        if not math.isfinite(value):
            return math.inf
        return (value - bound) / bound if bound > 0 else math.inf

    if tg.max_read_ms is not None and row["read_latency_p999_ms"] > tg.max_read_ms:
        out.append((f"read p99.9 {_ms(row['read_latency_p999_ms'])} > {tg.max_read_ms:g} ms",
                    rel(row["read_latency_p999_ms"], tg.max_read_ms)))
    if tg.max_write_ms is not None and row["write_latency_p999_ms"] > tg.max_write_ms:
        out.append((f"write p99.9 {_ms(row['write_latency_p999_ms'])} > {tg.max_write_ms:g} ms",
                    rel(row["write_latency_p999_ms"], tg.max_write_ms)))
    if tg.max_t_visibility_ms is not None and row["t_visibility_ms"] > tg.max_t_visibility_ms:
        out.append((f"t-visibility at {100 * tg.target:g} % {_ms(row['t_visibility_ms'])} > {tg.max_t_visibility_ms:g} ms",
                    rel(row["t_visibility_ms"], tg.max_t_visibility_ms)))
    if tg.min_availability is not None:
        for op in ("read", "write"):
            a = row[f"{op}_availability"]
            if a < tg.min_availability:
                out.append((f"{op} availability {_pct(a)} < {100 * tg.min_availability:g}%",
                            (1 - a) / (1 - tg.min_availability) - 1))
    if tg.max_loss_per_year is not None and row.get("p_loss_per_year", 0.0) > tg.max_loss_per_year:
        out.append((f"P(data loss per year) {row['p_loss_per_year']:.3g} > {tg.max_loss_per_year:g}",
                    rel(row["p_loss_per_year"], tg.max_loss_per_year)))
    return out


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``values`` (to minimize, one column per objective) that no row dominates."""
    v = np.asarray(values, dtype=float)
    on = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        if np.any(le & lt):
            on[i] = False
    return on


@dataclass(eq=False)
class Recommendation(Ranked):
    """Every (N, R, W) scored: ``table`` (one row each), ranked ``feasible``, ``closest`` if none."""

    profile: str
    targets: Targets
    availability_model: str
    node_availability: float
    table: pd.DataFrame
    durability_model: str | None = None


    @property
    def excluded(self) -> list[str]:
        """One sentence per excluded configuration saying which targets it misses."""
        rows = self.table[~self.table.feasible]
        return [f"N={r.n} R={r.r} W={r.w}: {r.misses}." for r in rows.itertuples()]

    def to_dict(self) -> dict[str, Any]:
        def clean(d: dict[Any, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for k, v in d.items():
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                out[str(k)] = v
            return out

        best, closest = self.best, self.closest
        return {
            "profile": self.profile,
            "targets": {k: getattr(self.targets, k) for k in self.targets.__dataclass_fields__},
            "availability_model": self.availability_model, "node_availability": self.node_availability,
            "durability_model": self.durability_model,
            "feasible": [clean(r) for r in self.feasible.to_dict("records")],
            "best": clean(best) if best else None,
            "closest": clean(closest) if closest else None,
            "excluded": self.excluded,
            "pareto": [clean(r) for r in self.table[self.table.pareto].to_dict("records")],
            "table": [clean(r) for r in self.table.to_dict("records")],
        }


def score(grid: pd.DataFrame, targets: Targets, availability: AvailabilityModel,
          durability: DurabilityModel | None = None) -> pd.DataFrame:
    """The grid with availability, durability (when a model is given), feasibility, misses, rank
    and the Pareto front added."""
    t = grid.copy()
    t["read_availability"] = [availability.read(int(n), int(r)) for n, r in zip(t.n, t.r, strict=True)]
    t["write_availability"] = [availability.write(int(n), int(w)) for n, w in zip(t.n, t.w, strict=True)]
    if durability is not None:
        t["p_loss_per_year"] = [durability.loss_per_year(int(n)) for n in t.n]
        t["p_loss_per_year_upper"] = [float(durability.loss(int(n))["p_loss_per_year_upper"]) for n in t.n]
    elif targets.max_loss_per_year is not None:
        raise ConfigError(None, "max_loss_per_year", "needs a durability model (the cluster's placement and failure model)")
    rows = t.to_dict("records")
    misses = [_misses(r, targets) for r in rows]
    t["feasible"] = [not m for m in misses]
    t["misses"] = ["; ".join(s for s, _ in m) if m else "" for m in misses]
    t["total_miss"] = [math.fsum(x for _, x in m) for m in misses]
    t["latency_sum_ms"] = t.read_latency_p999_ms + t.write_latency_p999_ms
    t["borderline"] = False
    if targets.max_t_visibility_ms is not None:
        t["borderline"] = t.feasible & (t.t_visibility_ci_high_ms > targets.max_t_visibility_ms)
    t["pareto"] = pareto_front(t[["read_latency_p999_ms", "write_latency_p999_ms", "t_visibility_ms"]].to_numpy())
    order = t[t.feasible].sort_values(["n", "latency_sum_ms", "t_visibility_ms", "r", "w"]).index
    t["rank"] = 0
    t.loc[order, "rank"] = np.arange(1, len(order) + 1)
    return t


def recommend(
    profile: Profile | str,
    n: int | str | Iterable[int] = "3..7",
    *,
    max_read_ms: float | None = None,
    max_write_ms: float | None = None,
    max_t_visibility_ms: float | None = None,
    target: float = 0.999,
    node_availability: float = 0.999,
    min_availability: float | None = None,
    availability: AvailabilityModel | None = None,
    max_loss_per_year: float | None = None,
    durability: DurabilityModel | None = None,
    trials: int = 100_000,
    seed: int | None = None,
    fanout: str = "all",
    progress: Callable[[int], object] | None = None,
) -> Recommendation:
    """Score every (N, R, W) for N in ``n`` against the targets and rank the ones that meet them.

    Feasible configurations are ranked cheapest first: fewest replicas, then read + write p99.9
    latency; the Pareto front of read p99.9, write p99.9 and t-visibility is marked. Availability
    is the strict-quorum binomial model (each node up with probability ``node_availability``
    independently) unless another ``availability`` model is given.

    Args:
        profile: a built-in name, ``exponential(...)``, a profile TOML, or a CSV latency trace
            (columns ``w, a, r, s`` of one-way delays in ms, or one column for all four).
        n: ``"3..7"``, ``"3,5,7"``, an int or ints.
        max_read_ms: the read p99.9 target (ms), or None for no target.
        max_write_ms: the write p99.9 target (ms).
        max_t_visibility_ms: the t-visibility target at ``target`` (ms).
        target: the probability the t-visibility is measured at, in (0, 1).
        node_availability: the probability a node is up, for the availability model.
        min_availability: the least read and write availability accepted.
        availability: an ``AvailabilityModel`` instead of the strict binomial one, e.g.
            ``SloppyQuorum(node_availability, nodes=M)`` for sloppy quorums over a ring of M nodes.
        max_loss_per_year: the largest accepted P(data loss per year); needs ``durability``.
        durability: the cluster's placement and failure model (:class:`DurabilityModel`); with it
            every row gets ``p_loss_per_year``, answered by the analytic loss engine.
        trials: trials per N.
        seed: the grid's seed; None draws one (reported).
        fanout: ``"all"`` or ``"quorum"`` read fan-out.
        progress: called after each chunk of ``m`` trials drawn (``trials`` per N in all).

    Returns:
        A ``Recommendation``: ``best`` (the top row, or None), ``feasible``, ``excluded`` (with what
        each misses), ``closest`` (when nothing is feasible), ``table`` (every configuration with its
        numbers, ``feasible``, ``pareto``, ``misses`` and ``rank``) and ``to_dict()``.

    Raises:
        ConfigError: an empty or bad N range, a bad profile or trace, a target that is not a
            probability in (0, 1), or too much work.

    Example:
        >>> rec = recommend("lnkd-ssd", "3", max_t_visibility_ms=5, trials=20_000, seed=1)
        >>> (rec.best["n"], rec.best["r"] + rec.best["w"] > 3)
        (3, False)
    """
    from ..analytic.grid import predict_grid

    ns = parse_n_range(n, source="n") if isinstance(n, str | int) else sorted(set(int(x) for x in n))
    if not ns:
        raise ConfigError(None, "n", "empty range of N")
    tg = Targets(max_read_ms, max_write_ms, max_t_visibility_ms, target, min_availability, max_loss_per_year)
    if tg.max_loss_per_year is not None and durability is None:
        raise ConfigError(None, "max_loss_per_year", "needs a durability model (the cluster's placement and failure model)")
    if durability is not None:
        durability.check(ns)  # before the grid's work
    model = availability if availability is not None else StrictQuorum(node_availability)
    prof = resolve_profile(profile, source="profile")
    grid = predict_grid(prof, n=ns, trials=trials, seed=seed, target=tg.target, fanout=fanout, progress=progress)
    return Recommendation(
        profile=prof.name, targets=tg, availability_model=model.name,
        node_availability=float(getattr(model, "node_availability", math.nan)),
        table=score(grid, tg, model, durability), durability_model=durability.name if durability else None,
    )


__all__ = [
    "AvailabilityModel", "DurabilityModel", "Recommendation", "SloppyQuorum", "StrictQuorum", "Targets", "binomial_at_least",
    "pareto_front", "parse_n_range", "profile_from_trace", "recommend", "resolve_profile", "score",
]
