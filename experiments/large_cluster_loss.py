"""Driver for experiments/large_cluster_loss.toml: P(data loss) against cluster size, per placement.

For every series and cluster size: the analytic answer (exact, or rigorous bounds around a stated
estimate: pbs_sim.analytic.placement), and up to ``mc_max_nodes`` nodes the Monte Carlo over the
generated placement's replica sets (pbs_sim.analytic.placement_mc); beside them the published
model's own number where the series names one (the Copysets paper's approximation with its copyset
count; Kleppmann's independent-partition formula).

Writes into ``--out`` (default results/large_cluster_loss):

- ``loss_vs_size.csv``  panel, series, nodes, placement, failure_model, p_loss (+ _lower, _upper),
                        exact, method, expected_fraction_lost, p_loss_per_year, mttdl_years, nomdl,
                        replica_sets, mc_* (Monte Carlo: trials, p, 95 % Wilson interval, fraction),
                        reference_p_loss and reference (the published model's number, where it has one)
- ``large_cluster_loss.png``  (the ``loss-vs-size`` plot kind, one panel per study)
- ``manifest.json``  the experiment file as read, the files written, provenance

Bad input (an unknown key, F > n, S < R - 1, a scatter width that cannot be met, p outside [0, 1],
racks that do not divide as configured) is one line naming the file, the key and the reason, exit
status 2, before any work starts.

Usage: ``python experiments/large_cluster_loss.py [--sizes 10,100,1000] [--mc-trials N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from pbs_sim.config import read_toml
from pbs_sim.errors import ConfigError
from pbs_sim.io import provenance, write_json, write_table

HERE = Path(__file__).resolve().parent
SPEC = HERE / "large_cluster_loss.toml"
EXPERIMENT_KEYS = {"description", "seed", "sizes", "mc_trials", "mc_max_nodes", "events_per_year", "mission_years"}
SERIES_KEYS = {"label", "panel", "placement", "failure_model", "replication", "chunks_per_node", "monte_carlo",
               "ensemble_chunks_per_node", "paper_copysets_per_node", "kleppmann_partitions_per_node",
               "kleppmann_partitions"}


def _int_list(v: Any, src: str, key: str | None) -> list[int]:
    if not isinstance(v, list) or not v or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v):
        raise ConfigError(src, key, f"expected a non-empty list of integers >= 1, got {v!r}")
    return [int(x) for x in v]


def load(path: str | Path = SPEC, sizes: list[int] | None = None, mc_trials: int | None = None) -> dict[str, Any]:
    """Read and check the experiment file and every (series, size) point, before any work."""
    from pbs_sim.loss import _resolve

    src = str(path)
    raw = read_toml(path)
    for k in raw:
        if k not in ("experiment", "series"):
            raise ConfigError(src, k, "unknown section; expected experiment, series")
    ex = dict(raw.get("experiment", {}))
    for k in ex:
        if k not in EXPERIMENT_KEYS:
            raise ConfigError(src, f"experiment.{k}", f"unknown key; expected one of {', '.join(sorted(EXPERIMENT_KEYS))}")
    ex["sizes"] = sizes if sizes is not None else _int_list(ex.get("sizes", [100]), src, "experiment.sizes")
    if mc_trials is not None:
        ex["mc_trials"] = mc_trials
    for key in ("mc_trials", "mc_max_nodes", "seed"):
        v = ex.setdefault(key, {"mc_trials": 0, "mc_max_nodes": 5000, "seed": 0}[key])
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(src, f"experiment.{key}", f"must be an integer >= 0, got {v!r}")
    series = raw.get("series", [])
    if not isinstance(series, list) or not series:
        raise ConfigError(src, "series", "expected at least one [[series]]")
    for i, s in enumerate(series):
        key = f"series[{i}]"
        for k in s:
            if k not in SERIES_KEYS:
                raise ConfigError(src, f"{key}.{k}", f"unknown key; expected one of {', '.join(sorted(SERIES_KEYS))}")
        if not isinstance(s.get("monte_carlo", True), bool):
            raise ConfigError(src, f"{key}.monte_carlo", f"expected true or false, got {s['monte_carlo']!r}")
        if ("placement" in s) == ("ensemble_chunks_per_node" in s):
            raise ConfigError(src, key, "give exactly one of placement and ensemble_chunks_per_node")
        for n in ex["sizes"]:  # every point is checked now, so a bad one stops the run before any work
            _resolve(_placement_table(s, n), s.get("failure_model", {}), n, int(s.get("replication", 3)), src,
                     key, f" (at {n} nodes)")
    return {"experiment": ex, "series": series, "source": src}


def _placement_table(s: dict[str, Any], n: int) -> dict[str, Any]:
    if "placement" not in s:
        return {"kind": "random", "chunks": 1}
    table = dict(s["placement"])
    if "chunks_per_node" in s:
        table["chunks"] = int(s["chunks_per_node"]) * n
    table.setdefault("seed", 0)
    return table


def run(out: str | Path | None = None, sizes: list[int] | None = None, mc_trials: int | None = None,
        spec_path: str | Path = SPEC, plot: bool = True) -> pd.DataFrame:
    from pbs_sim.analytic import placement as ap
    from pbs_sim.loss import loss_point

    cfg = load(spec_path, sizes, mc_trials)
    ex, src = cfg["experiment"], cfg["source"]
    out_dir = Path(out) if out is not None else HERE.parent / "results" / "large_cluster_loss"
    rows: list[dict[str, Any]] = []
    for i, s in enumerate(cfg["series"]):
        r = int(s.get("replication", 3))
        for n in ex["sizes"]:
            fm = dict(s.get("failure_model", {}))
            fm.setdefault("seed", int(ex["seed"]) + 1000 * i)
            mc_on = "placement" in s and bool(s.get("monte_carlo", True)) and n <= int(ex["mc_max_nodes"])
            trials = int(ex["mc_trials"]) if mc_on else 0
            ens = int(s["ensemble_chunks_per_node"]) * n if "ensemble_chunks_per_node" in s else None
            row = loss_point(s.get("placement") and _placement_table(s, n), fm, n, r, mc_trials=trials,
                             ensemble_chunks=ens, events_per_year=ex.get("events_per_year"),
                             mission_years=ex.get("mission_years"), source=src, key_prefix=f"series[{i}]")
            ref, what = float("nan"), ""
            if "paper_copysets_per_node" in s and fm.get("kind") == "fixed":
                f = round(float(fm.get("failed_fraction", 0.01)) * n)
                if f >= r:
                    ref = ap.copysets_paper_estimate(n, r, float(s["paper_copysets_per_node"]) * n, f)
                    what = f"Copysets paper's approximation, {s['paper_copysets_per_node']} copysets per node"
            if "kleppmann_partitions_per_node" in s or "kleppmann_partitions" in s:
                k = int(s.get("kleppmann_partitions", 0)) or int(s["kleppmann_partitions_per_node"]) * n
                ref = ap.kleppmann_loss(n, r, k, float(fm.get("p", 0.001)))
                what = f"Kleppmann's independent-partition formula, k = {k:,}"
            rows.append({"panel": s.get("panel", "loss"), "series": s.get("label", f"series {i}"), **row,
                         "reference_p_loss": ref, "reference": what})
    table = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = write_table(table, out_dir / "loss_vs_size.csv")
    files = [csv.name]
    if plot:
        files.append(_plot(table, out_dir / "large_cluster_loss.png").name)
    write_json(out_dir / "manifest.json", {"kind": "experiment large_cluster_loss", "experiment_file": read_toml(spec_path),
                                           "sizes": ex["sizes"], "mc_trials": ex["mc_trials"], "files": files,
                                           **provenance()})
    return table


def _plot(table: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from pbs_sim import plots

    with plots.style():
        fig = plots.figure_loss_vs_size(table)
        return plots.save_figure(fig, path)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help="comma-separated cluster sizes (default: the file's)")
    ap.add_argument("--mc-trials", type=int, default=None, help="Monte Carlo trials per point (0: analytic only)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--config", default=str(SPEC))
    a = ap.parse_args(argv)
    try:
        sizes = None
        if a.sizes is not None:
            try:
                sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
            except ValueError:
                raise ConfigError("--sizes", None, f"expected integers like 10,100,1000, got {a.sizes!r}") from None
            _int_list(sizes, "--sizes", None)
        if a.mc_trials is not None and a.mc_trials < 0:
            raise ConfigError("--mc-trials", None, f"must be >= 0, got {a.mc_trials}")
        table = run(a.out, sizes, a.mc_trials, a.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"{len(table)} points written to {a.out or HERE.parent / 'results' / 'large_cluster_loss'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
