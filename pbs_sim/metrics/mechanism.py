"""The metrics half of the one way a mechanism plugs in: a named reporter of summary figures and frames.

Owns: :class:`RunView` (what a reporter may read of a finished run: its frames, per-read outcomes,
typed run facts and which mechanisms were installed) and the :class:`Reporter` protocol. Must not
touch: SimPy, the simulator. Like Mesa's named reporters and desmod's per-component result hooks,
each mechanism contributes its own figures; the run summary is the union of what the registered
reporters return (``pbs_sim.mechanisms``), so the top level never needs to know every mechanism.

A reporter always returns every one of its summary names (zeros where its mechanism was off), so
the columns of a sweep do not depend on which cells turned a mechanism on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

Report = tuple[dict[str, float], dict[str, "pd.DataFrame"]]  # a string: pandas is imported on first use


@dataclass(frozen=True)
class RunView:
    """A finished run as reporters see it.

    ``frames``: every history table as a DataFrame (``ops``, ``applies`` and the installed
    mechanisms' tables); ``outcomes``: per measured read (``pbs_sim.metrics.staleness.read_outcomes``);
    ``mechanisms``: installed mechanism name -> whether it moves replica data; ``warmup_ms``: start of
    the measured window; ``end_at``: the simulated instant the run ended; ``n, r, w`` and
    ``non_expanding`` (``write_fanout = "quorum"``) describe the quorum system."""

    frames: Mapping[str, pd.DataFrame]
    outcomes: pd.DataFrame
    mechanisms: Mapping[str, bool] = field(default_factory=dict)
    warmup_ms: float = 0.0
    end_at: float = 0.0
    n: int = 3
    r: int = 1
    w: int = 1
    non_expanding: bool = False

    def table(self, name: str) -> pd.DataFrame | None:
        """A history table by name, or None if no installed mechanism wrote it."""
        return self.frames.get(name)

    @property
    def ops(self) -> pd.DataFrame:
        return self.frames["ops"]

    @property
    def data_moved(self) -> bool:
        """True if an installed mechanism can change which replicas hold which versions."""
        return any(self.mechanisms.values())


@runtime_checkable
class Reporter(Protocol):
    """A mechanism's metrics: ``name`` (the mechanism's, or a cross-cutting metric's own) and
    ``report(run) -> (summary scalars, named frames)``."""

    name: str

    def report(self, run: RunView) -> Report:
        ...
