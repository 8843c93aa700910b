"""The contract's hard rules, each declared once.

A :class:`Rule` names its violation code, Chinese and English texts, the
line a suggestion shows once it is checked, the kinds it applies to, a
scalar predicate over one pair (:class:`~matcher.constraints.NeedContext`,
:class:`~matcher.constraints.ActorContext`) and a vectorised predicate over
rows of the fitted :class:`~matcher.table.ActorTable`, and the diagnosis it
gives when no actor of a role passes it. Everything that checks, filters,
diagnoses or explains a hard rule reads :data:`RULES`:

- :func:`matcher.constraints.violations` (the scalar reference) and
  :func:`matcher.table.feasible_rows` (the engine's filter);
- the diagnosis of an unserved role (:func:`unserved_reason`), in the order
  of :data:`RULES` — a coordinator's order: anyone in scope, at a matching
  time, admitted by a fund's rules, with budget or capacity left;
- every reason text (:func:`reason_zh`, :func:`unserved_zh`), the API's
  checked list (:func:`checked_zh`) and the explanation's line.

A property test walks the registry and proves scalar == vectorised for every
rule and kind. Adding a rule is one entry here, the column it reads, and tests
(ARCHITECTURE.md, "Add a hard rule").

Examples
--------
>>> [r.code for r in RULES]  # doctest: +NORMALIZE_WHITESPACE
['wrong_kind', 'inactive', 'out_of_scope', 'no_time_overlap', 'fund_category',
 'fund_group', 'fund_budget', 'at_capacity']
>>> reason_zh("fund_budget")
'资金余额不足以覆盖预算'
>>> checked_zh("volunteer")
['角色相符', '资源在用', '服务范围覆盖该社区', '服务时段重合', '尚有承接容量']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .constraints import ALL_RESIDENTS, ActorContext, NeedContext, in_scope, slot_mask
from .kinds import KINDS, restricted
from .records import ROLES

if TYPE_CHECKING:  # the table's module builds on this one
    from .table import ActorTable

__all__ = [
    "RULES",
    "UNSERVED_ZH",
    "NeedColumns",
    "Rule",
    "checked_zh",
    "fund_admits_groups",
    "reason_zh",
    "rules_for",
    "unserved_reason",
    "unserved_zh",
]


@dataclass(frozen=True)
class NeedColumns:
    """A need as the vectorised predicates see it.

    ``category`` is the category's column index (-1 unknown); ``category_mass``
    the need's category probabilities times the inference's certainty, over the
    table's categories, or None to skip the confidence gate (given category,
    the scalar reference); ``groups`` a bool vector over ``TARGET_GROUPS`` (the
    groups that may open a fund restricted to them); ``path_codes`` the area
    codes of the need's city, district, street and community (-2 unknown).
    """

    role: str
    slots: int
    budget: float
    category: int
    groups: np.ndarray
    path_codes: tuple[int, int, int, int]
    category_mass: np.ndarray | None = None
    min_mass: float = 0.0


Scalar = Callable[[NeedContext, ActorContext, str], bool]
Vector = Callable[["ActorTable", np.ndarray, NeedColumns], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """One hard rule: ``scalar`` and ``vector`` say where it *holds*."""

    code: str
    zh: str
    en: str
    checked: str              # the suggestion's "checked" line
    unserved: str             # diagnosis when no actor of a role passes it
    scalar: Scalar
    vector: Vector
    bounds: str = ""          # "capacity" / "budget": a bound on what is left
    applies: Callable[[str], bool] = lambda kind: True
    retrieval: bool = False   # enforced by retrieval (row ranges); filters skip it

    def for_kind(self, kind: str) -> bool:
        """Whether the rule applies to actors of ``kind``."""
        return self.applies(kind) and (not self.bounds or KINDS[kind].bound == self.bounds)


def fund_admits_groups(fund_groups: tuple[str, ...], need_groups: tuple[str, ...]) -> bool:
    """A fund restricted to groups admits a need only if a group is shared.

    A fund open to 全体居民 admits everyone; a need whose groups are unknown
    is not admitted by a restricted fund.

    Examples
    --------
    >>> fund_admits_groups(("老年人",), ("儿童",)), fund_admits_groups((), ())
    (False, True)
    """
    if not fund_groups or ALL_RESIDENTS in fund_groups:
        return True
    return bool(set(fund_groups) & set(need_groups))


# ------------------------------------------------------------ scalar predicates
def _kind_ok(n: NeedContext, a: ActorContext, role: str) -> bool:
    return role in ROLES and a.actor.kind == role


def _scope_ok(n: NeedContext, a: ActorContext, role: str) -> bool:
    return in_scope(n.path, a.home, a.actor.scope)


def _time_ok(n: NeedContext, a: ActorContext, role: str) -> bool:
    nm, am = slot_mask(n.need.time_slots), slot_mask(a.actor.time_slots)
    return not (nm and am and not nm & am)


def _fund_category_ok(n: NeedContext, a: ActorContext, role: str) -> bool:
    if not a.fund_categories:
        return True
    if n.category not in a.fund_categories:
        return False
    if n.category_mass is None:
        return True
    mass = 0.0
    for c, p in n.category_mass.items():  # the vector's order: the table's categories
        if p and c in a.fund_categories:
            mass += p
    return mass >= n.min_mass


# ------------------------------------------------------------ vector predicates
def _v_kind(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    if n.role not in ROLES:
        return np.zeros(len(rows), dtype=bool)
    return np.asarray(t.kind[rows] == ROLES.index(n.role))


def _v_active(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    return np.asarray(t.active[rows]).copy()


def _v_scope(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    reach = t.reach[rows]
    codes = np.asarray(n.path_codes, dtype=np.int64)
    depth = np.clip(reach, 1, 4) - 1
    same = t.home_codes[rows, depth] == codes[depth]
    return np.asarray((reach == 0) | ((reach > 0) & same))


def _v_time(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    s = t.slots[rows]
    if not n.slots:
        return np.ones(len(rows), dtype=bool)
    return np.asarray((s == 0) | ((s & n.slots) != 0))


def _v_fund_category(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    # Column gathers over the few categories in play: a city-wide fund scope has
    # tens of thousands of rows, too many to copy whole matrices for.
    fc = t.fund_categories
    restricted = t.fund_restricted[rows]
    cat_ok = fc[rows, n.category] if n.category >= 0 else np.zeros(len(rows), bool)
    if n.category_mass is not None:
        mass = np.zeros(len(rows))
        for j in np.flatnonzero(n.category_mass):
            mass += fc[rows, j] * n.category_mass[j]
        cat_ok = cat_ok & (mass >= n.min_mass)
    return np.asarray(~restricted | cat_ok)


def _v_fund_group(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    admitted = t.fund_open_to_all[rows].copy()
    for g in np.flatnonzero(n.groups):
        admitted |= t.fund_groups[rows, g]
    return np.asarray(admitted)


def _v_budget(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    return np.asarray(t.budget[rows] >= n.budget)


def _v_capacity(t: ActorTable, rows: np.ndarray, n: NeedColumns) -> np.ndarray:
    return np.asarray(t.load[rows] < t.capacity[rows])


#: In diagnosis order. ``unserved`` codes are explained by :data:`UNSERVED_ZH`.
RULES: tuple[Rule, ...] = (
    Rule("wrong_kind", "角色不符", "the actor is not of the role's kind", "角色相符",
         "no_actor_in_scope", _kind_ok, _v_kind, retrieval=True),
    Rule("inactive", "已停用", "the actor is not active", "资源在用",
         "no_actor_in_scope", lambda n, a, r: a.actor.active, _v_active),
    Rule("out_of_scope", "不在服务范围内", "the need is outside the actor's service area",
         "服务范围覆盖该社区", "no_actor_in_scope", _scope_ok, _v_scope, retrieval=True),
    Rule("no_time_overlap", "服务时段不重合", "the time slots do not overlap", "服务时段重合",
         "no_time_overlap", _time_ok, _v_time),
    Rule("fund_category", "资金不资助该服务类别", "the fund does not fund the need's category",
         "资助类别符合限定", "no_fund_admits", _fund_category_ok, _v_fund_category,
         applies=restricted),
    Rule("fund_group", "资金不资助该服务对象", "the fund does not fund the need's groups",
         "资助人群符合限定", "no_fund_admits",
         lambda n, a, r: fund_admits_groups(a.fund_groups, n.groups), _v_fund_group,
         applies=restricted),
    Rule("fund_budget", "资金余额不足以覆盖预算", "the fund's balance is below the need's budget",
         "余额足以覆盖预算", "funds_exhausted",
         lambda n, a, r: a.actor.budget_yuan >= n.need.budget_yuan, _v_budget, bounds="budget"),
    Rule("at_capacity", "容量已满", "the actor has no capacity left", "尚有承接容量",
         "all_at_capacity", lambda n, a, r: a.load < a.actor.capacity, _v_capacity,
         bounds="capacity"),
)

#: Why nobody of a role can take a need, by diagnosis code.
UNSERVED_ZH = {
    "no_actor_in_scope": "服务范围内没有可用的资源",
    "no_time_overlap": "服务时段都不重合",
    "no_fund_admits": "没有资金的资助范围包含该需求",
    "funds_exhausted": "可资助的资金余额不足或已用完",
    "all_at_capacity": "可承接的资源都已满员",
}
_BY_CODE = {r.code: r for r in RULES}


def rules_for(kind: str, *, bounds: bool = True, retrieval: bool = True) -> list[Rule]:
    """The rules that apply to ``kind``, in diagnosis order; ``bounds=False``
    leaves out capacity and budget, ``retrieval=False`` those row ranges enforce."""
    return [r for r in RULES if (kind not in KINDS or r.for_kind(kind))
            and (bounds or not r.bounds) and (retrieval or not r.retrieval)]


def reason_zh(code: str) -> str:
    """Chinese text of a violation code (the code itself if unknown)."""
    rule = _BY_CODE.get(code)
    return rule.zh if rule else code


def unserved_zh(code: str) -> str:
    """Chinese text of a diagnosis code, why nobody of a role can take a need."""
    return UNSERVED_ZH.get(code, code)


def checked_zh(kind: str) -> list[str]:
    """What was checked for a suggestion of ``kind``: one line per rule."""
    return [r.checked for r in rules_for(kind)]


def unserved_reason(table: ActorTable, rows: np.ndarray, need: NeedColumns,
                    rules: Iterable[Rule] | None = None) -> str:
    """The diagnosis of the first rule, in order, that leaves ``rows`` empty.

    ``rows`` are the candidates before any rule (e.g. the role's row ranges);
    when every rule leaves someone, the last rule's diagnosis (the bound that
    filled up since, or "" when there is no rule).
    """
    last = ""
    for rule in rules if rules is not None else rules_for(need.role):
        rows = rows[rule.vector(table, rows, need)]
        last = rule.unserved
        if len(rows) == 0:
            return rule.unserved
    return last
