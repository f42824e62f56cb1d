"""The explorer without a browser: state <-> URL, validation messages, views equal to predict,
and the Panel app drawing a view (the browser test is test_explore_browser.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from cli_in_process import run_cli as run_in_process

import pbs_sim
from pbs_sim.analytic.limits import check_prediction
from pbs_sim.errors import ConfigError
from pbs_sim.explore import Explorer, ExplorerState
from pbs_sim.explore.state import parse_query

SMALL = ExplorerState(trials=4_000, n_range="2..3")


def test_state_round_trips_through_the_url_query() -> None:
    st = replace(SMALL, profile="custom", w_dist="pareto(xm=1, alpha=2)", n=5, r=2, target=0.99, max_read_ms="3")
    q = st.to_query()
    assert "n" in q and "w" not in q  # only what differs from the defaults
    assert ExplorerState.from_query(q) == st
    assert ExplorerState.from_query({"n": "abc", "bogus": "1"}).n == "abc"  # kept, so validation names it


@pytest.mark.parametrize(
    "st",
    [
        SMALL,
        replace(SMALL, n=4, r=2, w=1, fanout="quorum", t_ms=2.5),
        replace(SMALL, profile="wan", n=3, r=1, w=2, target=0.99),
        replace(SMALL, profile="custom", w_dist="exponential(rate=0.3)", a_dist="0.1"),
    ],
    ids=["default", "quorum", "wan", "custom"],
)
def test_view_equals_predict(st: ExplorerState) -> None:
    ex = Explorer()
    v = ex.view(st)
    prof = ex._profile(st)[0]
    res = pbs_sim.predict(prof, st.n, st.r, st.w, trials=st.trials, seed=st.seed, target=st.target,
                          t_ms=[st.t_ms], fanout=st.fanout)
    assert v.p_consistent_at_t == float(res.p_consistent(st.t_ms))
    assert v.t_visibility_ms == res.t_visibility_ms and v.t_visibility_ci_ms == res.t_visibility_ci_ms
    assert v.read_p999_ms == res.read_latency_ms["p99.9"] and v.write_p999_ms == res.write_latency_ms["p99.9"]
    # the drawn curve is the predictor's curve at the same t (Wilson band included)
    want = res.consistent_count(v.curve["t_ms"]) / res.trials
    assert np.array_equal(v.curve["p_consistent"], want)
    assert sum(v.tradeoff["current"]) == 1 and len(v.tradeoff["r"]) == st.n**2


def test_trace_upload(tmp_path: object) -> None:
    ex = Explorer()
    st = replace(SMALL, profile="trace")
    with pytest.raises(ConfigError, match="upload a latency trace"):
        ex.view(st)
    good = b"w,a,r,s\n" + b"\n".join(b"%g,%g,%g,%g" % (1 + i % 7, 0.2, 0.3, 0.4 + i % 3) for i in range(300))
    v = ex.view(st, trace=("mine.csv", good))
    assert v.profile_name == "mine" and 0 < v.p_consistent_at_t <= 1
    with pytest.raises(ConfigError, match=r"^bad\.csv: w: line 3: 'x' is not a number"):
        ex.view(st, trace=("bad.csv", b"w,a,r,s\n1,1,1,1\nx,1,1,1\n"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"r": 4}, "R: R = 4 exceeds N = 3"),
        ({"w": 0}, "W: must be >= 1"),
        ({"n": "abc"}, "N: must be a whole number"),
        ({"target": 1.0}, "target: must be a probability in (0, 1)"),
        ({"t_ms": -1.0}, "t: must be a finite number"),
        ({"trials": 0}, "trials: must be >= 1"),
        ({"seed": 2**63}, "seed: must be < 2**63"),
        ({"seed": -1}, "seed: must be >= 0"),
        ({"n": 31}, "N: must be <= 30 here"),
        ({"trials": 2_000_000, "n": 20}, "trials: 2,000,000 trials for N = 20 and the recommender's N 2..3 need 1.1 GiB"),
        ({"fanout": "some"}, "read fan-out"),
        ({"n_range": "5..3"}, "recommender N: empty range 5..3"),
        ({"max_read_ms": "fast"}, "max read p99.9: 'fast' is not a number"),
        ({"min_availability": "1"}, "min availability: must be a probability in (0, 1)"),
        ({"profile": "custom", "w_dist": "pareto(xm=1"}, "W delay: "),
        ({"profile": "nope"}, "profile: unknown profile 'nope'"),
    ],
)
def test_bad_input_gets_one_line_naming_the_control(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Explorer().view(replace(SMALL, **change))  # type: ignore[arg-type]
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_app_draws_a_view_and_shows_bad_input_in_the_page() -> None:
    pytest.importorskip("panel")
    from pbs_sim.explore.app import ExplorerApp

    app = ExplorerApp(SMALL, sync_url=False)
    assert app.alert.visible is False
    assert 'id="pbs-p-consistent"' in app.headline.object
    assert len(app.src_curve.data["t_ms"]) > 100 and len(app.src_trade.data["label"]) == 9
    before = app.headline.object
    app.widgets["r"].value = 9  # out of range: a message, the last good view stays
    assert app.alert.visible and "R = 9 exceeds N = 3" in app.alert.object
    assert app.headline.object == before
    app.widgets["r"].value = 2
    assert app.alert.visible is False and "R=2" in app.headline.object
    assert app.last_update_s < 5
    # the trace profile: a message until a file is uploaded, then the trace's numbers
    app.widgets["profile"].value = "trace"
    assert app.alert.visible and "upload a latency trace" in app.alert.object and app.trace.visible
    app.trace.filename = "mine.csv"
    app.trace.value = b"ms\n" + b"\n".join(b"%g" % (0.2 + 0.01 * i) for i in range(400))
    assert app.alert.visible is False and "<b>mine</b>" in app.headline.object


@pytest.mark.parametrize(
    ("n", "trials", "seed"),
    [(3, 1, 0), (3, 0, 1), (3, 10, 1), (30, 1000, 1), (3, 100, 2**63 - 1), (3, 100, 2**63), (3, 100, -1),
     (0, 100, 1), (3, "many", 1), (3, 100, "x")],
)
def test_seed_trial_and_n_limits_are_predicts(n: int, trials: object, seed: object) -> None:
    """The explorer accepts exactly the N, trials and seeds predict/recommend accept
    (``check_prediction`` for a grid sample), refusing with the same reason. (The explorer's own
    1 GiB bound on the samples it keeps is stricter than the grid's N x trials bound, which
    ``validate`` therefore never reaches.)"""
    st = replace(SMALL, n=n, trials=trials, seed=seed, n_range=str(max(n, 1)))  # type: ignore[arg-type]
    try:
        check_prediction([n], trials, seed, grid=True)  # type: ignore[arg-type]
        want = None
    except ConfigError as exc:
        want = exc.reason
    try:
        Explorer().validate(st)
        got = None
    except ConfigError as exc:
        got = exc.reason
    assert got == want


def test_url_query_values_that_cannot_be_used_fall_back_to_defaults_with_a_message() -> None:
    st, msgs = parse_query({"profile": "nosuch"})
    assert st == ExplorerState() and len(msgs) == 1
    assert msgs[0].startswith("URL parameter profile=nosuch: unknown profile 'nosuch'")
    assert msgs[0].endswith("showing the default profile = lnkd-disk")
    st, msgs = parse_query({"n": "abc", "r": "2", "profile": "ymmr"})
    assert st == replace(ExplorerState(), r=2, profile="ymmr")  # the good parameters are kept
    assert msgs == ["URL parameter n=abc: must be a whole number, got 'abc'; showing the default N = 3"]
    st, msgs = parse_query({"n": "4", "r": "9", "bogus": "1", "seed": str(2**63), "max_read_ms": "fast"})
    assert st == replace(ExplorerState(), n=4)
    assert [m.split(":")[0] for m in msgs] == [
        "URL parameter bogus=1", "URL parameter r=9", f"URL parameter seed={2**63}", "URL parameter max_read_ms=fast"]
    assert "R = 9 exceeds N = 4; showing the default R = 1" in msgs[1]
    # a usable query: no message, exactly its state (seeds up to 2**63 - 1, as predict takes)
    good = replace(SMALL, profile="custom", w_dist="pareto(xm=1, alpha=2)", n=5, r=2, seed=2**63 - 1)
    assert parse_query(good.to_query()) == (good, [])
    st, msgs = parse_query({"profile": "custom", "w_dist": "pareto(xm=1"})
    assert st == replace(ExplorerState(), profile="custom") and msgs[0].startswith("URL parameter w_dist=pareto(xm=1: ")


def test_app_shows_what_a_bad_url_asks_for_and_draws_what_the_controls_show() -> None:
    pytest.importorskip("panel")
    from pbs_sim.explore.app import ExplorerApp

    small = {"trials": "4000", "n_range": "2..3"}
    app = ExplorerApp(sync_url=False, query={**small, "profile": "nosuch", "n": "abc", "seed": str(2**63 - 1)})
    assert app.alert.visible and "profile=nosuch" in app.alert.object and "n=abc" in app.alert.object
    assert app.widgets["profile"].value == "lnkd-disk" and app.widgets["n"].value == 3
    assert app.widgets["seed"].value == str(2**63 - 1)  # text: exact beyond the browser's 2**53
    assert "<b>lnkd-disk</b>, N=3 " in app.headline.object and f"seed {2**63 - 1}<" in app.headline.object
    assert len(app.src_curve.data["t_ms"]) > 100  # drawn, not empty plots
    app.widgets["r"].value = 2  # the next change of a control: the URL's message has been read
    assert app.alert.visible is False and "R=2" in app.headline.object


def test_cli_explore_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_in_process(["explore", "--port", "0", "--no-browser"], capsys)
    assert code == 2 and "--port: must be between 1 and 65535" in err


# ---------------------------------------------------------------------------------------------
# Topology mode (issue 19)

TOPO = replace(SMALL, mode="topology", dcs="east:3,west:2", wan="shifted(exponential(mean=3), by=20)")


def _pair_prediction(st: ExplorerState, read_level: str, write_level: str, wdc: str, rdc: str) -> object:
    from pbs_sim.analytic.multidc import predict_dc_pair
    from pbs_sim.explore.state import topology_of
    from pbs_sim.levels import resolve

    topo = topology_of(st)
    rf = topo.replication()
    return predict_dc_pair(st.profile, topo, resolve(read_level, "read", rf, rdc), resolve(write_level, "write", rf, wdc),
                           wdc, rdc, trials=st.trials, seed=st.seed, target=st.target, t_ms=[st.t_ms],
                           fanout=st.fanout).result


@pytest.mark.parametrize(
    "st",
    [TOPO, replace(TOPO, read_level="QUORUM", write_level="ONE", fanout="quorum", read_dc="east", t_ms=25.0),
     replace(TOPO, read_level="EACH_QUORUM", write_level="LOCAL_ONE", write_dc="west", target=0.99)],
    ids=["default-levels", "quorum-read-in-east", "each-quorum"],
)
def test_topology_view_equals_predict_dc_pair(st: ExplorerState) -> None:
    """The shown pair's numbers and curve are predict_dc_pair's with the same seed; the trade-off
    plot has every level pair the replicas can meet; the table has every (write DC, read DC)."""
    ex = Explorer()
    v = ex.view(st)
    wdc, rdc = st.write_dc or "east", st.read_dc or "west"
    res = _pair_prediction(st, st.read_level, st.write_level, wdc, rdc)
    assert (v.write_dc, v.read_dc) == (wdc, rdc)
    assert v.p_consistent_at_t == float(res.p_consistent(st.t_ms))
    assert v.t_visibility_ms == res.t_visibility_ms and v.t_visibility_ci_ms == res.t_visibility_ci_ms
    assert v.p_consistent_at_t0 == res.p_consistent_at_t0
    assert v.read_p999_ms == res.read_latency_ms["p99.9"] and v.write_p999_ms == res.write_latency_ms["p99.9"]
    assert np.array_equal(v.curve["p_consistent"], res.consistent_count(v.curve["t_ms"]) / res.trials)
    assert sum(v.tradeoff["current"]) == 1 and len(v.tradeoff["label"]) == 64  # RF 3 and 2: every level can be met
    assert len(v.table) == 4 and v.table.shown.sum() == 1
    other = v.table[(v.table.write_dc == "west") & (v.table.read_dc == "east")].iloc[0]
    want = _pair_prediction(st, st.read_level, st.write_level, "west", "east")
    assert other.p_consistent_at_t == float(want.p_consistent(st.t_ms)) and other.t_visibility_ms == want.t_visibility_ms


def test_topology_mode_bad_input_names_the_control_and_urls_round_trip() -> None:
    ex = Explorer()
    for change, message in [
        ({"dcs": "east"}, "datacenters: 'east': expected name:RF"),
        ({"dcs": "east:3,east:2"}, "datacenters: east is named twice"),
        ({"dcs": "east:0,west:0"}, "datacenters: no datacenter holds replicas"),
        ({"wan": "constant(-"}, "WAN delay: "),
        ({"read_level": "ANY"}, "read level: ANY is only supported for writes"),
        ({"write_level": "THREE", "dcs": "east:1,west:1"}, "write level: THREE needs 3 replies but there are 2"),
        ({"read_dc": "north"}, "read DC: 'north' is not a datacenter (east, west)"),
        ({"profile": "wan"}, "profile: wan adds its own WAN delay"),
        ({"mode": "3d"}, "model: '3d' is not one of flat, topology"),
    ]:
        with pytest.raises(ConfigError) as info:
            ex.view(replace(TOPO, **change))  # type: ignore[arg-type]
        assert str(info.value).startswith(message) and "\n" not in str(info.value), (change, str(info.value))
    st, msgs = parse_query(TOPO.to_query())
    assert (st, msgs) == (TOPO, [])
    st, msgs = parse_query({**TOPO.to_query(), "read_dc": "north"})
    assert st == TOPO and msgs[0].startswith("URL parameter read_dc=north: 'north' is not a datacenter")


def test_app_topology_mode_switches_controls_and_draws_the_pair() -> None:
    pytest.importorskip("panel")
    from pbs_sim.explore.app import ExplorerApp

    app = ExplorerApp(SMALL, sync_url=False)
    assert app.topology_box.visible is False and app.recommender_box.visible
    app.widgets["mode"].value = "topology"
    assert app.alert.visible is False and app.topology_box.visible and not app.flat_box.visible
    assert 'id="pbs-read-dc">west<' in app.headline.object and "at LOCAL_QUORUM" in app.headline.object
    assert len(app.src_trade.data["label"]) == 64 and "write DC" in app.table.object.columns
    app.widgets["dcs"].value = "a:1,b:2,c:2"  # the DC selects follow: the first writes, the last reads
    assert app.widgets["write_dc"].options == ["a", "b", "c"] and app.widgets["read_dc"].value == "c"
    assert 'id="pbs-read-dc">c<' in app.headline.object and len(app.table.object) == 9
    app.widgets["read_dc"].value = "b"
    assert 'id="pbs-read-dc">b<' in app.headline.object and app.state().read_dc == "b"
    app.widgets["write_level"].value = "THREE"
    assert app.widgets["write_level"].value == "THREE" and not app.alert.visible  # ΣRF = 5
    app.widgets["dcs"].value = "a:1,b:1"
    assert app.alert.visible and "THREE needs 3 replies" in app.alert.object
