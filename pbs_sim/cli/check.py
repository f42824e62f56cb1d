"""``pbs-sim check RESULTS_DIR``: the history checker on a run written with ``pbs-sim run --ops``.

Owns: argument parsing and printing; the work is ``pbs_sim.checker`` (its input is read and
verified by ``pbs_sim.checker_input``). Exits 0 when everything the run's versioning policy
promises holds, 1 otherwise; a directory that is not a sound run (no manifest, a table missing,
truncated, edited or malformed) is one line on stderr naming the file and the reason, exit 2
(``pbs_sim.cli.main``), before any checking.
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
    from .progress import detail

    report = run_check(load_frames(results, note=detail), require=require)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.render())
    sys.exit(0 if report.ok else 1)
