"""The analytic engine: no SimPy, only closed forms and the vectorized WARS Monte Carlo.

* ``quorum``     — p_s, k-staleness, monotonic reads for non-expanding partial quorums (docs/validation.md §1)
* ``wars/``      — the WARS predictor of t-visibility and latency (docs/validation.md §2): ``predict``,
                   ``predict_scenario``, ``predict_from_samples``, ``PredictResult``; a package of
                   kernel, tallies, stats, result and driver modules
* ``durability`` — MTTDL and time below m copies of a repaired item (birth-death chain, docs/validation.md §5)
* ``epidemic``   — pull / push / push-pull anti-entropy recurrences and Pittel's bound (docs/validation.md §4)
* ``multidc``    — the WARS predictor per (write DC, read DC) pair with DC-aware levels, and availability
                   through a DC partition (docs/validation.md §10)

Submodules are imported on demand (``from pbs_sim.analytic.wars import predict``) so that importing
one does not pay for the others.
"""
