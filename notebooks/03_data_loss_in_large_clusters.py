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
# # Data loss in large clusters
#
# Three replicas feel safe: three given disks rarely die together. But a large cluster loses data
# through *correlated* failures — a power outage after which about 1 % of the nodes do not come back,
# a rack, a datacenter — and then what matters is how many distinct **replica sets** the placement
# uses: data is lost as soon as one of them lies entirely inside the failed nodes. This notebook
#
# 1. builds placements of 1,000 nodes (token ring with 256 and 16 vnodes, Riak's fixed ring, random,
#    copyset replication, minimum copysets) and compares P(loss) when 1 % of the nodes fail, analytic
#    against the Monte Carlo over the actual replica sets;
# 2. draws P(loss) against cluster size (the Copysets paper's Figure 1 and Kleppmann's 2017 figure,
#    from `results/large_cluster_loss/`, written by `experiments/large_cluster_loss.py`);
# 3. shows the trade-off copysets make: rarer losses, each losing more keys (NOMDL beside MTTDL);
# 4. checks rack loss with and without rack-aware placement.
#
# All logic lives in the library (`pbs_sim.placement`, `pbs_sim.analytic.placement`,
# `pbs_sim.analytic.placement_mc`, `pbs_sim.loss`); the notebook only calls it.
# `PBS_SIM_NOTEBOOK_QUICK=1` runs smaller (the test suite does).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import pbs_sim
from pbs_sim import plots
from pbs_sim.loss import loss_point

QUICK = os.environ.get("PBS_SIM_NOTEBOOK_QUICK", "") not in ("", "0")
N = 300 if QUICK else 1000
TRIALS = 500 if QUICK else 5000
print(f"pbs_sim {pbs_sim.__version__}; quick mode: {QUICK}; {N} nodes, {TRIALS} Monte Carlo trials per point")

# %% [markdown]
# ## 1. One power outage, six placements
#
# Each row is one placement of R = 3 replicas on N nodes; the failure model loses exactly 1 % of the
# nodes, uniformly chosen. `p_loss` is the analytic answer (exact where the `exact` column says so,
# otherwise an estimate inside the rigorous bounds `p_loss_lower` .. `p_loss_upper`); `mc_p_loss`
# the Monte Carlo with its 95 % interval. The expected fraction of keys lost is the same for every
# placement — C(F, 3) / C(N, 3) — because a uniformly failed set does not care how keys were placed:
# placement changes *how often* data is lost, not how much on average.

# %%
outage = {"kind": "fixed", "failed_fraction": 0.01 if not QUICK else 0.03, "seed": 1}
placements = {
    "token ring, 256 vnodes": {"kind": "token_ring", "vnodes": 256},
    "token ring, 16 vnodes": {"kind": "token_ring", "vnodes": 16},
    "Riak fixed ring, 64": {"kind": "fixed_ring", "ring_size": 64},
    "random, 100 chunks/node": {"kind": "random", "chunks": 100 * N},
    "copysets, S = 10": {"kind": "copyset", "scatter_width": 10},
    "minimum copysets": {"kind": "min_copysets"},
}
rows = [{"placement": name, **loss_point(p, outage, N, 3, mc_trials=TRIALS)} for name, p in placements.items()]
table = pd.DataFrame(rows)
cols = ["placement", "replica_sets", "scatter_width", "p_loss", "p_loss_lower", "p_loss_upper", "exact",
        "mc_p_loss", "mc_ci_low", "mc_ci_high", "expected_fraction_lost"]
table[cols]

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
y = range(len(table))
ax.barh(list(y), table["p_loss"], color="C0", alpha=0.6, label="analytic")
ax.errorbar(table["mc_p_loss"], list(y), xerr=[table["mc_p_loss"] - table["mc_ci_low"],
                                               table["mc_ci_high"] - table["mc_p_loss"]],
            fmt="kx", capsize=3, label="Monte Carlo (95 % CI)")
ax.set_yticks(list(y), table["placement"])
ax.set_xlabel("P(data loss) in one outage")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. P(loss) against cluster size
#
# The committed study (`python experiments/large_cluster_loss.py`, plot kind `loss-vs-size`). Left:
# 1 % of the nodes lost at once — random replication with thousands of chunks per node loses data in
# nearly every outage beyond a few hundred nodes (the Copysets paper's Figure 1), copyset replication
# in well under 1 %. Dashed: the paper's own approximation for Facebook's placement, which counts 55
# copysets per node where the window placement has 45 (docs/validation.md §12). Right: independent
# failures with p = 0.001 per period — vnodes grow the number of replica sets with the cluster, a
# fixed ring of 64 partitions does not (Kleppmann 2017).

# %%
results = Path("..") / "results" / "large_cluster_loss" / "loss_vs_size.csv"
study = pd.read_csv(results)
with plots.style():
    fig = plots.figure_loss_vs_size(study)
fig

# %% [markdown]
# ## 3. Rarer losses, bigger losses: MTTDL and NOMDL
#
# With one outage a year, P(loss per year) and MTTDL follow from P(loss per event); NOMDL_t (Greenan,
# Plank, Wylie 2010) is the expected fraction of the data lost in t years. Copysets make losses rarer
# (longer MTTDL) but lose the same expected fraction — so each loss, when it comes, is larger
# (E[fraction lost | a loss] = E[fraction lost] / P(loss)).

# %%
table["mttdl_years"] = table["mttdl_years"].astype(float)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.scatter(table["mttdl_years"], table["nomdl"] / table["p_loss"].where(table["p_loss"] > 0), color="C1")
for _, r in table.iterrows():
    if r["p_loss"] > 0:
        ax.annotate(r["placement"], (r["mttdl_years"], r["nomdl"] / r["p_loss"]), fontsize=7)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("MTTDL (years, one outage a year)")
ax.set_ylabel("fraction of keys lost, given a loss")
plt.show()

# %% [markdown]
# ## 4. Losing a rack
#
# 20 racks, nodes assigned round-robin; one rack lost. Without rack awareness a token ring puts some
# replica sets entirely inside one rack; NetworkTopologyStrategy's walk (one replica per rack) never
# does, so no rack loss — and no two-rack loss — can take all three replicas.

# %%
racks = []
for aware in (False, True):
    for k in (1, 2, 3):
        p = {"kind": "token_ring", "vnodes": 16, "racks": 20, "rack_aware": aware}
        racks.append({"rack_aware": aware, "racks_lost": k,
                      **loss_point(p, {"kind": "rack", "racks_failed": k}, N - N % 20, 3)})
rk = pd.DataFrame(racks)
fig, ax = plt.subplots(figsize=(6, 3.5))
for aware, g in rk.groupby("rack_aware"):
    ax.plot(g["racks_lost"], g["expected_fraction_lost"], marker="o",
            label="rack-aware (NTS)" if aware else "not rack-aware")
ax.set_xlabel("racks lost at once (of 20)")
ax.set_ylabel("expected fraction of keys lost")
ax.legend()
plt.show()
rk[["rack_aware", "racks_lost", "p_loss", "expected_fraction_lost", "method"]]
