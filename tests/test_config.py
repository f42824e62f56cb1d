"""Scenario configuration: validation errors name file, key and reason; to_dict round trips; overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbs_sim.config import Scenario, load_scenario, scenario_from_dict
from pbs_sim.distributions import Exponential, parse
from pbs_sim.errors import ConfigError
from pbs_sim.profiles import BUILTIN

FULL = """
[cluster]
nodes = 5
replication = 3
read_quorum = 2
write_quorum = 1
read_fanout = "quorum"

[latency]
profile = "lnkd-ssd"
w = "exponential(rate=0.5)"

[workload]
kind = "open"
keys = 100
key_distribution = "zipf(s=0.99)"
read_fraction = 0.8
rate_per_s = 2000
duration_ms = 5000
warmup_ms = 500

[run]
seed = 7

[predict]
trials = 5000
t_ms = [0, 1.5, 10]

[faults]
crash_mttf_ms = 3600000
[[faults.schedule]]
at_ms = 100
action = "crash"
nodes = [2]
duration_ms = 50

[read_repair]
mode = "async"
chance = 0.1

[anti_entropy]
mode = "merkle"
interval = "exponential(rate=0.0001)"
"""


def test_load_full_scenario(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(FULL)
    sc = load_scenario(f)
    assert sc.cluster.replication == 3 and sc.cluster.read_quorum == 2 and sc.cluster.read_fanout == "quorum"
    assert sc.latency.wars.w == Exponential(0.5)
    assert sc.latency.wars.a == BUILTIN["lnkd-ssd"].a
    assert sc.workload.key_distribution.kind == "zipf" and sc.workload.key_distribution.s == 0.99
    assert sc.predict.t_ms == (0.0, 1.5, 10.0) and sc.run.seed == 7
    assert sc.faults.schedule[0].nodes == (2,) and sc.faults.schedule[0].duration_ms == 50.0
    assert sc.anti_entropy.interval == parse("exponential(rate=0.0001)")
    assert sc.source == str(f)


def test_defaults() -> None:
    sc = Scenario()
    assert (sc.cluster.replication, sc.cluster.read_quorum, sc.cluster.write_quorum) == (3, 1, 1)
    assert sc.latency.profile == "lnkd-disk" and sc.latency.wars is BUILTIN["lnkd-disk"]


def test_round_trip_to_dict(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(FULL)
    sc = load_scenario(f)
    again = scenario_from_dict(sc.to_dict(), source="x", base_dir=tmp_path)
    assert again == sc
    assert again.to_dict() == sc.to_dict()
    assert scenario_from_dict(Scenario().to_dict()) == Scenario()


def test_with_overrides() -> None:
    sc = scenario_from_dict({"cluster": {"nodes": 5, "replication": 5}})
    changed = sc.with_overrides({"cluster.read_quorum": 3, "latency.profile": "ymmr", "predict.fanout": "quorum"})
    assert changed.cluster.read_quorum == 3 and changed.cluster.replication == 5
    assert changed.latency.wars is BUILTIN["ymmr"] and changed.predict.fanout == "quorum"
    assert sc.cluster.read_quorum == 1  # the original is untouched (frozen)
    with pytest.raises(ConfigError, match="cluster.read_quorum: R = 6 exceeds N = 5"):
        sc.with_overrides({"cluster.read_quorum": 6})
    with pytest.raises(ConfigError, match="cluster.bogus: unknown key"):
        sc.with_overrides({"cluster.bogus": 1})
    with pytest.raises(ConfigError, match="dotted key"):
        sc.with_overrides({"cluster": 1})


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"clusterr": {}}, "clusterr: unknown section"),
        ({"cluster": {"replica": 3}}, "cluster.replica: unknown key"),
        ({"cluster": {"read_quorum": 4}}, "cluster.read_quorum: R = 4 exceeds N = 3"),
        ({"cluster": {"write_quorum": 4}}, "cluster.write_quorum: W = 4 exceeds N = 3"),
        ({"cluster": {"write_quorum": 0}}, "cluster.write_quorum: must be >= 1, got 0"),
        ({"cluster": {"replication": 5}}, "cluster.replication: N = 5 exceeds cluster.nodes = 3"),
        ({"cluster": {"read_quorum": "two"}}, "cluster.read_quorum: expected an integer"),
        ({"cluster": {"read_quorum": 1.5}}, "cluster.read_quorum: expected an integer"),
        ({"cluster": {"read_fanout": "some"}}, "cluster.read_fanout: 'some' is not one of all, quorum"),
        ({"workload": {"read_fraction": 1.5}}, "workload.read_fraction: must be <= 1"),
        ({"workload": {"rate_per_s": -1}}, "workload.rate_per_s: must be > 0"),
        ({"workload": {"key_distribution": "zipf(q=1)"}}, "workload.key_distribution"),
        ({"latency": {"profile": "nope"}}, "latency.profile: unknown profile 'nope'"),
        ({"latency": {"w": "pareto(1,"}}, "latency.w: expected"),
        ({"predict": {"t_ms": [1, -2]}}, "predict.t_ms[1]: must be >= 0"),
        ({"predict": {"t_ms": 3}}, "predict.t_ms: expected a list"),
        ({"run": {"seed": True}}, "run.seed: expected an integer"),
        ({"faults": {"schedule": [{"action": "crash", "nodes": [9]}]}}, "faults.schedule[0].nodes: node 9"),
        ({"cluster": []}, "cluster: must be a table"),
    ],
)
def test_errors_name_the_key_and_reason(raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw, source="my.toml")
    msg = str(info.value)
    assert msg.startswith("my.toml: ") and needle in msg and "\n" not in msg


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    ok = tmp_path / "ok.toml"
    ok.write_text("[cluster]\nreplication = 3\n")
    with pytest.raises(ConfigError, match="R = 9 exceeds"):
        load_scenario(ok, overrides={"cluster.read_quorum": 9})


# -- bounded work everywhere (issue 17): every rate, list element and size meets one work bound


def test_the_fuzz_found_hot_writer_rate_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Accepted before, then a run that did not end: now ``validate`` and ``run`` refuse it, exit
    status 2, one line naming the element."""
    from cli_in_process import run_cli

    path = tmp_path / "hot.toml"
    path.write_text("[workload]\nhot_key_writers_per_s = [1000, 1000, 9223372036854775808]\n")
    for command in (["validate", str(path)], ["run", str(path), "--no-progress"]):
        code, out, err = run_cli(command, capsys)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and out == "" and len(lines) == 1, (command, code, err)
        assert lines[0].startswith(f"pbs-sim: error: {path}: workload.hot_key_writers_per_s[2]: ")
        assert "operations; at most 10,000,000 per run" in lines[0]


SLOPPY_CLUSTER = {"nodes": 5, "sloppy_quorum": True, "read_quorum": 2, "write_quorum": 2}


@pytest.mark.parametrize(
    ("raw", "key", "needle"),
    [
        # hot-key writers add to the main workload's operations, element by element
        ({"workload": {"hot_key_writers_per_s": [600_000, 600_000]}}, "workload.hot_key_writers_per_s[1]",
         "bringing the run to ~12,011,000 operations"),
        ({"workload": {"clients": 10**6, "hot_key_writers_per_s": [1.0]}}, "workload.hot_key_writers_per_s",
         "at most 1,000,000 in all"),
        # every time, list elements included, within the float-time bound
        ({"workload": {"duration_ms": 1e16}}, "workload.duration_ms", "beyond 1e+15 ms"),
        ({"workload": {"kind": "pbs-probe", "probe_offsets_ms": [0, 2e15]}}, "workload.probe_offsets_ms[1]",
         "beyond 1e+15 ms"),
        ({"predict": {"t_ms": [1e16]}}, "predict.t_ms[0]", "beyond 1e+15 ms"),
        ({"clocks": {"offsets_ms": [0, -1e300, 0]}}, "clocks.offsets_ms[1]", "beyond 1e+15 ms"),
        ({"faults": {"schedule": [{"at_ms": 2e15, "action": "crash", "nodes": [0]}]}}, "faults.schedule[0].at_ms",
         "beyond 1e+15 ms"),
        ({"faults": {"schedule": [{"action": "clock-jump", "nodes": [0], "jump_ms": -2e15}]}},
         "faults.schedule[0].jump_ms", "beyond 1e+15 ms"),
        # the run's horizon, wherever it comes from
        ({"workload": {"preload": True, "keys": 10, "preload_rate_per_s": 1e-12}}, "workload.preload_rate_per_s",
         "issue operations for ~1e+16 ms"),
        ({"workload": {"kind": "pbs-probe", "trials": 10**6, "probe_interval_ms": 1e10}}, "workload.probe_interval_ms",
         "issue operations for"),
        # hint sweeps over the same horizon as everything else (the preload was left out before)
        ({"cluster": SLOPPY_CLUSTER, "workload": {"preload": True, "keys": 10**6, "preload_rate_per_s": 1e-3},
          "hinted_handoff": {"store": "fallback"}}, "hinted_handoff.interval_ms", "events per run"),
        # background work goes on while operations wait for their timeouts (the run ends after them)
        ({"workload": {"duration_ms": 100, "warmup_ms": 0}, "cluster": {"read_timeout_ms": 1e12},
          "anti_entropy": {"mode": "merkle", "interval": "exponential(mean=1)"}}, "anti_entropy.interval",
         "exchanges; at most 100,000,000 per run"),
        # one hint's replay time
        ({"hinted_handoff": {"store": "coordinator", "hint_bytes": 2**62, "rate_bytes_per_s": 1}},
         "hinted_handoff.rate_bytes_per_s", "ms per hint; at most 1e+15 ms"),
    ],
)
def test_every_rate_list_element_and_size_meets_the_work_bound(raw: dict, key: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw, source="s.toml")
    msg = str(info.value)
    assert msg.startswith(f"s.toml: {key}: ") and needle in msg and "\n" not in msg, msg


def test_work_within_the_bounds_is_accepted() -> None:
    sc = scenario_from_dict({"workload": {"hot_key_writers_per_s": [1000, 1000, 1000], "duration_ms": 1e6,
                                          "warmup_ms": 0, "rate_per_s": 1}})
    assert sc.workload.hot_key_writers_per_s == (1000.0, 1000.0, 1000.0)  # 3e6 writes: within 1e7
    scenario_from_dict({"clocks": {"offsets_ms": [-1e15, 0, 1e15]}})  # the bound itself is allowed


# -- hinted handoff: fallback hints need sloppy quorums (issue 17)


def test_fallback_hints_without_sloppy_quorums_are_refused() -> None:
    """Validated "ok" and did nothing before (strict quorums have no fallbacks to keep hints)."""
    with pytest.raises(ConfigError, match=r"^s\.toml: hinted_handoff\.store: fallback hints are kept by the "
                                          r"fallbacks of sloppy quorums: set cluster\.sloppy_quorum = true"):
        scenario_from_dict({"hinted_handoff": {"store": "fallback"}}, source="s.toml")
    assert scenario_from_dict({"cluster": SLOPPY_CLUSTER, "hinted_handoff": {"store": "fallback"}}).cluster.sloppy_quorum
    assert scenario_from_dict({"hinted_handoff": {"store": "coordinator"}}).hinted_handoff.store == "coordinator"
