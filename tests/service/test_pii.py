"""Personal information never reaches a masked caller, an export or a log (个人信息保护法).

The need below carries a phone number and an ID number in every field a
person can type; the tests walk every readable route and export as a
researcher and find neither, whatever the route.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from service.db import make_engine
from service.middleware import PiiLogFilter, QueryRedactingFilter

from .conftest import Keys

PHONE = "13987654321"
ID_NO = "330106196001011234"
SECRETS = (PHONE, ID_NO, "1398765", "8765432", "19600101")
TAGGED = f"电话{PHONE}，身份证{ID_NO}"


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture
def tagged(client: TestClient, keys: Keys) -> str:
    """A need, decisions, feedback and an actor, each typed with a phone and an ID number."""
    h = keys.h("admin")
    r = client.post("/api/v1/needs", headers=h, json={
        "need_id": "PII1", "community_id": "C001", "text": f"独居老人需要送饭，{TAGGED}",
        "contact_name": f"王阿姨{PHONE}", "contact_phone": PHONE, "id_number": ID_NO,
        "roles": ["volunteer", "social_worker"]})
    assert r.status_code == 201, r.text
    st = keys.h("station")
    assert client.post("/api/v1/needs/PII1/decisions", headers=st, json={
        "action": "accept", "role": "volunteer", "actor_id": "V001",
        "reason": f"家属同意，{TAGGED}"}).status_code == 200
    assert client.post("/api/v1/needs/PII1/decisions", headers=st, json={
        "action": "reject", "role": "social_worker", "actor_id": "S001",
        "reason": f"时间不合适，{TAGGED}"}).status_code == 200
    assert client.post("/api/v1/needs/PII1/feedback", headers=st, json={
        "actor_id": "V001", "outcome": "completed", "satisfaction": 5,
        "comment": f"很满意，{TAGGED}"}).status_code == 201
    assert client.patch("/api/v1/actors/V001", headers=h, json={
        "text": f"助餐送餐，{TAGGED}"}).status_code == 200
    return "PII1"


def _paths(app: FastAPI, need_id: str) -> list[str]:
    """Every GET operation of the API (from its OpenAPI document), parameters filled in."""
    fill = {"need_id": need_id, "actor_id": "V001", "run_id": "latest", "prefix": "wsk_"}
    out: list[str] = []
    for path, ops in app.openapi()["paths"].items():
        if "get" not in ops:
            continue
        if "{what}" in path:
            out += [path.replace("{what}", w) for w in
                    ("needs", "actors", "assignments", "communities")]
            continue
        for name, value in fill.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {path}"
        out.append(path)
    return out


def test_researcher_finds_no_phone_or_id_number_on_any_route(
        client: TestClient, app: FastAPI, keys: Keys, tagged: str) -> None:
    run = client.post("/api/v1/runs", headers=keys.h("admin"))
    assert run.status_code == 202
    for _ in range(300):
        if client.get("/api/v1/runs/latest", headers=keys.h("admin")).json()["status"] != "running":
            break
        time.sleep(0.1)
    h = keys.h("researcher")
    seen = 0
    for path in _paths(app, tagged):
        for extra in ("", "?encoding=gbk") if path.startswith("/api/v1/exports") else ("",):
            r = client.get(path + extra, headers=h)
            assert r.status_code < 500, path
            body = r.content.decode("gb18030" if "gbk" in extra else "utf-8", errors="replace")
            assert not _leaks(body), f"{path}{extra} shows {_leaks(body)}"
            seen += r.status_code == 200
    assert seen >= 15
    detail = client.get(f"/api/v1/needs/{tagged}", headers=h).json()
    # the need is there, masked, not missing
    assert "139****4321" in detail["text"] and detail["contact_phone"] == "139****4321"
    assert detail["history"] and detail["assignments"]


def test_station_sees_its_residents_in_full_but_exports_are_masked(
        client: TestClient, keys: Keys, tagged: str) -> None:
    h = keys.h("station")
    n = client.get(f"/api/v1/needs/{tagged}", headers=h).json()
    assert PHONE in n["text"] and n["contact_phone"] == PHONE
    for what in ("needs", "actors", "assignments"):
        for enc in ("utf-8", "gbk"):
            r = client.get(f"/api/v1/exports/{what}.csv?encoding={enc}", headers=h)
            body = r.content.decode("gb18030" if enc == "gbk" else "utf-8")
            assert r.status_code == 200 and not _leaks(body), (what, enc, _leaks(body))


def test_masked_search_cannot_rebuild_a_phone_number(client: TestClient, keys: Keys,
                                                      tagged: str) -> None:
    h = keys.h("researcher")

    def hits(q: str, who: str = "researcher") -> set[str]:
        r = client.get("/api/v1/needs", params={"q": q, "limit": 500}, headers=keys.h(who))
        assert r.status_code == 200
        return {n["need_id"] for n in r.json()["items"]}

    # digit by digit, as the tester did: no prefix of the hidden digits confirms anything
    for i in range(4, 12):
        assert tagged not in hits(PHONE[:i]), PHONE[:i]
    assert tagged not in hits(ID_NO[:10])
    assert tagged not in hits("19600101")
    assert tagged in hits("4321")  # the shown last digits may be searched
    assert tagged in hits("139****4321")  # the masked form as shown
    assert tagged in hits("独居老人需要送饭")
    assert tagged in hits(PHONE[:7], who="station")  # the station sees the number anyway
    r = client.get("/api/v1/actors", params={"q": PHONE[:7]}, headers=h).json()
    assert r["items"] == []
    assert client.get("/api/v1/actors", params={"q": "刘阿姨"}, headers=h).json()["items"] == []
    assert client.get("/api/v1/actors", params={"q": "刘阿姨"},
                      headers=keys.h("station")).json()["items"]


_PEOPLE = {"V001": "刘阿姨", "S001": "李敏"}


def test_one_rule_for_peoples_names(client: TestClient, keys: Keys, tagged: str) -> None:
    """Volunteers and social workers are people: masked for researchers everywhere."""
    h = keys.h("researcher")
    texts = [client.get("/api/v1/actors?limit=1000", headers=h).text,
             client.get(f"/api/v1/needs/{tagged}", headers=h).text,
             client.get(f"/api/v1/needs/{tagged}/suggestions?k=20", headers=h).text,
             client.get("/api/v1/needs/N0001/suggestions?k=20", headers=h).text,
             client.get("/api/v1/reports/linkage", headers=h).text,
             client.get("/api/v1/exports/actors.csv", headers=h).text,
             client.get("/api/v1/exports/needs.csv", headers=h).text]
    for body in texts:
        for aid, name in _PEOPLE.items():
            assert name not in body, (aid, body[:200])
    assert "刘**" in texts[0] and "李*" in texts[0]
    assert "西湖区颐乐养老服务中心" in texts[0]  # organizations are not people
    st = client.get(f"/api/v1/needs/{tagged}", headers=keys.h("station")).json()
    assert {a["actor_name"] for a in st["assignments"]} >= {"刘阿姨"}


def test_reports_and_exports_show_a_station_only_its_own_area(client: TestClient,
                                                               keys: Keys) -> None:
    h = keys.h("other_station")  # 朝晖街道: C006 only
    report = client.get("/api/v1/reports/linkage", headers=h).json()
    names = {a["actor_id"] for v in report["actor_load"].values() for a in v["actors"]}
    assert "V001" not in names  # a 翠苑 volunteer, community scope C001
    exported = client.get("/api/v1/exports/actors.csv", headers=h).text
    assert "\nV001," not in exported and "\nV009," in exported


def test_other_stations_need_ids_are_not_revealed(client: TestClient, keys: Keys) -> None:
    h = keys.h("other_station")
    taken = client.post("/api/v1/needs", headers=h, json={
        "need_id": "N0001", "community_id": "C006", "text": "楼道灯坏了"})
    free = client.post("/api/v1/needs", headers=h, json={
        "need_id": "ZZ-FREE-1", "community_id": "C006", "text": "楼道灯坏了"})
    assert taken.status_code == free.status_code == 403
    assert taken.json() == free.json()
    made = client.post("/api/v1/needs", headers=h, json={"community_id": "C006",
                                                        "text": "楼道灯坏了"})
    assert made.status_code == 201 and made.json()["need_id"]
    # an import reads an id another station holds exactly like a free one
    def upload(nid: str, dry: str) -> Any:
        body = f"need_id,community_id,text\n{nid},C006,楼道灯坏了\n".encode()
        return client.post(f"/api/v1/imports?dry_run={dry}", headers=h,
                           files={"files": ("needs.csv", body)})

    assert upload("N0001", "true").json() == upload("ZZ-FREE-2", "true").json()
    assert upload("N0001", "false").json() == upload("ZZ-FREE-2", "false").json()
    mine = client.get("/api/v1/needs?limit=500", headers=h).json()["items"]
    assert {"N0001", "ZZ-FREE-2"} <= {n["ref"] for n in mine}
    assert "N0001" not in {n["need_id"] for n in mine}
    theirs = client.get("/api/v1/needs/N0001", headers=keys.h("station")).json()
    assert theirs["community_id"] == "C001" and theirs["text"] != "楼道灯坏了"
    # feedback naming another station's need reads like one naming no need at all
    def feedback(nid: str) -> Any:
        body = f"need_id,actor_id,outcome\n{nid},V009,completed\n".encode()
        return client.post("/api/v1/imports?dry_run=true", headers=h,
                           files={"files": ("feedback.csv", body)}).json()

    assert feedback("N0001") == json.loads(json.dumps(feedback("ZZ-NONE")).replace(
        "ZZ-NONE", "N0001"))


def test_run_list_and_summary_name_no_other_station(client: TestClient, keys: Keys) -> None:
    r = client.post("/api/v1/runs", headers=keys.h("station"))
    assert r.status_code == 202
    for _ in range(300):
        run = client.get("/api/v1/runs/latest", headers=keys.h("admin")).json()
        if run["status"] != "running":
            break
        time.sleep(0.1)
    assert run["status"] == "succeeded"
    other = keys.h("other_station")
    listed = client.get("/api/v1/runs", headers=other).json()
    assert listed[0]["triggered_by"] == "station"
    assert "翠苑" not in client.get("/api/v1/runs", headers=other).text
    mine = client.get("/api/v1/runs", headers=keys.h("station")).json()
    assert mine[0]["triggered_by"].startswith("station:翠苑街道#")
    summary = client.get("/api/v1/runs/latest", headers=other).json()["summary"]
    for key in summary["shortage_by_category_community"]:
        assert key.endswith("|C006"), key
    full = client.get("/api/v1/runs/latest", headers=keys.h("admin")).json()["summary"]
    assert any(not k.endswith("|C006") for k in full["shortage_by_category_community"])


# ---------------------------------------------------------------- logs


def test_access_log_keeps_no_query_values() -> None:
    rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                            '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5", "GET", f"/api/v1/needs?q={PHONE}&limit=5", "1.1", 200),
                            None)
    assert QueryRedactingFilter().filter(rec)
    line = rec.getMessage()
    assert PHONE not in line and "limit=5" in line and "/api/v1/needs?q=" in line


def test_access_log_of_a_real_server_keeps_no_search(app: FastAPI, keys: Keys,
                                                     client: TestClient) -> None:
    import socket

    import httpx
    import uvicorn

    lines: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    access = logging.getLogger("uvicorn.access")
    grab = Grab()
    access.addHandler(grab)
    old_level = access.level
    access.setLevel(logging.INFO)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/needs", params={"q": f"王{PHONE}"},
                      headers=keys.h("station"))
        assert r.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access.removeHandler(grab)
        access.setLevel(old_level)
    assert any("/api/v1/needs?q=" in line for line in lines), lines
    assert not any(PHONE in line or "%E7%8E%8B" in line for line in lines), lines


def test_database_errors_carry_no_parameters(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.sqlite3")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'a')")
    from sqlalchemy import text

    with pytest.raises(IntegrityError) as exc, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1, :t)"), {"t": TAGGED})
    assert TAGGED not in str(exc.value) and PHONE not in str(exc.value)


def test_service_log_lines_and_tracebacks_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("wushe.service")
    flt = PiiLogFilter()
    log.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger="wushe.service"):
            log.info("importing %s", TAGGED)
            try:
                raise ValueError(f"bad row: {TAGGED}")
            except ValueError:
                log.exception("unhandled error")
    finally:
        log.removeFilter(flt)
    assert caplog.records
    assert not _leaks(caplog.text), caplog.text
    assert "139****4321" in caplog.text and "ValueError" in caplog.text


def test_a_locked_database_is_a_503_with_retry_after(app: FastAPI, client: TestClient,
                                                      keys: Keys) -> None:
    def boom() -> None:
        raise OperationalError("UPDATE needs", {}, sqlite3.OperationalError("database is locked"))

    app.add_api_route("/api/v1/_test_locked", boom, methods=["POST"])
    r = client.post("/api/v1/_test_locked", headers=keys.h("station"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "busy" and r.json()["error"]["message"]


# ---------------------------------------------------------------- headers


def test_security_headers_on_page_and_api(client: TestClient, keys: Keys) -> None:
    for path in ("/static/index.html", "/api/v1/health", "/api/v1/needs"):
        r = client.get(path, headers=keys.h("station"))
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_page_needs_no_inline_script_or_style() -> None:
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "service" / "static"
    html = (static / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html) and "style=" not in html
    js = (static / "app.js").read_text(encoding="utf-8")
    assert "style=" not in js


def test_cors_closed_by_default_and_configurable(client: TestClient, db_url: str) -> None:
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    r = client.options("/api/v1/needs", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    from .conftest import make_app

    with TestClient(make_app(db_url, cors_origins=["https://portal.example"])) as c2:
        ok = c2.options("/api/v1/needs", headers={**pre, "Origin": "https://portal.example"})
        assert ok.headers["access-control-allow-origin"] == "https://portal.example"
        bad = c2.options("/api/v1/needs", headers=pre)
        assert "access-control-allow-origin" not in bad.headers


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_exports_write_formulas_as_text(client: TestClient, keys: Keys, encoding: str) -> None:
    h = keys.h("admin")
    link = '=HYPERLINK("http://evil.example","点我")'
    dde = "=cmd|' /C calc'!A0"
    assert client.post("/api/v1/needs", headers=h, json={
        "need_id": "F1", "community_id": "C001", "text": link,
        "contact_name": "@SUM(1+1)"}).status_code == 201
    assert client.post("/api/v1/actors", headers=h, json={
        "actor_id": "F2", "kind": "organization", "name": dde, "text": "+1-2 送饭",
        "community_id": "C001"}).status_code == 201
    cells = []
    for what in ("needs", "actors"):
        r = client.get(f"/api/v1/exports/{what}.csv?encoding={encoding}", headers=h)
        text = r.content.decode("gb18030" if encoding == "gbk" else "utf-8")
        cells += _cells(text.lstrip("\ufeff"))
    assert "'" + link in cells and "'" + dde in cells and "'@SUM(1+1)" in cells
    assert "'+1-2 送饭" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c[:1] == "-" and not re.fullmatch(r"-[\d.]+", c)]
