"""Distributions against their own moments and quantiles, the grammar's round trips and errors.

Statistical checks use many samples and bounds of 5 standard errors:
* mean: |sample mean - mean| < 5 sqrt(var / n) (finite variance only);
* quantiles, distribution-free: the fraction of samples <= ppf(q) is Binomial(n, q) / n, so
  |fraction - q| < 5 sqrt(q (1 - q) / n) for any distribution (heavy tails and infinite means included);
* variance (finite fourth moment only): |sample var - var| < 5 sqrt((m4 - var^2) / n), with m4 from
  the sample.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbs_sim.distributions import (
    BufferedSampler,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Mixture,
    Pareto,
    Shifted,
    Uniform,
    Weibull,
    parse,
)
from pbs_sim.errors import ConfigError, DistributionError

N = 400_000
QS = (0.01, 0.1, 0.5, 0.9, 0.99, 0.999)

CASES: dict[str, Distribution] = {
    "exponential": Exponential(0.183),
    "pareto": Pareto(1.05, 4.5),
    "pareto-heavy": Pareto(1.05, 1.51),  # infinite variance
    "pareto-inf-mean": Pareto(2.0, 0.8),  # infinite mean
    "lognormal": LogNormal(0.5, 0.4),
    "weibull": Weibull(1.5, 2.0),
    "uniform": Uniform(1.0, 3.0),
    "shifted": Shifted(Exponential(2.0), 75.0),
    "mixture": Mixture((0.9122, 0.0878), (Pareto(0.235, 10.0), Exponential(1.66))),
    "mixture-heavy": Mixture((0.38, 0.62), (Pareto(1.05, 1.51), Exponential(0.183))),
}

# Finite fourth moment: the variance check applies.
LIGHT = {"exponential", "pareto", "lognormal", "weibull", "uniform", "shifted", "mixture"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quantiles_match_samples(name: str, rng: np.random.Generator) -> None:
    d = CASES[name]
    x = d.sample(rng, N)
    assert x.shape == (N,) and np.all(x >= 0)
    for q in QS:
        frac = np.mean(x <= float(d.ppf(q)))
        assert abs(frac - q) < 5 * math.sqrt(q * (1 - q) / N), (name, q, frac)
        assert float(d.cdf(d.ppf(q))) == pytest.approx(q, abs=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_mean_and_variance(name: str, rng: np.random.Generator) -> None:
    d = CASES[name]
    x = d.sample(rng, N)
    if name == "pareto-inf-mean":
        assert d.mean == math.inf and d.var == math.inf
        return
    if not math.isfinite(d.var):
        assert name in ("pareto-heavy", "mixture-heavy")
        assert math.isfinite(d.mean)
        # infinite variance: only a loose check of the mean (the median of batch means is robust)
        batch = np.median(x.reshape(40, -1).mean(axis=1))
        assert batch == pytest.approx(d.mean, rel=0.05)
        return
    se = math.sqrt(d.var / N)
    assert abs(x.mean() - d.mean) < 5 * se, (name, x.mean(), d.mean)
    if name in LIGHT:
        dev2 = (x - x.mean()) ** 2
        se_var = math.sqrt(np.var(dev2) / N)
        assert abs(dev2.mean() - d.var) < 5 * se_var, (name, dev2.mean(), d.var)


def test_closed_form_moments() -> None:
    assert Pareto(1.0, 3.0).mean == pytest.approx(1.5)
    assert Pareto(1.0, 3.0).var == pytest.approx(0.75)
    assert Pareto(1.0, 1.0).mean == math.inf
    assert Exponential(0.5).mean == 2.0 and Exponential(0.5).var == 4.0
    assert Uniform(0, 6).var == pytest.approx(3.0)
    assert Constant(4.0).var == 0.0 and float(Constant(4.0).sample(np.random.default_rng(1))) == 4.0
    mix = CASES["mixture"]
    assert mix.mean == pytest.approx(0.9122 * 0.235 * 10 / 9 + 0.0878 / 1.66)


def test_shapes_and_buffered_sampler(rng: np.random.Generator) -> None:
    for d in CASES.values():
        assert d.sample(rng, (7, 3)).shape == (7, 3)
        assert np.asarray(d.sample(rng)).shape == ()
    draw = BufferedSampler(Exponential(1.0), rng, block=16)
    xs = [draw() for _ in range(100)]
    assert all(isinstance(v, float) and v >= 0 for v in xs)
    # the same generator state gives the same values, one at a time or in blocks
    a = BufferedSampler(Exponential(1.0), np.random.default_rng(5), block=16)
    b = Exponential(1.0).sample(np.random.default_rng(5), 16)
    assert [a() for _ in range(16)] == b.tolist()


def test_empirical_csv_and_npy(tmp_path: Path, rng: np.random.Generator) -> None:
    values = rng.lognormal(1.0, 0.5, 5000)
    np.save(tmp_path / "lat.npy", values)
    (tmp_path / "lat.csv").write_text("op,latency_ms\n" + "".join(f"x,{float(v)!r}\n" for v in values))
    (tmp_path / "one.csv").write_text("ms\n" + "".join(f"{float(v)!r}\n" for v in values))
    dists = [
        parse('empirical(path="lat.npy")', base_dir=tmp_path),
        parse('empirical(path="lat.csv", column="latency_ms")', base_dir=tmp_path),
        parse(f'empirical("{tmp_path / "one.csv"}")'),
    ]
    srt = np.sort(values)
    for d in dists:
        assert isinstance(d, Empirical)
        assert np.array_equal(d.values, srt)
        # inverse CDF by linear interpolation between order statistics
        assert float(d.ppf(0.0)) == srt[0] and float(d.ppf(1.0)) == srt[-1]
        assert float(d.ppf(0.5)) == pytest.approx(np.interp(0.5, np.linspace(0, 1, len(srt)), srt))
        x = d.sample(rng, N)
        assert x.min() >= srt[0] and x.max() <= srt[-1]
        assert abs(x.mean() - d.mean) < 5 * math.sqrt(d.var / N)
        for q in QS:
            assert abs(np.mean(x <= float(d.ppf(q))) - q) < 5 * math.sqrt(q * (1 - q) / N)
    assert parse(str(dists[0]), base_dir=tmp_path) == dists[0]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("exponential(rate=0.183)", Exponential(0.183)),
        ("exp(mean=2)", Exponential(0.5)),
        ("pareto(1.05, 1.51)", Pareto(1.05, 1.51)),
        ("2.5", Constant(2.5)),
        ("lognormal(median=1, sigma=0.5)", LogNormal(0.0, 0.5)),
        ("shifted(exponential(rate=1), by=75)", Shifted(Exponential(1.0), 75.0)),
        ("uniform(low=1, high=2)", Uniform(1.0, 2.0)),
        ("weibull(shape=2, scale=3)", Weibull(2.0, 3.0)),
        (
            "mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))",
            Mixture((0.38, 0.62), (Pareto(1.05, 1.51), Exponential(0.183))),
        ),
        ("mixture(38%*pareto(1.05,1.51), 62%*exp(0.183))",
         Mixture((0.38, 0.62), (Pareto(1.05, 1.51), Exponential(0.183)))),
    ],
)
def test_parse_examples(spec: str, expected: Distribution) -> None:
    d = parse(spec)
    assert d == expected or (isinstance(d, Mixture) and d.components == expected.components  # type: ignore[attr-defined]
                             and np.allclose(d.weights, expected.weights))  # type: ignore[attr-defined]
    assert parse(str(d)) == d


pos = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
nonneg = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


def _leaf() -> st.SearchStrategy[Distribution]:
    return st.one_of(
        nonneg.map(Constant),
        pos.map(Exponential),
        st.builds(Pareto, pos, pos),
        st.builds(LogNormal, st.floats(-50, 50, allow_nan=False), pos),
        st.builds(Weibull, pos, pos),
        st.tuples(nonneg, nonneg).map(lambda t: Uniform(min(t), max(t))),
    )


def _dists() -> st.SearchStrategy[Distribution]:
    def extend(children: st.SearchStrategy[Distribution]) -> st.SearchStrategy[Distribution]:
        shifted = st.builds(Shifted, children, nonneg)
        mixture = st.lists(st.tuples(st.integers(1, 9), children), min_size=1, max_size=3).map(
            lambda terms: Mixture(
                tuple(w / sum(x for x, _ in terms) for w, _ in terms), tuple(d for _, d in terms)
            )
        )
        return st.one_of(shifted, mixture)

    return st.recursive(_leaf(), extend, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(_dists())
def test_round_trip(d: Distribution) -> None:
    back = parse(str(d))
    assert back == d
    assert str(back) == str(d)


@pytest.mark.parametrize(
    ("spec", "needle", "column"),
    [
        ("paretto(1, 2)", "unknown distribution 'paretto'", 1),
        ("pareto(xm=1, alpha=-2)", "'alpha' must be > 0", 14),
        ("pareto(xm=1)", "missing parameter 'alpha'", 1),
        ("exponential(rate=1", "the text ended", 19),
        ("exponential(rate=1))", "unexpected ')' after the distribution", 20),
        ("exponential(rat=1)", "unknown parameter 'rat'", 13),
        ("mixture(0.5*exponential(1), 0.4*exponential(2))", "weights sum to 0.9", 1),
        ("mixture(exponential(1))", "must be weighted", 9),
        ("exponential(rate=1) $", "unexpected character '$'", 21),
        ("0.5*exponential(1)", "only allowed inside mixture", 4),
        ("uniform(3, 1)", "high 1 < low 3", 12),
        ("", "empty distribution", 1),
    ],
)
def test_parse_errors_point_at_the_problem(spec: str, needle: str, column: int) -> None:
    with pytest.raises(DistributionError) as info:
        parse(spec)
    msg = str(info.value)
    assert needle in msg
    assert f"at column {column} " in msg
    assert "\n" not in msg
    assert isinstance(info.value, ConfigError)


def test_parse_rejects_non_specs(tmp_path: Path) -> None:
    for bad in (-1.0, math.inf, True, None, [1]):
        with pytest.raises(DistributionError):
            parse(bad)  # type: ignore[arg-type]
    with pytest.raises(DistributionError, match="no such file"):
        parse('empirical(path="missing.csv")', base_dir=tmp_path)
    (tmp_path / "two.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DistributionError, match="name one with column"):
        parse('empirical(path="two.csv")', base_dir=tmp_path)
    with pytest.raises(DistributionError, match="no column 'c'"):
        parse('empirical(path="two.csv", column="c")', base_dir=tmp_path)
    (tmp_path / "neg.npy").write_bytes(b"")
    np.save(tmp_path / "neg.npy", np.array([1.0, -2.0]))
    with pytest.raises(DistributionError, match="negative"):
        parse('empirical(path="neg.npy")', base_dir=tmp_path)


def test_tail_is_the_upper_quantile_in_closed_form() -> None:
    """``tail()`` (used by config validation, without scipy) equals ``ppf(1 - 1e-12)``."""
    from pbs_sim.distributions.families import TAIL_Q

    for spec in ("constant(3)", "exponential(rate=0.183)", "pareto(xm=1.05, alpha=1.51)", "lognormal(mu=0.5, sigma=1.2)",
                 "weibull(shape=1.5, scale=2)", "uniform(low=1, high=3)", "shifted(exponential(rate=1), by=2)",
                 "mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))"):
        d = parse(spec)
        exact = float(np.max(d.ppf(np.asarray([1 - TAIL_Q])))) if spec.startswith("mixture") else float(d.ppf(1 - TAIL_Q))
        if spec.startswith("mixture"):  # the largest component tail bounds the mixture's quantile
            assert d.tail() >= exact * (1 - 1e-6)
        else:
            assert d.tail() == pytest.approx(exact, rel=1e-4), spec
    assert parse("pareto(xm=1, alpha=1e-9)").tail() == float("inf")
