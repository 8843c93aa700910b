"""API keys per station, stored hashed, and the caller's scope.

Keys are 32 random bytes (URL-safe base64), so a single SHA-256 is the right
hash: there is nothing to brute-force, and lookups stay one indexed query.
A key is named by its first ten characters (``prefix``, unique among the keys
created here), which is all that listing, revoking and the audit log show.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ApiError
from .orm import ApiKey, Community, Station, utcnow

__all__ = ["PREFIX_LENGTH", "ROLES", "KeyInfo", "Principal", "authenticate", "create_key",
           "hash_key", "key_info", "list_keys", "revoke_key"]

ROLES = ("station", "admin", "researcher")
_PREFIX = "wsk_"
PREFIX_LENGTH = 10


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
            raise ApiError(400, "station_required",
                           "station 角色必须指定社工站（--station 或 station_id）",
                           "role station needs a station (--station, or station_id in the API)")
        if s.get(Station, station_id) is None:
            known = ", ".join(s.scalars(select(Station.station_id)).all()) or "无 / none"
            raise ApiError(404, "unknown_station", f"社工站 {station_id} 不存在（已有：{known}）",
                           f"station {station_id!r} does not exist (known: {known})")
    elif station_id:
        raise ApiError(400, "station_not_allowed", f"{role} 角色不属于某个社工站",
                       f"role {role} is not tied to a station")
    key = _PREFIX + secrets.token_urlsafe(32)
    while _with_prefix(s, key[:PREFIX_LENGTH]):  # a prefix must name one key (1 in 6.9e10)
        key = _PREFIX + secrets.token_urlsafe(32)
    s.add(ApiKey(key_hash=hash_key(key), prefix=key[:PREFIX_LENGTH], role=role,
                 station_id=station_id, label=label))
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


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key, never its hash."""

    key_id: int
    prefix: str
    role: str
    station_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored in UTC
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.prefix, row.role, row.station_id, row.label, _utc(row.created_at),
                   _utc(row.revoked_at) if row.revoked_at is not None else None)


def _with_prefix(s: Session, prefix: str) -> list[ApiKey]:
    return list(s.scalars(select(ApiKey).where(ApiKey.prefix == prefix).order_by(ApiKey.id)))


def key_info(s: Session, key: str) -> KeyInfo:
    """What may be shown about ``key`` (given in clear, e.g. just created)."""
    row = s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None:
        raise ApiError(401, "invalid_key", "API 密钥无效或已停用", "invalid or revoked API key")
    return _info(row)


def list_keys(s: Session) -> list[KeyInfo]:
    """Every key, revoked ones included, oldest first."""
    return [_info(row) for row in s.scalars(select(ApiKey).order_by(ApiKey.created_at,
                                                                     ApiKey.id))]


def revoke_key(s: Session, prefix: str) -> tuple[KeyInfo, bool]:
    """Revoke the key named by ``prefix``; return it and whether it was revoked just now.

    A key revoked before is returned unchanged (``False``). An unknown prefix is
    a 404 ``unknown_key``, one shared by several keys a 409 ``ambiguous_prefix``.
    """
    rows = _with_prefix(s, prefix)
    if not rows:
        raise ApiError(404, "unknown_key",
                       f"没有前缀为 {prefix} 的密钥（前缀见 wushe keys list，共 {PREFIX_LENGTH} 位，"
                       f"以 {_PREFIX} 开头）",
                       f"no key has the prefix {prefix!r} (see wushe keys list: "
                       f"{PREFIX_LENGTH} characters starting with {_PREFIX})")
    if len(rows) > 1:
        raise ApiError(409, "ambiguous_prefix",
                       f"有 {len(rows)} 个密钥的前缀都是 {prefix}，无法确定停用哪一个",
                       f"{len(rows)} keys share the prefix {prefix!r}; cannot tell which to revoke")
    row = rows[0]
    if row.revoked_at is not None:
        return _info(row), False
    row.revoked_at = utcnow()
    s.flush()
    return _info(row), True
