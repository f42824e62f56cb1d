"""YCSB's core workloads: their properties, and their key and operation generators (numpy).

Owns: reading a YCSB workload (one of the core workloads ``a``, ``b``, ``c``, ``d``, ``f`` or a
Java properties file) into a :class:`YcsbSpec`, with one-line :class:`~pbs_sim.errors.ConfigError`
refusals; and the generators of YCSB's ``CoreWorkload``, re-implemented in numpy from their
definitions (vectorized, drawn in buffered blocks): the operation chooser, ``UniformLongGenerator``,
``ZipfianGenerator`` (Gray et al.'s algorithm, "Quickly Generating Billion-Record Synthetic
Databases", SIGMOD 1994), ``ScrambledZipfianGenerator``, ``SkewedLatestGenerator`` over an
``AcknowledgedCounterGenerator``, ``HotspotIntegerGenerator``, ``fnvhash64`` and ``buildKeyName``;
and each generator's exact probability mass function (what the tests check draws against).
Must not touch: SimPy (``pbs_sim.sim.ycsb`` issues the operations), the config dataclasses.

Facts carried over from YCSB's ``CoreWorkload`` (site.ycsb.workloads), kept exactly:

- Operation mix: ``readproportion`` (default 0.95), ``updateproportion`` (0.05),
  ``insertproportion`` (0), ``scanproportion`` (0), ``readmodifywriteproportion`` (0); one uniform
  draw picks an operation by cumulative proportion in the order read, update, insert, scan, rmw.
  YCSB normalizes proportions that do not sum to 1; pbs_sim refuses them (a typo is likelier than
  intent). Scans (workload E) have no meaning for a key-value quorum model and are refused.
- ``requestdistribution``: ``uniform`` over ``[0, recordcount)``; ``zipfian`` = the scrambled
  zipfian over ``recordcount + expectednewkeys`` items (``expectednewkeys = int(operationcount *
  insertproportion * 2)``, YCSB's "fudge factor"); ``latest`` = ``SkewedLatestGenerator``; ``hotspot``
  = ``HotspotIntegerGenerator(0, recordcount - 1, hotspotdatafraction (0.2), hotspotopnfraction (0.8))``.
  A drawn key above the highest acknowledged insert is redrawn (``nextKeynum``).
- The scrambled zipfian draws ``z`` from a zipfian over ``ITEM_COUNT + 1`` = 10^10 + 1 items (Gray's
  algorithm with YCSB's precomputed ``ZETAN = 26.46902820178302`` for the constant 0.99) and returns
  ``min + fnvhash64(z) % itemcount``: popular keys are spread over the key space, the popularity of
  a rank is (almost) Zipf's.
- ``latest``: ``next = max - zipf.nextLong(max)`` with ``max`` the highest acknowledged insert
  (``recordcount - 1`` before any insert) and ``zipf`` a zipfian first built over ``recordcount -
  1`` items whose zeta sum grows incrementally with ``max``; YCSB keeps ``eta`` on the *initial*
  item count (its code does: ``eta`` uses the field ``items``), and so do we. Key 0 is never drawn.
- Inserts take keys ``recordcount, recordcount + 1, ...`` (``transactioninsertkeysequence``); a
  key counts as inserted once its insert *and every earlier one* returned, whatever their status
  (``acknowledge`` in a ``finally``).
- Key names: ``"user" + fnvhash64(keynum)`` (``insertorder = hashed``, the default) or
  ``"user" + keynum`` (``ordered``), left-padded with zeros to ``zeropadding`` digits. The run's key
  space (:class:`YcsbKeySpace`) names record ``k``'s key index this way: the ring places YCSB's names.

``zipfianconstant`` is not a CoreWorkload property (YCSB fixes 0.99); pbs_sim accepts it as an
extension for ``zipfian`` and ``latest`` (default 0.99, exactly YCSB). With a constant other than
0.99 the scrambled zipfian's zeta over 10^10 + 1 items is computed by Euler-Maclaurin summation (YCSB
sums all 10^10 terms; the two agree to ~1e-12 relative, tests/test_ycsb.py checks it against
YCSB's own constant).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import inputs
from .errors import ConfigError
from .keys import KeySpace
from .numbers import num

ITEM_COUNT = 10_000_000_000  # ScrambledZipfianGenerator.ITEM_COUNT
ZETAN = 26.46902820178302  # ScrambledZipfianGenerator.ZETAN: zeta(10^10, 0.99) as YCSB computed it
USED_ZIPFIAN_CONSTANT = 0.99
FNV_OFFSET_BASIS_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 1099511628211

READ, UPDATE, INSERT, SCAN, RMW = 0, 1, 2, 3, 4
OP_NAMES = ("read", "update", "insert", "scan", "readmodifywrite")
DISTRIBUTIONS = ("zipfian", "uniform", "latest", "hotspot")

# YCSB's workloads/workloada..f (recordcount and operationcount there are 1000, meant to be
# overridden: pbs_sim takes the key count from workload.keys and the run length from the scenario)
CORE: dict[str, dict[str, str]] = {
    "a": {"readproportion": "0.5", "updateproportion": "0.5", "scanproportion": "0", "insertproportion": "0",
          "requestdistribution": "zipfian"},
    "b": {"readproportion": "0.95", "updateproportion": "0.05", "scanproportion": "0", "insertproportion": "0",
          "requestdistribution": "zipfian"},
    "c": {"readproportion": "1", "updateproportion": "0", "scanproportion": "0", "insertproportion": "0",
          "requestdistribution": "zipfian"},
    "d": {"readproportion": "0.95", "updateproportion": "0", "scanproportion": "0", "insertproportion": "0.05",
          "requestdistribution": "latest"},
    "f": {"readproportion": "0.5", "updateproportion": "0", "scanproportion": "0", "insertproportion": "0",
          "readmodifywriteproportion": "0.5", "requestdistribution": "zipfian"},
}
NO_SCANS = ("YCSB workload E is short-range scans, which have no meaning for a key-value quorum model "
            "(a scan reads a key range; a Dynamo-style store places each key on its own replicas); "
            "use a, b, c, d or f")
# properties that only shape records, scans or the YCSB client: accepted and ignored
IGNORED = frozenset({
    "workload", "table", "fieldcount", "fieldlength", "minfieldlength", "fieldlengthdistribution",
    "fieldlengthhistogram", "fieldnameprefix", "readallfields", "readallfieldsbyname", "writeallfields",
    "dataintegrity", "minscanlength", "maxscanlength", "scanlengthdistribution", "measurementtype",
    "histogram.buckets", "timeseries.granularity", "db", "exporter", "exportfile", "status.interval",
    "insertionretrylimit", "insertionretryinterval", "core_workload_insertion_retry_limit",
    "core_workload_insertion_retry_interval", "maxexecutiontime",
})


@dataclass(frozen=True)
class YcsbSpec:
    """A YCSB core workload, resolved. ``recordcount``/``operationcount``/``threadcount``/``target``
    are None when the workload does not say (the core workloads by letter never do here)."""

    name: str
    read: float = 0.95
    update: float = 0.05
    insert: float = 0.0
    rmw: float = 0.0
    distribution: str = "uniform"
    zipfian_constant: float = USED_ZIPFIAN_CONSTANT
    hot_data_fraction: float = 0.2
    hot_opn_fraction: float = 0.8
    ordered_inserts: bool = False
    zeropadding: int = 1
    recordcount: int | None = None
    operationcount: int | None = None
    threadcount: int | None = None
    target: float | None = None

    @property
    def proportions(self) -> tuple[float, float, float, float, float]:
        return (self.read, self.update, self.insert, 0.0, self.rmw)


def parse_properties(text: str) -> dict[str, tuple[int, str]]:
    """A Java ``.properties`` text -> {key: (line number, value)}: ``key=value``, ``key: value`` or
    ``key value``; ``#``/``!`` comments; a trailing backslash continues the line. Later keys win."""
    out: dict[str, tuple[int, str]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        while line.endswith("\\") and not line.endswith("\\\\") and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        k = 0
        while k < len(line) and line[k] not in "=: \t":
            k += 1
        key, rest = line[:k], line[k:].lstrip(" \t")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t")
        out[key] = (start + 1, rest.rstrip())
    return out


def load_spec(value: str, base_dir: str | Path | None, source: str | None, key: str = "workload.ycsb") -> YcsbSpec:
    """``value``: a core workload's letter or the path of a properties file (relative to the
    scenario's directory). Every refusal is one ConfigError line naming the file and the reason."""
    v = value.strip()
    if v.lower() == "e":
        raise ConfigError(source, key, NO_SCANS)
    if v.lower() in CORE:
        props = {k: (0, s) for k, s in CORE[v.lower()].items()}
        return _spec(v.lower(), props, source, key, where=f"YCSB workload {v.lower()}")
    if len(v) == 1:
        raise ConfigError(source, key, f"{v!r} is not a YCSB core workload: expected a, b, c, d or f, or a properties file")
    p = Path(v)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    if not p.is_file():
        why = "is a directory" if p.is_dir() else "does not exist"
        raise ConfigError(source, key, f"YCSB properties file {p} {why}")
    try:
        data = p.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, key, f"cannot read YCSB properties file {p}: {exc}") from None
    inputs.note(p, data)
    return _spec(p.stem, parse_properties(text), str(p), None, where=str(p))


def _spec(name: str, props: dict[str, tuple[int, str]], source: str | None, key: str | None, where: str) -> YcsbSpec:
    def err(prop: str, reason: str) -> ConfigError:
        line = props.get(prop, (0, ""))[0]
        at = f"line {line}: {prop}" if line else prop
        return ConfigError(source, f"{key}: {at}" if key else at, reason)

    def real(prop: str, default: float, lo: float = 0.0, hi: float = 1.0) -> float:
        if prop not in props:
            return default
        try:
            x = float(props[prop][1])
        except ValueError:
            raise err(prop, f"expected a number, got {props[prop][1]!r}") from None
        if not (math.isfinite(x) and lo <= x <= hi):
            raise err(prop, f"must be in [{num(lo)}, {num(hi)}], got {num(x) if math.isfinite(x) else x!r}")
        return x

    def integer(prop: str, lo: int, hi: int) -> int | None:
        if prop not in props:
            return None
        try:
            x = int(props[prop][1])
        except ValueError:
            raise err(prop, f"expected an integer, got {props[prop][1]!r}") from None
        if not lo <= x <= hi:
            raise err(prop, f"must be in [{num(lo)}, {num(hi)}], got {num(x)}")
        return x

    for prop, (_line, val) in props.items():
        known = prop in IGNORED or prop in {
            "readproportion", "updateproportion", "insertproportion", "scanproportion",
            "readmodifywriteproportion", "requestdistribution", "zipfianconstant", "hotspotdatafraction",
            "hotspotopnfraction", "insertorder", "zeropadding", "recordcount", "operationcount", "threadcount",
            "target", "insertstart", "insertcount",
        }
        if not known and "." not in prop:  # dotted keys are DB bindings' settings (cassandra.*, ...)
            raise err(prop, "unknown YCSB property (pbs_sim reads CoreWorkload's; see README, YCSB)")
        del val
    dist = props.get("requestdistribution", (0, "uniform"))[1].strip()
    if dist not in DISTRIBUTIONS:
        known_elsewhere = dist in ("exponential", "sequential")
        raise err("requestdistribution", f"{dist!r} is not supported" + (
            " (YCSB defines it; pbs_sim implements zipfian, uniform, latest, hotspot)" if known_elsewhere
            else f"; expected one of {', '.join(DISTRIBUTIONS)}"))
    scan = real("scanproportion", 0.0)
    if scan > 0:
        raise err("scanproportion", NO_SCANS)
    read, update = real("readproportion", 0.95), real("updateproportion", 0.05)
    insert, rmw = real("insertproportion", 0.0), real("readmodifywriteproportion", 0.0)
    total = read + update + insert + rmw
    if abs(total - 1.0) > 1e-9:
        defaults = [p for p, d in (("readproportion", 0.95), ("updateproportion", 0.05)) if p not in props]
        note = f" (YCSB's defaults apply to what {where} leaves out: {', '.join(f'{d}' for d in defaults)})" if defaults else ""
        raise ConfigError(source, key, f"the operation proportions read {num(read)} + update {num(update)} + insert "
                                       f"{num(insert)} + readmodifywrite {num(rmw)} sum to {num(total)}, not 1{note}")
    order = props.get("insertorder", (0, "hashed"))[1].strip()
    if order not in ("hashed", "ordered"):
        raise err("insertorder", f"{order!r} is not 'hashed' or 'ordered'")
    theta = real("zipfianconstant", USED_ZIPFIAN_CONSTANT, 0.0, 1e9)
    if not 0.0 < theta < 1.0 and "zipfianconstant" in props:
        # Gray's algorithm has alpha = 1 / (1 - theta): it needs 0 < theta < 1
        raise err("zipfianconstant", f"must be in (0, 1) (Gray's algorithm divides by 1 - theta), got {num(theta)}")
    hot_data, hot_opn = real("hotspotdatafraction", 0.2), real("hotspotopnfraction", 0.8)
    record = integer("recordcount", 1, 10**8)
    operations = integer("operationcount", 1, 10**7)
    threads = integer("threadcount", 1, 10**6)
    start = integer("insertstart", 0, 2**62)
    if start:
        raise err("insertstart", "insertstart > 0 splits YCSB's load among clients; pbs_sim loads every record "
                                 "(workload.preload) and does not support it")
    count = integer("insertcount", 0, 2**62)
    if count is not None and record is not None and count != record:
        raise err("insertcount", "insertcount other than recordcount splits YCSB's load among clients; not supported")
    target = real("target", 0.0, 0.0, 1e12) if "target" in props else None
    pad = integer("zeropadding", 0, 64)
    if dist == "hotspot" and record is not None:
        check_hotspot(record, hot_data, hot_opn, source, key)
    return YcsbSpec(
        name=name, read=read, update=update, insert=insert, rmw=rmw, distribution=dist, zipfian_constant=theta,
        hot_data_fraction=hot_data, hot_opn_fraction=hot_opn, ordered_inserts=order == "ordered",
        zeropadding=1 if pad is None else pad, recordcount=record, operationcount=operations, threadcount=threads,
        target=target if target else None,
    )


def check_hotspot(records: int, data_fraction: float, opn_fraction: float, source: str | None, key: str | None) -> None:
    """YCSB divides by the hot and cold set sizes: an empty set that is drawn from is an error."""
    hot = int(records * data_fraction)
    if hot == 0 and opn_fraction > 0:
        raise ConfigError(source, key, f"hotspot: hotspotdatafraction {num(data_fraction)} of {records:,} records is an "
                                       "empty hot set, but hotspotopnfraction > 0 draws from it")
    if hot == records and opn_fraction < 1:
        raise ConfigError(source, key, f"hotspot: hotspotdatafraction {num(data_fraction)} leaves no cold records, but "
                                       "hotspotopnfraction < 1 draws from them")


# ---------------------------------------------------------------------------------------------
# Hashing and key names


def fnvhash64(values: np.ndarray) -> np.ndarray:
    """YCSB's ``Utils.fnvhash64`` of each value (int64 in, int64 out): FNV-1a over the 8 low-order
    bytes, low byte first, then Java's ``Math.abs`` (which leaves Long.MIN_VALUE negative)."""
    v = np.asarray(values, dtype=np.int64).astype(np.uint64)
    h = np.full(v.shape, FNV_OFFSET_BASIS_64, dtype=np.uint64)
    prime = np.uint64(FNV_PRIME_64)
    mask, eight = np.uint64(0xFF), np.uint64(8)
    with np.errstate(over="ignore"):
        for _ in range(8):  # values are >= 0 here, so Java's arithmetic >> is the logical one
            h ^= v & mask
            v >>= eight
            h *= prime
    signed = h.view(np.int64)
    with np.errstate(over="ignore"):
        return np.abs(signed)


def key_name(keynum: int, spec: YcsbSpec) -> str:
    """``CoreWorkload.buildKeyName``: the record's key as YCSB names it (the one place names are made)."""
    n = keynum if spec.ordered_inserts else int(fnvhash64(np.array([keynum]))[0])
    digits = str(n)
    return "user" + "0" * max(spec.zeropadding - len(digits), 0) + digits


class YcsbKeySpace(KeySpace):
    """The run's key space under YCSB: key index ``k`` is YCSB's record ``k`` (inserts included),
    named as YCSB names it (:func:`key_name`), so the ring places ``"user6284781860667377211"`` where
    Cassandra would. Indices stay the record numbers (the generators' keynums: no per-operation name
    lookups); other names (a named hot key) are interned after room for every insert a run can make
    (``MAX_INSERTS``). Each record's name is written to the history's ``keys`` table when the ring
    first places it, so every consumer (export, checker) names it YCSB's way."""

    __slots__ = ("spec", "_named")

    MAX_INSERTS = 10**7  # the config's MAX_OPS: a run issues no more inserts than operations

    def __init__(self, spec: YcsbSpec, records: int, key_hash: str = "murmur3",
                 on_new: Callable[[int, str], None] | None = None) -> None:
        super().__init__(records + self.MAX_INSERTS, key_hash, on_new)
        self.spec = spec
        self._named: set[int] = set()

    def name(self, index: int) -> str:
        if index >= self.numeric:
            return super().name(index)
        return key_name(index, self.spec)

    def position(self, index: int) -> int:
        if index < self.numeric and index not in self._named:
            self._named.add(index)
            if self.on_new is not None:
                self.on_new(index, key_name(index, self.spec))
        return super().position(index)


# ---------------------------------------------------------------------------------------------
# Zeta sums


def zeta(n: int, theta: float) -> float:
    """sum_{i=1}^{n} i^-theta (YCSB's ``zetastatic(n, theta)``): summed directly up to 10^7 terms,
    by Euler-Maclaurin beyond (YCSB sums every term; the two differ by ~1e-12 relative)."""
    if n <= 10_000_000:
        return zeta_range(0, n, theta)
    m = 100_000
    head = zeta_range(0, m - 1, theta)  # terms 1 .. m-1

    def integral(a: float, b: float) -> float:
        return (b ** (1 - theta) - a ** (1 - theta)) / (1 - theta) if theta != 1 else math.log(b / a)

    def d1(x: float) -> float:  # f'(x), f = x^-theta
        return -theta * x ** (-theta - 1)

    def d3(x: float) -> float:
        return -theta * (theta + 1) * (theta + 2) * x ** (-theta - 3)

    f_m, f_n = m ** -theta, float(n) ** -theta
    tail = integral(m, n) + (f_m + f_n) / 2 + (d1(n) - d1(m)) / 12 - (d3(n) - d3(m)) / 720
    return head + tail


def zeta_range(st: int, n: int, theta: float, initial: float = 0.0) -> float:
    """``initial + sum_{i=st}^{n-1} (i + 1)^-theta`` (YCSB's incremental ``zeta(st, n, ...)``)."""
    total = initial
    for lo in range(st, n, 1_000_000):
        hi = min(lo + 1_000_000, n)
        total += float(np.sum(np.arange(lo + 1, hi + 1, dtype=np.float64) ** -theta))
    return total


# ---------------------------------------------------------------------------------------------
# Generators: each buffers a block of uniforms per numpy call


class Zipfian:
    """YCSB's ``ZipfianGenerator(min, max, theta[, zetan])``: Gray et al.'s algorithm. ``next(n)``
    is ``nextLong(itemcount)`` (zeta grown incrementally when ``n`` exceeds the count it was
    computed for; ``eta`` stays on the constructor's item count, as in YCSB); ``block(size)`` draws
    ``nextValue()`` (``n`` = the constructor's item count) vectorized."""

    def __init__(self, lo: int, hi: int, theta: float, rng: np.random.Generator, zetan: float | None = None,
                 buffer: int = 4096) -> None:
        self.items = hi - lo + 1
        self.base = lo
        self.theta = theta
        self.zeta2theta = zeta(2, theta)
        self.alpha = 1.0 / (1.0 - theta)
        self.zetan = zeta(self.items, theta) if zetan is None else zetan
        self.countforzeta = self.items
        self.eta = self._eta()
        self.rng = rng
        self.buffer = buffer
        self._u: list[float] = []
        self._i = 0

    def _eta(self) -> float:
        return (1 - (2.0 / self.items) ** (1 - self.theta)) / (1 - self.zeta2theta / self.zetan)

    def values(self, u: np.ndarray, itemcount: int | None = None) -> np.ndarray:
        """The generator's value for each uniform ``u`` (vectorized ``nextLong``)."""
        n = self.items if itemcount is None else itemcount
        uz = u * self.zetan
        with np.errstate(invalid="ignore"):
            body = (n * np.power(self.eta * u - self.eta + 1, self.alpha)).astype(np.int64)  # Java's (long) cast
        out = np.where(uz < 1.0, 0, np.where(uz < 1.0 + 0.5 ** self.theta, 1, body))
        return self.base + out

    def block(self, size: int) -> np.ndarray:
        return self.values(self.rng.random(size))

    def next(self, itemcount: int) -> int:
        if itemcount > self.countforzeta:  # inserts grew the item count: extend zeta incrementally
            self.zetan = zeta_range(self.countforzeta, itemcount, self.theta, self.zetan)
            self.countforzeta = itemcount
            self.eta = self._eta()
        i = self._i
        if i >= len(self._u):
            self._u = self.rng.random(self.buffer).tolist()
            i = 0
        self._i = i + 1
        u = self._u[i]
        uz = u * self.zetan
        if uz < 1.0:
            return self.base
        if uz < 1.0 + 0.5 ** self.theta:
            return self.base + 1
        return self.base + int(itemcount * (self.eta * u - self.eta + 1) ** self.alpha)

    def pmf(self, itemcount: int | None = None) -> np.ndarray:
        """The exact probability of each value ``base + 0 .. itemcount - 1`` under the algorithm (for
        tests): u is uniform on [0, 1); the value is 0 below 1/zetan, 1 below (1 + 2^-theta)/zetan,
        and floor(n (eta u - eta + 1)^alpha) above, a monotone map whose preimages are intervals."""
        n = self.items if itemcount is None else itemcount
        u0, u1 = 1.0 / self.zetan, (1.0 + 0.5 ** self.theta) / self.zetan
        k = np.arange(n + 1, dtype=np.float64)
        # u at which n (eta u - eta + 1)^alpha reaches k
        edge = ((k / n) ** (1.0 / self.alpha) - 1 + self.eta) / self.eta
        lo = np.clip(np.maximum(edge[:-1], u1), 0.0, 1.0)
        hi = np.clip(np.maximum(edge[1:], u1), 0.0, 1.0)
        p = hi - lo
        p[0] += min(u0, 1.0)
        p[1] += min(u1, 1.0) - min(u0, 1.0)
        return p


class ScrambledZipfian:
    """``ScrambledZipfianGenerator(lo, hi, theta)``: ``lo + fnvhash64(z) % (hi - lo + 1)`` with ``z``
    from a zipfian over ``ITEM_COUNT + 1`` items (YCSB's precomputed ZETAN at theta = 0.99)."""

    def __init__(self, lo: int, hi: int, theta: float, rng: np.random.Generator) -> None:
        self.lo, self.itemcount = lo, hi - lo + 1
        zetan = ZETAN if theta == USED_ZIPFIAN_CONSTANT else None
        self.gen = Zipfian(0, ITEM_COUNT, theta, rng, zetan=zetan)

    def block(self, size: int) -> np.ndarray:
        return self.lo + np.fmod(fnvhash64(self.gen.block(size)), self.itemcount)  # Java's % truncates

    def pmf(self, exact_ranks: int = 2_000_000) -> tuple[np.ndarray, float]:
        """The probability of each key: exact over the ``exact_ranks`` most popular ranks, the rest of
        the mass spread evenly (the fnv hash scatters the ~10^10 ranks left, each tiny); returns
        (pmf, the mass spread evenly)."""
        g = self.gen
        u1 = (1.0 + 0.5 ** g.theta) / g.zetan
        k = np.arange(exact_ranks + 1, dtype=np.float64)
        edge = ((k / g.items) ** (1.0 / g.alpha) - 1 + g.eta) / g.eta
        p = np.clip(np.maximum(edge[1:], u1), 0, 1) - np.clip(np.maximum(edge[:-1], u1), 0, 1)
        p[0] += 1.0 / g.zetan
        p[1] += u1 - 1.0 / g.zetan
        keys = np.fmod(fnvhash64(np.arange(exact_ranks, dtype=np.int64)), self.itemcount)
        out = np.bincount(keys, weights=p, minlength=self.itemcount)
        rest = max(1.0 - float(p.sum()), 0.0)
        return out + rest / self.itemcount, rest


class Hotspot:
    """``HotspotIntegerGenerator(lo, hi, hotsetfraction, hotopnfraction)``: a draw is uniform over the
    hot set ``[lo, lo + int(n * hotset))`` with probability ``hotopn``, else uniform over the rest."""

    def __init__(self, lo: int, hi: int, data_fraction: float, opn_fraction: float, rng: np.random.Generator) -> None:
        n = hi - lo + 1
        self.lo, self.hot, self.cold, self.opn = lo, int(n * data_fraction), n - int(n * data_fraction), opn_fraction
        self.rng = rng

    def block(self, size: int) -> np.ndarray:
        hot = self.rng.random(size) < self.opn
        in_hot = self.rng.integers(0, max(self.hot, 1), size)
        in_cold = self.rng.integers(0, max(self.cold, 1), size)
        return np.where(hot, self.lo + in_hot, self.lo + self.hot + in_cold)

    def pmf(self) -> np.ndarray:
        p = np.empty(self.hot + self.cold)
        p[: self.hot] = self.opn / self.hot if self.hot else 0.0
        p[self.hot:] = (1 - self.opn) / self.cold if self.cold else 0.0
        return p


class Uniform:
    """``UniformLongGenerator(lo, hi)``."""

    def __init__(self, lo: int, hi: int, rng: np.random.Generator) -> None:
        self.lo, self.hi, self.rng = lo, hi, rng

    def block(self, size: int) -> np.ndarray:
        return self.rng.integers(self.lo, self.hi + 1, size)


class Acknowledged:
    """``AcknowledgedCounterGenerator(start)``: ``next()`` hands out ``start, start + 1, ...``;
    ``last`` is the highest value with it and every earlier one acknowledged (``start - 1`` at first)."""

    def __init__(self, start: int) -> None:
        self.counter = start
        self.last = start - 1
        self._acked: set[int] = set()

    def next(self) -> int:
        v = self.counter
        self.counter += 1
        return v

    def acknowledge(self, value: int) -> None:
        self._acked.add(value)
        while self.last + 1 in self._acked:
            self.last += 1
            self._acked.discard(self.last)


class KeyChooser:
    """``CoreWorkload.nextKeynum``: a key from the request distribution, redrawn while it is above
    the highest acknowledged insert. ``__call__`` returns one key."""

    def __init__(self, spec: YcsbSpec, records: int, operations: int, rng: np.random.Generator,
                 block: int = 4096) -> None:
        self.spec = spec
        self.inserts = Acknowledged(records)
        self.block = block
        d = spec.distribution
        self.latest: Zipfian | None = None
        self.gen: ScrambledZipfian | Hotspot | Uniform | None = None
        if d == "latest":
            # SkewedLatestGenerator: ZipfianGenerator(basis.lastValue()) = items 0 .. records - 2
            self.latest = Zipfian(0, records - 2, spec.zipfian_constant, rng, buffer=block)
        elif d == "zipfian":
            new_keys = int(operations * spec.insert * 2.0)  # YCSB's expectednewkeys ("2 is fudge factor")
            self.gen = ScrambledZipfian(0, records + new_keys, spec.zipfian_constant, rng)
        elif d == "hotspot":
            self.gen = Hotspot(0, records - 1, spec.hot_data_fraction, spec.hot_opn_fraction, rng)
        else:
            self.gen = Uniform(0, records - 1, rng)
        self._buf: list[int] = []
        self._i = 0

    def __call__(self) -> int:
        last = self.inserts.last
        if self.latest is not None:
            while True:
                k = last - self.latest.next(last)
                if k <= last:
                    return k
        while True:
            i = self._i
            if i >= len(self._buf):
                assert self.gen is not None
                self._buf = self.gen.block(self.block).tolist()
                i = 0
            self._i = i + 1
            k = self._buf[i]
            if k <= last:
                return int(k)


class OperationChooser:
    """``CoreWorkload.createOperationGenerator``'s DiscreteGenerator, in buffered blocks."""

    def __init__(self, spec: YcsbSpec, rng: np.random.Generator, block: int = 4096) -> None:
        p = np.array(spec.proportions, dtype=np.float64)
        self.cdf = np.cumsum(p / p.sum())
        # the last operation with a share takes every u past its predecessors (rounding must not
        # leave a sliver of [0, 1) to an operation of proportion 0)
        self.cdf[int(np.nonzero(p)[0][-1]):] = np.inf
        self.rng = rng
        self.block = block
        self._buf: list[int] = []
        self._i = 0

    def __call__(self) -> int:
        i = self._i
        if i >= len(self._buf):
            u = self.rng.random(self.block)
            self._buf = np.minimum(np.searchsorted(self.cdf, u, side="right"), len(self.cdf) - 1).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
