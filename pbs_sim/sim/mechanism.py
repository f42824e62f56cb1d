"""The simulator half of the one way a mechanism plugs in (faults, read repair, anti-entropy, ...).

Owns: :class:`Mechanism`, the small typed protocol every optional mechanism implements, and
:class:`TableSpec`, how a mechanism declares the history tables it writes. Must not touch: metrics
(the metrics half of a mechanism is a ``pbs_sim.metrics.mechanism.Reporter``), protocol logic.

The shape follows desmod's elaboration step: a mechanism *declares* what it connects to
(``requires``: attributes of :class:`~pbs_sim.sim.build.Model` that must be wired before it is
installed) and what it writes (``tables``); the builder checks the connections and creates the
tables, then calls ``install``, so a missing connection is an error at build time, never a silent
no-op at run time. ``install`` wires hooks and, to launch processes, appends a ``fn(model)`` to
``model.on_start``; it returns the mechanism's component, which the model keeps under the
mechanism's ``name`` (``model.part(name)``). Random streams: ``streams.get("<name>-<purpose>")``.

Mechanisms that build on other mechanisms declare them by name: ``needs`` (must be installed, and
earlier in the registry) and ``uses`` (used when installed; if so, it must be earlier). The builder
checks both before anything is installed and raises one :class:`MissingConnection` naming the
mechanism, the dependency and why; a mechanism reaches a declared dependency with
``model.dependency(self, name)`` (None for an absent ``uses``), never by looking a name up itself.
Contributions to the coordinators' request path go through ``coord.plug(point, by=name, value)``
(``pbs_sim.sim.coordinator``: the stages and their order), which refuses a slot another mechanism
owns.

Adding a mechanism: one module under ``pbs_sim/sim/`` with a ``Mechanism``, one under
``pbs_sim/metrics/`` with a ``Reporter``, and one line in ``pbs_sim.mechanisms.MECHANISMS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..config import Scenario
from ..history import History, Table
from ..rng import Streams

if TYPE_CHECKING:
    from .build import Model


@dataclass(frozen=True)
class TableSpec:
    """A history table a mechanism writes: its name, typed columns (``array`` typecodes or ``"U"``)
    in order, and the names that small-int category columns stand for."""

    name: str
    columns: Mapping[str, str]
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def create(self, history: History) -> Table:
        """The table in ``history`` (created on first use; the same object afterwards)."""
        return history.table(self.name, dict(self.categories), **dict(self.columns))


@runtime_checkable
class Mechanism(Protocol):
    """An optional simulator mechanism.

    ``name``: unique; the registry key, the model part's name and the entry in
    ``history.mechanisms``. ``requires``: ``Model`` attributes it connects to. ``tables``: history
    tables it writes. ``moves_data``: True if it can change which replicas hold which versions
    (crashes, wipes, repairs, copies) — the durability replay runs when any installed mechanism
    says so.
    """

    name: str
    requires: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    moves_data: bool
    # optional on an implementation (read with getattr, default ()): ``needs`` -- mechanisms that must be
    # installed before this one; ``uses`` -- mechanisms used if installed (then installed before it)

    def enabled(self, scenario: Scenario) -> bool:
        """Whether ``scenario`` turns this mechanism on (checked before anything is wired)."""
        ...

    def install(self, model: Model, streams: Streams) -> Any:
        """Wire into a built model; returns the component (kept as ``model.part(name)``)."""
        ...


class MissingConnection(RuntimeError):
    """A mechanism requires a model attribute that is not wired (a programming error)."""


def install_all(model: Model, mechanisms: tuple[Mechanism, ...], streams: Streams) -> None:
    """Install every enabled mechanism of ``mechanisms`` into ``model``, in order.

    Checks each one's declared connections first and creates its declared tables; records the
    installed names in ``model.history.mechanisms`` (and which of them move data)."""
    names = [m.name for m in mechanisms]
    if len(set(names)) != len(names):
        raise ValueError(f"mechanism names must be unique, got {names}")
    on = [m for m in mechanisms if m.enabled(model.scenario)]
    check_dependencies(mechanisms, {m.name for m in on})
    for mech in on:
        missing = [r for r in mech.requires if getattr(model, r, None) is None]
        if missing:
            raise MissingConnection(f"mechanism {mech.name!r} requires {', '.join(missing)}, not wired")
        for spec in mech.tables:
            spec.create(model.history)
        part = mech.install(model, streams)
        model.parts[mech.name] = part
        model.history.mechanisms[mech.name] = mech.moves_data


def declared(mech: Mechanism) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(needs, uses)`` of ``mech`` (both () when it declares none)."""
    return tuple(getattr(mech, "needs", ())), tuple(getattr(mech, "uses", ()))


def check_dependencies(mechanisms: tuple[Mechanism, ...], enabled: set[str]) -> None:
    """Every declared dependency is a mechanism of ``mechanisms`` placed before its dependant, and
    every ``needs`` of an enabled mechanism is enabled too; else one :class:`MissingConnection`."""
    order = {m.name: i for i, m in enumerate(mechanisms)}
    for mech in mechanisms:
        needs, uses = declared(mech)
        for dep in needs + uses:
            if dep not in order:
                raise MissingConnection(f"mechanism {mech.name!r} declares {dep!r}, which is no registered mechanism")
            if order[dep] > order[mech.name]:
                raise MissingConnection(f"mechanism {mech.name!r} builds on {dep!r}, which is installed after it: "
                                        "move it earlier in the registry")
        if mech.name in enabled:
            for dep in needs:
                if dep not in enabled:
                    raise MissingConnection(f"mechanism {mech.name!r} needs mechanism {dep!r}, "
                                            "which this scenario does not enable")
