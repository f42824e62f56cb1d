"""``pbs-sim check RESULTS_DIR`` and ``pbs-sim export RESULTS_DIR --jepsen`` / ``--elle``: the
history checker and the Jepsen EDN exports on a run written with ``pbs-sim run --ops``.

Owns: argument parsing and printing; the work is ``pbs_sim.checker`` and ``pbs_sim.export``.
``check`` exits 0 when everything the run's versioning policy promises holds, 1 otherwise; an
unreadable directory is one line on stderr, exit 2 (``pbs_sim.cli.main``).
"""

from __future__ import annotations

import json
import sys

import click


@click.command("check")
@click.argument("results", metavar="RESULTS_DIR", type=click.Path(file_okay=False))
@click.option("--require", "require", multiple=True, metavar="CHECK",
              help="Also treat this check as a promise (e.g. monotonic_reads); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check(results: str, require: tuple[str, ...], as_json: bool) -> None:
    """Check a run's history (written with `pbs-sim run --ops`): acknowledged writes lost, siblings
    that are not concurrent, session guarantees, causal violations; counts and example op ids.

    Example: pbs-sim check results/siblings-run
    """
    from ..checker import check as run_check
    from ..checker import load_frames

    report = run_check(load_frames(results), require=require)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@click.command("export")
@click.argument("results", metavar="RESULTS_DIR", type=click.Path(file_okay=False))
@click.option("--jepsen", "jepsen", is_flag=True,
              help="Jepsen's EDN history, jepsen.independent shape (:f :read/:write, :value [key v]).")
@click.option("--elle", "elle", is_flag=True,
              help="Jepsen's EDN history as Elle's rw-register transactions (:f :txn, :value [[:r k v]]).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Output file (default RESULTS_DIR/history.edn, or history-elle.edn with --elle).")
def export(results: str, jepsen: bool, elle: bool, out: str | None) -> None:
    """Export a run's history (written with `pbs-sim run --ops`) for Elle, Porcupine or Knossos:
    --jepsen (one map a line, independent keys) or --elle (what elle.rw-register/check reads).

    Example: pbs-sim export results/siblings-run --elle
    """
    from pathlib import Path

    from ..checker import load_frames
    from ..export import write_jepsen

    if jepsen == elle:
        raise click.UsageError("pass exactly one of --jepsen and --elle")
    frames = load_frames(results)
    path = Path(out) if out is not None else Path(results) / ("history-elle.edn" if elle else "history.edn")
    n = write_jepsen(frames, path, elle=elle)
    click.echo(f"{n:,} operations written to {path}")
