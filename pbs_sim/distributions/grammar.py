"""The text grammar of distributions: ``parse("pareto(xm=1.05, alpha=1.51)")``.

Owns: tokenizing and parsing a spec into a ``Distribution`` with one-line errors that point at the
column, the weighted terms of ``mixture(...)``, and the argument checks every family shares (a
number must be finite, a path a quoted string). Which families exist, their parameters and how
each is built live in ``families.FAMILIES``. Must not touch: configs, profiles, SimPy.

Grammar (whitespace ignored; no ``eval``)::

    spec      := NUMBER                              -> constant(value=NUMBER)
               | NAME "(" [arg ("," arg)*] ")"
    arg       := NAME "=" value | value              (positional args in the documented order)
    value     := NUMBER | STRING | spec | NUMBER "*" spec   (weighted term, mixture only)

``nan`` and ``inf`` are read as numbers (and then refused as not finite), never as a name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..errors import DistributionError
from ..numbers import number
from .families import ALIASES, FAMILIES, Constant, Distribution, Mixture, _fmt

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?|[-+]?(?:[iI]nf(?:inity)?|[nN]a[nN])\b)
      | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<punct>[(),=*])
    )""",
    re.VERBOSE,
)

KNOWN = (*FAMILIES, "mixture")


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


class _Args:
    """``families.Args`` over parsed arguments: errors point at the argument's column."""

    def __init__(self, parser: _Parser, name: str, values: dict[str, Any], toks: dict[str, _Tok], call: _Tok) -> None:
        self.parser, self.name, self.values, self.toks, self.call = parser, name, values, toks, call
        self.base_dir = parser.base_dir

    def fail(self, key: str | None, reason: str) -> NoReturn:
        tok = self.toks.get(key, self.call) if key else self.call
        self.parser.fail(tok.pos, reason)

    def has(self, key: str) -> bool:
        return key in self.values

    def _get(self, key: str) -> Any:
        if key not in self.values:
            self.fail(None, f"{self.name}: missing parameter {key!r}")
        return self.values[key]

    def num(self, key: str, *, positive: bool = False, nonneg: bool = False) -> float:
        v = self._get(key)
        if not isinstance(v, float):
            self.fail(key, f"{self.name}: {key!r} must be a number")
        if not math.isfinite(v):
            self.fail(key, f"{self.name}: {key!r} must be a finite number, got {v!r}")
        if positive and v <= 0:
            self.fail(key, f"{self.name}: {key!r} must be > 0, got {_fmt(v)}")
        if nonneg and v < 0:
            self.fail(key, f"{self.name}: {key!r} must be >= 0, got {_fmt(v)}")
        return v

    def dist(self, key: str) -> Distribution:
        v = self.values.get(key)
        if not isinstance(v, Distribution):
            self.fail(key, f"{self.name}: {key!r} must be a distribution")
        return v

    def text(self, key: str, *, required: bool = False) -> str | None:
        if key not in self.values and not required:
            return None
        v = self.values.get(key)
        if not isinstance(v, str):
            self.fail(key, f'{self.name}: {key} must be a quoted string, like {key}="..."')
        return v


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
            kind = m.lastgroup or ""
            start = m.start(kind)
            self.toks.append(_Tok(kind, m.group(kind), start))
            pos = m.end()
        self.i = 0

    def fail(self, pos: int, reason: str) -> NoReturn:
        raise DistributionError(None, None, f"{reason} at column {pos + 1} in {self.text!r}")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), f"expected {what} but the text ended")
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
        name = ALIASES.get(tok.text.lower(), tok.text.lower())
        if name not in KNOWN:
            self.fail(tok.pos, f"unknown distribution {tok.text!r} (known: {', '.join(KNOWN)})")
        self.expect("(")
        args: list[tuple[_Tok, Any]] = []
        kwargs: dict[str, tuple[_Tok, Any]] = {}
        nxt = self.peek()
        if nxt is not None and nxt.text == ")":
            self.i += 1
        else:
            while True:
                start = self.peek()
                if start is None:
                    self.fail(len(self.text), "expected an argument but the text ended")
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
        family = FAMILIES[name]
        named: dict[str, tuple[_Tok, Any]] = {}
        for k, (ktok, v) in kwargs.items():
            canonical = k if k in family.params else family.aliases.get(k)
            if canonical is None:
                self.fail(ktok.pos, f"{name}: unknown parameter {k!r} (expected {', '.join(family.params)})")
            named[canonical] = (ktok, v)
        if len(args) > len(family.params):
            self.fail(args[len(family.params)][0].pos, f"{name}: takes at most {len(family.params)} arguments")
        for (atok, v), pname in zip(args, family.params, strict=False):
            if pname in named:
                self.fail(atok.pos, f"{name}: {pname!r} given twice")
            named[pname] = (atok, v)
        return self.build(name, {k: v for k, (_, v) in named.items()}, tok, {k: t for k, (t, _) in named.items()})

    def value(self, context: str) -> Any:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "expected a value but the text ended")
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

    def number(self, tok: _Tok) -> float:
        text = tok.text
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1], 0.01
        try:
            return float(text) * scale
        except ValueError:
            self.fail(tok.pos, f"bad number {tok.text!r}")

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
            if not 0 <= w <= 1:  # also false for nan
                self.fail(wtok.pos, f"mixture weight {w} is not in [0, 1]")
            weights.append(w)
            comps.append(dist)
        total = sum(weights)
        if abs(total - 1.0) > 1e-6:
            self.fail(tok.pos, f"mixture weights sum to {number(total)}, not 1")
        if abs(total - 1.0) > 1e-12:  # renormalizing a sum off by rounding breaks parse(str(d)) == d
            weights = [w / total for w in weights]
        return Mixture(tuple(weights), tuple(comps))

    def build(
        self, name: str, p: dict[str, Any], tok: _Tok, toks: dict[str, _Tok] | None = None
    ) -> Distribution:
        return FAMILIES[name].build(_Args(self, name, p, toks or {}, tok))


def parse(text: str | float | int | Distribution, base_dir: Path | str | None = None) -> Distribution:
    """A Distribution from its text spec, or a bare number (a constant).

    The grammar (no ``eval``): ``constant(5)``, ``exponential(rate=0.183)`` or ``(mean=...)``,
    ``pareto(xm=1.05, alpha=1.51)``, ``lognormal(mu=0, sigma=1)`` or ``(median=...)``,
    ``weibull(shape=1.5, scale=2)``, ``uniform(low=1, high=3)``, ``shifted(D, by=2)``,
    ``mixture(0.38*D1, 0.62*D2)``, ``empirical(path="trace.csv", column="ms")``, and the signed
    ``normal(mean, sd)`` / ``absnormal(mean, sd)``. ``str(d)`` prints the canonical spec, which parses
    back to an equal distribution.

    Args:
        text: the spec, a number, or a ``Distribution`` (returned as it is).
        base_dir: the folder relative ``empirical(path=...)`` files resolve against (the directory of
            the TOML file that names them).

    Returns:
        The ``Distribution``, which knows its ``mean`` and variance (``inf`` where undefined) and
        quantiles, and samples with a numpy ``Generator``.

    Raises:
        DistributionError: a spec the grammar refuses (the message says where), an unknown family or
            parameter, a non-finite number, or an unreadable trace.

    Example:
        >>> d = parse("mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))")
        >>> round(d.mean, 3)
        4.569
        >>> parse(str(d)) == d
        True
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
