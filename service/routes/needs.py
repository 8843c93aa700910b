"""Needs: list, create, read, update, close; suggestions and decisions."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import func, or_, select

from matcher.lexicon import default_lexicon
from matcher.ranking import Suggestion
from matcher.records import ROLES, Need
from matcher.rules import checked_zh
from matcher.taxonomy import default_taxonomy
from matcher.text import normalize_text
from matcher.textclf import infer_texts

from ..audit import record
from ..auth import Principal
from ..convert import join, need_record, split
from ..decisions import decide, need_for, refresh_need_status
from ..deps import EngineDep, PrincipalDep, SessionDep, SettingsDep, WriterDep
from ..engine import bump
from ..errors import ApiError
from ..imports import need_values, new_need_ids
from ..orm import HOLDING, ActorRow, Assignment, AuditEntry, Community, Feedback, NeedRow, utcnow
from ..privacy import (
    mask_name,
    mask_phone,
    mask_text,
    person_name,
    scrub,
    search_text_is_masked_safe,
)
from ..schemas import (
    CloseIn,
    DecisionIn,
    DecisionOut,
    FeedbackIn,
    InferIn,
    InferOut,
    NeedIn,
    NeedOut,
    NeedPatch,
    Page,
    SuggestionOut,
    SuggestionsOut,
    UnconfirmedFundOut,
)

router = APIRouter(prefix="/needs", tags=["needs"])


def need_out(n: NeedRow, p: Principal, community_name: str, held: set[str]) -> NeedOut:
    tax = default_taxonomy()
    masked = p.masked
    roles = list(split(n.roles))
    return NeedOut(
        need_id=n.need_id, ref=n.ref, community_id=n.community_id, community_name=community_name,
        text=mask_text(n.text) if masked else n.text, category=n.category,
        target_groups=list(split(n.target_groups)), urgency=n.urgency,
        beneficiaries=n.beneficiaries, roles=roles, volunteers_needed=n.volunteers_needed,
        budget_yuan=n.budget_yuan, time_slots=list(split(n.time_slots)),
        created_at=n.created_at, status=n.status,
        contact_name=mask_name(n.contact_name) if masked else n.contact_name,
        contact_phone=mask_phone(n.contact_phone) if masked else n.contact_phone,
        inferred_category=n.inferred_category,
        inferred_category_zh=tax.zh(n.inferred_category) if n.inferred_category else "",
        inferred_confidence=n.inferred_confidence,
        inferred_groups=list(split(n.inferred_groups)), urgency_given=n.urgency_given,
        inferred_urgency_confidence=n.inferred_urgency_confidence, served_roles=sorted(held),
        unserved=n.status == "open" and any(r not in held for r in roles))


def _held_roles(s: Any, ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    if not ids:
        return out
    q = select(Assignment.need_id, Assignment.role).where(
        Assignment.need_id.in_(ids), Assignment.status.in_(HOLDING))
    for nid, role in s.execute(q):
        out.setdefault(nid, set()).add(role)
    return out


@router.get("", response_model=Page, summary="需求清单（按本站社区过滤）")
def list_needs(
    s: SessionDep, p: PrincipalDep,
    community_id: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    urgency: Annotated[int | None, Query(ge=1, le=4)] = None,
    target_group: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    unserved: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Page:
    stmt = select(NeedRow, Community.name).join(Community)
    if p.communities is not None:
        stmt = stmt.where(NeedRow.community_id.in_(sorted(p.communities)))
    if community_id:
        stmt = stmt.where(NeedRow.community_id == community_id)
    if status:
        stmt = stmt.where(NeedRow.status == status)
    if category:
        stmt = stmt.where(or_(NeedRow.category == category,
                              (NeedRow.category == "") & (NeedRow.inferred_category == category)))
    if urgency:
        stmt = stmt.where(NeedRow.urgency == urgency)
    if target_group:
        like = f"%{target_group}%"
        stmt = stmt.where(or_(NeedRow.target_groups.like(like),
                              (NeedRow.target_groups == "") & NeedRow.inferred_groups.like(like)))
    if q and (not p.masked or search_text_is_masked_safe(q)):
        stmt = stmt.where(or_(NeedRow.text.contains(q, autoescape=True),
                              NeedRow.need_id.contains(q, autoescape=True),
                              NeedRow.ref.contains(q, autoescape=True)))
    if unserved:
        stmt = stmt.where(NeedRow.status == "open")
    # urgent and unserved first, then newest
    stmt = stmt.order_by((NeedRow.status == "open").desc(), NeedRow.urgency.desc(),
                         NeedRow.created_at.desc(), NeedRow.need_id)
    if q and p.masked:
        # a masked caller searches the text as shown to it: digits hidden behind
        # **** never match, so a search cannot rebuild a phone or ID number
        found = [(n, name) for n, name in s.execute(stmt)
                 if q in mask_text(n.text) or q in n.need_id or q in n.ref]
        total, rows = len(found), found[offset:offset + limit]
    else:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(s.execute(stmt.limit(limit).offset(offset)).all())
    held = _held_roles(s, [n.need_id for n, _ in rows])
    items = [need_out(n, p, name, held.get(n.need_id, set())) for n, name in rows]
    if unserved:
        items = [i for i in items if i.unserved]
    return Page(total=total, items=items)


@router.post("/infer", response_model=InferOut, summary="按居民原话推断类别与服务对象")
def infer(body: InferIn, p: PrincipalDep) -> InferOut:
    del p
    lex = default_lexicon()
    norm = normalize_text(body.text)
    inf = infer_texts([body.text])[0]  # as the engine infers: lexicon + shipped classifier
    evidence = sorted({w for words in lex.concepts(norm, fuzzy=True).values() for w in words})
    return InferOut(category=inf.category,
                    category_zh=default_taxonomy().zh(inf.category) if inf.category else "",
                    confidence=inf.category_confidence, groups=list(inf.groups),
                    group_confidence={g: inf.group_confidence.get(g, 1.0) for g in inf.groups},
                    urgency=inf.urgency, urgency_confidence=inf.urgency_confidence,
                    alternatives=inf.as_dict()["category_alternatives"],
                    evidence=evidence[:12])


def _check_category(code: str) -> None:
    if code and code not in default_taxonomy().codes:
        raise ApiError(422, "bad_category", f"未知的类别代码：{code}", f"unknown category {code!r}")


@router.post("", response_model=NeedOut, status_code=201, summary="登记新需求")
def create_need(body: NeedIn, s: SessionDep, p: WriterDep, cache: EngineDep) -> NeedOut:
    if not p.sees(body.community_id) or s.get(Community, body.community_id) is None:
        raise ApiError(404, "community_not_found", f"社区 {body.community_id} 不存在或不属于本站",
                       f"community {body.community_id!r} not found")
    _check_category(body.category)
    if body.need_id and p.communities is not None:
        # Ids are one namespace across stations: letting a station pick one would tell
        # it which ids other stations hold. The service numbers a station's new needs.
        raise ApiError(403, "need_id_assigned", "需求编号由系统生成，社工站不能指定（批量导入可用自己的编号）",
                       "need ids are assigned by the service; leave need_id out "
                       "(an import may carry the station's own ids)")
    need_id = body.need_id or new_need_ids(s, 1)[0]
    if s.get(NeedRow, need_id) is not None:
        raise ApiError(409, "duplicate_id", f"需求编号 {need_id} 已存在", f"need {need_id!r} exists")
    rec = Need(need_id, body.community_id, body.text, category=body.category,
               target_groups=tuple(body.target_groups), urgency=body.urgency or 2,
               urgency_given=body.urgency is not None,
               beneficiaries=body.beneficiaries, roles=tuple(r for r in ROLES if r in body.roles),
               volunteers_needed=(-1 if body.volunteers_needed is None
                                  else body.volunteers_needed),
               budget_yuan=body.budget_yuan, time_slots=tuple(body.time_slots),
               created_at=utcnow().date().isoformat())
    row = NeedRow(**need_values(rec), contact_name=body.contact_name,
                  contact_phone=body.contact_phone, id_number=body.id_number)
    s.add(row)
    record(s, p, "need.create", "need", need_id, {"community_id": body.community_id},
           cache.model_version())
    s.flush()
    name = s.get(Community, body.community_id)
    cache.commit(s)
    return need_out(row, p, name.name if name else "", set())


@router.get("/{need_id}", summary="需求详情：安排与历史")
def get_need(need_id: str, s: SessionDep, p: PrincipalDep) -> dict[str, Any]:
    n = need_for(s, p, need_id)
    c = s.get(Community, n.community_id)
    held = _held_roles(s, [need_id]).get(need_id, set())
    out = need_out(n, p, c.name if c else "", held).model_dump()
    q = (select(Assignment, ActorRow.name).join(ActorRow)
         .where(Assignment.need_id == need_id, Assignment.status != "superseded")
         .order_by(Assignment.role, Assignment.id))
    out["assignments"] = [
        {"id": a.id, "role": a.role, "actor_id": a.actor_id,
         "actor_name": person_name(name, a.role, masked=p.masked),
         "score": a.score, "status": a.status, "reason": a.reason, "run_id": a.run_id,
         "source": a.source, "updated_at": a.updated_at.isoformat()}
        for a, name in s.execute(q)]
    hist = s.scalars(select(AuditEntry).where(
        or_(AuditEntry.object_id == need_id, AuditEntry.detail.contains(f'"need_id": "{need_id}"')))
        .order_by(AuditEntry.id))
    out["history"] = [{"at": e.at.isoformat(), "who": e.who, "action": e.action,
                       "detail": json.loads(e.detail or "{}")} for e in hist]
    return scrub(out) if p.masked else out


@router.patch("/{need_id}", response_model=NeedOut, summary="修改需求")
def update_need(need_id: str, body: NeedPatch, s: SessionDep, p: WriterDep,
                cache: EngineDep) -> NeedOut:
    n = need_for(s, p, need_id, write=True)
    changes = body.model_dump(exclude_unset=True)
    if "category" in changes:
        _check_category(changes["category"] or "")
    for k, v in changes.items():
        if isinstance(v, list):
            v = join(r for r in ROLES if r in v) if k == "roles" else join(v)
        setattr(n, k, v if v is not None else getattr(n, k))
    if changes.get("urgency") is not None:
        n.urgency_given = True  # staff's level replaces an inferred one
    rec = need_record(n)
    for k, v in need_values(rec).items():
        if k.startswith("inferred_") or k in ("volunteers_needed", "urgency", "urgency_given"):
            setattr(n, k, v)
    n.updated_at = utcnow()
    refresh_need_status(s, n)
    record(s, p, "need.update", "need", need_id, {"fields": sorted(changes)},
           cache.model_version())
    c = s.get(Community, n.community_id)
    cache.commit(s)
    return need_out(n, p, c.name if c else "", _held_roles(s, [need_id]).get(need_id, set()))


@router.post("/{need_id}/close", response_model=NeedOut, summary="结案或取消需求")
def close_need(need_id: str, body: CloseIn, s: SessionDep, p: WriterDep,
               cache: EngineDep) -> NeedOut:
    n = need_for(s, p, need_id, write=True)
    n.status, n.updated_at = body.status, utcnow()
    for a in s.scalars(select(Assignment).where(Assignment.need_id == need_id,
                                                Assignment.status == "suggested")):
        a.status = "superseded"
    bump(s, "load_version")
    record(s, p, f"need.{body.status}", "need", need_id, {"reason": body.reason},
           cache.model_version())
    c = s.get(Community, n.community_id)
    cache.commit(s)
    return need_out(n, p, c.name if c else "", set())


@router.get("/{need_id}/suggestions", response_model=SuggestionsOut,
            summary="每个角色的推荐（含理由、得分构成与已核对的硬性条件）")
def suggestions(need_id: str, s: SessionDep, p: PrincipalDep, cache: EngineDep,
                settings: SettingsDep,
                k: Annotated[int | None, Query(ge=1, le=50)] = None) -> Response:
    n = need_for(s, p, need_id)
    rejected = set(s.execute(select(Assignment.role, Assignment.actor_id).where(
        Assignment.need_id == need_id, Assignment.status == "rejected")).all())
    rec = need_record(n)
    kk = k or settings.suggestions_k
    with cache.use(s) as m:
        rep = m.report(rec, k=kk, exclude=rejected)
        actors = m.dataset_.actors
        out = {role: [_suggestion(actors[x.actor_id].name, x, role, rep.remaining[x.actor_id],
                                  p.masked) for x in items]
               for role, items in rep.suggestions.items()}
        pending = [UnconfirmedFundOut(actor_id=fid, name=actors[fid].name, category=cat,
                                      confidence=conf)
                   for fid, cat, conf in rep.unconfirmed_funds]
        version = cache.model_version()
    inf = rep.inference
    body = SuggestionsOut(need_id=need_id, model_version=version, category=inf.category,
                          groups=list(inf.groups), inferred=inf.as_dict(),
                          likely_categories=rep.likely_categories, suggestions=out,
                          unserved_reasons=rep.unserved,
                          unconfirmed_funds=pending)
    # already a validated model: serialise once, skipping FastAPI's second validation
    return Response(body.model_dump_json(), media_type="application/json")


def _suggestion(name: str, x: Suggestion, role: str, remaining: float,
                masked: bool) -> SuggestionOut:
    return SuggestionOut(actor_id=x.actor_id, name=person_name(name, role, masked=masked),
                         score=x.score, reasons=x.reasons,
                         breakdown={k: round(float(v), 4) for k, v in x.breakdown.items()},
                         checks=checked_zh(role), remaining=remaining)


@router.post("/{need_id}/decisions", response_model=DecisionOut,
             summary="采纳、拒绝（附原因）、改派，或推进服务状态")
def decision(need_id: str, body: DecisionIn, s: SessionDep, p: WriterDep,
             cache: EngineDep) -> DecisionOut:
    need_for(s, p, need_id, write=True)
    if body.assignment_id is None and (body.role is None or not body.actor_id):
        raise ApiError(422, "missing_target", "请指定安排编号，或角色与资源编号",
                       "give assignment_id, or role and actor_id")
    with cache.use(s) as m:
        out = decide(s, m, p, need_id, body.action, role=body.role or "",
                     actor_id=body.actor_id or "", assignment_id=body.assignment_id,
                     reason=body.reason, satisfaction=body.satisfaction,
                     model_version=cache.model_version())
    cache.commit(s)
    return DecisionOut(**out)


@router.post("/{need_id}/feedback", status_code=201, summary="服务结果与满意度（1–5）")
def feedback(need_id: str, body: FeedbackIn, s: SessionDep, p: WriterDep,
             cache: EngineDep) -> dict[str, Any]:
    need_for(s, p, need_id, write=True)
    if s.get(ActorRow, body.actor_id) is None:
        raise ApiError(404, "actor_not_found", f"资源 {body.actor_id} 不存在",
                       f"actor {body.actor_id!r} not found")
    fb = Feedback(need_id=need_id, actor_id=body.actor_id, outcome=body.outcome,
                  satisfaction=body.satisfaction, comment=body.comment)
    s.add(fb)
    s.flush()
    bump(s, "load_version")  # an outcome moves the actor's quality: the engine follows
    record(s, p, "feedback", "need", need_id, body.model_dump())
    cache.commit(s)
    return {"id": fb.id, "need_id": need_id, "actor_id": body.actor_id,
            "outcome": body.outcome, "satisfaction": body.satisfaction}


__all__ = ["router"]
