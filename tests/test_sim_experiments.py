"""The simulator's experiments (quickstart.toml, probe_*.toml) run in the test suite, in a reduced size.

(Sweep files and other modules' experiments are tested by their owners.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from pbs_sim.config import load_scenario, read_toml
from pbs_sim.simulation import simulate

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SCENARIOS = sorted(
    p for p in [EXPERIMENTS / "quickstart.toml", *EXPERIMENTS.glob("probe_*.toml")] if "sweep" not in read_toml(p)
)


def test_the_probe_experiments_exist() -> None:
    assert {p.stem for p in SCENARIOS} >= {"quickstart", "probe_lnkd-ssd", "probe_lnkd-disk", "probe_ymmr", "probe_wan"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_experiment_runs_reduced(path: Path) -> None:
    sc = load_scenario(path)
    wl = sc.workload
    small = {"workload.trials": min(wl.trials, 300), "workload.duration_ms": min(wl.duration_ms, 200.0),
             "workload.warmup_ms": min(wl.warmup_ms, 20.0)}
    res = simulate(sc.with_overrides(small))
    s = res.summary()
    assert s["ops"] > 0 and s["failed_ops"] == 0
    assert len(res.curve) > 0
    assert 0.0 <= s["stale_read_fraction"] <= 1.0
