"""Shared test fixtures (keep this small): an explicit numpy Generator and the CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh explicitly seeded Generator (tests never use global random state)."""
    return np.random.default_rng(20120801)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``pbs-sim ARGS`` through its real entry point (``python -m pbs_sim``) in a subprocess."""

    def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pbs_sim", *args], capture_output=True, text=True,
            cwd=cwd or REPO, timeout=timeout,
        )

    return run
