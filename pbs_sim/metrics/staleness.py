"""Staleness of reads, measured on the ops history with docs/design.md's exact definitions.

Owns: per-read outcomes (``read_outcomes``), the t-visibility curve with Wilson 95 % intervals
(``t_visibility_curve``), the t at which a target probability is reached (``t_visibility``),
k-staleness (``k_staleness``, ``versions_behind_counts``) and staleness per key (``per_key``).
Must not touch: SimPy, plotting. Inputs are the ``ops`` DataFrame of a History (columns ``op_id,
client, key, kind, issued_at, completed_at, status, version``).

Definitions (docs/design.md). A *measured read* is a read with status ``ok`` issued at or after
``warmup_ms`` (writes and reads during warm-up still count as history). For a read of key k starting
at ``start_at`` (its ``issued_at``):

* ``w*`` is the newest (largest version) write to k *committed* (status ok) at or before ``start_at``;
  ``t_ms = start_at - commit_at(w*)`` (nan if no write to k had committed);
* the read is *consistent* iff the version it returned is ``>= w*`` (always, if there is no ``w*``);
* ``versions_behind`` = number of writes to k committed at or before ``start_at`` whose version is
  newer than the one returned; k-staleness is ``P(versions_behind < k)``.

"At or before": a pbs-probe read at offset 0 starts at the very instant its write commits, and must
count that write (t = 0), as in the WARS model. Instants are ordered by time and, when a commit and a
read's start fall on the same instant, by the history's event numbers (``completed_event`` /
``issued_event``: the order they happened), never by comparing floats alone: a read issued at the
instant of a commit but before it was processed did not start after it. Frames without the event
columns count a commit at the read's instant as before it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import LazyModule
from . import wilson

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

#: Default t bins (ms) for workloads whose reads fall at arbitrary t: [0, 0.5), [0.5, 1), ...
DEFAULT_EDGES_MS: tuple[float, ...] = (
    0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0,
    10_000.0, 20_000.0, 50_000.0, 100_000.0, math.inf,
)

OUTCOME_COLUMNS = (
    "op_id", "client", "key", "start_at", "completed_at", "version", "w_star", "w_star_commit_at",
    "t_ms", "consistent", "versions_behind",
)


def _is(col: pd.Series, name: str) -> np.ndarray:
    # comparing a categorical with a string compares codes: no per-row string conversion
    return np.asarray(col == name, dtype=bool)


def runs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run of equal values in ``ids`` (sorted ids: one run a value)."""
    cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return np.concatenate([[0], cut]), np.concatenate([cut, [len(ids)]])


def committed_writes(ops: pd.DataFrame) -> pd.DataFrame:
    """Writes that committed: ``key, seq, commit_at, client`` (and ``commit_event`` if ``ops`` has events)."""
    m = _is(ops["kind"], "write") & _is(ops["status"], "ok")
    w = ops.loc[m, ["key", "version", "completed_at", "client", *_present(ops, "completed_event")]]
    return w.rename(columns={"version": "seq", "completed_at": "commit_at", "completed_event": "commit_event"}
                    ).reset_index(drop=True)


def measured_reads(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    m = _is(ops["kind"], "read") & _is(ops["status"], "ok") & (ops["issued_at"].to_numpy() >= warmup_ms)
    cols = ["op_id", "client", "key", "issued_at", "completed_at", "version", *_present(ops, "issued_event")]
    return ops.loc[m, cols].rename(columns={"issued_at": "start_at", "issued_event": "start_event"}).reset_index(drop=True)


def _present(ops: pd.DataFrame, col: str) -> list[str]:
    return [col] if col in ops.columns else []


def instant_ranks(reads: pd.DataFrame, writes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Reads' starts and writes' commits ranked in one order: by time, simultaneous ones by event
    number (without event columns a commit ranks before a read's start at the same instant). Every
    "committed before the read started" test compares these ranks, not float times."""
    t = np.concatenate([reads["start_at"].to_numpy(float), writes["commit_at"].to_numpy(float)])
    if "start_event" in reads.columns and "commit_event" in writes.columns:
        ev = np.concatenate([reads["start_event"].to_numpy(np.int64), writes["commit_event"].to_numpy(np.int64)])
    else:
        ev = np.concatenate([np.ones(len(reads), np.int64), np.zeros(len(writes), np.int64)])
    rank = np.empty(len(t), np.int64)
    rank[np.lexsort((ev, t))] = np.arange(len(t))
    return rank[: len(reads)], rank[len(reads):]


def read_outcomes(ops: pd.DataFrame, warmup_ms: float = 0.0) -> pd.DataFrame:
    """One row per measured read: ``w_star``, ``t_ms``, ``consistent``, ``versions_behind`` (see module doc)."""
    reads = measured_reads(ops, warmup_ms)
    writes = committed_writes(ops)
    n = len(reads)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in OUTCOME_COLUMNS})
    if len(writes) == 0:
        out = reads.assign(
            w_star=0, w_star_commit_at=np.nan, t_ms=np.nan, consistent=True, versions_behind=0
        )
        return out[list(OUTCOME_COLUMNS)]

    reads["start_rank"], writes["commit_rank"] = instant_ranks(reads, writes)
    # In commit order: per key, how many writes have committed and the newest (max seq) of them.
    wc = writes.sort_values("commit_rank", kind="stable").reset_index(drop=True)
    g = wc.groupby("key", sort=False)
    wc["n_committed"] = g.cumcount() + 1
    wc["w_star"] = g["seq"].cummax()

    r = reads.sort_values("start_rank", kind="stable")
    merged = pd.merge_asof(
        r, wc[["key", "commit_rank", "n_committed", "w_star"]], left_on="start_rank", right_on="commit_rank",
        by="key", direction="backward", allow_exact_matches=False,
    )
    has = merged["w_star"].notna().to_numpy()
    w_star = merged["w_star"].fillna(0).to_numpy(np.int64)
    n_before = merged["n_committed"].fillna(0).to_numpy(np.int64)
    keys = merged["key"].to_numpy(np.int64)
    version = merged["version"].to_numpy(np.int64)
    start = merged["start_at"].to_numpy(float)
    start_rank = merged["start_rank"].to_numpy(np.int64)
    # commit instant of w* itself (not of the latest commit): look (key, w*) up among the writes
    look = pd.DataFrame({"key": keys, "seq": w_star}).merge(
        writes[["key", "seq", "commit_at"]].drop_duplicates(["key", "seq"]), on=["key", "seq"], how="left"
    )
    w_star_commit = np.where(has, look["commit_at"].to_numpy(float), np.nan)

    # In version order: how many committed writes have seq <= v, and the latest commit among them.
    ws = writes.sort_values(["seq"], kind="stable").reset_index(drop=True)
    ws = ws.sort_values(["seq"], kind="stable")
    gs = ws.groupby("key", sort=False)
    ws["n_le"] = gs.cumcount() + 1
    ws["max_commit_le"] = gs["commit_rank"].cummax()
    left = pd.DataFrame({"key": keys, "version": version, "i": np.arange(n)}).sort_values("version", kind="stable")
    m2 = pd.merge_asof(
        left, ws[["key", "seq", "n_le", "max_commit_le"]], left_on="version", right_on="seq", by="key",
        direction="backward", allow_exact_matches=True,
    ).sort_values("i")
    n_le = m2["n_le"].fillna(0).to_numpy(np.int64, copy=True)
    max_commit_le = m2["max_commit_le"].fillna(-1).to_numpy(np.int64)
    # Writes with seq <= v that committed *after* start must not be subtracted: rare (in flight), exact loop.
    late = np.flatnonzero(max_commit_le > start_rank)  # store-order: instants' ranks, not versions
    if late.size:
        by_key: dict[int, tuple[np.ndarray, np.ndarray]] = {
            int(k): (grp["seq"].to_numpy(np.int64), grp["commit_rank"].to_numpy(np.int64))  # type: ignore[arg-type]
            for k, grp in writes[writes["key"].isin(np.unique(keys[late]))].groupby("key")
        }
        for i in late:
            seqs, commits = by_key[int(keys[i])]
            n_le[i] -= int(np.count_nonzero((seqs <= version[i]) & (commits > start_rank[i])))  # store-order: LWW ranks (order.ranked_ops)
    behind = n_before - n_le
    consistent = ~has | (version >= w_star)  # store-order: LWW ranks (order.ranked_ops)
    t_ms = np.where(has, start - w_star_commit, np.nan)
    out = pd.DataFrame({
        "op_id": merged["op_id"].to_numpy(np.int64),
        "client": merged["client"].to_numpy(),
        "key": keys,
        "start_at": start,
        "completed_at": merged["completed_at"].to_numpy(float),
        "version": version,
        "w_star": w_star,
        "w_star_commit_at": w_star_commit,
        "t_ms": t_ms,
        "consistent": consistent,
        "versions_behind": np.maximum(behind, 0),
    })
    return out.sort_values("op_id", kind="stable").reset_index(drop=True)


def store_order_outcomes(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], warmup_ms: float = 0.0) -> pd.DataFrame:
    """:func:`read_outcomes` judged in the run's store order (``pbs_sim.metrics.order``, docs/design.md "two
    orders"), versions named by seq. LWW: computed on store ranks (the definitions above, for a total
    order; with perfect clocks ranks are seqs). Sibling policies: a read is consistent iff every write
    committed before it started is returned or below a returned version, and ``versions_behind``
    counts those that are neither (``pbs_sim.metrics.siblings.partial_order_outcomes``)."""
    from .order import store_order  # the order module is built on this one
    from .siblings import partial_order_outcomes

    order = store_order(frames)
    if order.total:
        return order.outcomes_to_seq(read_outcomes(order.ranked_ops(ops), warmup_ms))
    return partial_order_outcomes(read_outcomes(ops, warmup_ms), ops, frames, index=order.index)


def _curve_frame(t: Sequence[float] | np.ndarray, hits: np.ndarray, n: np.ndarray, t_high: Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
    low, high = wilson(hits, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(hits, float) / np.asarray(n, float)
    data = {"t_ms": np.asarray(t, float), "p_consistent": p, "ci_low": low, "ci_high": high, "n": np.asarray(n, np.int64)}
    if t_high is not None:
        data["t_high_ms"] = np.asarray(t_high, float)
    return pd.DataFrame(data)


def t_visibility_curve(
    outcomes: pd.DataFrame, at_t: Sequence[float] | None = None, edges: Sequence[float] | None = None,
) -> pd.DataFrame:
    """``P(consistent | t)`` with 95 % Wilson intervals: columns ``t_ms, p_consistent, ci_low, ci_high, n``.

    ``at_t`` (pbs-probe offsets): exactly at those t (reads whose t equals the offset up to rounding).
    Otherwise over bins ``[edges[i], edges[i+1])`` (default :data:`DEFAULT_EDGES_MS`): ``t_ms`` is the
    bin's lower edge, ``t_high_ms`` its upper edge; empty bins are left out. Reads with no ``w*`` have
    no t and are not in the curve.
    """
    o = outcomes[outcomes["t_ms"].notna()]
    t = o["t_ms"].to_numpy(float)
    ok = o["consistent"].to_numpy(bool)
    if at_t is not None:
        ts = sorted(set(float(x) for x in at_t))
        at_hits, at_counts = [], []
        for x in ts:
            m = np.abs(t - x) <= 1e-6 * max(1.0, x)
            at_counts.append(int(m.sum()))
            at_hits.append(int(ok[m].sum()))
        return _curve_frame(ts, np.asarray(at_hits), np.asarray(at_counts))
    e = np.asarray(edges if edges is not None else DEFAULT_EDGES_MS, float)
    idx = np.searchsorted(e, t, side="right") - 1
    nb = len(e) - 1
    valid = (idx >= 0) & (idx < nb)
    counts = np.bincount(idx[valid], minlength=nb)
    hits = np.bincount(idx[valid], weights=ok[valid].astype(float), minlength=nb)
    keep = counts > 0
    return _curve_frame(e[:-1][keep], hits[keep], counts[keep], e[1:][keep])


def t_visibility(curve: pd.DataFrame, target: float) -> float:
    """The smallest ``t_ms`` of the curve from which on ``p_consistent >= target`` (nan if never).

    On a binned curve this is a bin's lower edge: a coarse figure; pbs-probe curves are exact at
    their offsets.
    """
    if curve.empty:
        return math.nan
    p = curve["p_consistent"].to_numpy(float)
    t = curve["t_ms"].to_numpy(float)
    below = np.flatnonzero(~(p >= target))
    if below.size == 0:
        return float(t[0])
    nxt = below[-1] + 1
    return float(t[nxt]) if nxt < len(t) else math.nan


def k_staleness(outcomes: pd.DataFrame, ks: Sequence[int] = (1, 2, 3)) -> pd.DataFrame:
    """``P(versions_behind < k)`` per k over measured reads: ``k, p, ci_low, ci_high, n``."""
    vb = outcomes["versions_behind"].to_numpy(np.int64)
    n = len(vb)
    hits = np.asarray([int((vb < k).sum()) for k in ks])
    low, high = wilson(hits, np.full(len(ks), n))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / n if n else np.full(len(ks), np.nan)
    return pd.DataFrame({"k": list(ks), "p": p, "ci_low": low, "ci_high": high, "n": n})


def versions_behind_counts(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The versions_behind distribution: ``versions_behind, count, fraction`` (one row per value)."""
    vb = outcomes["versions_behind"].to_numpy(np.int64)
    if vb.size == 0:
        return pd.DataFrame({"versions_behind": pd.Series(dtype=np.int64), "count": pd.Series(dtype=np.int64),
                             "fraction": pd.Series(dtype=float)})
    counts = np.bincount(vb)
    vals = np.flatnonzero(counts)
    return pd.DataFrame({"versions_behind": vals, "count": counts[vals], "fraction": counts[vals] / vb.size})


def per_key(outcomes: pd.DataFrame, ops: pd.DataFrame | None = None) -> pd.DataFrame:
    """Staleness per key: ``key, reads, stale_reads, stale_fraction, mean_versions_behind`` (+ ``writes``,
    committed writes to the key, when ``ops`` is given), most-read keys first."""
    o = outcomes.assign(stale=~outcomes["consistent"].astype(bool))
    g = o.groupby("key")
    out = pd.DataFrame({
        "reads": g.size(),
        "stale_reads": g["stale"].sum().astype(np.int64),
        "mean_versions_behind": g["versions_behind"].mean(),
    })
    out["stale_fraction"] = out["stale_reads"] / out["reads"]
    if ops is not None:
        w = committed_writes(ops).groupby("key").size()
        out["writes"] = w.reindex(out.index).fillna(0).astype(np.int64)
    out = out.reset_index().sort_values(["reads", "key"], ascending=[False, True], kind="stable")
    cols = ["key", "reads", "stale_reads", "stale_fraction", "mean_versions_behind"] + (["writes"] if ops is not None else [])
    return out[cols].reset_index(drop=True)
