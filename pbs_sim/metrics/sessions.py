"""Session guarantees per client: monotonic reads and read-your-writes.

Owns: per-read violation flags and their rates. Must not touch: SimPy, plotting.

Definitions (docs/design.md), for a measured read (status ok, issued at or after ``warmup_ms``) by client c
of key k starting at ``start_at``:

* **monotonic-read violation**: it returns a version older than one c *already read* for k, i.e. than
  the newest version returned by c's earlier reads of k that completed at or before ``start_at``
  (reads still in flight when this one starts have not been "already read").
* **read-your-writes violation**: it returns a version older than c's own last committed write to k,
  i.e. the newest version among c's writes to k that committed at or before ``start_at``.

"Completed at or before ``start_at``" compares instants as the staleness metric does
(``staleness.instant_ranks``): by time and, at one instant, by the history's event numbers, so a
completion recorded at the very instant the read was issued, but after its issue, is not before it.
Frames without event columns count a completion at the read's instant as before it.

Warm-up operations count as history (what was read or written before) but are not measured. Rates
are violations per measured read; ``eligible`` counts the measured reads that had something to
violate (an earlier completed read, or an own committed write).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from .order import store_order
from .siblings import CausalIndex, read_sets
from .staleness import _is, instant_ranks

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")


def _prior_max(reads: pd.DataFrame, done: pd.DataFrame, value_col: str) -> np.ndarray:
    """For each read, the max ``value_col`` of same (client, key) operations in ``done`` that
    completed at or before its start, in the order of ``staleness.instant_ranks`` (``reads``:
    ``start_at`` [, ``start_event``]; ``done``: ``completed_at`` [, ``completed_event``])."""
    if reads.empty or done.empty:
        return np.full(len(reads), np.nan)
    start_rank, done_rank = instant_ranks(
        reads, done.rename(columns={"completed_at": "commit_at", "completed_event": "commit_event"}))
    ev = done.assign(rank=done_rank).sort_values("rank", kind="stable")
    ev["prior"] = ev.groupby(["client", "key"], sort=False)[value_col].cummax()
    left = reads[["client", "key"]].assign(rank=start_rank, i=np.arange(len(reads))).sort_values("rank", kind="stable")
    # ranks are distinct, so "backward" finds the last completion ranked before the start
    m = pd.merge_asof(
        left, ev[["client", "key", "rank", "prior"]], on="rank", by=["client", "key"], direction="backward",
    ).sort_values("i")
    return m["prior"].to_numpy(float)


def session_violations(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    """One row per measured read: ``op_id, client, key, start_at, version, prior_read_version,
    own_write_version, monotonic_read_violation, read_your_writes_violation`` (prior versions nan if none)."""
    is_read_ok = _is(ops["kind"], "read") & _is(ops["status"], "ok")
    events = [c for c in ("issued_event", "completed_event") if c in ops.columns]
    events = events if len(events) == 2 else []  # both or neither: ranks by event need the pair
    all_reads = ops.loc[is_read_ok, ["op_id", "client", "key", "issued_at", "completed_at", "version", *events]]
    all_reads = all_reads.rename(columns={"issued_at": "start_at", "issued_event": "start_event"})
    measured = all_reads[all_reads["start_at"].to_numpy() >= warmup_ms].reset_index(drop=True)
    writes = ops.loc[_is(ops["kind"], "write") & _is(ops["status"], "ok"),
                     ["client", "key", "completed_at", "version", *events[1:]]]
    prior_read = _prior_max(measured, all_reads, "version")
    own_write = _prior_max(measured, writes, "version")
    v = measured["version"].to_numpy(float)
    return pd.DataFrame({
        "op_id": measured["op_id"].to_numpy(np.int64),
        "client": measured["client"].to_numpy(),
        "key": measured["key"].to_numpy(),
        "start_at": measured["start_at"].to_numpy(float),
        "version": measured["version"].to_numpy(np.int64),
        "prior_read_version": prior_read,
        "own_write_version": own_write,
        "monotonic_read_violation": np.nan_to_num(v < prior_read, nan=False).astype(bool),  # store-order: LWW ranks (order.ranked_ops)
        "read_your_writes_violation": np.nan_to_num(v < own_write, nan=False).astype(bool),
    })


def store_order_sessions(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame],
                         warmup_ms: float = 0.0) -> pd.DataFrame:
    """:func:`session_violations` judged in the run's store order (``pbs_sim.metrics.order``): under
    LWW on store ranks (= seqs with perfect clocks); under sibling policies the checker's flags
    (:func:`partial_order_sessions`: a version is seen if it is returned or below a returned one),
    over measured reads -- so the summary and ``pbs-sim check`` count the same violations.
    ``prior_read_version`` / ``own_write_version`` are then the highest seq of the session's last
    read and the seq of its last write (nan: none)."""
    order = store_order(frames)
    if order.total:
        return session_violations(order.ranked_ops(ops), warmup_ms)
    flags = partial_order_sessions(ops, read_sets(frames), order.index)  # type: ignore[arg-type]
    m = np.flatnonzero(_is(ops["kind"], "read") & _is(ops["status"], "ok")
                       & (ops["issued_at"].to_numpy(float) >= warmup_ms))
    lr, lw = flags["last_read"][m], flags["last_write"][m]
    return pd.DataFrame({
        "op_id": ops["op_id"].to_numpy(np.int64)[m],
        "client": ops["client"].to_numpy()[m],
        "key": ops["key"].to_numpy()[m],
        "start_at": ops["issued_at"].to_numpy(float)[m],
        "version": ops["version"].to_numpy(np.int64)[m],
        "prior_read_version": np.where(lr > 0, lr, np.nan),
        "own_write_version": np.where(lw > 0, lw, np.nan),
        "monotonic_read_violation": flags["monotonic_reads"][m],
        "read_your_writes_violation": flags["read_your_writes"][m],
    })


def session_summary(violations: pd.DataFrame) -> dict[str, float]:
    """Rates per measured read and the eligible counts."""
    n = len(violations)
    mr = int(violations["monotonic_read_violation"].sum()) if n else 0
    ryw = int(violations["read_your_writes_violation"].sum()) if n else 0
    return {
        "monotonic_read_violation_rate": mr / n if n else float("nan"),
        "read_your_writes_violation_rate": ryw / n if n else float("nan"),
        "monotonic_read_violations": mr,
        "read_your_writes_violations": ryw,
        "monotonic_read_eligible": int(violations["prior_read_version"].notna().sum()) if n else 0,
        "read_your_writes_eligible": int(violations["own_write_version"].notna().sum()) if n else 0,
    }


def _last_in_session(session: np.ndarray, ev: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """For each event: the index of the latest marked event of the same session before it (-1 if
    none); ``session``, ``ev`` (distinct event numbers) and ``mark`` (bool) are per event."""
    order = np.lexsort((ev, session))
    pos = np.arange(len(order))
    ss = session[order]
    first = np.ones(len(order), bool)
    first[1:] = ss[1:] != ss[:-1]
    group = np.maximum.accumulate(np.where(first, pos, 0))
    last = np.maximum.accumulate(np.where(mark[order], pos, -1))
    out = np.full(len(order), -1, np.int64)
    hit = last >= group
    out[order[hit]] = order[last[hit]]
    return out


def partial_order_sessions(ops: pd.DataFrame, sets: Mapping[int, list[int]], index: CausalIndex) -> dict[str, np.ndarray]:
    """The four session guarantees in a sibling policy's store order, the causal order of the
    recorded contexts (``pbs_sim.metrics.order``): per ``ops`` row, a bool array for each of
    ``read_your_writes``, ``monotonic_reads``, ``monotonic_writes``, ``writes_follow_reads``
    (violated), and ``last_write`` / ``last_read`` (the seq of the session's last acknowledged write,
    the highest seq its last read returned; 0: none). The checker reports these flags and the run
    summary counts them over measured operations: one definition. ``sets``: the versions each read returned,
    ``pbs_sim.metrics.siblings.read_sets``; a read without an entry returned its ``version``, or
    nothing when that is 0). A session is a (client, key) pair: at an acknowledged operation's
    start, the session's last acknowledged write completed before it (in event order) and the
    versions of its last read that completed before it and returned something are what it must
    see -- a write in its own causal past, a read among or below the versions it returned.

    The latest write and read of the session before each start are found for all operations at
    once (a sort by session and event); the loop then visits only starts that have one, with the
    common answers inlined: a target the read returned, one below the floor of a returned version,
    one inside its window (a bit); anything else goes to ``index.seen``'s exact search."""
    ok = _is(ops["status"], "ok")
    rows = np.flatnonzero(ok)
    out = {name: np.zeros(len(ops), bool) for name in ("read_your_writes", "monotonic_reads", "monotonic_writes",
                                                      "writes_follow_reads")}
    out["last_write"] = np.zeros(len(ops), np.int64)
    out["last_read"] = np.zeros(len(ops), np.int64)
    if not len(rows):
        return out
    key_a = ops["key"].to_numpy(np.int64)
    seq_a = ops["version"].to_numpy(np.int64)
    is_w = _is(ops["kind"], "write")
    m = len(rows)
    # events: starts 0..m-1 then completions m..2m-1 of the acknowledged operations
    row_of = np.concatenate([rows, rows])
    ev = np.concatenate([ops["issued_event"].to_numpy(np.int64)[rows], ops["completed_event"].to_numpy(np.int64)[rows]])
    session = np.concatenate([ops["client"].to_numpy(np.int64)[rows] * (int(key_a.max()) + 1) + key_a[rows]] * 2)
    done = np.arange(2 * m) >= m
    returned_any = np.zeros(len(ops), bool)
    if sets:
        returned_any[np.fromiter(sets.keys(), np.int64, len(sets))] = True
    returned_any |= seq_a > 0
    w_done = done & is_w[row_of]
    r_done = done & ~is_w[row_of] & returned_any[row_of]
    lw = _last_in_session(session, ev, w_done)[:m]
    lr = _last_in_session(session, ev, r_done)[:m]
    todo = np.flatnonzero((lw >= 0) | (lr >= 0))
    if not len(todo):
        return out
    seq = seq_a.tolist()
    key = key_a.tolist()
    kind_w = is_w.tolist()
    W = index.window
    assert W is not None
    seen = index.seen
    by_key: dict[int, tuple[dict[int, int], dict[int, int]]] = {}  # key -> (bitsets, floors)
    mw, wfr, ryw, mr = (out[c] for c in ("monotonic_writes", "writes_follow_reads", "read_your_writes",
                                          "monotonic_reads"))
    last_w, last_r = out["last_write"], out["last_read"]
    get_set = sets.get
    empty: tuple[int, ...] = ()
    lw_row = np.where(lw >= 0, row_of[np.maximum(lw, 0)], -1)[todo].tolist()
    lr_row = np.where(lr >= 0, row_of[np.maximum(lr, 0)], -1)[todo].tolist()
    r: Sequence[int] | None
    ret: Sequence[int] | None
    for row, wr, rr in zip(rows[todo].tolist(), lw_row, lr_row, strict=True):
        w = seq[wr] if wr >= 0 else None
        if rr >= 0:
            r = get_set(rr)
            if r is None:
                r = (seq[rr],)
            last_r[row] = max(r)
        else:
            r = None
        if w is not None:
            last_w[row] = w
        k = key[row]
        kd = by_key.get(k)
        if kd is None:
            kd = by_key[k] = (index.key(k), index.floors(k))
        if kind_w[row]:  # a write: the session's last write and read must be in its own causal past
            ret, f_w, f_r = (seq[row],), mw, wfr
        else:  # a read: what it returned must hold them, or versions above them
            ret, f_w, f_r = get_set(row), ryw, mr
            if ret is None:
                ret = (seq[row],) if seq[row] > 0 else empty
        if len(ret) == 1:
            s = ret[0]
            b = kd[0].get(s, 0)
            f = kd[1].get(s, 0)
            if w is not None and w != s and not (w <= f or (0 < s - w <= W and (b >> (W - s + w)) & 1)) \
                    and not seen(k, ret, (w,)):
                f_w[row] = True
            if r is not None:
                for x in r:
                    if x != s and not (x <= f or (0 < s - x <= W and (b >> (W - s + x)) & 1)):
                        if not seen(k, ret, r):
                            f_r[row] = True
                        break
            continue
        if w is not None and w not in ret and not seen(k, ret, (w,)):
            f_w[row] = True
        if r is not None and not seen(k, ret, r):
            f_r[row] = True
    return out
