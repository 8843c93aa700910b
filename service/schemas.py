"""Pydantic models of the API (only the service has them).

The input models say in their JSON Schema exactly what they accept:

- **Strict types.** ``false`` is not a number, ``"5"`` is not an integer and ``1``
  is not a boolean; a whole number is accepted where a decimal is expected, and
  ``3.0`` where an integer is (JSON Schema counts it as one).
- **Whitespace.** Text is trimmed of :data:`SPACE_CHARS` (Python's ``str.isspace``
  set and ECMAScript's ``\\s``) by the service itself, and the patterns spell that
  set in ``\\uXXXX`` escapes, which Python ``re``, pydantic-core's Rust regex and
  ECMAScript read the same way.
- **Lengths** (from :mod:`matcher.limits`) count the value as sent, before
  trimming; the stored value is never longer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo

from matcher.limits import max_chars
from matcher.taxonomy import default_taxonomy

__all__ = [
    "ID_PATTERN",
    "SPACE_CHARS",
    "TEXT_PATTERN",
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
    "trim",
]

Role = Literal["organization", "social_worker", "volunteer", "fund"]
Slot = Literal["weekday_day", "weekday_evening", "weekend"]
Group = Literal["老年人", "儿童", "青少年", "残疾人", "困难群众", "妇女", "新市民", "退役军人",
                "全体居民"]

#: every character text is trimmed of: Python's ``str.isspace`` set and ECMAScript's
#: ``\s`` (which adds U+FEFF), so no engine sees a blank value as text
SPACE_CHARS = ("\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
               + "".join(map(chr, range(0x2000, 0x200B)))
               + "\u2028\u2029\u202f\u205f\u3000\ufeff")
# SPACE_CHARS as a character class body; \uXXXX escapes read alike in re, Rust and ECMA
_SPACE_CLASS = (r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029"
                r"\u202f\u205f\u3000\ufeff")
#: at least one character that trimming keeps
TEXT_PATTERN = "[^" + _SPACE_CLASS + "]"
#: ids a client may choose: ASCII letters and digits, ``_`` ``.`` ``-`` and Chinese
#: characters (CJK Unified Ideographs and Extension A), as station data uses them
ID_PATTERN = r"^[0-9A-Za-z_.\u3400-\u4dbf\u4e00-\u9fff-]+$"

_ALL_ROLES: tuple[Role, ...] = ("organization", "social_worker", "volunteer", "fund")


def trim(value: str) -> str:
    """``value`` without surrounding :data:`SPACE_CHARS` (``str.strip`` keeps U+FEFF)."""
    return value.strip(SPACE_CHARS)


def _whole(value: object) -> object:
    # JSON Schema's "integer" is any number without a fraction, 3.0 included
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_TRIM = AfterValidator(trim)
_WHOLE = BeforeValidator(_whole)


def _chars(table: str, column: str, *, required: bool = False) -> FieldInfo:
    """The length limit of ``table.column`` (and, if ``required``, some text)."""
    n = max_chars(table, column)
    what = f"至多 {n} 字（按原文计，再去首尾空白）/ ≤ {n} characters as sent, then trimmed"
    info: FieldInfo = (Field(min_length=1, max_length=n, pattern=TEXT_PATTERN,
                             description=f"{what}; 不可全为空白 / not blank")
                       if required else Field(max_length=n, description=what))
    return info


def _id(table: str, column: str) -> FieldInfo:
    info: FieldInfo = Field(min_length=1, max_length=max_chars(table, column), pattern=ID_PATTERN,
                            description="字母、数字、汉字与 _ . - / letters, digits, Chinese, _ . -")
    return info


def _category_codes(schema: dict[str, Any]) -> None:
    # the route refuses any other code (422 bad_category); read when the document is built
    schema["enum"] = ["", *default_taxonomy().codes]


def _actor_category_codes(schema: dict[str, Any]) -> None:
    schema["enum"] = list(default_taxonomy().codes)


def _category() -> FieldInfo:
    info: FieldInfo = Field(max_length=max_chars("needs", "category"),
                            json_schema_extra=_category_codes,
                            description="类别代码（见 /vocab），或留空由系统推断 / a category code "
                                        "(see /vocab), or empty to have it inferred")
    return info


def _text_in(field: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is present and not blank."""
    return {"required": [field], "properties": {field: {"type": "string",
                                                        "pattern": TEXT_PATTERN}}}


class _In(BaseModel):
    # strict: a bool is no number, a string no number or bool; an int still passes for
    # a float, and _WHOLE lets 3.0 pass for an int
    model_config = ConfigDict(extra="forbid", strict=True)


class NeedIn(_In):
    need_id: Annotated[str, _id("needs", "need_id")] | None = None
    community_id: Annotated[str, _chars("needs", "community_id", required=True), _TRIM]
    text: Annotated[str, _chars("needs", "text", required=True), _TRIM]
    category: Annotated[str, _category()] = ""
    target_groups: list[Group] = Field(default_factory=list, max_length=9)
    #: 1–4; left out, it is inferred from the text
    urgency: Annotated[int, Field(ge=1, le=4), _WHOLE] | None = None
    beneficiaries: Annotated[int, Field(ge=1, le=100000), _WHOLE] = 1
    roles: list[Role] = Field(default_factory=lambda: list(_ALL_ROLES), min_length=1,
                              max_length=4)
    volunteers_needed: Annotated[int, Field(ge=0, le=1000), _WHOLE] | None = None
    budget_yuan: Annotated[float, Field(ge=0, le=1e10)] = 0.0
    time_slots: list[Slot] = Field(default_factory=list, max_length=3)
    contact_name: Annotated[str, _chars("needs", "contact_name"), _TRIM] = ""
    contact_phone: Annotated[str, _chars("needs", "contact_phone"), _TRIM] = ""
    id_number: Annotated[str, _chars("needs", "id_number"), _TRIM] = ""


class NeedPatch(_In):
    text: Annotated[str, _chars("needs", "text", required=True), _TRIM] | None = None
    category: Annotated[str, _category()] | None = None
    target_groups: list[Group] | None = Field(None, max_length=9)
    urgency: Annotated[int, Field(ge=1, le=4), _WHOLE] | None = None
    beneficiaries: Annotated[int, Field(ge=1, le=100000), _WHOLE] | None = None
    roles: list[Role] | None = Field(None, min_length=1, max_length=4)
    volunteers_needed: Annotated[int, Field(ge=0, le=1000), _WHOLE] | None = None
    budget_yuan: Annotated[float, Field(ge=0, le=1e10)] | None = None
    time_slots: list[Slot] | None = Field(None, max_length=3)
    contact_name: Annotated[str, _chars("needs", "contact_name"), _TRIM] | None = None
    contact_phone: Annotated[str, _chars("needs", "contact_phone"), _TRIM] | None = None


class CloseIn(_In):
    status: Literal["done", "cancelled"]
    # closing is a coordinator's decision: its reason has a decision's limit
    reason: Annotated[str, _chars("decisions", "reason"), _TRIM] = ""


class InferIn(_In):
    text: Annotated[str, _chars("needs", "text", required=True), _TRIM]


class InferOut(BaseModel):
    category: str
    category_zh: str
    confidence: float
    groups: list[str]
    group_confidence: dict[str, float] = Field(default_factory=dict)
    urgency: int = 2
    urgency_confidence: float = 0.0
    #: the next most likely categories (``category``, ``share``), for an unsure need
    alternatives: list[dict[str, Any]] = Field(default_factory=list)
    evidence: list[str]


class NeedOut(BaseModel):
    need_id: str
    ref: str = Field("", description="本站编号（社工站导入时自己的编号）/ the station's own number")
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
    #: False: ``urgency`` was inferred from the text (confidence below)
    urgency_given: bool = True
    inferred_urgency_confidence: float = 0.0
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
    inferred: dict[str, Any] = Field(
        default_factory=dict,
        description="推断的类别、服务对象、紧急程度及置信度（同建议 JSONL 的 inferred 对象）"
                    " / the engine's category, groups and urgency with confidence, as in the "
                    "suggestions JSONL")
    likely_categories: list[str] = Field(
        default_factory=list,
        description="排序优先的类别：把握足时一个，不足时两个（两者都有推荐）"
                    " / the categories ranked first: one when sure, the two most likely when not")
    suggestions: dict[str, list[SuggestionOut]]
    unserved_reasons: dict[str, str] = Field(default_factory=dict)
    unconfirmed_funds: list[UnconfirmedFundOut] = Field(
        default_factory=list,
        description="确认需求类别后即可推荐的资金（推断类别把握不足时暂不推荐）")


class DecisionIn(_In):
    """A decision on an assignment (``assignment_id``) or on a pair (``role`` and ``actor_id``).

    需指定安排编号，或角色与资源编号；拒绝、撤回或失败时须填写原因 / give assignment_id,
    or role and actor_id; reject, withdraw and fail need a reason.
    """

    # the rules the route enforces (422 missing_target, reason_required), stated here
    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": ["assignment_id"],
                   "properties": {"assignment_id": {"type": "integer"}}},
                  {"allOf": [{"required": ["role"], "properties": {"role": {"type": "string"}}},
                             _text_in("actor_id")]}],
        "if": {"required": ["action"],
               "properties": {"action": {"enum": ["reject", "withdraw", "fail"]}}},
        "then": _text_in("reason"),
    })

    action: Literal["accept", "reject", "override", "start", "complete", "fail", "withdraw"]
    role: Role | None = None
    actor_id: Annotated[str, _chars("decisions", "actor_id"), _TRIM] | None = None
    assignment_id: Annotated[int, Field(ge=1, le=2_147_483_647), _WHOLE] | None = None
    reason: Annotated[str, _chars("decisions", "reason"), _TRIM] = ""
    satisfaction: Annotated[int, Field(ge=1, le=5), _WHOLE] | None = None


class DecisionOut(BaseModel):
    id: int
    need_id: str
    role: str
    actor_id: str
    status: str
    reason: str
    need_status: str


class FeedbackIn(_In):
    actor_id: Annotated[str, _chars("feedback", "actor_id", required=True), _TRIM]
    outcome: Literal["completed", "failed"]
    satisfaction: Annotated[int, Field(ge=1, le=5), _WHOLE] | None = None
    comment: Annotated[str, _chars("feedback", "comment"), _TRIM] = ""


class ActorIn(_In):
    """A new actor: somewhere to be (community, street, district or city); a fund, money.

    社区、街道、区、市至少填一项；资金类须填写大于 0 的金额 / at least one of community_id,
    street, district and city; a fund needs budget_yuan above 0.
    """

    # the rules the route enforces (422 no_home, fund_budget_required), stated here
    model_config = ConfigDict(json_schema_extra={
        "anyOf": [_text_in(f) for f in ("community_id", "street", "district", "city")],
        "if": {"required": ["kind"], "properties": {"kind": {"const": "fund"}}},
        "then": {"required": ["budget_yuan"],
                 "properties": {"budget_yuan": {"type": "number", "exclusiveMinimum": 0}}},
    })

    actor_id: Annotated[str, _id("actors", "actor_id")]
    kind: Role
    name: Annotated[str, _chars("actors", "name", required=True), _TRIM]
    text: Annotated[str, _chars("actors", "text", required=True), _TRIM]
    community_id: Annotated[str, _chars("actors", "community_id"), _TRIM] = ""
    street: Annotated[str, _chars("actors", "street"), _TRIM] = ""
    district: Annotated[str, _chars("actors", "district"), _TRIM] = ""
    city: Annotated[str, _chars("actors", "city"), _TRIM] = ""
    scope: Literal["", "community", "street", "district", "city"] = ""
    capacity: Annotated[int, Field(ge=0, le=100000), _WHOLE] | None = None
    budget_yuan: Annotated[float, Field(ge=0, le=1e12)] = 0.0
    # taxonomy codes (an unknown code is refused: 422 bad_category)
    categories: list[Annotated[str, Field(max_length=max_chars("needs", "category"),
                                          json_schema_extra=_actor_category_codes)]] = Field(
        default_factory=list, max_length=20)
    target_groups: list[Group] = Field(default_factory=list, max_length=9)
    certification: Annotated[str, _chars("actors", "certification"), _TRIM] = ""
    time_slots: list[Slot] = Field(default_factory=list, max_length=3)
    contact_phone: Annotated[str, _chars("actors", "contact_phone"), _TRIM] = ""


class ActorPatch(_In):
    name: Annotated[str, _chars("actors", "name", required=True), _TRIM] | None = None
    text: Annotated[str, _chars("actors", "text", required=True), _TRIM] | None = None
    capacity: Annotated[int, Field(ge=0, le=100000), _WHOLE] | None = None
    budget_yuan: Annotated[float, Field(ge=0, le=1e12)] | None = None
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
    warning: str = Field("", description="资金说明暗示限定、但限定列为空时的提示 / a fund's unstated restriction")


class ImportOut(BaseModel):
    dry_run: bool
    added: dict[str, int]
    updated: dict[str, int]
    skipped: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="不影响导入的提示（如资金说明暗示限定但未填写限定列）/ warnings that do not stop the import")


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
            422: "请求或数据无效", 429: "该地址密钥错误次数过多，请按 Retry-After 秒数稍后再试",
            503: "数据库正忙或暂不可用，请按 Retry-After 秒数稍后重试（未写入任何内容）"}
    retry = {"Retry-After": {"description": "秒 / seconds", "schema": {"type": "integer"}}}
    return {c: {"model": ErrorOut, "description": text[c],
                **({"headers": retry} if c in (429, 503) else {})} for c in codes}


class Health(BaseModel):
    status: str
    database: str
    model_version: str
    version: str
