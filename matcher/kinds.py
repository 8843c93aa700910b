"""The actor kinds, each declared once.

A kind says what bounds how much it can take (``capacity``: needs at a time;
``budget``: yuan), which solver family the nightly re-match gives it (``flow``:
min-cost flow over unit capacities; ``cpsat``: CP-SAT over budgets), its
Chinese name, the contract's defaults for a blank ``scope`` / ``capacity``
cell, whether its ``categories`` / ``target_groups`` cells are restrictions,
and its certification ladder (the quality prior of each level, and of
no certification). Everything else that depends on a kind reads it from
:data:`KINDS`; adding a kind is an entry here, its records and its tests
(ARCHITECTURE.md, "Add an actor kind").

Examples
--------
>>> KINDS["fund"].bound, KINDS["volunteer"].solver
('budget', 'flow')
>>> [k.zh for k in KINDS.values()]
['社会组织', '社会工作者', '社区志愿者', '社会慈善资源']
>>> budgeted("fund"), budgeted("volunteer"), restricted("fund")
(True, False, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["KINDS", "Kind", "budgeted", "restricted"]


@dataclass(frozen=True)
class Kind:
    """One actor kind (see the module docstring)."""

    name: str
    zh: str
    bound: str                 # "capacity" or "budget"
    solver: str                # "flow" or "cpsat"
    default_scope: str
    default_capacity: int
    certifications: dict[str, float] = field(default_factory=dict)
    uncertified: float = 0.5   # quality prior without a certification
    restricted: bool = False   # its categories / target_groups cells are restrictions


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("organization", "社会组织", "capacity", "flow", "district", 10,
         {"1A": 0.5, "2A": 0.6, "3A": 0.75, "4A": 0.9, "5A": 1.0}, 0.4),
    Kind("social_worker", "社会工作者", "capacity", "flow", "street", 5,
         {"助理社会工作师": 0.6, "社会工作师": 0.8, "高级社会工作师": 1.0}, 0.45),
    Kind("volunteer", "社区志愿者", "capacity", "flow", "street", 1, {}, 0.6),
    Kind("fund", "社会慈善资源", "budget", "cpsat", "city", 0, {}, 0.6, restricted=True),
)}


def budgeted(kind: str) -> bool:
    """Whether a kind is bounded by a budget in yuan rather than a capacity."""
    k = KINDS.get(kind)
    return k is not None and k.bound == "budget"


def restricted(kind: str) -> bool:
    """Whether a kind's ``categories`` / ``target_groups`` cells restrict whom it may
    serve (a fund's), rather than describe what it offers."""
    k = KINDS.get(kind)
    return k is not None and k.restricted
