"""The version of the results' schema: what results files and their columns mean.

Owns: :data:`RESULTS_SCHEMA`, carried by every manifest (``pbs_sim.io.provenance``) and part of a
sweep's identity (``pbs_sim.sweep.store``: a sweep written under another schema, or another pbs_sim
version, is not resumed). Bump it in any change that alters a table's or column's name or meaning,
or a sweep part's content. Must not touch: anything else.

History:

1. The first release (issues 2-5).
2. This batch: history tables carry event numbers (``event``; ``issued_event`` / ``completed_event``
   in ``ops``) and may include ``write_stamps``, ``clock_events``, ``causal_parents``, ``rmw_reads``,
   ``read_versions``; summaries gain the clocks and causality columns (``lww_lost_writes``,
   ``lost_updates``, ``concurrent_write_pairs``, ``monotonic_write_violation_rate``, ...);
   ``predicted_p_consistent_at_t0`` / ``predicted_t_visibility_ms`` are now predictions of the same
   bin or offsets as the measured figures (the exact ones are ``*_exact_*``); sweep results name
   ``root_seed`` and ``replication_seed`` apart; ``curves_summary`` averages step functions on a
   common grid; scenario configs have a ``[clocks]`` section.
3. Issue 17 (one store order): under sibling policies the durability figures count a copy only where
   a replica holds the write or a version above it in the causal order, and the session violation
   rates are the checker's; every summary carries each reporter's declared names (nan where it did
   not compute, where a name was missing before); ``ops`` ``asked`` / ``answered`` are 16-bit;
   sessions and stale-read causes order records at one instant by event number. A sweep part of
   schema 2 may hold other values for the same names, so ``--resume`` does not mix the two.
4. Issue 18: ``causal_parents`` holds the context each write carried (per operation; none for a blind
   write), the sessions' other knowledge moves to ``session_parents``; ``lost_updates`` /
   ``lost_update_fraction`` are value level (absent from every later version, none of which merged
   them), the overwriter-missed count is ``overwritten_updates`` / ``overwritten_update_fraction``;
   scenario configs may have ``workload.kind = "script"`` and ``workload.script``.
5. Issue 19 (the request path): summaries gain the speculative-retry columns (``speculative_reads``,
   ``speculative_read_fraction``, ...; zeros when it is off) and the history a ``speculative_reads`` /
   ``speculative_useful`` table; ``ops.asked`` counts a read's extra request; scenario configs may set
   ``cluster.speculative_retry``; a sloppy-quorum write's reply (``return_body``) is the acknowledging
   replicas' merged state, so ``session_parents`` under sloppy quorums with contexts holds more.
"""

from __future__ import annotations

RESULTS_SCHEMA = 5
RESULTS_SCHEMA_VERSION = RESULTS_SCHEMA  # the name issue 10 used
