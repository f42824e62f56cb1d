"""A sweep engine that lets a set number of runs through and holds the rest: a test can kill a
sweep part way without racing it (the sweep cannot finish first, however slow the test is).

``gated`` is ``test_sweep_support.engine`` while the environment variable ``PBS_TEST_GATE`` is
unset; with it set to a directory, each run takes the next numbered ticket there (an exclusive
file create, so two pool workers never share one) and runs ``GATE_FREE`` tickets only: every later
run blocks until its process is killed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from test_sweep_support import engine

from pbs_sim.config import Scenario
from pbs_sim.engines import EngineResult

GATE_FREE = 6


def _ticket(gate: Path) -> int:
    k = 0
    while True:
        try:
            os.close(os.open(gate / str(k), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return k
        except FileExistsError:
            k += 1


def gated(scenario: Scenario, seed: Any) -> EngineResult:
    gate = os.environ.get("PBS_TEST_GATE")
    if gate and _ticket(Path(gate)) >= GATE_FREE:
        threading.Event().wait()  # held until the process is killed
    return engine(scenario, seed)
