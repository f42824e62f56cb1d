"""Seeded scenarios whose summaries and frames were digested on main before the coordinator became a
pipeline of stages (issue 19): ``tests/data/pipeline_identity.json``. Every mechanism is on in at least
one case; the refactor must leave every digest unchanged (``tests/test_pipeline_identity.py``).
Regenerate only on purpose, with the code whose values are the reference:
``python tests/pipeline_identity_cases.py OUT.json``."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

_OPEN = {"workload.kind": "open", "workload.rate_per_s": 2000.0, "workload.duration_ms": 400.0,
         "workload.warmup_ms": 20.0, "workload.keys": 30, "workload.read_fraction": 0.6}
_CLOSED = {"workload.kind": "closed", "workload.clients": 12, "workload.keys": 15, "workload.read_fraction": 0.6,
           "workload.think_time": "exponential(mean=2)", "workload.duration_ms": 400.0, "workload.warmup_ms": 20.0}
_SIX = {"cluster.nodes": 6, "cluster.replication": 3, "cluster.read_quorum": 2, "cluster.write_quorum": 2}
_PART = [{"at_ms": 100.0, "action": "partition", "groups": [[0, 1, 2], [3, 4, 5]], "duration_ms": 150.0}]

# (name, scenario file or None for the defaults, overrides)
CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("quickstart", "quickstart.toml", {"workload.duration_ms": 300.0, "workload.warmup_ms": 50.0}),
    ("probe_disk", "probe_lnkd-disk.toml", {"workload.trials": 300}),
    ("probe_wan", "probe_wan.toml", {"workload.trials": 200}),
    ("open_quorum_fanout_random", None, {**_OPEN, **_SIX, "cluster.read_fanout": "quorum",
                                          "cluster.write_fanout": "quorum", "cluster.coordinator": "random"}),
    ("open_quorum_fanout_pref", None, {**_OPEN, **_SIX, "cluster.read_fanout": "quorum",
                                        "cluster.write_fanout": "quorum", "cluster.replica_choice": "preference",
                                        "cluster.coordinator": "first-replica"}),
    ("closed_crash_loss", None, {**_CLOSED, "cluster.nodes": 5, "faults.crash_mttf_ms": 150.0,
                                 "faults.crash_mttr_ms": 40.0, "faults.message_loss": 0.03,
                                 "cluster.coordinator": "random", "cluster.read_timeout_ms": 50.0,
                                 "cluster.write_timeout_ms": 50.0}),
    ("repair_blocking_chance", None, {**_CLOSED, **_SIX, "read_repair.mode": "blocking", "read_repair.chance": 0.3,
                                      "cluster.read_fanout": "quorum"}),
    ("repair_async", None, {**_OPEN, "read_repair.mode": "async", "latency.profile": "lnkd-ssd"}),
    ("merkle_wipe", None, {**_OPEN, "cluster.nodes": 4, "anti_entropy.mode": "merkle",
                           "anti_entropy.interval": "exponential(mean=20)", "anti_entropy.tree_depth": 4,
                           "faults.schedule": [{"at_ms": 150.0, "action": "wipe", "nodes": [1]}]}),
    ("gossip", None, {**_OPEN, "cluster.nodes": 5, "anti_entropy.mode": "gossip-push-pull",
                      "anti_entropy.interval": "exponential(mean=10)", "cluster.coordinator": "first-replica"}),
    ("clocks_skew", None, {**_OPEN, "cluster.coordinator": "random", "cluster.nodes": 5,
                           "clocks.offset": "normal(0, 5)", "clocks.drift_ppm": "normal(0, 50)"}),
    ("clocks_client", None, {**_CLOSED, "clocks.timestamp_source": "client", "clocks.client_offset": "normal(0, 3)"}),
    ("rmw_causality", None, {**_CLOSED, "workload.write_pattern": "rmw", "workload.rmw_gap": "exponential(mean=1)"}),
    ("siblings_dvv", None, {**_CLOSED, **_SIX, "cluster.versioning": "dvv", "workload.write_pattern": "rmw",
                            "workload.rmw_gap": "exponential(mean=1)"}),
    ("siblings_vv_client", None, {**_OPEN, "cluster.versioning": "vv-client"}),
    ("fd_strict", None, {**_OPEN, **_SIX, "failure_detector.mode": "delay", "failure_detector.detect_delay": "constant(5)",
                         "faults.schedule": _PART, "cluster.coordinator": "random"}),
    ("sloppy_fallback_hints", None, {**_OPEN, **_SIX, "cluster.sloppy_quorum": True, "cluster.coordinator": "random",
                                     "failure_detector.mode": "delay", "failure_detector.detect_delay": "constant(5)",
                                     "hinted_handoff.store": "fallback", "hinted_handoff.inactivity_timeout_ms": 10.0,
                                     "hinted_handoff.interval_ms": 50.0, "faults.schedule": _PART}),
    ("sloppy_pr_pw_dvv", None, {**_CLOSED, **_SIX, "cluster.sloppy_quorum": True, "cluster.pr": 1, "cluster.pw": 1,
                                "cluster.versioning": "dvv", "cluster.coordinator": "random",
                                "faults.schedule": _PART, "workload.write_pattern": "rmw",
                                "workload.rmw_gap": "exponential(mean=1)"}),
    ("coordinator_hints", None, {**_OPEN, **_SIX, "hinted_handoff.store": "coordinator", "cluster.coordinator": "random",
                                 "failure_detector.mode": "perfect", "faults.schedule": _PART,
                                 "hinted_handoff.interval_ms": 50.0}),
    ("write_any", None, {**_OPEN, **_SIX, "cluster.write_quorum": "any", "hinted_handoff.store": "coordinator",
                         "cluster.coordinator": "random", "failure_detector.mode": "perfect", "faults.schedule": _PART,
                         "hinted_handoff.interval_ms": 50.0}),
    ("ddia_cart", "ddia_cart.toml", {}),
]

SKIP = {"wall_s", "cpu_s"}


def scenario(name: str) -> Any:
    from pbs_sim.config import load_scenario, scenario_from_dict

    for case, path, over in CASES:
        if case == name:
            base = load_scenario(EXPERIMENTS / path) if path else scenario_from_dict({})
            return base.with_overrides({**over, "run.seed": 7})
    raise KeyError(name)


def _clean(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def digests(name: str) -> dict[str, Any]:
    """The case's summary (exact values) and a SHA-256 of every frame's CSV."""
    from pbs_sim.simulation import simulate

    res = simulate(scenario(name), record_ops=True)
    summary = {k: _clean(v) for k, v in res.summary().items() if k not in SKIP}
    frames = {}
    for fname, frame in sorted(res.frames().items()):
        frames[fname] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return {"summary": summary, "frames": frames}


def record() -> dict[str, Any]:
    return {name: digests(name) for name, _, _ in CASES}


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
