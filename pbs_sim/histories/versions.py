"""A history exported with its version metadata, read back into the run's own tables.

Owns: :func:`has_versions` (does a history file carry pbs-sim's version metadata: a ``;pbs-sim``
first line in EDN, a ``{"pbs_sim": ...}`` first line in JSONL, as ``pbs-sim export --versions``
writes) and :func:`run_frames` (the tables ``pbs_sim.checker`` reads -- ``ops``,
``sibling_settings``, ``causal_parents``, ``session_parents``, ``read_versions``, ``final_versions``, ``write_stamps``,
``rmw_reads`` -- rebuilt from it, so that ``pbs-sim check`` gives the version-level findings of the
run itself). The metadata keys are those of ``pbs_sim.export._Meta``. A history without them is
judged by values (``pbs_sim.histories.values``). Errors name the file, the line and the reason.
Must not touch: what the checks mean; the value-level reader (``pbs_sim.histories.records``).
"""

from __future__ import annotations

import json
from array import array
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
    # The ops table as columns (array: 8 bytes a cell), one row per invocation in file order;
    # completions fill their row in place. row_of: op id -> row.
    row_of: dict[int, int] = {}
    c_oid, c_client, c_key, c_iss_ev, c_comp_ev, c_ver, c_line = (array("q") for _ in range(7))
    c_iss_at, c_comp_at = array("d"), array("d")
    c_write = array("b")
    status_of: dict[int, str] = {}  # row -> status (every completed row)
    parents: list[tuple[int, int]] = []
    session: list[tuple[int, int]] = []
    versions: list[tuple[int, int]] = []
    stamps: list[tuple[int, float]] = []
    rmw: list[tuple[int, int]] = []
    final: list[tuple[int, int, int]] = []
    nan = float("nan")
    for line, kind, rec in _records(p, f):
        def bad(reason: str, line: int = line) -> ConfigError:
            return ConfigError(str(p), None, f"line {line}: {reason}")

        if kind == "header":
            if header is not None or row_of or not isinstance(rec, dict):
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
        try:
            if typ == "invoke":
                if oid in row_of:
                    raise bad(f"op id {oid} invoked twice")
                ki = get(rec, "key-index")
                client, k = int(get(rec, "client")), int(key if ki is None else ki)
                at, ev = float(get(rec, "at")), int(get(rec, "event"))
                row_of[oid] = len(c_oid)
                c_oid.append(oid)
                c_client.append(client)
                c_key.append(k)
                c_write.append(0 if is_read else 1)
                c_iss_at.append(at)
                c_iss_ev.append(ev)
                c_line.append(line)
                c_comp_at.append(nan)
                c_comp_ev.append(-1)  # not completed yet
                c_ver.append(0)
                if not is_read:
                    parents.extend((oid, int(x)) for x in get(rec, "parents") or ())
                    session.extend((oid, int(x)) for x in get(rec, "session-parents") or ())
                    if get(rec, "stamp") is not None:
                        stamps.append((oid, float(get(rec, "stamp"))))
                    if get(rec, "rmw-read") is not None:
                        rmw.append((oid, int(get(rec, "rmw-read"))))
            else:
                r = row_of.get(oid)
                if r is None or c_comp_ev[r] != -1:
                    raise bad(f"op id {oid} completes without one invocation before it")
                at = get(rec, "at")
                status = get(rec, "status")
                ev, ver = int(get(rec, "event")), int(get(rec, "version"))
                c_comp_at[r] = nan if at is None else float(at)
                c_comp_ev[r] = ev
                c_ver[r] = ver
                status_of[r] = str(status) if status is not None else _STATUS.get(typ, "timeout")
                versions.extend((oid, int(x)) for x in get(rec, "versions") or ())
        except ConfigError:
            raise
        except (TypeError, ValueError, OverflowError):
            raise bad("version metadata missing or not a number (:at, :event, :version, :client, a whole-number "
                      "key)") from None
    if header is None:
        raise ConfigError(str(p), None, "no pbs-sim header: a history without versions is judged by values")
    n = len(c_oid)
    oids = np.frombuffer(c_oid, np.int64) if n else np.zeros(0, np.int64)
    order = np.argsort(oids, kind="stable")
    wrong = np.flatnonzero(oids[order] != np.arange(n))
    if len(wrong):
        raise ConfigError(str(p), None, f"op id {int(wrong[0])} missing: op ids are 0, 1, 2, ... (a truncated "
                                        "file?)")
    comp_ev = np.frombuffer(c_comp_ev, np.int64) if n else np.zeros(0, np.int64)
    open_ = np.flatnonzero(comp_ev == -1)
    if len(open_):
        r0 = int(open_[0])
        raise ConfigError(str(p), None, f"line {c_line[r0]}: op id {c_oid[r0]} never completes (a truncated file?)")

    def col(a: array[Any], dtype: Any) -> Any:
        return (np.frombuffer(a, dtype) if n else np.zeros(0, dtype))[order]

    is_w = col(c_write, np.int8).astype(bool)
    ops = pd.DataFrame({
        "op_id": np.arange(n, dtype=np.int64), "client": col(c_client, np.int64), "key": col(c_key, np.int64),
        "kind": np.where(is_w, "write", "read").astype(object),
        "issued_at": col(c_iss_at, np.float64), "completed_at": col(c_comp_at, np.float64),
        "status": np.asarray([status_of[r] for r in order.tolist()], dtype=object),
        "version": col(c_ver, np.int64), "issued_event": col(c_iss_ev, np.int64),
        "completed_event": col(c_comp_ev, np.int64)})
    tables = [str(t) for t in header.get("tables") or ()]
    out: dict[str, pd.DataFrame] = {"ops": ops}

    def table(name: str, data: list[Any], columns: list[str]) -> None:
        if name in tables:
            out[name] = pd.DataFrame(data, columns=columns)
            for c in columns:
                out[name][c] = out[name][c].astype(np.float64 if c == "timestamp_ms" else np.int64)

    table("causal_parents", parents, ["op_id", "parent"])
    table("session_parents", session, ["op_id", "parent"])
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
