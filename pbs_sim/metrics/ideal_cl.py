"""The ideal-consistency-level counterfactual's metrics (issue 19), pure functions of history frames.

Owns: the ``ideal_cl`` reporter (docs/design.md, metric table): ``write_failed_ideal_cl`` -- the
measured writes that met their own level (status ok) but whose acknowledgements did not meet the
ideal level (``consistency.ideal_write``) before the write timeout, Cassandra's
``WriteFailedIdealCL`` -- with its fraction of measured committed writes, and
``ideal_cl_write_latency_{p50,p99,p999}_ms``, the order statistics X(ceil(q n)) (numpy's
``inverted_cdf``, as ``pbs_sim.metrics.latency``) of the time from issue to the ack that met the
ideal level, over the measured writes that met it -- Cassandra's ``IdealCLWriteLatency``. A write
the run ended too early to judge (timeout after the end, level not met yet) is counted apart
(``ideal_cl_undecided_writes``). With the
ideal level unset every figure is nan (not computed), so a sweep's columns do not depend on it.
Must not touch: SimPy, the simulator. Inputs: ``ops`` and ``ideal_cl`` (``pbs_sim.sim.ideal_cl``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .latency import QUANTILES
from .mechanism import Report, RunView, blank

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = LazyModule("pandas")

LATENCY_NAMES = tuple(f"ideal_cl_write_latency_{name}" for name, _ in QUANTILES)
NAMES = ("write_failed_ideal_cl", "write_failed_ideal_cl_fraction", "ideal_cl_met_writes",
         "ideal_cl_undecided_writes", *LATENCY_NAMES)


def ideal_cl_summary(ops: pd.DataFrame, ideal: pd.DataFrame, warmup_ms: float, timeout_ms: float,
                     end_at: float) -> dict[str, float]:
    """The reporter's figures from the run's ``ops`` and its ``ideal_cl`` table (see the module doc).
    A committed write that has not met the ideal level and whose timeout (``issued_at + timeout_ms``)
    lies after the run's end ``end_at`` is *undecided* (``ideal_cl_undecided_writes``): it is neither
    counted in ``write_failed_ideal_cl`` nor in the fraction's denominator."""
    is_write = np.asarray(ops["kind"] == "write", bool)
    measured = ops["issued_at"].to_numpy(float) >= warmup_ms
    ok = np.asarray(ops["status"] == "ok", bool)
    writes = ops.loc[is_write & measured, ["op_id", "issued_at"]]
    met_at = pd.Series(ideal["at"].to_numpy(float), index=ideal["op_id"].to_numpy(np.int64))
    w_ids = writes["op_id"].to_numpy(np.int64)
    issued = writes["issued_at"].to_numpy(float)
    met = np.isin(w_ids, met_at.index.to_numpy())
    committed = ok[is_write & measured]
    decided = met | (issued + timeout_ms <= end_at)  # the sum the coordinator's deadline uses
    failed = int(np.count_nonzero(committed & ~met & decided))
    n_ok = int(np.count_nonzero(committed & decided))
    lat = met_at.reindex(w_ids[met]).to_numpy(float) - issued[met]
    out = {
        "write_failed_ideal_cl": float(failed),
        "write_failed_ideal_cl_fraction": failed / n_ok if n_ok else math.nan,
        "ideal_cl_met_writes": float(int(met.sum())),
        "ideal_cl_undecided_writes": float(int(np.count_nonzero(committed & ~decided))),
    }
    for name, (_, q) in zip(LATENCY_NAMES, QUANTILES, strict=True):
        out[name] = float(np.quantile(lat, q, method="inverted_cdf")) if lat.size else math.nan
    return out


class IdealCLReporter:
    """Ideal-level figures (nan when ``consistency.ideal_write`` is unset)."""

    name = "ideal_cl"
    names = NAMES

    def report(self, run: RunView) -> Report:
        ideal = run.table("ideal_cl")
        if ideal is None or run.scenario is None:
            return blank(NAMES), {}
        return ideal_cl_summary(run.ops, ideal, run.warmup_ms, run.scenario.cluster.write_timeout_ms,
                                run.end_at), {}


REPORTER = IdealCLReporter()
