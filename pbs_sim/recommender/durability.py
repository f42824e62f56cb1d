"""The recommender's durability target: "P(data loss per year) <= x", answered by the analytic engine.

Owns: :class:`DurabilityModel` — a stated cluster (a ``[placement]`` table, a ``[failure_model]``
table, the number of nodes) whose replication factor the recommender varies — and the per-N loss it
reports (:meth:`DurabilityModel.loss_per_year`, cached per N). Must not touch: latency, staleness,
availability, SimPy. The numbers come from :func:`pbs_sim.loss.loss_point` (analytic only: exact, or
the stated estimate inside rigorous bounds; the upper bound is reported beside it, and a target is
judged on the estimate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass
class DurabilityModel:
    """A cluster whose P(loss per year) the recommender evaluates for every replication factor N."""

    placement: Mapping[str, Any]
    failure_model: Mapping[str, Any]
    nodes: int
    source: str = "<inline>"
    _cache: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return (f"{self.placement.get('kind', 'token_ring')} placement on {self.nodes:,} nodes, "
                f"{self.failure_model.get('kind', 'fixed')} failures")

    def loss(self, n_replicas: int) -> dict[str, Any]:
        if n_replicas not in self._cache:
            from ..loss import loss_point

            self._cache[n_replicas] = loss_point(self.placement, self.failure_model, self.nodes, n_replicas,
                                                 source=self.source)
        return self._cache[n_replicas]

    def loss_per_year(self, n_replicas: int) -> float:
        return float(self.loss(n_replicas)["p_loss_per_year"])

    @staticmethod
    def from_file(path: str | Path) -> DurabilityModel:
        """A scenario TOML's ``[placement]`` and ``[failure_model]`` (nodes: placement.nodes, else
        cluster.nodes); the replication factor is the recommender's to vary."""
        from ..config import load_scenario

        sc = load_scenario(path)  # every key checked, one line each
        raw = sc.to_dict()
        placement = {k: v for k, v in raw.get("placement", {}).items() if k not in ("nodes", "replication")}
        nodes = sc.placement.nodes if sc.placement.nodes is not None else sc.cluster.nodes
        return DurabilityModel(placement, raw["failure_model"], nodes, source=str(path))

    def check(self, ns: list[int]) -> None:
        """Every N of the range must fit the cluster (before any work)."""
        for n in ns:
            if n > self.nodes:
                raise ConfigError(self.source, "placement.nodes", f"{self.nodes} nodes cannot hold N = {n} replicas")
            self.loss(n)  # validates (and caches) the point


__all__ = ["DurabilityModel"]
