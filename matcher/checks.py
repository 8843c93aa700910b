"""One invariant checker for every assignment, whichever solver made it.

:func:`validate_assignment` re-derives every hard rule from the dataset and
the reference constraint rules: capacity, fund budgets, scope, time slots,
active, fund restrictions, one actor per slot (and no more actors than a slot
wants), pins kept and forbids respected. It returns the problems found (empty
when the plan is valid); tests and ``wushe match`` both call it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from .kinds import budgeted
from .protocols import FittedEngine

__all__ = ["validate_assignment"]


def validate_assignment(m: FittedEngine, rows: Iterable[Any], *,
                        pins: Iterable[tuple[str, str, str]] = (),
                        forbids: Iterable[tuple[str, str, str]] = (),
                        infeasible_pins: Iterable[dict[str, Any]] = ()) -> list[str]:
    """Problems with an assignment plan (``AssignmentRow``-like rows) for matcher ``m``."""
    ds = m.dataset_
    t = m.table_
    rows = list(rows)
    problems: list[str] = []
    seen: Counter[tuple[str, str, str]] = Counter((r.need_id, r.role, r.actor_id) for r in rows)
    for key, n in seen.items():
        if n > 1:
            problems.append(f"duplicate: {key} assigned {n} times")
    per_slot: Counter[tuple[str, str]] = Counter((r.need_id, r.role) for r in rows)
    new_load: Counter[str] = Counter()
    spent: defaultdict[str, float] = defaultdict(float)
    for r in rows:
        need = ds.needs.get(r.need_id)
        if need is None or r.actor_id not in ds.actors:
            problems.append(f"unknown id in {r}")
            continue
        if need.status != "open":
            continue  # kept as it was: accepted or in service
        want = need.volunteers_needed if r.role == "volunteer" else 1
        if r.role not in need.roles or per_slot[(r.need_id, r.role)] > want:
            problems.append(f"too many {r.role} for {r.need_id}")
        codes = [c for c in m.pair_violations(r.need_id, r.actor_id, r.role)
                 if c not in ("at_capacity", "fund_budget")]
        if codes:
            problems.append(f"{r.need_id}/{r.role}/{r.actor_id} breaks {codes}")
        if budgeted(r.role):
            spent[r.actor_id] += need.budget_yuan
        else:
            new_load[r.actor_id] += 1
    for aid, n in new_load.items():
        row = t.position[aid]
        if int(t.load[row]) + n > int(t.capacity[row]):
            problems.append(f"capacity: {aid} holds {int(t.load[row]) + n} > {int(t.capacity[row])}")
    for aid, total in spent.items():
        budget = float(t.budget[t.position[aid]])
        if total > budget + 1e-6:
            problems.append(f"budget: {aid} allocates {total:.2f} > {budget:.2f}")
    refused = {(p["need_id"], p["role"], p["actor_id"]) for p in infeasible_pins}
    for pin in pins:
        if pin not in seen and pin not in refused:
            problems.append(f"pin dropped silently: {pin}")
    for nid, role, aid in forbids:
        if any(r.need_id == nid and r.actor_id == aid and (not role or r.role == role)
               for r in rows if ds.needs.get(r.need_id) and ds.needs[r.need_id].status == "open"):
            problems.append(f"forbidden pair used: {(nid, role, aid)}")
    return problems
