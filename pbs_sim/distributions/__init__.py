"""Latency and interval distributions (milliseconds) and their text grammar.

Two modules, one public surface (import from ``pbs_sim.distributions``)::

    families.py  the classes, their moments, quantiles and sampling, empirical() files, and the
                 FAMILIES registry (name, parameters, aliases, builder) — add a family there
    grammar.py   parse("mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))")

Families: constant(value), exponential(rate | mean=m), pareto(xm, alpha), lognormal(mu, sigma |
median=, sigma=), weibull(shape, scale), uniform(low, high), shifted(dist, by), normal(mean, sd)
(signed: clock settings only), absnormal(mean, sd) (folded normal), mixture(w1*d1, ...)
(weights in [0, 1] summing to 1), empirical(path, column) (measured samples from a .csv column or a
one-column file, .npy or .txt; sampled by inverse CDF). ``str(d)`` prints the canonical spec and
``parse(str(d))`` gives back an equal distribution.
Must not touch: configs, profiles, SimPy.
"""

from __future__ import annotations

from collections.abc import Sequence

from .families import (
    ALIASES,
    FAMILIES,
    AbsNormal,
    Args,
    BufferedSampler,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Family,
    LogNormal,
    Mixture,
    Normal,
    Pareto,
    Shape,
    Shifted,
    Uniform,
    Weibull,
    describe,
    load_samples,
)
from .grammar import KNOWN, parse

__all__: Sequence[str] = [
    "ALIASES", "AbsNormal", "FAMILIES", "KNOWN", "Args", "Normal", "BufferedSampler", "Constant", "Distribution", "Empirical",
    "Exponential", "Family", "LogNormal", "Mixture", "Pareto", "Shape", "Shifted", "Uniform", "Weibull",
    "describe", "load_samples", "parse",
]
