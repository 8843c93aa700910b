"""Decisions on suggestions and the assignment lifecycle.

suggested → accepted / rejected (with reason) → in_service → completed /
failed. Accepting pins the pair for the next re-match; rejecting forbids it.
An override accepts another actor for the slot. Every decision is audited,
checked against the hard constraints, and moves the need's status.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher import Matcher
from matcher.records import ROLES
from matcher.rules import reason_zh

from .audit import record
from .auth import Principal
from .convert import need_record, split
from .engine import bump
from .errors import ApiError
from .orm import HOLDING, ActorRow, Assignment, Feedback, NeedRow, utcnow

__all__ = ["ACTIONS", "decide", "refresh_need_status"]

ACTIONS = ("accept", "reject", "override", "start", "complete", "fail", "withdraw")
_FROM = {
    "accept": ("suggested", "rejected"),
    "reject": ("suggested", "accepted"),
    "start": ("accepted",),
    "complete": ("in_service", "accepted"),
    "fail": ("in_service", "accepted"),
    "withdraw": ("accepted", "in_service"),
}
_TO = {"accept": "accepted", "reject": "rejected", "start": "in_service",
       "complete": "completed", "fail": "failed", "withdraw": "rejected"}
def need_for(s: Session, p: Principal, need_id: str, *, write: bool = False) -> NeedRow:
    """The need if ``p`` may see it; 404 otherwise (never another station's data)."""
    need = s.get(NeedRow, need_id)
    if need is None or not p.sees(need.community_id):
        raise ApiError(404, "need_not_found", f"需求 {need_id} 不存在", f"need {need_id!r} not found")
    if write and not p.can_write:
        raise ApiError(403, "read_only", "当前密钥只读，不能修改", "this key is read-only")
    return need


def refresh_need_status(s: Session, need: NeedRow) -> None:
    """open ⇄ assigned ⇄ in_progress from the held assignments; done/cancelled stay."""
    if need.status in ("done", "cancelled"):
        return
    rows = s.execute(select(Assignment.role, Assignment.status)
                     .where(Assignment.need_id == need.need_id,
                            Assignment.status.in_(HOLDING))).all()
    held: dict[str, int] = {}
    for role, _ in rows:
        held[role] = held.get(role, 0) + 1
    wanted = {r: (need.volunteers_needed if r == "volunteer" else 1) for r in split(need.roles)}
    full = all(held.get(r, 0) >= n for r, n in wanted.items() if n > 0)
    if any(st == "in_service" for _, st in rows):
        need.status = "in_progress"
    elif full and rows:
        need.status = "assigned"
    else:
        need.status = "open"


def decide(s: Session, m: Matcher, p: Principal, need_id: str, action: str, *,
           role: str = "", actor_id: str = "", assignment_id: int | None = None,
           reason: str = "", satisfaction: int | None = None,
           model_version: str = "") -> dict[str, Any]:
    """Apply one decision and return the assignment row as a dict."""
    need = need_for(s, p, need_id, write=True)
    if action not in ACTIONS:
        raise ApiError(422, "bad_action", f"未知的操作：{action}", f"unknown action {action!r}")
    if action in ("reject", "withdraw", "fail") and not reason.strip():
        raise ApiError(422, "reason_required", "拒绝或失败时必须填写原因",
                       "a reason is required to reject or to record a failure")
    if need.status in ("done", "cancelled"):
        raise ApiError(409, "need_closed", "需求已关闭，不能再做决定", "the need is closed")
    row: Assignment | None
    if assignment_id is not None:
        row = s.get(Assignment, assignment_id)
        if row is None or row.need_id != need_id:
            raise ApiError(404, "assignment_not_found", f"安排 {assignment_id} 不存在",
                           f"assignment {assignment_id} not found")
        role, actor_id = row.role, row.actor_id
    else:
        if role not in ROLES:
            raise ApiError(422, "bad_role", f"未知的角色：{role}", f"unknown role {role!r}")
        if s.get(ActorRow, actor_id) is None:
            raise ApiError(404, "actor_not_found", f"资源 {actor_id} 不存在",
                           f"actor {actor_id!r} not found")
        row = s.scalar(select(Assignment).where(
            Assignment.need_id == need_id, Assignment.role == role,
            Assignment.actor_id == actor_id, Assignment.status != "superseded")
            .order_by(Assignment.id.desc()))
    if action in ("accept", "override"):
        _check_pair(s, m, need, role, actor_id, row)
    if action == "override" or (action in ("accept", "reject") and row is None):
        if action != "reject" and role not in split(need.roles):
            raise ApiError(409, "role_not_wanted", "该需求不需要这个角色", "the need does not want this role")
        row = Assignment(need_id=need_id, role=role, actor_id=actor_id, status="suggested",
                         source="manual", score=0.0)
        s.add(row)
        action = "accept" if action == "override" else action
    assert row is not None
    if row.status not in _FROM[action]:
        raise ApiError(409, "bad_transition", f"状态为“{row.status}”的安排不能执行“{action}”",
                       f"cannot {action} an assignment that is {row.status}")
    before = row.status
    row.status, row.reason, row.decided_by, row.updated_at = _TO[action], reason, p.who, utcnow()
    if action in ("complete", "fail"):
        s.add(Feedback(need_id=need_id, actor_id=actor_id,
                       outcome="completed" if action == "complete" else "failed",
                       satisfaction=satisfaction, comment=reason))
    elif action == "reject":
        s.add(Feedback(need_id=need_id, actor_id=actor_id, outcome="rejected", comment=reason))
    s.flush()
    refresh_need_status(s, need)
    bump(s, "load_version")
    record(s, p, f"decision.{action}", "assignment", str(row.id),
           {"need_id": need_id, "role": role, "actor_id": actor_id, "from": before,
            "to": row.status, "reason": reason}, model_version)
    return {"id": row.id, "need_id": need_id, "role": role, "actor_id": actor_id,
            "status": row.status, "reason": reason, "need_status": need.status}


def _check_pair(s: Session, m: Matcher, need: NeedRow, role: str, actor_id: str,
                row: Assignment | None) -> None:
    """Refuse a pair that breaks a hard constraint (capacity counted without this row)."""
    codes = [c for c in m.pair_violations(need_record(need), actor_id, role)
             if not (c == "at_capacity" and row is not None and row.status in HOLDING)]
    wanted = need.volunteers_needed if role == "volunteer" else 1
    held = s.scalars(select(Assignment.actor_id).where(
        Assignment.need_id == need.need_id, Assignment.role == role,
        Assignment.status.in_(HOLDING))).all()
    if actor_id not in held and len(held) >= wanted:
        raise ApiError(409, "slot_full", "该角色已有人承接（请先撤回原安排）",
                       "this role is already filled (withdraw the current assignment first)")
    if codes:
        zh = "、".join(reason_zh(c) for c in codes)
        raise ApiError(409, "constraint_violated", f"不能安排：{zh}",
                       f"the pair breaks hard constraints: {', '.join(codes)}")
