"""Scripted workloads: an exact schedule of operations, as a file or a Python list (issue 18).

Owns: the script format, its validation (every mistake is one line naming the file, the line and
the reason, raised as :class:`~pbs_sim.errors.ConfigError` before any work starts), and the parsed
form, :class:`Script` (a tuple of :class:`ScriptOp`). Must not touch: SimPy, the protocol (the
simulator's side is ``pbs_sim.sim.script``), metrics.

Format. One operation a line, CSV with a header line or JSON Lines (one object a line); which one is
decided by the file's first non-blank character (``{``: JSON Lines), whatever its name
(``experiments/ddia_cart.ops`` is CSV). Blank lines and, in CSV, lines starting with ``#`` are
skipped. Columns:

* ``at_ms`` (required) -- when the operation is issued, ms from the start; lines are in time order
  (equal times keep the file's order);
* ``client`` (required) -- the session, an integer >= 0;
* ``op`` (required) -- ``read``, ``write`` or ``rmw`` (a read, then a write carrying what the read
  returned, issued ``workload.rmw_gap`` after the read returns; a failed read ends it);
* ``key`` (required) -- the key's name (``pbs_sim.keys``: an integer k is the key named ``str(k)``);
* ``value`` (required column, may be empty) -- what a write or rmw writes; empty: the default
  ``client:seq``. Reads take none. Under ``workload.merge = "union"`` a version's value is the
  client's merge -- every item of the versions its context holds, plus this one (DDIA's cart);
* ``id`` (optional) -- a name later lines may use as a context; unique;
* ``context`` (optional, writes only) -- the causal context the write carries (what a store client
  passes back): ``none`` (default: a blind write), ``last-read`` (what the client's latest read of
  the key had returned when the write is issued), ``last-reply`` (the reply of its latest write of
  the key -- Riak's ``return_body``: the coordinator's merged siblings), or an earlier line's ``id``
  of the same key (a read: what it returned; a write or rmw: its write's reply). Nothing returned
  yet (the operation still in flight, or failed): the write is blind. An ``rmw`` line's context is
  always its own read;
* ``coordinator`` (optional) -- the node that coordinates the operation (an integer in
  ``0..cluster.nodes-1``); empty or absent: ``cluster.coordinator`` decides. Needs node
  coordinators (not ``cluster.coordinator = "client"``).

Python form: :func:`script` takes the same lines as dicts (or :class:`ScriptOp`); ``pbs_sim.workload``
re-exports it. ``workload.script`` in a scenario is a path (relative to the scenario file), such a
list of dicts, or a :class:`Script`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import inputs
from .errors import ConfigError
from .numbers import num

OPS = ("read", "write", "rmw")
REQUIRED = ("at_ms", "client", "op", "key", "value")
OPTIONAL = ("id", "context", "coordinator")
COLUMNS = REQUIRED + OPTIONAL
NONE, LAST_READ, LAST_REPLY = "none", "last-read", "last-reply"


@dataclass(frozen=True)
class ScriptOp:
    """One line: ``context`` is ``"none"``, ``"last-read"``, ``"last-reply"`` or an earlier line's
    ``id``; ``value`` None = the default value; ``coordinator`` None = the cluster's choice;
    ``line`` is the line number in the file (or the 1-based position in a Python list)."""

    at_ms: float
    client: int
    op: str
    key: str
    value: str | None = None
    id: str | None = None
    context: str = NONE
    coordinator: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Script:
    """A validated script: its operations in issue order, and where it came from (a path or
    ``"<script>"``) for messages and the manifest."""

    ops: tuple[ScriptOp, ...]
    source: str = "<script>"
    path: str | None = None  # the file it was read from (None: built in Python)

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def end_ms(self) -> float:
        return self.ops[-1].at_ms if self.ops else 0.0

    def rows(self) -> list[dict[str, Any]]:
        """The lines as dicts (the Python form's input; what a scenario dump writes for an inline script)."""
        out = []
        for o in self.ops:
            row: dict[str, Any] = {"at_ms": o.at_ms, "client": o.client, "op": o.op, "key": o.key,
                                   "value": "" if o.value is None else o.value}
            if o.id is not None:
                row["id"] = o.id
            if o.context != NONE:
                row["context"] = o.context
            if o.coordinator is not None:
                row["coordinator"] = o.coordinator
            out.append(row)
        return out

    def with_coordinator(self, node: int | None) -> Script:
        """The same script with every operation through ``node`` (None: the cluster's choice)."""
        from dataclasses import replace

        return Script(tuple(replace(o, coordinator=node) for o in self.ops), self.source, self.path)

    def check_cluster(self, nodes: int, coordinator: str, source: str | None = None) -> None:
        """Every ``coordinator`` column names a node of a cluster of ``nodes`` that has node coordinators."""
        for o in self.ops:
            if o.coordinator is None:
                continue
            if coordinator == "client":
                raise self._err(o.line, "coordinator: cluster.coordinator = 'client' has no node coordinators "
                                "(set it to 'random' or 'first-replica', or leave the column empty)")
            if o.coordinator >= nodes:
                raise self._err(o.line, f"coordinator: node {o.coordinator} is not in 0..{nodes - 1} (cluster.nodes)")

    def _err(self, line: int, reason: str) -> ConfigError:
        return ConfigError(self.source, f"line {line}", reason)


def _fail(source: str, line: int | None, reason: str) -> ConfigError:
    return ConfigError(source, None if line is None else f"line {line}", reason)


def _number(v: Any, source: str, line: int, col: str) -> float:
    if isinstance(v, bool):
        raise _fail(source, line, f"{col}: expected a number, got {v!r}")
    if isinstance(v, int | float):
        x = float(v)
    else:
        s = str(v).strip()
        if not s:
            raise _fail(source, line, f"{col}: missing (every line needs one)")
        try:
            x = float(s)
        except ValueError:
            raise _fail(source, line, f"{col}: expected a number, got {s!r}") from None
    if not math.isfinite(x) or x < 0:
        raise _fail(source, line, f"{col}: must be a finite number >= 0, got {v!r}")
    return x


def _integer(v: Any, source: str, line: int, col: str) -> int:
    if isinstance(v, bool):
        raise _fail(source, line, f"{col}: expected an integer >= 0, got {v!r}")
    if isinstance(v, int):
        x = v
    else:
        s = str(v).strip()
        try:
            x = int(s)
        except ValueError:
            raise _fail(source, line, f"{col}: expected an integer >= 0, got {s!r}") from None
    if x < 0 or x >= 2**63:
        raise _fail(source, line, f"{col}: expected an integer in [0, 2**63), got {x}")
    return x


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def parse_rows(rows: Iterable[tuple[int, Mapping[str, Any]]], source: str, columns: Iterable[str] | None = None,
               path: str | None = None) -> Script:
    """Validate ``(line number, row)`` pairs into a :class:`Script` (``columns``: the header, if any)."""
    if columns is not None:
        cols = [c.strip() for c in columns]
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise _fail(source, 1, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(a script needs {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})")
        unknown = [c for c in cols if c not in COLUMNS]
        if unknown:
            raise _fail(source, 1, f"unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})")
    out: list[ScriptOp] = []
    ids: dict[str, ScriptOp] = {}
    later: dict[str, int] = {}  # ids defined anywhere, for "points forward" messages
    rows = list(rows)
    for line, row in rows:
        i = _text(row.get("id")) if isinstance(row, Mapping) else ""
        if i and i not in later:
            later[i] = line
    last_at = 0.0
    for line, row in rows:
        if not isinstance(row, Mapping):
            raise _fail(source, line, f"expected an object with {', '.join(REQUIRED)}, got {type(row).__name__}")
        if columns is None:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise _fail(source, line, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
            unknown = [c for c in row if c not in COLUMNS]
            if unknown:
                raise _fail(source, line, f"unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})")
        at = _number(row.get("at_ms"), source, line, "at_ms")
        if at < last_at:
            raise _fail(source, line, f"at_ms: {num(at)} comes before the previous line's {num(last_at)} "
                        "(lines must be in time order)")
        last_at = at
        client = _integer(row.get("client"), source, line, "client")
        op = _text(row.get("op")).lower()
        if op not in OPS:
            raise _fail(source, line, f"op: unknown op {_text(row.get('op'))!r} (expected read, write or rmw)")
        key = _text(row.get("key"))
        if not key:
            raise _fail(source, line, "key: missing (a key's name)")
        raw_value = row.get("value")
        value = None if raw_value is None or _text(raw_value) == "" else str(raw_value)
        if op == "read" and value is not None:
            raise _fail(source, line, f"value: a read writes nothing (got {value!r})")
        oid = _text(row.get("id")) or None
        if oid is not None and oid in ids:
            raise _fail(source, line, f"id: {oid!r} is already line {ids[oid].line}'s")
        if oid is not None and oid in (NONE, LAST_READ, LAST_REPLY):
            raise _fail(source, line, f"id: {oid!r} is a context keyword; pick another name")
        ctx = _text(row.get("context")) or NONE
        if ctx != NONE and op != "write":
            raise _fail(source, line, f"context: only a write carries one ({op}: "
                        + ("its own read is its context)" if op == "rmw" else "nothing to carry)"))
        if ctx not in (NONE, LAST_READ, LAST_REPLY):
            ref = ids.get(ctx)
            if ref is None:
                if ctx in later:
                    raise _fail(source, line, f"context: {ctx!r} names line {later[ctx]}, which comes later "
                                "(a context is something already returned)")
                raise _fail(source, line, f"context: {ctx!r} is not none, last-read, last-reply or an earlier "
                            "line's id")
            if ref.key != key:
                raise _fail(source, line, f"context: line {ref.line} ({ctx!r}) is of key {ref.key!r}, not {key!r}")
        raw_coord = row.get("coordinator")
        coord = None if _text(raw_coord) == "" else _integer(raw_coord, source, line, "coordinator")
        o = ScriptOp(at, client, op, key, value, oid, ctx, coord, line)
        if oid is not None:
            ids[oid] = o
        out.append(o)
    return Script(tuple(out), source, path)


def script(rows: Iterable[Mapping[str, Any] | ScriptOp], source: str = "<script>") -> Script:
    """A script from Python: each row a dict with the file's columns (``at_ms``, ``client``, ``op``,
    ``key``, ``value`` -- which may be omitted for a read or a default value --, and optionally
    ``id``, ``context``, ``coordinator``) or a :class:`ScriptOp`. Raises ``ConfigError`` naming the
    row (1-based) and the reason."""
    pairs: list[tuple[int, Mapping[str, Any]]] = []
    for n, r in enumerate(rows, start=1):
        if isinstance(r, ScriptOp):
            d: dict[str, Any] = {"at_ms": r.at_ms, "client": r.client, "op": r.op, "key": r.key,
                                 "value": r.value, "id": r.id, "context": r.context, "coordinator": r.coordinator}
        elif isinstance(r, Mapping):
            d = dict(r)
            d.setdefault("value", None)
        else:
            raise _fail(source, n, f"expected a dict with {', '.join(REQUIRED)}, got {type(r).__name__}")
        pairs.append((n, d))
    return parse_rows(pairs, source)


def read_script(path: str | Path, base_dir: str | Path | None = None, source: str | None = None) -> Script:
    """Read and validate a script file (``path`` relative to ``base_dir``, the scenario's directory)."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    name = source or str(path)
    if not p.is_file():
        raise _fail(name, None, f"script file not found: {p}")
    data = p.read_bytes()
    inputs.note(p, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(name, None, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
    first = next((ln.lstrip() for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise _fail(name, None, "empty: a script needs a header line and one operation a line")
    if first.startswith("{"):
        return _jsonl(text, name, str(p))
    return _csv(text, name, str(p))


def _jsonl(text: str, source: str, path: str) -> Script:
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for n, ln in enumerate(text.splitlines(), start=1):
        if not ln.strip():
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as exc:
            raise _fail(source, n, f"not a JSON object: {exc.msg} (column {exc.colno})") from None
        rows.append((n, obj))
    return parse_rows(rows, source, path=path)


def _csv(text: str, source: str, path: str) -> Script:
    lines = text.splitlines()
    numbered = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise _fail(source, None, "empty: a script needs a header line and one operation a line")
    header_line, header = numbered[0]
    cols = next(csv.reader([header]))
    try:
        parse_rows([], source, cols)
    except ConfigError as exc:
        raise _fail(source, header_line, exc.reason) from None
    cols = [c.strip() for c in cols]
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for n, ln in numbered[1:]:
        vals = next(csv.reader(io.StringIO(ln)))
        if len(vals) != len(cols):
            raise _fail(source, n, f"{len(vals)} fields, the header has {len(cols)} ({', '.join(cols)})")
        rows.append((n, dict(zip(cols, vals, strict=True))))
    return parse_rows(rows, source, cols, path=path)


__all__ = ["COLUMNS", "OPS", "Script", "ScriptOp", "read_script", "script"]
