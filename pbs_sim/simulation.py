"""``simulate(scenario)``: build the SimPy model, run it, and compute the metrics of its history.

Owns: the simulator's public entry point and its result type :class:`SimResult` (the history, the
t-visibility curve, a flat ``summary()`` row whose names line up with the analytic engine's, and
named ``frames()``), and the core summary names (:data:`CORE_NAMES`). The row is assembled from
declarations: the core names, then every registered reporter's declared names in registry order
(:data:`SUMMARY_NAMES`, checked for collisions when this module is imported). This is the one place that joins the two one-way halves: ``pbs_sim.sim`` (runs,
never imports metrics) and ``pbs_sim.metrics`` (pure functions, never runs SimPy).
Must not touch: protocol logic, metric definitions, files (the CLI writes results).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import LazyModule
from .config import Scenario, load_scenario, scenario_from_dict
from .history import History
from .mechanisms import MECHANISMS, reporters, sim_mechanisms, summary_names
from .metrics import latency as lat_m
from .metrics import monitoring as mon_m
from .metrics import sessions as ses_m
from .metrics import staleness as st_m
from .metrics.mechanism import RunView, check_report, collect
from .rng import Streams
from .sim.build import Model, build

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

Seed = int | np.random.SeedSequence | None
MONITOR_TRIALS = 100_000

#: The summary names :func:`analyse` computes itself, in row order (the reporters' follow).
CORE_NAMES: tuple[str, ...] = (
    "engine", "n", "r", "w", "nodes", "profile", "workload", "read_fanout", "write_fanout", "coordinator", "seed",
    "ops", "reads", "writes", "failed_ops", "availability", "measured_reads", "p_consistent_at_t0", "target",
    "t_visibility_ms", "stale_read_fraction", "mean_versions_behind", "k", "p_k_staleness",
    "read_latency_p50_ms", "read_latency_p99_ms", "read_latency_p999_ms",
    "write_latency_p50_ms", "write_latency_p99_ms", "write_latency_p999_ms",
    "monotonic_read_violation_rate", "read_your_writes_violation_rate", "t0_bin_high_ms",
    "predicted_p_consistent_at_t0", "predicted_t_visibility_ms", "predicted_p_consistent_exact_t0",
    "predicted_t_visibility_exact_ms", "monitoring_max_gap", "monitoring_rmse",
    "load_writes", "messages", "messages_dropped", "sim_time_ms", "wall_s", "cpu_s",
)
#: Every column of ``SimResult.summary()``, in order. Built at import: a reporter declaring a core
#: name, or two reporters one name, is a ``NameCollision`` here, not a silently overwritten figure.
SUMMARY_NAMES: tuple[str, ...] = summary_names(MECHANISMS, reserved=CORE_NAMES)


@dataclass
class SimResult:
    """What one simulated run gives: history, curve, summary and named frames."""

    scenario: Scenario
    seed: Any
    history: History
    curve: pd.DataFrame
    outcomes: pd.DataFrame = field(repr=False)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    record_ops: bool = False
    _summary: dict[str, Any] = field(default_factory=dict, repr=False)
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        """One flat row of scalars (resolved parameters and metrics)."""
        return dict(self._summary)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Named DataFrames: ``curve, versions_behind, k_staleness, latency, per_key`` (not for
        pbs-probe), ``monitoring``, ``sessions``,
        any extra history tables (faults, repairs, ...), and with ``record_ops`` the raw ``ops`` (with
        ``key_name`` and ``value`` columns), ``applies`` and per-read ``reads`` (outcomes)."""
        out = {"curve": self.curve, **self._frames}
        for name, table in self.history.tables.items():
            if name in ("ops", "applies"):
                if self.record_ops:  # ops with key names and values (pbs_sim.keys)
                    out[name] = self.history.to_frame(name, names=name == "ops")
            else:
                out[name] = table.to_frame()
        if self.record_ops:
            out["reads"] = self.outcomes
        return out


def _seed_repr(seed: Any) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return f"{seed.entropy}:{'.'.join(map(str, seed.spawn_key))}" if seed.spawn_key else seed.entropy
    return seed


ScenarioLike = Scenario | str | os.PathLike[str] | Mapping[str, Any]


def as_scenario(scenario: ScenarioLike) -> Scenario:
    """A ``Scenario`` from itself, a scenario TOML path, or a dict shaped like one (validated)."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return load_scenario(Path(scenario))
    if isinstance(scenario, Mapping):
        return scenario_from_dict(scenario)
    raise TypeError(f"simulate() takes a Scenario, a scenario file path or a dict, not {type(scenario).__name__}")


#: Off a terminal, ``simulate(progress=True)`` prints progress lines only for a run expected to
#: issue at least this many operations (about 2 CPU s at ~50,000 ops per CPU s): short runs stay quiet.
SIM_PROGRESS_MIN_OPS = 100_000


def _expected_ops(scenario: Scenario, end_ms: float) -> float:
    """Roughly how many operations a run issues: an open workload's rate over its time, a probe
    workload's trials (a closed workload has no rate: counted as long)."""
    wl = scenario.workload
    if wl.kind == "open":
        return float(wl.rate_per_s) * end_ms / 1000.0
    if wl.kind == "pbs-probe":
        return float(wl.trials)
    return float("inf")


def simulate(
    scenario: ScenarioLike,
    seed: Seed = None,
    *,
    record_ops: bool = False,
    progress: bool = False,
) -> SimResult:
    """Run a scenario on the discrete-event simulator and compute its metrics.

    Same scenario and seed give identical results (wall and CPU times aside), on any machine and
    executor.

    Args:
        scenario: a ``Scenario``, a scenario TOML path, or a dict shaped like one (as ``run_sweep``
            and ``check`` accept).
        seed: an int, or a ``numpy.random.SeedSequence`` (a sweep's replication); None uses the
            scenario's ``run.seed``.
        record_ops: also keep the raw ``ops`` / ``applies`` tables and per-read outcomes in
            ``frames()`` (what ``pbs-sim run --ops`` writes and ``check`` needs).
        progress: show a tqdm bar on a terminal, and elsewhere a line per tenth of the simulated time
            for a long-ish run (``SIM_PROGRESS_MIN_OPS``).

    Returns:
        A ``SimResult``: ``history`` (the columnar record of every operation and replica change),
        ``curve`` (measured P(consistent) against t since commit, with 95 % intervals),
        ``summary()`` (one flat dict of the resolved parameters and every metric, named like the
        analytic engine's) and ``frames()`` (the named tables a run writes).

    Raises:
        ConfigError: a scenario path or dict that does not validate.

    Example:
        >>> res = simulate({"workload": {"rate_per_s": 2000, "duration_ms": 500, "warmup_ms": 100}}, seed=1)
        >>> s = res.summary()
        >>> s["n"], s["r"], s["w"], s["failed_ops"]
        (3, 1, 1, 0)
        >>> again = simulate({"workload": {"rate_per_s": 2000, "duration_ms": 500, "warmup_ms": 100}}, seed=1)
        >>> again.curve.equals(res.curve), again.summary()["stale_read_fraction"] == s["stale_read_fraction"]
        (True, True)
    """
    scenario = as_scenario(scenario)
    from .topology import check_simulator

    check_simulator(scenario)  # issue 19: what cannot run on a topology yet, before any work
    root = scenario.run.seed if seed is None else seed
    streams = Streams(root)
    model = build(scenario, streams, sim_mechanisms())
    bar = None
    callback = None
    if progress:
        from .cli.progress import Progress

        total = max(round(model.workload.expected_end_ms), 1)
        # off a terminal, a line per tenth only for long-ish runs (SIM_PROGRESS_MIN_OPS operations)
        expected = _expected_ops(scenario, total)
        bar = Progress(total, "ms", "simulating", tty=None, units="simulated ms",
                       steps=None if expected >= SIM_PROGRESS_MIN_OPS else 0,
                       first_note_s=None if expected >= SIM_PROGRESS_MIN_OPS else float("inf"))
        done = [0]

        def callback(now: float) -> None:
            assert bar is not None
            reached = max(0, min(round(now), total))
            if reached > done[0]:
                bar(reached - done[0])
                done[0] = reached

    w0, c0 = time.perf_counter(), time.process_time()
    try:
        history = model.run(progress=callback)
    finally:
        if bar is not None:
            bar.close()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return analyse(model, history, seed=_seed_repr(root), wall_s=wall, cpu_s=cpu, record_ops=record_ops,
                   streams=streams)


def analyse(
    model: Model, history: History, *, seed: Any, wall_s: float, cpu_s: float, record_ops: bool,
    streams: Streams,
) -> SimResult:
    """Metrics of a finished run (pure functions of its history and observed delays)."""
    sc = model.scenario
    c, wl = sc.cluster, sc.workload
    ops = history.to_frame("ops")
    facts = history.facts
    warmup = float(facts.warmup_ms)
    end_at = float(facts.sim_time_ms) if math.isfinite(facts.sim_time_ms) else float(model.env.now)
    # every table once: staleness, sessions and the reporters share one store order built from them
    # (pbs_sim.metrics.order: LWW stamp ranks, or the causal order under sibling policies)
    all_frames = {"ops": ops, **{k: history.to_frame(k) for k in history.tables if k != "ops"}}
    outcomes = st_m.store_order_outcomes(ops, all_frames, warmup)
    exact_t = wl.kind == "pbs-probe" and wl.probe_offset is None
    curve = st_m.t_visibility_curve(outcomes, at_t=wl.probe_offsets_ms if exact_t else None)
    target = sc.predict.target
    kst = st_m.k_staleness(outcomes, (1, 2, 3))
    latency = lat_m.latency_table(ops, warmup)
    sessions = ses_m.session_summary(ses_m.store_order_sessions(ops, all_frames, warmup))

    t_points = curve["t_ms"].to_numpy(float)
    if not exact_t and len(outcomes):
        t_points = np.concatenate([t_points, outcomes["t_ms"].dropna().to_numpy(float)])
    prediction = mon_m.predict_observed(
        model.network.delay_samples(), c.replication, c.read_quorum, c.write_quorum, np.unique(t_points),
        trials=min(sc.predict.trials, MONITOR_TRIALS), seed=streams.sequence("monitoring"),
        fanout=c.read_fanout, target=target,
    ) if len(curve) else None
    monitoring = mon_m.monitoring_frame(curve, prediction, outcomes)
    gap = mon_m.monitoring_gap(monitoring)
    # like with like: the prediction over the same bins (same reads) or probe offsets as the measured
    # t0 figure and t-visibility; the exact predictions stay beside them under their own names
    same = monitoring.assign(p_consistent=monitoring["predicted"])
    pred_p0 = float(same["p_consistent"].iloc[0]) if len(same) and same["t_ms"].iloc[0] == 0.0 else math.nan

    measured = ops["issued_at"].to_numpy() >= warmup
    is_read = (ops["kind"] == "read").to_numpy(dtype=bool)
    ok = (ops["status"] == "ok").to_numpy(dtype=bool)
    lat = {row["kind"]: row for row in latency.to_dict("records")}
    p0 = math.nan
    if len(curve) and curve["t_ms"].iloc[0] == 0.0:
        p0 = float(curve["p_consistent"].iloc[0])
    n_reads = len(outcomes)
    k = sc.predict.k
    summary: dict[str, Any] = {
        "engine": "simulate",
        "n": c.replication, "r": c.read_quorum, "w": c.write_quorum, "nodes": c.nodes,
        "profile": sc.latency.wars.name, "workload": wl.kind,
        "read_fanout": c.read_fanout, "write_fanout": c.write_fanout, "coordinator": c.coordinator,
        "seed": seed,
        "ops": int(measured.sum()),
        "reads": int((measured & is_read).sum()),
        "writes": int((measured & ~is_read).sum()),
        "failed_ops": int((measured & ~ok).sum()),
        "availability": lat_m.availability(ops, warmup),
        "measured_reads": n_reads,
        "p_consistent_at_t0": p0,
        "target": target,
        "t_visibility_ms": st_m.t_visibility(curve, target),
        "stale_read_fraction": float((~outcomes["consistent"].astype(bool)).mean()) if n_reads else math.nan,
        "mean_versions_behind": float(outcomes["versions_behind"].mean()) if n_reads else math.nan,
        "k": k,
        "p_k_staleness": float((outcomes["versions_behind"] < k).mean()) if n_reads else math.nan,
        "read_latency_p50_ms": lat["read"]["p50_ms"],
        "read_latency_p99_ms": lat["read"]["p99_ms"],
        "read_latency_p999_ms": lat["read"]["p999_ms"],
        "write_latency_p50_ms": lat["write"]["p50_ms"],
        "write_latency_p99_ms": lat["write"]["p99_ms"],
        "write_latency_p999_ms": lat["write"]["p999_ms"],
        "monotonic_read_violation_rate": sessions["monotonic_read_violation_rate"],
        "read_your_writes_violation_rate": sessions["read_your_writes_violation_rate"],
        "t0_bin_high_ms": float(curve["t_high_ms"].iloc[0]) if "t_high_ms" in curve and len(curve) else 0.0,
        "predicted_p_consistent_at_t0": pred_p0 if prediction is not None else math.nan,
        "predicted_t_visibility_ms": st_m.t_visibility(same, target) if prediction is not None else math.nan,
        "predicted_p_consistent_exact_t0": float(prediction.p_consistent(0.0)) if prediction is not None else math.nan,
        "predicted_t_visibility_exact_ms": float(prediction.t_visibility_ms) if prediction is not None else math.nan,
        **gap,
        "load_writes": int(facts.load_writes),  # workload.preload (not measured ops)
        "messages": int(sum(model.network.sent.values())),
        "messages_dropped": int(sum(model.network.dropped.values())),
        "sim_time_ms": end_at,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
    }
    frames = {
        "versions_behind": st_m.versions_behind_counts(outcomes),
        "k_staleness": kst,
        "latency": latency,
        # pbs-probe keys are one trial each: staleness per key says nothing there
        **({} if wl.kind == "pbs-probe" else {"per_key": st_m.per_key(outcomes, ops)}),
        "monitoring": monitoring,
        "sessions": pd.DataFrame([sessions]),
    }
    check_report("simulate", CORE_NAMES, summary)  # CORE_NAMES is what the import-time check saw
    # -- what the installed mechanisms and cross-cutting metrics report (pbs_sim.mechanisms)
    ext_summary, ext_frames = mechanism_metrics(sc, history, ops, outcomes, end_at=end_at, frames=all_frames,
                                                taken_frames={"curve", *frames, *history.tables, "reads"})
    summary.update(ext_summary)
    frames.update(ext_frames)
    return SimResult(
        scenario=sc, seed=seed, history=history, curve=curve, outcomes=outcomes, wall_s=wall_s, cpu_s=cpu_s,
        record_ops=record_ops, _summary=summary, _frames=frames,
    )


def mechanism_metrics(
    scenario: Scenario, history: History, ops: pd.DataFrame, outcomes: pd.DataFrame, *, end_at: float,
    taken_frames: Any = (), frames: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """What every registered reporter says of a finished run (``pbs_sim.mechanisms``): summary
    scalars in declaration order and named frames (``pbs_sim.metrics.mechanism.collect``: a missing
    or undeclared name, or a frame named like one of ``taken_frames`` or another reporter's, is an
    error). ``ops`` and ``outcomes`` are the run's ops frame and per-read outcomes (already computed
    by the caller); ``frames``: every table of the history as a frame, if the caller has them."""
    c = scenario.cluster
    run = RunView(
        frames=frames if frames is not None else {"ops": ops, **{k: history.to_frame(k) for k in history.tables if k != "ops"}},
        outcomes=outcomes, mechanisms=dict(history.mechanisms), warmup_ms=float(history.facts.warmup_ms),
        end_at=end_at, n=c.replication, r=c.read_quorum, w=c.write_quorum,
        non_expanding=c.write_fanout == "quorum", scenario=scenario,
    )
    summary, frames = collect(reporters(), run, taken_frames)
    return dict(summary), frames
