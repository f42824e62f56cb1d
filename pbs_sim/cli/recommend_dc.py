"""``pbs-sim recommend --scenario FILE``: which RF per datacenter and which named levels meet my targets?

Owns: loading the scenario's topology and profile, the options' defaults from it (``run.seed``,
``[predict]`` target and fan-out; 20,000 trials per DC pair unless ``--trials``), the one-line
refusals before any work (exit 2), and the readable / JSON / CSV renderings of a
``TopologyRecommendation``. Must not touch: computation
(``pbs_sim.recommender.topology.recommend_topology``), exit status 1 (the command decides it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import click

from ..errors import ConfigError
from ..numbers import number
from .predict import _option_error, check_inputs

DEFAULT_TRIALS = 20_000
SHOWN = 20  # feasible rows and exclusion sentences printed (--out / --json have all)


def _ms(x: float) -> str:
    return "inf" if not math.isfinite(x) else number(x, 4)


def recommend_scenario_file(path: str, values: Mapping[str, Any], given: set[str]) -> Any:
    """Run and print the topology search; returns the recommendation (the command sets exit 1)."""
    from ..config import load_scenario, read_toml
    from ..io import table_format, write_table
    from ..recommender.topology import parse_dc_ms, recommend_topology
    from .progress import Progress

    trials = values["trials"] if "trials" in given else DEFAULT_TRIALS
    check_inputs(None, trials, values["seed"], values["target"])
    out = values["out"]
    if out is not None:
        table_format(out)
    if "sweep" in read_toml(path):
        raise ConfigError(path, "sweep", "this is a sweep file; run it with `pbs-sim sweep`")
    sc = load_scenario(path)
    if not sc.topology.enabled:
        raise ConfigError(path, "topology", "has no datacenters: for a flat cluster use `pbs-sim recommend --profile P --n 3..7`")
    seed = values["seed"] if "seed" in given else sc.run.seed
    target = values["target"] if "target" in given else sc.predict.target
    fanout = values["fanout"] if "fanout" in given else (sc.predict.fanout or sc.cluster.read_fanout)
    from ..recommender.topology import parse_pairs

    clients = list(sc.topology.client_weights())
    try:
        selected = parse_pairs(values["pairs"], clients)
    except ConfigError as exc:
        raise _option_error(exc) from None
    pairs = len(set(selected) | {(d, d) for d in clients})  # the pairs evaluated, each reported once done
    bar = Progress(trials * pairs, "trial", "recommend", enabled=bool(values["progress"]) and trials * pairs >= 200_000)
    try:
        rec = recommend_topology(
            sc.latency.wars, sc.topology, rf=values["rf"], max_total_rf=values["max_total_rf"],
            read_levels=values["read_levels"], write_levels=values["write_levels"], pairs=values["pairs"],
            max_read_ms=parse_dc_ms(values["max_read_ms"], "--max-read-ms"),
            max_write_ms=parse_dc_ms(values["max_write_ms"], "--max-write-ms"), percentile=values["percentile"],
            max_t_visibility_ms=values["max_t_visibility_ms"], target=target, at_ms=values["at_ms"],
            min_p_consistent=values["min_p_consistent"], node_availability=values["node_availability"],
            min_availability=values["min_availability"], available_when_cut=values["available_when_cut"],
            trials=trials, seed=seed, fanout=fanout, progress=bar,
        )
    except ConfigError as exc:
        raise _option_error(exc) from None
    finally:
        bar.close()
    if out is not None:
        write_table(rec.table, out)
    if values["as_json"]:
        d = rec.to_dict()
        d["scenario"] = path
        d["scenario_configuration"] = own_configuration(sc, rec)
        click.echo(json.dumps(d))
    else:
        click.echo(render_topology(rec, sc))
        if out is not None:
            click.echo(f"\nscored table ({len(rec.table)} candidates) written to {out}")
    return rec


def own_configuration(sc: Any, rec: Any) -> dict[str, Any] | None:
    """The scenario's own RF and levels, if it names its levels and they are among the candidates."""
    cons = sc.consistency
    if cons.read is None or cons.write is None:
        return None
    from ..levels import canonical

    rf = "/".join(str(d.replication) for d in sc.topology.datacenters)
    t = rec.table
    hit = t[(t.rf == rf) & (t.read_level == canonical(cons.read)) & (t.write_level == canonical(cons.write))]
    if hit.empty:
        return {"rf": rf, "read_level": canonical(cons.read), "write_level": canonical(cons.write), "candidate": False}
    row = hit.iloc[0]
    return {"rf": rf, "read_level": row.read_level, "write_level": row.write_level, "candidate": True,
            "feasible": bool(row.feasible), "rank": int(row["rank"]), "misses": row.misses}


def render_topology(rec: Any, sc: Any) -> str:
    """The readable report: candidates, targets, the ranked feasible ones (or the closest), exclusions."""
    tg = rec.targets
    pct = tg.percentile
    col = pct.replace(".", "")
    dcs = rec.datacenters
    bounds = ", ".join(f"{dc} {lo}..{hi}" for dc, (lo, hi) in rec.rf_bounds.items())
    lines = [
        f"{rec.profile}: {len(dcs)} datacenters, RF {bounds}"
        + (f", ΣRF <= {rec.max_total_rf}" if rec.max_total_rf is not None else "")
        + f"; {len(rec.table):,} candidates (RF x read level x write level"
        + (f", {rec.skipped:,} combinations the replicas cannot meet left out" if rec.skipped else "") + ")",
        f"  {rec.trials:,} trials per DC pair, seed {rec.seed} (the same draws for every candidate), read fan-out {rec.fanout}; "
        f"pairs evaluated: {', '.join(f'{a}->{b}' for a, b in rec.evaluated_pairs)}",
        f"targets: {', '.join(tg.describe()) if tg.describe() else 'none (every candidate is feasible)'}"
        + (f" (staleness over {', '.join(f'{a}->{b}' for a, b in tg.pairs)})"
           if tg.max_t_visibility_ms is not None or tg.min_p_consistent is not None else ""),
        f"availability: each replica up with probability {number(rec.node_availability)}, the worst client datacenter",
        "",
    ]
    p_col = f"p_consistent_at_{tg.at_ms:g}_ms" if tg.at_ms is not None else None
    rf_head = "RF " + "/".join(dcs)
    width = max(len(rf_head), 8)
    header = (f"  {'rank':>4}  {rf_head:<{width}} {'read':<12} {'write':<12}  {'read ' + pct:>11} {'write ' + pct:>12}  "
              f"{'t-vis @' + number(100 * tg.target) + '%':>12} {'(95% CI)':>17}  {'worst pair':<24}"
              + (f" {'P(t=' + number(tg.at_ms) + 'ms)':>11}" if p_col else "")
              + f"  {'read avail':>14} {'write avail':>14}  cut-off")

    def line(r: Mapping[str, Any], rank: str) -> str:
        from ..recommender.availability import format_availability

        mark = "*" if r["pareto"] else " "
        ci = f"{_ms(float(r['t_visibility_ci_low_ms']))}..{_ms(float(r['t_visibility_ci_high_ms']))}"
        cut = ("reads+writes" if r["reads_survive_cut"] and r["writes_survive_cut"] else "reads" if r["reads_survive_cut"]
               else "writes" if r["writes_survive_cut"] else "neither")
        flag = "  (borderline: CI crosses the bound)" if r["borderline"] else ""
        return (f"  {rank:>4}  {r['rf']:<{width}} {r['read_level']:<12} {r['write_level']:<12} {mark}"
                f"{_ms(float(r['read_latency_' + col + '_ms'])):>11} {_ms(float(r['write_latency_' + col + '_ms'])):>12}  "
                f"{_ms(float(r['t_visibility_ms'])):>12} {ci:>17}  {r['worst_pair']:<24}"
                + (f" {100 * float(r[p_col]):>10.2f}%" if p_col else "")
                + f"  {format_availability(float(r['read_availability'])):>14} "
                  f"{format_availability(float(r['write_availability'])):>14}  {cut}{flag}")

    feasible = rec.feasible
    if feasible.empty:
        c = rec.closest
        lines += [
            "no candidate meets every target.",
            f"closest: RF {c['rf']} read {c['read_level']} write {c['write_level']}, which misses: {c['misses']}.",
            "", "  latencies (worst client datacenter) and t-visibility (worst pair) in ms; cut-off: what completes "
                "when any one datacenter is cut off", header, line(c, "-"),
        ]
    else:
        best = feasible.iloc[0]
        lines += [
            f"{len(feasible):,} feasible of {len(rec.table):,} candidates, cheapest first (fewest replicas ΣRF, then read + "
            f"write {pct} of the worst client datacenters); * = on the Pareto front of read {pct}, write {pct} and t-visibility",
            "  latencies (worst client datacenter) and t-visibility (worst pair) in ms; cut-off: what completes when any "
            "one datacenter is cut off", header,
        ]
        lines += [line(r, str(r["rank"])) for r in feasible.head(SHOWN).to_dict("records")]
        if len(feasible) > SHOWN:
            lines.append(f"  ... {len(feasible) - SHOWN:,} more feasible (--out FILE.csv or --json for every candidate)")
        rf_text = ", ".join(f"{dc} {best['rf:' + dc]}" for dc in dcs)
        lines += ["", f"recommended: RF {rf_text}, read {best.read_level}, "
                      f"write {best.write_level}"]
        lines.append("  per pair: " + "; ".join(
            f"{p.write_dc}->{p.read_dc} t-vis {_ms(p.t_visibility_ms)} ms, read {pct} {_ms(p['read_latency_' + col + '_ms'])}, "
            f"write {pct} {_ms(p['write_latency_' + col + '_ms'])}" for _, p in rec.pairs_of(best).iterrows()))
    own = own_configuration(sc, rec)
    if own is not None:
        what = (f"rank {own['rank']}" if own.get("feasible") else f"excluded: {own['misses']}" if own.get("candidate")
                else "not among the candidates (outside --rf or the levels)")
        lines += ["", f"the scenario's own RF {own['rf']}, read {own['read_level']}, write {own['write_level']}: {what}"]
    excluded = rec.excluded
    if excluded:
        lines += ["", f"excluded ({len(excluded):,}):"] + [f"  {s}" for s in excluded[:SHOWN]]
        if len(excluded) > SHOWN:
            lines.append(f"  ... {len(excluded) - SHOWN:,} more (the misses column of --out / --json)")
    return "\n".join(lines)
