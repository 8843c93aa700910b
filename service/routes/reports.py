"""The linkage report (联动看板): per community and street."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..deps import PrincipalDep, SessionDep
from ..report import linkage_report

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/linkage", summary="联动报告：需求类别、各角色满足率、匹配用时、资金使用、志愿者负荷")
def linkage(s: SessionDep, p: PrincipalDep,
            street: Annotated[str | None, Query(max_length=200)] = None,
            community_id: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    return linkage_report(s, p, street=street, community_id=community_id)
