"""The topology recommender: a hand-derived choice, equality with predict_dc_pair, availability
against level_available and enumeration, the work bound, and ``pbs-sim recommend --scenario``."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_in_process import run_cli as run_in_process

from pbs_sim.analytic.multidc import level_available, predict_dc_pair
from pbs_sim.config import load_scenario
from pbs_sim.distributions import parse
from pbs_sim.errors import ConfigError
from pbs_sim.levels import quorum, resolve
from pbs_sim.profiles import Profile
from pbs_sim.recommender.topology import (
    MAX_TOPOLOGY_WORK,
    recommend_topology,
    with_rf,
)
from pbs_sim.topology import Datacenter, Link, TopologyConfig

# every one-way delay within [0, 2] ms: bounded, so which reads are consistent follows by hand
BOUNDED = Profile("bounded", *(parse("uniform(0, 2)") for _ in range(4)), "uniform(0, 2) delays")
TWO_DC = TopologyConfig(
    datacenters=(Datacenter("east", nodes=3, replication=3), Datacenter("west", nodes=3, replication=3)),
    links=(Link(("east", "west"), parse("constant(50)")),),
)

SCENARIO = """
[latency]
profile = "lnkd-disk"
w = "uniform(0, 2)"
a = "uniform(0, 2)"
r = "uniform(0, 2)"
s = "uniform(0, 2)"

[topology]
inter_dc = "constant(50)"

[[topology.datacenters]]
name = "east"
nodes = 3
replication = 3

[[topology.datacenters]]
name = "west"
nodes = 3
replication = 3

[consistency]
read = "LOCAL_QUORUM"
write = "LOCAL_QUORUM"

[run]
seed = 5
"""


def _count(level: str, n: int) -> int | None:
    """The replies a count level waits for over ΣRF = n (None: not a count)."""
    return {"ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": quorum(n), "ALL": n}.get(level)


def _needs_remote(level: str, rf_here: int, n: int) -> bool:
    """Does an operation at ``level`` coordinated here have to hear from the other datacenter?"""
    if level == "EACH_QUORUM":
        return True  # both datacenters hold replicas
    if level.startswith("LOCAL_"):
        return False
    k = _count(level, n)
    assert k is not None
    return k > rf_here


def test_cross_dc_consistency_at_10_ms_is_met_only_by_levels_that_wait_across_the_wan() -> None:
    """Two datacenters 50 ms apart (one way), every other delay in [0, 2] ms. A write in a committed
    on local acks commits within 4 ms; a read from b sent 10 ms later reaches b's replicas by 16 ms,
    long before the write (>= 50 ms), and hears b's replies (<= 18 ms) before any of a's (>= 110 ms).
    So it is consistent iff it must wait for a reply from a (whose replicas all have the write by
    then), or the write had to wait for an ack from b (commit >= 100 ms, after the write reached
    every replica at <= 52 ms). Exactly those candidates have P(consistent at 10 ms) = 1 in both
    cross directions; every other one has 0."""
    rec = recommend_topology(BOUNDED, TWO_DC, rf="1..3", pairs="cross", at_ms=10, min_p_consistent=1.0,
                             trials=2_000, seed=3)
    table = rec.table
    assert len(table) > 0
    for row in table.to_dict("records"):
        rf = {"east": row["rf:east"], "west": row["rf:west"]}
        n = rf["east"] + rf["west"]
        ok = all(_needs_remote(row["write_level"], rf[a], n) or _needs_remote(row["read_level"], rf[b], n)
                 for a, b in (("east", "west"), ("west", "east")))
        assert row["feasible"] == ok, row
        assert row["p_consistent_at_10_ms"] == (1.0 if ok else 0.0), row
    # QUORUM / QUORUM always works: ⌊ΣRF/2⌋ + 1 exceeds the smaller datacenter's RF, so either the
    # write or the read must cross; LOCAL_QUORUM / LOCAL_QUORUM never does
    both = table[(table.read_level == "QUORUM") & (table.write_level == "QUORUM")]
    assert both.feasible.all() and len(both) == 9
    assert not table[(table.read_level == "LOCAL_QUORUM") & (table.write_level == "LOCAL_QUORUM")].feasible.any()
    # the cheapest: one replica per datacenter, one of the operations paying the round trip
    best = rec.best
    assert best is not None and best["n"] == 2
    assert 100 <= best["latency_sum_ms"] <= 100 + 4 * 2 + 4 * 2  # one WAN round trip plus bounded delays
    ranks = rec.feasible["rank"].tolist()
    assert ranks == list(range(1, len(ranks) + 1))
    assert (rec.feasible.n.diff().dropna() >= 0).all()  # fewest replicas first


def _equal(row: dict[str, object], res: object) -> bool:
    return (res.t_visibility_ms == row["t_visibility_ms"]
            and res.t_visibility_ci_ms == (row["t_visibility_ci_low_ms"], row["t_visibility_ci_high_ms"])
            and res.p_consistent_at_t0 == row["p_consistent_at_t0"]
            and float(res.p_consistent(5.0)) == row["p_consistent_at_5_ms"]
            and all(res.read_latency_ms[k] == row[f"read_latency_{k.replace('.', '')}_ms"] for k in res.read_latency_ms)
            and all(res.write_latency_ms[k] == row[f"write_latency_{k.replace('.', '')}_ms"] for k in res.write_latency_ms))


@pytest.mark.parametrize("fanout", ["all", "quorum"])
def test_rows_of_the_largest_layout_equal_predict_dc_pair(fanout: str) -> None:
    """Candidates of the largest layout are predict_dc_pair with the same seed, number for number
    (three racks, a random intra-DC law and a random WAN, so the link and rack draws count)."""
    topo = replace(
        TWO_DC, intra_dc=parse("lognormal(median=0.3, sigma=0.5)"),
        datacenters=tuple(replace(d, nodes=6, racks=3) for d in TWO_DC.datacenters),
        links=(Link(("east", "west"), parse("shifted(exponential(mean=5), by=30)")),),
    )
    levels = "ONE,LOCAL_QUORUM,QUORUM,EACH_QUORUM"
    rec = recommend_topology("lnkd-disk", topo, rf="east=2..3,west=3", read_levels=levels, write_levels=levels,
                             at_ms=5, min_p_consistent=0.5, trials=3_000, seed=11, fanout=fanout)
    big = with_rf(topo, (3, 3))
    rf = big.replication()
    top = rec.table[rec.table.rf == "3/3"]
    assert len(top) == 16
    for row in top.to_dict("records"):
        for p in rec.pairs_of(row).to_dict("records"):
            res = predict_dc_pair("lnkd-disk", big, resolve(row["read_level"], "read", rf, p["read_dc"]),
                                  resolve(row["write_level"], "write", rf, p["write_dc"]), p["write_dc"], p["read_dc"],
                                  trials=3_000, seed=11, fanout=fanout, t_ms=[5.0]).result
            assert _equal(p, res), (row["read_level"], row["write_level"], p["write_dc"], p["read_dc"])


def test_smaller_layouts_share_the_draws_and_agree_with_their_own_prediction() -> None:
    """A candidate with fewer replicas keeps the first RF_d replicas of each datacenter's draws
    (common random numbers), so it is not predict_dc_pair's digits for its layout but the same
    distribution: P(consistent at t) agrees within 4.5 standard errors of the difference."""
    trials = 20_000
    rec = recommend_topology("lnkd-disk", TWO_DC, rf="east=1..3,west=1..3", read_levels="ONE,LOCAL_ONE",
                             write_levels="ONE,LOCAL_ONE", pairs="all", at_ms=5, min_p_consistent=0.5, trials=trials, seed=2)
    for rfv in ((1, 2), (2, 1), (2, 3)):
        topo = with_rf(TWO_DC, rfv)
        rf = topo.replication()
        row = rec.table[(rec.table.rf == "/".join(map(str, rfv))) & (rec.table.read_level == "ONE")
                        & (rec.table.write_level == "LOCAL_ONE")].iloc[0].to_dict()
        for p in rec.pairs_of(row).to_dict("records"):
            own = predict_dc_pair("lnkd-disk", topo, resolve("ONE", "read", rf, p["read_dc"]),
                                  resolve("LOCAL_ONE", "write", rf, p["write_dc"]), p["write_dc"], p["read_dc"],
                                  trials=trials, seed=99, t_ms=[5.0]).result
            for got, want in ((p["p_consistent_at_t0"], own.p_consistent_at_t0),
                              (p["p_consistent_at_5_ms"], float(own.p_consistent(5.0)))):
                se = math.sqrt(max(got * (1 - got) + want * (1 - want), 1 / trials) / trials)
                assert abs(got - want) <= 4.5 * se, (rfv, p["write_dc"], p["read_dc"], got, want)
    # the same replica has the same delays in every layout: a ONE write's commit in east can only
    # come earlier with more replicas there, trial by trial (independent draws would cross often)
    from pbs_sim.analytic.multidc import Layout
    from pbs_sim.recommender.topology import _draw_pair, _LayoutView

    big = Layout(("east", "west"), (3, 1), (1, 1))
    draws = _draw_pair(BOUNDED, TWO_DC, big, "east", "west", 2_000, 4, "all")
    commits = [_LayoutView(TWO_DC, big, (k, 1), draws, "east", "west", "all").write(
        resolve("ONE", "write", {"east": k, "west": 1}, "east")) for k in (1, 2, 3)]
    assert np.all(commits[1] <= commits[0]) and np.all(commits[2] <= commits[1])
    assert np.any(commits[2] < commits[0])


def _enumerated(req: object, rf: dict[str, int], local: str, a: float) -> float:
    """P(the requirement is met) summed over every up/down pattern of the replicas."""
    names = [dc for dc, k in rf.items() for _ in range(k)]
    total = 0.0
    for state in itertools.product((True, False), repeat=len(names)):
        live = {dc: 0 for dc in rf}
        for dc, up in zip(names, state, strict=True):
            live[dc] += up
        if level_available(req, live, local):  # type: ignore[arg-type]
            total += math.prod(a if up else 1 - a for up in state)
    return total


def test_availability_columns_against_level_available_and_enumeration() -> None:
    """The cut-off verdicts equal level_available over every cut (both sides), the binomial
    availability equals enumeration of replica states, and the DDIA / Cassandra guidance holds for
    two RF-3 datacenters: LOCAL_QUORUM survives a cut, QUORUM (4 of 6) and EACH_QUORUM do not."""
    topo = replace(TWO_DC, datacenters=TWO_DC.datacenters + (Datacenter("north", nodes=2, replication=1, clients=0),),
                   inter_dc=parse("constant(40)"))
    rec = recommend_topology(BOUNDED, topo, rf="east=1..3,west=2..3,north=0..1", trials=200, seed=1,
                             node_availability=0.9, available_when_cut="writes")
    names = topo.names
    for row in rec.table.to_dict("records"):
        rf = {dc: row[f"rf:{dc}"] for dc in names}
        for op, kind in (("reads", "read"), ("writes", "write")):
            want = True
            for cut in names:
                for dc in ("east", "west"):
                    live = {d: (rf[d] if (d == cut) == (dc == cut) else 0) for d in names}
                    want &= level_available(resolve(row[f"{kind}_level"], kind, rf, dc), live, dc)
            assert row[f"{op}_survive_cut"] == want, (row["rf"], row["read_level"], row["write_level"], op)
        assert row["feasible"] == row["writes_survive_cut"]
        if sum(rf.values()) <= 5:
            for kind in ("read", "write"):
                want_a = min(_enumerated(resolve(row[f"{kind}_level"], kind, rf, dc), rf, dc, 0.9) for dc in ("east", "west"))
                assert row[f"{kind}_availability"] == pytest.approx(want_a, rel=1e-9, abs=1e-15)
    t = rec.table[rec.table.rf == "3/3/0"]
    verdict = {lv: bool(t[(t.write_level == lv) & (t.read_level == "ONE")].writes_survive_cut.iloc[0])
               for lv in ("LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "LOCAL_ONE", "ALL", "THREE")}
    assert verdict == {"LOCAL_QUORUM": True, "QUORUM": False, "EACH_QUORUM": False, "LOCAL_ONE": True,
                       "ALL": False, "THREE": True}


def test_latency_targets_per_datacenter_and_the_percentile() -> None:
    """A bound for one datacenter only binds there; the reported per-DC latency is the worst pair
    reading (writing) there; the same seed gives the same table."""
    kw = dict(rf="1..2", read_levels="LOCAL_ONE,QUORUM", write_levels="LOCAL_ONE", trials=2_000, seed=8)
    rec = recommend_topology(BOUNDED, TWO_DC, max_read_ms={"west": 10.0}, percentile="p99", **kw)  # type: ignore[arg-type]
    for row in rec.table.to_dict("records"):
        pairs = rec.pairs_of(row)
        west = pairs[pairs.read_dc == "west"].read_latency_p99_ms.max()
        assert row["read_latency_p99_ms:west"] == west
        assert row["feasible"] == (west <= 10.0)
        # by hand: a west read stays in west iff its level can be met there
        local = row["read_level"] == "LOCAL_ONE" or quorum(row["n"]) <= row["rf:west"]
        assert row["feasible"] == local, row
    again = recommend_topology(BOUNDED, TWO_DC, max_read_ms={"west": 10.0}, percentile="p99", **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(rec.table, again.table)


def test_bad_input_and_the_work_bound() -> None:
    with pytest.raises(ConfigError, match=r"^rf: RF 4 for east exceeds its 3 nodes$"):
        recommend_topology(BOUNDED, TWO_DC, rf="east=1..4")
    with pytest.raises(ConfigError, match=r"^read_levels: ANY is only supported for writes"):
        recommend_topology(BOUNDED, TWO_DC, read_levels="ANY")
    with pytest.raises(ConfigError, match=r"^pairs: 'north' is not a datacenter with clients"):
        recommend_topology(BOUNDED, TWO_DC, pairs="east:north")
    with pytest.raises(ConfigError, match=r"^min_p_consistent: P\(consistent at t\) needs both"):
        recommend_topology(BOUNDED, TWO_DC, at_ms=10)
    with pytest.raises(ConfigError, match=r"^profile: wan adds its own"):
        recommend_topology("wan", TWO_DC)
    # 9 layouts x 64 level pairs (less the 15 THREE cannot meet) x 4 pairs x 10^6 trials
    with pytest.raises(ConfigError, match=r"^trials: 561 candidates x 4 DC pairs x 1,000,000 trials = 2,244,000,000; "
                                          rf"at most {MAX_TOPOLOGY_WORK:,}"):
        recommend_topology(BOUNDED, TWO_DC, trials=1_000_000)
    with pytest.raises(ConfigError, match=r"^trials: the largest layout's 6 replicas x 900,000 trials"):
        recommend_topology(BOUNDED, TWO_DC, read_levels="ONE", write_levels="ONE", rf="3", trials=900_000)


# ---------------------------------------------------------------------------------------------
# The command


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    p = tmp_path / "two.toml"
    p.write_text(SCENARIO)
    return p


def test_cli_report_json_csv_and_exit_status(scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["recommend", "--scenario", str(scenario), "--trials", "2000"]
    code, out, err = run_in_process([*base, "--pairs", "cross", "--at-ms", "10", "--min-p-consistent", "1",
                                     "--out", str(tmp_path / "t.csv")], capsys)
    assert code == 0, err
    assert "recommended: RF east 1, west 1" in out and "seed 5" in out
    assert "the scenario's own RF 3/3, read LOCAL_QUORUM, write LOCAL_QUORUM: excluded: P(consistent at 10 ms) 0 % < 100 %" in out
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 561 and {"rf", "read_level", "write_level", "feasible", "pareto", "misses", "rank",
                                  "reads_survive_cut", "p_consistent_at_10_ms"} <= set(table.columns)
    code, out, err = run_in_process([*base, "--pairs", "cross", "--at-ms", "10", "--min-p-consistent", "1",
                                     "--available-when-cut", "both", "--json"], capsys)
    assert code == 1, err  # fast cross-DC visibility, and reads and writes that survive a cut, exclude each other
    d = json.loads(out)
    assert d["feasible"] == [] and d["closest"] is not None and d["seed"] == 5
    assert d["scenario_configuration"] == {"rf": "3/3", "read_level": "LOCAL_QUORUM", "write_level": "LOCAL_QUORUM",
                                           "candidate": True, "feasible": False, "rank": 0,
                                           "misses": "P(consistent at 10 ms) 0 % < 100 %"}
    code, out, err = run_in_process([*base, "--rf", "3", "--read-levels", "LOCAL_QUORUM", "--write-levels",
                                     "LOCAL_QUORUM,EACH_QUORUM", "--available-when-cut", "reads", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [(r["read_level"], r["write_level"]) for r in d["feasible"]] == [("LOCAL_QUORUM", "LOCAL_QUORUM"),
                                                                             ("LOCAL_QUORUM", "EACH_QUORUM")]
    assert {(p["write_dc"], p["read_dc"]) for p in d["best_pairs"]} == {("east", "east"), ("east", "west"),
                                                                        ("west", "east"), ("west", "west")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rf", "3..1"), "--rf: empty range 3..1"),
        (("--rf", "south=1..2"), "--rf: 'south' is not a datacenter of the topology (east, west)"),
        (("--rf", "5"), "--rf: RF 5 for east exceeds its 3 nodes"),
        (("--rf", "0"), "--rf: every datacenter's RF is 0"),
        (("--read-levels", "ANY"), "--read-levels: ANY is only supported for writes"),
        (("--write-levels", "SERIAL"), "--write-levels: unknown level 'SERIAL'"),
        (("--pairs", "east-west"), "--pairs: 'east-west': expected all, cross, local or WRITE_DC:READ_DC pairs"),
        (("--at-ms", "10"), "--min-p-consistent: P(consistent at t) needs both"),
        (("--min-p-consistent", "1.5", "--at-ms", "1"), "--min-p-consistent: must be a probability in (0, 1]"),
        (("--max-read-ms", "abc"), "--max-read-ms: 'abc' is not a number of ms or DC=MS pairs"),
        (("--max-read-ms", "north=3"), "--max-read-ms: 'north' is not a datacenter with clients"),
        (("--max-total-rf", "0"), "--max-total-rf: must be a whole number >= 1"),
        (("--target", "1"), "--target: must be a probability in (0, 1)"),
        (("--n", "3..5"), "--n: not with --scenario"),
        (("--profile", "lnkd-ssd"), "--profile: not with --scenario"),
        (("--trials", "1000000"), "--trials: 561 candidates x 4 DC pairs x 1,000,000 trials"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(scenario: Path, args: tuple[str, ...], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(["recommend", "--scenario", str(scenario), "--trials", "200", *args], capsys)
    assert code == 2 and out == "", (out, err)
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_cli_topology_options_need_a_scenario_with_datacenters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(["recommend", "--profile", "lnkd-ssd", "--rf", "1..3"], capsys)
    assert code == 2 and "--rf: needs --scenario FILE with [topology]" in err and len(err.strip().splitlines()) == 1
    flat = tmp_path / "flat.toml"
    flat.write_text('[latency]\nprofile = "lnkd-ssd"\n')
    code, out, err = run_in_process(["recommend", "--scenario", str(flat)], capsys)
    assert code == 2 and f"{flat}: topology: has no datacenters" in err and len(err.strip().splitlines()) == 1


def test_the_example_scenario_loads(capsys: pytest.CaptureFixture[str]) -> None:
    """experiments/dc_pairs.toml, as docs/guide/recommend.md runs it (small)."""
    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "experiments" / "dc_pairs.toml")
    code, out, err = run_in_process(["recommend", "--scenario", str(root / "experiments" / "dc_pairs.toml"),
                                     "--rf", "1..2", "--read-levels", "LOCAL_QUORUM,QUORUM", "--write-levels",
                                     "LOCAL_QUORUM,EACH_QUORUM", "--trials", "1000", "--max-read-ms", "5"], capsys)
    assert code == 0, err
    assert out.startswith(f"lnkd-disk: {len(sc.topology.datacenters)} datacenters")
