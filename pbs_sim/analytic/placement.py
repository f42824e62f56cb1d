"""Analytic data loss over a placement's replica sets under correlated and independent failures.

Owns: the probability that at least one key loses every replica in one failure event, the expected
fraction of keys lost, the loss per period under independent node failures (Kleppmann 2017), the
loss per year from an event rate, MTTDL and NOMDL_t (Greenan, Plank, Wylie, HotStorage 2010), for
the failure models of ``[failure_model]`` (docs/design.md "Placement and correlated failures").
Must not touch: generating placements (:mod:`pbs_sim.placement`), sampling (the Monte Carlo,
:mod:`pbs_sim.analytic.placement_mc`), printing.

What is exact and what is bounded. A key is lost when its replica set A_i lies inside the failed
set. With F nodes failed uniformly at random, P(A_i inside) = h(R) = C(n - R, F - R) / C(n, F) for
every set, so the expected fraction of keys lost is exactly h(R) for *any* placement of R distinct
replicas per key (the failed set is exchangeable; the placement need not be random). The probability
that *some* key is lost is a union over overlapping sets; exact inclusion-exclusion over millions of
overlapping sets is infeasible, so:

* exact when the sets are pairwise disjoint (minimum copysets): inclusion-exclusion over j sets,
  sum_j (-1)^(j+1) C(m, j) C(n - jR, F - jR) / C(n, F), evaluated in exact integer arithmetic;
  for the complete window family (every R-set within S + 1 consecutive nodes, R = 2 or 3 — the
  ``window`` placement once every set is drawn), by a transfer matrix over the gaps between failed
  nodes (:func:`window_no_loss`);
  when F = R (a set either is or is not the failed set: m / C(n, R)); when F < R (0); and for
  independent node failures on disjoint sets, 1 - (1 - p^R)^m;
* for any other family, rigorous bounds from the first two binomial moments, computed exactly from
  the family's overlap counts N_k (pairs of distinct sets sharing k nodes):
  S1 = sum_i P(A_i), S2 = sum_{i<j} P(A_i and A_j) = sum_k N_k h(2R - k);
  max(S1 - S2, S1^2 / (S1 + 2 S2)) <= P(loss) <= min(1, S1) (Bonferroni and the second-moment
  bound); under independent node failures also Harris' inequality (upper) and Janson's inequality
  (lower). The point estimate in that case is 1 - exp(-S1 + S2 - S1^2 / 2) (the two-term
  expansion of log P(no loss)) clipped into the bounds — an approximation, reported as such
  (``exact = False``); the Monte Carlo is the check;
* random placement as an *ensemble* (K chunks, each on an independent uniform R-set, as the Copysets
  paper and Kleppmann model it): 1 - (1 - h(R))^K exactly given F (:func:`random_chunks_loss`);
  the union bound K h(R) only as a stated approximation.

Failure models (one event each): ``fixed`` F nodes; ``outage`` — F nodes or a fraction f of them
reboot and each fails to come back with probability s, so the lost count is Binomial(F or round(f n), s) and,
given the count, the lost set is uniform; ``independent`` — each node lost with probability p in a
period, Binomial(n, p); ``rack`` — k racks lost, uniformly chosen (exact enumeration over rack
subsets); ``dc`` — one datacenter lost, uniformly chosen (exact: every set inside it is lost; with
one DC — no DC model — that is everything); ``burst`` — a burst size from a user pmf (nodes or whole
racks). Ford et al. (OSDI 2010) find that most large failure bursts are rack-correlated but give no
closed-form size law, so the burst sizes are the user's empirical distribution, and ``burst_unit =
"rack"`` makes a burst take whole racks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..placement import Placement, PlacementSpec, dc_of_spec, racks_of_spec

# Exact enumeration of rack subsets stops here (combinations x distinct rack-sets checked).
MAX_RACK_WORK = 5 * 10**8


@dataclass(frozen=True)
class Loss:
    """P(at least one key loses every replica) in one event, with rigorous bounds.

    ``exact``: ``p`` is exact (then ``lower == p == upper`` up to rounding); otherwise ``p`` is the
    stated approximation and the truth lies in [``lower``, ``upper``]. ``fraction``: the expected
    fraction of keys lost (exact for every model here). ``method`` names the formula.
    """

    p: float
    lower: float
    upper: float
    fraction: float
    exact: bool
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"p_loss": self.p, "p_loss_lower": self.lower, "p_loss_upper": self.upper,
                "expected_fraction_lost": self.fraction, "exact": self.exact, "method": self.method}


def _exact(p: float, fraction: float, method: str) -> Loss:
    p = min(1.0, max(0.0, p))
    return Loss(p, p, p, fraction, True, method)


def h(n: int, f: int, u: int) -> float:
    """P(u given nodes are all among F = f failed of n, the failed set uniform) = C(n-u, f-u)/C(n, f)."""
    if u > f or u > n:
        return 0.0
    out = 1.0
    for i in range(u):
        out *= (f - i) / (n - i)
    return out


def h_vec(n: int, f: np.ndarray, u: int) -> np.ndarray:
    """:func:`h` for an array of failure counts."""
    f = np.asarray(f, dtype=float)
    out = np.ones_like(f)
    for i in range(u):
        out *= np.clip(f - i, 0.0, None) / (n - i)
    return out


def overlap_counts(pl: Placement) -> np.ndarray:
    """N_k for k = 0..R-1: the number of unordered pairs of distinct replica sets sharing exactly
    k nodes (exact). From T_t = sum over t-subsets U of C(c_U, 2), c_U the sets containing U, and
    T_t = sum_k C(k, t) N_k, solved from k = R - 1 down."""
    r, n, m = pl.r, pl.n, pl.m
    sets = pl.sets.astype(np.int64)
    t_counts = np.zeros(r, dtype=object)
    for t in range(1, r):
        codes = []
        for cols in combinations(range(r), t):
            c = np.zeros(m, dtype=np.int64)
            for j in cols:
                c = c * n + sets[:, j]
            codes.append(c)
        _, cnt = np.unique(np.concatenate(codes), return_counts=True)
        cnt = cnt.astype(np.int64)
        t_counts[t] = int((cnt * (cnt - 1) // 2).sum())
    nk = [0] * r
    for k in range(r - 1, 0, -1):
        nk[k] = int(t_counts[k]) - sum(math.comb(j, k) * nk[j] for j in range(k + 1, r))
    nk[0] = m * (m - 1) // 2 - sum(nk[1:])
    return np.array(nk, dtype=float)


def _disjoint_exact(n: int, r: int, m: int, f: int) -> float:
    """Exact inclusion-exclusion for m pairwise-disjoint R-sets, F = f failed (integers, no cancellation)."""
    total = Fraction(0)
    for j in range(1, min(m, f // r) + 1):
        total += (-1) ** (j + 1) * math.comb(m, j) * math.comb(n - j * r, f - j * r)
    return float(total / math.comb(n, f))


def _moment_bounds(s1: float, s2: float) -> tuple[float, float, float]:
    """(estimate, lower, upper) from the first two binomial moments of the count of lost sets."""
    upper = min(1.0, s1)
    lower = max(0.0, s1 - s2, s1 * s1 / (s1 + 2 * s2) if s1 > 0 else 0.0)
    lower = min(lower, upper)
    est = -math.expm1(-s1 + s2 - s1 * s1 / 2)
    return min(max(est, lower), upper), lower, upper


def loss_given_failures(pl: Placement, f: int, overlaps: np.ndarray | None = None) -> Loss:
    """One event in which exactly ``f`` nodes, uniformly chosen, are lost."""
    n, r, m = pl.n, pl.r, pl.m
    if not 0 <= f <= n:
        raise ConfigError(None, "failure_model.failed_nodes", f"F = {f} is not in 0..{n}")
    frac = h(n, f, r)
    if f < r:
        return _exact(0.0, 0.0, "F < R")
    if f == r:
        return _exact(m / math.comb(n, r), frac, "F = R: m / C(n, R)")
    if pl.is_disjoint():
        return _exact(_disjoint_exact(n, r, m, f), frac, "disjoint sets: inclusion-exclusion")
    sw = complete_window(pl)
    if sw is not None:
        return _exact(1.0 - window_no_loss(n, sw, f, r), frac, "complete window family: transfer matrix over gaps")
    nk = overlap_counts(pl) if overlaps is None else overlaps
    s1 = m * h(n, f, r)
    s2 = float(sum(nk[k] * h(n, f, 2 * r - k) for k in range(r)))
    est, lo, hi = _moment_bounds(s1, s2)
    return Loss(est, lo, hi, frac, False, "two-moment bounds over the replica sets")


def complete_window(pl: Placement) -> int | None:
    """S when the placement is the complete window family — every {i, i + a_1, .., i + a_(R-1)} with
    1 <= a_1 < .. < a_(R-1) <= S (mod n), n >= 2 S + 2, R = 2 or 3 — else None. A generated
    ``window`` placement with enough chunks is one (its sets are all of that form; the count says
    whether every one was drawn)."""
    sp = pl.spec
    if sp.kind != "window" or pl.r not in (2, 3):
        return None
    sw = sp.scatter_width
    if pl.n < 2 * sw + 2 or pl.m != pl.n * math.comb(sw, pl.r - 1):
        return None
    return sw


def window_no_loss(n: int, sw: int, f: int, r: int) -> float:
    """Exact P(no replica set inside F = f uniform failures) for the complete window family.

    A window set is lost iff R failed nodes lie within S + 1 consecutive nodes (cyclically). Going
    round the cycle, let d_1 .. d_F be the distances between consecutive failed nodes (sum n): no loss
    iff every d_t > S (R = 2), or every d_t + d_(t+1) > S (R = 3). F-subsets with a marked member
    correspond to (start, d) pairs, so #subsets = (n / F) #sequences; the R = 3 sequences are counted
    by a transfer matrix over the gap classes 1 .. S - 1 and ">= S", vectorised over the running sum,
    in floats rescaled each step (the answer is a ratio; logs carry the scale)."""
    if f == 0:
        return 1.0
    log_total = math.lgamma(n + 1) - math.lgamma(f + 1) - math.lgamma(n - f + 1)
    if r == 2:
        if n - f * sw - 1 < f - 1:
            return 0.0
        ok = math.comb(n - f * sw - 1, f - 1)
        return float(math.exp(math.log(n / f) + math.log(ok) - log_total)) if ok else 0.0
    if f == 1:
        return 1.0
    size = n + 1
    logs: list[float] = []
    for first in range(1, sw + 1):
        a = np.zeros((sw + 1, size))  # a[c, s]: sequences so far with last gap class c and sum s
        if first < sw:
            a[first, first] = 1.0
        else:
            a[sw, sw:] = 1.0
        scale = 0.0
        for _ in range(f - 1):
            new = np.zeros_like(a)
            total = a.sum(axis=0)
            cum = np.concatenate([[0.0], np.cumsum(total)])
            # a gap >= S follows anything: new[S, s'] = sum_{v >= S} total[s' - v]
            new[sw, sw:] = cum[1:size - sw + 1]
            for v in range(1, sw):  # a gap v < S follows a gap of class c only if c + v > S (or c is >= S)
                allowed = a[max(sw - v + 1, 1):, :].sum(axis=0)
                new[v, v:] = allowed[:size - v]
            peak = new.max()
            if peak <= 0:  # no sequence of this many gaps fits: nothing to close
                a = new
                break
            a = new / peak
            scale += math.log(peak)
        # closing the cycle: d_F + d_1 > S
        close = a[sw, n] + (a[max(sw - first + 1, 1):sw, n].sum() if first < sw else a[1:sw, n].sum())
        if close > 0:
            logs.append(math.log(close) + scale)
    if not logs:
        return 0.0
    top = max(logs)
    log_ok = top + math.log(sum(math.exp(x - top) for x in logs))
    return float(min(1.0, math.exp(math.log(n / f) + log_ok - log_total)))


def random_chunks_loss(n: int, r: int, chunks: int, f: int) -> Loss:
    """Random replication as an ensemble: ``chunks`` chunks, each on an independent uniform R-set;
    exactly 1 - (1 - q)^K with q = C(f, R) / C(n, R), given F = f failed nodes."""
    q = h(n, f, r)
    p = -math.expm1(chunks * math.log1p(-q)) if q < 1 else 1.0
    return _exact(p, q, "independent uniform chunks: 1 - (1 - q)^K")


def union_bound(pl: Placement, f: int) -> float:
    """The union bound m h(R) (an approximation, and an upper bound)."""
    return min(1.0, pl.m * h(pl.n, f, pl.r))


def _mixture(pl: Placement, pmf_f: np.ndarray, f_values: np.ndarray, method: str) -> Loss:
    """Average the fixed-F answer over a distribution of the number of failed nodes."""
    n, r = pl.n, pl.r
    keep = pmf_f > 0
    pmf_f, f_values = pmf_f[keep], f_values[keep]
    frac = float((pmf_f * h_vec(n, f_values, r)).sum())
    if pl.is_disjoint():
        ps = np.array([_disjoint_exact(n, r, pl.m, int(f)) if f >= r else 0.0 for f in f_values])
        p = float((pmf_f * ps).sum())
        return _exact(p, frac, f"{method}, disjoint sets exact")
    sw = complete_window(pl)
    if sw is not None:
        # exact per F; F values of negligible weight (< 1e-18 each, < 1e-15 in all) are left out and
        # their mass goes to the upper bound only
        big = pmf_f >= 1e-18
        dropped = float(pmf_f[~big].sum())
        ps = np.array([1.0 - window_no_loss(n, sw, int(f), r) if f >= r else 0.0 for f in f_values[big]])
        p = float((pmf_f[big] * ps).sum())
        if dropped < 1e-15:
            return Loss(p, p, min(1.0, p + dropped), frac, True, f"{method}, complete window family exact")
    nk = overlap_counts(pl)
    s1 = pl.m * h_vec(n, f_values, r)
    s2 = sum(nk[k] * h_vec(n, f_values, 2 * r - k) for k in range(r))
    rows = [_moment_bounds(float(a), float(b)) for a, b in zip(s1, s2, strict=True)]
    # F = R and F < R are exact whatever the family
    est = np.array([x[0] for x in rows])
    lo = np.array([x[1] for x in rows])
    hi = np.array([x[2] for x in rows])
    at_r = f_values == r
    est[at_r] = lo[at_r] = hi[at_r] = pl.m / math.comb(n, r)
    below = f_values < r
    est[below] = lo[below] = hi[below] = 0.0
    return Loss(float((pmf_f * est).sum()), float((pmf_f * lo).sum()), float((pmf_f * hi).sum()), frac, False,
                f"{method}, two-moment bounds per F")


def _binomial_pmf(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    f = np.arange(n + 1)
    pmf = stats.binom.pmf(f, n, p)
    keep = pmf > 1e-300
    return f[keep], pmf[keep]


def loss_independent(pl: Placement, p: float) -> Loss:
    """One period in which every node is lost independently with probability ``p`` (Kleppmann's
    model: the number lost is Binomial(n, p)). Exact for disjoint sets, 1 - (1 - p^R)^m; otherwise
    the tighter of the per-F two-moment bounds and the Harris (upper) / Janson (lower) bounds."""
    if not 0 <= p <= 1:
        raise ConfigError(None, "failure_model.p", f"must be a probability in [0, 1], got {p!r}")
    n, r, m = pl.n, pl.r, pl.m
    pr = p**r
    if pl.is_disjoint():
        return _exact(-math.expm1(m * math.log1p(-pr)) if pr < 1 else 1.0, pr, "independent nodes, disjoint sets: 1 - (1 - p^R)^m")
    f, pmf = _binomial_pmf(n, p)
    mix = _mixture(pl, pmf, f, "Binomial(n, p) over F")
    if mix.exact:
        return mix
    nk = overlap_counts(pl)
    harris = -math.expm1(m * math.log1p(-pr)) if pr < 1 else 1.0
    mu = m * pr
    delta = 2.0 * float(sum(nk[k] * p ** (2 * r - k) for k in range(1, r)))  # ordered overlapping pairs
    janson_none = math.exp(-mu + delta / 2) if delta < mu else math.exp(-mu * mu / (2 * delta))
    lower = max(mix.lower, 1.0 - min(1.0, janson_none))
    upper = min(mix.upper, harris)
    lower = min(lower, upper)
    est = min(max(mix.p, lower), upper)
    return Loss(est, lower, upper, pr, False, "Binomial(n, p): per-F bounds with Harris and Janson")


def loss_outage(pl: Placement, fraction: float, no_reboot: float, nodes: int | None = None) -> Loss:
    """A power outage: ``nodes`` (default round(fraction x n)) nodes, uniformly chosen, reboot and
    each fails to come back with probability ``no_reboot``; given their number, the lost nodes are a
    uniform subset."""
    from scipy import stats

    for key, v in (("outage_fraction", fraction), ("no_reboot_probability", no_reboot)):
        if not 0 <= v <= 1:
            raise ConfigError(None, f"failure_model.{key}", f"must be a probability in [0, 1], got {v!r}")
    hit = round(fraction * pl.n) if nodes is None else int(nodes)
    if not 0 <= hit <= pl.n:
        raise ConfigError(None, "failure_model.outage_nodes", f"{hit} rebooting nodes is not in 0..{pl.n}")
    f = np.arange(hit + 1)
    pmf = stats.binom.pmf(f, hit, no_reboot)
    return _mixture(pl, pmf, f, f"outage: Binomial({hit}, {no_reboot:g}) lost")


def _set_masks(pl: Placement, group: np.ndarray) -> np.ndarray:
    """For every replica set, the bitmask of the groups (racks) its nodes are in (<= 63 groups)."""
    g = group[pl.sets.astype(np.int64)]
    return np.bitwise_or.reduce(np.left_shift(np.uint64(1), g.astype(np.uint64)), axis=1)


def loss_racks(pl: Placement, racks_failed: int) -> Loss:
    """``racks_failed`` racks lost at once, uniformly among the racks: exact, by enumerating every
    subset of racks against the distinct rack-sets of the replica sets."""
    s = pl.spec
    rk = racks_of_spec(s)
    if rk is None:
        raise ConfigError(None, "placement.racks", "rack loss needs racks (placement.racks > 0)")
    nr = s.racks
    if not 1 <= racks_failed <= nr:
        raise ConfigError(None, "failure_model.racks_failed", f"{racks_failed} is not in 1..{nr}")
    if nr > 63:
        raise ConfigError(None, "placement.racks", f"exact rack loss enumerates rack subsets as 64-bit masks; "
                                                   f"{nr} racks exceed 63 (use the Monte Carlo)")
    masks = _set_masks(pl, rk)
    uniq, inv = np.unique(masks, return_inverse=True)
    w_u = np.bincount(inv.ravel(), weights=pl.weights, minlength=len(uniq))
    n_comb = math.comb(nr, racks_failed)
    if n_comb * len(uniq) > MAX_RACK_WORK:
        raise ConfigError(None, "failure_model.racks_failed",
                          f"{n_comb:,} rack subsets x {len(uniq):,} rack-sets exceed the exact enumeration's "
                          f"{MAX_RACK_WORK:.0e} checks (use the Monte Carlo)")
    lost_events = 0
    frac_sum = 0.0
    batch = max(1, MAX_RACK_WORK // 50 // max(len(uniq), 1))
    combos = combinations(range(nr), racks_failed)
    while True:
        chunk = [sum(1 << r for r in c) for _, c in zip(range(batch), combos, strict=False)]
        if not chunk:
            break
        fm = np.array(chunk, dtype=np.uint64)
        inside = (uniq[None, :] & ~fm[:, None]) == 0  # (combos, rack-sets): the rack-set is all failed
        lost_events += int(inside.any(axis=1).sum())
        frac_sum += float((inside * w_u[None, :]).sum())
    return _exact(lost_events / n_comb, frac_sum / n_comb, f"{racks_failed} of {nr} racks: exact enumeration")


def loss_dc(pl: Placement) -> Loss:
    """One datacenter lost, uniformly among the DCs: every set inside it is lost (exact). With one
    DC — the spec's default, no DC model — every key is lost."""
    d = pl.spec.datacenters
    dc = dc_of_spec(pl.spec)
    g = dc[pl.sets.astype(np.int64)]
    inside_one = (g == g[:, :1]).all(axis=1)
    lost = 0
    frac = 0.0
    for k in range(d):
        sel = inside_one & (g[:, 0] == k)
        lost += int(sel.any())
        frac += float(pl.weights[sel].sum())
    method = "one DC holds every replica: losing it loses everything" if d == 1 else f"1 of {d} DCs: exact"
    return _exact(lost / d, frac / d, method)


def loss_burst(pl: Placement, sizes: Sequence[int], weights: Sequence[float], unit: str = "node") -> Loss:
    """A failure burst whose size follows the pmf (``sizes``, ``weights``): of nodes (uniformly
    chosen) or of whole racks."""
    w = np.asarray(weights, dtype=float)
    if len(w) != len(sizes) or not (w >= 0).all() or not w.sum() > 0:
        raise ConfigError(None, "failure_model.burst_weights", "one weight >= 0 per size, not all 0")
    w = w / w.sum()
    if unit == "node":
        return _mixture(pl, w, np.asarray(sizes, dtype=np.int64), "burst of nodes")
    parts = [loss_racks(pl, int(k)) if k > 0 else _exact(0.0, 0.0, "") for k in sizes]
    return _exact(float(sum(wi * x.p for wi, x in zip(w, parts, strict=True))),
                  float(sum(wi * x.fraction for wi, x in zip(w, parts, strict=True))), "burst of racks: exact")


def loss_event(pl: Placement, fm: Any) -> Loss:
    """The :class:`Loss` of one event of the failure model ``fm`` (a
    :class:`pbs_sim.config.FailureModelConfig`)."""
    n = pl.n
    if fm.kind == "fixed":
        f = fm.failed_nodes if fm.failed_nodes is not None else round(fm.failed_fraction * n)
        return loss_given_failures(pl, int(f))
    if fm.kind == "outage":
        return loss_outage(pl, fm.outage_fraction, fm.no_reboot_probability, getattr(fm, "outage_nodes", None))
    if fm.kind == "independent":
        return loss_independent(pl, fm.p)
    if fm.kind == "rack":
        return loss_racks(pl, fm.racks_failed)
    if fm.kind == "dc":
        return loss_dc(pl)
    if fm.kind == "burst":
        return loss_burst(pl, fm.burst_sizes, fm.burst_weights, fm.burst_unit)
    raise ConfigError(None, "failure_model.kind", f"unknown failure model {fm.kind!r}")


@dataclass(frozen=True)
class Durability:
    """Per-year figures from one event's :class:`Loss` and the rate of events.

    Events arrive as a Poisson process of ``events_per_year`` and lose data independently of each
    other, so P(loss in a year) = 1 - exp(-rate x P(loss per event)); MTTDL = 1 / (rate x P) years;
    NOMDL_t = rate x t x E[fraction lost per event] — the expected fraction of the data lost in the
    mission time t (bytes lost / capacity, keys of equal size), an upper bound if a key cannot be
    lost twice (exact while that is negligible). ``*_lower`` / ``*_upper`` carry the event's bounds.
    """

    per_event: Loss
    events_per_year: float
    mission_years: float
    p_loss_per_year: float
    p_loss_per_year_lower: float
    p_loss_per_year_upper: float
    mttdl_years: float
    nomdl: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.per_event.as_dict(), "events_per_year": self.events_per_year,
                "p_loss_per_year": self.p_loss_per_year, "p_loss_per_year_lower": self.p_loss_per_year_lower,
                "p_loss_per_year_upper": self.p_loss_per_year_upper, "mttdl_years": self.mttdl_years,
                "mission_years": self.mission_years, "nomdl": self.nomdl,
                "durability_per_year": 1.0 - self.p_loss_per_year}


def per_year(p_event: float, events_per_year: float) -> float:
    """1 - exp(-rate x p): P(at least one losing event in a year) for Poisson events."""
    return -math.expm1(-events_per_year * p_event)


def durability(loss: Loss, events_per_year: float, mission_years: float = 1.0) -> Durability:
    """Loss per year, MTTDL and NOMDL_t of a failure model whose events come at ``events_per_year``."""
    if not (events_per_year >= 0 and math.isfinite(events_per_year)):
        raise ConfigError(None, "failure_model.events_per_year", f"must be a finite rate >= 0, got {events_per_year!r}")
    rate_loss = events_per_year * loss.p
    return Durability(
        loss, events_per_year, mission_years, per_year(loss.p, events_per_year),
        per_year(loss.lower, events_per_year), per_year(loss.upper, events_per_year),
        1.0 / rate_loss if rate_loss > 0 else math.inf, events_per_year * mission_years * loss.fraction,
    )


def kleppmann_loss(n: int, r: int, partitions: int, p: float) -> float:
    """Kleppmann's (2017) model: ``partitions`` partitions on independent uniform R-sets, nodes lost
    independently with probability p: sum_F Binomial(n, p)(F) [1 - (1 - C(F,R)/C(n,R))^k]."""
    f, pmf = _binomial_pmf(n, p)
    q = h_vec(n, f, r)
    with np.errstate(divide="ignore"):
        pf = -np.expm1(partitions * np.log1p(-np.minimum(q, 1 - 1e-16)))
    pf[q >= 1] = 1.0
    return float((pmf * pf).sum())


def copysets_paper_estimate(n: int, r: int, copysets: float, f: int) -> float:
    """The Copysets paper's own approximation: each of the C(F, R) failed R-combinations is a copyset
    independently with probability copysets / C(n, R): 1 - (1 - copysets / C(n, R))^C(F, R)."""
    frac = copysets / math.comb(n, r)
    return -math.expm1(math.comb(f, r) * math.log1p(-frac))


__all__ = [
    "Durability", "Loss", "PlacementSpec", "copysets_paper_estimate", "durability", "h", "kleppmann_loss",
    "loss_burst", "loss_dc", "loss_event", "loss_given_failures", "loss_independent", "loss_outage", "loss_racks",
    "overlap_counts", "per_year", "random_chunks_loss", "union_bound",
]
