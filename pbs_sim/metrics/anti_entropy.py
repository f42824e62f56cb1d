"""Anti-entropy metrics, pure functions of a run's ``anti_entropy`` frame (``pbs_sim.sim.anti_entropy``).

Owns: exchange cost totals and means (exchanges, aborted ones, messages, hashes compared, keys sent
and repaired, bytes, mean exchange duration) and the anti-entropy mechanism's reporter.
Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import LazyModule
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


def anti_entropy_summary(ae: pd.DataFrame | None) -> dict[str, float]:
    """Totals and means of the anti-entropy exchanges of a run."""
    if ae is None or ae.empty:
        return {"ae_exchanges": 0.0, "ae_aborted": 0.0, "ae_messages": 0.0, "ae_hashes_compared": 0.0,
                "ae_keys_sent": 0.0, "ae_keys_repaired": 0.0, "ae_bytes_sent": 0.0, "ae_exchange_ms_mean": 0.0}
    ok = ae["status"].astype(str) == "ok"
    return {
        "ae_exchanges": float(len(ae)),
        "ae_aborted": float((ae["status"].astype(str) == "aborted").sum()),
        "ae_messages": float(ae["messages"].sum()),
        "ae_hashes_compared": float(ae["hashes_compared"].sum()),
        "ae_keys_sent": float(ae["keys_sent"].sum()),
        "ae_keys_repaired": float(ae["keys_repaired"].sum()),
        "ae_bytes_sent": float(ae["bytes_sent"].sum()),
        "ae_exchange_ms_mean": float(ae.loc[ok, "duration_ms"].mean()) if ok.any() else 0.0,
    }


class AntiEntropyReporter:
    """Anti-entropy exchange costs of a run (zeros with anti-entropy off)."""

    name = "anti_entropy"
    names = ("ae_exchanges", "ae_aborted", "ae_messages", "ae_hashes_compared", "ae_keys_sent", "ae_keys_repaired",
             "ae_bytes_sent", "ae_exchange_ms_mean")

    def report(self, run: RunView) -> Report:
        return anti_entropy_summary(run.table("anti_entropy")), {}


REPORTER = AntiEntropyReporter()
