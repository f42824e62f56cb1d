"""Choosing RF per datacenter and the read and write levels (issue 19): topologies scored against targets.

Owns: ``recommend_topology`` and the ``TopologyRecommendation`` it returns — every candidate
(replication factor per datacenter within bounds, one named read level, one named write level)
predicted for every (write DC, read DC) pair of client datacenters by the multi-DC WARS model,
checked against the targets, the feasible ones ranked the way ``recommend`` ranks (N, R, W), the
Pareto front marked and one sentence per excluded candidate; and ``pair_thresholds``, the per-trial
thresholds of one pair, which the explorer's topology mode draws. Must not touch: printing, exit
codes (the CLI), SimPy, ``pbs_sim.analytic.multidc`` (its pieces are reused, not changed).

The model is ``pbs_sim.analytic.multidc``'s (docs/design.md, "Datacenters and consistency levels").
Common random numbers: for each (write DC, read DC) pair the delays are drawn **once**, for the
largest layout the bounds allow (the upper RF of every datacenter), with exactly the streams,
order and chunks ``predict_dc_pair`` uses for that layout; a candidate with fewer replicas in
datacenter d keeps that datacenter's first RF_d replicas (replica j of d is on rack j mod k in
every layout, as NetworkTopologyStrategy places it). So replica j of datacenter d has the same W,
A, R, S and link delays in every candidate: two candidates differ only by their replicas and
levels, and comparisons between them are paired. Rows of the largest layout are digit for digit
``predict_dc_pair`` with the same seed; smaller layouts are the same trials with fewer replicas
(the same distribution as their own ``predict_dc_pair``, other digits). The one exception is a
single datacenter without rack or intra-DC delays, where ``predict_dc_pair`` is the single-DC
predictor: there the candidates are scored by ``predict_dc_pair`` itself, one call per distinct
(read, write) requirement.

Targets (all optional): read and write latency at a percentile (p50, p99 or p99.9) in every client
datacenter, or per named datacenter; the t-visibility at ``target`` for every selected pair (the
worst pair counts); P(consistent at ``at_ms``) >= ``min_p_consistent`` for every selected pair (1
allowed: every trial consistent); read and write availability with replicas up independently
(``node_availability``, the minimum over client datacenters; ``pbs_sim.analytic.multidc.availability``);
and reads and/or writes that still complete when any one datacenter is cut off from the others,
its replicas up (``available_when_cut``: on both sides of the cut, for every client datacenter).
Pairs: ``"all"`` (every pair of client datacenters), ``"cross"`` (write DC != read DC), ``"local"``,
or a list of (write DC, read DC). A datacenter's read latency is the worst over the evaluated pairs
that read there, its write latency the worst over those that write there; the pairs (d, d) of every
client datacenter are always evaluated, so every datacenter has both.

Ranking, cheapest first, as ``recommend``: fewest replicas ΣRF, then the worst read plus the worst
write latency at the percentile, then the worst t-visibility, then the level order of
``READ_LEVELS`` and the RF vector. The Pareto front is over (worst read latency, worst write
latency, worst t-visibility) among all candidates. With no feasible candidate the closest is the one
with the smallest total relative miss.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..levels import CASSANDRA_LEVELS, LevelError, Requirement, canonical, resolve
from ..profiles import Profile, get_profile
from ..rng import Streams
from ..topology import TopologyConfig
from .availability import format_availability
from .ranked import Ranked

if TYPE_CHECKING:
    import pandas as pd

READ_LEVELS = ("ONE", "LOCAL_ONE", "TWO", "THREE", "LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "ALL")
WRITE_LEVELS = READ_LEVELS  # ANY on request: in this fault-free model it is ONE
PERCENTILES = {"p50": 0.5, "p99": 0.99, "p99.9": 0.999}
#: candidates x evaluated pairs x trials: each is a sort of one pair's thresholds (~50-150 ns a trial)
MAX_TOPOLOGY_WORK = 5 * 10**8
#: replica-trials of the largest layout kept per pair: W, A, R, S and the read's keys, 8 bytes each (160 MB)
MAX_TOPOLOGY_DRAWS = 4 * 10**6
PAIR_CHOICES = ("all", "cross", "local")
CUT_CHOICES = ("reads", "writes", "both")


def _col(p: str) -> str:
    return p.replace(".", "")  # p99.9 -> p999, as the grid's column names


# ---------------------------------------------------------------------------------------------
# Inputs


_RANGE = re.compile(r"^\s*(\d+)\s*(?:(?:\.\.|-|:)\s*(\d+))?\s*$")


def _rf_range(text: str, source: str, what: str) -> tuple[int, int]:
    m = _RANGE.match(text)
    if not m:
        raise ConfigError(None, source, f"{text.strip()!r} is not an RF or a range like 1..3{what}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
        raise ConfigError(None, source, f"empty range {lo}..{hi}{what} (the first RF must be <= the last)")
    return lo, hi


def parse_rf_bounds(text: str | Mapping[str, Any] | None, topo: TopologyConfig, source: str = "rf") -> dict[str, tuple[int, int]]:
    """RF bounds per datacenter: ``"1..3"`` (every datacenter), ``"us-east-1=1..3,eu-west-1=0..2"``
    (the others keep the default), or a mapping; default ``1..min(3, nodes)``. RF_d <= nodes_d."""
    bounds = {d.name: (1, min(3, d.nodes)) for d in topo.datacenters}
    given: dict[str, tuple[int, int]] = {}
    if isinstance(text, Mapping):
        for dc, v in text.items():
            given[str(dc)] = _rf_range(str(v), source, f" for {dc}") if not isinstance(v, tuple) else v
    elif text is not None and str(text).strip():
        parts = [p.strip() for p in str(text).split(",")]
        if len(parts) == 1 and "=" not in parts[0]:
            lo_hi = _rf_range(parts[0], source, "")
            given = {d.name: lo_hi for d in topo.datacenters}
        else:
            for part in parts:
                if "=" not in part:
                    raise ConfigError(None, source, f"{part!r}: expected DC=RANGE like us-east-1=1..3 (or one range for every datacenter)")
                dc, _, rng = part.partition("=")
                dc = dc.strip()
                if dc not in bounds:
                    raise ConfigError(None, source, f"{dc!r} is not a datacenter of the topology ({', '.join(topo.names)})")
                if dc in given:
                    raise ConfigError(None, source, f"{dc} is given twice")
                given[dc] = _rf_range(rng, source, f" for {dc}")
    for dc, (lo, hi) in given.items():
        if dc not in bounds:
            raise ConfigError(None, source, f"{dc!r} is not a datacenter of the topology ({', '.join(topo.names)})")
        nodes = topo.dc(dc).nodes
        if hi > nodes:
            raise ConfigError(None, source, f"RF {hi} for {dc} exceeds its {nodes} nodes")
        bounds[dc] = (lo, hi)
    if all(hi == 0 for _, hi in bounds.values()):
        raise ConfigError(None, source, "every datacenter's RF is 0: no replicas")
    return bounds


def parse_levels(text: str | Iterable[str] | None, kind: str, source: str) -> tuple[str, ...]:
    """Level names (Cassandra's, canonical spelling), in the order given; None: the default list."""
    if text is None:
        return READ_LEVELS if kind == "read" else WRITE_LEVELS
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else [str(p).strip() for p in text]
    out: list[str] = []
    for item in items:
        if not item:
            raise ConfigError(None, source, "an empty level name")
        lvl = canonical(item)
        if lvl not in CASSANDRA_LEVELS:
            raise ConfigError(None, source, f"unknown level {item!r}; expected some of {', '.join(CASSANDRA_LEVELS)}")
        if lvl == "ANY" and kind == "read":
            raise ConfigError(None, source, "ANY is only supported for writes (Cassandra refuses it for reads)")
        if lvl in out:
            raise ConfigError(None, source, f"{lvl} is given twice")
        out.append(lvl)
    if not out:
        raise ConfigError(None, source, "no levels")
    return tuple(out)


def parse_pairs(spec: str | Iterable[tuple[str, str]], clients: Sequence[str], source: str = "pairs") -> list[tuple[str, str]]:
    """``all``, ``cross``, ``local`` or ``WRITE_DC:READ_DC,...`` over the client datacenters."""
    every = [(a, b) for a in clients for b in clients]
    if isinstance(spec, str):
        s = spec.strip()
        if s == "all":
            return every
        if s == "cross":
            out = [(a, b) for a, b in every if a != b]
            if not out:
                raise ConfigError(None, source, "cross: only one datacenter has clients, so there is no cross-DC pair")
            return out
        if s == "local":
            return [(a, a) for a in clients]
        items: list[tuple[str, str]] = []
        for part in s.split(","):
            a, sep, b = part.strip().partition(":")
            if not sep:
                raise ConfigError(None, source, f"{part.strip()!r}: expected all, cross, local or WRITE_DC:READ_DC pairs")
            items.append((a.strip(), b.strip()))
    else:
        items = [(str(a), str(b)) for a, b in spec]
    out = []
    for a, b in items:
        for dc in (a, b):
            if dc not in clients:
                raise ConfigError(None, source, f"{dc!r} is not a datacenter with clients ({', '.join(clients)})")
        if (a, b) not in out:
            out.append((a, b))
    if not out:
        raise ConfigError(None, source, "no pairs")
    return out


def _per_dc_bound(value: float | Mapping[str, float] | None, key: str, clients: Sequence[str]) -> dict[str, float]:
    if value is None:
        return {}
    raw = value if isinstance(value, Mapping) else {dc: value for dc in clients}
    out = {}
    for dc, v in raw.items():
        if dc not in clients:
            raise ConfigError(None, key, f"{dc!r} is not a datacenter with clients ({', '.join(clients)})")
        if isinstance(v, bool) or not isinstance(v, int | float) or not (math.isfinite(v) and v >= 0):
            raise ConfigError(None, key, f"must be a finite number of ms >= 0, got {v!r}")
        out[str(dc)] = float(v)
    return out


def parse_dc_ms(text: str | None, source: str) -> float | dict[str, float] | None:
    """``5`` (every client datacenter) or ``us-east-1=5,eu-west-1=10`` (ms)."""
    if text is None:
        return None
    s = str(text).strip()
    if "=" not in s:
        try:
            return float(s)
        except ValueError:
            raise ConfigError(None, source, f"{s!r} is not a number of ms or DC=MS pairs") from None
    out: dict[str, float] = {}
    for part in s.split(","):
        dc, sep, v = part.partition("=")
        if not sep:
            raise ConfigError(None, source, f"{part.strip()!r}: expected DC=MS like us-east-1=5")
        try:
            out[dc.strip()] = float(v)
        except ValueError:
            raise ConfigError(None, source, f"{v.strip()!r} is not a number of ms (for {dc.strip()})") from None
    return out


@dataclass(frozen=True)
class TopologyTargets:
    """Service-level targets over datacenters; ``None`` leaves one out (module docstring)."""

    max_read_ms: dict[str, float] = field(default_factory=dict)  # client DC -> bound at ``percentile``
    max_write_ms: dict[str, float] = field(default_factory=dict)
    percentile: str = "p99.9"
    max_t_visibility_ms: float | None = None
    target: float = 0.999
    at_ms: float | None = None
    min_p_consistent: float | None = None
    min_availability: float | None = None
    available_when_cut: str | None = None
    pairs: tuple[tuple[str, str], ...] = ()

    def describe(self) -> list[str]:
        parts: list[str] = []
        for op, b in (("read", self.max_read_ms), ("write", self.max_write_ms)):
            if b:
                vals = set(b.values())
                parts.append(f"{op} {self.percentile} <= {_g(next(iter(vals)))} ms in every client DC" if len(vals) == 1 and len(b) > 1
                             else f"{op} {self.percentile} " + ", ".join(f"<= {_g(v)} ms in {dc}" for dc, v in b.items()))
        if self.max_t_visibility_ms is not None:
            parts.append(f"t-visibility at {_g(100 * self.target)} % <= {_g(self.max_t_visibility_ms)} ms")
        if self.min_p_consistent is not None:
            parts.append(f"P(consistent at {_g(self.at_ms or 0.0)} ms) >= {_g(100 * self.min_p_consistent)} %")
        if self.min_availability is not None:
            parts.append(f"read and write availability >= {_g(100 * self.min_availability)} %")
        if self.available_when_cut is not None:
            what = {"reads": "reads", "writes": "writes", "both": "reads and writes"}[self.available_when_cut]
            parts.append(f"{what} complete when any one DC is cut off")
        return parts


def _g(x: float) -> str:
    from ..numbers import number

    return number(x)


# ---------------------------------------------------------------------------------------------
# Draws shared by every candidate of one (write DC, read DC) pair


class _Keys:
    """Stands in for the read-replica Generator: hands ``_asked`` the keys already drawn."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def random(self, shape: tuple[int, int]) -> np.ndarray:
        assert shape == self.keys.shape
        return self.keys


@dataclass
class _PairDraws:
    """Every trial's delays (links included) for the largest layout, and the quorum read's keys."""

    w: np.ndarray
    a: np.ndarray
    r: np.ndarray
    s: np.ndarray
    keys: np.ndarray | None  # fan-out "quorum": the uniform keys before the datacenter ranks


def _draw_pair(profile: Profile, topo: TopologyConfig, layout: Any, write_dc: str, read_dc: str, trials: int,
               seed: int, fanout: str) -> _PairDraws:
    """The draws ``predict_dc_pair`` makes for ``layout`` (same streams, order and chunks)."""
    from ..analytic.multidc import LINKS_STREAM, _Links
    from ..analytic.wars.driver import CHUNK_VALUES
    from ..analytic.wars.kernel import READ_REPLICAS_STREAM

    n = layout.n
    streams = Streams(seed)
    rng, pick_rng, link_rng = streams.get("wars"), streams.get(READ_REPLICAS_STREAM), streams.get(LINKS_STREAM)
    wl, rl = _Links(topo, layout, write_dc), _Links(topo, layout, read_dc)
    chunk = max(1, CHUNK_VALUES // n)
    out = {k: np.empty((trials, n)) for k in ("w", "a", "r", "s")}
    keys = np.empty((trials, n)) if fanout == "quorum" else None
    done = 0
    while done < trials:
        m = min(chunk, trials - done)
        w, a, r, s = profile.sample_wars(rng, m, n)
        ew, ea = wl.draw(link_rng, m)
        er, es = rl.draw(link_rng, m)
        sl = slice(done, done + m)
        out["w"][sl] = w + ew
        out["a"][sl] = a + ea
        out["r"][sl] = r + er
        out["s"][sl] = s + es
        if keys is not None:
            keys[sl] = pick_rng.random((m, n))
        done += m
    return _PairDraws(out["w"], out["a"], out["r"], out["s"], keys)


def _req_key(req: Requirement) -> tuple[Any, ...]:
    return (req.total, req.local, req.per_dc, req.hint_ok)


class _LayoutView:
    """One candidate layout's columns of a pair's draws, and its per-requirement reductions (cached)."""

    def __init__(self, topo: TopologyConfig, big: Any, rf: tuple[int, ...], draws: _PairDraws, write_dc: str,
                 read_dc: str, fanout: str) -> None:
        from ..analytic.multidc import Layout, _dc_rank

        self.layout = Layout(big.names, rf, big.racks)
        idx = np.concatenate([np.arange(st, st + k) for st, k in zip(big.starts, rf, strict=True)]).astype(int)
        full = len(idx) == big.n
        take: Callable[[np.ndarray], np.ndarray] = (lambda x: x) if full else (lambda x: x[:, idx])
        self.w, self.a, self.r, self.s = take(draws.w), take(draws.a), take(draws.r), take(draws.s)
        self.keys = None if draws.keys is None else take(draws.keys)
        self.write_dc, self.read_dc, self.fanout = write_dc, read_dc, fanout
        self.rank = _dc_rank(topo, self.layout, read_dc)
        self._writes: dict[tuple[Any, ...], np.ndarray] = {}
        self._reads: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}

    def write(self, req: Requirement) -> np.ndarray:
        """Commit time of every trial (``dc_thresholds``' ``w_t``)."""
        from ..analytic.multidc import met_time

        k = _req_key(req)
        if k not in self._writes:
            self._writes[k] = met_time(self.w + self.a, req, self.layout, self.write_dc)
        return self._writes[k]

    def read(self, req: Requirement) -> tuple[np.ndarray, np.ndarray]:
        """(read latency, min over responders of W_i - R_i) of every trial (``dc_thresholds``)."""
        from ..analytic.multidc import _asked, met_time

        k = _req_key(req)
        if k not in self._reads:
            m = self.w.shape[0]
            pick = _Keys(self.keys) if self.keys is not None else None
            asked = _asked(pick, m, req, self.layout, self.read_dc, self.fanout, self.rank)  # type: ignore[arg-type]
            rs = self.r + self.s
            if asked is not None:
                rs = np.where(asked, rs, np.inf)
            latency = met_time(rs, req, self.layout, self.read_dc)
            responders = rs <= latency[:, None]
            self._reads[k] = (latency, np.where(responders, self.w - self.r, np.inf).min(axis=1))
        return self._reads[k]


def _order_stats(arr: np.ndarray, ks: Sequence[int]) -> list[float]:
    """1-based order statistics, clipped to the sample (as the exact tally's latencies)."""
    n = len(arr)
    idx = sorted({min(max(k, 1), n) - 1 for k in ks})
    part = np.partition(arr, idx)
    return [float(part[min(max(k, 1), n) - 1]) for k in ks]


@dataclass
class PairNumbers:
    """One candidate's prediction for one (write DC, read DC) pair: ``predict_dc_pair``'s headline numbers."""

    t_visibility_ms: float
    t_visibility_ci_ms: tuple[float, float]
    p_consistent_at_t0: float
    p_consistent: dict[float, float]  # at each requested t (ms)
    read_latency_ms: dict[str, float]
    write_latency_ms: dict[str, float]


def _numbers(tau: np.ndarray, target: float, ts: Sequence[float], block: tuple[int, int, int],
             read_lat: dict[str, float], write_lat: dict[str, float]) -> PairNumbers:
    """What ``pbs_sim.analytic.wars.driver._run`` reports from the thresholds, in its exact mode."""
    from ..analytic.wars.stats import _rank, quantile_ci_ranks

    trials = len(tau)
    pos = np.sort(tau[tau > 0])
    zeros = trials - len(pos)

    def order(k: int) -> float:
        if k <= zeros:
            return 0.0
        if k > trials:
            return math.inf
        return float(pos[k - zeros - 1])

    t_vis = order(_rank(target, trials))
    lo, hi = quantile_ci_ranks(trials, target)
    ci = (order(lo) if lo >= 1 else 0.0, order(hi))
    n, r, w = block
    if r + w > n:  # as the driver: every read meets an acked replica by construction
        ci = (0.0, 0.0)
    counts = zeros + np.searchsorted(pos, np.asarray(ts, dtype=float), side="right")
    return PairNumbers(t_vis, ci, zeros / trials, {float(t): float(c / trials) for t, c in zip(ts, counts, strict=True)},
                       read_lat, write_lat)


def _latency(arr: np.ndarray) -> dict[str, float]:
    from ..analytic.wars.driver import LATENCY_QUANTILES
    from ..analytic.wars.stats import _rank

    ks = [_rank(q, len(arr)) for _, q in LATENCY_QUANTILES]
    return dict(zip([name for name, _ in LATENCY_QUANTILES], _order_stats(arr, ks), strict=True))


def pair_thresholds(
    profile: Profile | str, topology: TopologyConfig, read: Requirement, write: Requirement, write_dc: str,
    read_dc: str, *, trials: int, seed: int, fanout: str = "all",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial ``(tau, read latency, write latency)`` of one pair: the thresholds
    ``predict_dc_pair`` tallies (same draws for the same seed; the multi-DC kernel even for one flat
    datacenter)."""
    from ..analytic.multidc import Layout

    prof = get_profile(profile, key="profile")
    big = Layout.of(topology)
    draws = _draw_pair(prof, topology, big, write_dc, read_dc, trials, seed, fanout)
    view = _LayoutView(topology, big, big.rf, draws, write_dc, read_dc, fanout)
    w_t = view.write(write)
    latency, minwr = view.read(read)
    tau = minwr - w_t
    np.maximum(tau, 0.0, out=tau)
    return tau, latency, w_t


# ---------------------------------------------------------------------------------------------
# The search


@dataclass(frozen=True)
class Candidate:
    rf: tuple[int, ...]
    read_level: str
    write_level: str


def with_rf(topo: TopologyConfig, rf: Sequence[int]) -> TopologyConfig:
    """The topology with these replication factors (nodes, racks, clients and links unchanged)."""
    dcs = tuple(replace(d, replication=int(k)) for d, k in zip(topo.datacenters, rf, strict=True))
    return replace(topo, datacenters=dcs)


def _cut_cases(names: Sequence[str], clients: Sequence[str]) -> list[tuple[str, str, frozenset[str]]]:
    """(cut DC, client DC, reachable DCs): every DC cut off alone, seen from both sides."""
    out = []
    for cut in names:
        for d in clients:
            reach = frozenset({cut}) if d == cut else frozenset(names) - {cut}
            out.append((cut, d, reach))
    return out


@dataclass(eq=False)
class TopologyRecommendation(Ranked):
    """Every candidate scored: ``table`` (one row each), ``pairs`` (one row per candidate and pair)."""

    profile: str
    datacenters: tuple[str, ...]
    clients: tuple[str, ...]
    targets: TopologyTargets
    node_availability: float
    table: pd.DataFrame
    pairs: pd.DataFrame
    rf_bounds: dict[str, tuple[int, int]]
    max_total_rf: int | None
    skipped: int  # level combinations the replicas of a layout cannot meet
    trials: int
    seed: int
    fanout: str
    evaluated_pairs: tuple[tuple[str, str], ...]

    CLOSEST_ORDER = ("n", "latency_sum_ms", "order")

    @property
    def excluded(self) -> list[str]:
        rows = self.table[~self.table.feasible].sort_values("order")
        return [f"RF {r.rf} read {r.read_level} write {r.write_level}: {r.misses}." for r in rows.itertuples()]

    def pairs_of(self, row: Mapping[str, Any]) -> pd.DataFrame:
        """The per-pair rows of one candidate (a row of ``table``)."""
        p = self.pairs
        return p[p.candidate == row["candidate"]]

    def to_dict(self) -> dict[str, Any]:
        def clean(d: Mapping[Any, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for k, v in d.items():
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                out[str(k)] = v
            return out

        best, closest = self.best, self.closest
        tg = self.targets
        return {
            "profile": self.profile, "datacenters": list(self.datacenters), "clients": list(self.clients),
            "rf_bounds": {k: list(v) for k, v in self.rf_bounds.items()}, "max_total_rf": self.max_total_rf,
            "trials": self.trials, "seed": self.seed, "fanout": self.fanout,
            "targets": {
                "max_read_ms": tg.max_read_ms, "max_write_ms": tg.max_write_ms, "percentile": tg.percentile,
                "max_t_visibility_ms": tg.max_t_visibility_ms, "target": tg.target, "at_ms": tg.at_ms,
                "min_p_consistent": tg.min_p_consistent, "min_availability": tg.min_availability,
                "available_when_cut": tg.available_when_cut, "pairs": [list(p) for p in tg.pairs],
            },
            "node_availability": self.node_availability,
            "evaluated_pairs": [list(p) for p in self.evaluated_pairs],
            "skipped": self.skipped,
            "feasible": [clean(r) for r in self.feasible.to_dict("records")],
            "best": clean(best) if best else None,
            "best_pairs": [clean(r) for r in self.pairs_of(best).to_dict("records")] if best else None,
            "closest": clean(closest) if closest else None,
            "excluded": self.excluded,
            "pareto": [clean(r) for r in self.table[self.table.pareto].to_dict("records")],
            "table": [clean(r) for r in self.table.to_dict("records")],
        }


def check_work(n_candidates: int, n_pairs: int, trials: int, n_max: int, source: str = "trials") -> None:
    """Refuse a search beyond ``MAX_TOPOLOGY_WORK`` or ``MAX_TOPOLOGY_DRAWS``, one line, before any work."""
    work = n_candidates * n_pairs * trials
    if work > MAX_TOPOLOGY_WORK:
        raise ConfigError(None, source, f"{n_candidates:,} candidates x {n_pairs} DC pairs x {trials:,} trials = {work:,}; "
                                        f"at most {MAX_TOPOLOGY_WORK:,} (lower the trials, narrow --rf or the levels)")
    if n_max * trials > MAX_TOPOLOGY_DRAWS:
        raise ConfigError(None, source, f"the largest layout's {n_max} replicas x {trials:,} trials = {n_max * trials:,} "
                                        f"replica-trials kept per DC pair; at most {MAX_TOPOLOGY_DRAWS:,} "
                                        f"(lower the trials to {MAX_TOPOLOGY_DRAWS // n_max:,} or the RF bounds)")


def enumerate_candidates(
    topo: TopologyConfig, bounds: Mapping[str, tuple[int, int]], max_total_rf: int | None,
    read_levels: Sequence[str], write_levels: Sequence[str],
) -> tuple[list[Candidate], int]:
    """Every (RF vector, read level, write level) whose levels the replicas can meet from every
    client datacenter, and how many combinations were skipped because they cannot."""
    names = topo.names
    clients = list(topo.client_weights())
    ranges = [range(bounds[dc][0], bounds[dc][1] + 1) for dc in names]
    out: list[Candidate] = []
    skipped = 0
    for rf in itertools.product(*ranges):
        total = sum(rf)
        if total < 1 or (max_total_rf is not None and total > max_total_rf):
            continue
        rfm = dict(zip(names, rf, strict=True))
        ok_r = {lv: _meetable(lv, "read", rfm, clients) for lv in read_levels}
        ok_w = {lv: _meetable(lv, "write", rfm, clients) for lv in write_levels}
        for rl in read_levels:
            for wl in write_levels:
                if ok_r[rl] and ok_w[wl]:
                    out.append(Candidate(tuple(rf), rl, wl))
                else:
                    skipped += 1
    return out, skipped


def _meetable(level: str, kind: str, rf: Mapping[str, int], clients: Sequence[str]) -> bool:
    from ..analytic.multidc import _check_met

    try:
        for dc in clients:
            _check_met(kind, resolve(level, kind, rf, dc), rf, dc)
    except (LevelError, ConfigError):
        return False
    return True


def recommend_topology(
    profile: Profile | str,
    topology: TopologyConfig,
    *,
    rf: str | Mapping[str, Any] | None = None,
    max_total_rf: int | None = None,
    read_levels: str | Iterable[str] | None = None,
    write_levels: str | Iterable[str] | None = None,
    pairs: str | Iterable[tuple[str, str]] = "all",
    max_read_ms: float | Mapping[str, float] | None = None,
    max_write_ms: float | Mapping[str, float] | None = None,
    percentile: str = "p99.9",
    max_t_visibility_ms: float | None = None,
    target: float = 0.999,
    at_ms: float | None = None,
    min_p_consistent: float | None = None,
    node_availability: float = 0.999,
    min_availability: float | None = None,
    available_when_cut: str | None = None,
    trials: int = 20_000,
    seed: int | None = None,
    fanout: str = "all",
    progress: Callable[[int], object] | None = None,
) -> TopologyRecommendation:
    """Score every candidate (RF per datacenter, read level, write level) of ``topology`` against
    the targets and rank the feasible ones (module docstring: model, common random numbers, targets,
    ranking).

    Args:
        profile: the latency profile (a node's service time and local network; not ``wan``).
        topology: the datacenters (names, nodes, racks, clients) and their links; its own
            replication factors are ignored (the search chooses them).
        rf: RF bounds, ``"1..3"`` or ``"dc1=1..3,dc2=0..2"`` (default 1..min(3, nodes) each).
        max_total_rf: the largest ΣRF considered.
        read_levels: read level names to consider (default ``READ_LEVELS``).
        write_levels: write level names to consider (default ``WRITE_LEVELS``; ANY on request).
        pairs: the (write DC, read DC) pairs the staleness targets cover.
        max_read_ms: read latency bound at ``percentile``, one number for every client
            datacenter or a mapping per datacenter.
        max_write_ms: write latency bound, as ``max_read_ms``.
        percentile: ``"p50"``, ``"p99"`` or ``"p99.9"``.
        max_t_visibility_ms: bound on the t-visibility at ``target`` (every selected pair).
        target: the probability of the t-visibility, in (0, 1).
        at_ms: the time after commit (ms) of the ``min_p_consistent`` target.
        min_p_consistent: P(consistent at ``at_ms``) >= this for every selected pair, in (0, 1].
        node_availability: each replica up with this probability, independently.
        min_availability: the least read and write availability accepted (every client DC).
        available_when_cut: ``"reads"``, ``"writes"`` or ``"both"`` must complete when any one
            datacenter is cut off (both sides, replicas up).
        trials: trials per (write DC, read DC) pair.
        seed: the root seed, the same for every pair and candidate (None draws one, reported).
        fanout: ``"all"`` or ``"quorum"`` read fan-out, as in predict.
        progress: called with the trials of each pair once its candidates are scored.

    Returns:
        A ``TopologyRecommendation``: ``best``, ``feasible``, ``closest``, ``excluded``, ``table``
        (one row per candidate), ``pairs`` (one row per candidate and pair), ``pairs_of(row)`` and
        ``to_dict()``.

    Raises:
        ConfigError: bad bounds, levels, pairs or targets, or a search beyond the work bounds.
    """
    import pandas as pd

    from ..analytic.limits import check_prediction, check_target, fresh_seed
    from ..analytic.multidc import Layout, availability, single_dc_equivalent
    from ..analytic.wars.kernel import FANOUTS

    prof = get_profile(profile, key="profile")
    if not topology.enabled:
        raise ConfigError(None, "topology", "has no datacenters: use recommend(profile, n) for a flat cluster")
    if prof.is_wan:
        raise ConfigError(None, "profile", f"{prof.name} adds its own {prof.remote_extra_ms:g} ms to remote replicas; "
                                           "with datacenters use its local profile and the topology's links")
    if fanout not in FANOUTS:
        raise ConfigError(None, "fanout", f"{fanout!r} is not one of {', '.join(FANOUTS)}")
    if percentile not in PERCENTILES:
        raise ConfigError(None, "percentile", f"{percentile!r} is not one of {', '.join(PERCENTILES)}")
    target = check_target(target)
    check_prediction(trials=trials, seed=seed)
    names = topology.names
    clients = tuple(topology.client_weights())
    bounds = parse_rf_bounds(rf, topology, source="rf")
    if max_total_rf is not None and (isinstance(max_total_rf, bool) or not isinstance(max_total_rf, int) or max_total_rf < 1):
        raise ConfigError(None, "max_total_rf", f"must be a whole number >= 1, got {max_total_rf!r}")
    rls = parse_levels(read_levels, "read", "read_levels")
    wls = parse_levels(write_levels, "write", "write_levels")
    selected = parse_pairs(pairs, clients, source="pairs")
    if (at_ms is None) != (min_p_consistent is None):
        raise ConfigError(None, "min_p_consistent" if min_p_consistent is None else "at_ms",
                          "P(consistent at t) needs both at_ms and min_p_consistent")
    if at_ms is not None and (isinstance(at_ms, bool) or not isinstance(at_ms, int | float) or not (math.isfinite(at_ms) and at_ms >= 0)):
        raise ConfigError(None, "at_ms", f"must be a finite number of ms >= 0, got {at_ms!r}")
    if min_p_consistent is not None and (isinstance(min_p_consistent, bool) or not isinstance(min_p_consistent, int | float)
                                         or not 0 < min_p_consistent <= 1):
        raise ConfigError(None, "min_p_consistent", f"must be a probability in (0, 1], got {min_p_consistent!r}")
    if max_t_visibility_ms is not None and (isinstance(max_t_visibility_ms, bool) or not isinstance(max_t_visibility_ms, int | float)
                                            or not (math.isfinite(max_t_visibility_ms) and max_t_visibility_ms >= 0)):
        raise ConfigError(None, "max_t_visibility_ms", f"must be a finite number of ms >= 0, got {max_t_visibility_ms!r}")
    if isinstance(node_availability, bool) or not isinstance(node_availability, int | float) or not 0 < node_availability <= 1:
        raise ConfigError(None, "node_availability", f"must be a probability in (0, 1], got {node_availability!r}")
    if min_availability is not None and (isinstance(min_availability, bool) or not isinstance(min_availability, int | float)
                                         or not 0 < min_availability < 1):
        raise ConfigError(None, "min_availability", f"must be a probability in (0, 1), got {min_availability!r}")
    if available_when_cut is not None and available_when_cut not in CUT_CHOICES:
        raise ConfigError(None, "available_when_cut", f"{available_when_cut!r} is not one of {', '.join(CUT_CHOICES)}")
    if available_when_cut is not None and len(names) < 2:
        raise ConfigError(None, "available_when_cut", "needs two datacenters or more (there is nothing to cut off)")
    tg = TopologyTargets(
        _per_dc_bound(max_read_ms, "max_read_ms", clients), _per_dc_bound(max_write_ms, "max_write_ms", clients),
        percentile, None if max_t_visibility_ms is None else float(max_t_visibility_ms), target,
        None if at_ms is None else float(at_ms), None if min_p_consistent is None else float(min_p_consistent),
        None if min_availability is None else float(min_availability), available_when_cut, tuple(selected),
    )
    evaluated = list(selected) + [(d, d) for d in clients if (d, d) not in selected]
    cands, skipped = enumerate_candidates(topology, bounds, max_total_rf, rls, wls)
    if not cands:
        raise ConfigError(None, "rf" if max_total_rf is None else "max_total_rf",
                          "no RF layout and levels to consider: every combination is out of bounds or unmeetable")
    n_max = sum(hi for _, hi in bounds.values())
    check_work(len(cands), len(evaluated), trials, n_max, source="trials")
    seed = fresh_seed() if seed is None else int(seed)
    ts = [0.0] + ([float(at_ms)] if at_ms is not None and at_ms > 0 else [])

    # -- predictions: one draw per pair, every candidate on it --------------------------------------
    big = Layout(names, tuple(hi for _, hi in bounds.values()), tuple(d.racks for d in topology.datacenters))
    by_layout: dict[tuple[int, ...], list[int]] = {}
    for i, c in enumerate(cands):
        by_layout.setdefault(c.rf, []).append(i)
    results: dict[tuple[int, str, str], PairNumbers] = {}
    flat = single_dc_equivalent(topology)
    for wdc, rdc in evaluated:
        draws = None if flat else _draw_pair(prof, topology, big, wdc, rdc, trials, seed, fanout)
        for rfv, idxs in by_layout.items():
            rfm = dict(zip(names, rfv, strict=True))
            n = sum(rfv)
            view = None if draws is None else _LayoutView(topology, big, rfv, draws, wdc, rdc, fanout)
            lat_r: dict[tuple[Any, ...], dict[str, float]] = {}
            lat_w: dict[tuple[Any, ...], dict[str, float]] = {}
            done: dict[tuple[Any, ...], PairNumbers] = {}
            for i in idxs:
                c = cands[i]
                read = resolve(c.read_level, "read", rfm, rdc)
                write = resolve(c.write_level, "write", rfm, wdc)
                key = (_req_key(read), _req_key(write))
                if key not in done:
                    if view is None:
                        done[key] = _flat_numbers(prof, with_rf(topology, rfv), read, write, wdc, rdc, trials, seed,
                                                  target, ts, fanout)
                    else:
                        w_t = view.write(write)
                        latency, minwr = view.read(read)
                        kr, kw = _req_key(read), _req_key(write)
                        if kr not in lat_r:
                            lat_r[kr] = _latency(latency)
                        if kw not in lat_w:
                            lat_w[kw] = _latency(w_t)
                        tau = minwr - w_t
                        np.maximum(tau, 0.0, out=tau)
                        done[key] = _numbers(tau, target, ts, (n, min(read.block_for, n), min(write.block_for, n)),
                                             lat_r[kr], lat_w[kw])
                results[(i, wdc, rdc)] = done[key]
        if progress is not None:
            progress(trials)

    # -- the tables ---------------------------------------------------------------------------------
    pct = percentile
    p_down = 1.0 - node_availability
    cuts = _cut_cases(names, clients)
    pair_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    level_order = {lv: j for j, lv in enumerate(READ_LEVELS + ("ANY",))}
    # ties broken by ΣRF, level order and RF vector: a total order, so the same table gives the same ranks
    keyed = sorted(range(len(cands)), key=lambda j: (sum(cands[j].rf), level_order[cands[j].read_level],
                                                     level_order[cands[j].write_level], cands[j].rf))
    order = {j: k + 1 for k, j in enumerate(keyed)}
    for i, c in enumerate(cands):
        rfm = dict(zip(names, c.rf, strict=True))
        rf_text = "/".join(map(str, c.rf))
        row: dict[str, Any] = {"candidate": i, "rf": rf_text, **{f"rf:{dc}": k for dc, k in rfm.items()},
                               "n": sum(c.rf), "read_level": c.read_level, "write_level": c.write_level}
        read_by_dc: dict[str, float] = {}
        write_by_dc: dict[str, float] = {}
        worst: tuple[float, str] = (-math.inf, "")
        t_ci = (0.0, 0.0)
        p0 = 1.0
        p_at = 1.0
        ci_high_max = 0.0
        border = False
        for wdc, rdc in evaluated:
            num = results[(i, wdc, rdc)]
            pair_rows.append({
                "candidate": i, "rf": rf_text, "read_level": c.read_level, "write_level": c.write_level,
                "write_dc": wdc, "read_dc": rdc, "targeted": (wdc, rdc) in selected,
                "p_consistent_at_t0": num.p_consistent_at_t0,
                **({f"p_consistent_at_{at_ms:g}_ms": num.p_consistent[float(at_ms)]} if at_ms is not None else {}),
                "t_visibility_ms": num.t_visibility_ms, "t_visibility_ci_low_ms": num.t_visibility_ci_ms[0],
                "t_visibility_ci_high_ms": num.t_visibility_ci_ms[1],
                **{f"read_latency_{_col(k)}_ms": v for k, v in num.read_latency_ms.items()},
                **{f"write_latency_{_col(k)}_ms": v for k, v in num.write_latency_ms.items()},
            })
            read_by_dc[rdc] = max(read_by_dc.get(rdc, -math.inf), num.read_latency_ms[pct])
            write_by_dc[wdc] = max(write_by_dc.get(wdc, -math.inf), num.write_latency_ms[pct])
            if (wdc, rdc) in selected:
                if num.t_visibility_ms > worst[0] or not worst[1]:
                    worst = (num.t_visibility_ms, f"{wdc}->{rdc}")
                    t_ci = num.t_visibility_ci_ms
                ci_high_max = max(ci_high_max, num.t_visibility_ci_ms[1])
                if tg.max_t_visibility_ms is not None and num.t_visibility_ms <= tg.max_t_visibility_ms < num.t_visibility_ci_ms[1]:
                    border = True
                p0 = min(p0, num.p_consistent_at_t0)
                if at_ms is not None:
                    p_at = min(p_at, num.p_consistent[float(at_ms)])
        row[f"read_latency_{_col(pct)}_ms"] = max(read_by_dc.values())
        row[f"write_latency_{_col(pct)}_ms"] = max(write_by_dc.values())
        for dc in clients:
            row[f"read_latency_{_col(pct)}_ms:{dc}"] = read_by_dc[dc]
            row[f"write_latency_{_col(pct)}_ms:{dc}"] = write_by_dc[dc]
        row.update({"t_visibility_ms": worst[0], "t_visibility_ci_low_ms": t_ci[0], "t_visibility_ci_high_ms": t_ci[1],
                    "worst_pair": worst[1], "p_consistent_at_t0": p0})
        if at_ms is not None:
            row[f"p_consistent_at_{at_ms:g}_ms"] = p_at
        reqs = {dc: (resolve(c.read_level, "read", rfm, dc), resolve(c.write_level, "write", rfm, dc)) for dc in clients}
        row["read_availability"] = min(availability(reqs[dc][0], rfm, dc, names, p_down) for dc in clients)
        row["write_availability"] = min(availability(reqs[dc][1], rfm, dc, names, p_down) for dc in clients)
        fails: dict[str, list[str]] = {"reads": [], "writes": []}
        for cut, dc, reach in cuts:
            for op, j in (("reads", 0), ("writes", 1)):
                if availability(reqs[dc][j], rfm, dc, reach, 0.0) < 1.0:
                    fails[op].append(f"{op} in {dc} when {cut} is cut off")
        row["reads_survive_cut"] = not fails["reads"] if len(names) > 1 else True
        row["writes_survive_cut"] = not fails["writes"] if len(names) > 1 else True
        row["cut_failures"] = "; ".join(fails["reads"] + fails["writes"])
        misses = _misses(row, tg, fails, read_by_dc, write_by_dc)
        row["feasible"] = not misses
        row["misses"] = "; ".join(s for s, _ in misses)
        row["total_miss"] = math.fsum(x for _, x in misses)
        row["latency_sum_ms"] = row[f"read_latency_{_col(pct)}_ms"] + row[f"write_latency_{_col(pct)}_ms"]
        row["borderline"] = bool(row["feasible"] and border)
        row["order"] = order[i]
        row.update({"trials": trials, "seed": seed, "fanout": fanout})
        rows.append(row)
    table = pd.DataFrame(rows)
    from . import pareto_front

    table["pareto"] = pareto_front(table[[f"read_latency_{_col(pct)}_ms", f"write_latency_{_col(pct)}_ms",
                                          "t_visibility_ms"]].to_numpy())
    feas = table[table.feasible].sort_values(["n", "latency_sum_ms", "t_visibility_ms", "order"]).index
    table["rank"] = 0
    table.loc[feas, "rank"] = np.arange(1, len(feas) + 1)
    return TopologyRecommendation(
        profile=prof.name, datacenters=names, clients=clients, targets=tg, node_availability=float(node_availability),
        table=table, pairs=pd.DataFrame(pair_rows), rf_bounds=bounds, max_total_rf=max_total_rf, skipped=skipped,
        trials=trials, seed=seed, fanout=fanout, evaluated_pairs=tuple(evaluated),
    )


def _flat_numbers(prof: Profile, topo: TopologyConfig, read: Requirement, write: Requirement, wdc: str, rdc: str,
                  trials: int, seed: int, target: float, ts: Sequence[float], fanout: str) -> PairNumbers:
    """One flat datacenter: ``predict_dc_pair`` itself (the single-DC predictor)."""
    from ..analytic.multidc import predict_dc_pair

    res = predict_dc_pair(prof, topo, read, write, wdc, rdc, trials=trials, seed=seed, target=target, t_ms=ts,
                          fanout=fanout).result
    return PairNumbers(res.t_visibility_ms, res.t_visibility_ci_ms, res.p_consistent_at_t0,
                       {float(t): float(res.p_consistent(t)) for t in ts}, dict(res.read_latency_ms),
                       dict(res.write_latency_ms))


def _misses(row: Mapping[str, Any], tg: TopologyTargets, fails: Mapping[str, list[str]],
            read_by_dc: Mapping[str, float], write_by_dc: Mapping[str, float]) -> list[tuple[str, float]]:
    """(sentence fragment, relative miss) for each target the candidate misses."""
    out: list[tuple[str, float]] = []

    def rel(value: float, bound: float) -> float:
        if not math.isfinite(value):
            return math.inf
        return (value - bound) / bound if bound > 0 else math.inf

    pct = tg.percentile
    for op, bounds, got in (("read", tg.max_read_ms, read_by_dc), ("write", tg.max_write_ms, write_by_dc)):
        for dc, bound in bounds.items():
            if got[dc] > bound:
                out.append((f"{op} {pct} in {dc} {_ms(got[dc])} > {_g(bound)} ms", rel(got[dc], bound)))
    if tg.max_t_visibility_ms is not None and row["t_visibility_ms"] > tg.max_t_visibility_ms:
        out.append((f"t-visibility at {_g(100 * tg.target)} % {_ms(row['t_visibility_ms'])} > {_g(tg.max_t_visibility_ms)} ms "
                    f"({row['worst_pair']})", rel(row["t_visibility_ms"], tg.max_t_visibility_ms)))
    if tg.min_p_consistent is not None and tg.at_ms is not None:
        p = row[f"p_consistent_at_{tg.at_ms:g}_ms"]
        if p < tg.min_p_consistent:
            out.append((f"P(consistent at {_g(tg.at_ms)} ms) {100 * p:.3g} % < {_g(100 * tg.min_p_consistent)} %",
                        (tg.min_p_consistent - p) / tg.min_p_consistent))
    if tg.min_availability is not None:
        for op in ("read", "write"):
            a = row[f"{op}_availability"]
            if a < tg.min_availability:
                out.append((f"{op} availability {format_availability(a)} < {_g(100 * tg.min_availability)}%",
                            (1 - a) / (1 - tg.min_availability) - 1))
    if tg.available_when_cut is not None:
        for op in ("reads", "writes"):
            if tg.available_when_cut in (op, "both") and fails[op]:
                first = fails[op][0]
                more = f" (and {len(fails[op]) - 1} more)" if len(fails[op]) > 1 else ""
                out.append((f"{first} fail{more}", 1.0))
    return out


def _ms(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3g} ms"


__all__ = [
    "CUT_CHOICES", "MAX_TOPOLOGY_DRAWS", "MAX_TOPOLOGY_WORK", "PAIR_CHOICES", "PERCENTILES", "READ_LEVELS",
    "WRITE_LEVELS", "Candidate", "PairNumbers", "TopologyRecommendation", "TopologyTargets", "check_work",
    "enumerate_candidates", "pair_thresholds", "parse_dc_ms", "parse_levels", "parse_pairs", "parse_rf_bounds",
    "recommend_topology", "with_rf",
]
