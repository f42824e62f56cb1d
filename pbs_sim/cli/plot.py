"""``pbs-sim plot RESULTS_DIR``: draw one standard figure from a sweep or run output directory.

Owns: the command-line shell over :func:`pbs_sim.plots.figure_for` — choosing the headless Agg
backend (the only place pbs_sim calls ``matplotlib.use``), the default output path and the
PNG/SVG choice by extension, and checking the input before plotting (``check_input``): a run
directory must hold exactly the tables its manifest lists (a directory mixing two runs' tables is
refused), a sweep directory the tables its manifest names, and every value in a numeric column must
be a number. Bad input (missing directory, a directory without the tables the kind needs, an
unknown kind or extension, a non-numeric value) is one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("curves", "tradeoff", "durability", "versions", "loss-vs-size", "dc-pairs")
# the tables `pbs_sim.plots.load_results_dir` reads, and the columns of them that must be numbers
PLOTTED_TABLES = ("results", "summary", "curves", "curve", "versions_behind", "durability", "by_decile", "loss_vs_size",
                  "dc_pairs")
NUMERIC_COLUMNS = frozenset({
    "cell", "rep", "n", "r", "w", "count", "t_ms", "p_consistent", "ci_low", "ci_high", "n_reps", "n_ok",
    "n_error", "versions_behind", "t_visibility_ms", "t_ci_low", "t_ci_high", "read_latency_p999_ms",
    "write_latency_p999_ms", "decile", "popularity_decile", "keys", "reads_per_key", "writes", "keys_lost",
    "anti_entropy_interval_ms", "nodes", "replication", "replica_sets", "expected_fraction_lost", "nomdl",
    "reference_p_loss", "t_high_ms",
})
NUMERIC_PREFIXES = ("p_consistent_", "lost_write", "under_replicat", "mttdl", "lww_loss", "p_loss", "mc_")
NUMERIC_SUFFIXES = ("_mean", "_ci_low", "_ci_high")


def _is_numeric_column(name: str) -> bool:
    return name in NUMERIC_COLUMNS or name.startswith(NUMERIC_PREFIXES) or name.endswith(NUMERIC_SUFFIXES)


def check_frame(frame: pd.DataFrame, where: str) -> None:
    """Every value in a numeric column of ``frame`` is a number, else one line naming the row."""
    import pandas as pd

    for col in frame.columns:
        s = frame[col]
        if not _is_numeric_column(str(col)) or pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        bad = s.notna() & pd.to_numeric(s, errors="coerce").isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ConfigError(where, str(col), f"row {row + 1}: {s.iloc[row]!r} is not a number (a numeric column)")


def read_pairs_file(path: Path) -> pd.DataFrame:
    """A table file for ``--kind dc-pairs`` (``pbs-sim predict --scenario FILE --out TABLE``), checked."""
    from ..io import read_table

    if path.suffix not in (".csv", ".parquet"):
        raise ConfigError(str(path), None, "not a directory or a .csv / .parquet table; expected a pbs-sim run "
                                           "directory or the --out table of `pbs-sim predict --scenario`")
    try:
        frame = read_table(path)
    except Exception as exc:  # unreadable table: one line
        raise ConfigError(str(path), None, f"cannot read table: {' '.join(str(exc).split())}") from None
    check_frame(frame, str(path))
    return frame


def check_input(d: Path) -> None:
    """Refuse, with one line naming the file, what the plots cannot draw faithfully."""
    import json

    from ..io import read_table
    from .progress import detail

    if not d.is_dir():
        return  # load_results_dir says what is wrong
    tables = {p.name: p for p in d.iterdir() if p.suffix in (".csv", ".parquet") and p.stem in PLOTTED_TABLES}
    try:
        manifest = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").is_file() else None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(d / "manifest.json"), None, f"not valid JSON: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    listed = set(files.values()) if isinstance(files, dict) else set(files) if isinstance(files, list) else None
    if listed is not None:
        for name in sorted(listed):
            if not (d / name).is_file():
                raise ConfigError(str(d), None, f"{name}, listed in its manifest, is missing (rerun the command that wrote it)")
        for name in sorted(tables):
            if name not in listed:
                raise ConfigError(
                    str(d), None,
                    f"{name} is not listed in its manifest: the directory mixes the tables of two runs "
                    "(rerun into a fresh --out)",
                )
    for _, path in sorted(tables.items()):
        try:
            frame = read_table(path)
        except Exception as exc:  # unreadable table: one line
            raise ConfigError(str(path), None, f"cannot read table: {' '.join(str(exc).split())}") from None
        detail(f"read {path} ({len(frame):,} rows)")
        check_frame(frame, str(path))


@click.command("plot")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default="curves", show_default=True,
              help="curves: t-visibility with 95% bands; tradeoff: p99.9 latency vs t at 99.9%; "
                   "durability: lost writes / under-replication; versions: CCDF of versions_behind; "
                   "loss-vs-size: P(data loss) against cluster size per placement; dc-pairs: P(consistent at t) per "
                   "(write DC, read DC) pair, from a run directory or a `predict --scenario --out` table file.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Output file; .png or .svg picks the format. Default: RESULTS_DIR/<kind>.png.")
def plot(results_dir: Path, kind: str, out: Path | None) -> None:
    """Plot a results directory written by `pbs-sim sweep` or `pbs-sim run` (for --kind dc-pairs, also
    the table file `pbs-sim predict --scenario FILE --out TABLE` writes)."""
    pairs_file = kind == "dc-pairs" and results_dir.is_file()
    default = results_dir.parent / f"{results_dir.stem}-{kind}.png" if pairs_file else results_dir / f"{kind}.png"
    target = out if out is not None else default
    if target.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(None, "--out", f"{str(target)!r}: the extension must be .png or .svg")
    if target.is_dir():
        raise ConfigError(None, "--out", f"{str(target)!r} is a directory; give a file name such as "
                                         f"{str(target / (kind + '.png'))!r}")

    import matplotlib

    matplotlib.use("Agg")
    from .. import plots

    if pairs_file:
        frame = read_pairs_file(results_dir)
        with plots.style():
            try:
                fig = plots.figure_dc_pairs(frame)
            except ConfigError as exc:
                raise exc.at(str(results_dir)) from None
            written = plots.save_figure(fig, target)
        for p in written:
            click.echo(str(p))
        return
    check_input(results_dir)
    res = plots.load_results_dir(results_dir)
    with plots.style():
        fig = plots.figure_for(res, kind)
        written = plots.save_figure(fig, target)
    for p in written:
        click.echo(str(p))
