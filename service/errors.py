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
                 rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__(zh, en)
        self.status, self.code, self.rows = status, code, rows


def error_body(code: str, zh: str, en: str,
               rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": zh, "message_en": en}
    if rows is not None:
        err["rows"] = rows
    return {"error": err}


def row_errors(e: DataError) -> list[dict[str, Any]]:
    return [{"file": r.file, "line": r.line, "column": r.column, "message": r.zh,
             "message_en": r.en} for r in e.errors]


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


_HTTP_ZH = {401: "未认证", 403: "无权访问", 404: "未找到", 405: "不支持该请求方法",
            409: "冲突", 413: "上传内容过大", 422: "请求内容无效"}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected errors become a logged 500 without details."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return _json(e.status, error_body(e.code, e.zh, e.en, e.rows))

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
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        zh = _HTTP_ZH.get(e.status_code, "请求错误")
        return _json(e.status_code, error_body(f"http_{e.status_code}", zh, str(e.detail)))

    @app.exception_handler(Exception)
    async def _internal(_: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _json(500, error_body("internal", "服务器内部错误，已记录", "internal error; logged"))
