"""Staleness monitoring: lining a prediction up with a measured curve, and the gap figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbs_sim.metrics.monitoring import monitoring_frame, monitoring_gap, predict_observed


class FakePrediction:
    """p(t) = min(1, t / 10): enough to check the bookkeeping by hand."""

    def p_consistent(self, t: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, np.asarray(t, float) / 10.0)


def test_exact_points() -> None:
    curve = pd.DataFrame({"t_ms": [0.0, 5.0, 20.0], "p_consistent": [0.1, 0.5, 0.9], "ci_low": 0.0, "ci_high": 1.0, "n": 10})
    f = monitoring_frame(curve, FakePrediction())
    np.testing.assert_allclose(f["predicted"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(f["diff"], [0.1, 0.0, -0.1])
    gap = monitoring_gap(f)
    assert gap["monitoring_max_gap"] == pytest.approx(0.1)
    assert gap["monitoring_rmse"] == pytest.approx(np.sqrt(0.02 / 3))


def test_binned_curve_averages_prediction_over_reads_in_the_bin() -> None:
    curve = pd.DataFrame({"t_ms": [0.0, 10.0], "t_high_ms": [10.0, 100.0], "p_consistent": [0.3, 1.0], "n": [2, 1]})
    outcomes = pd.DataFrame({"t_ms": [2.0, 6.0, 50.0, np.nan]})
    f = monitoring_frame(curve, FakePrediction(), outcomes)
    np.testing.assert_allclose(f["predicted"], [0.4, 1.0])


def test_no_prediction_gives_nan_gap() -> None:
    curve = pd.DataFrame({"t_ms": [0.0], "p_consistent": [0.5]})
    f = monitoring_frame(curve, None)
    assert np.isnan(monitoring_gap(f)["monitoring_max_gap"])
    assert predict_observed({"W": np.array([1.0])}, 3, 1, 1, [0.0]) is None


def test_observed_constant_delays_predict_exactly() -> None:
    """Constant delays: every replica applies at W before any ack returns (commit at W + A), so a read
    at any t >= 0 reaches replicas after the apply: P(consistent) = 1 whatever the constants."""
    samples = {"W": np.full(10, 2.0), "A": np.full(10, 1.0), "R": np.full(10, 0.5), "S": np.full(10, 0.5)}
    pred = predict_observed(samples, 3, 1, 1, [0.0, 1.0], trials=1000, seed=1)
    assert pred.p_consistent(0.0) == 1.0
    samples["W"] = np.full(10, 50.0)
    pred = predict_observed(samples, 3, 1, 1, [0.0], trials=1000, seed=1)
    assert pred.p_consistent(0.0) == 1.0
    assert pred.write_latency_ms["p50"] == 51.0
