"""Sweep files: parsing, up-front validation, grid expansion, replication seeds and the sweep hash.

Owns: turning a sweep TOML (or dict) into a frozen ``SweepSpec`` whose every cell already holds a
validated ``Scenario`` — so a mistake in any cell (an unknown key, an empty list, R > N in one
corner of the grid) is a one-line ``ConfigError`` before any work starts; the cell order; the
replication seed ``SeedSequence(seed, spawn_key=(cell, rep))``; and the stable hash ``--resume``
uses to refuse a different sweep.
Must not touch: running engines, executors, files under the results directory.

Cell order: the factors are the ``[grid]`` keys in file order, then each ``[[zip]]`` in file order;
cells are their Cartesian product with the *last* factor varying fastest (``itertools.product``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import SECTIONS, Scenario, read_toml, scenario_from_dict
from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

TOP_LEVEL = ("sweep", "base", "grid", "zip")
SWEEP_KEYS = ("engine", "scenario", "replications", "seed", "description")
ZIP_KEYS = ("keys", "values")
# Work bounds of one sweep: every cell is validated (and held) up front, every run is listed.
MAX_CELLS = 100_000
MAX_RUNS = 1_000_000
# Keys a sweep may not vary: replication seeds come from [sweep] seed, not from the scenario.
UNSWEEPABLE = {"run.seed": "replication seeds come from [sweep] seed (and replications), not run.seed"}


@dataclass(frozen=True)
class Zip:
    """Factors that vary together: ``values[i]`` gives one value per key in ``keys``."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its index, the swept values (dotted key -> value), its scenario."""

    index: int
    params: Mapping[str, Any]
    scenario: Scenario

    def label(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in self.params.items()) or "(base)"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: engine, base scenario, factors, replications, root seed and all cells."""

    engine: str
    base: Scenario
    grid: Mapping[str, tuple[Any, ...]]
    zips: tuple[Zip, ...]
    replications: int
    seed: int
    cells: tuple[Cell, ...]
    source: str = "<inline>"
    name: str = "sweep"
    description: str = ""
    scenario_path: str | None = None
    _hash: str = field(default="", compare=False, repr=False)

    @property
    def swept_keys(self) -> list[str]:
        """Dotted keys of every factor: grid keys, then zip keys, in file order."""
        return [*self.grid, *(k for z in self.zips for k in z.keys)]

    @property
    def n_runs(self) -> int:
        return len(self.cells) * self.replications

    def runs(self) -> list[tuple[int, int]]:
        """Every (cell, rep) in sweep order."""
        return [(c.index, r) for c in self.cells for r in range(self.replications)]

    def resolved(self) -> dict[str, Any]:
        """The sweep with every default filled in, as plain JSON (manifest ``sweep`` block)."""
        return {
            "engine": self.engine,
            "replications": self.replications,
            "seed": self.seed,
            "grid": {k: list(v) for k, v in self.grid.items()},
            "zip": [{"keys": list(z.keys), "values": [list(v) for v in z.values]} for z in self.zips],
            "base": self.base.to_dict(),
        }

    @property
    def inputs(self) -> dict[str, str]:
        """Every data file the sweep's scenarios read (``empirical()`` traces, profile TOMLs):
        absolute path -> SHA-256 of the content parsed."""
        out: dict[str, str] = dict(self.base.inputs)
        for c in self.cells:
            out.update(c.scenario.inputs)
        return dict(sorted(out.items()))

    @property
    def hash(self) -> str:
        """A stable hash of what the sweep computes: the resolved sweep, the resolved latency
        profiles, and the content of every data file its scenarios read (so an edited trace or
        profile file changes it). Workers, scheduler, output format and description do not count;
        the pbs_sim version and results schema are checked beside it (``store.identity``)."""
        if self._hash:
            return self._hash
        profiles = sorted({json.dumps(c.scenario.latency.wars.to_dict(), sort_keys=True) for c in self.cells})
        blob = json.dumps({**self.resolved(), "profiles": profiles, "inputs": sorted(self.inputs.values())},
                          sort_keys=True, default=str)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
        object.__setattr__(self, "_hash", digest)
        return digest

    def replication_seed(self, cell: int, rep: int) -> np.random.SeedSequence:
        """``SeedSequence(root, spawn_key=(cell, rep))`` (``pbs_sim.rng.replication_seed``)."""
        from ..rng import replication_seed

        return replication_seed(self.seed, cell, rep)


def column_name(key: str) -> str:
    """Results column of a swept key: dots become underscores (``cluster.read_quorum`` ->
    ``cluster_read_quorum``)."""
    return key.replace(".", "_")


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else v
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------------
# Loading


def load_sweep(path: str | Path) -> SweepSpec:
    """Load and validate a sweep file; every cell's scenario is built and checked here.

    A sweep file has ``[sweep]`` (engine, replications, seed, optional base ``scenario``),
    ``[base.SECTION]`` tables on top of it, a ``[grid]`` (Cartesian product over dotted scenario
    keys) and ``[[zip]]`` tables (factors that vary together).

    Args:
        path: the sweep TOML file.

    Returns:
        A ``SweepSpec``: ``cells`` (each with its overrides and validated scenario), ``replications``,
        ``seed``, ``engine``, ``swept_keys`` and ``n_runs``.

    Raises:
        ConfigError: an unknown key, an empty list, a zip row of the wrong length, a key varied twice,
            or a cell whose scenario does not validate (the message names the cell's settings).

    Example:
        >>> spec = load_sweep("experiments/sweep_example.toml")
        >>> len(spec.cells), spec.replications, spec.n_runs
        (8, 3, 24)
    """
    p = Path(path)
    raw = read_toml(p)
    return sweep_from_dict(raw, source=str(p), base_dir=p.resolve().parent, name=p.stem)


def sweep_from_dict(
    raw: Mapping[str, Any],
    source: str = "<inline>",
    base_dir: str | Path | None = None,
    name: str = "sweep",
) -> SweepSpec:
    """Build a ``SweepSpec`` from a dict shaped like the sweep TOML (``sweep``, ``base``, ``grid``,
    ``zip``). ``base_dir`` resolves ``sweep.scenario`` (default: the current directory)."""
    bd = Path(base_dir) if base_dir is not None else Path.cwd()
    if not isinstance(raw, Mapping):
        raise ConfigError(source, None, "expected a table")
    for k in raw:
        if k not in TOP_LEVEL:
            raise ConfigError(source, k, f"unknown section; expected one of {', '.join(TOP_LEVEL)}")
    head = raw.get("sweep")
    if head is None:
        raise ConfigError(source, "sweep", "missing [sweep] table (engine, scenario, replications, seed)")
    if not isinstance(head, Mapping):
        raise ConfigError(source, "sweep", "must be a table")
    for k in head:
        if k not in SWEEP_KEYS:
            raise ConfigError(source, f"sweep.{k}", f"unknown key; expected one of {', '.join(SWEEP_KEYS)}")

    engine = _engine(head, source)
    replications = _int(head, "replications", 1, source, minimum=1, maximum=MAX_RUNS)
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(source, "sweep.description", "expected a string")

    base, scenario_path, scenario_dir = _base(raw, head, source, bd)
    seed = _int(head, "seed", base.run.seed, source, minimum=0)
    grid = _grid(raw.get("grid", {}), source)
    zips = _zips(raw.get("zip", []), source)
    _check_keys(grid, zips, source)
    n_cells = math.prod([len(v) for v in grid.values()] + [len(z.values) for z in zips])
    if n_cells > MAX_CELLS:
        raise ConfigError(source, "grid", f"the grid has {n_cells:,} cells; at most {MAX_CELLS:,} per sweep")
    if n_cells * replications > MAX_RUNS:
        raise ConfigError(
            source, "sweep.replications",
            f"{n_cells:,} cells x {replications:,} replications = {n_cells * replications:,} runs; at most {MAX_RUNS:,} per sweep",
        )
    cells = _expand(base, grid, zips, source, scenario_dir)
    _check_topology_engine(engine, cells, source)
    _check_placement_engine(engine, cells, source)
    _check_engine(engine, source)
    return SweepSpec(
        engine=engine, base=base, grid=grid, zips=zips, replications=replications, seed=seed,
        cells=tuple(cells), source=source, name=name, description=description,
        scenario_path=scenario_path,
    )


def expand(sweep: SweepSpec | str | Path) -> list[Cell]:
    """The cells of a sweep (a spec or a sweep file path), in sweep order."""
    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    return list(spec.cells)


def _engine(head: Mapping[str, Any], source: str) -> str:
    """The engine's name; whether it can run is checked last (``_check_engine``)."""
    if "engine" not in head:
        raise ConfigError(source, "sweep.engine", "missing; expected simulate or predict")
    engine = head["engine"]
    if not isinstance(engine, str) or not engine.strip():
        raise ConfigError(source, "sweep.engine", f"expected a string, got {engine!r}")
    return engine


def _check_topology_engine(engine: str, cells: list[Cell], source: str) -> None:
    """Issue 19: a cell with datacenters runs on the simulator (what it cannot run on a topology yet,
    ``pbs_sim.topology.check_simulator``, refused with the cell's index), but not on the predict
    engine (its one-row summary has no per-DC-pair form): refused before any run rather than run as
    a flat cluster."""
    if engine == "simulate":
        from ..topology import check_simulator

        for cell in cells:
            try:
                check_simulator(cell.scenario)
            except ConfigError as exc:
                raise ConfigError(source, exc.key, f"cell {cell.index}: {exc.reason}") from None
        return
    if engine != "predict":
        return
    for cell in cells:
        if cell.scenario.topology.enabled:
            raise ConfigError(source, "sweep.engine",
                              f"cell {cell.index}: [topology] is not supported by sweeps on engine 'predict' yet "
                              "(its one-row summary has no per-DC-pair form): sweep it on engine 'simulate', or "
                              "predict it with `pbs-sim predict --scenario FILE`")


def _check_placement_engine(engine: str, cells: list[Cell], source: str) -> None:
    """Issue 20: on the simulator a cell's ``[placement]`` drives the ring, so a placement that
    contradicts the cell's ``[cluster]`` is refused before any run (pbs_sim.sim.ring)."""
    if engine != "simulate":
        return
    from ..sim.ring import scenario_placement

    for cell in cells:
        try:
            scenario_placement(cell.scenario)
        except ConfigError as exc:
            raise ConfigError(source, exc.key, f"cell {cell.index}: {exc.reason}") from None


def _check_engine(engine: str, source: str) -> None:
    # Importing the engines costs pandas and scipy (~1 s): done after every cheap check, so a
    # mistake anywhere in the file is reported without it.
    from ..engines import check_engine

    check_engine(engine, source)


def _int(
    head: Mapping[str, Any], key: str, default: int, source: str, minimum: int, maximum: int = 2**63 - 1
) -> int:
    value = head.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(source, f"sweep.{key}", f"expected an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(source, f"sweep.{key}", f"must be >= {minimum}, got {value}")
    if value > maximum:
        limit = "< 2**63" if maximum == 2**63 - 1 else f"<= {maximum:,}"
        raise ConfigError(source, f"sweep.{key}", f"must be {limit}, got {value}")
    return value


def _deep_merge(into: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v)
        else:
            into[k] = dict(v) if isinstance(v, Mapping) else v
    return into


def _base(
    raw: Mapping[str, Any], head: Mapping[str, Any], source: str, bd: Path
) -> tuple[Scenario, str | None, Path]:
    """The base scenario: ``sweep.scenario`` (a file, validated alone first so its own errors name
    it) with the ``[base]`` tables merged on top. Relative paths inside the scenario (profile files)
    resolve against the scenario file's folder, else against the sweep file's."""
    inline = raw.get("base", {})
    if not isinstance(inline, Mapping):
        raise ConfigError(source, "base", "must be a table of scenario sections, e.g. [base.cluster]")
    merged: dict[str, Any] = {}
    scenario_dir = bd
    scenario_path: str | None = None
    if "scenario" in head:
        rel = head["scenario"]
        if not isinstance(rel, str) or not rel.strip():
            raise ConfigError(source, "sweep.scenario", "expected a path to a scenario TOML file")
        sp = Path(rel) if Path(rel).is_absolute() else bd / rel
        if not sp.exists():
            raise ConfigError(source, "sweep.scenario", f"scenario file {str(sp)!r} does not exist")
        scenario_raw = read_toml(sp)
        scenario_from_dict(scenario_raw, source=str(sp), base_dir=sp.resolve().parent)  # its own errors
        merged = _deep_merge({}, scenario_raw)
        scenario_dir = sp.resolve().parent
        scenario_path = str(sp)
    _deep_merge(merged, inline)
    try:
        base = scenario_from_dict(merged, source=source, base_dir=scenario_dir)
    except ConfigError as exc:
        key = f"base.{exc.key}" if exc.key and inline else exc.key
        raise ConfigError(source, key, exc.reason) from None
    return base, scenario_path, scenario_dir


def _valid_key(key: str) -> str | None:
    """None if ``key`` is a scenario setting that can be swept, else the reason it is not."""
    parts = key.split(".")
    if len(parts) != 2 or not all(parts):
        return "expected a dotted scenario key like 'cluster.read_quorum'"
    section, name = parts
    if section not in SECTIONS:
        return f"unknown section {section!r}; expected one of {', '.join(SECTIONS)}"
    fields = [f.name for f in dataclasses.fields(SECTIONS[section]) if not f.metadata.get("internal")]
    if name not in fields:
        return f"unknown key {name!r} in [{section}]; expected one of {', '.join(fields)}"
    if key in UNSWEEPABLE:
        return UNSWEEPABLE[key]
    return None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``latency.profile = [...]`` (TOML nested tables) and ``"latency.profile" = [...]`` alike."""
    out: list[tuple[str, Any]] = []
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.extend(_flatten(v, key + "."))
        else:
            out.append((key, v))
    return out


def _grid(table: Any, source: str) -> dict[str, tuple[Any, ...]]:
    if not isinstance(table, Mapping):
        raise ConfigError(source, "grid", "must be a table of dotted scenario keys -> lists of values")
    grid: dict[str, tuple[Any, ...]] = {}
    for key, values in _flatten(table):
        where = f"grid.{key}"
        reason = _valid_key(key)
        if reason:
            raise ConfigError(source, where, reason)
        if not isinstance(values, list):
            raise ConfigError(source, where, f"expected a list of values, got {values!r}")
        if not values:
            raise ConfigError(source, where, "empty list: a factor needs at least one value")
        _check_distinct(values, source, where)
        grid[key] = tuple(values)
    return grid


def _zips(items: Any, source: str) -> tuple[Zip, ...]:
    if isinstance(items, Mapping):  # a single [zip] table instead of [[zip]]
        items = [items]
    if not isinstance(items, list):
        raise ConfigError(source, "zip", "expected [[zip]] tables with keys = [...] and values = [[...], ...]")
    zips: list[Zip] = []
    for i, item in enumerate(items):
        where = f"zip[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(source, where, "expected a table with keys and values")
        for k in item:
            if k not in ZIP_KEYS:
                raise ConfigError(source, f"{where}.{k}", "unknown key; expected keys, values")
        keys = item.get("keys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ConfigError(source, f"{where}.keys", "expected a non-empty list of dotted scenario keys")
        if len(set(keys)) != len(keys):
            raise ConfigError(source, f"{where}.keys", "a key is listed twice")
        for k in keys:
            reason = _valid_key(k)
            if reason:
                raise ConfigError(source, f"{where}.keys", f"{k!r}: {reason}")
        values = item.get("values")
        if not isinstance(values, list) or not values:
            raise ConfigError(source, f"{where}.values", "expected a non-empty list of rows, e.g. [[1, 1], [2, 1]]")
        rows: list[tuple[Any, ...]] = []
        for j, row in enumerate(values):
            if not isinstance(row, list):
                raise ConfigError(
                    source, f"{where}.values[{j}]",
                    f"expected a list of {len(keys)} values (one per key), got the single value {_short(row)}",
                )
            if len(row) != len(keys):
                raise ConfigError(
                    source, f"{where}.values[{j}]", f"expected {len(keys)} values (one per key), got {len(row)}"
                )
            rows.append(tuple(row))
        _check_distinct(rows, source, f"{where}.values")
        zips.append(Zip(tuple(keys), tuple(rows)))
    return tuple(zips)


def _check_distinct(values: Sequence[Any], source: str, where: str) -> None:
    seen: set[str] = set()
    for v in values:
        token = json.dumps(v, sort_keys=True, default=str)
        if token in seen:
            raise ConfigError(source, where, f"value {_short(v)} is listed twice (it would duplicate cells)")
        seen.add(token)


def _check_keys(grid: Mapping[str, Any], zips: Sequence[Zip], source: str) -> None:
    seen: dict[str, str] = {k: f"grid.{k}" for k in grid}
    for i, z in enumerate(zips):
        for k in z.keys:
            if k in seen:
                raise ConfigError(source, f"zip[{i}].keys", f"{k!r} is already varied by {seen[k]}")
            seen[k] = f"zip[{i}]"


def _expand(
    base: Scenario, grid: Mapping[str, tuple[Any, ...]], zips: Sequence[Zip], source: str, base_dir: Path
) -> list[Cell]:
    factors: list[tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]] = [
        ((k,), tuple((v,) for v in vals)) for k, vals in grid.items()
    ]
    factors += [(z.keys, z.values) for z in zips]
    base_raw = base.to_dict()
    cells: list[Cell] = []
    for index, combo in enumerate(itertools.product(*(vals for _, vals in factors))):
        params: dict[str, Any] = {}
        for (keys, _), row in zip(factors, combo, strict=True):
            params.update(zip(keys, row, strict=True))
        raw = json.loads(json.dumps(base_raw))  # a deep copy of plain data
        for k, v in params.items():
            section, name = k.split(".")
            raw.setdefault(section, {})[name] = v
        try:
            scenario = scenario_from_dict(raw, source=source, base_dir=base_dir)
        except ConfigError as exc:
            where = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
            raise ConfigError(source, exc.key, f"{exc.reason} (in cell {index}: {where})") from None
        cells.append(Cell(index, dict(params), scenario))
    return cells
