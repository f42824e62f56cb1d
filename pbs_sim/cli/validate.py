"""``pbs-sim validate CONFIG.toml``: check a scenario (or a sweep file) without running anything.

Owns: loading through the same validators the runs use and printing ``ok`` with the resolved key
facts; with ``--keys``, the list of every scenario setting with its default and meaning.
Must not touch: computation. Errors are ``ConfigError``s: one line naming file, key and reason,
exit status 2 (handled by ``pbs_sim.cli.main``).
"""

from __future__ import annotations

from typing import Any

import click

from ..numbers import num


def scenario_facts(sc: Any) -> list[str]:
    """Readable resolved facts of a Scenario."""
    c, wl, lat = sc.cluster, sc.workload, sc.latency
    prof = lat.wars
    lines = [
        f"cluster   N={c.replication} R={c.read_quorum} W={c.write_quorum} on {c.nodes} nodes "
        f"({c.vnodes} vnodes each); fan-out read {c.read_fanout} / write {c.write_fanout}"
        f" (replica choice {c.replica_choice}); coordinator {c.coordinator}; "
        f"timeouts read {num(c.read_timeout_ms)} ms / write {num(c.write_timeout_ms)} ms",
        f"quorum    R + W {'>' if c.read_quorum + c.write_quorum > c.replication else '<='} N: "
        + ("strict (no stale reads without faults)" if c.read_quorum + c.write_quorum > c.replication
           else "partial (reads can be stale)"),
        f"latency   {prof.name}: " + "; ".join(f"{k} {v}" for k, v in prof.rows()),
    ]
    if sc.topology.enabled:  # R + W against N says nothing about DC-aware levels
        lines[1] = ("quorum    DC-aware: whether a read meets the write depends on the (write DC, read DC) pair "
                    "(`pbs-sim predict --scenario`)")
    lines.extend(_topology_facts(sc))
    if wl.kind == "pbs-probe":
        offsets = (f"one offset per trial from {wl.probe_offset.spec()}" if wl.probe_offset is not None
                   else "reads at " + ", ".join(f"{num(t)}" for t in wl.probe_offsets_ms) + " ms after commit")
        lines.append(f"workload  pbs-probe: {wl.trials:,} trials every {num(wl.probe_interval_ms)} ms; {offsets}")
    elif wl.trace_info is not None:  # issue 18: trace replay
        t = wl.trace_info
        lines.append(f"workload  trace: {t.rows:,} operations ({t.rmw_rows:,} read-modify-writes) from {t.path} "
                     f"({t.fmt}, {t.form} columns) over {num(t.last_ms * wl.trace_time_scale)} ms; keys {wl.trace_keys}")
    elif wl.kind == "script" and wl.script is not None:
        sc_ = wl.script
        kinds = {k: sum(o.op == k for o in sc_.ops) for k in ("read", "write", "rmw")}
        lines.append(f"workload  script {sc_.path or sc_.source}: {len(sc_):,} lines ({kinds['read']} reads, "
                     f"{kinds['write']} writes, {kinds['rmw']} read-modify-writes) by "
                     f"{len({o.client for o in sc_.ops})} clients on {len({o.key for o in sc_.ops})} keys, "
                     f"over {num(sc_.end_ms)} ms")
    else:
        rate = (f"Poisson {num(wl.rate_per_s)} ops/s (~{wl.rate_per_s * wl.duration_ms / 1000:,.0f} measured ops)"
                if wl.kind == "open" else f"{wl.clients} clients, think time {wl.think_time.spec()}")
        y = wl.ycsb_spec
        mix = (f"{num(100 * wl.read_fraction)} % reads" if y is None else  # issue 18: YCSB's mix and key choice
               f"YCSB {y.name}: read {y.read:g}, update {y.update:g}, insert {y.insert:g}, read-modify-write {y.rmw:g}")
        keys = wl.key_distribution.spec() if y is None else y.distribution
        lines.append(
            f"workload  {wl.kind}: {rate}; {wl.keys:,} keys {keys}; {mix}; {num(wl.duration_ms)} ms after "
            f"{num(wl.warmup_ms)} ms warm-up"
        )
    extras = []
    if sc.faults.crash_mttf_ms or sc.faults.disk_loss_mttf_ms or sc.faults.message_loss or sc.faults.schedule:
        extras.append("faults on")
    if sc.read_repair.mode != "off":
        extras.append(f"read repair {sc.read_repair.mode}")
    if sc.anti_entropy.mode != "off":
        extras.append(f"anti-entropy {sc.anti_entropy.mode}")
    k = sc.clocks
    if not k.perfect:
        spread = k.offset.spec() if k.offset is not None else (f"offsets {list(k.offsets_ms)}" if k.offsets_ms else "no offset")
        extras.append(f"clocks ({k.timestamp_source} timestamps, {spread}"
                      + (f", drift {k.drift_ppm.spec()} ppm" if k.drift_ppm is not None else "")
                      + (f", resync every {num(k.resync_interval_ms)} ms" if k.resync_interval_ms else "") + ")")
    if wl.write_pattern != "blind" or wl.hot_key_writers_per_s:
        extras.append(f"writes {wl.write_pattern}" + (f", {len(wl.hot_key_writers_per_s)} hot-key writers on key "
                                                      f"{wl.hot_key}" if wl.hot_key_writers_per_s else ""))
    if sc.cluster.sloppy_quorum:
        extras.append(f"sloppy quorum ({sc.cluster.fallback_walk} fallbacks, PW {sc.cluster.pw}, PR {sc.cluster.pr})")
    if sc.cluster.write_any:
        extras.append("writes at ANY")
    if sc.hinted_handoff.store != "off":
        extras.append(f"hinted handoff on the {sc.hinted_handoff.store}")
    if sc.failure_detector.mode != "off":
        extras.append(f"failure detector {sc.failure_detector.mode}")
    lines.append(f"run       seed {sc.run.seed}" + (f"; {', '.join(extras)}" if extras else ""))
    return lines


def _topology_facts(sc: Any) -> list[str]:
    """Issue 19: the datacenters, their links and the named levels (nothing for a flat cluster)."""
    from ..topology import requirements

    topo, cons = sc.topology, sc.consistency
    out = []
    if topo.enabled:
        dcs = ", ".join(f"{d.name} ({d.nodes} nodes, {d.racks} racks, RF {d.replication}, clients {d.clients:g})"
                        for d in topo.datacenters)
        out.append(f"topology  {dcs}; intra-rack +{topo.intra_rack.spec()}, intra-DC +{topo.intra_dc.spec()}")
        names = topo.names
        pairs = [f"{a}-{b} +{topo.link(a, b).spec()}" for i, a in enumerate(names) for b in names[i + 1:]]
        if pairs:
            out.append("links     " + "; ".join(pairs))
        from ..errors import ConfigError
        from ..topology import check_simulator

        try:
            check_simulator(sc)
        except ConfigError as exc:  # valid for the analytic engine; `pbs-sim run` would refuse it
            out.append(f"simulator refuses {exc.key}: {exc.reason} (predict --scenario runs it)")
    if any(getattr(cons, k) is not None for k in ("read", "write", "pr", "pw")):
        local = next(iter(topo.client_weights())) if topo.enabled else None
        read, write = requirements(sc, local)
        where = f" (coordinator in {local})" if local else ""
        out.append(f"levels    read {read.describe()}; write {write.describe()}{where}")
    return out


@click.command("validate")
@click.argument("config", metavar="CONFIG.toml", required=False)
@click.option("--keys", is_flag=True, help="List every scenario setting with its default and meaning.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Check with a setting overridden, as `pbs-sim run --set` would run it (repeatable).")
def validate(config: str | None, keys: bool, overrides: tuple[str, ...]) -> None:
    """Check a scenario (or sweep) file without running it: prints "ok" and the resolved settings,
    or one line naming the file, key and reason (exit status 2).
    """
    from ..config import describe_fields, load_scenario, read_toml
    from ..errors import ConfigError

    if keys:
        for key, default, doc in describe_fields():
            click.echo(f"{key:<34} {default:<28} {doc}")
        if config is None:
            return
    if config is None:
        raise ConfigError("validate", None, "missing CONFIG.toml (or use --keys)")
    raw = read_toml(config)
    if "sweep" in raw:
        if overrides:
            raise ConfigError("--set", None, "applies to scenario files; vary a sweep's settings in its [grid]")
        from ..sweep.spec import load_sweep

        spec = load_sweep(config)
        click.echo(f"ok: {config}: sweep of {len(spec.cells)} cells x {spec.replications} replications "
                   f"= {spec.n_runs} runs on engine {spec.engine}, seed {spec.seed}")
        for key in spec.swept_keys:
            click.echo(f"  varies {key}")
        return
    from .run import parse_override

    sc = load_scenario(config, dict(parse_override(o) for o in overrides))
    click.echo(f"ok: {config}")
    for line in scenario_facts(sc):
        click.echo(f"  {line}")
