"""The service's sub-commands: keys create, import, rematch (busy and not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from matcher.cli import main
from service.db import make_engine, sessions
from service.orm import ApiKey, Assignment, MatchRun
from service.runs import acquire

from ..conftest import SAMPLE


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    assert main(["import", "--database", url, "--data", str(SAMPLE)]) == 0
    return url


def test_keys_create_prints_the_key_alone(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["keys", "create", "--role", "station", "--station", "翠苑街道",
                 "--database", db]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("wsk_")
    with sessions(make_engine(db))() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == out.strip()[:10]))
        assert row is not None and row.key_hash != out.strip() and row.role == "station"


def test_keys_create_refuses_an_unknown_station(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "station", "--station", "不存在街道",
                 "--database", db]) == 2
    err = capsys.readouterr().err
    assert "不存在" in err and "does not exist" in err


def test_rematch_writes_a_run_and_refuses_while_locked(db: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rematch", "--database", db]) == 0
    assert "待匹配需求" in capsys.readouterr().out
    factory = sessions(make_engine(db))
    with factory() as s:
        run = s.scalar(select(MatchRun).where(MatchRun.is_current.is_(True)))
        assert run is not None and run.status == "succeeded"
        assert s.scalar(select(func.count()).where(Assignment.run_id == run.run_id)) > 0
    acquire(factory, "another", stale_after=300)
    assert main(["rematch", "--database", db]) == 75
    assert "正在运行" in capsys.readouterr().err


def test_import_of_a_missing_folder_is_a_clear_error(db: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--database", db, "--data", "/nonexistent"]) == 2
    assert "数据目录不存在" in capsys.readouterr().err
