"""Causal contexts in the history: what each write's client knew of its key when it was issued.

Owns: installing one :class:`~pbs_sim.sim.versioning.SessionContexts` on every coordinator (a read's
returned versions are learnt by its client's session; a write records its direct causal parents),
and the ``causal_parents`` table: one row ``(op_id, parent)`` per direct parent, ``parent`` being
the ``seq`` of a version of the same key (blind writes -- the client knew nothing of the key -- have
no rows); and the ``rmw_reads`` table, ``(op_id, read_op)`` per read-modify-write (the read it
updates). Must not touch: replica state, the order of versions, metrics (``pbs_sim.metrics.causality``
takes the transitive closures and decides the true order).

On when ``clocks.causality = "on"``, or ``"auto"`` (the default) with imperfect clocks, a clock jump,
read-modify-write clients or hot-key writers; off, the runs record exactly what they did before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Scenario
from ..rng import Streams
from .clocks import MECHANISM as CLOCKS
from .mechanism import TableSpec
from .versioning import SessionContexts, SiblingPolicy

if TYPE_CHECKING:
    from .build import Model

CAUSAL_PARENTS_TABLE = TableSpec("causal_parents", {"op_id": "q", "parent": "q"})
RMW_READS_TABLE = TableSpec("rmw_reads", {"op_id": "q", "read_op": "q"})


def tracks_causality(scenario: Scenario) -> bool:
    mode = scenario.clocks.causality
    if mode != "auto":
        return mode == "on"
    w = scenario.workload
    # issue 18: YCSB's read-modify-writes (workload F) and a trace's rmw rows are rmw clients too
    rmw = (w.ycsb_spec is not None and w.ycsb_spec.rmw > 0) or (w.trace_info is not None and w.trace_info.rmw_rows > 0)
    return (CLOCKS.enabled(scenario) or w.write_pattern != "blind" or bool(w.hot_key_writers_per_s) or rmw
            or scenario.cluster.versioning != "lww")  # sibling policies: the checker needs the contexts


class CausalityMechanism:
    name = "causality"
    requires: tuple[str, ...] = ("coordinators", "history")
    tables: tuple[TableSpec, ...] = (CAUSAL_PARENTS_TABLE, RMW_READS_TABLE)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return tracks_causality(scenario)

    def install(self, model: Model, streams: Streams) -> SessionContexts:
        parents = CAUSAL_PARENTS_TABLE.create(model.history)
        contexts = SessionContexts(
            parents.append, RMW_READS_TABLE.create(model.history).appender(),
            policy=model.policy if isinstance(model.policy, SiblingPolicy) else None, extend=parents.keyed_appender(),
        )
        for coord in model.coordinators.values():
            coord.contexts = contexts
        return contexts


MECHANISM = CausalityMechanism()
