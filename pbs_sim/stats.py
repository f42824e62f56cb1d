"""Small statistics shared by both engines and the metrics.

Owns: the two-sided 95 % normal quantile and the Wilson score interval for binomial proportions —
one implementation, used by the predictor (``pbs_sim.analytic``), the simulator's metrics
(``pbs_sim.metrics``), the CLI and the explorer. Must not touch: anything that samples or runs.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 %


def wilson(successes: np.ndarray, n: np.ndarray | int, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (95 % by default) for ``successes`` out of ``n``, vectorized over both.

    At ``successes = 0`` (``= n``) the lower (upper) bound is exactly 0 (1): the formula reaches it
    only up to rounding. ``n = 0`` gives nan."""
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / m
        z2n = z * z / m
        center = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * np.sqrt(p * (1 - p) / m + z2n / (4 * m))
        low = np.where(x <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
        high = np.where(x >= m, 1.0, np.clip(center + half, 0.0, 1.0))
    empty = m <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


__all__ = ["Z95", "wilson"]
