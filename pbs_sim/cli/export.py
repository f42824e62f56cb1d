"""``pbs-sim export RESULTS_DIR --jepsen`` / ``--elle`` / ``--jsonl``: a run's history (written with
``pbs-sim run --ops``) as a Jepsen EDN history, or in the JSONL history format ``pbs-sim check`` reads.

Owns: argument parsing and printing; the work is ``pbs_sim.export``, its input read and verified by
``pbs_sim.checker_input`` (only ``ops`` and ``read_versions``). The default output is a ``.edn``
file inside the run directory: ``pbs_sim.io.run_dir_state`` counts ``.edn`` files among what is
derived from a run (like figures), so a later ``pbs-sim run --out`` there replaces them with the
run instead of refusing the directory. An ``--out`` that names one of the run's own files is refused.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError


@click.command("export")
@click.argument("results", metavar="RESULTS_DIR", type=click.Path(file_okay=False))
@click.option("--jepsen", "jepsen", is_flag=True,
              help="Jepsen's EDN history, jepsen.independent shape (:f :read/:write, :value [key v]).")
@click.option("--elle", "elle", is_flag=True,
              help="Jepsen's EDN history as Elle's rw-register transactions (:f :txn, :value [[:r k v]]).")
@click.option("--jsonl", "jsonl", is_flag=True,
              help="The JSONL history format (one JSON object an event: process, client, type, f, key, value, "
                   "time, op_id), as `pbs-sim check FILE.jsonl` reads it.")
@click.option("--versions", "versions", is_flag=True,
              help="Also write the version metadata (versions, causal parents, stamps, policy, final state: "
                   "extra keys and ;pbs-sim comment lines Jepsen and Elle skip), so that `pbs-sim check` on the "
                   "file gives the run's own findings. Without it: values only, as a real store's history.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Output file (default RESULTS_DIR/history.edn, history-elle.edn with --elle, history.jsonl "
                   "with --jsonl).")
def export(results: str, jepsen: bool, elle: bool, jsonl: bool, versions: bool, out: str | None) -> None:
    """Export a run's history (written with `pbs-sim run --ops`) for Elle, Porcupine or Knossos:
    --jepsen (one map a line, independent keys) or --elle (what elle.rw-register/check reads); or
    --jsonl, the JSONL history format. `pbs-sim check` reads all three back.

    Example: pbs-sim export results/siblings-run --elle
    """
    from ..checker_input import CHECK_TABLES, EXPORT_TABLES, load_run, read_manifest
    from ..export import write_jepsen
    from .progress import detail, info

    if jepsen + elle + jsonl != 1:
        raise click.UsageError("pass exactly one of --jepsen, --elle and --jsonl")
    frames = load_run(results, CHECK_TABLES if versions else EXPORT_TABLES, note=detail)
    name = "history-elle.edn" if elle else "history.jsonl" if jsonl else "history.edn"
    path = Path(out) if out is not None else Path(results) / name
    if path.resolve().parent == Path(results).resolve() and (
            path.name == "manifest.json" or path.name in read_manifest(Path(results))["files"]):
        raise ConfigError("--out", None, f"{path} is one of the run's own files; choose another name")
    n = write_jepsen(frames, path, elle=elle, jsonl=jsonl, versions=versions)
    info(f"{n:,} events ({len(frames['ops']):,} operations, an invocation and a completion each) "
         f"written to {path}", stdout=True)
