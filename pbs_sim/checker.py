"""The history checker: does a recorded run keep what its versioning policy promises?

Owns: :func:`check` (``pbs_sim.check``) over a run's history -- a :class:`~pbs_sim.history.History`,
a :class:`~pbs_sim.simulation.SimResult`, a mapping of frames, or a results directory written by
``pbs-sim run --ops`` (:func:`load_frames`) -- and :class:`CheckReport`. Each check gives a count
and the op ids of up to ten examples:

Examples are shown with their values (``pbs_sim.keys``: a write's value, ``client:seq`` unless
given; the values a read returned).

* ``lost_writes`` -- acknowledged writes lost. Sibling policies: the final replica state
  (``final_versions``) neither holds the write nor a version with it in its causal past
  (``pbs_sim.metrics.siblings.lost_writes``). LWW: the LWW losses of ``pbs_sim.metrics.causality``
  (the store's order puts the write below one that does not follow it in the true order).
  Expected under ``lww``; a broken promise under every sibling policy (``vv-node-naive`` breaks it:
  false dominance).
* ``non_concurrent_siblings`` -- reads that returned two siblings of which one is in the other's
  causal past. A broken promise under every sibling policy (``vv-node`` breaks it: false
  concurrency, sibling explosion).
* ``read_your_writes``, ``monotonic_reads``, ``monotonic_writes``, ``writes_follow_reads`` -- the
  session guarantees (Terry et al. 1994), judged in the store's order: LWW ranks
  (``pbs_sim.metrics.sessions`` and ``pbs_sim.metrics.causality``), or, under sibling policies, the
  causal order of the recorded contexts (a version "is seen" if it is returned or in the causal
  past of a returned version). Reported, not promised: no quorum configuration guarantees them
  under faults (pass ``require=`` to make them promises).
* ``causal_violations`` -- a read returns v but not a write u in v's causal past, and u is not
  below a returned version in the store's order (per key). Under LWW a skewed clock does this (u
  stamped after v); under sibling policies the store's order is the contexts' causal order, so
  there is none by construction. Promised none by every sibling policy.

Speed and memory: one pass over the operations in event order plus searches along parent edges
limited to the seqs in question (the writes in flight), as in ``pbs_sim.metrics.causality``;
working sets are per (client, key) and per key, the frames themselves are the history's columns.
Must not touch: SimPy, the simulator.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd

from .errors import PbsSimError
from .metrics import causality as caus_m
from .metrics import sessions as ses_m
from .metrics import siblings as sib_m
from .metrics.order import store_order
from .metrics.staleness import _is

if TYPE_CHECKING:
    from .histories import ValueReport

CHECKS = ("lost_writes", "non_concurrent_siblings", "read_your_writes", "monotonic_reads", "monotonic_writes",
          "writes_follow_reads", "causal_violations")
#: What each policy promises (the checks whose findings are defects, exit status 1). Every
#: sibling-keeping store claims to keep concurrent writes and to return only concurrent siblings;
#: the flawed variants break exactly one of these claims (vv-node: siblings that are ordered,
#: vv-node-naive: lost writes), and the checker says so. LWW claims neither.
SIBLING_PROMISES = ("lost_writes", "non_concurrent_siblings", "causal_violations")
PROMISES: dict[str, tuple[str, ...]] = {
    "lww": (), "dvv": SIBLING_PROMISES, "vv-client": SIBLING_PROMISES, "vv-node": SIBLING_PROMISES,
    "vv-node-naive": SIBLING_PROMISES,
}
EXAMPLES = 10
#: The causal-past bitsets keep this many seqs below each write (``pbs_sim.metrics.siblings.CausalIndex``):
#: memory WINDOW / 8 bytes a write; older questions take an exact search instead.
WINDOW = sib_m.WINDOW


@dataclass
class Finding:
    count: int = 0
    examples: list[int] = field(default_factory=list)
    # per example: the write's value, or the values the read returned (pbs_sim.keys)
    values: list[list[str]] = field(default_factory=list)

    def add(self, op_id: int) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(int(op_id))


@dataclass
class CheckReport:
    policy: str
    ops: int
    findings: dict[str, Finding]
    promised: tuple[str, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every promised check found nothing."""
        return all(self.findings[c].count == 0 for c in self.promised)

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "ops": self.ops, "ok": self.ok, "promised": list(self.promised),
                "seconds": self.seconds,
                "checks": {k: {"count": f.count, "examples": f.examples, "values": f.values}
                           for k, f in self.findings.items()}}

    def render(self) -> str:
        lines = [f"policy {self.policy}: {self.ops:,} operations checked in {self.seconds:.2f} s"]
        for name in CHECKS:
            f = self.findings[name]
            tag = "promised" if name in self.promised else "reported"
            vals = f.values if len(f.values) == len(f.examples) else [[] for _ in f.examples]
            ex = f" e.g. ops {', '.join(f'{o} [{chr(32).join(v)}]' for o, v in zip(f.examples, vals, strict=True))}" \
                if f.examples else ""
            lines.append(f"  {name:<24} {f.count:>8,}  ({tag}){ex}")
        lines.append("OK: everything the policy promises holds" if self.ok else "FAIL: a promise is broken")
        return "\n".join(lines)


# -- inputs -------------------------------------------------------------------------------------------
def load_frames(results_dir: str | Path, note: Any = None) -> dict[str, pd.DataFrame]:
    """The history tables of a ``pbs-sim run --ops`` results directory (CSV or Parquet), verified
    against its manifest and typed (``pbs_sim.checker_input.load_run``): only those the checks read."""
    from .checker_input import CHECK_TABLES, load_run

    return load_run(results_dir, CHECK_TABLES, note=note)


class _LazyFrames(Mapping[str, pd.DataFrame]):
    """A history's tables as frames, each converted on first use: the checker reads a few of them
    (ops, parents, read versions, final state), not the per-replica ``applies`` log."""

    def __init__(self, hist: Any) -> None:
        self._hist = hist
        self._done: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        f = self._done.get(name)
        if f is None:
            if name not in self._hist.tables:
                raise KeyError(name)
            f = self._done[name] = self._hist.to_frame(name)
        return f

    def __iter__(self) -> Any:
        return iter(self._hist.tables)

    def __len__(self) -> int:
        return len(self._hist.tables)


def _frames(history: Any) -> Mapping[str, pd.DataFrame]:
    if isinstance(history, (str, Path)):
        return load_frames(history)
    if isinstance(history, Mapping):
        return history
    hist = getattr(history, "history", history)  # a SimResult
    if hasattr(hist, "tables") and hasattr(hist, "to_frame"):
        return _LazyFrames(hist)
    raise TypeError(f"cannot check {type(history).__name__}: expected a History, SimResult, frames or a directory")


# -- the checks -----------------------------------------------------------------------------------------
def _history_file(history: Any, fmt: str | None) -> Path | None:
    """``history`` as a history file's path (EDN / JSONL / CSV), as ``pbs-sim check`` decides: an
    existing file, or a path that does not exist but names a format (``fmt``) or a history suffix
    (so a missing file is reported as a missing history file, not as a missing run directory)."""
    if not isinstance(history, (str, Path)):
        return None
    from .histories.records import SUFFIXES

    path = Path(history)
    if path.is_file() or (not path.exists() and (fmt is not None or path.suffix.lower() in SUFFIXES)):
        return path
    return None


@overload
def check(history: str | Path, require: Iterable[str] = (), *, fmt: str | None = None,
          values: bool = False) -> CheckReport | ValueReport: ...


@overload
def check(history: Any, require: Iterable[str] = (), *, fmt: str | None = None,
          values: bool = False) -> CheckReport: ...


def check(history: Any, require: Iterable[str] = (), *, fmt: str | None = None,
          values: bool = False) -> CheckReport | ValueReport:
    """Check a recorded history against what its versioning policy promises (module docstring).

    Lost acknowledged writes, siblings that are not pairwise concurrent, read-your-writes,
    monotonic reads, monotonic writes, writes-follow-reads and causal violations, each with a count
    and up to ten op ids. Sibling policies promise no lost write, concurrent siblings and no causal
    violation; last-write-wins promises none of these (they are reported).

    A history file recorded on a real cluster -- a Jepsen history (``.edn``: ``jepsen.independent``
    tuples or Elle's rw-register ``:txn``) or the JSONL / CSV history format (docs/design.md,
    "History files") -- is judged as ``pbs-sim check FILE`` judges it
    (``pbs_sim.histories.check_history``): by its values alone, with the checks that need versions
    listed as skipped, unless it carries pbs-sim's version metadata (``pbs-sim export
    --versions``): then it gets the version-level checks, its run's findings.

    The cyclic garbage collector is paused while it runs: the passes build millions of small lists
    and dicts (parents, read sets, bitsets) and no cycles, and each full collection would walk them
    all again (about 15 % of the time on a 1.5 x 10^6-operation history).

    Args:
        history: a ``History``, a ``SimResult`` simulated with ``record_ops=True``, its frames, a
            results directory written by ``pbs-sim run --ops`` (verified against its manifest), or
            the path of a history file (``.edn``, ``.jsonl``, ``.csv``).
        require: checks to treat as promised on top of the policy's (e.g. ``["read_your_writes"]``).
        fmt: a history file's format, ``"edn"``, ``"jsonl"`` or ``"csv"`` (default: by its suffix).
        values: judge by values alone: a history file exported with ``--versions`` as if it had
            none, a results directory as an import of its export is judged.

    Returns:
        A ``CheckReport``: ``policy``, ``ops``, ``findings`` (name -> count and examples),
        ``promised``, ``ok`` (every promised check found nothing), ``render()`` (the text
        ``pbs-sim check`` prints) and ``to_dict()``. Judged by values (a history file without
        version metadata, or ``values``): a ``pbs_sim.histories.ValueReport`` with the same
        ``ok``, ``render()`` and ``to_dict()``, ``findings`` (name -> every flagged op ref) and
        ``skipped`` (the checks that need versions, and why).

    Raises:
        TypeError: ``history`` is none of the accepted kinds.
        ConfigError: a results directory that is incomplete, altered since its manifest, or not a
            run written with ``--ops``; a history file that is missing, or whose line is not EDN /
            JSON / CSV or breaks the history's rules (the message names the file, line and reason);
            ``fmt`` given for a results directory; an unknown ``require`` name.

    Example:
        >>> res = pbs_sim.simulate({"cluster": {"versioning": "dvv"},
        ...                         "workload": {"rate_per_s": 2000, "duration_ms": 300, "warmup_ms": 0}},
        ...                        seed=1, record_ops=True)
        >>> report = check(res)
        >>> report.policy, report.ok
        ('dvv', True)
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "h.jsonl"
        >>> _ = f.write_text('{"process": 0, "type": "invoke", "f": "write", "key": "x", "value": "a", "time": 0}\\n'
        ...                  '{"process": 0, "type": "ok", "f": "write", "key": "x", "value": "a", "time": 5}\\n'
        ...                  '{"process": 1, "type": "invoke", "f": "read", "key": "x", "value": null, "time": 9}\\n'
        ...                  '{"process": 1, "type": "ok", "f": "read", "key": "x", "value": ["a"], "time": 12}\\n')
        >>> report = check(f)
        >>> type(report).__name__, report.ops, report.ok
        ('ValueReport', 2, True)
    """
    path = _history_file(history, fmt)
    if path is not None:
        from .histories import check_history

        return check_history(path, fmt, require, values=values)
    if fmt is not None:
        raise PbsSimError(f"{history}: fmt={fmt!r} is for a history file; this is not one")
    if values:
        from .histories import check_run_values

        if isinstance(history, (str, Path)):
            from .checker_input import EXPORT_TABLES, load_run

            return check_run_values(load_run(history, EXPORT_TABLES), require, source=str(history))
        return check_run_values(_frames(history), require)
    paused = gc.isenabled()
    gc.disable()
    try:
        return _check(history, require)
    finally:
        if paused:
            gc.enable()


def _check(history: Any, require: Iterable[str]) -> CheckReport:
    t0 = time.perf_counter()
    frames = _frames(history)
    ops = frames["ops"]
    st = sib_m.settings(frames)
    policy = st["policy"]
    findings = {c: Finding() for c in CHECKS}
    extra = tuple(r for r in require if r in CHECKS)
    unknown = [r for r in require if r not in CHECKS]
    if unknown:
        raise PbsSimError(f"unknown check {unknown[0]!r}; expected one of {', '.join(CHECKS)}")
    if policy == "lww":
        _check_lww(ops, frames, sib_m.key_parents(ops, frames), findings)
    else:
        _check_siblings(ops, frames, findings)
    promised = tuple(dict.fromkeys((*PROMISES.get(policy, ()), *extra)))
    _example_values(frames, findings)
    return CheckReport(policy, len(ops), findings, promised, time.perf_counter() - t0)


def _example_values(frames: Mapping[str, pd.DataFrame], findings: dict[str, Finding]) -> None:
    """Each example's values: what a lost write wrote, what a read returned (``pbs_sim.keys``)."""
    from .keys import values_of

    vals = values_of(frames, [o for f in findings.values() for o in f.examples])
    for f in findings.values():
        f.values = [vals.get(o, []) for o in f.examples]


def _check_lww(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], pk: sib_m.KeyParents,
               findings: dict[str, Finding]) -> None:
    res = caus_m.analyse(ops, frames, losses_only=True)
    for o in res["lww_losses"]["op_id"].tolist():
        findings["lost_writes"].add(o)
    ranked = store_order(frames).ranked_ops(ops)  # the run's one store order (LWW ranks)
    sv = ses_m.session_violations(ranked)
    for o in sv.loc[sv["read_your_writes_violation"], "op_id"].tolist():
        findings["read_your_writes"].add(o)
    for o in sv.loc[sv["monotonic_read_violation"], "op_id"].tolist():
        findings["monotonic_reads"].add(o)
    wv = caus_m.session_write_violations(ops, frames)
    for o in wv.loc[wv["monotonic_write_violation"], "op_id"].tolist():
        findings["monotonic_writes"].add(o)
    for o in wv.loc[wv["writes_follow_reads_violation"], "op_id"].tolist():
        findings["writes_follow_reads"].add(o)
    # causal: a read returns v while some u in v's causal past ranks above v in the store's order.
    # Writes are numbered flat, base[key] + seq - 1 (seqs are 1..n per key); above[i] is the highest
    # rank in write i's causal past, in seq order (parents precede children).
    is_w = _is(ops["kind"], "write")
    key = ops["key"].to_numpy(np.int64)
    seq = ops["version"].to_numpy(np.int64)
    rank = ranked["version"].to_numpy(np.int64)
    keys_u, counts = np.unique(key[is_w], return_counts=True)
    if not len(keys_u):
        return
    base = np.r_[0, np.cumsum(counts)[:-1]]
    wk = np.searchsorted(keys_u, key[is_w])
    rank_flat = np.zeros(int(counts.sum()), np.int64)
    rank_flat[base[wk] + seq[is_w] - 1] = rank[is_w]
    rank_l = rank_flat.tolist()
    above = [0] * len(rank_l)
    base_of = dict(zip(keys_u.tolist(), base.tolist(), strict=True))
    for k, d in pk.items():
        b = base_of[k] - 1
        for s, ps in sorted(d.items()):
            m = 0
            for p in ps:
                i = b + p
                if rank_l[i] > m:
                    m = rank_l[i]
                if above[i] > m:
                    m = above[i]
            above[b + s] = m
    rd = np.flatnonzero(_is(ops["kind"], "read") & _is(ops["status"], "ok") & (seq > 0))
    pos = np.searchsorted(keys_u, key[rd])
    known = (pos < len(keys_u)) & (keys_u[np.minimum(pos, len(keys_u) - 1)] == key[rd])
    rd, pos = rd[known], pos[known]
    i = base[pos] + seq[rd] - 1
    bad = np.asarray(above, np.int64)[i] > rank_flat[i]
    oid = ops["op_id"].to_numpy(np.int64)
    for o in oid[rd[bad]].tolist():
        findings["causal_violations"].add(int(o))


def _check_siblings(ops: pd.DataFrame, frames: Mapping[str, pd.DataFrame], findings: dict[str, Finding]) -> None:
    index = store_order(frames).index  # the run's one store order: the causal order of the contexts
    assert index is not None
    pk = index.pk
    sets = sib_m.read_sets(frames)
    for o in sib_m.lost_writes(ops, frames, pk, index=index)["op_id"].tolist():
        findings["lost_writes"].add(o)
    for o in dict.fromkeys(sib_m.false_concurrency(ops, frames, pk, index=index, sets=sets)["op_id"].tolist()):
        findings["non_concurrent_siblings"].add(o)
    _sessions(ops, sets, index, findings)


def _sessions(ops: pd.DataFrame, sets: Mapping[int, list[int]], index: sib_m.CausalIndex,
              findings: dict[str, Finding]) -> None:
    """The four session guarantees in the causal order (``pbs_sim.metrics.sessions.partial_order_sessions``:
    the same flags the run summary counts)."""
    flags = ses_m.partial_order_sessions(ops, sets, index)
    op_id = ops["op_id"].to_numpy(np.int64)
    for name in ("read_your_writes", "monotonic_reads", "monotonic_writes", "writes_follow_reads"):
        for o in op_id[flags[name]].tolist():
            findings[name].add(o)


def exit_status(report: CheckReport) -> int:
    return 0 if report.ok else 1


__all__ = ["CHECKS", "PROMISES", "CheckReport", "Finding", "check", "exit_status", "load_frames"]
