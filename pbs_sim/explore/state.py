"""The explorer's state and everything it computes, without any web framework.

Owns: ``ExplorerState`` (every control's value, as plain data that round-trips through a URL
query), ``parse_query`` (what a URL asks for: each parameter that cannot be used falls back to its
default with a one-line message, so the controls always show what is drawn), ``validate_state``
(N, trials and seeds bounded by ``pbs_sim.analytic.limits.check_prediction``, as ``predict`` and
``recommend`` are), ``Explorer`` (keeps the WARS grid samples it needs in a small cache and returns
a ``View`` of numbers and plot data) and the one-line messages bad input gets. Must not touch:
Panel/Bokeh (``app.py`` draws a ``View``), printing.

What an update costs: the grid sample of one N (``pbs_sim.analytic.grid``) is drawn once per
(profile, N, fan-out, trials, seed) and kept; moving R, W, t or the target only re-reads it (a sort
of one pair's thresholds). The recommender table needs one sample per N of its range, cached the
same way. The displayed numbers equal ``pbs_sim.predict`` with the same settings and seed.

Topology mode (``mode = "topology"``, issue 19): datacenters with a replication factor each
(``dcs``, ``"east:3,west:3"``), one delay law for every pair of them (``wan``), a named read and
write level, and a write DC and read DC. It is driven by the multi-DC WARS model
(``pbs_sim.analytic.multidc``) through ``pbs_sim.recommender.topology``'s shared draws: one draw per
(write DC, read DC) pair is kept, and the pair's curve, every (read level, write level) of the
trade-off plot and the per-pair table are read off it. For two datacenters or more the numbers equal
``predict_dc_pair`` with the same seed; one datacenter is drawn by the multi-DC kernel too (the flat
mode is the single-DC predictor).
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..analytic.grid import GridSample, wars_grid_sample
from ..analytic.limits import check_prediction
from ..analytic.wars import FANOUTS, wilson
from ..distributions import parse
from ..errors import ConfigError, PbsSimError
from ..profiles import BUILTIN, Profile
from ..recommender import StrictQuorum, Targets, parse_n_range, profile_from_trace, score
from ..recommender.topology import MAX_TOPOLOGY_DRAWS

PROFILE_CHOICES = (*BUILTIN, "custom", "trace")
DEFAULT_TRIALS = 20_000
MAX_N = 30  # as the recommender's N range: the page draws every (R, W) of N, N**2 points
CACHE_BYTES = 1 << 30  # grid samples kept: 24 N bytes per trial each


@dataclass(frozen=True)
class ExplorerState:
    """Every control of the explorer. Field names are the URL query keys."""

    profile: str = "lnkd-disk"
    w_dist: str = "exponential(mean=2)"  # custom profile: the WARS delays in the distribution grammar
    a_dist: str = "exponential(mean=0.5)"
    r_dist: str = "exponential(mean=0.5)"
    s_dist: str = "exponential(mean=0.5)"
    n: int = 3
    r: int = 1
    w: int = 1
    fanout: str = "all"
    target: float = 0.999
    t_ms: float = 10.0
    trials: int = DEFAULT_TRIALS
    seed: int = 1
    n_range: str = "3..5"  # the recommender's replication factors
    max_read_ms: str = ""  # recommender targets; "" = no target
    max_write_ms: str = ""
    max_t_visibility_ms: str = ""
    node_availability: float = 0.999
    min_availability: str = ""
    mode: str = "flat"  # "topology": the datacenter controls below drive the view
    dcs: str = "east:3,west:3"  # datacenters, name:RF each
    wan: str = "constant(40)"  # one-way delay added between any two datacenters
    read_level: str = "LOCAL_QUORUM"
    write_level: str = "LOCAL_QUORUM"
    write_dc: str = ""  # "": the first datacenter
    read_dc: str = ""  # "": the last datacenter

    def to_query(self) -> dict[str, str]:
        """Only what differs from the defaults (a short URL)."""
        default = ExplorerState()
        return {k: str(v) for k, v in asdict(self).items() if v != getattr(default, k)}

    @classmethod
    def from_query(cls, query: dict[str, str]) -> ExplorerState:
        """A state from URL query values; a value that does not convert is kept as text so that
        validation reports it (never an exception here)."""
        kinds = {f.name: f.type for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in query.items():
            if key not in kinds:
                continue
            kind = str(kinds[key])
            try:
                out[key] = int(value) if kind == "int" else float(value) if kind == "float" else str(value)
            except ValueError:
                out[key] = str(value)
        return replace(cls(), **out)


@dataclass
class View:
    """What the page shows for one state."""

    state: ExplorerState
    profile_name: str
    p_consistent_at_t: float
    p_consistent_ci: tuple[float, float]
    p_consistent_at_t0: float
    t_visibility_ms: float
    t_visibility_ci_ms: tuple[float, float]
    read_p999_ms: float
    write_p999_ms: float
    curve: dict[str, np.ndarray]
    read_cdf: dict[str, np.ndarray]
    write_cdf: dict[str, np.ndarray]
    tradeoff: dict[str, list[Any]]
    table: Any  # pandas DataFrame: the recommender's rows for the targets (topology mode: one row per DC pair)
    table_message: str = ""
    messages: list[str] = field(default_factory=list)
    mode: str = "flat"
    write_dc: str = ""  # topology mode: the pair shown, and its levels
    read_dc: str = ""
    read_level: str = ""
    write_level: str = ""
    datacenters: tuple[tuple[str, int], ...] = ()


def _int_field(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(name, None, f"must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(name, None, f"must be {bound}, got {value}")
    return int(value)


def _prob_field(name: str, value: Any, closed_high: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, None, f"must be a number, got {value!r}")
    ok = 0 < value <= 1 if closed_high else 0 < value < 1
    if not ok:
        raise ConfigError(name, None, f"must be a probability in (0, 1{']' if closed_high else ')'}, got {value:g}")
    return float(value)


def _optional_ms(name: str, text: str) -> float | None:
    s = str(text).strip()
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise ConfigError(name, None, f"{s!r} is not a number of ms (leave it empty for no target)") from None
    if not (math.isfinite(v) and v >= 0):
        raise ConfigError(name, None, f"must be a finite number of ms >= 0, got {s}")
    return v


def _cdf_points(values: np.ndarray, points: int = 400) -> dict[str, np.ndarray]:
    """The empirical CDF at ``points`` evenly spaced probabilities (inverted-CDF order statistics)."""
    srt = np.sort(values)
    probs = np.linspace(0.0, 1.0, points + 1)[1:]
    idx = np.clip(np.ceil(probs * len(srt)).astype(int) - 1, 0, len(srt) - 1)
    return {"ms": srt[idx], "p": probs}


# the control a ``ConfigError`` names (its ``source``) -> the state field (the URL key)
FIELD_OF_CONTROL = {
    "profile": "profile", "W delay": "w_dist", "A delay": "a_dist", "R delay": "r_dist", "S delay": "s_dist",
    "N": "n", "R": "r", "W": "w", "read fan-out": "fanout", "target": "target", "t": "t_ms", "trials": "trials",
    "seed": "seed", "recommender N": "n_range", "max read p99.9": "max_read_ms", "max write p99.9": "max_write_ms",
    "max t-visibility": "max_t_visibility_ms", "node availability": "node_availability",
    "min availability": "min_availability", "model": "mode", "datacenters": "dcs", "WAN delay": "wan",
    "read level": "read_level", "write level": "write_level", "write DC": "write_dc", "read DC": "read_dc",
}
CONTROL_OF_FIELD = {v: k for k, v in FIELD_OF_CONTROL.items()}


def _limits(control: str, **kwargs: Any) -> None:
    """``check_prediction`` (the bounds ``predict`` and ``recommend`` apply to N, trials, N x trials
    and the seed, for a grid sample), its refusal named by the explorer's control."""
    try:
        check_prediction(**kwargs, grid=True)
    except ConfigError as exc:
        raise ConfigError(control, None, exc.reason) from None


def custom_profile(st: ExplorerState) -> Profile:
    """The ``custom`` profile of ``st``'s four delays (a bad one: ``ConfigError`` naming its control)."""
    dists = {}
    for key, text in (("W", st.w_dist), ("A", st.a_dist), ("R", st.r_dist), ("S", st.s_dist)):
        try:
            dists[key] = parse(text)
        except PbsSimError as exc:
            reason = getattr(exc, "reason", str(exc))
            raise ConfigError(f"{key} delay", None, reason) from None
    return Profile("custom", dists["W"], dists["A"], dists["R"], dists["S"], "custom delays")


def validate_state(st: ExplorerState) -> None:
    """Raise ``ConfigError`` naming the control for the first bad value (no sampling: cheap)."""
    if not isinstance(st.profile, str) or st.profile not in PROFILE_CHOICES:
        raise ConfigError("profile", None, f"unknown profile {st.profile!r}; choose one of {', '.join(PROFILE_CHOICES)}")
    _limits("N", n=[st.n])  # a list: a text N (from a URL) is one bad value, not a sequence of N
    n = int(st.n)
    if n > MAX_N:
        raise ConfigError("N", None, f"must be <= {MAX_N} here (the page draws every (R, W) of N), got {n}")
    _int_field("R", st.r, 1)
    _int_field("W", st.w, 1)
    if st.r > n:
        raise ConfigError("R", None, f"R = {st.r} exceeds N = {n}")
    if st.w > n:
        raise ConfigError("W", None, f"W = {st.w} exceeds N = {n}")
    if st.fanout not in FANOUTS:
        raise ConfigError("read fan-out", None, f"{st.fanout!r} is not one of {', '.join(FANOUTS)}")
    _limits("target", target=st.target)
    if isinstance(st.t_ms, bool) or not isinstance(st.t_ms, int | float) or not (math.isfinite(st.t_ms) and st.t_ms >= 0):
        raise ConfigError("t", None, f"must be a finite number of ms >= 0, got {st.t_ms!r}")
    ns = parse_n_range(st.n_range, source="recommender N")
    _limits("trials", n=[n, *ns], trials=st.trials)
    _limits("seed", seed=st.seed)
    _prob_field("node availability", st.node_availability, closed_high=True)
    need = 24 * st.trials * sum({n, *ns})  # one grid sample per N shown, 24 N bytes per trial
    if need > CACHE_BYTES:
        raise ConfigError("trials", None, f"{st.trials:,} trials for N = {n} and the recommender's N "
                          f"{st.n_range} need {need / 2**30:.1f} GiB; the explorer allows 1 GiB: lower the trials")
    for label, text in (("max read p99.9", st.max_read_ms), ("max write p99.9", st.max_write_ms),
                        ("max t-visibility", st.max_t_visibility_ms)):
        _optional_ms(label, text)
    if str(st.min_availability).strip():
        try:
            m = float(st.min_availability)
        except ValueError:
            raise ConfigError("min availability", None, f"{st.min_availability!r} is not a number") from None
        _prob_field("min availability", m)
    if st.profile == "custom":
        custom_profile(st)
    if st.mode not in MODES:
        raise ConfigError("model", None, f"{st.mode!r} is not one of {', '.join(MODES)}")
    topo = topology_of(st)  # checked in both modes, so a URL's topology parameters are judged alike
    if st.mode == "topology":
        if st.profile in BUILTIN and BUILTIN[st.profile].is_wan:
            raise ConfigError("profile", None, f"{st.profile} adds its own WAN delay to remote replicas; with datacenters "
                                               "choose a local profile (e.g. lnkd-disk) and set the WAN delay")
        n_dc = sum(topo.replication().values())
        _limits("trials", n=[n_dc], trials=st.trials)
        if n_dc * st.trials > MAX_TOPOLOGY_DRAWS:
            raise ConfigError("trials", None, f"{st.trials:,} trials x {n_dc} replicas = {n_dc * st.trials:,} replica-trials; "
                                              f"the topology mode keeps at most {MAX_TOPOLOGY_DRAWS:,} per pair: lower the trials")


MODES = ("flat", "topology")
MAX_DATACENTERS = 5  # the per-pair table draws every pair: 25 at most
_DC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_dcs(text: str) -> tuple[tuple[str, int], ...]:
    """``"east:3,west:3"`` -> (("east", 3), ("west", 3)); a mistake names the datacenters control."""
    out: list[tuple[str, int]] = []
    for part in str(text).split(","):
        name, sep, rf = part.strip().partition(":")
        name = name.strip()
        if not sep or not _DC_NAME.match(name):
            raise ConfigError("datacenters", None, f"{part.strip()!r}: expected name:RF, e.g. east:3 (names of letters, "
                                                   "digits, - _ .)")
        try:
            k = int(rf)
        except ValueError:
            raise ConfigError("datacenters", None, f"{name}: RF {rf.strip()!r} is not a whole number") from None
        if not 0 <= k <= MAX_N:
            raise ConfigError("datacenters", None, f"{name}: RF must be between 0 and {MAX_N}, got {k}")
        if any(name == n for n, _ in out):
            raise ConfigError("datacenters", None, f"{name} is named twice")
        out.append((name, k))
    if len(out) > MAX_DATACENTERS:
        raise ConfigError("datacenters", None, f"at most {MAX_DATACENTERS} datacenters here, got {len(out)}")
    if sum(k for _, k in out) == 0:
        raise ConfigError("datacenters", None, "no datacenter holds replicas (every RF is 0)")
    if sum(k for _, k in out) > MAX_N:
        raise ConfigError("datacenters", None, f"ΣRF = {sum(k for _, k in out)}; at most {MAX_N} here")
    return tuple(out)


def topology_of(st: ExplorerState) -> Any:
    """The ``TopologyConfig`` of the topology controls (nodes = RF, one rack, clients everywhere),
    its levels checked from every datacenter and its write and read DC; errors name the control."""
    from ..levels import LevelError, resolve
    from ..topology import Datacenter, TopologyConfig

    dcs = parse_dcs(st.dcs)
    try:
        wan = parse(st.wan)
    except PbsSimError as exc:
        raise ConfigError("WAN delay", None, getattr(exc, "reason", str(exc))) from None
    topo = TopologyConfig(datacenters=tuple(Datacenter(n, nodes=max(k, 1), replication=k) for n, k in dcs), inter_dc=wan)
    rf = topo.replication()
    for control, kind, level in (("read level", "read", st.read_level), ("write level", "write", st.write_level)):
        for dc in rf:
            try:
                resolve(level, kind, rf, dc)
            except LevelError as exc:
                raise ConfigError(control, None, f"{exc} (from {dc})" if "from" not in str(exc) else str(exc)) from None
    for control, value in (("write DC", st.write_dc), ("read DC", st.read_dc)):
        if value and value not in rf:
            raise ConfigError(control, None, f"{value!r} is not a datacenter ({', '.join(rf)})")
    return topo


def pair_of(st: ExplorerState) -> tuple[str, str]:
    """(write DC, read DC): the chosen ones, else the first and the last datacenter."""
    names = [n for n, _ in parse_dcs(st.dcs)]
    return (st.write_dc or names[0], st.read_dc or names[-1])


def parse_query(query: Mapping[str, str]) -> tuple[ExplorerState, list[str]]:
    """The state a URL's query asks for, and one message per parameter that cannot be used.

    A parameter that does not convert or validate (``n=abc``, ``profile=nosuch``, ``r=9`` with
    N = 3) falls back to its default, so the state returned always validates (the trace profile
    aside: it waits for an upload) and the controls show what is drawn; each fallback, and each
    parameter that is no control, is one line for the page. Pure: no sampling, no framework.
    """
    known = {f.name for f in fields(ExplorerState)}
    messages = [f"URL parameter {k}={v}: not a control of the explorer; ignored" for k, v in query.items() if k not in known]
    st = ExplorerState.from_query({k: v for k, v in query.items() if k in known})
    default = ExplorerState()
    for _ in range(len(known) + 1):  # each round resets one field to its default
        try:
            validate_state(st)
            return st, messages
        except ConfigError as exc:
            name = FIELD_OF_CONTROL.get(exc.source or "")
            if name is None or getattr(st, name) == getattr(default, name):
                break  # not one parameter's fault: the defaults below
            value = getattr(default, name)
            messages.append(f"URL parameter {name}={query.get(name, getattr(st, name))}: {exc.reason}; "
                            f"showing the default {CONTROL_OF_FIELD[name]} = {value if value != '' else 'none'}")
            st = replace(st, **{name: value})
    messages.append("the URL's parameters do not fit together; showing the defaults")
    return default, messages


SHORT_LEVEL = {"ONE": "1", "TWO": "2", "THREE": "3", "QUORUM": "Q", "ALL": "A", "LOCAL_ONE": "L1",
               "LOCAL_QUORUM": "LQ", "EACH_QUORUM": "EQ", "ANY": "ANY"}


def canonical_level(name: str) -> str:
    from ..levels import canonical

    return canonical(name)


class Explorer:
    """Validates states and computes views; one per app (it holds the cache)."""

    def __init__(self, cache_bytes: int = CACHE_BYTES) -> None:
        self._samples: OrderedDict[tuple[Any, ...], GridSample] = OrderedDict()
        self._frames: dict[tuple[Any, ...], Any] = {}
        self._cache_bytes = cache_bytes
        self._traces: OrderedDict[str, Profile] = OrderedDict()  # parsed uploads by content digest
        self._pairs: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # topology mode: draws per DC pair
        self._nums: dict[tuple[Any, ...], Any] = {}  # (pair view, levels, target, t) -> numbers

    # -- the profile --------------------------------------------------------------------------

    def _profile(self, st: ExplorerState, trace: tuple[str, bytes] | None = None) -> tuple[Profile, tuple[Any, ...]]:
        name = st.profile
        if name in BUILTIN:
            return BUILTIN[name], ("builtin", name)
        if name == "custom":
            return custom_profile(st), ("custom", st.w_dist, st.a_dist, st.r_dist, st.s_dist)
        if name == "trace":
            if trace is None:
                raise ConfigError("trace", None, "upload a latency trace (CSV with columns w, a, r, s, or one column)")
            filename, content = trace
            digest = hashlib.blake2b(content, digest_size=16).hexdigest()
            cached = self._traces.get(digest)
            if cached is not None:
                return cached, ("trace", digest)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / (Path(filename).name or "trace.csv")
                path.write_bytes(content)
                try:
                    prof = profile_from_trace(path)
                except ConfigError as exc:
                    raise ConfigError(Path(filename).name, exc.key, exc.reason) from None
            self._traces[digest] = prof
            while len(self._traces) > 8:
                self._traces.popitem(last=False)
            return prof, ("trace", digest)
        raise ConfigError("profile", None, f"unknown profile {name!r}; choose one of {', '.join(PROFILE_CHOICES)}")

    # -- cached samples -----------------------------------------------------------------------

    def sample(self, prof: Profile, key: tuple[Any, ...], n: int, st: ExplorerState) -> GridSample:
        k = (key, n, st.fanout, st.trials, st.seed)
        got = self._samples.get(k)
        if got is not None:
            self._samples.move_to_end(k)
            return got
        got = wars_grid_sample(prof, n, trials=st.trials, seed=st.seed, fanout=st.fanout)
        self._samples[k] = got
        while sum(24 * s.n * s.trials for s in self._samples.values()) > self._cache_bytes and len(self._samples) > 1:
            old, _ = self._samples.popitem(last=False)
            for fk in [fk for fk in self._frames if fk[0] == old]:
                del self._frames[fk]
        return got

    def _frame(self, prof: Profile, key: tuple[Any, ...], n: int, st: ExplorerState) -> Any:
        sk = (key, n, st.fanout, st.trials, st.seed)
        fk = (sk, st.target)
        if fk not in self._frames:
            self._frames[fk] = self.sample(prof, key, n, st).frame(target=st.target)
        return self._frames[fk]

    # -- validation and the view ---------------------------------------------------------------

    def validate(self, st: ExplorerState) -> None:
        """Raise ``ConfigError`` naming the control for the first bad value."""
        validate_state(st)

    def view(self, st: ExplorerState, trace: tuple[str, bytes] | None = None) -> View:
        """The view of ``st``; ``trace`` = (file name, CSV bytes) for the ``trace`` profile."""
        self.validate(st)
        prof, key = self._profile(st, trace)
        if st.mode == "topology":
            return self._topology_view(st, prof, key)
        sample = self.sample(prof, key, st.n, st)
        row = sample.row(st.r, st.w, target=st.target, t_ms=(st.t_ms,))
        p_t = float(row[f"p_consistent_at_{st.t_ms:g}_ms"])
        count = round(p_t * sample.trials)
        lo, hi = wilson(np.asarray([count]), sample.trials)
        t_vis = float(row["t_visibility_ms"])
        # the curve: 0 .. beyond the t-visibility and t, dense near 0 (curves rise fastest there)
        srt = sample.sorted_tau(st.r, st.w)
        t_top = max(t_vis if math.isfinite(t_vis) else float(srt[-1]), st.t_ms, float(srt[min(len(srt) - 1, int(0.9999 * len(srt)))]))
        t_hi = 1.25 * t_top if t_top > 0 else 1.0
        grid = np.unique(np.concatenate([np.linspace(0.0, t_hi, 240), np.geomspace(max(t_hi * 1e-4, 1e-3), t_hi, 120),
                                         [st.t_ms], [t_vis] if math.isfinite(t_vis) else []]))
        curve = sample.curve(st.r, st.w, grid)
        read_cdf = _cdf_points(sample.read_latency[st.r - 1])
        write_cdf = _cdf_points(sample.write_latency[st.w - 1])
        frame = self._frame(prof, key, st.n, st)
        tradeoff = {
            "r": frame.r.tolist(), "w": frame.w.tolist(),
            "t_visibility_ms": frame.t_visibility_ms.tolist(),
            "latency_ms": (frame.read_latency_p999_ms + frame.write_latency_p999_ms).tolist(),
            "label": [f"R={r} W={w}" for r, w in zip(frame.r, frame.w, strict=True)],
            "current": [bool(r == st.r and w == st.w) for r, w in zip(frame.r, frame.w, strict=True)],
        }
        table, message = self._recommend(prof, key, st)
        return View(
            state=st, profile_name=prof.name, p_consistent_at_t=p_t, p_consistent_ci=(float(lo[0]), float(hi[0])),
            p_consistent_at_t0=float(row["p_consistent_at_t0"]), t_visibility_ms=t_vis,
            t_visibility_ci_ms=(float(row["t_visibility_ci_low_ms"]), float(row["t_visibility_ci_high_ms"])),
            read_p999_ms=float(row["read_latency_p999_ms"]), write_p999_ms=float(row["write_latency_p999_ms"]),
            curve=curve, read_cdf=read_cdf, write_cdf=write_cdf, tradeoff=tradeoff, table=table,
            table_message=message,
        )

    # -- topology mode ------------------------------------------------------------------------------

    def _pair_view(self, prof: Profile, key: tuple[Any, ...], st: ExplorerState, wdc: str, rdc: str) -> Any:
        """The shared draws of one (write DC, read DC) pair and their per-requirement reductions
        (``recommender.topology._LayoutView``), cached together like the grid samples: at most a
        quarter of the explorer's cache, about (40 ΣRF + 200) bytes per trial each."""
        from ..analytic.multidc import Layout
        from ..recommender.topology import _draw_pair, _LayoutView

        topo = topology_of(st)
        k = ("pair", key, st.dcs, st.wan, st.fanout, st.trials, st.seed, wdc, rdc)
        got = self._pairs.get(k)
        if got is not None:
            self._pairs.move_to_end(k)
            return topo, k, got[0]
        layout = Layout.of(topo)
        draws = _draw_pair(prof, topo, layout, wdc, rdc, st.trials, st.seed, st.fanout)
        view = _LayoutView(topo, layout, layout.rf, draws, wdc, rdc, st.fanout)
        self._pairs[k] = (view, (40 * layout.n + 200) * st.trials)
        while sum(size for _, size in self._pairs.values()) > self._cache_bytes // 4 and len(self._pairs) > 1:
            self._pairs.popitem(last=False)
        return topo, k, view

    def _pair_numbers(self, prof: Profile, key: tuple[Any, ...], st: ExplorerState, wdc: str, rdc: str,
                      read_level: str, write_level: str, ts: tuple[float, ...], arrays: bool = True) -> tuple[Any, Any, Any]:
        """(numbers, thresholds, (read latencies, write latencies)) of one pair at two levels; with
        ``arrays=False`` the numbers only (cached) and two Nones."""
        from ..levels import resolve
        from ..recommender.topology import _latency, _numbers

        topo, vk, view = self._pair_view(prof, key, st, wdc, rdc)
        layout = view.layout
        rf = topo.replication()
        read, write = resolve(read_level, "read", rf, rdc), resolve(write_level, "write", rf, wdc)
        nk = (vk, read_level, write_level, st.target, ts)
        if not arrays and nk in self._nums:
            return self._nums[nk], None, None
        w_t = view.write(write)
        lat, minwr = view.read(read)
        tau = minwr - w_t
        np.maximum(tau, 0.0, out=tau)
        n = layout.n
        nums = _numbers(tau, st.target, ts, (n, min(read.block_for, n), min(write.block_for, n)), _latency(lat), _latency(w_t))
        if len(self._nums) > 4096:
            self._nums.clear()
        self._nums[nk] = nums
        return nums, tau, (lat, w_t)

    def _topology_view(self, st: ExplorerState, prof: Profile, key: tuple[Any, ...]) -> View:
        import pandas as pd

        from ..analytic.multidc import _check_met, availability
        from ..levels import LevelError, resolve
        from ..recommender.topology import READ_LEVELS, WRITE_LEVELS

        topo = topology_of(st)
        rf = topo.replication()
        wdc, rdc = pair_of(st)
        nums, tau, (lat, w_t) = self._pair_numbers(prof, key, st, wdc, rdc, st.read_level, st.write_level, (st.t_ms,))
        trials = len(tau)
        srt = np.sort(tau)
        p_t = nums.p_consistent[float(st.t_ms)]
        lo, hi = wilson(np.asarray([round(p_t * trials)]), trials)
        t_vis = nums.t_visibility_ms
        t_top = max(t_vis if math.isfinite(t_vis) else float(srt[-1]), st.t_ms, float(srt[min(trials - 1, int(0.9999 * trials))]))
        t_hi = 1.25 * t_top if t_top > 0 else 1.0
        grid = np.unique(np.concatenate([np.linspace(0.0, t_hi, 240), np.geomspace(max(t_hi * 1e-4, 1e-3), t_hi, 120),
                                         [st.t_ms], [t_vis] if math.isfinite(t_vis) else []]))
        counts = np.searchsorted(srt, grid, side="right")
        c_lo, c_hi = wilson(counts, trials)
        curve = {"t_ms": grid, "p_consistent": counts / trials, "ci_low": c_lo, "ci_high": c_hi}
        # every (read level, write level) the replicas can meet, for this pair: the trade-off plot
        trade: dict[str, list[Any]] = {"r": [], "w": [], "t_visibility_ms": [], "latency_ms": [], "label": [], "current": []}
        for rl in READ_LEVELS:
            for wl in WRITE_LEVELS:
                try:
                    _check_met("read", resolve(rl, "read", rf, rdc), rf, rdc)
                    _check_met("write", resolve(wl, "write", rf, wdc), rf, wdc)
                except (LevelError, ConfigError):
                    continue
                x, _, _ = self._pair_numbers(prof, key, st, wdc, rdc, rl, wl, (), arrays=False)
                trade["r"].append(SHORT_LEVEL[rl])
                trade["w"].append(SHORT_LEVEL[wl])
                trade["t_visibility_ms"].append(x.t_visibility_ms)
                trade["latency_ms"].append(x.read_latency_ms["p99.9"] + x.write_latency_ms["p99.9"])
                trade["label"].append(f"read {rl} / write {wl}")
                trade["current"].append(rl == canonical_level(st.read_level) and wl == canonical_level(st.write_level))
        # the per-pair view: every (write DC, read DC) at the chosen levels
        rows = []
        for a in rf:
            for b in rf:
                try:
                    x, _, _ = self._pair_numbers(prof, key, st, a, b, st.read_level, st.write_level, (st.t_ms,), arrays=False)
                except (LevelError, ConfigError) as exc:
                    rows.append({"write_dc": a, "read_dc": b, "note": str(exc)})
                    continue
                rows.append({"write_dc": a, "read_dc": b, "p_consistent_at_t": x.p_consistent[float(st.t_ms)],
                             "t_visibility_ms": x.t_visibility_ms, "read_latency_p999_ms": x.read_latency_ms["p99.9"],
                             "write_latency_p999_ms": x.write_latency_ms["p99.9"],
                             "shown": bool(a == wdc and b == rdc)})
        cut = []
        if len(rf) > 1:
            for dc in rf:
                read, write = resolve(st.read_level, "read", rf, dc), resolve(st.write_level, "write", rf, dc)
                ok_r = availability(read, rf, dc, {dc}) == 1.0
                ok_w = availability(write, rf, dc, {dc}) == 1.0
                cut.append(f"{dc} reads {'complete' if ok_r else 'fail'}, writes {'complete' if ok_w else 'fail'}")
        message = (f"Every (write DC, read DC) pair at read {canonical_level(st.read_level)}, write "
                   f"{canonical_level(st.write_level)}; P(consistent) at t = {st.t_ms:g} ms."
                   + (f" If a datacenter is cut off from the others (its replicas up): {'; '.join(cut)}." if cut else ""))
        return View(
            state=st, profile_name=prof.name, p_consistent_at_t=p_t, p_consistent_ci=(float(lo[0]), float(hi[0])),
            p_consistent_at_t0=nums.p_consistent_at_t0, t_visibility_ms=t_vis, t_visibility_ci_ms=nums.t_visibility_ci_ms,
            read_p999_ms=nums.read_latency_ms["p99.9"], write_p999_ms=nums.write_latency_ms["p99.9"], curve=curve,
            read_cdf=_cdf_points(lat), write_cdf=_cdf_points(w_t), tradeoff=trade, table=pd.DataFrame(rows),
            table_message=message, mode="topology", write_dc=wdc, read_dc=rdc,
            read_level=canonical_level(st.read_level), write_level=canonical_level(st.write_level),
            datacenters=parse_dcs(st.dcs),
        )

    def _recommend(self, prof: Profile, key: tuple[Any, ...], st: ExplorerState) -> tuple[Any, str]:
        import pandas as pd

        ns = parse_n_range(st.n_range, source="recommender N")
        min_av = float(st.min_availability) if str(st.min_availability).strip() else None
        tg = Targets(
            _optional_ms("max read p99.9", st.max_read_ms), _optional_ms("max write p99.9", st.max_write_ms),
            _optional_ms("max t-visibility", st.max_t_visibility_ms), st.target, min_av,
        )
        grid = pd.concat([self._frame(prof, key, n, st) for n in ns], ignore_index=True)
        t = score(grid, tg, StrictQuorum(st.node_availability))
        feasible = t[t.feasible].sort_values("rank")
        if feasible.empty:
            closest = t.sort_values(["total_miss", "n", "latency_sum_ms"]).head(1)
            c = closest.iloc[0]
            return closest, f"No configuration meets every target; closest: N={c.n} R={c.r} W={c.w} ({c.misses})."
        return feasible, f"{len(feasible)} of {len(t)} configurations meet the targets, cheapest first."


__all__ = [
    "DEFAULT_TRIALS", "MAX_N", "MODES", "PROFILE_CHOICES", "Explorer", "ExplorerState", "View", "custom_profile",
    "pair_of", "parse_dcs", "parse_query", "topology_of", "validate_state",
]
