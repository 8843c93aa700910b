"""What part of the lists a caller may see: one rule for every route, export and report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from matcher.kinds import KINDS, budgeted

from .auth import Principal
from .orm import ActorRow, Community, Station

__all__ = ["actor_clause"]


def actor_clause(s: Session, p: Principal) -> ColumnElement[bool] | None:
    """The actors a station sees: those living in, or able to reach, its area.

    ``None`` for callers who see every actor (admin, researcher).
    """
    if p.communities is None:
        return None
    station = s.get(Station, p.station_id) if p.station_id else None
    district = s.scalar(select(Community.district).where(
        Community.station_id == p.station_id).limit(1)) or ""
    clause: Any = or_(ActorRow.community_id.in_(sorted(p.communities)),
                      ActorRow.street == (station.station_id if station else ""),
                      ActorRow.scope.in_(("district", "city")),
                      ActorRow.district == district,
                      ActorRow.kind.in_([k for k in KINDS if budgeted(k)]))
    return clause  # type: ignore[no-any-return]
