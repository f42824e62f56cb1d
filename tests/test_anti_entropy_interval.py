"""experiments/anti_entropy_interval.toml runs (reduced size: 4 s, one replication) through its driver
and the real sweep engine, so it does not rot. (Its findings need the full run: results/.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXP = Path(__file__).resolve().parents[1] / "experiments"


def test_anti_entropy_interval_experiment_reduced(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("anti_entropy_interval", EXP / "anti_entropy_interval.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.run(reps=1, duration_ms=4000, out=tmp_path)
    assert len(table) == 6 and set(table["anti_entropy"]) == {"off", "merkle"}
    assert (tmp_path / "anti_entropy_interval.png").exists() and (tmp_path / "summary.csv").exists()
    off = table[table["anti_entropy"] == "off"].iloc[0]
    assert off["ae_exchanges_mean"] == 0
    fast = table[table["interval_mean_ms"] == 100].iloc[0]
    assert fast["ae_exchanges_mean"] > 0
    assert 0 <= fast["stale_read_fraction_mean"] <= 1
