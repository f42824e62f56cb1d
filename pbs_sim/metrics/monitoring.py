"""Staleness monitoring: PBS predicted from the run's own observed delays, next to measured staleness.

Owns: feeding the W, A, R, S message delays the simulated network actually drew (the first samples
of each kind, as Cassandra 1.2's predictor collected them) into the WARS predictor
(:func:`pbs_sim.analytic.wars.predict_from_samples`) and lining the prediction up with the measured
t-visibility curve: ``monitoring_frame`` (per measured t: measured p with its CI, predicted p,
difference) and ``monitoring_gap`` (max |diff| and RMSE over the measured points).
Must not touch: SimPy, plotting.

What the gap means: the predictor assumes one write at a time, i.i.d. delays per replica and reads
that start exactly t after commit. Where the simulated run matches those assumptions (pbs-probe, or
light write traffic) the gap is sampling noise; where it does not (WAN locality, concurrent writes to
hot keys, quorum write fan-out), the gap is the error a production staleness monitor would make.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

MONITOR_KINDS = ("W", "A", "R", "S")


def predict_observed(
    samples: Mapping[str, np.ndarray], n: int, r: int, w: int, t_ms: Any, *, trials: int = 100_000,
    seed: Any = None, fanout: str = "all", target: float = 0.999,
) -> Any:
    """``PredictResult`` from observed W/A/R/S samples (None if a kind has no sample)."""
    from ..analytic.wars import predict_from_samples

    if any(len(samples.get(k, ())) == 0 for k in MONITOR_KINDS):
        return None
    return predict_from_samples(
        samples["W"], samples["A"], samples["R"], samples["S"], n, r, w,
        trials=trials, seed=seed, t_ms=[float(t) for t in t_ms if math.isfinite(t)], fanout=fanout,
        target=target,
    )


def monitoring_frame(curve: pd.DataFrame, prediction: Any, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Measured curve with ``predicted`` and ``diff = measured - predicted``.

    At exact t points (pbs-probe) ``predicted`` is the predictor's P(consistent) at ``t_ms``. On a
    binned curve (``t_high_ms`` present) with ``outcomes`` given, it is the mean of the predicted
    P(consistent) at each measured read's own t in the bin — what the measured bin average estimates.
    """
    cols = [c for c in ("t_ms", "t_high_ms", "p_consistent", "ci_low", "ci_high", "n") if c in curve.columns]
    out = curve[cols].copy().rename(columns={"p_consistent": "measured"})
    if prediction is None or out.empty:
        out["predicted"] = np.nan
    elif "t_high_ms" in out.columns and outcomes is not None:
        t = outcomes["t_ms"].to_numpy(float)
        t = t[np.isfinite(t)]
        pred = np.asarray(prediction.p_consistent(t), dtype=float) if t.size else np.array([])
        vals = []
        for lo, hi in zip(out["t_ms"], out["t_high_ms"], strict=True):
            m = (t >= lo) & (t < hi)
            vals.append(float(pred[m].mean()) if m.any() else np.nan)
        out["predicted"] = vals
    else:
        out["predicted"] = np.asarray(prediction.p_consistent(out["t_ms"].to_numpy(float)), dtype=float)
    out["diff"] = out["measured"] - out["predicted"]
    return out.reset_index(drop=True)


def monitoring_gap(frame: pd.DataFrame) -> dict[str, float]:
    """``monitoring_max_gap`` (max |measured - predicted|) and ``monitoring_rmse`` over measured t."""
    d = frame["diff"].to_numpy(float) if "diff" in frame else np.array([])
    d = d[np.isfinite(d)]
    if d.size == 0:
        return {"monitoring_max_gap": math.nan, "monitoring_rmse": math.nan}
    return {"monitoring_max_gap": float(np.abs(d).max()), "monitoring_rmse": float(np.sqrt(np.mean(d * d)))}
