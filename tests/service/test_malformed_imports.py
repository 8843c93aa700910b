"""The malformed-file corpus through ``POST /api/v1/imports``: 422 (413 over size), nothing saved.

The corpus is the one the command-line tests use
(``tests/matcher/test_malformed.py``). One app serves the whole module: every
malformed upload must leave the database as it was, which each case checks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from matcher.csvio import safe_cell
from service.app import create_app
from service.auth import create_key
from service.config import Settings
from service.orm import ActorRow, Community, NeedRow

from ..matcher.test_malformed import CASES, LETTER, corpus
from .conftest import make_app


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('api')}/wushe.sqlite3"
    app = make_app(url)
    with TestClient(app) as client:
        with app.state.sessions() as s, s.begin():
            admin = {"X-API-Key": create_key(s, "admin")}
        yield client, admin


def _counts(client: TestClient) -> tuple[int, int, int]:
    app: Any = client.app
    with app.state.sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                     for m in (NeedRow, ActorRow, Community))  # type: ignore[return-value]


def _upload(client: TestClient, headers: dict[str, str], name: str, body: bytes,
            **params: str) -> tuple[int, dict[str, Any]]:
    r = client.post("/api/v1/imports", headers=headers, params=params,
                    files={"files": (name, body, "text/csv")})
    return r.status_code, r.json()


@pytest.mark.parametrize("name", CASES)
def test_malformed_upload_is_refused_and_saves_nothing(
        name: str, api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    case = corpus()[name]
    before = _counts(client)
    code, body = _upload(client, admin, case.file, case.data)
    assert code == case.status, body
    err = body["error"]
    if case.status == 413:
        assert err["code"] == "file_too_large"
        assert case.file in err["message"] and case.file in err["message_en"]
    else:
        assert err["code"] == "invalid_data"
        rows = err["rows"]
        first = rows[0]
        assert first["file"] == case.file
        assert case.zh in first["message"] and case.en in first["message_en"]
        if case.line:
            named = {(r["line"], r["column"]) for r in rows}
            assert all((case.line, c) in named for c in case.columns or ("",))
        else:
            assert case.file in first["message"] and case.file in first["message_en"]
    assert _counts(client) == before
    # a dry run of the same upload is refused the same way
    assert _upload(client, admin, case.file, case.data, dry_run="true")[0] == case.status


def _needs_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows({k: safe_cell(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_formula_prefixed_cells_import_without_the_prefix(
        encoding: str, api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    texts = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"]
    rows = [{"need_id": f"FX{encoding[:3]}{i}", "community_id": "C001", "text": t,
             "contact_name": "@张三"} for i, t in enumerate(texts)]
    body = _needs_csv(rows)
    assert "'=HYPERLINK" in body and "'@张三" in body
    code, res = _upload(client, admin, "needs.csv", body.encode(encoding))
    assert code == 200, res
    for r in rows:
        got = client.get(f"/api/v1/needs/{r['need_id']}", headers=admin).json()
        assert got["text"] == r["text"] and got["contact_name"] == "@张三"


def test_multi_line_letter_imports_whole(api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    body = f"need_id,community_id,text,urgency\nL1,C001,{LETTER},3\nL2,C002,孩子放学没人管,2\n"
    code, res = _upload(client, admin, "needs.csv", body.encode("gbk"))
    assert code == 200 and res["added"] == {"needs": 2}, res
    got = client.get("/api/v1/needs/L1", headers=admin).json()
    assert got["text"] == LETTER.strip('"') and got["urgency"] == 3


# The lists the caller did not send come from the database as context files; on an
# empty database they are header-only, and that must not refuse a first import.
def test_first_import_into_an_empty_database(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/empty.sqlite3", seed_data="",
                              warm_up=False))
    with TestClient(app) as client:
        with app.state.sessions() as s, s.begin():
            admin = {"X-API-Key": create_key(s, "admin")}
        body = "community_id,name,street,district\nC9,新社区,新街道,西湖区\n".encode()
        code, res = _upload(client, admin, "communities.csv", body)
        assert code == 200 and res["added"] == {"communities": 1}, res
