"""YCSB core workloads (pbs_sim.ycsb, pbs_sim.sim.ycsb): each generator against its definition.

Frequency checks are chi-square tests of many draws against the generator's exact probability mass
function, computed from YCSB's definition (Gray et al.'s zipfian algorithm, the fnv scrambling, the
hotspot sets, the latest generator's shifted zipfian), at significance 1e-4 per test, with fixed
seeds (derandomized: the same draws every run, but the bound is theory's, not a pinned number).
``test_chi_square_has_power`` shows the same check rejects a near miss (the plain Zipf law Gray's
algorithm approximates), so it can fail. Key names are checked against YCSB's own output (BasicDB's
load of the first records).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pbs_sim import ycsb as y
from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.simulation import simulate
from tests.cli_in_process import run_cli

ALPHA = 1e-4


def chi_square_ok(counts: np.ndarray, pmf: np.ndarray, draws: int, min_expected: float = 5.0) -> tuple[bool, float]:
    """Pearson's chi-square of ``counts`` against ``draws * pmf``, cells with fewer than
    ``min_expected`` expected draws pooled into one; returns (not rejected at ALPHA, p-value)."""
    exp = pmf * draws
    small = exp < min_expected
    obs = np.append(counts[~small], counts[small].sum())
    ex = np.append(exp[~small], exp[small].sum())
    keep = ex > 0
    assert obs[~keep].sum() == 0, "draws where the definition puts no mass"
    stat = float(((obs[keep] - ex[keep]) ** 2 / ex[keep]).sum())
    p = float(stats.chi2.sf(stat, keep.sum() - 1))
    return p > ALPHA, p


def java_fnvhash64(val: int) -> int:
    """YCSB's Utils.fnvhash64, line by line, in Java's signed 64-bit arithmetic."""
    def signed(x: int) -> int:
        x &= (1 << 64) - 1
        return x - (1 << 64) if x >> 63 else x

    h = signed(0xCBF29CE484222325)
    for _ in range(8):
        octet = val & 0xFF
        val >>= 8
        h = signed(h ^ octet)
        h = signed(h * 1099511628211)
    return h if h >= 0 else (h if h == -(1 << 63) else -h)


def test_key_names_are_ycsbs() -> None:
    # YCSB's BasicDB prints these for the first three records of a load (insertorder = hashed)
    spec = y.YcsbSpec("a")
    assert [y.key_name(i, spec) for i in range(3)] == [
        "user6284781860667377211", "user8517097267634966620", "user1820151046732198393"]
    ordered = y.YcsbSpec("a", ordered_inserts=True, zeropadding=5)
    assert y.key_name(42, ordered) == "user00042"
    vals = np.random.default_rng(3).integers(0, 2**62, 200)
    assert y.fnvhash64(vals).tolist() == [java_fnvhash64(int(v)) for v in vals]


def test_zeta_matches_ycsbs_precomputed_constant() -> None:
    # ScrambledZipfianGenerator.ZETAN is YCSB's sum of 10^10 terms; ours is Euler-Maclaurin
    assert y.zeta(y.ITEM_COUNT, 0.99) == pytest.approx(y.ZETAN, rel=1e-11)
    assert y.zeta(20_000_000, 0.7) == pytest.approx(y.zeta_range(0, 20_000_000, 0.7), rel=1e-13)


def test_zipfian_follows_grays_algorithm(rng: np.random.Generator) -> None:
    g = y.Zipfian(0, 499, 0.99, rng)
    pmf = g.pmf()
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    # ranks 0 and 1 are Zipf's exactly (the algorithm's first two branches)
    assert pmf[:2] == pytest.approx([1 / g.zetan, 0.5 ** 0.99 / g.zetan], rel=1e-12)
    draws = 400_000
    ok, p = chi_square_ok(np.bincount(g.block(draws), minlength=500), pmf, draws)
    assert ok, p


def test_chi_square_has_power(rng: np.random.Generator) -> None:
    # the same check rejects the plain Zipf law that Gray's algorithm approximates
    g = y.Zipfian(0, 499, 0.99, rng)
    zipf = 1 / np.arange(1, 501) ** 0.99
    ok, _ = chi_square_ok(np.bincount(g.block(400_000), minlength=500), zipf / zipf.sum(), 400_000)
    assert not ok


def test_scrambled_zipfian_matches_its_definition(rng: np.random.Generator) -> None:
    s = y.ScrambledZipfian(0, 999, 0.99, rng)
    pmf, spread = s.pmf()
    # the ranks beyond the first 2e6 (38 % of the mass) are spread evenly; their uneven hashing
    # moves a key's mass by ~0.3 % of its share, far below the Poisson noise of these counts (~3 %)
    assert 0.3 < spread < 0.45
    draws = 1_000_000
    ok, p = chi_square_ok(np.bincount(s.block(draws), minlength=1000), pmf, draws)
    assert ok, p
    # the hottest key is fnvhash64(0) % 1000 (rank 0), where YCSB puts it
    assert int(np.argmax(pmf)) == y.fnvhash64(np.array([0]))[0] % 1000


def test_hotspot_and_uniform(rng: np.random.Generator) -> None:
    h = y.Hotspot(0, 999, 0.2, 0.8, rng)
    ok, p = chi_square_ok(np.bincount(h.block(300_000), minlength=1000), h.pmf(), 300_000)
    assert ok, p
    assert h.pmf()[:200].sum() == pytest.approx(0.8)
    u = y.Uniform(0, 99, rng)
    ok, p = chi_square_ok(np.bincount(u.block(100_000), minlength=100), np.full(100, 0.01), 100_000)
    assert ok, p


def test_latest_is_skewed_to_the_newest_insert(rng: np.random.Generator) -> None:
    spec = y.YcsbSpec("d", read=0.95, update=0.0, insert=0.05, distribution="latest")
    kc = y.KeyChooser(spec, 1000, 0, rng)
    draws = 300_000
    keys = np.array([kc() for _ in range(draws)])
    assert keys.min() >= 1 and keys.max() <= 999  # max - z, z in 0..max-1: key 0 is never drawn
    assert kc.latest is not None
    z_pmf = kc.latest.pmf(999)
    key_pmf = np.zeros(1000)
    key_pmf[999 - np.arange(999)] = z_pmf
    ok, p = chi_square_ok(np.bincount(keys, minlength=1000), key_pmf, draws)
    assert ok, p
    # inserts grow the key space once acknowledged, contiguously (AcknowledgedCounterGenerator)
    a, b = kc.inserts.next(), kc.inserts.next()
    kc.inserts.acknowledge(b)
    assert kc.inserts.last == 999  # 1000 not yet back: 1001 does not count
    kc.inserts.acknowledge(a)
    assert kc.inserts.last == 1001
    for _ in range(300):
        kc.inserts.acknowledge(kc.inserts.next())
    kc()
    last = kc.inserts.last
    assert last == 1301
    # YCSB grows zeta incrementally and keeps eta on the first item count (999)
    assert kc.latest.zetan == pytest.approx(y.zeta(last, 0.99), rel=1e-12)
    eta = (1 - (2 / 999) ** 0.01) / (1 - y.zeta(2, 0.99) / y.zeta(last, 0.99))
    assert kc.latest.eta == pytest.approx(eta, rel=1e-12)
    keys = np.array([kc() for _ in range(draws)])
    key_pmf = np.zeros(last + 1)
    key_pmf[last - np.arange(last)] = kc.latest.pmf(last)
    ok, p = chi_square_ok(np.bincount(keys, minlength=last + 1), key_pmf, draws)
    assert ok, p


def test_zipfian_with_inserts_redraws_keys_not_yet_inserted(rng: np.random.Generator) -> None:
    spec = y.YcsbSpec("x", read=0.9, update=0.0, insert=0.1, distribution="zipfian")
    kc = y.KeyChooser(spec, 100, 1000, rng)  # 200 expected new keys: the chooser spans 0..300
    assert isinstance(kc.gen, y.ScrambledZipfian) and kc.gen.itemcount == 301
    keys = np.array([kc() for _ in range(50_000)])
    assert keys.max() <= 99
    # conditioned on the inserted keys, the frequencies are the scrambled pmf renormalized
    pmf, _ = kc.gen.pmf()
    ok, p = chi_square_ok(np.bincount(keys, minlength=301), pmf / pmf[:100].sum() * (np.arange(301) < 100), 50_000)
    assert ok, p


def test_operation_mix(rng: np.random.Generator) -> None:
    spec = y.load_spec("f", None, None)
    ch = y.OperationChooser(spec, rng)
    ops = np.array([ch() for _ in range(100_000)])
    ok, p = chi_square_ok(np.bincount(ops, minlength=5), np.array(spec.proportions), 100_000)
    assert ok, p
    assert set(ops.tolist()) == {y.READ, y.RMW}


# -- properties files and config ----------------------------------------------------------------


def _props(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "w.properties"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("text", "reason"), [
    ("readproportion=0.5\nupdateproportion=0.5\nrequestdistribution=pareto\n", "'pareto' is not supported"),
    ("readproportion=0.5\nupdateproportion=0.4\n", "sum to 0.9, not 1"),
    ("readproportion=0.5\nreadmodifywriteproportion=0.5\n", "YCSB's defaults apply"),
    ("readproportion=0\nupdateproportion=0\nscanproportion=0.95\ninsertproportion=0.05\n", "no meaning"),
    ("readproportion=0.5\nupdateproportion=0.5\nrequestdistribution=exponential\n", "YCSB defines it"),
    ("readproportion=1\nupdateproportion=0\nrecordcount=0\n", "recordcount: must be in [1"),
    ("readproportion=1\nupdateproportion=0\nreadprop=1\n", "unknown YCSB property"),
    ("readproportion=x\n", "expected a number"),
    ("readproportion=0.9\nupdateproportion=0\ninsertproportion=0.1\nrequestdistribution=zipfian\n", "operationcount"),
])
def test_bad_properties_are_one_line(tmp_path: Path, text: str, reason: str) -> None:
    path = _props(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict({"workload": {"kind": "closed", "ycsb": str(path)}}, source="s.toml")
    msg = str(exc.value)
    assert reason in msg and "\n" not in msg


def test_workload_e_and_unknown_letters_are_refused() -> None:
    with pytest.raises(ConfigError, match="no meaning for a key-value quorum model"):
        scenario_from_dict({"workload": {"ycsb": "e"}})
    with pytest.raises(ConfigError, match="not a YCSB core workload"):
        scenario_from_dict({"workload": {"ycsb": "g"}})
    with pytest.raises(ConfigError, match="sets the operation mix"):
        scenario_from_dict({"workload": {"ycsb": "a", "read_fraction": 0.5}})
    with pytest.raises(ConfigError, match="open or closed"):
        scenario_from_dict({"workload": {"ycsb": "a", "kind": "pbs-probe"}})


def test_cli_bad_properties_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = tmp_path / "s.toml"
    sc.write_text('[workload]\nkind = "closed"\nycsb = "missing.properties"\n')
    code, out, err = run_cli(["run", str(sc)], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "missing.properties does not exist" in lines[0]
    _props(tmp_path, "readproportion=0.7\nupdateproportion=0.2\n")
    sc.write_text('[workload]\nkind = "closed"\nycsb = "w.properties"\n')
    code, out, err = run_cli(["run", str(sc)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "w.properties" in err and "not 1" in err


def test_properties_set_records_clients_and_target(tmp_path: Path) -> None:
    _props(tmp_path, "# YCSB\nrecordcount = 300\noperationcount: 50\nthreadcount 4\ntarget=200\n"
                     "readproportion=0.5\nupdateproportion=0.5\nrequestdistribution=hotspot\nfieldcount=1\n")
    sc = scenario_from_dict({"workload": {"kind": "closed", "ycsb": "w.properties"}}, base_dir=tmp_path)
    w = sc.workload
    assert (w.keys, w.clients, w.ycsb_target_per_s) == (300, 4, 200.0)
    assert w.ycsb_spec.distribution == "hotspot" and w.ycsb_spec.operationcount == 50
    assert str((tmp_path / "w.properties").resolve()) in sc.inputs
    with pytest.raises(ConfigError, match="recordcount = 300; give one of the two"):
        scenario_from_dict({"workload": {"kind": "closed", "ycsb": "w.properties", "keys": 10}}, base_dir=tmp_path)
    assert sc.with_overrides({"run.seed": 3}).workload.keys == 300  # round-trips through to_dict


# -- on the simulator ---------------------------------------------------------------------------

BASE = {
    "cluster": {"nodes": 5, "replication": 3, "read_quorum": 1, "write_quorum": 1},
    "latency": {"w": "0.5", "a": "0.5", "r": "0.5", "s": "0.5"},
}


def _run(workload: dict[str, object]) -> dict:
    sc = scenario_from_dict({**BASE, "workload": workload})
    return simulate(sc, seed=1, record_ops=True).frames()  # type: ignore[no-any-return]


def test_operationcount_ends_a_closed_run_split_over_threads(tmp_path: Path) -> None:
    _props(tmp_path, "recordcount=200\noperationcount=503\nthreadcount=7\nreadproportion=0.5\nupdateproportion=0.5\n")
    sc = scenario_from_dict({**BASE, "workload": {"kind": "closed", "ycsb": "w.properties", "think_time": "0",
                                                  "warmup_ms": 0, "duration_ms": 1e6}}, base_dir=tmp_path)
    ops = simulate(sc, seed=1, record_ops=True).frames()["ops"]
    per = ops.groupby("client").size()
    assert per.sum() == 503  # YCSB: 503 // 7 = 71 each, one more for the first 503 % 7 = 6 threads
    assert sorted(per.tolist()) == [71] + [72] * 6 and per[0] == 72 and per[6] == 71


def test_target_paces_closed_clients() -> None:
    # 10 threads at 2,000 ops/s in all: each thread's i-th op at its start + i * 5 ms
    frames = _run({"kind": "closed", "ycsb": "c", "clients": 10, "ycsb_target_per_s": 2000.0, "think_time": "0",
                   "warmup_ms": 0, "duration_ms": 1000})
    ops = frames["ops"]
    assert abs(len(ops) - 2000) <= 10
    gaps = ops.sort_values("issued_at").groupby("client")["issued_at"].diff().dropna()
    assert gaps.to_numpy() == pytest.approx(5.0)


def test_workload_d_inserts_new_keys_and_reads_recent_ones() -> None:
    frames = _run({"kind": "closed", "ycsb": "d", "clients": 10, "keys": 500, "think_time": "0",
                   "preload": True, "preload_rate_per_s": 100_000, "warmup_ms": 0, "duration_ms": 2000})
    ops = frames["ops"]
    main = ops[ops.client < 10]
    writes, reads = main[main.kind == "write"], main[main.kind == "read"]
    # inserts take the keys after the records, in order (transactioninsertkeysequence)
    assert writes.key.tolist() == list(range(500, 500 + len(writes)))
    # a read's key was inserted (and returned) before the read was issued
    done = writes.set_index("key")["completed_at"]
    late = reads[reads.key >= 500]
    assert len(late) > 0.5 * len(reads)  # "latest": most reads go to the newest keys
    assert (done.loc[late.key].to_numpy() <= late.issued_at.to_numpy()).all()
    # the mix: 5 % inserts within a binomial 99.99 % interval
    n, k = len(main), len(writes)
    lo, hi = stats.binom.interval(1 - ALPHA, n, 0.05)
    assert lo <= k <= hi


def test_workload_f_read_modify_writes() -> None:
    frames = _run({"kind": "closed", "ycsb": "f", "clients": 10, "think_time": "0", "warmup_ms": 0,
                   "duration_ms": 1000})
    ops = frames["ops"]
    rmw = frames["rmw_reads"]
    writes = ops[ops.kind == "write"]
    assert len(writes) > 0 and set(rmw.op_id) == set(writes.op_id)  # every write updates a read
    paired = ops.set_index("op_id").loc[rmw.read_op]
    assert (paired.key.to_numpy() == ops.set_index("op_id").loc[rmw.op_id].key.to_numpy()).all()
    # of YCSB's operations half are RMWs (a read and a write each): writes / ops ~ 1/3
    n_ycsb = len(ops) - len(writes)
    lo, hi = stats.binom.interval(1 - ALPHA, n_ycsb, 0.5)
    assert lo <= len(writes) <= hi


def test_records_are_named_and_placed_as_ycsb_names_them() -> None:
    from pbs_sim.keys import murmur3_token
    from pbs_sim.sim.build import build

    sc = scenario_from_dict({**BASE, "workload": {"kind": "closed", "ycsb": "d", "clients": 3, "keys": 20,
                                                  "think_time": "0", "warmup_ms": 0, "duration_ms": 200}})
    model = build(sc)
    # the ring places record 0 where Cassandra's Murmur3Partitioner puts YCSB's "user6284781860667377211"
    assert model.ring.key_position(0) == murmur3_token(b"user6284781860667377211")
    model.run()
    ops = model.history.to_frame("ops", names=True)
    spec = sc.workload.ycsb_spec
    assert (ops.key_name == [y.key_name(k, spec) for k in ops.key]).all()
    assert ops.key.max() >= 20  # inserts: new records, named the same way


def test_work_bound_counts_ycsbs_target_and_operationcount(tmp_path: Path) -> None:
    # 10^4 back-to-back threads for 10^6 ms would be ~10^10 operations: refused
    wl = {"kind": "closed", "ycsb": "b", "clients": 10_000, "think_time": "0", "duration_ms": 1e6}
    with pytest.raises(ConfigError, match="at most 10,000,000 per run"):
        scenario_from_dict({"workload": wl})
    # paced at 1,000 ops/s in all they issue ~10^6: accepted
    scenario_from_dict({"workload": {**wl, "ycsb_target_per_s": 1000.0}})
    # so is a properties file's operationcount of 10^6
    _props(tmp_path, "operationcount=1000000\nreadproportion=0.95\nupdateproportion=0.05\nrequestdistribution=zipfian\n")
    scenario_from_dict({"workload": {**wl, "ycsb": "w.properties"}}, base_dir=tmp_path)


def test_properties_messages_write_numbers_in_full(tmp_path: Path) -> None:
    _props(tmp_path, "readproportion=1\nupdateproportion=0\ntarget=5e13\n")
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict({"workload": {"kind": "closed", "ycsb": "w.properties"}}, base_dir=tmp_path)
    assert "must be in [0, 1,000,000,000,000]" in str(exc.value) and "e+" not in str(exc.value)
