"""experiments/siblings.toml runs (reduced: 150 ms, one replication) through its driver and the real
sweep engine, so it does not rot. (Its findings need the full run: results/siblings/.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXP = Path(__file__).resolve().parents[1] / "experiments"


def test_siblings_experiment_reduced(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("siblings_exp", EXP / "siblings.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.run(reps=1, duration_ms=150, out=tmp_path)
    assert len(table) == 48 and set(table["policy"]) == {"lww", "vv-node", "vv-client", "dvv"}
    assert (tmp_path / "siblings.png").exists() and (tmp_path / "siblings.csv").exists()
    dvv = table[table["policy"] == "dvv"]
    assert (dvv["false_dominance_lost_writes_mean"] == 0).all() and (dvv["false_concurrency_mean"] == 0).all()
    lww = table[table["policy"] == "lww"]
    assert (lww["siblings_per_read_max_mean"] <= 1).all()
