"""Two orders of a key's writes, and what their disagreement costs: LWW loss, lost updates, sessions.

Owns: the *store's order* (what replicas converge to) and the *true order* (causality plus
real-time precedence) of every key's writes, computed from the history, and the metrics built on
them (docs/design.md, "two orders"):

* ``lww_lost_writes`` / ``lww_lost_fraction`` -- acknowledged writes w (measured: issued after the
  warm-up) that the store's order puts below some write u although u does not follow w in the true
  order, with the write that beat each (the lowest such u in the store's order) and a cause:
  ``tie`` (equal timestamps: the tie-break decided), ``clock-skew`` (u was issued before w in real
  time yet stamped later: only a skewed clock does that), ``concurrency`` (u was issued while w was
  in flight, not knowing w: LWW keeps one of two concurrent writes even with perfect clocks);
* ``lost_updates`` / ``lost_update_fraction`` -- value level (issue 18): acknowledged *updates* (the
  writes of read-modify-write clients, ``rmw_reads``) absent from every later version, none of which
  merged them: the store superseded u (under LWW some applied write is above u in the store's
  order; under sibling policies the final state does not hold u) and no write above u in the
  store's order has u in its causal past -- the contexts the writes carried (``causal_parents``),
  so what a read-modify-write's own read returned, never what its session knew otherwise. The
  fraction is of the measured acknowledged updates. Under the exact sibling clocks a write is above
  u only if it merged u, so only a clock's false dominance loses an update. Two overlapping Poisson
  read-modify-write writers of total rate lambda, each writing delta after its read, with negligible
  latencies and perfect clocks: ``P(lost) = (1 - exp(-2 lambda delta)) / 2`` (docs/design.md);
* ``overwritten_updates`` / ``overwritten_update_fraction`` -- acknowledged updates whose overwriter
  (the next applied write above it in the store's order, LWW) did not merge them (its own context
  misses them), whether or not a later version did. For the same writers ``1 - exp(-lambda delta)``;
* ``concurrent_write_pairs`` -- pairs of acknowledged writes to one key that are concurrent in the
  true order;
* ``monotonic_write_violation_rate`` -- per measured committed write: the store's order puts it below
  an earlier write of the same session to the key; ``writes_follow_reads_violation_rate`` -- it is
  below a version the session read of the key before issuing it (Terry et al. 1994). Both are judged
  in the store's order, like monotonic reads and read-your-writes.

:func:`true_order` answers the question for any two writes of a key ("before", "after",
"concurrent"), independently of timestamps.

Orders. The store's order under LWW is the order of stamps ``(timestamp_ms, seq)``: timestamps come
from the ``write_stamps`` table (``pbs_sim.sim.clocks``), or are the issue instants when no clock
was installed (perfect clocks: the store's order is then ``seq`` order and :func:`store_ranks` is
the identity). A write's *rank* is its 1-based position in its key's store order; staleness and
sessions are computed on ranks (:func:`in_store_order`), so they stay exact under skew. Sibling
policies (issue 11) make the store's order partial: they replace the ranks by dominance between the
versions' recorded metadata, and multi-version reads come from the ``read_versions`` table; the
true order and everything computed from it stay as they are.
The true order: u -> v if v's causal context includes u (``causal_parents``), or v's session knew u
when v was issued (``session_parents``: its reads and write replies since its last write, and that
write -- happened-before), or u was acknowledged before v was issued (``completed_event <
issued_event``: event numbers order simultaneous events), closed transitively. Only writes issued
while w was in flight can be concurrent with w, so every decision looks at that window only: memory
and time stay bounded for 10^6-operation histories.
Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule
from .mechanism import Report, RunView
from .staleness import _is, runs

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

NAMES = (
    "lww_lost_writes", "lww_lost_fraction", "lww_lost_clock_skew", "lww_lost_concurrency", "lww_lost_tie",
    "lost_updates", "lost_update_fraction", "overwritten_updates", "overwritten_update_fraction",
    "concurrent_write_pairs", "monotonic_write_violation_rate", "writes_follow_reads_violation_rate",
    "causality_tracked",
)
CAUSES = ("clock-skew", "concurrency", "tie")
INF_EVENT = np.iinfo(np.int64).max


# -- the store's order -------------------------------------------------------------------------------
def store_ranks(ops: pd.DataFrame, stamps: pd.DataFrame | None) -> np.ndarray | None:
    """Per ops row: the store rank of the version it wrote or read (0 = none); None when the store's
    order is ``seq`` order (no clocks: ranks would equal versions)."""
    if stamps is None:
        return None
    is_w = _is(ops["kind"], "write")
    key = ops["key"].to_numpy(np.int64)
    seq = ops["version"].to_numpy(np.int64)
    ts = ops["issued_at"].to_numpy(float).copy()
    if len(stamps):
        ts[stamps["op_id"].to_numpy(np.int64)] = stamps["timestamp_ms"].to_numpy(float)
    wi = np.flatnonzero(is_w)
    order = wi[np.lexsort((seq[wi], ts[wi], key[wi]))]
    k_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]]) if len(order) else np.array([], np.int64)
    rank_sorted = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    # (key, seq) -> rank: seqs are 1..n per key, so a flat index base[key] + seq - 1
    keys_u = np.unique(key[wi]) if len(wi) else np.array([], np.int64)
    counts = np.zeros(len(keys_u), np.int64)
    kpos = np.searchsorted(keys_u, key[order])
    np.add.at(counts, kpos, 1)
    base = np.r_[0, np.cumsum(counts)[:-1]]
    flat = np.zeros(len(order), np.int64)
    flat[base[kpos] + seq[order] - 1] = rank_sorted
    out = np.zeros(len(ops), np.int64)
    has = seq > 0
    if len(keys_u):
        pos = np.searchsorted(keys_u, key)
        ok = has & (pos < len(keys_u))
        ok[ok] &= keys_u[pos[ok]] == key[ok]
        idx = base[pos[ok]] + seq[ok] - 1
        out[ok] = flat[idx]
    return out


def in_store_order(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``ops`` with ``version`` replaced by the store rank (``ops`` itself when that is ``seq``)."""
    ranks = store_ranks(ops, frames.get("write_stamps"))
    if ranks is None:
        return ops
    return ops.assign(version=ranks)


def rank_to_seq(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> dict[tuple[int, int], int] | None:
    """(key, rank) -> seq for writes (None when ranks are seqs)."""
    ranks = store_ranks(ops, frames.get("write_stamps"))
    if ranks is None:
        return None
    w = _is(ops["kind"], "write")
    return dict(zip(zip(ops["key"].to_numpy(np.int64)[w].tolist(), ranks[w].tolist(), strict=True),
                    ops["version"].to_numpy(np.int64)[w].tolist(), strict=True))


def ranked_tables(
    ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], **tables: pd.DataFrame | None,
) -> dict[str, pd.DataFrame | None]:
    """``ops`` and each of ``tables`` (with ``key`` and ``version`` columns; ``outcomes`` also has
    ``w_star``) with versions replaced by store ranks, for metrics written for ``seq`` order (stale-read
    causes). Unchanged when the store's order is ``seq`` order."""
    ranks = store_ranks(ops, frames.get("write_stamps"))
    out: dict[str, pd.DataFrame | None] = {"ops": ops, **tables}
    if ranks is None:
        return out
    w = _is(ops["kind"], "write")
    lookup = dict(zip(zip(ops["key"].to_numpy(np.int64)[w].tolist(), ops["version"].to_numpy(np.int64)[w].tolist(),
                          strict=True), ranks[w].tolist(), strict=True))
    out["ops"] = ops.assign(version=ranks)
    for name, t in tables.items():
        if t is None or t.empty:
            continue
        keys = t["key"].to_numpy(np.int64).tolist()
        cols = {c: np.asarray([lookup.get((k, v), 0) for k, v in zip(keys, t[c].to_numpy(np.int64).tolist(), strict=True)],
                              np.int64) for c in ("version", "w_star") if c in t.columns}
        out[name] = t.assign(**cols)
    return out


def store_order_frames(frames: Mapping[str, pd.DataFrame]) -> Mapping[str, pd.DataFrame]:
    """``frames`` with the versions of ``ops``, ``applies``, ``dropped_writes`` and ``repairs`` replaced
    by store ranks, for metrics that compare versions as numbers (durability). The same mapping
    when the store's order is ``seq`` order."""
    ops = frames["ops"]
    if frames.get("write_stamps") is None:
        return frames
    tables = {k: frames.get(k) for k in ("applies", "dropped_writes", "repairs")}
    rt = ranked_tables(ops, frames, **{k: v for k, v in tables.items() if v is not None})
    return {**frames, **{k: v for k, v in rt.items() if v is not None}}


def outcomes_to_seq(outcomes: pd.DataFrame, back: dict[tuple[int, int], int] | None) -> pd.DataFrame:
    """Read outcomes computed on ranks, with ``version`` and ``w_star`` named by ``seq`` again."""
    if back is None or outcomes.empty:
        return outcomes
    keys = outcomes["key"].to_numpy(np.int64).tolist()
    out = outcomes.copy()
    for col in ("version", "w_star"):
        vals = outcomes[col].to_numpy(np.int64).tolist()
        out[col] = np.asarray([back.get((k, v), 0) if v else 0 for k, v in zip(keys, vals, strict=True)], np.int64)
    return out


# -- the writes of a run, with both orders' ingredients -------------------------------------------------
def writes_table(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every write: ``op_id, client, key, seq, rank, timestamp_ms, issued_at, completed_at, status,
    issued_event, ack_event`` (``ack_event`` = completion event if acknowledged, else max int)."""
    stamps = frames.get("write_stamps")
    ranks = store_ranks(ops, stamps)
    w = _is(ops["kind"], "write")
    sub = ops.loc[w]
    ts = sub["issued_at"].to_numpy(float).copy()
    if stamps is not None and len(stamps):
        m = pd.Series(stamps["timestamp_ms"].to_numpy(float), index=stamps["op_id"].to_numpy(np.int64))
        got = m.reindex(sub["op_id"].to_numpy(np.int64)).to_numpy(float)
        ts = np.where(np.isnan(got), ts, got)
    ok = _is(sub["status"], "ok")
    return pd.DataFrame({
        "op_id": sub["op_id"].to_numpy(np.int64),
        "client": sub["client"].to_numpy(np.int64),
        "key": sub["key"].to_numpy(np.int64),
        "seq": sub["version"].to_numpy(np.int64),
        "rank": (ranks[w] if ranks is not None else sub["version"].to_numpy(np.int64)),
        "timestamp_ms": ts,
        "issued_at": sub["issued_at"].to_numpy(float),
        "completed_at": sub["completed_at"].to_numpy(float),
        "ok": ok,
        "applied": ok | _is(sub["status"], "timeout"),  # may be on a replica (not failed at once)
        "issued_event": sub["issued_event"].to_numpy(np.int64),
        "ack_event": np.where(ok, sub["completed_event"].to_numpy(np.int64), INF_EVENT),
    }).reset_index(drop=True)


class _Key:
    """One key's writes in issue order, with parents as row indices (for the bounded searches)."""

    __slots__ = ("op", "seq", "rank", "ts", "iss", "ack", "applied", "ok", "parents", "row_of_seq", "by_rank",
                 "t", "lat_max", "iss_l", "ack_l", "cparents", "_children")

    def __init__(self, g: Mapping[str, np.ndarray], parents: dict[int, list[int]],
                 context: dict[int, list[int]] | None = None) -> None:
        """``g``: one key's columns of :func:`writes_table`, in issue order (:func:`_by_key`);
        ``parents``: op_id -> the true order's direct predecessors (context and session); ``context``:
        op_id -> the causal context's versions alone (None: the same as ``parents``)."""
        self.op = g["op_id"]
        self.seq = g["seq"]
        self.rank = g["rank"]
        self.ts = g["timestamp_ms"]
        self.iss = g["issued_event"]
        self.ack = g["ack_event"]
        self.applied = g["applied"]
        self.ok = g["ok"]
        self.t = g["issued_at"]
        lat = g["completed_at"] - self.t
        self.lat_max = float(lat[self.ok].max()) if self.ok.any() else 0.0
        self.row_of_seq = {int(s): i for i, s in enumerate(self.seq.tolist())}
        self.parents = [[self.row_of_seq[p] for p in parents.get(int(o), ()) if p in self.row_of_seq]
                        for o in self.op.tolist()]
        self.cparents = self.parents if context is None else [
            [self.row_of_seq[p] for p in context.get(int(o), ()) if p in self.row_of_seq] for o in self.op.tolist()]
        self._children: list[list[int]] | None = None
        self.by_rank = np.argsort(self.rank, kind="stable")  # rows in store order
        self.iss_l: list[int] = self.iss.tolist()
        self.ack_l: list[int] = self.ack.tolist()

    def reach_from(self, w: int, upto: int) -> set[int]:
        """Rows in issue order ``w..upto`` that w happened before (w included), by one forward pass:
        causal-parent edges and real-time edges among them (every edge points forward in issue order;
        a real-time edge from some reached write exists iff the earliest acknowledgement among them
        precedes y's issue)."""
        reached = {w}
        first_ack = self.ack_l[w]
        iss, ack, parents = self.iss_l, self.ack_l, self.parents
        for y in range(w + 1, upto + 1):
            if first_ack < iss[y] or any(p in reached for p in parents[y]):
                reached.add(y)
                if ack[y] < first_ack:
                    first_ack = ack[y]
        return reached

    def inflight_ancestors(self, y: int) -> int:
        """How many acknowledged writes that happened before y (true order) were still unacknowledged
        when y was issued. Such an x cannot precede y in real time, nor any write acknowledged before
        y was issued... but those writes z (acknowledged before y's issue, so z -> y) may have x as a
        causal ancestor: the search starts from y's parents and every such z in the window, then
        follows parent edges. The window is the writes issued after ``t[y] - lat_max``: a write in
        flight at y's issue was issued after that."""
        at = self.iss[y]
        lo = self.t[y] - self.lat_max
        first = int(np.searchsorted(self.t, lo, side="left"))
        stack = list(self.parents[y])
        stack.extend(z for z in range(first, y) if self.ack[z] < at)
        seen: set[int] = set()
        n = 0
        while stack:
            x = stack.pop()
            if x in seen or self.t[x] < lo:
                continue
            seen.add(x)
            if self.ok[x] and self.ack[x] > at:
                n += 1
            stack.extend(self.parents[x])
        return n

    def in_causal_past(self, u: int, v: int) -> bool:
        """Is write row ``u`` in the causal past of row ``v`` (the carried contexts, transitively)?"""
        stack, seen, lo = list(self.cparents[v]), set(), self.iss[u]
        while stack:
            x = stack.pop()
            if x == u:
                return True
            if x in seen or self.iss[x] < lo:
                continue
            seen.add(x)
            stack.extend(self.cparents[x])
        return False

    def merged_above(self, u: int, pos: np.ndarray) -> bool:
        """Does some stored write (applied somewhere) above row ``u`` in the store's order (``pos``: each
        row's place in it) have u in its causal past? A search over u's descendants (the contexts,
        forwards) that stops at the first such one -- with perfect clocks, u's first applied child."""
        ch = self._children
        if ch is None:
            ch = self._children = [[] for _ in self.cparents]
            for y, ps in enumerate(self.cparents):
                for p in ps:
                    ch[p].append(y)
        mine = pos[u]
        stack, seen = list(ch[u]), set()
        while stack:
            x = stack.pop()
            if x in seen:
                continue
            if pos[x] > mine and self.applied[x]:
                return True
            seen.add(x)
            stack.extend(ch[x])
        return False


def _by_key(writes: pd.DataFrame) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Each key's writes (ascending keys) as column arrays in issue order: one sort, then slices."""
    cols = {c: writes[c].to_numpy() for c in writes.columns}
    order = np.lexsort((cols["issued_event"], cols["key"]))
    cols = {c: v[order] for c, v in cols.items()}
    keys = cols["key"]
    if not len(keys):
        return
    starts, ends = runs(keys)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(keys[a]), {c: v[a:b] for c, v in cols.items()}


def _parents(frames: Mapping[str, pd.DataFrame], tables: tuple[str, ...] = ("causal_parents", "session_parents"),
             ) -> dict[int, list[int]]:
    """op_id -> parent seqs from ``tables`` (default: the true order's, context and session)."""
    out: dict[int, list[int]] = {}
    for name in tables:
        cp = frames.get(name)
        if cp is None or cp.empty:
            continue
        for o, p in zip(cp["op_id"].to_numpy(np.int64).tolist(), cp["parent"].to_numpy(np.int64).tolist(),
                        strict=True):
            out.setdefault(o, []).append(p)
    return out


def _sibling_lost_updates(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], warmup_ms: float,
                          is_update: set[int]) -> tuple[list[tuple[Any, ...]], int]:
    """Sibling policies: measured acknowledged updates the final state does not hold and no stored write
    (one not failed at once) has in its causal context (the store's order is the contexts' causal
    order: a write above u merged u).
    Rows as :func:`analyse`'s ``lost_updates`` (no overwriter: -1), and the number of updates."""
    from .siblings import final_state

    final = final_state(frames)
    ctx = frames.get("causal_parents")
    merged: set[tuple[int, int]] = set()
    if ctx is not None and len(ctx):
        key_of = ops["key"].to_numpy(np.int64)
        child = ctx["op_id"].to_numpy(np.int64)
        stored = np.asarray(~_is(ops["status"], "failed"))[child]  # a write that failed at once is no version
        merged = set(zip(key_of[child[stored]].tolist(), ctx["parent"].to_numpy(np.int64)[stored].tolist(),
                         strict=True))
    m = (_is(ops["kind"], "write") & _is(ops["status"], "ok") & (ops["issued_at"].to_numpy(float) >= warmup_ms)
         & ops["op_id"].isin(list(is_update)).to_numpy())
    rows: list[tuple[Any, ...]] = []
    sub = ops.loc[m]
    for o, kk, v in zip(sub["op_id"].tolist(), sub["key"].tolist(), sub["version"].tolist(), strict=True):
        if final is not None and v not in final.get(kk, set()) and (kk, v) not in merged:
            rows.append((int(o), int(kk), int(v), -1, 0))
    return rows, int(m.sum())


def analyse(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], warmup_ms: float = 0.0, *,
            losses_only: bool = False) -> dict[str, Any]:
    """LWW losses, lost updates and concurrent pairs: ``{"lww_losses": frame, "lost_updates": frame,
    "overwritten_updates": frame, "concurrent_write_pairs": int, "acked": int, "updates": int}`` (see
    the module docstring; under sibling policies ``overwritten_updates`` is empty and a lost update's
    ``overwriter_op_id`` is -1: nothing above it in the store's order).
    ``losses_only``: skip the concurrent pairs and lost updates (left 0 / empty), as the checker does."""
    writes = writes_table(ops, frames)
    parents = _parents(frames)
    context = _parents(frames, ("causal_parents",)) if frames.get("session_parents") is not None else None
    from .siblings import settings

    sibling = settings(frames)["policy"] != "lww"
    rmw = frames.get("rmw_reads")
    is_update = set(rmw["op_id"].to_numpy(np.int64).tolist()) if rmw is not None else set()
    losses: list[tuple[Any, ...]] = []
    lost_up: list[tuple[Any, ...]] = []
    over_up: list[tuple[Any, ...]] = []
    pairs = 0
    acked_measured = 0
    updates = 0
    for kv, g in _by_key(writes):
        k = _Key(g, parents, context)
        n = len(k.op)
        measured = k.t >= warmup_ms
        # -- concurrent pairs of acknowledged writes: x issued before y and acknowledged after y was
        # issued (overlapping in real time), minus those where x is in y's causal past
        ok_rows = np.flatnonzero(k.ok)
        if len(ok_rows) > 1 and not losses_only:
            iss, ack = k.iss[ok_rows], k.ack[ok_rows]
            acks_sorted = np.sort(ack)
            overlap = np.arange(len(ok_rows)) - np.searchsorted(acks_sorted, iss, side="left")
            pairs += int(overlap.sum())
            for j in np.flatnonzero(overlap > 0).tolist():
                pairs -= k.inflight_ancestors(int(ok_rows[j]))
        # -- LWW losses: suffix minimum (in store order) of the issue events of writes that may be stored
        br = k.by_rank
        iss_r = np.where(k.applied[br], k.iss[br], INF_EVENT)
        suffix_min = np.minimum.accumulate(iss_r[::-1])[::-1]
        pos_of_row = np.empty(n, np.int64)
        pos_of_row[br] = np.arange(n)
        mine = k.ok & measured
        acked_measured += int(mine.sum())
        above_min = np.r_[suffix_min[1:], INF_EVENT][pos_of_row]  # min issue event above each row
        # The writes that can beat w: applied, above w in the store's order, issued before w's ack.
        # In issue order they lie in [lo, hi): hi = the first write issued after w's ack; lo = the
        # first write whose prefix (in issue order) holds a rank above w's -- none earlier can be
        # above w. With perfect clocks lo = w; clock skew widens it by the writes the skew spans.
        prefix_rank = np.maximum.accumulate(k.rank) if n else k.rank
        his = np.searchsorted(k.iss, k.ack, side="left")
        los = np.searchsorted(prefix_rank, k.rank, side="right")
        # only writes with something above them issued before their acknowledgement can be lost
        for w in np.flatnonzero(mine & (above_min < k.ack)).tolist():
            p = int(pos_of_row[w])
            span = np.arange(min(int(los[w]), w), int(his[w]))
            span = span[(pos_of_row[span] > p) & k.applied[span]]
            cand = span[np.argsort(pos_of_row[span], kind="stable")]  # in store order
            if not len(cand):
                continue
            later = cand[k.iss[cand] > k.iss[w]]
            reach = k.reach_from(w, int(later.max())) if len(later) else {w}
            beaters = [int(u) for u in cand if int(u) not in reach]  # cand is in store order
            if not beaters:
                continue
            u = beaters[0]
            cause = ("tie" if k.ts[u] == k.ts[w] else "clock-skew" if k.iss[u] < k.iss[w] else "concurrency")
            losses.append((int(k.op[w]), kv, int(k.seq[w]), float(k.ts[w]),
                           int(k.op[u]), int(k.seq[u]), float(k.ts[u]), cause))
        # -- lost updates (value level, LWW): an acknowledged update that the store superseded (an applied
        # write is above it) and no write above it merged (has it in its carried causal context); and
        # overwritten updates: the overwriter (the next applied write above) did not merge it
        applied_pos = np.where(k.applied[br], np.arange(n), n)
        next_applied = np.r_[np.minimum.accumulate(applied_pos[::-1])[::-1], n]  # first applied at >= position
        for w in ([] if losses_only else np.flatnonzero(k.ok & measured).tolist()):
            if int(k.op[w]) not in is_update:
                continue
            if sibling:
                continue  # counted on the final state below (the store's order is partial)
            updates += 1
            q = int(next_applied[int(pos_of_row[w]) + 1])
            if q >= n:
                continue
            v = int(br[q])
            if not k.in_causal_past(w, v):
                row = (int(k.op[w]), kv, int(k.seq[w]), int(k.op[v]), int(k.seq[v]))
                over_up.append(row)
                if not k.merged_above(w, pos_of_row):
                    lost_up.append(row)
    if sibling and not losses_only:
        lost_up, updates = _sibling_lost_updates(ops, frames, warmup_ms, is_update)
    lww = pd.DataFrame(losses, columns=["op_id", "key", "version", "timestamp_ms", "winner_op_id",
                                        "winner_version", "winner_timestamp_ms", "cause"])
    cols = ["op_id", "key", "version", "overwriter_op_id", "overwriter_version"]
    lu = pd.DataFrame(lost_up, columns=cols)
    ou = pd.DataFrame(over_up, columns=cols)
    return {"lww_losses": lww, "lost_updates": lu, "overwritten_updates": ou, "concurrent_write_pairs": pairs,
            "acked": acked_measured, "updates": updates, "sibling": sibling}


def true_order(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], a: int, b: int) -> str:
    """How writes ``a`` and ``b`` (op ids, same key) relate in the true order: ``"before"`` (a happened
    before b), ``"after"``, or ``"concurrent"`` -- from the history alone, whatever their stamps say.
    One forward pass over the key's writes issued between them."""
    w = writes_table(ops, frames)
    ka, kb = w.loc[w["op_id"] == a, "key"], w.loc[w["op_id"] == b, "key"]
    if ka.empty or kb.empty:
        raise ValueError(f"op {a if ka.empty else b} is not a write")
    if int(ka.iloc[0]) != int(kb.iloc[0]):
        raise ValueError(f"ops {a} and {b} write different keys")
    k = _Key(dict(_by_key(w[w["key"] == int(ka.iloc[0])]))[int(ka.iloc[0])], _parents(frames))
    ra, rb = (int(np.flatnonzero(k.op == x)[0]) for x in (a, b))
    first, second = min(ra, rb), max(ra, rb)
    if second in k.reach_from(first, second):
        return "before" if first == ra else "after"
    return "concurrent"


def session_write_violations(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame],
                             warmup_ms: float = 0.0) -> pd.DataFrame:
    """Per measured committed write: ``op_id, client, key, monotonic_write_violation,
    writes_follow_reads_violation, prior_write_rank, prior_read_rank`` (nan: nothing earlier).
    Judged in the run's store order (``pbs_sim.metrics.order``): LWW ranks; under sibling policies the
    checker's flags (``pbs_sim.metrics.sessions.partial_order_sessions``: the write must have the
    session's last write and last read in its causal past), the two prior columns then being seqs."""
    from .order import store_order  # built on this module
    from .sessions import partial_order_sessions
    from .siblings import read_sets

    order = store_order(frames)
    if not order.total:
        assert order.index is not None
        flags = partial_order_sessions(ops, read_sets(frames), order.index)
        m = np.flatnonzero(_is(ops["kind"], "write") & _is(ops["status"], "ok")
                           & (ops["issued_at"].to_numpy(float) >= warmup_ms))
        m = m[np.argsort(ops["issued_event"].to_numpy(np.int64)[m], kind="stable")]
        lw, lr = flags["last_write"][m], flags["last_read"][m]
        return pd.DataFrame({
            "op_id": ops["op_id"].to_numpy(np.int64)[m], "client": ops["client"].to_numpy()[m],
            "key": ops["key"].to_numpy()[m], "issued_at": ops["issued_at"].to_numpy(float)[m],
            "prior_write_rank": np.where(lw > 0, lw, np.nan), "prior_read_rank": np.where(lr > 0, lr, np.nan),
            "monotonic_write_violation": flags["monotonic_writes"][m],
            "writes_follow_reads_violation": flags["writes_follow_reads"][m],
        })
    ranked = order.ranked_ops(ops)
    ok = _is(ranked["status"], "ok")
    wr = ranked.loc[_is(ranked["kind"], "write") & ok, ["op_id", "client", "key", "version", "issued_at",
                                                        "issued_event"]]
    wr = wr.sort_values("issued_event", kind="stable")
    g = wr.groupby(["client", "key"], sort=False)["version"]
    prior_w = g.cummax().groupby([wr["client"], wr["key"]], sort=False).shift(1)
    rd = ranked.loc[_is(ranked["kind"], "read") & ok & (ranked["version"].to_numpy() > 0),
                    ["client", "key", "version", "completed_event"]].sort_values("completed_event", kind="stable")
    rd = rd.assign(prior=rd.groupby(["client", "key"], sort=False)["version"].cummax())
    left = wr.assign(i=np.arange(len(wr)))
    if len(rd) and len(left):
        joined = pd.merge_asof(left.sort_values("issued_event"), rd[["client", "key", "completed_event", "prior"]],
                               left_on="issued_event", right_on="completed_event", by=["client", "key"],
                               direction="backward", allow_exact_matches=False).sort_values("i")
        prior_r = joined["prior"].to_numpy(float)
    else:
        prior_r = np.full(len(left), np.nan)
    v = wr["version"].to_numpy(float)
    pw = prior_w.to_numpy(float)
    out = pd.DataFrame({
        "op_id": wr["op_id"].to_numpy(np.int64), "client": wr["client"].to_numpy(), "key": wr["key"].to_numpy(),
        "issued_at": wr["issued_at"].to_numpy(float),
        "prior_write_rank": pw, "prior_read_rank": prior_r,
        "monotonic_write_violation": np.nan_to_num(v < pw, nan=False).astype(bool),
        "writes_follow_reads_violation": np.nan_to_num(v < prior_r, nan=False).astype(bool),  # store-order: LWW ranks (order.ranked_ops)
    })
    return out[out["issued_at"].to_numpy() >= warmup_ms].reset_index(drop=True)


class CausalityReporter:
    """LWW loss, lost updates, concurrent pairs and the two write-session guarantees."""

    name = "causality"
    names = ("lww_lost_writes", "lww_lost_fraction", "lww_lost_clock_skew", "lww_lost_concurrency", "lww_lost_tie",
             "lost_updates", "lost_update_fraction", "overwritten_updates", "overwritten_update_fraction",
             "concurrent_write_pairs", "monotonic_write_violation_rate", "writes_follow_reads_violation_rate",
             "causality_tracked")

    def report(self, run: RunView) -> Report:
        frames = run.frames
        res = analyse(run.ops, frames, run.warmup_ms)
        sv = session_write_violations(run.ops, frames, run.warmup_ms)
        lww, lu = res["lww_losses"], res["lost_updates"]
        n_w = len(sv)
        causes = lww["cause"].value_counts() if len(lww) else pd.Series(dtype=np.int64)
        summary = {
            "lww_lost_writes": float(len(lww)),
            "lww_lost_fraction": len(lww) / res["acked"] if res["acked"] else math.nan,
            "lww_lost_clock_skew": float(causes.get("clock-skew", 0)),
            "lww_lost_concurrency": float(causes.get("concurrency", 0)),
            "lww_lost_tie": float(causes.get("tie", 0)),
            "lost_updates": float(len(lu)),
            "lost_update_fraction": len(lu) / res["updates"] if res["updates"] else math.nan,
            "overwritten_updates": float(len(res["overwritten_updates"])),
            "overwritten_update_fraction": (len(res["overwritten_updates"]) / res["updates"]
                                            if res["updates"] and not res["sibling"] else math.nan),
            "concurrent_write_pairs": float(res["concurrent_write_pairs"]),
            "monotonic_write_violation_rate": float(sv["monotonic_write_violation"].mean()) if n_w else math.nan,
            "writes_follow_reads_violation_rate": float(sv["writes_follow_reads_violation"].mean()) if n_w else math.nan,
            "causality_tracked": float("causality" in run.mechanisms),
        }
        return summary, {"lww_losses": lww, "lost_updates": lu, "overwritten_updates": res["overwritten_updates"],
                         "write_sessions": sv}


REPORTER = CausalityReporter()
