"""Siblings in the history: what each read returned, and what the replicas hold when the run ends.

Owns: the ``read_siblings`` table -- per read that reached its quorum under a sibling-keeping
policy (``cluster.versioning = "vv"`` or ``"dvv"``): ``(op_id, siblings, clock_entries,
metadata_bytes)`` of the merged state it returns (``pbs_sim.sim.versioning.SiblingPolicy``) -- and
the ``final_versions`` table: ``(node, key, version)`` for every sibling every replica holds at the
end of the run (what the checker and the lost-item metric call "the final state"), and the
``apply_versions`` table: ``(apply, version)`` for every version a replica's state holds after an
apply (``apply`` = its row in ``applies``) whose state holds more than one -- the ``applies`` row
names only the highest, and the durability replay must know the whole set, since a higher-numbered
version may be concurrent with, not above, a lower one (``pbs_sim.metrics.order``). The versions a
read returns are already in the ``read_versions`` table (``pbs_sim.sim.coordinator``).
Must not touch: replica state, the order of versions (the policy), metrics (``pbs_sim.metrics.siblings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Scenario
from ..history import Table
from ..rng import Streams
from .mechanism import TableSpec

if TYPE_CHECKING:
    from .build import Model
    from .coordinator import ReadOp

READ_SIBLINGS_TABLE = TableSpec(
    "read_siblings", {"op_id": "q", "siblings": "i", "clock_entries": "i", "metadata_bytes": "q"},
)
FINAL_VERSIONS_TABLE = TableSpec("final_versions", {"node": "i", "key": "q", "version": "q"})
WRITE_SIBLINGS_TABLE = TableSpec("write_siblings", {"op_id": "q", "siblings": "i"})
APPLY_VERSIONS_TABLE = TableSpec("apply_versions", {"apply": "q", "version": "q"})
SETTINGS_TABLE = TableSpec(
    "sibling_settings", {"policy": "U", "merge": "U", "max_siblings": "q", "siblings_warning": "q"},
)


class SiblingRecorder:
    """Records each read's sibling set when it reaches its quorum (``coordinator.on_quorum``: it
    runs after the read hooks, which are installed before it, and needs no late replies)."""

    def __init__(self, table: Table, policy: Any) -> None:
        self.append = table.appender()
        self.policy = policy
        self._facts = policy.read_facts

    def record(self, op: ReadOp) -> None:
        best = op.best
        if best is None:
            self.append(op.op_id, 0, 0, 0)
        else:
            n, e, b = self._facts(best)
            self.append(op.op_id, n, e, b)


class SiblingsMechanism:
    name = "siblings"
    requires: tuple[str, ...] = ("coordinators", "nodes", "history", "policy")
    tables: tuple[TableSpec, ...] = (READ_SIBLINGS_TABLE, FINAL_VERSIONS_TABLE, SETTINGS_TABLE, WRITE_SIBLINGS_TABLE,
                                     APPLY_VERSIONS_TABLE)
    moves_data = False

    def enabled(self, scenario: Scenario) -> bool:
        return scenario.cluster.versioning != "lww"

    def install(self, model: Model, streams: Streams) -> SiblingRecorder:
        rec = SiblingRecorder(READ_SIBLINGS_TABLE.create(model.history), model.policy)
        for coord in model.coordinators.values():
            coord.plug("on_quorum", self.name, rec.record)
        final = FINAL_VERSIONS_TABLE.create(model.history)
        add_write = WRITE_SIBLINGS_TABLE.create(model.history).appender()
        versions = model.policy.versions

        def committed(op: Any) -> None:
            add_write(op.op_id, len(versions(op.stamp)))

        for coord in model.coordinators.values():
            coord.plug("on_commit", self.name, committed)
        add_set = APPLY_VERSIONS_TABLE.create(model.history).keyed_appender()
        applies = model.history.tables["applies"]

        def applied(node: Any, key: int, state: Any, via: int) -> None:
            vs = versions(state)
            if len(vs) > 1:  # one version: the applies row says it all
                add_set(len(applies) - 1, vs)

        for node in model.nodes:
            node.on_apply.append(applied)
        c = model.scenario.cluster
        SETTINGS_TABLE.create(model.history).append(
            model.policy.name, model.scenario.workload.merge, c.max_siblings, c.siblings_warning)

        def dump(m: Model) -> None:
            versions = m.policy.versions
            nodes: list[int] = []
            keys: list[int] = []
            seqs: list[int] = []
            for node in m.nodes:
                store = node.store
                for key in sorted(store):
                    vs = versions(store[key])
                    k = len(vs)
                    nodes.extend([node.node_id] * k)
                    keys.extend([key] * k)
                    seqs.extend(vs)
            final.extend_columns(nodes, keys, seqs)

        model.on_end.append(dump)
        return rec


MECHANISM = SiblingsMechanism()
