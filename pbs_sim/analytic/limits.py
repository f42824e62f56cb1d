"""What a prediction may be asked: the seed, N, the trials, the work N x trials, the target.

Owns: the one validation of those inputs that the library (``predict``, ``predict_grid``), the
command line (``predict``, ``recommend``) and the explorer all call, so each accepts exactly what
the others accept and refuses it with the same reason; and ``fresh_seed()``, the root seed drawn
when none is given — always inside the accepted range, so every seed pbs-sim prints can be given
back (``--seed``) and reproduces the same numbers. Must not touch: computation, printing.

Errors are ``ConfigError(None, KEY, reason)`` with KEY one of ``n``, ``trials``, ``seed``,
``target``; each caller renames the key to its own word for it (``--trials``, the explorer's
"trials" control).

Why these bounds:

- seeds are integers in [0, 2**63): a 64-bit signed integer, so every output format holds one
  exactly (JSON, CSV read back by pandas as int64, Parquet's int64). numpy's ``SeedSequence`` would
  take a 128-bit integer, but a 39-digit seed in a CSV column comes back as a float, not a seed;
- N <= 10,000, the simulator's largest ring (``cluster.nodes``): one trial draws 4 N delays;
- trials <= 10^12 and N x trials <= 3 x 10^12 (what 10^12 trials mean at N = 3): the predictor
  streams in constant memory, about 10^7 replica-trials per CPU second, so the bound is days, and
  from ``PROGRESS_MIN_WORK`` on the command line shows progress and the time left;
- the grid (every (R, W) of one N, the recommender and the explorer) keeps 24 bytes per
  replica-trial, so there N x trials <= 10^8 (2.4 GB for the largest N of a range);
- the target is a probability in (0, 1), open at 1: the t-visibility at 1 would be the largest
  threshold of the sample, and the 95 % confidence interval of a quantile at 1 has no upper bound
  for any number of trials — a number that estimates nothing. (A strict quorum is consistent at
  t = 0 with probability 1 by construction; every target < 1 shows that as 0 ms.)
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from typing import Any

from ..config import MAX_INT, MAX_PREDICT_TRIALS
from ..errors import ConfigError, check_seed

SEED_LIMIT = MAX_INT + 1  # seeds are < 2**63 (int64)
MAX_N = 10_000  # as the simulator's cluster.nodes
MAX_PREDICT_WORK = 3 * MAX_PREDICT_TRIALS  # N x trials: the trial bound at the default N = 3
MAX_GRID_WORK = 10**8  # N x trials of one grid sample: 24 bytes each, 2.4 GB
PROGRESS_MIN_WORK = 3 * 10**7  # N x trials from which a command shows progress (a few CPU seconds)


def fresh_seed() -> int:
    """A root seed from the operating system's entropy, in [0, 2**63) like every accepted seed."""
    return secrets.randbelow(SEED_LIMIT)


def _whole(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise ConfigError(None, key, f"must be a whole number, got {value!r}")
    v = int(value)
    if v < low:
        raise ConfigError(None, key, f"must be >= {low:,}, got {v:,}")
    if v > high:
        raise ConfigError(None, key, f"must be <= {high:,}, got {v:,}")
    return v


def check_target(target: Any) -> float:
    """A target probability in (0, 1) (see the module docstring for why 1 is refused)."""
    if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target):
        raise ConfigError(None, "target", f"must be a probability in (0, 1), got {target!r}")
    if not 0 < target < 1:
        raise ConfigError(
            None, "target",
            f"must be a probability in (0, 1), got {target:g}"
            + (" (no number of trials bounds a t-visibility at probability 1)" if target == 1 else ""),
        )
    return float(target)


def check_prediction(
    n: int | Iterable[int] | None = None,
    trials: int | None = None,
    seed: Any = None,
    target: Any = None,
    *,
    grid: bool = False,
) -> None:
    """Refuse a bad N (one or several), trial count, seed or target; ``None`` skips that check.

    ``grid``: the sample keeps every trial of every replica (``predict_grid``, the recommender, the
    explorer), so N x trials has the lower, memory bound ``MAX_GRID_WORK``.
    """
    ns: list[int] = []
    if n is not None:
        values = [n] if isinstance(n, int) or hasattr(n, "__index__") else list(n)  # type: ignore[arg-type]
        ns = [_whole("n", v, 1, MAX_N) for v in values]
    if trials is not None:
        t = _whole("trials", trials, 1, MAX_PREDICT_TRIALS)
        if ns:
            n_max = max(ns)
            bound = MAX_GRID_WORK if grid else MAX_PREDICT_WORK
            if n_max * t > bound:
                what = "the grid keeps every trial of every replica: " if grid else ""
                raise ConfigError(
                    None, "trials",
                    f"N x trials = {n_max:,} x {t:,} = {n_max * t:,}; {what}at most {bound:,} "
                    f"(lower the trials to {bound // n_max:,} or N)",
                )
    if isinstance(seed, tuple | list):  # SeedSequence's entropy form: several whole numbers >= 0
        if not seed:
            raise ConfigError(None, "seed", "an empty sequence is no seed")
        for part in seed:
            if isinstance(part, bool) or not isinstance(part, int) and not hasattr(part, "__index__") or int(part) < 0:
                raise ConfigError(None, "seed", f"a sequence seed takes whole numbers >= 0, got {part!r}")
    elif seed is not None and not hasattr(seed, "spawn_key"):  # a SeedSequence is the library's own
        if isinstance(seed, bool) or not isinstance(seed, int) and not hasattr(seed, "__index__"):
            raise ConfigError(None, "seed", f"must be a whole number, got {seed!r}")
        check_seed(int(seed), source=None, key="seed")
    if target is not None:
        check_target(target)


__all__ = [
    "MAX_GRID_WORK", "MAX_N", "MAX_PREDICT_TRIALS", "MAX_PREDICT_WORK", "PROGRESS_MIN_WORK", "SEED_LIMIT",
    "check_prediction", "check_target", "fresh_seed",
]
