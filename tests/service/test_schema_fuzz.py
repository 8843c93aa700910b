"""schemathesis against the service's own OpenAPI schema: no 5xx, no schema violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from service.auth import create_key

from .conftest import make_app


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "wushe.sqlite3"
    app = make_app(f"sqlite:///{db}")
    with TestClient(app):  # runs the lifespan: migrate, seed
        with app.state.sessions() as s, s.begin():
            app.state.fuzz_key = create_key(s, "station", "翠苑街道")
        yield app


@pytest.mark.slow
def test_api_conforms_to_its_schema(fuzz_app: FastAPI) -> None:
    # Every operation, each with generated valid and invalid requests; one
    # hypothesis run per operation (schemathesis' pytest plugin is not used: its
    # fixture loader does not work with this pytest).
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
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

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=run.excluded)  # type: ignore[attr-defined]

        run.excluded = excluded  # type: ignore[attr-defined]  # bound now, not at call time
        run()
        seen += 1
    assert seen >= 15
