"""``pbs-sim sweep SWEEP.toml``: run a parameter sweep into a results directory.

Owns: the command's options and its exit status — 0 when every replication succeeded, 1 when any
replication failed (``status = "error"`` rows) or some did not run (a broken executor; rerun with
``--resume``), 2 for a bad sweep file or option (before any work), 130 when interrupted.
With ``[sweep] common_seeds`` it also prints the paired differences of a few headline metrics
(``--paired-metric`` chooses them) against each cell's baseline, beside the unpaired interval.
Must not touch: computation; everything here is ``pbs_sim.sweep`` called from Python.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..sweep.run import SweepResult
    from ..sweep.spec import SweepSpec

SHOWN_CELLS = 10  # cells whose paired differences the summary prints (all are in the table)


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
@click.option("--paired-metric", "paired_metrics", multiple=True, metavar="METRIC",
              help="With [sweep] common_seeds: a metric whose paired differences the summary prints "
                   "(repeatable; default: stale_read_fraction, p_consistent_at_t0, t_visibility_ms when present).")
def sweep(
    sweep_file: Path, workers: int | None, scheduler: str | None, out: Path | None, fmt: str, resume: bool,
    retry_errors: bool, force: bool, only: str | None, dry_run: bool, progress: bool,
    paired_metrics: tuple[str, ...],
) -> None:
    """Run the grid x replications of SWEEP.toml on either engine and write results.csv (one row per
    replication), curves.csv, summary.csv (mean and 95% CI per cell), curves_summary.csv and
    manifest.json to --out; with [sweep] common_seeds also paired.csv (each cell minus its baseline,
    paired by replication). Exit status: 0 all ok, 1 some replication failed or did not run,
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
        if spec.paired:
            within = ", ".join(spec.common_seeds) if isinstance(spec.common_seeds, tuple) else "every cell"
            click.echo(f"  common seeds ({within}): "
                       "each cell runs with its seed cell's seeds and is compared with its baseline cell")
        for c in spec.cells:
            pairing = (f"  [seeds of cell {spec.seed_cell(c.index)}, baseline cell {spec.baseline_cell(c.index)}]"
                       if spec.paired else "")
            click.echo(f"  cell {c.index}: {c.label()}{pairing}")
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
    if spec.paired:
        _print_paired(spec, res, paired_metrics)
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


def _num(x: Any) -> str:
    return "nan" if x != x else f"{x:.4g}"


def _print_paired(spec: SweepSpec, res: SweepResult, metrics: tuple[str, ...]) -> None:
    """A few lines of the paired table: per non-baseline cell, each headline metric's difference
    from its baseline with its interval and the unpaired half-width; then the median gain."""
    from ..sweep.paired import gain, headline

    paired = res.paired
    name = res.manifest.get("files", {}).get("paired", "paired")
    if not len(paired):
        click.echo(f"paired differences: every cell is its own baseline; nothing to compare ({name})")
        return
    unknown = [m for m in metrics if m not in set(paired["metric"])]
    if unknown:
        click.echo(f"pbs-sim: --paired-metric {', '.join(unknown)}: not a numeric metric of this sweep", err=True)
    shown = headline(paired, metrics)
    click.echo(f"paired differences, cell - baseline, by replication (95% CI; the unpaired half-width beside) "
               f"-> {res.out}/{name}")
    cells = list(dict.fromkeys(int(c) for c in paired["cell"]))
    for cell in cells[:SHOWN_CELLS]:
        rows = paired[paired["cell"] == cell]
        base = int(rows["baseline_cell"].iloc[0])
        mine, theirs = spec.cells[cell].params, spec.cells[base].params
        differ = ", ".join(f"{k}={mine[k]} vs {theirs[k]}" for k in mine if mine[k] != theirs[k])
        click.echo(f"  cell {cell} - cell {base} ({differ or 'same settings'}):")
        for m in shown:
            r = rows[rows["metric"] == m].iloc[0]
            p, u = float(r["diff_half_width"]), float(r["unpaired_half_width"])
            ratio = f" (x{u / p:.1f})" if p > 0 and u == u else ""
            click.echo(f"    {m:<24} {_num(r['diff_mean']):>10}  ({_num(r['diff_ci_low'])} .. "
                       f"{_num(r['diff_ci_high'])}, n={int(r['n_pairs'])})  +-{_num(p)} paired, "
                       f"+-{_num(u)} unpaired{ratio}")
    if len(cells) > SHOWN_CELLS:
        click.echo(f"  ... {len(cells) - SHOWN_CELLS} more cells in {name}")
    g = gain(paired)
    if g == g:
        click.echo(f"  unpaired / paired half-width, median over metrics and cells: {g:.1f}")
