"""What wraps every response and every log line: masking, security headers, log hygiene.

- :class:`ServiceMiddleware` (plain ASGI, no per-request cost for unmasked
  callers) adds the security headers to every response and, for a masked
  caller (a researcher), passes every JSON string and every CSV cell through
  :func:`service.privacy.mask_text` — the safety net under the routes' own
  masking, so a free-text field added tomorrow cannot leak a phone number.
- :class:`QueryRedactingFilter` keeps query strings (``q=…`` searches) out of
  the access log; :class:`PiiLogFilter` masks phone and ID numbers in the
  service's own log lines and tracebacks.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .privacy import mask_text, scrub

__all__ = ["PiiLogFilter", "QueryRedactingFilter", "ServiceMiddleware", "install_log_filters",
           "security_headers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the page needs nothing inline and nothing from elsewhere
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")
#: FastAPI's interactive docs page loads Swagger UI from its CDN with an inline script
_CSP_DOCS = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
             "https://fastapi.tiangolo.com; object-src 'none'; base-uri 'none'; "
             "frame-ancestors 'none'")


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (a looser CSP only for the API docs page)."""
    csp = _CSP_DOCS if path.startswith("/api/docs") else _CSP
    return [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin")]


def _mask_csv(body: bytes, charset: str) -> bytes:
    bom = "\ufeff" if body.startswith(b"\xef\xbb\xbf") else ""
    text = body.decode(charset, errors="replace").lstrip("\ufeff")
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        w.writerow([mask_text(c) for c in row])
    return (bom + out.getvalue()).encode(charset, errors="replace")


def _masked_body(body: bytes, content_type: str) -> bytes:
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    if charset.lower() == "gbk":
        charset = "gb18030"
    if content_type.startswith("application/json"):
        return json.dumps(scrub(json.loads(body)), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
    if content_type.startswith("text/csv"):
        return _mask_csv(body, charset)
    return body


class ServiceMiddleware:
    """Security headers on every response; masked callers' bodies scrubbed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope.get("path", ""))
        start: Message | None = None
        chunks: list[bytes] = []

        def masked() -> bool:
            state = scope.get("state") or {}
            return bool(state.get("masked"))

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in extra if k not in names)]
                if not masked():
                    await send(message)
                    return
                start = message  # hold it: the body's length changes
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            ctype = next((v.decode("latin-1") for k, v in headers
                          if k.lower() == b"content-type"), "")
            body = _masked_body(b"".join(chunks), ctype)
            start["headers"] = [*headers, (b"content-length", str(len(body)).encode())]
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)


#: query parameters whose values are never personal (kept in the access log)
_SAFE_PARAMS = frozenset({"limit", "offset", "k", "dry_run", "skip_bad_rows", "encoding",
                          "status", "urgency", "unserved", "active", "kind", "role"})


def redact_query(path: str) -> str:
    """``/needs?q=王&limit=5`` → ``/needs?q=***&limit=5``.

    >>> redact_query("/api/v1/needs?q=13912345678&limit=5")
    '/api/v1/needs?q=%2A%2A%2A&limit=5'
    >>> redact_query("/api/v1/needs")
    '/api/v1/needs'
    """
    if "?" not in path:
        return path
    base, query = path.split("?", 1)
    pairs = [(k, v if k in _SAFE_PARAMS else "***")
             for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{base}?{urlencode(pairs)}"


class QueryRedactingFilter(logging.Filter):
    """Drop the values of personal query parameters from uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


class PiiLogFilter(logging.Filter):
    """Mask phone and ID numbers in a log line and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        # the message and its string arguments are masked in place, so formatters
        # that re-format (uvicorn's coloured ``color_message``) still work
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_text(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def install_log_filters() -> None:
    """Attach the filters once (idempotent: the app may be created many times)."""
    pairs: list[tuple[str, logging.Filter]] = [
        ("uvicorn.access", QueryRedactingFilter()), ("wushe", PiiLogFilter()),
        ("wushe.service", PiiLogFilter()), ("uvicorn.error", PiiLogFilter())]
    for name, flt in pairs:
        logger = logging.getLogger(name)
        if not any(type(f) is type(flt) for f in logger.filters):
            logger.addFilter(flt)
