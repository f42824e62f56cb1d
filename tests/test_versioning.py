"""The versioning core: one policy object decides order everywhere, and perfect clocks change nothing.

* regression: the seeded summaries of six scenarios (three committed experiments reduced, and
  three covering faults, blocking/async read repair, Merkle and gossip anti-entropy, preload and
  quorum fan-out), recorded on main *before* this change (``tests/regression_cases.py``), come out
  identical -- plain, and with a zero-offset clock and causality tracking installed, which sends
  staleness and sessions through the store-rank path;
* the policy swap: an inverted policy (the *smaller* stamp wins) turns every decision around at
  every call site -- node apply, the coordinator's read merge, read repair's stale set, Merkle
  digests -- and a counting policy shows each operation is called;
* no simulator module compares stamps with ``<``/``>`` on its own (a source check).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import regression_cases as rc

from pbs_sim.config import scenario_from_dict
from pbs_sim.history import VIA_OTHER
from pbs_sim.mechanisms import sim_mechanisms
from pbs_sim.rng import Streams
from pbs_sim.sim.build import build
from pbs_sim.sim.network import CLIENT
from pbs_sim.sim.versioning import LWW, VersioningPolicy
from pbs_sim.simulation import simulate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "regression_summaries.json").read_text())


def _plain(s: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k in names:
        v = s.get(k, "MISSING")
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and math.isnan(v):
            v = "nan"
        out[k] = v
    return out


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("variant", ["plain", "zero-clock+causality"])
def test_perfect_clocks_reproduce_the_results_recorded_before(name: str, variant: str) -> None:
    sc = rc.scenario(name)
    if variant != "plain":
        sc = sc.with_overrides({"clocks.offset": "constant(0)", "clocks.causality": "on"})
    res = simulate(sc)
    if variant != "plain":
        assert {"clocks", "causality"} <= set(res.history.mechanisms)
    ref = REFERENCE[name]
    assert _plain(res.summary(), ref) == ref


def test_perfect_clocks_report_no_skew_and_single_writer_runs_lose_nothing() -> None:
    s = simulate(rc.scenario("probe_lnkd-disk").with_overrides({"clocks.causality": "on"})).summary()
    assert s["clock_offset_sd_ms"] == 0.0 and s["lww_lost_writes"] == 0 and s["concurrent_write_pairs"] == 0


# -- the policy swap ----------------------------------------------------------------------------------
class Inverted(LWW):
    """The smaller stamp wins (nothing stored is still below everything)."""

    name = "inverted"

    def merge(self, held: Any, incoming: Any) -> Any:
        if incoming is None or (held is not None and not incoming < held):
            return None
        return incoming

    def dominates(self, a: Any, b: Any) -> bool:
        return a is not None and (b is None or a < b)


class Counting(LWW):
    """LWW that counts every call by operation name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __getattribute__(self, name: str) -> Any:
        if name in ("new_version", "merge", "dominates", "compare", "digest", "version", "versions"):
            object.__getattribute__(self, "calls")[name] += 1
        return object.__getattribute__(self, name)


class BlindDigest(LWW):
    """Digests that ignore the version: Merkle trees then never see a difference."""

    def digest(self, key: int, state: Any) -> int:
        return super().digest(key, (0.0, 0))


def _model(policy: VersioningPolicy, rr: str = "async", ae: dict[str, Any] | None = None, **cluster: Any) -> Any:
    sc = scenario_from_dict({
        "cluster": {"nodes": 3, "replication": 3, "read_quorum": 3, "write_quorum": 1,
                    "write_fanout": "quorum", "replica_choice": "preference", **cluster},
        "latency": {"profile": "lnkd-ssd", "w": 1, "a": 1, "r": 1, "s": 1, "other": 1},
        "workload": {"keys": 1, "duration_ms": 1, "rate_per_s": 1, "warmup_ms": 0},
        "read_repair": {"mode": rr, "window_ms": 100},
        "anti_entropy": ae or {"mode": "off"},
    })
    m = build(sc, Streams(1), sim_mechanisms(), policy=policy)
    m.started = True
    for fn in m.on_start:
        fn(m)
    return m


@pytest.mark.parametrize("policy,keeps", [(LWW(), (2.0, 2)), (Inverted(), (1.0, 1))])
def test_nodes_coordinators_and_read_repair_follow_the_policy(policy: VersioningPolicy, keeps: Any) -> None:
    """p0 holds (1, 1), p1 holds (2, 2), p2 nothing. A read with R = 3 at 10 gets all three replies
    at 12 and returns the policy's winner; read repair sends it to the two others (applied at 13);
    finally every node holds the winner. Then each node is offered the loser directly: refused."""
    m = _model(policy)
    p = m.ring.preference_list(0)
    m.nodes[p[0]].apply(0, (1.0, 1), VIA_OTHER)
    m.nodes[p[1]].apply(0, (2.0, 2), VIA_OTHER)
    m.env.run(until=10)
    op = m.coordinators[CLIENT].read(1, 0)
    m.env.run(until=30)
    assert op.best == keeps and op.version == keeps[1]
    rp = m.history.to_frame("repairs")
    loser = p[0] if keeps == (2.0, 2) else p[1]
    assert sorted(rp["node"].tolist()) == sorted([loser, p[2]]) and (rp["version"] == keeps[1]).all()
    assert all(n.store[0] == keeps for n in m.nodes)
    other = (1.0, 1) if keeps == (2.0, 2) else (2.0, 2)
    assert not any(n.apply(0, other, VIA_OTHER) for n in m.nodes)


def test_merkle_digests_come_from_the_policy() -> None:
    """Each node holds a different version of the key. With the policy's digest the exchanges find
    the difference and every node ends on the newest; with a digest blind to versions the trees look
    equal and nothing is streamed: the trees hash what the policy says, not the stamps themselves."""
    for policy, expect_sync in ((LWW(), True), (BlindDigest(), False)):
        m = _model(policy, rr="off", ae={"mode": "merkle", "interval": 1000, "tree_depth": 2})
        for n in m.nodes:
            n.apply(0, (float(n.node_id), n.node_id + 1), VIA_OTHER)
        m.env.run(until=1050)
        held = {n.store[0] for n in m.nodes}
        assert (len(held) == 1) is expect_sync


def test_every_operation_of_the_policy_is_called_in_a_full_run() -> None:
    """A run with faults, read repair and Merkle anti-entropy, then one with gossip: every operation
    the call sites need went through the policy object."""
    seen: Counter[str] = Counter()
    for ae in ({"mode": "merkle", "interval": "exponential(mean=5)", "tree_depth": 3},
               {"mode": "gossip-push-pull", "interval": "exponential(mean=5)"}):
        policy = Counting()
        sc = scenario_from_dict({
            "cluster": {"nodes": 4, "replication": 3, "read_quorum": 1, "write_quorum": 1},
            "latency": {"profile": "lnkd-disk"},
            "workload": {"keys": 5, "duration_ms": 200, "rate_per_s": 2000, "warmup_ms": 0},
            "read_repair": {"mode": "async"}, "anti_entropy": ae,
            "faults": {"crash_mttf_ms": 50, "crash_mttr_ms": 10},
        })
        m = build(sc, Streams(3), sim_mechanisms(), policy=policy)
        m.run()
        assert all(n.policy is policy for n in m.nodes) and all(c.policy is policy for c in m.coordinators.values())
        seen.update(policy.calls)
    for op in ("new_version", "merge", "dominates", "digest", "version", "versions"):
        assert seen[op] > 0, op


STAMP_COMPARISON = re.compile(
    r"(stamp|best|newest|held|cur)\w*\s*(<|>|<=|>=)\s*\w|\w\s*(<|>|<=|>=)\s*(op\.best|st\.newest|stamp\b|cur\b)"
)


def test_no_simulator_module_compares_stamps_itself() -> None:
    offenders = []
    for path in sorted((ROOT / "pbs_sim" / "sim").glob("*.py")):
        if path.name == "versioning.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if STAMP_COMPARISON.search(code) and "->" not in code:
                offenders.append(f"{path.name}:{i}: {line.strip()}")
    assert offenders == []


#: A version-like name (``version``, ``ver``, ``seq``, ``w_star``, ``ws``, ``rank``, ``newest``,
#: ``prior``...), compared with ``<``, ``>``, ``<=`` or ``>=`` to anything but the literal 0 (``> 0``
#: asks "was anything written", not an order).
_VERSION_NAME = r"[\w.\[\]\"']*(?:version|ver\b|_ver|seq|w_star|\bws\b|rank|newest|prior)[\w.\[\]\"']*"
VERSION_COMPARISON = re.compile(
    rf"{_VERSION_NAME}\s*(?:<=|>=|<|>)(?!=)\s*(?!0\b)[\w(\-\[]|(?<!\b0)[\w)\]]\s*(?:<=|>=|<|>)(?!=)\s*{_VERSION_NAME}"
)
#: The one line mark that lets a comparison through: it compares LWW store *ranks* that
#: ``pbs_sim.metrics.order`` made (``StoreOrder.ranked_ops``), in code written for a total order.
RANKS_MARK = "# store-order"


def _code_lines(path: Path) -> list[tuple[int, str, str]]:
    """``(line number, code, comment)`` with every string literal blanked (docstrings say "newer")."""
    import io
    import tokenize

    lines = path.read_text().splitlines()
    code = [list(line) for line in lines]
    comments = [""] * len(lines)
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0] - 1] = tok.string
        if tok.type in (tokenize.STRING, tokenize.COMMENT) or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            (r0, c0), (r1, c1) = tok.start, tok.end
            for r in range(r0, r1 + 1):
                row = code[r - 1]
                lo = c0 if r == r0 else 0
                hi = c1 if r == r1 else len(row)
                row[lo:hi] = " " * (hi - lo)
    return [(i + 1, "".join(c), comments[i]) for i, c in enumerate(code)]


def version_comparisons(path: Path) -> list[str]:
    """Raw comparisons of versions in a module, outside the marked LWW-rank lines."""
    return [f"{path.name}:{i}: {code.strip()}" for i, code, comment in _code_lines(path)
            if VERSION_COMPARISON.search(code) and "->" not in code and not comment.startswith(RANKS_MARK)]


def test_no_metrics_module_compares_versions_itself() -> None:
    """Every metric asks the store's order (``pbs_sim.metrics.order``, the one module that may compare)."""
    offenders = []
    for path in sorted((ROOT / "pbs_sim" / "metrics").glob("*.py")):
        if path.name != "order.py":
            offenders.extend(version_comparisons(path))
    assert offenders == []


def test_the_metrics_scan_catches_a_planted_raw_comparison(tmp_path: Path) -> None:
    """The scan can fail: the durability replay's old "newest committed" test (numbers compared, so a
    higher-numbered concurrent version counted as newer), planted back in a copy of the module."""
    src = (ROOT / "pbs_sim" / "metrics" / "durability.py").read_text()
    planted = src.replace("def count_live(key: int) -> int:",
                          "def old(key: int, ver: int) -> bool:\n        return ver >= newest.get(key, 0)\n\n"
                          "    def count_live(key: int) -> int:", 1)
    assert planted != src
    (tmp_path / "durability.py").write_text(planted)
    found = version_comparisons(tmp_path / "durability.py")
    assert len(found) == 1 and "ver >= newest" in found[0]
    (tmp_path / "causes.py").write_text("m = ap_ver[g] >= ws[i]\nheld = best >= w_star\nok = seq > 0\n")
    assert len(version_comparisons(tmp_path / "causes.py")) == 2
    (tmp_path / "staleness.py").write_text("consistent = version >= w_star  # store-order: LWW ranks\n")
    assert version_comparisons(tmp_path / "staleness.py") == []


def test_no_dead_ordering_helpers_remain() -> None:
    """``newer`` and ``NO_STAMP`` were a second path to LWW's order beside the policy; gone."""
    import pbs_sim.sim.versioning as versioning

    assert not hasattr(versioning, "newer") and not hasattr(versioning, "NO_STAMP")


class KeepAll(LWW):
    """A toy sibling policy (the shape issue 11's policies take): a state is a tuple of stamps, a
    replica keeps every stamp it receives, a read returns all of them."""

    name = "keep-all"

    def new_version(self, key: int, seq: int, timestamp_ms: float, origin: int, context: Any, client: int = -1) -> Any:
        return ((timestamp_ms, seq),)

    def merge(self, held: Any, incoming: Any) -> Any:
        if incoming is None:
            return None
        merged = tuple(sorted(set(held or ()) | set(incoming)))
        return None if held is not None and merged == tuple(held) else merged

    def dominates(self, a: Any, b: Any) -> bool:
        return a is not None and (b is None or set(b) < set(a))

    def digest(self, key: int, state: Any) -> int:
        return super().digest(key, tuple(state))

    def version(self, state: Any) -> int:
        return 0 if not state else max(s for _, s in state)

    def versions(self, state: Any) -> tuple[int, ...]:
        return tuple(sorted(s for _, s in state or ()))


def test_a_sibling_policy_plugs_in_without_touching_the_call_sites() -> None:
    """Two writes of one key; with the toy policy every replica keeps both, and a read returns both:
    the ops row holds the newest, the ``read_versions`` side table both (it exists only then)."""
    m = _model(KeepAll(), rr="off", write_fanout="all")
    c = m.coordinators[CLIENT]
    c.write(0, 0)
    m.env.run(until=5)
    c.write(1, 0)
    m.env.run(until=10)
    assert "read_versions" not in m.history.tables
    op = c.read(2, 0)
    m.env.run(until=20)
    assert all(n.store[0] == ((0.0, 1), (5.0, 2)) for n in m.nodes)
    assert op.version == 2 and m.history.to_frame("ops")["version"].tolist() == [1, 2, 2]
    assert m.history.to_frame("read_versions")[["op_id", "version"]].values.tolist() == [[2, 1], [2, 2]]
