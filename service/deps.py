"""Request dependencies: database session, caller, engine.

The caller comes from the ``X-API-Key`` header through two per-process
guards: :class:`PrincipalCache` (a key seen in the last ``ttl`` seconds is not
looked up again, so a revoked key stops there within ``ttl``) and
:class:`BadKeyThrottle` (an address that keeps sending bad keys gets 429 for
them, while good keys from it still pass).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from .auth import Principal, authenticate
from .config import Settings
from .db import session_scope
from .engine import EngineCache
from .errors import ApiError

__all__ = [
    "AdminDep",
    "BadKeyThrottle",
    "EngineDep",
    "FactoryDep",
    "PrincipalCache",
    "PrincipalDep",
    "SessionDep",
    "SettingsDep",
    "TooManyFailures",
    "WriterDep",
    "client_address",
]

#: the OpenAPI entry for the 429 every authenticated route may answer
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
    """Recently authenticated keys, for ``ttl`` seconds.

    A key revoked in this process is dropped at once (:meth:`forget`); one
    revoked elsewhere (another worker, ``wushe keys revoke``) stops here within
    ``ttl``. Only good keys are kept; ``clock`` is for tests.
    """

    def __init__(self, ttl: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, Principal]] = {}
        self._generation = 0

    def get(self, s: Session, key: str | None) -> Principal:
        now = self.clock()
        hit = self._seen.get(key or "")
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        p = authenticate(s, key)
        with self._lock:
            # a look-up that raced a revocation may have read the key as still good
            if generation == self._generation:
                if len(self._seen) > 10_000:
                    self._seen.clear()
                self._seen[key or ""] = (now + self.ttl, p)
        return p

    def forget(self, key_id: int) -> None:
        """Drop a key now (it was revoked); call after the revocation commits."""
        with self._lock:
            self._generation += 1
            self._seen = {k: v for k, v in self._seen.items() if v[1].key_id != key_id}


class TooManyFailures(ApiError):
    """429: this address sent too many bad keys lately; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "too_many_failures",
                         f"该地址密钥错误次数过多，请 {retry_after} 秒后再试",
                         f"too many failed authentications from this address; "
                         f"retry in {retry_after} s")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class BadKeyThrottle:
    """Failed authentications per client address, in a sliding window.

    After ``limit`` failures within ``window`` seconds, :meth:`failed` tells
    the address to wait until the oldest of them leaves the window (failures
    while waiting count too, so a client that keeps guessing stays waiting).
    Good keys are never asked about, so they keep working from a throttled
    address. At most ``max_clients`` addresses are tracked, the one that failed
    least recently is forgotten first. ``limit`` 0 turns it off.
    """

    def __init__(self, limit: int = 20, window: float = 60.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> BadKeyThrottle:
        return cls(settings.bad_key_limit, settings.bad_key_window_seconds,
                   settings.bad_key_clients)

    def __len__(self) -> int:
        return len(self._clients)

    def failed(self, client: str) -> int | None:
        """Count one failure; the seconds to wait when over the limit, else None."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            times = self._clients.pop(client, None)
            if times is None:
                times = deque(maxlen=self.limit)
                while len(self._clients) >= max(self.max_clients, 1):
                    self._clients.popitem(last=False)
            while times and times[0] <= now - self.window:
                times.popleft()
            over = len(times) >= self.limit
            times.append(now)
            self._clients[client] = times  # last: the most recently failing
            if not over:
                return None
            return max(1, math.ceil(times[0] + self.window - now))


def client_address(request: Request) -> str:
    """The caller's address; IPv6 by its /64, which one host usually holds whole."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


_THROTTLE_LOCK = threading.Lock()


def _throttle(request: Request) -> BadKeyThrottle:
    state = request.app.state
    with _THROTTLE_LOCK:  # app.state.bad_keys: made on first use, from the app's settings
        throttle: BadKeyThrottle | None = getattr(state, "bad_keys", None)
        if throttle is None:
            throttle = state.bad_keys = BadKeyThrottle.from_settings(state.settings)
        return throttle


def get_principal(request: Request, s: SessionDep,
                  x_api_key: Annotated[str | None, Header(description="站点 API 密钥")] = None,
                  ) -> Principal:
    cache: PrincipalCache = request.app.state.principals
    try:
        p = cache.get(s, x_api_key)
    except ApiError as e:
        if e.status == 401:
            wait = _throttle(request).failed(client_address(request))
            if wait is not None:
                raise TooManyFailures(wait) from None
        raise
    # read by service.middleware: every string a masked caller receives is scrubbed
    request.state.masked = p.masked
    return p


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_writer(p: PrincipalDep) -> Principal:
    if not p.can_write:
        raise ApiError(403, "read_only", "当前密钥只读，不能修改", "this key is read-only")
    return p


WriterDep = Annotated[Principal, Depends(get_writer)]


def get_admin(p: PrincipalDep) -> Principal:
    if p.role != "admin":
        raise ApiError(403, "admin_only", "只有管理员可以执行此操作", "admin only")
    return p


AdminDep = Annotated[Principal, Depends(get_admin)]
