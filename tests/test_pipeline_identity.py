"""The request-path pipeline (issue 19) changes no result: every case of
``tests/pipeline_identity_cases.py`` gives the summary and frame digests recorded on main before the
coordinator was re-founded as stages (``tests/data/pipeline_identity.json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline_identity_cases as cases  # noqa: E402

from pbs_sim.metrics.availability import FRAME as AVAILABILITY_FRAME  # noqa: E402
from pbs_sim.metrics.availability import NAMES as AVAILABILITY_NAMES  # noqa: E402
from pbs_sim.metrics.speculative import NAMES as SPECULATIVE_NAMES  # noqa: E402

ADDED_NAMES = SPECULATIVE_NAMES + AVAILABILITY_NAMES
#: frames of reporters added since the recording (issue 19: availability per datacenter)
ADDED_FRAMES = frozenset({AVAILABILITY_FRAME})
RECORDED = json.loads((Path(__file__).resolve().parent / "data" / "pipeline_identity.json").read_text())


def test_every_case_is_recorded() -> None:
    assert sorted(RECORDED) == sorted(name for name, _, _ in cases.CASES)


@pytest.mark.parametrize("name", [name for name, _, _ in cases.CASES])
def test_identical_to_the_recording(name: str) -> None:
    got = cases.digests(name)
    want = RECORDED[name]
    # mechanisms added since the recording append their declared names (zeros: they are off here)
    added = set(got["summary"]) - set(want["summary"])
    assert added <= set(ADDED_NAMES), added
    assert {k: got["summary"][k] for k in want["summary"]} == want["summary"]
    assert {k: v for k, v in got["frames"].items() if k not in ADDED_FRAMES} == want["frames"]
