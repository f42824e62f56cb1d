"""Parameter sweeps: grid x replications on an executor -> a results directory you can trust.

Owns the sweep layer of the data flow (config -> engines -> **sweep** -> plots)::

    spec.py     sweep files: validation of every cell up front, cell order, seeds, the sweep hash
    execute.py  engine lookup, the worker function, executors (serial, process pool, Dask)
    store.py    the results directory: durable parts, tables, manifest, resume checks
    paired.py   paired differences between cells that share seeds ([sweep] common_seeds)
    run.py      run_sweep / rebuild_run / load_results

Must not touch: how engines compute (it calls ``pbs_sim.engines.run_engine``), plotting.

Python API::

    from pbs_sim.sweep import load_sweep, expand, run_sweep, rebuild_run, load_results
    spec = load_sweep("experiments/sweep_example.toml")   # every cell validated
    res = run_sweep(spec, workers=2, out="results/sweep_example")
    res.summary                                            # per cell mean and 95% CI

Output schema (stable; ``pbs_sim.plots``, the notebook and ``experiments/pbs_paper.py`` read it).
Tables are ``.csv`` or ``.parquet`` (``--format``), rows sorted by (cell, rep):

``results``   one row per replication: ``cell, rep, root_seed`` (the sweep's seed, the same on every
              row; the run's own seed ``SeedSequence(root_seed, spawn_key=(cell, rep))`` is the
              ``replication_seed`` column, ``"<root>:<cell>.<rep>"``, as the engine reports it or, for
              an engine that reports none, as the sweep handed it over), ``status`` ("ok" | "error"), ``error``
              (one line, empty when ok), ``engine``; one column per swept key with "." -> "_"
              (``latency.profile`` -> ``latency_profile``; lists and tables as JSON text); always
              ``n, r, w, profile`` (N, R, W, ``latency.profile``); then the engine's summary metrics
              under their own names (a metric named like an earlier column is dropped when it always
              equals it — predict and simulate echo n, r, w, profile, engine — else renamed
              ``metric_<name>``, e.g. simulate's own ``metric_wall_s``); last ``wall_s``, the
              replication's wall time in its worker (the only column that differs between executors).
``curves``    cell, rep, t_ms, p_consistent, ci_low, ci_high (+ ``n`` and any other curve column).
``summary``   per cell: ``cell``, the swept-key columns, n, r, w, profile, ``n_ok``, ``n_error``, and
              for every numeric (or boolean) metric ``<metric>_mean``, ``<metric>_ci_low``,
              ``<metric>_ci_high``: the mean over the cell's ok replications and its 95% Student-t
              interval (NaN with fewer than 2 replications or an infinite value).
``curves_summary``  per cell and t of the union of its replications' grids (each replication read as
              a step function: ``pbs_sim.metrics.curves``): ``n_reps``, ``p_consistent_mean`` and
              its 95% Student-t interval over replications clipped to [0, 1] (one replication:
              its own interval).
``paired``    only with ``[sweep] common_seeds`` (cells share seeds: replication rep of a cell runs
              with its seed cell's ``SeedSequence(root_seed, spawn_key=(seed_cell, rep))``): per
              non-baseline cell and metric (every numeric metric but the timings), ``cell,
              baseline_cell``, the cell's parameters as in ``summary``, ``metric, n_pairs, diff_mean,
              diff_ci_low, diff_ci_high, diff_half_width`` (the mean of cell - baseline over
              replications paired by rep, 95% Student-t), ``unpaired_half_width`` (Welch's, the
              same replications read as independent), ``cell_mean, baseline_mean``.
``manifest.json``  kind, name, description, sweep_file, scenario_file, sweep_hash, identity
              (sweep_hash, pbs_sim_version, results_schema, inputs: data file -> sha256), status
              (running | interrupted | incomplete | complete), counts {ok, error, missing}, n_cells,
              replications, n_runs, started_at, resumed_at, finished_at, executor, format, files,
              sweep (the resolved sweep: engine, replications, seed, grid, zip, base scenario),
              cells [{cell, params}] (with common seeds also seed_cell, baseline_cell), provenance
              (versions, git commit).
``.parts/c<cell>-r<rep>.json``  one record per finished replication (what resume reads).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..rng import replication_seed
    from .execute import Task, open_executor, register_engine, run_replication
    from .paired import paired_differences
    from .run import RebuiltRun, SweepResult, default_out, load_results, rebuild_run, run_sweep
    from .spec import (
        Cell,
        SweepSpec,
        Zip,
        column_name,
        expand,
        load_sweep,
        sweep_from_dict,
    )
    from .store import CONVENIENCE_COLUMNS, CURVE_COLUMNS, FIXED_COLUMNS

# public name -> submodule. Imported on first use (PEP 562): checking a sweep file needs only spec
# (no pandas, scipy or executors), so `pbs-sim sweep bad.toml` answers in a fraction of a second.
_EXPORTS = {
    **dict.fromkeys(("Task", "open_executor", "register_engine", "run_replication"), "execute"),
    **dict.fromkeys(("RebuiltRun", "SweepResult", "default_out", "load_results", "rebuild_run", "run_sweep"), "run"),
    **dict.fromkeys(("Cell", "SweepSpec", "Zip", "column_name", "expand", "load_sweep", "sweep_from_dict"), "spec"),
    **dict.fromkeys(("CONVENIENCE_COLUMNS", "CURVE_COLUMNS", "FIXED_COLUMNS"), "store"),
    "paired_differences": "paired",
}


_SUBMODULES = ("spec", "execute", "store", "paired", "run")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # `pbs_sim.sweep.store` without importing it first, as before
        return importlib.import_module(f"{__name__}.{name}")
    if name == "replication_seed":  # lives with the other seeds
        return importlib.import_module("pbs_sim.rng").replication_seed
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CONVENIENCE_COLUMNS", "CURVE_COLUMNS", "Cell", "FIXED_COLUMNS", "RebuiltRun", "SweepResult",
    "SweepSpec", "Task", "Zip", "column_name", "default_out", "expand", "load_results", "load_sweep",
    "open_executor", "paired_differences", "rebuild_run", "register_engine", "replication_seed", "run_replication",
    "run_sweep", "sweep_from_dict",
]
