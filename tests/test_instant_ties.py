"""Records at one simulated instant are ordered by the history's event numbers, in every metric.

A read issued at the very instant a write commits (or a replica applies it, or a disk is wiped)
but before that was processed did not start after it. The staleness metric ranks such instants by
event number (``staleness.instant_ranks``); the session and stale-cause metrics use the same ranks.
Each history below puts the other record at the read's instant once before and once after the read
(by event number); without event columns a tie keeps the earlier rule (the other record first).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pbs_sim.metrics.causes import stale_read_causes
from pbs_sim.metrics.sessions import session_violations


def _session_ops(read_event: int, with_events: bool = True) -> pd.DataFrame:
    """Client 0 writes v1 of key 0 (committed at t = 5, event 4) and reads v1 back (completed at
    t = 5, event 5); its read at t = 5 (issued as event ``read_event``) returns v0."""
    ops = pd.DataFrame({
        "op_id": [0, 1, 2], "client": [0, 0, 0], "key": [0, 0, 0], "kind": ["write", "read", "read"],
        "status": ["ok"] * 3, "issued_at": [1.0, 2.0, 5.0], "completed_at": [5.0, 5.0, 6.0], "version": [1, 1, 0],
        "issued_event": [1, 2, read_event], "completed_event": [4, 5, 7],
    })
    return ops if with_events else ops.drop(columns=["issued_event", "completed_event"])


@pytest.mark.parametrize(("read_event", "violated"), [(3, False), (6, True)])
def test_session_guarantees_order_a_tie_by_event(read_event: int, violated: bool) -> None:
    v = session_violations(_session_ops(read_event)).set_index("op_id")
    # issued before the write's commit and the first read's completion were processed (event 3):
    # neither is in its past, so returning v0 violates nothing; issued after them (event 6): both
    assert bool(v.loc[2, "read_your_writes_violation"]) is violated
    assert bool(v.loc[2, "monotonic_read_violation"]) is violated


def test_session_tie_without_events_counts_the_completion_as_before() -> None:
    v = session_violations(_session_ops(3, with_events=False)).set_index("op_id")
    assert v.loc[2, "read_your_writes_violation"] and v.loc[2, "monotonic_read_violation"]


def _cause_inputs(apply_event: int, wipe_event: int, next_write_event: int, with_events: bool = True,
                  wipe_at: float = 6.0, next_write_at: float = 6.0) -> tuple[pd.DataFrame, ...]:
    """N = 3, R = W = 1. Write v1 of key 0 commits at 2 (node 0 has it at 1); its W to node 1 was
    dropped, node 2 applies it at t = 5 (event ``apply_event``). Read A is issued at t = 5 (event 10)
    and returns v0: stale. Node 1 is wiped at t = 6 (event ``wipe_event``), the instant read A ends
    (event 20); write v2 is issued at t = 6 too (event ``next_write_event``)."""
    ops = pd.DataFrame({
        "op_id": [0, 1, 2], "key": [0, 0, 0], "kind": ["write", "read", "write"], "status": ["ok"] * 3,
        "issued_at": [0.0, 5.0, next_write_at], "completed_at": [2.0, 6.0, next_write_at + 2], "version": [1, 0, 2], "client": [0, 1, 2],
        "issued_event": [1, 10, next_write_event], "completed_event": [3, 20, 40],
    })
    applies = pd.DataFrame({
        "at": [1.0, 5.0, 1.0], "node": [0, 2, 1], "key": [0, 0, 1], "version": [1, 1, 1],
        "via": ["write"] * 3, "event": [2, apply_event, 2],
    })
    faults = pd.DataFrame({"at": [wipe_at], "node": [0], "action": ["wipe"], "detail": [""], "event": [wipe_event]})
    dropped = pd.DataFrame({"at": [0.5], "op_id": [0], "key": [0], "version": [1], "node": [1], "reason": ["loss"]})
    outcomes = pd.DataFrame({
        "op_id": [1], "key": [0], "start_at": [5.0], "completed_at": [6.0], "version": [0], "w_star": [1],
        "t_ms": [3.0], "consistent": [False],
    })
    if not with_events:
        ops = ops.drop(columns=["issued_event", "completed_event"])
        applies, faults = applies.drop(columns=["event"]), faults.drop(columns=["event"])
    return outcomes, ops, applies, faults, dropped


def _causes(apply_event: int, wipe_event: int, next_write_event: int, with_events: bool = True,
            wipe_at: float = 6.0, next_write_at: float = 6.0) -> pd.DataFrame:
    outcomes, ops, applies, faults, dropped = _cause_inputs(apply_event, wipe_event, next_write_event, with_events,
                                                            wipe_at, next_write_at)
    return stale_read_causes(outcomes, ops, applies, faults, 3, 1, 1, dropped_writes=dropped)


def test_an_apply_at_the_reads_instant_but_after_it_was_still_in_flight() -> None:
    # node 2 applied v1 after the read was issued (event 11 > 10): the write was on its way, the
    # read quorum missed it -- partial-quorum, not "a replica missed the write"
    away = 50.0  # the wipe and the next write, far from the read
    assert _causes(11, 99, 99, True, away, away)["cause"].tolist() == ["partial-quorum"]
    # applied before the read was issued (event 9): held before it, so the dropped W explains it
    assert _causes(9, 99, 99, True, away, away)["cause"].tolist() == ["replica-missed-write"]
    assert _causes(11, 99, 99, False, away, away)["cause"].tolist() == ["replica-missed-write"]  # tie: before


def test_a_wipe_at_the_reads_end_but_after_it_did_not_shrink_its_copies() -> None:
    assert _causes(9, 19, 99)["cause"].tolist() == ["replica-restored-empty"]  # wiped before the read ended
    assert _causes(9, 21, 99)["cause"].tolist() == ["replica-missed-write"]  # wiped after it ended
    assert _causes(9, 21, 99, with_events=False)["cause"].tolist() == ["replica-restored-empty"]


def test_a_write_issued_at_the_reads_end_overlaps_it_only_if_issued_before() -> None:
    assert _causes(9, 99, 19)["overlaps_write"].tolist() == [True]
    assert _causes(9, 99, 21)["overlaps_write"].tolist() == [False]
    assert _causes(9, 99, 21, with_events=False)["overlaps_write"].tolist() == [True]
