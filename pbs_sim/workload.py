"""Workloads as data, the public Python side (issue 18): ``pbs_sim.workload.script([...])``.

Owns: nothing of its own -- it re-exports the scripted-workload API of :mod:`pbs_sim.scripts` (the
simulator's generators live in ``pbs_sim.sim.workload``, a different module). Usage::

    from pbs_sim import simulate
    from pbs_sim.workload import script

    cart = script([
        {"at_ms": 0, "client": 1, "op": "write", "key": "cart", "value": "milk"},
        {"at_ms": 5, "client": 2, "op": "write", "key": "cart", "value": "eggs"},
        {"at_ms": 10, "client": 1, "op": "write", "key": "cart", "value": "flour", "context": "last-reply"},
    ])
    res = simulate({"cluster": {"versioning": "dvv"}, "workload": {"kind": "script", "script": cart}})
"""

from __future__ import annotations

from .scripts import COLUMNS, OPS, Script, ScriptOp, read_script, script

__all__ = ["COLUMNS", "OPS", "Script", "ScriptOp", "read_script", "script"]
