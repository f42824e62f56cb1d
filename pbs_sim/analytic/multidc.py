"""The multi-datacenter WARS predictor (issue 19): per-DC-pair latencies, DC-aware quorums.

Owns: ``predict_dc_pair`` (one (write DC, read DC) t-visibility curve), ``predict_topology`` (every
pair of client datacenters of a scenario: the Cosmos DB view), the per-chunk kernel they give the
WARS driver, and the analytic availability of a level when datacenters are cut off or replicas are
down (``level_available``, ``availability``). Must not touch: SimPy, the CLI, global random state,
the single-datacenter kernel (it is reused, not copied).

Model (docs/design.md, "Datacenters and consistency levels"). Replicas are laid out by datacenter
(``topology.replication()``: RF_d columns for datacenter d). Per trial each replica draws the
profile's W, A, R, S delays exactly as the single-DC predictor does (same ``"wars"`` stream, same
order), and each message adds the delay of its link: coordinator DC -> replica DC for W and R,
back for A and S (``topology.link``; in the coordinator's own datacenter ``intra_rack`` when the
replica is on the coordinator's rack, else ``intra_dc``), drawn from the stream ``"wars-links"``.
The write goes to every replica and commits when its level's requirement is met
(``pbs_sim.levels.Requirement``: the k-th ack from anywhere, the q-th from the coordinator's
datacenter, or the q_d-th from each datacenter d, whichever the level sets). The read asks the
replicas its level may use (fan-out ``"all"``: every replica, or only the local ones for LOCAL_*;
``"quorum"``: just as many as it needs, nearest datacenters first, at random within one) and
returns when its requirement is met; its responding set is every asked replica whose response has
arrived by then. It is consistent iff one of them held the write when the request reached it —
the single-DC rule ``tau = max(0, min over responders of (W_i - R_i) - w_t)``.

ANY is ONE here: with every replica up, Cassandra's ANY write waits for one ack (a hint counts only
when no replica can take the write, which the fault-free WARS model never sees); Riak's pr / pw
change nothing either (every replica is a primary without sloppy quorums).

One datacenter without rack or intra-DC delays is the single-DC model: such a prediction *is* a
call of ``pbs_sim.analytic.wars.predict`` (bit-identical). Every pair of a topology uses the same
seed, so the profile's draws are common to all pairs (common random numbers): two pairs differ
only by their links and levels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..distributions import Constant, Distribution
from ..errors import ConfigError
from ..levels import Requirement
from ..profiles import Profile, get_profile
from ..rng import Streams
from ..topology import TopologyConfig
from .wars.driver import EXACT_MAX_TRIALS, _run
from .wars.kernel import FANOUTS, Seed
from .wars.result import PredictResult

if TYPE_CHECKING:
    from ..config import Scenario

LINKS_STREAM = "wars-links"  # per-message link delays; the profile's draws keep the "wars" stream
Step = Callable[[np.random.Generator, np.random.Generator, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Layout:
    """Replica columns by datacenter: DC ``names[i]`` holds columns ``starts[i] .. starts[i] + rf[i]``."""

    names: tuple[str, ...]
    rf: tuple[int, ...]
    racks: tuple[int, ...]

    @property
    def n(self) -> int:
        return sum(self.rf)

    @property
    def starts(self) -> tuple[int, ...]:
        out, acc = [], 0
        for r in self.rf:
            out.append(acc)
            acc += r
        return tuple(out)

    def cols(self, dc: str) -> slice:
        i = self.names.index(dc)
        lo = self.starts[i]
        return slice(lo, lo + self.rf[i])

    @staticmethod
    def of(topo: TopologyConfig) -> Layout:
        return Layout(topo.names, tuple(d.replication for d in topo.datacenters), tuple(d.racks for d in topo.datacenters))


def _kth(x: np.ndarray, k: int) -> np.ndarray:
    """The k-th smallest (1-based) of each row, as the single-DC kernel takes W-th acks."""
    m = x.shape[1]
    if k == 1:
        return x.min(axis=1)
    if k == m:
        return x.max(axis=1)
    return np.partition(x, k - 1, axis=1)[:, k - 1]


def met_time(x: np.ndarray, req: Requirement, layout: Layout, local: str) -> np.ndarray:
    """When ``req`` is met, per trial, given each replica's reply time ``x`` (inf: no reply)."""
    parts: list[np.ndarray] = []
    if req.total:
        parts.append(_kth(x, req.total))
    if req.local:
        parts.append(_kth(x[:, layout.cols(local)], req.local))
    for dc, q in req.per_dc:
        parts.append(_kth(x[:, layout.cols(dc)], q))
    out = parts[0]
    for p in parts[1:]:
        out = np.maximum(out, p)
    return out


def _is_zero(d: Distribution) -> bool:
    return isinstance(d, Constant) and d.value == 0.0


class _Links:
    """Per-message link delays from a coordinator in one datacenter (shape ``(m, n)`` or a scalar)."""

    def __init__(self, topo: TopologyConfig, layout: Layout, coord: str) -> None:
        self.topo, self.layout, self.coord = topo, layout, coord
        self.laws = [topo.link(coord, dc) for dc in layout.names]
        local = layout.names.index(coord)
        self.local = local
        # replica j of a datacenter with k racks is on rack j mod k (distinct racks first); with one
        # rack every local replica shares the coordinator's
        k = layout.racks[local]
        if k == 1:
            self.laws[local] = topo.intra_rack
        self.local_racks = np.arange(layout.rf[local]) % k
        self.rack_aware = k > 1 and topo.intra_rack != topo.intra_dc and layout.rf[local] > 0
        self.zero = all(_is_zero(law) for law in self.laws) and (not self.rack_aware or _is_zero(topo.intra_rack))
        # constant laws without rack structure: one row, added by broadcasting (no per-trial arrays)
        self.row: np.ndarray | None = None
        consts = [law for law in self.laws if isinstance(law, Constant)]
        if not self.rack_aware and len(consts) == len(self.laws):
            self.row = np.concatenate([np.full(rf, law.value) for law, rf in zip(consts, layout.rf, strict=True)])

    def draw(self, rng: np.random.Generator, m: int) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(outbound, return) delays of one operation's messages to and from every replica."""
        if self.zero:
            return 0.0, 0.0
        if self.row is not None:
            return self.row, self.row
        n = self.layout.n
        out = np.empty((m, n))
        back = np.empty((m, n))
        starts = self.layout.starts
        same = None
        if self.rack_aware:  # the coordinator's rack, uniform per operation
            rack = rng.integers(0, self.layout.racks[self.local], size=(m, 1))
            same = self.local_racks[None, :] == rack
        for i, law in enumerate(self.laws):
            rf = self.layout.rf[i]
            if rf == 0:
                continue
            sl = slice(starts[i], starts[i] + rf)
            for arr in (out, back):
                if isinstance(law, Constant):
                    arr[:, sl] = law.value
                else:
                    arr[:, sl] = law.sample(rng, (m, rf))
                if i == self.local and same is not None:
                    rk = self.topo.intra_rack
                    near = rk.value if isinstance(rk, Constant) else rk.sample(rng, (m, rf))
                    arr[:, sl] = np.where(same, near, arr[:, sl])
        return out, back


def _dc_rank(topo: TopologyConfig, layout: Layout, coord: str) -> np.ndarray:
    """Per column: the rank of its datacenter by nearness to ``coord`` (own DC 0, then by mean link)."""
    order = sorted(layout.names, key=lambda dc: (dc != coord, topo.link(coord, dc).mean, layout.names.index(dc)))
    rank = {dc: i for i, dc in enumerate(order)}
    return np.concatenate([np.full(rf, rank[dc], dtype=float) for dc, rf in zip(layout.names, layout.rf, strict=True)])


def _asked(
    pick_rng: np.random.Generator, m: int, req: Requirement, layout: Layout, coord: str, fanout: str,
    rank: np.ndarray,
) -> np.ndarray | None:
    """Which replicas a read asks: a mask ``(m, n)`` or ``(n,)``, or None for every replica."""
    n = layout.n
    if fanout == "all":
        if req.local:
            mask = np.zeros(n, dtype=bool)
            mask[layout.cols(coord)] = True
            return mask
        return None
    # "quorum": exactly the replicas the level needs, nearest datacenters first, random within one
    # (one datacenter: the same uniform keys and choice as the single-DC kernel's read_replicas)
    keys = pick_rng.random((m, n)) + rank[None, :]
    mask = np.zeros((m, n), dtype=bool)
    if req.total:
        mask |= keys <= _kth(keys, req.total)[:, None]
    if req.local:
        sl = layout.cols(coord)
        mask[:, sl] |= keys[:, sl] <= _kth(keys[:, sl], req.local)[:, None]
    for dc, q in req.per_dc:
        sl = layout.cols(dc)
        mask[:, sl] |= keys[:, sl] <= _kth(keys[:, sl], q)[:, None]
    return mask


def dc_thresholds(
    w: np.ndarray, a: np.ndarray, r: np.ndarray, s: np.ndarray, read: Requirement, write: Requirement,
    layout: Layout, write_dc: str, read_dc: str, asked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-trial ``(tau, read_latency, write_latency)`` from delays of shape ``(trials, n)`` (links
    included), as ``wars_thresholds`` but with DC-aware requirements; ``asked`` masks the replicas the
    read asks (None: all). Ties in the read's response times all count as responders."""
    w_t = met_time(w + a, write, layout, write_dc)
    rs = r + s
    if asked is not None:
        rs = np.where(asked, rs, np.inf)
    read_latency = met_time(rs, read, layout, read_dc)
    responders = rs <= read_latency[:, None]
    tau = np.where(responders, w - r, np.inf).min(axis=1) - w_t
    np.maximum(tau, 0.0, out=tau)
    return tau, read_latency, w_t


def _kernel(
    profile: Profile, topo: TopologyConfig, read: Requirement, write: Requirement, write_dc: str, read_dc: str,
    fanout: str,
) -> Callable[[Streams], Step]:
    layout = Layout.of(topo)
    n = layout.n
    wl, rl = _Links(topo, layout, write_dc), _Links(topo, layout, read_dc)
    rank = _dc_rank(topo, layout, read_dc)

    def bind(streams: Streams) -> Step:
        link_rng = streams.get(LINKS_STREAM)

        def step(rng: np.random.Generator, pick_rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            w, a, r, s = profile.sample_wars(rng, m, n)  # the single-DC draws, same stream and order
            ew, ea = wl.draw(link_rng, m)
            er, es = rl.draw(link_rng, m)
            asked = _asked(pick_rng, m, read, layout, read_dc, fanout, rank)
            return dc_thresholds(w + ew, a + ea, r + er, s + es, read, write, layout, write_dc, read_dc, asked)

        return step

    return bind


@dataclass(eq=False)
class DCPairResult:
    """The prediction for writes coordinated in ``write_dc`` read from ``read_dc``."""

    write_dc: str
    read_dc: str
    read_level: str
    write_level: str
    result: PredictResult

    def summary(self) -> dict[str, Any]:
        return {"write_dc": self.write_dc, "read_dc": self.read_dc, "read_level": self.read_level,
                "write_level": self.write_level, **self.result.summary()}


def single_dc_equivalent(topo: TopologyConfig) -> bool:
    """One datacenter and no rack or intra-DC delays: the single-DC model exactly."""
    return len(topo.datacenters) == 1 and _is_zero(topo.intra_dc) and _is_zero(topo.intra_rack)


def predict_dc_pair(
    profile: Profile | str,
    topology: TopologyConfig,
    read: Requirement,
    write: Requirement,
    write_dc: str,
    read_dc: str,
    *,
    trials: int = 100_000,
    seed: Seed = None,
    target: float = 0.999,
    t_ms: Iterable[float] = (),
    fanout: str = "all",
    k: int = 1,
    chunk: int | None = None,
    exact_max_trials: int = EXACT_MAX_TRIALS,
    curve_points: int = 160,
    progress: Callable[[int], object] | None = None,
) -> DCPairResult:
    """P(consistent) t ms after a write's commit, for writes coordinated in ``write_dc`` at level
    ``write`` and reads in ``read_dc`` at ``read`` (``pbs_sim.levels.resolve`` gives them)."""
    prof = get_profile(profile, key="profile")
    if not topology.enabled:
        raise ConfigError(None, "topology", "has no datacenters")
    if prof.is_wan:
        raise ConfigError(None, "profile", f"{prof.name} adds its own {prof.remote_extra_ms:g} ms to remote replicas; "
                                           "with datacenters use its local profile and the topology's links")
    for key, dc in (("write_dc", write_dc), ("read_dc", read_dc)):
        if dc not in topology.names:
            raise ConfigError(None, key, f"{dc!r} is not a datacenter ({', '.join(topology.names)})")
    if fanout not in FANOUTS:
        raise ConfigError(None, "fanout", f"{fanout!r} is not one of {', '.join(FANOUTS)}")
    rf = topology.replication()
    for key, req, coord in (("read", read, read_dc), ("write", write, write_dc)):
        _check_met(key, req, rf, coord)
    layout = Layout.of(topology)
    n = layout.n
    common: dict[str, Any] = dict(trials=trials, seed=seed, target=target, t_ms=t_ms, fanout=fanout, k=k,
                                  chunk=chunk, exact_max_trials=exact_max_trials, curve_points=curve_points,
                                  progress=progress)
    if single_dc_equivalent(topology):
        # every level of one datacenter is a count over its replicas: today's predictor, unchanged
        from .wars.driver import predict

        res = predict(prof, n, read.block_for, write.block_for, **common)
    else:
        res = _run(prof.sample_wars, prof.name, n, min(read.block_for, n), min(write.block_for, n),
                   kernel=_kernel(prof, topology, read, write, write_dc, read_dc, fanout), **common)
    return DCPairResult(write_dc, read_dc, read.level, write.level, res)


def _check_met(key: str, req: Requirement, rf: Mapping[str, int], coord: str) -> None:
    """A requirement the replicas can meet, or one line naming ``read`` / ``write``."""
    n = sum(rf.values())
    if req.total > n:
        raise ConfigError(None, key, f"{req.level} needs {req.total} replies but there are {n} replicas")
    if req.local > rf[coord]:
        raise ConfigError(None, key, f"{req.level} needs {req.local} replies in {coord}, which holds {rf[coord]} replicas")
    for dc, q in req.per_dc:
        if dc not in rf or q > rf[dc]:
            raise ConfigError(None, key, f"{req.level} needs {q} replies in {dc}, which holds {rf.get(dc, 0)} replicas")
    if req.block_for < 1:
        raise ConfigError(None, key, f"{req.level} waits for no reply")


def client_pairs(topo: TopologyConfig) -> list[tuple[str, str]]:
    """Every (write DC, read DC) pair of datacenters with clients, in topology order."""
    dcs = list(topo.client_weights())
    return [(a, b) for a in dcs for b in dcs]


def predict_topology(
    scenario: Scenario,
    seed: Seed = None,
    *,
    t_ms: Iterable[float] | None = None,
    pairs: Iterable[tuple[str, str]] | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[DCPairResult]:
    """One curve per (write DC, read DC) pair of client datacenters of ``scenario`` (its profile,
    levels or R/W counts, and ``[predict]`` settings); ``seed`` None uses ``run.seed``, the same for
    every pair."""
    from ..topology import requirements

    topo, p, c = scenario.topology, scenario.predict, scenario.cluster
    if not topo.enabled:
        raise ConfigError(scenario.source, "topology", "has no datacenters: use pbs_sim.analytic.wars.predict_scenario")
    out = []
    for wdc, rdc in (client_pairs(topo) if pairs is None else pairs):
        _, write = requirements(scenario, wdc)
        read, _ = requirements(scenario, rdc)
        out.append(predict_dc_pair(
            scenario.latency.wars, topo, read, write, wdc, rdc, trials=p.trials,
            seed=scenario.run.seed if seed is None else seed, target=p.target,
            t_ms=p.t_ms if t_ms is None else t_ms, fanout=p.fanout if p.fanout is not None else c.read_fanout,
            k=p.k, progress=progress,
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Availability from per-DC live replicas


def level_available(req: Requirement, live: Mapping[str, int], local: str | None = None) -> bool:
    """Can an operation at ``req`` complete with ``live[dc]`` replicas up and reachable from its
    coordinator (in ``local``)? The requirement counts replies, so it is met iff enough replicas can
    reply: the total, the local datacenter's, or every datacenter's."""
    if req.total and sum(live.values()) < req.total:
        return False
    if req.local and live.get(local or "", 0) < req.local:
        return False
    return all(live.get(dc, 0) >= q for dc, q in req.per_dc)


def _binom_pmf(n: int, p_up: float) -> np.ndarray:
    return np.array([math.comb(n, j) * p_up**j * (1 - p_up) ** (n - j) for j in range(n + 1)])


def availability(
    req: Requirement, rf: Mapping[str, int], local: str, reachable: Iterable[str], p_down: float = 0.0,
) -> float:
    """P(an operation at ``req`` from a coordinator in ``local`` can complete) when only the
    datacenters in ``reachable`` can be reached (a DC partition cuts the others off) and each
    replica is down independently with probability ``p_down``: the live replicas of datacenter d
    are Binomial(RF_d, 1 - p_down), 0 in a datacenter cut off."""
    reach = set(reachable)
    up = 1.0 - p_down
    pmfs = {dc: (_binom_pmf(r, up) if dc in reach else np.array([1.0])) for dc, r in rf.items()}
    prob = 1.0
    if req.local:
        pmf = pmfs.get(local, np.array([1.0]))
        prob *= float(pmf[req.local:].sum())
    for dc, q in req.per_dc:
        prob *= float(pmfs[dc][q:].sum())
    if req.total:
        total = np.array([1.0])
        for pmf in pmfs.values():
            total = np.convolve(total, pmf)
        prob *= float(total[req.total:].sum())
    return prob
