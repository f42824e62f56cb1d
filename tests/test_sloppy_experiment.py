"""experiments/sloppy_quorum.toml runs (reduced: 3 s, one replication) through its driver and the real
sweep engine, and the Jepsen-like run too, so neither rots. (Findings need the full run: results/.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXP = Path(__file__).resolve().parents[1] / "experiments"


def test_sloppy_quorum_experiment_reduced(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("sloppy_quorum", EXP / "sloppy_quorum.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.run(reps=1, duration_ms=3000, out=tmp_path)
    assert len(table) == 24
    assert set(table["design"]) == {"strict", "sloppy + fallback hints", "coordinator hints", "coordinator hints + ANY"}
    assert (tmp_path / "sloppy_quorum.png").exists() and (tmp_path / "summary.csv").exists()
    assert ((table["write_availability_mean"] >= 0) & (table["write_availability_mean"] <= 1)).all()
    strict = table[table["design"] == "strict"]
    assert (strict["hints_stored_mean"] == 0).all() and (strict["sloppy_writes_mean"] == 0).all()
    j = mod.jepsen_riak(duration_ms=4000, out=tmp_path)
    by = j.set_index("design")
    assert by.loc["strict", "rmw_lost"] == 0 and by.loc["strict", "sloppy_writes"] == 0
    assert by.loc["sloppy + fallback hints", "write_availability"] > by.loc["strict", "write_availability"]
    assert by.loc["sloppy + fallback hints", "rmw_lost"] > 0
    rmw = mod.jepsen_riak_rmw(duration_ms=3000, out=tmp_path).set_index(["versioning", "design"])
    assert rmw.loc[("lww", "sloppy + fallback hints"), "lost_updates"] > 0  # LWW drops concurrent updates
    assert (rmw.xs("dvv")["lost_items"] == 0).all()  # DVV + union keeps every element
