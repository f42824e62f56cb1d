# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Staleness curves and the latency/staleness trade-off
#
# How stale are reads in a Dynamo-style store with N = 3 replicas, and what does waiting for more
# replicas (larger R, W) buy? This notebook
#
# 1. runs a small **sweep** of the analytic WARS predictor over latency profiles and (R, W),
# 2. plots the **t-visibility curves** (probability a read sees the latest committed write, t ms after
#    the commit) with 95 % confidence bands, and the **latency-vs-staleness trade-off**,
# 3. **simulates** a short open workload on the discrete-event simulator and sets its measured curve
#    beside the PBS prediction made from the run's own observed delays, with the CCDF of
#    `versions_behind`,
# 4. if `results/pbs_paper/` exists (`python experiments/pbs_paper.py`), shows the PBS paper's Table 4
#    beside ours.
#
# All logic lives in the library (`pbs_sim.sweep`, `pbs_sim.plots`, `pbs_sim.paper`); the notebook only
# calls it. Set `PBS_SIM_NOTEBOOK_QUICK=1` for a fast run with few trials (the test suite does).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import pbs_sim
from pbs_sim import paper, plots
from pbs_sim.config import scenario_from_dict
from pbs_sim.simulation import simulate
from pbs_sim.sweep import run_sweep

QUICK = os.environ.get("PBS_SIM_NOTEBOOK_QUICK", "") not in ("", "0")
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
TRIALS = 5_000 if QUICK else 200_000
print(f"pbs_sim {pbs_sim.__version__}; quick mode: {QUICK}; {TRIALS} WARS trials per run")

# %% [markdown]
# ## 1. A small sweep on the predictor
#
# The sweep is the same object `pbs-sim sweep FILE.toml` reads, given here as a dict: a base scenario,
# a grid over latency profiles and (R, W) pairs that vary together. Results land in a directory with
# `results.csv`, `curves.csv`, `summary.csv` and `manifest.json`.

# %%
sweep = {
    "sweep": {"engine": "predict", "replications": 2, "seed": 1},
    "base": {"cluster": {"replication": 3}, "predict": {"trials": TRIALS, "target": 0.999}},
    "grid": {"latency.profile": ["lnkd-ssd", "lnkd-disk", "ymmr"] if not QUICK else ["lnkd-ssd", "lnkd-disk"]},
    "zip": [{"keys": ["cluster.read_quorum", "cluster.write_quorum"], "values": [[1, 1], [1, 2], [2, 1], [2, 2]]}],
}
out = Path(tempfile.mkdtemp(prefix="pbs_nb_")) / "sweep"
result = run_sweep(sweep, out=out, workers=1, progress=False)
result.summary[["profile", "r", "w", "t_visibility_ms_mean", "t_visibility_ms_ci_low", "t_visibility_ms_ci_high",
                "p_consistent_at_t0_mean", "read_latency_p999_ms_mean", "write_latency_p999_ms_mean"]].round(3)

# %% [markdown]
# ## 2. t-visibility curves and the trade-off
#
# One panel per profile, one line per (R, W); the x axis is symlog so t = 0 (right after the commit)
# stays on the plot. Strict quorums (R + W > N) are consistent from t = 0.

# %%
res = plots.load_results_dir(out)
with plots.style():
    fig = plt.figure(figsize=(11, 3.6))
    plots.plot_curves_facets(res.curves, facet="profile", hue=("r", "w"), fig=fig, ncols=3, log_x=True)
    plt.show()

# %% [markdown]
# The trade-off: combined 99.9th percentile read + write latency against the time after which 99.9 %
# of reads are consistent, one marker per (R, W) (labels `R,W`; hollow = strict quorum).

# %%
with plots.style():
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plots.plot_tradeoff(res.summary, ax=ax)
    plt.show()

# %% [markdown]
# ## 3. The simulator: measured staleness beside the PBS prediction
#
# A short open workload (Poisson arrivals, 80 % reads, a few hot keys) on `lnkd-disk`, N = 3,
# R = W = 1. The simulator measures P(consistent | t) over t bins; the monitoring frame holds the PBS
# prediction made from the W/A/R/S delays the run itself observed.

# %%
scenario = scenario_from_dict({
    "cluster": {"replication": 3, "read_quorum": 1, "write_quorum": 1},
    "latency": {"profile": "lnkd-disk"},
    "workload": {"kind": "open", "keys": 50, "read_fraction": 0.8, "rate_per_s": 2000,
                 "duration_ms": 1_000 if QUICK else 20_000, "warmup_ms": 200},
})
sim = simulate(scenario, seed=7)
frames = sim.frames()
mon = frames["monitoring"]
measured = mon.rename(columns={"measured": "p_consistent"}).assign(source="measured (simulator)")
predicted = mon.rename(columns={"predicted": "p_consistent"})[["t_ms", "p_consistent"]].assign(
    source="PBS predicted from observed delays")
with plots.style():
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    plots.plot_curves(pd.concat([measured, predicted]), hue="source", ax=ax1, log_x=True)
    ax1.set_title("lnkd-disk, R = W = 1")
    plots.plot_versions_ccdf(frames["versions_behind"], ax=ax2)
    ax2.set_title("versions behind the newest committed write")
    plt.show()
{k: sim.summary()[k] for k in ("measured_reads", "p_consistent_at_t0", "stale_read_fraction", "t_visibility_ms",
                               "predicted_t_visibility_ms")}

# %% [markdown]
# ## 4. The PBS paper's Table 4 beside ours
#
# `python experiments/pbs_paper.py` runs the paper's grid (4 profiles x 6 (R, W), N = 3) on both
# engines into `results/pbs_paper/`. If it is there, the table below sets it beside the published one
# (`results/pbs_paper/README.md` explains every difference).

# %%
paper_dir = ROOT / "results" / "pbs_paper"
tables = []
for engine in ("predict", "simulate"):
    d = paper_dir / engine
    if (d / "summary.csv").exists():
        tables.append(paper.compare(plots.load_results_dir(d).summary, engine=engine))
if tables:
    display(Markdown(paper.markdown(pd.concat(tables, ignore_index=True))))
else:
    print("results/pbs_paper/ not found: run `python experiments/pbs_paper.py` first")
