"""Match runs: start one (in the background), watch it, read its summary."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from ..auth import Principal
from ..deps import FactoryDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from ..errors import ApiError
from ..orm import MatchRun, NeedRow
from ..runs import start_run
from ..schemas import RunOut

router = APIRouter(prefix="/runs", tags=["runs"])


def _who(triggered_by: str, p: Principal) -> str:
    """Who started a run, as ``p`` may know it: another station is not named."""
    if p.communities is None or not triggered_by.startswith("station:"):
        return triggered_by
    return triggered_by if triggered_by.startswith(f"station:{p.station_id}#") else "station"


def _own_summary(summary: dict[str, Any], p: Principal, s: Any) -> dict[str, Any]:
    """A station's view of a run's summary: counts, and only its own communities and needs."""
    if p.communities is None:
        return summary
    out = dict(summary)
    out["shortage_by_category_community"] = {
        k: v for k, v in (summary.get("shortage_by_category_community") or {}).items()
        if p.sees(k.rsplit("|", 1)[-1])}
    pins = summary.get("infeasible_pins") or []
    out["infeasible_pins"] = _visible(s, p, pins) if pins else []
    return out


def run_out(r: MatchRun, p: Principal, s: Any, with_summary: bool = True) -> RunOut:
    summary = json.loads(r.summary) if with_summary and r.summary else None
    return RunOut(run_id=r.run_id, status=r.status, stage=r.stage, progress=r.progress,
                  started_at=r.started_at.isoformat(),
                  finished_at=r.finished_at.isoformat() if r.finished_at else None,
                  triggered_by=_who(r.triggered_by, p), is_current=r.is_current,
                  summary=_own_summary(summary, p, s) if summary is not None else None,
                  error=r.error)


def _run(s: Any, run_id: str) -> MatchRun:
    if run_id == "current":
        r = s.scalar(select(MatchRun).where(MatchRun.is_current.is_(True)))
    elif run_id == "latest":
        r = s.scalar(select(MatchRun).order_by(MatchRun.started_at.desc()).limit(1))
    else:
        r = s.get(MatchRun, run_id)
    if r is None:
        raise ApiError(404, "run_not_found", f"匹配任务 {run_id} 不存在", f"run {run_id!r} not found")
    return r  # type: ignore[no-any-return]


@router.post("", response_model=RunOut, status_code=202,
             summary="开始重新匹配（后台运行；同一时间只允许一个）")
def start(s: SessionDep, factory: FactoryDep, p: WriterDep, settings: SettingsDep) -> RunOut:
    run_id = start_run(factory, p.who, settings.lock_stale_seconds)
    s.expire_all()
    return run_out(_run(s, run_id), p, s)


@router.get("", response_model=list[RunOut], summary="匹配任务列表")
def list_runs(s: SessionDep, p: PrincipalDep,
              limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[RunOut]:
    rows = s.scalars(select(MatchRun).order_by(MatchRun.started_at.desc()).limit(limit))
    return [run_out(r, p, s, with_summary=False) for r in rows]


@router.get("/{run_id}", response_model=RunOut,
            summary="任务状态、进度与汇总（run_id 也可为 current / latest）")
def get_run(run_id: str, s: SessionDep, p: PrincipalDep) -> RunOut:
    return run_out(_run(s, run_id), p, s)


def _visible(s: Any, p: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if p.communities is None:
        return rows
    ids = {r["need_id"] for r in rows}
    comm = dict(s.execute(select(NeedRow.need_id, NeedRow.community_id)
                          .where(NeedRow.need_id.in_(sorted(ids)))).all())
    return [r for r in rows if p.sees(comm.get(r["need_id"], ""))]


@router.get("/{run_id}/unassigned", summary="未能满足的岗位与原因（本站范围）")
def unassigned(run_id: str, s: SessionDep, p: PrincipalDep) -> list[dict[str, Any]]:
    r = _run(s, run_id)
    rows = json.loads(r.unassigned) if r.unassigned else []
    return _visible(s, p, rows)
