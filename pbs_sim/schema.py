"""The version of the results' schema (columns of summaries and frames, history tables).

Owns: :data:`RESULTS_SCHEMA_VERSION`. Version 2 (issue 10): history tables ``write_stamps``,
``clock_events``, ``causal_parents``, ``rmw_reads`` and ``read_versions`` may appear; summaries carry
the clocks and causality columns (``lww_lost_writes``, ``lww_lost_fraction``, ``lost_updates``,
``lost_update_fraction``, ``concurrent_write_pairs``, ``monotonic_write_violation_rate``,
``writes_follow_reads_violation_rate``, ``clock_offset_sd_ms``, ...); scenario configs have a
``[clocks]`` section. Manifests should carry it next to ``provenance`` (to be wired where manifests
are written). Must not touch: anything else.
"""

from __future__ import annotations

RESULTS_SCHEMA_VERSION = 2
