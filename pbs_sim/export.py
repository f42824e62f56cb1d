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
from typing import IO, Any, NamedTuple

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
    for typ, is_read, name, value, p, t, vs, row in _raw_events(frames):
        yield (typ, is_read, _edn_key(name), _edn_str(value) if value is not None else "nil", p, t,
               [_edn_str(v) for v in vs], row)


def _raw_events(frames: Mapping[str, pd.DataFrame]) -> Iterator[tuple[str, bool, str, str | None, int, float,
                                                                       list[str], int]]:
    """:func:`_events` with the key's name, the write's value and the values returned as text (what
    the JSONL export writes and ``pbs_sim.histories`` compares)."""
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
    key = names
    wval = write_values(ops, frames.get("values"))
    returned: dict[int, list[str]] = {}
    rv = read_values(frames)
    for o, v in zip(rv["op_id"].tolist(), rv["value"].tolist(), strict=True):
        if v is not None:
            returned.setdefault(o, []).append(str(v))
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


#: The run tables an export with versions carries (``pbs_sim.checker_input.CHECK_TABLES``) and the
#: header / trailer comment lines that carry what is not per operation.
META_HEADER = ";pbs-sim "
META_FINAL = ";pbs-sim-final "
META_TABLES = ("ops", "sibling_settings", "causal_parents", "session_parents", "read_versions", "final_versions",
               "write_stamps", "rmw_reads")


class _Meta:
    """What a history with versions adds to each line (docs/design.md, "History files"): per
    invocation ``:at`` (issued_at, ms, exact), ``:event`` (issued_event) and ``:key-index`` (the
    key's index in the tables, where its name is not that index), and for a write its
    causal ``:parents`` (seqs: the context it carried), ``:session-parents`` (seqs: what its
    session knew otherwise; both are the true order's edges), LWW ``:stamp`` (ms) and
    ``:rmw-read`` (the read it was computed from); per completion ``:at``, ``:event``, ``:version`` (the ops table's), ``:versions`` (every
    version a read returned, when several) and ``:status`` when the type does not say it (pending).
    The policy and the final replica state go on ``;pbs-sim`` comment lines, which EDN readers
    (Jepsen's, Elle's) skip. ``pbs_sim.histories.versions`` reads them back into the run's tables."""

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        ops = frames["ops"]
        self.tables = [t for t in META_TABLES if t in frames]
        self.iss_at = ops["issued_at"].to_numpy(float).tolist()
        self.comp_at = ops["completed_at"].to_numpy(float).tolist()
        self.iss_ev = ops["issued_event"].to_numpy(np.int64).tolist()
        self.comp_ev = ops["completed_event"].to_numpy(np.int64).tolist()
        self.ver = ops["version"].to_numpy(np.int64).tolist()
        self.status = ops["status"].astype(str).tolist()
        key = ops["key"].to_numpy(np.int64)
        names = (ops["key_name"].astype(str).tolist() if "key_name" in ops else
                 names_of(key, interned_names(frames)))
        # a key named other than its index (a script's "cart") also carries the index the tables use
        self.key_index = {r: k for r, (k, nm) in enumerate(zip(key.tolist(), names, strict=True)) if nm != str(k)}
        self.parents = _group(frames.get("causal_parents"), "parent")
        self.session = _group(frames.get("session_parents"), "parent")
        self.versions = _group(frames.get("read_versions"), "version")
        ws = frames.get("write_stamps")
        self.stamps = dict(zip(ws["op_id"].to_numpy(np.int64).tolist(), ws["timestamp_ms"].to_numpy(float).tolist(),
                               strict=True)) if ws is not None else {}
        rr = frames.get("rmw_reads")
        self.rmw = dict(zip(rr["op_id"].to_numpy(np.int64).tolist(), rr["read_op"].to_numpy(np.int64).tolist(),
                            strict=True)) if rr is not None and "read_op" in rr else {}
        st = frames.get("sibling_settings")
        self.settings = {c: st[c].iloc[0] for c in ("policy", "merge", "max_siblings", "siblings_warning")} \
            if st is not None and len(st) else None
        fv = frames.get("final_versions")
        self.final = [] if fv is None else list(zip(
            (fv["node"] if "node" in fv else pd.Series(np.zeros(len(fv), np.int64))).to_numpy(np.int64).tolist(),
            fv["key"].to_numpy(np.int64).tolist(), fv["version"].to_numpy(np.int64).tolist(), strict=True))

    def fields(self, row: int, done: bool, is_read: bool, typ: str) -> dict[str, Any]:
        if not done:
            out: dict[str, Any] = {"at": self.iss_at[row], "event": self.iss_ev[row]}
            if row in self.key_index:
                out["key-index"] = self.key_index[row]
            if not is_read:
                if row in self.parents:
                    out["parents"] = self.parents[row]
                if row in self.session:
                    out["session-parents"] = self.session[row]
                if row in self.stamps:
                    out["stamp"] = self.stamps[row]
                if row in self.rmw:
                    out["rmw-read"] = self.rmw[row]
            return out
        out = {"at": self.comp_at[row], "event": self.comp_ev[row], "version": self.ver[row]}
        if row in self.versions:
            out["versions"] = self.versions[row]
        if self.status[row] not in _TYPES:  # pending: :info does not say it
            out["status"] = self.status[row]
        return out

    def edn(self, row: int, done: bool, is_read: bool, typ: str) -> str:
        return "".join(f", :{k} {_edn(v)}" for k, v in self.fields(row, done, is_read, typ).items())

    def edn_header(self) -> str:
        body = {"tables": self.tables, **({k.replace("_", "-"): v for k, v in self.settings.items()}
                                          if self.settings else {})}
        return META_HEADER + "{" + ", ".join(f":{k} {_edn(v)}" for k, v in body.items()) + "}"

    def edn_trailer(self) -> Iterator[str]:
        for n, k, v in self.final:
            yield f"{META_FINAL}[{n} {k} {v}]"

    def json_header(self) -> str:
        return json.dumps({"pbs_sim": {"tables": self.tables, **(_plain(self.settings) if self.settings else {})}})

    def json_trailer(self) -> Iterator[str]:
        for n, k, v in self.final:
            yield json.dumps({"pbs_sim_final": [n, k, v]})


def _group(frame: pd.DataFrame | None, col: str) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    if frame is None:
        return out
    for o, v in zip(frame["op_id"].to_numpy(np.int64).tolist(), frame[col].to_numpy(np.int64).tolist(), strict=True):
        out.setdefault(o, []).append(v)
    return out


def _plain(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()}


def _edn(v: Any) -> str:
    """A metadata value in EDN: numbers exact (floats as Python's shortest repr), nan as nil."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nil" if v != v else repr(v) if v not in (float("inf"), float("-inf")) else "nil"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_edn(x) for x in v) + "]"
    return str(v)


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
    for typ, is_read, k, v, p, t, vs, row in _raw_events(frames):
        yield HistoryEvent(typ, typ != ":invoke", is_read, k, v, vs, p, int(round(t * 1e6)), op_id[row],
                           client[row], row)


def jsonl_lines(frames: Mapping[str, pd.DataFrame], *, versions: bool = False) -> Iterator[str]:
    """The history in the JSONL history format (docs/design.md, "History files"): one JSON object
    per invocation or completion, in event order, with ``process``, ``client`` (the simulator's
    client: the session), ``type``, ``f``, ``key``, ``value`` (a write's value; a read's list of
    values on ``ok``, else null), ``time`` (ns) and ``op_id``: what ``pbs-sim check FILE.jsonl`` reads.
    With ``versions``, the version metadata of :class:`_Meta` too (``session_parents`` for
    ``session-parents``, ``rmw_read`` for ``rmw-read``), a
    ``{"pbs_sim": ...}`` first line and ``{"pbs_sim_final": [node, key, version]}`` last lines."""
    meta = _Meta(frames) if versions else None
    if meta is not None:
        yield meta.json_header()
    for e in history_events(frames):
        value: Any = (e.values if e.type == ":ok" else None) if e.is_read else e.value
        rec = {"process": e.process, "client": e.client, "type": e.type[1:], "f": "read" if e.is_read else "write",
               "key": e.key, "value": value, "time": e.time_ns, "op_id": e.op_id}
        if meta is not None:
            for k, v in meta.fields(e.row, e.done, e.is_read, e.type).items():
                rec[k.replace("-", "_")] = None if isinstance(v, float) and v != v else v
        yield json.dumps(rec, separators=(", ", ": "))
    if meta is not None:
        yield from meta.json_trailer()


def jepsen_lines(frames: Mapping[str, pd.DataFrame], *, versions: bool = False) -> Iterator[str]:
    """The history as EDN maps, one line per invocation or completion, in event order; with
    ``versions``, the version metadata of :class:`_Meta` (extra keys and ``;pbs-sim`` comments)."""
    meta = _Meta(frames) if versions else None
    if meta is not None:
        yield meta.edn_header()
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
        extra = meta.edn(row, typ != ":invoke", is_read, typ) if meta is not None else ""
        yield (f"{{:type {typ}, :f {f}, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}{extra}}}")
    if meta is not None:
        yield from meta.edn_trailer()


def elle_lines(frames: Mapping[str, pd.DataFrame], *, versions: bool = False) -> Iterator[str]:
    """The history as Elle's rw-register transactions (elle.rw_register's docstring): every operation
    is a one-micro-op ``:f :txn``, ``:value [[:w k v]]`` for a write (its value, unique per key) or
    ``[[:r k v]]`` for a read -- ``nil`` on the invocation, and on an ``:ok`` the value returned,
    ``nil`` when it returned none. A read that returned siblings becomes a read of the newest of them
    (the value of the highest seq): a register read observes one value, and a transaction of several reads of one key
    would tell Elle their versions are ordered (a non-repeatable read), which siblings are not.
    :type / :process / :time / :index / :client / :op-id and the version metadata as in
    :func:`jepsen_lines`."""
    meta = _Meta(frames) if versions else None
    if meta is not None:
        yield meta.edn_header()
    ops = frames["ops"]
    client = ops["client"].to_numpy(np.int64).tolist()
    op_id = ops["op_id"].to_numpy(np.int64).tolist()
    for index, (typ, is_read, k, v, p, t, vs, row) in enumerate(_events(frames)):
        if not is_read:
            value = f"[[:w {k} {v}]]"
        else:
            value = f"[[:r {k} {vs[-1] if vs else 'nil'}]]"
        extra = meta.edn(row, typ != ":invoke", is_read, typ) if meta is not None else ""
        yield (f"{{:type {typ}, :f :txn, :value {value}, :process {p}, :time {int(round(t * 1e6))}, "
               f":index {index}, :client {client[row]}, :op-id {op_id[row]}{extra}}}")
    if meta is not None:
        yield from meta.edn_trailer()


def write_jepsen(frames: Mapping[str, pd.DataFrame], path: str | Path, *, elle: bool = False,
                 jsonl: bool = False, versions: bool = False) -> int:
    """Write the EDN history to ``path`` (Elle's rw-register shape with ``elle``, :func:`elle_lines`;
    the JSONL history format with ``jsonl``, :func:`jsonl_lines`; without ``versions``, values only,
    as a real store's history) atomically -- an interrupted export leaves no partial file; returns the
    number of lines."""
    count = [0]
    lines = jsonl_lines if jsonl else elle_lines if elle else jepsen_lines

    def write(fh: IO[str]) -> None:
        for line in (lines(frames, versions=True) if versions else lines(frames)):
            fh.write(line)
            fh.write("\n")
            count[0] += 1

    atomic_write(path, write)
    return count[0]


__all__ = ["HistoryEvent", "elle_lines", "history_events", "jepsen_lines", "jsonl_lines", "write_jepsen"]
