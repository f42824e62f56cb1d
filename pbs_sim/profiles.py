"""Named WARS latency profiles (docs/validation.md §3) and user profiles from TOML.

Owns: the four production fits of the PBS paper (lnkd-ssd, lnkd-disk, ymmr, wan), the parametric
exponential profile, loading a user profile file, and drawing WARS delays for the analytic engine.
Must not touch: SimPy, metrics. The simulator reads the same ``Profile`` fields (``w, a, r, s`` and
the WAN structure ``remote_extra_ms``) so both engines share one definition.

WAN structure: for each write one replica, chosen uniformly at random, is local to the write's
coordinator; every other replica gets ``remote_extra_ms`` added to its W and A delays. Independently,
for each read one replica is local to the read's coordinator and the others get the extra on R and S.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import inputs
from ._lazy import LazyModule
from .distributions import Distribution, Exponential, Mixture, Pareto, describe, parse
from .errors import ConfigError, DistributionError

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")  # checking a config does not import numpy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Profile:
    """One distribution per WARS delay, plus the WAN local-replica structure."""

    name: str
    w: Distribution
    a: Distribution
    r: Distribution
    s: Distribution
    description: str = ""
    remote_extra_ms: float = 0.0  # added to non-local replicas' delays (0 = no WAN structure)

    @property
    def is_wan(self) -> bool:
        return self.remote_extra_ms > 0

    def with_overrides(self, **dists: Distribution | None) -> Profile:
        """A copy with some of w/a/r/s replaced (None keeps the profile's own)."""
        changed = {k: v for k, v in dists.items() if v is not None}
        if not changed:
            return self
        from dataclasses import replace

        return replace(self, name=f"{self.name}+custom", **changed)  # type: ignore[arg-type]

    def sample_wars(
        self, rng: np.random.Generator, trials: int, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """W, A, R, S delays, each of shape ``(trials, n)``, WAN structure applied."""
        w = self.w.sample(rng, (trials, n))
        a = self.a.sample(rng, (trials, n))
        r = self.r.sample(rng, (trials, n))
        s = self.s.sample(rng, (trials, n))
        if self.remote_extra_ms > 0:
            cols = np.arange(n)
            local_w = rng.integers(0, n, size=(trials, 1))
            local_r = rng.integers(0, n, size=(trials, 1))
            remote_w = (cols[None, :] != local_w) * self.remote_extra_ms
            remote_r = (cols[None, :] != local_r) * self.remote_extra_ms
            w += remote_w
            a += remote_w
            r += remote_r
            s += remote_r
        return w, a, r, s

    def rows(self) -> list[tuple[str, str]]:
        """(delay, description) rows for listings."""
        out = [(k.upper(), describe(getattr(self, k))) for k in ("w", "a", "r", "s")]
        if self.remote_extra_ms:
            out.append(("WAN", f"+{self.remote_extra_ms:g} ms on non-local replicas (one local per op)"))
        return out

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "name": self.name,
            "w": self.w.spec(),
            "a": self.a.spec(),
            "r": self.r.spec(),
            "s": self.s.spec(),
        }
        if self.remote_extra_ms:
            d["remote_extra_ms"] = self.remote_extra_ms
        return d


def _mix(*terms: tuple[float, Distribution]) -> Mixture:
    return Mixture(tuple(w for w, _ in terms), tuple(d for _, d in terms))


_LNKD_SSD = _mix((0.9122, Pareto(0.235, 10.0)), (0.0878, Exponential(1.66)))
_LNKD_DISK_W = _mix((0.38, Pareto(1.05, 1.51)), (0.62, Exponential(0.183)))
_YMMR_W = _mix((0.939, Pareto(3.0, 3.35)), (0.061, Exponential(0.0028)))
_YMMR_ARS = _mix((0.982, Pareto(1.5, 3.8)), (0.018, Exponential(0.0217)))

BUILTIN: dict[str, Profile] = {
    "lnkd-ssd": Profile(
        "lnkd-ssd", _LNKD_SSD, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD,
        "LinkedIn Voldemort on SSDs (PBS paper Table 3)",
    ),
    "lnkd-disk": Profile(
        "lnkd-disk", _LNKD_DISK_W, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD,
        "LinkedIn Voldemort on spinning disks: slow, heavy-tailed writes (PBS paper Table 3)",
    ),
    "ymmr": Profile(
        "ymmr", _YMMR_W, _YMMR_ARS, _YMMR_ARS, _YMMR_ARS,
        "Yammer Riak (PBS paper Table 3; the paper's text gives alpha 3.35 for W, its code 3.5)",
    ),
    "wan": Profile(
        "wan", _LNKD_DISK_W, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD,
        "lnkd-disk across datacenters: +75 ms to every replica but one local one (PBS paper)",
        remote_extra_ms=75.0,
    ),
    "exponential": Profile(
        "exponential", Exponential(1.0), Exponential(1.0), Exponential(1.0), Exponential(1.0),
        "synthetic: every delay exponential with rate 1/ms; parametric form exponential(w=.., ars=..)",
    ),
}


def _parametric_exponential(spec: str, source: str | None, key: str | None) -> Profile:
    """``exponential(w=0.1, ars=1)`` or ``exponential(w=0.1, a=1, r=2, s=2)``: rates per ms."""
    body = spec.strip()[len("exponential"):].strip()
    if not (body.startswith("(") and body.endswith(")")):
        raise ConfigError(source, key, f"bad exponential profile {spec!r}; expected exponential(w=RATE, ars=RATE)")
    rates = {"w": 1.0, "a": 1.0, "r": 1.0, "s": 1.0}
    inner = body[1:-1].strip()
    for part in filter(None, (p.strip() for p in inner.split(","))):
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        if not eq:
            raise ConfigError(source, key, f"exponential profile: expected name=rate, got {part!r}")
        try:
            rate = float(v)
        except ValueError:
            raise ConfigError(source, key, f"exponential profile: {k}: {v.strip()!r} is not a number") from None
        if not math.isfinite(rate):  # inf would be a zero delay, nan no delay at all: neither is a rate
            raise ConfigError(source, key, f"exponential profile: {k}: the rate must be a finite number, got {v.strip()}")
        if rate <= 0:
            raise ConfigError(source, key, f"exponential profile: {k}: the rate must be > 0, got {v.strip()}")
        targets = {"ars": "ars", "all": "wars", "wars": "wars"}.get(k, k)
        if not set(targets) <= set(rates):
            raise ConfigError(source, key, f"exponential profile: unknown delay {k!r} (use w, a, r, s, ars, all)")
        for t in targets:
            rates[t] = rate
    name = "exponential(" + ", ".join(f"{k}={v:g}" for k, v in rates.items()) + ")"
    w, a, r, s = (Exponential(rates[k]) for k in "wars")
    return Profile(name, w, a, r, s, description="synthetic exponential")


def load_profile_file(path: Path, source: str | None = None, key: str | None = None, rule: str = "") -> Profile:
    """A user profile: TOML with ``w, a, r, s`` distribution specs (optionally under ``[profile]``),
    and optionally ``name``, ``description`` and ``remote_extra_ms``."""
    where = str(path)
    if not path.exists():
        raise ConfigError(source, key, f"profile file {where!r} does not exist{rule}")
    if not path.is_file():
        raise ConfigError(source, key, f"profile {where!r} is not a regular file")
    try:
        raw = path.read_bytes()
        inputs.note(path, raw)  # a sweep's identity covers the profile's content
        data = tomllib.loads(raw.decode())
    except OSError as exc:
        raise ConfigError(where, None, f"cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(where, None, f"not valid TOML: {exc}") from None
    table = data.get("profile", data)
    prefix = "profile." if "profile" in data else ""
    allowed = {"name", "description", "w", "a", "r", "s", "remote_extra_ms"}
    for k in table:
        if k not in allowed:
            raise ConfigError(where, prefix + k, f"unknown key; expected one of {', '.join(sorted(allowed))}")
    dists: dict[str, Distribution] = {}
    for k in "wars":
        if k not in table:
            raise ConfigError(where, prefix + k, "missing: a profile needs a distribution for each of w, a, r, s")
        try:
            dists[k] = parse(table[k], base_dir=path.parent)
        except DistributionError as exc:
            raise exc.at(where, prefix + k) from None
    extra = table.get("remote_extra_ms", 0.0)
    if not isinstance(extra, int | float) or isinstance(extra, bool) or not 0 <= extra < math.inf:
        raise ConfigError(where, prefix + "remote_extra_ms", "must be a finite number >= 0")
    return Profile(
        str(table.get("name", path.stem)), dists["w"], dists["a"], dists["r"], dists["s"],
        str(table.get("description", f"user profile from {path.name}")), float(extra),
    )


def get_profile(
    spec: str | Profile, base_dir: Path | None = None, source: str | None = None, key: str | None = None
) -> Profile:
    """A latency profile: the four WARS delay distributions (W, A, R, S) of one store.

    Args:
        spec: a built-in name (``lnkd-ssd``, ``lnkd-disk``, ``ymmr``, ``wan``, ``exponential``; see
            ``pbs-sim profiles``), the parametric ``exponential(w=0.1, ars=2)`` (rates per ms), a path
            to a profile TOML file with ``w, a, r, s`` distributions (and optionally
            ``remote_extra_ms``), or a ``Profile``, returned as it is.
        base_dir: the folder a relative TOML path (and the ``empirical()`` traces it names) resolves
            against; the current directory when None.
        source: the file to name in an error message (the scenario that names the profile).
        key: the setting to name in an error message (e.g. ``latency.profile``).

    Returns:
        The ``Profile``: its ``name``, ``w``, ``a``, ``r``, ``s`` distributions, ``description`` and
        ``remote_extra_ms`` (WAN structure: added to every replica but one local one).

    Raises:
        ConfigError: an unknown name, a file that does not exist or does not parse, or a distribution
            the grammar refuses; the message names the file and key.

    Example:
        >>> p = get_profile("lnkd-disk")
        >>> p.name, round(p.w.mean, 3), round(p.a.mean, 4)
        ('lnkd-disk', 4.569, 0.2911)
    """
    if isinstance(spec, Profile):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(source, key, "profile must be a name or a path")
    s = spec.strip()
    if s.lower() in BUILTIN:
        return BUILTIN[s.lower()]
    if s.lower().startswith("exponential("):
        return _parametric_exponential(s, source, key)
    path = Path(s)
    rule = ""
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
        rule = f" (relative paths resolve against {str(base_dir)!r}, the folder of the scenario file)"
    if s.endswith(".toml") or path.exists():
        return load_profile_file(path, source, key, rule)
    raise ConfigError(
        source, key,
        f"unknown profile {spec!r}; known: {', '.join(BUILTIN)}, exponential(w=..,ars=..), or a .toml path",
    )
