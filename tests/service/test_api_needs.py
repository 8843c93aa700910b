from fastapi.testclient import TestClient

from .conftest import Keys


def test_health_reports_database_and_model(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok" and body["model_version"]


def test_needs_list_is_scoped_to_the_station(client: TestClient, keys: Keys) -> None:
    mine = client.get("/api/v1/needs?limit=500", headers=keys.h("station")).json()
    assert mine["total"] > 0
    assert {n["community_id"] for n in mine["items"]} <= {"C001", "C002"}
    every = client.get("/api/v1/needs?limit=500", headers=keys.h("admin")).json()
    assert every["total"] == 25 > mine["total"]


def test_needs_filters_and_urgent_first(client: TestClient, keys: Keys) -> None:
    h = keys.h("admin")
    items = client.get("/api/v1/needs?limit=500", headers=h).json()["items"]
    open_urg = [n["urgency"] for n in items if n["status"] == "open"]
    assert open_urg == sorted(open_urg, reverse=True)
    eld = client.get("/api/v1/needs?category=elderly_care&limit=500", headers=h).json()["items"]
    assert eld and all((n["category"] or n["inferred_category"]) == "elderly_care" for n in eld)
    assert client.get("/api/v1/needs?urgency=4", headers=h).json()["items"][0]["urgency"] == 4
    kids = client.get("/api/v1/needs?target_group=儿童", headers=h).json()["items"]
    assert kids and all("儿童" in (n["target_groups"] or n["inferred_groups"]) for n in kids)
    found = client.get("/api/v1/needs?q=送饭", headers=h).json()["items"]
    assert found and all("送饭" in n["text"] for n in found)
    c2 = client.get("/api/v1/needs?community_id=C002", headers=h).json()["items"]
    assert c2 and {n["community_id"] for n in c2} == {"C002"}


def test_create_need_infers_category_and_groups(client: TestClient, keys: Keys) -> None:
    h = keys.h("station")
    r = client.post("/api/v1/infer".replace("/infer", "/needs/infer"), headers=h,
                    json={"text": "我妈85岁一个人住，做不了饭"})
    assert r.status_code == 200 and r.json()["category"] == "elderly_care"
    assert "老年人" in r.json()["groups"]
    r = client.post("/api/v1/needs", headers=h, json={
        "community_id": "C001", "text": "楼上邻居半夜装修，吵了好几次架", "urgency": 3,
        "roles": ["social_worker", "volunteer"], "contact_phone": "13900001111"})
    assert r.status_code == 201, r.text
    need = r.json()
    assert need["inferred_category"] == "mediation" and need["inferred_category_zh"]
    assert need["volunteers_needed"] == 1 and need["status"] == "open"
    got = client.get(f"/api/v1/needs/{need['need_id']}", headers=h).json()
    assert got["history"][0]["action"] == "need.create"


def test_blank_urgency_is_inferred_and_marked_until_staff_set_it(client: TestClient,
                                                                  keys: Keys) -> None:
    h = keys.h("station")
    r = client.post("/api/v1/needs/infer", headers=h,
                    json={"text": "我爸心脏病的药明天就吃完了，家里一个人都没有，他走不动路"})
    assert r.status_code == 200 and r.json()["urgency"] >= 3
    assert 0 < r.json()["urgency_confidence"] <= 1
    r = client.post("/api/v1/needs", headers=h, json={
        "community_id": "C001", "text": "我爸心脏病的药明天就吃完了，家里一个人都没有，他走不动路"})
    assert r.status_code == 201, r.text
    need = r.json()
    assert need["urgency"] >= 3 and need["urgency_given"] is False
    assert 0 < need["inferred_urgency_confidence"] <= 1
    sugg = client.get(f"/api/v1/needs/{need['need_id']}/suggestions", headers=h).json()
    assert sugg["inferred"]["urgency"] == need["urgency"]
    assert sugg["inferred"]["urgency_given"] is False
    r = client.patch(f"/api/v1/needs/{need['need_id']}", headers=h, json={"urgency": 1})
    assert r.status_code == 200 and r.json()["urgency"] == 1 and r.json()["urgency_given"]
    assert r.json()["inferred_urgency_confidence"] == 0
    given = client.post("/api/v1/needs", headers=h, json={
        "community_id": "C001", "text": "想学跳广场舞", "urgency": 2}).json()
    assert given["urgency"] == 2 and given["urgency_given"] is True


def test_an_unsure_need_is_ranked_for_its_two_likely_categories(client: TestClient,
                                                                 keys: Keys) -> None:
    h = keys.h("station")
    need = client.post("/api/v1/needs", headers=h, json={
        "community_id": "C001", "text": "中风后下不了楼"}).json()
    body = client.get(f"/api/v1/needs/{need['need_id']}/suggestions", headers=h).json()
    assert body["inferred"]["category_confidence"] < 0.5
    assert len(body["likely_categories"]) == 2
    alts = [a["category"] for a in body["inferred"]["category_alternatives"]]
    assert set(body["likely_categories"]) <= {body["inferred"]["category"], *alts}
    sure = client.get("/api/v1/needs/N0001/suggestions", headers=h).json()
    assert sure["likely_categories"] == ["elderly_care"]


def test_create_need_in_another_stations_community_is_refused(client: TestClient,
                                                               keys: Keys) -> None:
    r = client.post("/api/v1/needs", headers=keys.h("station"),
                    json={"community_id": "C003", "text": "想找人陪我去医院"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "community_not_found"


def test_create_need_validation_error_is_bilingual(client: TestClient, keys: Keys) -> None:
    r = client.post("/api/v1/needs", headers=keys.h("station"),
                    json={"community_id": "C001", "text": "", "urgency": 9})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and err["message"] == "请求内容无效"
    assert {row["location"] for row in err["rows"]} >= {"body.text", "body.urgency"}


def test_update_and_close_need(client: TestClient, keys: Keys) -> None:
    h = keys.h("station")
    r = client.patch("/api/v1/needs/N0002", headers=h, json={"urgency": 4, "category": "child_welfare"})
    assert r.status_code == 200 and r.json()["urgency"] == 4
    assert client.patch("/api/v1/needs/N0002", headers=h,
                        json={"category": "nonsense"}).status_code == 422
    r = client.post("/api/v1/needs/N0002/close", headers=h, json={"status": "done"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    r = client.post("/api/v1/needs/N0002/decisions", headers=h,
                    json={"action": "accept", "role": "volunteer", "actor_id": "V001"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "need_closed"


def test_the_fitted_engine_is_kept_out_of_the_garbage_collectors_sight(
        client: TestClient, keys: Keys) -> None:
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    client.app.state.engine_cache._fitted = None  # type: ignore[attr-defined]
    client.app.state.engine_cache.mark_stale()  # type: ignore[attr-defined]
    r = client.get("/api/v1/needs/N0001/suggestions", headers=keys.h("admin"))
    assert r.status_code == 200
    matcher = client.app.state.engine_cache._fitted.matcher  # type: ignore[attr-defined]
    assert gc.get_freeze_count() > 0
    assert not gc.is_tracked(matcher) or matcher not in gc.get_objects(generation=2)
    gc.unfreeze()
