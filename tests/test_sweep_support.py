"""Toy engines for the sweep tests (no tests here): importable as ``test_sweep_support:NAME``.

Each is a pure function of (scenario, seed), like the real engines, so what a sweep writes can be
recomputed by hand: ``mean_x`` is the mean of the first 50 uniforms of ``default_rng(seed)``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pbs_sim.config import Scenario
from pbs_sim.engines import EngineResult

TESTS = Path(__file__).resolve().parent
FAIL_KEYS = 13  # workload.keys that makes the toy engine raise


def expected_mean_x(seed: np.random.SeedSequence) -> float:
    return float(np.random.default_rng(seed).random(50).mean())


def engine(scenario: Scenario, seed: Any) -> EngineResult:
    """Summary: mean_x, rw (= R + W), flag (bool), n (= 99: not the replication factor, so the
    sweep must keep it as ``metric_n``); a 3-point curve."""
    x = np.random.default_rng(seed).random(50)
    if scenario.workload.keys == FAIL_KEYS:
        raise RuntimeError(f"unlucky number of keys\nsecond line ({FAIL_KEYS})")
    p = np.minimum(1.0, np.cumsum(x[:3]))
    curve = pd.DataFrame({"t_ms": [0.0, 1.0, 2.0], "p_consistent": p, "ci_low": p * 0.9,
                          "ci_high": np.minimum(1.0, p * 1.1), "n": [50, 50, 50]})
    summary = {"mean_x": float(x.mean()), "rw": scenario.cluster.read_quorum + scenario.cluster.write_quorum,
               "flag": bool(x[0] > 0.5), "n": 99, "r": scenario.cluster.read_quorum}
    return EngineResult(summary, curve)


def slow(scenario: Scenario, seed: Any) -> EngineResult:
    """``engine`` after 0.1 s of sleep: slow enough to be killed part way."""
    time.sleep(0.1)
    return engine(scenario, seed)


def crash(scenario: Scenario, seed: Any) -> EngineResult:
    """``engine``, except that the worker process dies outright when workload.keys is 13."""
    if scenario.workload.keys == FAIL_KEYS:
        import os

        os._exit(3)
    return engine(scenario, seed)
