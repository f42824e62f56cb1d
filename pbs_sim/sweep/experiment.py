"""What every experiment driver in ``experiments/`` does around a sweep file.

Owns: :func:`run_experiment` (load a sweep file, optionally at reduced size — fewer replications, a
shorter workload — and run it into a results directory), :func:`cell_metrics` (one cell's
``<metric>_mean`` / ``_ci_low`` / ``_ci_high`` from the sweep's summary), :func:`cell_table` (those
per cell beside the driver's own columns) and :func:`arguments` (the drivers' common options). Drivers keep only what is
theirs: which metrics, the per-cell columns they derive, and their figure. Must not touch: how a
sweep runs (``pbs_sim.sweep.run``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import read_toml
from .run import SweepResult, run_sweep
from .spec import SweepSpec, sweep_from_dict

if TYPE_CHECKING:
    import pandas as pd

    from ..config import Scenario

SUFFIXES = ("mean", "ci_low", "ci_high")


def run_experiment(
    spec_path: str | Path, name: str, *, out: str | Path, reps: int | None = None,
    duration_ms: float | None = None, workers: int = 1, base: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[SweepSpec, SweepResult]:
    """Run the sweep file ``spec_path`` into ``out`` (replacing what is there).

    ``reps`` replaces ``sweep.replications``, ``duration_ms`` sets ``base.workload.duration_ms`` (the
    reduced sizes the test suite runs), ``base`` merges further ``{section: {key: value}}`` into the
    sweep's base scenario."""
    path = Path(spec_path)
    raw: dict[str, Any] = read_toml(path)
    if reps is not None:
        raw["sweep"]["replications"] = reps
    if duration_ms is not None:
        raw.setdefault("base", {}).setdefault("workload", {})["duration_ms"] = duration_ms
    for section, values in (base or {}).items():
        raw.setdefault("base", {}).setdefault(section, {}).update(values)
    spec = sweep_from_dict(raw, source=str(path), base_dir=path.parent, name=name)
    return spec, run_sweep(spec, workers=workers, out=Path(out), force=True, progress=False)


def cell_metrics(summary_row: Mapping[str, Any], metrics: Iterable[str]) -> dict[str, float]:
    """``<m>_mean``, ``<m>_ci_low``, ``<m>_ci_high`` of each metric ``m`` the summary row has."""
    out: dict[str, float] = {}
    for m in metrics:
        for suffix in SUFFIXES:
            col = f"{m}_{suffix}"
            if col in summary_row:
                out[col] = float(summary_row[col])
    return out


def cell_table(
    spec: SweepSpec, result: SweepResult, metrics: Iterable[str],
    describe: Callable[[Scenario], Mapping[str, Any]],
    derive: Callable[[Scenario, Mapping[str, Any]], Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per cell, in sweep order: ``describe(scenario)``'s columns (what the driver varies),
    then :func:`cell_metrics` of ``metrics``, then ``derive(scenario, row)``'s columns (figures the
    driver computes from the row)."""
    import pandas as pd

    summary = result.summary
    metrics = tuple(metrics)
    rows = []
    for cell in spec.cells:
        srow = {str(k): v for k, v in summary[summary["cell"] == cell.index].iloc[0].items()}
        row: dict[str, Any] = {**describe(cell.scenario), **cell_metrics(srow, metrics)}
        if derive is not None:
            row.update(derive(cell.scenario, row))
        rows.append(row)
    return pd.DataFrame(rows)


def arguments(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The options every sweep-backed driver takes: ``--reps``, ``--duration-ms``, ``--workers``,
    ``--out`` (None = the experiment's default)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--reps", type=int, default=None, help="replications (default: the sweep file's)")
    ap.add_argument("--duration-ms", type=float, default=None, help="workload duration (default: the file's)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=None, help="results directory (default: results/<experiment>)")
    return ap.parse_args(argv)


__all__ = ["arguments", "cell_metrics", "cell_table", "run_experiment"]
