"""Histories from real stores: read a Jepsen EDN or a JSONL / CSV history and judge it by values.

Owns: the public entry points -- :func:`load_operations` (a history file as operations,
``pbs_sim.histories.records``), :func:`run_operations` (a pbs-sim run's own history as the same
operations, from the event stream the Jepsen export writes) and :func:`check_file` (a file, judged by
``pbs_sim.histories.values.check_values``). The formats are documented in docs/design.md ("History
files") and README ("Siblings, version vectors and the checker").
Must not touch: the version-level checker (``pbs_sim.checker``), SimPy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .records import FORMATS, Event, Op, events, operations
from .values import NEEDS_VERSIONS, VALUE_CHECKS, ValueReport, check_values

if TYPE_CHECKING:
    import pandas as pd

    from ..checker import CheckReport


def load_operations(path: str | Path, fmt: str | None = None) -> Iterator[tuple[Op, bool]]:
    """The operations of a history file, streamed: ``(op, done)`` at each invocation and completion."""
    return operations(events(path, fmt), str(path))


def run_operations(frames: Mapping[str, pd.DataFrame]) -> Iterator[tuple[Op, bool]]:
    """A run's history (its ``ops`` and ``read_versions`` tables) as the operations an import of its
    Jepsen export gives: the same events, values, sessions (the simulator's clients) and op ids,
    taken from the tables directly (``pbs_sim.export.history_events``), not through a file."""
    from ..export import history_events
    from .records import text

    live: dict[int, Op] = {}
    pos = 0
    for ev in history_events(frames):
        if not ev.done:
            op = Op(ev.op_id, ev.client, text(ev.key), not ev.is_read,
                    None if ev.is_read else text(ev.value), pos)
            live[ev.row] = op
            pos += 1
            yield op, False
            continue
        op = live.pop(ev.row)
        op.comp = pos
        pos += 1
        op.type = {":ok": "ok", ":fail": "fail"}.get(ev.type, "info")
        if ev.is_read and op.type == "ok":
            op.values = tuple(text(v) for v in ev.values)
        yield op, True


def check_file(path: str | Path, fmt: str | None = None, require: Iterable[str] = ()) -> ValueReport:
    """Judge a history file by its values (``pbs_sim.histories.values``). Its examples name op ids
    where the operations carry one (``:op-id`` / ``op_id``, as pbs-sim's exports write), else the
    line numbers of their invocations; the report says which."""
    seen = {"ref": 0, "line": 0}

    def watch(evs: Iterator[Event]) -> Iterator[Event]:
        for ev in evs:
            seen["line" if ev.ref is None else "ref"] += 1
            yield ev

    report = check_values(operations(watch(events(path, fmt)), str(path)), require=require, source=str(path))
    report.refs = "lines" if not seen["ref"] else "ops" if not seen["line"] else "ops (lines where no op_id)"
    return report


def check_history(path: str | Path, fmt: str | None = None, require: Iterable[str] = (), *,
                  values: bool = False) -> CheckReport | ValueReport:
    """Check a history file: by versions when it carries pbs-sim's version metadata (``pbs-sim export
    --versions``: the run's own findings, ``pbs_sim.histories.versions``), else -- or with ``values``
    -- by values alone (:func:`check_file`)."""
    from .versions import has_versions, run_frames

    if not values and has_versions(path, fmt):
        from ..checker import check

        return check(run_frames(path, fmt), require=require)
    return check_file(path, fmt, require)


def check_run_values(frames: Mapping[str, pd.DataFrame], require: Iterable[str] = (),
                     source: str = "run") -> ValueReport:
    """Judge a run's own history by its values, as an import of its export would be."""
    return check_values(run_operations(frames), require=require, source=source, refs="ops")


__all__ = ["FORMATS", "NEEDS_VERSIONS", "VALUE_CHECKS", "Op", "ValueReport", "check_file", "check_history",
           "check_run_values",
           "check_values", "load_operations", "run_operations"]
