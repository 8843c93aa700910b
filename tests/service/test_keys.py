"""Keys: the admin API, revocation through the key cache, bad-key throttling, first start."""

from __future__ import annotations

import io
import logging
import re
import stat
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.requests import Request

from service.auth import hash_key
from service.config import Settings
from service.deps import BadKeyThrottle, PrincipalCache, client_address
from service.errors import ApiError
from service.orm import ApiKey, AuditEntry
from service.seed import first_start_keys_path, hand_over_keys

from .conftest import Keys, make_app

BAD = {"X-API-Key": "wsk_not-a-key"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _audited(app: FastAPI, action: str) -> int:
    with app.state.sessions() as s:
        return int(s.scalar(select(func.count()).where(AuditEntry.action == action)) or 0)


# --- the admin API -------------------------------------------------------------------------


def test_keys_list_shows_prefixes_never_keys_or_hashes(client: TestClient, keys: Keys) -> None:
    r = client.get("/api/v1/keys", headers=keys.h("admin"))
    assert r.status_code == 200
    listed = {k["prefix"]: k for k in r.json()}
    assert keys.station[:10] in listed and keys.admin[:10] in listed
    assert listed[keys.station[:10]]["station_id"] == "翠苑街道"
    assert set(listed[keys.station[:10]]) == {"prefix", "role", "station_id", "label",
                                              "created_at", "revoked_at"}
    for key in (keys.admin, keys.station, keys.other_station, keys.researcher):
        assert key not in r.text and hash_key(key) not in r.text


@pytest.mark.parametrize("who", ["station", "other_station", "researcher"])
def test_keys_api_is_admin_only(client: TestClient, keys: Keys, who: str) -> None:
    for r in (client.get("/api/v1/keys", headers=keys.h(who)),
              client.post("/api/v1/keys", headers=keys.h(who), json={"role": "admin"}),
              client.post(f"/api/v1/keys/{keys.admin[:10]}/revoke", headers=keys.h(who))):
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only"
    assert client.get("/api/v1/me", headers=keys.h("admin")).status_code == 200


def test_keys_create_returns_the_key_once(client: TestClient, app: FastAPI,
                                          keys: Keys) -> None:
    r = client.post("/api/v1/keys", headers=keys.h("admin"),
                    json={"role": "station", "station_id": "朝晖街道", "label": "李社工"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    made = r.json()
    assert made["key"].startswith("wsk_") and made["prefix"] == made["key"][:10]
    assert made["role"] == "station" and made["label"] == "李社工" and made["revoked_at"] is None
    me = client.get("/api/v1/me", headers={"X-API-Key": made["key"]}).json()
    assert me["role"] == "station" and me["station_id"] == "朝晖街道"
    listed = client.get("/api/v1/keys", headers=keys.h("admin"))
    assert made["prefix"] in listed.text and made["key"] not in listed.text
    assert _audited(app, "key.create") == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"role": "station"}, 400, "station_required"),
    ({"role": "station", "station_id": "不存在街道"}, 404, "unknown_station"),
    ({"role": "admin", "station_id": "翠苑街道"}, 400, "station_not_allowed"),
    ({"role": "root"}, 422, "invalid_request"),
])
def test_keys_create_refuses_bad_input(client: TestClient, keys: Keys, body: dict[str, str],
                                       status: int, code: str) -> None:
    r = client.post("/api/v1/keys", headers=keys.h("admin"), json=body)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert r.json()["error"]["message"] and r.json()["error"]["message_en"]


def test_revoked_key_is_401_at_once_in_the_same_app(client: TestClient, app: FastAPI,
                                                     keys: Keys) -> None:
    h = keys.h("station")
    assert client.get("/api/v1/me", headers=h).status_code == 200  # now in the key cache
    first = client.post(f"/api/v1/keys/{keys.station[:10]}/revoke", headers=keys.h("admin"))
    assert first.status_code == 200
    assert first.json()["already_revoked"] is False and first.json()["revoked_at"]
    r = client.get("/api/v1/me", headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    again = client.post(f"/api/v1/keys/{keys.station[:10]}/revoke", headers=keys.h("admin"))
    assert again.status_code == 200 and again.json()["already_revoked"] is True
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert _audited(app, "key.revoke") == 1
    assert client.get("/api/v1/me", headers=keys.h("other_station")).status_code == 200


def test_revoke_of_an_unknown_or_ambiguous_prefix_is_refused(client: TestClient, app: FastAPI,
                                                             keys: Keys) -> None:
    r = client.post("/api/v1/keys/wsk_nothing/revoke", headers=keys.h("admin"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_key"
    assert "wsk_nothing" in r.json()["error"]["message"]
    with app.state.sessions() as s, s.begin():
        for n in (1, 2):
            s.add(ApiKey(key_hash=hash_key(f"wsk_twin-{n}"), prefix="wsk_twin00", role="admin"))
    r = client.post("/api/v1/keys/wsk_twin00/revoke", headers=keys.h("admin"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "ambiguous_prefix"
    assert "2" in r.json()["error"]["message"] and r.json()["error"]["message_en"]
    assert _audited(app, "key.revoke") == 0


def test_revocation_reaches_another_process_within_the_ttl(client: TestClient, app: FastAPI,
                                                           keys: Keys) -> None:
    clock = FakeClock()
    other = PrincipalCache(ttl=0.5, clock=clock)  # another worker's cache
    with app.state.sessions() as s:
        assert other.get(s, keys.station).role == "station"
    client.post(f"/api/v1/keys/{keys.station[:10]}/revoke", headers=keys.h("admin"))
    with app.state.sessions() as s:
        assert other.get(s, keys.station).role == "station"  # still cached there
        clock.now += 0.6
        with pytest.raises(ApiError, match="已停用") as e:
            other.get(s, keys.station)
    assert e.value.status == 401


# --- bad keys --------------------------------------------------------------------------------


def _throttled(app: FastAPI, limit: int = 3) -> FakeClock:
    clock = FakeClock()
    app.state.bad_keys = BadKeyThrottle(limit=limit, window=60.0, clock=clock)
    return clock


def test_bad_keys_get_429_and_good_keys_still_pass(client: TestClient, app: FastAPI,
                                                   keys: Keys) -> None:
    clock = _throttled(app)
    for headers in (BAD, {}, BAD):  # a missing key counts too
        assert client.get("/api/v1/needs", headers=headers).status_code == 401
    r = client.get("/api/v1/needs", headers=BAD)
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_failures"
    assert r.json()["error"]["message"] and "retry" in r.json()["error"]["message_en"]
    assert client.get("/api/v1/actors", headers={}).status_code == 429
    # a good key from the same address is not locked out, cached or not
    assert client.get("/api/v1/me", headers=keys.h("station")).status_code == 200
    assert client.get("/api/v1/me", headers=keys.h("station")).status_code == 200
    clock.now += 59
    assert client.get("/api/v1/needs", headers=BAD).status_code == 429
    clock.now += 61  # every failure has left the window
    assert client.get("/api/v1/needs", headers=BAD).status_code == 401


def test_bad_key_429_says_when_to_retry(client: TestClient, app: FastAPI) -> None:
    clock = _throttled(app)
    for _ in range(3):
        client.get("/api/v1/needs", headers=BAD)
    clock.now += 20
    r = client.get("/api/v1/needs", headers=BAD)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "40"
    assert "40" in r.json()["error"]["message"]


def test_bad_key_limit_comes_from_the_settings(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/wushe.sqlite3", bad_key_limit=2)
    with TestClient(app) as c:
        assert [c.get("/api/v1/me", headers=BAD).status_code for _ in range(3)] == [401, 401, 429]


def test_bad_key_throttle_tracks_a_bounded_number_of_clients() -> None:
    clock = FakeClock()
    throttle = BadKeyThrottle(limit=1, window=60.0, max_clients=2, clock=clock)
    assert throttle.failed("10.0.0.1") is None and throttle.failed("10.0.0.1") == 60
    for n in range(2, 50):
        throttle.failed(f"10.0.0.{n}")
    assert len(throttle) == 2
    assert throttle.failed("10.0.0.1") is None  # forgotten: the least recently failing
    assert BadKeyThrottle(limit=0).failed("10.0.0.1") is None  # 0: no limit


def test_client_address_groups_ipv6_by_its_64() -> None:
    def addr(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1234)}))

    assert addr("2001:db8:1:2::1") == addr("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert addr("192.0.2.7") == "192.0.2.7" and addr("testclient") == "testclient"


def test_429_is_declared_on_authenticated_routes(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, method in (("/api/v1/needs", "get"), ("/api/v1/keys", "post"),
                         ("/api/v1/keys/{prefix}/revoke", "post")):
        assert "429" in paths[path][method]["responses"], path


# --- first start -----------------------------------------------------------------------------


def test_first_start_keys_go_to_an_owner_only_file_never_a_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys" / "first.txt"
    app = make_app(f"sqlite:///{tmp_path}/wushe.sqlite3", first_start_keys_file=str(path))
    with caplog.at_level(logging.DEBUG), TestClient(app) as c:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        found = re.findall(r"wsk_[\w-]+", path.read_text(encoding="utf-8"))
        assert len(found) >= 3
        for key in found:
            assert c.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    out, err = capfd.readouterr()
    for key in found:
        assert key not in caplog.text and key not in out and key not in err
    naming = [r for r in caplog.records if str(path) in r.getMessage()]
    assert len(naming) == 1 and "删除" in naming[0].getMessage()


def test_first_start_keys_on_a_terminal_are_shown_there_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    settings = Settings(database_url=f"sqlite:///{tmp_path}/wushe.sqlite3")
    with caplog.at_level(logging.DEBUG):
        assert hand_over_keys([("管理员 admin", "wsk_secret")], settings, term) is None
    assert "wsk_secret" in term.getvalue() and "wsk_secret" not in caplog.text
    assert not first_start_keys_path(settings).exists()


def test_first_start_keys_file_defaults_next_to_the_sqlite_database(tmp_path: Path) -> None:
    sqlite = Settings(database_url=f"sqlite:///{tmp_path}/db/wushe.sqlite3")
    assert first_start_keys_path(sqlite) == tmp_path / "db" / "first-start-keys.txt"
    pg = Settings(database_url="postgresql://wushe@localhost/wushe")
    assert first_start_keys_path(pg) == Path("var") / "first-start-keys.txt"
    chosen = Settings(first_start_keys_file=str(tmp_path / "k.txt"))
    assert first_start_keys_path(chosen) == tmp_path / "k.txt"
