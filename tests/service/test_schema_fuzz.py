"""schemathesis against the service's own OpenAPI document: no 5xx, no schema violations.

Both tests replay one fixed seed, so CI sees the same requests every run;
``WUSHE_FUZZ_SEED=N`` replays another (``bench/bench_fuzz.py`` runs longer,
random ones).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.generation.stateful import run_state_machine_as_test

from service.auth import create_key

from .conftest import make_app
from .fuzzing import as_station, fuzz_schema

SEED = int(os.environ.get("WUSHE_FUZZ_SEED", "20261201"))


@pytest.fixture
def fuzz_app(tmp_path: Path) -> Iterator[FastAPI]:
    # one fresh database per test: what a test sees does not depend on the other
    app = make_app(f"sqlite:///{tmp_path}/wushe.sqlite3")
    with TestClient(app):  # runs the lifespan: migrate, seed
        with app.state.sessions() as s, s.begin():
            app.state.fuzz_key = create_key(s, "station", "翠苑街道")
        yield app


def _fuzz_settings(**kw: Any) -> settings:
    return settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), **kw)


def _checker(headers: dict[str, str], excluded: list[Any]) -> Any:
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return check


@pytest.mark.slow
def test_api_conforms_to_its_schema(fuzz_app: FastAPI) -> None:
    # Every operation, each with generated valid and invalid requests; one
    # hypothesis run per operation and mode (schemathesis' pytest plugin is not used:
    # its fixture loader does not work with this pytest).
    schema = fuzz_schema(fuzz_app)
    headers = {"X-API-Key": fuzz_app.state.fuzz_key}
    seen = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) == ("POST", "/api/v1/runs"):
            continue  # starts background work; covered by test_runs

        # An upload's file names and CSV contents cannot be stated in OpenAPI, so a
        # schema-valid upload may still be refused (422 with row errors): there only
        # the other checks apply.
        excluded = ([schemathesis.checks.positive_data_acceptance]
                    if op.path == "/api/v1/imports" else [])
        for mode, examples in ((GenerationMode.POSITIVE, 25), (GenerationMode.NEGATIVE, 10)):
            run = given(case=op.as_strategy(generation_mode=mode))(_checker(headers, excluded))
            try:
                hypothesis.seed(SEED)(_fuzz_settings(max_examples=examples)(run))()
            except hypothesis.errors.Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing there can be made invalid
        seen += 1
    assert seen >= 15


@pytest.mark.slow
def test_api_stateful_follows_links(fuzz_app: FastAPI) -> None:
    # Sequences of calls along the document's links: a need is created, then read,
    # suggested for and decided on, with every response checked.
    schema = fuzz_schema(fuzz_app).exclude(method="POST", path="/api/v1/runs")
    headers = {"X-API-Key": fuzz_app.state.fuzz_key}
    answered: Counter[tuple[str, int]] = Counter()

    class Station(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def before_call(self, case: schemathesis.Case) -> None:
            as_station(case)  # also for bodies a link filled in

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answered[(case.operation.label, response.status_code)] += 1

    run_state_machine_as_test(hypothesis.seed(SEED)(Station), settings=_fuzz_settings(
        max_examples=50, stateful_step_count=8, phases=[Phase.generate]))
    # Which operations the walk reaches depends on more than the seed (what earlier
    # tests left in hypothesis' and schemathesis' state): only its breadth is
    # asserted here; the link chain itself is walked deterministically below.
    reached = {label for (label, status), _ in answered.items() if status < 300}
    assert sum(answered.values()) >= 100 and len(reached) >= 3, answered


def test_links_lead_from_a_new_need_to_a_decision(fuzz_app: FastAPI) -> None:
    # The document's own links, followed from a created need: each target is called
    # with the parameters the link names and its response validated against the schema.
    schema = fuzz_schema(fuzz_app)
    doc = fuzz_app.openapi()
    by_id = {op["operationId"]: (method, path) for path, item in doc["paths"].items()
             for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    headers = {"X-API-Key": fuzz_app.state.fuzz_key}
    client = TestClient(fuzz_app)
    r = client.post("/api/v1/needs", headers=headers,
                    json={"community_id": "C001", "text": "我爸82岁一个人住，想找人送饭"})
    assert r.status_code == 201, r.text
    frontier = [(("post", "/api/v1/needs"), "201", r.json())]
    followed: set[str] = set()
    while frontier:
        (method, path), status, body = frontier.pop(0)
        links = doc["paths"][path][method]["responses"][status].get("links", {})
        for name, link in sorted(links.items()):
            target = by_id[link["operationId"]]
            if f"{method} {path} {name}" in followed:
                continue
            followed.add(f"{method} {path} {name}")
            params = {k: _resolve(v, body) for k, v in link["parameters"].items()}
            payload = ({k: _resolve(v, body) for k, v in link["requestBody"].items()}
                       if "requestBody" in link else None)
            if payload is None and target[0] != "get":
                continue  # a write whose body the link leaves to the caller
            if payload is not None and None in payload.values():
                continue  # e.g. no organization was suggested
            if name == "NextStep":
                payload = {"action": "start", **(payload or {})}  # which step is the caller's
            op = schema[target[1]][target[0].upper()]
            case = (op.Case(path_parameters=params) if payload is None
                    else op.Case(path_parameters=params, body=payload,
                                 media_type="application/json"))
            resp = case.call(headers=headers)
            case.validate_response(resp)
            assert resp.status_code < 300, (name, resp.text)
            code = str(resp.status_code)
            if doc["paths"][target[1]][target[0]]["responses"].get(code, {}).get("links"):
                frontier.append((target, code, resp.json()))
    reached = {f.split()[-1] for f in followed}
    assert {"GetNeed", "GetSuggestions", "AcceptFirstOrganization", "NextStep"} <= reached, followed


def _resolve(expr: Any, body: dict[str, Any]) -> Any:
    """``$response.body#/a/0/b`` against a JSON body (None when a step is missing)."""
    if not (isinstance(expr, str) and expr.startswith("$response.body#/")):
        return expr
    cur: Any = body
    for step in expr.removeprefix("$response.body#/").split("/"):
        if isinstance(cur, list) and step.isdigit() and int(step) < len(cur):
            cur = cur[int(step)]
        elif isinstance(cur, dict) and step in cur:
            cur = cur[step]
        else:
            return None
    return cur
