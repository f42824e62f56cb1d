"""Trace replay (workload.kind = "trace"; pbs_sim.traces, pbs_sim.sim.trace).

A run's own ``ops`` table (``pbs-sim run --ops``, CSV and Parquet) replays to the same operation
stream: every operation at the same instant, by the same client, of the same kind, on the same key
(index and name), writing the same value.
User traces (CSV, JSONL, Parquet) replay their rows, with time scaling and key remapping; bad traces
are one line naming the file, the row and the reason, exit 2, before any work; a trace that turns bad
after it was checked (changed on disk) still ends the run with that line. Streaming: the replay never
holds more than one batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pbs_sim import traces
from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.simulation import simulate
from tests.cli_in_process import run_cli

CLUSTER = '[cluster]\nnodes = 5\nreplication = 3\nread_quorum = 1\nwrite_quorum = 2\n'
SOURCE = CLUSTER + """[workload]
kind = "open"
rate_per_s = 2000
keys = 50
key_distribution = "zipf(s=0.9)"
read_fraction = 0.6
write_pattern = "rmw"
rmw_gap = "exponential(mean=2)"
hot_key = "hot"
hot_key_writers_per_s = [300.0]
preload = true
preload_rate_per_s = 5000
warmup_ms = 100
duration_ms = 500
"""
STREAM = ["issued_at", "client", "kind", "key"]


def _replay_toml(trace: str, extra: str = "") -> str:
    return CLUSTER + f'[workload]\nkind = "trace"\ntrace = "{trace}"\nwarmup_ms = 100\n{extra}'


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_replaying_a_runs_own_ops_reproduces_its_operation_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str,
) -> None:
    src = tmp_path / "src.toml"
    src.write_text(SOURCE)
    code, _, err = run_cli(["run", str(src), "--ops", "--out", str(tmp_path / "a"), "--format", fmt, "--seed", "4"], capsys)
    assert code == 0, err
    # the same numeric key count, so a named key gets the same index (names match whatever it is)
    (tmp_path / "b.toml").write_text(_replay_toml(f"a/ops.{fmt}", "keys = 50\n"))
    code, _, err = run_cli(["run", str(tmp_path / "b.toml"), "--ops", "--out", str(tmp_path / "b"), "--format", fmt,
                            "--seed", "9"], capsys)
    assert code == 0, err
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    a, b = read(tmp_path / "a" / f"ops.{fmt}"), read(tmp_path / "b" / f"ops.{fmt}")
    assert len(a) > 1000 and (a.kind == "write").sum() > 300  # preload, rmw writes and hot-key writes
    assert "hot" in set(a.key_name)  # a named key (interned after the 50 numeric ones) replays by its name
    same = [*STREAM, "key_name"]
    pd.testing.assert_frame_equal(a[same].reset_index(drop=True), b[same].reset_index(drop=True))
    # and the same stream writes the same (client:seq) values (what reads return is the run's own)
    wa, wb = a[a.kind == "write"], b[b.kind == "write"]
    assert wa.value.tolist() == wb.value.tolist()


def _user_trace(tmp_path: Path, rows: list[dict[str, object]], fmt: str) -> Path:
    path = tmp_path / f"t.{fmt}"
    frame = pd.DataFrame(rows)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


ROWS: list[dict[str, object]] = [
    {"at_ms": 0.0, "client": 0, "op": "write", "key": "cart", "value": "milk"},
    {"at_ms": 0.0, "client": 1, "op": "write", "key": "cart", "value": "eggs"},
    {"at_ms": 5.0, "client": 0, "op": "read", "key": "cart"},
    {"at_ms": 7.5, "client": 1, "op": "rmw", "key": "list"},
    {"at_ms": 20.0, "client": 2, "op": "read", "key": "list"},
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_user_trace_replays_with_scaled_times_and_dense_keys(tmp_path: Path, fmt: str) -> None:
    path = _user_trace(tmp_path, ROWS, fmt)
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 1, "write_quorum": 1},
        "latency": {"w": "1", "a": "1", "r": "1", "s": "1"},
        "workload": {"kind": "trace", "trace": path.name, "trace_time_scale": 2.0, "trace_keys": "dense", "warmup_ms": 0},
    }, base_dir=tmp_path)
    assert sc.workload.trace_info.rows == 5 and sc.workload.trace_info.rmw_rows == 1
    assert str(path.resolve()) in sc.inputs  # its digest is part of the scenario's (and a sweep's) identity
    ops = simulate(sc, seed=1, record_ops=True).frames()["ops"]
    # the rmw's read at 15 ms returns at 17 ms (R + S); its write follows at once (rmw_gap = 0)
    assert ops[STREAM].values.tolist() == [
        [0.0, 0, "write", 0], [0.0, 1, "write", 0], [10.0, 0, "read", 0], [15.0, 1, "read", 1],
        [17.0, 1, "write", 1], [40.0, 2, "read", 1]]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_trace_keys_are_names_and_writes_carry_the_traces_values(tmp_path: Path, fmt: str) -> None:
    rows = [*ROWS, {"at_ms": 30.0, "client": 2, "op": "write", "key": "7", "value": ""}]
    path = _user_trace(tmp_path, rows, fmt)
    sc = scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "warmup_ms": 0, "keys": 10}})
    ops = simulate(sc, seed=1, record_ops=True).frames()["ops"]
    # "cart" and "list" are interned after the 10 numeric keys; "7" is numeric key 7
    assert ops.key_name.tolist() == ["cart", "cart", "cart", "list", "list", "list", "7"]
    assert ops.key.tolist() == [10, 10, 10, 11, 11, 11, 7]
    writes = ops[ops.kind == "write"]
    # the trace's values are written; an empty or missing value is the default client:seq (client 1's
    # rmw write is its second write, "eggs" the first)
    assert writes.value.tolist() == ["milk", "eggs", "1:2", "2:1"]


def test_modulo_keys_fold_the_key_space(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"at_ms": float(i), "client": 0, "op": "write", "key": 1000 + i} for i in range(6)]
    path = _user_trace(tmp_path, rows, "csv")
    sc = scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "trace_keys": "modulo", "keys": 4}})
    ops = simulate(sc, seed=1, record_ops=True).frames()["ops"]
    assert ops.key.tolist() == [0, 1, 2, 3, 0, 1]


BAD = [
    ([{"at_ms": 0, "client": 0, "op": "read", "key": 1}, {"at_ms": 1, "client": 0, "op": "scan", "key": 1}],
     "row 2 (line 3): unknown op 'scan'"),
    ([{"at_ms": 5, "client": 0, "op": "read", "key": 1}, {"at_ms": 6, "client": 0, "op": "read", "key": 1},
      {"at_ms": 4, "client": 0, "op": "read", "key": 1}], "row 3 (line 4): times are not sorted"),
    ([{"at_ms": 0, "client": 0, "key": 1}], "missing column op"),
    ([{"at_ms": 0, "client": -1, "op": "read", "key": 1}], "row 1 (line 2): client must be an integer"),
    # a script's context column would be dropped silently: refused, naming where contexts are taken
    ([{"at_ms": 0, "client": 0, "op": "write", "key": 1, "context": "x"}],
     "column 'context': a trace replays no per-operation contexts"),
]


@pytest.mark.parametrize(("rows", "reason"), BAD)
def test_bad_traces_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[dict[str, object]], reason: str,
) -> None:
    _user_trace(tmp_path, rows, "csv")
    (tmp_path / "s.toml").write_text(_replay_toml("t.csv"))
    code, out, err = run_cli(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert reason in lines[0]
    assert "t.csv" in lines[0] or "s.toml" in lines[0]
    assert not (tmp_path / "o").exists()  # refused before any work


def test_missing_trace_and_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.toml").write_text(_replay_toml("nope.csv"))
    code, _, err = run_cli(["validate", str(tmp_path / "s.toml")], capsys)
    assert code == 2 and "nope.csv does not exist" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "t.txt").write_text("at_ms,client,op,key\n")
    (tmp_path / "s.toml").write_text(_replay_toml("t.txt"))
    code, _, err = run_cli(["validate", str(tmp_path / "s.toml")], capsys)
    assert code == 2 and "unknown trace format '.txt'" in err


def test_a_trace_changed_after_its_check_still_ends_with_one_line(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"at_ms": float(i), "client": 0, "op": "read", "key": 1} for i in range(10)]
    path = _user_trace(tmp_path, rows, "csv")
    sc = scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "warmup_ms": 0}})
    rows[7]["at_ms"] = 1.5  # now unsorted at row 8, after the config checked it
    _user_trace(tmp_path, rows, "csv")
    with pytest.raises(traces.TraceError, match=r"row 8 \(line 9\): times are not sorted"):
        simulate(sc, seed=1)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_the_replay_streams_one_batch_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    rows: list[dict[str, object]] = [
        {"at_ms": float(i // 3), "client": i % 5, "op": "read" if i % 4 else "write", "key": i % 17} for i in range(3000)]
    path = _user_trace(tmp_path, rows, fmt)
    monkeypatch.setattr(traces, "BATCH_ROWS", 128)
    monkeypatch.setattr(traces, "BLOCK_BYTES", 4096)
    # Parquet: 128 rows a batch; CSV and JSONL: the whole lines of one 4 kB block (lines >= 13 bytes)
    bound = 128 if fmt == "parquet" else 4096 // 13 + 1
    sc = scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "warmup_ms": 0}})
    from pbs_sim.sim import build

    model = build.build(sc)
    held: list[int] = []
    fill = model.workload._fill  # type: ignore[attr-defined]

    def spy() -> bool:
        ok = fill()
        held.append(len(model.workload._at))  # type: ignore[attr-defined]
        return ok  # type: ignore[no-any-return]

    model.workload._fill = spy  # type: ignore[attr-defined]
    history = model.run()
    assert history.n_ops == 3000
    assert max(held) <= bound and len(held) >= 3000 // bound


def test_modulo_needs_integer_keys(tmp_path: Path) -> None:
    path = _user_trace(tmp_path, ROWS, "csv")
    with pytest.raises(ConfigError, match="modulo folds integer keys"):
        scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "trace_keys": "modulo"}})


def test_trace_keys_need_kind_trace() -> None:
    with pytest.raises(ConfigError, match="replayed by kind = 'trace'"):
        scenario_from_dict({"workload": {"trace": "x.csv"}})
    with pytest.raises(ConfigError, match="needs workload.trace"):
        scenario_from_dict({"workload": {"kind": "trace"}})


def test_unsorted_rows_found_while_streaming_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the up-front scan is made lenient (as if the file changed after it), so only the replay's own
    # per-batch check can catch the unsorted row: the run must still end with one line, exit 2
    rows: list[dict[str, object]] = [{"at_ms": float(i), "client": 0, "op": "read", "key": 1} for i in range(10)]
    rows[6]["at_ms"] = 0.5
    _user_trace(tmp_path, rows, "csv")
    scan = traces.scan_trace

    def lenient(*args: object, **kwargs: object) -> traces.TraceInfo:
        with monkeypatch.context() as m:
            m.setattr(traces, "_check", lambda *a, **k: None)
            return scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(traces, "scan_trace", lenient)
    (tmp_path / "s.toml").write_text(_replay_toml("t.csv"))
    code, _, err = run_cli(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o")], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "t.csv: row 7 (line 8): times are not sorted" in lines[0]


def test_csv_reading_holds_one_block_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pyarrow's streaming csv.open_csv reads blocks ahead without bound on a fast disk (its
    # allocations reached the file's size); the trace reader must stay near one block
    n = 100_000
    path = tmp_path / "t.csv"
    pd.DataFrame({"at_ms": [i * 0.1 for i in range(n)], "client": [i % 7 for i in range(n)],
                  "op": ["read"] * n, "key": [i % 97 for i in range(n)]}).to_csv(path, index=False)
    monkeypatch.setattr(traces, "BLOCK_BYTES", 16_384)
    peak = rows = 0
    for b in traces.batches(path, "csv", traces.USER_COLUMNS):
        rows += len(b.at_ms)
        peak = max(peak, pa.total_allocated_bytes())
    assert rows == n and path.stat().st_size > 1_500_000
    assert peak < 400_000, peak  # a few blocks' worth, not the 1.7 MB file


def test_jsonl_values_may_be_absent_from_whole_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[dict[str, object]] = [{"at_ms": 0.0, "client": 0, "op": "write", "key": 1, "value": "v"}]
    rows += [{"at_ms": float(i), "client": 0, "op": "write", "key": 1} for i in range(1, 400)]
    path = _user_trace(tmp_path, rows, "jsonl")
    monkeypatch.setattr(traces, "BLOCK_BYTES", 1024)  # later blocks carry no value field at all
    sc = scenario_from_dict({"workload": {"kind": "trace", "trace": str(path), "warmup_ms": 0}})
    ops = simulate(sc, seed=1, record_ops=True).frames()["ops"]
    assert ops.value.tolist() == ["v", *[f"0:{i}" for i in range(2, 401)]]
