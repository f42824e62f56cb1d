"""Latency and interval distributions, and their text grammar.

Owns: the distribution classes (all non-negative, milliseconds), vectorized sampling from an
explicit ``numpy.random.Generator``, their moments and quantiles, and ``parse()`` — the one text
grammar used in TOML files and on the command line. Must not touch: configs, profiles, SimPy.

Grammar (whitespace ignored; no ``eval``)::

    spec      := NUMBER                              -> constant(value=NUMBER)
               | NAME "(" [arg ("," arg)*] ")"
    arg       := NAME "=" value | value              (positional args in the documented order)
    value     := NUMBER | STRING | spec | NUMBER "*" spec   (weighted term, mixture only)

    constant(value)              exponential(rate) | exponential(mean=m)
    pareto(xm, alpha)            lognormal(mu, sigma)   (of the log; or median=, sigma=)
    weibull(shape, scale)        uniform(low, high)
    shifted(dist, by)            dist + a constant ``by`` >= 0
    mixture(w1*d1, w2*d2, ...)   weights in [0, 1] summing to 1
    empirical(path, column)      measured samples from a .csv column (or one-column file), .npy or
                                 .txt; sampled by inverse CDF (linear interpolation of the ECDF)

Example: ``mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))``.
``str(d)`` prints the canonical spec, and ``parse(str(d))`` gives back an equal distribution.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import DistributionError


class _LazyModule:
    """Import a scipy submodule on first attribute access: `import pbs_sim` (and `pbs-sim predict`)
    should not pay ~0.5 s for scipy.stats, which only cdf/ppf need."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


optimize = _LazyModule("scipy.optimize")
stats = _LazyModule("scipy.stats")

Shape = int | tuple[int, ...]


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

    def spec(self) -> str:
        return f"constant(value={_fmt(self.value)})"


@dataclass(frozen=True)
class Exponential(Distribution):
    rate: float
    name = "exponential"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        return rng.exponential(1.0 / self.rate, shape)

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

    def spec(self) -> str:
        return f"exponential(rate={_fmt(self.rate)})"


@dataclass(frozen=True)
class Pareto(Distribution):
    """Pareto type I: ``xm / U**(1/alpha)`` (REFERENCE.md §3)."""

    xm: float
    alpha: float
    name = "pareto"

    def sample(self, rng: np.random.Generator, shape: Shape = ()) -> np.ndarray:
        # xm / U^(1/alpha) = xm * exp(E / alpha) with E ~ Exp(1): the same law as numpy's
        # 1 + pareto(alpha) (Lomax shifted to Pareto I), but a vectorized exp is ~2.4x faster.
        return self.xm * np.exp(rng.standard_exponential(shape) * (1.0 / self.alpha))

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

    def spec(self) -> str:
        col = f", column={_quote(self.column)}" if self.column else ""
        return f"empirical(path={_quote(self.path)}{col})"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_samples(path: str, column: str | None, base_dir: Path | None = None) -> np.ndarray:
    """Sorted finite non-negative samples from a .npy, .csv or .txt file (raises ``DistributionError``)."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.exists():
        raise DistributionError(None, None, f"empirical: no such file {str(p)!r}")
    try:
        if p.suffix == ".npy":
            arr = np.asarray(np.load(p, allow_pickle=False), dtype=float).ravel()
        else:
            import pandas as pd

            # pandas 3 parses floats round-trip exactly by default (and deprecates the option);
            # pandas 2's default parser may change the last bit of a measured latency.
            header: Literal["infer"] | None = None if p.suffix == ".txt" else "infer"
            if int(pd.__version__.split(".")[0]) >= 3:
                frame = pd.read_csv(p, header=header)
            else:
                frame = pd.read_csv(p, header=header, float_precision="round_trip")
            if column is not None:
                if column not in frame.columns:
                    raise DistributionError(
                        None, None,
                        f"empirical: {str(p)!r} has no column {column!r} (columns: {', '.join(map(str, frame.columns))})",
                    )
                arr = frame[column].to_numpy(dtype=float)
            elif frame.shape[1] == 1:
                arr = frame.iloc[:, 0].to_numpy(dtype=float)
            else:
                raise DistributionError(
                    None, None, f"empirical: {str(p)!r} has {frame.shape[1]} columns; name one with column=\"...\""
                )
    except DistributionError:
        raise
    except Exception as exc:  # unreadable file: one line, no traceback
        raise DistributionError(None, None, f"empirical: cannot read {str(p)!r}: {exc}") from exc
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise DistributionError(None, None, f"empirical: {str(p)!r} holds no samples")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise DistributionError(None, None, f"empirical: {str(p)!r} has negative or infinite samples")
    return np.sort(arr)


# --------------------------------------------------------------------------------------------
# Parser


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<punct>[(),=*])
    )""",
    re.VERBOSE,
)

# name -> (class, parameter names in positional order, aliases handled in _build)
_PARAMS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "exponential": ("rate",),
    "pareto": ("xm", "alpha"),
    "lognormal": ("mu", "sigma"),
    "weibull": ("shape", "scale"),
    "uniform": ("low", "high"),
    "shifted": ("dist", "by"),
    "empirical": ("path", "column"),
}
_ALIASES = {"exp": "exponential", "const": "constant", "mix": "mixture", "pareto1": "pareto"}
KNOWN = (*_PARAMS, "mixture")


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


class _Parser:
    def __init__(self, text: str, base_dir: Path | None) -> None:
        self.text = text
        self.base_dir = base_dir
        self.toks: list[_Tok] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                bad = len(text[pos:]) - len(text[pos:].lstrip())
                self.fail(pos + bad, f"unexpected character {text[pos + bad]!r}")
                raise AssertionError  # unreachable
            kind = m.lastgroup or ""
            start = m.start(kind)
            self.toks.append(_Tok(kind, m.group(kind), start))
            pos = m.end()
        self.i = 0

    def fail(self, pos: int, reason: str) -> None:
        raise DistributionError(None, None, f"{reason} at column {pos + 1} in {self.text!r}")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), f"expected {what} but the text ended")
            raise AssertionError
        self.i += 1
        return tok

    def expect(self, punct: str) -> _Tok:
        tok = self.next(repr(punct))
        if tok.kind != "punct" or tok.text != punct:
            self.fail(tok.pos, f"expected {punct!r}, found {tok.text!r}")
        return tok

    def parse(self) -> Distribution:
        if not self.toks:
            self.fail(0, "empty distribution")
        dist = self.spec()
        tok = self.peek()
        if tok is not None:
            self.fail(tok.pos, f"unexpected {tok.text!r} after the distribution")
        return dist

    def spec(self) -> Distribution:
        tok = self.next("a distribution")
        if tok.kind == "number":
            value = self.number(tok)
            nxt = self.peek()
            if nxt is not None and nxt.text == "*":
                self.fail(nxt.pos, "a weighted term 'w*dist' is only allowed inside mixture(...)")
            return self.build("constant", {"value": value}, tok)
        if tok.kind != "name":
            self.fail(tok.pos, f"expected a distribution name, found {tok.text!r}")
        name = _ALIASES.get(tok.text.lower(), tok.text.lower())
        if name not in KNOWN:
            self.fail(tok.pos, f"unknown distribution {tok.text!r} (known: {', '.join(KNOWN)})")
        self.expect("(")
        args: list[tuple[_Tok, Any]] = []
        kwargs: dict[str, tuple[_Tok, Any]] = {}
        if self.peek() is not None and self.peek().text == ")":  # type: ignore[union-attr]
            self.i += 1
        else:
            while True:
                start = self.peek()
                if start is None:
                    self.fail(len(self.text), "expected an argument but the text ended")
                    raise AssertionError
                after = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
                if start.kind == "name" and after is not None and after.text == "=":
                    self.i += 2
                    key = start.text
                    if key in kwargs:
                        self.fail(start.pos, f"{name}: {key!r} given twice")
                    kwargs[key] = (start, self.value(name))
                else:
                    if kwargs:
                        self.fail(start.pos, f"{name}: positional argument after a keyword argument")
                    args.append((start, self.value(name)))
                sep = self.next("',' or ')'")
                if sep.text == ")":
                    break
                if sep.text != ",":
                    self.fail(sep.pos, f"expected ',' or ')', found {sep.text!r}")
        if name == "mixture":
            return self.mixture(tok, args, kwargs)
        params = _PARAMS[name]
        named: dict[str, Any] = {}
        for k, (ktok, v) in kwargs.items():
            canonical = self.alias(name, k)
            if canonical is None:
                self.fail(ktok.pos, f"{name}: unknown parameter {k!r} (expected {', '.join(params)})")
            named[canonical] = (ktok, v)  # type: ignore[index]
        if len(args) > len(params):
            self.fail(args[len(params)][0].pos, f"{name}: takes at most {len(params)} arguments")
        for (atok, v), pname in zip(args, params, strict=False):
            if pname in named:
                self.fail(atok.pos, f"{name}: {pname!r} given twice")
            named[pname] = (atok, v)
        return self.build(name, {k: v for k, (_, v) in named.items()}, tok, {k: t for k, (t, _) in named.items()})

    @staticmethod
    def alias(name: str, key: str) -> str | None:
        if key in _PARAMS[name]:
            return key
        extra = {
            "exponential": {"mean": "mean", "lambda": "rate", "lam": "rate"},
            "constant": {"ms": "value"},
            "lognormal": {"median": "median"},
            "weibull": {"k": "shape", "lam": "scale", "lambda": "scale"},
            "uniform": {"a": "low", "b": "high", "min": "low", "max": "high"},
            "shifted": {"base": "dist", "offset": "by"},
        }.get(name, {})
        return extra.get(key)

    def value(self, context: str) -> Any:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "expected a value but the text ended")
            raise AssertionError
        if tok.kind == "number":
            self.i += 1
            num = self.number(tok)
            nxt = self.peek()
            if nxt is not None and nxt.text == "*":
                if context != "mixture":
                    self.fail(nxt.pos, "a weighted term 'w*dist' is only allowed inside mixture(...)")
                self.i += 1
                return ("weighted", num, self.spec(), tok)
            return num
        if tok.kind == "string":
            self.i += 1
            body = tok.text[1:-1]
            return re.sub(r"\\(.)", r"\1", body)
        if tok.kind == "name":
            return self.spec()
        self.fail(tok.pos, f"expected a value, found {tok.text!r}")
        raise AssertionError

    def number(self, tok: _Tok) -> float:
        text = tok.text
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1], 0.01
        try:
            return float(text) * scale
        except ValueError:
            self.fail(tok.pos, f"bad number {tok.text!r}")
            raise AssertionError from None

    def mixture(
        self, tok: _Tok, args: list[tuple[_Tok, Any]], kwargs: dict[str, tuple[_Tok, Any]]
    ) -> Distribution:
        if kwargs:
            first = next(iter(kwargs.values()))[0]
            self.fail(first.pos, "mixture takes weighted terms 'w*dist', not keyword arguments")
        if not args:
            self.fail(tok.pos, "mixture needs at least one weighted term 'w*dist'")
        weights, comps = [], []
        for atok, v in args:
            if not (isinstance(v, tuple) and v and v[0] == "weighted"):
                self.fail(atok.pos, "mixture terms must be weighted, like 0.4*exponential(rate=1)")
            _, w, dist, wtok = v
            if not 0 <= w <= 1:
                self.fail(wtok.pos, f"mixture weight {w} is not in [0, 1]")
            weights.append(w)
            comps.append(dist)
        total = sum(weights)
        if abs(total - 1.0) > 1e-6:
            self.fail(tok.pos, f"mixture weights sum to {total:g}, not 1")
        if abs(total - 1.0) > 1e-12:  # renormalizing a sum off by rounding breaks parse(str(d)) == d
            weights = [w / total for w in weights]
        return Mixture(tuple(weights), tuple(comps))

    def build(
        self, name: str, p: dict[str, Any], tok: _Tok, toks: dict[str, _Tok] | None = None
    ) -> Distribution:
        toks = toks or {}

        def num(key: str, *, positive: bool = False, nonneg: bool = False) -> float:
            where = toks.get(key, tok).pos
            if key not in p:
                self.fail(tok.pos, f"{name}: missing parameter {key!r}")
            v = p[key]
            if not isinstance(v, float):
                self.fail(where, f"{name}: {key!r} must be a number")
            if not math.isfinite(v):
                self.fail(where, f"{name}: {key!r} must be finite")
            if positive and v <= 0:
                self.fail(where, f"{name}: {key!r} must be > 0, got {_fmt(v)}")
            if nonneg and v < 0:
                self.fail(where, f"{name}: {key!r} must be >= 0, got {_fmt(v)}")
            return v

        if name in _FAMILY_BUILDERS:  # families registered below (clock offsets: signed normals)
            return _FAMILY_BUILDERS[name](num)
        if name == "constant":
            return Constant(num("value", nonneg=True))
        if name == "exponential":
            if "mean" in p:
                if "rate" in p:
                    self.fail(tok.pos, "exponential: give rate or mean, not both")
                return Exponential(1.0 / num("mean", positive=True))
            return Exponential(num("rate", positive=True))
        if name == "pareto":
            return Pareto(num("xm", positive=True), num("alpha", positive=True))
        if name == "lognormal":
            if "median" in p:
                if "mu" in p:
                    self.fail(tok.pos, "lognormal: give mu or median, not both")
                return LogNormal(math.log(num("median", positive=True)), num("sigma", positive=True))
            return LogNormal(num("mu"), num("sigma", positive=True))
        if name == "weibull":
            return Weibull(num("shape", positive=True), num("scale", positive=True))
        if name == "uniform":
            low, high = num("low", nonneg=True), num("high", nonneg=True)
            if high < low:
                self.fail(toks.get("high", tok).pos, f"uniform: high {_fmt(high)} < low {_fmt(low)}")
            return Uniform(low, high)
        if name == "shifted":
            base = p.get("dist")
            if not isinstance(base, Distribution):
                self.fail(toks.get("dist", tok).pos, "shifted: first argument must be a distribution")
            return Shifted(base, num("by", nonneg=True))  # type: ignore[arg-type]
        if name == "empirical":
            path = p.get("path")
            if not isinstance(path, str):
                self.fail(toks.get("path", tok).pos, 'empirical: path must be a quoted string, like path="lat.csv"')
            column = p.get("column")
            if column is not None and not isinstance(column, str):
                self.fail(toks.get("column", tok).pos, "empirical: column must be a quoted string")
            try:
                values = load_samples(path, column, self.base_dir)  # type: ignore[arg-type]
            except DistributionError as exc:
                raise DistributionError(None, None, f"{exc.reason} (in {self.text!r})") from None
            return Empirical(path, column, values)  # type: ignore[arg-type]
        raise AssertionError(name)


def parse(text: str | float | int | Distribution, base_dir: Path | str | None = None) -> Distribution:
    """A Distribution from its text spec (or a bare number = constant). Raises ``DistributionError``.

    ``base_dir`` resolves relative ``empirical(path=...)`` files (the directory of the TOML file).
    """
    if isinstance(text, Distribution):
        return text
    if isinstance(text, bool):
        raise DistributionError(None, None, f"expected a distribution, got {text!r}")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise DistributionError(None, None, f"a constant must be finite and >= 0, got {text!r}")
        return Constant(float(text))
    if not isinstance(text, str):
        raise DistributionError(None, None, f"expected a distribution spec string, got {type(text).__name__}")
    return _Parser(text, Path(base_dir) if base_dir is not None else None).parse()


class BufferedSampler:
    """Draws one value at a time from pre-sampled blocks: what a DES needs per message.

    Sampling 4096 values per numpy call keeps per-message cost at a list pop; the sequence of values
    depends only on the generator, so runs stay reproducible.
    """

    __slots__ = ("dist", "rng", "block", "_buf", "_i")

    def __init__(self, dist: Distribution, rng: np.random.Generator, block: int = 4096) -> None:
        self.dist = dist
        self.rng = rng
        self.block = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        buf = self._buf
        if i >= len(buf):
            buf = self._buf = self.dist.sample(self.rng, self.block).tolist()
            i = 0
        self._i = i + 1
        return buf[i]


def describe(d: Distribution) -> str:
    """One line for listings: the spec and its mean."""
    m = d.mean
    mean = "inf" if not math.isfinite(m) else f"{m:.4g}"
    return f"{d.spec()}  (mean {mean} ms)"


__all__: Sequence[str] = [
    "Distribution", "Constant", "Exponential", "Pareto", "LogNormal", "Weibull", "Uniform",
    "Shifted", "Mixture", "Empirical", "parse", "load_samples", "BufferedSampler", "describe",
]


# ---------------------------------------------------------------------------------------------
# Signed and folded normals (issue 10: clock offsets and drifts, which may be negative).
#
#   normal(mean, sd)      N(mean, sd^2); the one family that can be negative: clock offsets (ms)
#                         and drifts (ppm). Used as a latency it would be clipped by nothing -- the
#                         config only accepts it where a signed value makes sense.
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

    def spec(self) -> str:
        return f"absnormal(mean={_fmt(self.mu)}, sd={_fmt(self.sd)})"


_FAMILY_BUILDERS: dict[str, Any] = {
    "normal": lambda num: Normal(num("mean"), num("sd", nonneg=True)),
    "absnormal": lambda num: AbsNormal(num("mean"), num("sd", nonneg=True)),
}
_PARAMS.update({"normal": ("mean", "sd"), "absnormal": ("mean", "sd")})
KNOWN = (*_PARAMS, "mixture")
__all__ = [*__all__, "Normal", "AbsNormal"]
