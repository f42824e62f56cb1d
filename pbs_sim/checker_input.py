"""Reading a run's history from its results directory, for ``pbs-sim check`` and ``pbs-sim export``.

Owns: :func:`load_run` -- verify a ``pbs-sim run --ops`` directory against its manifest and read the
few tables a consumer needs (:data:`CHECK_TABLES` for the checker, :data:`EXPORT_TABLES` for the
Jepsen export), each typed and validated, and the list of what may be wrong with one. Every
problem is a :class:`~pbs_sim.errors.ConfigError` naming the file (and column) and the reason,
raised before any checking starts: no manifest, a manifest of another kind, a table the manifest
lists that is missing, a table the manifest does not list (two runs mixed), a file whose size,
SHA-256 or row count differs from the manifest's (truncated or edited since the run wrote it), an
empty file, bytes that are not UTF-8, a missing column, a value that is not a number, op ids not
numbered 0, 1, 2, ... in row order, a side table naming an op id the run does not have.
A run of 0 operations is not an error: its tables come back empty with the right column types.
Must not touch: what the checks mean (``pbs_sim.checker``), writing results (``pbs_sim.io``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .io import RUN_MANIFEST_KIND, file_digest

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
WRITE_WITH = "write the run with `pbs-sim run SCENARIO --ops --out DIR`"

# Each table a consumer may read: column -> type ("int", "float" or "str"). Only these columns are
# checked (a table may carry more, e.g. ``event``); "int" columns must be whole numbers, no blanks.
SCHEMAS: dict[str, dict[str, str]] = {
    "ops": {"op_id": "int", "client": "int", "key": "int", "kind": "str", "issued_at": "float",
            "completed_at": "float", "status": "str", "version": "int", "issued_event": "int",
            "completed_event": "int"},
    "sibling_settings": {"policy": "str", "merge": "str", "max_siblings": "int", "siblings_warning": "int"},
    "causal_parents": {"op_id": "int", "parent": "int"},
    "session_parents": {"op_id": "int", "parent": "int"},
    "read_versions": {"op_id": "int", "version": "int"},
    "final_versions": {"key": "int", "version": "int"},
    "write_stamps": {"op_id": "int", "timestamp_ms": "float"},
    "rmw_reads": {"op_id": "int"},
}
#: What ``pbs-sim check`` reads: the operations, and (when the run wrote them) the versioning
#: policy, the causal parents (the carried contexts and the sessions' knowledge), the versions each read returned, the final replica state, the LWW
#: write stamps and the read-modify-write pairs. Nothing else (not ``applies``, not ``reads``).
CHECK_TABLES = ("ops", "sibling_settings", "causal_parents", "session_parents", "read_versions", "final_versions",
                "write_stamps", "rmw_reads")
#: What ``pbs-sim export`` reads.
EXPORT_TABLES = ("ops", "read_versions")
TABLE_SUFFIXES = (".csv", ".parquet")


def _fail(path: Path | str, reason: str, key: str | None = None) -> ConfigError:
    return ConfigError(str(path), key, reason)


def read_manifest(d: Path) -> dict[str, Any]:
    """The run manifest of ``d`` (``ConfigError`` when missing, unreadable or not a run's)."""
    path = d / MANIFEST
    if not path.is_file():
        raise _fail(path, f"missing: not a results directory of `pbs-sim run` ({WRITE_WITH})")
    try:
        man = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
    except ValueError as exc:
        raise _fail(path, f"not valid JSON: {exc}") from None
    if not isinstance(man, dict):
        raise _fail(path, "not a pbs-sim manifest (expected a JSON object)")
    kind = man.get("kind")
    if kind != RUN_MANIFEST_KIND:
        what = "a sweep's directory" if kind == "pbs-sim sweep" else f"kind {kind!r}"
        raise _fail(path, f"{what}, not a run's: check and export read one `pbs-sim run --ops` directory")
    files = man.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _fail(path, "files: expected the list of the run's files")
    return man


def load_run(results_dir: str | Path, tables: Iterable[str] = CHECK_TABLES, *,
             note: Callable[[str], None] | None = None) -> dict[str, pd.DataFrame]:
    """Verify ``results_dir`` against its manifest and read ``tables`` (those the run wrote; ``ops``
    must be one), typed as :data:`SCHEMAS` says (module docstring for what is refused). ``note``
    receives one line per table read (``pbs-sim check -v``)."""
    d = Path(results_dir)
    if not d.exists():
        raise _fail(d, "no such results directory")
    if not d.is_dir():
        raise _fail(d, "not a directory (expected a results directory of `pbs-sim run --ops`)")
    man = read_manifest(d)
    listed = set(man["files"])
    found = man.get("digests")
    digests: dict[str, Any] = found if isinstance(found, dict) else {}
    wanted = list(dict.fromkeys(tables))
    paths: dict[str, Path] = {}
    for stem in wanted:
        names = [f"{stem}{s}" for s in TABLE_SUFFIXES]
        mine = [n for n in names if n in listed]
        for n in names:  # a table the manifest does not list is another run's
            if n not in listed and (d / n).exists():
                raise _fail(d / n, "not listed in the directory's manifest: the directory mixes the tables of "
                                   "two runs (rerun into a fresh --out)")
        if not mine:
            if stem == "ops":
                raise _fail(d, f"the run has no ops table ({WRITE_WITH})")
            continue  # the run did not write it (e.g. no causal parents under LWW): optional
        path = d / mine[0]
        if not path.is_file():
            raise _fail(path, "listed in the directory's manifest, is missing (rerun the command that wrote it)")
        paths[stem] = path
    frames: dict[str, pd.DataFrame] = {}
    for stem, path in paths.items():
        digest = digests.get(path.name)
        _verify(path, digest if isinstance(digest, dict) else None)
        frames[stem] = _read(path, stem, digest if isinstance(digest, dict) else None)
        if note is not None:
            how = "size, SHA-256 and rows as its manifest says" if isinstance(digest, dict) else \
                "no digest in its manifest (written before pbs-sim recorded them): parsed only"
            note(f"read {path} ({len(frames[stem]):,} rows; {how})")
    _check_references(frames, paths)
    return frames


def _verify(path: Path, digest: Mapping[str, Any] | None) -> None:
    """Size and SHA-256 against the manifest: a file truncated mid-row, or edited, fails here."""
    if digest is None:
        return  # a manifest from before digests were recorded: the parse checks below still run
    size = path.stat().st_size
    if size == 0 and digest.get("bytes"):
        raise _fail(path, f"empty (0 bytes; its manifest says {digest['bytes']:,}): truncated since the run "
                          "wrote it (rerun the run)")
    if "bytes" in digest and size != digest["bytes"]:
        raise _fail(path, f"{size:,} bytes, its manifest says {digest['bytes']:,}: truncated or changed since "
                          "the run wrote it (rerun the run)")
    if "sha256" in digest and file_digest(path)["sha256"] != digest["sha256"]:
        raise _fail(path, "its SHA-256 differs from its manifest's: changed or damaged since the run wrote it "
                          "(rerun the run)")


def _read(path: Path, stem: str, digest: Mapping[str, Any] | None) -> pd.DataFrame:
    import pandas as pd

    schema = SCHEMAS.get(stem, {})
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's errors have no common base; any of them is one line
            raise _fail(path, f"not a readable Parquet file: {' '.join(str(exc).split())}") from None
    else:
        if path.stat().st_size == 0:
            raise _fail(path, "empty (not even a header line); rerun the run")
        try:
            frame = pd.read_csv(path, encoding="utf-8", encoding_errors="strict")
        except UnicodeDecodeError as exc:
            raise _fail(path, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
        except pd.errors.EmptyDataError:
            raise _fail(path, "empty (not even a header line); rerun the run") from None
        except pd.errors.ParserError as exc:
            raise _fail(path, f"not a well-formed CSV table: {' '.join(str(exc).split())}") from None
    if digest is not None and "rows" in digest and len(frame) != digest["rows"]:
        raise _fail(path, f"{len(frame):,} rows, its manifest says {digest['rows']:,}: truncated or changed "
                          "since the run wrote it")
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise _fail(path, f"missing column (the table has {', '.join(map(str, frame.columns)) or 'none'})",
                    missing[0])
    first_row = 2 if path.suffix == ".csv" else 1  # CSV: line numbers, the header is line 1
    where = "line" if path.suffix == ".csv" else "row"
    cols: dict[str, Any] = {}
    for col, typ in schema.items():
        cols[col] = _typed(frame[col], typ, path, col, where, first_row)
    return frame.assign(**cols)


def _typed(s: pd.Series, typ: str, path: Path, col: str, where: str, first_row: int) -> Any:
    import numpy as np
    import pandas as pd

    if typ == "str":
        if isinstance(s.dtype, pd.CategoricalDtype):
            return s
        return s.astype(str)
    if pd.api.types.is_bool_dtype(s):
        raise _fail(path, "expected numbers, got true/false values", col)
    if pd.api.types.is_numeric_dtype(s):
        num, blank = s, s.isna()
    else:  # a column pandas could not read as numbers: find the first value that is not one
        blank = s.isna() | (s.astype(str).str.strip() == "")
        num = pd.to_numeric(s.where(~blank), errors="coerce")
    bad = num.isna() & ~blank
    if typ == "int":
        bad |= blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = s.iloc[i]
        what = "an empty value (a truncated row?)" if blank.iloc[i] else f"{value!r} is not a number"
        raise _fail(path, f"{where} {i + first_row}: {what}", col)
    if typ == "float":
        return num.astype(np.float64)
    arr = num.to_numpy(np.float64)
    frac = arr != np.floor(arr)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise _fail(path, f"{where} {i + first_row}: {s.iloc[i]!r} is not a whole number", col)
    return num.astype(np.int64)


def _check_references(frames: Mapping[str, pd.DataFrame], paths: Mapping[str, Path]) -> None:
    """The checker indexes operations by ``op_id`` as a row number: they must be 0, 1, 2, ..., and
    every side table's ``op_id`` must name one of them."""
    import numpy as np

    ops = frames["ops"]
    n = len(ops)
    oid = ops["op_id"].to_numpy(np.int64)
    wrong = np.flatnonzero(oid != np.arange(n))
    if len(wrong):
        i = int(wrong[0])
        where = "line" if paths["ops"].suffix == ".csv" else "row"
        raise _fail(paths["ops"], f"{where} {i + (2 if where == 'line' else 1)}: op_id {int(oid[i])}; expected "
                                  f"{i} (op ids are 0, 1, 2, ... in row order)", "op_id")
    for stem, frame in frames.items():
        if stem == "ops" or "op_id" not in SCHEMAS.get(stem, {}):
            continue
        o = frame["op_id"].to_numpy(np.int64)
        out = np.flatnonzero((o < 0) | (o >= n))
        if len(out):
            i = int(out[0])
            raise _fail(paths[stem], f"row {i + 1}: op_id {int(o[i])} is not an operation of this run "
                                     f"({n:,} operations)", "op_id")


__all__ = ["CHECK_TABLES", "EXPORT_TABLES", "SCHEMAS", "load_run", "read_manifest"]
