"""Staleness per (write datacenter, read datacenter) pair (issue 19): the Cosmos DB view, measured.

Owns: the ``dc_pairs`` reporter and its tables -- ``dc_pairs`` (one row per (write_dc, read_dc, t):
``p_consistent`` with its 95 % Wilson interval and the count of reads) and ``dc_pairs_summary`` (one
row per pair: its reads, stale reads, P(consistent) at t = 0, and t-visibility at the scenario's
target and at 90 %, 99 % and 99.9 %) -- and the per-pair read outcomes they are built from
(:func:`pair_outcomes`). Must not touch: SimPy, the simulator, the definitions themselves.

Definitions (docs/design.md, metric table; nothing here is a new definition). An operation's
datacenter is its coordinator's: ``Layout.of(scenario).endpoint_dc(coordinator)``
(``pbs_sim.sim.layout``; a flat cluster is one datacenter named ``""``). For the pair (a, b), the
reads coordinated in b are judged against the writes coordinated in a: exactly the run's
consistency rule (``pbs_sim.metrics.staleness.store_order_outcomes``, in the run's store order: LWW
ranks or the causal order of sibling policies) applied to the history with every write from
another datacenter left out, so ``w*`` is the newest write *from a* committed before the read
started, ``t_ms`` is measured from its commit, and the read is consistent iff it returned that
write, a version above it, or (partial orders) covers every write from a committed before it.
A read with no such write has no t and is not in the curve (as in the whole-run curve). The curve
(``t_visibility_curve``: the run's probe offsets or its default bins) and the t-visibility
(``t_visibility``: the smallest t from which the curve stays at or above the target) are the
whole-run functions, called per pair. On a flat cluster there is one pair ``("", "")`` and every
figure equals the whole run's (tested).

Pairs: every ordered pair of the datacenters that hold clients (``Layout.clients``), and any other
datacenter some operation was coordinated in, in topology order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule
from . import staleness as st_m
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd

    from ..sim.layout import Layout
else:
    pd = LazyModule("pandas")

#: The t-visibility targets every pair is reported at (besides the scenario's ``predict.target``).
TARGETS: tuple[tuple[str, float], ...] = (("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
CURVE_COLUMNS = ("write_dc", "read_dc", "t_ms", "t_high_ms", "p_consistent", "ci_low", "ci_high", "n")
SUMMARY_COLUMNS = (
    "write_dc", "read_dc", "measured_reads", "judged_reads", "stale_reads", "stale_read_fraction",
    "p_consistent_at_t0", "target", "t_visibility_ms", *(f"t_visibility_{name}_ms" for name, _ in TARGETS),
)
NAMES = ("dc_pairs", "dc_pair_max_stale_read_fraction", "dc_pair_min_p_consistent_at_t0",
         "dc_pair_max_t_visibility_ms")


def op_datacenters(ops: pd.DataFrame, layout: Layout | None) -> np.ndarray:
    """The datacenter index of every row of ``ops`` (its coordinator's; all 0 without a layout)."""
    if layout is None or layout.flat or not len(ops):
        return np.zeros(len(ops), np.int64)
    coord = ops["coordinator"].to_numpy(np.int64)
    eps, inv = np.unique(coord, return_inverse=True)
    return np.asarray([layout.endpoint_dc(int(e)) for e in eps], np.int64)[inv]


def pair_outcomes(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], warmup_ms: float,
                  keep_writes: np.ndarray) -> pd.DataFrame:
    """Per measured read, the outcome judged against the writes of ``ops`` where ``keep_writes`` is
    True only (reads are all kept): the run's store-order outcomes on that history. ``frames`` are
    the whole run's (its store order is built from them, once per run)."""
    from .order import store_order
    from .siblings import partial_order_outcomes

    is_write = np.asarray(ops["kind"] == "write", bool)
    keep = ~is_write | np.asarray(keep_writes, bool)
    sub = ops if keep.all() else ops[keep]
    order = store_order(frames)
    if order.total:
        return order.outcomes_to_seq(st_m.read_outcomes(order.ranked_ops(sub), warmup_ms))
    return partial_order_outcomes(st_m.read_outcomes(sub, warmup_ms), sub, frames, index=order.index)


def _p0(curve: pd.DataFrame) -> float:
    return float(curve["p_consistent"].iloc[0]) if len(curve) and curve["t_ms"].iloc[0] == 0.0 else math.nan


def dc_pair_tables(
    ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], layout: Layout | None, warmup_ms: float, *,
    at_t: Sequence[float] | None = None, target: float = 0.999, outcomes: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(dc_pairs, dc_pairs_summary)`` for a run (see the module doc). ``outcomes``: the run's own
    store-order outcomes, reused for a write datacenter that issued every write (no recomputation on
    a flat cluster)."""
    names = layout.names if layout is not None else ("",)
    dc = op_datacenters(ops, layout)
    present = set(np.unique(dc).tolist()) if len(ops) else set()
    clients = {d for d, w in enumerate(layout.clients) if w > 0} if layout is not None else {0}
    dcs = sorted(clients | present)
    is_write = np.asarray(ops["kind"] == "write", bool) if len(ops) else np.zeros(0, bool)
    write_dcs = set(np.unique(dc[is_write]).tolist())
    by_op = pd.Series(dc, index=ops["op_id"].to_numpy(np.int64)) if len(ops) else pd.Series(dtype=np.int64)
    curves: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for a in dcs:
        if outcomes is not None and write_dcs <= {a}:
            oa = outcomes  # every write is from a: the run's own outcomes
        elif len(ops):
            oa = pair_outcomes(ops, frames, warmup_ms, dc == a)
        else:
            oa = outcomes if outcomes is not None else pd.DataFrame({c: [] for c in st_m.OUTCOME_COLUMNS})
        read_dc = by_op.reindex(oa["op_id"].to_numpy(np.int64)).to_numpy() if len(oa) else np.zeros(0)
        for b in dcs:
            o = oa if len(present) <= 1 and b in present else oa[read_dc == b]
            curve = st_m.t_visibility_curve(o, at_t=at_t)
            c = curve.copy()
            if "t_high_ms" not in c.columns:
                c["t_high_ms"] = np.nan
            c.insert(0, "read_dc", names[b])
            c.insert(0, "write_dc", names[a])
            curves.append(c[list(CURVE_COLUMNS)])
            stale = int((~o["consistent"].astype(bool)).sum()) if len(o) else 0
            rows.append({
                "write_dc": names[a], "read_dc": names[b], "measured_reads": len(o),
                "judged_reads": int(curve["n"].sum()) if len(curve) else 0, "stale_reads": stale,
                "stale_read_fraction": stale / len(o) if len(o) else math.nan,
                "p_consistent_at_t0": _p0(curve), "target": target,
                "t_visibility_ms": st_m.t_visibility(curve, target),
                **{f"t_visibility_{name}_ms": st_m.t_visibility(curve, q) for name, q in TARGETS},
            })
    curve_frame = (pd.concat(curves, ignore_index=True) if curves
                   else pd.DataFrame({c: [] for c in CURVE_COLUMNS}))
    return curve_frame, pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def pair_summary(table: pd.DataFrame) -> dict[str, float]:
    """The worst pair's figures: the largest stale-read fraction, the smallest P(consistent) at
    t = 0 and the largest t-visibility at the target (nan if some pair never reaches it, or none
    was measured)."""
    def worst(col: str, fn: Any) -> float:
        x = table[col].to_numpy(float) if len(table) else np.zeros(0)
        return float(fn(x)) if x.size and not np.isnan(x).any() else math.nan

    return {
        "dc_pairs": float(len(table)),
        "dc_pair_max_stale_read_fraction": worst("stale_read_fraction", np.max),
        "dc_pair_min_p_consistent_at_t0": worst("p_consistent_at_t0", np.min),
        "dc_pair_max_t_visibility_ms": worst("t_visibility_ms", np.max),
    }


class DCPairsReporter:
    """Staleness per (write DC, read DC): a cross-cutting metric (no simulator half)."""

    name = "dc_pairs"
    names = NAMES

    def report(self, run: RunView) -> Report:
        sc = run.scenario
        layout = None
        at_t = None
        target = 0.999
        if sc is not None:
            from ..sim.layout import Layout

            layout = Layout.of(sc)
            wl = sc.workload
            if wl.kind == "pbs-probe" and wl.probe_offset is None:
                at_t = wl.probe_offsets_ms
            target = sc.predict.target
        ops = run.ops
        if "kind" not in ops.columns:
            return pair_summary(pd.DataFrame(columns=list(SUMMARY_COLUMNS))), {}
        curves, table = dc_pair_tables(ops, run.frames, layout, run.warmup_ms, at_t=at_t, target=target,
                                       outcomes=run.outcomes)
        return pair_summary(table), {"dc_pairs": curves, "dc_pairs_summary": table}


REPORTER = DCPairsReporter()
