"""The WARS Monte Carlo predictor of t-visibility (docs/validation.md §2; Bailis et al., PVLDB 2012, §4-5).

A package of one concern per module, in the order data flows through them:

* ``kernel``  — ``wars_thresholds``: one trial's threshold ``tau``, read and write latency from its
                W/A/R/S delays (the model and the read fan-outs are described there);
* ``tallies`` — exact and streaming (log-histogram) aggregation of many trials in bounded memory;
* ``stats``   — Wilson intervals for P(consistent), order-statistic CIs for quantiles;
* ``result``  — ``PredictResult``: the curve, headline numbers, latency percentiles, JSON;
* ``driver``  — ``predict``, ``predict_scenario``, ``predict_from_samples``: validation and the
                chunk loop that ties the others together.

Every name importable from the former single module ``pbs_sim.analytic.wars`` is re-exported
here, so ``from pbs_sim.analytic.wars import predict`` keeps working. Must not touch: SimPy,
metrics, the CLI, global random state (all randomness comes from
``pbs_sim.rng.Streams(seed).get("wars")``).
"""

from __future__ import annotations

from ...stats import wilson
from .driver import (
    CHUNK_VALUES,
    EXACT_MAX_TRIALS,
    LATENCY_QUANTILES,
    predict,
    predict_from_samples,
    predict_scenario,
)
from .kernel import FANOUTS, Arrays4, Sampler, Seed, wars_thresholds
from .result import PredictResult
from .stats import CI_METHOD, CI_Z, quantile_ci_ranks
from .tallies import HIST_M, HIST_RESOLUTION, LOG_HI, LOG_LO, PER_DECADE
from .tallies import _ExactTally as _ExactTally
from .tallies import _HistTally as _HistTally
from .tallies import _Tally as _Tally

# The tally classes are private but were imported from the single module (tests); re-exported with
# ``as`` so that keeps working. They are not part of ``__all__``.
__all__ = [
    "CHUNK_VALUES", "CI_METHOD", "CI_Z", "EXACT_MAX_TRIALS", "FANOUTS", "HIST_M", "HIST_RESOLUTION",
    "LATENCY_QUANTILES", "LOG_HI", "LOG_LO", "PER_DECADE", "Arrays4", "PredictResult", "Sampler",
    "Seed", "predict", "predict_from_samples", "predict_scenario", "quantile_ci_ranks",
    "wars_thresholds", "wilson",
]
