"""Every role against every kind of route: scope, read-only, masking, 401s."""

import pytest
from fastapi.testclient import TestClient

from .conftest import Keys


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wsk_not-a-key"}, {"X-API-Key": ""}])
def test_missing_or_unknown_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/api/v1/needs", "/api/v1/actors", "/api/v1/runs", "/api/v1/me",
                 "/api/v1/reports/linkage", "/api/v1/exports/needs.csv"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] in ("missing_key", "invalid_key")
        assert r.json()["error"]["message"]


def test_another_stations_need_is_404_everywhere(client: TestClient, keys: Keys) -> None:
    h = keys.h("other_station")  # 朝晖街道 does not hold C001
    assert client.get("/api/v1/needs/N0001", headers=h).status_code == 404
    assert client.get("/api/v1/needs/N0001/suggestions", headers=h).status_code == 404
    r = client.post("/api/v1/needs/N0001/decisions", headers=h,
                    json={"action": "accept", "role": "volunteer", "actor_id": "V001"})
    missing = client.post("/api/v1/needs/N9999/decisions", headers=h,
                          json={"action": "accept", "role": "volunteer", "actor_id": "V001"})
    # indistinguishable from a need that does not exist: nothing of it leaks
    assert r.status_code == missing.status_code == 404
    assert r.text.replace("N0001", "N9999") == missing.text
    assert client.patch("/api/v1/needs/N0001", headers=h, json={"urgency": 1}).status_code == 404
    assert client.post("/api/v1/needs/N0001/close", headers=h,
                       json={"status": "cancelled"}).status_code == 404
    listed = client.get("/api/v1/needs?q=送饭&limit=500", headers=h).json()["items"]
    assert "N0001" not in {n["need_id"] for n in listed}
    exported = client.get("/api/v1/exports/needs.csv", headers=h).text
    assert "N0001" not in exported


def test_researcher_reads_masked_and_cannot_write(client: TestClient, keys: Keys) -> None:
    h = keys.h("researcher")
    items = client.get("/api/v1/needs?limit=500", headers=h).json()["items"]
    assert len(items) == 25
    n1 = next(n for n in items if n["need_id"] == "N0001")
    assert n1["contact_name"] == "王**" and n1["contact_phone"] == "139****5678"
    assert client.post("/api/v1/needs", headers=h,
                       json={"community_id": "C001", "text": "送饭"}).status_code == 403
    r = client.post("/api/v1/needs/N0001/decisions", headers=h,
                    json={"action": "accept", "role": "volunteer", "actor_id": "V001"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "read_only"
    assert client.post("/api/v1/runs", headers=h).status_code == 403
    assert client.post("/api/v1/imports", headers=h,
                       files={"files": ("needs.csv", b"need_id\n")}).status_code == 403
    assert client.get("/api/v1/audit", headers=h).status_code == 403


def test_station_sees_names_of_its_own_residents(client: TestClient, keys: Keys) -> None:
    n1 = client.get("/api/v1/needs/N0001", headers=keys.h("station")).json()
    assert n1["contact_name"] == "王秀英" and n1["contact_phone"] == "13912345678"


def test_exports_always_mask_phone_numbers(client: TestClient, keys: Keys) -> None:
    for who in ("admin", "station", "researcher"):
        text = client.get("/api/v1/exports/needs.csv", headers=keys.h(who)).text
        assert "13912345678" not in text and "139****5678" in text
        assert ("王秀英" in text) == (who != "researcher")


def test_admin_sees_all_and_reads_the_audit_log(client: TestClient, keys: Keys) -> None:
    r = client.post("/api/v1/needs", headers=keys.h("admin"),
                    json={"community_id": "C005", "text": "家里老人摔倒了需要人照看"})
    assert r.status_code == 201
    log = client.get("/api/v1/audit", headers=keys.h("admin")).json()
    assert log[0]["action"] == "need.create" and log[0]["who"].startswith("admin")
    me = client.get("/api/v1/me", headers=keys.h("station")).json()
    assert me["role"] == "station" and {c["community_id"] for c in me["communities"]} == {
        "C001", "C002"}


def test_station_cannot_import_communities(client: TestClient, keys: Keys) -> None:
    r = client.post("/api/v1/imports", headers=keys.h("station"), files={
        "files": ("communities.csv", "community_id,name,street,district\nC9,新社区,翠苑街道,西湖区\n".encode())})
    assert r.status_code == 422
    assert r.json()["error"]["rows"][0]["file"] == "communities.csv"
