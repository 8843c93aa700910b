"""Diagnosis: why a role of a need is unserved, and which funds wait for staff to
confirm the need's category.

Both walk the rule registry (:mod:`matcher.rules`) over the rows in the
need's scope, so their answers agree with the engine's filter by construction.
"""

from __future__ import annotations

from .index import EngineIndex
from .infer import Inference
from .kinds import restricted
from .records import Need
from .rules import unserved_reason
from .table import feasible_rows

__all__ = ["unconfirmed_funds", "unserved"]


def unserved(ix: EngineIndex, need: Need, inf: Inference, role: str) -> str:
    """Why no actor of ``role`` can take ``need`` (a diagnosis code).

    The first rule of :data:`matcher.rules.RULES`, in their order (a
    coordinator's: anyone in scope at all, at a matching time, admitted by a
    fund's rules, with budget or capacity left), that leaves nobody.
    """
    rows = ix.in_scope(need.community_id, role)
    return unserved_reason(ix.table, rows, ix.need_columns(need, inf, role))


def unconfirmed_funds(ix: EngineIndex, need: Need, inf: Inference
                      ) -> list[tuple[str, str, float]]:
    """Funds withheld only because the need's category is inferred, not confirmed.

    A fund restricted to the inferred category that passes every other check
    (scope, groups, budget) is not suggested while the inference is unsure
    (below ``fund_min_confidence``). Returned as ``(fund id, the inferred
    category, its confidence)`` so staff can confirm the category and get the
    fund. Empty when the category was given.
    """
    if need.category:
        return []
    t = ix.table
    out = []
    for role in need.roles:
        if not restricted(role):
            continue
        rows = ix.in_scope(need.community_id, role)
        rows = rows[t.active[rows]]
        held = (feasible_rows(t, rows, ix.need_columns(need, inf, role, min_mass=0.0))
                & ~feasible_rows(t, rows, ix.need_columns(need, inf, role)))
        out += [(t.ids[r], inf.category, inf.category_confidence) for r in rows[held]]
    return sorted(out)
