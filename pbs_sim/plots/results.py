"""Reading a results directory for display: the tables of ``pbs-sim sweep`` or ``pbs-sim run``.

Owns: :class:`ResultsDir` and :func:`load_results_dir` (finding CSV or Parquet tables, joining a
sweep's per-cell parameters onto its curves, a run's parameters from its manifest).
Must not touch: writing results (``pbs_sim.sweep``, the CLI), metrics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..io import read_table
from .common import canonical


@dataclass
class ResultsDir:
    """The tables of a ``pbs-sim sweep`` or ``pbs-sim run`` output directory, ready to plot."""

    path: Path
    kind: str  # "sweep" (results + curves + summary) or "run" (one summary row + curve)
    results: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def metrics(self) -> pd.DataFrame | None:
        """Per-configuration metrics: the sweep summary if any, else per-replication results."""
        return self.summary if self.summary is not None else self.results


def _find_table(directory: Path, stem: str) -> Path | None:
    for ext in ("parquet", "csv"):
        p = directory / f"{stem}.{ext}"
        if p.is_file():
            return p
    return None


def _read(directory: Path, stem: str) -> pd.DataFrame | None:
    p = _find_table(directory, stem)
    if p is None:
        return None
    try:
        return read_table(p)
    except Exception as exc:  # a corrupt or empty table is a user-facing problem, not a crash
        raise ConfigError(str(p), None, f"cannot read table: {exc}".splitlines()[0]) from None


def _scenario_in(obj: Any) -> dict[str, Any] | None:
    """The first nested dict that looks like a scenario (has cluster and latency tables)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("cluster"), dict) and isinstance(obj.get("latency"), dict):
            return obj
        for v in obj.values():
            found = _scenario_in(v)
            if found is not None:
                return found
    return None


def _run_params(manifest: dict[str, Any]) -> dict[str, Any]:
    sc = _scenario_in(manifest)
    if sc is None:
        return {}
    cl, lat = sc["cluster"], sc["latency"]
    out = {"profile": lat.get("profile"), "r": cl.get("read_quorum"), "w": cl.get("write_quorum"),
           "n": cl.get("replication")}
    return {k: v for k, v in out.items() if v is not None}


def _swept_columns(manifest: dict[str, Any]) -> list[str]:
    """Result columns of the swept keys named in a sweep manifest (dotted -> underscores)."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "grid" and isinstance(v, dict):
                    found.extend(str(key).replace(".", "_") for key in v)
                elif k in ("zip", "zipped") and isinstance(v, list):
                    for z in v:
                        if isinstance(z, dict) and isinstance(z.get("keys"), list):
                            found.extend(str(key).replace(".", "_") for key in z["keys"])
                else:
                    walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(manifest)
    return list(dict.fromkeys(found))


def load_results_dir(path: str | Path) -> ResultsDir:
    """Read a results directory: sweep (``results``, ``curves``, ``summary``, ``manifest.json``) or
    single run (``summary`` + ``curve``); tables may be CSV or Parquet. Extra tables found there
    (``versions_behind``, ``durability``) land in ``frames``. Curves get their configuration's
    parameter columns (profile, r, w, n, engine, swept keys) joined on ``cell``; a curve's own count
    column ``n`` is renamed ``count`` so it cannot be confused with N.
    """
    d = Path(path)
    if not d.exists():
        raise ConfigError(str(d), None, "no such results directory")
    if not d.is_dir():
        raise ConfigError(str(d), None, "not a directory; expected a pbs-sim sweep or run output directory")
    manifest: dict[str, Any] = {}
    mpath = d / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(str(mpath), None, f"not valid JSON: {exc}") from None
    results, summary = _read(d, "results"), _read(d, "summary")
    curves = _read(d, "curves")
    frames = {stem: t for stem in ("versions_behind", "durability", "by_decile", "loss_vs_size", "dc_pairs")
              if (t := _read(d, stem)) is not None}
    if curves is not None or results is not None:
        kind = "sweep"
        if curves is not None:
            curves = curves.rename(columns={"n": "count"}) if "n" in curves.columns else curves
            if results is not None and "cell" in curves.columns and "cell" in results.columns:
                params = canonical(results)
                keep = [c for c in ("profile", "r", "w", "n", "engine", *_swept_columns(manifest))
                        if c in params.columns and c not in curves.columns]
                per_cell = params.drop_duplicates("cell")[["cell", *dict.fromkeys(keep)]]
                curves = curves.merge(per_cell, on="cell", how="left")
    else:
        curve = _read(d, "curve")
        if curve is None and summary is None and not frames:
            raise ConfigError(
                str(d), None,
                "no results here: expected results/curves/summary tables (pbs-sim sweep), summary + curve (pbs-sim run), "
                "versions_behind, durability, by_decile, loss_vs_size or dc_pairs tables",
            )
        kind = "run"
        run_params = _run_params(manifest)
        if curve is not None:
            curves = curve.rename(columns={"n": "count"}) if "n" in curve.columns else curve
            for k, v in run_params.items():
                if k not in curves.columns:
                    curves[k] = v
        if summary is not None:
            summary = canonical(summary)
            for k, v in run_params.items():
                if k not in summary.columns:
                    summary[k] = v
    return ResultsDir(d, kind, canonical(results) if results is not None else None,
                      canonical(summary) if summary is not None else None,
                      canonical(curves) if curves is not None else None, manifest, frames)
