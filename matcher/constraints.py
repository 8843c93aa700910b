"""What the hard rules look at in one pair, and the scalar reference check.

The rules themselves (scope, time slots, active, fund category/group
restrictions and budget, capacity used up) are declared once in
:mod:`matcher.rules`; :func:`violations` walks them one pair at a time and is
the reference every fast path is checked against (the engine's vectorised
filter, the evaluator, the property tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from .geo import ANYWHERE, area_key
from .records import SCOPES, TIME_SLOTS, Actor, Need

__all__ = [
    "ALL_RESIDENTS",
    "ActorContext",
    "NeedContext",
    "in_scope",
    "slot_mask",
    "violations",
]

ALL_RESIDENTS = "全体居民"


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
    the engine's inferred ones when the CSV left them blank. ``category_mass``
    (category → probability × certainty, in the table's category order) turns
    on the engine's confidence gate: a fund restricted by category then needs
    at least ``min_mass`` on the categories it admits.
    """

    need: Need
    path: tuple[str, str, str, str]
    category: str
    groups: tuple[str, ...]
    category_mass: dict[str, float] | None = None
    min_mass: float = 0.0


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


def violations(need: NeedContext, actor: ActorContext, role: str) -> list[str]:
    """Reason codes of every hard rule the pair breaks (empty: feasible), in
    the registry's order (:data:`matcher.rules.RULES`).

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
    from .rules import rules_for  # the registry builds on the contexts above

    return [r.code for r in rules_for(actor.actor.kind) if not r.scalar(need, actor, role)]
