"""Anti-entropy: a periodic background process per node that reconciles replicas.

Owns: the key ranges (keys grouped by the set of nodes that replicate them), one Merkle tree per
(node, range) kept current through ``node.on_apply`` and cleared on ``wipe``, the per-node exchange
processes, and the ``anti_entropy`` history table (one row per exchange: start, node, peer, keys in
the range, messages, round trips, hashes compared, keys sent, keys repaired, bytes, duration, status).
Modes: ``off`` (Voldemort: nothing runs), ``merkle`` and ``gossip-push`` / ``gossip-pull`` /
``gossip-push-pull``.

Keys covered: every key of the run's key space (``model.keys``, pbs_sim.keys). The workload's
keys ``0..keys-1``, then the names interned when the run is built, are placed in their ranges up
front, in index order (the order fixes range ids, and so which range an exchange
picks: unchanged from before keys had names). A key that enters later -- a YCSB insert (workload
D's ``keys, keys + 1, ...``), a trace's or script's key beyond them, a name interned mid-run --
joins its range on its first apply on any node (``_on_apply``): trees are sparse, so that is one
leaf insert on that node's tree, and a peer that does not hold the key differs from it there, so
the next exchange of the range streams it. A key that no node has applied has nothing to repair.
Must not touch: coordinators, metrics; node stores only via
``node.apply(..., VIA_ANTI_ENTROPY)``.

Merkle mode. Every node waits ``interval`` (+ uniform ``jitter_ms``), picks one of its ranges and a
peer among that range's other replicas uniformly, and runs ``pbs_sim.sim.merkle.exchange``: the tree
comparison happens as ``round_trips`` request/response message pairs (kind ``"ae"``, delays from
``latency.other``); then each side streams the keys under the differing leaves (the values current when
streamed) and the receiver applies what is newer (``node.apply``: the versioning policy's merge; leaf digests are the
policy's ``digest``). If any message is lost (peer down, partition, loss)
the exchange is abandoned after ``anti_entropy.timeout_ms``. Tree differences are computed from the
trees at the start of the exchange.

Gossip modes (docs/validation.md §4). Every node, each round (``interval``), picks a peer uniformly among
the nodes it shares a range with, and pushes its entries for the shared keys, pulls the peer's, or
both (``pbs_sim.sim.gossip.learns``). Rounds are synchronous as in Demers et al.: a push carries the
sender's state at its round start, and a pull is answered from the state the peer had at *its* last
round start (a digest taken each round). With a constant interval, zero jitter and a latency below
half the interval, that is exactly the paper's model.

Single-repairer mapping (docs/validation.md §5). With ``nodes = N`` and per-node exchanges at rate ``r`` to a
uniformly random peer, a state with ``k`` of ``N`` copies is repaired at rate ``2 k (N - k) r / (N - 1)``
— for N = 2 and N = 3 that is ``2 r`` in every state, so the chain's single repairer of rate ``mu`` is
``interval = exponential(rate = mu / 2)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import AntiEntropyConfig, Scenario
from ..distributions import BufferedSampler
from ..history import VIA_ANTI_ENTROPY
from ..rng import Streams
from . import gossip as gossip_mod
from .mechanism import TableSpec
from .merkle import MerkleTree, exchange
from .versioning import Stamp

if TYPE_CHECKING:
    from .build import Model
    from .node import Node
    from .ring import Ring

OK, ABORTED, SKIPPED = 0, 1, 2
STATUS_NAMES = ("ok", "aborted", "skipped")
KEY_BYTES = 16
HASH_BYTES = 8


class AntiEntropy:
    def __init__(
        self, env: Any, cfg: AntiEntropyConfig, ring: Ring, nodes: list[Node], network: Any, history: Any,
        rng: np.random.Generator, keys: Iterable[int],
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.ring = ring
        self.nodes = nodes
        self.network = network
        self.rng = rng
        self.mode = cfg.mode
        self.table = ANTI_ENTROPY_TABLE.create(history)
        self.range_of: dict[int, int] = {}
        self.ranges: list[tuple[int, ...]] = []  # range id -> replica set (sorted)
        self._range_members: list[frozenset[int]] = []
        self.range_keys: list[set[int]] = []
        self._range_id: dict[tuple[int, ...], int] = {}
        self.node_ranges: list[list[int]] = [[] for _ in nodes]
        self.node_peers: list[list[int]] = [[] for _ in nodes]
        self._peer_set: list[set[int]] = [set() for _ in nodes]
        self.trees: dict[tuple[int, int], MerkleTree] = {}
        self._snap: list[dict[int, Stamp]] = [{} for _ in nodes]
        for k in keys:
            self._add_key(k)
        for node in nodes:
            node.on_apply.append(self._on_apply)
            node.on_state.append(self._on_state)
        self.totals = {c: 0 for c in ("exchanges", "aborted", "messages", "hashes_compared", "keys_sent",
                                      "keys_repaired", "bytes_sent")}

    # -- ranges and trees --------------------------------------------------------------------------
    def _add_key(self, key: int) -> int:
        reps = tuple(sorted(self.ring.preference_list(key)))
        rid = self._range_id.get(reps)
        if rid is None:
            rid = self._range_id[reps] = len(self.ranges)
            self.ranges.append(reps)
            self._range_members.append(frozenset(reps))
            self.range_keys.append(set())
            for n in reps:
                self.node_ranges[n].append(rid)
                known = self._peer_set[n]
                new = [m for m in reps if m != n and m not in known]
                known.update(new)
                self.node_peers[n].extend(new)
        self.range_of[key] = rid
        self.range_keys[rid].add(key)
        return rid

    def tree(self, node: int, rid: int) -> MerkleTree:
        t = self.trees.get((node, rid))
        if t is None:
            t = self.trees[(node, rid)] = MerkleTree(self.cfg.tree_depth, self.cfg.tree_fanout)
        return t

    def _on_apply(self, node: Node, key: int, stamp: Stamp, via: int) -> None:
        rid = self.range_of.get(key)
        if rid is None:
            rid = self._add_key(key)
        if self.mode == "merkle":
            self.tree(node.node_id, rid).set_digest(key, node.policy.digest(key, stamp))

    def _on_state(self, node: Node, event: str) -> None:
        if event == "wipe":
            for rid in self.node_ranges[node.node_id]:
                t = self.trees.get((node.node_id, rid))
                if t is not None:
                    t.clear()
            self._snap[node.node_id] = {}

    # -- processes -------------------------------------------------------------------------------
    def start(self) -> None:
        interval = BufferedSampler(self.cfg.interval, self.rng)
        for i in range(len(self.nodes)):
            loop = self._merkle_loop if self.mode == "merkle" else self._gossip_loop
            self.env.process(loop(i, interval))

    def _wait(self, interval: BufferedSampler) -> Any:
        d = interval()
        if self.cfg.jitter_ms > 0:
            d += float(self.rng.uniform(0.0, self.cfg.jitter_ms))
        return self.env.timeout(d)

    def _round_trip(self, a: int, b: int) -> Any:
        """Process: one request/response between a and b; returns True if the reply arrived in time."""
        env, net = self.env, self.network
        ev = env.event()

        def reply(msg: Any) -> None:
            if not ev.triggered:
                ev.succeed()

        def request(msg: Any) -> None:
            net.send(b, a, "ae", None, None, reply)

        net.send(a, b, "ae", None, None, request)
        res = yield ev | env.timeout(self.cfg.timeout_ms)
        return ev in res

    def _merkle_loop(self, i: int, interval: BufferedSampler) -> Any:
        env, rng = self.env, self.rng
        while True:
            yield self._wait(interval)
            ranges = self.node_ranges[i]
            if not self.nodes[i].up or not ranges:
                continue
            rid = ranges[int(rng.integers(len(ranges)))]
            peers = [n for n in self.ranges[rid] if n != i]
            if not peers:
                continue
            j = peers[int(rng.integers(len(peers)))]
            yield from self._merkle_exchange(i, j, rid, env.now)

    def _merkle_exchange(self, i: int, j: int, rid: int, start: float) -> Any:
        res = exchange(
            self.tree(i, rid), self.tree(j, rid), hash_bytes=HASH_BYTES, key_bytes=KEY_BYTES,
            value_bytes=self.cfg.value_bytes,
        )
        msgs = 0
        for _ in range(res.round_trips):
            ok = yield from self._round_trip(i, j)
            msgs += 2
            if not ok:
                self._log(start, i, j, rid, msgs, res.round_trips, res.hashes_compared, 0, 0, res.hash_bytes_sent, ABORTED)
                return
        sent = repaired = 0
        done = self.env.event()
        pending = [0]

        def landed(n: int) -> None:
            nonlocal repaired
            repaired += n
            pending[0] -= 1
            if pending[0] == 0 and not done.triggered:
                done.succeed()

        for src, dst, keys in ((i, j, res.keys_a_to_b), (j, i, res.keys_b_to_a)):
            if not keys:
                continue
            store = self.nodes[src].store
            payload = [(k, store[k]) for k in keys if k in store]
            if not payload:
                continue
            sent += len(payload)
            pending[0] += 1
            self.network.send(src, dst, "ae", None, payload, self._stream_handler(landed))
            msgs += 1
        if pending[0]:
            res_ev = yield done | self.env.timeout(self.cfg.timeout_ms)
            status = OK if done in res_ev else ABORTED
        else:
            status = OK
        nbytes = res.hash_bytes_sent + sent * (KEY_BYTES + self.cfg.value_bytes)
        self._log(start, i, j, rid, msgs, res.round_trips, res.hashes_compared, sent, repaired, nbytes, status)

    def _stream_handler(self, landed: Any) -> Any:
        def handler(msg: Any) -> None:
            node = self.nodes[msg.dst]
            n = 0
            for k, stamp in msg.value:
                if node.apply(k, stamp, VIA_ANTI_ENTROPY):
                    n += 1
            landed(n)

        return handler

    def _log(self, start: float, i: int, j: int, rid: int, msgs: int, rts: int, hashes: int, sent: int,
             repaired: int, nbytes: int, status: int) -> int:
        row = self.table.append(start, i, j, len(self.range_keys[rid]), msgs, rts, hashes, sent, repaired, nbytes,
                                self.env.now - start, status)
        t = self.totals
        t["exchanges"] += 1
        t["aborted"] += status == ABORTED
        t["messages"] += msgs
        t["hashes_compared"] += hashes
        t["keys_sent"] += sent
        t["keys_repaired"] += repaired
        t["bytes_sent"] += nbytes
        return row

    # -- gossip ----------------------------------------------------------------------------------
    def _shared(self, a: int, b: int) -> list[int]:
        out: list[int] = []
        for rid in self.node_ranges[a]:
            if b in self._range_members[rid]:
                out.extend(self.range_keys[rid])
        return out

    def _gossip_loop(self, i: int, interval: BufferedSampler) -> Any:
        env, rng, net = self.env, self.rng, self.network
        push, pull = gossip_mod.learns(self.mode)
        node = self.nodes[i]
        while True:
            yield self._wait(interval)
            if not node.up:
                continue
            self._snap[i] = dict(node.store) if pull else {}
            peers = self.node_peers[i]
            if not peers:
                continue
            j = peers[int(rng.integers(len(peers)))]
            start = env.now
            keys = self._shared(i, j)
            payload = [(k, node.store[k]) for k in keys if k in node.store] if push else []
            msgs = (1 if push else 0) + (2 if pull else 0)
            nbytes = len(payload) * (KEY_BYTES + self.cfg.value_bytes)
            row = self._log(start, i, j, self.range_of.get(keys[0], 0) if keys else 0, msgs, 1 if pull else 0, 0,
                            len(payload), 0, nbytes, OK)
            credit = self._credit(row)
            if push:
                net.send(i, j, "ae", None, payload, self._stream_handler(credit))
            if pull:

                def answer(msg: Any, j: int = j, i: int = i, keys: list[int] = keys, credit: Any = credit,
                           row: int = row) -> None:
                    snap = self._snap[j]
                    back = [(k, snap[k]) for k in keys if k in snap]
                    extra = len(back) * (KEY_BYTES + self.cfg.value_bytes)
                    cols = self.table.cols
                    cols["keys_sent"][row] += len(back)
                    cols["bytes_sent"][row] += extra
                    self.totals["keys_sent"] += len(back)
                    self.totals["bytes_sent"] += extra
                    net.send(j, i, "ae", None, back, self._stream_handler(credit))

                net.send(i, j, "ae", None, None, answer)

    def _credit(self, row: int) -> Any:
        """A callback crediting keys a gossip message repaired to the exchange's row and the totals."""

        def credit(n: int) -> None:
            self.table.cols["keys_repaired"][row] += n
            self.totals["keys_repaired"] += n

        return credit


ANTI_ENTROPY_TABLE = TableSpec("anti_entropy", {
    "started_at": "d", "node": "i", "peer": "i", "range_keys": "q", "messages": "q", "round_trips": "q",
    "hashes_compared": "q", "keys_sent": "q", "keys_repaired": "q", "bytes_sent": "q", "duration_ms": "d",
    "status": "b",
}, {"status": STATUS_NAMES})


class AntiEntropyMechanism:
    """Merkle or gossip anti-entropy processes on every node (:class:`AntiEntropy`); off = Voldemort."""

    name = "anti_entropy"
    requires: tuple[str, ...] = ("env", "ring", "nodes", "network", "history")
    tables: tuple[TableSpec, ...] = (ANTI_ENTROPY_TABLE,)
    moves_data = True

    def enabled(self, scenario: Scenario) -> bool:
        return scenario.anti_entropy.mode != "off"

    def install(self, model: Model, streams: Streams) -> AntiEntropy:
        cfg = model.scenario.anti_entropy
        wl = model.scenario.workload
        # the workload's keys 0..keys-1, then the names interned at build (sorted: index order); every
        # later key joins on its first apply. Not range(len(model.keys)): YCSB's key space reserves
        # room for 10^7 inserts, and pbs-probe's holds one key per trial -- keys no exchange needs
        # until one is written
        keys = [*range(wl.keys), *sorted(model.keys.interned())] if wl.kind != "pbs-probe" else []
        ae = AntiEntropy(model.env, cfg, model.ring, model.nodes, model.network, model.history,
                         streams.get("anti-entropy"), keys)
        model.on_start.append(lambda m: ae.start())
        return ae


MECHANISM = AntiEntropyMechanism()
