"""``pbs-sim predict``: the WARS t-visibility curve for one (N, R, W) and latency profile.

Owns: the command's options, their one-line errors (``ConfigError`` naming the option) and the
readable / JSON / CSV renderings of a ``PredictResult``; ``--scenario FILE`` hands over to
``pbs_sim.cli.predict_dc`` (a scenario's prediction, per (write DC, read DC) pair with [topology]). Must not touch: computation (that is
``pbs_sim.analytic.wars.predict``). Imports stay light (no pandas unless ``--out``) so a 10^6-trial
prediction returns in well under a second.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError
from ..numbers import number

if TYPE_CHECKING:
    from ..profiles import Profile

DEFAULT_POINTS_MS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


def parse_t_ms(text: str | None) -> tuple[float, ...]:
    """``"0,1,10,45.5"`` -> (0.0, 1.0, 10.0, 45.5); raises ``ConfigError`` naming ``--t-ms``."""
    if text is None:
        return ()
    out: list[float] = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            raise ConfigError("--t-ms", None, f"empty value in {text!r}; expected numbers like 0,1,10,45.5")
        try:
            value = float(item)
        except ValueError:
            raise ConfigError("--t-ms", None, f"{item!r} is not a number (expected e.g. 0,1,10,45.5)") from None
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError("--t-ms", None, f"{item!r}: times must be finite and >= 0")
        out.append(value)
    return tuple(out)


def _option_error(exc: ConfigError) -> ConfigError:
    """A library error about argument ``r`` becomes one about ``--r``."""
    if exc.source is not None:
        return exc
    key = (exc.key or "").split("[")[0].replace("_", "-")
    return ConfigError(f"--{key}" if key else None, None, exc.reason)


def _pct(x: float) -> str:
    return f"{100 * x:.3f} %"


def _ms(x: float) -> str:
    return number(x, 4)


def check_inputs(n: int | list[int] | None, trials: int, seed: int | None, target: float, *, grid: bool = False) -> None:
    """predict's and recommend's one check of N, trials, N x trials, seed and target (the limits
    the library and the explorer apply too), as one line naming the option, before any work."""
    from ..analytic.limits import check_prediction

    try:
        check_prediction(n, trials, seed, target, grid=grid)
    except ConfigError as exc:
        raise _option_error(exc) from None


def load_profile(spec: str) -> Profile:
    """predict's and recommend's one profile loader: a built-in name, ``exponential(...)``, a
    profile TOML or a CSV latency trace, each mistake one line naming ``--profile``."""
    from ..recommender.inputs import resolve_profile

    return resolve_profile(spec, source="--profile")


@click.command("predict")
@click.option("--scenario", "scenario", default=None, metavar="SCENARIO.toml",
              help="Predict a scenario file (its profile, N/R/W or named levels, [predict]); with [topology], "
                   "one curve per (write DC, read DC) pair of client datacenters. Instead of --profile/--n/--r/--w.")
@click.option("--profile", "profile", required=False, metavar="NAME|PATH",
              help="Built-in profile (see `pbs-sim profiles`), exponential(w=..,ars=..), a profile TOML file, "
                   "or a CSV latency trace (columns w,a,r,s or one column).")
@click.option("--n", "n", type=int, required=False, help="N: replicas per key.")
@click.option("--r", "r", type=int, required=False, help="R: read responses waited for.")
@click.option("--w", "w", type=int, required=False, help="W: write acks waited for.")
@click.option("--trials", type=int, default=100_000, show_default=True, help="Monte Carlo trials.")
@click.option("--seed", type=int, default=None,
              help="Root seed in [0, 2**63) (default: a fresh one, printed so it can be given back).")
@click.option("--target", type=float, default=0.999, show_default=True,
              help="Probability in (0, 1) whose t-visibility is reported.")
@click.option("--t-ms", "t_ms", default=None, metavar="T1,T2,...",
              help="Times after commit (ms) to report P(consistent) at, e.g. 0,1,10,45.5.")
@click.option("--fanout", default="all", show_default=True, metavar="all|quorum",
              help="Reads go to all N replicas (PBS paper) or to R random ones (Cassandra 1.2).")
@click.option("--k", "k", type=int, default=1, show_default=True, help="k for k-staleness (1 - (1-p0)^k).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Write the curve as CSV (or .parquet).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress on stderr: a bar on a terminal, else a line with the time left now and then.")
@click.pass_context
def predict(
    ctx: click.Context, scenario: str | None, profile: str | None, n: int | None, r: int | None, w: int | None,
    trials: int, seed: int | None, target: float, t_ms: str | None, fanout: str, k: int, as_json: bool,
    out: str | None, progress: bool,
) -> None:
    """Predict how stale reads are: P(a read started t ms after a write's commit sees it), from the
    WARS model of the PBS paper, with the t at which it reaches --target and latency percentiles.

    Example: pbs-sim predict --profile lnkd-disk --n 3 --r 1 --w 1 --t-ms 0,10,100
    """
    from ..analytic.limits import PROGRESS_MIN_WORK
    from ..analytic.wars import predict as run_predict

    flat = {"profile": profile, "n": n, "r": r, "w": w}
    if scenario is not None:
        from .predict_dc import predict_scenario_file

        given = {name for name, value in flat.items() if value is not None}
        if given:
            raise ConfigError("--scenario", None, f"the scenario sets the profile, N, R and W; drop "
                                                  f"{', '.join('--' + g for g in sorted(given))}")
        chosen = {name: value for name, value in (("trials", trials), ("target", target), ("fanout", fanout),
                                                  ("k", k), ("t_ms", t_ms))
                  if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}
        predict_scenario_file(scenario, chosen, seed, as_json, out, progress)
        return
    for name, value in flat.items():
        if value is None:
            param = next(p for p in ctx.command.params if p.name == name)
            raise click.MissingParameter(ctx=ctx, param=param)
    assert profile is not None and n is not None and r is not None and w is not None
    check_inputs(n, trials, seed, target)
    from ..io import dumps, table_format, write_table

    if out is not None:
        table_format(out)  # .csv or .parquet, refused before any work
    requested = parse_t_ms(t_ms)
    prof = load_profile(profile)
    from .progress import Progress

    # long means N x trials (one trial draws 4 N delays), not trials alone: N = 10^4 at 10^5 trials
    # takes as long as N = 3 at 3 x 10^8
    bar = Progress(trials, "trial", "predict", enabled=progress and n * trials >= PROGRESS_MIN_WORK)
    try:
        res = run_predict(
            prof, n, r, w, trials=trials, seed=seed, target=target,
            t_ms=requested or DEFAULT_POINTS_MS, fanout=fanout, k=k, progress=bar,
        )
    except ConfigError as exc:
        raise _option_error(exc) from None
    finally:
        bar.close()
    if out is not None:
        write_table(res.curve, out)
    if as_json:
        click.echo(dumps(res.to_dict()))
        return
    click.echo(render_table(res, requested or _default_points(res.t_visibility_ms)))
    if out is not None:
        click.echo(f"curve ({len(res.t_ms)} points) written to {out}")


def _default_points(t_vis: float) -> tuple[float, ...]:
    """The default points worth showing: up to the first one past the t-visibility."""
    shown: list[float] = []
    for t in DEFAULT_POINTS_MS:
        shown.append(t)
        if t > t_vis:
            break
    return tuple(shown)


def render_table(res: object, points: tuple[float, ...]) -> str:
    """The readable report of a ``PredictResult``."""
    from ..analytic.wars import PredictResult, wilson

    assert isinstance(res, PredictResult)
    import numpy as np

    lo, hi = res.t_visibility_ci_ms
    p0_lo, p0_hi = wilson(np.asarray([round(res.p_consistent_at_t0 * res.trials)]), res.trials)
    lines = [
        f"{res.profile}: N={res.n} R={res.r} W={res.w}, read fan-out {res.fanout}, "
        f"{res.trials:,} trials, seed {res.seed}",
        f"  P(consistent at t=0)      {_pct(res.p_consistent_at_t0)}  (95% CI {_pct(float(p0_lo[0]))} .. {_pct(float(p0_hi[0]))})",
        f"  t-visibility @ {number(100 * res.target)} %   {_ms(res.t_visibility_ms)} ms  (95% CI {_ms(lo)} .. {_ms(hi)} ms)",
    ]
    if res.mode == "streaming":
        lines.append("  (streaming mode: quantiles are histogram bin upper edges, at most 0.115 % high)")
    if res.k > 1:
        lines.append(f"  P(one of last {res.k} versions at t=0)  {_pct(res.k_staleness)}  (assumes independent writes)")
    lines.append("")
    lines.append(f"  {'t_ms':>10}  {'p_consistent':>12}  {'95% CI (Wilson)':>21}")
    counts = res.consistent_count(np.asarray(points, dtype=float))
    low, high = wilson(counts, res.trials)
    for t, c, a, b in zip(points, counts, low, high, strict=True):
        lines.append(f"  {number(t):>10}  {100 * c / res.trials:>11.3f}%  {100 * a:>9.3f}% .. {100 * b:>7.3f}%")
    lines.append("")
    lines.append(f"  {'latency (ms)':<14}{'p50':>9}{'p99':>9}{'p99.9':>9}")
    for name, lat in (("read", res.read_latency_ms), ("write", res.write_latency_ms)):
        lines.append(f"  {name:<14}" + "".join(f"{_ms(lat[q]):>9}" for q in ("p50", "p99", "p99.9")))
    return "\n".join(lines)
