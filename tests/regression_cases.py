"""Scenarios whose seeded summaries were recorded on main before the versioning core and the
causality metrics landed (issue 10): ``tests/data/regression_summaries.json``. With perfect clocks,
every figure must come out identical (``tests/test_versioning.py``). Regenerate only on purpose:
``python tests/regression_cases.py OUT.json`` (with the code whose values are the reference)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

# (name, scenario file or None for inline, overrides)
CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("quickstart", "quickstart.toml", {"workload.duration_ms": 400.0, "workload.warmup_ms": 50.0}),
    ("probe_lnkd-disk", "probe_lnkd-disk.toml", {"workload.trials": 400}),
    ("probe_wan", "probe_wan.toml", {"workload.trials": 300}),
    ("closed_faults_repair", None, {
        "cluster.nodes": 5, "cluster.read_quorum": 1, "cluster.write_quorum": 1, "cluster.coordinator": "random",
        "workload.kind": "closed", "workload.clients": 20, "workload.keys": 20, "workload.read_fraction": 0.6,
        "workload.think_time": "exponential(mean=2)", "workload.duration_ms": 600.0, "workload.warmup_ms": 50.0,
        "latency.profile": "lnkd-disk", "faults.crash_mttf_ms": 200.0, "faults.crash_mttr_ms": 50.0,
        "faults.message_loss": 0.02, "read_repair.mode": "blocking", "read_repair.chance": 0.5,
        "cluster.read_fanout": "quorum",
    }),
    ("open_merkle_wipe", None, {
        "cluster.nodes": 4, "workload.keys": 50, "workload.rate_per_s": 2000.0, "workload.read_fraction": 0.7,
        "workload.duration_ms": 500.0, "workload.warmup_ms": 50.0, "workload.preload": True,
        "workload.preload_rate_per_s": 5000.0, "latency.profile": "lnkd-ssd",
        "anti_entropy.mode": "merkle", "anti_entropy.interval": "exponential(mean=20)", "anti_entropy.tree_depth": 4,
        "read_repair.mode": "async", "cluster.write_fanout": "quorum", "cluster.write_quorum": 2,
    }),
    ("open_gossip", None, {
        "cluster.nodes": 5, "workload.keys": 30, "workload.rate_per_s": 3000.0, "workload.duration_ms": 400.0,
        "workload.warmup_ms": 20.0, "latency.profile": "ymmr", "anti_entropy.mode": "gossip-push-pull",
        "anti_entropy.interval": "exponential(mean=10)", "cluster.coordinator": "first-replica",
    }),
]

# figures that are not functions of the seed
SKIP = {"wall_s", "cpu_s"}


def scenario(name: str) -> Any:
    from pbs_sim.config import load_scenario, scenario_from_dict

    for case, path, over in CASES:
        if case == name:
            base = load_scenario(EXPERIMENTS / path) if path else scenario_from_dict({})
            # the reference was recorded when keys were placed by BLAKE2b of "key-{k}": that
            # placement (cluster.key_hash = "blake2b") must still give every figure exactly
            return base.with_overrides({**over, "cluster.key_hash": "blake2b"})
    raise KeyError(name)


def summaries() -> dict[str, dict[str, Any]]:
    from pbs_sim.simulation import simulate

    out: dict[str, dict[str, Any]] = {}
    for name, _, _ in CASES:
        s = simulate(scenario(name)).summary()
        row: dict[str, Any] = {}
        for k, v in s.items():
            if k in SKIP:
                continue
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, float) and math.isnan(v):
                v = "nan"
            row[k] = v
        out[name] = row
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(summaries(), indent=1, sort_keys=True))
