"""The permission matrix: every operation × every kind of caller, exact statuses.

Callers: station A (翠苑街道: C001, C002, need N0001), station B (朝晖街道: C006),
admin, researcher (read-only, masked), no key, a bad key. Every operation in
the OpenAPI document must have a row here, so a new route cannot ship without
its permissions being stated and tested.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.auth import create_key

from .conftest import Keys

WHO = ("none", "bad", "researcher", "station_b", "station_a", "admin")
OK, DENY = "ok", "deny"


@dataclass
class Op:
    method: str
    path: str
    #: expected status per caller (callers left out: 401 without or with a bad key)
    expect: dict[str, int]
    body: Callable[[str], dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    files: Callable[[str], dict[str, Any]] | None = None
    needs_run: bool = False
    settle_runs: bool = False


def _all(code: int, **over: int) -> dict[str, int]:
    out = {w: code for w in WHO}
    out.update(over)
    return out


def _keyed(code: int, **over: int) -> dict[str, int]:
    return _all(code, none=401, bad=401, **over)


def _write(a: int, b: int, admin: int | None = None) -> dict[str, int]:
    return _keyed(403, station_a=a, station_b=b, admin=a if admin is None else admin)


def _need_csv(who: str) -> dict[str, Any]:
    return {"files": ("needs.csv", f"need_id,community_id,text\nM-{who},C001,楼道灯坏了\n".encode())}


OPS = [
    Op("GET", "/api/v1/health", _all(200)),
    Op("GET", "/api/v1/vocab", _all(200)),
    Op("GET", "/api/v1/me", _keyed(200)),
    Op("GET", "/api/v1/audit", _keyed(403, admin=200)),
    Op("GET", "/api/v1/needs", _keyed(200)),
    Op("POST", "/api/v1/needs", _write(201, 404),
       body=lambda who: {"community_id": "C001", "text": f"老人需要送饭（{who}）"}),
    Op("POST", "/api/v1/needs/infer", _keyed(200), body=lambda who: {"text": "老人需要送饭"}),
    Op("GET", "/api/v1/needs/{need_id}", _keyed(200, station_b=404)),
    Op("PATCH", "/api/v1/needs/{need_id}", _write(200, 404), body=lambda who: {"urgency": 3}),
    Op("POST", "/api/v1/needs/{need_id}/close", _write(200, 404),
       body=lambda who: {"status": "cancelled", "reason": "重复登记"}),
    Op("GET", "/api/v1/needs/{need_id}/suggestions", _keyed(200, station_b=404)),
    Op("POST", "/api/v1/needs/{need_id}/decisions", _write(200, 404),
       body=lambda who: {"action": "reject", "role": "volunteer", "actor_id": "V007",
                         "reason": "时间不合适"}),
    Op("POST", "/api/v1/needs/{need_id}/feedback", _write(201, 404),
       body=lambda who: {"actor_id": "V001", "outcome": "completed", "satisfaction": 4}),
    Op("GET", "/api/v1/actors", _keyed(200)),
    Op("POST", "/api/v1/actors", _write(201, 403),
       body=lambda who: {"actor_id": f"X-{who}", "kind": "volunteer", "name": "新志愿者",
                         "text": "周末陪老人聊天", "community_id": "C001"}),
    Op("PATCH", "/api/v1/actors/{actor_id}", _write(200, 403), body=lambda who: {"capacity": 2}),
    Op("POST", "/api/v1/imports", _write(200, 422), params={"dry_run": "true"}, files=_need_csv),
    Op("GET", "/api/v1/exports/{what}.csv", _keyed(200)),
    Op("POST", "/api/v1/runs", _write(202, 202), settle_runs=True),
    Op("GET", "/api/v1/runs", _keyed(200)),
    Op("GET", "/api/v1/runs/{run_id}", _keyed(200), needs_run=True),
    Op("GET", "/api/v1/runs/{run_id}/unassigned", _keyed(200), needs_run=True),
    Op("GET", "/api/v1/reports/linkage", _keyed(200)),
    Op("GET", "/api/v1/keys", _keyed(403, admin=200)),
    Op("POST", "/api/v1/keys", _keyed(403, admin=201), body=lambda who: {"role": "researcher"}),
    Op("POST", "/api/v1/keys/{prefix}/revoke", _keyed(403, admin=200)),
]


def test_every_operation_has_a_row(app: FastAPI) -> None:
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops
                  if m in ("get", "post", "patch", "put", "delete")}
    covered = {(op.method, op.path) for op in OPS}
    assert documented - covered == set(), "operations without a permission row"
    assert covered - documented == set(), "rows for operations that do not exist"


def _wait_runs(client: TestClient, keys: Keys) -> None:
    for _ in range(600):
        runs = client.get("/api/v1/runs", headers=keys.h("admin")).json()
        if not runs or runs[0]["status"] != "running":
            return
        time.sleep(0.1)
    raise AssertionError("a run did not finish")


@pytest.mark.parametrize("op", OPS, ids=[f"{o.method} {o.path}" for o in OPS])
def test_permission_matrix(op: Op, client: TestClient, app: FastAPI, keys: Keys) -> None:
    headers = {"none": {}, "bad": {"X-API-Key": "wsk_" + "x" * 43},
               "researcher": keys.h("researcher"), "station_b": keys.h("other_station"),
               "station_a": keys.h("station"), "admin": keys.h("admin")}
    if op.needs_run:
        client.post("/api/v1/runs", headers=keys.h("admin"))
        _wait_runs(client, keys)
    got: dict[str, int] = {}
    for who in WHO:
        # station A and the callers it is denied to act on N0001; admin on N0002, so
        # a write of station A's (closing, say) does not decide admin's outcome
        need = "N0002" if who == "admin" else "N0001"
        prefix = ""
        if "{prefix}" in op.path:
            with app.state.sessions() as s, s.begin():
                prefix = create_key(s, "researcher", label=f"matrix {who}")[:10]
        path = (op.path.replace("{need_id}", need).replace("{actor_id}", "V001")
                .replace("{run_id}", "latest").replace("{what}", "needs")
                .replace("{prefix}", prefix))
        kw: dict[str, Any] = {"headers": headers[who], "params": op.params}
        if op.body is not None:
            kw["json"] = op.body(who)
        if op.files is not None:
            kw["files"] = op.files(who)
        r = client.request(op.method, path, **kw)
        got[who] = r.status_code
        if r.status_code >= 400:
            err = r.json()["error"]
            assert err["code"] and err["message"] and err["message_en"], (who, r.text)
        if op.settle_runs:
            _wait_runs(client, keys)
    assert got == op.expect
