"""Metrics: pure functions from a run's History (or its DataFrames) to tidy DataFrames.

Modules: ``staleness`` (t-visibility, k-staleness / versions_behind, per-key staleness),
``latency`` (read and write latency percentiles), ``sessions`` (monotonic-read and read-your-writes
violations), ``monitoring`` (PBS predicted from the run's own observed delays, next to the measured
curve), ``curves`` (several replications' curves on one grid: their mean and its interval).
Definitions follow DESIGN.md exactly; each function's docstring states what it computes.
Must not touch: SimPy (metrics never run the simulator), plotting.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """95 % Wilson score interval for binomial proportions (vectorized; n = 0 gives nan)."""
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


__all__ = ["Z95", "wilson"]
