"""Service fixtures: the app on SQLite and on PostgreSQL, keys for every role.

PostgreSQL tests skip when no server answers, except in CI (``CI=true``),
where a missing server is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import create_key
from service.config import Settings

from ..conftest import SAMPLE

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("WUSHE_TEST_POSTGRES_URL",
                        "postgresql://wushe:wushe@localhost:5432/wushe_test")


def _pg_reset() -> str | None:
    """Empty the test database; return why it cannot be used, or None."""
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except Exception as exc:  # any failure means: no usable server
        return f"{type(exc).__name__}: {exc}"
    return None


def need_postgres() -> str:
    why = _pg_reset()
    if why is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unavailable: {why}")
        pytest.skip(f"PostgreSQL not available: {why}")
    return PG_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/wushe.sqlite3"
    return need_postgres()


@dataclass
class Keys:
    admin: str
    station: str        # 翠苑街道: C001, C002
    other_station: str  # 朝晖街道
    researcher: str

    def h(self, who: str) -> dict[str, str]:
        return {"X-API-Key": getattr(self, who)}


def make_app(url: str, **kw: object) -> FastAPI:
    kw.setdefault("warm_up", False)
    return create_app(Settings(database_url=url, seed_data=str(SAMPLE), **kw))  # type: ignore[arg-type]


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> FastAPI:
    # first-start keys are written there (stderr is no terminal under pytest)
    return make_app(db_url, first_start_keys_file=str(tmp_path / "first-start-keys.txt"))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(client: TestClient, app: FastAPI) -> Keys:
    with app.state.sessions() as s, s.begin():
        return Keys(admin=create_key(s, "admin"), station=create_key(s, "station", "翠苑街道"),
                    other_station=create_key(s, "station", "朝晖街道"),
                    researcher=create_key(s, "researcher"))
