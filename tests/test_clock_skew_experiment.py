"""experiments/clock_skew.toml runs (reduced: 150 ms, one replication) through its driver and the
real sweep engine, so it does not rot. (Its findings need the full run: results/clock_skew/.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXP = Path(__file__).resolve().parents[1] / "experiments"


def test_clock_skew_experiment_reduced(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("clock_skew", EXP / "clock_skew.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.run(reps=1, duration_ms=150, out=tmp_path)
    assert len(table) == 36 and set(table["timestamp_source"]) == {"coordinator", "client"}
    assert (tmp_path / "clock_skew.png").exists() and (tmp_path / "summary.csv").exists()
    perfect = table[table["offset_sd_ms"] == 0]
    assert (perfect["clock_offset_sd_ms_mean"] == 0).all()
    assert (perfect["lww_lost_clock_skew_mean"] == 0).all()  # no skew, no skew-caused loss
    assert (table["lww_lost_fraction_mean"].between(0, 1)).all()
