"""Actors (资源清单): list with load and what is left, create, update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from matcher.kinds import budgeted
from matcher.records import KIND_ZH, Actor
from matcher.restrictions import implied_restriction
from matcher.taxonomy import default_taxonomy

from ..audit import record
from ..auth import Principal
from ..convert import holdings, split
from ..deps import EngineDep, PrincipalDep, SessionDep, WriterDep
from ..engine import bump
from ..errors import ApiError
from ..imports import actor_values
from ..orm import ActorRow, Community, Station, utcnow
from ..privacy import mask_text, person_name, search_text_is_masked_safe
from ..schemas import ActorIn, ActorOut, ActorPatch, Page
from ..scope import actor_clause

router = APIRouter(prefix="/actors", tags=["actors"])


def actor_out(a: ActorRow, load: int, spent: float, masked: bool) -> ActorOut:
    rec = Actor(a.actor_id, a.kind, a.name, a.text, capacity=a.capacity,
                categories=tuple(split(a.categories)), target_groups=tuple(split(a.target_groups)))
    implied = implied_restriction(rec)
    remaining = (max(a.budget_yuan - spent, 0.0) if budgeted(a.kind)
                 else float(rec.capacity - load))
    return ActorOut(actor_id=a.actor_id, kind=a.kind, kind_zh=KIND_ZH[a.kind],
                    name=person_name(a.name, a.kind, masked=masked),
                    text=mask_text(a.text), community_id=a.community_id, street=a.street,
                    district=a.district, scope=a.scope, capacity=rec.capacity, load=load,
                    remaining=remaining, budget_yuan=a.budget_yuan,
                    categories=list(split(a.categories)),
                    target_groups=list(split(a.target_groups)),
                    certification=a.certification, active=a.active,
                    warning=implied.zh if implied else "")


def _may_edit(s: SessionDep, p: Principal, community_id: str, street: str) -> None:
    if p.communities is None:
        return
    station = s.get(Station, p.station_id) if p.station_id else None
    ok = p.sees(community_id) if community_id else (station is not None
                                                    and street == station.station_id)
    if not ok:
        raise ApiError(403, "not_your_actor", "只能登记或修改本站辖区内的资源",
                       "a station may only add or edit actors in its own area")


@router.get("", response_model=Page, summary="资源清单：负荷与剩余容量/余额")
def list_actors(s: SessionDep, p: PrincipalDep,
                kind: Annotated[str | None, Query(max_length=20)] = None,
                q: Annotated[str | None, Query(max_length=100)] = None,
                active: bool | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Page:
    stmt = select(ActorRow)
    if kind:
        stmt = stmt.where(ActorRow.kind == kind)
    if active is not None:
        stmt = stmt.where(ActorRow.active.is_(active))
    if q and search_text_is_masked_safe(q):
        stmt = stmt.where(or_(ActorRow.name.contains(q, autoescape=True),
                              ActorRow.text.contains(q, autoescape=True)))
    visible = actor_clause(s, p)
    if visible is not None:
        stmt = stmt.where(visible)
    rows = s.scalars(stmt.order_by(ActorRow.kind, ActorRow.actor_id)).all()
    if q:  # search what the caller is shown: masked text, and masked names of people
        rows = [a for a in rows if q in mask_text(a.text)
                or q in person_name(a.name, a.kind, masked=p.masked)]
    load, spent = holdings(s)
    items = [actor_out(a, load.get(a.actor_id, 0), spent.get(a.actor_id, 0.0), p.masked)
             for a in rows]
    return Page(total=len(items), items=items[offset:offset + limit])


@router.post("", response_model=ActorOut, status_code=201, summary="登记资源")
def create_actor(body: ActorIn, s: SessionDep, p: WriterDep, cache: EngineDep) -> ActorOut:
    _may_edit(s, p, body.community_id, body.street)
    if body.community_id and s.get(Community, body.community_id) is None:
        raise ApiError(404, "community_not_found", f"社区 {body.community_id} 不存在",
                       f"community {body.community_id!r} not found")
    if not (body.community_id or body.street or body.district or body.city):
        raise ApiError(422, "no_home", "请填写资源所在的社区或街道、区、市",
                       "give the actor's community, street, district or city")
    unknown = [c for c in body.categories if c not in default_taxonomy().codes]
    if unknown:
        raise ApiError(422, "bad_category", f"未知的类别代码：{'、'.join(unknown)}",
                       f"unknown category code(s): {', '.join(unknown)}")
    if budgeted(body.kind) and body.budget_yuan <= 0:
        raise ApiError(422, "fund_budget_required", "资金类资源必须填写可用金额",
                       "a fund needs budget_yuan")
    if s.get(ActorRow, body.actor_id) is not None:
        raise ApiError(409, "duplicate_id", f"资源编号 {body.actor_id} 已存在",
                       f"actor {body.actor_id!r} exists")
    rec = Actor(body.actor_id, body.kind, body.name, body.text, community_id=body.community_id,
                street=body.street, district=body.district, city=body.city, scope=body.scope,
                capacity=-1 if body.capacity is None else body.capacity,
                budget_yuan=body.budget_yuan, categories=tuple(body.categories),
                target_groups=tuple(body.target_groups), certification=body.certification,
                time_slots=tuple(body.time_slots))
    row = ActorRow(**actor_values(rec), contact_phone=body.contact_phone)
    s.add(row)
    bump(s, "load_version")  # every worker indexes it without a refit (Matcher.update_actors)
    record(s, p, "actor.create", "actor", body.actor_id, {"kind": body.kind},
           cache.model_version())
    s.flush()
    cache.commit(s)
    return actor_out(row, 0, 0.0, p.masked)


@router.patch("/{actor_id}", response_model=ActorOut, summary="修改资源（或停用）")
def update_actor(actor_id: str, body: ActorPatch, s: SessionDep, p: WriterDep,
                 cache: EngineDep) -> ActorOut:
    a = s.get(ActorRow, actor_id)
    if a is None:
        raise ApiError(404, "actor_not_found", f"资源 {actor_id} 不存在", f"actor {actor_id!r} not found")
    _may_edit(s, p, a.community_id, a.street)
    changes = body.model_dump(exclude_unset=True)
    for k, v in changes.items():
        if v is not None:
            setattr(a, k, v)
    a.updated_at = utcnow()
    # every worker applies the edit without refitting the text model: when and how
    # much it can take in the table's columns, what it offers or where by
    # re-indexing this actor (a refit only when the frozen model no longer fits)
    bump(s, "load_version")
    record(s, p, "actor.update", "actor", actor_id, changes, cache.model_version())
    load, spent = holdings(s)
    cache.commit(s)
    return actor_out(a, load.get(actor_id, 0), spent.get(actor_id, 0.0), p.masked)


__all__ = ["router"]
