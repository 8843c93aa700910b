"""Migrations and connection settings on both databases."""

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from service.db import _MIGRATIONS, make_engine, migrate


def _cfg(conn: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def test_migrations_go_down_and_up_again(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    assert {"needs", "actors", "assignments", "audit_log", "run_lock"} <= set(
        inspect(engine).get_table_names())
    with engine.begin() as conn:
        command.downgrade(_cfg(conn), "base")
    assert "needs" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "needs" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.sqlite3")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
