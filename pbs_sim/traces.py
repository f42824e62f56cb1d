"""Operation traces: reading, validating and streaming a table of recorded operations (pyarrow).

Owns: the trace formats (CSV, Parquet, JSONL, by suffix), their two column sets, the up-front scan
(:func:`scan_trace`: header, types and every row checked, counted and hashed in one streaming pass,
before a run is built) and the streaming reader the replay uses (:func:`batches`). Nothing here
holds more than one batch of a trace in memory (Parquet: ``BATCH_ROWS`` rows; CSV and JSONL: the
rows of ``BLOCK_BYTES`` bytes). Must not touch: SimPy (the
replay is ``pbs_sim.sim.trace``), the config dataclasses.

Column sets (extra columns are ignored, except a script's ``context``: a trace replays no
per-operation contexts, so one that gives them is refused rather than replayed without them):

- a user's trace: ``at_ms`` (issue time, ms, >= 0, non-decreasing), ``client`` (integer >= 0, the
  session), ``op`` (``read`` | ``write`` | ``rmw``), ``key`` (a name: any text, or an integer >= 0
  meaning the key named by its digits, ``pbs_sim.keys``), ``value`` optional (a write's value; empty
  = the default ``client:seq``);
- this tool's own ``ops`` table (``pbs-sim run --ops``): ``issued_at``, ``client``, ``kind``
  (``read`` | ``write``), ``key_name`` (or, from before keys had names, ``key``); every row is
  replayed, whatever its recorded status.

Errors: :class:`TraceError`, a ConfigError whose one line names the file, the row (the n-th
operation, 1-based; CSV also gives its line) and the reason.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import inputs
from .errors import ConfigError
from .numbers import num

BATCH_ROWS = 65_536  # Parquet: rows per batch
BLOCK_BYTES = 1 << 22  # CSV and JSONL: bytes per streamed block (a batch is one block's rows)
OPS = ("read", "write", "rmw")  # codes 0, 1, 2
READ, WRITE, RMW = 0, 1, 2
MAX_CLIENT = 2**31 - 1  # the history's client column is int32
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
USER_COLUMNS = ("at_ms", "client", "op", "key")
OPS_COLUMNS = ("issued_at", "client", "kind", "key")
SCRIPT_ONLY = ("context",)  # a script's column (pbs_sim.scripts) a trace refuses rather than ignores (an
# ``id`` column is common in application logs and harmless: ignored)


class TraceError(ConfigError):
    """A bad trace: one line naming the file, the row and the reason."""


@dataclass(frozen=True)
class TraceInfo:
    """What the up-front scan learnt: the replay needs the format, the column set and the key type;
    the config's work bounds need the row count and the time span."""

    path: str
    fmt: str
    form: str  # "user" or "ops"
    rows: int
    first_ms: float
    last_ms: float
    int_keys: bool
    max_key: int  # integer keys: the largest (-1 without rows or with text keys)
    max_client: int
    digest: str
    rmw_rows: int = 0
    columns: tuple[str, ...] = USER_COLUMNS  # (time, client, op, key[, value]) as the file names them


@dataclass
class Batch:
    """One chunk of a trace, as numpy arrays (``key`` int64, or object text when keys are text)."""

    start_row: int  # the row number (0-based) of the batch's first operation
    at_ms: np.ndarray
    client: np.ndarray
    op: np.ndarray
    key: np.ndarray
    value: list[str | None] | None = None  # the value column, if the trace has one


def trace_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise TraceError(str(path), None, f"unknown trace format {path.suffix or '(no suffix)'!r}: expected "
                                          ".csv, .parquet (.pq) or .jsonl (.ndjson)")
    return fmt


def resolve(value: str, base_dir: str | Path | None) -> Path:
    p = Path(value)
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def _columns(names: list[str], path: Path) -> tuple[str, tuple[str, ...]]:
    """The column set and the columns to read: (time, client, op, key[, value])."""
    have = set(names)
    if "at_ms" in have or "op" in have:
        missing = [c for c in USER_COLUMNS if c not in have]
        if missing:
            raise TraceError(str(path), None, f"missing column {', '.join(missing)} (a trace has columns "
                                              f"{', '.join(USER_COLUMNS)}[, value])")
        # a script's context columns would be silently dropped (extra columns are ignored): a trace's
        # writes are blind and its rmws carry their own read, so say where contexts are taken
        ctx = [c for c in SCRIPT_ONLY if c in have]
        if ctx:
            raise TraceError(str(path), None, f"column {ctx[0]!r}: a trace replays no per-operation contexts (its "
                                              "writes are blind, its rmws write what their own read returned); "
                                              "a script (workload.kind = \"script\") takes contexts")
        return "user", USER_COLUMNS + (("value",) if "value" in have else ())
    if "issued_at" in have and "kind" in have:
        if "key" not in have and "key_name" in have:
            have.add("key")
        missing = [c for c in OPS_COLUMNS if c not in have]
        if missing:
            raise TraceError(str(path), None, f"missing column {', '.join(missing)} (an ops table has "
                                              f"{', '.join(OPS_COLUMNS)})")
        # a run's own ops table names its keys in key_name (pbs_sim.keys); its values are derived
        # (client:seq, the same for the same stream) or explicit, and replay the same either way
        return "ops", ("issued_at", "client", "kind", "key_name" if "key_name" in names else "key")
    raise TraceError(str(path), None, f"missing columns: expected {', '.join(USER_COLUMNS)}[, value] (a trace) or "
                                      f"{', '.join(OPS_COLUMNS)} (a run's ops table); found {', '.join(names) or 'none'}")


def _header(path: Path, fmt: str) -> list[str]:
    """The column names, read without reading the table."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
            raise TraceError(str(path), None, f"not a readable Parquet file: {exc}") from None
    with open(path, "rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8", "replace").strip()
    if fmt == "csv":
        return [c.strip().strip('"') for c in text.split(",")] if text else []
    import json

    try:
        obj = json.loads(text) if text else {}
    except ValueError:
        raise TraceError(str(path), "row 1", "not a JSON object") from None
    if not isinstance(obj, dict):
        raise TraceError(str(path), "row 1", "not a JSON object")
    return list(obj)


def _raw_batches(path: Path, fmt: str, cols: tuple[str, ...]) -> Iterator[Any]:
    """pyarrow RecordBatches of the needed columns, streamed (never the whole table)."""
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=list(cols))
        return
    import io

    if fmt == "csv":
        # whole lines, BLOCK_BYTES at a time, each parsed on its own: pyarrow's streaming reader
        # (csv.open_csv) reads blocks ahead unboundedly on a fast disk (peak memory grew with the
        # file: 338 MB for a 248 MB trace), this holds one block
        import pyarrow.csv as pcsv

        types = {cols[0]: pa.float64(), "client": pa.int64(), cols[2]: pa.string(), cols[3]: pa.string(),
                 **({cols[4]: pa.string()} if len(cols) > 4 else {})}
        convert = pcsv.ConvertOptions(include_columns=list(cols), column_types=types)
        with open(path, "rb") as fh:
            header = fh.readline()
            names: dict[str, Any] = next(iter(pcsv.read_csv(io.BytesIO(header), read_options=pcsv.ReadOptions(
                autogenerate_column_names=True)).to_pylist()), {})
            options = pcsv.ReadOptions(column_names=[str(v) for v in names.values()], use_threads=False)
            while True:
                chunk = fh.read(BLOCK_BYTES)
                if not chunk:
                    return
                chunk += fh.readline()
                yield from pcsv.read_csv(io.BytesIO(chunk), read_options=options, convert_options=convert).to_batches()
    import pyarrow.json as pjson

    with open(path, "rb") as fh:  # JSONL: whole lines, ~4 MB at a time
        while True:
            chunk = fh.read(BLOCK_BYTES)
            if not chunk:
                return
            chunk += fh.readline()
            table = pjson.read_json(io.BytesIO(chunk))
            if len(cols) > 4 and cols[4] not in table.column_names:  # no value in this block: defaults
                table = table.append_column(cols[4], pa.nulls(table.num_rows, pa.string()))
            missing = [c for c in cols if c not in table.column_names]
            if missing:
                raise ValueError(f"missing field {', '.join(missing)}")
            yield from table.select(list(cols)).to_batches()


def _as_batch(rb: Any, cols: tuple[str, ...], start: int) -> Batch:
    import pyarrow as pa
    import pyarrow.compute as pc

    at = rb.column(cols[0])
    at = np.asarray(pc.cast(at, pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    client_col = rb.column("client")
    if client_col.null_count:
        bad = int(np.nonzero(np.asarray(client_col.is_null().to_numpy(zero_copy_only=False)))[0][0])
        raise ValueError(f"@{bad}:client is empty")
    try:
        client = np.asarray(pc.cast(client_col, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValueError("@-1:client is not an integer") from None
    ops = rb.column(cols[2])
    ops = pc.cast(ops, pa.string()).fill_null("")
    code = np.asarray(pc.index_in(ops, value_set=pa.array(OPS)).fill_null(-1).to_numpy(zero_copy_only=False),
                      dtype=np.int8)
    bad_op = np.nonzero(code < 0)[0]
    if len(bad_op):
        i = int(bad_op[0])
        raise ValueError(f"@{i}:unknown op {ops[i].as_py()!r} (expected read, write or rmw)")
    key_col = rb.column(cols[3])
    if key_col.null_count:
        bad = int(np.nonzero(np.asarray(key_col.is_null().to_numpy(zero_copy_only=False)))[0][0])
        raise ValueError(f"@{bad}:key is empty")
    if pa.types.is_integer(key_col.type):
        key = np.asarray(key_col.to_numpy(zero_copy_only=False), dtype=np.int64)
    else:
        text = pc.cast(key_col, pa.string())
        try:
            key = np.asarray(pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            key = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    value = None
    if len(cols) > 4:
        value = pc.cast(rb.column(cols[4]), pa.string()).to_pylist()
    return Batch(start, at, client, code, key, value)


def batches(path: str | Path, fmt: str, cols: tuple[str, ...]) -> Iterator[Batch]:
    """The trace's operations in batches (``cols``: the columns read, :attr:`TraceInfo.columns`),
    each checked (types, ops, clients, order within and across batches): a bad row raises
    :class:`TraceError` naming it, wherever in the file it is."""
    p = Path(path)
    row = 0
    last = -math.inf
    it = _raw_batches(p, fmt, cols)
    while True:
        try:
            rb = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - pyarrow's parse errors carry the row in their text
            raise TraceError(str(p), f"after row {row}", f"cannot parse: {str(exc).splitlines()[0]}") from None
        if rb.num_rows == 0:
            continue
        try:
            b = _as_batch(rb, cols, row)
        except ValueError as exc:
            where, _, reason = str(exc).partition(":")
            i = int(where[1:])
            raise _row_error(p, fmt, row + i if i >= 0 else None, reason) from None
        _check(b, last, p, fmt, cols[0])
        last = float(b.at_ms[-1])
        row += len(b.at_ms)
        yield b


def _row_error(path: Path, fmt: str, row: int | None, reason: str) -> TraceError:
    if row is None:
        return TraceError(str(path), None, reason)
    where = f"row {row + 1}" + (f" (line {row + 2})" if fmt == "csv" else "")
    return TraceError(str(path), where, reason)


def _check(b: Batch, last: float, path: Path, fmt: str, at_name: str) -> None:
    at = b.at_ms
    bad = np.nonzero(~np.isfinite(at) | (at < 0))[0]
    if len(bad):
        i = int(bad[0])
        raise _row_error(path, fmt, b.start_row + i, f"{at_name} must be a finite time >= 0, got {at[i]!r}")
    prev = np.concatenate(([last], at[:-1]))
    down = np.nonzero(at < prev)[0]
    if len(down):
        i = int(down[0])
        raise _row_error(path, fmt, b.start_row + i, f"times are not sorted: {at_name} {num(at[i])} comes after "
                                                     f"{num(prev[i])} (sort the trace by {at_name})")
    bad = np.nonzero((b.client < 0) | (b.client > MAX_CLIENT))[0]
    if len(bad):
        i = int(bad[0])
        raise _row_error(path, fmt, b.start_row + i, f"client must be an integer in 0..{MAX_CLIENT}, got {b.client[i]}")
    if b.key.dtype == np.int64:
        bad = np.nonzero(b.key < 0)[0]
        if len(bad):
            i = int(bad[0])
            raise _row_error(path, fmt, b.start_row + i, f"integer keys must be >= 0, got {b.key[i]}")


_CACHE: dict[tuple[str, int, int], TraceInfo] = {}


def scan_trace(value: str, base_dir: str | Path | None, source: str | None) -> TraceInfo:
    """Check the whole trace up front (header, then every row, streamed) and summarize it; cached
    per (file, mtime, size), so a sweep's many scenarios scan it once. The file's digest is noted
    for the scenario's inputs."""
    p = resolve(value, base_dir)
    if not p.exists():
        raise TraceError(source, "workload.trace", f"trace file {p} does not exist")
    if not p.is_file():
        raise TraceError(source, "workload.trace", f"trace {p} is not a regular file")
    fmt = trace_format(p)
    st = os.stat(p)
    ck = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(ck)
    if hit is not None:
        inputs.note_digest(p, hit.digest)
        return hit
    form, cols = _columns(_header(p, fmt), p)
    rows, first, last_ms = 0, math.nan, 0.0
    int_keys, max_key, max_client, rmw_rows = True, -1, -1, 0
    for b in batches(p, fmt, cols):
        rmw_rows += int(np.count_nonzero(b.op == RMW))
        if rows == 0:
            first = float(b.at_ms[0])
        rows += len(b.at_ms)
        last_ms = float(b.at_ms[-1])
        max_client = max(max_client, int(b.client.max()))
        if b.key.dtype == np.int64:
            max_key = max(max_key, int(b.key.max()))
        else:
            int_keys = False
    digest = inputs.note_file(p)
    info = TraceInfo(str(p), fmt, form, rows, first, last_ms, int_keys, max_key if int_keys else -1, max_client, digest,
                     rmw_rows, cols)
    _CACHE[ck] = info
    return info
