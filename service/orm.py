"""SQLAlchemy 2 models: the station's lists, runs, decisions and the audit log.

Times are stored in UTC. List fields are stored as ``;``-joined text, the
dataset contract's canonical form, so exports are a straight copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActorRow",
    "ApiKey",
    "Assignment",
    "AuditEntry",
    "Base",
    "Community",
    "Feedback",
    "MatchRun",
    "Meta",
    "NeedRow",
    "RunLock",
    "Station",
    "utcnow",
]

#: statuses that hold an actor's capacity (and pin the pair in the next re-match)
HOLDING = ("accepted", "in_service")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Station(Base):
    """A street/township social-worker station (社工站); sees its communities only."""

    __tablename__ = "stations"
    station_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(20))
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.station_id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Community(Base):
    __tablename__ = "communities"
    community_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="urban")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    population: Mapped[int | None] = mapped_column(Integer)
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.station_id"), index=True)


class NeedRow(Base):
    __tablename__ = "needs"
    need_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: the station's own number for the need (本站编号), from its import; "" if none
    ref: Mapped[str] = mapped_column(String(100), default="", server_default="", index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.community_id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50), default="")
    target_groups: Mapped[str] = mapped_column(String(200), default="")
    #: the level in use: given by staff, or inferred from the text (``urgency_given``)
    urgency: Mapped[int] = mapped_column(Integer, default=2)
    urgency_given: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    beneficiaries: Mapped[int] = mapped_column(Integer, default=1)
    roles: Mapped[str] = mapped_column(String(100), default="organization;social_worker;volunteer;fund")
    volunteers_needed: Mapped[int] = mapped_column(Integer, default=1)
    budget_yuan: Mapped[float] = mapped_column(Float, default=0.0)
    time_slots: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    id_number: Mapped[str] = mapped_column(String(40), default="")
    inferred_category: Mapped[str] = mapped_column(String(50), default="")
    inferred_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    inferred_groups: Mapped[str] = mapped_column(String(200), default="")
    inferred_urgency_confidence: Mapped[float] = mapped_column(Float, default=0.0,
                                                               server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActorRow(Base):
    __tablename__ = "actors"
    actor_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    community_id: Mapped[str] = mapped_column(String(100), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[str] = mapped_column(String(20), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=-1)
    budget_yuan: Mapped[float] = mapped_column(Float, default=0.0)
    categories: Mapped[str] = mapped_column(String(300), default="")
    target_groups: Mapped[str] = mapped_column(String(200), default="")
    certification: Mapped[str] = mapped_column(String(50), default="")
    time_slots: Mapped[str] = mapped_column(String(100), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MatchRun(Base):
    __tablename__ = "match_runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    triggered_by: Mapped[str] = mapped_column(String(100), default="")
    model_version: Mapped[str] = mapped_column(String(40), default="")
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    unassigned: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")


class Assignment(Base):
    """One actor in one role for one need, with its lifecycle.

    suggested → accepted / rejected (with reason) → in_service → completed /
    failed; a new run marks the previous run's undecided rows superseded.
    """

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("needs.need_id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.actor_id"), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("match_runs.run_id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="suggested", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="run")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(100), default="")


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("needs.need_id"), index=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.actor_id"))
    outcome: Mapped[str] = mapped_column(String(20))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Append-only: who did what, when, with which model version."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    key_id: Mapped[int | None] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    station_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30), default="")
    object_id: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str] = mapped_column(String(40), default="")


class RunLock(Base):
    """At most one row: the match run holding the lock."""

    __tablename__ = "run_lock"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_assignments_slot", Assignment.need_id, Assignment.role, Assignment.status)
