"""experiments/ycsb.toml runs (reduced: 150 ms, one replication) through its driver and the real
sweep engine, so it does not rot. (Its findings need the full run: results/ycsb/.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXP = Path(__file__).resolve().parents[1] / "experiments"


def test_ycsb_experiment_reduced(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("ycsb_exp", EXP / "ycsb.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.run(reps=1, duration_ms=150, out=tmp_path)
    assert len(table) == 18 and set(table["workload"]) == {"a", "b", "f"} and set(table["policy"]) == {"lww", "dvv"}
    assert (tmp_path / "ycsb.png").exists() and (tmp_path / "ycsb.csv").exists()
    lww = table[table["policy"] == "lww"]
    assert (lww["siblings_per_read_mean_mean"] <= 1).all()
    # F's read-modify-writes are the only updates with a lost-update count; A and B update blind
    f = table[table["workload"] == "f"]
    assert f[f"{mod.LOST_UPDATES}_mean"].notna().all()
    # the value-level count is a subset of the overwritten one (a lost update's overwriter missed it);
    # overwritten updates are an LWW count: nan where siblings are kept
    f_lww, f_dvv = f[f["policy"] == "lww"], f[f["policy"] == "dvv"]
    assert f_lww[f"{mod.OVERWRITTEN}_mean"].notna().all() and f_dvv[f"{mod.OVERWRITTEN}_mean"].isna().all()
    assert (f_lww[f"{mod.LOST_UPDATES}_mean"] <= f_lww[f"{mod.OVERWRITTEN}_mean"] + 1e-12).all()
