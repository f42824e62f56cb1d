"""The metrics half of the one way a mechanism plugs in: a named reporter of summary figures and frames.

Owns: :class:`RunView` (what a reporter may read of a finished run: its frames, per-read outcomes,
typed run facts and which mechanisms were installed), the :class:`Reporter` protocol and
:func:`collect`, which assembles what a sequence of reporters says of one run. Must not touch:
SimPy, the simulator. Like Mesa's named reporters and desmod's per-component result hooks, each
mechanism contributes its own figures; the run summary is assembled from the registered reporters'
declarations (``pbs_sim.mechanisms``), so the top level never needs to know every mechanism.

A reporter declares its summary names up front (``names``) and always returns exactly those (zeros
where its mechanism was off, nan for a figure it did not compute), so the columns of a sweep do not
depend on which cells turned a mechanism on. The registry refuses two reporters declaring one name
when it is built (at import); :func:`collect` refuses a report with a missing or an undeclared name
on every run. That check is always on, not behind a debug flag: it compares a few dozen strings per
run (microseconds next to a run's milliseconds), and a mismatch in a plug-in would otherwise only
show as a column that silently comes and goes, or one reporter's figure overwriting another's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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
    ``non_expanding`` (``write_fanout = "quorum"``) describe the quorum system; ``scenario``: the
    run's ``Scenario`` (None for a hand-made view), for reporters that need settings or the layout
    (``pbs_sim.sim.layout.Layout.of(scenario)``: which datacenter each endpoint is in)."""

    frames: Mapping[str, pd.DataFrame]
    outcomes: pd.DataFrame
    mechanisms: Mapping[str, bool] = field(default_factory=dict)
    warmup_ms: float = 0.0
    end_at: float = 0.0
    n: int = 3
    r: int = 1
    w: int = 1
    non_expanding: bool = False
    scenario: Any = None

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
    """A mechanism's metrics: ``name`` (the mechanism's, or a cross-cutting metric's own),
    ``names`` (the summary names ``report`` returns, in the order they appear in the summary) and
    ``report(run) -> (summary scalars, named frames)``."""

    name: str

    @property
    def names(self) -> tuple[str, ...]:  # read-only, so a class attribute tuple of any length fits
        ...

    def report(self, run: RunView) -> Report:
        ...


class ReportMismatch(RuntimeError):
    """A reporter's summary did not match its declared names, or its frame names another's frame
    (a bug in the reporter, not bad input)."""


def blank(names: tuple[str, ...], **known: float) -> dict[str, float]:
    """A summary of ``names``: nan (not computed in this run) except the ``known`` figures."""
    unknown = set(known) - set(names)
    if unknown:
        raise ReportMismatch(f"blank(): {', '.join(sorted(unknown))} not among the declared names")
    return {n: known.get(n, math.nan) for n in names}


def check_report(reporter: str, declared: tuple[str, ...], summary: Mapping[str, object]) -> None:
    """Raise :class:`ReportMismatch` unless ``summary`` holds exactly the ``declared`` names."""
    if len(summary) == len(declared) and all(n in summary for n in declared):
        return  # the common case, decided without building sets
    missing = [n for n in declared if n not in summary]
    extra = [n for n in summary if n not in set(declared)]
    parts = ([f"missing declared name(s) {', '.join(missing)}"] if missing else []) + (
        [f"returned undeclared name(s) {', '.join(extra)}"] if extra else [])
    raise ReportMismatch(f"reporter {reporter!r}: {'; '.join(parts)}")


def collect(reporters: Sequence[Reporter], run: RunView,
            taken_frames: Iterable[str] = ()) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """What ``reporters`` say of ``run``: the summary in declaration order (reporter by reporter,
    each reporter's ``names`` in order) and the union of their frames. A report with a missing or
    an undeclared name, or a frame named like an earlier one (or one of ``taken_frames``), raises
    :class:`ReportMismatch` instead of overwriting it."""
    summary: dict[str, float] = {}
    frames: dict[str, pd.DataFrame] = {}
    taken = set(taken_frames)
    for reporter in reporters:
        s, f = reporter.report(run)
        check_report(reporter.name, reporter.names, s)
        summary.update((n, s[n]) for n in reporter.names)
        clash = [k for k in f if k in frames or k in taken]
        if clash:
            raise ReportMismatch(f"reporter {reporter.name!r}: frame(s) {', '.join(clash)} already taken")
        frames.update(f)
    return summary, frames
