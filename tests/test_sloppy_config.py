"""Issue 12: bad input for sloppy quorums, hinted handoff and the failure detector — one line naming
file, key and reason, exit status 2, before any work — and the settings in ``validate --keys``."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_in_process import run_cli

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError

SLOPPY = {"cluster": {"nodes": 5, "sloppy_quorum": True, "write_quorum": 2, "read_quorum": 2}}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"cluster": {"write_quorum": 2, "pw": 3}}, "cluster.pw: PW = 3 exceeds W = 2"),
        ({"cluster": {"read_quorum": 1, "pr": 2}}, "cluster.pr: PR = 2 exceeds R = 1"),
        ({"cluster": {"read_quorum": "any"}}, "cluster.read_quorum: ANY is a write consistency level"),
        ({"cluster": {"write_quorum": "any"}}, 'cluster.write_quorum: "any" counts a stored hint as an ack'),
        ({"cluster": {"write_quorum": "any", "pw": 1}, "hinted_handoff": {"store": "coordinator"}},
         "cluster.pw: PW needs acks from primaries"),
        ({"hinted_handoff": {"max_window_ms": -5}}, "hinted_handoff.max_window_ms: must be >= 0, got -5"),
        ({"hinted_handoff": {"store": "disk"}}, "hinted_handoff.store: 'disk' is not one of off, fallback, coordinator"),
        ({"hinted_handoff": {"interval_ms": 0}}, "hinted_handoff.interval_ms: must be > 0"),
        ({**SLOPPY, "hinted_handoff": {"store": "coordinator"}}, "hinted_handoff.store: coordinator hints are Cassandra"),
        ({"cluster": {"fallback_walk": "vnodes"}}, "cluster.fallback_walk: 'vnodes' is not one of distinct, partitions"),
        ({"failure_detector": {"mode": "phi"}}, "failure_detector.mode: 'phi' is not one of off, perfect, delay"),
        ({"failure_detector": {"detect_delay": "normal("}}, "failure_detector.detect_delay"),
        ({"failure_detector": {"false_suspicion_rate_per_s": -1}}, "failure_detector.false_suspicion_rate_per_s"),
        ({**SLOPPY, "hinted_handoff": {"store": "fallback", "interval_ms": 1e-9}}, "hinted_handoff.interval_ms: 1e-09 ms sweeps"),
        ({"failure_detector": {"mode": "perfect", "false_suspicion_rate_per_s": 1e9}},
         "failure_detector.false_suspicion_rate_per_s: 1,000,000,000/s"),
    ],
)
def test_bad_input_names_file_key_and_reason(raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw, source="s.toml")
    msg = str(info.value)
    assert msg.startswith("s.toml: ") and needle in msg and "\n" not in msg


def test_write_any_round_trips_and_overrides_back_to_a_number() -> None:
    sc = scenario_from_dict({"cluster": {"write_quorum": "any"}, "hinted_handoff": {"store": "coordinator"}})
    assert sc.cluster.write_any and sc.cluster.write_quorum == 1
    d = sc.to_dict()
    assert d["cluster"]["write_quorum"] == "any" and "write_any" not in d["cluster"]
    assert scenario_from_dict(d) == sc
    two = sc.with_overrides({"cluster.write_quorum": 2})
    assert not two.cluster.write_any and two.cluster.write_quorum == 2


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[cluster]\nwrite_quorum = 2\npw = 3\n", "cluster.pw"),
        ("[cluster]\nread_quorum = \"any\"\n", "cluster.read_quorum"),
        ("[hinted_handoff]\nmax_window_ms = -1\n", "hinted_handoff.max_window_ms"),
        ("[hinted_handoff]\nstore = \"nowhere\"\n", "hinted_handoff.store"),
    ],
)
def test_cli_exits_2_with_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, needle: str,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    for cmd in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        code, out, err = run_cli(cmd, capsys)
        assert code == 2, (cmd, out, err)
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert len(lines) == 1 and str(path) in lines[0] and needle in lines[0]
        assert not (tmp_path / "out").exists()


def test_validate_keys_lists_the_new_settings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["validate", "--keys"], capsys)
    assert code == 0
    for key in ("cluster.sloppy_quorum", "cluster.pw", "cluster.pr", "cluster.fallback_walk",
                "failure_detector.mode", "failure_detector.detect_delay", "failure_detector.false_suspicion_rate_per_s",
                "hinted_handoff.store", "hinted_handoff.inactivity_timeout_ms", "hinted_handoff.max_window_ms",
                "hinted_handoff.interval_ms", "hinted_handoff.rate_bytes_per_s", "hinted_handoff.ttl_ms"):
        assert key in out
    assert "cluster.write_any" not in out and '"any"' in out
