"""Issue 9 through the real entry point: every bad input refused with one line and a documented exit
status before any work, every output directory written as a unit, every JSON output strict.

Exit statuses (README "Exit statuses"): 0 ok; 1 a sweep replication failed or did not run; 2 bad
input (config file, option, value) or a usage error, before any work; 3 the operating system refused
a file operation (read-only file system, permission, name too long, not a directory); 130 interrupted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_in_process import run_cli

SMALL = """
[cluster]
nodes = 3
[latency]
profile = "lnkd-ssd"
[workload]
keys = 20
rate_per_s = 2000
duration_ms = 200
warmup_ms = 10
[run]
seed = 3
"""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strict_loads(text: str) -> Any:
    """A strict parser: NaN, Infinity and -Infinity are errors (as in JavaScript, Go, jq...)."""
    return json.loads(text, parse_constant=_reject_constant)


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("pbs-sim: error: "), err
    return lines[0]


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[..., Path]:
    def make(extra: str = "", name: str = "s.toml", body: str = SMALL) -> Path:
        p = tmp_path / name
        p.write_text(body + extra)
        return p

    return make


# ---------------------------------------------------------------------------------------------
# item 6: strict JSON everywhere


def test_run_json_and_manifest_are_strict_json(
    scenario: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a disk-loss rate so low that nothing is lost: the MTTDL estimate is infinite
    sc = scenario("[faults]\ndisk_loss_mttf_ms = 1e9\n")
    code, out, err = run_cli(["run", str(sc), "--json", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    summary = strict_loads(out)
    assert summary["mttdl_ms_estimate"] is None
    manifest = strict_loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["summary"]["mttdl_ms_estimate"] is None


def test_sweep_parts_are_strict_json_and_keep_infinities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sw = tmp_path / "sw.toml"
    sw.write_text(
        '[sweep]\nengine = "predict"\nreplications = 1\nseed = 1\n'
        '[base.latency]\nprofile = "lnkd-ssd"\n[base.predict]\ntrials = 2000\ntarget = 1.0\n'
    )
    code, _, err = run_cli(["sweep", str(sw), "-j", "1", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    for part in (tmp_path / "o" / ".parts").iterdir():
        strict_loads(part.read_text())
    strict_loads((tmp_path / "o" / "manifest.json").read_text())
