"""The nightly re-match as one pipeline, used by ``wushe match`` and the service.

:func:`plan_run` takes what a run starts from (:class:`RunInputs`: the
dataset, the previous plan, pins and forbids, read from files or from the
database), fits the engine (or takes a fitted one), solves, and checks the
plan with the one invariant checker. It returns a :class:`PlannedRun`; the
caller writes it to its sink (files, or the database with the decisions taken
meanwhile). A plan that fails the checker is never returned: both callers see
the same bilingual error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .checks import validate_assignment
from .errors import WusheError
from .protocols import FittedEngine
from .records import Dataset
from .rematch import AssignmentRow, MatchOptions, MatchResult, rematch

__all__ = ["PlanInvalidError", "PlannedRun", "RunInputs", "plan_run"]

Stage = Callable[[str, float], None]


class PlanInvalidError(WusheError):
    """The solved plan broke an invariant (a bug): nothing may be written."""


@dataclass(frozen=True)
class RunInputs:
    """What a run starts from, whatever the source."""

    dataset: Dataset
    previous: list[AssignmentRow] = field(default_factory=list)
    pins: list[tuple[str, str, str]] = field(default_factory=list)
    forbids: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class PlannedRun:
    """A checked plan, the engine that made it and how long each stage took."""

    engine: FittedEngine
    result: MatchResult
    timings: dict[str, float]

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The run's summary with ``extra`` keys and the timings (seconds, rounded)."""
        return {**self.result.summary, **extra,
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}


def plan_run(inputs: RunInputs, *, run_id: str, fit: Callable[[Dataset], FittedEngine],
             options: MatchOptions | None = None,
             progress: Callable[[list[Any], str], Iterator[Any]] | None = None,
             on_stage: Stage | None = None,
             timings: dict[str, float] | None = None) -> PlannedRun:
    """Fit, solve and check one run (see the module docstring).

    ``fit`` builds the engine from the dataset (a plain fit, or one reusing a
    model folder); ``progress`` wraps the candidate loop; ``on_stage(name,
    share)`` is told when a stage starts (the service's heartbeat). Times
    already spent (loading) may be passed in ``timings``.
    """
    stage: Stage = on_stage or (lambda name, share: None)
    times = dict(timings or {})
    t0 = time.perf_counter()
    stage("fit", 0.15)
    engine = fit(inputs.dataset)
    times["fit"] = time.perf_counter() - t0
    stage("candidates", 0.2)
    stages: dict[str, float] = {}
    res = rematch(engine, previous=inputs.previous, pins=inputs.pins, forbids=inputs.forbids,
                  options=options or MatchOptions(), run_id=run_id,
                  progress=progress, timings=stages)
    times["candidates"] = stages["pins"] + stages["candidates"]
    times["solve"] = stages["solve"]
    problems = validate_assignment(engine, res.assignments, pins=inputs.pins,
                                   forbids=inputs.forbids, infeasible_pins=res.infeasible_pins)
    if problems:
        raise PlanInvalidError("分配结果未通过校验（程序缺陷），未写出结果：" + problems[0],
                               "the plan failed validation (a bug); nothing written: "
                               + problems[0])
    stage("write", 0.9)
    return PlannedRun(engine, res, times)
