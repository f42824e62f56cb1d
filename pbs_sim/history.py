"""The run's record: columnar buffers of operations, replica applies and any other record kind.

Owns: the record schema, compact column buffers that simulation code appends to while running
(``array.array`` per column: 8 bytes per float, no per-row Python objects), and ``to_frame()`` /
``frames()`` that turn them into pandas DataFrames for metrics.
Must not touch: SimPy, metrics. Simulation code appends; metrics read frames.

Record kinds
------------
``ops`` (one row per client operation; ``op_id`` is the row number)::

    op_id, client, key, kind (read|write), coordinator (-1 = external client-side coordinator),
    issued_at, completed_at (commit instant for writes; nan while pending),
    status (pending|ok|timeout|failed), version (written, or returned by a read: 0 = key never written),
    asked (replicas the request was sent to), answered (replies received, late ones included; both
    int16, exact for any N the config accepts: N <= cluster.nodes <= 10,000),
    issued_event, completed_event (event numbers of the issue and of the completion; 0 while pending)

``applies`` (one row per replica state change)::

    at, node, key, version, via (write|repair|anti-entropy|hint|other), event

Event numbers. Every recorded event, in every table, takes the next number of one counter shared by
the whole history (the ``event`` column, last in every table but ``ops``). Events at the same
simulated instant (constant latencies, a fault and a delivery, a hint and its handoff) therefore
replay in the order they happened — sort by ``(at, event)`` — never by a priority rule.

``read_versions`` (only when some read returned more than one version: sibling policies)::

    op_id, version, event

``causal_parents`` (``pbs_sim.sim.causality``: one row per version of the causal context a write
carried -- its own read, or the reply it was based on; none for a blind write)::

    op_id (the write), parent (the ``seq`` of a version of the same key), event

``session_parents`` (the same shape: every other version the writing session knew -- its reads and
write replies since its last write to the key, and that write)::

    op_id, parent, event

Keys and values (``pbs_sim.keys``). The ``key`` columns hold int indices; key ``i`` is named
``str(i)`` unless the ``keys`` table names it (only when some key was given a name that is not its
index, e.g. ``"cart"``)::

    key, key_name

Every write has a value: ``"{client}:{seq}"`` with ``seq`` the client's own write counter (1, 2, ...
in issue order), derived on demand, or an explicit one given to the write, kept in ``values``
(only when some write had one)::

    op_id, value

Neither table has an ``event`` column (they are labels, not events). :meth:`History.read_values`
gives the values a read returned (every sibling); ``to_frame("ops", names=True)`` adds ``key_name``
and ``value`` columns (the ``ops`` table ``pbs-sim run --ops`` writes).

Other kinds (faults, repairs, anti-entropy exchanges, ...) are added with
``history.table("faults", at="d", node="i", action="U")`` -> :class:`Table`; ``table.append(...)``
takes one value per column in the declared order. Typecodes are ``array`` typecodes (``d`` float,
``q``/``i``/``b`` ints); ``"U"`` is a string column (kept in a plain list: use it for rare records
only). ``frames()`` returns every table by name.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import LazyModule

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

READ = 0
WRITE = 1
KIND_NAMES = ("read", "write")

PENDING = 0
OK = 1
TIMEOUT = 2
FAILED = 3
STATUS_NAMES = ("pending", "ok", "timeout", "failed")

VIA_WRITE = 0
VIA_REPAIR = 1
VIA_ANTI_ENTROPY = 2
VIA_HINT = 3
VIA_OTHER = 4
VIA_NAMES = ("write", "repair", "anti-entropy", "hint", "other")

NAN = math.nan

# ``asked`` / ``answered``: one int16 per op holds any N the config accepts (N <= cluster.nodes <=
# 10,000; every target answers at most once). int8 saturated them at 127 (tests/test_history.py pins
# the bound against the config's limit).
COUNT_TYPECODE = "h"


class Table:
    """A named record kind with typed columns; append rows, read them back as a DataFrame.

    ``categories`` maps a column to the names its small-int codes stand for (decoded in ``to_frame``).
    """

    __slots__ = ("name", "columns", "cols", "categories", "_appenders", "_extenders", "_events", "_add_event",
                 "_extend_events")

    def __init__(
        self, name: str, categories: dict[str, tuple[str, ...]] | None = None,
        events: itertools.count[int] | None = None, **columns: str,
    ) -> None:
        if "event" in columns:
            raise ValueError(f"table {name!r}: 'event' is added by the history, not declared")
        self.name = name
        self.columns = {**columns, "event": "q"}
        self.cols: dict[str, Any] = {
            c: ([] if code == "U" else array(code)) for c, code in self.columns.items()
        }
        self.categories = dict(categories or {})
        self._appenders = tuple(col.append for c, col in self.cols.items() if c != "event")
        self._extenders = tuple(col.extend for c, col in self.cols.items() if c != "event")
        self._events = events if events is not None else itertools.count(1)
        self._add_event = self.cols["event"].append
        self._extend_events = self.cols["event"].extend

    def append(self, *values: Any) -> int:
        """Append one row (one value per declared column, in order; the ``event`` number is
        added); returns its row number."""
        for add, v in zip(self._appenders, values, strict=True):
            add(v)
        self._add_event(next(self._events))
        return len(self) - 1

    def appender(self) -> Callable[..., None]:
        """A faster :meth:`append` for hot paths: the same row and event number, returns nothing
        (and, for up to four columns, takes exactly one argument per column)."""
        ev, nxt = self._add_event, self._events.__next__
        adds = self._appenders
        if len(adds) == 1:
            (a0,) = adds

            def add1(v0: Any) -> None:
                a0(v0)
                ev(nxt())

            return add1
        if len(adds) == 2:
            a0, a1 = adds

            def add2(v0: Any, v1: Any) -> None:
                a0(v0)
                a1(v1)
                ev(nxt())

            return add2
        if len(adds) == 3:
            a0, a1, a2 = adds

            def add3(v0: Any, v1: Any, v2: Any) -> None:
                a0(v0)
                a1(v1)
                a2(v2)
                ev(nxt())

            return add3
        if len(adds) == 4:
            a0, a1, a2, a3 = adds

            def add4(v0: Any, v1: Any, v2: Any, v3: Any) -> None:
                a0(v0)
                a1(v1)
                a2(v2)
                a3(v3)
                ev(nxt())

            return add4

        def add(*values: Any) -> None:
            self.append(*values)

        return add

    def keyed_appender(self) -> Callable[[Any, Sequence[Any]], None]:
        """For a table of two declared columns (one row per element of a one-to-many relation):
        ``add(first, values)`` appends the rows ``(first, v)`` for each ``v`` in ``values``, in
        order, on consecutive event numbers (row-by-row appends of bound methods: for a handful of
        rows, faster than ``array.extend`` from an iterator)."""
        a0, a1 = self._appenders
        ev, nxt = self._add_event, self._events.__next__

        def add(first: Any, values: Sequence[Any]) -> None:
            for v in values:
                a0(first)
                a1(v)
                ev(nxt())

        return add

    def extend_columns(self, *columns: Sequence[Any]) -> None:
        """Many rows at once, column by column (one sequence per declared column, all of one
        length), on consecutive event numbers: the same table as appending them row by row."""
        k = len(columns[0]) if columns else 0
        if len(columns) != len(self._extenders) or any(len(c) != k for c in columns):
            raise ValueError(f"table {self.name!r}: {len(self._extenders)} columns of one length expected")
        if not k:
            return
        for ext, col in zip(self._extenders, columns, strict=True):
            ext(col)
        self._extend_events(islice(self._events, k))

    def __len__(self) -> int:
        first = next(iter(self.cols.values()), None)
        return 0 if first is None else len(first)

    def nbytes(self) -> int:
        return sum(
            (c.itemsize * len(c) if isinstance(c, array) else 8 * len(c)) for c in self.cols.values()
        )

    def to_frame(self) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for c, col in self.cols.items():
            arr = np.frombuffer(col, dtype=col.typecode).copy() if isinstance(col, array) and len(col) else (
                np.asarray(col, dtype=object if self.columns[c] == "U" else self.columns[c])
            )
            if c in self.categories:
                names = self.categories[c]
                data[c] = pd.Categorical.from_codes(arr.astype(np.int64), categories=pd.Index(list(names)))
            else:
                data[c] = arr
        return pd.DataFrame(data, columns=list(self.cols))


@dataclass
class RunFacts:
    """Typed facts about a run that metrics need, set by the model builder and at the end of a run.

    ``warmup_ms`` is where the measured window starts (load phase + warm-up); ``sim_time_ms`` the
    simulated instant the run ended (nan while running); ``load_writes`` / ``load_end_ms`` describe
    ``workload.preload``."""

    n: int = 0
    r: int = 0
    w: int = 0
    nodes: int = 0
    profile: str = ""
    workload: str = ""
    read_fanout: str = "all"
    write_fanout: str = "all"
    warmup_ms: float = 0.0
    sim_time_ms: float = math.nan
    load_writes: int = 0
    load_end_ms: float = 0.0


class History:
    """Columnar records of one run. Appends are O(1) and allocation-free per row.

    ``facts`` holds typed run facts metrics need (:class:`RunFacts`); ``mechanisms`` maps the name
    of every installed mechanism to whether it moves replica data (``pbs_sim.sim.mechanism``);
    ``tables`` holds every record kind by name (``ops`` and ``applies`` always exist).
    """

    def __init__(self, facts: RunFacts | None = None) -> None:
        self.facts = facts if facts is not None else RunFacts()
        self.mechanisms: dict[str, bool] = {}
        self.tables: dict[str, Table] = {}
        self._add_read_versions: Callable[[int, Sequence[int]], None] | None = None
        self._values: Table | None = None  # explicit write values (pbs_sim.keys), created on first use
        self._key_names: Table | None = None  # names of keys that are not their index
        self._events = itertools.count(1)
        self._next_event = self._events.__next__
        ops = self.table(
            "ops",
            categories={"kind": KIND_NAMES, "status": STATUS_NAMES},
            client="i", key="q", kind="b", coordinator="i", issued_at="d", completed_at="d",
            status="b", version="q", asked=COUNT_TYPECODE, answered=COUNT_TYPECODE, issued_event="q", completed_event="q",
        )
        applies = self.table(
            "applies", categories={"via": VIA_NAMES}, at="d", node="i", key="q", version="q", via="b",
        )
        c = ops.cols
        self._client, self._key, self._kind, self._coord = c["client"], c["key"], c["kind"], c["coordinator"]
        self._issued, self._completed, self._status = c["issued_at"], c["completed_at"], c["status"]
        self._version, self._asked, self._answered = c["version"], c["asked"], c["answered"]
        self._issued_ev, self._completed_ev = c["issued_event"], c["completed_event"]
        # ops rows are one per operation, not one per event: their event numbers are the two columns
        del ops.columns["event"], ops.cols["event"]
        self.add_op = self._op_adder()  # type: ignore[method-assign,assignment]  # the hot path, appends bound once
        a = applies.cols
        self._a_at, self._a_node, self._a_key, self._a_ver, self._a_via, self._a_ev = (
            a["at"], a["node"], a["key"], a["version"], a["via"], a["event"]
        )

    @property
    def meta(self) -> dict[str, Any]:
        """The run facts as a plain dict (for manifests and printing; metrics use ``facts``)."""
        return asdict(self.facts)

    def next_event(self) -> int:
        """The next event number (for a record kept outside the tables)."""
        return self._next_event()

    # -- record kinds -------------------------------------------------------------------------
    def table(self, name: str, categories: dict[str, tuple[str, ...]] | None = None, **columns: str) -> Table:
        """The table ``name``, created with these columns on first use (later calls return it).
        Every table gets an ``event`` column numbered from the history's shared counter."""
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name, categories, self._events, **columns)
        return t

    # -- the hot paths (called per operation / per apply) ---------------------------------------
    def add_op(self, client: int, key: int, kind: int, coordinator: int, issued_at: float, asked: int) -> int:
        """A new pending operation; returns its ``op_id`` (row)."""
        row = len(self._issued)
        self._client.append(client)
        self._key.append(key)
        self._kind.append(kind)
        self._coord.append(coordinator)
        self._issued.append(issued_at)
        self._completed.append(NAN)
        self._status.append(PENDING)
        self._version.append(0)
        self._asked.append(asked)
        self._answered.append(0)
        self._issued_ev.append(self._next_event())
        self._completed_ev.append(0)
        return row

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["add_op"]  # a closure: rebuilt on unpickling
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.add_op = self._op_adder()  # type: ignore[method-assign,assignment]

    def _op_adder(self) -> Callable[[int, int, int, int, float, int], int]:
        """:meth:`add_op` with every column's ``append`` bound once (one call per operation, twelve
        appends: the attribute lookups were a tenth of its time)."""
        a_client, a_key, a_kind, a_coord = self._client.append, self._key.append, self._kind.append, self._coord.append
        a_issued, a_completed, a_status = self._issued.append, self._completed.append, self._status.append
        a_version, a_asked, a_answered = self._version.append, self._asked.append, self._answered.append
        a_iev, a_cev, nxt, issued = self._issued_ev.append, self._completed_ev.append, self._next_event, self._issued

        def add_op(client: int, key: int, kind: int, coordinator: int, issued_at: float, asked: int) -> int:
            row = len(issued)
            a_client(client)
            a_key(key)
            a_kind(kind)
            a_coord(coordinator)
            a_issued(issued_at)
            a_completed(NAN)
            a_status(PENDING)
            a_version(0)
            a_asked(asked)
            a_answered(0)
            a_iev(nxt())
            a_cev(0)
            return row

        return add_op

    def set_version(self, row: int, version: int) -> None:
        self._version[row] = version

    def complete(self, row: int, at: float, status: int, version: int | None = None) -> None:
        self._completed[row] = at
        self._status[row] = status
        self._completed_ev[row] = self._next_event()
        if version is not None:
            self._version[row] = version

    def answered_counts(self) -> array:
        """The ``answered`` column itself, for a hot path that counts replies in place."""
        return self._answered

    def asked_more(self, row: int) -> None:
        """Operation ``row`` asked one more replica after it was issued (speculative retry)."""
        self._asked[row] += 1

    def answered(self, row: int) -> None:
        """One more reply to operation ``row`` (late replies count too)."""
        self._answered[row] += 1

    def add_read_versions(self, op_id: int, versions: tuple[int, ...]) -> None:
        """A read that returned more than one version (siblings): one ``read_versions`` row per
        version (the ``ops`` row keeps ``policy.version``, the newest). Created on first use, so
        single-version runs carry no such table."""
        add = self._add_read_versions
        if add is None:
            add = self._add_read_versions = self.table("read_versions", op_id="q", version="q").keyed_appender()
        add(op_id, versions)

    def set_value(self, op_id: int, value: str) -> None:
        """Write ``op_id`` wrote the explicit ``value`` (without this, its value is ``client:seq``)."""
        t = self._values
        if t is None:
            t = self._values = self._label_table("values", op_id="q", value="U")
        t.cols["op_id"].append(op_id)
        t.cols["value"].append(value)

    def add_key_name(self, key: int, name: str) -> None:
        """Key index ``key`` is named ``name`` (``pbs_sim.keys.KeySpace`` calls this as it interns)."""
        t = self._key_names
        if t is None:
            t = self._key_names = self._label_table("keys", key="q", key_name="U")
        t.cols["key"].append(key)
        t.cols["key_name"].append(name)

    def _label_table(self, table: str, **columns: str) -> Table:
        t = self.table(table, None, **columns)
        del t.columns["event"], t.cols["event"]  # labels, not events: no event numbers spent
        return t

    def add_apply(self, at: float, node: int, key: int, version: int, via: int = VIA_WRITE) -> None:
        self._a_at.append(at)
        self._a_node.append(node)
        self._a_key.append(key)
        self._a_ver.append(version)
        self._a_via.append(via)
        self._a_ev.append(self._next_event())

    # -- reading back -------------------------------------------------------------------------
    @property
    def n_ops(self) -> int:
        return len(self._issued)

    def nbytes(self) -> int:
        """Bytes held by all record buffers."""
        return sum(t.nbytes() for t in self.tables.values())

    def to_frame(self, name: str = "ops", *, names: bool = False) -> pd.DataFrame:
        """One record kind as a DataFrame (``ops`` gets an ``op_id`` column first; with ``names``,
        also ``key_name`` after ``key`` and ``value`` after ``version``: the written value, or the
        value of the version a read returned (the newest of its siblings; empty when none))."""
        frame = self.tables[name].to_frame()
        if name == "ops":
            frame.insert(0, "op_id", np.arange(len(frame), dtype=np.int64))
            if names:
                from .keys import interned_names, names_of, op_values

                frames = self._label_frames(frame)
                cols = list(frame.columns)
                frame.insert(cols.index("key") + 1, "key_name",
                             names_of(frame["key"].to_numpy(np.int64), interned_names(frames)))
                frame.insert(cols.index("version") + 2, "value", op_values(frames))
        return frame

    def _label_frames(self, ops: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """The frames :mod:`pbs_sim.keys` derives names and values from."""
        out = {"ops": ops if ops is not None else self.to_frame("ops")}
        for name in ("read_versions", "values", "keys"):
            if name in self.tables:
                out[name] = self.tables[name].to_frame()
        return out

    def read_values_frame(self) -> pd.DataFrame:
        """One row per (successful read, version it returned): ``op_id, version, write_op, value``
        (``pbs_sim.keys.read_values``)."""
        from .keys import read_values

        return read_values(self._label_frames())

    def _col(self, col: array) -> np.ndarray:
        """A zero-copy numpy view of an ops column buffer (valid until the next append)."""
        return np.frombuffer(col, dtype=col.typecode) if len(col) else np.zeros(0, col.typecode)

    def write_value(self, op_id: int) -> str:
        """The value write ``op_id`` wrote (explicit, else ``client:seq``: ``pbs_sim.keys``)."""
        if self._kind[op_id] != WRITE:
            raise ValueError(f"op {op_id} is a read")
        t = self._values
        if t is not None:
            oids = t.cols["op_id"]
            for j in range(len(oids) - 1, -1, -1):
                if oids[j] == op_id:
                    return str(t.cols["value"][j])
        client = self._client[op_id]
        upto = slice(0, op_id + 1)
        seq = int(np.count_nonzero((self._col(self._kind)[upto] == WRITE) & (self._col(self._client)[upto] == client)))
        return f"{client}:{seq}"

    def read_values(self, op_id: int) -> list[str]:
        """The values read ``op_id`` returned, one per version (all siblings), ascending version;
        empty if it returned nothing or did not succeed. One vectorised pass over the columns (a
        version may be a write issued after the read); for every read at once use
        :meth:`read_values_frame`."""
        if self._kind[op_id] != READ:
            raise ValueError(f"op {op_id} is a write")
        if self._status[op_id] != OK:
            return []
        rv = self.tables.get("read_versions")
        versions: list[int] = []
        if rv is not None:
            o = self._col(rv.cols["op_id"])
            versions = sorted(self._col(rv.cols["version"])[o == op_id].tolist())
        if not versions and self._version[op_id] > 0:
            versions = [self._version[op_id]]
        if not versions:
            return []
        writes = np.flatnonzero((self._col(self._kind) == WRITE) & (self._col(self._key) == self._key[op_id]))
        seqs = self._col(self._version)[writes]
        out = []
        for v in versions:
            hit = writes[seqs == v]
            if len(hit):
                out.append(self.write_value(int(hit[0])))
        return out

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: self.to_frame(name) for name in self.tables}
