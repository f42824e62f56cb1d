"""``pbs-sim sweep SWEEP.toml``: run a parameter sweep into a results directory.

Owns: the command's options and its exit status — 0 when every replication succeeded, 1 when any
replication failed (``status = "error"`` rows) or some did not run (a broken executor; rerun with
``--resume``), 2 for a bad sweep file or option (before any work), 130 when interrupted.
Must not touch: computation; everything here is ``pbs_sim.sweep`` called from Python.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..errors import ConfigError


def _parse_only(text: str) -> tuple[int, int]:
    cell, sep, rep = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(cell), int(rep)
    except ValueError:
        raise ConfigError("--only", None, f"expected CELL:REP (two integers, e.g. 3:0), got {text!r}") from None


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.toml", type=click.Path(path_type=Path))
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None,
              help="Parallel workers (default: every CPU). 1 runs serially in this process.")
@click.option("--scheduler", default=None, metavar="local|ADDRESS",
              help="Run on Dask: 'local' starts a LocalCluster of --workers workers; an address such as "
                   "tcp://host:8786 uses an existing cluster. Needs: pip install \"pbs-sim[dask]\".")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Results directory (default: results/<sweep file stem>/).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="Table format.")
@click.option("--resume", is_flag=True,
              help="Continue a directory holding this same sweep: compute only missing replications.")
@click.option("--retry-errors", is_flag=True, help="With --resume: also rerun replications that failed.")
@click.option("--force", is_flag=True,
              help="Discard the sweep results --out holds (another sweep's too) and start over.")
@click.option("--only", "only", default=None, metavar="CELL:REP",
              help="Rebuild one replication alone; print its results row as JSON; write nothing.")
@click.option("--dry-run", is_flag=True, help="Validate every cell, list them, and stop.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress on stderr: a bar on a terminal, else a line per tenth of the runs.")
def sweep(
    sweep_file: Path, workers: int | None, scheduler: str | None, out: Path | None, fmt: str, resume: bool,
    retry_errors: bool, force: bool, only: str | None, dry_run: bool, progress: bool,
) -> None:
    """Run the grid x replications of SWEEP.toml on either engine and write results.csv (one row per
    replication), curves.csv, summary.csv (mean and 95% CI per cell), curves_summary.csv and
    manifest.json to --out. Exit status: 0 all ok, 1 some replication failed or did not run,
    2 bad sweep file or option (nothing runs)."""
    from ..io import dumps
    from ..sweep.spec import load_sweep

    if retry_errors and not resume:
        raise ConfigError("--retry-errors", None, "only makes sense with --resume")
    if resume and force:
        raise ConfigError("--force", None, "choose one of --resume (continue) and --force (start over)")
    spec = load_sweep(sweep_file)
    from ..sweep.run import default_out, rebuild_run, run_sweep

    if dry_run:
        click.echo(f"{spec.name}: engine {spec.engine}, {len(spec.cells)} cells x {spec.replications} "
                   f"replications = {spec.n_runs} runs, seed {spec.seed}, hash {spec.hash}")
        for c in spec.cells:
            click.echo(f"  cell {c.index}: {c.label()}")
        return

    if only is not None:
        cell, rep = _parse_only(only)
        rebuilt = rebuild_run(spec, cell, rep)
        click.echo(dumps(rebuilt.row))
        if rebuilt.row["status"] != "ok":
            sys.exit(1)
        return

    started = time.perf_counter()
    res = run_sweep(spec, workers=workers, scheduler=scheduler, out=out if out is not None else default_out(spec),
                    fmt=fmt, resume=resume, force=force, retry_errors=retry_errors, progress=progress)
    took = time.perf_counter() - started
    ex = res.manifest.get("executor", {})
    how = f"{ex.get('kind')} x{ex.get('workers')}" if res.computed else "nothing to run"
    click.echo(
        f"{spec.name}: {spec.n_runs} runs ({res.n_ok} ok, {res.n_error} error, {res.n_missing} missing; "
        f"{res.computed} computed now, {how}) in {took:.1f} s -> {res.out}/"
    )
    if res.n_error:
        first = res.results[res.results["status"] == "error"].iloc[0]
        click.echo(
            f"pbs-sim: {res.n_error} of {spec.n_runs} replications failed (status 'error' in "
            f"{res.manifest['files'].get('results')}); first: cell {first['cell']} rep {first['rep']}: {first['error']}",
            err=True,
        )
    if res.n_missing:
        click.echo(f"pbs-sim: {res.n_missing} replications did not run (the executor broke); "
                   "rerun with --resume", err=True)
    if not res.ok:
        sys.exit(1)
