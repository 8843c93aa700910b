"""Request dependencies: database session, caller, engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from .auth import Principal, authenticate
from .config import Settings
from .db import session_scope
from .engine import EngineCache
from .errors import ApiError

__all__ = ["EngineDep", "FactoryDep", "PrincipalDep", "SessionDep", "SettingsDep", "WriterDep"]


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


def get_principal(s: SessionDep,
                  x_api_key: Annotated[str | None, Header(description="站点 API 密钥")] = None,
                  ) -> Principal:
    return authenticate(s, x_api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_writer(p: PrincipalDep) -> Principal:
    if not p.can_write:
        raise ApiError(403, "read_only", "当前密钥只读，不能修改", "this key is read-only")
    return p


WriterDep = Annotated[Principal, Depends(get_writer)]
