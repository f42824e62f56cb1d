"""pbs_sim.plots: synthetic frames in, Axes with the expected lines, labels and values out.

Plots compute no metrics, so these tests check the drawing against values worked out by hand from
the synthetic input (averages over replications, a CCDF of five reads, read + write sums).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from pbs_sim import plots
from pbs_sim.errors import ConfigError


def synthetic_curves(profiles=("lnkd-ssd", "lnkd-disk"), rw=((1, 1), (2, 1)), reps=1) -> pd.DataFrame:
    """P(consistent at t) = 1 - a exp(-t / s) with a, s per configuration; CI = p -/+ 0.01."""
    t = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 200.0])
    rows = []
    for i, prof in enumerate(profiles):
        for j, (r, w) in enumerate(rw):
            for rep in range(reps):
                p = 1 - (0.5 / (1 + j)) * np.exp(-t / (5.0 * (i + 1)))
                rows.append(pd.DataFrame({
                    "profile": prof, "r": r, "w": w, "n": 3, "rep": rep, "t_ms": t, "p_consistent": p,
                    "ci_low": p - 0.01, "ci_high": np.minimum(p + 0.01, 1.0),
                }))
    return pd.concat(rows, ignore_index=True)


def test_plot_curves_one_line_and_band_per_configuration() -> None:
    ax = plots.plot_curves(synthetic_curves(profiles=("lnkd-ssd",)), hue=("r", "w"), target=0.999)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["R=1, W=1", "R=2, W=1", "p = 0.999"]
    assert len(ax.collections) == 2  # one confidence band per configuration
    assert ax.get_xlabel().startswith("t since commit (ms)")
    assert ax.get_ylabel() == "P(consistent read)"
    # the band spans ci_low..ci_high: its vertices stay within p +/- 0.01
    verts = ax.collections[0].get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(0.49, abs=1e-9)


def test_plot_curves_auto_hue_uses_what_varies_and_understands_sweep_names() -> None:
    frame = synthetic_curves().rename(columns={"profile": "latency_profile", "r": "cluster_read_quorum",
                                               "w": "cluster_write_quorum"})
    ax = plots.plot_curves(frame)
    labels = sorted(line.get_label() for line in ax.get_lines())
    assert labels == sorted(["lnkd-disk, R=1, W=1", "lnkd-disk, R=2, W=1", "lnkd-ssd, R=1, W=1",
                             "lnkd-ssd, R=2, W=1"])


def test_plot_curves_averages_replications_pointwise() -> None:
    frame = synthetic_curves(profiles=("ymmr",), rw=((1, 1),), reps=2)
    frame.loc[frame["rep"] == 0, "p_consistent"] = 0.4
    frame.loc[frame["rep"] == 1, "p_consistent"] = 0.6
    ax = plots.plot_curves(frame, hue=None, band=False)
    (line,) = ax.get_lines()
    assert np.allclose(line.get_ydata(), 0.5)
    assert list(line.get_xdata()) == sorted(set(frame["t_ms"]))


def test_replications_on_different_grids_are_averaged_as_step_functions() -> None:
    frame = pd.DataFrame({"cell": 0, "rep": [0, 0, 1, 1], "t_ms": [0.0, 2.0, 0.0, 1.0],
                          "p_consistent": [0.2, 1.0, 0.4, 1.0]})
    agg = plots.mean_curve(frame, ["p_consistent"])
    assert list(agg["t_ms"]) == [0.0, 1.0, 2.0]
    assert np.allclose(agg["p_consistent"], [0.3, 0.6, 1.0])  # rep 0 holds 0.2 until t = 2


def test_log_x_keeps_t_zero_visible() -> None:
    ax = plots.plot_curves(synthetic_curves(), log_x=True)
    assert ax.get_xscale() == "symlog"
    assert ax.get_xlim()[0] == 0
    assert ax.get_lines()[0].get_xdata()[0] == 0


def test_logit_y_scale_and_bad_scale() -> None:
    ax = plots.plot_curves(synthetic_curves(), y_scale="logit")
    assert ax.get_yscale() == "logit"
    with pytest.raises(ConfigError):
        plots.plot_curves(synthetic_curves(), y_scale="cubic")


def test_missing_columns_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="p_consistent"):
        plots.plot_curves(pd.DataFrame({"t_ms": [0.0, 1.0]}))


def test_facets_one_panel_per_profile_and_shared_colours() -> None:
    from matplotlib.figure import Figure

    frame = synthetic_curves(profiles=("lnkd-ssd", "lnkd-disk", "ymmr"), rw=((1, 1), (2, 1), (1, 2)))
    # drop one configuration from one panel: colours must still match across panels
    frame = frame[~((frame["profile"] == "ymmr") & (frame["r"] == 1) & (frame["w"] == 1))]
    fig = Figure()
    axes = plots.plot_curves_facets(frame, facet="profile", hue=("r", "w"), fig=fig)
    assert [ax.get_title() for ax in axes] == ["lnkd-ssd", "lnkd-disk", "ymmr"]
    color = {ax.get_title(): {ln.get_label(): ln.get_color() for ln in ax.get_lines()} for ax in axes}
    assert color["ymmr"]["R=2, W=1"] == color["lnkd-ssd"]["R=2, W=1"]
    assert color["ymmr"]["R=1, W=2"] == color["lnkd-ssd"]["R=1, W=2"]
    (legend,) = fig.legends
    assert {t.get_text() for t in legend.get_texts()} >= {"R=1, W=1", "R=2, W=1", "R=1, W=2"}


def test_versions_ccdf_values_per_read_and_weighted() -> None:
    per_read = pd.DataFrame({"versions_behind": [0, 0, 0, 1, 2]})
    ax = plots.plot_versions_ccdf(per_read)
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2]
    assert np.allclose(line.get_ydata(), [0.4, 0.2])  # P(X >= 1) = 2/5, P(X >= 2) = 1/5
    assert ax.get_yscale() == "log"
    weighted = pd.DataFrame({"versions_behind": [0, 1, 2], "count": [3, 1, 1], "mode": "lww"})
    line2 = plots.plot_versions_ccdf(weighted).get_lines()[0]
    assert np.allclose(line2.get_ydata(), [0.4, 0.2])


def test_versions_ccdf_hue() -> None:
    frame = pd.DataFrame({"versions_behind": [0, 1, 0, 0], "profile": ["a", "a", "b", "b"]})
    ax = plots.plot_versions_ccdf(frame, log_y=False)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["a", "b"]
    assert np.allclose(ax.get_lines()[1].get_ydata(), [0.0])


def tradeoff_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "profile": ["lnkd-disk"] * 3 + ["ymmr"] * 2,
        "n": 3, "r": [1, 2, 3, 1, 2], "w": [1, 1, 1, 1, 2],
        "t_visibility_ms": [45.0, 13.0, 0.0, 1364.0, 0.0],
        "read_latency_p999_ms": [0.66, 1.63, 4.12, 5.58, 33.0],
        "write_latency_p999_ms": [11.0, 10.9, 10.9, 10.8, 428.0],
    })


def test_tradeoff_points_are_read_plus_write_against_t() -> None:
    ax = plots.plot_tradeoff(tradeoff_rows())
    pts = plots.tradeoff_frame(tradeoff_rows())
    assert np.allclose(pts["latency_ms"], pts["read_ms"] + pts["write_ms"])
    offsets = np.vstack([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    expected = {(45.0, 11.66), (13.0, 12.53), (0.0, 15.02), (1364.0, 16.38), (0.0, 461.0)}
    got = {(round(float(x), 2), round(float(y), 2)) for x, y in offsets}
    assert got == expected
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["1,1", "2,1", "3,1", "1,1", "2,2"])
    assert ax.get_xscale() == "symlog" and ax.get_yscale() == "log"
    assert ax.get_xlim()[0] < 0  # t = 0 points sit off the spine


def test_tradeoff_hollow_markers_for_strict_quorums() -> None:
    ax = plots.plot_tradeoff(tradeoff_rows())
    strict = [c for c in ax.collections if len(c.get_offsets()) and len(c.get_facecolors()) == 0]
    xs = sorted(float(x) for c in strict for x, _ in c.get_offsets())
    assert xs == [0.0, 0.0]  # (3,1) and (2,2) have R + W > N = 3


def test_tradeoff_from_sweep_summary_with_cis_and_replications() -> None:
    rows = tradeoff_rows()
    summ = rows.rename(columns={c: f"{c}_mean" for c in rows.columns if c.endswith("_ms")})
    summ["t_visibility_ms_ci_low"] = summ["t_visibility_ms_mean"] - 1
    summ["t_visibility_ms_ci_high"] = summ["t_visibility_ms_mean"] + 2
    pts = plots.tradeoff_frame(summ)
    assert list(pts["t_ci_high"] - pts["t_ms"]) == [2.0] * 5
    ax = plots.plot_tradeoff(summ)
    assert any(type(c).__name__ == "LineCollection" for c in ax.collections)  # error bars
    reps = pd.concat([rows, rows.assign(t_visibility_ms=rows["t_visibility_ms"] + 10)])
    assert list(plots.tradeoff_frame(reps)["t_ms"]) == list(rows.sort_values(["profile", "n", "r", "w"])["t_visibility_ms"] + 5)
    with pytest.raises(ConfigError, match="read_latency_p999_ms"):
        plots.tradeoff_frame(rows.drop(columns="read_latency_p999_ms"))


def test_durability_against_decile_and_interval() -> None:
    deciles = pd.DataFrame({"popularity_decile": list(range(1, 11)) * 2,
                            "lost_write_fraction": np.r_[np.linspace(0, 0.01, 10), np.zeros(10)],
                            "lost_write_fraction_ci_low": 0.0, "lost_write_fraction_ci_high": 0.02,
                            "anti_entropy_mode": ["off"] * 10 + ["merkle"] * 10})
    ax = plots.plot_durability(deciles, hue="anti_entropy_mode")
    labels = sorted(ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_"))
    assert labels == ["anti_entropy_mode=merkle", "anti_entropy_mode=off"]
    assert list(ax.get_xticks()) == list(range(1, 11))
    assert ax.get_ylabel() == "lost write fraction"
    interval = pd.DataFrame({"anti_entropy_interval_ms": [1e3, 1e4, 1e5], "under_replication_exposure_mean": [1.0, 5.0, 30.0]})
    ax2 = plots.plot_durability(interval)
    assert ax2.get_xscale() == "log"
    assert list(ax2.get_lines()[0].get_ydata()) == [1.0, 5.0, 30.0]
    with pytest.raises(ConfigError):
        plots.plot_durability(pd.DataFrame({"x": [1], "y": [2]}))


def test_durability_reads_by_decile_frames_and_interval_specs() -> None:
    # the shape pbs_sim.metrics.durability.by_decile returns
    by_decile = pd.DataFrame({"decile": range(1, 11), "keys": 10, "reads_per_key": np.linspace(50, 1, 10),
                              "writes": 100, "lost_writes": [0] * 8 + [1, 3], "lost_write_fraction": [0] * 8 + [0.01, 0.03],
                              "keys_lost": 0, "under_replicated_ms_per_key": np.linspace(1, 100, 10)})
    ax = plots.plot_durability(by_decile)
    assert ax.get_ylabel() == "lost writes"
    assert list(ax.get_lines()[0].get_ydata()) == [0] * 8 + [1, 3]
    ax = plots.plot_durability(by_decile, y="under_replicated_ms_per_key")
    assert ax.get_xlabel().startswith("key popularity decile")
    sweep = pd.DataFrame({"anti_entropy_interval": ["exponential(rate=0.001)", "exponential(rate=0.0001)"],
                          "lost_writes_mean": [0.0, 2.0], "lost_writes_ci_low": [0.0, 1.0], "lost_writes_ci_high": [0.5, 3.0]})
    ax = plots.plot_durability(sweep)
    line = next(ln for ln in ax.get_lines() if not ln.get_label().startswith("_"))
    assert list(line.get_xdata()) == [1000.0, 10000.0]  # each spec at its mean
    assert ax.get_xscale() == "log"
    with pytest.raises(ConfigError, match="neither a number"):
        plots.plot_durability(sweep.assign(anti_entropy_interval=["soon", "later"]))


def test_save_png_and_svg_atomically(tmp_path: Path) -> None:
    ax = plots.plot_curves(synthetic_curves())
    (png,) = plots.save_figure(ax, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    both = plots.save_figure(ax.figure, tmp_path / "sub" / "c", formats=("png", "svg"))
    assert [p.name for p in both] == ["c.png", "c.svg"]
    svg = both[1].read_text()
    assert "<svg" in svg and "<dc:date>" not in svg
    assert not list(tmp_path.rglob("*.tmp"))
    with pytest.raises(ConfigError, match="png or .svg"):
        plots.save_figure(ax, tmp_path / "c.pdf")


def test_style_is_scoped() -> None:
    before = dict(matplotlib.rcParams)
    with plots.style():
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["savefig.dpi"] == 150
    assert dict(matplotlib.rcParams) == before


def test_import_and_plot_leave_pyplot_and_backend_alone(tmp_path: Path) -> None:
    code = (
        "import sys, matplotlib\n"
        "b = matplotlib.rcParams._get_backend_or_none()\n"
        "import pbs_sim.plots as p, pandas as pd\n"
        "ax = p.plot_curves(pd.DataFrame({'t_ms': [0.0, 1.0], 'p_consistent': [0.5, 1.0]}))\n"
        "p.save_figure(ax, sys.argv[1])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert matplotlib.rcParams._get_backend_or_none() == b, 'backend changed'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "headless.png")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "headless.png").exists()


def write_sweep_dir(d: Path, fmt: str = "csv") -> Path:
    """A results directory shaped like `pbs-sim sweep` output (values synthetic)."""
    d.mkdir(parents=True, exist_ok=True)
    curves = synthetic_curves(profiles=("lnkd-ssd", "lnkd-disk"), rw=((1, 1), (2, 1)), reps=2)
    keys = curves[["profile", "r", "w"]].drop_duplicates().reset_index(drop=True)
    keys["cell"] = range(len(keys))
    curves = curves.merge(keys, on=["profile", "r", "w"])
    curves = curves.rename(columns={"n": "_n"}).assign(n=10_000)  # a curve's n is a count of reads
    results = keys.merge(pd.DataFrame({"rep": [0, 1]}), how="cross")
    results = results.assign(seed=1, status="ok", error="", engine="predict",
                             latency_profile=results["profile"], cluster_read_quorum=results["r"],
                             cluster_write_quorum=results["w"], n=3,
                             t_visibility_ms=10.0 * results["r"], read_latency_p999_ms=1.0,
                             write_latency_p999_ms=2.0, p_consistent_at_t0=0.5)
    summary = results.groupby(["cell", "profile", "r", "w", "n"]).agg(
        t_visibility_ms_mean=("t_visibility_ms", "mean"), read_latency_p999_ms_mean=("read_latency_p999_ms", "mean"),
        write_latency_p999_ms_mean=("write_latency_p999_ms", "mean")).reset_index()
    curves_out = curves[["cell", "rep", "t_ms", "p_consistent", "ci_low", "ci_high", "n"]]
    for name, frame in (("results", results), ("curves", curves_out), ("summary", summary)):
        if fmt == "parquet":
            frame.to_parquet(d / f"{name}.parquet", index=False)
        else:
            frame.to_csv(d / f"{name}.csv", index=False)
    manifest = {"sweep": {"engine": "predict", "grid": {"latency.profile": ["lnkd-ssd", "lnkd-disk"]},
                          "zip": [{"keys": ["cluster.read_quorum", "cluster.write_quorum"], "values": [[1, 1], [2, 1]]}]}}
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def test_load_sweep_dir_joins_parameters_onto_curves(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        res = plots.load_results_dir(write_sweep_dir(tmp_path / fmt, fmt))
        assert res.kind == "sweep"
        c = res.curves
        assert c is not None
        assert set(c["profile"]) == {"lnkd-ssd", "lnkd-disk"}
        assert set(c["n"]) == {3}  # N from the results table, not the curve's count
        assert set(c["count"]) == {10_000}
        assert {"latency_profile", "cluster_read_quorum"} <= set(c.columns)
        assert res.summary is not None and res.metrics() is res.summary


def test_load_run_dir_takes_parameters_from_manifest(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    pd.DataFrame({"t_ms": [0.0, 1.0], "p_consistent": [0.4, 0.9], "ci_low": [0.3, 0.8],
                  "ci_high": [0.5, 0.95], "n": [100, 100]}).to_csv(d / "curve.csv", index=False)
    pd.DataFrame({"t_visibility_ms": [12.0], "read_latency_p999_ms": [1.0],
                  "write_latency_p999_ms": [3.0]}).to_csv(d / "summary.csv", index=False)
    (d / "manifest.json").write_text(json.dumps({"scenario": {
        "cluster": {"replication": 3, "read_quorum": 1, "write_quorum": 2}, "latency": {"profile": "ymmr"}}}))
    res = plots.load_results_dir(d)
    assert res.kind == "run"
    assert res.curves is not None and set(res.curves["profile"]) == {"ymmr"}
    assert res.summary is not None and int(res.summary["w"].iloc[0]) == 2
    pts = plots.tradeoff_frame(res.summary)
    assert float(pts["latency_ms"].iloc[0]) == 4.0


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such results directory"):
        plots.load_results_dir(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no results here"):
        plots.load_results_dir(tmp_path / "empty")
    res = plots.load_results_dir(write_sweep_dir(tmp_path / "s"))
    with pytest.raises(ConfigError, match="versions_behind"):
        plots.figure_for(res, "versions")
    with pytest.raises(ConfigError, match="unknown kind"):
        plots.figure_for(res, "pie")


def test_the_package_keeps_every_name_and_ships_its_style() -> None:
    """After the split into pbs_sim/plots/: every name used from ``pbs_sim.plots`` is still there, the
    averaging is the metrics-side implementation, and the style file ships inside the package."""
    import importlib.resources

    import pbs_sim.metrics.curves as mc

    for name in ("style", "new_axes", "save_figure", "canonical", "label_for", "rw_label", "mean_curve",
                 "plot_curves", "plot_curves_facets", "plot_versions_ccdf", "tradeoff_frame", "plot_tradeoff",
                 "plot_durability", "durability_metric", "ResultsDir", "load_results_dir", "figure_for", "KINDS",
                 "ALIASES", "STYLE_PATH", "FIGURE_FORMATS", "DURABILITY_X", "DURABILITY_METRIC_PREFIXES"):
        assert hasattr(plots, name), name
    assert plots.mean_curve is mc.mean_curve
    shipped = importlib.resources.files("pbs_sim.plots").joinpath("pbs_sim.mplstyle")
    assert shipped.is_file() and Path(str(shipped)) == plots.STYLE_PATH
    with plots.style():
        assert matplotlib.rcParams["axes.spines.top"] is False  # from the shipped file
    assert matplotlib.rcParams["axes.spines.top"] is True  # and only inside the block


def synthetic_pairs(binned: bool = False) -> pd.DataFrame:
    """Two datacenters: P = 1 - a exp(-t / 10) with a 0.1 within a datacenter and 0.6 across; CI = p -/+ 0.02."""
    t = np.array([0.0, 1.0, 5.0, 20.0, 100.0])
    rows = []
    for w in ("dc1", "dc2"):
        for r in ("dc1", "dc2"):
            a = 0.1 if w == r else 0.6
            p = 1 - a * np.exp(-t / 10.0)
            f = pd.DataFrame({"write_dc": w, "read_dc": r, "t_ms": t, "p_consistent": p,
                              "ci_low": p - 0.02, "ci_high": np.minimum(p + 0.02, 1.0)})
            if binned:
                f["t_high_ms"] = np.append(t[1:], np.inf)
                f["n"] = 100
            rows.append(f)
    return pd.concat(rows, ignore_index=True)


def test_dc_pairs_one_line_and_band_per_pair() -> None:
    ax = plots.plot_dc_pairs(synthetic_pairs())
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["write dc1 → read dc1", "write dc1 → read dc2", "write dc2 → read dc1", "write dc2 → read dc2",
                      "p = 0.999"]
    assert len(ax.collections) == 4  # a band per pair
    # each line is its pair's curve, point for point
    cross = ax.get_lines()[1]
    assert cross.get_ydata()[0] == pytest.approx(0.4) and cross.get_ydata()[-1] == pytest.approx(1 - 0.6 * np.exp(-10))
    assert ax.get_lines()[0].get_linestyle() == "-" and ax.get_lines()[2].get_linestyle() == "--"  # style per write DC
    verts = ax.collections[1].get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(0.38, abs=1e-9)
    assert ax.get_xscale() == "symlog"


def test_dc_pairs_a_flat_run_is_one_datacenter_and_bad_frames_are_config_errors() -> None:
    flat = synthetic_pairs(binned=True)
    flat = flat[(flat["write_dc"] == "dc1") & (flat["read_dc"] == "dc1")].assign(write_dc="", read_dc="")
    ax = plots.plot_dc_pairs(flat, target=None)
    assert [line.get_label() for line in ax.get_lines()] == ["one datacenter"]
    with pytest.raises(ConfigError, match="missing column.*write_dc"):
        plots.plot_dc_pairs(synthetic_pairs().drop(columns=["write_dc"]))
    with pytest.raises(ConfigError, match="no rows"):
        plots.plot_dc_pairs(synthetic_pairs().iloc[:0])


def test_dc_pairs_kind_reads_a_run_directory(tmp_path: Path) -> None:
    d = tmp_path / "run"
    d.mkdir()
    synthetic_pairs(binned=True).to_csv(d / "dc_pairs.csv", index=False)
    res = plots.load_results_dir(d)
    fig = plots.figure_for(res, "dc-pairs")
    assert len(fig.axes[0].get_lines()) == 5
    (d / "dc_pairs.csv").unlink()
    pd.DataFrame({"t_ms": [0.0], "p_consistent": [1.0]}).to_csv(d / "curve.csv", index=False)
    with pytest.raises(ConfigError, match="no dc_pairs table"):
        plots.figure_for(plots.load_results_dir(d), "dc-pairs")
