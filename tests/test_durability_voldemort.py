"""Voldemort study (issue 5, validation c), reduced: with anti-entropy off, rarely read keys stay
under-replicated longer than hot keys after disk losses; Merkle anti-entropy closes the gap.

The scenario is experiments/voldemort_durability.toml cut to its first two disk-loss storms (35 s),
after its bulk load of every key (workload.preload = true).
Both arms run with the same seed, so the workload and the faults are identical (a paired design);
the effect is measured per key (100 keys per decile) with Welch standard errors. Also runs the
experiment's driver in a reduced size so it does not rot, and the .toml through the sweep path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pbs_sim.config import read_toml
from pbs_sim.metrics.durability import popularity_decile, under_time_per_key
from pbs_sim.simulation import simulate
from pbs_sim.sweep import load_sweep, run_sweep

EXP = Path(__file__).resolve().parents[1] / "experiments"


def _driver():  # noqa: ANN202
    import importlib.util

    spec = importlib.util.spec_from_file_location("voldemort_durability", EXP / "voldemort_durability.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _per_key(mode: str, duration_ms: float) -> tuple[pd.DataFrame, dict[str, float]]:
    spec = load_sweep(EXP / "voldemort_durability.toml")
    cell = next(c for c in spec.cells if c.scenario.anti_entropy.mode == mode)
    sc = cell.scenario.with_overrides({"workload.duration_ms": duration_ms})
    res = simulate(sc, np.random.SeedSequence(spec.seed, spawn_key=(0, 0)), record_ops=True)
    assert res.summary()["load_writes"] == sc.workload.keys  # the bulk load comes from the scenario
    fr = res.frames()
    end = res.summary()["sim_time_ms"]
    under = under_time_per_key(fr, sc.cluster.replication, end)
    dec = popularity_decile(fr["ops"])
    frame = pd.DataFrame({"decile": dec}).join(under.rename("under_ms")).fillna({"under_ms": 0.0})
    return frame, res.summary()


def _gap(frame: pd.DataFrame) -> tuple[float, float]:
    cold = frame.loc[frame["decile"] == 10, "under_ms"].to_numpy()
    hot = frame.loc[frame["decile"] == 1, "under_ms"].to_numpy()
    se = float(np.sqrt(cold.var(ddof=1) / len(cold) + hot.var(ddof=1) / len(hot)))
    return float(cold.mean() - hot.mean()), se


@pytest.mark.validation
def test_cold_keys_under_replicated_without_anti_entropy_and_merkle_closes_gap() -> None:
    off, s_off = _per_key("off", 35_000)
    ae, s_ae = _per_key("merkle", 35_000)
    gap_off, se_off = _gap(off)
    gap_ae, se_ae = _gap(ae)
    # anti-entropy off: cold keys (decile 10) wait for a read to be repaired, hot ones do not
    assert gap_off > 4 * se_off, (gap_off, se_off)
    # Merkle anti-entropy repairs every key: the cold-vs-hot gap shrinks by more than half, i.e.
    # gap_off - 2 gap_ae > 0, judged in standard errors. The arms are paired (same keys, same
    # workload and faults), so the contrast is taken per key, d = under_off - 2 under_ae, and its
    # cold-minus-hot mean has the Welch se of the two deciles' d values (the pairing is in d) ...
    contrast, se_contrast = _gap(off.assign(under_ms=off["under_ms"] - 2 * ae["under_ms"].reindex(off.index).fillna(0.0)))
    assert contrast == pytest.approx(gap_off - 2 * gap_ae)
    assert contrast > 4 * se_contrast, (gap_off, gap_ae, contrast, se_contrast)
    # ... and cold keys are under-replicated for less time (paired: same workload, same faults)
    cold_off = off.loc[off["decile"] == 10, "under_ms"]
    cold_ae = ae.loc[ae["decile"] == 10, "under_ms"]
    d = cold_off.to_numpy() - cold_ae.reindex(cold_off.index).fillna(0).to_numpy()
    assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(len(d))
    assert s_ae["keys_lost"] <= s_off["keys_lost"]


def test_experiment_driver_reduced(tmp_path: Path) -> None:
    out = _driver().run(reps=1, duration_ms=12_000, out=tmp_path)
    assert set(out["by_decile"]["mode"]) == {"off", "merkle"}
    assert (tmp_path / "by_decile.csv").exists() and (tmp_path / "voldemort_durability.png").exists()
    assert len(out["effect"]) == 2


def test_experiment_runs_as_a_plain_sweep(tmp_path: Path) -> None:
    # the .toml through the sweep path (what `pbs-sim sweep` does), cut to 14 s and one replication
    raw = read_toml(EXP / "voldemort_durability.toml")
    raw["sweep"]["replications"] = 1
    raw["base"]["workload"]["duration_ms"] = 14_000
    res = run_sweep(raw, workers=1, out=tmp_path / "sweep")
    rows = res.results.set_index("anti_entropy_mode")
    assert set(rows.index) == {"off", "merkle"} and (rows["status"] == "ok").all()
    assert (rows["load_writes"] == 1000).all()  # every key written once before the workload
    assert (rows["fault_disk_losses"] == 3).all()  # the first storm (10, 12, 14 s; the run ends at ~15 s)
    # load writes are not measured: ~1000 ops/s over the 14 s measured window only (Poisson count)
    assert (abs(rows["ops"] - 14_000) < 4 * np.sqrt(14_000)).all()
