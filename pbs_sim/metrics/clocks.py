"""Clock metrics: the realised spread of the clocks that stamped writes, and scripted jumps.

Owns: ``clock_offset_sd_ms`` -- the standard deviation, over the run's writes, of
``timestamp_ms - issued_at`` (each write's clock error at the instant it was stamped: 0 with
perfect clocks), ``clock_offset_max_abs_ms`` and ``clock_jumps``. Reads the ``write_stamps`` and
``clock_events`` tables of ``pbs_sim.sim.clocks``. Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


class ClocksReporter:
    name = "clocks"
    names = ("clock_offset_sd_ms", "clock_offset_max_abs_ms", "clock_jumps")

    def report(self, run: RunView) -> Report:
        stamps = run.table("write_stamps")
        events = run.table("clock_events")
        sd = mx = 0.0
        if stamps is not None and len(stamps):
            issued = run.ops["issued_at"].to_numpy(float)[stamps["op_id"].to_numpy(np.int64)]
            err = stamps["timestamp_ms"].to_numpy(float) - issued
            sd = float(err.std(ddof=1)) if len(err) > 1 else 0.0
            mx = float(np.abs(err).max())
        summary = {
            "clock_offset_sd_ms": sd,
            "clock_offset_max_abs_ms": mx,
            "clock_jumps": float(len(events)) if events is not None else 0.0,
        }
        frames: dict[str, pd.DataFrame] = {}
        return summary, frames


REPORTER = ClocksReporter()
