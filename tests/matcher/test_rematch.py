"""The nightly re-match: priority, stability, pins, forbids, components, Dask."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from matcher import Matcher, load_dataset
from matcher import rematch as rematch_module
from matcher.checks import validate_assignment
from matcher.rematch import AssignmentRow, MatchOptions, rematch
from tests.conftest import COMMUNITIES
from tests.matcher.test_properties import datasets

VOLUNTEER = {"actor_id": "V1", "kind": "volunteer", "name": "刘阿姨", "text": "帮老人送饭，陪老人聊天",
             "community_id": "C1", "capacity": "1"}


def need(nid: str, text: str, urgency: int, **kw: object) -> dict[str, object]:
    return {"need_id": nid, "community_id": "C1", "text": text, "urgency": urgency,
            "roles": "volunteer", **kw}


def test_urgent_and_vulnerable_served_first_under_shortage(
        make_dataset: Callable[..., Path]) -> None:
    needs = [need("N1", "想找人帮忙送饭，陪我聊聊天", 1),   # better text match, not urgent
             need("N2", "我爸88岁独居，做不了饭", 4)]       # urgent and vulnerable
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, needs, [VOLUNTEER])))
    res = rematch(m)
    assert [(r.need_id, r.actor_id) for r in res.assignments] == [("N2", "V1")]
    assert res.unassigned == [{"need_id": "N1", "role": "volunteer",
                               "reason": "all_at_capacity", "missing": 1}]
    assert res.summary["urgent_needs"] == {"total": 1, "fully_served": 1}


def test_previous_open_assignment_is_kept_when_equal(make_dataset: Callable[..., Path]) -> None:
    v2 = {**VOLUNTEER, "actor_id": "V2", "name": "王阿姨"}
    m = Matcher().fit(load_dataset(make_dataset(COMMUNITIES, [need("N1", "送饭", 2)],
                                                [VOLUNTEER, v2])))
    for keep in ("V1", "V2"):
        res = rematch(m, previous=[AssignmentRow("N1", "volunteer", keep)])
        assert [r.actor_id for r in res.assignments] == [keep]
        assert res.summary["diff"] == {"kept": 1, "changed": 0, "added": 0, "dropped": 0}


def test_in_service_assignment_is_pinned_and_counts_as_load(
        make_dataset: Callable[..., Path]) -> None:
    needs = [need("N1", "送饭", 2, status="in_progress"), need("N2", "送饭", 4)]
    folder = make_dataset(COMMUNITIES, needs, [VOLUNTEER])
    (folder / "assignments.csv").write_text("need_id,role,actor_id,score,run_id\n"
                                            "N1,volunteer,V1,0.9,r0\n", "utf-8")
    m = Matcher().fit(load_dataset(folder))
    res = rematch(m, previous=[AssignmentRow("N1", "volunteer", "V1", 0.9, "r0")])
    assert [(r.need_id, r.run_id) for r in res.assignments] == [("N1", "r0")]
    assert res.unassigned[0]["need_id"] == "N2"


def test_pins_forbids_and_infeasible_pins(fitted: Matcher) -> None:
    pins = [("N0003", "volunteer", "V004"),   # feasible though not the best
            ("N0001", "volunteer", "V005")]   # V005 serves 双浦镇 only: out of scope
    forbids = [("N0001", "", "O001")]
    res = rematch(fitted, pins=pins, forbids=forbids)
    got = {(r.need_id, r.role, r.actor_id) for r in res.assignments}
    assert ("N0003", "volunteer", "V004") in got
    assert ("N0001", "volunteer", "V005") not in got
    assert not any(n == "N0001" and a == "O001" for n, _, a in got)
    assert res.infeasible_pins == [{"need_id": "N0001", "role": "volunteer",
                                    "actor_id": "V005", "reasons": ["out_of_scope"]}]
    assert validate_assignment(fitted, res.assignments, pins=pins, forbids=forbids,
                               infeasible_pins=res.infeasible_pins) == []


def test_validate_assignment_catches_violations(fitted: Matcher) -> None:
    bad = [AssignmentRow("N0001", "volunteer", "V005"), AssignmentRow("N0002", "fund", "F001"),
           AssignmentRow("N0003", "volunteer", "V008"), AssignmentRow("N0003", "volunteer", "V008")]
    problems = validate_assignment(fitted, bad, pins=[("N0004", "volunteer", "V004")],
                                   forbids=[("N0003", "volunteer", "V008")])
    text = "\n".join(problems)
    assert "out_of_scope" in text and "duplicate" in text and "too many fund" in text
    assert "pin dropped silently" in text and "forbidden pair used" in text


@pytest.mark.parametrize("solver", ["networkx", "ortools"])
def test_solvers_reach_the_same_objective(fitted: Matcher, solver: str) -> None:
    res = rematch(fitted, options=MatchOptions(solver=solver))
    ref = rematch(fitted, options=MatchOptions(solver="networkx"))
    assert res.summary["objective"] == ref.summary["objective"]
    assert validate_assignment(fitted, res.assignments) == []


def test_components_give_the_same_optimum_as_the_whole(fitted: Matcher,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    split = rematch(fitted)
    monkeypatch.setattr(rematch_module, "_components",
                        lambda n_left, n_right, edges: [0] * n_left)
    whole = rematch(fitted)
    assert whole.summary["components"] < split.summary["components"]
    assert whole.summary["objective"] == split.summary["objective"]


@pytest.mark.slow
def test_dask_workers_give_identical_result(fitted: Matcher) -> None:
    serial = rematch(fitted)
    parallel = rematch(fitted, options=MatchOptions(workers=2))
    assert parallel.assignments == serial.assignments
    assert parallel.summary == serial.summary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_every_plan_passes_the_invariant_checker(ds: object) -> None:
    m = Matcher().fit(ds)  # type: ignore[arg-type]
    for solver in ("networkx", "ortools"):
        res = rematch(m, options=MatchOptions(solver=solver))
        assert validate_assignment(m, res.assignments) == []


def test_forked_candidate_processes_give_identical_result(tmp_path: Path) -> None:
    from matcher.generate import generate_dataset

    generate_dataset(tmp_path / "g", needs=150, actors=300, seed=4)
    m = Matcher().fit(tmp_path / "g")
    serial = rematch(m)
    forked = rematch(m, options=MatchOptions(processes=2))
    assert forked.assignments == serial.assignments


@pytest.mark.slow
def test_dask_scheduler_address_gives_identical_result(fitted: Matcher) -> None:
    from dask.distributed import LocalCluster

    serial = rematch(fitted)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        remote = rematch(fitted, options=MatchOptions(scheduler=cluster.scheduler_address))
    assert remote.assignments == serial.assignments
