"""Export a recorded history in Jepsen's EDN history format, to cross-check with Elle or Porcupine.

Owns: :func:`jepsen_lines` / :func:`elle_lines` / :func:`write_jepsen`. The shape follows the operation structure
documented by jepsen.history (github.com/jepsen-io/history, README, "Operation Structure"): one
map per operation event, in history order, with ``:type`` one of ``:invoke`` (start), ``:ok``,
``:fail`` (definitely no effect) or ``:info`` (indeterminate); ``:f`` (``:read`` / ``:write``);
``:value``; ``:process`` (a logically single-threaded client: a process that got ``:info`` never
invokes again); ``:time`` (a long, nanoseconds since the start of the test); and ``:index``
(0, 1, 2, ... ascending). Keys are independent registers as in ``jepsen.independent``:
``:value [key v]``, ``v`` being the write's value (an EDN string: ``"client:seq"`` by default, or
the value the write was given; ``pbs_sim.keys``) for a write, ``nil`` on a read's invocation and
the vector of the values it returned (its siblings, in ascending version order) on its completion.
``key`` is the key's name: a bare integer when the name is one's decimal form (the synthetic
workloads' keys), else an EDN string.
Our operations map as: status ok -> ``:ok``; failed at once (coordinator down, too few targets)
-> ``:fail``; timeout -> ``:info`` (a timed-out write may have reached replicas). Simulator
clients may have several operations in flight, so each operation runs on the lowest process
number free at its invocation (``:client`` keeps the simulator's client id).
:func:`elle_lines` writes the same events in the transactional shape Elle's ``elle.rw-register``
checks (``:f :txn``, ``:value [[:r k v]]`` / ``[[:w k v]]``): Elle does not read the
``jepsen.independent`` shape, and with ``:linearizable-keys?`` it derives each key's version order
from real time (``benchmarks/elle_runner.clj``, ``benchmarks/bench_elle.py``).
Must not touch: SimPy, the metrics.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .io import atomic_write
from .keys import interned_names, is_numeric_name, names_of, read_values, write_values

_TYPES = {"ok": ":ok", "failed": ":fail", "timeout": ":info"}


def _edn_str(text: str) -> str:
    """An EDN string literal (JSON's escapes -- \\" \\\\ \\n \\t \\uXXXX ... -- are EDN's too)."""
    return json.dumps(text, ensure_ascii=False)


def _edn_key(name: str) -> str:
    return name if is_numeric_name(name) else _edn_str(name)


def _events(frames: Mapping[str, pd.DataFrame]) -> Iterator[tuple[str, bool, str, str, int, float, list[str], int]]:
    """The history's events in order: (type, is_read, key as EDN, the write's value as EDN, process,
    time ms, values returned as EDN, row) per invocation or completion; ``values`` is filled on a
    read's ``:ok`` only (ascending version)."""
    ops = frames["ops"]
    n = len(ops)
    iss = ops["issued_event"].to_numpy(np.int64)
    comp = ops["completed_event"].to_numpy(np.int64)
    ev = np.concatenate([iss, comp])
    order = np.argsort(ev, kind="stable")
    kind = ops["kind"].astype(str).tolist()
    status = ops["status"].astype(str).tolist()
    names = (ops["key_name"].astype(str).tolist() if "key_name" in ops else
             names_of(ops["key"].to_numpy(np.int64), interned_names(frames)))
    key = [_edn_key(k) for k in names]
    wval = [_edn_str(v) if v is not None else "nil" for v in write_values(ops, frames.get("values"))]
    returned: dict[int, list[str]] = {}
    rv = read_values(frames)
    for o, v in zip(rv["op_id"].tolist(), rv["value"].tolist(), strict=True):
        if v is not None:
            returned.setdefault(o, []).append(_edn_str(v))
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    t_iss = ops["issued_at"].to_numpy(float)
    t_comp = ops["completed_at"].to_numpy(float)
    free: list[int] = []
    next_proc = 0
    proc = [-1] * n
    for j in order.tolist():
        row, done = (j, False) if j < n else (j - n, True)
        is_read = kind[row] == "read"
        vs: list[str] = []
        if not done:
            if free:
                p = heapq.heappop(free)
            else:
                p, next_proc = next_proc, next_proc + 1
            proc[row] = p
            t, typ = t_iss[row], ":invoke"
        else:
            typ = _TYPES.get(status[row], ":info")
            p = proc[row]
            if typ != ":info":
                heapq.heappush(free, p)
            if is_read and typ == ":ok":
                vs = returned.get(op_id[row], [])
            t = t_comp[row]
        yield typ, is_read, key[row], wval[row], p, t, vs, row


def jepsen_lines(frames: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The history as EDN maps, one line per invocation or completion, in event order."""
    ops = frames["ops"]
    client = ops["client"].to_numpy(np.int64).tolist()
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    for index, (typ, is_read, k, v, p, t, vs, row) in enumerate(_events(frames)):
        f = ":read" if is_read else ":write"
        if not is_read:
            value = f"[{k} {v}]"
        elif typ == ":ok":
            value = f"[{k} [{' '.join(vs)}]]"
        else:
            value = f"[{k} nil]"
        yield (f"{{:type {typ}, :f {f}, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}}}")


def elle_lines(frames: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The history as Elle's rw-register transactions (elle.rw_register's docstring): every operation
    is a one-micro-op ``:f :txn``, ``:value [[:w k v]]`` for a write (its value, unique per key) or
    ``[[:r k v]]`` for a read -- ``nil`` on the invocation, and on an ``:ok`` the value returned,
    ``nil`` when it returned none. A read that returned siblings becomes a read of the newest of them
    (the value of the highest seq): a register read observes one value, and a transaction of several reads of one key
    would tell Elle their versions are ordered (a non-repeatable read), which siblings are not.
    :type / :process / :time / :index / :client / :op-id as in :func:`jepsen_lines`."""
    ops = frames["ops"]
    client = ops["client"].to_numpy(np.int64).tolist()
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    for index, (typ, is_read, k, v, p, t, vs, row) in enumerate(_events(frames)):
        if not is_read:
            value = f"[[:w {k} {v}]]"
        else:
            value = f"[[:r {k} {vs[-1] if vs else 'nil'}]]"
        yield (f"{{:type {typ}, :f :txn, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}}}")


def write_jepsen(frames: Mapping[str, pd.DataFrame], path: str | Path, *, elle: bool = False) -> int:
    """Write the EDN history to ``path`` (Elle's rw-register shape with ``elle``, :func:`elle_lines`)
    atomically -- an interrupted export leaves no partial file; returns the number of lines."""
    count = [0]

    def write(fh: IO[str]) -> None:
        for line in (elle_lines if elle else jepsen_lines)(frames):
            fh.write(line)
            fh.write("\n")
            count[0] += 1

    atomic_write(path, write)
    return count[0]


__all__ = ["elle_lines", "jepsen_lines", "write_jepsen"]
