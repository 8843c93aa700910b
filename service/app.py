"""The FastAPI application: ``create_app()`` and its lifespan."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from .config import Settings, get_settings
from .db import is_empty, make_engine, migrate, sessions
from .deps import PrincipalCache
from .engine import EngineCache, package_version
from .errors import install_error_handlers
from .middleware import ServiceMiddleware, install_log_filters
from .openapi import install_openapi
from .schemas import error_responses
from .seed import bootstrap, hand_over_keys

__all__ = ["create_app"]

log = logging.getLogger("wushe.service")
_STATIC = Path(__file__).resolve().parent / "static"

_DESCRIPTION = """五社联动需求与资源匹配服务（wushe）。

所有接口（健康检查除外）需要在 `X-API-Key` 请求头中提供站点密钥。错误以
`{"error": {"code", "message", "message_en"}}` 返回，`code` 稳定可依赖。
"""


def _warm_up(app: FastAPI) -> None:
    try:
        with app.state.sessions() as s, app.state.engine_cache.use(s):
            pass
    except Exception:  # the first request will try again and report
        log.exception("engine warm-up failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is migrated (and seeded when empty) at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Suggestions are CPU-bound and take turns on one engine: a few threads keep
        # the core busy; forty (anyio's default) only fight over the GIL and the lock.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        engine = make_engine(settings.database_url)
        migrate(engine)
        app.state.sessions = sessions(engine)
        app.state.engine_cache = EngineCache()
        app.state.principals = PrincipalCache()
        app.state.settings = settings
        first = is_empty(engine)
        # to the terminal, else an owner-only file: never into the service log
        hand_over_keys(bootstrap(app.state.sessions, settings, first_start=first), settings,
                       sys.stderr)
        if settings.warm_up:
            threading.Thread(target=_warm_up, args=(app,), name="wushe-warm-up",
                             daemon=True).start()
        yield
        engine.dispose()

    app = FastAPI(title="wushe 五社联动匹配服务", version=package_version(),
                  description=_DESCRIPTION, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/docs", redoc_url=None)
    install_error_handlers(app)
    install_openapi(app)
    install_log_filters()
    if settings.cors_origins:  # closed unless origins are named
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "PATCH"],
                           allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(ServiceMiddleware)
    from .routes import actors, data, keys, needs, reports, runs, system

    errors = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)
    for module in (system, needs, actors, data, runs, reports, keys):
        app.include_router(module.router, prefix="/api/v1", responses=errors)
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/static/index.html")

    return app
