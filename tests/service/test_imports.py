"""Importing the contract's CSV lists over the API: GBK, all-or-nothing, dry runs."""

import pytest
from fastapi.testclient import TestClient

from .conftest import Keys

NEEDS_HEADER = "need_id,community_id,text,urgency,contact_phone\n"


def _upload(client: TestClient, keys: Keys, who: str, name: str, body: bytes,
            **params: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = client.post("/api/v1/imports", headers=keys.h(who), params=params,
                    files={"files": (name, body, "text/csv")})
    return r.status_code, r.json()


def test_gbk_needs_file_is_imported_with_inference(client: TestClient, keys: Keys) -> None:
    body = (NEEDS_HEADER + "X1,C001,我妈瘫痪在床，想找人帮忙洗澡,3,13700001111\n"
            "X2,C002,孩子放学没人管,2,\n").encode("gbk")
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 200, res
    assert res["added"] == {"needs": 2}
    # a station's own numbers are kept as its reference; the service gives the ids
    found = client.get("/api/v1/needs?q=X1", headers=keys.h("station")).json()["items"]
    assert [n["ref"] for n in found] == ["X1"]
    got = client.get(f"/api/v1/needs/{found[0]['need_id']}", headers=keys.h("station")).json()
    assert got["text"].startswith("我妈瘫痪") and got["inferred_category"]
    assert got["contact_phone"] == "13700001111"
    # imported again, the same numbers update the same needs
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 200 and res["updated"] == {"needs": 2} and "needs" not in res["added"]
    exported = client.get("/api/v1/exports/needs.csv", headers=keys.h("station")).content
    code, res = _upload(client, keys, "station", "needs.csv", exported)
    assert code == 200 and "needs" not in res["added"], res


def test_a_bad_row_imports_nothing_and_names_file_line_column(client: TestClient,
                                                               keys: Keys) -> None:
    body = (NEEDS_HEADER + "Y1,C001,想找人陪我去医院,2,\n"
            "Y2,C001,家里水管坏了,9,\n").encode()
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 422
    row = res["error"]["rows"][0]
    assert (row["file"], row["line"], row["column"]) == ("needs.csv", 3, "urgency")
    assert row["message"] and row["message_en"]
    assert client.get("/api/v1/needs/Y1", headers=keys.h("station")).status_code == 404
    code, res = _upload(client, keys, "station", "needs.csv", body, skip_bad_rows="true")
    assert code == 200 and res["added"] == {"needs": 1} and len(res["skipped"]) == 1


def test_dry_run_reports_without_saving(client: TestClient, keys: Keys) -> None:
    body = (NEEDS_HEADER + "Z1,C001,想学用智能手机,1,\n").encode()
    code, res = _upload(client, keys, "station", "needs.csv", body, dry_run="true")
    assert code == 200 and res["dry_run"] and res["added"] == {"needs": 1}
    assert client.get("/api/v1/needs/Z1", headers=keys.h("station")).status_code == 404


def test_station_cannot_import_needs_of_another_station(client: TestClient, keys: Keys) -> None:
    body = (NEEDS_HEADER + "Q1,C003,想找人陪我去医院,2,\n").encode()
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 422
    assert res["error"]["rows"][0]["column"] == "community_id"


def test_unknown_file_name_and_empty_file(client: TestClient, keys: Keys) -> None:
    code, res = _upload(client, keys, "admin", "people.csv", b"a,b\n")
    assert code == 422 and res["error"]["code"] == "unknown_file"
    code, res = _upload(client, keys, "admin", "needs.csv", b"")
    assert code == 422 and res["error"]["rows"][0]["file"] == "needs.csv"


def test_export_round_trips_through_import(client: TestClient, keys: Keys) -> None:
    h = keys.h("admin")
    actors = client.get("/api/v1/exports/actors.csv", headers=h)
    assert actors.status_code == 200 and actors.headers["content-type"].startswith("text/csv")
    code, res = _upload(client, keys, "admin", "actors.csv", actors.content)
    assert code == 200 and res["updated"]["actors"] == 36 and "actors" not in res["added"]
    gbk = client.get("/api/v1/exports/communities.csv?encoding=gbk", headers=h)
    assert "翠苑一区社区" in gbk.content.decode("gbk")
    assert client.get("/api/v1/exports/people.csv", headers=h).status_code == 404


def test_actor_create_and_update_are_scoped(client: TestClient, keys: Keys) -> None:
    body = {"actor_id": "V900", "kind": "volunteer", "name": "李阿姨", "text": "每周末可以陪老人聊天、买菜",
            "community_id": "C001"}
    r = client.post("/api/v1/actors", headers=keys.h("station"), json=body)
    assert r.status_code == 201 and r.json()["capacity"] == 1
    r = client.post("/api/v1/actors", headers=keys.h("other_station"),
                    json={**body, "actor_id": "V901"})
    assert r.status_code == 403
    r = client.patch("/api/v1/actors/V900", headers=keys.h("station"), json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False


FUNDS = ("actor_id,kind,name,text,city,scope,budget_yuan,categories,target_groups\n"
         "FX1,fund,银龄专项基金,仅限资助辖区高龄老人助餐和居家照护,杭州市,city,5000,,\n"
         "FX2,fund,社区微基金,资助领域不限，欢迎各类民生小项目申请,杭州市,city,5000,,\n"
         "FX3,fund,春蕾助学基金,专项资助困境儿童助学,杭州市,city,5000,child_welfare,儿童\n")


def test_a_text_implied_fund_restriction_is_one_warning_never_a_rule(client: TestClient,
                                                                     keys: Keys) -> None:
    code, res = _upload(client, keys, "admin", "actors.csv", FUNDS.encode(), dry_run="true")
    assert code == 200, res
    assert [(w["line"], w["column"]) for w in res["warnings"]] == [(2, "categories")]
    assert "FX1" in res["warnings"][0]["message_en"]
    assert "仅限资助辖区高龄老人助餐和居家照护" in res["warnings"][0]["message"]
    code, res = _upload(client, keys, "admin", "actors.csv", FUNDS.encode())
    assert code == 200 and res["added"] == {"actors": 3} and len(res["warnings"]) == 1
    listed = {a["actor_id"]: a for a in client.get(
        "/api/v1/actors?kind=fund", headers=keys.h("admin")).json()["items"]}
    assert "categories" in listed["FX1"]["warning"] and listed["FX2"]["warning"] == ""
    assert listed["FX1"]["categories"] == []  # nothing was restricted on the fund's behalf
    # unrestricted funds are suggested to every need they admit, whatever their text says
    child = client.post("/api/v1/needs", headers=keys.h("admin"), json={
        "community_id": "C001", "text": "孩子放学后没人照看，想找四点半课堂", "roles": ["fund"],
        "budget_yuan": 200}).json()["need_id"]
    got = client.get(f"/api/v1/needs/{child}/suggestions?k=20",
                     headers=keys.h("admin")).json()["suggestions"]["fund"]
    assert {"FX1", "FX2", "FX3"} <= {s["actor_id"] for s in got}


def test_an_upload_is_checked_in_memory_with_no_temp_folder(
        client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("the import wrote a temp folder")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    body = (NEEDS_HEADER + "M1,C001,楼道灯坏了一个月,2,\n").encode("utf-8")
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 200 and res["added"] == {"needs": 1}, res
    bad = (NEEDS_HEADER + "M2,C001,楼道灯坏了,9,\n").encode("utf-8")
    code, res = _upload(client, keys, "station", "needs.csv", bad)
    assert code == 422 and "needs.csv" in str(res), res


def _book(sheets: dict[str, list[list[object]]]) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_a_workbook_imports_like_its_csv_files(client: TestClient, keys: Keys) -> None:
    header = NEEDS_HEADER.strip().split(",")
    body = _book({"说明": [["请按格式填写"]],
                  "需求清单": [header, ["W1", "C001", "我爸腿脚不好，想找人陪着去医院", 3, 13800001111]]})
    r = client.post("/api/v1/imports", headers=keys.h("station"),
                    files={"files": ("本站清单.xlsx", body, XLSX)})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == {"needs": 1}
    found = client.get("/api/v1/needs?q=W1", headers=keys.h("station")).json()["items"]
    assert [n["ref"] for n in found] == ["W1"]
    # a bad cell names the workbook, the sheet and the row; nothing is written
    bad = _book({"needs": [header, ["W2", "C001", "楼道灯坏了", 9, ""]]})
    r = client.post("/api/v1/imports", headers=keys.h("station"),
                    files={"files": ("b.xlsx", bad, XLSX)})
    assert r.status_code == 422, r.text
    err = r.json()["error"]["rows"][0] if "rows" in r.json()["error"] else r.json()["error"]
    assert "b.xlsx[needs]" in str(err) and "urgency" in str(err)
    # a workbook with no list in it, and a damaged one, are clear errors
    for book in (_book({"说明": [["空"]]}), b"PK\x03\x04 broken"):
        r = client.post("/api/v1/imports", headers=keys.h("station"),
                        files={"files": ("c.xlsx", book, XLSX)})
        assert r.status_code == 422 and "c.xlsx" in r.text, r.text


def test_a_workbook_row_of_another_station_names_the_sheet(client: TestClient,
                                                          keys: Keys) -> None:
    header = NEEDS_HEADER.strip().split(",")
    book = _book({"需求清单": [header, ["Q2", "C003", "想找人陪我去医院", 2, ""]]})
    r = client.post("/api/v1/imports", headers=keys.h("station"),
                    files={"files": ("本站.xlsx", book, XLSX)})
    assert r.status_code == 422, r.text
    row = r.json()["error"]["rows"][0]
    assert row["file"] == "本站.xlsx[需求清单]" and row["line"] == 2, row
    assert row["column"] == "community_id"


def test_stored_lists_are_read_as_rows_not_rendered_as_csv(
        client: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.imports as imports

    def refuse(*a: object, **k: object) -> str:
        raise AssertionError("a stored list was rendered as CSV for the check")

    monkeypatch.setattr(imports, "_write", refuse)
    body = (NEEDS_HEADER + "M3,C001,楼道灯坏了一个月,2,\n").encode("utf-8")
    code, res = _upload(client, keys, "station", "needs.csv", body)
    assert code == 200 and res["added"] == {"needs": 1}, res
