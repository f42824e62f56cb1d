"""Result files: atomic writes, tables as CSV or Parquet, and run manifests.

Owns: writing anything under a results directory so that a reader never sees a half-written file
(write to a temporary file in the same directory, fsync, ``os.replace``), and the provenance block of
every manifest (pbs_sim and dependency versions, git commit, Python, platform).
Must not touch: configs' meaning, SimPy, metrics.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import pandas as pd

FORMATS = ("csv", "parquet")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; results are meant to be shared like any file the user writes.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | Path, write: Callable[[IO[str]], object]) -> Path:
    """Write text through ``write(fh)`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        write(fh)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def table_path(directory: str | Path, stem: str, fmt: str = "csv") -> Path:
    return Path(directory) / f"{stem}.{'parquet' if fmt == 'parquet' else 'csv'}"


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write a DataFrame atomically as CSV or Parquet (by ``fmt`` or the path's suffix)."""
    p = Path(path)
    kind = fmt or ("parquet" if p.suffix == ".parquet" else "csv")
    with atomic_path(p) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return p


def read_table(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The commit of the checkout pbs_sim runs from (or ``cwd``), with ``+dirty`` if modified."""
    where = Path(cwd) if cwd else Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True,
            text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def versions() -> dict[str, str]:
    """Versions of pbs_sim, Python and the libraries results depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("pbs-sim", "simpy", "numpy", "pandas", "scipy", "pyarrow", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance() -> dict[str, Any]:
    """The block every manifest carries."""
    return {"versions": versions(), "git_commit": git_commit(), "created_at": now_iso()}
