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
# # Choosing N, R and W
#
# `predict` answers "how stale are reads with *these* N, R, W?". Operators usually ask the inverse:
# *given my latencies and my targets, which replication factor and quorums should I run?* This
# notebook
#
# 1. scores every (N, R, W) for N = 3..5 against latency, staleness and availability targets with
#    `pbs_sim.recommend`, on two latency profiles (LinkedIn's disks and Yammer's Riak, PBS paper
#    Table 3) — one WARS sample per N serves every (R, W) (`pbs_sim.predict_grid`);
# 2. plots the latency/staleness Pareto front of each;
# 3. draws the t-visibility curves of the top recommendations;
# 4. embeds the interactive explorer (`pbs-sim explore` serves the same page).
#
# All logic lives in the library; the notebook only calls it. `PBS_SIM_NOTEBOOK_QUICK=1` runs with
# few trials (the test suite does).

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import pbs_sim
from pbs_sim import plots
from pbs_sim.plots import plot_pareto

QUICK = os.environ.get("PBS_SIM_NOTEBOOK_QUICK", "") not in ("", "0")
TRIALS = 5_000 if QUICK else 200_000
print(f"pbs_sim {pbs_sim.__version__}; quick mode: {QUICK}; {TRIALS} WARS trials per N")

# %% [markdown]
# ## 1. The recommender on two profiles
#
# Targets: reads and writes under 5 ms and 40 ms at the 99.9th percentile, a read started 10 ms after
# a write's commit sees it with probability 99.9 %, and reads and writes available 99.99 % of the
# time when each node is up 99.9 % of the time (strict quorums: P(Binomial(N, a) >= R or W)).

# %%
targets = dict(max_read_ms=5.0, max_write_ms=40.0, max_t_visibility_ms=10.0, target=0.999,
               node_availability=0.999, min_availability=0.9999)
recs = {name: pbs_sim.recommend(name, "3..5", trials=TRIALS, seed=1, **targets) for name in ("lnkd-disk", "ymmr")}
columns = ["rank", "n", "r", "w", "read_latency_p999_ms", "write_latency_p999_ms", "t_visibility_ms",
           "t_visibility_ci_high_ms", "read_availability", "write_availability", "pareto"]
for name, rec in recs.items():
    display(Markdown(f"**{name}**: {len(rec.feasible)} of {len(rec.table)} configurations meet the targets"))
    if rec.feasible.empty:
        c = rec.closest
        display(Markdown(f"none is feasible; closest: N={c['n']} R={c['r']} W={c['w']} ({c['misses']})"))
    else:
        display(rec.feasible[columns].head(8).round(4))

# %% [markdown]
# Every excluded configuration gets one sentence saying which target it misses:

# %%
for name, rec in recs.items():
    print(f"{name}:")
    for line in rec.excluded[:6]:
        print("  ", line)
    print(f"   ... {len(rec.excluded)} excluded in all")

# %% [markdown]
# ## 2. The Pareto front
#
# Read + write p99.9 against t-visibility for every configuration; filled markers are feasible,
# rings mark the Pareto front of (read p99.9, write p99.9, t-visibility), the star is the cheapest
# feasible configuration. Strict quorums sit at t-visibility 0.

# %%
for name, rec in recs.items():
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    plot_pareto(rec.table, ax=ax, title=f"{name}: every (N, R, W), N = 3..5")
    plt.show()

# %% [markdown]
# ## 3. The t-visibility curves of the top recommendations
#
# `predict` for the cheapest partial-quorum recommendations (strict quorums are consistent at
# t = 0 in this model); the numbers equal the recommender's (same seed, same draws).

# %%
frames = []
for name, rec in recs.items():
    partial = rec.feasible[rec.feasible.r + rec.feasible.w <= rec.feasible.n].head(2)
    for row in partial.itertuples():
        res = pbs_sim.predict(name, int(row.n), int(row.r), int(row.w), trials=TRIALS, seed=1)
        assert res.t_visibility_ms == row.t_visibility_ms
        frames.append(res.curve.assign(profile=name, n=int(row.n), r=int(row.r), w=int(row.w)))
fig, ax = plt.subplots(figsize=(7.5, 4.5))
if frames:
    plots.plot_curves(pd.concat(frames, ignore_index=True), hue=("profile", "n", "r", "w"), target=0.999,
                      log_x=True, ax=ax, title="top partial-quorum recommendations")
else:
    ax.text(0.5, 0.5, "only strict quorums are feasible", ha="center")
plt.show()

# %% [markdown]
# ## 4. The explorer, embedded
#
# The same page `pbs-sim explore` serves (controls for the profile, N, R, W, fan-out, target and
# trials; the curve with its confidence band, latency CDFs, every (R, W) and the recommender's
# table). It needs a live kernel to react to the controls.

# %%
import panel as pn

from pbs_sim.explore import build_app

pn.extension()
build_app({"profile": "lnkd-disk", "n": "3", "trials": str(min(TRIALS, 20_000)), "n_range": "3..4"})
