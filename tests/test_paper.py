"""pbs_sim.paper: the transcribed Table 4, like-with-like comparison, the paper-estimator emulation,
and experiments/pbs_paper.py end to end in a reduced size."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pbs_sim import paper
from pbs_sim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_published_table_shape_and_internal_consistency() -> None:
    pub = paper.published()
    assert len(pub) == 24
    assert set(pub["profile"]) == set(paper.PROFILES)
    assert set(zip(pub["r"], pub["w"], strict=True)) == set(paper.RW_PAIRS)
    assert set(pub["n"]) == {3}
    # transcription checks that follow from the model, not from the numbers themselves:
    strict = pub["r"] + pub["w"] > 3
    assert (pub.loc[strict, "paper_t_visibility_ms"] == 0).all()  # R + W > N: never stale
    for prof, sub in pub.groupby("profile"):
        s = sub.set_index(["r", "w"])
        # waiting for more responses/acks never makes the 99.9th percentile faster
        assert s.loc[(1, 1), "paper_read_latency_p999_ms"] < s.loc[(2, 1), "paper_read_latency_p999_ms"] \
            < s.loc[(3, 1), "paper_read_latency_p999_ms"], prof
        assert s.loc[(1, 1), "paper_write_latency_p999_ms"] < s.loc[(1, 2), "paper_write_latency_p999_ms"] \
            < s.loc[(1, 3), "paper_write_latency_p999_ms"], prof
    # the text quotes: 81.1 % lower combined latency, 230 -> 43.3 ms (YMMR R=2,W=1 vs R=3,W=1)
    s = pub[pub["profile"] == "ymmr"].set_index(["r", "w"])
    fast = s.loc[(2, 1), "paper_read_latency_p999_ms"] + s.loc[(2, 1), "paper_write_latency_p999_ms"]
    strict31 = s.loc[(3, 1), "paper_read_latency_p999_ms"] + s.loc[(3, 1), "paper_write_latency_p999_ms"]
    assert fast == pytest.approx(43.3, abs=0.05) and strict31 == pytest.approx(230.06, abs=0.01)
    assert 1 - fast / strict31 == pytest.approx(0.811, abs=0.001)


def ours_like_paper(**extra: object) -> pd.DataFrame:
    pub = paper.published()
    ours = pub.rename(columns={c: c.removeprefix("paper_") for c in pub.columns})
    for k, v in extra.items():
        ours[k] = v
    return ours


def test_compare_identical_numbers_give_ratio_one() -> None:
    table = paper.compare(ours_like_paper(target=0.999, fanout="all"), engine="predict")
    assert len(table) == 24 and set(table["engine"]) == {"predict"}
    positive = table["paper_t_visibility_ms"] > 0
    assert np.allclose(table.loc[positive, "t_visibility_ratio"], 1.0)
    assert table.loc[~positive, "t_visibility_ratio"].isna().all()  # no ratio against a printed 0
    assert np.allclose(table["read_latency_p999_ratio"], 1.0)
    assert np.allclose(table["write_latency_p999_ratio"], 1.0)


def test_compare_reads_sweep_summaries_with_cis_and_drops_other_configurations() -> None:
    ours = ours_like_paper()
    summ = ours.rename(columns={"profile": "latency_profile", "r": "cluster_read_quorum", "w": "cluster_write_quorum",
                                **{m: f"{m}_mean" for m in paper.METRICS}})
    summ["t_visibility_ms_ci_low"] = summ["t_visibility_ms_mean"] * 0.9
    summ["t_visibility_ms_ci_high"] = summ["t_visibility_ms_mean"] * 1.1
    extra = summ.iloc[[0]].assign(n=5)  # N = 5 is not in Table 4
    other = summ.iloc[[0]].assign(latency_profile="exponential")
    table = paper.compare(pd.concat([summ, extra, other], ignore_index=True))
    assert len(table) == 24
    row = table[(table["profile"] == "lnkd-disk") & (table["r"] == 1) & (table["w"] == 1)].iloc[0]
    assert row["t_visibility_ms"] == 45.5 and row["t_visibility_ms_ci_low"] == pytest.approx(40.95)


def test_compare_averages_replications_and_skips_failed_runs() -> None:
    a = ours_like_paper(status="ok", rep=0)
    b = ours_like_paper(status="ok", rep=1)
    b["t_visibility_ms"] = b["t_visibility_ms"] * 3
    bad = ours_like_paper(status="error", rep=2)
    bad["t_visibility_ms"] = 1e9
    table = paper.compare(pd.concat([a, b, bad]))
    assert np.allclose(table.loc[table["paper_t_visibility_ms"] > 0, "t_visibility_ratio"], 2.0)


@pytest.mark.parametrize(("change", "match"), [
    ({"target": 0.99}, "99.9"),
    ({"fanout": "quorum"}, "all N"),
    ({"n": 5}, "no result row"),
])
def test_compare_refuses_unlike_results(change: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        paper.compare(ours_like_paper(**change))


def test_compare_needs_every_metric() -> None:
    with pytest.raises(ConfigError, match="write_latency_p999_ms"):
        paper.compare(ours_like_paper().drop(columns="write_latency_p999_ms"))


def test_emulated_paper_estimator_is_unbiased_with_huge_samples() -> None:
    # F(t) = 1 - exp(-t / 10): P >= 0.999 from t = 10 ln 1000 = 69.08 ms
    def f(t: np.ndarray) -> np.ndarray:
        return 1 - np.exp(-np.asarray(t) / 10)

    est = paper.emulate_paper_t_visibility(f, 0.1, rng=np.random.default_rng(1), trials_per_t=10**9, repeats=50)
    assert np.all(np.abs(est - 10 * math.log(1000)) <= 0.2)


def test_emulated_paper_estimator_first_passage_bias_matches_binomial_theory() -> None:
    # flat just below the target for 100 ms, then 1: each of the 1000 t values below 100 passes
    # independently with p = P(Binomial(50000, 0.0015) <= 50); the estimate is < 100 with 1-(1-p)^1000
    def f(t: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(t) < 100 - 1e-9, 0.9985, 1.0)

    est = paper.emulate_paper_t_visibility(f, 0.1, rng=np.random.default_rng(2), repeats=400)
    p = stats.binom.cdf(50, 50_000, 0.0015)
    expected = 1 - (1 - p) ** 1000
    frac = float(np.mean(est < 100))
    se = math.sqrt(expected * (1 - expected) / 400)
    assert abs(frac - expected) < 4 * se
    assert expected > 0.5  # i.e. the paper's estimator mostly prints a t where P is still < 99.9 %


def test_markdown_table_prints_published_numbers_verbatim() -> None:
    table = paper.compare(ours_like_paper(), engine="predict")
    md = paper.markdown(table)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + 24
    assert lines[0].startswith("| profile | R | W | L_r paper | L_r predict |")
    assert "| ymmr | 1 | 3 | 5.63 | 5.63 | 1870.86 | 1871 | 0 | 0 |" in md
    assert "| lnkd-ssd | 1 | 1 | 0.66 | 0.660 | 0.66 | 0.660 | 1.85 | 1.85 |" in md


def test_pbs_paper_experiment_runs_in_quick_mode(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "pbs_paper.py"), "--quick", "--out", str(tmp_path),
                           "--workers", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("table4.csv", "table4.md", "explain.csv", "ymmr_alpha.csv", "README.md", "tradeoff.png",
                 "tradeoff.svg", "curves_predict.png", "curves_predict_tail.png", "curves_simulate.svg"):
        assert (tmp_path / name).exists(), name
    table = pd.read_csv(tmp_path / "table4.csv")
    assert set(table["engine"]) == {"predict", "simulate"}
    assert len(table) == 48
