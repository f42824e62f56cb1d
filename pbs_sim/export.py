"""Export a recorded history in Jepsen's EDN history format, to cross-check with Elle or Porcupine.

Owns: :func:`jepsen_lines` / :func:`elle_lines` / :func:`jsonl_lines` / :func:`write_jepsen`, and
:func:`history_events` (the one event stream all three write, which ``pbs_sim.histories`` also reads
a run by, so an exported and re-imported history can be compared with the run's own). The shape follows the operation structure
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
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd

from .io import atomic_write
from .metrics.siblings import read_sets

_TYPES = {"ok": ":ok", "failed": ":fail", "timeout": ":info"}


def _events(frames: Mapping[str, pd.DataFrame]) -> Iterator[tuple[str, bool, int, int, int, float, list[int], int]]:
    """The history's events in order: (type, is_read, key, version, process, time ms, versions
    returned, row) per invocation or completion; ``versions`` is filled on a read's ``:ok`` only."""
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
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    t_iss = ops["issued_at"].to_numpy(float)
    t_comp = ops["completed_at"].to_numpy(float)
    free: list[int] = []
    next_proc = 0
    proc = [-1] * n
    for j in order.tolist():
        row, done = (j, False) if j < n else (j - n, True)
        is_read = kind[row] == "read"
        vs: list[int] = []
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
                vs = sorted(sets.get(op_id[row]) or ([ver[row]] if ver[row] > 0 else []))
            t = t_comp[row]
        yield typ, is_read, key[row], ver[row], p, t, vs, row


class HistoryEvent(NamedTuple):
    """One invocation or completion as every export writes it (and ``pbs_sim.histories`` reads it)."""

    type: str  # ":invoke", ":ok", ":fail", ":info"
    done: bool  # a completion
    is_read: bool
    key: Any
    value: Any  # a write's value
    values: list[Any]  # what a read returned (on its ``:ok``)
    process: int
    time_ns: int
    op_id: int
    client: int
    row: int


def history_events(frames: Mapping[str, pd.DataFrame]) -> Iterator[HistoryEvent]:
    """The history's events in order, with what each export writes of them (:func:`jepsen_lines`,
    :func:`elle_lines`, :func:`jsonl_lines`)."""
    ops = frames["ops"]
    client = ops["client"].to_numpy(np.int64).tolist()
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    for typ, is_read, k, v, p, t, vs, row in _events(frames):
        yield HistoryEvent(typ, typ != ":invoke", is_read, k, v, vs, p, int(round(t * 1e6)), op_id[row],
                           client[row], row)


def jsonl_lines(frames: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The history in the JSONL history format (docs/design.md, "History files"): one JSON object
    per invocation or completion, in event order, with ``process``, ``client`` (the simulator's
    client: the session), ``type``, ``f``, ``key``, ``value`` (a write's value; a read's list of
    values on ``ok``, else null), ``time`` (ns) and ``op_id``: what ``pbs-sim check FILE.jsonl`` reads."""
    for e in history_events(frames):
        value: Any = (e.values if e.type == ":ok" else None) if e.is_read else e.value
        yield json.dumps({"process": e.process, "client": e.client, "type": e.type[1:],
                          "f": "read" if e.is_read else "write", "key": e.key, "value": value,
                          "time": e.time_ns, "op_id": e.op_id}, separators=(", ", ": "))


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
            value = f"[{k} [{' '.join(map(str, vs))}]]"
        else:
            value = f"[{k} nil]"
        yield (f"{{:type {typ}, :f {f}, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}}}")


def elle_lines(frames: Mapping[str, pd.DataFrame]) -> Iterator[str]:
    """The history as Elle's rw-register transactions (elle.rw_register's docstring): every operation
    is a one-micro-op ``:f :txn``, ``:value [[:w k v]]`` for a write (its version, unique per key) or
    ``[[:r k v]]`` for a read -- ``nil`` on the invocation, and on an ``:ok`` the version returned,
    ``nil`` when it returned none. A read that returned siblings becomes a read of the newest of them
    (highest seq): a register read observes one value, and a transaction of several reads of one key
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


def write_jepsen(frames: Mapping[str, pd.DataFrame], path: str | Path, *, elle: bool = False,
                 jsonl: bool = False) -> int:
    """Write the EDN history to ``path`` (Elle's rw-register shape with ``elle``, :func:`elle_lines`;
    the JSONL history format with ``jsonl``, :func:`jsonl_lines`) atomically -- an interrupted export
    leaves no partial file; returns the number of lines."""
    count = [0]
    lines = jsonl_lines if jsonl else elle_lines if elle else jepsen_lines

    def write(fh: IO[str]) -> None:
        for line in lines(frames):
            fh.write(line)
            fh.write("\n")
            count[0] += 1

    atomic_write(path, write)
    return count[0]


__all__ = ["HistoryEvent", "elle_lines", "history_events", "jepsen_lines", "jsonl_lines", "write_jepsen"]
