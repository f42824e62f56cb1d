"""The package's exceptions.

Owns: the one base class (`PbsSimError`) and the user-facing `ConfigError`, whose message is one
line naming the file, the key and the reason. The CLI turns any `PbsSimError` into that line and
exit status 2; nothing else in the package prints or exits.
"""

from __future__ import annotations


class PbsSimError(Exception):
    """Base class of every error pbs_sim raises on purpose."""


class ConfigError(PbsSimError, ValueError):
    """A user mistake in a scenario, sweep, profile or command-line value.

    ``source`` is the file (or ``"--option"`` / ``"<inline>"``), ``key`` the dotted key, ``reason``
    what is wrong. ``str()`` gives the one line the CLI prints.
    """

    def __init__(self, source: str | None, key: str | None, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        super().__init__(self.line())

    def line(self) -> str:
        parts = [p for p in (self.source, self.key) if p]
        return ": ".join([*parts, self.reason])

    def at(self, source: str | None = None, key_prefix: str | None = None) -> ConfigError:
        """The same error seen from further out: a file name, or a key prefix, filled in."""
        key = self.key
        if key_prefix:
            key = f"{key_prefix}.{key}" if key else key_prefix
        return ConfigError(self.source or source, key, self.reason)


def check_seed(seed: int | None, source: str | None = "--seed", key: str | None = None) -> None:
    """A root seed is an integer in [0, 2**63): every output format (Parquet's int64, too) holds it.
    (Every seed pbs-sim draws itself is in that range: ``pbs_sim.analytic.limits.fresh_seed``.)"""
    if seed is None:
        return
    if seed < 0:
        raise ConfigError(source, key, f"must be >= 0, got {seed}")
    if seed >= 2**63:
        raise ConfigError(source, key, f"must be < 2**63 (a 64-bit integer every output format holds), got {seed}")


class DistributionError(ConfigError):
    """A malformed distribution spec; ``reason`` points at the offending position."""
