"""Hard constraints between a need and an actor, with reason codes.

These are the rules of the data contract: scope, time slots, active, fund
category/group restrictions and budget, and capacity already used up. The
scalar :func:`violations` is the reference every fast path is checked
against (the engine's vectorised filter in ``table.py``, the evaluator, the
property tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from .geo import ANYWHERE, area_key
from .records import ROLES, SCOPES, TIME_SLOTS, Actor, Need

__all__ = [
    "ALL_RESIDENTS",
    "REASONS_ZH",
    "ActorContext",
    "NeedContext",
    "in_scope",
    "slot_mask",
    "violations",
]

ALL_RESIDENTS = "全体居民"
REASONS_ZH = {
    "wrong_kind": "角色不符",
    "inactive": "已停用",
    "out_of_scope": "不在服务范围内",
    "no_time_overlap": "服务时段不重合",
    "at_capacity": "容量已满",
    "fund_category": "资金不资助该服务类别",
    "fund_group": "资金不资助该服务对象",
    "fund_budget": "资金余额不足以覆盖预算",
}


def slot_mask(slots: tuple[str, ...]) -> int:
    """Bit mask of time slots; 0 means any time.

    Examples
    --------
    >>> slot_mask(("weekday_day", "weekend"))
    5
    >>> slot_mask(())
    0
    """
    return sum(1 << TIME_SLOTS.index(s) for s in set(slots))


def in_scope(need_path: tuple[str, ...], home: tuple[str, ...] | None, scope: str) -> bool:
    """Whether a need at ``need_path`` lies in the area an actor serves.

    Examples
    --------
    >>> p = ("杭州市", "西湖区", "翠苑街道", "C001")
    >>> in_scope(p, ("杭州市", "西湖区", "翠苑街道", "C002"), "street")
    True
    >>> in_scope(p, ("杭州市", "西湖区", "翠苑街道", "C002"), "community")
    False
    """
    if home is None:
        return False
    if home == (ANYWHERE,):
        return scope == "city"
    depth = len(SCOPES) - SCOPES.index(scope)
    if len(home) < depth:
        return False
    return area_key(need_path, scope) == area_key(home, scope)


@dataclass(frozen=True)
class NeedContext:
    """A need with what the constraints look at: where, what, who for.

    ``category`` and ``groups`` are the effective values: the given ones, or
    the engine's inferred ones when the CSV left them blank.
    """

    need: Need
    path: tuple[str, str, str, str]
    category: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ActorContext:
    """An actor with its resolved home, current load and fund restrictions.

    ``fund_categories``/``fund_groups`` are empty when the fund is
    unrestricted.
    """

    actor: Actor
    home: tuple[str, ...] | None
    load: int = 0
    fund_categories: tuple[str, ...] = ()
    fund_groups: tuple[str, ...] = ()


def fund_admits_groups(fund_groups: tuple[str, ...], need_groups: tuple[str, ...]) -> bool:
    """A fund restricted to groups admits a need only if a group is shared.

    A fund open to 全体居民 admits everyone; a need whose groups are unknown
    is not admitted by a restricted fund.
    """
    if not fund_groups or ALL_RESIDENTS in fund_groups:
        return True
    return bool(set(fund_groups) & set(need_groups))


def violations(need: NeedContext, actor: ActorContext, role: str) -> list[str]:
    """Reason codes of every hard constraint the pair breaks (empty: feasible).

    Examples
    --------
    >>> n = NeedContext(Need("N1", "C1", "孩子放学没人接", time_slots=("weekend",)),
    ...                 ("杭州市", "西湖区", "翠苑街道", "C1"), "child_welfare", ("儿童",))
    >>> f = Actor("F1", "fund", "银龄基金", "资助老年助餐", budget_yuan=1000.0)
    >>> violations(n, ActorContext(f, ("杭州市",), fund_groups=("老年人",)), "fund")
    ['fund_group']
    >>> v = Actor("V1", "volunteer", "小李", "周末接送孩子", scope="street",
    ...           time_slots=("weekday_evening",), capacity=1)
    >>> violations(n, ActorContext(v, ("杭州市", "西湖区", "翠苑街道")), "volunteer")
    ['no_time_overlap']
    """
    a = actor.actor
    out: list[str] = []
    if role not in ROLES or a.kind != role:
        out.append("wrong_kind")
    if not a.active:
        out.append("inactive")
    if not in_scope(need.path, actor.home, a.scope):
        out.append("out_of_scope")
    nm, am = slot_mask(need.need.time_slots), slot_mask(a.time_slots)
    if nm and am and not nm & am:
        out.append("no_time_overlap")
    if a.kind == "fund":
        if actor.fund_categories and need.category not in actor.fund_categories:
            out.append("fund_category")
        if not fund_admits_groups(actor.fund_groups, need.groups):
            out.append("fund_group")
        if a.budget_yuan < need.need.budget_yuan:
            out.append("fund_budget")
    elif actor.load >= a.capacity:
        out.append("at_capacity")
    return out
