"""A history file's lines as operations: Jepsen EDN maps, or the JSONL / CSV history format.

Owns: the history formats pbs-sim reads (docs/design.md, "History files"), turning each line into
an :class:`Event` (one invocation or completion of one or more register micro-operations), pairing
completions with invocations per process (:func:`operations`), and every one-line reason a line is
refused (``ConfigError`` naming the file, the line and the reason). Streams: one line at a time;
what is kept is one pending operation per process.

The rules follow jepsen.history's README ("Operation Structure": ``:type``, ``:f``, ``:value``,
``:process`` running one operation at a time, ``:time`` in ns, ascending ``:index``) and
``jepsen.independent`` (a register test lifted to a map of keys: ``:value [key v]``); an ``:info``
operation may take effect at any later time (Jepsen's tutorial, "Refining a test": a crashed
operation is concurrent with the rest of the history).

Shapes read (one event a line, history order = line order):

* EDN, ``jepsen.independent``: ``{:type :invoke|:ok|:fail|:info, :f :read|:write, :value [k v],
  :process p, :time ns, :index i}``; a write's ``v`` is its value; a read's ``v`` on ``:ok`` is what
  it returned: one value, a vector / set of values (siblings), or ``nil`` / ``[]`` (nothing).
* EDN, Elle's rw-register: ``:f :txn, :value [[:r k v] [:w k v] ...]``: each micro-op is one
  operation of the transaction's invocation and completion. ``:append`` (list-append) is refused.
* JSONL (one JSON object a line) and CSV (a header line, then one row a line): columns
  ``process, type, f, key, value, time`` and optionally ``client`` and ``op_id``
  (:data:`TABULAR_COLUMNS`).

Everywhere: ``:process :nemesis`` lines (Jepsen's fault injector) are skipped; the session (for
read-your-writes and monotonic reads) is ``:client`` / ``client`` when given, else the process;
keys and values compare as text (``1`` and ``"1"`` are one key). A history's examples are named by
``:op-id`` / ``op_id`` where it carries them (pbs-sim's export writes the run's op ids), else by
the line number of the invocation.
Must not touch: the checks (``pbs_sim.histories.values``), EDN syntax (``pbs_sim.histories.edn``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .edn import Keyword, edn_records

TYPES = ("invoke", "ok", "fail", "info")
#: The JSONL / CSV history format: required and optional columns.
TABULAR_REQUIRED = ("process", "type", "f", "key", "value", "time")
TABULAR_OPTIONAL = ("client", "op_id")
TABULAR_COLUMNS = (*TABULAR_REQUIRED, *TABULAR_OPTIONAL)
#: In CSV, a read's siblings are one field, separated by this character.
CSV_SIBLINGS = "|"
FORMATS = ("edn", "jsonl", "csv")
SUFFIXES = {".edn": "edn", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


@dataclass(slots=True)
class Mop:
    """One register micro-operation of an event: ``write`` a value, or ``read`` (values returned on
    an ``ok`` completion, siblings in the order given; empty: nothing)."""

    is_write: bool
    key: str
    value: str | None
    values: tuple[str, ...]


@dataclass(slots=True)
class Event:
    line: int
    process: Any
    session: Any
    type: str
    mops: list[Mop]
    ref: int | None  # :op-id / op_id when the line carries one
    time: float | None


@dataclass(slots=True)
class Op:
    """One operation (one micro-op of one invocation), as the value checks see it. ``inv`` and
    ``comp`` are positions in the history's order of events (``comp`` is None while it is pending,
    and stays None when it never completed: indeterminate, like ``:info``)."""

    ref: int
    session: Any
    key: str
    is_write: bool
    value: str | None
    inv: int
    comp: int | None = None
    type: str = "pending"
    values: tuple[str, ...] = ()


def text(x: Any) -> str:
    """A key or value as text: numbers as written, keywords with their colon, strings as they are."""
    if isinstance(x, Keyword):
        return f":{x}"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(text(v) for v in x) + "]"
    return str(x)


def _values(v: Any) -> tuple[str, ...]:
    """What a read returned: nothing (nil / empty), one value, or siblings (a vector or set)."""
    if v is None:
        return ()
    if isinstance(v, (list, tuple, frozenset, set)):
        items = sorted(v, key=text) if isinstance(v, (frozenset, set)) else v
        return tuple(text(x) for x in items if x is not None)
    return (text(v),)


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, read as bytes and decoded one line at a time, so that a byte
    that is not UTF-8 is reported on its own line (a text file object decodes in 8 kB chunks)."""
    with Path(path).open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(str(path), None, f"line {line_no}: not UTF-8 text (byte "
                                                   f"{exc.object[exc.start]:#04x} at column {exc.start + 1})") from None


# -- EDN -----------------------------------------------------------------------------------------------
def edn_events(path: str | Path) -> Iterator[Event]:
    p = str(path)
    last_index: Any = None
    for line, rec in edn_records(path):
        def bad(reason: str, line: int = line) -> ConfigError:
            return ConfigError(p, None, f"line {line}: {reason}")

        proc = rec.get("process")
        if proc == "nemesis":
            continue  # Jepsen's fault injector: its :start / :stop lines are not client operations
        if proc is None:
            raise bad("no :process (every Jepsen operation names the process that ran it)")
        typ = rec.get("type")
        if not isinstance(typ, Keyword) or typ not in TYPES:
            raise bad(f":type {_show(typ)}; expected :invoke, :ok, :fail or :info")
        index = rec.get("index")
        if index is not None:
            if not isinstance(index, int) or (last_index is not None and index <= last_index):
                raise bad(f":index {_show(index)} after {_show(last_index)}: Jepsen's :index ascends, 0, 1, 2, ...")
            last_index = index
        f = rec.get("f")
        value = rec.get("value")
        mops: list[Mop] = []
        if f in ("read", "write") and isinstance(f, Keyword):
            if not isinstance(value, list) or len(value) != 2:
                raise bad(f":f :{f} with :value {_show(value)}; expected a jepsen.independent tuple [key value]")
            k, v = value
            if k is None:
                raise bad("the key of [key value] is nil")
            if f == "write":
                if v is None:
                    raise bad(":f :write of nil; a write names the value it writes")
                mops.append(Mop(True, text(k), text(v), ()))
            else:
                mops.append(Mop(False, text(k), None, _values(v) if typ == "ok" else ()))
        elif f == "txn" and isinstance(f, Keyword):
            if not isinstance(value, list) or not value:
                raise bad(f":f :txn with :value {_show(value)}; expected micro-ops [[:r k v] [:w k v] ...]")
            for m in value:
                if not isinstance(m, list) or len(m) != 3 or m[0] not in ("r", "w") or not isinstance(m[0], Keyword):
                    what = "list-append (:append) is not a register history" if isinstance(m, list) and m and \
                        m[0] == "append" else f"micro-op {_show(m)}"
                    raise bad(f"{what}; expected [:r k v] or [:w k v] (Elle's rw-register)")
                if m[1] is None:
                    raise bad("a micro-op's key is nil")
                if m[0] == "w":
                    if m[2] is None:
                        raise bad(f"micro-op {_show(m)} writes nil; a write names the value it writes")
                    mops.append(Mop(True, text(m[1]), text(m[2]), ()))
                else:
                    mops.append(Mop(False, text(m[1]), None, _values(m[2]) if typ == "ok" else ()))
        else:
            raise bad(f":f {_show(f)}; expected :read or :write (jepsen.independent) or :txn (Elle's "
                      "rw-register)")
        client = rec.get("client")
        ref = rec.get("op-id")
        tm = rec.get("time")
        yield Event(line, proc, proc if client is None else client, str(typ), mops,
                    ref if isinstance(ref, int) and not isinstance(ref, bool) else None,
                    float(tm) if isinstance(tm, (int, float)) and not isinstance(tm, bool) else None)


def _show(x: Any) -> str:
    if x is None:
        return "nil"
    if isinstance(x, Keyword):
        return f":{x}"
    if isinstance(x, str):
        return json.dumps(x)
    return text(x)


# -- JSONL and CSV -------------------------------------------------------------------------------------
def jsonl_events(path: str | Path) -> Iterator[Event]:
    p = str(path)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, raw in text_lines(path):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(p, None, f"line {line}: not JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(rec, dict):
                raise ConfigError(p, None, f"line {line}: expected a JSON object {{\"process\": ..., \"type\": ..., ...}}")
            if "pbs_sim" in rec or "pbs_sim_final" in rec:
                continue  # pbs-sim's version metadata (pbs_sim.histories.versions): not an operation
            yield line, rec

    return _tabular(p, rows(), split=None)


def csv_events(path: str | Path) -> Iterator[Event]:
    p = str(path)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            reader = csv.DictReader(raw for _, raw in text_lines(path))
            header = reader.fieldnames
            if header is None:
                raise ConfigError(p, None, "empty (expected a header line: "
                                           f"{','.join(TABULAR_REQUIRED)}[,client][,op_id])")
            if "op_id" in header and "issued_event" in header:
                raise ConfigError(p, None, "a run's ops table, not a history: check the run's directory "
                                           "(pbs-sim check RESULTS_DIR)")
            missing = [c for c in TABULAR_REQUIRED if c not in header]
            if missing:
                raise ConfigError(p, missing[0], f"missing column (the header has {', '.join(header)}; "
                                                 f"expected {', '.join(TABULAR_REQUIRED)})")
            for rec in reader:
                line = reader.line_num
                if None in rec or any(v is None for v in rec.values()):
                    raise ConfigError(p, None, f"line {line}: {len(header)} fields expected (a truncated or "
                                               "shifted row?)")
                yield line, rec
        except csv.Error as exc:
            raise ConfigError(p, None, f"not a well-formed CSV table: {exc}") from None

    return _tabular(p, rows(), split=CSV_SIBLINGS)


def _tabular(p: str, rows: Iterable[tuple[int, dict[str, Any]]], split: str | None) -> Iterator[Event]:
    """JSONL objects or CSV rows as events (``split``: CSV, a read's values are one text field)."""
    last_time = -math.inf
    for line, rec in rows:
        def bad(reason: str, col: str | None = None, line: int = line) -> ConfigError:
            return ConfigError(p, None, f"line {line}: {reason}")  # col: the reason names it

        for c in TABULAR_REQUIRED:
            if c not in rec and not (c == "value" and split is None):
                raise bad(f"no {c!r} (each line: {', '.join(TABULAR_REQUIRED)})", c)
        typ, f = rec["type"], rec["f"]
        if typ not in TYPES:
            raise bad(f"type {typ!r}; expected invoke, ok, fail or info", "type")
        if f not in ("read", "write"):
            raise bad(f"f {f!r}; expected read or write", "f")
        proc, key = rec["process"], rec["key"]
        if proc is None or proc == "":
            raise bad("empty process", "process")
        if key is None or key == "" or isinstance(key, (list, dict)):
            raise bad(f"key {key!r}; expected a string or a number", "key")
        tm = rec["time"]
        try:
            t = float(tm)
        except (TypeError, ValueError):
            raise bad(f"time {tm!r} is not a number (nanoseconds)", "time") from None
        if not math.isfinite(t):
            raise bad(f"time {tm!r} is not a finite number", "time")
        if t < last_time:
            raise bad(f"time {text(tm)} is before the previous line's {text(last_time)}: lines must be in time "
                      "order (the file's order is the history's)", "time")
        last_time = t
        raw = rec.get("value")
        if split is not None:  # CSV: one text field
            value: Any = None if raw == "" else (str(raw).split(split) if f == "read" else raw)
        else:
            value = raw
        if f == "write":
            if value is None or isinstance(value, (list, dict)):
                raise bad(f"a write's value {value!r}; expected the one value it writes", "value")
            mop = Mop(True, text(key), text(value), ())
        else:
            if isinstance(value, dict):
                raise bad("a read's value is an object; expected a value, a list of values or null", "value")
            mop = Mop(False, text(key), None, _values(value) if typ == "ok" else ())
        client = rec.get("client")
        ref = rec.get("op_id")
        if ref is not None and ref != "":
            try:
                ref_i: int | None = int(ref)
            except (TypeError, ValueError):
                raise bad(f"op_id {ref!r} is not a whole number", "op_id") from None
        else:
            ref_i = None
        yield Event(line, text(proc), text(proc) if client is None or client == "" else text(client), typ, [mop],
                    ref_i, t)


def events(path: str | Path, fmt: str | None = None) -> Iterator[Event]:
    """The events of a history file, in its order; ``fmt`` one of :data:`FORMATS` (default: by suffix)."""
    p = Path(path)
    if fmt is None:
        fmt = SUFFIXES.get(p.suffix.lower())
        if fmt is None:
            raise ConfigError(str(p), None, f"unknown history format {p.suffix or '(no suffix)'!r}; name it "
                                            ".edn, .jsonl or .csv, or pass --format")
    if fmt not in FORMATS:
        raise ConfigError("--format", None, f"{fmt!r}; expected one of {', '.join(FORMATS)}")
    if not p.is_file():
        raise ConfigError(str(p), None, "no such history file")
    return {"edn": edn_events, "jsonl": jsonl_events, "csv": csv_events}[fmt](p)


def operations(evs: Iterable[Event], path: str = "history") -> Iterator[tuple[Op, bool]]:
    """Pair each completion with its invocation (per process: Jepsen runs one operation a process at
    a time), yielding ``(op, done)`` at each invocation (``done`` False) and completion (True) of each
    micro-op, with ``op.inv`` / ``op.comp`` set to its position in this order. Operations still
    pending at the end stay ``pending`` (indeterminate, like ``:info``)."""
    pending: dict[Any, tuple[Event, list[Op]]] = {}
    pos = 0
    for ev in evs:
        if ev.type == "invoke":
            held = pending.get(ev.process)
            if held is not None:
                raise ConfigError(path, None, f"line {ev.line}: process {_show(ev.process)} invokes while its "
                                              f"operation from line {held[0].line} is outstanding (a process runs "
                                              "one operation at a time)")
            ops: list[Op] = []
            for m in ev.mops:
                op = Op(ev.ref if ev.ref is not None else ev.line, ev.session, m.key, m.is_write, m.value, pos)
                pos += 1
                ops.append(op)
                yield op, False
            pending[ev.process] = (ev, ops)
            continue
        held = pending.pop(ev.process, None)
        if held is None:
            raise ConfigError(path, None, f"line {ev.line}: :{ev.type} of process {_show(ev.process)}, which has "
                                          "no operation outstanding (a completion follows its :invoke)")
        inv, ops = held
        if len(ev.mops) != len(ops) or any(m.is_write != o.is_write or m.key != o.key
                                           for m, o in zip(ev.mops, ops, strict=False)):
            raise ConfigError(path, None, f"line {ev.line}: completes {_describe(ev.mops)} but line {inv.line} "
                                          f"invoked {_describe(inv.mops)}")
        for m, op in zip(ev.mops, ops, strict=True):
            op.comp = pos
            pos += 1
            op.type = ev.type
            if not m.is_write and ev.type == "ok":
                op.values = m.values
            yield op, True


def _describe(mops: list[Mop]) -> str:
    return " ".join(f"{'write' if m.is_write else 'read'} of key {m.key!r}" for m in mops)


__all__ = ["CSV_SIBLINGS", "FORMATS", "TABULAR_COLUMNS", "TABULAR_OPTIONAL", "TABULAR_REQUIRED", "Event", "Mop",
           "Op", "events", "operations", "text"]
