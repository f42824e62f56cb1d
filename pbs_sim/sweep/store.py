"""The results directory of a sweep: durable per-replication parts, the tidy tables, the manifest.

Owns: the layout of ``OUT/`` and its guarantees —

- every finished replication is written at once, atomically, as its own JSON part
  ``OUT/.parts/c<cell>-r<rep>.json`` (a killed sweep loses at most the runs in flight);
- the tables (``results``, ``curves``, ``summary``, ``curves_summary``, and ``paired`` for a sweep
  with ``common_seeds``) are always rebuilt from the parts, so a resumed sweep and an uninterrupted
  one give the same files;
- ``manifest.json`` is written when a sweep starts (``status = "running"``) and when it stops; its
  ``identity`` (the sweep hash, which covers the content of every data file read, the pbs_sim
  version and ``io.RESULTS_SCHEMA``) is how ``--resume`` refuses to mix parts that were computed
  differently: another sweep, an edited trace or profile file, another version of pbs_sim;
- whether a directory may be used: empty, or this sweep with ``resume``, or ``force``.
Must not touch: running engines, validation of sweep files.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import io
from .._lazy import LazyModule
from ..errors import ConfigError
from .spec import SweepSpec, column_name

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from scipy import stats
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    np = LazyModule("numpy")
    pd = LazyModule("pandas")
    stats = LazyModule("scipy.stats")

PARTS = ".parts"
MANIFEST = "manifest.json"
LOCK = io.LOCK
TABLES = ("results", "curves", "summary", "curves_summary", "paired")  # paired: only with common_seeds
# ``root_seed`` is the sweep's [sweep] seed (the same on every row); the replication's own seed,
# SeedSequence(root_seed, spawn_key=(cell, rep)) as the engine reports it (or, if it reports none, as
# ``execute.run_replication`` handed it over), is ``replication_seed``.
FIXED_COLUMNS = ("cell", "rep", "root_seed", "status", "error", "engine")
RENAMED_METRICS = {"seed": "replication_seed"}
CONVENIENCE_COLUMNS = ("n", "r", "w", "profile")
CURVE_COLUMNS = ("t_ms", "p_consistent", "ci_low", "ci_high")
MANIFEST_KIND = "pbs-sim sweep"


# ---------------------------------------------------------------------------------------------
# The directory


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``OUT/.lock`` (``pbs_sim.io.out_lock``: an advisory ``flock``, released by the OS even on
    SIGKILL) while a sweep writes to ``out``; ``pbs-sim run --out`` takes the same lock, so no two
    processes write one directory at once."""
    with io.out_lock(out, "pbs-sim sweep"):
        yield


def unlock_and_remove(out: Path) -> None:
    """Remove a directory that holds nothing but the lock (a sweep that failed before writing)."""
    (out / LOCK).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        out.rmdir()


def part_name(cell: int, rep: int) -> str:
    return f"c{cell:06d}-r{rep:04d}.json"


def prepare_out(out: Path, spec: SweepSpec, resume: bool, force: bool) -> dict[str, Any] | None:
    """Check ``out`` may hold this sweep; return the previous manifest when resuming.

    - missing or empty: a fresh sweep;
    - holds this sweep (same hash): ``resume`` continues it (computing only missing runs),
      ``force`` deletes its results and starts over, neither is an error;
    - holds another sweep or unrelated files: only ``force`` (which removes the sweep files it
      knows — manifest, parts, tables — and leaves anything else alone).
    """
    where = "--out"
    if out.exists() and not out.is_dir():
        raise ConfigError(where, None, f"{out} exists and is not a directory")
    if not out.exists() or not [p for p in out.iterdir() if not (p.name.endswith(".tmp") or p.name == LOCK)]:
        return None
    old = read_manifest(out)
    if force:
        clean_out(out)
        return None
    if old is None:
        raise ConfigError(
            where, None, f"{out} is not empty and holds no sweep manifest; choose an empty --out, or pass --force"
        )
    check_identity(out, old, spec)
    if old.get("sweep_hash") != spec.hash:
        raise ConfigError(
            where, None,
            f"{out} holds a different sweep ({old.get('name')}, hash {old.get('sweep_hash')} != {spec.hash}); "
            "choose another --out, or pass --force to replace it",
        )
    if not resume:
        state = "a finished" if old.get("status") == "complete" else "an unfinished"
        raise ConfigError(
            where, None, f"{out} already holds {state} run of this sweep; pass --resume to continue (or reload) it, "
            "or --force to start over",
        )
    return old


def identity(spec: SweepSpec) -> dict[str, Any]:
    """What must be equal for parts on disk to be reused: see ``check_identity``."""
    from .. import __version__

    return {
        "sweep_hash": spec.hash, "pbs_sim_version": __version__, "results_schema": io.RESULTS_SCHEMA,
        "inputs": spec.inputs,
    }


def check_identity(out: Path, old: Mapping[str, Any], spec: SweepSpec) -> None:
    """Refuse to reuse ``out``'s parts when they were computed by another pbs_sim version or results
    schema, or from data files whose content has changed since. (A different sweep altogether is
    the hash check in ``prepare_out``.) Each refusal is one line ending in what to do."""
    now = identity(spec)
    found = old.get("identity")
    was: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    old_v, old_s = was.get("pbs_sim_version", "unknown"), was.get("results_schema", "unknown")
    if (old_v, old_s) != (now["pbs_sim_version"], now["results_schema"]):
        raise ConfigError(
            "--out", None,
            f"{out} holds results of pbs_sim {old_v} (results schema {old_s}), this is pbs_sim "
            f"{now['pbs_sim_version']} (schema {now['results_schema']}): its parts may not mean the same; "
            "pass --force to recompute them, or choose another --out",
        )
    listed = was.get("inputs")
    old_inputs: Mapping[str, Any] = listed if isinstance(listed, Mapping) else {}
    for path, digest in now["inputs"].items():
        if path in old_inputs and old_inputs[path] != digest:
            raise ConfigError(
                "--out", None,
                f"{path} has changed since the parts in {out} were computed from it (sha256 "
                f"{str(old_inputs[path])[:12]} -> {digest[:12]}); pass --force to recompute them, or choose another --out",
            )


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == MANIFEST_KIND else None


def clean_out(out: Path) -> None:
    """Remove the files a sweep writes (and nothing else)."""
    shutil.rmtree(out / PARTS, ignore_errors=True)
    for name in (MANIFEST, *(f"{t}.{ext}" for t in TABLES for ext in io.FORMATS)):
        (out / name).unlink(missing_ok=True)


def write_part(out: Path, record: Mapping[str, Any], fsync: bool = False) -> dict[str, Any]:
    """Write one replication's record atomically (a temporary file renamed over the part); return it
    as read back (JSON-normalized), so tables built now and tables rebuilt from disk on a resume are
    identical.

    No fsync by default: a rename is atomic, so a part survives the sweep process being killed at any
    moment, and after an OS crash a part that never reached the disk is either absent or unreadable,
    and ``load_parts`` recomputes it. (An fsync per part cost ~5 ms, more than a small run.)"""
    text = io.dumps(record, exact_floats=True)  # strict JSON; inf and nan kept exactly (tagged)
    target = out / PARTS / part_name(int(record["cell"]), int(record["rep"]))
    io.write_text(target, text, fsync=fsync)
    return io.loads(text)  # type: ignore[no-any-return]


def load_parts(out: Path, spec: SweepSpec) -> dict[tuple[int, int], dict[str, Any]]:
    """Every finished replication on disk, keyed by (cell, rep). Leftover temporary files of a killed
    writer are removed; a part that does not belong to this sweep is an error."""
    parts_dir = out / PARTS
    done: dict[tuple[int, int], dict[str, Any]] = {}
    if not parts_dir.exists():
        return done
    for path in sorted(parts_dir.iterdir()):
        if path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
            continue
        if path.suffix != ".json":
            continue
        try:
            rec = io.loads(path.read_text())
            key = (int(rec["cell"]), int(rec["rep"]))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # unreadable: recompute it (atomic writes make this rare)
            continue
        if not (0 <= key[0] < len(spec.cells) and 0 <= key[1] < spec.replications) or path.name != part_name(*key):
            raise ConfigError(str(path), None, "this part does not belong to the sweep in this directory; use --force")
        done[key] = rec
    return done


# ---------------------------------------------------------------------------------------------
# Tables


def _param_value(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, list | dict) else v


def cell_columns(spec: SweepSpec) -> pd.DataFrame:
    """Per cell: ``cell``, one column per swept key, and the convenience columns n, r, w, profile."""
    rows = []
    for c in spec.cells:
        row: dict[str, Any] = {"cell": c.index}
        for k in spec.swept_keys:
            row[column_name(k)] = _param_value(c.params[k])
        sc = c.scenario
        row.update(n=sc.cluster.replication, r=sc.cluster.read_quorum, w=sc.cluster.write_quorum,
                   profile=sc.latency.profile)
        rows.append(row)
    return pd.DataFrame(rows, columns=["cell", *param_columns(spec), *CONVENIENCE_COLUMNS])


def param_columns(spec: SweepSpec) -> list[str]:
    return [column_name(k) for k in spec.swept_keys if column_name(k) not in CONVENIENCE_COLUMNS]


def _metric_columns(
    recs: Sequence[Mapping[str, Any]], cells: pd.DataFrame, params: Sequence[str]
) -> dict[str, str | None]:
    """Summary key -> results column, in first-seen order. A key named like an existing column
    (the engines echo n, r, w, profile, engine) is dropped when it always equals that column, else
    renamed ``metric_<key>`` (e.g. ``metric_wall_s``, the engine's own timing)."""
    out: dict[str, str | None] = {}
    for r in recs:
        for k in r.get("summary") or {}:
            if k in out:
                continue
            if k in RENAMED_METRICS:
                out[k] = RENAMED_METRICS[k]
            elif k in params or k in ("engine", "status"):
                same = all(
                    x["summary"][k] == (x[k] if k in ("engine", "status") else cells.at[int(x["cell"]), k])
                    for x in recs if k in (x.get("summary") or {})
                )
                out[k] = None if same else f"metric_{k}"
            elif k in (*FIXED_COLUMNS, "wall_s"):
                out[k] = f"metric_{k}"
            else:
                out[k] = k
    return out


def results_frame(spec: SweepSpec, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per replication, sorted by (cell, rep): fixed columns, parameters, metrics, wall_s."""
    recs = sorted(records, key=lambda r: (int(r["cell"]), int(r["rep"])))
    cells = cell_columns(spec).set_index("cell")
    params = [*param_columns(spec), *CONVENIENCE_COLUMNS]
    metrics = {k: c for k, c in _metric_columns(recs, cells, params).items() if c is not None}
    per_cell = {int(c): {str(k): v for k, v in vals.items()} for c, vals in zip(cells.index, cells.to_dict("records"), strict=True)}
    rows = []
    for r in recs:
        cell = int(r["cell"])
        row: dict[str, Any] = {
            "cell": cell, "rep": int(r["rep"]), "root_seed": int(r["seed"]), "status": r["status"],
            "error": r.get("error") or "", "engine": r["engine"],
        }
        row.update(per_cell[cell])
        summary = r.get("summary") or {}
        for k, col in metrics.items():
            row[col] = summary.get(k)
        row["wall_s"] = r.get("wall_s")
        rows.append(row)
    columns = [*FIXED_COLUMNS, *params, *metrics.values(), "wall_s"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in metrics.values():  # None (error rows) -> NaN in numeric metric columns
        vals = frame[col]
        if not _all_bool(vals) and vals.map(_is_number_or_none).all():
            frame[col] = pd.to_numeric(vals)
    return frame


def _is_number_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_))


def _all_bool(s: pd.Series) -> bool:
    vals = s.dropna()
    return len(vals) > 0 and all(isinstance(v, bool | np.bool_) for v in vals)


def curves_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Long table of every replication's curve: cell, rep, t_ms, p_consistent, ci_low, ci_high, ..."""
    recs = [r for r in sorted(records, key=lambda r: (int(r["cell"]), int(r["rep"]))) if r.get("curve")]
    extra: list[str] = []
    for r in recs:
        extra += [c for c in r["curve"] if c not in (*CURVE_COLUMNS, *extra, "cell", "rep")]
    columns = ["cell", "rep", *CURVE_COLUMNS, *extra]
    if not recs:
        return pd.DataFrame(columns=columns)
    lengths = [len(next(iter(r["curve"].values()))) for r in recs]
    data: dict[str, Any] = {
        "cell": np.repeat([int(r["cell"]) for r in recs], lengths),
        "rep": np.repeat([int(r["rep"]) for r in recs], lengths),
    }
    for col in columns[2:]:
        values: list[Any] = []
        for r, n in zip(recs, lengths, strict=True):
            values.extend(r["curve"].get(col, [None] * n))
        data[col] = pd.Series(values).infer_objects() if any(v is None for v in values) else values
    return pd.DataFrame(data, columns=columns)


def numeric_metrics(results: pd.DataFrame, spec: SweepSpec) -> list[str]:
    skip = {*FIXED_COLUMNS, *param_columns(spec), *CONVENIENCE_COLUMNS}
    out = []
    for col in results.columns:
        if col in skip:
            continue
        s = results[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s) or _all_bool(s):
            out.append(col)
    return out


def summary_frame(spec: SweepSpec, results: pd.DataFrame) -> pd.DataFrame:
    """Per cell: parameters, n_ok, n_error, and ``<metric>_mean``, ``_ci_low``, ``_ci_high`` (95%
    Student-t over the cell's ok replications) for every numeric metric."""
    base = cell_columns(spec).reset_index(drop=True)
    metrics = numeric_metrics(results, spec)
    cells = base["cell"]
    is_ok = (results["status"] == "ok").astype(int)
    out = {
        "n_ok": is_ok.groupby(results["cell"]).sum().reindex(cells, fill_value=0).to_numpy(),
        "n_error": (1 - is_ok).groupby(results["cell"]).sum().reindex(cells, fill_value=0).to_numpy(),
    }
    ok = results[results["status"] == "ok"]
    for m in metrics:
        x = pd.to_numeric(ok[m].astype(float), errors="coerce")
        g = x.groupby(ok["cell"])
        agg = pd.DataFrame({
            "mean": g.mean(), "sd": g.std(ddof=1), "count": g.count(),
            "finite": np.isfinite(x).groupby(ok["cell"]).sum(),
        }).reindex(cells)
        n = agg["count"].to_numpy(dtype=float)
        mean = agg["mean"].to_numpy(dtype=float)
        # an interval needs two values, all finite (an infinite t-visibility was never reached)
        good = (n >= 2) & (agg["finite"].to_numpy(dtype=float) == n)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = stats.t.ppf(0.975, np.where(good, n - 1, 1)) * agg["sd"].to_numpy(dtype=float) / np.sqrt(n)
        out[f"{m}_mean"] = mean
        out[f"{m}_ci_low"] = np.where(good, mean - half, np.nan)
        out[f"{m}_ci_high"] = np.where(good, mean + half, np.nan)
    return pd.concat([base, pd.DataFrame(out)], axis=1)


def curves_summary_frame(curves: pd.DataFrame) -> pd.DataFrame:
    """Per cell and t of the union of its replications' grids: the mean curve over replications, each
    read as the step function it estimates (``pbs_sim.metrics.curves``: the predictor tabulates each
    replication on its own grid), with a 95% Student-t interval clipped to [0, 1] (with a single
    replication, that replication's own interval), and ``n_reps``, the replications averaged."""
    from ..metrics.curves import curves_summary

    return curves_summary(curves, by="cell", rep="rep")


def build_tables(spec: SweepSpec, records: Iterable[Mapping[str, Any]]) -> dict[str, pd.DataFrame]:
    recs = list(records)
    results = results_frame(spec, recs)
    curves = curves_frame(recs)
    tables = {
        "results": results,
        "curves": curves,
        "summary": summary_frame(spec, results),
        "curves_summary": curves_summary_frame(curves),
    }
    if spec.paired:  # cells share seeds: paired differences against each cell's baseline
        from .paired import paired_frame

        tables["paired"] = paired_frame(spec, results)
    return tables


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: an object column mixing types is written as text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1:
                out[col] = out[col].map(lambda v: v if v is None else str(v))
    return out


def write_tables(out: Path, tables: Mapping[str, pd.DataFrame], fmt: str) -> dict[str, str]:
    """Write every table atomically; remove the other format's copies so one directory never holds
    two disagreeing versions. Returns ``{table: file name}``."""
    files = {}
    for name, frame in tables.items():
        path = io.table_path(out, name, fmt)
        io.write_table(_parquet_safe(frame) if fmt == "parquet" else frame, path, fmt)
        other = io.table_path(out, name, "csv" if fmt == "parquet" else "parquet")
        other.unlink(missing_ok=True)
        files[name] = path.name
    return files


def manifest(
    spec: SweepSpec,
    *,
    status: str,
    counts: Mapping[str, int],
    started_at: str,
    finished_at: str | None,
    executor: Mapping[str, Any],
    fmt: str,
    files: Mapping[str, str] | None = None,
    resumed_at: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "kind": MANIFEST_KIND,
        "name": spec.name,
        "description": spec.description,
        "sweep_file": spec.source,
        "scenario_file": spec.scenario_path,
        "sweep_hash": spec.hash,
        "identity": identity(spec),
        "status": status,
        "counts": dict(counts),
        "n_cells": len(spec.cells),
        "replications": spec.replications,
        "n_runs": spec.n_runs,
        "started_at": started_at,
        "resumed_at": list(resumed_at),
        "finished_at": finished_at,
        "executor": dict(executor),
        "format": fmt,
        "files": dict(files or {}),
        "seeds": _seeds_note(spec),
        "sweep": spec.resolved(),
        "cells": [_cell_entry(spec, c.index, c.params) for c in spec.cells],
        "provenance": io.provenance(),
    }


def _seeds_note(spec: SweepSpec) -> str:
    if not spec.paired:
        return "replication (cell, rep) uses numpy SeedSequence(seed, spawn_key=(cell, rep))"
    return ("common seeds: replication (cell, rep) uses numpy SeedSequence(seed, spawn_key=(seed_cell, rep)), "
            "seed_cell as listed per cell; paired differences against baseline_cell are in the paired table")


def _cell_entry(spec: SweepSpec, cell: int, params: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"cell": cell, "params": dict(params)}
    if spec.paired:
        entry.update(seed_cell=spec.seed_cell(cell), baseline_cell=spec.baseline_cell(cell))
    return entry


def read_tables(out: Path) -> dict[str, pd.DataFrame]:
    """The tables of a finished sweep directory (whichever format it was written in)."""
    found = {}
    for name in TABLES:
        for fmt in io.FORMATS:
            path = io.table_path(out, name, fmt)
            if path.exists():
                found[name] = io.read_table(path)
                break
    return found
