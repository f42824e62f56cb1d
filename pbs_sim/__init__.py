"""pbs_sim: how stale are reads, how often is data repaired, how much acknowledged data can be lost,
in Dynamo-style (leaderless) replicated stores. Two engines that check each other: the analytic PBS
engine (closed forms, WARS Monte Carlo) and a SimPy discrete-event simulator.

Public API (importing this package has no side effects)::

    pbs_sim.predict(...)         analytic engine      -> PredictResult
    pbs_sim.predict_grid(...)    every (N, R, W) from one sample per N -> DataFrame
    pbs_sim.recommend(...)       (N, R, W) scored against latency/staleness/availability targets
    pbs_sim.load_scenario(path)  validated Scenario
    pbs_sim.simulate(scenario)   discrete-event run   -> SimResult
    pbs_sim.engines.run_engine   either engine behind one interface (sweeps use it)
    pbs_sim.load_sweep(path)     validated sweep (every cell checked)  -> SweepSpec
    pbs_sim.run_sweep(sweep)     grid x replications -> results dir   -> SweepResult
    pbs_sim.check(history)       the causality checker (lost writes, siblings, sessions) -> CheckReport
"""

from __future__ import annotations

from typing import Any

from .config import Scenario, load_scenario, scenario_from_dict
from .distributions import Distribution, parse
from .errors import ConfigError, PbsSimError
from .profiles import BUILTIN as PROFILES
from .profiles import Profile, get_profile

__version__ = "0.2.0"

__all__ = [
    "ConfigError", "Distribution", "PROFILES", "PbsSimError", "Profile", "Scenario",
    "__version__", "get_profile", "load_scenario", "parse", "predict", "scenario_from_dict", "simulate",
    "load_sweep", "run_sweep", "predict_grid", "recommend", "check",
]


def __getattr__(name: str) -> Any:
    # Engines are imported lazily so `import pbs_sim` stays light (no SimPy unless simulating).
    if name == "predict":
        from .analytic.wars import predict

        return predict
    if name == "predict_grid":
        from .analytic.grid import predict_grid

        return predict_grid
    if name == "recommend":
        from .recommender import recommend

        return recommend
    if name == "simulate":
        from .simulation import simulate

        return simulate
    if name == "check":
        from .checker import check

        return check
    if name in ("run_sweep", "load_sweep"):
        from . import sweep

        return getattr(sweep, name)
    raise AttributeError(name)
