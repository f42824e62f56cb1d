"""Metrics: pure functions from a run's History (or its DataFrames) to tidy DataFrames.

Modules: ``staleness`` (t-visibility, k-staleness / versions_behind, per-key staleness),
``latency`` (read and write latency percentiles), ``sessions`` (monotonic-read and read-your-writes
violations), ``monitoring`` (PBS predicted from the run's own observed delays, next to the measured
curve), ``curves`` (several replications' curves on one grid: their mean and its interval).
Definitions follow docs/design.md exactly; each function's docstring states what it computes.
Must not touch: SimPy (metrics never run the simulator), plotting.
"""

from __future__ import annotations

from ..stats import Z95, wilson

__all__ = ["Z95", "wilson"]
