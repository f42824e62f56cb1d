"""Durability metrics (docs/design.md definitions), pure functions of a run's history frames.

Owns: replication completion time, under-replication exposure, lost writes (listed, and broken down
by key popularity decile) and the MTTDL estimate with its confidence interval over replications.
Must not touch: SimPy, the simulator. Inputs are ``History.frames()`` (``ops``, ``applies`` and, if
faults ran, ``faults``) and the replication factor N (``history.facts.n``).

Definitions used here
---------------------
- A write's *copies* are the nodes whose stored state of the key holds the write or a version above
  it in the store's order (``pbs_sim.metrics.order``: stamp order under LWW, the causal order of the
  contexts under sibling policies; a state may hold several versions). A hinted
  copy (an apply ``via = "hint"``: parked on a fallback, or handed off to its owner) is a copy where
  it is stored, on that node only, never on the owner it names; a fallback that deletes its copy
  after hand-off (``hints`` table, action ``dropped``) stops holding it. A coordinator's hint
  (Cassandra) keeps its write from being lost while it is held, but is not a replica: it never counts
  toward N live copies or replication completion. A ``wipe`` fault empties a node.
- **replication completion time**: from the write's commit until N nodes hold a copy; ``nan`` and
  ``censored = True`` if the run ended first.
- **under-replication exposure**: ``integral over time of #keys whose newest committed version has
  fewer than N live copies``, in key-milliseconds (a copy is *live* while its node is up: crashed or
  replacing nodes do not count); also reported divided by the run length (mean number of
  under-replicated keys).
- **lost write**: a committed write of which, at the end of the run, no node holds the write or a
  version above it in the store's order (under DVV a higher-numbered but concurrent version does
  not cover it). **loss events**: moments at which the newest committed version of a key had no
  copy left on any node (each key counted once per loss).
- **popularity decile**: keys ranked by how many operations touched them in the run (1 = the most
  accessed tenth of the keys that were accessed, 10 = the least).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule
from .mechanism import Report, RunView, blank
from .order import StoreOrder, apply_sets, seq_order, store_order

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

_WIPE, _CRASH, _RECOVER, _REPLACE = "wipe", "crash", "recover", "replace"


def _events(frames: Mapping[str, pd.DataFrame]) -> list[tuple[float, int, int, int, int, int]]:
    """The replay's events as ``(at, event, kind, node, key, version)`` tuples, in the order they
    happened: by time, then by the history's shared event number (simultaneous events replay in
    their real order, not by a priority rule).

    ``kind``: 0 an apply (``node`` stored ``version`` of ``key``; a hinted apply is a copy on the node
    that stores it), 1 a commit (``node`` = -1), 2 a wipe, 3 a crash, 4 a recovery or replacement
    (``key`` = -1, ``version`` = 0 for the three fault kinds), 5 a fallback deleted its hinted copy of
    ``key`` after hand-off (``pbs_sim.sim.handoff``; ``version`` = 0), or a coordinator's hint ended
    (see :func:`_hint_log_events`: kinds 0 and 5 on pseudo-nodes -2, -3, ...).
    """
    ops = frames["ops"]
    ap = frames["applies"]
    ev: list[tuple[float, int, int, int, int, int]] = []
    hints = frames.get("hints")
    if hints is not None and len(hints):
        d = hints[hints["action"].astype(str) == "dropped"]
        ev.extend(zip(d["at"].to_numpy(float).tolist(), d["event"].to_numpy(int).tolist(), [5] * len(d), d["holder"].to_numpy(int).tolist(),
                      d["key"].to_numpy(int).tolist(), [0] * len(d), strict=True))
        if "log" in hints.columns:
            ev.extend(_hint_log_events(hints[hints["log"].to_numpy() == 1], ops))
    ev.extend(zip(ap["at"].to_numpy(float).tolist(), ap["event"].to_numpy(int).tolist(), [0] * len(ap), ap["node"].to_numpy(int).tolist(),
                  ap["key"].to_numpy(int).tolist(), ap["version"].to_numpy(int).tolist(), strict=True))
    w = ops[(ops["kind"].astype(str) == "write") & (ops["status"].astype(str) == "ok")]
    ev.extend(zip(w["completed_at"].to_numpy(float).tolist(), w["completed_event"].to_numpy(int).tolist(), [1] * len(w),
                  [-1] * len(w), w["key"].to_numpy(int).tolist(), w["version"].to_numpy(int).tolist(), strict=True))
    f = frames.get("faults")
    if f is not None and len(f):
        codes = {_WIPE: 2, _CRASH: 3, _RECOVER: 4, _REPLACE: 4}
        f = f[f["node"] >= 0]
        for at, event, node, action in zip(f["at"].to_numpy(float).tolist(), f["event"].to_numpy(int).tolist(),
                                           f["node"].to_numpy(int).tolist(), f["action"].astype(str), strict=True):
            if action in codes:
                ev.append((float(at), int(event), codes[action], int(node), -1, 0))
    ev.sort(key=lambda e: (e[0], e[1]))
    return ev


def _hint_log_events(log: pd.DataFrame, ops: pd.DataFrame) -> list[tuple[float, int, int, int, int, int]]:
    """A coordinator's hint (``pbs_sim.sim.handoff``, ``log`` = 1) holds its write from ``stored``
    until ``delivered``, ``expired`` or ``lost``: an apply (kind 0) then a deletion (kind 5) on a
    pseudo-node of its own (ids -2, -3, ...), so that it keeps the write from counting as lost while
    it is held, without being a replica (pseudo-nodes never count as live copies)."""
    version_of = dict(zip(ops["op_id"].to_numpy(np.int64).tolist(), ops["version"].to_numpy(np.int64).tolist(),
                          strict=True))
    held: dict[tuple[int, int, int, int], int] = {}
    out: list[tuple[float, int, int, int, int, int]] = []
    made = 0
    for at, event, holder, owner, key, op_id, action in zip(
            log["at"].to_numpy(float).tolist(), log["event"].to_numpy(np.int64).tolist(),
            log["holder"].to_numpy(np.int64).tolist(), log["owner"].to_numpy(np.int64).tolist(),
            log["key"].to_numpy(np.int64).tolist(), log["op_id"].to_numpy(np.int64).tolist(),
            log["action"].astype(str).tolist(), strict=True):
        ident = (holder, owner, key, op_id)
        if action == "stored":
            made += 1
            held[ident] = -1 - made
            out.append((at, event, 0, held[ident], key, version_of.get(op_id, 0)))
        elif action in ("delivered", "expired", "lost") and ident in held:
            out.append((at, event, 5, held.pop(ident), key, 0))
    return out


def durability(frames: Mapping[str, pd.DataFrame], n: int, end_at: float | None = None,
               order: StoreOrder | None = None) -> dict[str, Any]:
    """Replay the run once; returns ``writes`` (per committed write: commit_at, completion_ms, censored,
    lost), ``exposure`` (a step series: at, under_replicated_keys), ``losses`` (key, lost_at, version)
    and ``under_ms_per_key`` (a Series: time each key spent with fewer than N live copies of its
    newest committed version, up to ``end_at``).

    Versions are compared in the store's order ``order`` (``pbs_sim.metrics.order``; None: seq
    order, LWW with perfect clocks), in seq names. A replica's state of a key is the set of versions
    it holds (``apply_versions``; otherwise the apply's one ``version``); it holds a copy of write s
    iff ``order.covers`` says so. Under a partial order a key's *newest committed versions* are the
    committed writes no other committed write is above (one under LWW): the key is under-replicated
    while one of them has fewer than N live copies, and lost data when one of them has no copy."""
    if order is None:
        order = seq_order()
    below = order.below
    ev = _events(frames)
    sets = _apply_sets_by_event(frames)
    if end_at is None:
        end_at = max((e[0] for e in ev if math.isfinite(e[0])), default=0.0)
    held: dict[int, dict[int, Any]] = {}  # node -> key -> version (int) or versions (tuple)
    by_key: dict[int, dict[int, Any]] = {}  # key -> node -> version(s)
    up: dict[int, bool] = {}
    newest: dict[int, list[int]] = {}  # key -> its newest committed seqs (one under a total order)
    live: dict[int, int] = {}  # key -> live copies of the newest committed (the fewest of them)
    under = 0
    under_since: dict[int, float] = {}  # key -> under-replicated since
    under_total: dict[int, float] = {}  # key -> time under-replicated so far
    pending: dict[int, list[tuple[int, float, int]]] = {}  # key -> [(seq, commit_at, row)]
    w_key: list[int] = []
    w_seq: list[int] = []
    w_commit: list[float] = []
    w_done: list[float] = []
    exp_at: list[float] = [0.0]
    exp_val: list[int] = [0]
    losses: list[tuple[int, float, int]] = []
    lost_now: set[int] = set()

    def holds(key: int, h: Any, s: int) -> bool:
        """Does a state ``h`` (one version, or a tuple of them) hold write ``s`` or one above it?"""
        if type(h) is tuple:
            return order.covers(key, h, s)
        return h == s or below(key, s, h)

    def count_live(key: int) -> int:
        copies = by_key.get(key, {})
        return min(sum(1 for nd, v in copies.items() if nd >= 0 and up.get(nd, True) and holds(key, v, s))
                   for s in newest[key])

    def refresh(key: int) -> None:
        nonlocal under
        if key not in newest:
            return
        was = live.get(key, n) < n
        c = live[key] = count_live(key)
        now_under = c < n
        if now_under != was:
            under += 1 if now_under else -1
        if now_under and key not in under_since:
            under_since[key] = t
        elif not now_under and key in under_since:
            under_total[key] = under_total.get(key, 0.0) + t - under_since.pop(key)
        copies = by_key.get(key, {}).values()
        gone = [s for s in newest[key] if not any(holds(key, v, s) for v in copies)]
        if gone and key not in lost_now:
            lost_now.add(key)
            losses.append((key, t, gone[0]))
        elif not gone:
            lost_now.discard(key)

    def check_pending(key: int) -> None:
        pl = pending.get(key)
        if not pl:
            return
        vals = [v for nd, v in by_key.get(key, {}).items() if nd >= 0]  # hint logs are not replicas
        keep = []
        for seq, cat, row in pl:
            if sum(1 for v in vals if holds(key, v, seq)) >= n:
                w_done[row] = max(t, cat) - cat
            else:
                keep.append((seq, cat, row))
        pending[key] = keep

    t = 0.0
    for at, event, kind, node, key, ver in ev:
        if not math.isfinite(at):
            continue
        t = at
        before = under
        if kind == 0:
            state: Any = sets.get(event, ver) if sets else ver
            held.setdefault(node, {})[key] = state
            by_key.setdefault(key, {})[node] = state
            refresh(key)
            check_pending(key)
        elif kind == 1:
            row = len(w_key)
            w_key.append(key)
            w_seq.append(ver)
            w_commit.append(at)
            w_done.append(math.nan)
            top = newest.get(key)
            if top is None:
                live[key] = n  # placeholder: refresh compares against "was under"
                newest[key] = [ver]
            elif not any(f == ver or below(key, ver, f) for f in top):  # ver is among the newest now
                newest[key] = [f for f in top if not below(key, f, ver)] + [ver]
            pending.setdefault(key, []).append((ver, at, row))
            check_pending(key)
            refresh(key)
        elif kind == 5:  # a fallback deleted its hinted copy
            held.get(node, {}).pop(key, None)
            by_key.get(key, {}).pop(node, None)
            refresh(key)
        elif kind == 2:  # wipe
            keys = list(held.get(node, {}))
            for k in keys:
                by_key[k].pop(node, None)
            held[node] = {}
            for k in keys:
                refresh(k)
        else:
            up[node] = kind == 4
            for k in list(held.get(node, {})):
                refresh(k)
        if under != before:
            exp_at.append(at)
            exp_val.append(under)
    for k, since in under_since.items():
        under_total[k] = under_total.get(k, 0.0) + max(0.0, end_at - since)
    writes = pd.DataFrame({"key": w_key, "version": w_seq, "commit_at": w_commit, "completion_ms": w_done})
    writes["censored"] = writes["completion_ms"].isna()
    writes["lost"] = [not any(holds(k, v, s) for v in by_key.get(k, {}).values())
                      for k, s in zip(w_key, w_seq, strict=True)]
    exposure = pd.DataFrame({"at": exp_at, "under_replicated_keys": exp_val})
    exposure.attrs["end_at"] = end_at
    loss = pd.DataFrame(losses, columns=["key", "lost_at", "version"])
    return {"writes": writes, "exposure": exposure, "losses": loss,
            "under_ms_per_key": pd.Series(under_total, name="under_ms", dtype=float)}


def _apply_sets_by_event(frames: Mapping[str, pd.DataFrame]) -> dict[int, tuple[int, ...]]:
    """apply event number -> the versions the replica's state held after it (when more than one)."""
    sets = apply_sets(frames)
    if not sets:
        return {}
    ev = frames["applies"]["event"].to_numpy(np.int64)
    return {int(ev[row]): vs for row, vs in sets.items()}


def exposure_key_ms(exposure: pd.DataFrame, end_at: float, start_at: float = 0.0) -> float:
    """Integral of the under-replicated key count over [start_at, end_at] (key-ms)."""
    at = exposure["at"].to_numpy(float)
    val = exposure["under_replicated_keys"].to_numpy(float)
    nxt = np.append(at[1:], end_at)
    lo = np.clip(at, start_at, end_at)
    hi = np.clip(nxt, start_at, end_at)
    return float(np.sum(val * (hi - lo)))


def popularity_decile(ops: pd.DataFrame) -> pd.Series:
    """Key -> decile 1..10 by operation count in the run (1 = most accessed)."""
    counts = ops.groupby("key").size().sort_values(ascending=False, kind="stable")
    rank = np.arange(len(counts))
    return pd.Series(1 + (rank * 10) // max(len(counts), 1), index=counts.index, name="decile")


def by_decile(frames: Mapping[str, pd.DataFrame], result: dict[str, Any], n: int, end_at: float) -> pd.DataFrame:
    """Per popularity decile: keys, reads per key, writes, lost writes (count and fraction), keys that
    lost their data, and the mean time (ms) a key of the decile spent under-replicated.
    ``result`` is :func:`durability`'s replay of the same run."""
    ops = frames["ops"]
    dec = popularity_decile(ops)
    w = result["writes"].copy()
    w["decile"] = w["key"].map(dec)
    reads = ops[ops["kind"].astype(str) == "read"].groupby("key").size()
    under = result["under_ms_per_key"]
    rows = []
    for d in range(1, 11):
        keys = dec.index[dec == d]
        wd = w[w["decile"] == d]
        rows.append({
            "decile": d, "keys": len(keys),
            "reads_per_key": float(reads.reindex(keys).fillna(0).mean()) if len(keys) else 0.0,
            "writes": len(wd), "lost_writes": int(wd["lost"].sum()),
            "lost_write_fraction": float(wd["lost"].mean()) if len(wd) else 0.0,
            "keys_lost": int(result["losses"]["key"].isin(keys).sum()),
            "under_replicated_ms_per_key": float(under.reindex(keys).fillna(0).mean()) if len(keys) else 0.0,
        })
    return pd.DataFrame(rows)


def under_time_per_key(frames: Mapping[str, pd.DataFrame], n: int, end_at: float) -> pd.Series:
    """Time (ms) each key spent with fewer than N live copies of its newest committed version."""
    series: pd.Series = durability(frames, n, end_at)["under_ms_per_key"]
    return series


def summary(
    frames: Mapping[str, pd.DataFrame], n: int, end_at: float, start_at: float = 0.0,
    result: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Scalar durability figures for a run's summary row (``result``: a :func:`durability` replay of
    the same run, computed here if not given)."""
    res = result if result is not None else durability(frames, n, end_at)
    w = res["writes"]
    span = max(end_at - start_at, 1e-12)
    expo = exposure_key_ms(res["exposure"], end_at, start_at)
    comp = w["completion_ms"].dropna()
    return {
        "committed_writes": float(len(w)),
        "replication_completion_ms_mean": float(comp.mean()) if len(comp) else math.nan,
        "replication_completion_ms_p99": float(comp.quantile(0.99)) if len(comp) else math.nan,
        "replication_incomplete_fraction": float(w["censored"].mean()) if len(w) else 0.0,
        "under_replication_exposure_key_ms": expo,
        "under_replicated_keys_mean": expo / span,
        "lost_writes": float(w["lost"].sum()),
        "lost_write_fraction": float(w["lost"].mean()) if len(w) else 0.0,
        "keys_lost": float(len(res["losses"])),
        "key_time_at_risk_ms": _key_time_at_risk(w, end_at),
        "mttdl_ms_estimate": _key_mttdl(w, res["losses"], end_at),
    }


def _key_time_at_risk(writes: pd.DataFrame, end_at: float) -> float:
    if writes.empty:
        return 0.0
    first = writes.groupby("key")["commit_at"].min()
    return float((end_at - first.clip(upper=end_at)).sum())


def _key_mttdl(writes: pd.DataFrame, losses: pd.DataFrame, end_at: float) -> float:
    """Per-key MTTDL from one run: key-time at risk (from each key's first commit to the end) divided by
    the loss events (exponential maximum likelihood; ``inf`` when nothing was lost). Over replications,
    pool ``key_time_at_risk_ms`` and ``keys_lost`` (total time / total losses, ``mttdl_censored``'s
    estimator) for a confidence interval."""
    if writes.empty:
        return math.nan
    first = writes.groupby("key")["commit_at"].min()
    at_risk = float((end_at - first.clip(upper=end_at)).sum())
    return at_risk / len(losses) if len(losses) else math.inf


def mttdl_estimate(times_ms: Sequence[float], z: float = 1.96) -> dict[str, float]:
    """MTTDL from replications that all ran until data loss: the sample mean with a normal CI
    (``z`` standard errors; ``mttdl_se_ms`` is the standard error of the mean).

    Times to loss are not assumed exponential (a birth-death chain's absorption time is not), which
    is why this is the plain sample mean and not :func:`mttdl_censored`'s estimator. It cannot use
    censored replications: an entry of ``inf`` ("not lost by the end") carries no observed time, so
    a mix of finite and infinite times raises ``ValueError`` -- pass each replication's observed time
    and whether it lost data to :func:`mttdl_censored` instead. All ``inf`` (nothing lost) gives
    ``mttdl_ms = inf`` with no interval.
    """
    x = np.asarray(times_ms, dtype=float)
    lost = np.isfinite(x)
    k = int(lost.sum())
    if k == 0:
        return {"mttdl_ms": math.inf, "mttdl_se_ms": math.nan, "mttdl_ci_low_ms": math.nan,
                "mttdl_ci_high_ms": math.inf, "replications": float(len(x)), "losses": 0.0}
    if k == len(x):
        mean = float(x.mean())
        se = float(x.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan
    else:
        raise ValueError("censored replications: pass the observed times and use mttdl_censored()")
    return {"mttdl_ms": mean, "mttdl_se_ms": se, "mttdl_ci_low_ms": mean - z * se, "mttdl_ci_high_ms": mean + z * se,
            "replications": float(len(x)), "losses": float(k)}


def exponential_mean_ci(total_ms: float, losses: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for an exponential mean from ``losses`` events seen over a total
    time on test ``total_ms`` that was fixed in advance (time censoring, "type I"):
    ``[2 T / chi2_{1-a/2}(2k + 2), 2 T / chi2_{a/2}(2k)]`` with ``a = 1 - confidence``; the upper
    bound is ``inf`` when ``k = 0``.

    The number of events in a fixed time T is Poisson(T / theta), and these are the bounds at which
    P(Poisson >= k) and P(Poisson <= k) equal ``a/2`` (Garwood's interval): coverage is at least
    ``confidence`` for every theta, with any number of events -- unlike ``mean * (1 +- z / sqrt(k))``,
    whose upper bound is meaningless below about four events.
    """
    from scipy.stats import chi2

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if losses < 0 or total_ms < 0:
        raise ValueError("losses and total time must be >= 0")
    a = 1.0 - confidence
    low = 2.0 * total_ms / float(chi2.ppf(1.0 - a / 2.0, 2 * losses + 2))
    high = 2.0 * total_ms / float(chi2.ppf(a / 2.0, 2 * losses)) if losses > 0 else math.inf
    return low, high


def mttdl_censored(observed_ms: Sequence[float], lost: Sequence[bool], confidence: float = 0.95) -> dict[str, float]:
    """MTTDL when some replications ended before losing data: the exponential maximum-likelihood
    estimate (total observed time / losses; ``inf`` with no loss) with the exact chi-square interval
    of :func:`exponential_mean_ci`. ``observed_ms``: each replication's time to loss, or its length
    if it lost nothing; ``lost``: whether it did."""
    t = np.asarray(observed_ms, dtype=float)
    k = int(np.sum(lost))
    total = float(t.sum())
    low, high = exponential_mean_ci(total, k, confidence)
    return {"mttdl_ms": total / k if k else math.inf, "mttdl_ci_low_ms": low, "mttdl_ci_high_ms": high,
            "replications": float(len(t)), "losses": float(k)}


def mttdl_from_exposure(time_at_risk_ms: float, losses: int, confidence: float = 0.95) -> dict[str, float]:
    """MTTDL from pooled key-time at risk and loss events (e.g. summed over a sweep's replications:
    ``key_time_at_risk_ms`` and ``keys_lost``): exponential MLE with the exact chi-square interval of
    :func:`exponential_mean_ci`."""
    low, high = exponential_mean_ci(time_at_risk_ms, int(losses), confidence)
    return {"mttdl_ms": time_at_risk_ms / losses if losses > 0 else math.inf, "mttdl_ci_low_ms": low,
            "mttdl_ci_high_ms": high, "losses": float(max(int(losses), 0))}


class DurabilityReporter:
    """Durability figures and frames (``lost_writes``, ``durability_by_decile``,
    ``under_replication``) when an installed mechanism moves replica data; otherwise the three loss
    counts are zero (nothing can be lost without faults or repair traffic) and the other figures nan
    (not computed: the replay does not run)."""

    name = "durability"
    names = ("committed_writes", "replication_completion_ms_mean", "replication_completion_ms_p99",
             "replication_incomplete_fraction", "under_replication_exposure_key_ms", "under_replicated_keys_mean",
             "lost_writes", "lost_write_fraction", "keys_lost", "key_time_at_risk_ms", "mttdl_ms_estimate")

    def report(self, run: RunView) -> Report:
        if not run.data_moved:
            return blank(self.names, lost_writes=0.0, lost_write_fraction=0.0, keys_lost=0.0), {}
        fr = run.frames
        d = durability(fr, run.n, run.end_at, order=store_order(fr))  # the store's order (issue 17)
        out = summary(fr, run.n, run.end_at, start_at=run.warmup_ms, result=d)
        lost = d["writes"][d["writes"]["lost"]].reset_index(drop=True)
        frames = {
            "lost_writes": lost,
            "durability_by_decile": by_decile(fr, d, run.n, run.end_at),
            "under_replication": d["exposure"],
        }
        return out, frames


REPORTER = DurabilityReporter()
