"""Keys and values: key names <-> the small int indices the simulator uses, ring hashes, write values.

Owns: :class:`KeySpace` (interning key names to int indices, ``name(i)``, ring positions of names),
the key hashes (:func:`murmur3_token`: Cassandra's ``Murmur3Partitioner``; :func:`md5_position`:
Dynamo's MD5), and the value of every write (:func:`write_values`, :func:`read_values`: pure
functions of a history's frames). Must not touch: SimPy, the protocol, metrics.

Keys. A key is a string; an integer key ``k`` is the key named ``str(k)``. Inside the simulator a
key stays a small int index (the history tables store ints: 8 bytes a row, no per-row strings).
The synthetic workloads (open, closed, pbs-probe) draw indices ``0..keys-1`` (pbs-probe: one per
trial) and key ``k`` is named ``str(k)``: the *numeric* keys, whose index is their name read as a
number. Any other name (``"cart"``, ``"007"``, ``"1000"`` when there are only 1000 numeric keys) is
interned on first use at the next free index from ``numeric`` up. Every index not interned is named
``str(index)``, so a consumer of a history needs only the (usually empty) ``keys`` table of the
interned names (``key``, ``key_name``) to name every key.

Ring positions. A key is placed on the ring by the hash of its name's UTF-8 bytes
(``cluster.key_hash``):

* ``murmur3`` (default) -- the token Cassandra's ``Murmur3Partitioner`` gives a ``text`` partition
  key: the first 64 bits (``h1``) of MurmurHash3 x64_128 with seed 0, as a signed 64-bit integer,
  ``Long.MIN_VALUE`` mapped to ``Long.MAX_VALUE`` and the empty key to ``Long.MIN_VALUE``. Cassandra's
  implementation sign-extends the tail bytes (those past the last 16-byte block) before mixing them,
  so for a tail byte >= 0x80 it differs from the reference MurmurHash3 that ``mmh3`` implements; such
  names take a pure-Python path that does what Cassandra does (``tests/test_keys.py`` checks both
  paths against tokens the DataStax drivers document as Cassandra's).
* ``md5`` -- Dynamo's placement (DeCandia et al. 2007, section 4.2: "applies a MD5 hash on the key
  to generate a 128-bit identifier"): the MD5 digest as an unsigned 128-bit big-endian integer.
  (Riak hashes with SHA-1 of the Erlang term ``{Bucket, Key}``; Cassandra's old RandomPartitioner
  takes the absolute value of the MD5 digest read as a signed integer. Neither is this option.)
* ``blake2b`` -- the placement pbs_sim used before keys had names (:func:`blake2b_position`), to
  reproduce earlier results exactly; no store hashes this way.

Node tokens lie in the same token space: virtual node ``v`` of node ``i`` sits at a deterministic
pseudo-random token derived from the label ``"node-{i}-vnode-{v}"`` (:func:`node_token`: its BLAKE2b
digest mapped monotonically onto the space, so the cyclic order of nodes round the ring is the same
under either hash, and the same as before keys had names; only where keys fall changes).

Values. Every write carries a value. By default it is ``"{client}:{seq}"`` where ``seq`` is the
client's own write counter: 1 for its first write, 2 for its second, ..., counting every write the
client issued (in issue order, i.e. ``op_id`` order; failed and timed-out writes count). A write may
be given its value explicitly (``Coordinator.write(..., value=...)``, scripted workloads); only those
are stored (the history's ``values`` table: ``op_id``, ``value``), the default ones are derived on
demand from ``client`` and the issue order, so recording values costs nothing per operation.
Default values are unique within a run (one per client and counter); explicit ones are what the
script says. A read returns the values of the versions it returned: version ``s`` of key ``k`` is
the write of ``k`` whose ``seq`` (the ops table's ``version``) is ``s``.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import mmh3

from ._lazy import LazyModule

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:  # imported on first use: the config imports this module, and a bad file must fail light
    np = LazyModule("numpy")
    pd = LazyModule("pandas")

KEY_HASHES = ("murmur3", "md5", "blake2b")

_M64 = (1 << 64) - 1
_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F
LONG_MIN = -(1 << 63)
LONG_MAX = (1 << 63) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _M64
    k ^= k >> 33
    return k


def _signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def cassandra_murmur3_h1(data: bytes) -> int:
    """``h1`` of Cassandra's ``MurmurHash.hash3_x64_128(key, seed 0)``, signed, in pure Python: the
    reference algorithm except that tail bytes are sign-extended (Java's ``(long) key.get(i)``)."""
    n = len(data)
    nblocks = n >> 4
    h1 = h2 = 0
    for i in range(nblocks):
        k1 = int.from_bytes(data[16 * i: 16 * i + 8], "little")
        k2 = int.from_bytes(data[16 * i + 8: 16 * i + 16], "little")
        k1 = (_rotl((k1 * _C1) & _M64, 31) * _C2) & _M64
        h1 ^= k1
        h1 = (_rotl(h1, 27) + h2) & _M64
        h1 = (h1 * 5 + 0x52DCE729) & _M64
        k2 = (_rotl((k2 * _C2) & _M64, 33) * _C1) & _M64
        h2 ^= k2
        h2 = (_rotl(h2, 31) + h1) & _M64
        h2 = (h2 * 5 + 0x38495AB5) & _M64
    tail = data[16 * nblocks:]
    k1 = k2 = 0
    for j in range(len(tail) - 1, -1, -1):  # Java's fall-through switch, highest byte first
        b = tail[j]
        v = (b - 256 if b >= 128 else b) & _M64  # sign extension: 0xfe -> 0xffff...fffe
        if j >= 8:
            k2 ^= (v << (8 * (j - 8))) & _M64
        else:
            k1 ^= (v << (8 * j)) & _M64
    if len(tail) > 8:
        k2 = (_rotl((k2 * _C2) & _M64, 33) * _C1) & _M64
        h2 ^= k2
    if len(tail) > 0:
        k1 = (_rotl((k1 * _C1) & _M64, 31) * _C2) & _M64
        h1 ^= k1
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & _M64
    return _signed(h1)


def murmur3_token(data: bytes) -> int:
    """Cassandra's ``Murmur3Partitioner.getToken`` of a partition key's bytes (module docstring)."""
    if not data:
        return LONG_MIN
    tail = data[len(data) & ~15:]
    if max(tail, default=0) < 0x80:  # no sign-extended tail byte: the reference MurmurHash3 agrees
        h1 = mmh3.hash64(data, 0, True, True)[0]
    else:
        h1 = cassandra_murmur3_h1(data)
    return LONG_MAX if h1 == LONG_MIN else h1


def md5_position(data: bytes) -> int:
    """Dynamo's ring position: the MD5 digest of the key as an unsigned 128-bit big-endian integer."""
    return int.from_bytes(hashlib.md5(data).digest(), "big")  # noqa: S324 - placement, not security


def blake2b_position(data: bytes) -> int:
    """pbs_sim's placement before keys had names: the 64-bit BLAKE2b digest of ``b"key-" + name``,
    shifted into the signed 64-bit token space (``- 2**63``) where :func:`node_token` puts the nodes.
    Monotone in the old unshifted value, so every preference list, fallback and token walk is the
    one the earlier code gave: kept to reproduce results computed before (``cluster.key_hash =
    "blake2b"``), not a store's hash."""
    return int.from_bytes(hashlib.blake2b(b"key-" + data, digest_size=8).digest(), "big") + LONG_MIN


HASHES: dict[str, Callable[[bytes], int]] = {"murmur3": murmur3_token, "md5": md5_position,
                                             "blake2b": blake2b_position}


def node_token(label: str, key_hash: str = "murmur3") -> int:
    """A deterministic node token for ``label`` in the token space of ``key_hash``: the 64-bit
    BLAKE2b digest ``u`` of the label, uniform on [0, 2**64), mapped monotonically onto the space --
    ``u - 2**63`` for murmur3 and blake2b (signed 64-bit tokens, Cassandra's), ``u * 2**64`` for
    md5 (Dynamo's 128-bit positions). Monotone, so the ring's cyclic order of node tokens (which
    node follows which) is the same under every key hash: the hash decides where keys fall, not how
    nodes interleave."""
    u = int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "big")
    if key_hash == "md5":
        return u << 64
    return u + LONG_MIN


def hash_of(name: str) -> Callable[[bytes], int]:
    """The hash function ``cluster.key_hash = name`` places keys with (bytes -> ring position)."""
    try:
        return HASHES[name]
    except KeyError:
        raise ValueError(f"unknown key hash {name!r}; expected one of {', '.join(KEY_HASHES)}") from None


def is_numeric_name(name: str) -> bool:
    """True when ``name`` is the decimal form of a non-negative 64-bit integer (``str(int(name)) ==
    name``, below 2**63; longer digit strings are names like any other)."""
    return (len(name) <= 19 and name.isascii() and name.isdigit() and (name == "0" or name[0] != "0")
            and int(name) <= LONG_MAX)


class KeySpace:
    """Key names <-> int indices of one run (module docstring): indices ``0..numeric-1`` are the
    numeric keys (named ``str(i)``), other names are interned from ``numeric`` up.

    ``on_new(index, name)`` is called once for every interned name (the history records them)."""

    __slots__ = ("numeric", "key_hash", "_hash", "_names", "_index", "on_new")

    def __init__(self, numeric: int = 0, key_hash: str = "murmur3",
                 on_new: Callable[[int, str], None] | None = None) -> None:
        if numeric < 0:
            raise ValueError(f"numeric keys must be >= 0, got {numeric}")
        self.numeric = numeric
        self.key_hash = key_hash
        self._hash = hash_of(key_hash)
        self._names: list[str] = []  # interned names; index numeric + j
        self._index: dict[str, int] = {}
        self.on_new = on_new

    def __len__(self) -> int:
        """Numeric keys plus interned names."""
        return self.numeric + len(self._names)

    @staticmethod
    def as_name(key: int | str) -> str:
        """The name of a key given as a string or an integer (``ValueError`` for anything else)."""
        if isinstance(key, str):
            if not key:
                raise ValueError("a key name is a non-empty string")
            return key
        if isinstance(key, bool) or not isinstance(key, numbers.Integral):
            raise ValueError(f"a key is a string or an integer, not {type(key).__name__} {key!r}")
        if key < 0:
            raise ValueError(f"an integer key is >= 0, got {key}")
        return str(int(key))

    def lookup(self, key: int | str) -> int | None:
        """The index of ``key`` if it has one already (a numeric key or an interned name), else None."""
        name = self.as_name(key)
        if is_numeric_name(name) and int(name) < self.numeric:
            return int(name)
        return self._index.get(name)

    def index(self, key: int | str) -> int:
        """The index of ``key`` (a name, or an integer meaning its decimal name), interned on first use."""
        found = self.lookup(key)
        if found is not None:
            return found
        name = self.as_name(key)
        i = self.numeric + len(self._names)
        self._names.append(name)
        self._index[name] = i
        if self.on_new is not None:
            self.on_new(i, name)
        return i

    def name(self, index: int) -> str:
        """The name of key ``index``: an interned name, else ``str(index)``."""
        j = index - self.numeric
        if 0 <= j < len(self._names):
            return self._names[j]
        return str(index)

    def names(self, indices: Iterable[int]) -> list[str]:
        """``name(i)`` for each index (vectorised through the distinct indices)."""
        arr = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices, dtype=np.int64)
        return names_of(arr, self.interned())

    def interned(self) -> dict[int, str]:
        """index -> name of every interned name (the ``keys`` table)."""
        return {self.numeric + j: n for j, n in enumerate(self._names)}

    def position(self, index: int) -> int:
        """Where key ``index`` sits on the ring: the hash of its name's UTF-8 bytes."""
        return self._hash(self.name(index).encode())

    def node_token(self, label: str) -> int:
        """A node token in this key hash's token space (:func:`node_token`)."""
        return node_token(label, self.key_hash)


def names_of(keys: np.ndarray, interned: Mapping[int, str]) -> list[str]:
    """Key names for an array of key indices: ``interned[i]`` where given, else ``str(i)``."""
    if not len(keys):
        return []
    uniq, inv = np.unique(np.asarray(keys, dtype=np.int64), return_inverse=True)
    un = [interned.get(k) or str(k) for k in uniq.tolist()]
    return [un[i] for i in inv.tolist()]


def interned_names(frames: Mapping[str, pd.DataFrame]) -> dict[int, str]:
    """index -> name from a history's ``keys`` table (empty when every key is numeric)."""
    kt = frames.get("keys")
    if kt is None or kt.empty:
        return {}
    return dict(zip(kt["key"].to_numpy(np.int64).tolist(), kt["key_name"].astype(str).tolist(), strict=True))


# -- values -------------------------------------------------------------------------------------------
def client_write_seq(client: np.ndarray, is_write: np.ndarray) -> np.ndarray:
    """Per operation: the client's write counter of that write (1, 2, ... per client in issue order),
    0 for reads. ``client`` and ``is_write`` are ops columns in ``op_id`` order."""
    out = np.zeros(len(client), np.int64)
    w = np.flatnonzero(is_write)
    if not len(w):
        return out
    c = np.asarray(client, np.int64)[w]
    order = np.argsort(c, kind="stable")  # stable: issue order within a client
    sc = c[order]
    starts = np.r_[0, np.flatnonzero(sc[1:] != sc[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(sc)])
    rank = np.arange(len(sc)) - np.repeat(starts, lengths) + 1
    seq = np.empty(len(sc), np.int64)
    seq[order] = rank
    out[w] = seq
    return out


def _matches(col: Any, name: str, code: int) -> np.ndarray:
    """``col == name`` for an ops column held as names (categorical or strings, as frames and files
    hold them) or as the history's small-int codes."""
    ser = col if isinstance(col, pd.Series) else pd.Series(col)
    if isinstance(ser.dtype, pd.CategoricalDtype):  # compare codes, not strings (a history's frames)
        cats = list(ser.cat.categories)
        if name not in cats:
            return np.zeros(len(ser), bool)
        return np.asarray(ser.cat.codes.to_numpy() == cats.index(name), bool)
    if pd.api.types.is_numeric_dtype(ser.dtype) and not pd.api.types.is_bool_dtype(ser.dtype):
        return np.asarray(ser.to_numpy() == code, bool)
    return (ser.astype(str) == name).to_numpy(bool)


def _kind_is_write(kind: Any) -> np.ndarray:
    return _matches(kind, "write", 1)  # history.WRITE


def write_values(ops: pd.DataFrame, values: pd.DataFrame | None = None) -> list[str | None]:
    """Per operation (row of ``ops``, in op_id order): the value a write wrote -- the explicit one
    from the ``values`` table, else ``"client:seq"`` -- and None for a read. An ops table that
    already has a ``value`` column (``pbs-sim run --ops`` writes one) gives the writes' values."""
    is_w = _kind_is_write(ops["kind"])
    if "value" in ops:
        col = ops["value"].tolist()
        return [None if not w or v is None or (isinstance(v, float) and v != v) else str(v)
                for w, v in zip(is_w.tolist(), col, strict=True)]
    client = ops["client"].to_numpy(np.int64)
    seq = client_write_seq(client, is_w)
    out: list[str | None] = [None] * len(ops)
    cl, sl = client.tolist(), seq.tolist()
    for i in np.flatnonzero(is_w).tolist():
        out[i] = f"{cl[i]}:{sl[i]}"
    if values is not None and len(values):
        for o, v in zip(values["op_id"].to_numpy(np.int64).tolist(), values["value"].astype(str).tolist(), strict=True):
            out[o] = v
    return out


def _write_index(ops: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """(sorted codes ``key * stride + seq`` of every write, their op ids, stride = largest seq + 1)."""
    is_w = _kind_is_write(ops["kind"])
    key = ops["key"].to_numpy(np.int64)[is_w]
    seq = ops["version"].to_numpy(np.int64)[is_w]
    oid = ops["op_id"].to_numpy(np.int64)[is_w] if "op_id" in ops else np.flatnonzero(is_w)
    stride = int(seq.max()) + 1 if len(seq) else 1
    code = key * stride + seq
    order = np.argsort(code, kind="stable")
    return code[order], oid[order], stride


def _writes_of(ops: pd.DataFrame, key: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The op id of the write of ``key[i]`` with seq ``seq[i]``, -1 where the history has none."""
    codes, wops, stride = _write_index(ops)
    if not len(codes) or not len(key):
        return np.full(len(key), -1, np.int64)
    want = key * stride + seq
    pos = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
    return np.where((codes[pos] == want) & (seq < stride), wops[pos], -1).astype(np.int64)


def read_values(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (successful read, version it returned): ``op_id, version, write_op, value``,
    in op_id order and, within a read, ascending version. The versions are the ``read_versions``
    rows of a read that returned siblings, else its ``version`` (none when it is 0: nothing there).
    ``write_op`` is the write of that key with that seq (-1 if the history lacks it)."""
    ops = frames["ops"]
    n = len(ops)
    is_w = _kind_is_write(ops["kind"])
    ok = _matches(ops["status"], "ok", 1)  # history.OK
    version = ops["version"].to_numpy(np.int64)
    rd = ~is_w & ok
    rv = frames.get("read_versions")
    multi = np.zeros(n, bool)
    r_oid: list[np.ndarray] = []
    r_ver: list[np.ndarray] = []
    if rv is not None and len(rv):
        o = rv["op_id"].to_numpy(np.int64)
        multi[o] = True
        r_oid.append(o)
        r_ver.append(rv["version"].to_numpy(np.int64))
    single = np.flatnonzero(rd & ~multi & (version > 0))
    r_oid.append(single)
    r_ver.append(version[single])
    oid = np.concatenate(r_oid)
    ver = np.concatenate(r_ver)
    order = np.lexsort((ver, oid))
    oid, ver = oid[order], ver[order]
    write_op = _writes_of(ops, ops["key"].to_numpy(np.int64)[oid], ver)
    vals = write_values(ops, frames.get("values"))
    value = [vals[w] if w >= 0 else None for w in write_op.tolist()]
    return pd.DataFrame({"op_id": oid, "version": ver, "write_op": write_op.astype(np.int64), "value": value})


def op_values(frames: Mapping[str, pd.DataFrame]) -> list[str | None]:
    """Per operation: a write's value; a read's value of its ``version`` (the newest it returned;
    None when it returned nothing or failed). The ``value`` column of the ops output table."""
    ops = frames["ops"]
    out = write_values(ops, frames.get("values"))
    is_w = _kind_is_write(ops["kind"])
    version = ops["version"].to_numpy(np.int64)
    rd = np.flatnonzero(~is_w & (version > 0))
    if len(rd):
        wop = _writes_of(ops, ops["key"].to_numpy(np.int64)[rd], version[rd])
        for r, w in zip(rd.tolist(), wop.tolist(), strict=True):
            if w >= 0:
                out[r] = out[w]
    return out


def _write_value_at(ops: pd.DataFrame, values: pd.DataFrame | None, rows: np.ndarray) -> list[str | None]:
    """:func:`write_values` for a few rows only (numpy over the columns, strings for those rows)."""
    is_w = _kind_is_write(ops["kind"])
    out: list[str | None] = [None] * len(rows)
    if "value" in ops:
        col = ops["value"].to_numpy(object)[rows].tolist()
        return [None if not w or v is None or (isinstance(v, float) and v != v) else str(v)
                for w, v in zip(is_w[rows].tolist(), col, strict=True)]
    client = ops["client"].to_numpy(np.int64)
    seq = client_write_seq(client, is_w)
    explicit: dict[int, str] = {}
    if values is not None and len(values):
        explicit = dict(zip(values["op_id"].to_numpy(np.int64).tolist(), values["value"].astype(str).tolist(), strict=True))
    for j, r in enumerate(rows.tolist()):
        if is_w[r]:
            out[j] = explicit.get(r, f"{client[r]}:{seq[r]}")
    return out


def values_of(frames: Mapping[str, pd.DataFrame], op_ids: Iterable[int]) -> dict[int, list[str]]:
    """The values of a few operations (the checker's examples): a write's value, a read's returned
    values (every sibling, ascending version; empty when it returned nothing). Vectorised over the
    history's columns, Python strings only for the operations asked."""
    want = np.asarray(sorted(set(int(o) for o in op_ids)), dtype=np.int64)
    if not len(want):
        return {}
    ops = frames["ops"]
    values = frames.get("values")
    is_w = _kind_is_write(ops["kind"])
    out: dict[int, list[str]] = {}
    for o, v in zip(want.tolist(), _write_value_at(ops, values, want), strict=True):
        out[o] = [v] if v is not None else []
    reads = want[~is_w[want]]
    if not len(reads):
        return out
    ok = _matches(ops["status"], "ok", 1)
    version = ops["version"].to_numpy(np.int64)
    rv = frames.get("read_versions")
    r_oid, r_ver = [], []
    multi: set[int] = set()
    if rv is not None and len(rv):
        o = rv["op_id"].to_numpy(np.int64)
        sel = np.isin(o, reads)
        r_oid.append(o[sel])
        r_ver.append(rv["version"].to_numpy(np.int64)[sel])
        multi = set(o[sel].tolist())
    single = np.asarray([r for r in reads.tolist() if r not in multi and ok[r] and version[r] > 0], np.int64)
    r_oid.append(single)
    r_ver.append(version[single] if len(single) else np.zeros(0, np.int64))
    oid, ver = np.concatenate(r_oid), np.concatenate(r_ver)
    order = np.lexsort((ver, oid))
    oid, ver = oid[order], ver[order]
    wop = _writes_of(ops, ops["key"].to_numpy(np.int64)[oid], ver)
    found = wop >= 0
    wvals = _write_value_at(ops, values, wop[found])
    for o in reads.tolist():
        out[o] = []
    for o, v in zip(oid[found].tolist(), wvals, strict=True):
        if v is not None:
            out[o].append(v)
    return out


__all__ = [
    "HASHES", "KEY_HASHES", "KeySpace", "blake2b_position", "cassandra_murmur3_h1", "client_write_seq", "interned_names", "is_numeric_name",
    "hash_of", "md5_position", "murmur3_token", "names_of", "node_token", "op_values", "read_values", "values_of",
    "write_values",
]
