"""Between database rows and the engine's records.

The engine works on a :class:`matcher.records.Dataset`; the service keeps
the same lists in the database. These functions translate, and compute the
actors' current load and funds' remaining budget from the decisions taken.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.kinds import budgeted
from matcher.records import Actor, Community, Dataset, Feedback, Need

from .orm import HOLDING, ActorRow, Assignment, NeedRow
from .orm import Community as CommunityRow
from .orm import Feedback as FeedbackRow

__all__ = [
    "actor_record",
    "community_record",
    "dataset_from_db",
    "feedback_from_db",
    "join",
    "need_record",
    "split",
]


def split(cell: str) -> tuple[str, ...]:
    return tuple(p for p in cell.split(";") if p)


def join(items: Iterable[str]) -> str:
    return ";".join(items)


def community_record(r: CommunityRow) -> Community:
    return Community(r.community_id, r.name, r.street, r.district, r.city, r.kind, r.lat, r.lon,
                     r.population)


def need_record(r: NeedRow) -> Need:
    return Need(need_id=r.need_id, community_id=r.community_id, text=r.text,
                category=r.category, target_groups=split(r.target_groups), urgency=r.urgency,
                beneficiaries=r.beneficiaries, roles=split(r.roles),
                volunteers_needed=r.volunteers_needed, budget_yuan=r.budget_yuan,
                time_slots=split(r.time_slots), created_at=r.created_at, status=r.status,
                lat=r.lat, lon=r.lon, urgency_given=r.urgency_given)


def actor_record(r: ActorRow, budget_yuan: float | None = None) -> Actor:
    return Actor(actor_id=r.actor_id, kind=r.kind, name=r.name, text=r.text,
                 community_id=r.community_id, street=r.street, district=r.district, city=r.city,
                 scope=r.scope, capacity=r.capacity,
                 budget_yuan=r.budget_yuan if budget_yuan is None else budget_yuan,
                 categories=split(r.categories), target_groups=split(r.target_groups),
                 certification=r.certification, time_slots=split(r.time_slots), lat=r.lat,
                 lon=r.lon, active=r.active)


def holdings(s: Session, *, open_needs_too: bool = True) -> tuple[dict[str, int],
                                                                  dict[str, float]]:
    """Actors' held needs and funds' committed yuan, from the decisions taken.

    Rows imported with a dataset count toward load only: the contract's
    ``budget_yuan`` of a fund is already what is still available.
    """
    q = (select(Assignment.actor_id, Assignment.role, Assignment.source, NeedRow.budget_yuan,
                NeedRow.status)
         .join(NeedRow, NeedRow.need_id == Assignment.need_id)
         .where(Assignment.status.in_(HOLDING)))
    load: dict[str, int] = defaultdict(int)
    spent: dict[str, float] = defaultdict(float)
    for aid, role, source, budget, status in s.execute(q):
        if not open_needs_too and status == "open":
            continue
        load[aid] += 1
        if budgeted(role) and source != "import":
            spent[aid] += float(budget)
    return dict(load), dict(spent)


def dataset_from_db(s: Session, *, open_needs_hold: bool = True,
                    needs: bool = True) -> Dataset:
    """The whole database as an engine dataset.

    ``open_needs_hold=False`` leaves the accepted rows of still-open needs out
    of the load: the re-match pins them instead, and must not count them twice.
    """
    communities = {r.community_id: community_record(r)
                   for r in s.scalars(select(CommunityRow).order_by(CommunityRow.community_id))}
    need_recs = ({r.need_id: need_record(r)
                  for r in s.scalars(select(NeedRow).order_by(NeedRow.need_id))}
                 if needs else {})
    load, spent = holdings(s, open_needs_too=open_needs_hold)
    actors = {}
    for r in s.scalars(select(ActorRow).order_by(ActorRow.actor_id)):
        budget = max(r.budget_yuan - spent.get(r.actor_id, 0.0), 0.0) if budgeted(r.kind) else None
        actors[r.actor_id] = actor_record(r, budget)
    return Dataset(communities=communities, needs=need_recs, actors=actors, load=load,
                   feedback=feedback_from_db(s), source="database")


def feedback_from_db(s: Session) -> tuple[Feedback, ...]:
    """Every recorded outcome (imported, decided or reported), oldest first: the engine
    learns actors' quality and staff's rejections from them, as from ``feedback.csv``."""
    q = select(FeedbackRow).order_by(FeedbackRow.at, FeedbackRow.id)
    return tuple(Feedback(f.need_id, f.actor_id, f.outcome, f.satisfaction,
                          f.at.date().isoformat() if f.at else "") for f in s.scalars(q))
