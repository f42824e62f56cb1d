"""``pbs-sim plot RESULTS_DIR``: draw one standard figure from a sweep or run output directory.

Owns: the command-line shell over :func:`pbs_sim.plots.figure_for` — choosing the headless Agg
backend (the only place pbs_sim calls ``matplotlib.use``), the default output path and the
PNG/SVG choice by extension. Bad input (missing directory, a directory without the tables the
kind needs, an unknown kind or extension) is one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError

KINDS = ("curves", "tradeoff", "durability", "versions")


@click.command("plot")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default="curves", show_default=True,
              help="curves: t-visibility with 95% bands; tradeoff: p99.9 latency vs t at 99.9%; "
                   "durability: lost writes / under-replication; versions: CCDF of versions_behind.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Output file; .png or .svg picks the format. Default: RESULTS_DIR/<kind>.png.")
def plot(results_dir: Path, kind: str, out: Path | None) -> None:
    """Plot a results directory written by `pbs-sim sweep` or `pbs-sim run`."""
    target = out if out is not None else results_dir / f"{kind}.png"
    if target.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(None, "--out", f"{str(target)!r}: the extension must be .png or .svg")

    import matplotlib

    matplotlib.use("Agg")
    from .. import plots

    res = plots.load_results_dir(results_dir)
    with plots.style():
        fig = plots.figure_for(res, kind)
        written = plots.save_figure(fig, target)
    for p in written:
        click.echo(str(p))
