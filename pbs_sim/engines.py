"""One interface over both engines, for sweeps and the Python API.

Owns: ``run_engine(engine, scenario, seed)`` -> ``EngineResult`` (a flat ``summary`` dict of scalar
metrics, a t-visibility ``curve`` DataFrame, and optional extra frames). The sweep layer and the CLI
use only this; each engine keeps its own richer result type.
Must not touch: how either engine computes.

Curve columns (both engines): ``t_ms, p_consistent, ci_low, ci_high`` (+ ``n`` where counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .config import Scenario
from .errors import ConfigError

ENGINES = ("simulate", "predict")

Seed = int | np.random.SeedSequence | None


@dataclass
class EngineResult:
    summary: dict[str, Any]
    curve: pd.DataFrame
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_engine(engine: str, scenario: Scenario, seed: Seed = None) -> EngineResult:
    """Run ``scenario`` on ``engine`` ("simulate" or "predict"); ``seed`` None uses ``run.seed``."""
    if engine == "predict":
        from .analytic.wars import predict_scenario

        res = predict_scenario(scenario, seed=seed)
        return EngineResult(res.summary(), res.curve)
    if engine == "simulate":
        from .simulation import simulate

        sim = simulate(scenario, seed=seed)
        return EngineResult(sim.summary(), sim.curve, sim.frames())
    raise ConfigError(None, "sweep.engine", f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
