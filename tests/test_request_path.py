"""The coordinator's request path (issue 19): mechanisms contribute to named stages through
``coord.plug``, a slot has one owner, and declared dependencies are checked at build time."""

from __future__ import annotations

from typing import Any

import pytest

from pbs_sim.config import scenario_from_dict
from pbs_sim.levels import Requirement
from pbs_sim.mechanisms import sim_mechanisms
from pbs_sim.sim.build import build
from pbs_sim.sim.coordinator import STAGES, StageConflict, requirement_count
from pbs_sim.sim.mechanism import MissingConnection, TableSpec

SLOPPY = {"cluster": {"nodes": 5, "sloppy_quorum": True, "coordinator": "random"},
          "workload": {"duration_ms": 50, "warmup_ms": 0}}


def test_stage_order_is_the_documented_one() -> None:
    assert [name for name, _ in STAGES] == ["targets", "stamp", "issue", "quorum", "reply"]


def test_sloppy_quorum_owns_targets_and_quorum_and_a_second_owner_is_refused() -> None:
    model = build(scenario_from_dict(SLOPPY))
    coord = next(iter(model.coordinators.values()))
    assert coord.contributions["placement"] == ["sloppy_quorum"]
    assert coord.contributions["quorum"] == ["sloppy_quorum"]
    with pytest.raises(StageConflict, match="'other' cannot take the 'placement' slot: mechanism 'sloppy_quorum' owns it"):
        coord.plug("placement", "other", object())
    with pytest.raises(StageConflict, match="no point of the request path"):
        coord.plug("nowhere", "other", object())


def test_list_contributions_compose_in_installation_order() -> None:
    raw = {"cluster": {"versioning": "dvv"}, "read_repair": {"mode": "async"},
           "workload": {"duration_ms": 50, "warmup_ms": 0}}
    coord = next(iter(build(scenario_from_dict(raw)).coordinators.values()))
    assert coord.contributions["read_hooks"] == ["read_repair"]
    assert coord.contributions["on_quorum"] == ["siblings"]
    coord.plug("on_quorum", "late", print)
    assert coord.contributions["on_quorum"] == ["siblings", "late"] and coord.on_quorum[-1] is print


class _Needy:
    name = "needy"
    requires: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    moves_data = False

    def __init__(self, needs: tuple[str, ...] = (), uses: tuple[str, ...] = ()) -> None:
        self.needs, self.uses = needs, uses

    def enabled(self, scenario: Any) -> bool:
        return True

    def install(self, model: Any, streams: Any) -> Any:
        return model.dependency(self, "failure_detector")


def _quiet() -> Any:
    return scenario_from_dict({"workload": {"duration_ms": 50, "warmup_ms": 0}})


def test_a_needed_mechanism_that_is_off_is_one_clear_error() -> None:
    with pytest.raises(MissingConnection, match="'needy' needs mechanism 'failure_detector', which this scenario does not enable"):
        build(_quiet(), mechanisms=(*sim_mechanisms(), _Needy(needs=("failure_detector",))))


def test_an_unknown_or_later_dependency_is_refused() -> None:
    with pytest.raises(MissingConnection, match="declares 'nope', which is no registered mechanism"):
        build(_quiet(), mechanisms=(*sim_mechanisms(), _Needy(needs=("nope",))))
    with pytest.raises(MissingConnection, match="installed after it"):
        build(_quiet(), mechanisms=(_Needy(uses=("faults",)), *sim_mechanisms()))


def test_a_used_mechanism_that_is_off_is_none_and_an_undeclared_one_is_refused() -> None:
    model = build(_quiet(), mechanisms=(*sim_mechanisms(), _Needy(uses=("failure_detector",))))
    assert model.parts["needy"] is None
    with pytest.raises(MissingConnection, match="without declaring it"):
        build(_quiet(), mechanisms=(*sim_mechanisms(), _Needy()))


def test_requirements_the_single_dc_simulator_honours() -> None:
    assert requirement_count(Requirement("QUORUM", total=2)) == 2
    assert requirement_count(Requirement("ANY", total=1, hint_ok=True)) == 1
    with pytest.raises(ValueError, match="no count"):
        requirement_count(Requirement("LOCAL_QUORUM", local=2))


def test_named_levels_reach_the_quorum_stage_as_counts() -> None:
    """A flat cluster of N = 5: QUORUM is 3 (floor(5/2) + 1) and ALL 5, the counts the coordinators wait for."""
    raw = {"cluster": {"nodes": 5, "replication": 5}, "consistency": {"read": "QUORUM", "write": "ALL"},
           "workload": {"duration_ms": 50, "warmup_ms": 0}}
    model = build(scenario_from_dict(raw))
    coord = next(iter(model.coordinators.values()))
    assert (coord.r, coord.w) == (3, 5)
