"""Keys and values (pbs_sim.keys): key names, the ring's hashes, the value of every write and of every read.

References: Cassandra's Murmur3Partitioner tokens as the DataStax drivers pin them ("inputs and
result values from Cassandra": datastax/ruby-driver ``spec/cassandra/murmur3_spec.rb``,
datastax/csharp-driver ``src/Cassandra.Tests/TokenTests.cs``), which include keys whose tail bytes are
>= 0x80 (where Cassandra's sign extension departs from the reference MurmurHash3), and the replicas
the latter's token-map test expects of SimpleStrategy; the MD5 test suite of RFC 1321 (appendix A.5).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import Any

import numpy as np
import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.errors import ConfigError
from pbs_sim.export import elle_lines, jepsen_lines
from pbs_sim.history import OK
from pbs_sim.keys import (
    LONG_MAX,
    LONG_MIN,
    KeySpace,
    cassandra_murmur3_h1,
    client_write_seq,
    md5_position,
    murmur3_token,
    node_token,
)
from pbs_sim.sim.build import build
from pbs_sim.sim.network import CLIENT
from pbs_sim.sim.ring import Ring
from pbs_sim.simulation import simulate

# (key bytes, Cassandra's Murmur3Partitioner token)
CASSANDRA_TOKENS: list[tuple[bytes, int]] = [
    (b"123", -7468325962851647638),
    (b"\x00\xff\x10\xfa\x99" * 10, 5837342703291459765),
    (b"\xfe" * 8, -8927430733708461935),
    (b"\x10" * 8, 1446172840243228796),
    (b"9223372036854775807", 7162290910810015547),
    (bytes(range(1, 17)), -5563837382979743776),
    (bytes(range(2, 18)), -1513403162740402161),
    (bytes(range(3, 19)), -495360443712684655),
    (bytes(range(4, 20)), 1734091135765407943),
    (bytes(range(5, 21)), -3199412112042527988),
    (bytes(range(6, 22)), -6316563938475080831),
    (bytes(range(7, 23)), 8228893370679682632),
    (b"\x00" * 16, 5457549051747178710),
    (b"\xff" * 16, -2824192546314762522),
    (b"\xfe" * 16, -833317529301936754),
    (b"\x00\x01\x02\x03" + b"\xff" * 12, 6463632673159404390),
    (b"\xfe" * 17, -1672437813826982685),
    (b"\xfe" * 4, 4566408979886474012),
    (b"\x00" * 4, -3485513579396041028),
    (b"\x00\x01\x7f\x7f", 6573459401642635627),
    (b"\x00\xff\xff\xff", 123573637386978882),
    (b"\xff\x01\x02\x03", -2839127690952877842),
    (b"\xe2\xe7", -8582699461035929883),
    (b"\xe2\xe7\xe2\xe7\xe2\xe7\x01", 2222373981930033306),
]

# RFC 1321, A.5: MD5 ("abc") = 900150983cd24fb0d6963f7d28e17f72, ...
RFC1321 = [
    ("a", 0x0CC175B9C0F1B6A831C399E269772661),
    ("abc", 0x900150983CD24FB0D6963F7D28E17F72),
    ("message digest", 0xF96B697D7CB7938D525A2F31AAF161D0),
    ("abcdefghijklmnopqrstuvwxyz", 0xC3FCD3D76192E4007DFB496CCA67E13B),
]


@pytest.mark.parametrize(("data", "token"), CASSANDRA_TOKENS, ids=lambda x: x.hex()[:12] if isinstance(x, bytes) else "")
def test_murmur3_token_is_cassandras(data: bytes, token: int) -> None:
    assert murmur3_token(data) == token
    assert cassandra_murmur3_h1(data) == token  # the pure-Python port, on every key (not only high tails)


def test_murmur3_token_edges() -> None:
    """Murmur3Partitioner: the empty key is the minimum token; no key hashes to Long.MIN_VALUE
    (normalize maps it to Long.MAX_VALUE). Sign extension matters exactly when a tail byte is >= 0x80."""
    assert murmur3_token(b"") == LONG_MIN
    import mmh3

    for data, token in CASSANDRA_TOKENS:
        tail = data[len(data) & ~15:]
        reference = mmh3.hash64(data, 0, True, True)[0]
        assert (reference == token) == (max(tail, default=0) < 0x80), data
    assert LONG_MAX == 2**63 - 1


@pytest.mark.parametrize(("text", "digest"), RFC1321)
def test_md5_position_is_the_128_bit_digest(text: str, digest: int) -> None:
    assert md5_position(text.encode()) == digest
    ks = KeySpace(key_hash="md5")
    assert ks.position(ks.index(text)) == digest


def test_key_space_names_and_indices() -> None:
    added: list[tuple[int, str]] = []
    ks = KeySpace(10, on_new=lambda i, n: added.append((i, n)))
    assert ks.index(3) == ks.index("3") == 3 and ks.name(3) == "3"
    assert ks.index("cart") == 10 and ks.index("cart") == 10 and ks.name(10) == "cart"
    assert ks.index("07") == 11 and ks.name(11) == "07"  # not the decimal form of 7: a name of its own
    assert ks.index(10) == 12 and ks.name(12) == "10"  # beyond the numeric keys: interned by its name
    # an integer given as a key means its decimal name, not an index
    assert ks.lookup("nope") is None and ks.lookup(10) == 12 and ks.lookup(12) is None and len(ks) == 13
    assert added == [(10, "cart"), (11, "07"), (12, "10")]
    assert ks.names(np.array([3, 10, 3, 12])) == ["3", "cart", "3", "10"]
    assert ks.name(ks.index("9" * 5000)) == "9" * 5000  # digits beyond 64 bits: a name, not a number
    for bad in ("", -1, 1.5, True, None):
        with pytest.raises(ValueError):
            ks.index(bad)  # type: ignore[arg-type]


def test_ring_places_keys_by_the_hash_of_their_names() -> None:
    """The preference list, worked out independently: sort the node tokens, take the first token at
    or after the key's Murmur3 token (ranges are (previous, token]), walk on collecting distinct nodes."""
    ks = KeySpace(100)
    ring = Ring(7, 3, 5, keys=ks)
    points = sorted((node_token(f"node-{i}-vnode-{v}"), i) for i in range(7) for v in range(5))
    tokens = [t for t, _ in points]
    for key in [*range(100), ks.index("cart"), ks.index("user:42")]:
        pos = murmur3_token(ks.name(key).encode())
        assert ring.key_position(key) == pos
        start = bisect_left(tokens, pos)
        walk: list[int] = []
        for j in range(len(points)):
            node = points[(start + j) % len(points)][1]
            if node not in walk:
                walk.append(node)
        assert ring.preference_list(key) == tuple(walk[:3]) and ring.full_walk(key) == tuple(walk)


def test_a_key_on_a_token_belongs_to_that_tokens_node() -> None:
    """Cassandra's ranges are (previous token, token]: a key whose token equals a node's is that
    node's (the old bisect_right gave it to the next token's node)."""

    class OnTokens(KeySpace):
        """Key i sits exactly on the i-th node token."""

        tokens: list[int] = []

        def position(self, index: int) -> int:
            return self.tokens[index]

    keys = OnTokens()
    ring = Ring(4, 1, 8, keys=keys)
    OnTokens.tokens = [end for _, end, _ in ring.ranges()]
    for j, (_, _, owner) in enumerate(ring.ranges()):
        assert ring.walk(j, 1) == (owner,)


def test_replicas_follow_cassandras_simple_strategy() -> None:
    """datastax/csharp-driver TokenTests.TokenMap_SimpleStrategy_With_Keyspace_Test: hosts holding
    tokens 0, 10 and 20, replication 2: a key at token 0 or -100 or 500000 (past the last: wraps)
    has replicas (0, 1); at 20 or 19, (2, 0); with replication above the ring size a key at 5 has
    every host, (1, 2, 0)."""

    class GivenTokens(KeySpace):
        key_tokens = [0, -100, 500000, 20, 19, 5]

        def node_token(self, label: str) -> int:
            return {"node-0-vnode-0": 0, "node-1-vnode-0": 10, "node-2-vnode-0": 20}[label]

        def position(self, index: int) -> int:
            return self.key_tokens[index]

    ring = Ring(3, 2, 1, keys=GivenTokens())
    assert [ring.preference_list(k) for k in range(5)] == [(0, 1), (0, 1), (0, 1), (2, 0), (2, 0)]
    assert ring.full_walk(5) == (1, 2, 0)


def test_node_tokens_keep_their_order_in_either_space() -> None:
    labels = [f"node-{i}-vnode-{v}" for i in range(6) for v in range(8)]
    order = {h: sorted(labels, key=lambda x, h=h: node_token(x, h)) for h in ("murmur3", "md5")}
    assert order["murmur3"] == order["md5"]
    assert all(LONG_MIN <= node_token(x) <= LONG_MAX for x in labels)
    assert all(0 <= node_token(x, "md5") < 2**128 for x in labels)


def test_blake2b_is_the_placement_before_key_names() -> None:
    """key_hash = "blake2b" gives the rings the code before key names built (re-implemented here:
    unsigned BLAKE2b-64 of "key-{k}" and of the vnode labels, the first token above the key's), so
    results computed before reproduce (tests/test_versioning.py runs its recorded cases with it)."""
    import hashlib
    from bisect import bisect_right

    def h(text: str) -> int:
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    for nodes, vnodes in ((4, 8), (9, 3)):
        ring = Ring(nodes, 3, vnodes, keys=KeySpace(500, "blake2b"))
        points = sorted((h(f"node-{i}-vnode-{v}"), i) for i in range(nodes) for v in range(vnodes))
        for k in range(500):
            start = bisect_right([t for t, _ in points], h(f"key-{k}"))
            walk = tuple(points[(start + j) % len(points)][1] for j in range(len(points)))
            assert ring.token_walk(k) == walk


def _placement_run(key_hash: str) -> tuple[Any, Any]:
    raw = {"cluster": {"nodes": 6, "replication": 3, "write_quorum": 2, "key_hash": key_hash},
           "latency": {"profile": "lnkd-ssd"},
           "workload": {"keys": 200, "duration_ms": 300, "warmup_ms": 0, "rate_per_s": 3000, "read_fraction": 0.5}}
    m = build(scenario_from_dict(raw))
    return m, m.run()


def test_md5_and_murmur3_place_keys_differently_and_both_validly() -> None:
    prefs = {}
    for kh in ("murmur3", "md5"):
        m, h = _placement_run(kh)
        assert m.keys.key_hash == kh
        ops, applies = h.to_frame("ops"), h.to_frame("applies")
        assert (ops["status"] == "ok").all()
        # valid: every replica copy a write made is on a node of its key's preference list, and every
        # preference list is N distinct nodes; each node is first replica of a fair share of keys
        for key, nodes in applies[applies["via"] == "write"].groupby("key")["node"]:
            assert set(nodes.tolist()) <= set(m.ring.preference_list(int(key)))
        p = {k: m.ring.preference_list(k) for k in range(200)}
        assert all(len(set(v)) == 3 for v in p.values())
        firsts = Counter(v[0] for v in p.values())
        assert len(firsts) == 6 and min(firsts.values()) >= 5
        prefs[kh] = p
    differ = sum(prefs["murmur3"][k] != prefs["md5"][k] for k in range(200))
    assert differ > 100  # 6 nodes, N = 3: two independent hashes agree on a list by chance ~1/120 of the time


def test_key_hash_is_a_validated_setting() -> None:
    assert scenario_from_dict({}).cluster.key_hash == "murmur3"
    with pytest.raises(ConfigError, match=r"cluster\.key_hash.*'sha1' is not one of murmur3, md5, blake2b"):
        scenario_from_dict({"cluster": {"key_hash": "sha1"}})


def test_the_config_takes_key_names() -> None:
    sc = scenario_from_dict({"workload": {"hot_key": "cart", "hot_key_writers_per_s": [50.0]}})
    assert sc.workload.hot_key == "cart" and sc.to_dict()["workload"]["hot_key"] == "cart"
    sc = scenario_from_dict({"workload": {"hot_key": 7, "hot_key_writers_per_s": [50.0]}})
    assert sc.workload.hot_key == "7" and sc.to_dict()["workload"]["hot_key"] == 7  # integers round-trip
    assert scenario_from_dict(sc.to_dict()) == sc
    for value, why in (("", "non-empty"), (-1, ">= 0"), (1.5, "key name"), (True, "key name")):
        with pytest.raises(ConfigError, match=f"workload.hot_key.*{why}"):
            scenario_from_dict({"workload": {"hot_key": value}})
    with pytest.raises(ConfigError, match=r"workload\.hot_key.*not in 0\.\.999"):
        scenario_from_dict({"workload": {"hot_key": "5000", "hot_key_writers_per_s": [1.0]}})


def test_a_named_hot_key_is_a_key_of_its_own() -> None:
    """hot_key = "cart": the writers write one key outside 0..keys-1, named "cart" in the history
    (keys table, ops key_name), placed by the token of "cart"; hot_key = 7 is workload key 7."""
    base = {"cluster": {"nodes": 5}, "latency": {"profile": "lnkd-ssd"},
            "workload": {"keys": 50, "duration_ms": 200, "warmup_ms": 0, "rate_per_s": 500, "clients": 4,
                         "hot_key_writers_per_s": [300.0]}}
    res = simulate({**base, "workload": {**base["workload"], "hot_key": "cart"}}, record_ops=True)
    ops, keys = res.frames()["ops"], res.frames()["keys"]
    assert keys.to_dict("records") == [{"key": 50, "key_name": "cart"}]
    hot = ops[ops["client"] == 5]  # writer 0 is client clients + 1
    assert len(hot) > 20 and (hot["key"] == 50).all() and (hot["key_name"] == "cart").all()
    m = build(scenario_from_dict({**base, "workload": {**base["workload"], "hot_key": "cart"}}))
    m.run()
    assert m.ring.key_position(m.keys.index("cart")) == murmur3_token(b"cart")
    res = simulate({**base, "workload": {**base["workload"], "hot_key": 7}}, record_ops=True)
    ops = res.frames()["ops"]
    assert "keys" not in res.frames() and (ops.loc[ops["client"] == 5, "key_name"] == "7").all()
    assert (ops["key_name"] == ops["key"].astype(str)).all()


def test_every_write_has_a_unique_client_seq_value() -> None:
    """Default values are "client:seq", seq the client's own write counter 1, 2, ... in issue order
    (op_id order); counted here independently, row by row."""
    res = simulate({"workload": {"keys": 20, "duration_ms": 300, "warmup_ms": 0, "rate_per_s": 2000, "clients": 7,
                                 "read_fraction": 0.5, "preload": True}}, record_ops=True)
    ops = res.frames()["ops"]
    counter: Counter[int] = Counter()
    expected = []
    for kind, client in zip(ops["kind"].astype(str), ops["client"], strict=True):
        if kind == "write":
            counter[int(client)] += 1
            expected.append(f"{client}:{counter[int(client)]}")
    writes = ops[ops["kind"] == "write"]
    assert writes["value"].tolist() == expected and writes["value"].is_unique
    assert len(counter) == 8  # seven clients and the preload's client (id = clients)
    assert [res.history.write_value(int(o)) for o in writes["op_id"][:30]] == expected[:30]


def test_client_write_seq_counts_per_client_in_issue_order() -> None:
    client = np.array([3, 1, 3, 3, 1, 2])
    is_w = np.array([True, True, False, True, True, True])
    assert client_write_seq(client, is_w).tolist() == [1, 1, 0, 2, 2, 1]


def _one_key_model(**cluster: Any) -> Any:
    raw = {"cluster": {"nodes": 3, "replication": 3, "read_quorum": 3, "write_quorum": 1, **cluster},
           "latency": {"profile": "exponential", "w": 1, "a": 1, "r": 1, "s": 1}, "workload": {"keys": 1}}
    return build(scenario_from_dict(raw))


def test_an_explicit_value_is_recorded_and_counts_in_the_clients_seq() -> None:
    m = _one_key_model()
    c = m.coordinators[CLIENT]
    at = [(0.0, lambda: c.write(4, 0, value="milk")), (5.0, lambda: c.write(4, 0)), (10.0, lambda: c.read(9, 0))]
    for t, fn in at:
        m.env.timeout(t).callbacks.append(lambda _e, fn=fn: fn())
    m.env.run()
    h = m.history
    assert [h.write_value(0), h.write_value(1)] == ["milk", "4:2"]
    ops = h.to_frame("ops", names=True)
    assert ops["value"].tolist() == ["milk", "4:2", "4:2"]  # the read returned version 2
    assert h.read_values(2) == ["4:2"] and h.to_frame("values").to_dict("records") == [{"op_id": 0, "value": "milk"}]
    with pytest.raises(ValueError):
        h.read_values(0)


def test_read_values_are_the_values_of_the_returned_versions() -> None:
    """Under DVV two hot writers through random coordinators make siblings; every successful read's
    values are, in version order, the values of the writes of its key whose seqs it returned
    (read_versions, else its version), worked out here from the ops rows alone."""
    res = simulate({"cluster": {"versioning": "dvv", "coordinator": "random", "nodes": 5},
                    "latency": {"profile": "lnkd-disk"},
                    "workload": {"keys": 3, "duration_ms": 400, "warmup_ms": 0, "rate_per_s": 1500, "clients": 6,
                                 "read_fraction": 0.6, "hot_key_writers_per_s": [400.0, 400.0]}}, record_ops=True)
    fr = res.frames()
    ops = fr["ops"]
    value_of = {}
    for k, kind, v, val in zip(ops["key"], ops["kind"].astype(str), ops["version"], ops["value"], strict=True):
        if kind == "write":
            value_of[(int(k), int(v))] = val
    rv = fr["read_versions"]
    sets = {int(o): sorted(g.tolist()) for o, g in rv.groupby("op_id")["version"]}
    table = res.history.read_values_frame()
    got = {int(o): g.tolist() for o, g in table.groupby("op_id")["value"]}
    reads = ops[(ops["kind"] == "read") & (ops["status"] == "ok")]
    several = 0
    for o, k, v in zip(reads["op_id"], reads["key"], reads["version"], strict=True):
        versions = sets.get(int(o)) or ([int(v)] if v > 0 else [])
        expected = [value_of[(int(k), s)] for s in versions]
        assert got.get(int(o), []) == expected
        several += len(expected) > 1
    assert several > 10
    sample = [int(o) for o in reads["op_id"]][:40]
    assert [res.history.read_values(o) for o in sample] == [got.get(o, []) for o in sample]
    assert (table["write_op"] >= 0).all()


def test_the_export_carries_the_real_values() -> None:
    """Jepsen / Elle histories: a write's :value is [key "client:seq"], a read's completion the
    vector of the values it returned (Elle: the newest one); a numeric key name is a bare integer,
    another name ("cart") an EDN string."""
    res = simulate({"cluster": {"versioning": "dvv", "coordinator": "random"},
                    "workload": {"keys": 2, "duration_ms": 150, "warmup_ms": 0, "rate_per_s": 2000, "clients": 3,
                                 "read_fraction": 0.5, "hot_key": "cart", "hot_key_writers_per_s": [300.0]}},
                   record_ops=True)
    fr = res.frames()
    ops = fr["ops"]
    values = res.history.read_values_frame().groupby("op_id")["value"].apply(list).to_dict()
    named = 0
    plain, elle = list(jepsen_lines(fr)), list(elle_lines(fr))
    seen_write = seen_read = 0
    for p, e in zip(plain, elle, strict=True):
        op = int(p.split(":op-id ")[1].rstrip("}"))
        row = ops.iloc[op]
        k = row["key_name"] if row["key_name"].isdigit() else f'"{row["key_name"]}"'  # names are EDN strings
        named += k == '"cart"'
        if row["kind"] == "write":
            assert f':value [{k} "{row["value"]}"]' in p and f'[[:w {k} "{row["value"]}"]]' in e
            seen_write += 1
        elif ":type :ok" in p:
            vals = values.get(op, [])
            assert f":value [{k} [{' '.join(f'{chr(34)}{v}{chr(34)}' for v in vals)}]]" in p
            newest = f'"{vals[-1]}"' if vals else "nil"
            assert f"[[:r {k} {newest}]]" in e
            seen_read += bool(vals)
    assert seen_write > 50 and seen_read > 50 and named > 20


def test_ops_output_has_key_names_and_values_and_history_stays_int() -> None:
    res = simulate({"workload": {"keys": 5, "duration_ms": 50, "warmup_ms": 0, "rate_per_s": 1000}}, record_ops=True)
    cols = list(res.frames()["ops"].columns)
    assert cols.index("key_name") == cols.index("key") + 1 and cols.index("value") == cols.index("version") + 1
    assert "key_name" not in res.history.to_frame("ops") and res.history.tables["ops"].columns["key"] == "q"
    ok = res.frames()["ops"]
    assert (ok.loc[(ok["kind"] == "read") & (ok["version"] == 0), "value"].isna()).all()
    assert res.history.facts and OK == 1


def test_the_checker_shows_the_values_of_its_examples() -> None:
    """A lost write's example carries the value it wrote, a session example (a read) the values it
    returned; the rendered report prints them beside the op ids. (1.5 s of this workload has about
    ten read-your-writes violations on average, so that some example exists does not hang on a seed:
    at 0.3 s it was about two, and none for some seeds.)"""
    from pbs_sim.checker import check

    res = simulate({"cluster": {"coordinator": "random"},
                    "workload": {"keys": 3, "duration_ms": 1500, "warmup_ms": 0, "rate_per_s": 3000, "read_fraction": 0.5}})
    rep = check(res)
    lost, ryw = rep.findings["lost_writes"], rep.findings["read_your_writes"]
    assert lost.examples and ryw.examples
    assert lost.values == [[res.history.write_value(o)] for o in lost.examples]
    assert ryw.values == [res.history.read_values(o) for o in ryw.examples]
    text = rep.render()
    assert f"{lost.examples[0]} [{lost.values[0][0]}]" in text
    assert rep.to_dict()["checks"]["lost_writes"]["values"] == lost.values
