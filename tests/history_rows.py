"""Hand-made History ops frames for metric tests (a helper module, no tests here)."""

from __future__ import annotations

import math

import pandas as pd

from pbs_sim.history import History


def ops_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (client, key, kind, issued_at, completed_at, status, version) -> the History ops frame."""
    h = History()
    kinds = {"read": 0, "write": 1}
    statuses = {"pending": 0, "ok": 1, "timeout": 2, "failed": 3}
    for client, key, kind, issued, completed, status, version in rows:
        row = h.add_op(client, key, kinds[kind], -1, issued, 3)
        h.complete(row, completed if completed is not None else math.nan, statuses[status], version)
    return h.to_frame()


def ops_frame_at(rows: list[tuple]) -> pd.DataFrame:
    """rows: (client, key, kind, issued_at, completed_at, status, version, coordinator) -> the History
    ops frame, each operation coordinated at the given endpoint (a node, or a client endpoint < 0)."""
    h = History()
    kinds = {"read": 0, "write": 1}
    statuses = {"pending": 0, "ok": 1, "timeout": 2, "failed": 3}
    for client, key, kind, issued, completed, status, version, coordinator in rows:
        row = h.add_op(client, key, kinds[kind], coordinator, issued, 3)
        h.complete(row, completed if completed is not None else math.nan, statuses[status], version)
    return h.to_frame()
