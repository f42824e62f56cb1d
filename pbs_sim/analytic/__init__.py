"""The analytic engine: no SimPy, only closed forms and the vectorized WARS Monte Carlo.

* ``quorum``     — p_s, k-staleness, monotonic reads for non-expanding partial quorums (REFERENCE §1)
* ``wars/``      — the WARS predictor of t-visibility and latency (REFERENCE §2): ``predict``,
                   ``predict_scenario``, ``predict_from_samples``, ``PredictResult``; a package of
                   kernel, tallies, stats, result and driver modules
* ``durability`` — MTTDL and time below m copies of a repaired item (birth-death chain, REFERENCE §5)
* ``epidemic``   — pull / push / push-pull anti-entropy recurrences and Pittel's bound (REFERENCE §4)

Submodules are imported on demand (``from pbs_sim.analytic.wars import predict``) so that importing
one does not pay for the others.
"""
