"""Fault metrics: how many crashes and disk losses a run saw (``pbs_sim.sim.faults``' ``faults`` table).

Owns: the faults mechanism's reporter. Must not touch: SimPy, the simulator. What faults do to data
is measured by ``pbs_sim.metrics.durability`` and to reads by ``pbs_sim.metrics.causes``.
"""

from __future__ import annotations

from .mechanism import Report, RunView


class FaultsReporter:
    """``fault_crashes`` and ``fault_disk_losses`` (zeros without faults)."""

    name = "faults"
    names = ("fault_crashes", "fault_disk_losses")

    def report(self, run: RunView) -> Report:
        faults = run.table("faults")
        out: dict[str, float] = {}
        for action, name in (("crash", "fault_crashes"), ("wipe", "fault_disk_losses")):
            out[name] = float((faults["action"].astype(str) == action).sum()) if faults is not None else 0.0
        return out, {}


REPORTER = FaultsReporter()
