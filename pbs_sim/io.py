"""Result files: one atomic writer, one strict JSON writer, tables as CSV or Parquet, manifests.

Owns: writing anything under a results directory so that a reader never sees a half-written file
(``atomic_path``: a temporary file in the same directory, optionally fsynced, then ``os.replace``;
every file pbs_sim writes goes through it), the package's one JSON writer (``dumps`` /
``write_json``: strict RFC 8259 JSON that any parser reads — NaN and infinities become ``null``, or
with ``exact_floats`` a tagged ``{"__float__": "inf"}`` that ``loads`` turns back into the float,
for records that must round-trip), and the provenance block of every manifest (pbs_sim and
dependency versions, git commit, Python, platform).
Must not touch: configs' meaning, SimPy, metrics. pandas is imported only by the table functions,
so a command that fails on a bad file does not pay for it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from .schema import RESULTS_SCHEMA as _RESULTS_SCHEMA

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no directory lock
    fcntl = None  # type: ignore[assignment]

FORMATS = ("csv", "parquet")
# What results files mean (pbs_sim.schema, where its history is kept); a sweep written under another
# schema (or another pbs_sim version) is not resumed (``sweep.store.check_identity``).
RESULTS_SCHEMA = _RESULTS_SCHEMA
FLOAT_TAG = "__float__"


@contextlib.contextmanager
def atomic_path(path: str | Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    ``fsync=False`` skips flushing the data to the disk before the rename: the rename is still
    atomic (a reader sees the old file or the whole new one), but after an OS crash the new file
    may be empty — fine for what can be recomputed (a sweep's parts), and ~5 ms cheaper."""
    target = Path(path)
    not_below_a_file(target)
    if target.is_dir():  # else os.replace fails at the end, naming our temporary file
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # name the file the caller asked for, not our temporary one
        if exc.filename is None or str(exc.filename).endswith(".tmp"):
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; results are meant to be shared like any file the user writes.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        if fsync:
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | Path, write: Callable[[IO[str]], object], *, fsync: bool = True) -> Path:
    """Write text through ``write(fh)`` atomically."""
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, "w", newline="") as fh:
        write(fh)
    return Path(path)


def write_text(path: str | Path, text: str, *, fsync: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(text), fsync=fsync)


# ---------------------------------------------------------------------------------------------
# JSON: one writer, strict


def jsonable(obj: Any, exact_floats: bool = False) -> Any:
    """``obj`` as plain JSON values: numpy scalars and arrays unwrapped, paths as text, tuples as
    lists, and non-finite floats as ``None`` (or, with ``exact_floats``, ``{"__float__": "inf"}``)."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return {FLOAT_TAG: repr(obj)} if exact_floats else None
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, exact_floats) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v, exact_floats) for v in obj]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy scalar or array
        return jsonable(obj.tolist(), exact_floats)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def dumps(obj: Any, *, indent: int | None = None, exact_floats: bool = False) -> str:
    """Strict JSON text of ``obj`` (see ``jsonable``); never ``NaN`` or ``Infinity``."""
    return json.dumps(jsonable(obj, exact_floats), indent=indent, allow_nan=False)


def _untag(d: dict[str, Any]) -> Any:
    if len(d) == 1 and FLOAT_TAG in d and isinstance(d[FLOAT_TAG], str):
        return float(d[FLOAT_TAG])
    return d


def loads(text: str) -> Any:
    """Parse JSON written by ``dumps`` (tagged floats come back as floats)."""
    return json.loads(text, object_hook=_untag)


def write_json(path: str | Path, obj: Any, *, exact_floats: bool = False, fsync: bool = True) -> Path:
    return write_text(path, dumps(obj, indent=2, exact_floats=exact_floats) + "\n", fsync=fsync)


# ---------------------------------------------------------------------------------------------
# Tables


def table_path(directory: str | Path, stem: str, fmt: str = "csv") -> Path:
    return Path(directory) / f"{stem}.{'parquet' if fmt == 'parquet' else 'csv'}"


def table_format(path: str | Path, source: str | None = "--out") -> str:
    """``csv`` or ``parquet`` from a file name's extension; any other is a ``ConfigError``."""
    from .errors import ConfigError

    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".parquet"):
        return suffix[1:]
    raise ConfigError(source, None, f"{str(path)!r}: the extension must be .csv or .parquet, got {suffix or 'none'!r}")


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
    import pandas as pd

    p = Path(path)
    return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)


def file_digest(path: str | Path, rows: int | None = None) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex}`` of a file (and ``"rows"`` when given): what a run's manifest
    records of each table, so a reader can tell a table truncated or edited since (``pbs-sim check``)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    out: dict[str, Any] = {"bytes": Path(path).stat().st_size, "sha256": h.hexdigest()}
    if rows is not None:
        out["rows"] = int(rows)
    return out


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
    return {"versions": versions(), "git_commit": git_commit(), "created_at": now_iso(),
            "results_schema": RESULTS_SCHEMA}


# ---------------------------------------------------------------------------------------------
# An output directory as one unit

RUN_MANIFEST_KIND = "pbs-sim run"
FIGURE_SUFFIXES = (".png", ".svg")  # what `pbs-sim plot` writes into a results directory
# Files derived from a run and written into its directory by other commands: figures (`pbs-sim
# plot`) and exported histories (`pbs-sim export`, history.edn / history-elle.edn / history.jsonl). A
# run directory holding them is still a run's (a new `run --out` replaces them with it, no --force needed).
DERIVED_SUFFIXES = (*FIGURE_SUFFIXES, ".edn", ".jsonl")
LOCK = ".lock"  # OUT/.lock: held by whichever pbs-sim run or sweep is writing OUT


def _lock_holder(path: Path) -> tuple[str, str]:
    """(command, pid) of whoever wrote ``path`` last (the lock's holder while it is held)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = []
    return (lines[0] if lines and lines[0] else "pbs-sim command"), (lines[1] if len(lines) > 1 else "?")


def acquire_lock(directory: Path, what: str) -> IO[str]:
    """Take ``directory/.lock`` (an advisory ``flock``, released by the OS when the process ends,
    even on SIGKILL) and return its open file, to be closed to release it. A lock already held, by
    any process, is a ``ConfigError`` naming the command that holds it (``what`` is written into
    the file for that). Without ``fcntl`` (not POSIX) there is no lock."""
    from .errors import ConfigError

    path = directory / LOCK
    fh = open(path, "a")  # noqa: SIM115 - held until the caller closes it
    if fcntl is None:  # pragma: no cover
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        holder, pid = _lock_holder(path)
        raise ConfigError("--out", None, f"another {holder} is writing to {directory} right now (pid {pid}); "
                                         "wait for it to finish or choose another --out") from None
    except BaseException:
        fh.close()
        raise
    with contextlib.suppress(OSError):  # who holds it, for the message above; advisory only
        fh.truncate(0)
        fh.write(f"{what}\n{os.getpid()}\n")
        fh.flush()
    return fh


@contextlib.contextmanager
def out_lock(out: Path, what: str) -> Iterator[None]:
    """Hold ``OUT/.lock`` for the block (``acquire_lock``); ``out`` is created if missing."""
    from .errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError("--out", None, f"{out} exists and is not a directory")
    not_below_a_file(out)
    out.mkdir(parents=True, exist_ok=True)
    fh = acquire_lock(out, what)
    try:
        yield
    finally:
        fh.close()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_dir_state(out: Path) -> tuple[str, str]:
    """What ``out`` holds, for ``pbs-sim run --out``: ``("empty" | "run" | "sweep" | "foreign", detail)``.

    ``run``: written by ``pbs-sim run`` — its manifest lists every other file, except what other
    commands derived from it (``DERIVED_SUFFIXES``: figures, exported histories) and the lock;
    replacing it as a whole is safe. ``sweep``: a sweep's directory.
    ``foreign``: anything else (``detail`` names a file pbs-sim did not write)."""
    if not out.exists():
        return "empty", ""
    names = sorted(p.name for p in out.iterdir() if p.name != LOCK)  # the lock is nobody's result
    if not names:
        return "empty", ""
    man = _read_json(out / "manifest.json")
    kind = man.get("kind") if isinstance(man, dict) else None
    if kind == "pbs-sim sweep" or ".parts" in names:
        return "sweep", "manifest.json" if kind else ".parts"
    if isinstance(man, dict) and (kind == RUN_MANIFEST_KIND or man.get("command") == "pbs-sim run"):
        listed = set(man.get("files") or [])
        extra = [n for n in names if n != "manifest.json" and n not in listed and Path(n).suffix not in DERIVED_SUFFIXES]
        return ("foreign", extra[0]) if extra else ("run", "")
    return "foreign", names[0]


@contextlib.contextmanager
def unit_dir(out: str | Path, *, force: bool = False, what: str = "pbs-sim run") -> Iterator[Path]:
    """Write a results directory as one unit: yield a fresh staging directory beside ``out``; when
    the block succeeds it becomes ``out`` by rename, replacing a previous run's directory whole (a
    reader sees the old run or the new one, never a mix); on failure it is removed.

    ``out`` must be missing, empty or a previous ``pbs-sim run`` directory (see ``run_dir_state``);
    a sweep's directory or one holding files pbs-sim did not write is refused (``ConfigError``)
    unless ``force``, which then moves the new files in, manifest last, and removes the pbs-sim
    result files (tables, manifests, sweep parts) the directory held, leaving any other file alone.
    The staging directory is created before the caller does any work, so an unwritable ``out``
    (read-only file system, a path below a file, a name too long) fails at once (``OSError``).

    ``OUT/.lock`` (``acquire_lock``, the lock ``pbs-sim sweep`` takes) is held from before ``out``
    is inspected until the new directory is in place, so a second run or a sweep into the same
    ``out`` meanwhile is refused (``ConfigError``) instead of one result set silently replacing the
    other; the lock file stays in the directory (empty of results, ignored by ``run_dir_state``)."""
    from .errors import ConfigError

    given = Path(out)  # as the user wrote it, for messages
    target = Path(os.path.abspath(out))  # `--out .` has a name and a parent
    if target.exists() and not target.is_dir():
        raise ConfigError("--out", None, f"{given} exists and is not a directory")
    parent = target.parent
    not_below_a_file(target)  # `--out file.txt/res`: say which path is not a directory
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if len(target.name.encode()) + 40 > os.pathconf(parent, "PC_NAME_MAX"):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(given))
        created = not target.exists()
        target.mkdir(exist_ok=True)  # to hold OUT/.lock (removed again if nothing is written)
    except OSError as exc:
        if exc.filename is None:  # name the path the user gave
            raise OSError(exc.errno, exc.strerror, str(given)) from None
        raise
    # the lock `pbs-sim sweep` takes too: two runs (or a run and a sweep) never write one --out at once
    lock = acquire_lock(target, what)
    try:
        state, detail = run_dir_state(target)
        if state in ("sweep", "foreign") and not force:
            holds = "a pbs-sim sweep" if state == "sweep" else f"files {what} did not write (e.g. {detail})"
            raise ConfigError("--out", None, f"{given} holds {holds}; choose another --out, or pass --force")
        _remove_stale_staging(parent, target.name)
        try:
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.pbs-sim-{os.getpid()}-", suffix=".tmp",
                                          dir=parent))
        except OSError as exc:
            if exc.filename is None or ".pbs-sim-" in str(exc.filename):  # name the path the user gave
                raise OSError(exc.errno, exc.strerror, str(given)) from None
            raise
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)
        try:
            yield stage
            if state == "run" or (state == "empty" and created):
                # the new directory's lock is taken before it replaces the old one: whichever
                # directory another process finds at OUT, its lock is held until we are done
                stage_lock = acquire_lock(stage, what)
                try:
                    old = stage.with_name(stage.name[: -len(".tmp")] + ".old")
                    os.rename(target, old)
                    os.rename(stage, target)
                    _remove_run_dir(old)
                finally:
                    stage_lock.close()
            else:  # an existing empty directory (keep it: it may be someone's cwd), or forced into one
                # that is not (only) ours
                _remove_result_files(target, {p.name for p in stage.iterdir()})
                staged = sorted(stage.iterdir(), key=lambda p: p.name == "manifest.json")  # manifest last
                for p in staged:
                    os.replace(p, target / p.name)
                stage.rmdir()
        finally:
            if stage.exists():
                import shutil

                shutil.rmtree(stage, ignore_errors=True)
    finally:
        if created and target.is_dir() and {p.name for p in target.iterdir()} <= {LOCK}:
            (target / LOCK).unlink(missing_ok=True)  # refused or failed: leave no trace (lock still held)
            with contextlib.suppress(OSError):
                target.rmdir()
        lock.close()


def not_below_a_file(path: Path) -> None:
    """``NotADirectoryError`` naming the first existing ancestor of ``path`` that is not a directory
    (``--out afile/x.csv``: the OS would say "File exists" of ``afile`` on mkdir)."""
    for up in Path(os.path.abspath(path)).parents:
        if up.exists():
            if not up.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(up))
            return


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(parent: Path, name: str) -> None:
    """Remove staging directories beside ``name`` left by killed runs (their process is gone)."""
    import shutil

    if not parent.is_dir():
        return
    prefix = f".{name}.pbs-sim-"
    for p in parent.iterdir():
        if not (p.name.startswith(prefix) and p.is_dir()):
            continue
        pid = p.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _remove_run_dir(path: Path) -> None:
    """Remove a previous run's directory: the files its manifest lists, figures, the manifest."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _remove_result_files(out: Path, staged: set[str]) -> None:
    """Before forced files move in: remove the pbs-sim result files ``out`` held (what its manifest
    listed, the manifest, a sweep's parts, and the other format's copy of every staged
    table, so CSV then Parquet does not leave both), and nothing else."""
    import shutil

    man = _read_json(out / "manifest.json")
    files = man.get("files") if isinstance(man, dict) else None
    listed = set(files.values()) if isinstance(files, dict) else set(files) if isinstance(files, list) else set()
    other = {f"{Path(n).stem}{suffix}" for n in staged for suffix in (".csv", ".parquet")}
    for name in listed | other | {"manifest.json"}:  # not .lock: the caller holds it
        p = out / name
        if p.is_file() or p.is_symlink():
            p.unlink()
    shutil.rmtree(out / ".parts", ignore_errors=True)
