"""Siblings: what keeping concurrent writes costs and what it still loses (issue 11).

Owns the summary figures of sibling-keeping policies (``cluster.versioning = "vv"`` / ``"dvv"``),
computed from the ``read_siblings``, ``read_versions``, ``final_versions``, ``sibling_settings``
and ``causal_parents`` tables (``pbs_sim.sim.siblings``, ``pbs_sim.sim.causality``):

* ``siblings_per_read_mean`` / ``_p99`` / ``_max`` -- versions returned per measured read that
  returned something; ``multi_version_read_fraction`` -- the fraction of them with more than one
  (Dynamo, SOSP 2007: 99.94 % of requests saw exactly one version);
* ``false_concurrency`` -- siblings returned by a read that are in fact ordered: one lies in the
  causal past of another (``causal_parents``, transitively; real-time precedence without a causal
  link is not an order a store can know, so two blind writes stay truly concurrent);
* ``false_dominance_lost_writes`` -- measured acknowledged writes that the final state neither holds
  nor has in the causal past of a version it holds: discarded although no surviving version
  descends from them (vv-node-naive does this; DVV never should);
* ``lost_items`` -- items added by measured acknowledged writes that no version of the final state
  holds under the client merge (``pbs_sim.merges``); nan under LWW (no final state recorded);
* ``clock_entries_mean`` / ``_max`` -- clock entries (version-vector entries and dots) of the
  state a read returned; ``metadata_bytes_mean`` -- per stored version (16 bytes an entry);
* ``write_sibling_fraction`` -- measured acknowledged writes whose returned state holds more than
  one version (``write_siblings``): the writes that left siblings;
* ``sibling_limit_exceeded`` / ``sibling_warnings`` -- reads returning more than
  ``cluster.max_siblings`` (Riak's 100) / ``cluster.siblings_warning`` (Riak's 25) siblings.

Under LWW every read that returns something returns one version and the other figures are 0
(``lost_items`` nan). The searches only follow parent edges between the seqs involved, so memory
and time stay bounded by the writes in flight, as in ``pbs_sim.metrics.causality``.
Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._lazy import LazyModule
from ..merges import surviving_items
from .mechanism import Report, RunView
from .staleness import _is, instant_ranks, runs

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use (pbs_sim._lazy): starting a command does not pay for them
    pd = LazyModule("pandas")

NAMES = (
    "siblings_per_read_mean", "siblings_per_read_p99", "siblings_per_read_max", "multi_version_read_fraction",
    "false_concurrency", "false_dominance_lost_writes", "lost_items", "clock_entries_mean", "clock_entries_max",
    "metadata_bytes_mean", "sibling_limit_exceeded", "sibling_warnings", "write_sibling_fraction",
)

KeyParents = dict[int, dict[int, list[int]]]  # key -> seq -> parent seqs
#: The causal-past bitsets keep this many seqs below each write (:class:`CausalIndex`): memory
#: WINDOW / 8 bytes a write; older questions go to the floor, then to an exact search.
WINDOW = 1024


def key_parents(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> KeyParents:
    """Per key, per write ``seq``: the seqs of its direct causal parents (in recorded order)."""
    out: KeyParents = {}
    cp = frames.get("causal_parents")
    if cp is None or cp.empty:
        return out
    oid = cp["op_id"].to_numpy(np.int64)
    par = cp["parent"].to_numpy(np.int64)
    if len(oid) > 1 and (oid[1:] < oid[:-1]).any():  # the simulator appends in op order; a file may not
        order = np.argsort(oid, kind="stable")
        oid, par = oid[order], par[order]
    a, b = runs(oid)
    first = oid[a]
    key = ops["key"].to_numpy(np.int64)[first].tolist()
    seq = ops["version"].to_numpy(np.int64)[first].tolist()
    pl = par.tolist()
    for k, s, i, j in zip(key, seq, a.tolist(), b.tolist(), strict=True):
        d = out.get(k)
        if d is None:
            d = out[k] = {}
        lst = d.get(s)
        if lst is None:
            d[s] = pl[i:j]
        else:  # one write's rows split (not from the simulator): keep them all
            lst.extend(pl[i:j])
    return out


def ancestors(parents: Mapping[int, list[int]], start: Iterable[int], lo: int = 0) -> set[int]:
    """Every seq >= ``lo`` in the causal past of ``start`` (``start`` excluded unless reached)."""
    seen: set[int] = set()
    stack = [p for s in start for p in parents.get(s, ())]
    while stack:
        x = stack.pop()
        if x in seen or x < lo:
            continue
        seen.add(x)
        stack.extend(parents.get(x, ()))
    return seen


def reaches_all(parents: Mapping[int, list[int]], start: Iterable[int], targets: Iterable[int]) -> bool:
    """Is every seq of ``targets`` in the causal past of some seq of ``start``? A depth-first search
    that dives towards the oldest parent first (so a target in the past is usually reached in a few
    steps), stops as soon as every target is found and never goes below the oldest target."""
    want = set(targets)
    if not want:
        return True
    lo = min(want)
    seen: set[int] = set()
    stack = sorted((p for s in start for p in parents.get(s, ()) if p >= lo), reverse=True)
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if x in want:
            want.discard(x)
            if not want:
                return True
        ps = [p for p in parents.get(x, ()) if p >= lo and p not in seen]
        if ps:
            ps.sort(reverse=True)
            stack.extend(ps)
    return False


class CausalIndex:
    """Per key, each write's causal past as a bitset (a Python int) and a *floor*, built on first use
    of the key in one pass in seq order (parents precede children); queries are then shifts and ANDs.

    ``window`` None: bit p of write s is set iff write p is in s's past (exact; about n^2 / 16 bytes
    for a key of n writes that all descend from one another, nothing for blind writes). ``window =
    W``: only the W seqs below s are kept (bit i of s stands for seq s - W + i), so memory is W / 8
    bytes a write whatever the key's length. Beside it, the floor F(s): every seq 1..F(s) is in s's
    past (F(s) = max over parents p of F(p), or p itself when 1..p-1 are all in p's past, then
    extended upwards through s's window while its bits are set -- a lower bound of the longest such
    prefix, exact when the parents' floors reach the window). A dense causal past (read-modify-write
    sessions whose merges join everything they saw) has its floor a few seqs below the write, so a
    question about an old write -- a session's last write on a hot key, thousands of seqs back -- is
    one comparison. What neither answers (a seq above the floor and older than the window) takes an
    exact search along the parent edges that stops at the first write whose window or floor decides
    it (:meth:`_search`)."""

    __slots__ = ("pk", "_past", "_floor", "window", "_reach")

    #: how many writes' whole causal pasts :meth:`_search` keeps (each: a floor and the seqs above it)
    REACH_CACHE = 4096

    def __init__(self, pk: KeyParents, window: int | None = None) -> None:
        self.pk = pk
        self.window = window
        self._past: dict[int, dict[int, int]] = {}
        self._floor: dict[int, dict[int, int]] = {}
        self._reach: dict[tuple[int, int], tuple[int, frozenset[int]]] = {}

    def key(self, k: int) -> dict[int, int]:
        d = self._past.get(k)
        if d is None:
            d = {}
            fl: dict[int, int] = {}
            get, fget = d.get, fl.get
            w = self.window
            for s, ps in sorted(self.pk.get(k, {}).items()):
                b = 0
                f = 0
                for p in ps:
                    if w is None:
                        b |= get(p, 0) | (1 << p)
                    else:
                        gap = s - p
                        if gap <= w:
                            b |= (get(p, 0) >> gap) | (1 << (w - gap))
                    fp = fget(p, 0)
                    if fp >= p - 1:
                        fp = p
                    if fp > f:
                        f = fp
                if w is None:
                    # the first seq above f missing from the past (bit 0 stands for no write)
                    inv = ~(b | 1) >> (f + 1)
                    f += (inv & -inv).bit_length() - 1
                else:
                    lo = s - w  # the seq bit 0 stands for
                    if f >= lo - 1:
                        pos = f + 1 - lo
                        inv = ~b >> pos
                        f = min(s - 1, f + (inv & -inv).bit_length() - 1)
                d[s] = b
                fl[s] = f
            self._past[k] = d
            self._floor[k] = fl
        return d

    def floors(self, k: int) -> dict[int, int]:
        """seq -> F(seq) for the key's writes that have parents (others: 0)."""
        fl = self._floor.get(k)
        if fl is None:
            self.key(k)
            fl = self._floor[k]
        return fl

    def below(self, k: int, x: int, s: int) -> bool:
        """Is write ``x`` in write ``s``'s causal past?"""
        if x >= s:
            return False
        b = self.key(k).get(s, 0)
        w = self.window
        if w is None:
            return bool((b >> x) & 1)
        gap = s - x
        if gap <= w:
            return bool((b >> (w - gap)) & 1)
        if x <= self._floor[k].get(s, 0):
            return True
        return self._search(k, x, s)

    def _search(self, k: int, x: int, s: int) -> bool:
        """Exact, for a write older than ``s``'s window and above its floor: is it in ``s``'s past?

        ``s``'s whole causal past is worked out once and kept (a read's siblings are asked about
        every write they may have missed, so the same ``s`` comes back many times): a search along
        parent edges that keeps M, the highest floor met (every seq 1..M is in the past, so nothing
        at or below M is expanded), and the seqs above M it reached."""
        memo = self._reach.get((k, s))
        if memo is None:
            memo = self._closure(k, s)
            if len(self._reach) >= self.REACH_CACHE:
                self._reach.clear()
            self._reach[(k, s)] = memo
        floor, above = memo
        return x <= floor or x in above

    def _closure(self, k: int, s: int) -> tuple[int, frozenset[int]]:
        parents = self.pk.get(k, {})
        fl = self._floor[k]
        m = fl.get(s, 0)
        above: set[int] = set()
        stack = [s]
        while stack:
            y = stack.pop()
            for p in parents.get(y, ()):
                if p <= m or p in above:
                    continue
                above.add(p)
                fp = fl.get(p, 0)
                if fp > m:
                    m = fp
                stack.append(p)
        return m, frozenset(a for a in above if a > m)

    def seen(self, k: int, returned: Iterable[int], want: Iterable[int]) -> bool:
        """Every seq of ``want`` is in ``returned`` or in the causal past of one of them.

        The hot path of the checker's session pass: the key's bitsets and floors are looked up once
        and the window and floor tests of :meth:`below` are inlined; only a target above the floor
        and older than the window falls back to the exact search."""
        ret = returned if isinstance(returned, (set, frozenset)) else set(returned)
        d = self._past.get(k)
        if d is None:
            d = self.key(k)
        get = d.get
        fget = self._floor[k].get
        w = self.window
        for x in want:
            if x in ret:
                continue
            for r in ret:
                if r <= x:
                    continue
                if w is None:
                    if (get(r, 0) >> x) & 1:
                        break
                    continue
                gap = r - x
                if gap <= w:
                    if (get(r, 0) >> (w - gap)) & 1:
                        break
                elif x <= fget(r, 0) or self._search(k, x, r):
                    break
            else:
                return False
        return True


def ordered_siblings(parents: Mapping[int, list[int]], versions: Iterable[int]) -> list[tuple[int, int]]:
    """Pairs ``(lower, upper)`` of returned versions where ``lower`` is in ``upper``'s causal past."""
    vs = sorted(set(versions))
    out: list[tuple[int, int]] = []
    if len(vs) < 2:
        return out
    lo = vs[0]
    for i in range(1, len(vs)):
        up = vs[i]
        past = ancestors(parents, (up,), lo)
        out.extend((x, up) for x in vs[:i] if x in past)
    return out


def read_sets(frames: Mapping[str, pd.DataFrame]) -> dict[int, list[int]]:
    """op_id -> versions, for reads that returned several (``read_versions``)."""
    rv = frames.get("read_versions")
    if rv is None or rv.empty:
        return {}
    oid = rv["op_id"].to_numpy(np.int64)
    ver = rv["version"].to_numpy(np.int64)
    if len(oid) > 1 and (oid[1:] < oid[:-1]).any():
        order = np.argsort(oid, kind="stable")
        oid, ver = oid[order], ver[order]
    a, b = runs(oid)
    vl = ver.tolist()
    return {o: vl[i:j] for o, i, j in zip(oid[a].tolist(), a.tolist(), b.tolist(), strict=True)}


def final_state(frames: Mapping[str, pd.DataFrame]) -> dict[int, set[int]] | None:
    """key -> every version some replica holds at the end (None if not recorded)."""
    fv = frames.get("final_versions")
    if fv is None:
        return None
    out: dict[int, set[int]] = {}
    for k, v in zip(fv["key"].to_numpy(np.int64).tolist(), fv["version"].to_numpy(np.int64).tolist(), strict=True):
        out.setdefault(k, set()).add(v)
    return out


def settings(frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    t = frames.get("sibling_settings")
    if t is None or t.empty:
        return {"policy": "lww", "merge": "union", "max_siblings": 100, "siblings_warning": 25}
    row = t.iloc[0]
    return {"policy": str(row["policy"]), "merge": str(row["merge"]), "max_siblings": int(row["max_siblings"]),
            "siblings_warning": int(row["siblings_warning"])}


def _key_runs(key: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """(key, positions) for each key in ascending order, positions in their original order."""
    order = np.argsort(key, kind="stable")
    ks = key[order]
    if not len(ks):
        return []
    a, b = runs(ks)
    return [(int(ks[i]), order[i:j]) for i, j in zip(a.tolist(), b.tolist(), strict=True)]


def lost_writes(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], pk: KeyParents,
                warmup_ms: float = 0.0, index: CausalIndex | None = None) -> pd.DataFrame:
    """Acknowledged writes (issued from ``warmup_ms``) that the final state neither holds nor has in
    the causal past of a version it holds: ``op_id, key, version``."""
    final = final_state(frames)
    cols = ["op_id", "key", "version"]
    if final is None:
        return pd.DataFrame(columns=cols)
    w = np.asarray(_is(ops["kind"], "write") & _is(ops["status"], "ok")
                   & (ops["issued_at"].to_numpy(float) >= warmup_ms))
    op = ops["op_id"].to_numpy(np.int64)[w]
    seq = ops["version"].to_numpy(np.int64)[w]
    rows: list[tuple[int, int, int]] = []
    for kk, at in _key_runs(ops["key"].to_numpy(np.int64)[w]):
        fin = final.get(kk, set())
        seqs = seq[at]
        if index is not None:  # a write is covered if held, below a held version's floor, or in its past
            fl = index.floors(kk)
            top = max((fl.get(f, 0) for f in fin), default=0)
            below = index.below
            for o, s in zip(op[at].tolist(), seqs.tolist(), strict=True):
                if s > top and s not in fin and not any(below(kk, s, f) for f in fin):
                    rows.append((o, kk, s))
            continue
        covered = fin | ancestors(pk.get(kk, {}), fin, int(seqs.min()))
        for o, s in zip(op[at].tolist(), seqs.tolist(), strict=True):
            if s not in covered:
                rows.append((o, kk, s))
    return pd.DataFrame(rows, columns=cols)


def lost_item_writes(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], pk: KeyParents, merge: str,
                     warmup_ms: float = 0.0) -> pd.DataFrame:
    """Measured acknowledged writes whose item no version of the final state holds (``merge``)."""
    final = final_state(frames)
    cols = ["op_id", "key", "version"]
    if final is None:
        return pd.DataFrame(columns=cols)
    is_w = np.asarray(_is(ops["kind"], "write"))
    okm = is_w & np.asarray(_is(ops["status"], "ok")) & (ops["issued_at"].to_numpy(float) >= warmup_ms)
    key = ops["key"].to_numpy(np.int64)
    seq = ops["version"].to_numpy(np.int64)
    op = ops["op_id"].to_numpy(np.int64)
    seqs_by_key: dict[int, list[int]] = {}
    if merge not in ("none", "union", "lww"):
        all_seq = seq[is_w]
        for kk, at in _key_runs(key[is_w]):
            seqs_by_key[kk] = sorted(all_seq[at].tolist())
    rows: list[tuple[int, int, int]] = []
    m_op, m_seq = op[okm], seq[okm]
    for kk, at in _key_runs(key[okm]):
        have = surviving_items(final.get(kk, set()), pk.get(kk, {}), merge, seqs_by_key.get(kk, ()))
        for o, s in zip(m_op[at].tolist(), m_seq[at].tolist(), strict=True):
            if s not in have:
                rows.append((o, kk, s))
    return pd.DataFrame(rows, columns=cols)


def false_concurrency(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], pk: KeyParents,
                      warmup_ms: float = 0.0, index: CausalIndex | None = None,
                      sets: Mapping[int, list[int]] | None = None) -> pd.DataFrame:
    """Per measured read and ordered pair of siblings it returned: ``op_id, key, lower, upper``
    (``sets``: :func:`read_sets`, when the caller has it)."""
    if sets is None:
        sets = read_sets(frames)
    rows: list[tuple[int, int, int, int]] = []
    if not sets:
        return pd.DataFrame(rows, columns=["op_id", "key", "lower", "upper"])
    key = ops["key"].to_numpy(np.int64)
    measured = (ops["issued_at"].to_numpy(float) >= warmup_ms).tolist()
    key_l = key.tolist()
    for o, vs in sets.items():
        if len(vs) < 2 or not measured[o]:
            continue
        k = key_l[o]
        if index is not None:
            vs_sorted = sorted(set(vs))
            below = index.below
            d, fl = index.key(k), index.floors(k)
            w = index.window
            for i, up in enumerate(vs_sorted):
                if not i:
                    continue
                b, f = d.get(up, 0), fl.get(up, 0)
                for x in vs_sorted[:i]:  # the floor and window tests of below(), inlined
                    if x <= f or (w is not None and up - x <= w and (b >> (w - up + x)) & 1) \
                            or ((w is None or up - x > w) and below(k, x, up)):
                        rows.append((o, k, x, up))
            continue
        for lo, up in ordered_siblings(pk.get(k, {}), vs):
            rows.append((o, k, lo, up))
    return pd.DataFrame(rows, columns=["op_id", "key", "lower", "upper"])


class SiblingsReporter:
    name = "siblings"
    names = NAMES

    def report(self, run: RunView) -> Report:
        ops, frames = run.ops, run.frames
        measured_read = (_is(ops["kind"], "read") & _is(ops["status"], "ok")
                         & (ops["issued_at"].to_numpy(float) >= run.warmup_ms))
        rs = frames.get("read_siblings")
        summary: dict[str, float] = dict.fromkeys(NAMES, 0.0)
        if rs is None:  # LWW: one version per read that found one
            n = int((measured_read & (ops["version"].to_numpy() > 0)).sum())
            summary.update(siblings_per_read_mean=1.0 if n else math.nan, siblings_per_read_p99=1.0 if n else math.nan,
                           siblings_per_read_max=1.0 if n else 0.0, multi_version_read_fraction=0.0 if n else math.nan,
                           lost_items=math.nan)
            return summary, {}
        keep = np.asarray(measured_read)[rs["op_id"].to_numpy(np.int64)]
        r = rs.loc[keep & (rs["siblings"].to_numpy() > 0)]
        sib = r["siblings"].to_numpy(float)
        st = settings(frames)
        from .order import store_order  # the order module is built on this one

        index = store_order(frames).index  # the run's one store order (the causal order of the contexts)
        assert index is not None
        pk = index.pk
        fc = false_concurrency(ops, frames, pk, run.warmup_ms, index=index)
        lost = lost_writes(ops, frames, pk, run.warmup_ms, index=index)
        items = lost_item_writes(ops, frames, pk, st["merge"], run.warmup_ms)
        if len(sib):
            summary.update(
                siblings_per_read_mean=float(sib.mean()), siblings_per_read_p99=float(np.quantile(sib, 0.99)),
                siblings_per_read_max=float(sib.max()), multi_version_read_fraction=float((sib > 1).mean()),
                clock_entries_mean=float(r["clock_entries"].mean()), clock_entries_max=float(r["clock_entries"].max()),
                metadata_bytes_mean=float((r["metadata_bytes"].to_numpy(float) / sib).mean()),
                sibling_limit_exceeded=float((sib > st["max_siblings"]).sum()),
                sibling_warnings=float((sib > st["siblings_warning"]).sum()),
            )
        else:
            summary.update(siblings_per_read_mean=math.nan, siblings_per_read_p99=math.nan,
                           multi_version_read_fraction=math.nan)
        ws = frames.get("write_siblings")
        if ws is not None and len(ws):
            wm = (ops["issued_at"].to_numpy(float) >= run.warmup_ms)[ws["op_id"].to_numpy(np.int64)]
            summary["write_sibling_fraction"] = float((ws["siblings"].to_numpy()[wm] > 1).mean()) if wm.any() else math.nan
        summary.update(false_concurrency=float(len(fc)),
                       false_dominance_lost_writes=float(len(lost)), lost_items=float(len(items)))
        return summary, {"false_concurrency": fc, "sibling_lost_writes": lost, "lost_items": items}


REPORTER = SiblingsReporter()


def _commit_and_start_ranks(ops: pd.DataFrame, w: np.ndarray, outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of the commits ``ops[w]`` and of the reads' starts in one order (``instant_ranks``)."""
    commits = pd.DataFrame({"commit_at": ops["completed_at"].to_numpy(float)[w]})
    starts = pd.DataFrame({"start_at": outcomes["start_at"].to_numpy(float)})
    if "issued_event" in ops.columns and "completed_event" in ops.columns:
        commits["commit_event"] = ops["completed_event"].to_numpy(np.int64)[w]
        issued = pd.Series(ops["issued_event"].to_numpy(np.int64), index=ops["op_id"].to_numpy(np.int64))
        starts["start_event"] = issued.reindex(outcomes["op_id"].to_numpy(np.int64)).to_numpy(np.int64)
    start_rank, commit_rank = instant_ranks(starts, commits)
    return commit_rank, start_rank


def partial_order_outcomes(outcomes: pd.DataFrame, ops: pd.DataFrame,
                           frames: Mapping[str, pd.DataFrame], index: CausalIndex | None = None) -> pd.DataFrame:
    """Read outcomes judged in a sibling policy's store order (docs/design.md, "two orders"): a read is
    consistent iff every write committed before it started is returned or in the causal past of a
    returned version; ``versions_behind`` counts those that are neither (a missed concurrent sibling
    counts). ``t_ms`` and ``w_star`` are unchanged. One sweep per key in start order: the committed
    seqs so far are one bitmask, the returned versions' pasts another (their windows shifted into
    place, their floors as prefixes); a committed seq outside both is asked exactly
    (:meth:`CausalIndex.below`). ``index``: the run's (``pbs_sim.metrics.order``), if the caller has it."""
    if outcomes.empty:
        return outcomes
    if index is None:
        index = CausalIndex(key_parents(ops, frames), window=WINDOW)
    W = WINDOW
    sets = read_sets(frames)
    w = np.asarray(_is(ops["kind"], "write") & _is(ops["status"], "ok"))
    c_key = ops["key"].to_numpy(np.int64)[w]
    # commits and read starts in one order: by time, simultaneous ones by event (staleness.instant_ranks)
    c_at, o_start = _commit_and_start_ranks(ops, w, outcomes)
    c = np.lexsort((c_at, c_key))  # commits by key, then completion (stable)
    ck, ct, cs = c_key[c].tolist(), c_at[c].tolist(), ops["version"].to_numpy(np.int64)[w][c].tolist()
    o_key = outcomes["key"].to_numpy(np.int64)
    r = np.lexsort((o_start, o_key))  # reads by key, then start (stable)
    behind = np.zeros(len(outcomes), np.int64)
    below = index.below
    nc = len(ck)
    j = 0
    cur = None
    past: dict[int, int] = {}
    floor: dict[int, int] = {}
    mask = 0
    for i, kk, op_id, v, start in zip(r.tolist(), o_key[r].tolist(), outcomes["op_id"].to_numpy(np.int64)[r].tolist(),
                                      outcomes["version"].to_numpy(np.int64)[r].tolist(), o_start[r].tolist(),
                                      strict=True):
        if kk != cur:  # a new key: its commits start where the key's run in the sorted commits does
            cur, mask = kk, 0
            past, floor = index.key(kk), index.floors(kk)
            while j < nc and ck[j] < kk:
                j += 1
        while j < nc and ck[j] == kk and ct[j] <= start:
            mask |= 1 << cs[j]
            j += 1
        if not mask:
            continue
        ret = sets.get(op_id) or ([v] if v > 0 else [])
        cov = 0
        for s in ret:
            b = past.get(s, 0)
            cov |= (b << (s - W) if s >= W else b >> (W - s)) | ((2 << floor.get(s, 0)) - 1) | (1 << s)
        miss = mask & ~cov
        n = 0
        while miss:
            low = miss & -miss
            miss ^= low
            x = low.bit_length() - 1
            if not any(x < s - W and below(kk, x, s) for s in ret):
                n += 1
        behind[i] = n
    return outcomes.assign(versions_behind=behind, consistent=behind == 0)
