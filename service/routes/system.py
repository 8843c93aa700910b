"""Health, the caller's identity, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select, text

from matcher.records import KIND_ZH, ROLES, TARGET_GROUPS, TIME_SLOT_ZH
from matcher.rules import UNSERVED_ZH
from matcher.taxonomy import default_taxonomy

from ..deps import EngineDep, PrincipalDep, SessionDep
from ..engine import package_version
from ..errors import ApiError
from ..orm import AuditEntry, Community, Station
from ..schemas import Health

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health, summary="健康检查（无需密钥）")
def health(s: SessionDep, cache: EngineDep) -> Health:
    try:
        s.execute(text("SELECT 1"))
        db = "ok"
    except Exception:  # the health check reports, never fails
        db = "unavailable"
    return Health(status="ok" if db == "ok" else "degraded", database=db,
                  model_version=cache.model_version(), version=package_version())


@router.get("/vocab", summary="界面用词：类别、服务对象、角色、状态（无需密钥）")
def vocab() -> dict[str, Any]:
    tax = default_taxonomy()
    return {
        "categories": [{"code": c, "zh": tax.zh(c)} for c in tax.codes],
        "groups": list(TARGET_GROUPS),
        "roles": [{"code": r, "zh": KIND_ZH[r]} for r in ROLES],
        "time_slots": [{"code": k, "zh": v} for k, v in TIME_SLOT_ZH.items()],
        "need_statuses": [{"code": k, "zh": v} for k, v in NEED_STATUS_ZH.items()],
        "assignment_statuses": [{"code": k, "zh": v} for k, v in ASSIGNMENT_STATUS_ZH.items()],
        "unserved_reasons": [{"code": k, "zh": v} for k, v in UNSERVED_ZH.items()],
    }


NEED_STATUS_ZH = {"open": "待匹配", "assigned": "已安排", "in_progress": "服务中", "done": "已办结",
                  "cancelled": "已取消"}
ASSIGNMENT_STATUS_ZH = {"suggested": "建议", "accepted": "已采纳", "rejected": "已拒绝",
                        "in_service": "服务中", "completed": "已完成", "failed": "未成功",
                        "superseded": "已替换"}


@router.get("/me", summary="当前密钥的身份与可见社区")
def me(s: SessionDep, p: PrincipalDep) -> dict[str, Any]:
    q = select(Community).order_by(Community.community_id)
    communities = [{"community_id": c.community_id, "name": c.name, "street": c.street}
                   for c in s.scalars(q) if p.sees(c.community_id)]
    station = s.get(Station, p.station_id) if p.station_id else None
    return {"role": p.role, "station_id": p.station_id,
            "station_name": station.name if station else "", "communities": communities}


@router.get("/audit", summary="审计日志（管理员）")
def audit(s: SessionDep, p: PrincipalDep,
          object_id: Annotated[str | None, Query(max_length=100)] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    if p.role != "admin":
        raise ApiError(403, "admin_only", "只有管理员可以查看审计日志", "admin only")
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_id:
        q = q.where(AuditEntry.object_id == object_id)
    return [{"id": e.id, "at": e.at.isoformat(), "who": e.who, "action": e.action,
             "object_type": e.object_type, "object_id": e.object_id, "detail": e.detail,
             "model_version": e.model_version} for e in s.scalars(q)]
