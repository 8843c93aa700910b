from fastapi.testclient import TestClient

from .conftest import Keys


def test_linkage_report_counts_the_stations_needs(client: TestClient, keys: Keys) -> None:
    h = keys.h("station")
    before = client.get("/api/v1/reports/linkage", headers=h).json()
    mine = client.get("/api/v1/needs?limit=500", headers=h).json()["total"]
    assert before["needs"] == mine and before["scope"]["communities"] == 2
    assert sum(c["served"] + c["unserved"] for c in before["by_category"]) == mine
    sw = client.get("/api/v1/needs/N0001/suggestions", headers=h).json()["suggestions"][
        "social_worker"][0]["actor_id"]
    client.post("/api/v1/needs/N0001/decisions", headers=h,
                json={"action": "accept", "role": "social_worker", "actor_id": sw})
    after = client.get("/api/v1/reports/linkage?community_id=C001", headers=h).json()
    assert after["scope"]["communities"] == 1
    assert after["time_to_match_hours"]["matched"] >= 1
    workers = {a["actor_id"]: a for a in after["actor_load"]["social_worker"]["actors"]}
    assert workers[sw]["load"] >= 1
    assert {f["actor_id"] for f in after["funds"]} >= {"F001", "F002"}
    other = client.get("/api/v1/reports/linkage?community_id=C003", headers=h).json()
    assert other["needs"] == 0  # not this station's community: nothing of it
