"""WARS profiles: the docs/validation.md §3 fits, WAN structure, parametric and user TOML profiles, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pbs_sim.distributions import Constant, Exponential, Mixture, Pareto, parse
from pbs_sim.errors import ConfigError
from pbs_sim.profiles import BUILTIN, Profile, get_profile

SSD = Mixture((0.9122, 0.0878), (Pareto(0.235, 10.0), Exponential(1.66)))
DISK_W = Mixture((0.38, 0.62), (Pareto(1.05, 1.51), Exponential(0.183)))


def test_builtin_profiles_are_reference_table_3() -> None:
    ssd, disk, ymmr, wan = (BUILTIN[k] for k in ("lnkd-ssd", "lnkd-disk", "ymmr", "wan"))
    assert ssd.w == ssd.a == ssd.r == ssd.s == SSD
    assert disk.w == DISK_W and disk.a == disk.r == disk.s == SSD
    assert ymmr.w == Mixture((0.939, 0.061), (Pareto(3.0, 3.35), Exponential(0.0028)))
    assert ymmr.a == ymmr.r == ymmr.s == Mixture((0.982, 0.018), (Pareto(1.5, 3.8), Exponential(0.0217)))
    assert wan.w == DISK_W and wan.a == wan.r == wan.s == SSD
    assert wan.remote_extra_ms == 75.0 and wan.is_wan
    assert not any(BUILTIN[k].is_wan for k in ("lnkd-ssd", "lnkd-disk", "ymmr"))
    for p in BUILTIN.values():
        assert get_profile(p.name) is p
        assert get_profile(p.name.upper()) is p


def test_sample_wars_shapes_and_marginals(rng: np.random.Generator) -> None:
    w, a, r, s = BUILTIN["lnkd-disk"].sample_wars(rng, 100_000, 3)
    assert w.shape == a.shape == r.shape == s.shape == (100_000, 3)
    # W follows the disk mixture, A the SSD mixture: check medians distribution-free
    for x, d in ((w, DISK_W), (a, SSD)):
        frac = np.mean(x <= float(d.ppf(0.5)))
        assert abs(frac - 0.5) < 5 * math.sqrt(0.25 / x.size)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_wan_one_local_replica_per_write_and_per_read(n: int, rng: np.random.Generator) -> None:
    one = Constant(1.0)
    prof = Profile("t", one, one, one, one, remote_extra_ms=75.0)
    trials = 40_000
    w, a, r, s = prof.sample_wars(rng, trials, n)
    assert np.all(w == a) and np.all(r == s)
    assert np.all((w == 1.0).sum(axis=1) == 1) and np.all((w == 76.0).sum(axis=1) == n - 1)
    assert np.all((r == 1.0).sum(axis=1) == 1)
    local_w = np.argmin(w, axis=1)
    local_r = np.argmin(r, axis=1)
    # each replica is local equally often, and the read's local replica is independent of the write's
    counts = np.bincount(local_w, minlength=n) / trials
    assert np.all(np.abs(counts - 1 / n) < 5 * math.sqrt((1 / n) * (1 - 1 / n) / trials))
    same = np.mean(local_w == local_r)
    assert abs(same - 1 / n) < 5 * math.sqrt((1 / n) * (1 - 1 / n) / trials)


def test_parametric_exponential_profile() -> None:
    p = get_profile("exponential(w=0.1, ars=2)")
    assert p.w == Exponential(0.1) and p.a == p.r == p.s == Exponential(2.0)
    q = get_profile("exponential(all=0.5)")
    assert q.w == q.a == q.r == q.s == Exponential(0.5)
    assert get_profile("exponential").w == Exponential(1.0)
    for bad, needle in (
        ("exponential(w=0)", "rate must be > 0"),
        ("exponential(w=abc)", "is not a number"),
        ("exponential(x=1)", "unknown delay 'x'"),
        ("exponential(w)", "expected name=rate"),
    ):
        with pytest.raises(ConfigError, match=needle):
            get_profile(bad, source="--profile")


def test_user_toml_profile(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\n'
        'w = "mixture(0.38*pareto(xm=1.05, alpha=1.51), 0.62*exponential(rate=0.183))"\n'
        'a = "exponential(rate=2)"\n'
        'r = 0.5\n'
        's = "shifted(exponential(rate=1), by=0.25)"\n'
        "remote_extra_ms = 10\n"
    )
    p = get_profile(str(f))
    assert p.name == "mine" and p.w == DISK_W and p.a == Exponential(2.0)
    assert p.r == Constant(0.5) and p.s == parse("shifted(exponential(rate=1), by=0.25)")
    assert p.remote_extra_ms == 10.0
    # a [profile] table and a path relative to base_dir work too
    g = tmp_path / "nested.toml"
    g.write_text('[profile]\nw = "1"\na = "1"\nr = "1"\ns = "1"\n')
    assert get_profile("nested.toml", base_dir=tmp_path).name == "nested"
    # round trip through to_dict specs
    d = p.to_dict()
    assert parse(d["w"]) == p.w and d["remote_extra_ms"] == 10.0  # type: ignore[arg-type]


def test_user_profile_with_empirical_samples(tmp_path: Path, rng: np.random.Generator) -> None:
    np.save(tmp_path / "w.npy", rng.exponential(3.0, 1000))
    (tmp_path / "p.toml").write_text('w = "empirical(path=\\"w.npy\\")"\na = "1"\nr = "1"\ns = "1"\n')
    p = get_profile(str(tmp_path / "p.toml"))
    assert p.w.sample(rng, 10).shape == (10,)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('w = "1"\na = "1"\nr = "1"\n', "s: missing"),
        ('w = "1"\na = "1"\nr = "1"\ns = "1"\nq = 1\n', "q: unknown key"),
        ('w = "paretto(1, 2)"\na = "1"\nr = "1"\ns = "1"\n', "w: unknown distribution 'paretto'"),
        ('w = "pareto(1, -2)"\na = "1"\nr = "1"\ns = "1"\n', "w: pareto: 'alpha' must be > 0"),
        ('w = "1"\na = "1"\nr = "1"\ns = "1"\nremote_extra_ms = -3\n', "remote_extra_ms: must be a finite number >= 0"),
        ("w = [", "not valid TOML"),
    ],
)
def test_user_profile_errors_name_file_key_and_reason(tmp_path: Path, body: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(body)
    with pytest.raises(ConfigError) as info:
        get_profile(str(f))
    msg = str(info.value)
    assert str(f) in msg and needle in msg and "\n" not in msg


def test_unknown_and_missing_profiles(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown profile 'lnkd-sdd'"):
        get_profile("lnkd-sdd", source="--profile")
    with pytest.raises(ConfigError, match="does not exist"):
        get_profile(str(tmp_path / "nope.toml"), source="--profile")
    with pytest.raises(ConfigError):
        get_profile("   ")


def test_with_overrides() -> None:
    base = BUILTIN["lnkd-ssd"]
    assert base.with_overrides() is base
    custom = base.with_overrides(w=Exponential(0.5), a=None)
    assert custom.w == Exponential(0.5) and custom.a == base.a and custom.name == "lnkd-ssd+custom"
