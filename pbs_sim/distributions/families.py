"""The distribution families: latency and interval laws in milliseconds, and their registry.

Owns: the classes (all non-negative), vectorized sampling from an explicit
``numpy.random.Generator``, moments and quantiles, reading ``empirical()`` sample files, and
``FAMILIES`` — the one registry the text grammar (``grammar.py``) consults: a family's name, its
parameters in positional order, keyword aliases and how to build it from checked arguments.
Must not touch: text parsing (grammar.py), configs, profiles, SimPy.

Adding a family (e.g. ``normal(mean, sd)``): a frozen dataclass subclass of ``Distribution`` with
``sample``, ``mean``, ``var``, ``cdf``, ``ppf`` (if closed-form) and ``spec`` (which must parse
back to an equal object), plus one ``Family`` entry in ``FAMILIES`` at the end of this file. The
grammar, error messages, ``pbs-sim validate`` and the round-trip tests pick it up from there.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from .. import inputs
from .._lazy import LazyModule
from ..errors import DistributionError

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")


# Imported on first use (pbs_sim._lazy): checking a config file should not pay for numpy or scipy.
optimize = LazyModule("scipy.optimize")
stats = LazyModule("scipy.stats")

Shape = int | tuple[int, ...]
TAIL_Q = 1e-12  # see Distribution.tail
_LOG_TAIL = -math.log(TAIL_Q)  # -log(1e-12) = 27.6
_Z_TAIL = 7.034483825301131  # the standard normal's 1 - 1e-12 quantile


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf


def _fmt(x: float) -> str:
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


class Distribution(ABC):
    """A non-negative random variable (ms). Subclasses are frozen dataclasses."""

    name: str = ""

    @abstractmethod
    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        """``shape`` i.i.d. draws as a float64 array (a 0-d array for ``shape=()``)."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """The expectation; ``inf`` where it is undefined or infinite."""

    @property
    @abstractmethod
    def var(self) -> float:
        """The variance; ``inf`` where undefined."""

    @abstractmethod
    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """P(X <= x)."""

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        """The quantile function; the default inverts ``cdf`` numerically."""
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        out = np.empty_like(qs)
        for i, qi in enumerate(qs):
            if qi <= 0:
                out[i] = 0.0
                continue
            hi = max(1.0, float(self.mean) if math.isfinite(self.mean) else 1.0)
            while float(self.cdf(hi)) < qi:
                hi *= 2.0
                if hi > 1e300:
                    break
            out[i] = optimize.brentq(lambda x, qi=qi: float(self.cdf(x)) - qi, 0.0, hi, xtol=1e-12)
        return out.reshape(np.shape(q))

    def tail(self) -> float:
        """The ``1 - TAIL_Q`` quantile: all but a 10^-12 fraction of samples lie below it (``inf`` if
        it overflows). Closed form per family (no scipy), so config validation can refuse a law whose
        samples would overflow to ``inf`` (e.g. ``pareto(alpha=1e-9)``); the default inverts ``cdf``."""
        try:
            return float(self.ppf(1.0 - TAIL_Q))
        except (OverflowError, ValueError):
            return math.inf

    def __str__(self) -> str:
        return self.spec()

    @abstractmethod
    def spec(self) -> str:
        """The canonical text form; ``parse(d.spec()) == d``."""


@dataclass(frozen=True)
class Constant(Distribution):
    value: float
    name = "constant"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return np.full(shape, self.value, dtype=float)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.where(np.asarray(x) >= self.value, 1.0, 0.0)

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.full(np.shape(q), self.value, dtype=float)

    def tail(self) -> float:
        return self.value

    def spec(self) -> str:
        return f"constant(value={_fmt(self.value)})"


@dataclass(frozen=True)
class Exponential(Distribution):
    rate: float
    name = "exponential"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        # rng.exponential(scale) draws scale * standard_exponential() element by element: the same
        # draws and the same products as one fill and one in-place multiply, which is ~15 % faster
        out = rng.standard_exponential(shape)
        out *= 1.0 / self.rate
        return out

    @property
    def mean(self) -> float:
        return 1.0 / self.rate

    @property
    def var(self) -> float:
        return 1.0 / self.rate**2

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.expon.cdf(x, scale=1.0 / self.rate))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.expon.ppf(q, scale=1.0 / self.rate))

    def tail(self) -> float:
        return _LOG_TAIL / self.rate

    def spec(self) -> str:
        return f"exponential(rate={_fmt(self.rate)})"


@dataclass(frozen=True)
class Pareto(Distribution):
    """Pareto type I: ``xm / U**(1/alpha)`` (docs/validation.md §3)."""

    xm: float
    alpha: float
    name = "pareto"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        # xm / U^(1/alpha) = xm * exp(E / alpha) with E ~ Exp(1): the same law as numpy's
        # 1 + pareto(alpha) (Lomax shifted to Pareto I), but a vectorized exp is ~2.4x faster.
        e = rng.standard_exponential(shape)
        if e.ndim == 0:
            return self.xm * np.exp(e * (1.0 / self.alpha))  # type: ignore[no-any-return]
        # in place, the same operations in the same order (x * xm == xm * x in IEEE arithmetic):
        # no temporaries to allocate and fault in
        e *= 1.0 / self.alpha
        np.exp(e, out=e)
        e *= self.xm
        return e

    @property
    def mean(self) -> float:
        return math.inf if self.alpha <= 1 else self.alpha * self.xm / (self.alpha - 1)

    @property
    def var(self) -> float:
        a = self.alpha
        return math.inf if a <= 2 else self.xm**2 * a / ((a - 1) ** 2 * (a - 2))

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.pareto.cdf(x, b=self.alpha, scale=self.xm))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.pareto.ppf(q, b=self.alpha, scale=self.xm))

    def tail(self) -> float:
        return self.xm * _exp(_LOG_TAIL / self.alpha)

    def spec(self) -> str:
        return f"pareto(xm={_fmt(self.xm)}, alpha={_fmt(self.alpha)})"


@dataclass(frozen=True)
class LogNormal(Distribution):
    """``exp(N(mu, sigma^2))``: ``mu`` and ``sigma`` are of the logarithm (ms)."""

    mu: float
    sigma: float
    name = "lognormal"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, shape)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    @property
    def var(self) -> float:
        return (math.exp(self.sigma**2) - 1) * math.exp(2 * self.mu + self.sigma**2)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.lognorm.cdf(x, s=self.sigma, scale=math.exp(self.mu)))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.lognorm.ppf(q, s=self.sigma, scale=math.exp(self.mu)))

    def tail(self) -> float:
        return _exp(self.mu + _Z_TAIL * self.sigma)

    def spec(self) -> str:
        return f"lognormal(mu={_fmt(self.mu)}, sigma={_fmt(self.sigma)})"


@dataclass(frozen=True)
class Weibull(Distribution):
    shape: float
    scale: float
    name = "weibull"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, shape)

    @property
    def mean(self) -> float:
        return self.scale * math.gamma(1 + 1 / self.shape)

    @property
    def var(self) -> float:
        g1 = math.gamma(1 + 1 / self.shape)
        g2 = math.gamma(1 + 2 / self.shape)
        return self.scale**2 * (g2 - g1**2)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.weibull_min.cdf(x, c=self.shape, scale=self.scale))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.weibull_min.ppf(q, c=self.shape, scale=self.scale))

    def tail(self) -> float:
        return self.scale * _exp(math.log(_LOG_TAIL) / self.shape)

    def spec(self) -> str:
        return f"weibull(shape={_fmt(self.shape)}, scale={_fmt(self.scale)})"


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float
    name = "uniform"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return rng.uniform(self.low, self.high, shape)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        if self.high == self.low:
            return np.where(np.asarray(x) >= self.low, 1.0, 0.0)
        return np.asarray(stats.uniform.cdf(x, loc=self.low, scale=self.high - self.low))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return self.low + np.asarray(q, dtype=float) * (self.high - self.low)

    def tail(self) -> float:
        return self.high

    def spec(self) -> str:
        return f"uniform(low={_fmt(self.low)}, high={_fmt(self.high)})"


@dataclass(frozen=True)
class Shifted(Distribution):
    """``base + by``: e.g. a fixed propagation delay plus a random queueing delay."""

    base: Distribution
    by: float
    name = "shifted"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return self.base.sample(rng, shape) + self.by

    @property
    def mean(self) -> float:
        return self.base.mean + self.by

    @property
    def var(self) -> float:
        return self.base.var

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return self.base.cdf(np.asarray(x, dtype=float) - self.by)

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return self.base.ppf(q) + self.by

    def tail(self) -> float:
        return self.base.tail() + self.by

    def spec(self) -> str:
        return f"shifted({self.base.spec()}, by={_fmt(self.by)})"


@dataclass(frozen=True)
class Mixture(Distribution):
    """With probability ``weights[i]`` a draw comes from ``components[i]``."""

    weights: tuple[float, ...]
    components: tuple[Distribution, ...]
    name = "mixture"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        size = int(np.prod(shape)) if shape != () else 1
        # component j iff cum[j-1] <= U < cum[j]: a few vectorized comparisons are ~5x faster than
        # rng.choice(p=...), and integer-index assignment ~3x faster than boolean masks.
        u = rng.random(size)
        if len(self.components) == 2:
            # every built-in profile: one boolean mask, no index arrays (the same draws in the
            # same order as below: component 0's for every u < cut, then component 1's)
            upper = u >= float(np.cumsum(self.weights)[0])
            n_upper = int(np.count_nonzero(upper))
            out2 = u  # every element is overwritten below: no second array to allocate
            if n_upper < size:
                out2[~upper] = self.components[0].sample(rng, size - n_upper)
            if n_upper:
                out2[upper] = self.components[1].sample(rng, n_upper)
            return out2.reshape(shape)
        idx: np.ndarray = np.zeros(size, dtype=np.int8 if len(self.components) < 128 else np.int64)
        for c in np.cumsum(self.weights)[:-1]:
            idx += (u >= c).astype(idx.dtype)
        out = np.empty(size, dtype=float)
        for j, comp in enumerate(self.components):
            sel = np.flatnonzero(idx == j)
            if sel.size:
                out[sel] = comp.sample(rng, sel.size)
        return out.reshape(shape)

    @property
    def mean(self) -> float:
        return float(sum(w * c.mean for w, c in zip(self.weights, self.components, strict=True) if w > 0))

    @property
    def var(self) -> float:
        m = self.mean
        if not math.isfinite(m):
            return math.inf
        second = sum(
            w * (c.var + c.mean**2) for w, c in zip(self.weights, self.components, strict=True) if w > 0
        )
        return float(second - m**2)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(
            sum(w * c.cdf(x) for w, c in zip(self.weights, self.components, strict=True))
        )

    def tail(self) -> float:
        return max(c.tail() for w, c in zip(self.weights, self.components, strict=True) if w > 0)

    def spec(self) -> str:
        terms = ", ".join(
            f"{_fmt(w)}*{c.spec()}" for w, c in zip(self.weights, self.components, strict=True)
        )
        return f"mixture({terms})"


@dataclass(frozen=True, eq=False)
class Empirical(Distribution):
    """Measured samples, drawn by inverse CDF with linear interpolation between order statistics.

    ``path`` and ``column`` are kept for the spec; ``values`` holds the sorted samples.
    """

    path: str
    column: str | None
    values: np.ndarray = field(repr=False)
    name = "empirical"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Empirical)
            and self.path == other.path
            and self.column == other.column
            and np.array_equal(self.values, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.path, self.column, len(self.values)))

    @property
    def _probs(self) -> np.ndarray:
        n = len(self.values)
        return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return self.ppf(rng.random(shape))

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        if len(self.values) == 1:
            return np.full(np.shape(q), self.values[0], dtype=float)
        return np.interp(q, self._probs, self.values)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        if len(self.values) == 1:
            return np.where(np.asarray(x) >= self.values[0], 1.0, 0.0)
        return np.interp(x, self.values, self._probs, left=0.0, right=1.0)

    @property
    def mean(self) -> float:
        # Mean of the interpolated ECDF: average of the trapezoids between order statistics.
        v = self.values
        if len(v) == 1:
            return float(v[0])
        return float(np.mean((v[:-1] + v[1:]) / 2))

    @property
    def var(self) -> float:
        v = self.values
        if len(v) == 1:
            return 0.0
        a, b = v[:-1], v[1:]
        second = np.mean((a * a + a * b + b * b) / 3)
        return float(second - self.mean**2)

    def tail(self) -> float:
        return float(self.values[-1])

    def spec(self) -> str:
        col = f", column={_quote(self.column)}" if self.column else ""
        return f"empirical(path={_quote(self.path)}{col})"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_samples(path: str, column: str | None, base_dir: Path | None = None) -> np.ndarray:
    """Sorted finite non-negative samples from a .npy, .csv or .txt file (raises ``DistributionError``).

    A relative ``path`` resolves against ``base_dir`` (the folder of the TOML file that names it).
    The file's bytes are hashed and noted with ``pbs_sim.inputs`` (a sweep's identity covers them).
    A value that is not a number (an empty cell, ``nan``) is refused with a count, not dropped."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    where = f"{str(p)!r}" + (f" (relative paths resolve against {str(base_dir)!r}, the folder of the "
                             "scenario or profile file)" if not Path(path).is_absolute() and base_dir else "")
    if not p.exists():
        raise DistributionError(None, None, f"empirical: no such file {where}")
    if not p.is_file():
        raise DistributionError(None, None, f"empirical: {str(p)!r} is not a regular file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DistributionError(None, None, f"empirical: cannot read {str(p)!r}: {exc.strerror or exc}") from None
    inputs.note(p, data)
    try:
        if p.suffix == ".npy":
            arr = np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=float).ravel()
        else:
            import pandas as pd

            # pandas 3 parses floats round-trip exactly by default (and deprecates the option);
            # pandas 2's default parser may change the last bit of a measured latency.
            header: Literal["infer"] | None = None if p.suffix == ".txt" else "infer"
            buf = io.BytesIO(data)
            if int(pd.__version__.split(".")[0]) >= 3:
                frame = pd.read_csv(buf, header=header)
            else:
                frame = pd.read_csv(buf, header=header, float_precision="round_trip")
            if column is not None:
                if column not in frame.columns:
                    raise DistributionError(
                        None, None,
                        f"empirical: {str(p)!r} has no column {column!r} (columns: {', '.join(map(str, frame.columns))})",
                    )
                raw = frame[column]
            elif frame.shape[1] == 1:
                raw = frame.iloc[:, 0]
            else:
                raise DistributionError(
                    None, None, f"empirical: {str(p)!r} has {frame.shape[1]} columns; name one with column=\"...\""
                )
            arr = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    except DistributionError:
        raise
    except Exception as exc:  # unreadable file: one line, no traceback
        reason = " ".join(str(exc).split())
        raise DistributionError(None, None, f"empirical: cannot read {str(p)!r}: {reason}") from None
    bad = np.flatnonzero(np.isnan(arr))
    if bad.size:
        raise DistributionError(
            None, None,
            f"empirical: {str(p)!r} has {bad.size} value(s) that are not numbers (first: sample {bad[0] + 1}); "
            "remove or fix them",
        )
    if arr.size == 0:
        raise DistributionError(None, None, f"empirical: {str(p)!r} holds no samples")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise DistributionError(None, None, f"empirical: {str(p)!r} has negative or infinite samples")
    return np.sort(arr)


def _blocks(dist: Distribution, rng: np.random.Generator, block: int, first: int) -> Iterator[list[float]]:
    size = max(1, min(first, block))
    while True:
        yield dist.sample(rng, size).tolist()
        if size < block:
            size = min(2 * size, block)


class BufferedSampler(functools.partial):  # type: ignore[type-arg]
    """Draws one value at a time from pre-sampled blocks: what a DES needs per message.

    Blocks grow: the first holds ``first`` values (64), each next one twice as many, up to ``block``
    (4096); from then on every numpy call draws 4096 values, which keeps per-message cost at a list
    pop, while a sampler that is asked only a few times (the network has one per link and message
    kind: thousands on a large cluster) holds a few hundred bytes, not 32 KiB. The sequence of values
    depends only on the generator and the block sizes, so runs stay reproducible. A block is drawn at
    the call that finds the previous one used up. The call itself is C code: the object is a
    ``functools.partial`` of a ``chain.from_iterable(blocks).__next__`` (about 2.5x faster per draw
    than a Python ``__call__``, the same values in the same order; the simulator draws ~10 values per
    operation).
    """

    dist: Distribution
    rng: np.random.Generator
    block: int

    def __new__(
        cls, dist: Distribution, rng: np.random.Generator, block: int = 4096, first: int = 64,
    ) -> BufferedSampler:
        self = super().__new__(cls, itertools.chain.from_iterable(_blocks(dist, rng, block, first)).__next__)
        self.dist = dist
        self.rng = rng
        self.block = block
        return self

    if TYPE_CHECKING:  # for the type checker only: at run time partial's C __call__ runs
        def __call__(self) -> float: ...

    def __reduce__(self) -> Any:
        raise TypeError("a BufferedSampler holds a live generator and cannot be pickled")


def describe(d: Distribution) -> str:
    """One line for listings: the spec and its mean."""
    m = d.mean
    mean = "inf" if not math.isfinite(m) else f"{m:.4g}"
    return f"{d.spec()}  (mean {mean} ms)"


# --------------------------------------------------------------------------------------------
# The registry the grammar reads


class Args(Protocol):
    """The checked arguments of one family call, as the grammar hands them to ``Family.build``.

    ``num`` returns a finite number (or fails, pointing at the argument); ``dist`` a distribution
    argument; ``text`` a quoted string (None when absent and not required); ``has`` says whether an
    argument was given; ``fail`` reports an error at an argument (or the call)."""

    base_dir: Path | None

    def num(self, key: str, *, positive: bool = False, nonneg: bool = False) -> float: ...
    def dist(self, key: str) -> Distribution: ...
    def text(self, key: str, *, required: bool = False) -> str | None: ...
    def has(self, key: str) -> bool: ...
    def fail(self, key: str | None, reason: str) -> NoReturn: ...


@dataclass(frozen=True)
class Family:
    """A family the grammar knows: ``name(params...)`` with optional keyword ``aliases``."""

    name: str
    params: tuple[str, ...]  # positional order
    build: Callable[[Args], Distribution]
    aliases: Mapping[str, str] = field(default_factory=dict)  # extra keyword -> name ``build`` reads


def _exponential(a: Args) -> Distribution:
    if a.has("mean"):
        if a.has("rate"):
            a.fail(None, "exponential: give rate or mean, not both")
        return Exponential(1.0 / a.num("mean", positive=True))
    return Exponential(a.num("rate", positive=True))


def _lognormal(a: Args) -> Distribution:
    if a.has("median"):
        if a.has("mu"):
            a.fail(None, "lognormal: give mu or median, not both")
        return LogNormal(math.log(a.num("median", positive=True)), a.num("sigma", positive=True))
    return LogNormal(a.num("mu"), a.num("sigma", positive=True))


def _uniform(a: Args) -> Distribution:
    low, high = a.num("low", nonneg=True), a.num("high", nonneg=True)
    if high < low:
        a.fail("high", f"uniform: high {_fmt(high)} < low {_fmt(low)}")
    return Uniform(low, high)


def _empirical(a: Args) -> Distribution:
    path = a.text("path", required=True)
    column = a.text("column")
    assert path is not None
    try:
        values = load_samples(path, column, a.base_dir)
    except DistributionError as exc:
        a.fail(None, exc.reason)
    return Empirical(path, column, values)


# -- signed and folded normals (clock offsets and drifts, which may be negative) --------------------
#   normal(mean, sd)      N(mean, sd^2): the one family that can be negative (clock offsets in ms,
#                         drifts in ppm); the config accepts it only where a signed value makes sense.
#   absnormal(mean, sd)   |N(mean, sd^2)| (the folded normal): non-negative, usable anywhere.
# ``sd`` must be >= 0 (sd = 0 is the constant ``mean``).


def _phi(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z, float) / math.sqrt(2.0)))


@dataclass(frozen=True)
class Normal(Distribution):
    mean_: float
    sd: float
    name = "normal"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return np.asarray(rng.normal(self.mean_, self.sd, shape), dtype=float)

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return self.sd**2

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, float)
        if self.sd == 0:
            return np.where(x >= self.mean_, 1.0, 0.0)
        return _phi((x - self.mean_) / self.sd)

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        return np.asarray(stats.norm.ppf(q, loc=self.mean_, scale=self.sd), dtype=float)

    def tail(self) -> float:
        return abs(self.mean_) + 7.1 * self.sd  # P(|Z| > 7.1) < 1e-12

    def spec(self) -> str:
        return f"normal(mean={_fmt(self.mean_)}, sd={_fmt(self.sd)})"


@dataclass(frozen=True)
class AbsNormal(Distribution):
    mu: float
    sd: float
    name = "absnormal"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return np.abs(np.asarray(rng.normal(self.mu, self.sd, shape), dtype=float))

    @property
    def mean(self) -> float:
        if self.sd == 0:
            return abs(self.mu)
        z = self.mu / self.sd
        return float(self.sd * math.sqrt(2.0 / math.pi) * math.exp(-0.5 * z * z) + self.mu * math.erf(z / math.sqrt(2.0)))

    @property
    def var(self) -> float:
        return self.mu**2 + self.sd**2 - self.mean**2

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, float)
        if self.sd == 0:
            return np.where(x >= abs(self.mu), 1.0, 0.0)
        c = _phi((x - self.mu) / self.sd) - _phi((-x - self.mu) / self.sd)
        return np.where(x < 0, 0.0, c)

    def tail(self) -> float:
        return abs(self.mu) + 7.1 * self.sd

    def spec(self) -> str:
        return f"absnormal(mean={_fmt(self.mu)}, sd={_fmt(self.sd)})"


# name -> family. ``mixture(w1*d1, ...)`` is grammar (weighted terms), not an entry here.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("constant", ("value",), lambda a: Constant(a.num("value", nonneg=True)), {"ms": "value"}),
        Family("exponential", ("rate",), _exponential, {"mean": "mean", "lambda": "rate", "lam": "rate"}),
        Family("pareto", ("xm", "alpha"), lambda a: Pareto(a.num("xm", positive=True), a.num("alpha", positive=True))),
        Family("lognormal", ("mu", "sigma"), _lognormal, {"median": "median"}),
        Family(
            "weibull", ("shape", "scale"),
            lambda a: Weibull(a.num("shape", positive=True), a.num("scale", positive=True)),
            {"k": "shape", "lam": "scale", "lambda": "scale"},
        ),
        Family("uniform", ("low", "high"), _uniform, {"a": "low", "b": "high", "min": "low", "max": "high"}),
        Family("shifted", ("dist", "by"), lambda a: Shifted(a.dist("dist"), a.num("by", nonneg=True)),
               {"base": "dist", "offset": "by"}),
        Family("empirical", ("path", "column"), _empirical),
        Family("normal", ("mean", "sd"), lambda a: Normal(a.num("mean"), a.num("sd", nonneg=True))),
        Family("absnormal", ("mean", "sd"), lambda a: AbsNormal(a.num("mean"), a.num("sd", nonneg=True))),
    )
}
# short names accepted for families (and for mixture)
ALIASES = {"exp": "exponential", "const": "constant", "mix": "mixture", "pareto1": "pareto"}
