"""Causal contexts in the history: what each write carried, and what its client knew, when it was issued.

Owns: installing one :class:`~pbs_sim.sim.versioning.SessionContexts` on every coordinator (a read's
returned versions, and a write's reply, are learnt by its client's session; a write records its
direct causal parents), and three tables:

* ``causal_parents``: one row ``(op_id, parent)`` per version of the same key in the causal context
  the write carried (per operation, as a store passes it: a read-modify-write's own read, the reply
  of an earlier write, ...; blind writes have no rows). The store's order under sibling policies and
  the client merges of values are built on it;
* ``session_parents``: one row ``(op_id, parent)`` per other version the writing session knew (its
  reads and write replies since its last write, and that write): with ``causal_parents``, the
  happened-before relation of the true order (``pbs_sim.metrics.causality``);
* ``rmw_reads``: ``(op_id, read_op)`` per read-modify-write (the read it updates).

Must not touch: replica state, the order of versions, metrics (``pbs_sim.metrics.causality``
takes the transitive closures and decides the true order).

On when ``clocks.causality = "on"``, or ``"auto"`` (the default) with imperfect clocks, a clock jump,
read-modify-write clients, hot-key writers, a sibling policy or a scripted workload; off, the runs
record exactly what they did before (and writes return no replies: ``op.returned`` is the version).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Scenario
from ..rng import Streams
from .clocks import MECHANISM as CLOCKS
from .mechanism import TableSpec
from .versioning import SessionContexts

if TYPE_CHECKING:
    from .build import Model

CAUSAL_PARENTS_TABLE = TableSpec("causal_parents", {"op_id": "q", "parent": "q"})
SESSION_PARENTS_TABLE = TableSpec("session_parents", {"op_id": "q", "parent": "q"})
RMW_READS_TABLE = TableSpec("rmw_reads", {"op_id": "q", "read_op": "q"})


def tracks_causality(scenario: Scenario) -> bool:
    mode = scenario.clocks.causality
    if mode != "auto":
        return mode == "on"
    w = scenario.workload
    # issue 18: YCSB's read-modify-writes (workload F) and a trace's rmw rows are rmw clients too
    rmw = (w.ycsb_spec is not None and w.ycsb_spec.rmw > 0) or (w.trace_info is not None and w.trace_info.rmw_rows > 0)
    return (CLOCKS.enabled(scenario) or w.write_pattern != "blind" or bool(w.hot_key_writers_per_s) or rmw
            or scenario.cluster.versioning != "lww"  # sibling policies: the checker needs the contexts
            or w.kind == "script")  # a script's writes carry contexts and read replies


class CausalityMechanism:
    name = "causality"
    requires: tuple[str, ...] = ("coordinators", "history")
    tables: tuple[TableSpec, ...] = (CAUSAL_PARENTS_TABLE, SESSION_PARENTS_TABLE, RMW_READS_TABLE)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return tracks_causality(scenario)

    def install(self, model: Model, streams: Streams) -> SessionContexts:
        contexts = SessionContexts(
            CAUSAL_PARENTS_TABLE.create(model.history).keyed_appender(),
            RMW_READS_TABLE.create(model.history).appender(), versions=model.policy.versions,
            session_extend=SESSION_PARENTS_TABLE.create(model.history).keyed_appender(),
        )
        for coord in model.coordinators.values():
            coord.plug("contexts", self.name, contexts)
        return contexts


MECHANISM = CausalityMechanism()
