"""Request dependencies: database session, caller, engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from .auth import Principal, authenticate
from .config import Settings
from .db import session_scope
from .engine import EngineCache
from .errors import ApiError

__all__ = [
    "EngineDep",
    "FactoryDep",
    "PrincipalCache",
    "PrincipalDep",
    "SessionDep",
    "SettingsDep",
    "WriterDep",
]


def get_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    """A session per request, committed when the route returns without error."""
    with session_scope(request.app.state.sessions) as s:
        yield s


def get_engine(request: Request) -> EngineCache:
    return request.app.state.engine_cache  # type: ignore[no-any-return]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SessionDep = Annotated[Session, Depends(get_db)]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]
EngineDep = Annotated[EngineCache, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


class PrincipalCache:
    """Recently authenticated keys, for ``ttl`` seconds (a revoked key stops within it)."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, Principal]] = {}

    def get(self, s: Session, key: str | None) -> Principal:
        now = time.monotonic()
        hit = self._seen.get(key or "")
        if hit is not None and hit[0] > now:
            return hit[1]
        p = authenticate(s, key)
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key or ""] = (now + self.ttl, p)
        return p


def get_principal(request: Request, s: SessionDep,
                  x_api_key: Annotated[str | None, Header(description="站点 API 密钥")] = None,
                  ) -> Principal:
    cache: PrincipalCache = request.app.state.principals
    return cache.get(s, x_api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_writer(p: PrincipalDep) -> Principal:
    if not p.can_write:
        raise ApiError(403, "read_only", "当前密钥只读，不能修改", "this key is read-only")
    return p


WriterDep = Annotated[Principal, Depends(get_writer)]
