"""Availability per datacenter (issue 19): how many reads and writes succeeded, by the coordinator's
datacenter, over the measured run and during each datacenter-fault window.

Owns: the ``dc_availability`` reporter and the pure functions behind it. Must not touch: SimPy, the
simulator. Definitions (docs/design.md, "Datacenters and consistency levels"):

- An operation's datacenter is its coordinator's (``ops.coordinator``: a node, or a client-side
  coordinator endpoint, placed by :meth:`pbs_sim.sim.layout.Layout.endpoint_dc`); a flat cluster is
  one datacenter named ``""``.
- Availability is the fraction of the operations *issued* in a span (at or after the warm-up) whose
  status is ``ok``, as the core ``availability`` is (an operation still pending at the end of the
  run counts as not ok). Its 95 % interval is Wilson's (``pbs_sim.stats.wilson``) over those
  operations: it treats them as independent trials, which they are given the fault state, not
  across it (for an interval over fault states, repeat the run and use the runs' spread, as
  docs/validation.md's availability check does).
- A datacenter-fault window is one ``dc-partition``, ``dc-outage``, ``rack-outage`` or
  ``wan-degradation`` of the ``faults`` table (``pbs_sim.sim.faults``): from its start row to its
  ``dc-fault-end`` row, or to the end of the run if it has none. An operation is in the window if
  it was issued in ``[start, end)``.

Frame ``availability_by_dc`` (written when the run has two or more datacenters or a
datacenter-fault window): one row per (window, datacenter, kind) with columns ``window`` (0 =
the whole measured run, else the fault's id), ``fault`` (``"run"`` or the fault's action),
``detail``, ``start_ms``, ``end_ms``, ``dc``, ``kind`` (read | write), ``ops``, ``ok``,
``availability``, ``ci_low``, ``ci_high``. Summary (the whole run's read and write availability
are ``pbs_sim.metrics.handoff``'s ``read_availability`` / ``write_availability``):
``dc_fault_windows``, ``dc_fault_read_availability`` and ``dc_fault_write_availability``
(operations issued in any window, every datacenter; nan without windows), and
``dc_fault_min_dc_availability`` (the lowest availability of a (window, datacenter, kind) cell
with operations in it: the datacenter a fault hurt most).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule
from ..stats import wilson
from .mechanism import Report, RunView

if TYPE_CHECKING:
    import pandas as pd

    from ..sim.layout import Layout
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

#: The actions that open a window (``pbs_sim.sim.faults.DC_WINDOW_ACTIONS``; metrics do not import the simulator).
WINDOW_ACTIONS = ("dc-partition", "dc-outage", "rack-outage", "wan-degradation")
END_ACTION = "dc-fault-end"
COLUMNS = ("window", "fault", "detail", "start_ms", "end_ms", "dc", "kind", "ops", "ok", "availability",
           "ci_low", "ci_high")


def fault_windows(faults: pd.DataFrame | None, end_at: float) -> pd.DataFrame:
    """The datacenter-fault windows of a ``faults`` table: ``window`` (id), ``fault`` (action),
    ``detail``, ``start_ms``, ``end_ms`` (``end_at`` for a fault that had not ended)."""
    rows: list[dict[str, Any]] = []
    if faults is not None and len(faults):
        actions = faults["action"].astype(str).to_numpy()
        details = faults["detail"].astype(str).to_numpy()
        at = faults["at"].to_numpy(float)
        ends = {d: float(t) for a, d, t in zip(actions, details, at, strict=True) if a == END_ACTION}
        for a, d, t in zip(actions, details, at, strict=True):
            if a in WINDOW_ACTIONS:
                wid = int(d.split(":", 1)[0])
                rows.append({"window": wid, "fault": a, "detail": d.split(":", 1)[1], "start_ms": float(t),
                             "end_ms": ends.get(d, float(end_at))})
    return pd.DataFrame(rows, columns=["window", "fault", "detail", "start_ms", "end_ms"])


def op_datacenters(coordinators: np.ndarray, layout: Layout | None) -> np.ndarray:
    """Each operation's datacenter index (its coordinator's); all 0 without a layout."""
    coords = np.asarray(coordinators, dtype=np.int64)
    if layout is None or len(layout.names) == 1:
        return np.zeros(len(coords), dtype=np.int64)
    uniq, inv = np.unique(coords, return_inverse=True)
    return np.array([layout.endpoint_dc(int(c)) for c in uniq], dtype=np.int64)[inv]


def availability_by_dc(ops: pd.DataFrame, faults: pd.DataFrame | None, layout: Layout | None,
                       warmup_ms: float = 0.0, end_at: float = math.inf) -> pd.DataFrame:
    """The ``availability_by_dc`` frame (module docstring) of a run's ``ops`` and ``faults`` tables."""
    names = layout.names if layout is not None else ("",)
    if not len(ops):
        return pd.DataFrame(columns=list(COLUMNS))
    issued = ops["issued_at"].to_numpy(float)
    measured = issued >= warmup_ms
    is_read = (ops["kind"] == "read").to_numpy(dtype=bool)
    ok = (ops["status"] == "ok").to_numpy(dtype=bool)
    dc = op_datacenters(ops["coordinator"].to_numpy(), layout)
    windows = fault_windows(faults, end_at)
    spans: list[tuple[int, str, str, float, float, np.ndarray]] = [(0, "run", "", float(warmup_ms), float(end_at), measured)]
    for wid, fault, detail, start, end in zip(windows["window"].tolist(), windows["fault"].tolist(),
                                              windows["detail"].tolist(), windows["start_ms"].tolist(),
                                              windows["end_ms"].tolist(), strict=True):
        spans.append((int(wid), str(fault), str(detail), float(start), float(end),
                      measured & (issued >= start) & (issued < end)))
    rows: list[dict[str, Any]] = []
    for wid, fault, detail, start, end, inside in spans:
        for d, name in enumerate(names):
            here = inside & (dc == d)
            for kind, mask in (("read", is_read), ("write", ~is_read)):
                sel = here & mask
                n, k = int(sel.sum()), int((sel & ok).sum())
                rows.append({"window": wid, "fault": fault, "detail": detail, "start_ms": start, "end_ms": end,
                             "dc": name, "kind": kind, "ops": n, "ok": k})
    out = pd.DataFrame(rows, columns=list(COLUMNS[:9]))
    n_arr, k_arr = out["ops"].to_numpy(float), out["ok"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["availability"] = np.where(n_arr > 0, k_arr / np.where(n_arr > 0, n_arr, 1), np.nan)
    lo, hi = wilson(k_arr, n_arr)
    out["ci_low"], out["ci_high"] = lo, hi
    return out


#: The reporter's summary names, in order.
NAMES = ("dc_fault_windows", "dc_fault_read_availability", "dc_fault_write_availability",
         "dc_fault_min_dc_availability")
#: The frame it writes (only with several datacenters or a datacenter-fault window).
FRAME = "availability_by_dc"


class AvailabilityReporter:
    """Availability per coordinator datacenter, overall and in each datacenter-fault window."""

    name = "dc_availability"
    names = NAMES

    def report(self, run: RunView) -> Report:
        ops = run.ops
        if not len(ops) or "coordinator" not in ops:
            nan = math.nan
            return {"dc_fault_windows": 0.0, "dc_fault_read_availability": nan, "dc_fault_write_availability": nan,
                    "dc_fault_min_dc_availability": nan}, {}
        faults = run.table("faults")
        layout = None
        if run.scenario is not None:  # the layout is pure data (no SimPy): where each endpoint is
            from ..sim.layout import Layout

            layout = Layout.of(run.scenario)
        frame = availability_by_dc(ops, faults, layout, run.warmup_ms, run.end_at)
        windows = fault_windows(faults, run.end_at)
        out = {"dc_fault_windows": float(len(windows))}
        # pooled over the union of the windows (an operation in two overlapping windows counts once)
        issued = ops["issued_at"].to_numpy(float)
        inside = np.zeros(len(ops), dtype=bool)
        for start, end in zip(windows["start_ms"].tolist(), windows["end_ms"].tolist(), strict=True):
            inside |= (issued >= start) & (issued < end)
        inside &= issued >= run.warmup_ms
        is_read = (ops["kind"] == "read").to_numpy(dtype=bool)
        ok = (ops["status"] == "ok").to_numpy(dtype=bool)
        for kind, mask in (("read", is_read), ("write", ~is_read)):
            n = int((inside & mask).sum())
            out[f"dc_fault_{kind}_availability"] = float((inside & mask & ok).sum() / n) if n else math.nan
        cells = frame[(frame["window"] > 0) & (frame["ops"] > 0)]
        out["dc_fault_min_dc_availability"] = float(cells["availability"].min()) if len(cells) else math.nan
        # a flat run without datacenter faults has nothing here that read/write_availability do not say
        flat = layout is None or len(layout.names) == 1
        return out, ({} if flat and not len(windows) else {FRAME: frame})


REPORTER = AvailabilityReporter()
