"""Parameter sweeps: grid x replications on an executor -> a results directory you can trust.

Owns the sweep layer of the data flow (config -> engines -> **sweep** -> plots)::

    spec.py     sweep files: validation of every cell up front, cell order, seeds, the sweep hash
    execute.py  engine lookup, the worker function, executors (serial, process pool, Dask)
    store.py    the results directory: durable parts, tables, manifest, resume checks
    run.py      run_sweep / rebuild_run / load_results

Must not touch: how engines compute (it calls ``pbs_sim.engines.run_engine``), plotting.

Python API::

    from pbs_sim.sweep import load_sweep, expand, run_sweep, rebuild_run, load_results
    spec = load_sweep("experiments/sweep_example.toml")   # every cell validated
    res = run_sweep(spec, workers=2, out="results/sweep_example")
    res.summary                                            # per cell mean and 95% CI

Output schema (stable; ``plots`` and the notebook read it):

``results``   cell, rep, seed, status, error, engine, <swept keys with "." -> "_">, n, r, w, profile,
              <engine summary metrics, in the engine's own names>, wall_s
``curves``    cell, rep, t_ms, p_consistent, ci_low, ci_high[, n, ...]
``summary``   cell, <swept keys>, n, r, w, profile, n_ok, n_error,
              <metric>_mean, <metric>_ci_low, <metric>_ci_high for every numeric metric
``curves_summary``  cell, t_ms, n_reps, p_consistent_mean, p_consistent_ci_low, p_consistent_ci_high
"""

from __future__ import annotations

from .execute import Task, open_executor, register_engine, run_replication
from .run import RebuiltRun, SweepResult, default_out, load_results, rebuild_run, run_sweep
from .spec import (
    Cell,
    SweepSpec,
    Zip,
    column_name,
    expand,
    load_sweep,
    replication_seed,
    sweep_from_dict,
)
from .store import CONVENIENCE_COLUMNS, CURVE_COLUMNS, FIXED_COLUMNS

__all__ = [
    "CONVENIENCE_COLUMNS", "CURVE_COLUMNS", "Cell", "FIXED_COLUMNS", "RebuiltRun", "SweepResult",
    "SweepSpec", "Task", "Zip", "column_name", "default_out", "expand", "load_results", "load_sweep",
    "open_executor", "rebuild_run", "register_engine", "replication_seed", "run_replication",
    "run_sweep", "sweep_from_dict",
]
