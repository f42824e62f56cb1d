"""Why was a read stale? One cause per stale read, from the history alone.

Owns: ``stale_read_causes`` (one row per stale read with its cause) and ``cause_counts``.
Must not touch: SimPy, the simulator. Inputs: ``read_outcomes`` (``pbs_sim.metrics.staleness``), the
``applies`` and ``faults`` frames, and the run's R, W, N.

A read is stale when it returned a version older than ``w*``, the newest write to its key committed
before the read started (docs/design.md). Its cause is the first that applies:

1. ``replica-restored-empty`` — a node that had received ``w*`` (or newer) lost its disk before the
   read ended, so the copies the quorums relied on shrank;
2. ``sloppy-quorum`` — the read's responders (up to its quorum) and ``w*``'s acknowledgers (up to its
   commit) share no node, and one side used a fallback (``quorum_members`` of
   ``pbs_sim.sim.sloppy``; an ANY write acknowledged by a stored hint alone counts as using one):
   R + W > N promises nothing when the two quorums come from different N;
3. ``partial-quorum`` — ``R + W <= N`` and a write (``w*`` or a newer one issued before the read
   started) was still on its way to a replica that lacked it when the read started (it landed there later through the write path): the read
   quorum missed the write quorum while the write propagated — the staleness PBS predicts. Also every
   stale read of a non-expanding (``write_fanout = "quorum"``) partial quorum not explained otherwise;
4. ``write-in-flight`` — the same with ``R + W > N`` (cannot happen without sloppy quorums or lost
   copies; listed so nothing is hidden);
5. ``replica-missed-write`` — a W message of ``w*`` was dropped (the replica was down — and so is
   restored stale when it recovers — partitioned away, or the message was lost) and no write was in
   flight: a replica answered from older data;
6. ``unknown`` — none of the above (a bug detector: the tests require none).

``overlaps_write`` marks, separately, reads during which a newer write to the key was in progress
(issued before the read ended, committed after it started) — "a read overlapping a write".

"Before" and "at or before" compare instants in one order: by time and, at one instant, by the
history's event numbers (``staleness.instant_ranks``, the rule the staleness metric uses), so an
apply, wipe or hint drop recorded at the very instant a read started is before it only if it
happened before it. Frames without event columns keep the earlier rule: the other record first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .mechanism import Report, RunView, blank
from .order import StoreOrder, apply_sets, seq_order, store_order
from .staleness import instant_ranks

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

CAUSES = ("replica-restored-empty", "sloppy-quorum", "partial-quorum", "write-in-flight", "replica-missed-write", "unknown")


def _ranked(first_t: np.ndarray, first_ev: np.ndarray | None, then_t: np.ndarray,
            then_ev: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of two sets of instants in one order (``staleness.instant_ranks``: by time, then
    event number; without event numbers a ``first`` instant goes before a ``then`` one at the same
    time): ``(first positions, then positions)``, so ``first_pos[a] < then_pos[b]`` is "a at or
    before b". (Positions of instants, not versions: versions are ordered by ``StoreOrder``.)"""
    events = first_ev is not None and then_ev is not None
    then = pd.DataFrame({"start_at": np.asarray(then_t, float), **({"start_event": then_ev} if events else {})})
    first = pd.DataFrame({"commit_at": np.asarray(first_t, float), **({"commit_event": first_ev} if events else {})})
    then_pos, first_pos = instant_ranks(then, first)
    return first_pos, then_pos


def _events(frame: pd.DataFrame | None, col: str = "event") -> np.ndarray | None:
    return frame[col].to_numpy(np.int64) if frame is not None and col in frame.columns else None


def stale_read_causes(
    outcomes: pd.DataFrame, ops: pd.DataFrame, applies: pd.DataFrame, faults: pd.DataFrame | None,
    n: int, r: int, w: int, *, dropped_writes: pd.DataFrame | None = None, non_expanding: bool = False,
    quorum_members: pd.DataFrame | None = None, hints: pd.DataFrame | None = None,
    order: StoreOrder | None = None, apply_versions: Mapping[int, tuple[int, ...]] | None = None,
) -> pd.DataFrame:
    """One row per stale read: ``op_id, key, start_at, completed_at, version, w_star, t_ms, cause,
    overlaps_write``. ``dropped_writes`` is the faults module's table of W messages that were dropped
    (key, version, node); ``non_expanding`` is ``write_fanout = "quorum"``. Versions are named by seq
    and compared in the store's order ``order`` (``pbs_sim.metrics.order``; None: seq order): a replica
    "has w* (or newer)" iff its state holds w* or a version above it (``apply_versions``: applies row
    -> every version the state held, under sibling policies)."""
    if order is None:
        order = seq_order()
    stale = outcomes[~outcomes["consistent"].astype(bool)]
    cols = ["op_id", "key", "start_at", "completed_at", "version", "w_star", "t_ms"]
    if stale.empty:
        return pd.DataFrame({**{c: pd.Series(dtype=float) for c in cols}, "cause": pd.Series(dtype=str),
                             "overlaps_write": pd.Series(dtype=bool)})
    out = stale[cols].reset_index(drop=True).copy()
    key = out["key"].to_numpy(np.int64)
    ws = out["w_star"].to_numpy(np.int64)
    t0 = out["start_at"].to_numpy(float)
    t1 = out["completed_at"].to_numpy(float)
    keys = np.unique(key)
    ap = applies[applies["key"].isin(keys)]
    ap_key = ap["key"].to_numpy(np.int64)
    ap_ver = ap["version"].to_numpy(np.int64)
    ap_at = ap["at"].to_numpy(float)
    ap_node = ap["node"].to_numpy(np.int64)
    ap_write = (ap["via"].astype(str) == "write").to_numpy()
    ap_row = np.flatnonzero(applies["key"].isin(keys).to_numpy())  # rows in applies (apply_versions)
    ap_ev = _events(ap)
    # the stale reads' start and end events, and each write's issue instant and event by (key, seq)
    has_ev = "issued_event" in ops.columns and "completed_event" in ops.columns
    by_op = ops.drop_duplicates("op_id").set_index("op_id")
    st_ev = by_op["issued_event"].reindex(out["op_id"]).to_numpy(np.int64) if has_ev else None
    end_ev = by_op["completed_event"].reindex(out["op_id"]).to_numpy(np.int64) if has_ev else None
    wr_all = ops[ops["kind"].astype(str) == "write"]
    kv = pd.MultiIndex.from_arrays([wr_all["key"].to_numpy(np.int64), wr_all["version"].to_numpy(np.int64)])
    first = ~kv.duplicated()
    issued_of = pd.Series(wr_all["issued_at"].to_numpy(float)[first], index=kv[first])
    issued_ev_of = pd.Series(wr_all["issued_event"].to_numpy(np.int64)[first] if has_ev else 0, index=kv[first])
    ap_kv = pd.MultiIndex.from_arrays([ap_key, ap_ver])
    ap_issued = issued_of.reindex(ap_kv).fillna(-np.inf).to_numpy(float)  # unknown issue: before every read
    ap_issued_ev = issued_ev_of.reindex(ap_kv).fillna(0).to_numpy(np.int64) if has_ev else None
    # positions: applies and their writes' issues against the reads' starts
    ap_pos, start_pos = _ranked(ap_at, ap_ev, t0, st_ev)
    iss_pos, start_pos_i = _ranked(ap_issued, ap_issued_ev, t0, st_ev)

    # 1. disk loss of a node that had received w* (or newer) before the read ended
    restored = np.zeros(len(out), dtype=bool)
    if faults is not None and len(faults):
        f = faults[faults["action"].astype(str) == "wipe"]
        f_ev = _events(f)
        f_at = f["at"].to_numpy(float)
        ap_pos_w, wipe_pos = _ranked(ap_at, ap_ev, f_at, f_ev)  # an apply at or before a wipe
        wipe_pos_e, end_pos = _ranked(f_at, f_ev, t1, end_ev)  # a wipe at or before a read's end
        for j, wn in enumerate(f["node"].to_numpy(np.int64).tolist()):
            m = (ap_node == wn) & (ap_pos_w < wipe_pos[j])
            if not m.any():
                continue
            on = np.flatnonzero(m)
            for i in np.flatnonzero(~restored & (end_pos > wipe_pos_e[j])).tolist():
                g = on[ap_key[on] == key[i]]
                if len(g) and order.covers_each(int(key[i]), ap_ver[g], int(ws[i]), apply_versions, ap_row[g]).any():
                    restored[i] = True

    # which writes lost a W message (dropped: node down, partition, message loss)
    dropped_set: set[tuple[int, int]] = set()
    if dropped_writes is not None and len(dropped_writes):
        dropped_set = set(zip(dropped_writes["key"].to_numpy(np.int64).tolist(),
                              dropped_writes["version"].to_numpy(np.int64).tolist(), strict=True))
    sloppy = _sloppy_disjoint(out, ops, quorum_members, hints, st_ev)
    groups = {int(k): np.flatnonzero(ap_key == k) for k in keys}
    partial = r + w <= n
    cause = []
    for i in range(len(out)):
        if restored[i]:
            cause.append("replica-restored-empty")
            continue
        if sloppy[i]:
            cause.append("sloppy-quorum")
            continue
        g = groups[int(key[i])]
        if g.size == 0:
            cause.append("unknown")
            continue
        m = order.covers_each(int(key[i]), ap_ver[g], int(ws[i]), apply_versions, ap_row[g])
        before = ap_pos[g] < start_pos[i]  # applied at or before the read started
        held_before = set(ap_node[g][m & before].tolist())
        late = ap_node[g][m & ap_write[g] & ~before & (iss_pos[g] < start_pos_i[i])].tolist()
        if any(x not in held_before for x in late):
            # a write (w* or newer) was still on its way to a replica that lacked it
            cause.append("partial-quorum" if partial else "write-in-flight")
        elif (int(key[i]), int(ws[i])) in dropped_set:
            cause.append("replica-missed-write")
        elif partial:
            # no W message of w* was dropped: each either landed (possibly after a repair overtook it),
            # is still in flight at the end of the run, or was never sent (non-expanding quorum)
            cause.append("partial-quorum")
        else:
            cause.append("unknown")
    out["cause"] = cause

    # overlap: the next write to the key after w* in the store's order was issued before the read ended
    after = [order.next_write(k, s) for k, s in zip(key.tolist(), ws.tolist(), strict=True)]
    nxt_kv = pd.MultiIndex.from_arrays([key, np.asarray(after, np.int64)])
    nxt = issued_of.reindex(nxt_kv).to_numpy(float)
    nxt_ev = issued_ev_of.reindex(nxt_kv).fillna(0).to_numpy(np.int64) if has_ev else None
    nxt_pos, end_pos_o = _ranked(np.nan_to_num(nxt, nan=np.inf), nxt_ev, t1, end_ev)
    out["overlaps_write"] = ~np.isnan(nxt) & (nxt_pos < end_pos_o)  # issued at or before the read ended
    return out


def _sloppy_disjoint(stale: pd.DataFrame, ops: pd.DataFrame, members: pd.DataFrame | None,
                     hints: pd.DataFrame | None, start_ev: np.ndarray | None) -> np.ndarray:
    """Per stale read: one of it and w* used a fallback, and its quorum and w*'s share no node that
    still held the key (a fallback that handed its copy off and deleted it before the read started
    no longer counts)."""
    flag = np.zeros(len(stale), dtype=bool)
    if members is None or members.empty:
        return flag
    drops: dict[tuple[int, int], list[int]] = {}  # (holder, key) -> indices of its drops
    d = hints[hints["action"].astype(str) == "dropped"] if hints is not None and len(hints) else None
    d_at = d["at"].to_numpy(float) if d is not None else np.empty(0)
    if d is not None:
        for j, (node, key) in enumerate(zip(d["holder"].to_numpy(np.int64).tolist(),
                                            d["key"].to_numpy(np.int64).tolist(), strict=True)):
            drops.setdefault((node, key), []).append(j)
    issued = pd.Series(ops["issued_at"].to_numpy(float), index=ops["op_id"].to_numpy(np.int64))
    issued_ev = (pd.Series(ops["issued_event"].to_numpy(np.int64), index=ops["op_id"].to_numpy(np.int64))
                 if "issued_event" in ops.columns else None)
    wr = ops[ops["kind"].astype(str) == "write"]
    write_of = pd.Series(wr["op_id"].to_numpy(np.int64), index=pd.MultiIndex.from_arrays(
        [wr["key"].to_numpy(np.int64), wr["version"].to_numpy(np.int64)]))
    write_of = write_of[~write_of.index.duplicated()]
    w_ids = write_of.reindex(pd.MultiIndex.from_arrays(
        [stale["key"].to_numpy(np.int64), stale["w_star"].to_numpy(np.int64)])).to_numpy(float)
    nodes: dict[int, set[int]] = {}
    used_fallback: set[int] = set()
    for op, node, fb in zip(members["op_id"].to_numpy(np.int64).tolist(), members["node"].to_numpy(np.int64).tolist(),
                            members["fallback"].to_numpy(np.int64).tolist(), strict=True):
        nodes.setdefault(op, set()).add(node)
        if fb:
            used_fallback.add(op)
    keys = stale["key"].to_numpy(np.int64).tolist()
    # a drop counts if it happened between w*'s issue and the read's start (instants ranked as in
    # stale_read_causes): w*'s issue at or before the drop, the drop at or before the start
    w_known = np.isfinite(w_ids)
    w_id = np.where(w_known, w_ids, -1).astype(np.int64)
    w_at = np.where(w_known, issued.reindex(w_id).to_numpy(float), -np.inf)
    w_at = np.nan_to_num(w_at, nan=-np.inf)
    w_ev = issued_ev.reindex(w_id).fillna(0).to_numpy(np.int64) if issued_ev is not None else None
    d_ev = _events(d) if start_ev is not None and w_ev is not None else None
    w_pos, drop_pos = _ranked(w_at, w_ev, d_at, d_ev)
    drop_pos_s, start_pos = _ranked(d_at, d_ev, stale["start_at"].to_numpy(float), start_ev if d_ev is not None else None)
    for i, (rid, wid) in enumerate(zip(stale["op_id"].to_numpy(np.int64).tolist(), w_ids.tolist(), strict=True)):
        if not np.isfinite(wid):
            continue
        wid = int(wid)
        if not (rid in used_fallback or wid in used_fallback):
            continue
        common = [c for c in nodes.get(rid, set()) & nodes.get(wid, set())
                  if not any(w_pos[i] < drop_pos[j] and drop_pos_s[j] < start_pos[i]
                             for j in drops.get((c, keys[i]), ()))]
        flag[i] = not common
    return flag


def cause_counts(causes: pd.DataFrame, measured_reads: int) -> pd.DataFrame:
    """Stale reads per cause, with their share of stale reads and of all measured reads."""
    total = len(causes)
    rows = []
    for c in CAUSES:
        k = int((causes["cause"] == c).sum()) if total else 0
        rows.append({"cause": c, "stale_reads": k, "share_of_stale": k / total if total else 0.0,
                     "per_read": k / measured_reads if measured_reads else 0.0})
    return pd.DataFrame(rows)


class CausesReporter:
    """Every stale read classified (``stale_reads``, ``stale_causes`` and one
    ``stale_<cause>_per_read`` figure per cause). Runs when an installed mechanism moves data, or
    when there are at most ``max_without_faults`` stale reads (the classification is a per-read
    Python loop; a fault-free run's causes are all ``partial-quorum`` anyway); otherwise its figures
    are nan (not classified)."""

    name = "causes"
    names = tuple(f"stale_{c.replace('-', '_')}_per_read" for c in CAUSES)

    def __init__(self, max_without_faults: int = 20_000) -> None:
        self.max_without_faults = max_without_faults

    def report(self, run: RunView) -> Report:
        outcomes = run.outcomes
        n_stale = int((~outcomes["consistent"].astype(bool)).sum()) if len(outcomes) else 0
        if not run.data_moved and n_stale > self.max_without_faults:
            return blank(self.names), {}
        # versions named by seq, compared in the run's store order (pbs_sim.metrics.order: issue 17)
        c = stale_read_causes(outcomes, run.ops, run.frames["applies"], run.table("faults"), run.n, run.r, run.w,
                              dropped_writes=run.table("dropped_writes"), non_expanding=run.non_expanding,
                              quorum_members=run.table("quorum_members"), hints=run.table("hints"),
                              order=store_order(run.frames), apply_versions=apply_sets(run.frames))
        counts = cause_counts(c, len(outcomes))
        out = {f"stale_{str(cause).replace('-', '_')}_per_read": float(per_read)
               for cause, per_read in zip(counts["cause"], counts["per_read"].to_numpy(float), strict=True)}
        return out, {"stale_reads": c, "stale_causes": counts}


REPORTER = CausesReporter()
