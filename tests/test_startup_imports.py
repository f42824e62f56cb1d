"""Start-up of ``pbs-sim run``, ``sweep`` and ``check`` does not import what it does not need yet.

Counts, not time: in a fresh interpreter, import what each command imports before it starts its
work (the CLI group, the command's module and the modules its function imports before the first
simulated event, replication or checked operation) and assert which heavy libraries are absent
from ``sys.modules`` and that the number of loaded modules stays under a bound (measured today,
with headroom; before the lazy imports ``run`` loaded 701 modules and ``sweep`` 1224, with pandas,
pyarrow and, for ``sweep``, scipy.stats). pandas is imported on first use: when a run's metrics
turn the history into frames, when a sweep writes its first table. ``check`` reads a history into
frames as its first step, so it may load pandas; it must not load scipy or the plotting stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEVER = ("scipy", "matplotlib", "bokeh", "panel", "dask")

# command -> (modules its start imports, heavy modules that must be absent, bound on len(sys.modules))
STARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {
    "run": (("pbs_sim.cli", "pbs_sim.cli.run", "pbs_sim.config", "pbs_sim.io", "pbs_sim.simulation"),
            (*NEVER, "pandas", "pyarrow"), 450),
    "sweep": (("pbs_sim.cli", "pbs_sim.cli.sweep", "pbs_sim.io", "pbs_sim.sweep.spec", "pbs_sim.sweep.run"),
              (*NEVER, "pandas", "pyarrow"), 450),
    "check": (("pbs_sim.cli", "pbs_sim.cli.check", "pbs_sim.checker"), NEVER, 750),
}

CHILD = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(modules: tuple[str, ...]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", CHILD, *modules], capture_output=True, text=True,
                          cwd=REPO, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", sorted(STARTS))
def test_command_start_skips_heavy_imports(command: str) -> None:
    modules, absent, bound = STARTS[command]
    loaded = _loaded(modules)
    tops = {m.split(".")[0] for m in loaded}
    present = [m for m in absent if m in tops]
    assert not present, f"{command} start imports {present}"
    assert len(loaded) <= bound, f"{command} start loads {len(loaded)} modules (bound {bound})"


@pytest.mark.parametrize("command", sorted(STARTS))
def test_command_help_skips_heavy_imports(command: str) -> None:
    # `pbs-sim CMD --help` loads only the CLI group and that command's module
    code = (
        "import json, sys\nfrom pbs_sim.cli import main\n"
        f"sys.argv = ['pbs-sim', {command!r}, '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    tops = {m.split(".")[0] for m in json.loads(proc.stderr)}
    assert not [m for m in (*NEVER, "pandas", "pyarrow", "numpy", "simpy") if m in tops]
