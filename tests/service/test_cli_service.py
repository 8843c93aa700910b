"""The service's sub-commands: keys create, list and revoke, import, rematch (busy and not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matcher.cli import main
from service.auth import authenticate, hash_key
from service.db import make_engine, sessions
from service.errors import ApiError
from service.orm import ApiKey, Assignment, AuditEntry, MatchRun
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


def _create(db: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["keys", "create", *args, "--database", db]) == 0
    return capsys.readouterr().out.strip()


def test_keys_list_shows_prefixes_never_keys(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    station = _create(db, capsys, "--role", "station", "--station", "翠苑街道", "--label", "王社工")
    admin = _create(db, capsys, "--role", "admin")
    assert main(["keys", "list", "--database", db]) == 0
    table = capsys.readouterr().out
    assert "前缀 prefix" in table and station[:10] in table and admin[:10] in table
    assert "翠苑街道" in table and "王社工" in table
    assert main(["keys", "list", "--json", "--database", db]) == 0
    out = capsys.readouterr().out
    listed = {k["prefix"]: k for k in json.loads(out)}
    assert listed[station[:10]]["station_id"] == "翠苑街道"
    assert listed[admin[:10]]["revoked_at"] is None
    assert set(listed[admin[:10]]) == {"prefix", "role", "station_id", "label", "created_at",
                                       "revoked_at"}
    for key in (station, admin):
        assert key not in table + out and hash_key(key) not in table + out


def test_keys_revoke_revokes_once_and_audits(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    key = _create(db, capsys, "--role", "researcher")
    assert main(["keys", "revoke", key[:10], "--database", db]) == 0
    assert "已停用" in capsys.readouterr().out
    factory = sessions(make_engine(db))
    with factory() as s, pytest.raises(ApiError, match="已停用"):
        authenticate(s, key)
    assert main(["keys", "revoke", key[:10], "--database", db]) == 0
    out = capsys.readouterr().out
    assert "无需再次停用" in out and "already revoked" in out
    assert main(["keys", "list", "--json", "--database", db]) == 0
    assert '"revoked_at": null' not in capsys.readouterr().out
    with factory() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "key.revoke")) == 1


def test_keys_revoke_of_an_unknown_or_ambiguous_prefix_fails(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "revoke", "wsk_nothing", "--database", db]) == 2
    err = capsys.readouterr().err
    assert "没有前缀为 wsk_nothing 的密钥" in err and "no key has the prefix" in err
    with sessions(make_engine(db))() as s, s.begin():
        for n in (1, 2):
            s.add(ApiKey(key_hash=hash_key(f"wsk_twin-{n}"), prefix="wsk_twin00", role="admin"))
    assert main(["keys", "revoke", "wsk_twin00", "--database", db]) == 2
    err = capsys.readouterr().err
    assert "无法确定停用哪一个" in err and "share the prefix" in err


def test_serve_with_workers_writes_first_start_keys_to_a_file_not_stderr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    url = f"sqlite:///{tmp_path}/serve.sqlite3"
    monkeypatch.setenv("WUSHE_DATABASE_URL", url)  # serve hands it to the workers: restored after
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    assert main(["serve", "--workers", "2", "--database", url]) == 0
    path = tmp_path / "first-start-keys.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    found = [w for w in path.read_text(encoding="utf-8").split() if w.startswith("wsk_")]
    assert len(found) >= 3
    captured = capsys.readouterr()
    assert not any(k in captured.err or k in captured.out for k in found)
    with sessions(make_engine(url))() as s:
        assert {authenticate(s, k).role for k in found} == {"admin", "station", "researcher"}


def test_import_prints_what_it_skipped_and_warned(tmp_path: Path, sample_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from ..matcher.test_cli_match import _noisy

    url = f"sqlite:///{tmp_path}/noisy.sqlite3"
    assert main(["import", "--database", url, "--data", str(_noisy(sample_path, tmp_path)),
                 "--skip-bad-rows"]) == 0
    err = capsys.readouterr().err
    assert "skipped rows with 1 error(s)" in err and "needs.csv:27: [urgency]" in err
    assert "warning" in err and "F099" in err
