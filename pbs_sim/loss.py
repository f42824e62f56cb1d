"""Data loss of a stated cluster: placement + failure model in, one tidy row of answers out.

Owns: joining a scenario's ``[placement]`` and ``[failure_model]`` (pbs_sim.config) to the analytic
engine (:mod:`pbs_sim.analytic.placement`) and, when asked, the Monte Carlo
(:mod:`pbs_sim.analytic.placement_mc`): :func:`scenario_loss` for a scenario, :func:`loss_point` for
one (placement table, failure-model table, cluster size) as experiments and the recommender state
them. Rows carry the inputs beside the metrics (tidy, one row per point). Must not touch: printing,
files, SimPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError


def _resolve(placement: Mapping[str, Any], failure_model: Mapping[str, Any], nodes: int, replication: int,
             source: str, key_prefix: str | None, note: str = "") -> Any:
    """Validate the two tables through the scenario loader (the same one-line errors as a scenario
    file), with the cluster size and replication filled in."""
    from .config import scenario_from_dict

    raw = {
        "cluster": {"nodes": max(replication, 1), "replication": replication},
        "placement": {**placement, "nodes": nodes, "replication": replication},
        "failure_model": dict(failure_model),
    }
    try:
        return scenario_from_dict(raw, source=source)
    except ConfigError as exc:
        key = f"{key_prefix}.{exc.key}" if key_prefix and exc.key else (key_prefix or exc.key)
        raise ConfigError(exc.source or source, key, exc.reason + note) from None


def scenario_loss(sc: Any, mc_trials: int | None = None, memory_bytes: int | None = None) -> dict[str, Any]:
    """The answers for a scenario's placement and failure model: P(loss) per event with its bounds,
    the expected fraction of keys lost, P(loss per year), MTTDL and NOMDL_t; with ``mc_trials`` (default
    none) also the Monte Carlo's estimate and interval."""
    from .analytic import placement as ap
    from .placement import build, spec_from_config

    spec = spec_from_config(sc.placement, sc.cluster, sc.source)
    pl = build(spec)
    fm = sc.failure_model
    loss = ap.loss_event(pl, fm)
    row: dict[str, Any] = {
        "placement": spec.kind, "nodes": spec.nodes, "replication": spec.replication, "failure_model": fm.kind,
        "replica_sets": pl.m, "scatter_width": pl.scatter_width(),
        **ap.durability(loss, fm.events_per_year, fm.mission_years).as_dict(),
    }
    if mc_trials:
        from .analytic.placement_mc import DEFAULT_MEMORY_BYTES, monte_carlo

        mc = monte_carlo(pl, fm, mc_trials, seed=fm.seed, memory_bytes=memory_bytes or DEFAULT_MEMORY_BYTES)
        row.update(mc.as_dict())
    return row


def loss_point(placement: Mapping[str, Any] | None, failure_model: Mapping[str, Any], nodes: int, replication: int = 3,
               *, mc_trials: int = 0, ensemble_chunks: int | None = None, events_per_year: float | None = None,
               mission_years: float | None = None, source: str = "<inline>", key_prefix: str | None = None) -> dict[str, Any]:
    """One point of a study. ``placement`` a ``[placement]`` table (nodes and replication come from
    the arguments), or None with ``ensemble_chunks``: random replication as an ensemble of that many
    independent uniform chunks (analytic only; fixed and independent failure models)."""
    from .analytic import placement as ap

    fm_table = dict(failure_model)
    if events_per_year is not None:
        fm_table.setdefault("events_per_year", events_per_year)
    if mission_years is not None:
        fm_table.setdefault("mission_years", mission_years)
    sc = _resolve(placement or {"kind": "random", "chunks": 1}, fm_table, nodes, replication, source, key_prefix)
    if placement is not None:
        return scenario_loss(sc, mc_trials=mc_trials)
    fm = sc.failure_model
    if ensemble_chunks is None or ensemble_chunks < 1:
        raise ConfigError(source, key_prefix, "a series without a placement needs ensemble chunks >= 1")
    if fm.kind == "fixed":
        f = fm.failed_nodes if fm.failed_nodes is not None else round(fm.failed_fraction * nodes)
        loss = ap.random_chunks_loss(nodes, replication, ensemble_chunks, int(f))
    elif fm.kind == "independent":
        p = ap.kleppmann_loss(nodes, replication, ensemble_chunks, fm.p)
        loss = ap.Loss(p, p, p, fm.p**replication, True, "independent uniform chunks, Binomial(n, p) failures")
    else:
        raise ConfigError(source, f"{key_prefix}.failure_model.kind" if key_prefix else "failure_model.kind",
                          f"a random-chunk ensemble answers fixed and independent failures, not {fm.kind!r}")
    return {"placement": "random (ensemble)", "nodes": nodes, "replication": replication, "failure_model": fm.kind,
            "replica_sets": ensemble_chunks, **ap.durability(loss, fm.events_per_year, fm.mission_years).as_dict()}


__all__ = ["loss_point", "scenario_loss"]
