"""Monte Carlo of data loss over a placement's actual replica sets, vectorised in numpy (no SimPy).

Owns: sampling failed-node sets for every ``[failure_model]`` kind as boolean masks, and counting, in
each trial, the replica sets that lie entirely inside the failed set (P(loss) with a Wilson interval,
the mean fraction of keys lost with its standard error), in bounded memory that is reported.
Must not touch: generating placements (:mod:`pbs_sim.placement`), the analytic answers
(:mod:`pbs_sim.analytic.placement`), printing.

How it scales. A placement is its distinct replica sets (rows sorted, in lexicographic order) with
the fraction of keys on each — never one row per key, so millions of keys on 10,000 nodes x 256
tokens are 2.56 million rows. A set can only be lost when its smallest node failed, so a trial
looks only at the sets whose first node is in the failed set (a contiguous block per node, found
with one ``searchsorted``): the work per trial is about (failed fraction) x (number of sets), and a
batch of trials is one gather. The batch size adapts so that the batch's arrays stay under
``memory_bytes`` (64 MB by default); ``peak_bytes`` reports the largest batch plus the placement
and its index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..placement import Placement, dc_of_spec, racks_of_spec

DEFAULT_MEMORY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class MonteCarloLoss:
    """What ``trials`` sampled events gave. ``p`` with its 95 % Wilson interval; ``fraction`` the mean
    fraction of keys lost per event with its standard error; ``peak_bytes`` the largest working set."""

    trials: int
    losses: int
    p: float
    ci_low: float
    ci_high: float
    fraction: float
    fraction_se: float
    peak_bytes: int

    @property
    def se(self) -> float:
        return math.sqrt(max(self.p * (1 - self.p), 0.0) / self.trials)

    def as_dict(self) -> dict[str, Any]:
        return {"mc_trials": self.trials, "mc_losses": self.losses, "mc_p_loss": self.p, "mc_ci_low": self.ci_low,
                "mc_ci_high": self.ci_high, "mc_fraction_lost": self.fraction, "mc_fraction_se": self.fraction_se,
                "mc_peak_bytes": self.peak_bytes}


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    ph = k / n
    den = 1 + z * z / n
    mid = (ph + z * z / (2 * n)) / den
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    # at k = 0 (k = n) the lower (upper) end is exactly 0 (1); rounding would leave ~1e-18
    return (0.0 if k == 0 else max(0.0, mid - half)), (1.0 if k == n else min(1.0, mid + half))


def _uniform_subsets(rng: np.random.Generator, batch: int, n: int, sizes: np.ndarray) -> np.ndarray:
    """(batch, n) masks, row b a uniform subset of ``sizes[b]`` of the n items."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if len(sizes) and (sizes == sizes[0]).all() and 0 < sizes[0] <= n // 8:
        # few of many (a power outage's 1 %): draw the members, rejecting rows with a repeat, instead
        # of sorting n random keys per row
        k = int(sizes[0])
        rows = rng.integers(0, n, size=(batch, k))
        while True:
            srt = np.sort(rows, axis=1)
            dup = (np.diff(srt, axis=1) == 0).any(axis=1)
            if not dup.any():
                break
            rows[dup] = rng.integers(0, n, size=(int(dup.sum()), k))
        out = np.zeros((batch, n), dtype=bool)
        out[np.arange(batch)[:, None], rows] = True
        return out
    keys = rng.random((batch, n))
    out = np.zeros((batch, n), dtype=bool)
    full = sizes >= n
    out[full] = True
    part = (sizes > 0) & ~full
    if part.any():
        sub, sz = keys[part], sizes[part]
        if (sz == sz[0]).all():  # one size: a partial sort suffices
            kth = np.partition(sub, int(sz[0]) - 1, axis=1)[:, int(sz[0]) - 1:int(sz[0])]
        else:
            kth = np.take_along_axis(np.sort(sub, axis=1), (sz - 1)[:, None], axis=1)
        out[part] = sub <= kth
    return out


def sample_failures(rng: np.random.Generator, pl: Placement, fm: Any, batch: int) -> np.ndarray:
    """(batch, n) boolean masks of failed nodes, one event of ``fm`` per row."""
    s, n = pl.spec, pl.n
    kind = fm.kind
    if kind == "fixed":
        f = fm.failed_nodes if fm.failed_nodes is not None else round(fm.failed_fraction * n)
        if not 0 <= f <= n:
            raise ConfigError(None, "failure_model.failed_nodes", f"F = {f} is not in 0..{n}")
        return _uniform_subsets(rng, batch, n, np.full(batch, int(f)))
    if kind == "outage":
        hit = round(fm.outage_fraction * n) if getattr(fm, "outage_nodes", None) is None else int(fm.outage_nodes)
        return _uniform_subsets(rng, batch, n, rng.binomial(hit, fm.no_reboot_probability, size=batch))
    if kind == "independent":
        return rng.random((batch, n)) < fm.p
    if kind == "dc":
        dc = dc_of_spec(s)
        pick = rng.integers(0, s.datacenters, size=batch)
        return dc[None, :] == pick[:, None]
    if kind == "burst":
        w = np.asarray(fm.burst_weights, dtype=float)
        sizes = np.asarray(fm.burst_sizes, dtype=np.int64)[rng.choice(len(w), size=batch, p=w / w.sum())]
        if fm.burst_unit == "node":
            return _uniform_subsets(rng, batch, n, sizes)
        kind, count = "racks", sizes
    elif kind == "rack":
        count = np.full(batch, int(fm.racks_failed))
        kind = "racks"
    if kind == "racks":
        rk = racks_of_spec(s)
        if rk is None:
            raise ConfigError(None, "placement.racks", "rack failures need racks (placement.racks > 0)")
        chosen = _uniform_subsets(rng, batch, s.racks, count)
        return chosen[:, rk]
    raise ConfigError(None, "failure_model.kind", f"unknown failure model {fm.kind!r}")


def _first_node_index(pl: Placement) -> np.ndarray:
    first = pl.sets[:, 0]
    if len(first) > 1 and (np.diff(first) < 0).any():
        raise ValueError("replica sets must be in lexicographic order (pbs_sim.placement._dedup)")
    return np.searchsorted(first, np.arange(pl.n + 1)).astype(np.int64)


def evaluate(pl: Placement, masks: np.ndarray, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """For each row of ``masks``: whether some replica set is inside it, the fraction of keys lost,
    and the bytes this evaluation held."""
    start = _first_node_index(pl) if start is None else start
    b, v = np.nonzero(masks)
    lens = start[v + 1] - start[v]
    total = int(lens.sum())
    batch = masks.shape[0]
    if total == 0:
        return np.zeros(batch, dtype=bool), np.zeros(batch), int(masks.nbytes)
    trial = np.repeat(b, lens)
    offs = np.repeat(start[v] - (np.cumsum(lens) - lens), lens) + np.arange(total)
    ok = np.ones(total, dtype=bool)
    for j in range(1, pl.r):
        ok &= masks[trial, pl.sets[offs, j]]
    hit_trial = trial[ok]
    lost = np.bincount(hit_trial, minlength=batch) > 0
    frac = np.bincount(hit_trial, weights=pl.weights[offs[ok]], minlength=batch)
    held = masks.nbytes + trial.nbytes + offs.nbytes + ok.nbytes + b.nbytes + v.nbytes + lens.nbytes
    return lost, frac, int(held)


def monte_carlo(pl: Placement, fm: Any, trials: int, seed: int = 0,
                memory_bytes: int = DEFAULT_MEMORY_BYTES) -> MonteCarloLoss:
    """Sample ``trials`` events of the failure model ``fm`` on the placement's replica sets."""
    if trials < 1:
        raise ConfigError(None, "failure_model.trials", f"must be >= 1, got {trials}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(20,)))
    start = _first_node_index(pl)
    fixed = pl.nbytes() + start.nbytes
    losses = 0
    fsum = fsq = 0.0
    done = 0
    batch = 16
    peak = 0
    while done < trials:
        b = min(batch, trials - done)
        masks = sample_failures(rng, pl, fm, b)
        lost, frac, held = evaluate(pl, masks, start)
        held += 16 * masks.size  # the sampler's keys and their partial sort (float64) for this batch
        peak = max(peak, held)
        losses += int(lost.sum())
        fsum += float(frac.sum())
        fsq += float((frac * frac).sum())
        done += b
        per_trial = max(held / b, 1.0)
        batch = int(max(1, min(65_536, memory_bytes // per_trial)))
    mean = fsum / trials
    var = max(fsq / trials - mean * mean, 0.0) * trials / max(trials - 1, 1)
    lo, hi = wilson(losses, trials)
    return MonteCarloLoss(trials, losses, losses / trials, lo, hi, mean, math.sqrt(var / trials), fixed + peak)


__all__ = ["MonteCarloLoss", "evaluate", "monte_carlo", "sample_failures", "wilson"]
