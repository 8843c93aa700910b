"""Frozen records and the contract's vocabularies.

The column names and vocabularies here are those of
``shared/spec/data-format.md``; they are the engine's interchange contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .kinds import KINDS

__all__ = [
    "ACTOR_KINDS",
    "CERTIFICATIONS",
    "DEFAULT_CAPACITY",
    "DEFAULT_SCOPE",
    "KIND_ZH",
    "NEED_STATUSES",
    "ROLES",
    "SCOPES",
    "TARGET_GROUPS",
    "TIME_SLOTS",
    "TIME_SLOT_ZH",
    "Actor",
    "Community",
    "Dataset",
    "Feedback",
    "Need",
]

ROLES: tuple[str, ...] = tuple(KINDS)
ACTOR_KINDS = ROLES
KIND_ZH = {k.name: k.zh for k in KINDS.values()}
SCOPES: tuple[str, ...] = ("community", "street", "district", "city")
DEFAULT_SCOPE = {k.name: k.default_scope for k in KINDS.values()}
DEFAULT_CAPACITY = {k.name: k.default_capacity for k in KINDS.values()}
TIME_SLOTS: tuple[str, ...] = ("weekday_day", "weekday_evening", "weekend")
TIME_SLOT_ZH = {"weekday_day": "工作日白天", "weekday_evening": "工作日晚间", "weekend": "周末"}
NEED_STATUSES: tuple[str, ...] = ("open", "assigned", "in_progress", "done", "cancelled")
TARGET_GROUPS: tuple[str, ...] = (
    "老年人",
    "儿童",
    "青少年",
    "残疾人",
    "困难群众",
    "妇女",
    "新市民",
    "退役军人",
    "全体居民",
)
CERTIFICATIONS = {k.name: tuple(k.certifications) for k in KINDS.values()
                  if k.certifications}


@dataclass(frozen=True)
class Community:
    """A 社区 (or 村): the platform a need belongs to."""

    community_id: str
    name: str
    street: str
    district: str
    city: str = ""
    kind: str = "urban"
    lat: float | None = None
    lon: float | None = None
    population: int | None = None


@dataclass(frozen=True)
class Need:
    """One entry of a 需求清单.

    ``category`` and ``target_groups`` are what the user gave; the engine's
    inferred values live in the fitted ``Matcher``, never here.
    """

    need_id: str
    community_id: str
    text: str
    category: str = ""
    target_groups: tuple[str, ...] = ()
    urgency: int = 2
    beneficiaries: int = 1
    roles: tuple[str, ...] = ROLES
    volunteers_needed: int = -1  # -1: the contract's default (1 if volunteer is wanted)
    budget_yuan: float = 0.0
    time_slots: tuple[str, ...] = ()
    created_at: str = ""
    status: str = "open"
    lat: float | None = None
    lon: float | None = None
    #: False when the urgency cell was blank: the engine infers it from the text
    urgency_given: bool = True

    def __post_init__(self) -> None:
        if self.volunteers_needed < 0:
            object.__setattr__(self, "volunteers_needed", int("volunteer" in self.roles))


@dataclass(frozen=True)
class Actor:
    """One entry of a 资源清单: an organization, social worker, volunteer or fund."""

    actor_id: str
    kind: str
    name: str
    text: str
    community_id: str = ""
    street: str = ""
    district: str = ""
    city: str = ""
    scope: str = ""  # "": the kind's default scope
    capacity: int = -1  # -1: the kind's default capacity
    budget_yuan: float = 0.0
    categories: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    certification: str = ""
    time_slots: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    active: bool = True

    def __post_init__(self) -> None:
        if not self.scope:
            object.__setattr__(self, "scope", DEFAULT_SCOPE.get(self.kind, "street"))
        if self.capacity < 0:
            object.__setattr__(self, "capacity", DEFAULT_CAPACITY.get(self.kind, 1))


@dataclass(frozen=True)
class Feedback:
    """An outcome of a past pairing (``feedback.csv``)."""

    need_id: str
    actor_id: str
    outcome: str
    satisfaction: int | None = None
    at: str = ""


@dataclass(frozen=True)
class Dataset:
    """A whole dataset folder, validated, with defaults applied.

    ``load`` maps actor id to the number of active needs it already holds
    (from an ``assignments.csv`` in the folder, when there is one).
    ``digest`` is a SHA-256 over the files read, used to tie models to data.
    """

    communities: dict[str, Community]
    needs: dict[str, Need]
    actors: dict[str, Actor]
    feedback: tuple[Feedback, ...] = ()
    load: dict[str, int] = field(default_factory=dict)
    digest: str = ""
    source: str = ""
