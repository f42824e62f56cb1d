"""One interface over both engines, for sweeps and the Python API.

Owns: ``run_engine(engine, scenario, seed)`` -> ``EngineResult`` (a flat ``summary`` dict of scalar
metrics, a t-visibility ``curve`` DataFrame, and optional extra frames), and the engine registry a
sweep's ``sweep.engine`` is resolved against (the built-ins, engines registered in this process with
:func:`register_engine`, and importable ``"package.module:function"`` names). The sweep layer and the
CLI use only this; each engine keeps its own richer result type.
Must not touch: how either engine computes.

Curve columns (both engines): ``t_ms, p_consistent, ci_low, ci_high`` (+ ``n`` where counted).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import LazyModule
from .config import Scenario
from .errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

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


EngineFn = Callable[[Scenario, np.random.SeedSequence], EngineResult]

_REGISTRY: dict[str, EngineFn] = {}


def register_engine(name: str, fn: EngineFn | None) -> None:
    """Make ``fn(scenario, seed) -> EngineResult`` available as ``engine = name`` (None removes it).

    Registered engines live in this process only: they reach serial runs, process pools that fork
    (Linux) and threaded Dask workers. For spawned or remote workers name an importable
    ``"package.module:function"`` instead.
    """
    if fn is None:
        _REGISTRY.pop(name, None)
    else:
        _REGISTRY[name] = fn


def _import_engine(name: str) -> EngineFn:
    module, _, attr = name.partition(":")
    mod = importlib.import_module(module)
    fn = getattr(mod, attr)
    if not callable(fn):
        raise TypeError(f"{name} is not callable")
    return fn  # type: ignore[no-any-return]


def resolve_engine(name: str) -> EngineFn:
    """The callable behind an engine name."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in ENGINES:
        return lambda scenario, seed: run_engine(name, scenario, seed)
    if ":" in name:
        return _import_engine(name)
    raise ConfigError(None, "sweep.engine", f"unknown engine {name!r}")


def check_engine(name: str, source: str | None) -> None:
    """Raise a ``ConfigError`` now if ``name`` cannot run (unknown, or an import path that fails).

    The built-in engines always ship with the package, so they need no check."""
    if name in _REGISTRY or name in ENGINES:
        return
    if ":" in name:
        try:
            _import_engine(name)
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            raise ConfigError(source, "sweep.engine", f"cannot import engine {name!r}: {exc}") from None
        return
    raise ConfigError(
        source, "sweep.engine", f"unknown engine {name!r}; expected one of {', '.join(ENGINES)} (or module:function)"
    )
