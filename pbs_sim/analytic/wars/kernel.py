"""The per-trial kernel of the WARS predictor: one trial's consistency threshold from its delays.

Owns: ``wars_thresholds`` and the types of what feeds it (``Sampler``, ``Arrays4``, ``Seed``) and
the read fan-outs it knows. Must not touch: aggregation across trials (``tallies``), statistics,
results, SimPy, global random state.

Model. Per trial, N replicas draw i.i.d. delays W_i (write to replica), A_i (its ack), R_i (read
request) and S_i (response); the WAN profile adds its local-replica structure (``profiles.py``).
The write commits at ``w_t`` = the W-th smallest ``W_i + A_i``. A read starting ``t`` after commit
is answered by the first R responders (by ``R_i + S_i``) among the replicas it asks and is
consistent iff one of them already holds the write, ``w_t + t + R_i >= W_i``. So each trial has a
threshold ``tau = max(0, min over the first R responders of (W_i - w_t - R_i))`` and
``P(consistent at t) = P(tau <= t)``: one pass over the trials gives the whole curve.

Read fan-out: ``"all"`` (the paper: reads go to all N, the first R answers count) or ``"quorum"``
(Cassandra 1.2's ``nodetool predictconsistency``: the read asks R replicas chosen uniformly at
random, so all R answers count). The R-subset is drawn explicitly per trial: with the WAN profile
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Seed = int | np.random.SeedSequence | None
Arrays4 = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Sampler = Callable[[np.random.Generator, int, int], Arrays4]

FANOUTS = ("all", "quorum")
READ_REPLICAS_STREAM = "wars-read-replicas"  # the stream that picks the replicas a quorum read asks


def read_replica_keys(rng: np.random.Generator, trials: int, n: int) -> np.ndarray:
    """One uniform key per (trial, replica); a quorum read asks the R replicas with the smallest keys.

    The R-subsets for different R are nested prefixes of one random order, so every R is judged on
    the same reads (common random numbers in ``pbs_sim.analytic.grid``), and each is a uniformly
    random R-subset.
    """
    return rng.random((trials, n))


def read_replicas(rng: np.random.Generator, trials: int, n: int, n_r: int) -> np.ndarray:
    """Indices, shape ``(trials, n_r)``, of the replicas a quorum read asks (see ``read_replica_keys``)."""
    keys = read_replica_keys(rng, trials, n)
    if n_r == 1:
        return keys.argmin(axis=1)[:, None]
    return np.argpartition(keys, n_r - 1, axis=1)[:, :n_r]


def wars_thresholds(
    w: np.ndarray,
    a: np.ndarray,
    r: np.ndarray,
    s: np.ndarray,
    n_r: int,
    n_w: int,
    fanout: str = "all",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-trial ``(tau, read_latency, write_latency)`` from delay arrays of shape ``(trials, n)``.

    ``tau`` is the smallest t >= 0 after commit at which a read is consistent; ``read_latency`` the
    R-th fastest ``R_i + S_i`` among the replicas asked; ``write_latency`` the W-th smallest
    ``W_i + A_i`` (the commit instant). ``fanout="quorum"`` needs ``rng`` to pick the R replicas asked
    (``read_replicas``).

    The first R responders are the R smallest ``R_i + S_i``, ties broken by the lower replica index
    (as ``argmin`` does for R = 1), so the grid engine, which sorts each trial once, picks the same
    replicas (``pbs_sim.analytic.grid``).
    """
    trials, n = w.shape
    if not (1 <= n_r <= n and 1 <= n_w <= n):
        raise ValueError(f"need 1 <= R, W <= N = {n}, got R = {n_r}, W = {n_w}")
    wa = w + a
    if n_w == 1:
        w_t = wa.min(axis=1)
    elif n_w == n:
        w_t = wa.max(axis=1)
    else:
        w_t = np.partition(wa, n_w - 1, axis=1)[:, n_w - 1]
    del wa
    gap = w - r  # replica i holds the write for a read started t after commit iff t >= gap_i - w_t
    rs = r + s
    if fanout == "quorum" and n_r < n:
        if rng is None:
            raise ValueError("fanout='quorum' needs rng to choose the replicas a read asks")
        asked = read_replicas(rng, trials, n, n_r)
        read_latency = np.take_along_axis(rs, asked, axis=1).max(axis=1)
        tau = np.take_along_axis(gap, asked, axis=1).min(axis=1)
    elif fanout not in FANOUTS:
        raise ValueError(f"fanout must be one of {FANOUTS}, got {fanout!r}")
    elif n_r == n:
        read_latency = rs.max(axis=1)
        tau = gap.min(axis=1)
    elif n_r == 1:
        first = rs.argmin(axis=1)[:, None]
        read_latency = np.take_along_axis(rs, first, axis=1)[:, 0]
        tau = np.take_along_axis(gap, first, axis=1)[:, 0]
    else:
        first = np.argsort(rs, axis=1, kind="stable")[:, :n_r]  # ties: the lower replica index first
        read_latency = np.take_along_axis(rs, first, axis=1).max(axis=1)
        tau = np.take_along_axis(gap, first, axis=1).min(axis=1)
    tau = tau - w_t
    np.maximum(tau, 0.0, out=tau)
    return tau, read_latency, w_t
