"""``pbs-sim recommend``: which (N, R, W) meet my latency, staleness and availability targets?

Owns: the command's options, their one-line errors (naming the option, exit 2), the readable and
JSON renderings of a ``Recommendation`` and exit status 1 when nothing is feasible. Must not touch:
computation (``pbs_sim.recommender.recommend``, also ``pbs_sim.recommend``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import ConfigError
from ..numbers import num, number
from .predict import check_inputs, load_profile


def _ms(x: float) -> str:
    return number(x, 4)


def _pct(x: float) -> str:
    from ..recommender.availability import format_availability

    return format_availability(x)


def _option_error(exc: ConfigError) -> ConfigError:
    if exc.source is not None:
        return exc
    key = (exc.key or "").replace("_", "-")
    return ConfigError(f"--{key}" if key else None, None, exc.reason)


def render(rec: object, ns: list[int]) -> str:
    """The readable report."""
    from ..recommender import Recommendation

    assert isinstance(rec, Recommendation)
    tg = rec.targets
    t = rec.table
    first = t.iloc[0]
    parts = []
    if tg.max_read_ms is not None:
        parts.append(f"read p99.9 <= {number(tg.max_read_ms)} ms")
    if tg.max_write_ms is not None:
        parts.append(f"write p99.9 <= {number(tg.max_write_ms)} ms")
    if tg.max_t_visibility_ms is not None:
        parts.append(f"t-visibility at {number(100 * tg.target)} % <= {number(tg.max_t_visibility_ms)} ms")
    if tg.min_availability is not None:
        parts.append(f"read and write availability >= {number(100 * tg.min_availability)} %")
    if tg.max_loss_per_year is not None:
        parts.append(f"P(data loss per year) <= {tg.max_loss_per_year:g}")
    n_text = f"{ns[0]}..{ns[-1]}" if ns == list(range(ns[0], ns[-1] + 1)) and len(ns) > 1 else ",".join(map(str, ns))
    lines = [
        f"{rec.profile}: N = {n_text}, {int(first.trials):,} trials per N, seed {first.seed}, read fan-out {first.fanout}",
        f"targets: {', '.join(parts) if parts else 'none (every configuration is feasible)'}",
        f"availability: {rec.availability_model} quorums, each node up with probability {number(rec.node_availability)}",
    ]
    durable = "p_loss_per_year" in t.columns
    if durable:
        lines.append(f"durability: {rec.durability_model} (P(loss)/yr per N, analytic)")
    lines.append("")
    header = (f"  {'rank':>4} {'N':>2} {'R':>2} {'W':>2}   {'read p99.9':>10} {'write p99.9':>11}  "
              f"{'t-vis @' + number(100 * tg.target) + '%':>12} {'(95% CI)':>17}  {'P(t=0)':>8}  "
              f"{'read avail':>14} {'write avail':>14}" + (f"  {'P(loss)/yr':>10}" if durable else ""))

    def line(r: dict[Any, Any], rank: str) -> str:
        mark = "*" if r["pareto"] else " "
        ci = f"{_ms(float(r['t_visibility_ci_low_ms']))}..{_ms(float(r['t_visibility_ci_high_ms']))}"
        flag = "  (borderline: CI crosses the bound)" if r["borderline"] else ""
        return (f"  {rank:>4} {r['n']:>2} {r['r']:>2} {r['w']:>2} {mark} {_ms(float(r['read_latency_p999_ms'])):>10} "
                f"{_ms(float(r['write_latency_p999_ms'])):>11}  {_ms(float(r['t_visibility_ms'])):>12} {ci:>17}  "
                f"{100 * float(r['p_consistent_at_t0']):>7.2f}%  {_pct(float(r['read_availability'])):>14} "
                f"{_pct(float(r['write_availability'])):>14}"
                + (f"  {float(r['p_loss_per_year']):>10.3g}" if durable else "") + flag)

    feasible = rec.feasible
    if feasible.empty:
        closest = rec.closest
        assert closest is not None
        lines += [
            "no configuration meets every target.",
            f"closest: N={closest['n']} R={closest['r']} W={closest['w']}, which misses: {closest['misses']}.",
            "", "  latencies and t-visibility in ms", header, line(closest, "-"),
        ]
    else:
        best = feasible.iloc[0]
        lines += [
            f"{len(feasible)} feasible of {len(t)} configurations, cheapest first (fewest replicas, then "
            "read + write p99.9); * = on the Pareto front of read p99.9, write p99.9 and t-visibility",
            "  latencies and t-visibility in ms", header,
        ]
        lines += [line(r, str(r["rank"])) for r in feasible.to_dict("records")]
        lines += ["", f"recommended: N={best.n} R={best.r} W={best.w}"
                  f"{' (strict quorum: no stale reads in this model)' if best.r + best.w > best.n else ''}"]
    excluded = rec.excluded
    if excluded:
        lines += ["", f"excluded ({len(excluded)}):"] + [f"  {s}" for s in excluded]
    return "\n".join(lines)


TOPOLOGY_ONLY = ("rf", "max_total_rf", "read_levels", "write_levels", "pairs", "percentile", "at_ms",
                 "min_p_consistent", "available_when_cut")
FLAT_ONLY = ("profile", "n_text", "sloppy_nodes", "durability_file", "max_loss_per_year")


def _flag(name: str) -> str:
    return "--" + {"n_text": "n", "durability_file": "durability"}.get(name, name).replace("_", "-")


def _float_option(name: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(_flag(name), None, f"{text.strip()!r} is not a number of ms") from None


@click.command("recommend")
@click.option("--profile", default=None, metavar="NAME|PATH",
              help="Built-in profile, exponential(...), a profile TOML, or a CSV latency trace (columns w,a,r,s or one column).")
@click.option("--scenario", "scenario", default=None, metavar="SCENARIO.toml",
              help="Search a topology instead: the scenario's [topology] (datacenters, racks, links) and profile; "
                   "RF per datacenter (--rf) and the named read and write levels are chosen. Instead of --profile/--n.")
@click.option("--n", "n_text", default="3..7", show_default=True, metavar="3..7",
              help="Replication factors to consider: N, a range like 3..7, or a list 3,5,7.")
@click.option("--rf", default=None, metavar="1..3|DC=1..3,...",
              help="With --scenario: RF bounds, one range for every datacenter or DC=RANGE pairs "
                   "(default 1..min(3, nodes) each; RF_d <= nodes_d).")
@click.option("--max-total-rf", type=int, default=None, metavar="M", help="With --scenario: consider ΣRF <= M only.")
@click.option("--read-levels", default=None, metavar="L1,L2,...",
              help="With --scenario: read levels to consider (default ONE,LOCAL_ONE,TWO,THREE,LOCAL_QUORUM,QUORUM,"
                   "EACH_QUORUM,ALL).")
@click.option("--write-levels", default=None, metavar="L1,L2,...", help="With --scenario: write levels (same default; ANY on request).")
@click.option("--pairs", default="all", show_default=True, metavar="all|cross|local|W:R,...",
              help="With --scenario: the (write DC, read DC) pairs the staleness targets cover.")
@click.option("--max-read-ms", default=None, metavar="MS|DC=MS,...",
              help="Bound on read latency at the 99.9th percentile (--scenario: at --percentile, in every client "
                   "datacenter or DC=MS per datacenter).")
@click.option("--max-write-ms", default=None, metavar="MS|DC=MS,...", help="Bound on write latency, as --max-read-ms.")
@click.option("--percentile", default="p99.9", show_default=True, type=click.Choice(["p50", "p99", "p99.9"]),
              help="With --scenario: the latency percentile the bounds and the ranking use.")
@click.option("--max-t-visibility-ms", type=float, default=None, metavar="T",
              help="Bound on the t-visibility at --target (ms after commit until reads are consistent with that "
                   "probability; --scenario: for every pair of --pairs).")
@click.option("--target", type=float, default=0.999, show_default=True, help="Probability in (0, 1) for the t-visibility.")
@click.option("--at-ms", type=float, default=None, metavar="T",
              help="With --scenario and --min-p-consistent: the time after commit the probability is taken at.")
@click.option("--min-p-consistent", type=float, default=None, metavar="P",
              help="With --scenario: P(consistent at --at-ms) >= P for every pair of --pairs (P in (0, 1]).")
@click.option("--node-availability", type=float, default=0.999, show_default=True, metavar="A",
              help="Probability each node is up (independently): binomial model of strict quorums.")
@click.option("--sloppy-nodes", type=int, default=None, metavar="M",
              help="Score availability for sloppy quorums over a ring of M nodes (fallbacks included) "
                   "instead of strict quorums.")
@click.option("--min-availability", type=float, default=None, metavar="P",
              help="Minimum availability of both reads and writes, e.g. 0.9999 (--scenario: in every client datacenter).")
@click.option("--available-when-cut", type=click.Choice(["reads", "writes", "both"]), default=None,
              help="With --scenario: these still complete when any one datacenter is cut off (both sides, replicas up).")
@click.option("--max-loss-per-year", type=float, default=None, metavar="X",
              help="Bound on P(data loss in a year), e.g. 1e-6 (needs --durability).")
@click.option("--durability", "durability_file", type=click.Path(dir_okay=False), default=None, metavar="FILE.toml",
              help="A scenario file whose [placement] and [failure_model] state the cluster; P(loss per year) "
                   "is computed for every N by the analytic engine.")
@click.option("--trials", type=int, default=100_000, show_default=True,
              help="Monte Carlo trials per N (--scenario: per DC pair, default 20,000).")
@click.option("--seed", type=int, default=None,
              help="Root seed in [0, 2**63) (default: a fresh one, printed so it can be given back; "
                   "--scenario: its run.seed).")
@click.option("--fanout", default="all", show_default=True, metavar="all|quorum", help="Read fan-out, as in predict.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the report.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the full scored table as CSV (or .parquet).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress on stderr: a bar on a terminal, else a line with the time left now and then.")
@click.pass_context
def recommend(
    ctx: click.Context, profile: str | None, scenario: str | None, n_text: str, rf: str | None,
    max_total_rf: int | None, read_levels: str | None, write_levels: str | None, pairs: str,
    max_read_ms: str | None, max_write_ms: str | None, percentile: str, max_t_visibility_ms: float | None,
    target: float, at_ms: float | None, min_p_consistent: float | None, node_availability: float,
    sloppy_nodes: int | None, min_availability: float | None, available_when_cut: str | None,
    max_loss_per_year: float | None, durability_file: str | None, trials: int, seed: int | None, fanout: str,
    as_json: bool, out: str | None, progress: bool,
) -> None:
    """Score every (N, R, W) against latency, staleness and availability targets and rank the
    feasible ones (exit status 1 when none is feasible; the closest is shown). With --scenario,
    score every RF per datacenter and named read and write level of its topology instead.

    Example: pbs-sim recommend --profile lnkd-disk --n 3..5 --max-read-ms 2 --max-write-ms 20
    --max-t-visibility-ms 10 --min-availability 0.9999
    """
    values = dict(ctx.params)
    given = {name for name in values if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}
    if scenario is not None:
        wrong = [name for name in FLAT_ONLY if name in given]
        if wrong:
            raise ConfigError(_flag(wrong[0]), None, "not with --scenario (the topology search takes --rf, the "
                                                     "scenario's profile and its datacenters)")
        from .recommend_dc import recommend_scenario_file

        rec = recommend_scenario_file(scenario, values, given)
        if rec.feasible.empty:
            sys.exit(1)
        return
    wrong = [name for name in TOPOLOGY_ONLY if name in given]
    if wrong:
        raise ConfigError(_flag(wrong[0]), None, "needs --scenario FILE with [topology] (it chooses RF per datacenter and levels)")
    if profile is None:
        param = next(p for p in ctx.command.params if p.name == "profile")
        raise click.MissingParameter(ctx=ctx, param=param)
    read_bound, write_bound = _float_option("max_read_ms", max_read_ms), _float_option("max_write_ms", max_write_ms)
    from ..recommender import parse_n_range
    from ..recommender import recommend as run_recommend

    ns = parse_n_range(n_text, source="--n")
    check_inputs(ns, trials, seed, target, grid=True)  # the same limits as predict (and the explorer)
    if not 0 < node_availability <= 1:
        raise ConfigError("--node-availability", None, f"must be a probability in (0, 1], got {num(node_availability)}")
    if min_availability is not None and not 0 < min_availability < 1:
        raise ConfigError("--min-availability", None, f"must be a probability in (0, 1), got {num(min_availability)}")
    if max_loss_per_year is not None and not 0 < max_loss_per_year < 1:
        raise ConfigError("--max-loss-per-year", None, f"must be a probability in (0, 1), got {num(max_loss_per_year)}")
    if max_loss_per_year is not None and durability_file is None:
        raise ConfigError("--max-loss-per-year", None, "needs --durability FILE.toml (the cluster's placement and failure model)")
    durability = None
    if durability_file is not None:
        from ..recommender import DurabilityModel

        durability = DurabilityModel.from_file(durability_file)
        durability.check(ns)  # every N checked before any work
    model = None
    if sloppy_nodes is not None:
        from ..recommender import SloppyQuorum

        if sloppy_nodes < max(ns):
            raise ConfigError("--sloppy-nodes", None, f"a ring of {sloppy_nodes} nodes cannot hold N = {max(ns)} replicas")
        model = SloppyQuorum(node_availability, nodes=sloppy_nodes)
    prof = load_profile(profile)
    from ..analytic.limits import PROGRESS_MIN_WORK
    from .progress import Progress

    # long means the replica-trials drawn (as predict's), here summed over the N of the range
    bar = Progress(trials * len(ns), "trial", "recommend", enabled=progress and sum(ns) * trials >= PROGRESS_MIN_WORK)
    try:
        rec = run_recommend(
            prof, ns, max_read_ms=read_bound, max_write_ms=write_bound,
            max_t_visibility_ms=max_t_visibility_ms, target=target, node_availability=node_availability,
            min_availability=min_availability, availability=model, max_loss_per_year=max_loss_per_year,
            durability=durability, trials=trials, seed=seed, fanout=fanout, progress=bar,
        )
    except ConfigError as exc:
        raise _option_error(exc) from None
    finally:
        bar.close()
    if out is not None:
        from ..io import write_table

        write_table(rec.table, out)
    if as_json:
        click.echo(json.dumps(rec.to_dict()))
    else:
        click.echo(render(rec, ns))
        if out is not None:
            click.echo(f"\nscored table ({len(rec.table)} configurations) written to {out}")
    if rec.feasible.empty:
        sys.exit(1)
