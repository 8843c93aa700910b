"""One map from domain errors to HTTP responses, in Chinese and English.

Every error body is ``{"error": {"code", "message", "message_en", "rows"?}}``
with a stable ``code``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.errors import DataError, ParameterError, UnknownNeedError, WusheError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("wushe.service")


class ApiError(WusheError):
    """An error the API returns as is: status, stable code, Chinese and English text.

    A :class:`~matcher.errors.WusheError`, so the command line reports it the
    same way.
    """

    def __init__(self, status: int, code: str, zh: str, en: str,
                 rows: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(zh, en)
        self.status, self.code, self.rows = status, code, rows
        self.headers = headers


def error_body(code: str, zh: str, en: str,
               rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": zh, "message_en": en}
    if rows is not None:
        err["rows"] = rows
    return {"error": err}


def row_errors(e: DataError) -> list[dict[str, Any]]:
    return [{"file": r.file, "line": r.line, "column": r.column, "message": r.zh,
             "message_en": r.en} for r in e.errors]


#: PostgreSQL's lock-not-available, deadlock and serialization-failure codes
_PG_BUSY = frozenset({"55P03", "40P01", "40001"})


def is_busy(e: OperationalError) -> bool:
    """True when the database refused for a lock held elsewhere (try again), not a fault."""
    code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
    return code in _PG_BUSY or "locked" in str(e.orig).lower()


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


_HTTP_ZH = {401: "未认证", 403: "无权访问", 404: "未找到", 405: "不支持该请求方法",
            409: "冲突", 413: "上传内容过大", 422: "请求内容无效"}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected errors become a logged 500 without details."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(error_body(e.code, e.zh, e.en, e.rows), status_code=e.status,
                            headers=e.headers)

    @app.exception_handler(DataError)
    async def _data(_: Request, e: DataError) -> JSONResponse:
        return _json(422, error_body("invalid_data", "数据有误，未导入任何内容",
                                     "the data has errors; nothing was imported",
                                     row_errors(e)))

    @app.exception_handler(UnknownNeedError)
    async def _unknown(_: Request, e: UnknownNeedError) -> JSONResponse:
        return _json(404, error_body("not_found", e.zh, e.en))

    @app.exception_handler(ParameterError)
    async def _param(_: Request, e: ParameterError) -> JSONResponse:
        return _json(422, error_body("invalid_parameter", e.zh, e.en))

    @app.exception_handler(WusheError)
    async def _wushe(_: Request, e: WusheError) -> JSONResponse:
        return _json(400, error_body("bad_request", e.zh, e.en))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        rows = [{"location": ".".join(str(p) for p in err.get("loc", ())),
                 "message": err.get("msg", ""), "message_en": err.get("msg", "")}
                for err in e.errors()]
        return _json(422, error_body("invalid_request", "请求内容无效", "invalid request", rows))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        zh = _HTTP_ZH.get(e.status_code, "请求错误")
        headers = dict(e.headers or {})
        route: Any = request.scope.get("route")
        template = getattr(route, "path_format", "")
        if e.status_code == 405 and template:
            # RFC 9110: Allow names every method of the resource. Starlette names only the
            # matched route's, and FastAPI has one route per method (GET, PATCH …/{id}):
            # name those the document gives that route's path.
            path = request.scope["path"]
            for doc_path, item in request.app.openapi().get("paths", {}).items():
                prefix = doc_path[:len(doc_path) - len(template)]
                if (doc_path.endswith(template) and path.startswith(prefix)
                        and route.path_regex.match(path[len(prefix):])):
                    headers["Allow"] = ", ".join(sorted(
                        m.upper() for m in item if m in ("get", "put", "post", "delete",
                                                         "options", "head", "patch", "trace")))
                    break
        return JSONResponse(error_body(f"http_{e.status_code}", zh, str(e.detail)),
                            status_code=e.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    async def _db(_: Request, e: OperationalError) -> JSONResponse:
        if not is_busy(e):
            log.error("database error: %s", type(e.orig).__name__)
            return _json(503, error_body("database_unavailable", "数据库暂时不可用，请稍后重试",
                                         "the database is unavailable; try again shortly"))
        resp = _json(503, error_body("busy", "数据库正忙（可能有导入或匹配在写入），请稍后重试，本次未写入任何内容",
                                     "the database is busy (an import or a run is writing); "
                                     "retry shortly — nothing was written"))
        resp.headers["Retry-After"] = "2"
        return resp

    @app.exception_handler(Exception)
    async def _internal(_: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _json(500, error_body("internal", "服务器内部错误，已记录", "internal error; logged"))
