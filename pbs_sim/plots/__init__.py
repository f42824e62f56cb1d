"""Plots: tidy DataFrames in, matplotlib Axes out.

Owns: the figures pbs_sim draws and the shipped style. One module per concern:

* :mod:`~pbs_sim.plots.curves` — t-visibility curves with confidence bands (one panel or one per
  profile) and the CCDF of ``versions_behind``;
* :mod:`~pbs_sim.plots.tradeoff` — the latency-versus-staleness trade-off of the PBS paper;
* :mod:`~pbs_sim.plots.durability` — durability metrics against popularity or anti-entropy interval;
* :mod:`~pbs_sim.plots.loss` — P(data loss) against cluster size per placement (``loss-vs-size``);
* :mod:`~pbs_sim.plots.dc_pairs` — P(consistent at t) per (write DC, read DC) pair (``dc-pairs``);
* :mod:`~pbs_sim.plots.pareto` — the recommender's latency/staleness Pareto front of every (N, R, W);
* :mod:`~pbs_sim.plots.results` — reading a sweep or run results directory for display;
* :mod:`~pbs_sim.plots.figures` — the standard figure of each kind (what ``pbs-sim plot`` draws);
* :mod:`~pbs_sim.plots.style` — ``pbs_sim.mplstyle`` (applied only inside :func:`style`), bare Axes,
  atomic PNG/SVG writing; :mod:`~pbs_sim.plots.common` — aliases, labels, hue grouping.

Must not touch: how any metric is computed. Functions here only select, group and reshape what the
engines, metrics and sweeps already produced; the mean of several replications' curves is
:func:`pbs_sim.metrics.curves.mean_curve` (re-exported here), the implementation the sweep's
``curves_summary`` uses too. Importing this package changes no global matplotlib state and selects
no backend: figures made without an ``ax`` are bare ``matplotlib.figure.Figure`` objects (no
pyplot), which render headless; only the CLI calls ``matplotlib.use("Agg")``.

Every name is importable from ``pbs_sim.plots`` itself, as before the split.
"""

from __future__ import annotations

from ..metrics.curves import mean_curve
from .common import ALIASES, canonical, label_for, rw_label
from .curves import plot_curves, plot_curves_facets, plot_versions_ccdf
from .dc_pairs import figure_dc_pairs, plot_dc_pairs
from .durability import DURABILITY_METRIC_PREFIXES, DURABILITY_X, durability_metric, plot_durability
from .figures import KINDS, figure_for
from .loss import figure_loss_vs_size, plot_loss_vs_size
from .pareto import plot_pareto
from .results import ResultsDir, load_results_dir
from .style import FIGURE_FORMATS, STYLE_PATH, new_axes, save_figure, style
from .tradeoff import plot_tradeoff, tradeoff_frame

__all__ = [
    "ALIASES", "DURABILITY_METRIC_PREFIXES", "DURABILITY_X", "FIGURE_FORMATS", "KINDS", "STYLE_PATH",
    "ResultsDir", "canonical", "durability_metric", "figure_dc_pairs", "figure_for", "figure_loss_vs_size", "label_for", "load_results_dir",
    "mean_curve", "new_axes", "plot_curves", "plot_curves_facets", "plot_dc_pairs", "plot_durability", "plot_loss_vs_size", "plot_pareto", "plot_tradeoff",
    "plot_versions_ccdf", "rw_label", "save_figure", "style", "tradeoff_frame",
]
