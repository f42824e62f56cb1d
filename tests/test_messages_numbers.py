"""Numbers in messages are written for people: a whole number in full with its thousands
separated (``10,000,000``), never in exponent form (``1e+07``), which reads as another kind of value."""

from __future__ import annotations

import re

import pytest

from pbs_sim.config import MAX_OPS, scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.numbers import num, number

EXPONENT = re.compile(r"\d[eE][+-]?\d")


def _refusal(raw: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw)
    return str(info.value)


def test_the_ops_bound_names_its_numbers_in_full() -> None:
    msg = _refusal({"workload": {"kind": "open", "rate_per_s": 1_000_000.0, "duration_ms": 100_000.0, "warmup_ms": 0.0}})
    assert "workload.rate_per_s" in msg
    assert f"at most {MAX_OPS:,} per run" in msg and "1,000,000 ops/s" in msg and "100,000 ms" in msg
    assert not EXPONENT.search(msg), msg


def test_a_range_bound_names_its_numbers_in_full() -> None:
    msg = _refusal({"workload": {"kind": "pbs-probe", "trials": 6_000_000, "probe_offsets_ms": [0.0, 1.0]}})
    assert "6,000,000 trials x (1 write + 2 reads) is 18,000,000 operations; at most 10,000,000" in msg, msg
    assert not EXPONENT.search(msg), msg
    msg = _refusal({"workload": {"duration_ms": -1_000_000.0}})
    assert "got -1,000,000" in msg and not EXPONENT.search(msg), msg


@pytest.mark.parametrize(
    ("x", "digits", "want"),
    [(1e6, 6, "1,000,000"), (1e7, 3, "10,000,000"), (12_345_678.9, 3, "12,345,679"), (999.5, 3, "1,000"),
     (2.5, 6, "2.5"), (1234.5, 6, "1,234.5"), (-1234.5, 6, "-1,234.5"), (2.5e-7, 6, "2.5e-07"),
     (1e15, 6, "1e+15"), (float("inf"), 6, "inf")],
)
def test_num(x: float, digits: int, want: str) -> None:
    assert num(x, digits) == want
    assert number(x, digits) == want.replace(",", "")


@pytest.mark.parametrize(
    ("spec", "want"),
    [("exponential(rate=inf)", "exponential: 'rate' must be a finite number, got inf"),
     ("exponential(mean=inf)", "exponential: 'mean' must be a finite number, got inf"),
     ("exponential(rate=1e999)", "exponential: 'rate' must be a finite number, got inf")],
)
def test_an_infinite_distribution_parameter_is_not_finite(spec: str, want: str) -> None:
    from pbs_sim.distributions import parse

    with pytest.raises(ConfigError) as info:
        parse(spec)
    assert str(info.value).startswith(want)


@pytest.mark.parametrize(
    ("spec", "want"),
    [("exponential(w=inf)", "exponential profile: w: the rate must be a finite number, got inf"),
     ("exponential(ars=nan)", "exponential profile: ars: the rate must be a finite number, got nan"),
     ("exponential(w=0)", "exponential profile: w: the rate must be > 0, got 0")],
)
def test_an_exponential_profile_names_an_infinite_rate(spec: str, want: str) -> None:
    from pbs_sim.profiles import get_profile

    with pytest.raises(ConfigError) as info:
        get_profile(spec)
    assert str(info.value).endswith(want)
