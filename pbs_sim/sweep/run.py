"""Driving a sweep: submit the missing replications, persist each as it finishes, build the tables.

Owns: ``run_sweep`` (the whole life of a results directory: check it, resume it, run what is
missing on an executor with a bounded number of tasks in flight, write parts, tables and the
manifest), ``rebuild_run`` (one replication alone, exactly as the sweep ran it) and
``load_results`` (read a finished directory back).
Must not touch: how engines compute, sweep file validation, the file layout (``store``).
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import io
from .._lazy import LazyModule
from ..engines import EngineResult
from ..errors import ConfigError
from . import store
from .execute import (
    ExecutorInfo,
    Task,
    failure_record,
    open_executor,
    run_replication,
    run_replication_full,
)
from .spec import SweepSpec, load_sweep, sweep_from_dict

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

SweepLike = SweepSpec | str | Path | Mapping[str, Any]


@dataclass
class SweepResult:
    """The tables of a sweep (as written), its manifest and where it lives."""

    out: Path
    results: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    curves_summary: pd.DataFrame
    manifest: dict[str, Any]
    computed: int = 0  # replications computed by this call (the rest came from a previous run)
    spec: SweepSpec | None = field(default=None, repr=False)
    # paired differences (pbs_sim.sweep.paired): only a sweep with [sweep] common_seeds has rows
    paired: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest.get("counts", {}))

    @property
    def n_ok(self) -> int:
        return int(self.counts.get("ok", 0))

    @property
    def n_error(self) -> int:
        return int(self.counts.get("error", 0))

    @property
    def n_missing(self) -> int:
        return int(self.counts.get("missing", 0))

    @property
    def ok(self) -> bool:
        """Every replication finished and none failed."""
        return self.n_error == 0 and self.n_missing == 0


def as_spec(sweep: SweepLike) -> SweepSpec:
    if isinstance(sweep, SweepSpec):
        return sweep
    if isinstance(sweep, Mapping):
        return sweep_from_dict(sweep)
    return load_sweep(sweep)


def default_out(spec: SweepSpec) -> Path:
    """``results/<sweep file stem>/`` (relative to the current directory)."""
    return Path("results") / spec.name


def run_sweep(
    sweep: SweepLike,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    out: str | Path | None = None,
    fmt: str = "csv",
    resume: bool = False,
    force: bool = False,
    retry_errors: bool = False,
    progress: bool | None = None,
    dask_processes: bool = True,
) -> SweepResult:
    """Run a sweep into ``out``: every cell x replication, on the chosen executor, resumable.

    Each replication (cell, rep) runs with ``SeedSequence(seed, spawn_key=(cell, rep))`` (under
    ``[sweep] common_seeds``, its seed cell's: see ``pbs_sim.sweep.spec``) and is
    written at once to ``out/.parts/``; the tables are rebuilt from the parts, so a sweep killed at
    any moment loses only the runs in flight. Results are identical whichever executor runs them
    (only ``wall_s`` differs).

    Args:
        sweep: a sweep file, a dict shaped like one, or a ``SweepSpec``.
        workers: 1 runs serially in this process; more (default: every usable CPU) a process pool.
        scheduler: ``"local"`` (a Dask LocalCluster of ``workers``), a Dask address such as
            ``"tcp://host:8786"``, or a ``distributed.Client``.
        out: the results directory (default ``results/<sweep file stem>/``).
        fmt: ``"csv"`` or ``"parquet"``.
        resume: continue a directory holding this same sweep, computing only the missing replications.
        force: discard whatever sweep results ``out`` holds.
        retry_errors: with ``resume``, also rerun the replications that failed.
        progress: None shows a bar only when stderr is a terminal; True also prints a line per tenth
            of the runs elsewhere (as ``pbs-sim sweep`` does).
        dask_processes: a LocalCluster of processes (True) or threads.

    Returns:
        A ``SweepResult``: the tables as written (``results``, ``curves``, ``summary``,
        ``curves_summary``, and ``paired`` with common seeds), the ``manifest``, ``out``, ``computed`` (replications computed by this
        call) and ``counts``.

    Raises:
        ConfigError: a bad sweep, or an ``out`` that holds another sweep or unrelated files (unless
            ``force``), or a resume of parts computed another way (a changed input or pbs_sim version).
        OSError: the results directory cannot be written.

    Example:
        >>> res = run_sweep({"sweep": {"engine": "predict", "replications": 2, "seed": 7},
        ...                  "base": {"predict": {"trials": 2000}},
        ...                  "grid": {"cluster.read_quorum": [1, 2]}}, workers=1, out="runs/doc-sweep")
        >>> len(res.results), res.n_ok, sorted(res.summary["cluster_read_quorum"])
        (4, 4, [1, 2])
    """
    spec = as_spec(sweep)
    if fmt not in io.FORMATS:
        raise ConfigError("--format", None, f"{fmt!r} is not one of {', '.join(io.FORMATS)}")
    if workers is not None and workers < 1:
        raise ConfigError("--workers", None, f"must be >= 1, got {workers}")
    out_dir = Path(out) if out is not None else default_out(spec)
    created = not out_dir.exists()
    with store.locked(out_dir):
        try:
            return _run_locked(spec, out_dir, workers, scheduler, fmt, resume, force, retry_errors, progress,
                               dask_processes)
        except BaseException:
            if created and {p.name for p in out_dir.iterdir()} <= {store.LOCK}:
                store.unlock_and_remove(out_dir)  # nothing was written: leave no trace
            raise


def _run_locked(
    spec: SweepSpec, out_dir: Path, workers: int | None, scheduler: Any, fmt: str, resume: bool, force: bool,
    retry_errors: bool, progress: bool | None, dask_processes: bool,
) -> SweepResult:
    old = store.prepare_out(out_dir, spec, resume=resume, force=force)
    records = store.load_parts(out_dir, spec) if old is not None else {}
    if retry_errors:
        records = {k: r for k, r in records.items() if r.get("status") != "error"}
    started_at = str(old.get("started_at")) if old else io.now_iso()
    resumed_at = [*(old.get("resumed_at") or []), io.now_iso()] if old else []
    todo = [k for k in spec.runs() if k not in records]
    prev = (old or {}).get("executor") or {}
    info = ExecutorInfo(str(prev.get("kind", "none")), int(prev.get("workers", 0)), prev.get("address"))

    def save(status: str, finished: bool) -> dict[str, Any]:
        counts = _counts(spec, records)
        tables = store.build_tables(spec, records.values()) if finished else None
        files = store.write_tables(out_dir, tables, fmt) if tables is not None else {}
        man = store.manifest(
            spec, status=status, counts=counts, started_at=started_at,
            finished_at=io.now_iso() if finished else None, executor=info.to_dict(), fmt=fmt,
            files=files, resumed_at=resumed_at,
        )
        io.write_json(out_dir / store.MANIFEST, man)
        man["_tables"] = tables
        return man

    computed = 0
    if not todo:
        save("running", finished=False)
    else:
        from ..cli.progress import Progress, detail

        # a bar on a terminal; elsewhere, when asked for (the CLI asks), a line per tenth of the runs
        shown = sys.stderr.isatty() if progress is None else progress
        bar = Progress(spec.n_runs, "run", spec.name, enabled=shown, initial=len(records))
        try:
            # the executor first: a bad --scheduler fails before anything is written
            with open_executor(workers, scheduler, dask_processes=dask_processes) as (executor, info):
                save("running", finished=False)
                for key, rec in _drive(executor, info, spec, todo):
                    records[key] = store.write_part(out_dir, rec)
                    computed += 1
                    bar(1)
                    detail(f"{spec.name}: cell {key[0]} rep {key[1]}: {rec.get('status')}"
                           + (f" ({rec.get('error')})" if rec.get("status") != "ok" else ""))
        except KeyboardInterrupt:
            bar.close()
            save("interrupted", finished=True)
            raise
        bar.close()
    missing = spec.n_runs - len(records)
    man = save("complete" if missing == 0 else "incomplete", finished=True)
    tables = man.pop("_tables")
    return SweepResult(out=out_dir, manifest=man, computed=computed, spec=spec, **tables)


def task_of(spec: SweepSpec, cell: int, rep: int) -> Task:
    """The task of replication ``rep`` of ``cell``: the sweep and ``rebuild_run`` build it here alone,
    so a rebuilt row runs with the seed the sweep gave it (its seed cell's, under common seeds)."""
    seed_cell = spec.seed_cell(cell)
    return Task(cell, rep, spec.engine, spec.cells[cell].scenario, spec.seed,
                None if seed_cell == cell else seed_cell)


def _counts(spec: SweepSpec, records: Mapping[tuple[int, int], Mapping[str, Any]]) -> dict[str, int]:
    ok = sum(1 for r in records.values() if r.get("status") == "ok")
    return {"ok": ok, "error": len(records) - ok, "missing": spec.n_runs - len(records)}


def _drive(
    executor: cf.Executor, info: ExecutorInfo, spec: SweepSpec, todo: list[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], dict[str, Any]]]:
    """Yield ((cell, rep), record) as replications finish, keeping ``info.window`` tasks in flight.

    An exception from the executor itself (not the engine: ``run_replication`` never raises) becomes
    an error record, except a broken pool, which stops the sweep with the rest left missing.
    """
    pending: dict[cf.Future[dict[str, Any]], Task] = {}
    queue = iter(todo)
    broken = False

    def fill() -> None:
        nonlocal broken
        while not broken and len(pending) < info.window:
            key = next(queue, None)
            if key is None:
                return
            cell, rep = key
            task = task_of(spec, cell, rep)
            try:
                pending[executor.submit(run_replication, task)] = task
            except cf.BrokenExecutor:
                broken = True

    try:
        fill()
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: (pending[f].cell, pending[f].rep)):
                task = pending.pop(fut)
                exc = fut.exception()
                if isinstance(exc, cf.BrokenExecutor):
                    broken = True
                    continue
                rec = fut.result() if exc is None else failure_record(task, exc)
                yield (task.cell, task.rep), rec
            fill()
    finally:
        for fut in pending:
            fut.cancel()


@dataclass
class RebuiltRun:
    """One replication rebuilt alone: its results row, its curve, and the engine's own result."""

    row: dict[str, Any]
    curve: pd.DataFrame
    result: EngineResult | None
    record: dict[str, Any]


def rebuild_run(sweep: SweepLike, cell: int, rep: int) -> RebuiltRun:
    """Run replication ``rep`` of cell ``cell`` alone, in this process, exactly as the sweep runs it
    (same scenario, ``SeedSequence(seed, spawn_key=(cell, rep))``, or the seed cell's under
    ``common_seeds``): the row equals the sweep's results row in every column but ``wall_s``."""
    spec = as_spec(sweep)
    if not 0 <= cell < len(spec.cells):
        raise ConfigError("--only", None, f"cell {cell} is not in 0..{len(spec.cells) - 1}")
    if not 0 <= rep < spec.replications:
        raise ConfigError("--only", None, f"rep {rep} is not in 0..{spec.replications - 1}")
    rec, result = run_replication_full(task_of(spec, cell, rep))
    rec = io.loads(io.dumps(rec, exact_floats=True))  # as a part file holds it
    row = {str(k): v for k, v in store.results_frame(spec, [rec]).iloc[0].items()}
    return RebuiltRun(row=row, curve=store.curves_frame([rec]), result=result, record=rec)


def load_results(out: str | Path) -> SweepResult:
    """Read a sweep's results directory back (tables in whichever format it was written)."""
    out_dir = Path(out)
    man = store.read_manifest(out_dir)
    if man is None:
        raise ConfigError(str(out_dir), None, "not a pbs-sim sweep results directory (no manifest.json)")
    tables = store.read_tables(out_dir)
    if "results" not in tables:
        raise ConfigError(str(out_dir), None, "has no results table (the sweep never finished; rerun it with --resume)")
    empty = pd.DataFrame()
    return SweepResult(
        out=out_dir, manifest=man, results=tables["results"], curves=tables.get("curves", empty),
        summary=tables.get("summary", empty), curves_summary=tables.get("curves_summary", empty),
        paired=tables.get("paired", empty),
    )
