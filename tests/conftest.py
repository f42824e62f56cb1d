"""Shared test fixtures (keep this small): an explicit numpy Generator, the CLI entry point and the
hypothesis profiles.

Hypothesis profiles: ``ci`` (the default, and what CI runs) is derandomized, keeps no example
database and has no per-example deadline, so ``make test`` draws the same examples on every machine
and a loaded machine cannot fail it by being slow. ``fuzz`` (``make fuzz``, or
``HYPOTHESIS_PROFILE=fuzz``) explores at random with more examples and keeps the failures it finds
in ``.hypothesis/`` to replay them first. Tests that size their own example counts scale them from
``settings().max_examples`` (the loaded profile's).

No test decides pass or fail by wall-clock time: work is bounded by events or counts (e.g. the
config's work bounds, or the simulator's event budget in ``test_fuzz_config.py``). The subprocess
fixture below therefore has no timeout; a real hang is left to CI's job limit, which reports it as a
hang, not as a failed check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", max_examples=1000, derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh explicitly seeded Generator (tests never use global random state)."""
    return np.random.default_rng(20120801)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``pbs-sim ARGS`` through its real entry point (``python -m pbs_sim``) in a subprocess."""

    def run(*args: str, cwd: Path | None = None, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pbs_sim", *args], capture_output=True, text=True,
            cwd=cwd or REPO, timeout=timeout,
        )

    return run
