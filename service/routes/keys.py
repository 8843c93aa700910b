"""API keys for admins: list, create (the key shown once), revoke.

A key is named by its prefix; the key itself exists in clear only in the
response that creates it, and its hash never leaves the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..audit import record
from ..auth import KeyInfo, create_key, key_info, list_keys, revoke_key
from ..db import session_scope
from ..deps import AdminDep, FactoryDep, PrincipalCache, SessionDep

__all__ = ["KeyCreated", "KeyIn", "KeyOut", "KeyRevoked", "router"]

router = APIRouter(tags=["keys"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Literal["station", "admin", "researcher"]
    station_id: str | None = Field(None, min_length=1, max_length=100,
                                   description="社工站（station 角色必填）")
    label: str = Field("", max_length=200, description="备注，例如使用人或用途")


class KeyOut(BaseModel):
    """A key as listed: never the key, never its hash."""

    model_config = ConfigDict(from_attributes=True)

    prefix: str = Field(description="密钥前 10 位，用于识别和停用")
    role: str
    station_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="完整密钥：只在这次响应中出现，请立即保存")


class KeyRevoked(KeyOut):
    already_revoked: bool = Field(description="此前已停用（本次未作改动）")


PrefixPath = Annotated[str, Path(min_length=1, max_length=40, description="密钥前缀")]


def _out(info: KeyInfo) -> KeyOut:
    return KeyOut.model_validate(info)


@router.get("/keys", response_model=list[KeyOut], summary="API 密钥列表（管理员；不含密钥本身）")
def keys_list(s: SessionDep, _: AdminDep) -> list[KeyOut]:
    return [_out(info) for info in list_keys(s)]


@router.post("/keys", status_code=201, response_model=KeyCreated,
             summary="新建 API 密钥（管理员；完整密钥只返回这一次）")
def keys_create(body: KeyIn, s: SessionDep, p: AdminDep, response: Response) -> KeyCreated:
    key = create_key(s, body.role, body.station_id, label=body.label)
    info = key_info(s, key)
    record(s, p, "key.create", "key", info.prefix, {"role": info.role,
                                                    "station_id": info.station_id})
    response.headers["Cache-Control"] = "no-store"  # no proxy or browser keeps the key
    return KeyCreated(**_out(info).model_dump(), key=key)


@router.post("/keys/{prefix}/revoke", response_model=KeyRevoked,
             summary="停用 API 密钥（管理员；本进程立即生效，其他进程 10 秒内）")
def keys_revoke(prefix: PrefixPath, request: Request, factory: FactoryDep,
                p: AdminDep) -> KeyRevoked:
    # Its own transaction, so the cache is dropped only once the revocation is
    # visible to every other session.
    with session_scope(factory) as s:
        info, revoked_now = revoke_key(s, prefix)
        if revoked_now:
            record(s, p, "key.revoke", "key", info.prefix, {"role": info.role,
                                                            "station_id": info.station_id})
    cache: PrincipalCache = request.app.state.principals
    cache.forget(info.key_id)
    return KeyRevoked(**_out(info).model_dump(), already_revoked=not revoked_now)
