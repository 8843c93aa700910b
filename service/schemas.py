"""Pydantic models of the API (only the service has them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActorIn",
    "ActorOut",
    "ActorPatch",
    "CloseIn",
    "DecisionIn",
    "DecisionOut",
    "ErrorOut",
    "FeedbackIn",
    "Health",
    "ImportOut",
    "InferIn",
    "InferOut",
    "NeedIn",
    "NeedOut",
    "NeedPatch",
    "Page",
    "RunOut",
    "SuggestionOut",
    "SuggestionsOut",
    "error_responses",
]

Role = Literal["organization", "social_worker", "volunteer", "fund"]
Slot = Literal["weekday_day", "weekday_evening", "weekend"]
Group = Literal["老年人", "儿童", "青少年", "残疾人", "困难群众", "妇女", "新市民", "退役军人",
                "全体居民"]
#: at least one non-space character (values are stripped before checking)
_SOME = r"\S"

_ALL_ROLES: tuple[Role, ...] = ("organization", "social_worker", "volunteer", "fund")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NeedIn(_In):
    need_id: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[\w\-.]+$")
    community_id: str = Field(min_length=1, pattern=_SOME, max_length=100)
    text: str = Field(min_length=1, pattern=_SOME, max_length=2000)
    category: str = Field("", max_length=50)
    target_groups: list[Group] = Field(default_factory=list, max_length=9)
    urgency: int = Field(2, ge=1, le=4)
    beneficiaries: int = Field(1, ge=1, le=100000)
    roles: list[Role] = Field(default_factory=lambda: list(_ALL_ROLES), min_length=1,
                              max_length=4)
    volunteers_needed: int | None = Field(None, ge=0, le=1000)
    budget_yuan: float = Field(0.0, ge=0, le=1e10)
    time_slots: list[Slot] = Field(default_factory=list, max_length=3)
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=40)
    id_number: str = Field("", max_length=40)


class NeedPatch(_In):
    text: str | None = Field(None, min_length=1, pattern=_SOME, max_length=2000)
    category: str | None = Field(None, max_length=50)
    target_groups: list[Group] | None = Field(None, max_length=9)
    urgency: int | None = Field(None, ge=1, le=4)
    beneficiaries: int | None = Field(None, ge=1, le=100000)
    roles: list[Role] | None = Field(None, min_length=1, max_length=4)
    volunteers_needed: int | None = Field(None, ge=0, le=1000)
    budget_yuan: float | None = Field(None, ge=0, le=1e10)
    time_slots: list[Slot] | None = Field(None, max_length=3)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=40)


class CloseIn(_In):
    status: Literal["done", "cancelled"]
    reason: str = Field("", max_length=500)


class InferIn(_In):
    text: str = Field(min_length=1, pattern=_SOME, max_length=2000)


class InferOut(BaseModel):
    category: str
    category_zh: str
    confidence: float
    groups: list[str]
    evidence: list[str]


class NeedOut(BaseModel):
    need_id: str
    community_id: str
    community_name: str
    text: str
    category: str
    target_groups: list[str]
    urgency: int
    beneficiaries: int
    roles: list[str]
    volunteers_needed: int
    budget_yuan: float
    time_slots: list[str]
    created_at: str
    status: str
    contact_name: str
    contact_phone: str
    inferred_category: str
    inferred_category_zh: str
    inferred_confidence: float
    inferred_groups: list[str]
    served_roles: list[str] = Field(default_factory=list)
    unserved: bool = False


class Page(BaseModel):
    total: int
    items: list[Any]


class SuggestionOut(BaseModel):
    actor_id: str
    name: str
    score: float
    reasons: list[str]
    breakdown: dict[str, float]
    checks: list[str]
    remaining: float | None = None


class UnconfirmedFundOut(BaseModel):
    """A fund withheld only because the need's category is inferred, not confirmed."""

    actor_id: str
    name: str
    category: str
    confidence: float


class SuggestionsOut(BaseModel):
    need_id: str
    model_version: str
    category: str
    groups: list[str]
    suggestions: dict[str, list[SuggestionOut]]
    unserved_reasons: dict[str, str] = Field(default_factory=dict)
    unconfirmed_funds: list[UnconfirmedFundOut] = Field(
        default_factory=list,
        description="确认需求类别后即可推荐的资金（推断类别把握不足时暂不推荐）")


class DecisionIn(_In):
    action: Literal["accept", "reject", "override", "start", "complete", "fail", "withdraw"]
    role: Role | None = None
    actor_id: str | None = Field(None, max_length=100)
    assignment_id: int | None = Field(None, ge=1, le=2_147_483_647)
    reason: str = Field("", max_length=500)
    satisfaction: int | None = Field(None, ge=1, le=5)


class DecisionOut(BaseModel):
    id: int
    need_id: str
    role: str
    actor_id: str
    status: str
    reason: str
    need_status: str


class FeedbackIn(_In):
    actor_id: str = Field(min_length=1, pattern=_SOME, max_length=100)
    outcome: Literal["completed", "failed"]
    satisfaction: int | None = Field(None, ge=1, le=5)
    comment: str = Field("", max_length=500)


class ActorIn(_In):
    actor_id: str = Field(min_length=1, max_length=100, pattern=r"^[\w\-.]+$")
    kind: Role
    name: str = Field(min_length=1, pattern=_SOME, max_length=200)
    text: str = Field(min_length=1, pattern=_SOME, max_length=2000)
    community_id: str = Field("", max_length=100)
    street: str = Field("", max_length=200)
    district: str = Field("", max_length=200)
    city: str = Field("", max_length=200)
    scope: Literal["", "community", "street", "district", "city"] = ""
    capacity: int | None = Field(None, ge=0, le=100000)
    budget_yuan: float = Field(0.0, ge=0, le=1e12)
    categories: list[str] = Field(default_factory=list, max_length=20)
    target_groups: list[Group] = Field(default_factory=list, max_length=9)
    certification: str = Field("", max_length=50)
    time_slots: list[Slot] = Field(default_factory=list, max_length=3)
    contact_phone: str = Field("", max_length=40)


class ActorPatch(_In):
    name: str | None = Field(None, min_length=1, pattern=_SOME, max_length=200)
    text: str | None = Field(None, min_length=1, pattern=_SOME, max_length=2000)
    capacity: int | None = Field(None, ge=0, le=100000)
    budget_yuan: float | None = Field(None, ge=0, le=1e12)
    active: bool | None = None
    scope: Literal["community", "street", "district", "city"] | None = None


class ActorOut(BaseModel):
    actor_id: str
    kind: str
    kind_zh: str
    name: str
    text: str
    community_id: str
    street: str
    district: str
    scope: str
    capacity: int
    load: int
    remaining: float
    budget_yuan: float
    categories: list[str]
    target_groups: list[str]
    certification: str
    active: bool


class ImportOut(BaseModel):
    dry_run: bool
    added: dict[str, int]
    updated: dict[str, int]
    skipped: list[dict[str, Any]]


class RunOut(BaseModel):
    run_id: str
    status: str
    stage: str
    progress: float
    started_at: str
    finished_at: str | None
    triggered_by: str
    is_current: bool
    summary: dict[str, Any] | None = None
    error: str = ""


class ErrorDetail(BaseModel):
    code: str = Field(description="稳定的错误代码 / stable error code")
    message: str = Field(description="中文说明")
    message_en: str = Field(description="English message")
    rows: list[dict[str, Any]] | None = Field(
        None, description="逐行错误（文件、行、列）/ row errors (file, line, column)")


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may return."""
    text = {400: "请求错误", 401: "缺少或无效的密钥", 403: "无权执行", 404: "未找到（或不属于本站）",
            409: "冲突（状态不允许、已有任务运行、违反硬性条件）", 413: "上传过大",
            422: "请求或数据无效"}
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}


class Health(BaseModel):
    status: str
    database: str
    model_version: str
    version: str
