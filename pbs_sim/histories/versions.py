"""A history exported with its version metadata, read back into the run's own tables.

Owns: :func:`has_versions` (does a history file carry pbs-sim's version metadata: a ``;pbs-sim``
first line in EDN, a ``{"pbs_sim": ...}`` first line in JSONL, as ``pbs-sim export --versions``
writes) and :func:`run_frames` (the tables ``pbs_sim.checker`` reads -- ``ops``,
``sibling_settings``, ``causal_parents``, ``read_versions``, ``final_versions``, ``write_stamps``,
``rmw_reads`` -- rebuilt from it, so that ``pbs-sim check`` gives the version-level findings of the
run itself). The metadata keys are those of ``pbs_sim.export._Meta``. A history without them is
judged by values (``pbs_sim.histories.values``). Errors name the file, the line and the reason.
Must not touch: what the checks mean; the value-level reader (``pbs_sim.histories.records``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .edn import _line_forms
from .records import SUFFIXES, text_lines

if TYPE_CHECKING:
    import pandas as pd

META_HEADER = ";pbs-sim "  # pbs_sim.export.META_HEADER (not imported: export pulls in pandas)
META_FINAL = ";pbs-sim-final "
_STATUS = {"ok": "ok", "fail": "failed", "info": "timeout"}


def _fmt(path: Path, fmt: str | None) -> str | None:
    return fmt if fmt is not None else SUFFIXES.get(path.suffix.lower())


def has_versions(path: str | Path, fmt: str | None = None) -> bool:
    """Whether the history's first line is pbs-sim's version-metadata header."""
    p = Path(path)
    f = _fmt(p, fmt)
    if f not in ("edn", "jsonl") or not p.is_file():
        return False
    with p.open("rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            if f == "edn":
                return line.startswith(META_HEADER)
            return line.startswith('{"pbs_sim":')
    return False


def _records(p: Path, fmt: str) -> Iterator[tuple[int, str, Any]]:
    """(line, kind, value): kind "header", "final" or "op"."""
    for line, raw in text_lines(p):
        s = raw.strip()
        if not s:
            continue
        try:
            if fmt == "edn":
                if s.startswith(META_HEADER):
                    kind, body = "header", s[len(META_HEADER):]
                elif s.startswith(META_FINAL):
                    kind, body = "final", s[len(META_FINAL):]
                elif s.startswith(";"):
                    continue
                else:
                    kind, body = "op", s
                forms = _line_forms(body)
                if len(forms) != 1:
                    raise ValueError(f"{len(forms)} forms; expected one a line")
                value = forms[0]
            else:
                value = json.loads(s)
                kind = "op"
                if isinstance(value, dict) and "pbs_sim" in value:
                    kind, value = "header", value["pbs_sim"]
                elif isinstance(value, dict) and "pbs_sim_final" in value:
                    kind, value = "final", value["pbs_sim_final"]
        except ValueError as exc:  # json.JSONDecodeError and our EDN reader's reason
            raise ConfigError(str(p), None, f"line {line}: {exc}") from None
        yield line, kind, value


def run_frames(path: str | Path, fmt: str | None = None) -> dict[str, pd.DataFrame]:
    """The run's tables from a history with version metadata (module docstring)."""
    import numpy as np
    import pandas as pd

    p = Path(path)
    f = _fmt(p, fmt)
    assert f in ("edn", "jsonl")
    edn = f == "edn"

    def get(rec: dict[Any, Any], k: str) -> Any:
        return rec.get(k if edn else k.replace("-", "_"))

    header: dict[Any, Any] | None = None
    rows: dict[int, dict[str, Any]] = {}
    parents: list[tuple[int, int]] = []
    versions: list[tuple[int, int]] = []
    stamps: list[tuple[int, float]] = []
    rmw: list[tuple[int, int]] = []
    final: list[tuple[int, int, int]] = []
    for line, kind, rec in _records(p, f):
        def bad(reason: str, line: int = line) -> ConfigError:
            return ConfigError(str(p), None, f"line {line}: {reason}")

        if kind == "header":
            if header is not None or rows or not isinstance(rec, dict):
                raise bad("a second or misplaced pbs-sim header (it is the first line)")
            header = rec
            continue
        if header is None:
            raise bad("no pbs-sim header before the first operation")
        if kind == "final":
            if not (isinstance(rec, list) and len(rec) == 3 and all(isinstance(x, int) for x in rec)):
                raise bad("a final-state line is [node key version]")
            final.append((rec[0], rec[1], rec[2]))
            continue
        if not isinstance(rec, dict):
            raise bad("expected an operation map")
        oid = get(rec, "op-id")
        if not isinstance(oid, int):
            raise bad("no op id (:op-id / op_id): not a history pbs-sim exported with --versions")
        typ = str(rec.get("type"))
        fv = rec.get("f")
        if fv not in ("read", "write", "txn"):
            raise bad(f"f {fv!r}; expected read, write or txn")
        key: Any
        if fv == "txn":
            mops = rec.get("value")
            if not (isinstance(mops, list) and len(mops) == 1 and isinstance(mops[0], list) and len(mops[0]) == 3):
                raise bad("a pbs-sim export writes one micro-op a transaction")
            is_read, key = mops[0][0] == "r", mops[0][1]
        elif edn:
            is_read, key = fv == "read", (rec.get("value") or [None])[0]
        else:
            is_read, key = fv == "read", rec.get("key")
        r = rows.setdefault(oid, {})
        try:
            if typ == "invoke":
                if "issued_event" in r:
                    raise bad(f"op id {oid} invoked twice")
                ki = get(rec, "key-index")
                r.update(client=int(get(rec, "client")), key=int(key if ki is None else ki),
                         kind="read" if is_read else "write",
                         issued_at=float(get(rec, "at")), issued_event=int(get(rec, "event")), line=line)
                if not is_read:
                    parents.extend((oid, int(x)) for x in get(rec, "parents") or ())
                    if get(rec, "stamp") is not None:
                        stamps.append((oid, float(get(rec, "stamp"))))
                    if get(rec, "rmw-read") is not None:
                        rmw.append((oid, int(get(rec, "rmw-read"))))
            else:
                if "issued_event" not in r or "completed_event" in r:
                    raise bad(f"op id {oid} completes without one invocation before it")
                at = get(rec, "at")
                status = get(rec, "status")
                r.update(completed_at=float("nan") if at is None else float(at),
                         completed_event=int(get(rec, "event")), version=int(get(rec, "version")),
                         status=str(status) if status is not None else _STATUS.get(typ, "timeout"))
                versions.extend((oid, int(x)) for x in get(rec, "versions") or ())
        except ConfigError:
            raise
        except (TypeError, ValueError):
            raise bad("version metadata missing or not a number (:at, :event, :version, :client, a whole-number "
                      "key)") from None
    if header is None:
        raise ConfigError(str(p), None, "no pbs-sim header: a history without versions is judged by values")
    n = len(rows)
    missing = [o for o in range(n) if o not in rows]
    if missing:
        raise ConfigError(str(p), None, f"op id {missing[0]} missing: op ids are 0, 1, 2, ... (a truncated file?)")
    open_ = [o for o in range(n) if "completed_event" not in rows[o]]
    if open_:
        raise ConfigError(str(p), None, f"line {rows[open_[0]]['line']}: op id {open_[0]} never completes "
                                        "(a truncated file?)")
    cols = ("client", "key", "kind", "issued_at", "completed_at", "status", "version", "issued_event",
            "completed_event")
    ops = pd.DataFrame({"op_id": np.arange(n, dtype=np.int64),
                        **{c: [rows[o][c] for o in range(n)] for c in cols}})
    for c in ("client", "key", "version", "issued_event", "completed_event"):
        ops[c] = ops[c].astype(np.int64)
    for c in ("issued_at", "completed_at"):
        ops[c] = ops[c].astype(np.float64)
    tables = [str(t) for t in header.get("tables") or ()]
    out: dict[str, pd.DataFrame] = {"ops": ops}

    def table(name: str, data: list[Any], columns: list[str]) -> None:
        if name in tables:
            out[name] = pd.DataFrame(data, columns=columns)
            for c in columns:
                out[name][c] = out[name][c].astype(np.float64 if c == "timestamp_ms" else np.int64)

    table("causal_parents", parents, ["op_id", "parent"])
    table("read_versions", versions, ["op_id", "version"])
    table("write_stamps", stamps, ["op_id", "timestamp_ms"])
    table("rmw_reads", rmw, ["op_id", "read_op"])
    table("final_versions", final, ["node", "key", "version"])
    if "sibling_settings" in tables:
        def hv(k: str) -> Any:
            return header.get(k if edn else k.replace("-", "_")) if header is not None else None

        out["sibling_settings"] = pd.DataFrame([{"policy": str(hv("policy")), "merge": str(hv("merge")),
                                                 "max_siblings": int(hv("max-siblings")),
                                                 "siblings_warning": int(hv("siblings-warning"))}])
    for name, frame in out.items():
        if name != "ops" and "op_id" in frame:
            bad_ids = frame["op_id"][(frame["op_id"] < 0) | (frame["op_id"] >= n)]
            if len(bad_ids):
                raise ConfigError(str(p), None, f"{name}: op id {int(bad_ids.iloc[0])} is not an operation of the "
                                                f"history ({n:,} operations)")
    return out


__all__ = ["has_versions", "run_frames"]
