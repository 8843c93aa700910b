"""API keys per station, stored hashed, and the caller's scope.

Keys are 32 random bytes (URL-safe base64), so a single SHA-256 is the right
hash: there is nothing to brute-force, and lookups stay one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ApiError
from .orm import ApiKey, Community, Station

__all__ = ["ROLES", "Principal", "authenticate", "create_key", "hash_key"]

ROLES = ("station", "admin", "researcher")
_PREFIX = "wsk_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: role, station and the communities they may see."""

    key_id: int
    role: str
    station_id: str | None
    communities: frozenset[str] | None  # None: every community

    @property
    def who(self) -> str:
        return f"{self.role}:{self.station_id or '-'}#{self.key_id}"

    @property
    def masked(self) -> bool:
        return self.role == "researcher"

    @property
    def can_write(self) -> bool:
        return self.role in ("station", "admin")

    def sees(self, community_id: str) -> bool:
        return self.communities is None or community_id in self.communities


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(s: Session, role: str, station_id: str | None = None, label: str = "") -> str:
    """Create a key and return it in clear (the only time it exists in clear)."""
    if role not in ROLES:
        raise ApiError(400, "bad_role", f"未知的角色：{role}（可选 station、admin、researcher）",
                       f"unknown role {role!r} (station, admin or researcher)")
    if role == "station":
        if not station_id:
            raise ApiError(400, "station_required", "station 角色必须指定社工站",
                           "role station needs --station")
        if s.get(Station, station_id) is None:
            known = ", ".join(s.scalars(select(Station.station_id)).all()) or "无 / none"
            raise ApiError(404, "unknown_station", f"社工站 {station_id} 不存在（已有：{known}）",
                           f"station {station_id!r} does not exist (known: {known})")
    elif station_id:
        raise ApiError(400, "station_not_allowed", f"{role} 角色不属于某个社工站",
                       f"role {role} is not tied to a station")
    key = _PREFIX + secrets.token_urlsafe(32)
    s.add(ApiKey(key_hash=hash_key(key), prefix=key[:10], role=role, station_id=station_id,
                 label=label))
    s.flush()
    return key


def authenticate(s: Session, key: str | None) -> Principal:
    """The principal for a key; 401 for a missing, unknown or revoked key."""
    if not key:
        raise ApiError(401, "missing_key", "缺少 API 密钥（请在 X-API-Key 请求头中提供）",
                       "missing API key (send it in the X-API-Key header)")
    row = s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        raise ApiError(401, "invalid_key", "API 密钥无效或已停用", "invalid or revoked API key")
    communities = None
    if row.role == "station":
        communities = frozenset(s.scalars(
            select(Community.community_id).where(Community.station_id == row.station_id)).all())
    return Principal(row.id, row.role, row.station_id, communities)
