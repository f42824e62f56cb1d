"""``pbs-sim predict --scenario FILE``: a scenario's prediction, per (write DC, read DC) pair with [topology].

Owns: loading the scenario with the options the user gave (``--trials``, ``--target``, ``--fanout``,
``--k``, ``--t-ms`` override its ``[predict]``), the one-line refusals before any work, and the
readable / JSON / CSV renderings of the per-pair results (the Cosmos DB view: one t-visibility
curve per pair of client datacenters). Must not touch: computation
(``pbs_sim.analytic.multidc.predict_topology``; a flat scenario goes to ``predict_scenario``).
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigError, check_seed
from ..numbers import number
from .predict import (
    DEFAULT_POINTS_MS,
    _default_points,
    _ms,
    _option_error,
    _pct,
    check_inputs,
    parse_t_ms,
    render_table,
)


def predict_scenario_file(
    path: str, chosen: dict[str, Any], seed: int | None, as_json: bool, out: str | None, progress: bool,
) -> None:
    from ..analytic.limits import MAX_PREDICT_WORK, PROGRESS_MIN_WORK, check_prediction
    from ..config import load_scenario, read_toml
    from ..io import dumps, table_format, write_table

    check_seed(seed)
    if "t_ms" in chosen:
        chosen["t_ms"] = list(parse_t_ms(chosen["t_ms"]))
    if "trials" in chosen or "target" in chosen:
        check_inputs(None, chosen.get("trials", 1), None, chosen.get("target", 0.5))
    if out is not None:
        table_format(out)
    if "sweep" in read_toml(path):
        raise ConfigError(path, "sweep", "this is a sweep file; run it with `pbs-sim sweep`")
    sc = load_scenario(path, {f"predict.{k}": v for k, v in chosen.items()})
    requested = tuple(sc.predict.t_ms)
    points = requested or DEFAULT_POINTS_MS
    if not sc.topology.enabled:
        from ..analytic.wars import predict_scenario

        res = predict_scenario(sc.with_overrides({"predict.t_ms": list(points)}), seed=seed)
        if out is not None:
            write_table(res.curve, out)
        click.echo(dumps(res.to_dict()) if as_json else render_table(res, requested or _default_points(res.t_visibility_ms)))
        return
    from ..analytic.multidc import client_pairs, predict_topology
    from .progress import Progress

    pairs = client_pairs(sc.topology)
    n, trials = sc.cluster.replication, sc.predict.trials
    try:
        check_prediction(n, trials, seed)
    except ConfigError as exc:
        raise _option_error(exc) from None
    work = n * trials * len(pairs)
    if work > MAX_PREDICT_WORK:
        raise ConfigError("--trials", None, f"{len(pairs)} DC pairs x N = {n} x {trials:,} trials = {work:,}; "
                                            f"at most {MAX_PREDICT_WORK:,}")
    bar = Progress(trials * len(pairs), "trial", "predict", enabled=progress and work >= PROGRESS_MIN_WORK)
    try:
        results = predict_topology(sc, seed, t_ms=points, progress=bar)
    except ConfigError as exc:
        raise _option_error(exc) from None
    finally:
        bar.close()
    if out is not None:
        import pandas as pd

        frames = []
        for pr in results:
            f = pr.result.curve.copy()
            f.insert(0, "read_dc", pr.read_dc)
            f.insert(0, "write_dc", pr.write_dc)
            frames.append(f)
        write_table(pd.concat(frames, ignore_index=True), out)
    cut = wan_cut_availability(sc)
    if as_json:
        click.echo(dumps({
            "scenario": path,
            "wan_cut": cut,
            "pairs": [{"write_dc": pr.write_dc, "read_dc": pr.read_dc, "read_level": pr.read_level,
                       "write_level": pr.write_level, **pr.result.to_dict()} for pr in results],
        }))
        return
    click.echo(render_pairs(sc, results, requested))
    click.echo("")
    click.echo("  if the WAN is cut (each datacenter alone, its replicas up): "
               + "; ".join(f"{c['dc']} reads {'available' if c['read_available'] else 'unavailable'}, writes "
                           f"{'available' if c['write_available'] else 'unavailable'}" for c in cut))
    if out is not None:
        click.echo(f"curves ({len(results)} DC pairs) written to {out}")


def wan_cut_availability(sc: Any) -> list[dict[str, Any]]:
    """Per client datacenter: can its reads and writes complete when it is cut off from every other
    datacenter (``pbs_sim.analytic.multidc.availability`` with only its own replicas reachable)?"""
    from ..analytic.multidc import availability
    from ..topology import requirements

    rf = sc.topology.replication()
    out = []
    for dc in sc.topology.client_weights():
        read, write = requirements(sc, dc)
        out.append({"dc": dc, "read_available": availability(read, rf, dc, {dc}) == 1.0,
                    "write_available": availability(write, rf, dc, {dc}) == 1.0})
    return out


def render_pairs(sc: Any, results: list[Any], requested: tuple[float, ...]) -> str:
    """One block per (write DC, read DC) pair: P(consistent at t), t-visibility, latencies."""
    import numpy as np

    from ..analytic.wars import wilson

    first = results[0].result
    lines = [
        f"{first.profile}: {len(sc.topology.datacenters)} datacenters "
        f"({', '.join(f'{d.name} RF {d.replication}' for d in sc.topology.datacenters)}), read fan-out "
        f"{first.fanout}, {first.trials:,} trials per pair, seed {first.seed} (the same for every pair)",
        "  the simulator runs the same scenario too: pbs-sim run FILE",
    ]
    for pr in results:
        res = pr.result
        lo, hi = res.t_visibility_ci_ms
        lines.append("")
        lines.append(f"  write in {pr.write_dc} at {pr.write_level}, read in {pr.read_dc} at {pr.read_level}")
        lines.append(f"    P(consistent at t=0)    {_pct(res.p_consistent_at_t0)}")
        lines.append(f"    t-visibility @ {number(100 * res.target)} %  {_ms(res.t_visibility_ms)} ms "
                     f"(95% CI {_ms(lo)} .. {_ms(hi)} ms)")
        pts = requested or _default_points(res.t_visibility_ms)
        counts = res.consistent_count(np.asarray(pts, dtype=float))
        low, high = wilson(counts, res.trials)
        lines.append("    " + "  ".join(f"t={number(t)}: {100 * c / res.trials:.2f}% [{100 * a:.2f}, {100 * b:.2f}]"
                                         for t, c, a, b in zip(pts, counts, low, high, strict=True)))
        lines.append(f"    latency ms  read p50 {_ms(res.read_latency_ms['p50'])} p99 {_ms(res.read_latency_ms['p99'])}"
                     f"; write p50 {_ms(res.write_latency_ms['p50'])} p99 {_ms(res.write_latency_ms['p99'])}")
    return "\n".join(lines)
