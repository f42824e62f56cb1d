"""Export a recorded history in Jepsen's EDN history format, to cross-check with Elle or Porcupine.

Owns: :func:`jepsen_lines` / :func:`write_jepsen`. The shape follows the operation structure
documented by jepsen.history (github.com/jepsen-io/history, README, "Operation Structure"): one
map per operation event, in history order, with ``:type`` one of ``:invoke`` (start), ``:ok``,
``:fail`` (definitely no effect) or ``:info`` (indeterminate); ``:f`` (``:read`` / ``:write``);
``:value``; ``:process`` (a logically single-threaded client: a process that got ``:info`` never
invokes again); ``:time`` (a long, nanoseconds since the start of the test); and ``:index``
(0, 1, 2, ... ascending). Keys are independent registers as in ``jepsen.independent``:
``:value [key v]``, ``v`` being the write's version (``seq``) for a write, ``nil`` on a read's
invocation and the vector of versions it returned (its siblings, ascending) on its completion.
Our operations map as: status ok -> ``:ok``; failed at once (coordinator down, too few targets)
-> ``:fail``; timeout -> ``:info`` (a timed-out write may have reached replicas). Simulator
clients may have several operations in flight, so each operation runs on the lowest process
number free at its invocation (``:client`` keeps the simulator's client id).
Must not touch: SimPy, the metrics.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics.siblings import read_sets

_TYPES = {"ok": ":ok", "failed": ":fail", "timeout": ":info"}


def jepsen_lines(frames: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The history as EDN maps, one line per invocation or completion, in event order."""
    ops = frames["ops"]
    sets = read_sets(frames)
    n = len(ops)
    iss = ops["issued_event"].to_numpy(np.int64)
    comp = ops["completed_event"].to_numpy(np.int64)
    ev = np.concatenate([iss, comp])
    order = np.argsort(ev, kind="stable")
    kind = ops["kind"].astype(str).tolist()
    status = ops["status"].astype(str).tolist()
    key = ops["key"].to_numpy(np.int64).tolist()
    ver = ops["version"].to_numpy(np.int64).tolist()
    client = ops["client"].to_numpy(np.int64).tolist()
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    t_iss = ops["issued_at"].to_numpy(float)
    t_comp = ops["completed_at"].to_numpy(float)
    free: list[int] = []
    next_proc = 0
    proc = [-1] * n
    for index, j in enumerate(order.tolist()):
        row, done = (j, False) if j < n else (j - n, True)
        f = ":read" if kind[row] == "read" else ":write"
        if not done:
            if free:
                p = heapq.heappop(free)
            else:
                p, next_proc = next_proc, next_proc + 1
            proc[row] = p
            value = f"[{key[row]} nil]" if f == ":read" else f"[{key[row]} {ver[row]}]"
            t, typ = t_iss[row], ":invoke"
        else:
            typ = _TYPES.get(status[row], ":info")
            p = proc[row]
            if typ != ":info":
                heapq.heappush(free, p)
            if f == ":write":
                value = f"[{key[row]} {ver[row]}]"
            elif typ == ":ok":
                vs = sets.get(op_id[row]) or ([ver[row]] if ver[row] > 0 else [])
                value = f"[{key[row]} [{' '.join(map(str, sorted(vs)))}]]"
            else:
                value = f"[{key[row]} nil]"
            t = t_comp[row]
        yield (f"{{:type {typ}, :f {f}, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}}}")


def write_jepsen(frames: Mapping[str, pd.DataFrame], path: str | Path) -> int:
    """Write the EDN history to ``path``; returns the number of lines."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for line in jepsen_lines(frames):
            fh.write(line)
            fh.write("\n")
            n += 1
    return n


__all__ = ["jepsen_lines", "write_jepsen"]
