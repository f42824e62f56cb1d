"""Running replications: engine lookup, the worker function, and executors behind one interface.

Owns: resolving a sweep's ``engine`` name to a callable (the built-in ``predict`` / ``simulate`` via
``pbs_sim.engines.run_engine``, engines registered in-process with ``register_engine``, or an
importable ``"package.module:function"``); ``run_replication``, the pure function a worker runs —
it never raises for a failing engine, it returns a record with ``status = "error"``; and
``open_executor``, which hands back a ``concurrent.futures.Executor``: in-process serial, a local
process pool, or Dask distributed (a ``LocalCluster`` or an existing scheduler).
Must not touch: files (the parent process writes every result), validation of sweep files.

A record is plain JSON data (what a part file holds)::

    {"cell", "rep", "seed", "engine", "status": "ok"|"error", "error", "traceback",
     "summary": {metric: scalar}, "curve": {column: [values]} | None, "wall_s"}

An ok record's summary always has ``"seed"``: the engine's own, else the replication's seed as
``pbs_sim.rng.seed_label`` writes it (``"<root>:<cell>.<rep>"``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import math
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import Scenario
from ..engines import EngineFn, EngineResult, check_engine, register_engine, resolve_engine
from ..errors import ConfigError
from ..rng import replication_seed, seed_label

__all__ = ["EngineFn", "check_engine", "register_engine", "resolve_engine", "replication_seed"]

CONNECT_TIMEOUT_S = 20.0  # how long to try reaching an existing Dask scheduler


# ---------------------------------------------------------------------------------------------
# The worker function


@dataclass(frozen=True)
class Task:
    """Everything one replication needs; small and picklable. ``seed_cell`` is the cell whose seeds
    it runs with (None: ``cell`` itself; another cell under ``[sweep] common_seeds``)."""

    cell: int
    rep: int
    engine: str
    scenario: Scenario
    root_seed: int
    seed_cell: int | None = None

    @property
    def seed(self) -> np.random.SeedSequence:
        """``SeedSequence(root_seed, spawn_key=(seed_cell, rep))``."""
        return replication_seed(self.root_seed, self.cell if self.seed_cell is None else self.seed_cell, self.rep)


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v
    import json

    return json.dumps(v, default=str)  # a non-scalar: kept, as text


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 500 else text[:497] + "..."


def run_replication(task: Task) -> dict[str, Any]:
    """Run one replication; an exception in the engine becomes ``status = "error"``, never a raise."""
    return run_replication_full(task)[0]


def run_replication_full(task: Task) -> tuple[dict[str, Any], EngineResult | None]:
    """``run_replication`` that also returns the engine's own result (with its extra frames)."""
    result: EngineResult | None = None
    started = time.perf_counter()
    record: dict[str, Any] = {
        "cell": task.cell, "rep": task.rep, "seed": task.root_seed, "engine": task.engine,
        "status": "ok", "error": "", "traceback": "", "summary": {}, "curve": None,
    }
    try:
        fn = resolve_engine(task.engine)
        seed = task.seed
        result = fn(task.scenario, seed)
        record["summary"] = {str(k): _scalar(v) for k, v in result.summary.items()}
        # every results row names the seed its replication ran with (the store calls it
        # ``replication_seed``): the simulator reports its own; for an engine that does not (the
        # predictor, user engines) it is the seed handed to it here
        record["summary"].setdefault("seed", seed_label(seed))
        curve = result.curve
        if curve is not None and len(curve.columns):
            record["curve"] = {str(c): curve[c].tolist() for c in curve.columns}
    except Exception as exc:  # a failing replication is a result row, not a crashed sweep
        result = None
        record.update(status="error", error=_one_line(exc), traceback=traceback.format_exc(limit=20),
                      summary={}, curve=None)
    record["wall_s"] = time.perf_counter() - started
    return record, result


def failure_record(task: Task, exc: BaseException) -> dict[str, Any]:
    """The record of a replication whose worker failed outside the engine (a killed worker)."""
    return {
        "cell": task.cell, "rep": task.rep, "seed": task.root_seed, "engine": task.engine,
        "status": "error", "error": "executor: " + _one_line(exc), "traceback": "", "summary": {},
        "curve": None, "wall_s": math.nan,
    }


# ---------------------------------------------------------------------------------------------
# Executors


class SerialExecutor(cf.Executor):
    """Runs each task in the calling process at ``submit``; the reference for the other executors."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        fut: cf.Future[Any] = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:
            fut.set_exception(exc)
        return fut


def _watch_parent(parent: int) -> None:
    """Pool worker start-up: exit when the sweep process dies (even by SIGKILL), instead of lingering
    as an orphan blocked on the task queue."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="pbs-sim-parent-watch", daemon=True).start()


@dataclass(frozen=True)
class ExecutorInfo:
    """What ran the sweep (for the manifest) and how many tasks to keep in flight."""

    kind: str  # serial | process | dask
    workers: int
    address: str | None = None

    @property
    def window(self) -> int:
        return 1 if self.kind == "serial" else max(4, 4 * self.workers)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "address": self.address}


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: Any = None, *, dask_processes: bool = True
) -> Iterator[tuple[cf.Executor, ExecutorInfo]]:
    """An executor and its description.

    - ``scheduler`` None: ``workers == 1`` runs serially in this process; otherwise a local process
      pool of ``workers`` processes (default: the CPUs this process may use).
    - ``scheduler = "local"``: a Dask ``LocalCluster`` of ``workers`` single-threaded workers
      (``dask_processes=False`` keeps them as threads in this process, as the tests do).
    - ``scheduler = "tcp://host:8786"`` (any Dask address): an existing Dask cluster.
    - ``scheduler`` a ``distributed.Client``: that client (left open afterwards).
    """
    if workers is not None and workers < 1:
        raise ConfigError("--workers", None, f"must be >= 1, got {workers}")
    if scheduler is None or scheduler == "":
        n = workers or default_workers()
        if n == 1:
            with SerialExecutor() as ex:
                yield ex, ExecutorInfo("serial", 1)
            return
        pool = cf.ProcessPoolExecutor(max_workers=n, initializer=_watch_parent, initargs=(os.getpid(),))
        try:
            yield pool, ExecutorInfo("process", n)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    with _dask_executor(workers, scheduler, dask_processes) as pair:
        yield pair


@contextlib.contextmanager
def _dask_executor(
    workers: int | None, scheduler: Any, processes: bool
) -> Iterator[tuple[cf.Executor, ExecutorInfo]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--scheduler", None, "Dask is not installed; install the extra: pip install \"pbs-sim[dask]\""
        ) from None
    stack = contextlib.ExitStack()
    with stack:
        if isinstance(scheduler, Client):
            client = scheduler
            address = str(getattr(client.scheduler, "address", "client"))
        elif scheduler == "local":
            n = workers or default_workers()
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
            address = "local"
        elif isinstance(scheduler, str):
            try:
                client = stack.enter_context(Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"))
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError("--scheduler", None, f"cannot reach Dask scheduler {scheduler!r}: {exc}") from None
            address = scheduler
        else:
            raise ConfigError("--scheduler", None, f"expected 'local' or a Dask address, got {scheduler!r}")
        nthreads = sum(client.nthreads().values()) or (workers or 1)
        executor = client.get_executor(pure=False)
        try:
            yield executor, ExecutorInfo("dask", int(nthreads), address)
        finally:
            executor.shutdown(wait=False)
