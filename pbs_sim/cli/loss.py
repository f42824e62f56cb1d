"""``pbs-sim loss CONFIG.toml``: the probability of losing data for a stated cluster.

Owns: the command's options and its readable and JSON renderings of :func:`pbs_sim.loss.scenario_loss`
— P(at least one key loses every replica) per event with its bounds, the expected fraction of keys
lost, P(loss per year), MTTDL and NOMDL_t, and with ``--mc-trials`` the Monte Carlo beside it.
Must not touch: computation. A bad file or key is one line naming the file, the key and the reason,
exit status 2, before any work (handled by ``pbs_sim.cli.main``).
"""

from __future__ import annotations

import json
import math

import click

from ..errors import ConfigError


def _p(x: float) -> str:
    return "0" if x == 0 else f"{x:.4g}"


@click.command("loss")
@click.argument("config", metavar="CONFIG.toml")
@click.option("--mc-trials", type=int, default=None, metavar="N",
              help="Also run N Monte Carlo trials over the placement's replica sets (default: failure_model.trials "
                   "with --mc, else none).")
@click.option("--mc", is_flag=True, help="Run the Monte Carlo with failure_model.trials trials.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def loss(config: str, mc_trials: int | None, mc: bool, overrides: tuple[str, ...], as_json: bool) -> None:
    """P(data loss) per event and per year, the expected fraction of keys lost, MTTDL and NOMDL for the
    scenario's [placement] and [failure_model].

    Example: pbs-sim loss cluster.toml --mc --set failure_model.failed_nodes=50
    """
    from ..config import load_scenario
    from ..loss import scenario_loss
    from .run import parse_override

    if mc_trials is not None and mc_trials < 1:
        raise ConfigError("--mc-trials", None, f"must be >= 1, got {mc_trials}")
    sc = load_scenario(config, dict(parse_override(o) for o in overrides))
    trials = mc_trials if mc_trials is not None else (sc.failure_model.trials if mc else None)
    row = scenario_loss(sc, mc_trials=trials)
    if as_json:
        click.echo(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}))
        return
    exact = "exact" if row["exact"] else f"estimate; bounds {_p(row['p_loss_lower'])} .. {_p(row['p_loss_upper'])}"
    lines = [
        f"{config}: {row['placement']} placement, {row['nodes']:,} nodes, R = {row['replication']}, "
        f"{row['replica_sets']:,} distinct replica sets (scatter width {row['scatter_width']:.3g})",
        f"failure model  {row['failure_model']}: {row['method']}",
        f"P(loss) per event       {_p(row['p_loss'])} ({exact})",
        f"expected keys lost      {_p(row['expected_fraction_lost'])} of all keys per event",
        f"P(loss) per year        {_p(row['p_loss_per_year'])} at {row['events_per_year']:g} events per year "
        f"(durability {1 - row['p_loss_per_year']:.6g})",
        f"MTTDL                   {row['mttdl_years']:.4g} years",
        f"NOMDL_t                 {_p(row['nomdl'])} of the data lost in t = {row['mission_years']:g} years",
    ]
    if "mc_p_loss" in row:
        lines.append(f"Monte Carlo             {_p(row['mc_p_loss'])} (95 % CI {_p(row['mc_ci_low'])} .. "
                     f"{_p(row['mc_ci_high'])}, {row['mc_trials']:,} trials; fraction lost {_p(row['mc_fraction_lost'])}; "
                     f"peak {row['mc_peak_bytes'] / 2**20:.0f} MiB)")
    click.echo("\n".join(lines))
