"""``pbs-sim check PATH``: the history checker, on a run or on a history file from a real store.

Owns: argument parsing and printing. A directory is a run written with ``pbs-sim run --ops``: the
version-level checks of ``pbs_sim.checker`` (its input read and verified by
``pbs_sim.checker_input``), or with ``--values`` the value-level ones an import of its export gets.
A file (``.edn``: a Jepsen history; ``.jsonl`` / ``.csv``: the history format of docs/design.md) is
judged by its values alone (``pbs_sim.histories``), and the report names the checks skipped because
they need versions -- unless it carries pbs-sim's version metadata (``pbs-sim export --versions``):
then it gets the version-level checks, the findings of the run it came from. Exits 0 when everything promised (the run's policy's promises, and every
``--require``) holds, 1 otherwise; bad input (a run directory that is not sound, a history line that
is not EDN / JSON / CSV or breaks the history's rules) is one line on stderr naming the file, the
line and the reason, exit 2 (``pbs_sim.cli.main``), before any report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..histories.records import FORMATS, SUFFIXES

if TYPE_CHECKING:
    from ..checker import CheckReport
    from ..histories import ValueReport


@click.command("check")
@click.argument("results", metavar="PATH", type=click.Path())
@click.option("--require", "require", multiple=True, metavar="CHECK",
              help="Also treat this check as a promise (e.g. monotonic_reads); repeatable.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="A history file's format (default: by its suffix, .edn / .jsonl / .csv).")
@click.option("--values", "values", is_flag=True,
              help="Judge by values alone: a run directory as its exported history is judged, a history "
                   "exported with --versions as if it had none.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check(results: str, require: tuple[str, ...], fmt: str | None, values: bool, as_json: bool) -> None:
    """Check a history. PATH is a run directory (written with `pbs-sim run --ops`): acknowledged
    writes lost, siblings that are not concurrent, session guarantees, causal violations, judged in
    the store's order. Or PATH is a history file recorded on a real cluster -- a Jepsen history
    (.edn, jepsen.independent or Elle rw-register) or the JSONL / CSV history format -- judged by
    values alone: stale reads, read-your-writes, monotonic reads, lost writes, aborted and garbage
    reads; the checks that need versions are listed as skipped (a history exported with
    `pbs-sim export --versions` carries them: it is checked as its run is).

    Examples: pbs-sim check results/siblings-run; pbs-sim check history.edn --require lost_writes
    """
    from .progress import detail

    path = Path(results)
    is_file = path.is_file() or (not path.exists() and (fmt is not None or path.suffix.lower() in SUFFIXES))
    report: CheckReport | ValueReport
    if is_file:
        from ..histories import check_history
        from ..histories.versions import has_versions

        detail(f"{path}: " + ("pbs-sim's version metadata: checked as its run" if not values and
                              has_versions(path, fmt) else "no version metadata used: judged by values alone"))
        report = check_history(path, fmt, require, values=values)
    elif values:
        from ..checker_input import EXPORT_TABLES, load_run
        from ..histories import check_run_values

        report = check_run_values(load_run(results, EXPORT_TABLES, note=detail), require, source=str(path))
    else:
        from ..checker import check as run_check
        from ..checker import load_frames

        if fmt is not None:
            raise click.UsageError("--format is for a history file; PATH is a run directory")
        report = run_check(load_frames(results, note=detail), require=require)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(report.render())
    sys.exit(0 if report.ok else 1)
