"""The API document says exactly what the service accepts.

Whitespace, patterns, strict types, lengths and the cross-field rules are
checked two ways: by a JSON Schema validator on the served document (the
ECMAScript regex reading schemathesis and clients use) and by the service.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import Field, TypeAdapter, ValidationError

from matcher.limits import FIELD_LIMITS, max_chars
from matcher.taxonomy import default_taxonomy
from service.auth import create_key
from service.openapi import LINKS
from service.schemas import ID_PATTERN, SPACE_CHARS, TEXT_PATTERN, NeedIn, trim

from .conftest import make_app

#: ECMAScript's \s: WhiteSpace (with every Zs character) and LineTerminator
_ECMA_SPACE = ({"\t", "\v", "\f", " ", "\xa0", "\ufeff", "\n", "\r", "\u2028", "\u2029"}
               | {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs"})
_BMP = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
_METHODS = ("get", "put", "post", "delete", "patch")
_NEED = {"community_id": "C001", "text": "我爸82岁一个人住，想找人帮忙送饭"}
_ACTOR = {"actor_id": "V-schema-1", "kind": "volunteer", "name": "王阿姨", "text": "助餐送餐",
          "community_id": "C001"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    db = Path(tmp_path_factory.mktemp("schemas")) / "wushe.sqlite3"
    app = make_app(f"sqlite:///{db}")
    with TestClient(app):
        with app.state.sessions() as s, s.begin():
            app.state.test_key = create_key(s, "station", "翠苑街道")
            app.state.admin_key = create_key(s, "admin")
        yield app


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        c.headers["X-API-Key"] = app.state.test_key
        yield c


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _validator(doc: dict[str, Any], model: str) -> Any:
    return jsonschema_rs.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                        "$ref": f"#/components/schemas/{model}",
                                        "components": doc["components"]})


def _agree(client: TestClient, doc: dict[str, Any], model: str, path: str,
           body: dict[str, Any], key: str | None = None) -> bool:
    """Whether the document and the service agree on ``body``; returns the document's view."""
    valid = _validator(doc, model).is_valid(body)
    r = client.post(path, json=body, headers={"X-API-Key": key} if key else None)
    refused = r.status_code == 422
    assert refused != valid, (body, r.status_code, r.text)
    if refused:
        assert set(r.json()["error"]) >= {"code", "message", "message_en"}
    return bool(valid)


# -- whitespace and patterns ------------------------------------------------------------


def test_space_chars_are_python_and_ecma_whitespace() -> None:
    python = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(SPACE_CHARS) == python | _ECMA_SPACE
    assert trim("\ufeff\u3000\x85 帮忙 \x1c\u2029") == "帮忙"


@pytest.mark.parametrize("pattern", [TEXT_PATTERN, ID_PATTERN])
def test_patterns_read_the_same_in_python_rust_and_ecma(pattern: str) -> None:
    python = re.compile(pattern)
    rust = TypeAdapter(Annotated[str, Field(pattern=pattern)])
    ecma = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})

    def by_rust(s: str) -> bool:
        try:
            rust.validate_python(s)
        except ValidationError:
            return False
        return True

    def by_python(s: str) -> bool:
        # an anchored pattern means the whole value, as in JSON Schema (Python's $ would
        # also match before a final newline, which no other engine does)
        return (python.fullmatch(s) if pattern.startswith("^") else python.search(s)) is not None

    samples = [*_BMP, "\U0002a700", "N1-x", "翠苑.1", "a b", "N1\n"]
    readings = {s: (by_python(s), by_rust(s), ecma.is_valid(s)) for s in samples}
    assert {s: r for s, r in readings.items() if len(set(r)) > 1} == {}
    if pattern == TEXT_PATTERN:
        assert [c for c in _BMP if ecma.is_valid(c) == (c in SPACE_CHARS)] == []


@pytest.mark.parametrize("blank", sorted(SPACE_CHARS), ids=lambda c: f"U+{ord(c):04X}")
def test_blank_name_is_refused_by_document_and_service(client: TestClient, doc: dict[str, Any],
                                                       blank: str) -> None:
    # U+0085 (NEL) is no whitespace to ECMAScript's \s: the document used to accept it
    assert not _agree(client, doc, "ActorIn", "/api/v1/actors", {**_ACTOR, "name": blank * 2})


def test_visible_text_is_kept_trimmed(client: TestClient, doc: dict[str, Any]) -> None:
    body = {**_ACTOR, "actor_id": "V-schema-trim", "name": "\u0085\u200b王阿姨\ufeff "}
    assert _agree(client, doc, "ActorIn", "/api/v1/actors", body)
    assert client.get("/api/v1/actors?q=王阿姨").json()["total"] >= 1
    assert NeedIn.model_validate({**_NEED, "text": "\x85 送饭\u3000"}).text == "送饭"


@pytest.mark.parametrize("actor_id, ok", [
    ("V-翠苑.1_a", True), ("V 1", False), ("V1\n", False), ("V١", False), ("Ｖ1", False),
    ("", False), ("V" * 101, False)])
def test_ids_are_ascii_chinese_and_punctuation(client: TestClient, doc: dict[str, Any],
                                               actor_id: str, ok: bool) -> None:
    body = {**_ACTOR, "actor_id": actor_id}
    assert _agree(client, doc, "ActorIn", "/api/v1/actors", body) is ok


# -- strict types --------------------------------------------------------------------------

_STRICT = [
    ("/api/v1/actors", _ACTOR, "capacity"),
    ("/api/v1/actors", {**_ACTOR, "kind": "fund"}, "budget_yuan"),
    ("/api/v1/needs", _NEED, "budget_yuan"),
    ("/api/v1/needs", _NEED, "urgency"),
    ("/api/v1/needs", _NEED, "beneficiaries"),
    ("/api/v1/needs", _NEED, "volunteers_needed"),
    ("/api/v1/needs/N0001/decisions", {"action": "complete", "assignment_id": 1}, "satisfaction"),
    ("/api/v1/needs/N0001/decisions", {"action": "start"}, "assignment_id"),
]


@pytest.mark.parametrize("value", [False, True, "5"], ids=repr)
@pytest.mark.parametrize("path, body, field", _STRICT, ids=[f"{p}:{f}" for p, _, f in _STRICT])
def test_numbers_refuse_bools_and_strings(client: TestClient, path: str, body: dict[str, Any],
                                          field: str, value: object) -> None:
    r = client.post(path, json={**body, field: value})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and err["message"] and err["message_en"]
    assert [row["location"] for row in err["rows"]] == [f"body.{field}"]


@pytest.mark.parametrize("value", [1, 0, "true"], ids=repr)
def test_bools_refuse_numbers_and_strings(client: TestClient, value: object) -> None:
    r = client.patch("/api/v1/actors/O002", json={"active": value})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_create_with_whole_numbers_still_works(client: TestClient) -> None:
    need = {**_NEED, "urgency": 3.0, "beneficiaries": 2, "budget_yuan": 3000,
            "volunteers_needed": 1}
    r = client.post("/api/v1/needs", json=need)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["urgency"], got["budget_yuan"], got["volunteers_needed"]) == (3, 3000.0, 1)
    actor = {**_ACTOR, "actor_id": "V-schema-int", "capacity": 5, "budget_yuan": 0}
    r = client.post("/api/v1/actors", json=actor)
    assert r.status_code == 201, r.text
    assert r.json()["capacity"] == 5


# -- lengths ------------------------------------------------------------------------------

_TABLE = {"NeedIn": "needs", "NeedPatch": "needs", "InferIn": "needs", "ActorIn": "actors",
          "ActorPatch": "actors", "FeedbackIn": "feedback", "DecisionIn": "decisions",
          "CloseIn": "decisions"}


def _string_schemas(prop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for s in prop.get("anyOf", [prop]):
        if s.get("type") == "string":
            yield s
        if s.get("type") == "array":
            yield from _string_schemas(s["items"])


def test_lengths_come_from_matcher_limits(doc: dict[str, Any]) -> None:
    checked = 0
    for model, table in _TABLE.items():
        for column, prop in doc["components"]["schemas"][model]["properties"].items():
            for s in _string_schemas(prop):
                if column in FIELD_LIMITS[table]:
                    assert s["maxLength"] == max_chars(table, column), (model, column)
                    checked += 1
    assert checked >= 25


def test_lengths_count_the_value_as_sent(client: TestClient, doc: dict[str, Any]) -> None:
    n = max_chars("needs", "contact_phone")
    assert _agree(client, doc, "NeedIn", "/api/v1/needs", {**_NEED, "contact_phone": "1" * n})
    assert not _agree(client, doc, "NeedIn", "/api/v1/needs",
                      {**_NEED, "contact_phone": "1" * n + " "})


# -- rules across fields, stated in the document and enforced by the routes ----------------


@pytest.mark.parametrize("body, ok", [
    ({**_NEED, "category": "elderly_care"}, True),
    ({**_NEED, "category": ""}, True),
    ({**_NEED, "category": "cooking"}, False),
    ({**_NEED, "category": " elderly_care"}, False),
])
def test_need_category_is_a_taxonomy_code(client: TestClient, doc: dict[str, Any],
                                          body: dict[str, Any], ok: bool) -> None:
    assert _agree(client, doc, "NeedIn", "/api/v1/needs", body) is ok
    enum = doc["components"]["schemas"]["NeedIn"]["properties"]["category"]["enum"]
    assert enum == ["", *default_taxonomy().codes]


@pytest.mark.parametrize("body, ok", [
    ({**_ACTOR, "actor_id": "V-home-1"}, True),
    ({**_ACTOR, "actor_id": "V-home-2", "community_id": "", "street": "翠苑街道"}, True),
    ({**_ACTOR, "actor_id": "V-home-3", "community_id": " "}, False),
    ({k: v for k, v in _ACTOR.items() if k != "community_id"}, False),
    ({**_ACTOR, "actor_id": "F-home-1", "kind": "fund"}, False),
    ({**_ACTOR, "actor_id": "F-home-2", "kind": "fund", "budget_yuan": 0}, False),
    ({**_ACTOR, "actor_id": "F-home-3", "kind": "fund", "budget_yuan": 500}, True),
])
def test_actor_needs_a_home_and_a_fund_money(app: FastAPI, client: TestClient,
                                             doc: dict[str, Any], body: dict[str, Any],
                                             ok: bool) -> None:
    # as admin: a station is refused an actor outside its area (403) before the rest
    assert _agree(client, doc, "ActorIn", "/api/v1/actors", body, app.state.admin_key) is ok


@pytest.mark.parametrize("body, ok", [
    ({"action": "accept", "role": "volunteer", "actor_id": "V001"}, True),
    ({"action": "start", "assignment_id": 1}, True),
    ({"action": "accept", "role": "volunteer"}, False),
    ({"action": "accept", "role": "volunteer", "actor_id": "\u3000"}, False),
    ({"action": "accept", "actor_id": "V001"}, False),
    ({"action": "accept", "assignment_id": None, "role": None, "actor_id": "V001"}, False),
    ({"action": "reject", "role": "volunteer", "actor_id": "V001"}, False),
    ({"action": "fail", "assignment_id": 1, "reason": " \x85"}, False),
    ({"action": "withdraw", "assignment_id": 1, "reason": "居民已搬走"}, True),
])
def test_decision_names_its_target_and_reasons(client: TestClient, doc: dict[str, Any],
                                               body: dict[str, Any], ok: bool) -> None:
    assert _agree(client, doc, "DecisionIn", "/api/v1/needs/N0002/decisions", body) is ok


# -- methods and links --------------------------------------------------------------------


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "N0001", path)


def test_every_operation_declares_405_with_allow(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        for method in set(item) & set(_METHODS):
            declared = item[method]["responses"]["405"]
            assert "Allow" in declared["headers"], (method, path)
            assert declared["content"]["application/json"]["schema"]["$ref"].endswith("ErrorOut")


def test_undeclared_method_gets_405_with_allow(client: TestClient, doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        declared = {m.upper() for m in item if m in _METHODS}
        wrong = next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in declared)
        r = client.request(wrong, _url(path))
        assert r.status_code == 405, (wrong, path, r.text)
        assert r.json()["error"]["code"] == "http_405"
        assert set(r.headers["allow"].split(", ")) == declared, (wrong, path)


def test_links_lead_from_a_new_need_to_its_suggestions_and_decisions(
        doc: dict[str, Any]) -> None:
    ids = {op["operationId"]: (m.upper(), p) for p, item in doc["paths"].items()
           for m, op in item.items() if m in _METHODS}
    for link in LINKS:
        method, path = link.source
        found = doc["paths"][path][method.lower()]["responses"][link.status]["links"][link.name]
        assert ids[found["operationId"]] == link.target, link.name
        target = doc["paths"][link.target[1]][link.target[0].lower()]
        names = {p["name"] for p in target.get("parameters", [])}
        assert set(found["parameters"]) <= names, link.name
    created = doc["paths"]["/api/v1/needs"]["post"]["responses"]["201"]["links"]
    assert {ids[v["operationId"]] for v in created.values()} >= {
        ("GET", "/api/v1/needs/{need_id}"), ("GET", "/api/v1/needs/{need_id}/suggestions"),
        ("POST", "/api/v1/needs/{need_id}/decisions")}


def test_actor_categories_must_be_taxonomy_codes(client: TestClient, doc: dict[str, Any]) -> None:
    item = doc["components"]["schemas"]["ActorIn"]["properties"]["categories"]["items"]
    assert set(item["enum"]) == set(default_taxonomy().codes)
    body = {"actor_id": "CAT-1", "kind": "organization", "name": "测试机构", "text": "助餐",
            "community_id": "C001", "categories": ["elderly_care;legal"]}
    r = client.post("/api/v1/actors", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] in ("bad_category",
                                                                  "invalid_request")
    body["categories"] = ["elderly_care", "legal"]
    assert client.post("/api/v1/actors", json=body).status_code == 201


def test_a_role_the_need_does_not_want_is_a_conflict(client: TestClient) -> None:
    made = client.post("/api/v1/needs", json={"community_id": "C001", "text": "想请志愿者陪老人聊天",
                                              "roles": ["volunteer"]})
    assert made.status_code == 201
    r = client.post(f"/api/v1/needs/{made.json()['need_id']}/decisions",
                    json={"action": "override", "role": "organization", "actor_id": "O002"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "role_not_wanted"
