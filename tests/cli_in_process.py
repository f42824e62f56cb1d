"""Run ``pbs-sim`` in this process (fast, sees coverage) and collect exit code, stdout, stderr.

The subprocess route through the real console entry point is the ``run_cli`` fixture in conftest.py;
CLI test files use both.
"""

from __future__ import annotations

import pytest

from pbs_sim.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
