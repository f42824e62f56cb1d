"""History: columnar records, round trip to DataFrames, extra record kinds, memory per operation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pbs_sim.history import OK, READ, TIMEOUT, VIA_REPAIR, WRITE, History


def test_ops_and_applies_round_trip() -> None:
    h = History({"warmup_ms": 5.0})
    a = h.add_op(3, 10, WRITE, -1, 1.5, 3)
    b = h.add_op(4, 10, READ, 2, 2.0, 2)
    h.set_version(a, 7)
    h.answered(a)
    h.answered(a)
    h.complete(a, 4.0, OK)
    h.complete(b, 12.0, TIMEOUT, 0)
    h.add_apply(3.0, 1, 10, 7)
    h.add_apply(5.0, 2, 10, 7, VIA_REPAIR)
    ops = h.to_frame()
    assert list(ops.columns) == [
        "op_id", "client", "key", "kind", "coordinator", "issued_at", "completed_at", "status", "version",
        "asked", "answered",
    ]
    assert ops.to_dict("records") == [
        {"op_id": 0, "client": 3, "key": 10, "kind": "write", "coordinator": -1, "issued_at": 1.5,
         "completed_at": 4.0, "status": "ok", "version": 7, "asked": 3, "answered": 2},
        {"op_id": 1, "client": 4, "key": 10, "kind": "read", "coordinator": 2, "issued_at": 2.0,
         "completed_at": 12.0, "status": "timeout", "version": 0, "asked": 2, "answered": 0},
    ]
    ap = h.to_frame("applies")
    assert list(ap["via"].astype(str)) == ["write", "repair"] and list(ap["node"]) == [1, 2]
    assert h.meta["warmup_ms"] == 5.0 and h.n_ops == 2


def test_pending_ops_have_nan_completion() -> None:
    h = History()
    h.add_op(0, 0, READ, -1, 0.0, 3)
    ops = h.to_frame()
    assert ops["status"].iloc[0] == "pending" and math.isnan(ops["completed_at"].iloc[0])


def test_extra_record_kinds() -> None:
    h = History()
    t = h.table("faults", categories={"action": ("crash", "recover")}, at="d", node="i", action="b")
    assert h.table("faults") is t
    t.append(1.0, 2, 0)
    t.append(3.0, 2, 1)
    notes = h.table("notes", at="d", text="U")
    notes.append(0.5, "hello")
    frames = h.frames()
    assert set(frames) == {"ops", "applies", "faults", "notes"}
    assert frames["faults"].to_dict("records") == [
        {"at": 1.0, "node": 2, "action": "crash"}, {"at": 3.0, "node": 2, "action": "recover"},
    ]
    assert list(frames["notes"]["text"]) == ["hello"]
    assert isinstance(frames["faults"], pd.DataFrame)


def test_memory_per_operation_is_compact() -> None:
    """10^6 operations must fit well under 1 GB: the buffers hold 44 bytes per op (no Python objects)."""
    h = History()
    for i in range(100_000):
        h.add_op(i % 100, i % 1000, i & 1, -1, float(i), 3)
    per_op = h.nbytes() / h.n_ops
    assert per_op == 44
    frame = h.to_frame()
    frame_bytes = frame.memory_usage(deep=True).sum() / len(frame)
    assert frame_bytes < 80  # categorical kind/status: the frame is about as compact
    assert np.isnan(frame["completed_at"]).all()
