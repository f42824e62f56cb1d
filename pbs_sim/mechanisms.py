"""The one registry of mechanisms: each optional simulator mechanism next to its metrics reporter.

Owns: :data:`MECHANISMS`, in order. The simulator halves (``pbs_sim.sim.mechanism.Mechanism``) are
installed in this order by the model builder (when the scenario enables them); the reporters
(``pbs_sim.metrics.mechanism.Reporter``) run in this order on every finished run, and the run summary
is assembled from their declared ``names``, in this order. :func:`register` builds the registry and
refuses, when this module is imported, two reporters with one ``name`` or declaring one summary name
(:class:`NameCollision`); ``pbs_sim.simulation`` checks the reporters' names against its own core
names the same way (:func:`summary_names`). Entries without a simulator half are cross-cutting metrics
(durability, stale-read causes, staleness per datacenter pair) that read what the installed mechanisms recorded.
Must not touch: what any mechanism does. Like ``pbs_sim.simulation``, this module joins the two
one-way halves; simulation code imports only :func:`sim_mechanisms`, whose objects never call metrics.

Adding a mechanism: its ``Mechanism`` in one module under ``pbs_sim/sim/``, its ``Reporter`` in one
under ``pbs_sim/metrics/`` (declaring its summary ``names``), and one line here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .metrics import anti_entropy as anti_entropy_metrics
from .metrics import availability as availability_metrics
from .metrics import causality as causality_metrics
from .metrics import causes as causes_metrics
from .metrics import clocks as clocks_metrics
from .metrics import dc_pairs as dc_pairs_metrics
from .metrics import durability as durability_metrics
from .metrics import faults as faults_metrics
from .metrics import handoff as handoff_metrics
from .metrics import ideal_cl as ideal_cl_metrics
from .metrics import repair as repair_metrics
from .metrics import siblings as siblings_metrics
from .metrics import speculative as speculative_metrics
from .metrics.mechanism import Reporter
from .sim import (
    anti_entropy,
    causality,
    clocks,
    failure_detector,
    faults,
    handoff,
    ideal_cl,
    repair,
    siblings,
    sloppy,
    speculative,
)
from .sim.mechanism import Mechanism


@dataclass(frozen=True)
class Registered:
    """A mechanism's two halves (``sim`` None: a cross-cutting metric with no simulator part)."""

    sim: Mechanism | None
    reporter: Reporter


class NameCollision(ValueError):
    """Two reporters (or a reporter and the simulator's core summary) claim one name."""


def summary_names(entries: Iterable[Registered], reserved: Iterable[str] = (), reserved_by: str = "simulate") -> tuple[str, ...]:
    """The summary names of ``entries`` in order, after ``reserved`` (names owned by ``reserved_by``);
    raise :class:`NameCollision` naming both owners if a name is declared twice, or if two reporters
    share one ``name``."""
    owner: dict[str, str] = dict.fromkeys(reserved, reserved_by)
    out = list(owner)
    seen_reporters: set[str] = set()
    for entry in entries:
        rep = entry.reporter
        if rep.name in seen_reporters:
            raise NameCollision(f"two reporters are named {rep.name!r}")
        seen_reporters.add(rep.name)
        if len(set(rep.names)) != len(rep.names):
            dup = sorted({n for n in rep.names if rep.names.count(n) > 1})
            raise NameCollision(f"reporter {rep.name!r} declares {', '.join(map(repr, dup))} twice")
        for name in rep.names:
            if name in owner:
                first = owner[name]
                raise NameCollision(
                    f"summary name {name!r} is declared by both {_who(first, reserved_by)} and reporter {rep.name!r}")
            owner[name] = rep.name
            out.append(name)
    return tuple(out)


def _who(owner: str, reserved_by: str) -> str:
    return f"{reserved_by!r} (its core summary)" if owner == reserved_by else f"reporter {owner!r}"


def register(*entries: Registered) -> tuple[Registered, ...]:
    """The registry of ``entries``, in order, once :func:`summary_names` has found no collision."""
    summary_names(entries)
    return entries


MECHANISMS: tuple[Registered, ...] = register(
    Registered(faults.MECHANISM, faults_metrics.REPORTER),
    Registered(None, availability_metrics.REPORTER),  # issue 19: per datacenter, in and out of DC-fault windows
    Registered(repair.MECHANISM, repair_metrics.REPORTER),
    Registered(anti_entropy.MECHANISM, anti_entropy_metrics.REPORTER),
    Registered(clocks.MECHANISM, clocks_metrics.REPORTER),
    Registered(causality.MECHANISM, causality_metrics.REPORTER),
    Registered(siblings.MECHANISM, siblings_metrics.REPORTER),
    Registered(failure_detector.MECHANISM, handoff_metrics.FD_REPORTER),
    Registered(sloppy.MECHANISM, handoff_metrics.SLOPPY_REPORTER),
    Registered(handoff.MECHANISM, handoff_metrics.REPORTER),
    Registered(speculative.MECHANISM, speculative_metrics.REPORTER),
    Registered(ideal_cl.MECHANISM, ideal_cl_metrics.REPORTER),
    Registered(None, durability_metrics.REPORTER),
    Registered(None, causes_metrics.REPORTER),
    Registered(None, dc_pairs_metrics.REPORTER),
)


def sim_mechanisms() -> tuple[Mechanism, ...]:
    """The simulator halves, in installation order."""
    return tuple(m.sim for m in MECHANISMS if m.sim is not None)


def reporters() -> tuple[Reporter, ...]:
    """The reporters, in reporting order."""
    return tuple(m.reporter for m in MECHANISMS)
