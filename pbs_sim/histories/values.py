"""Checking a history by its values alone: what a real cluster's recorded history can show.

Owns: :func:`check_values` and :class:`ValueReport`. The input is a stream of operations with real
time (the history's order of invocations and completions, ``pbs_sim.histories.records.operations``)
and the values written and read -- no versions, no contexts, no policy. Real-time order stands in
for the version order: write ``a`` is *definitely older* than write ``b`` when ``a`` completed before
``b`` was invoked (``a.comp < b.inv``). A read that returned values S is *behind* a write ``w`` when
every value of S was written by a write definitely older than ``w`` (or S is empty): with ``m`` the
latest completion among S's writes (never, for a write still pending or ``:info``: it may take
effect at any time), behind ``w`` iff ``m < w.inv``. Values must be unique per key (pbs-sim's
writes are); a key where one value is written twice cannot be judged and is skipped, and the report
says how many.

Checks (each a count and example operations):

* ``stale_reads`` -- a read behind an acknowledged write of its key that completed before the read
  was invoked (it missed the last acknowledged write by real time).
* ``read_your_writes`` -- the same, the write being one of the read's own session (a stale read of
  one's own write; Terry et al. 1994).
* ``monotonic_reads`` -- a read behind a value an earlier read of its session (completed before it
  was invoked) returned (or returning nothing after that read returned something).
* ``lost_writes`` -- an acknowledged write every *final* read of its key is behind. A final read is an
  ``ok`` read invoked after every write of the key was invoked and every acknowledged one completed:
  nothing written later can explain the loss. Determinable only on keys with a final read (the
  report says on how many). A write replaced by a concurrent one (LWW keeping one of two
  overlapping writes, or a merge) is not counted: by values alone it is not known to be lost. A
  final read answered by a replica the write has not reached yet (R = 1 just after the write) makes
  it look lost: record final reads after the cluster has settled, as Jepsen's final-read phase does.
* ``aborted_reads`` -- a read returned a value only a ``:fail`` write wrote (it had no effect).
* ``garbage_reads`` -- a read returned a value no write invoked before the read completed wrote.

Needs versions (:data:`NEEDS_VERSIONS`, printed as skipped with the reason): the checks that need the
store's own order of versions or the causal contexts -- ``non_concurrent_siblings`` and the
version-level ``lost_writes`` (a version vector's dominance), ``causal_violations`` (each write's
causal past), ``monotonic_writes`` and ``writes_follow_reads`` (the store's ranking of one write
above another), and the read-modify-write ``lost_updates`` (which read a write was computed from,
what a version merged). ``pbs-sim check RESULTS_DIR`` runs the first four on a run's own tables.
One pass; memory is one entry per write (its value and positions) plus what each session and key
last saw. Must not touch: file formats (``pbs_sim.histories.records``), the version-level checker.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PbsSimError
from .records import Op

VALUE_CHECKS = ("stale_reads", "read_your_writes", "monotonic_reads", "lost_writes", "aborted_reads",
                "garbage_reads")
#: The version-level checks a history of values cannot support, and why.
NEEDS_VERSIONS: dict[str, str] = {
    "non_concurrent_siblings": "needs the causal order of versions (version vectors or contexts): values do not "
                               "say whether two siblings are concurrent",
    "causal_violations": "needs each write's causal past (the context it was written with)",
    "monotonic_writes": "needs the store's order of versions (which write it ranks above which); real time "
                        "does not stand in for it",
    "writes_follow_reads": "needs the store's order of versions and each write's context",
    "lost_writes (version-level)": "needs the final replica state and the versions' order (dominance); the "
                                   "value-level lost_writes above judges final reads instead",
    "lost_updates": "needs which read each write was computed from and what each version merged (contexts); "
                    "values show only the acknowledged writes that vanished (lost_writes)",
}
EXAMPLES = 10
NEVER = 1 << 62  # the completion of a write that may take effect at any time (pending, :info)


@dataclass
class ValueFinding:
    refs: list[tuple[Any, int]] = field(default_factory=list)  # (key, op ref) in the order found

    def kept(self, skip: set[str]) -> list[int]:
        return [r for k, r in self.refs if k not in skip]


@dataclass
class ValueReport:
    source: str
    ops: int
    reads: int
    writes: int
    findings: dict[str, list[int]]  # check -> every op ref it flagged, in history order
    promised: tuple[str, ...]
    skipped: dict[str, str]
    notes: list[str]
    refs: str = "ops"  # what the examples name: "ops" (op ids) or "lines"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(not self.findings[c] for c in self.promised)

    def counts(self) -> dict[str, int]:
        return {c: len(v) for c, v in self.findings.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "judged_by": "values", "ops": self.ops, "reads": self.reads,
                "writes": self.writes, "ok": self.ok, "promised": list(self.promised), "seconds": self.seconds,
                "examples_name": self.refs,
                "checks": {k: {"count": len(v), "examples": v[:EXAMPLES]} for k, v in self.findings.items()},
                "skipped": dict(self.skipped), "notes": list(self.notes)}

    def render(self) -> str:
        lines = [f"{self.source}: {self.ops:,} operations ({self.reads:,} reads, {self.writes:,} writes) judged by "
                 f"values alone in {self.seconds:.2f} s"]
        for name in VALUE_CHECKS:
            refs = self.findings[name]
            tag = "promised" if name in self.promised else "reported"
            ex = f" e.g. {self.refs} {', '.join(map(str, refs[:EXAMPLES]))}" if refs else ""
            lines.append(f"  {name:<24} {len(refs):>8,}  ({tag}){ex}")
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.append("skipped (need versions, which the history does not carry):")
        lines.extend(f"  {name:<28} {why}" for name, why in self.skipped.items())
        if self.promised:
            lines.append("OK: every required check found nothing" if self.ok else "FAIL: a required check found a violation")
        else:
            lines.append("no check required (pass --require CHECK to make one a promise): exit 0")
        return "\n".join(lines)


def check_values(stream: Iterable[tuple[Op, bool]], *, require: Iterable[str] = (), source: str = "history",
                 refs: str = "ops") -> ValueReport:
    """Judge a history by its values (module docstring). ``stream``: ``(op, done)`` at each invocation
    and completion, in history order (``pbs_sim.histories.records.operations`` or
    ``pbs_sim.histories.run_operations``). ``require``: checks whose findings fail the report."""
    req = tuple(dict.fromkeys(require))
    unknown = [r for r in req if r not in VALUE_CHECKS]
    if unknown:
        why = f" ({NEEDS_VERSIONS[unknown[0]]})" if unknown[0] in NEEDS_VERSIONS else ""
        raise PbsSimError(f"--require {unknown[0]!r}: not a check of a history of values{why}; expected one of "
                          f"{', '.join(VALUE_CHECKS)}")
    t0 = time.perf_counter()
    found = {c: ValueFinding() for c in VALUE_CHECKS}
    written: dict[str, dict[str, Op]] = {}  # key -> value -> the write that wrote it
    dup: set[str] = set()
    last_ok_inv: dict[str, int] = {}  # key -> latest invocation among acknowledged, completed writes
    own_ok_inv: dict[tuple[Any, str], int] = {}  # (session, key) -> the same among the session's writes
    seen_inv: dict[tuple[Any, str], int] = {}  # (session, key) -> latest invocation among values it read
    horizon: dict[str, int] = {}  # key -> after this position no write of the key starts or completes ok
    finals: dict[str, list[tuple[int, int]]] = {}  # key -> (inv, m) of ok reads invoked after the horizon
    snap: dict[int, tuple[int, int, int]] = {}  # id(read) -> (last_ok_inv, own_ok_inv, seen_inv) at its invocation
    n_ops = n_reads = n_writes = 0

    def raise_horizon(k: str, p: int) -> None:
        if p > horizon.get(k, -1):
            horizon[k] = p
            c = finals.get(k)
            if c:
                finals[k] = [x for x in c if x[0] > p]

    for op, done in stream:
        k = op.key
        if not done:
            n_ops += 1
            if op.is_write:
                n_writes += 1
                vals = written.setdefault(k, {})
                assert op.value is not None
                if op.value in vals:
                    dup.add(k)
                else:
                    vals[op.value] = op
                raise_horizon(k, op.inv)
            else:
                n_reads += 1
                sk = (op.session, k)
                snap[id(op)] = (last_ok_inv.get(k, -1), own_ok_inv.get(sk, -1), seen_inv.get(sk, -1))
            continue
        if op.is_write:
            if op.type == "ok":
                assert op.comp is not None
                if op.inv > last_ok_inv.get(k, -1):
                    last_ok_inv[k] = op.inv
                sk = (op.session, k)
                if op.inv > own_ok_inv.get(sk, -1):
                    own_ok_inv[sk] = op.inv
                raise_horizon(k, op.comp)
            continue
        a, b, c = snap.pop(id(op))
        if op.type != "ok":
            continue
        vals = written.get(k, {})
        m = -1
        latest = -1
        for x in op.values:
            w = vals.get(x)
            if w is None:
                found["garbage_reads"].refs.append((k, op.ref))
                continue
            if w.type == "fail":
                found["aborted_reads"].refs.append((k, op.ref))
                continue
            done_at = w.comp if w.type == "ok" and w.comp is not None else NEVER
            if done_at > m:
                m = done_at
            if w.inv > latest:
                latest = w.inv
        if m < a:
            found["stale_reads"].refs.append((k, op.ref))
        if m < b:
            found["read_your_writes"].refs.append((k, op.ref))
        if m < c:
            found["monotonic_reads"].refs.append((k, op.ref))
        sk = (op.session, k)
        if latest > seen_inv.get(sk, -1):
            seen_inv[sk] = latest
        if op.inv > horizon.get(k, -1):
            finals.setdefault(k, []).append((op.inv, m))
    lost: list[tuple[int, Any, int]] = []
    judged = undetermined = 0
    for k, vals in written.items():
        acked = [w for w in vals.values() if w.type == "ok"]
        if not acked or k in dup:
            continue
        fr = [x for x in finals.get(k, ()) if x[0] > horizon.get(k, -1)]
        if not fr:
            undetermined += 1
            continue
        judged += 1
        best = max(m for _, m in fr)
        lost.extend((w.inv, k, w.ref) for w in acked if best < w.inv)
    lost.sort(key=lambda x: x[0])
    found["lost_writes"].refs = [(k, r) for _, k, r in lost]
    findings = {c: found[c].kept(dup) for c in VALUE_CHECKS}
    notes = []
    if dup:
        notes.append(f"{len(dup):,} key(s) had a value written twice: reads there cannot be told apart by value, "
                     "so those keys were not judged")
    if undetermined:
        notes.append(f"lost_writes judged on {judged:,} of {judged + undetermined:,} written keys: the others have "
                     "no read invoked after every write of the key")
    return ValueReport(source, n_ops, n_reads, n_writes, findings, req, dict(NEEDS_VERSIONS), notes, refs,
                       time.perf_counter() - t0)


__all__ = ["EXAMPLES", "NEEDS_VERSIONS", "VALUE_CHECKS", "ValueReport", "check_values"]
