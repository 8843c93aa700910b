"""The service's OpenAPI document: FastAPI's, plus what the routes cannot say.

- Every operation declares **405** with an ``Allow`` header: a method a path
  does not have is answered 405 with the error body and the methods it does
  have (RFC 9110), and the document says so.
- **Links** from the operations that create or return a need or an actor to
  the operations on it, so a client (and schemathesis' stateful tests) can
  follow a created need to its suggestions and decisions.

Links name their operations by method and path, not by FastAPI's generated
``operationId`` (which changes with a route function's name); the id is looked
up when the document is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

__all__ = ["LINKS", "Link", "customise_openapi", "install_openapi"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ERROR = {"$ref": "#/components/schemas/ErrorOut"}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: from ``status`` of ``source`` to ``target``, both ``(METHOD, path)``."""

    name: str
    source: tuple[str, str]
    status: str
    target: tuple[str, str]
    parameters: dict[str, str]
    description: str
    request_body: dict[str, Any] | None = field(default=None)


_NEEDS = "/api/v1/needs"
_NEED = "/api/v1/needs/{need_id}"
_ACTOR = "/api/v1/actors/{actor_id}"
_NEED_ID = {"need_id": "$response.body#/need_id"}


def _on_need(source: tuple[str, str], status: str, what: str) -> tuple[Link, ...]:
    """Links from a response that carries a need to the operations on that need."""
    return (
        Link("GetNeed", source, status, ("GET", _NEED), _NEED_ID, f"{what}的详情 / its details"),
        Link("UpdateNeed", source, status, ("PATCH", _NEED), _NEED_ID, f"修改{what} / edit it"),
        Link("GetSuggestions", source, status, ("GET", f"{_NEED}/suggestions"), _NEED_ID,
             f"{what}的推荐 / its suggestions"),
        Link("Decide", source, status, ("POST", f"{_NEED}/decisions"), _NEED_ID,
             f"对{what}作出决定 / decide on it"),
        Link("GiveFeedback", source, status, ("POST", f"{_NEED}/feedback"), _NEED_ID,
             f"{what}的服务反馈 / feedback on it"),
        Link("CloseNeed", source, status, ("POST", f"{_NEED}/close"), _NEED_ID,
             f"结案或取消{what} / close it"),
    )


#: every link the document carries
LINKS: tuple[Link, ...] = (
    *_on_need(("POST", _NEEDS), "201", "新需求"),
    *_on_need(("PATCH", _NEED), "200", "该需求"),
    Link("GetNeed", ("GET", f"{_NEED}/suggestions"), "200", ("GET", _NEED), _NEED_ID,
         "推荐所属的需求 / the need suggested for"),
    Link("AcceptFirstOrganization", ("GET", f"{_NEED}/suggestions"), "200",
         ("POST", f"{_NEED}/decisions"), _NEED_ID,
         "采纳排第一的机构 / accept the first organization suggested",
         {"action": "accept", "role": "organization",
          "actor_id": "$response.body#/suggestions/organization/0/actor_id"}),
    Link("GetNeed", ("POST", f"{_NEED}/decisions"), "200", ("GET", _NEED), _NEED_ID,
         "决定后的需求 / the need after the decision"),
    Link("NextStep", ("POST", f"{_NEED}/decisions"), "200", ("POST", f"{_NEED}/decisions"),
         _NEED_ID, "推进同一安排 / move the same assignment on",
         {"assignment_id": "$response.body#/id"}),
    Link("GetNeed", ("POST", f"{_NEED}/close"), "200", ("GET", _NEED), _NEED_ID,
         "结案后的需求 / the closed need"),
    Link("UpdateActor", ("POST", "/api/v1/actors"), "201", ("PATCH", _ACTOR),
         {"actor_id": "$response.body#/actor_id"}, "修改新资源 / edit the actor just created"),
    Link("UpdateActor", ("PATCH", _ACTOR), "200", ("PATCH", _ACTOR),
         {"actor_id": "$response.body#/actor_id"}, "再次修改该资源 / edit it again"),
)


def _method_not_allowed() -> dict[str, Any]:
    return {
        "description": "该路径不支持此请求方法 / method not allowed on this path",
        "headers": {"Allow": {"description": "该路径支持的方法 / the methods the path supports",
                              "schema": {"type": "string"}}},
        "content": {"application/json": {"schema": dict(_ERROR)}},
    }


def _operation(doc: dict[str, Any], method_path: tuple[str, str]) -> dict[str, Any] | None:
    method, path = method_path
    op = doc.get("paths", {}).get(path, {}).get(method.lower())
    return op if isinstance(op, dict) else None


def customise_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the 405 responses and :data:`LINKS` to ``doc`` (in place); return it.

    A link whose source, status or target the document does not have is left
    out (the tests check that every one is present).
    """
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method in _METHODS:
                op.setdefault("responses", {}).setdefault("405", _method_not_allowed())
    for link in LINKS:
        source, target = _operation(doc, link.source), _operation(doc, link.target)
        if source is None or target is None or "operationId" not in target:
            continue
        response = source.get("responses", {}).get(link.status)
        if response is None:
            continue
        entry: dict[str, Any] = {"operationId": target["operationId"],
                                 "parameters": dict(link.parameters),
                                 "description": link.description}
        if link.request_body is not None:
            entry["requestBody"] = dict(link.request_body)
        response.setdefault("links", {})[link.name] = entry
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the customised document from ``app.openapi()`` (built once, then cached)."""
    generate = app.openapi  # FastAPI's own generator, which caches in app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = customise_openapi(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
