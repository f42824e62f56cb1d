"""``pbs-sim run SCENARIO.toml``: one discrete-event simulation, its metrics and result files.

Owns: the command's options, writing the results directory (atomically, via ``pbs_sim.io``) and the
short readable summary on stdout. Must not touch: computation (``pbs_sim.simulation.simulate``).

Files written to ``--out DIR``: ``summary.csv`` (one row: resolved parameters as ``section_key``
columns, then metrics), ``curve.csv`` (t_ms, p_consistent, ci_low, ci_high, n), the other metric
frames (``versions_behind``, ``k_staleness``, ``latency``, ``per_key``, ``monitoring``, ``sessions``,
and any extra record kinds such as faults), ``ops``, ``applies`` and ``reads`` (per-read outcomes)
with ``--ops``, and
``manifest.json`` (resolved config, seed, provenance, file list, each table's rows, bytes and SHA-256,
summary). ``--format parquet``
writes tables as Parquet instead of CSV.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, check_seed
from ..numbers import number

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_override(text: str) -> tuple[str, Any]:
    """``cluster.read_quorum=2`` -> ("cluster.read_quorum", 2); values are TOML (bare words = strings)."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise ConfigError("--set", None, f"expected KEY=VALUE like cluster.read_quorum=2, got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def flat_parameters(config: dict[str, Any]) -> dict[str, Any]:
    """Scenario dict -> ``{"cluster_replication": 3, ...}``; lists and tables become JSON text."""
    out: dict[str, Any] = {}
    for section, table in config.items():
        for key, value in table.items():
            if isinstance(value, list | dict):
                value = json.dumps(value)
            out[f"{section}_{key}"] = value
    return out


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.2f} %"


def _ms(x: float) -> str:
    return "n/a" if not math.isfinite(x) else number(x, 4)


def render_pairs(pairs: Any, binned: bool) -> list[str]:
    """One line per (write DC, read DC) pair (``pbs_sim.metrics.dc_pairs``); none on a flat cluster,
    whose one pair is the whole run."""
    if pairs is None or len(pairs) <= 1:
        return []
    lines = ["", f"  per (write DC, read DC) pair: stale reads, P(consistent, t=0){' (first bin)' if binned else ''}, "
                 "t-visibility at the target / 99 % / 99.9 % (ms)"]
    for row in pairs.itertuples(index=False):
        lines.append(f"    {row.write_dc:>12} -> {row.read_dc:<12} {row.measured_reads:>8,} reads  "
                     f"stale {_pct(row.stale_read_fraction):>8}  P(t=0) {_pct(row.p_consistent_at_t0):>8}  "
                     f"t-vis {_ms(row.t_visibility_ms)} / {_ms(row.t_visibility_p99_ms)} / {_ms(row.t_visibility_p999_ms)}")
    return lines


def render_summary(s: dict[str, Any], curve: Any, binned: bool, pairs: Any = None) -> str:
    """The short readable report of a simulated run (a run that measured nothing says so in one
    line instead of a page of n/a and an empty t-bin); ``pairs``: the run's ``dc_pairs_summary``
    table, shown when there are several datacenters."""
    head = (f"{s['profile']}: N={s['n']} R={s['r']} W={s['w']} on {s['nodes']} nodes, {s['workload']} workload, "
            f"coordinator {s['coordinator']}, fan-out read {s['read_fanout']} / write {s['write_fanout']}, seed {s['seed']}")
    simulated = f"  simulated {s['sim_time_ms']:,.0f} ms in {s['wall_s']:.2f} s wall ({s['cpu_s']:.2f} s CPU"
    if s["ops"] == 0:
        return "\n".join([
            head,
            "  no measured operations: the workload issued none after its warm-up, so there is nothing to "
            "report (lengthen workload.duration_ms or issue operations faster)",
            simulated + ")",
        ])
    if s["measured_reads"] == 0:
        staleness = [f"  staleness           no completed measured reads ({s['reads']:,} issued): nothing to report "
                     "on P(consistent), t-visibility or versions behind"]
    else:
        staleness = [
            f"  P(consistent, t=0)  {_pct(s['p_consistent_at_t0'])}"
            + (f" (reads with t in [0, {number(s['t0_bin_high_ms'])}) ms)" if binned else "")
            + f"; predicted{' for the same reads' if binned else ' from observed delays'} "
            + _pct(s["predicted_p_consistent_at_t0"])
            + (f" (at t = 0 exactly {_pct(s['predicted_p_consistent_exact_t0'])})" if binned else ""),
            f"  t-visibility        {_ms(s['t_visibility_ms'])} ms at {number(100 * s['target'])} %"
            + (" (a bin's lower edge)" if binned else " (a probe offset)")
            + f"; predicted on the same {'bins' if binned else 'offsets'} {_ms(s['predicted_t_visibility_ms'])} ms"
            + f" (exactly {_ms(s['predicted_t_visibility_exact_ms'])} ms)",
            f"  stale reads         {_pct(s['stale_read_fraction'])}; mean versions behind {_ms(s['mean_versions_behind'])}",
        ]
    lines = [
        head,
        f"  measured ops        {s['ops']:,} ({s['reads']:,} reads, {s['writes']:,} writes); "
        f"availability {_pct(s['availability'])} ({s['failed_ops']:,} failed)",
        *staleness,
        f"  sessions            monotonic-read violations {_pct(s['monotonic_read_violation_rate'])}, "
        f"read-your-writes {_pct(s['read_your_writes_violation_rate'])}",
        f"  latency ms          read p50 {_ms(s['read_latency_p50_ms'])} p99 {_ms(s['read_latency_p99_ms'])} "
        f"p99.9 {_ms(s['read_latency_p999_ms'])}; write p50 {_ms(s['write_latency_p50_ms'])} "
        f"p99 {_ms(s['write_latency_p99_ms'])} p99.9 {_ms(s['write_latency_p999_ms'])}",
        f"  monitoring gap      max |measured - predicted| {_pct(s['monitoring_max_gap'])}, RMSE {_pct(s['monitoring_rmse'])}",
    ]
    if math.isfinite(s.get("write_failed_ideal_cl", math.nan)):  # consistency.ideal_write is set
        lines.append(
            f"  ideal write level   {s['write_failed_ideal_cl']:,.0f} writes met their level but not the ideal one in time "
            f"({_pct(s['write_failed_ideal_cl_fraction'])}); time to the ideal level p50 "
            f"{_ms(s['ideal_cl_write_latency_p50_ms'])} p99 {_ms(s['ideal_cl_write_latency_p99_ms'])} "
            f"p99.9 {_ms(s['ideal_cl_write_latency_p999_ms'])} ms")
    rate = s["ops"] / s["cpu_s"] if s["cpu_s"] > 0 else math.nan
    lines.append(f"{simulated}, {rate:,.0f} ops per CPU second)")
    if len(curve):
        lines.append("")
        lines.append(f"  {'t_ms':>9}  {'p_consistent':>12}  {'95% CI (Wilson)':>21}  {'reads':>8}")
        for row in curve.head(12).itertuples(index=False):
            lines.append(
                f"  {row.t_ms:>9g}  {100 * row.p_consistent:>11.3f}%  {100 * row.ci_low:>9.3f}% .. "
                f"{100 * row.ci_high:>7.3f}%  {row.n:>8,}"
            )
    lines += render_pairs(pairs, binned)
    return "\n".join(lines)


def write_run(
    stage: Path, scenario: str, sc: Any, res: Any, summary: dict[str, Any], overrides: tuple[str, ...], fmt: str
) -> list[str]:
    """Write a run's tables into ``stage``, then its manifest (last, listing exactly those files)."""
    import pandas as pd

    from ..io import (
        RESULTS_SCHEMA,
        RUN_MANIFEST_KIND,
        file_digest,
        provenance,
        table_path,
        write_json,
        write_table,
    )

    config = sc.to_dict()
    files: list[str] = []
    digests: dict[str, dict[str, Any]] = {}
    frames = {"summary": pd.DataFrame([{**flat_parameters(config), **summary}]), **res.frames()}
    for name, frame in frames.items():
        path = table_path(stage, name, fmt)
        write_table(frame, path, fmt)
        files.append(path.name)
        digests[path.name] = file_digest(path, len(frame))
    write_json(stage / "manifest.json", {
        "kind": RUN_MANIFEST_KIND,
        "command": "pbs-sim run",
        "results_schema": RESULTS_SCHEMA,
        "scenario_file": str(Path(scenario)),
        "seed": summary["seed"],
        "overrides": list(overrides),
        "config": config,
        "inputs": dict(sc.inputs),
        "profile": sc.latency.wars.to_dict(),
        "files": files,
        # rows, size and SHA-256 of every table: readers (`pbs-sim check`) refuse a table truncated
        # or edited since, which would otherwise parse and pass
        "digests": digests,
        "summary": summary,
        "provenance": provenance(),
    })
    return files


@click.command("run")
@click.argument("scenario", metavar="SCENARIO.toml")
@click.option("--seed", type=int, default=None, help="Root seed (default: the scenario's run.seed).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Results directory (summary.csv, curve.csv, ..., manifest.json).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="Table format of the results.")
@click.option("--ops", "ops", is_flag=True, help="Also write every operation (ops) and replica apply (applies).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario setting, e.g. --set cluster.read_quorum=2 (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress on stderr: a bar on a terminal, else a line per tenth of a long run.")
@click.option("--force", is_flag=True,
              help="Write into --out even if it holds a sweep or files pbs-sim run did not write.")
def run(scenario: str, seed: int | None, out: str | None, fmt: str, ops: bool, overrides: tuple[str, ...],
        as_json: bool, progress: bool, force: bool) -> None:
    """Simulate SCENARIO.toml on the discrete-event simulator and report measured staleness,
    latency and session guarantees next to the PBS prediction from the run's own delays.

    Example: pbs-sim run experiments/quickstart.toml --out results/quickstart
    """
    from ..config import load_scenario, read_toml
    from ..io import dumps, unit_dir
    from .progress import detail, info

    check_seed(seed)
    if "sweep" in read_toml(scenario):
        raise ConfigError(scenario, "sweep", "this is a sweep file; run it with `pbs-sim sweep`")
    sc = load_scenario(scenario, dict(parse_override(o) for o in overrides))
    from ..topology import check_simulator

    check_simulator(sc)  # what cannot run on a topology yet: before the results directory is claimed
    with contextlib.ExitStack() as stack:
        # the staging directory first: an --out that cannot hold results fails before the run
        stage = stack.enter_context(unit_dir(out, force=force)) if out is not None else None
        if stage is not None:
            detail(f"holding {out}/.lock; writing into {stage}, put in place as {out} when done")
        from ..simulation import simulate

        detail(f"simulating {scenario} (seed {seed if seed is not None else sc.run.seed}"
               f"{', every operation recorded' if ops else ''})")
        res = simulate(sc, seed=seed, record_ops=ops, progress=progress)
        summary = res.summary()
        files = write_run(stage, scenario, sc, res, summary, overrides, fmt) if stage is not None else []
        if stage is not None:
            for name in files:
                detail(f"wrote {name} ({(stage / name).stat().st_size:,} bytes)", 2)
    binned = "t_high_ms" in res.curve.columns
    if as_json:
        click.echo(dumps(summary))
        return
    click.echo(render_summary(summary, res.curve, binned, res.frames().get("dc_pairs_summary")))
    if out is not None:
        info(f"\nresults written to {out}/ ({', '.join(sorted(set(files)))})", stdout=True)

