"""Statistics of the WARS predictor: binomial and order-statistic confidence intervals.

Owns: the distribution-free quantile CI ranks and the empirical-quantile rank (the Wilson interval is
``pbs_sim.stats.wilson``, shared with the metrics). Pure functions of counts; no sampling, no tallies.


Statistics. ``ci_low``/``ci_high`` on the curve are 95 % Wilson score intervals for a binomial
proportion. The t-visibility at ``target`` q is the order statistic ``X_(ceil(q n))`` of the n
thresholds (the smallest t whose empirical P(consistent) reaches q); its 95 % CI is the
distribution-free order-statistic interval ``[X_(l), X_(u)]`` with l, u from Binomial(n, q)
(upper end ``inf`` when n is too small to bound it). Latency percentiles use the same
order-statistic ("inverted CDF") definition. The sequence of random numbers depends on the seed,
"""

from __future__ import annotations

import math

import numpy as np

from ...stats import Z95

CI_Z = Z95  # two-sided 95 %
CI_METHOD = "wilson"


def _binom_cdf_window(n: int, p: float) -> tuple[int, np.ndarray]:
    """(lo, cdf) with cdf[j - lo] = P(Binomial(n, p) <= j) over a window holding all but ~1e-30."""
    mode = min(n, int(math.floor((n + 1) * p)))
    sd = math.sqrt(n * p * (1 - p))
    lo = max(0, mode - int(15 * sd) - 30)
    hi = min(n, mode + int(15 * sd) + 30)
    logp = (
        math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
        + mode * math.log(p) + (n - mode) * math.log1p(-p)
    )
    odds = math.log(p) - math.log1p(-p)
    up = np.arange(mode + 1, hi + 1, dtype=float)
    down = np.arange(mode, lo, -1, dtype=float)  # j = mode .. lo+1: log pmf(j-1) - log pmf(j)
    log_up = logp + np.cumsum(np.log((n - up + 1) / up) + odds)
    log_down = logp + np.cumsum(np.log(down / (n - down + 1)) - odds)
    logpmf = np.concatenate([log_down[::-1], [logp], log_up])
    return lo, np.cumsum(np.exp(logpmf))


def quantile_ci_ranks(n: int, q: float, level: float = 0.95) -> tuple[int, int]:
    """1-based ranks (l, u) with P(X_(l) <= xi_q <= X_(u)) >= level, distribution-free.

    ``l = 0`` means no lower bound (use 0 for a non-negative variable), ``u = n + 1`` no upper bound.
    """
    alpha = (1 - level) / 2
    if q >= 1.0:
        return n, n + 1
    if q <= 0.0:
        return 0, 1
    lo, cdf = _binom_cdf_window(n, q)
    # l - 1 = the largest j with P(B <= j) <= alpha; u - 1 = the smallest j with P(B <= j) >= 1 - alpha
    below = np.nonzero(cdf <= alpha)[0]
    lower = (lo + int(below[-1]) + 1) if len(below) else lo
    if lo > 0 and not len(below):
        lower = lo  # window starts far in the tail: P(B <= lo - 1) is negligible
    above = np.nonzero(cdf >= 1 - alpha)[0]
    upper = (lo + int(above[0]) + 1) if len(above) else n + 1
    return lower, min(upper, n + 1)


def _rank(q: float, n: int) -> int:
    """The 1-based rank of the order statistic that is the empirical q-quantile (inverted CDF)."""
    return max(1, min(n, math.ceil(q * n - 1e-9 * max(1.0, q * n))))
